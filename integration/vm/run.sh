#!/bin/bash
# berth's tests on pure cgroup v2, as root with every capability, in a small
# VM booted with qemu (TCG) from Debian's packages (setup.sh builds it).
#
#   integration/vm/run.sh [BERTH_BINARY]
#
# BERTH_BINARY: a static berth is best (RUSTFLAGS='-C target-feature=+crt-static'
# cargo build --release --target x86_64-unknown-linux-gnu); a dynamic one
# built on Debian 12 runs too (the guest has Debian 12's libc). Default: the
# first of $BERTH_STATIC, target/x86_64-unknown-linux-gnu/release/berth (what
# `make build` makes), /var/tmp/berth-static-target/x86_64-unknown-linux-gnu/
# release/berth that exists.
#
# In the guest: integration/vm/tests-v2.sh (always, in full) and
# integration/run.sh's suite (lib.sh, tests/*.sh): by default the subset
# named below (SUBSET), as guest-run.sh says.
# Prints the guest's console as it goes (all of it also in
# $BERTH_VM_LOGDIR/console.log, default target/vm/; console-runc.log,
# console-crun.log for the other runtimes), then one line
# `vm (RUNTIME): N passed, N failed` (`, N skipped` when something was
# skipped). Exit status 0 only when the VM reported and nothing failed.
#
# Environment:
#   BERTH_VM_RUNTIME, else RUNTIME   the runtime under test: berth (the
#                     default), runc or crun (Debian's, unpacked into the
#                     cache by setup.sh --runtimes on first use). The tests
#                     call it as $BERTH; BERTH_BINARY still makes the
#                     bundles (`berth spec`), so every runtime runs the same
#                     configs (ociVersion 1.0.2 for crun, which refuses
#                     newer ones).
#   BERTH_VM_DIR      the VM's cache (setup.sh), default /var/tmp/berth-vm
#   BERTH_VM_TIMEOUT  seconds for the whole VM run, default 900
#   BERTH_VM_FILTER   a bash regex: those tests of the integration suite
#                     (default: the subset below; "all": every test). The
#                     v2 tests always run in full.
#   BERTH_VM_SUITES   default "v2 integration"; "v2" runs only the v2 tests
#   BERTH_VM_TEST_TIMEOUT  seconds per test in the guest, default 180
#   BERTH_VM_VERBOSE  1: print the log of each failed test
#   BERTH_VM_MEM, BERTH_VM_CPUS  default 1024 (MiB), 2
#   BERTH_VM_LOGDIR   where console.log goes, default <repo>/target/vm
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
DIR=${BERTH_VM_DIR:-/var/tmp/berth-vm}
export BERTH_VM_DIR=$DIR
timeout_s=${BERTH_VM_TIMEOUT:-900}
runtime=${BERTH_VM_RUNTIME:-${RUNTIME:-berth}}

say() { echo "vm: $*" >&2; }
# result P F [S]: the closing line, and the exit status.
result() {
	local line="vm ($runtime): $1 passed, $2 failed"
	[ "${3:-0}" -gt 0 ] && line+=", $3 skipped"
	echo "$line"
	[ "$2" = 0 ]
	exit $?
}

case $runtime in
berth | runc | crun) ;;
*)
	say "unknown runtime [$runtime] (BERTH_VM_RUNTIME or RUNTIME: berth, runc or crun)"
	runtime=berth
	result 0 1
	;;
esac

bin=${1:-}
if [ -z "$bin" ]; then
	for b in "${BERTH_STATIC:-}" "$repo/target/x86_64-unknown-linux-gnu/release/berth" \
		/var/tmp/berth-static-target/x86_64-unknown-linux-gnu/release/berth; do
		[ -n "$b" ] && [ -x "$b" ] && bin=$b && break
	done
	[ -n "$bin" ] || {
		say "no berth binary: give one, or build a static one:"
		say "  RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --target x86_64-unknown-linux-gnu"
		result 0 1
	}
fi
[ -f "$bin" ] && [ -x "$bin" ] || {
	say "$bin is not an executable file"
	result 0 1
}
[ "$(id -u)" = 0 ] || {
	say "must run as root (setup.sh unpacks packages and chroots)"
	result 0 1
}
# is_dynamic FILE: an ELF file with a PT_INTERP program header.
is_dynamic() {
	local f=$1 phoff phentsize phnum i
	phoff=$(od -An -t u8 -j 32 -N 8 "$f" | tr -d ' ')
	phentsize=$(od -An -t u2 -j 54 -N 2 "$f" | tr -d ' ')
	phnum=$(od -An -t u2 -j 56 -N 2 "$f" | tr -d ' ')
	for ((i = 0; i < ${phnum:-0}; i++)); do
		[ "$(od -An -t u4 -j $((phoff + i * phentsize)) -N 4 "$f" | tr -d ' ')" = 3 ] && return 0
	done
	return 1
}
if is_dynamic "$bin"; then
	say "note: $bin is dynamically linked; it runs only if the guest's Debian 12 libraries suit it"
