#!/bin/bash
# Docker scenarios through the private dockerd run.sh started, with
# ENGINE_RUNTIME registered as the runtime "test"; one line per scenario:
# `NAME ok` or `NAME FAIL what happened`.
set -u
D=(docker -H "unix://$ENGINE_WORK/docker.sock")
I=berth-busybox:test
RUN=(run --rm --runtime "$ENGINE_RT_NAME" --network none)

check() {
  if [ "$2" == "$3" ]; then echo "$1 ok"; else echo "$1 FAIL expected [$3] got [$(echo "$2" | tr '\n' '|' | head -c 300)]"; fi
}
t() { timeout 60 "${D[@]}" "$@" 2>&1; }
tty_run() { timeout 60 script -qc "$(printf '%q ' "${D[@]}" "$@")" /dev/null </dev/null 2>&1 | tr -d '\r'; }

check run "$(t "${RUN[@]}" $I echo hi)" "hi"
t "${RUN[@]}" $I sh -c 'exit 7' >/dev/null
check exit-code "$?" 7
check stdin "$(echo piped | timeout 60 "${D[@]}" "${RUN[@]}" -i $I cat 2>&1)" "piped"
check tty "$(tty_run "${RUN[@]}" -t $I sh -c 'tty >/dev/null && echo is-tty' | tail -1)" "is-tty"
check user "$(t "${RUN[@]}" --user 1234:5678 $I sh -c 'echo $(id -u):$(id -g)')" "1234:5678"
check env-workdir "$(t "${RUN[@]}" -e FOO=bar -w /tmp $I sh -c 'echo $FOO $(pwd)')" "bar /tmp"
check hostname "$(t "${RUN[@]}" --hostname berthbox $I hostname)" "berthbox"
check read-only "$(t "${RUN[@]}" --read-only $I sh -c 'touch /x 2>/dev/null && echo writable || echo ro')" "ro"
mkdir -p "$ENGINE_WORK/vol-$ENGINE_RT_NAME" && echo volfile >"$ENGINE_WORK/vol-$ENGINE_RT_NAME/f"
check bind-mount "$(t "${RUN[@]}" -v "$ENGINE_WORK/vol-$ENGINE_RT_NAME:/v:ro" $I cat /v/f)" "volfile"
t "${RUN[@]}" -v "bvol-$ENGINE_RT_NAME:/data" $I sh -c 'echo kept >/data/f' >/dev/null
check volume "$(t "${RUN[@]}" -v "bvol-$ENGINE_RT_NAME:/data" $I cat /data/f)" "kept"
check memory-limit "$(t "${RUN[@]}" --memory 64m $I cat /sys/fs/cgroup/memory/memory.limit_in_bytes)" "67108864"
check pids-limit "$(t "${RUN[@]}" --pids-limit 50 $I cat /sys/fs/cgroup/pids/pids.max)" "50"
check cpu-limit "$(t "${RUN[@]}" --cpus 0.5 $I cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)" "50000"
check cap-drop "$(t "${RUN[@]}" --cap-drop all $I sh -c 'grep CapEff /proc/self/status' | awk '{print $2}')" "0000000000000000"
check cap-add "$(t "${RUN[@]}" --cap-drop all --cap-add NET_ADMIN $I sh -c 'grep CapEff /proc/self/status' | awk '{print $2}')" "0000000000001000"
check no-new-privileges "$(t "${RUN[@]}" --security-opt no-new-privileges $I sh -c 'grep NoNewPrivs /proc/self/status' | awk '{print $2}')" "1"
check seccomp-default "$(t "${RUN[@]}" $I sh -c 'grep Seccomp: /proc/self/status' | awk '{print $2}')" "2"
check network-none "$(t "${RUN[@]}" $I sh -c 'ls /sys/class/net | tr "\n" " "')" "lo "
check init "$(t "${RUN[@]}" --init $I sh -c 'cat /proc/1/cmdline | tr "\0" " "' | awk '{print $1}')" "/sbin/docker-init"
# dockerd gives --privileged every capability it knows, CAP_SYS_RESOURCE
# included, which this host's bounding set lacks: capset fails for runc too.
check privileged "$(t "${RUN[@]}" --privileged $I sh -c 'grep CapEff /proc/self/status' | awk '{print $2}')" "000001ffffffffff"
check bad-command "$(t "${RUN[@]}" $I /no/such/binary | grep -c 'no/such/binary')" "1"

id=$(t run -d --runtime "$ENGINE_RT_NAME" --network none $I sh -c 'trap "echo got-usr1 >/tmp/usr1" USR1; while :; do sleep 0.2; done')
check detached "$(t inspect -f '{{.State.Status}}' "$id")" "running"
check exec "$(t exec "$id" echo from-exec)" "from-exec"
check exec-tty "$(tty_run exec -t "$id" sh -c 'tty >/dev/null && echo is-tty' | tail -1)" "is-tty"
t kill -s USR1 "$id" >/dev/null
sleep 0.6
check signal "$(t exec "$id" cat /tmp/usr1)" "got-usr1"
check top "$(t top "$id" | grep -c 'while')" "1"
t pause "$id" >/dev/null
check pause "$(t inspect -f '{{.State.Status}}' "$id")" "paused"
t unpause "$id" >/dev/null
check unpause "$(t inspect -f '{{.State.Status}}' "$id")" "running"
check stats "$(t stats --no-stream --format '{{.PIDs}}' "$id" | grep -c '^[0-9]')" "1"
t update --memory 96m --memory-swap 200m "$id" >/dev/null
t update --cpu-shares 512 "$id" >/dev/null
check update "$(t exec "$id" cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.shares | tr '\n' ' ')" "100663296 512 "
t stop -t 2 "$id" >/dev/null
check stop "$(t inspect -f '{{.State.Status}}' "$id")" "exited"
t rm -f "$id" >/dev/null
id=$(t run -d --runtime "$ENGINE_RT_NAME" --network none $I sleep 1000)
t kill "$id" >/dev/null
sleep 1
check kill "$(t inspect -f '{{.State.Status}}' "$id")" "exited"
t rm -f "$id" >/dev/null
id=$(t run -d --runtime "$ENGINE_RT_NAME" --network none --restart on-failure:2 $I sh -c 'exit 1')
sleep 6
check restart-policy "$(t inspect -f '{{.RestartCount}}' "$id")" "2"
t rm -f "$id" >/dev/null
