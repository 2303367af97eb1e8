# shellcheck shell=bash
# process: args, env, cwd, user, umask, rlimits, capabilities, priorities.

# status_field OUTPUT NAME: the value of "NAME:\t..." in /proc/self/status text.
status_field() { awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ +/, ""); print }' <<<"$1"; }

test_process_args() {
  make_bundle a sh -c 'printf "[%s]" "$0" "$@"' zero "a b" "c'd" "" 'e"f' '$HOME'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" "[zero][a b][c'd][][e\"f][\$HOME]" "args as the process sees them"
  # args[0] found through the config's PATH; an absolute args[0] as is.
  make_bundle b /bin/echo absolute
  brun "$B" "$(cid b)"
  assert_eq "$OUT" absolute "absolute args[0]"
}

test_process_env_exact() {
  make_bundle a env
  cfg "$B" 'c["process"]["env"] = ["PATH=/bin", "FOO=bar baz", "EMPTY=", "HOME=/home/x", "MULTI=a=b=c"]'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$(sort <<<"$OUT")" "$(printf '%s\n' EMPTY= "FOO=bar baz" HOME=/home/x MULTI=a=b=c PATH=/bin | sort)" "environment"
  # Without HOME in the config, HOME is set (no /etc/passwd: "/").
  cfg "$B" 'c["process"]["env"] = ["PATH=/bin", "A=1"]'
  brun "$B" "$(cid b)"
  assert_eq "$(sort <<<"$OUT")" "$(printf '%s\n' A=1 HOME=/ PATH=/bin | sort)" "environment without HOME"
}

test_process_cwd() {
  make_bundle a sh -c 'pwd; stat -c %F .'
  mkdir -p "$B/rootfs/srv/exists"
  cfg "$B" 'c["process"]["cwd"] = "/srv/exists"'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" "$(printf '/srv/exists\ndirectory')" "existing cwd"
  cfg "$B" 'c["process"]["cwd"] = "/srv/new/deeper/dir"'
  brun "$B" "$(cid b)"
  assert_rc 0 "run with a missing cwd"
  assert_eq "$OUT" "$(printf '/srv/new/deeper/dir\ndirectory')" "created cwd"
  [ -d "$B/rootfs/srv/new/deeper/dir" ] || fail "cwd not created inside the rootfs"
  cfg "$B" 'c["process"]["cwd"] = "relative/dir"'
  bcreate "$B" "$(cid c)"
  assert_rc 1 "create with a relative cwd"
  assert_contains "$ERR" "process.cwd" "error"
}

test_process_user() {
  make_bundle a sh -c 'id -u; id -g; id -G; grep -E "^(Uid|Gid|Groups):" /proc/self/status; touch /host/f; stat -c "%u %g" /host/f'
  cfg "$B" 'c["process"]["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [10, 2000]}'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" "$(printf '1000\n1001\n1001 10 2000\nUid:\t1000\t1000\t1000\t1000\nGid:\t1001\t1001\t1001\t1001\nGroups:\t10 2000 \n1000 1001')" "ids"
  # no additionalGids: no supplementary groups at all
  cfg "$B" 'c["process"]["user"] = {"uid": 0, "gid": 0}'
  brun "$B" "$(cid b)"
  assert_rc 0 "run as root"
  assert_match "$(grep '^Groups:' <<<"$OUT")" $'^Groups:\t *$' "Groups without additionalGids"
}

test_process_umask() {
  make_bundle a sh -c 'umask; touch /host/f; stat -c %a /host/f'
  cfg "$B" 'c["process"]["user"]["umask"] = 23'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" "$(printf '0027\n640')" "umask 0027"
  rm -f "$B/host/f"
  cfg "$B" 'c["process"]["user"].pop("umask", None)'
  brun "$B" "$(cid b)"
  assert_eq "$OUT" "$(printf '0022\n644')" "default umask"
}

test_process_rlimits() {
  make_bundle a sh -c 'ulimit -n; ulimit -Hn; ulimit -c; grep "Max open files" /proc/self/limits'
  cfg "$B" 'c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456}, {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$(head -n3 <<<"$OUT")" "$(printf '123\n456\n0')" "ulimit -n / -Hn / -c"
  assert_match "$(tail -n1 <<<"$OUT")" '^Max open files +123 +456 +files *$' "/proc/self/limits"
  cfg "$B" 'c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 500, "hard": 100}]'
  bcreate "$B" "$(cid b)"
  assert_rc 1 "create with soft > hard"
  assert_contains "$ERR" "rlimits" "error"
}

test_process_rlimit_raise_hard() {
  # Raising a hard limit above berth's own needs CAP_SYS_RESOURCE.
  local hard
  hard=$(ulimit -Hn)
  [ "$hard" == unlimited ] && skip "the host's RLIMIT_NOFILE hard limit is unlimited"
  local want=$((hard + 1))
  make_bundle a sh -c 'ulimit -Hn'
  N=$want cfg "$B" 'c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": int(E["N"])}]'
  local bnd
  bnd=$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)
  if (((0x$bnd >> 24) & 1)); then
    brun "$B" "$(cid a)"
    assert_rc 0 "run"
    assert_eq "$OUT" "$want" "raised hard limit"
  else
    skip "CAP_SYS_RESOURCE is not in the bounding set (CapBnd $bnd): no runtime can raise a hard rlimit here"
  fi
}