fi

setup_args=()
[ "$runtime" != berth ] && setup_args=(--runtimes)
"$here/setup.sh" "${setup_args[@]}" >&2 || {
	say "setup.sh failed: no VM"
	result 0 1
}

# Under TCG a test of the suite costs 5-8 s (python3 alone, which lib.sh
# runs for every config edit and state query, takes ~0.4 s there), so the
# whole suite (over 120 tests) would take ~15 minutes. By default the VM
# runs the SUBSET where pure cgroup v2 and the full capability set make a
# difference: the cgroup_* tests (cgroups.sh: resource limits), kill --all
# and delete --force (cgroup.kill), the devices tests (berth's eBPF device
# filter), failed creates that must leave no cgroup, pause/resume and ps
# (the v2 freezer, cgroup listing), exec into the cgroup and a paused
# container, update and events, and the AppArmor tests (lsm.sh: this
# host has no AppArmor), and the CVE-2019-5736 tests (berth's overlayfs
# view of itself on an older kernel). The lifecycle basics run on the host only, and
# tests-v2.sh checks create/delete of the v2 cgroup itself. Each test takes
# ~10 s under TCG and the VM part of `make test` must stay under 10
# minutes. BERTH_VM_FILTER=all runs every test.
SUBSET='^test_(check_|escape_overwrite_|apparmor_|delete_force_created|kill_all|dev_|bad_cgroups|pause_|ps_json|exec_cgroup|exec_paused|cgroup_|update_|events_)'
filter=${BERTH_VM_FILTER-$SUBSET}
[ "$filter" = all ] && filter=

share=$(mktemp -d /tmp/berth-vm-share.XXXXXX) || result 0 1
qpid=
cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null
	rm -rf "$share" "$share.disk"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A small blank disk (/dev/vda in the guest), for the io controller's
# weight and throttle tests: sparse, in the temp dir, removed at exit.
truncate -s 64M "$share.disk" || result 0 1

# The share (9p, /mnt in the guest): berth, the suite, the v2 tests, the
# guest's script. The container rootfs is the guest's static /bin/busybox,
# which lib.sh's make_bundle copies into each bundle.
mkdir -p "$share/integration/tests" "$share/integration/vm"
install -m 0755 "$bin" "$share/berth"
install -m 0755 "$DIR/apparmor/apparmor_parser" "$share/apparmor_parser" || result 0 1
# Another runtime: its binary and the libraries the guest lacks.
if [ "$runtime" != berth ]; then
	mkdir -p "$share/runtime/bin" "$share/runtime/lib"
	if ! cp "$DIR/runtimes/bin/$runtime" "$share/runtime/bin/" ||
		! cp -a "$DIR/runtimes/lib/." "$share/runtime/lib/"; then
		say "no $runtime in $DIR/runtimes (setup.sh --runtimes)"
		result 0 1
	fi
	say "runtime under test: $(grep "^$runtime " "$DIR/runtimes/versions")"
