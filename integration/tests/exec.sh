# shellcheck shell=bash
# exec: one more process in a created or running container: its
# namespaces, root, cgroup and seccomp filter; the flags; the exit status;
# and failures that leave nothing behind.

# exec_sleeper NAME [PYCODE...]: a started container running `sleep`, from
# bundle NAME (its config edited with PYCODE); sets B, ID and INIT.
exec_sleeper() {
  local name=$1
  shift
  make_bundle "$name" sleep 1000
  [ $# -gt 0 ] && cfg "$B" "$@"
  ID=$(cid "$name")
  must_create "$B" "$ID"
  must_start "$ID"
  INIT=$(state_field "$ID" pid)
}

# bexec ARGS...: `berth exec ARGS`, stdin from /dev/null; OUT, ERR, RC.
bexec() { bcmd exec "$@"; }

# assert_exec_failed WHAT NEEDLE...: the last exec could not start its
# process, as runc's (status 255, one line on stderr naming each NEEDLE,
# nothing on stdout). assert_exec_refused: the same for bad input (an
# unknown, stopped or paused container, a wrong flag or process file):
# also 255, as runc.
assert_exec_failed() { exec_failure 255 "$@"; }
assert_exec_refused() { exec_failure 255 "$@"; }
exec_failure() {
  local rc=$1 what=$2 n
  shift 2
  assert_rc "$rc" "$what"
  assert_eq "$OUT" "" "stdout of a failed exec ($what)"
  assert_eq "$(wc -l <<<"$ERR")" 1 "lines on stderr ($what): $ERR"
  assert_contains "$ERR" "exec failed" "error ($what)"
  for n in "$@"; do assert_contains "$ERR" "$n" "error ($what)"; done
}

# assert_only_init CGNAME: the container's cgroup holds its init alone.
assert_only_init() {
  local procs
  procs=$(cat "$(cg_procs "$1")") || fail "no cgroup.procs for $1"
  assert_eq "$procs" "$INIT" "processes in the container's cgroup"
}

# cg_freeze CGNAME 1|0: freeze or thaw a container's cgroup (the v1
# freezer where there is one, else cgroup2's cgroup.freeze).
cg_freeze() {
  local f="/sys/fs/cgroup/freezer$T_CG/$1/freezer.state" h
  if [ -f "$f" ]; then
    if [ "$2" == 1 ]; then echo FROZEN >"$f"; else echo THAWED >"$f"; fi
    return
  fi
  for h in $(cg_roots); do
    f="$h$T_CG/$1/cgroup.freeze"
    [ -f "$f" ] && { echo "$2" >"$f"; return; }
  done
  fail "no freezer for cgroup $1"
}

test_exec_namespaces() {
  exec_sleeper a 'c["hostname"] = "exec-host"' "$CGROUPNS"
  # $1: the bundle's path on the host, which must not be visible inside
  bexec "$ID" sh -c 'for n in mnt pid net ipc uts cgroup; do echo "$n $(readlink /proc/self/ns/$n)"; done; hostname; tr "\0" " " </proc/1/cmdline; echo; [ -x /bin/busybox ] && [ ! -e "$1" ] && echo in-rootfs; pwd' sh "$B"
  assert_rc 0 "exec (stderr: $ERR)"
  local n line
  for n in mnt pid net ipc uts cgroup; do
    line=$(grep "^$n " <<<"$OUT")
    assert_eq "$line" "$n $(readlink "/proc/$INIT/ns/$n")" "$n namespace: the exec'd process's against the init's"
    [ "${line#* }" != "$(readlink "/proc/self/ns/$n")" ] || fail "$n namespace is the host's"
  done
  assert_eq "$(tail -n4 <<<"$OUT")" "$(printf 'exec-host\nsleep 1000 \nin-rootfs\n/')" "hostname, pid 1, root and cwd"
}

test_exec_no_mount_namespace() {
  # The init is only chrooted into its rootfs: exec must chroot there too
  # (there is no mount namespace to join).
  exec_sleeper a 'c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "mount"]' \
    'c["linux"].pop("maskedPaths", None)' 'c["linux"].pop("readonlyPaths", None)'
  bexec --cwd /tmp "$ID" sh -c 'ls / | grep -c "^host$"; [ ! -e "$1" ] && echo in-rootfs; pwd; readlink /proc/self/ns/mnt' sh "$B"
  assert_rc 0 "exec (stderr: $ERR)"
  assert_eq "$OUT" "$(printf '1\nin-rootfs\n/tmp\n%s' "$(readlink /proc/self/ns/mnt)")" "root, cwd, and the host's mount namespace"
}

test_exec_user_namespace() {
  # user (joined first), time and pid namespaces owned by it
  exec_sleeper a 'c["linux"]["namespaces"] += [{"type": "user"}, {"type": "time"}]' \
    'c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]' \
    'c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]' \
    'c["linux"]["timeOffsets"] = {"monotonic": {"secs": 3600}}'
  bexec "$ID" sh -c 'id -u; tr -s " " </proc/self/uid_map | sed "s/^ //"; for n in user time pid mnt; do [ "$(readlink /proc/self/ns/$n)" == "$(readlink /proc/1/ns/$n)" ] && echo "same $n"; done; head -n1 /proc/self/timens_offsets | tr -s " "'
  assert_rc 0 "exec into a user namespace (stderr: $ERR)"
  assert_eq "$OUT" "$(printf '0\n0 100000 65536\nsame user\nsame time\nsame pid\nsame mnt\nmonotonic 3600 0')" "ids, maps and namespaces"
  # a container user maps to its host id
  bexec -u 1000:1000 -d --pid-file "$T_TMP/pid" "$ID" sleep 999
  assert_rc 0 "exec -u 1000 -d (stderr: $ERR)"
  local pid
  pid=$(cat "$T_TMP/pid")
  record_pid "$pid"
  assert_eq "$(stat -c '%u %g' "/proc/$pid")" "101000 101000" "host ids of container uid/gid 1000"
}

test_exec_cgroup() {
  exec_sleeper a
  bexec "$ID" sh -c 'cat /proc/self/cgroup; echo ---; cat /proc/1/cgroup'
  assert_rc 0 "exec (stderr: $ERR)"
  assert_eq "$(sed '/^---$/,$d' <<<"$OUT")" "$(sed '1,/^---$/d' <<<"$OUT")" "/proc/self/cgroup against the init's"
  bexec -d --pid-file "$T_TMP/pid" "$ID" sleep 999
  assert_rc 0 "exec -d (stderr: $ERR)"
  local pid
  pid=$(cat "$T_TMP/pid")
  record_pid "$pid"
  assert_eq "$(cat "/proc/$pid/cgroup")" "$(cat "/proc/$INIT/cgroup")" "the process's cgroups seen from the host"
  grep -qx "$pid" "$(cg_procs a)" || fail "pid $pid is not in $(cg_procs a)"
}

test_exec_env_cwd_user() {
  exec_sleeper a 'c["process"]["env"] = ["PATH=/bin", "KEEP=1", "OVER=old"]'
  mkdir -p "$B/rootfs/srv/work"
  # Words after the id belong to the command, even one like -t.
  bexec -e OVER=new -e "ADDED=a b" --cwd /srv/work -u 1000:1001 -g 10 --additional-gids 20 "$ID" \
    sh -c 'env | grep -E "^(KEEP|OVER|ADDED)=" | sort; pwd; id -u; id -g; id -G; echo "[$0]"' -t
  assert_rc 0 "exec with flags (stderr: $ERR)"
  assert_eq "$OUT" "$(printf 'ADDED=a b\nKEEP=1\nOVER=new\n/srv/work\n1000\n1001\n1001 10 20\n[-t]')" "env, cwd, ids, args"
  # Without flags: the container's process settings.
  bexec "$ID" sh -c 'echo "$OVER"; pwd; id -u'
  assert_eq "$OUT" "$(printf 'old\n/\n0')" "the config's env, cwd and user"
  bexec -e NOEQUALS "$ID" true
  assert_exec_refused "--env without =" "--env" "NOEQUALS"
  bexec -u alice "$ID" true
  assert_exec_refused "--user by name" "--user" "alice"
  bexec "$ID"
  assert_exec_refused "no command" "no command"
}

test_exec_exit_status() {
  exec_sleeper a
  bexec "$ID" sh -c 'exit 7'
  assert_rc 7 "exec of exit 7"
  bexec "$ID" sh -c 'kill -9 $$'
  assert_rc 137 "exec killed by SIGKILL"
  bexec "$ID" sh -c 'echo out; echo err >&2'
  assert_rc 0 "exec"
  assert_eq "$OUT|$ERR" "out|err" "stdout and stderr passed through"
  assert_eq "$(state_field "$ID" status)" running "the container after its execs"
}

test_exec_process_file_detach() {
  # containerd's form: exec --process FILE --detach --pid-file P ID
  exec_sleeper a
  cat >"$T_TMP/process.json" <<'EOF'
{"args": ["sh", "-c", "pwd >/host/started; echo $FROM_FILE >>/host/started; exec sleep 999"],
 "cwd": "/tmp", "user": {"uid": 0, "gid": 0}, "env": ["PATH=/bin", "FROM_FILE=yes"],
 "terminal": false}
EOF
  bexec --process "$T_TMP/process.json" --detach --pid-file "$T_TMP/exec.pid" "$ID"
  assert_rc 0 "exec --process --detach (stderr: $ERR)"
  assert_eq "$OUT$ERR" "" "berth's own output"
  local pid i
  pid=$(cat "$T_TMP/exec.pid")
  assert_match "$pid" '^[0-9]+$' "pid file"
  record_pid "$pid"
  assert_eq "$(ls -A "$T_TMP" | grep -c 'exec\.pid')" 1 "files named like the pid file (no temporary left)"
  wait_file "$B/host/started" 10 || fail "the process did not run"
  for ((i = 0; i < 100; i++)); do
    [ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" == "sleep 999 " ] && break
    sleep 0.05
  done
  assert_eq "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" "sleep 999 " "the pid file's process"
  assert_eq "$(readlink "/proc/$pid/ns/pid")" "$(readlink "/proc/$INIT/ns/pid")" "its pid namespace"
  assert_eq "$(cat "$B/host/started")" "$(printf '/tmp\nyes')" "cwd and env from the file"
  assert_eq "$(state_field "$ID" status)" running "the container"
  # With --process the command comes from the file only.
  bexec --process "$T_TMP/process.json" "$ID" true
  assert_exec_refused "--process and a command" "--process"
  printf '{"args": ["true"], "cwd": "relative", "user": {"uid": 0, "gid": 0}}' >"$T_TMP/bad.json"
  bexec --process "$T_TMP/bad.json" "$ID"
  assert_exec_refused "--process with a relative cwd" "bad.json" "cwd"
}

test_exec_caps() {
  exec_sleeper a
  bexec "$ID" grep -E '^Cap(Inh|Eff|Bnd|Amb)' /proc/self/status
  assert_rc 0 "exec (stderr: $ERR)"
  assert_eq "$OUT" "$(printf 'CapInh:\t0000000000000000\nCapEff:\t0000000020000420\nCapBnd:\t0000000020000420\nCapAmb:\t0000000000000000')" "the config's capabilities"
  # NET_ADMIN (12) and SYS_PTRACE (19): bounding, effective, permitted;
  # never inheritable.
  bexec --cap CAP_NET_ADMIN -c sys_ptrace "$ID" grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status
  assert_rc 0 "exec --cap (stderr: $ERR)"
  assert_eq "$OUT" "$(printf 'CapInh:\t0000000000000000\nCapPrm:\t0000000020081420\nCapEff:\t0000000020081420\nCapBnd:\t0000000020081420\nCapAmb:\t0000000000000000')" "capabilities with --cap"
  bexec --cap CAP_NO_SUCH "$ID" true
  assert_exec_refused "an unknown --cap" "--cap" "CAP_NO_SUCH"
}

test_exec_seccomp() {
  # The container's filter applies to exec'd processes too.
  exec_sleeper a 'c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}'
  bexec "$ID" sh -c 'mkdir /tmp/x 2>&1; echo "rc=$?"; ls / >/dev/null && echo ls-ok'
  assert_rc 0 "exec (stderr: $ERR)"
  assert_contains "$OUT" "Operation not permitted" "mkdir denied"
  assert_contains "$OUT" "rc=1" "mkdir's status"
  assert_contains "$OUT" "ls-ok" "other calls allowed"
  [ -e "$B/rootfs/tmp/x" ] && fail "mkdir went through"
  # A non-root user without no_new_privs: the filter goes in before the
  # user switch. Unfiltered, mkdir in the root-owned /tmp would give EACCES.
  chmod 755 "$B/rootfs/tmp"
  bexec -u 1000 --no-new-privs=false "$ID" sh -c 'grep NoNewPrivs /proc/self/status; mkdir /tmp/y 2>&1'
  assert_contains "$OUT" $'NoNewPrivs:\t0' "no_new_privs off"
  assert_contains "$OUT" "Operation not permitted" "mkdir denied by the filter (not EACCES)"
}

test_exec_stopped_or_unknown() {
  make_bundle a true
  ID=$(cid a)
  must_create "$B" "$ID"
  must_start "$ID"
  wait_status "$ID" stopped 10
  bexec "$ID" true
  assert_exec_refused "exec into a stopped container" "stopped"
  bexec "$(cid nosuch)" true
  assert_exec_refused "exec into an unknown container" "does not exist"
}

test_exec_missing_binary_leaves_nothing() {
  exec_sleeper a
  bexec "$ID" /no/such/program
  assert_exec_failed "a missing absolute program" "/no/such/program"
  bexec "$ID" no-such-program
  assert_exec_failed "a program not on PATH" "no-such-program" "PATH"
  bexec --cwd /no/such/dir "$ID" true
  assert_exec_failed "a missing cwd" "/no/such/dir"
  bexec -d --pid-file "$T_TMP/pid" "$ID" no-such-program
  assert_exec_failed "detached, a program not on PATH" "no-such-program"
  [ -e "$T_TMP/pid" ] && fail "pid file written for a failed exec"
  assert_only_init a
  assert_eq "$(state_field "$ID" status)" running "the container"
}

test_exec_created_container() {
  # As runc: exec works before start; the container stays created.
  make_bundle a sh -c 'echo started >/host/started; sleep 1000'
  ID=$(cid a)
  must_create "$B" "$ID"
  bexec "$ID" sh -c 'echo in-created; [ -d /proc/1 ] && echo init-visible'
  assert_rc 0 "exec into a created container (stderr: $ERR)"
  assert_eq "$OUT" "$(printf 'in-created\ninit-visible')" "output"
  assert_eq "$(state_field "$ID" status)" created "status after exec"
  [ -e "$B/host/started" ] && fail "exec started the container's own process"
  must_start "$ID"
  wait_file "$B/host/started" 10 || fail "start after exec did not run the process"
}

test_exec_paused() {
  exec_sleeper a
  cg_freeze a 1
  wait_status "$ID" paused 5
  bexec "$ID" true
  assert_exec_refused "exec into a paused container" "paused" "--ignore-paused"
  assert_only_init a
  # With --ignore-paused it goes ahead, and runs once the container thaws.
  (sleep 1 && cg_freeze a 0) &
  bexec --ignore-paused "$ID" echo thawed
  wait
  assert_rc 0 "exec --ignore-paused (stderr: $ERR)"
  assert_eq "$OUT" thawed "output"
}

test_exec_tty() {
  exec_sleeper a
  # in the foreground: the pty is proxied to berth's stdio
  bexec -t "$ID" sh -c 'tty; [ -t 0 ] && [ -t 1 ] && echo stdio-tty; exit 3'
  assert_rc 3 "exec -t"
  assert_match "$(tr -d '\r' <<<"$OUT")" $'^/dev/pts/[0-9]+\nstdio-tty$' "output through the pty"
  # detached: the master goes to --console-socket
  local sock="$T_TMP/console.sock" out="$T_TMP/console.out"
  start_console_receiver "$sock" "$out"
  bexec -t -d --console-socket "$sock" "$ID" sh -c 'tty; read line; echo "got:$line"'
  assert_rc 0 "exec -t -d --console-socket (stderr: $ERR)"
  assert_eq "$(cat "$out.meta" 2>/dev/null)" 1 "fds received on the console socket"
  wait_file "$out.done" 10 || fail "the receiver did not see the pty close"
  assert_match "$(tr -d '\r' <"$out" | grep -v '^hello$')" $'^/dev/pts/[0-9]+\ngot:hello$' "read from the pty master"
  # runc's rules for the two
  bexec -t -d "$ID" true
  assert_exec_refused "-t -d without --console-socket" "console-socket"
  bexec -t --console-socket "$sock" "$ID" true
  assert_exec_refused "--console-socket in the foreground" "console-socket"
  assert_only_init a
}

test_exec_preserve_fds() {
  exec_sleeper a
  b exec --preserve-fds 1 "$ID" sh -c 'echo via-fd3 >&3; [ -e /proc/self/fd/4 ] && echo fd4-open || echo fd4-closed' \
    </dev/null >"$T_TMP/o" 2>"$T_TMP/e" 3>"$T_TMP/fd3" 4>"$T_TMP/fd4"
  RC=$? OUT=$(cat "$T_TMP/o") ERR=$(cat "$T_TMP/e")
  assert_rc 0 "exec --preserve-fds 1"
  assert_eq "$OUT" fd4-closed "fds in the process"
  assert_eq "$(cat "$T_TMP/fd3")" via-fd3 "written through fd 3"
  bexec --preserve-fds 3 "$ID" true
  assert_exec_refused "--preserve-fds naming closed fds" "preserve-fds"
}

test_exec_lsm_unavailable() {
  # A profile or label the host cannot apply (no AppArmor, no SELinux, or
  # a profile that is not loaded) fails the exec, naming where it came
  # from; the applied case is in lsm.sh (it needs AppArmor: the VM).
  exec_sleeper a
  bexec --apparmor docker-default "$ID" true
  assert_exec_refused "--apparmor" "--apparmor" "AppArmor"
  bexec --process-label system_u:system_r:container_t:s0 "$ID" true
  assert_exec_refused "--process-label" "--process-label" "SELinux"
  printf '{"args": ["true"], "cwd": "/", "user": {"uid": 0, "gid": 0}, "apparmorProfile": "p"}' >"$T_TMP/p.json"
  bexec --process "$T_TMP/p.json" "$ID"
  assert_exec_refused "apparmorProfile in --process" "apparmorProfile"
  assert_only_init a
}
