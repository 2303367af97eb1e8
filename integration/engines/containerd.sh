#!/bin/bash
# containerd scenarios: `ctr run --runc-binary ENGINE_RUNTIME` through the
# private containerd run.sh started (its io.containerd.runc.v2 shim, the
# one Kubernetes uses), on the busybox rootfs; one line per scenario.
set -u
C=(ctr --address "$ENGINE_WORK/containerd.sock")
# ctr puts no PATH in a spec for a bare --rootfs; runc (Go LookPath) then
# finds nothing, berth (execvp's default path) would: name it for both.
R=(run --rm --runc-binary "$ENGINE_RUNTIME" --env PATH=/bin --rootfs)
n=0
# Sets id (and the cgroup cg names) for the next scenario.
cid() { n=$((n + 1)); id="berth-$ENGINE_RT_NAME-$n"; }
cg() { echo "$CGPARENT/ctr-$ENGINE_RT_NAME-$n"; }
check() {
  if [ "$2" == "$3" ]; then echo "$1 ok"; else echo "$1 FAIL expected [$3] got [$(echo "$2" | tr '\n' '|' | head -c 300)]"; fi
}
t() { timeout 60 "${C[@]}" "$@" 2>&1; }
ROOTFS=$ENGINE_WORK/rootfs

cid; check run "$(t "${R[@]}" --cgroup "$(cg)" "$ROOTFS" "$id" echo hi)" "hi"
cid; t "${R[@]}" --cgroup "$(cg)" "$ROOTFS" "$id" sh -c 'exit 7' >/dev/null
check exit-code "$?" 7
cid; check env "$(t "${R[@]}" --cgroup "$(cg)" --env FOO=bar "$ROOTFS" "$id" sh -c 'echo $FOO')" "bar"
cid; check seccomp-default "$(t "${R[@]}" --cgroup "$(cg)" --seccomp "$ROOTFS" "$id" sh -c 'grep Seccomp: /proc/self/status' | awk '{print $2}')" "2"
cid; check cap-add "$(t "${R[@]}" --cgroup "$(cg)" --cap-add CAP_SYS_ADMIN "$ROOTFS" "$id" sh -c 'grep CapEff /proc/self/status' | awk '{print $2}')" "00000000a82425fb"
cid; check tty "$(timeout 60 script -qc "$(printf '%q ' "${C[@]}" "${R[@]}" --cgroup "$(cg)" -t "$ROOTFS" "$id" sh -c 'tty >/dev/null && echo is-tty')" /dev/null </dev/null 2>&1 | grep -o is-tty | tail -1)" "is-tty"
cid; check cwd "$(t "${R[@]}" --cgroup "$(cg)" --cwd /tmp "$ROOTFS" "$id" pwd)" "/tmp"
cid; check read-only "$(t "${R[@]}" --cgroup "$(cg)" --read-only "$ROOTFS" "$id" sh -c 'touch /x 2>/dev/null && echo writable || echo ro')" "ro"
mkdir -p "$ENGINE_WORK/ctr-vol" && echo volfile >"$ENGINE_WORK/ctr-vol/f"
cid; check bind-mount "$(t "${R[@]}" --cgroup "$(cg)" --mount "type=bind,src=$ENGINE_WORK/ctr-vol,dst=/v,options=rbind:ro" "$ROOTFS" "$id" cat /v/f)" "volfile"
cid; check cap-drop "$(t "${R[@]}" --cgroup "$(cg)" --cap-drop CAP_CHOWN "$ROOTFS" "$id" sh -c 'grep CapEff /proc/self/status' | awk '{print $2}')" "00000000a80425fa"
# A task left running: exec, ps, metrics, cpu quota, pause/resume, kill.
cid
timeout 60 "${C[@]}" run -d --runc-binary "$ENGINE_RUNTIME" --env PATH=/bin --cgroup "$(cg)" --memory-limit 67108864 --rootfs "$ROOTFS" "$id" sleep 1000 >/dev/null 2>&1
# ctr's spec mounts no cgroupfs in the container: read the limit on the host.
check memory-limit "$(cat "/sys/fs/cgroup/memory$(cg)/memory.limit_in_bytes" 2>&1)" "67108864"
check exec "$(t task exec --exec-id e1 "$id" echo from-exec)" "from-exec"
check ps "$(t task ps "$id" | awk 'NR > 1 && $1 ~ /^[0-9]+$/' | wc -l)" "1"
check metrics "$(t task metrics "$id" | grep -q 'memory' && echo has-memory)" "has-memory"
t task pause "$id" >/dev/null
check pause "$(t task ls | awk -v id="$id" '$1 == id {print $3}')" "PAUSED"
t task resume "$id" >/dev/null
check resume "$(t task ls | awk -v id="$id" '$1 == id {print $3}')" "RUNNING"
t task kill -s SIGKILL "$id" >/dev/null
sleep 1
check kill "$(t task ls | awk -v id="$id" '$1 == id {print $3}')" "STOPPED"
t task delete "$id" >/dev/null
t container delete "$id" >/dev/null

