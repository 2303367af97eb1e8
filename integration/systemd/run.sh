#!/bin/bash
# berth on a systemd host: the systemd cgroup driver and the engines in
# their default configuration, in a Debian 12 guest with systemd as PID 1
# (setup.sh builds it once into $BERTH_SYSTEMD_DIR), booted twice under
# qemu (TCG):
#   pure cgroup v2   the driver, engines, rootless, checkpoint and package
#                    suites
#   hybrid (v1)      the driver suite (systemd.unified_cgroup_hierarchy=0)
# Each suite runs with berth and with Debian's runc as the control.
#
#   integration/systemd/run.sh [BERTH_BINARY]
#
# Prints the guests' consoles, then per suite and boot the counts for both
# runtimes and one closing line `systemd (berth): N passed, N failed`. A
# test that fails with runc as well is named ("fails with runc too") and
# not counted against berth. Exit status 0 when nothing of berth's failed.
#
# Environment: BERTH_SYSTEMD_BOOTS (default "v2 hybrid"),
# BERTH_SYSTEMD_TIMEOUT (seconds per boot, default 1200),
# BERTH_SYSTEMD_SUITES (instead of each boot's own list),
# BERTH_SYSTEMD_VERBOSE=1 (print failed tests' logs), BERTH_SYSTEMD_DIR.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=$(realpath "${1:-$repo/target/x86_64-unknown-linux-gnu/release/berth}")
DIR=${BERTH_SYSTEMD_DIR:-/var/tmp/berth-systemd}
VMDIR=${BERTH_VM_DIR:-/var/tmp/berth-vm}
boots=${BERTH_SYSTEMD_BOOTS:-v2 hybrid}
limit=${BERTH_SYSTEMD_TIMEOUT:-1200}

say() { echo "systemd: $*" >&2; }
result() {
	echo "systemd (berth): $1 passed, $2 failed"
	[ "$2" = 0 ]
	exit $?
}
[ "$(id -u)" = 0 ] || { say "must run as root"; result 0 1; }
[ -x "$bin" ] || { say "no berth binary at $bin"; result 0 1; }
BERTH_SYSTEMD_DIR=$DIR "$here/setup.sh" >&2 || { say "setup.sh failed: no guest"; result 0 1; }

share=$(mktemp -d /tmp/berth-systemd-share.XXXXXX) || result 0 1
trap 'rm -rf "$share"' EXIT
mkdir -p "$share/integration/systemd"
install -m 0755 "$bin" "$share/berth"
cp "$repo/integration/run.sh" "$repo/integration/lib.sh" "$share/integration/"
cp -r "$here/tests" "$here/engines" "$share/integration/systemd/"
# The CRI suite (integration/k8s/run.sh calls this with its client and
# pause program built, and BERTH_SYSTEMD_SUITES=k8s).
mkdir -p "$share/integration/k8s"
cp "$repo/integration/k8s/run.sh" "$repo/integration/k8s/oci-archive.py" "$share/integration/k8s/"
[ -n "${BERTH_K8S_CLIENT:-}" ] && install -m 0755 "$BERTH_K8S_CLIENT" "$share/integration/k8s/client"
[ -n "${BERTH_K8S_PAUSE:-}" ] && install -m 0755 "$BERTH_K8S_PAUSE" "$share/integration/k8s/pause"
install -m 0755 "$here/guest.sh" "$share/run.sh"
# The Debian package of the binary under test, for the package suite.
"$repo/scripts/deb.sh" "$bin" "$share/berth.deb" >/dev/null || say "scripts/deb.sh failed: the package suite will say so"
logdir=$repo/target/systemd
mkdir -p "$logdir"

passed=0 failed=0
Q=$VMDIR/qemu
for boot in $boots; do
	case $boot in
	v2) unified=1 suites=${BERTH_SYSTEMD_SUITES:-driver engines rootless checkpoint package} ;;
	hybrid) unified=0 suites=${BERTH_SYSTEMD_SUITES:-driver} ;;
	*) say "unknown boot $boot"; failed=$((failed + 1)); continue ;;
	esac
	printf 'SUITES=%q\nTEST_TIMEOUT=300\nVERBOSE=%q\n' "$suites" "${BERTH_SYSTEMD_VERBOSE:-0}" >"$share/guest.env"
	rm -f "$share/rc" "$share/results"
	start=$(date +%s)
	say "booting the $boot guest (limit ${limit}s); console: $logdir/console-$boot.log"
	# -snapshot: the image stays as setup.sh made it.
	LD_LIBRARY_PATH=$Q/usr/lib/x86_64-linux-gnu:$Q/lib/x86_64-linux-gnu timeout -k 5 "$limit" \
		"$Q/usr/bin/qemu-system-x86_64" -accel tcg,thread=multi -cpu max -m 2048 -smp 2 \
		-display none -monitor none -serial stdio -no-reboot -nic none \
		-L "$Q/usr/share/qemu" -L "$Q/usr/share/seabios" -L "$Q/usr/lib/ipxe/qemu" \
		-kernel "$VMDIR/vmlinux" -initrd "$DIR/initramfs.cpio.gz" \
		-append "root=/dev/vda rw console=ttyS0 quiet mitigations=off systemd.show_status=0 systemd.unified_cgroup_hierarchy=$unified" \
		-drive "file=$DIR/rootfs.img,if=virtio,format=raw" -snapshot \
		-virtfs "local,path=$share,mount_tag=host0,security_model=none" </dev/null 2>&1 |
		tr -d '\r' | tee "$logdir/console-$boot.log"
	say "$boot guest done in $(($(date +%s) - start)) s"
	if [ ! -f "$share/rc" ] || [ ! -s "$share/results" ]; then
		say "FAIL: the $boot guest reported no results"
		failed=$((failed + 1))
		continue
	fi
	while read -r suite rt p f s; do
		[ "$suite" = FAIL ] && continue
		say "$boot/$suite ($rt): $p passed, $f failed, $s skipped"
		[ "$rt" = berth ] || continue
		passed=$((passed + p))
		failed=$((failed + f))
	done <"$share/results"
	# A failure of berth's that runc shares is the test's, not berth's.
	while read -r _ suite rt name; do
		[ "$rt" = berth ] || continue
		if grep -qx "FAIL $suite runc $name" "$share/results"; then
			say "$boot/$suite: $name fails with runc too (not counted)"
			failed=$((failed - 1))
		else
			say "$boot/$suite: FAIL $name"
		fi
	done < <(grep '^FAIL ' "$share/results")
done
result "$passed" "$failed"
