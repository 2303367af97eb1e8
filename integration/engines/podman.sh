#!/bin/bash
# Podman scenarios with ENGINE_RUNTIME as the OCI runtime; one line per
# scenario: `NAME ok` or `NAME FAIL what happened`. Run by run.sh.
set -u
W=$ENGINE_WORK
P=(podman --root "$W/root" --runroot "$W/runroot" --storage-driver vfs
  --cgroup-manager cgroupfs --events-backend file --runtime "$ENGINE_RUNTIME")
# This host's hard limits are below Podman's defaults (1048576), and
# raising a hard limit needs CAP_SYS_RESOURCE, which the host's bounding
# set lacks: runc fails the same way without these.
RUN=(run --rm --network none --cgroup-parent "$CGPARENT" --ulimit nofile=4096:4096 --ulimit nproc=1000:1000)
I=localhost/berth-busybox:test
"${P[@]}" import -q "$W/busybox.tar" "$I" >/dev/null 2>&1

check() { # NAME ACTUAL EXPECTED
  if [ "$2" == "$3" ]; then echo "$1 ok"; else echo "$1 FAIL expected [$3] got [$(echo "$2" | tr '\n' '|' | head -c 300)]"; fi
}
t() { timeout 60 "${P[@]}" "$@" 2>&1; }
# tty CMD...: run under a pseudo-terminal (script(1)), output without CRs.
tty_run() { timeout 60 script -qc "$(printf '%q ' "${P[@]}" "$@")" /dev/null </dev/null 2>&1 | tr -d '\r'; }

check run "$(t "${RUN[@]}" $I echo hi)" "hi"
t "${RUN[@]}" $I sh -c 'exit 7' >/dev/null
check exit-code "$?" 7
check stdin "$(echo piped | timeout 60 "${P[@]}" "${RUN[@]}" -i $I cat 2>&1)" "piped"
check tty "$(tty_run "${RUN[@]}" -t $I sh -c 'tty >/dev/null && echo is-tty' | tail -1)" "is-tty"
check user "$(t "${RUN[@]}" --user 1234:5678 $I sh -c 'echo $(id -u):$(id -g)')" "1234:5678"
check env-workdir "$(t "${RUN[@]}" -e FOO=bar -w /tmp $I sh -c 'echo $FOO $(pwd)')" "bar /tmp"
check hostname "$(t "${RUN[@]}" --hostname berthbox $I hostname)" "berthbox"
check read-only "$(t "${RUN[@]}" --read-only $I sh -c 'touch /x 2>/dev/null && echo writable; touch /tmp/y && echo tmp-ok')" "tmp-ok"
mkdir -p "$W/vol" && echo volfile >"$W/vol/f"
check bind-mount "$(t "${RUN[@]}" -v "$W/vol:/v:ro" $I cat /v/f)" "volfile"
t volume create -q bvol >/dev/null
t "${RUN[@]}" -v bvol:/data $I sh -c 'echo kept >/data/f' >/dev/null
check volume "$(t "${RUN[@]}" -v bvol:/data $I cat /data/f)" "kept"
check memory-limit "$(t "${RUN[@]}" --memory 64m $I cat /sys/fs/cgroup/memory/memory.limit_in_bytes)" "67108864"
check pids-limit "$(t "${RUN[@]}" --pids-limit 50 $I cat /sys/fs/cgroup/pids/pids.max)" "50"
check cpu-limit "$(t "${RUN[@]}" --cpus 0.5 $I cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)" "50000"
check cap-drop "$(t "${RUN[@]}" --cap-drop all $I sh -c 'grep CapEff /proc/self/status' | awk '{print $2}')" "0000000000000000"
check cap-add "$(t "${RUN[@]}" --cap-drop all --cap-add NET_ADMIN $I sh -c 'grep CapEff /proc/self/status' | awk '{print $2}')" "0000000000001000"
check no-new-privileges "$(t "${RUN[@]}" --security-opt no-new-privileges $I sh -c 'grep NoNewPrivs /proc/self/status' | awk '{print $2}')" "1"
# Podman's default seccomp profile: filtered, and a call it refuses fails
# (unshare of a mount namespace without CAP_SYS_ADMIN... is refused by the
# kernel too; keyctl is refused by the profile alone).
check seccomp-default "$(t "${RUN[@]}" $I sh -c 'grep Seccomp: /proc/self/status' | awk '{print $2}')" "2"
check seccomp-unconfined "$(t "${RUN[@]}" --security-opt seccomp=unconfined $I sh -c 'grep Seccomp: /proc/self/status' | awk '{print $2}')" "0"
check network-none "$(t "${RUN[@]}" $I sh -c 'ls /sys/class/net | tr "\n" " "')" "lo "
check init "$(t "${RUN[@]}" --init $I sh -c 'cat /proc/1/cmdline | tr "\0" " "' | awk '{print $1}')" "/run/podman-init"
# --privileged: every capability of the host's bounding set.
check privileged "$(t "${RUN[@]}" --privileged $I sh -c 'grep CapEff /proc/self/status' | awk '{print $2}')" "$(awk '/^CapBnd/ {print $2}' /proc/self/status)"
check bad-command "$(t "${RUN[@]}" $I /no/such/binary | grep -c 'no/such/binary')" "1"

# Detached: signal, exec (plain and tty), top, pause, stats, update, stop.
id=$(t run -d --network none --ulimit nofile=4096:4096 --ulimit nproc=1000:1000 --cgroup-parent "$CGPARENT" $I \
  sh -c 'trap "echo got-usr1 >/tmp/usr1" USR1; while :; do sleep 0.2; done')
check detached "$(t inspect -f '{{.State.Status}}' "$id")" "running"
check exec "$(t exec "$id" echo from-exec)" "from-exec"
check exec-tty "$(tty_run exec -t "$id" sh -c 'tty >/dev/null && echo is-tty' | tail -1)" "is-tty"
t kill -s USR1 "$id" >/dev/null
sleep 0.6
check signal "$(t exec "$id" cat /tmp/usr1)" "got-usr1"
check top "$(t top "$id" args | grep -c 'while')" "1"
t pause "$id" >/dev/null
check pause "$(t inspect -f '{{.State.Status}}' "$id")" "paused"
t unpause "$id" >/dev/null
check unpause "$(t inspect -f '{{.State.Status}}' "$id")" "running"
check stats "$(t stats --no-stream --format '{{.PIDs}}' "$id" | grep -c '^[0-9]')" "1"
t update --memory 96m "$id" >/dev/null
check update "$(t exec "$id" cat /sys/fs/cgroup/memory/memory.limit_in_bytes)" "100663296"
t stop -t 2 "$id" >/dev/null
check stop "$(t inspect -f '{{.State.Status}}' "$id")" "exited"
t rm -f "$id" >/dev/null
id=$(t run -d --network none --ulimit nofile=4096:4096 --ulimit nproc=1000:1000 --cgroup-parent "$CGPARENT" $I sleep 1000)
t kill "$id" >/dev/null
sleep 1
check kill "$(t inspect -f '{{.State.Status}}' "$id")" "exited"
t rm -f "$id" >/dev/null
# Restart policy: a container that exits 1 is restarted (twice).
id=$(t run -d --restart on-failure:2 --network none --ulimit nofile=4096:4096 --ulimit nproc=1000:1000 --cgroup-parent "$CGPARENT" $I sh -c 'exit 1')
sleep 4
check restart-policy "$(t inspect -f '{{.RestartCount}}' "$id")" "2"
t rm -f "$id" >/dev/null
