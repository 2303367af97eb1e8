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

# start_agent SOCK LOG: a seccomp agent (python) on the host. For each
# connection to SOCK it records the ContainerProcessState it got (one JSON
# line in LOG, plus "received_fds") and answers the notifications on the
# listener fd: mkdir and mkdirat (x86_64: 83, 258) get what the metadata
# asks ("answer=N": errno N; "answer=0": success, without making the
# directory; default EOPNOTSUPP); any other notified call goes on
# (SECCOMP_USER_NOTIF_FLAG_CONTINUE). Every notified call's number goes to
# LOG.calls. While it holds a notified execve/execveat it tries, as root on
# the host, to append to the caller's /proc/PID/exe and writes "EXE
# refused|WROTE" to LOG.exe (CVE-2019-5736 at the last moment berth's own
# code runs in the container). Sets AGENT (its pid, killed by the test's
# clean-up).
start_agent() {
  local sock=$1 log=$2
  # python itself in the background (not the `py` function, whose
  # subshell would be what a kill reaches).
  "$PY" -S - "$sock" "$log" <<'AGENT' &
import array, fcntl, json, os, socket, struct, sys, threading
sock_path, log = sys.argv[1], sys.argv[2]
NOTIF_RECV = 0xC0502100  # _IOWR('!', 0, struct seccomp_notif): 80 bytes
NOTIF_SEND = 0xC0182101  # _IOWR('!', 1, struct seccomp_notif_resp): 24 bytes
FLAG_CONTINUE = 1
MKDIR = {83, 258}
EXECVE = {59, 322}
lock = threading.Lock()
def record(path, line):
    with lock, open(path, "a") as f:
        f.write(line + "\n")
def serve(conn):
    fds = array.array("i")
    msg, anc, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(4 * fds.itemsize))
    conn.close()
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    state = json.loads(msg)
    state["received_fds"] = len(fds)
    record(log, json.dumps(state))
    if not fds:
        return
    answer = 95  # EOPNOTSUPP
    for word in state.get("metadata", "").split():
        if word.startswith("answer="):
            answer = int(word[len("answer="):])
    while True:
        buf = bytearray(80)
        try:
            fcntl.ioctl(fds[0], NOTIF_RECV, buf, True)
        except OSError:
            return  # every filtered process is gone
        notif_id, pid, flags, nr = struct.unpack_from("=QIIi", buf)
        record(log + ".calls", str(nr))
        if nr in EXECVE:
            try:
                exe = os.readlink("/proc/%d/exe" % pid)
            except OSError as e:
                exe = "unreadable-%d" % e.errno
            try:
                with open("/proc/%d/exe" % pid, "ab") as f:
                    f.write(b"pwned")
                wrote = "WROTE"
            except OSError:
                wrote = "refused"
            record(log + ".exe", exe.split()[0] + " " + wrote)
        if nr in MKDIR:
            resp = struct.pack("=QqiI", notif_id, 0, -answer, 0)
        else:
            resp = struct.pack("=QqiI", notif_id, 0, 0, FLAG_CONTINUE)
        try:
            fcntl.ioctl(fds[0], NOTIF_SEND, bytearray(resp), True)
        except OSError:
            pass  # the caller was killed meanwhile
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sock_path)
os.chmod(sock_path, 0o666)  # a rootless berth (ITEST_ROOTLESS) connects too
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

# notify_cfg BUNDLE SOCK METADATA NAME...: allow everything but NAMEs,
# which go to the agent at SOCK with listenerMetadata METADATA (none when
# empty).
notify_cfg() {
  local bundle=$1 sock=$2 meta=$3
  shift 3
  SOCK=$sock META=$meta NAMES="$*" cfg "$bundle" 'c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
    "listenerPath": E["SOCK"], "syscalls": [{"names": E["NAMES"].split(), "action": "SCMP_ACT_NOTIFY"}]}' \
    'E["META"] and c["linux"]["seccomp"].update(listenerMetadata=E["META"])'
}

# agent_line N: line N of the agent's log (the Nth listener it got).
agent_line() { sed -n "$1p" "$T_TMP/agent.log"; }