test_process_no_new_privileges() {
  make_bundle a grep NoNewPrivs /proc/self/status
  cfg "$B" 'c["process"]["noNewPrivileges"] = True'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" "$(printf 'NoNewPrivs:\t1')" "noNewPrivileges true"
  cfg "$B" 'c["process"]["noNewPrivileges"] = False'
  brun "$B" "$(cid b)"
  assert_eq "$OUT" "$(printf 'NoNewPrivs:\t0')" "noNewPrivileges false"
}

test_process_oom_score_adj() {
  make_bundle a cat /proc/self/oom_score_adj
  cfg "$B" 'c["process"]["oomScoreAdj"] = 500'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" 500 "oom_score_adj"
  cfg "$B" 'c["process"]["oomScoreAdj"] = 1000'
  brun "$B" "$(cid b)"
  assert_eq "$OUT" 1000 "oom_score_adj 1000"
}

test_process_capabilities_sets() {
  make_bundle a grep ^Cap /proc/self/status
  cfg "$B" 'c["process"]["capabilities"] = {"bounding": ["CAP_CHOWN", "CAP_KILL"], "effective": ["CAP_CHOWN", "CAP_KILL"], "permitted": ["CAP_CHOWN", "CAP_KILL"], "inheritable": [], "ambient": []}'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" "$(printf 'CapInh:\t0000000000000000\nCapPrm:\t0000000000000021\nCapEff:\t0000000000000021\nCapBnd:\t0000000000000021\nCapAmb:\t0000000000000000')" "capability sets"
  # permitted smaller than bounding (for uid 0 the kernel makes the
  # effective set equal to the permitted one at exec)
  cfg "$B" 'c["process"]["capabilities"] = {"bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_SETUID"], "permitted": ["CAP_CHOWN", "CAP_KILL"], "effective": ["CAP_CHOWN", "CAP_KILL"]}'
  brun "$B" "$(cid b)"
  assert_rc 0 "run"
  assert_eq "$OUT" "$(printf 'CapInh:\t0000000000000000\nCapPrm:\t0000000000000021\nCapEff:\t0000000000000021\nCapBnd:\t00000000000000a1\nCapAmb:\t0000000000000000')" "capability sets (permitted < bounding)"
  # no capabilities object at all: root keeps none? runc keeps none either.
  cfg "$B" 'c["process"]["capabilities"] = {}'
  brun "$B" "$(cid c)"
  assert_rc 0 "run with empty capabilities"
  assert_eq "$(grep -E '^Cap(Eff|Bnd)' <<<"$OUT")" "$(printf 'CapEff:\t0000000000000000\nCapBnd:\t0000000000000000')" "empty capability sets"
}

test_process_capabilities_ambient() {
  make_bundle a grep ^Cap /proc/self/status
  cfg "$B" 'c["process"]["user"] = {"uid": 1000, "gid": 1000}' \
    'n = ["CAP_NET_BIND_SERVICE"]' \
    'c["process"]["capabilities"] = {"bounding": n, "effective": n, "permitted": n, "inheritable": n, "ambient": n}'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" "$(printf 'CapInh:\t0000000000000400\nCapPrm:\t0000000000000400\nCapEff:\t0000000000000400\nCapBnd:\t0000000000000400\nCapAmb:\t0000000000000400')" "ambient capability for uid 1000"
  # without ambient a non-root user ends with nothing effective
  cfg "$B" 'c["process"]["capabilities"]["ambient"] = []' 'c["process"]["capabilities"]["inheritable"] = []'
  brun "$B" "$(cid b)"
  assert_eq "$(grep -E '^Cap(Prm|Eff|Amb)' <<<"$OUT")" "$(printf 'CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapAmb:\t0000000000000000')" "non-root without ambient"
}