# ctr sets noNewPrivileges unless --allow-new-privs.
cid; check no-new-privileges "$(t "${R[@]}" --cgroup "$(cg)" "$ROOTFS" "$id" sh -c 'grep NoNewPrivs /proc/self/status' | awk '{print $2}')" "1"
cid; check allow-new-privs "$(t "${R[@]}" --cgroup "$(cg)" --allow-new-privs "$ROOTFS" "$id" sh -c 'grep NoNewPrivs /proc/self/status' | awk '{print $2}')" "0"
cid; check privileged "$(t "${R[@]}" --cgroup "$(cg)" --privileged "$ROOTFS" "$id" sh -c 'grep CapEff /proc/self/status' | awk '{print $2}')" "$(awk '/^CapBnd/ {print $2}' /proc/self/status)"
# The limit is read on the host while the task runs (up to 10 s to start).
cid; t "${R[@]}" --cgroup "$(cg)" --cpus 0.5 "$ROOTFS" "$id" sleep 3 >/dev/null &
quota=/sys/fs/cgroup/cpu$(cg)/cpu.cfs_quota_us
for _ in $(seq 50); do [ -e "$quota" ] && break; sleep 0.2; done
check cpu-limit "$(cat "$quota" 2>&1)" "50000"
wait
# The engine shows the runtime's error (--log-format json) to its user.
cid; check bad-command "$(t "${R[@]}" --cgroup "$(cg)" "$ROOTFS" "$id" /no/such/binary | grep -c 'no/such/binary')" "1"
# A shim configured for the systemd cgroup driver on a host without
# systemd: the runtime fails with an error that says so (it cannot reach
# systemd), rather than falling back to cgroupfs. integration/systemd/
# tests the driver on a systemd host.
cid; out=$(t "${R[@]}" --runc-systemd-cgroup --cgroup "system.slice:berth-engines:$id" "$ROOTFS" "$id" echo hi)
check systemd-cgroup-without-systemd "$(grep -qi 'systemd' <<<"$out" && ! grep -qx hi <<<"$out" && echo refused)" "refused"
t container delete "$id" >/dev/null
# ctr gives a task a network namespace of its own and no interface but lo
# (no CNI); --net-host shares the host's.
cid; check network-none "$(t "${R[@]}" --cgroup "$(cg)" "$ROOTFS" "$id" sh -c 'grep -c : /proc/net/dev')" "1"
cid; check net-host "$(t "${R[@]}" --cgroup "$(cg)" --net-host "$ROOTFS" "$id" sh -c 'grep -c : /proc/net/dev')" "$(grep -c : /proc/net/dev)"
cid; check no-pivot "$(t "${R[@]}" --cgroup "$(cg)" --no-pivot "$ROOTFS" "$id" echo hi)" "hi"
cid; check device "$(t "${R[@]}" --cgroup "$(cg)" --device /dev/fuse "$ROOTFS" "$id" sh -c '[ -c /dev/fuse ] && echo chr')" "chr"
# A profile of the user's own (--seccomp-profile): uname fails with EPERM,
# which busybox's hostname shows as "?"; the rest runs.
printf '%s' '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["uname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}' >"$ENGINE_WORK/ctr-seccomp.json"
# Without the profile the same command prints the host's name (ctr sets none).
cid; check seccomp-profile-control "$(t "${R[@]}" --cgroup "$(cg)" "$ROOTFS" "$id" sh -c 'hostname; echo still-runs' | tr '\n' ' ')" "$(hostname) still-runs "
cid; check seccomp-profile "$(t "${R[@]}" --cgroup "$(cg)" --seccomp --seccomp-profile "$ENGINE_WORK/ctr-seccomp.json" "$ROOTFS" "$id" sh -c 'hostname; echo still-runs' | tr '\n' ' ')" "? still-runs "
# A task left running: a signal reaches it, exec with a tty, and the
# default kill (SIGTERM) stops it.
cid
timeout 60 "${C[@]}" run -d --runc-binary "$ENGINE_RUNTIME" --env PATH=/bin --cgroup "$(cg)" --rootfs "$ROOTFS" "$id" \
  sh -c 'trap "echo got-usr1 >/tmp/usr1" USR1; trap "exit 3" TERM; while :; do sleep 0.2; done' >/dev/null 2>&1
sleep 0.5
t task kill -s SIGUSR1 "$id" >/dev/null
sleep 0.6
check signal "$(t task exec --exec-id e2 "$id" cat /tmp/usr1)" "got-usr1"
check exec-tty "$(timeout 60 script -qc "$(printf '%q ' "${C[@]}" task exec -t --exec-id e3 "$id" sh -c 'tty >/dev/null && echo is-tty')" /dev/null </dev/null 2>&1 | tr -d '\r' | grep -o is-tty | tail -1)" "is-tty"
t task kill "$id" >/dev/null
for _ in $(seq 50); do [ "$(t task ls | awk -v id="$id" '$1 == id {print $3}')" = STOPPED ] && break; sleep 0.2; done
check stop "$(t task ls | awk -v id="$id" '$1 == id {print $3}')" "STOPPED"
t task delete "$id" >/dev/null
t container delete "$id" >/dev/null