test_seccomp_notify_run() {
  # The listener reaches the agent with the ContainerProcessState (every
  # field checked) and a notified mkdir gets the agent's answer (errno 95);
  # other calls are not notified.
  start_agent "$T_TMP/agent.sock" "$T_TMP/agent.log"
  make_bundle a sh -c 'mkdir /tmp/x 2>&1; echo "rc=$?"; ls / >/dev/null && echo ls-ok'
  cfg "$B" 'c["annotations"] = {"org.example.k": "v1"}'
  notify_cfg "$B" "$T_TMP/agent.sock" "meta-$T_SALT answer=95" mkdir mkdirat
  local id
  id=$(cid a)
  brun "$B" "$id"
  assert_rc 0 "run (stderr: $ERR)"
  assert_contains "$OUT" "not supported" "mkdir answered by the agent (EOPNOTSUPP)"
  assert_contains "$OUT" "rc=1" "mkdir's status"
  assert_contains "$OUT" "ls-ok" "other calls allowed"
  assert_eq "$(wc -l <"$T_TMP/agent.log")" 1 "connections to the agent"
  py - "$(agent_line 1)" "$id" "$B" "meta-$T_SALT answer=95" <<'CHECK' || fail "the state the agent got: $(agent_line 1)"
import json, sys
s, cid, bundle, meta = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
assert s["ociVersion"].startswith("1.") and s["state"]["ociVersion"] == s["ociVersion"], s
assert s["fds"] == ["seccompFd"] and s["received_fds"] == 1, s
assert s["metadata"] == meta, s
assert isinstance(s["pid"], int) and s["pid"] > 0 and s["state"]["pid"] == s["pid"], s
assert s["state"]["id"] == cid and s["state"]["bundle"] == bundle, s
assert s["state"]["status"] == "creating", s
assert s["state"]["annotations"] == {"org.example.k": "v1"}, s
CHECK
  grep -qx -e 83 -e 258 "$T_TMP/agent.log.calls" || fail "the agent saw no mkdir: $(cat "$T_TMP/agent.log.calls" 2>/dev/null)"
}

test_seccomp_notify_exec() {
  # Each exec'd process gets a listener of its own: the agent is told the
  # process's pid and the container's state (running, the init's pid), and
  # answers mkdir with success without making the directory (answer=0).
  start_agent "$T_TMP/agent.sock" "$T_TMP/agent.log"
  make_bundle e sleep 1000
  notify_cfg "$B" "$T_TMP/agent.sock" "answer=0" mkdir mkdirat
  local id init
  id=$(cid e)
  must_create "$B" "$id"
  init=$(state_field "$id" pid)
  must_start "$id"
  bcmd exec "$id" sh -c 'mkdir /tmp/y; echo "rc=$?"; [ -d /tmp/y ] && echo made || echo not-made'
  assert_rc 0 "exec (stderr: $ERR)"
  assert_contains "$OUT" "rc=0" "mkdir succeeds (the agent's answer)"
  assert_contains "$OUT" "not-made" "without the directory being made"
  bcmd exec "$id" sh -c 'mkdir /tmp/z; [ -d /tmp/z ] && echo made || echo not-made'
  assert_contains "$OUT" "not-made" "a second exec, a second listener"
  assert_eq "$(wc -l <"$T_TMP/agent.log")" 3 "connections to the agent (create, two execs)"
  py - "$(agent_line 1)" "$(agent_line 2)" "$(agent_line 3)" "$init" "$id" <<'CHECK' || fail "the states the agent got: $(cat "$T_TMP/agent.log")"
import json, sys
start, e1, e2 = (json.loads(x) for x in sys.argv[1:4])
init, cid = int(sys.argv[4]), sys.argv[5]
assert start["pid"] == init and start["state"]["status"] == "creating", start
for e in (e1, e2):
    assert e["received_fds"] == 1 and e["fds"] == ["seccompFd"], e
    assert e["state"]["status"] == "running" and e["state"]["id"] == cid, e
    assert e["state"]["pid"] == init and e["pid"] != init and e["pid"] > 0, e
    assert e["metadata"] == "answer=0", e
assert e1["pid"] != e2["pid"], (e1, e2)
CHECK
}