test_process_capability_unknown() {
  make_bundle a sh -c 'sleep 1000 # cap-marker'
  cfg "$B" 'c["process"]["capabilities"]["bounding"].append("CAP_TEST")'
  local id
  id=$(cid a)
  bcreate "$B" "$id"
  assert_rc 1 "create with CAP_TEST"
  assert_contains "$ERR" "CAP_TEST" "error"
  assert_nothing_left "$id" a cap-marker
}

test_process_io_priority() {
  make_bundle a ionice
  cfg "$B" 'c["process"]["ioPriority"] = {"class": "IOPRIO_CLASS_BE", "priority": 5}'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" "best-effort: prio 5" "ionice"
  cfg "$B" 'c["process"]["ioPriority"] = {"class": "IOPRIO_CLASS_IDLE", "priority": 0}'
  brun "$B" "$(cid b)"
  assert_eq "$OUT" "idle" "ionice (idle class)"
  cfg "$B" 'c["process"]["ioPriority"] = {"class": "IOPRIO_CLASS_BE", "priority": 9}'
  local id
  id=$(cid c)
  bcreate "$B" "$id"
  assert_rc 1 "create with ioPriority 9"
  assert_contains "$ERR" "ioPriority" "error"
  assert_nothing_left "$id" a
}

test_process_scheduler() {
  make_bundle a sh -c 'grep -E "^policy" /proc/self/sched | tr -d " "; cut -d" " -f19 /proc/self/stat'
  cfg "$B" 'c["process"]["scheduler"] = {"policy": "SCHED_BATCH", "nice": 5}'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" "$(printf 'policy:3\n5')" "scheduler policy and nice"
  cfg "$B" 'c["process"]["scheduler"] = {"policy": "SCHED_IDLE"}'
  brun "$B" "$(cid b)"
  assert_eq "$(head -n1 <<<"$OUT")" "policy:5" "SCHED_IDLE"
}

test_process_exec_cpu_affinity() {
  make_bundle a grep Cpus_allowed_list /proc/self/status
  cfg "$B" 'c["process"]["execCPUAffinity"] = {"initial": "0"}'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" "$(printf 'Cpus_allowed_list:\t0')" "initial affinity 0"
  if [ "$(nproc --all)" -ge 2 ] && [[ $(grep Cpus_allowed_list /proc/self/status) == *0-* ]]; then
    cfg "$B" 'c["process"]["execCPUAffinity"] = {"initial": "0", "final": "1"}'
    brun "$B" "$(cid b)"
    assert_rc 0 "run"
    assert_eq "$OUT" "$(printf 'Cpus_allowed_list:\t1')" "final affinity 1"
  fi
  cfg "$B" 'c["process"]["execCPUAffinity"] = {"initial": "x-y"}'
  bcreate "$B" "$(cid c)"
  assert_rc 1 "create with a bad cpu list"
  assert_contains "$ERR" "execCPUAffinity" "error"
}

test_hostname_domainname() {
  make_bundle a sh -c 'hostname; cat /proc/sys/kernel/domainname; uname -n'
  cfg "$B" 'c["hostname"] = "box1"' 'c["domainname"] = "example.test"'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" "$(printf 'box1\nexample.test\nbox1')" "hostname and domainname"
  [ "$(hostname)" != box1 ] || fail "the host's hostname changed"
}

test_personality_linux32() {
  [ "$(uname -m)" == x86_64 ] || skip "LINUX32 shows i686 only on an x86_64 host (this is $(uname -m))"
  make_bundle a uname -m
  cfg "$B" 'c["linux"]["personality"] = {"domain": "LINUX32"}'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" i686 "uname -m with LINUX32"
  cfg "$B" 'c["linux"]["personality"] = {"domain": "LINUX"}'
  brun "$B" "$(cid b)"
  assert_eq "$OUT" "$(uname -m)" "uname -m with LINUX"
}
