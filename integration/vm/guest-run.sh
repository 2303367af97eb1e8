#!/bin/bash
# Runs inside berth's test VM: guest-init calls it as /mnt/run.sh /mnt (the
# host's run.sh copies it into the share). Runs, as root on pure cgroup v2
# with every capability:
#   v2           integration/vm/tests-v2.sh (always)
#   integration  integration/run.sh with lib.sh and tests/*.sh (the same
#                suite as on the host), filtered by $VM_FILTER when set
# each through integration/run.sh, and writes one line per suite to
# SHARE/results: `NAME PASSED FAILED SKIPPED`. Exit status: 0 when nothing
# failed.
#
# VM_RUNTIME (vm.env) runc or crun: the share's runtime/bin/RUNTIME is the
# runtime under test ($BERTH in the tests) and its runtime/lib/ go into the
# guest's /lib/x86_64-linux-gnu; berth still makes the bundles
# (ITEST_SPEC) and lib.sh learns the runtime from ITEST_RUNTIME.
set -u
share=${1:-/mnt}
# shellcheck disable=SC1091
[ -f "$share/vm.env" ] && . "$share/vm.env"
: "${VM_FILTER:=}" "${VM_SUITES:=v2 integration}" "${VM_TEST_TIMEOUT:=180}" "${VM_VERBOSE:=0}" "${VM_RUNTIME:=berth}"

w=/opt/berth
mkdir -p "$w/bin" "$w/integration/tests" "$w/v2/tests"
# Everything onto the guest's tmpfs: 9p is slow under TCG, and berth
# re-executes itself from a copy of its binary on every start.
install -m 0755 "$share/berth" "$w/bin/berth"
# AppArmor's parser, for the apparmor_ tests (setup.sh).
install -m 0755 "$share/apparmor_parser" /sbin/apparmor_parser || echo "guest: no apparmor_parser in the share"
rt=$w/bin/berth
if [ "$VM_RUNTIME" != berth ]; then
	rt=$w/bin/$VM_RUNTIME
	install -m 0755 "$share/runtime/bin/$VM_RUNTIME" "$rt" || echo "guest: no $VM_RUNTIME in the share"
	cp -a "$share/runtime/lib/." /lib/x86_64-linux-gnu/ || echo "guest: copying $VM_RUNTIME's libraries failed"
fi
cp "$share"/integration/run.sh "$share"/integration/lib.sh "$w/integration/"
cp "$share"/integration/tests/*.sh "$w/integration/tests/" 2>/dev/null
# The v2 tests get a runner of their own: run.sh picks up every tests/*.sh
# beside it.
cp "$share"/integration/run.sh "$share"/integration/lib.sh "$w/v2/"
cp "$share"/integration/vm/tests-v2.sh "$w/v2/tests/v2.sh"

echo "guest: kernel $(uname -r), $(nproc) CPUs, $(($(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) / 1024)) MiB"
echo "guest: runtime under test: $VM_RUNTIME: $("$rt" --version 2>&1 | head -n1)"
echo "guest: cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
echo "guest: $(grep CapBnd /proc/self/status | tr -s '\t' ' ')"

: >"$share/results"
rc=0
for suite in $VM_SUITES; do
	case $suite in
	v2) dir=$w/v2 filter= ;;
	integration) dir=$w/integration filter=$VM_FILTER ;;
	*)
		echo "guest: unknown suite $suite"
		continue
		;;
	esac
	echo "=== $suite${filter:+ (filter: $filter)}"
	start=$(date +%s)
	ITEST_TIMEOUT=$VM_TEST_TIMEOUT ITEST_VERBOSE=$VM_VERBOSE \
		ITEST_RUNTIME=$VM_RUNTIME ITEST_SPEC=$w/bin/berth \
		bash "$dir/run.sh" "$rt" "$filter" </dev/null 2>&1 | tee "/tmp/$suite.out"
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "/tmp/$suite.out" | tail -n1)
	echo "=== $suite: ${summary:-no summary} ($(($(date +%s) - start)) s)"
	if [ -z "$summary" ]; then
		echo "$suite 0 1 0" >>"$share/results"
		rc=1
		continue
	fi
	# shellcheck disable=SC2086
	set -- ${summary//,/}
	echo "$suite $1 $3 ${5:-0}" >>"$share/results"
	[ "$3" = 0 ] || rc=1
done
# integration/run.sh removes its cgroup prefix at the end; say so if a
# test left cgroups behind anyway (not counted: the tests' own checks are
# what fail).
left=$(find /sys/fs/cgroup -mindepth 1 -maxdepth 4 -type d -name 'berth-itest*' 2>/dev/null | head -n 20)
[ -n "$left" ] && echo "guest: cgroups left behind after the suites:" && sed 's/^/guest:   /' <<<"$left"
sync
exit $rc