test_seccomp_notify_berth_calls_after_handoff() {
  # After seccomp(2) berth itself still closes its copy of the listener,
  # waits for the go-ahead (poll, recvfrom/recvmsg), and execs; with NOTIFY
  # on those (and on brk/mmap, which an allocation could make) they reach
  # the agent, which lets them continue: no hang, for run, for exec, and
  # with the filter installed early (no no_new_privs, a non-root user:
  # setresuid, capset, prctl, ... come after the hand-off too).
  start_agent "$T_TMP/agent.sock" "$T_TMP/agent.log"
  local calls="mkdir mkdirat close read recvfrom recvmsg poll ppoll execve brk mmap munmap rt_sigprocmask setresuid setresgid setgroups capset capget prctl"
  make_bundle a sh -c 'mkdir /tmp/x 2>&1; echo "rc=$?"; echo hello'
  # shellcheck disable=SC2086
  notify_cfg "$B" "$T_TMP/agent.sock" "" $calls
  brun "$B" "$(cid a)"
  assert_rc 0 "run (stderr: $ERR)"
  assert_contains "$OUT" "not supported" "mkdir answered by the agent"
  assert_contains "$OUT" "hello" "the rest ran"
  make_bundle b sh -c 'id -u; mkdir /tmp/x 2>&1; echo done'
  cfg "$B" 'c["process"]["noNewPrivileges"] = False' 'c["process"]["user"] = {"uid": 1000, "gid": 1000}'
  # shellcheck disable=SC2086
  notify_cfg "$B" "$T_TMP/agent.sock" "" $calls
  brun "$B" "$(cid b)"
  assert_rc 0 "run, installed before the user switch (stderr: $ERR)"
  assert_contains "$OUT" "1000" "runs as uid 1000"
  assert_contains "$OUT" "not supported" "mkdir answered by the agent"
  make_bundle e sleep 1000
  # shellcheck disable=SC2086
  notify_cfg "$B" "$T_TMP/agent.sock" "" $calls
  local id
  id=$(cid e)
  must_create "$B" "$id"
  must_start "$id"
  bcmd exec "$id" sh -c 'mkdir /tmp/y 2>&1; echo exec-ran'
  assert_rc 0 "exec (stderr: $ERR)"
  assert_contains "$OUT" "not supported" "exec'd mkdir answered by the agent"
  assert_contains "$OUT" "exec-ran" "the exec'd process ran"
  assert_eq "$(wc -l <"$T_TMP/agent.log")" 4 "listeners the agent got (two runs, create, exec)"
  # berth's own waits after the hand-off (busybox makes neither call):
  # the init's recvfrom on start's connection, exec's recvmsg on its channel.
  local seen
  seen=$(sort -n "$T_TMP/agent.log.calls" | uniq -c | tr '\n' ' ')
  grep -qx 45 "$T_TMP/agent.log.calls" || fail "the init's recvfrom was not notified: $seen"
  grep -qx 47 "$T_TMP/agent.log.calls" || fail "the exec process's recvmsg was not notified: $seen"
  grep -qx 117 "$T_TMP/agent.log.calls" || fail "setresuid (early install) was not notified: $seen"
}

test_seccomp_notify_agent_missing() {
  # No agent at create: create fails naming listenerPath, nothing left.
  make_bundle a sh -c 'sleep 1000 # notify-marker'
  notify_cfg "$B" "$T_TMP/none.sock" "" mkdir mkdirat
  expect_create_fails "$B" "$(cid a)" a notify-marker "listenerPath" "agent running"
  # The listener reaches the agent during create, as with runc, crun and
  # youki: an agent that waits for it between create and start gets it;
  # and start runs the process under it.
  start_agent "$T_TMP/agent.sock" "$T_TMP/agent.log"
  make_bundle b sh -c 'mkdir /tmp/x 2>&1; echo RAN >/host/ran; sleep 1000'
  notify_cfg "$B" "$T_TMP/agent.sock" "answer=95" mkdir mkdirat
  local id
  id=$(cid b)
  must_create "$B" "$id"
  wait_file "$T_TMP/agent.log" 5 || fail "the agent had no listener after create (before start)"
  assert_eq "$(state_field "$id" status)" created "status after create"
  [ -e "$B/host/ran" ] && fail "the process ran before start"
  must_start "$id"
  wait_file "$B/host/ran" 5 || fail "the process did not run after start"
  assert_eq "$(wc -l <"$T_TMP/agent.log")" 1 "listeners the agent got (one, at create)"
  bcmd delete --force "$id"
  assert_rc 0 "delete"
  assert_nothing_left "$id" b
}

