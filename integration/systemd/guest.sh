#!/bin/bash
# Runs in the systemd guest as /mnt/run.sh (run.sh copies it into the
# share), as root once the system is up. Suites, each with berth and then
# with Debian's runc as the control:
#   driver   tests/driver.sh: the systemd cgroup driver alone
#   engines  engines/engines.sh: Docker, Podman, containerd (pure v2 only)
#   k8s      integration/k8s/run.sh: the CRI scenarios through containerd
#            with SystemdCgroup = true (only when integration/k8s asks)
#   rootless tests/rootless.sh: an ordinary user with lingering, its
#            systemd and rootless Podman (pure v2 only)
#   checkpoint tests/checkpoint.sh: checkpoint and restore through CRIU
#   package    tests/package.sh: the Debian package (berth only)
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

# The rootless suite's user, as its README section says to set one up:
# user@.service delegates cpu, io, memory and pids; the user lingers (its
# systemd and user bus run without a login) and has a subuid range; Podman
# keeps its images in vfs and has the busybox image `bb`.
export RL_USER=bitestuser
rootless_setup() {
	mkdir -p /etc/systemd/system/user@.service.d
	printf '[Service]\nDelegate=cpu cpuset io memory pids\n' >/etc/systemd/system/user@.service.d/delegate.conf
	systemctl daemon-reload
	useradd -m -s /bin/sh "$RL_USER" || return 1
	# (useradd gives the user a range where login.defs says so.)
	grep -q "^$RL_USER:" /etc/subuid || echo "$RL_USER:200000:65536" >>/etc/subuid
	grep -q "^$RL_USER:" /etc/subgid || echo "$RL_USER:200000:65536" >>/etc/subgid
	loginctl enable-linger "$RL_USER" || return 1
	local uid i
	uid=$(id -u "$RL_USER")
	for ((i = 0; i < 120; i++)); do
		[ -S "/run/user/$uid/bus" ] && break
		sleep 0.5
	done
	[ -S "/run/user/$uid/bus" ] || { echo "guest: no user bus for $RL_USER"; return 1; }
	echo "guest: $RL_USER's manager delegates: $(cat "/sys/fs/cgroup/user.slice/user-$uid.slice/user@$uid.service/cgroup.controllers")"
	mkdir -p "/home/$RL_USER/.config/containers"
	printf '[storage]\ndriver = "vfs"\n' >"/home/$RL_USER/.config/containers/storage.conf"
	chown -R "$RL_USER:" "/home/$RL_USER"
	[ -f /tmp/bb.tar ] || tar -C "$bb" -cf /tmp/bb.tar .
	chmod 644 /tmp/bb.tar
	runuser -u "$RL_USER" -- env XDG_RUNTIME_DIR="/run/user/$uid" DBUS_SESSION_BUS_ADDRESS="unix:path=/run/user/$uid/bus" \
		systemd-run --user --quiet --wait --pipe --collect -- podman import /tmp/bb.tar bb </dev/null >/dev/null ||
		{ echo "guest: podman import as $RL_USER failed"; return 1; }
}
rootless_teardown() {
	loginctl disable-linger "$RL_USER"
	loginctl terminate-user "$RL_USER" 2>/dev/null
	userdel -r "$RL_USER" 2>/dev/null
	sed -i "/^$RL_USER:/d" /etc/subuid /etc/subgid
	rm -f /etc/systemd/system/user@.service.d/delegate.conf
}

for suite in $SUITES; do
	case $suite in
	k8s) run_k8s ;;
	checkpoint)
		echo "guest: $(criu --version | head -n1); criu check: $(criu check 2>&1 | tail -n1)"
		[ -f /tmp/bb.tar ] || tar -C "$bb" -cf /tmp/bb.tar .
		podman image exists bb || podman import /tmp/bb.tar bb >/dev/null
		d=$(suite_dir checkpoint "$w/integration/systemd/tests/checkpoint.sh")
		run_suite checkpoint "$d" berth /usr/local/bin/berth
		run_suite checkpoint "$d" runc "$runc_bin"
		;;
	package)
		cp "$share/berth.deb" "$w/berth.deb" 2>/dev/null
		d=$(suite_dir package "$w/integration/systemd/tests/package.sh")
		run_suite package "$d" berth /usr/local/bin/berth
		;;
	driver)
		d=$(suite_dir driver "$w/integration/systemd/tests/driver.sh")
		run_suite driver "$d" berth /usr/local/bin/berth
		run_suite driver "$d" runc "$runc_bin"
		;;
	rootless)
		if ! rootless_setup; then
			echo "rootless berth 0 1 0" >>"$share/results"
			rootless_teardown
			continue
		fi
		d=$(suite_dir rootless "$w/integration/systemd/tests/rootless.sh")
		run_suite rootless "$d" berth /usr/local/bin/berth
		run_suite rootless "$d" runc "$runc_bin"
		rootless_teardown
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
