# linux.seccomp: filters built by berth, installed just before exec.

# seccomp_cfg BUNDLE PYTHON: set c["linux"]["seccomp"] to a python expression.
seccomp_cfg() {
  cfg "$1" "c['linux']['seccomp'] = $2"
}

test_seccomp_errno_rule() {
  # mkdir gets EPERM, everything else is allowed.
  make_bundle a sh -c 'mkdir /tmp/x 2>&1; echo "rc=$?"; ls / >/dev/null && echo ls-ok'
  seccomp_cfg "$B" '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_contains "$OUT" "Operation not permitted" "mkdir denied with EPERM"
  assert_contains "$OUT" "rc=1" "mkdir's status"
  assert_contains "$OUT" "ls-ok" "other calls allowed"
}

test_seccomp_errno_ret_and_default_errno() {
  # A custom errnoRet (ENOSYS = 38), and defaultErrnoRet for the default.
  make_bundle a sh -c 'mkdir /tmp/x 2>&1; rmdir /nonexistent-dir 2>&1; echo done'
  seccomp_cfg "$B" '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
    {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
    {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_contains "$OUT" "Function not implemented" "mkdir gets errnoRet 38"
  assert_contains "$OUT" "Permission denied" "rmdir gets errnoRet 13"
}

test_seccomp_arg_condition() {
  # personality(0xffffffff) (a query) allowed, any other value refused:
  # busybox setarch/linux32 calls personality(PER_LINUX32) and must fail.
  make_bundle a sh -c 'linux32 uname -m 2>&1; echo "rc=$?"'
  seccomp_cfg "$B" '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
    {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 4294967295, "op": "SCMP_CMP_NE"}]}]}'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_not_contains "$OUT" "i686" "personality change refused"
  assert_contains "$OUT" "rc=1" "linux32 fails"
}

test_seccomp_kill_process() {
  make_bundle a sh -c 'mkdir /tmp/x; echo survived'
  seccomp_cfg "$B" '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"}]}'
  # mkdir as the container's own process: killed by SIGSYS (31).
  cfg "$B" 'c["process"]["args"] = ["mkdir", "/tmp/y"]'
  brun "$B" "$(cid b)"
  assert_rc 159 "run exits 128+SIGSYS"
}

test_seccomp_default_deny_with_allow_list() {
  # A Docker-shaped profile: default ERRNO, an allow list. A program whose
  # calls are all allowed runs; one that needs a missing call fails.
  make_bundle a sh -c 'echo hello; mkdir /tmp/x 2>&1; echo "mkdir rc=$?"'
  local allow
  allow=$(printf '"%s",' read write openat open close fstat newfstatat stat lstat statx mmap munmap mprotect brk \
    rt_sigaction rt_sigprocmask rt_sigreturn ioctl access execve exit exit_group getpid getppid getuid geteuid \
    getgid getegid fcntl dup2 dup3 wait4 clone clone3 fork vfork set_tid_address set_robust_list arch_prctl \
    prlimit64 getcwd uname futex readlink readlinkat getrandom rseq sigaltstack close_range poll ppoll \
    pread64 lseek getdents64 capget capset prctl)
  seccomp_cfg "$B" "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [${allow%,}], \"action\": \"SCMP_ACT_ALLOW\"}]}"
  brun "$B" "$(cid a)"
  assert_rc 0 "run (stderr: $ERR)"
  assert_contains "$OUT" "hello" "allowed calls work"
  assert_contains "$OUT" "mkdir rc=1" "mkdir (not on the list) fails"
}

test_seccomp_without_no_new_privs() {
  # noNewPrivileges false and a non-root user without CAP_SYS_ADMIN: the
  # filter goes in before the user switch, and still applies.
  make_bundle a sh -c 'id -u; mkdir /tmp/x 2>&1; echo done'
  cfg "$B" 'c["process"]["noNewPrivileges"] = False' 'c["process"]["user"] = {"uid": 1000, "gid": 1000}'
  seccomp_cfg "$B" '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}'
  brun "$B" "$(cid a)"
  assert_rc 0 "run (stderr: $ERR)"
  assert_contains "$OUT" "1000" "runs as uid 1000"
  assert_contains "$OUT" "Operation not permitted" "filter applied"
  assert_contains "$OUT" "done" "the rest ran"
}

# start_agent SOCK LOG: a seccomp agent (python) on the host: for each
# connection to SOCK it records the ContainerProcessState it gets (one JSON
# line in LOG) and answers every notification on the listener fd with
# EOPNOTSUPP. Sets AGENT (its pid).
start_agent() {
  local sock=$1 log=$2
  # python itself in the background (not the `py` function, whose
  # subshell would be what a kill reaches).
  "$PY" -S - "$sock" "$log" <<'AGENT' &
import array, fcntl, json, os, socket, struct, sys, threading
sock_path, log = sys.argv[1], sys.argv[2]
NOTIF_RECV = 0xC0502100  # _IOWR('!', 0, struct seccomp_notif): 80 bytes
NOTIF_SEND = 0xC0182101  # _IOWR('!', 1, struct seccomp_notif_resp): 24 bytes
EOPNOTSUPP = 95
def serve(conn):
    fds = array.array("i")
    msg, anc, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(4 * fds.itemsize))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    state = json.loads(msg)
    state["received_fds"] = len(fds)
    with open(log, "a") as f:
        f.write(json.dumps(state) + "\n")
    if not fds:
        return
    while True:
        buf = bytearray(80)
        try:
            fcntl.ioctl(fds[0], NOTIF_RECV, buf, True)
        except OSError:
            return  # the filtered process is gone
        notif_id, pid, flags, nr = struct.unpack_from("=QIIi", buf)
        with open(log + ".calls", "a") as f:
            f.write(f"{nr}\n")
        resp = bytearray(struct.pack("=QqiI", notif_id, 0, -EOPNOTSUPP, 0))
        try:
            fcntl.ioctl(fds[0], NOTIF_SEND, resp, True)
        except OSError:
            pass
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sock_path)
srv.listen(8)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
AGENT
  AGENT=$!
  record_pid "$AGENT"
  local i
  for ((i = 0; i < 100; i++)); do [ -S "$sock" ] && return 0; sleep 0.05; done
  fail "the test's seccomp agent did not start"
}