fi
cp "$repo/integration/run.sh" "$repo/integration/lib.sh" "$share/integration/" || {
	say "integration/run.sh or lib.sh is missing"
	result 0 1
}
cp "$repo"/integration/tests/*.sh "$share/integration/tests/" 2>/dev/null
cp "$here/tests-v2.sh" "$share/integration/vm/"
install -m 0755 "$here/guest-run.sh" "$share/run.sh"
{
	printf 'VM_FILTER=%q\n' "$filter"
	printf 'VM_SUITES=%q\n' "${BERTH_VM_SUITES:-v2 integration}"
	printf 'VM_TEST_TIMEOUT=%q\n' "${BERTH_VM_TEST_TIMEOUT:-180}"
	printf 'VM_VERBOSE=%q\n' "${BERTH_VM_VERBOSE:-0}"
	printf 'VM_RUNTIME=%q\n' "$runtime"
} >"$share/vm.env"

logdir=${BERTH_VM_LOGDIR:-$repo/target/vm}
mkdir -p "$logdir" 2>/dev/null || logdir=$share
log=$logdir/console.log
[ "$runtime" != berth ] && log=$logdir/console-$runtime.log

Q=$DIR/qemu
mem=${BERTH_VM_MEM:-1024}
cpus=${BERTH_VM_CPUS:-2}
# Two NUMA nodes (half the memory and the CPUs each), for linux.memoryPolicy;
# BERTH_VM_NUMA=0 boots one.
numa=()
if [ "${BERTH_VM_NUMA:-1}" != 0 ] && [ "$cpus" -ge 2 ]; then
	half=$((mem / 2))
	numa=(-object "memory-backend-ram,id=m0,size=${half}M" -object "memory-backend-ram,id=m1,size=$((mem - half))M"
		-numa "node,nodeid=0,cpus=0-$((cpus / 2 - 1)),memdev=m0" -numa "node,nodeid=1,cpus=$((cpus / 2))-$((cpus - 1)),memdev=m1")
fi
start=$(date +%s)
say "booting (TCG, $cpus CPUs, $mem MiB, ${#numa[@]} NUMA arguments, limit ${timeout_s}s); console: $log"
# -accel tcg: /dev/kvm here is PVM-based and runs no ordinary guest.
# mitigations=off: no page-table isolation etc., which cost most under TCG.
LD_LIBRARY_PATH=$Q/usr/lib/x86_64-linux-gnu:$Q/lib/x86_64-linux-gnu \
	"$Q/usr/bin/qemu-system-x86_64" -accel tcg,thread=multi -cpu max \
	-m "$mem" -smp "$cpus" "${numa[@]}" \
	-display none -monitor none -serial stdio -no-reboot -nic none \
	-L "$Q/usr/share/qemu" -L "$Q/usr/share/seabios" -L "$Q/usr/lib/ipxe/qemu" \
	-kernel "$DIR/vmlinux" -initrd "$DIR/initramfs.cpio" \
	-append "console=ttyS0 quiet panic=-1 cgroup_no_v1=all mitigations=off" \
	-virtfs "local,path=$share,mount_tag=berth,security_model=none" \
	-drive "file=$share.disk,if=virtio,format=raw,cache=unsafe" \
	</dev/null >"$share/console.raw" 2>&1 &
qpid=$!
# Show the console while it runs; stop at qemu's exit or the time limit.
tail -n +1 -f --pid="$qpid" "$share/console.raw" 2>/dev/null | sed -u 's/\r$//' &
tpid=$!
timed_out=0
while kill -0 "$qpid" 2>/dev/null; do
	if (($(date +%s) - start >= timeout_s)); then
		timed_out=1
		kill "$qpid" 2>/dev/null
		sleep 2
		kill -9 "$qpid" 2>/dev/null
		break
	fi
	sleep 1
done
wait "$qpid" 2>/dev/null
qrc=$?
qpid=
wait "$tpid" 2>/dev/null
tr -d '\r' <"$share/console.raw" >"$log.new" && mv "$log.new" "$log"
[ "$logdir" = "$share" ] && log="(lost with the share)"
elapsed=$(($(date +%s) - start))

passed=0 failed=0 skipped=0
if [ -s "$share/results" ]; then
	while read -r name p f s; do
		say "$name: $p passed, $f failed${s:+, $s skipped}"
		passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + ${s:-0}))
	done <"$share/results"
fi
if [ "$timed_out" = 1 ] || [ ! -f "$share/rc" ]; then
	# Count what the console showed, plus one failure for the missing report.
	if [ ! -s "$share/results" ]; then
		passed=$(grep -c '^ok ' "$log" 2>/dev/null)
		failed=$(grep -c '^FAIL ' "$log" 2>/dev/null)
	fi
	if [ "$timed_out" = 1 ]; then
		say "FAIL: the VM did not finish within ${timeout_s}s (BERTH_VM_TIMEOUT); console: $log"
	else
		say "FAIL: the VM stopped without reporting (qemu exit status $qrc); console: $log"
	fi
	result "${passed:-0}" $((${failed:-0} + 1)) "$skipped"
fi
grc=$(cat "$share/rc")
say "done in ${elapsed}s, guest exit status $grc; console: $log"
if [ ! -s "$share/results" ]; then
	say "FAIL: the guest reported no results"
	result 0 1
fi
# A guest that failed without a failed test (its script broke) still fails.
[ "$grc" != 0 ] && [ "$failed" = 0 ] && failed=1 && say "FAIL: guest exit status $grc"
result "$passed" "$failed" "$skipped"
