#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Runs groups of kmod.* checks inside the lab's board guest:
#   kmod-lab.sh GROUP...   (load fileio dmabuf lifecycle rate counter bench)
# Needs IIOFAB_BUILD_DIR (set by the lab). After each group the module is
# unloaded and the kernel log must hold no BUG:, WARNING:, Oops or
# refcount_t line. Every group runs even when an earlier one failed; each
# ends with "== kmod.GROUP passed" or "FAIL: kmod.GROUP", and the script
# fails if any group did.
set -euo pipefail

BUILD=${IIOFAB_BUILD_DIR:?IIOFAB_BUILD_DIR is not set}
KO=$BUILD/kmod/iiofab_sim.ko
T=$BUILD/tests/kmod
GEN=$BUILD/tests/dac/t_gen_wave
SYS=/sys/bus/iio/devices
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
log() { echo "== $*"; }

DMESG_MARK=$(dmesg | wc -l)
check_dmesg() {
	local new
	new=$(dmesg | tail -n +$((DMESG_MARK + 1)))
	DMESG_MARK=$(dmesg | wc -l)
	if grep -E 'BUG:|WARNING:|Oops|refcount_t' <<<"$new"; then
		echo "$new" >&2
		fail "kernel log after $1"
	fi
}

# No DMABUF may outlive a group: an attachment the module or the core
# forgot to release keeps its DMABUF (and its pages) alive.
check_dmabufs() {
	local info=/sys/kernel/debug/dma_buf/bufinfo total i
	[ -r $info ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null || true
	[ -r $info ] || { log "no $info: DMABUF leak check skipped"; return 0; }
	for ((i = 0; i < 50; i++)); do
		total=$(sed -n 's/^Total \([0-9]*\) objects.*/\1/p' $info)
		[ "${total:-0}" = 0 ] && return 0
		sleep 0.1
	done
	cat $info >&2
	fail "$total DMABUFs left after $1"
}

load() {
	modprobe industrialio
	insmod "$KO" "$@"
}
unload() { rmmod iiofab_sim; }
loaded() { [ -d /sys/module/iiofab_sim ]; }

# iio:deviceN directory of the converter with label $1
dev_dir() {
	local d
	for d in "$SYS"/iio:device*; do
		if [ "$(cat "$d/label" 2>/dev/null)" = "$1" ]; then
			echo "$d"
			return 0
		fi
	done
	fail "no device labelled $1"
}

count_named() { grep -lx "$1" "$SYS"/iio:device*/name 2>/dev/null | wc -l; }

# Writes $2 to attribute $1; succeeds only if the write fails with EBUSY.
write_busy() {
	local err
	if err=$( (echo "$2" >"$1") 2>&1); then return 1; fi
	grep -q "Device or resource busy" <<<"$err"
}

group_load() {
	local params adcs dacs ch d i adc dac out
	for params in "" "adcs=2 dacs=3 channels=8" "adcs=0 dacs=1 channels=1" \
		      "adcs=1 dacs=0 channels=16" ""; do
		# shellcheck disable=SC2086
		load $params
		adcs=1 dacs=1 ch=4
		for p in $params; do
			case $p in
			adcs=*) adcs=${p#adcs=} ;;
			dacs=*) dacs=${p#dacs=} ;;
			channels=*) ch=${p#channels=} ;;
			esac
		done
		[ "$(count_named iiofab-sim-adc)" = "$adcs" ] || fail "[$params] ADC count"
		[ "$(count_named iiofab-sim-dac)" = "$dacs" ] || fail "[$params] DAC count"
		for ((i = 0; i < adcs; i++)); do
			d=$(dev_dir "adc$i")
			[ "$(ls "$d"/scan_elements/in_voltage*_en | wc -l)" = "$ch" ] ||
				fail "[$params] adc$i channel count"
			[ "$(cat "$d/scan_elements/in_voltage0_type")" = "le:s16/16>>0" ] ||
				fail "[$params] scan type"
		done
		for ((i = 0; i < dacs; i++)); do
			d=$(dev_dir "dac$i")
			[ "$(ls "$d"/scan_elements/out_voltage*_en | wc -l)" = "$ch" ] ||
				fail "[$params] dac$i channel count"
		done
		unload
		log "load/unload [${params:-defaults}] ok"
	done

	# counters=0: no overruns, no underruns; everything else stays.
	load counters=0
	adc=$(dev_dir adc0)
	dac=$(dev_dir dac0)
	[ "$(cat /sys/module/iiofab_sim/parameters/counters)" = N ] || fail "counters=0 not shown"
	[ ! -e "$adc/overruns" ] || fail "counters=0: adc has overruns"
	[ ! -e "$dac/underruns" ] || fail "counters=0: dac has underruns"
	for a in pattern pattern_available samples_produced inject_drop sampling_frequency; do
		[ -e "$adc/$a" ] || fail "counters=0: adc lacks $a"
	done
	for a in pattern pattern_available samples_consumed pattern_errors sampling_frequency; do
		[ -e "$dac/$a" ] || fail "counters=0: dac lacks $a"
	done
	out=$(iio_info -u local: 2>&1) || fail "iio_info: $out"
	if grep -E "overruns|underruns" <<<"$out"; then fail "counters=0: iio_info shows them"; fi
	grep -q samples_produced <<<"$out" || fail "counters=0: iio_info lacks samples_produced"
	unload
	log "counters=0: no overruns or underruns attribute, the rest is there"

	for params in channels=0 channels=17 adcs=9; do
		if insmod "$KO" "$params" 2>/dev/null; then
			unload
			fail "insmod accepted $params"
		fi
	done
	log "bad parameters refused"

	load
	adc=$(dev_dir adc0)
	dac=$(dev_dir dac0)
	[ "$(cat /sys/module/iiofab_sim/parameters/counters)" = Y ] || fail "counters default"
	[ "$(cat "$adc/sampling_frequency")" = 1000000 ] || fail "default sampling_frequency"
	[ "$(cat "$adc/pattern")" = ramp ] || fail "default pattern"
	[ "$(cat "$dac/pattern")" = ramp ] || fail "default dac pattern"
	[ "$(cat "$adc/pattern_available")" = "ramp sine counter" ] || fail "adc pattern_available"
	[ "$(cat "$dac/pattern_available")" = "ramp counter" ] || fail "dac pattern_available"
	echo counter >"$dac/pattern" || fail "dac pattern counter"
	if echo sine >"$dac/pattern" 2>/dev/null; then fail "dac accepted sine"; fi
	[ "$(cat "$dac/pattern")" = counter ] || fail "dac pattern write"
	echo ramp >"$dac/pattern"
	echo counter >"$adc/pattern" || fail "adc pattern counter"
	[ "$(stat -c %a "$adc/inject_drop")" = 200 ] || fail "inject_drop is not write-only"
	if echo -1 >"$adc/inject_drop" 2>/dev/null; then fail "inject_drop accepted -1"; fi
	echo sine >"$adc/pattern"
	[ "$(cat "$adc/pattern")" = sine ] || fail "pattern write"
	echo 250000 >"$adc/sampling_frequency"
	[ "$(cat "$adc/sampling_frequency")" = 250000 ] || fail "sampling_frequency write"
	if echo 17 >"$adc/pattern" 2>/dev/null; then fail "bad pattern accepted"; fi
	if echo -5 >"$adc/sampling_frequency" 2>/dev/null; then fail "negative rate accepted"; fi
	for a in overruns samples_produced; do [ "$(cat "$adc/$a")" = 0 ] || fail "adc $a"; done
	for a in samples_consumed pattern_errors underruns; do
		[ "$(cat "$dac/$a")" = 0 ] || fail "dac $a"
	done

	# Settings are refused while the buffer runs; counters keep their
	# values after it stops.
	echo 1 >"$adc/scan_elements/in_voltage0_en"
	echo 1000 >"$adc/sampling_frequency"
	echo 16 >"$adc/buffer0/length"
	echo 1 >"$adc/buffer0/enable"
	if echo 5 >"$adc/sampling_frequency" 2>/dev/null; then fail "rate change while enabled"; fi
	write_busy "$adc/sampling_frequency" 5 || fail "rate change while enabled: not EBUSY"
	write_busy "$adc/pattern" ramp || fail "pattern change while enabled: not EBUSY"
	sleep 0.5
	echo 0 >"$adc/buffer0/enable"
	[ "$(cat "$adc/pattern")" = sine ] || fail "refused pattern write changed the pattern"
	[ "$(cat "$adc/sampling_frequency")" = 1000 ] || fail "refused rate write changed the rate"
	echo sine >"$adc/pattern" || fail "pattern write after disable"
	out=$(cat "$adc/overruns")
	[ "$out" -gt 0 ] || fail "no overruns counted with nobody reading ($out)"
	# The 16-scan ring took 16 scans; every other one was lost.
	[ "$(cat "$adc/samples_produced")" = $((out + 16)) ] ||
		fail "samples_produced $(cat "$adc/samples_produced"), want overruns $out + 16"
	sleep 0.1
	[ "$(cat "$adc/overruns")" = "$out" ] || fail "overruns changed after disable"
	log "attributes ok (overruns while unread: $out, samples_produced 16 more)"

	out=$(iio_info -u local: 2>&1) || fail "iio_info: $out"
	for want in iiofab-sim-adc iiofab-sim-dac "label: adc0" "label: dac0" \
		    sampling_frequency pattern pattern_available overruns \
		    samples_produced samples_consumed pattern_errors underruns \
		    voltage0 voltage3; do
		grep -q "$want" <<<"$out" || { echo "$out"; fail "iio_info lacks $want"; }
	done
	log "iio_info lists both devices and their attributes"

	# Unload with a buffer running and nobody holding it.
	echo 0 >"$adc/sampling_frequency"
	echo 1 >"$adc/buffer0/enable"
	echo 1 >"$dac/scan_elements/out_voltage0_en"
	echo 1 >"$dac/buffer0/enable"
	write_busy "$dac/pattern" counter || fail "dac pattern change while enabled: not EBUSY"
	sleep 0.2
	unload
	log "unload with running buffers ok"
}

group_fileio() {
	local adc dac scans=1048576 out
	load
	adc=$(dev_dir adc0)
	dac=$(dev_dir dac0)
	# Unthrottled: the converter waits for the reader, so no sample is lost.
	echo 0 >"$adc/sampling_frequency"
	iio_readdev -u local: -b 65536 -s $scans iiofab-sim-adc \
		voltage0 voltage1 voltage2 voltage3 >"$TMP/adc.bin"
	"$T/t_kmod_ramp_check" "$TMP/adc.bin" 4 $scans
	[ "$(cat "$adc/overruns")" = 0 ] || fail "overruns during iio_readdev"
	log "iio_readdev: $scans samples x 4 channels match the ramp"

	# The same through iiod, as a remote libiio client sees it.
	iiod >"$TMP/iiod.log" 2>&1 &
	local iiod_pid=$! i
	for ((i = 0; i < 100; i++)); do
		iio_info -u ip:127.0.0.1 >"$TMP/info.txt" 2>&1 && break
		sleep 0.2
	done
	grep -q iiofab-sim-adc "$TMP/info.txt" || { cat "$TMP/info.txt" "$TMP/iiod.log"; fail "iio_info through iiod"; }
	iio_readdev -u ip:127.0.0.1 -b 16384 -s 262144 iiofab-sim-adc \
		voltage0 voltage1 voltage2 voltage3 >"$TMP/adc-net.bin"
	"$T/t_kmod_ramp_check" "$TMP/adc-net.bin" 4 262144
	kill $iiod_pid
	wait $iiod_pid 2>/dev/null || true
	log "iiod: iio_info and iio_readdev over the network work"

	python3 - "$TMP/dac.bin" <<'PY'
import struct, sys
with open(sys.argv[1], "wb") as f:
    f.write(b"".join(struct.pack("<4H", *[(n + 4096 * c) & 0xffff for c in range(4)])
                     for n in range(65536)))
PY
	echo 0 >"$dac/sampling_frequency"
	iio_writedev -u local: -b 4096 -s 65536 iiofab-sim-dac \
		voltage0 voltage1 voltage2 voltage3 <"$TMP/dac.bin"
	out=$(cat "$dac/samples_consumed")
	[ "$out" -gt 0 ] || fail "iio_writedev: nothing consumed"
	[ "$(cat "$dac/pattern_errors")" = 0 ] || fail "iio_writedev: pattern errors"
	log "iio_writedev: $out samples consumed, no pattern error"
	unload
}

group_dmabuf() {
	load
	"$T/t_kmod_dmabuf_adc"
	check_dmesg "DMABUF ADC"
	"$T/t_kmod_dmabuf_dac"
	unload
}

# Holds DMABUFs of $1 in a helper process; unloading must be refused while it
# holds them and succeed once it is gone ($2 = "disable" when a cyclic DAC
# block keeps them until the buffer is disabled).
unload_while_attached() {
	local label=$1 after=$2 pid i
	load
	"$T/t_kmod_dmabuf_life" hold "$label" >"$TMP/hold.out" 2>&1 &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		grep -q READY "$TMP/hold.out" && break
		kill -0 $pid 2>/dev/null || { cat "$TMP/hold.out"; fail "hold $label died"; }
		sleep 0.1
	done
	grep -q READY "$TMP/hold.out" || fail "hold $label never ready"
	if rmmod iiofab_sim 2>/dev/null; then fail "unloaded under attached DMABUFs"; fi
	kill -9 $pid
	wait $pid 2>/dev/null || true
	if [ "$after" = disable ]; then
		sleep 0.2
		if rmmod iiofab_sim 2>/dev/null; then
			fail "unloaded while a cyclic block is still queued"
		fi
		echo 0 >"$(dev_dir "$label")/buffer0/enable"
	fi
	for ((i = 0; i < 50; i++)); do
		rmmod iiofab_sim 2>/dev/null && break
		sleep 0.1
	done
	! loaded || fail "cannot unload after the $label holder is gone"
	log "unload while $label DMABUFs attached: refused, then clean"
}

# A process holding only an IIO buffer fd (chardev closed, nothing attached)
# does not keep the module: rmmod waits for it at most 10 s, then leaks that
# buffer. The fd must then fail cleanly, and closing it must be safe.
unload_while_buffer_fd_held() {
	local pid i t0 took
	load
	python3 - "/dev/$(basename "$(dev_dir adc0)")" "$TMP/fd.out" "$TMP/fd.go" <<'PY' &
import errno, fcntl, os, struct, sys, time
GET_FD, ATTACH = 0xC0046991, 0x40046992  # _IOWR('i', 0x91, int), _IOW('i', 0x92, int)
chardev = os.open(sys.argv[1], os.O_RDWR)
arg = bytearray(struct.pack("i", 0))
fcntl.ioctl(chardev, GET_FD, arg, True)
fd = struct.unpack("i", arg)[0]
os.close(chardev)
out = open(sys.argv[2], "w", buffering=1)
out.write("READY\n")
while not os.path.exists(sys.argv[3]):
    time.sleep(0.1)
def err(call):
    try:
        call()
    except OSError as e:
        return errno.errorcode[e.errno]
    return "ok"
read = err(lambda: os.read(fd, 64))
attach = err(lambda: fcntl.ioctl(fd, ATTACH, struct.pack("i", -1)))
os.close(fd)
out.write(f"read={read} attach={attach}\n")
PY
	pid=$!
	for ((i = 0; i < 100; i++)); do
		grep -q READY "$TMP/fd.out" 2>/dev/null && break
		kill -0 $pid 2>/dev/null || fail "buffer fd holder died"
		sleep 0.1
	done
	grep -q READY "$TMP/fd.out" || fail "buffer fd holder never ready"
	t0=$(date +%s)
	unload || fail "rmmod under a held buffer fd failed"
	took=$(($(date +%s) - t0))
	! loaded || fail "module still loaded"
	if [ "$took" -lt 9 ] || [ "$took" -gt 40 ]; then
		fail "rmmod under a held buffer fd took $took s, want about 10"
	fi
	dmesg | tail -n +$((DMESG_MARK + 1)) | grep -q "IIO buffer file is still open after 10 s: leaking" ||
		fail "no kernel error about the leaked buffer"
	touch "$TMP/fd.go"
	wait $pid || fail "buffer fd holder failed"
	grep -qx "read=ENODEV attach=EPERM" "$TMP/fd.out" ||
		{ cat "$TMP/fd.out"; fail "held buffer fd after unload"; }
	load
	unload
	log "unload while a buffer fd is held: bounded ($took s), fd fails cleanly, close safe"
}

group_lifecycle() {
	load
	"$T/t_kmod_dmabuf_life" detach-queued
	"$T/t_kmod_dmabuf_life" disable-queued
	unload
	check_dmesg "detach/disable while queued"
	unload_while_attached adc0 none
	check_dmesg "unload while ADC attached"
	unload_while_attached dac0 disable
	check_dmesg "unload while DAC attached"
	unload_while_buffer_fd_held
}

# The counter pattern, samples_produced, inject_drop, and counters=0 at work.
group_counter() {
	local adc dac scans=1048576 out
	load
	"$T/t_kmod_counter" adc
	"$T/t_kmod_counter" drop
	"$T/t_kmod_counter" drop-paced
	check_dmesg "counter ADC"
	"$T/t_kmod_counter" dac
	check_dmesg "counter DAC"

	# Through fileio, as libiio's tools see it.
	adc=$(dev_dir adc0)
	dac=$(dev_dir dac0)
	echo counter >"$adc/pattern"
	echo 0 >"$adc/sampling_frequency"
	iio_readdev -u local: -b 65536 -s $scans iiofab-sim-adc \
		voltage0 voltage1 voltage2 voltage3 >"$TMP/adc.bin"
	"$T/t_kmod_counter" check "$TMP/adc.bin" 4 $scans
	[ "$(cat "$adc/overruns")" = 0 ] || fail "overruns during iio_readdev"
	out=$(cat "$adc/samples_produced")
	[ "$out" -ge $scans ] || fail "samples_produced $out < $scans read"
	log "iio_readdev: $scans scans of counter from 0 ($out produced)"
	# An armed inject_drop skips the scans before the first one written.
	echo 777 >"$adc/inject_drop"
	iio_readdev -u local: -b 4096 -s 65536 iiofab-sim-adc \
		voltage0 voltage1 voltage2 voltage3 >"$TMP/adc.bin"
	"$T/t_kmod_counter" check "$TMP/adc.bin" 4 65536 777
	[ "$(cat "$adc/overruns")" = 777 ] || fail "overruns $(cat "$adc/overruns"), want 777"
	log "iio_readdev after inject_drop 777: the counter starts at 777"
	echo ramp >"$adc/pattern"

	echo counter >"$dac/pattern"
	echo 0 >"$dac/sampling_frequency"
	"$GEN" counter 4 65536 | iio_writedev -u local: -b 4096 -s 65536 iiofab-sim-dac \
		voltage0 voltage1 voltage2 voltage3
	out=$(cat "$dac/samples_consumed")
	[ "$out" -gt 0 ] || fail "iio_writedev: nothing consumed"
	[ "$(cat "$dac/pattern_errors")" = 0 ] || fail "iio_writedev counter: pattern errors"
	"$GEN" counter 4 65536 100 | iio_writedev -u local: -b 4096 -s 65536 iiofab-sim-dac \
		voltage0 voltage1 voltage2 voltage3
	[ "$(cat "$dac/pattern_errors")" = 1 ] ||
		fail "iio_writedev counter, scan 100 corrupted: $(cat "$dac/pattern_errors") errors, want 1"
	log "iio_writedev: t_gen_wave counter consumed ($out scans) without error, one corruption counted once"
	echo ramp >"$dac/pattern"
	unload

	load channels=16
	"$T/t_kmod_counter" adc
	unload
	log "counter with 16 channels ok"

	load counters=0
	"$T/t_kmod_counter" adc
	"$T/t_kmod_counter" drop
	"$T/t_kmod_counter" dac
	unload
	log "counters=0: the counter, samples_produced and inject_drop still work"
}

group_rate() {
	load
	"$T/t_kmod_rate"
	unload
}

group_bench() {
	load
	"$T/t_kmod_bench" "${IIOFAB_BENCH_SECONDS:-3}"
	unload
}

[ $# -gt 0 ] || { echo "usage: $0 load|fileio|dmabuf|lifecycle|rate|counter|bench..." >&2; exit 2; }
for group in "$@"; do
	case $group in
	load | fileio | dmabuf | lifecycle | rate | counter | bench) ;;
	*) echo "unknown group $group" >&2; exit 2 ;;
	esac
done
[ -f "$KO" ] || fail "$KO not built"
failed=()
for group in "$@"; do
	# One boot runs every group: a failing group must not hide the ones
	# after it, so each runs in a subshell that its fail() leaves.
	set +e
	(
		set -e
		if loaded; then unload; fi
		"group_$group"
		if loaded; then unload; fi
		check_dmesg "kmod.$group"
		check_dmabufs "kmod.$group"
	)
	rc=$?
	set -e
	if [ "$rc" = 0 ]; then
		log "kmod.$group passed"
	else
		echo "FAIL: kmod.$group (exit $rc)" >&2
		failed+=("kmod.$group")
		if loaded; then rmmod iiofab_sim || true; fi
	fi
	# The next group answers only for what the kernel logs from here on.
	DMESG_MARK=$(dmesg | wc -l)
done
log "$(($# - ${#failed[@]})) of $# kmod groups passed${failed:+; failed: ${failed[*]}}"
[ ${#failed[@]} = 0 ]
