#!/bin/bash
# Runs in the systemd guest as /mnt/run.sh (run.sh copies it into the
# share), as root once the system is up. Suites, each with berth and then
# with Debian's runc as the control:
#   driver   tests/driver.sh: the systemd cgroup driver alone
#   engines  engines/engines.sh: Docker, Podman, containerd (pure v2 only)
#   k8s      integration/k8s/run.sh: the CRI scenarios through containerd
#            with SystemdCgroup = true (only when integration/k8s asks)
# Writes SHARE/results: `SUITE RUNTIME PASSED FAILED SKIPPED` per run and
# `FAIL SUITE RUNTIME NAME` per failed test. Exit status 0 when the suites
# ran (failures are in the results).
set -u
share=${1:-/mnt}
# shellcheck disable=SC1091
. "$share/guest.env"
: "${SUITES:=driver engines}" "${TEST_TIMEOUT:=300}" "${VERBOSE:=0}"

w=/opt/berth
mkdir -p "$w"
install -m 0755 "$share/berth" /usr/local/bin/berth
runc_bin=$(command -v runc)
cp -r "$share/integration" "$w/"
echo "guest: kernel $(uname -r), systemd $(systemctl --version | head -n1 | cut -d' ' -f2), cgroup $(stat -fc %T /sys/fs/cgroup)"
echo "guest: berth: $(berth --version | head -n1); runc: $($runc_bin --version | head -n1)"

# A busybox rootfs for ctr and the engines' image.
bb=/opt/bb
mkdir -p "$bb/bin" "$bb/proc" "$bb/sys" "$bb/dev" "$bb/etc" "$bb/tmp"
cp /bin/busybox "$bb/bin/"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$bb/bin/$a"; done

: >"$share/results"
# run_suite NAME DIR RUNTIME BINARY
run_suite() {
	local name=$1 dir=$2 rt=$3 bin=$4 start summary
	echo "=== $name ($rt)"
	start=$(date +%s)
	ITEST_TIMEOUT=$TEST_TIMEOUT ITEST_VERBOSE=$VERBOSE ITEST_RUNTIME=$rt ITEST_SPEC=/usr/local/bin/berth \
		ENGINE_ROOTFS=$bb bash "$dir/run.sh" "$bin" </dev/null 2>&1 | tee "/tmp/$name-$rt.out"
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "/tmp/$name-$rt.out" | tail -n1)
	echo "=== $name ($rt): ${summary:-no summary} ($(($(date +%s) - start)) s)"
	if [ -z "$summary" ]; then
		echo "$name $rt 0 1 0" >>"$share/results"
		return
	fi
	# shellcheck disable=SC2086
	set -- ${summary//,/}
	echo "$name $rt $1 $3 ${5:-0}" >>"$share/results"
	sed -n "s/^FAIL \([^:]*\):.*/FAIL $name $rt \1/p" "/tmp/$name-$rt.out" >>"$share/results"
}

# Each suite is a copy of integration/run.sh and lib.sh beside its tests.
suite_dir() {
	local d=$w/suites/$1
	mkdir -p "$d/tests"
	cp "$w/integration/run.sh" "$w/integration/lib.sh" "$d/"
	cp "$2" "$d/tests/"
	echo "$d"
}

start_engines() {
	mkdir -p /etc/docker
	printf '{"runtimes": {"berth": {"path": "/usr/local/bin/berth"}}}\n' >/etc/docker/daemon.json
	systemctl start docker || { echo "guest: dockerd did not start"; journalctl -u docker --no-pager | tail -n 20; return 1; }
	tar -C "$bb" -cf /tmp/bb.tar . &&
		docker import /tmp/bb.tar bb >/dev/null &&
		podman import /tmp/bb.tar bb >/dev/null ||
		{ echo "guest: importing the busybox image failed"; return 1; }
}

# The CRI suite (integration/k8s/run.sh) with its client and pause built on
# the host: its `ok`/`FAIL NAME (HANDLER)` lines and counts, into results.
run_k8s() {
	local k=$w/integration/k8s start h
	echo "=== k8s"
	start=$(date +%s)
	K8S_CLIENT=$k/client K8S_PAUSE=$k/pause K8S_CGROUP_DRIVER=systemd \
		bash "$k/run.sh" /usr/local/bin/berth </dev/null 2>&1 | tee /tmp/k8s.out
	echo "=== k8s ($(($(date +%s) - start)) s)"
	for h in berth runc; do
		grep -qE "^k8s \($h\): " /tmp/k8s.out || { echo "k8s $h 0 1 0" >>"$share/results"; continue; }
		# Counted from the scenario lines (run.sh's berth line already
		# leaves out what fails with runc too; run.sh here does that).
		echo "k8s $h $(grep -c "^ok .* ($h)$" /tmp/k8s.out) $(grep -c "^FAIL .* ($h):" /tmp/k8s.out) 0" >>"$share/results"
		sed -n "s/^FAIL \([^ ]*\) ($h):.*/FAIL k8s $h \1/p" /tmp/k8s.out >>"$share/results"
	done
}

for suite in $SUITES; do
	case $suite in
	k8s) run_k8s ;;
	driver)
		d=$(suite_dir driver "$w/integration/systemd/tests/driver.sh")
		run_suite driver "$d" berth /usr/local/bin/berth
		run_suite driver "$d" runc "$runc_bin"
		;;
	engines)
		if ! start_engines; then
			echo "engines berth 0 1 0" >>"$share/results"
			continue
		fi
		d=$(suite_dir engines "$w/integration/systemd/engines/engines.sh")
		run_suite engines "$d" berth /usr/local/bin/berth
		run_suite engines "$d" runc "$runc_bin"
		;;
	esac
done

# Nothing of the tests' may be left in systemd.
left=$(systemctl list-units --all --no-legend --plain 'bitest-*' 'system-bitest*' 'ctr-bitest*' 2>/dev/null)
if [ -n "$left" ]; then
	echo "guest: units left behind:"
	echo "$left" | sed 's/^/guest:   /'
	echo "leftovers berth 0 1 0" >>"$share/results"
	echo "FAIL leftovers berth units_left_behind" >>"$share/results"
fi
sync
