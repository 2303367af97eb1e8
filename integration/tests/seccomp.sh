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

test_seccomp_notify_refused_for_now() {
  # SCMP_ACT_NOTIFY compiles, but berth cannot hand the listener to
  # listenerPath yet: create says so rather than ignoring it.
  make_bundle a sh -c 'sleep 1000 # notify-marker'
  seccomp_cfg "$B" '{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/tmp/nope.sock", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}'
  expect_create_fails "$B" "$(cid a)" a notify-marker "SCMP_ACT_NOTIFY" "listenerPath"
}

test_seccomp_bad_profile_refused() {
  make_bundle a sh -c 'sleep 1000 # badseccomp-marker'
  seccomp_cfg "$B" '{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_AARCH64"], "syscalls": []}'
  expect_create_fails "$B" "$(cid a)" a badseccomp-marker "linux.seccomp"
}