test_seccomp_notify_run_unreachable_agent() {
  # listenerPath is a socket nobody listens on any more (its agent died
  # without removing it): create passes, the hand-off at start cannot
  # connect; run fails naming the field, the program never runs, and
  # nothing is left: no process, no state dir, no cgroup.
  py -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T_TMP/stale.sock" ||
    fail "could not make a stale socket"
  make_bundle a sh -c 'echo RAN >/host/ran; sleep 1000 # stale-marker'
  notify_cfg "$B" "$T_TMP/stale.sock" "" mkdir mkdirat
  local id
  id=$(cid a)
  brun "$B" "$id"
  assert_rc 1 "run with an unreachable agent"
  assert_eq "$(wc -l <<<"$ERR")" 1 "lines on stderr ($ERR)"
  assert_contains "$ERR" "linux.seccomp.listenerPath" "run's error names the field"
  assert_contains "$ERR" "connect to $T_TMP/stale.sock" "and the socket"
  assert_contains "$ERR" "refused" "and why"
  [ -e "$B/host/ran" ] && fail "the process ran without its agent"
  assert_nothing_left "$id" a stale-marker
  # exec in a running container whose agent has died since (its socket
  # stays): exec fails naming the field, and its process is gone.
  start_agent "$T_TMP/agent.sock" "$T_TMP/agent.log"
  make_bundle e sleep 1000
  notify_cfg "$B" "$T_TMP/agent.sock" "" mkdir mkdirat
  id=$(cid e)
  must_create "$B" "$id"
  must_start "$id"
  kill -9 "$AGENT"
  wait "$AGENT" 2>/dev/null
  [ -S "$T_TMP/agent.sock" ] || fail "the dead agent's socket is gone"
  bcmd exec "$id" sh -c 'echo RAN >/host/ran-exec'
  assert_rc 255 "exec with an unreachable agent"
  assert_contains "$ERR" "linux.seccomp.listenerPath" "exec's error names the field"
  assert_contains "$ERR" "refused" "and why"
  [ -e "$B/host/ran-exec" ] && fail "the exec'd process ran without its agent"
  local procs
  procs=$(cg_procs e) || fail "no cgroup for the container"
  assert_eq "$(wc -l <"$procs")" 1 "processes in the container's cgroup (the init only)"
}

test_seccomp_notify_config_errors() {
  # Each names its field; nothing is left behind.
  make_bundle a sh -c 'sleep 1000 # notifyconf-marker'
  seccomp_cfg "$B" "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"$T_TMP/a.sock\", \"syscalls\": [{\"names\": [\"sendmsg\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}"
  expect_create_fails "$B" "$(cid a)" a notifyconf-marker "linux.seccomp.syscalls[0].action" "SCMP_ACT_NOTIFY cannot be used for the sendmsg syscall"
  seccomp_cfg "$B" "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"$T_TMP/a.sock\", \"syscalls\": [{\"names\": [\"getpid\", \"write\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}"
  expect_create_fails "$B" "$(cid a)" a notifyconf-marker "linux.seccomp.syscalls[0].action" "SCMP_ACT_NOTIFY cannot be used for the write syscall"
  seccomp_cfg "$B" '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}'
  expect_create_fails "$B" "$(cid a)" a notifyconf-marker "linux.seccomp.listenerPath" "must be set"
  seccomp_cfg "$B" '{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "agent.sock", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}'
  expect_create_fails "$B" "$(cid a)" a notifyconf-marker "linux.seccomp.listenerPath" "not an absolute path"
  seccomp_cfg "$B" '{"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "m", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}'
  expect_create_fails "$B" "$(cid a)" a notifyconf-marker "linux.seccomp.listenerMetadata"
  seccomp_cfg "$B" "{\"defaultAction\": \"SCMP_ACT_NOTIFY\", \"listenerPath\": \"$T_TMP/a.sock\"}"
  expect_create_fails "$B" "$(cid a)" a notifyconf-marker "linux.seccomp.defaultAction"
}

test_seccomp_listener_path_ignored_without_notify() {
  # The spec: without a NOTIFY rule, listenerPath is ignored (even one
  # that does not exist).
  make_bundle a sh -c 'mkdir /tmp/x 2>&1; echo done'
  seccomp_cfg "$B" "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"$T_TMP/none.sock\", \"listenerMetadata\": \"m\", \"syscalls\": [{\"names\": [\"mkdir\", \"mkdirat\"], \"action\": \"SCMP_ACT_ERRNO\"}]}"
  brun "$B" "$(cid a)"
  assert_rc 0 "run (stderr: $ERR)"
  assert_contains "$OUT" "Operation not permitted" "the filter applies"
  assert_contains "$OUT" "done" "and the process ran"
}

test_seccomp_bad_profile_refused() {
  make_bundle a sh -c 'sleep 1000 # badseccomp-marker'
  seccomp_cfg "$B" '{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_AARCH64"], "syscalls": []}'
  expect_create_fails "$B" "$(cid a)" a badseccomp-marker "linux.seccomp"
}
