#!/bin/bash
# containerd scenarios: `ctr run --runc-binary ENGINE_RUNTIME` through the
# private containerd run.sh started (its io.containerd.runc.v2 shim, the
# one Kubernetes uses), on the busybox rootfs; one line per scenario.
set -u
C=(ctr --address "$ENGINE_WORK/containerd.sock")
R=(run --rm --runc-binary "$ENGINE_RUNTIME" --rootfs)
n=0
cid() { n=$((n + 1)); echo "berth-$ENGINE_RT_NAME-$n"; }
cg() { echo "$CGPARENT/ctr-$ENGINE_RT_NAME-$n"; }
check() {
  if [ "$2" == "$3" ]; then echo "$1 ok"; else echo "$1 FAIL expected [$3] got [$(echo "$2" | tr '\n' '|' | head -c 300)]"; fi
}
t() { timeout 60 "${C[@]}" "$@" 2>&1; }
ROOTFS=$ENGINE_WORK/rootfs

id=$(cid); check run "$(t "${R[@]}" --cgroup "$(cg)" "$ROOTFS" "$id" echo hi)" "hi"
id=$(cid); t "${R[@]}" --cgroup "$(cg)" "$ROOTFS" "$id" sh -c 'exit 7' >/dev/null
check exit-code "$?" 7
id=$(cid); check env "$(t "${R[@]}" --cgroup "$(cg)" --env FOO=bar "$ROOTFS" "$id" sh -c 'echo $FOO')" "bar"
id=$(cid); check seccomp-default "$(t "${R[@]}" --cgroup "$(cg)" --seccomp "$ROOTFS" "$id" sh -c 'grep Seccomp: /proc/self/status' | awk '{print $2}')" "2"
id=$(cid); check cap-add "$(t "${R[@]}" --cgroup "$(cg)" --cap-add CAP_SYS_ADMIN "$ROOTFS" "$id" sh -c 'grep CapEff /proc/self/status' | awk '{print $2}')" "00000000a82425fb"
id=$(cid); check tty "$(timeout 60 script -qc "$(printf '%q ' "${C[@]}" "${R[@]}" --cgroup "$(cg)" -t "$ROOTFS" "$id" sh -c 'tty >/dev/null && echo is-tty')" /dev/null </dev/null 2>&1 | grep -o is-tty | tail -1)" "is-tty"
id=$(cid); check cwd "$(t "${R[@]}" --cgroup "$(cg)" --cwd /tmp "$ROOTFS" "$id" pwd)" "/tmp"
id=$(cid); check read-only "$(t "${R[@]}" --cgroup "$(cg)" --read-only "$ROOTFS" "$id" sh -c 'touch /x 2>/dev/null && echo writable || echo ro')" "ro"
mkdir -p "$ENGINE_WORK/ctr-vol" && echo volfile >"$ENGINE_WORK/ctr-vol/f"
id=$(cid); check bind-mount "$(t "${R[@]}" --cgroup "$(cg)" --mount "type=bind,src=$ENGINE_WORK/ctr-vol,dst=/v,options=rbind:ro" "$ROOTFS" "$id" cat /v/f)" "volfile"
id=$(cid); check cap-drop "$(t "${R[@]}" --cgroup "$(cg)" --cap-drop CAP_CHOWN "$ROOTFS" "$id" sh -c 'grep CapEff /proc/self/status' | awk '{print $2}')" "00000000a80425fa"
# A task left running: exec, ps, metrics, cpu quota, pause/resume, kill.
id=$(cid)
timeout 60 "${C[@]}" run -d --runc-binary "$ENGINE_RUNTIME" --cgroup "$(cg)" --memory-limit 67108864 --rootfs "$ROOTFS" "$id" sleep 1000 >/dev/null 2>&1
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