NOTIFY_MKDIR='{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "%s", "listenerMetadata": "meta-%s",
  "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}'

test_seccomp_notify_agent_answers() {
  # NOTIFY: the listener reaches the agent with the container's state, and
  # a notified mkdir gets the agent's answer (EOPNOTSUPP), for the init
  # (run) and for exec.
  start_agent "$T_TMP/agent.sock" "$T_TMP/agent.log"
  make_bundle a sh -c 'mkdir /tmp/x 2>&1; echo "rc=$?"; ls / >/dev/null && echo ls-ok'
  # shellcheck disable=SC2059
  seccomp_cfg "$B" "$(printf "$NOTIFY_MKDIR" "$T_TMP/agent.sock" "$T_SALT")"
  local id
  id=$(cid a)
  brun "$B" "$id"
  assert_rc 0 "run (stderr: $ERR)"
  assert_contains "$OUT" "not supported" "mkdir answered by the agent"
  assert_contains "$OUT" "rc=1" "mkdir's status"
  assert_contains "$OUT" "ls-ok" "other calls allowed"
  local line
  line=$(sed -n 1p "$T_TMP/agent.log")
  py - "$line" "$id" "$B" "meta-$T_SALT" <<'CHECK' || fail "the state the agent got: $line"
import json, sys
s, cid, bundle, meta = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
assert s["fds"] == ["seccompFd"] and s["received_fds"] == 1, s
assert s["metadata"] == meta, s
assert s["pid"] > 0 and s["state"]["pid"] == s["pid"], s
assert s["state"]["id"] == cid and s["state"]["bundle"] == bundle, s
assert s["state"]["status"] == "created", s
assert s["ociVersion"].startswith("1."), s
CHECK
  [ -s "$T_TMP/agent.log.calls" ] || fail "the agent saw no notification"
  # exec: a new listener for the exec'd process, status running.
  make_bundle e sleep 1000
  # shellcheck disable=SC2059
  seccomp_cfg "$B" "$(printf "$NOTIFY_MKDIR" "$T_TMP/agent.sock" "$T_SALT")"
  id=$(cid e)
  must_create "$B" "$id"
  must_start "$id"
  bcmd exec "$id" sh -c 'mkdir /tmp/y 2>&1; echo "rc=$?"'
  assert_rc 0 "exec (stderr: $ERR)"
  assert_contains "$OUT" "not supported" "exec'd mkdir answered by the agent"
  assert_eq "$(wc -l <"$T_TMP/agent.log")" 3 "connections to the agent (run, start, exec)"
  assert_contains "$(sed -n 3p "$T_TMP/agent.log")" '"status": "running"' "exec's state"
}

test_seccomp_notify_agent_missing() {
  # No agent at create: create fails naming listenerPath, nothing left.
  make_bundle a sh -c 'sleep 1000 # notify-marker'
  # shellcheck disable=SC2059
  seccomp_cfg "$B" "$(printf "$NOTIFY_MKDIR" "$T_TMP/none.sock" "$T_SALT")"
  expect_create_fails "$B" "$(cid a)" a notify-marker "listenerPath" "agent running"
  # The agent gone between create and start: start fails, saying so, and
  # the process never runs.
  start_agent "$T_TMP/agent.sock" "$T_TMP/agent.log"
  make_bundle b sh -c 'echo RAN >/host/ran; sleep 1000'
  # shellcheck disable=SC2059
  seccomp_cfg "$B" "$(printf "$NOTIFY_MKDIR" "$T_TMP/agent.sock" "$T_SALT")"
  local id
  id=$(cid b)
  must_create "$B" "$id"
  kill -9 "$AGENT"
  wait "$AGENT" 2>/dev/null
  bcmd start "$id"
  assert_rc 1 "start without the agent"
  assert_contains "$ERR" "listenerPath" "start's error"
  wait_status "$id" stopped 5 || fail "the container is $(state_field "$id" status), not stopped"
  [ -e "$B/host/ran" ] && fail "the process ran without its agent"
  bcmd delete "$id"
  assert_rc 0 "delete"
  assert_nothing_left "$id" b
}

test_seccomp_notify_refused_on_handoff_calls() {
  make_bundle a sh -c 'sleep 1000 # notifyw-marker'
  seccomp_cfg "$B" "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"$T_TMP/a.sock\", \"syscalls\": [{\"names\": [\"sendmsg\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}"
  expect_create_fails "$B" "$(cid a)" a notifyw-marker "SCMP_ACT_NOTIFY cannot be used for sendmsg"
}

test_seccomp_bad_profile_refused() {
  make_bundle a sh -c 'sleep 1000 # badseccomp-marker'
  seccomp_cfg "$B" '{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_AARCH64"], "syscalls": []}'
  expect_create_fails "$B" "$(cid a)" a badseccomp-marker "linux.seccomp"
}
