# SPDX-License-Identifier: MIT
# Shared helpers of the dac.* lab tests (sourced after tests/adc/lib.sh).
DAC=iiofab-sim-dac
GEN=$B/tests/dac/t_gen_wave
K=(--psk-file "$T_PSK" --timeout 15000)

# The final line of a play: "played N samples (B bytes) in T s, R MB/s, U underruns"
T_PLAY_RE='^played ([0-9]+) samples \(([0-9]+) bytes\) in ([0-9.]+) s, ([0-9.]+) MB/s, ([0-9]+) underruns$'

# t_play_line FILE: sets PLAY_N PLAY_B PLAY_T PLAY_R PLAY_U from the last line.
t_play_line() {
	local line
	line=$(tail -n 1 "$1")
	if [[ "$line" =~ $T_PLAY_RE ]]; then
		PLAY_N=${BASH_REMATCH[1]} PLAY_B=${BASH_REMATCH[2]}
		PLAY_T=${BASH_REMATCH[3]} PLAY_R=${BASH_REMATCH[4]}
		PLAY_U=${BASH_REMATCH[5]}
		return 0
	fi
	echo "    last stderr line is not a play summary: '$line'"
	return 1
}

dac_attr() {
	"$IIOFAB" attr "${K[@]}" "$URI" "$DAC" "$@"
}

play() {
	"$IIOFAB" play "${K[@]}" "$URI" "$DAC" "$@"
}
