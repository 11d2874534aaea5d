# SPDX-License-Identifier: MIT
# Shared helpers of the adc.* lab tests (sourced; bash).
set -uo pipefail

B=${IIOFAB_BUILD_DIR:?IIOFAB_BUILD_DIR not set}
S=${IIOFAB_SOURCE_DIR:?IIOFAB_SOURCE_DIR not set}
BOARD=${IIOFAB_BOARD_ADDR:-10.77.0.1}
URI=rdma://$BOARD
IIOFAB=$B/client/iiofab
IIOFABD=$B/server/iiofabd
ADC=iiofab-sim-adc
# Board and hosts talk through files in the lab's shared run directory,
# named with this prefix (the harness collects them with the results).
T_SHARED=/run/lab/adc
T_PSK=/tmp/adc-test.psk
T_FAILS=0
T_TESTS=0

t_setup_key() {
	install -m 0600 "$S/tests/adc/test.psk" "$T_PSK"
}

t_log() { printf '%s\n' "$*"; }

t_pass() {
	T_TESTS=$((T_TESTS + 1))
	t_log "PASS: $*"
}

t_fail() {
	T_TESTS=$((T_TESTS + 1))
	T_FAILS=$((T_FAILS + 1))
	t_log "FAIL: $*"
}

# t_check NAME COMMAND...: passes when the command exits 0.
t_check() {
	local name=$1
	shift
	if "$@"; then t_pass "$name"; else t_fail "$name"; fi
}

# t_quiet COMMAND...: runs the command with its stdout discarded.
t_quiet() {
	"$@" >/dev/null
}

# t_expect_error NAME REGEX COMMAND...: the command must exit non-zero (not
# by a signal) and its stderr must match REGEX (grep -E, case-insensitive).
t_expect_error() {
	local name=$1 re=$2 rc
	shift 2
	"$@" >/tmp/t.out 2>/tmp/t.err
	rc=$?
	sed 's/^/    stderr: /' /tmp/t.err
	if [ "$rc" -eq 0 ]; then
		t_fail "$name: exited 0, expected an error"
	elif [ "$rc" -ge 128 ]; then
		t_fail "$name: killed by signal $((rc - 128))"
	elif ! grep -qiE -- "$re" /tmp/t.err; then
		t_fail "$name: stderr does not match /$re/"
	else
		t_pass "$name (exit $rc)"
	fi
}

# Asks the board agent (tests/adc/board agent) to do ACTION (with ARGS, a
# string); waits for it. Prints the agent's answer; returns its status.
t_board() {
	local action=$1 timeout=${2:-30} args=${3:-} i
	rm -f "$T_SHARED-done.$action" "$T_SHARED-answer.$action"
	printf "%s" "$args" >"$T_SHARED-args.$action"
	mv "$T_SHARED-args.$action" "$T_SHARED-req.$action"
	for ((i = 0; i < timeout * 20; i++)); do
		if [ -s "$T_SHARED-done.$action" ]; then
			cat "$T_SHARED-answer.$action" 2>/dev/null
			return "$(<"$T_SHARED-done.$action")"
		fi
		sleep 0.05
	done
	echo "board agent did not answer '$action' within ${timeout}s"
	return 1
}

# t_netem NIC ARGS: netem ARGS on NIC's egress; "off" removes it. ARGS
# starting with "in-order " keep the order: netem's queue sorts packets by
# their jittered send times, so packets whose delays cross are reordered,
# unless a rate is set, which makes each send time follow the last one's
# (10 Gbit/s: the order, not a limit).
t_netem() {
	local nic=$1 args=$2
	tc qdisc del dev "$nic" root 2>/dev/null
	[ "$args" = off ] && return 0
	[[ $args == in-order\ * ]] && args="${args#in-order } rate 10gbit"
	# shellcheck disable=SC2086
	tc qdisc add dev "$nic" root netem $args
}

# The final line of a capture: "captured N samples (B bytes) in T s, R MB/s, L lost"
T_CAPTURE_RE='^captured ([0-9]+) samples \(([0-9]+) bytes\) in ([0-9.]+) s, ([0-9.]+) MB/s, ([0-9]+) lost$'

# t_capture_line FILE: sets CAP_N CAP_B CAP_T CAP_R CAP_L from the last line.
t_capture_line() {
	local line
	line=$(tail -n 1 "$1")
	if [[ "$line" =~ $T_CAPTURE_RE ]]; then
		CAP_N=${BASH_REMATCH[1]} CAP_B=${BASH_REMATCH[2]}
		CAP_T=${BASH_REMATCH[3]} CAP_R=${BASH_REMATCH[4]}
		CAP_L=${BASH_REMATCH[5]}
		return 0
	fi
	echo "    last stderr line is not a capture summary: '$line'"
	return 1
}

t_done() {
	t_log "$((T_TESTS - T_FAILS)) of $T_TESTS checks passed"
	[ "$T_FAILS" -eq 0 ]
}
