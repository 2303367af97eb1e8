# shellcheck shell=bash
# linux.namespaces: new ones, joined ones, user and time namespaces.

# drop_ns BUNDLE TYPE: remove a namespace from the config.
drop_ns() { T=$2 cfg "$1" 'c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != E["T"]]'; }

test_ns_pid() {
  make_bundle a sh -c 'echo $$; tr "\0" " " </proc/1/cmdline; echo; set -- /proc/[0-9]*; echo "$# $*"' pid-marker
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$(sed -n 1p <<<"$OUT")" 1 "the process's pid"
  assert_eq "$(sed -n 2p <<<"$OUT")" "sh -c echo \$\$; tr \"\\0\" \" \" </proc/1/cmdline; echo; set -- /proc/[0-9]*; echo \"\$# \$*\" pid-marker " "/proc/1/cmdline"
  # only the shell itself (the glob needs no child process)
  assert_eq "$(sed -n 3p <<<"$OUT")" "1 /proc/1" "processes visible in the container"
}

test_ns_network() {
  make_bundle a sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" lo "network devices in a new network namespace"
  # without a network namespace the host's devices are visible
  drop_ns "$B" network
  brun "$B" "$(cid b)"
  assert_rc 0 "run"
  assert_eq "$(sort <<<"$OUT")" "$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort)" "network devices without a network namespace"
}

test_ns_identities() {
  # Every namespace in the config is new; one left out is the host's.
  make_bundle a sh -c 'for n in ipc uts mnt net cgroup pid; do readlink /proc/self/ns/$n; done'
  cfg "$B" "$CGROUPNS"
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  local n i=0 line
  for n in ipc uts mnt net cgroup pid; do
    i=$((i + 1))
    line=$(sed -n "${i}p" <<<"$OUT")
    assert_match "$line" "^$n:\[[0-9]+\]$" "ns link of $n"
    [ "$line" != "$(readlink "/proc/self/ns/$n")" ] || fail "$n namespace is the host's"
  done
  drop_ns "$B" ipc
  drop_ns "$B" cgroup
  brun "$B" "$(cid b)"
  assert_rc 0 "run"
  assert_eq "$(sed -n 1p <<<"$OUT")" "$(readlink /proc/self/ns/ipc)" "ipc namespace when not listed"
  assert_eq "$(sed -n 5p <<<"$OUT")" "$(readlink /proc/self/ns/cgroup)" "cgroup namespace when not listed"
}

test_ns_ipc() {
  # A SysV message queue made on the host is not visible in the container.
  make_bundle a sh -c 'tail -n +2 /proc/sysvipc/msg | wc -l; cat /proc/sys/kernel/msgmni'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$(head -n1 <<<"$OUT")" 0 "SysV message queues in a new ipc namespace"
}

test_ns_uts() {
  make_bundle a sh -c 'hostname changed-inside; hostname'
  cfg "$B" 'c["hostname"] = "uts-test"' \
    'for s in ("bounding", "effective", "permitted"): c["process"]["capabilities"][s].append("CAP_SYS_ADMIN")'
  local before
  before=$(hostname)
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" changed-inside "hostname inside"
  assert_eq "$(hostname)" "$before" "the host's hostname"
  # hostname without a uts namespace is refused
  drop_ns "$B" uts
  bcreate "$B" "$(cid b)"
  assert_rc 1 "create with hostname but no uts namespace"
  assert_contains "$ERR" "uts" "error"
}

test_ns_mount() {
  # Mounts made in the container do not reach the host.
  make_bundle a sh -c 'mkdir -p /host/mnt && mount -t tmpfs none /host/mnt && echo mounted'
  cfg "$B" 'c["process"]["capabilities"]["bounding"].append("CAP_SYS_ADMIN")' \
    'c["process"]["capabilities"]["effective"].append("CAP_SYS_ADMIN")' \
    'c["process"]["capabilities"]["permitted"].append("CAP_SYS_ADMIN")'
  local before
  before=$(grep -c . /proc/self/mountinfo)
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" mounted "mount in the container"
  assert_eq "$(grep -c . /proc/self/mountinfo)" "$before" "host mount count"
  grep -q " $B/host/mnt " /proc/self/mountinfo && fail "the container's mount reached the host"
  return 0
}

test_ns_no_mount_namespace() {
  # Without a mount namespace (runc allows it) the container is chrooted
  # into its rootfs; its mounts are made in the host's namespace under the
  # rootfs, and delete (or a failed create) must unmount every one of them.
  make_bundle a sh -c 'cat /proc/self/cgroup >/dev/null && ls / | grep -c host'
  cfg "$B" 'c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "mount"]' \
    'c["linux"].pop("maskedPaths", None)' 'c["linux"].pop("readonlyPaths", None)'
  local my_mnt
  my_mnt=$(readlink /proc/self/ns/mnt)
  brun "$B" "$(cid a)" --keep
  assert_rc 0 "run"
  assert_eq "$OUT" 1 "the chrooted rootfs is the container's /"
  grep -q " $B/rootfs/proc " /proc/self/mountinfo || fail "proc not mounted under the rootfs in the host namespace"
  bcmd delete "$(cid a)"
  assert_rc 0 "delete"
  grep " $B/rootfs" /proc/self/mountinfo && fail "mounts left under the rootfs after delete"
  # A failed create cleans up too.
  cfg "$B" 'c["process"]["args"] = ["/no/such/program"]'
  bcreate "$B" "$(cid b)"
  assert_rc 1 "create of a missing program"
  grep " $B/rootfs" /proc/self/mountinfo && fail "mounts left under the rootfs after a failed create"
  assert_eq "$(readlink /proc/self/ns/mnt)" "$my_mnt" "host mount namespace unchanged"
  return 0
}

test_ns_cgroup() {
  make_bundle a cat /proc/self/cgroup
  cfg "$B" "$CGROUPNS"
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  local bad
  bad=$(grep -v ':/$' <<<"$OUT")
  assert_eq "$bad" "" "cgroup paths not at the namespace root"
  assert_contains "$OUT" "0::/" "cgroup2 line"
  local v1=0
  [ -d /sys/fs/cgroup/memory ] && v1=1
  [ "$v1" == 1 ] && assert_match "$(grep ':memory:' <<<"$OUT")" '^[0-9]+:memory:/$' "memory line"
  # Without a cgroup namespace the real path shows.
  drop_ns "$B" cgroup
  brun "$B" "$(cid b)"
  assert_rc 0 "run"
  assert_eq "$(grep '^0::' <<<"$OUT")" "0::$T_CG/a" "cgroup2 line without a cgroup namespace"
  [ "$v1" == 1 ] && assert_match "$(grep ':memory:' <<<"$OUT")" "^[0-9]+:memory:$T_CG/a\$" "memory line without a cgroup namespace"
  return 0
}

test_ns_user_mappings() {
  make_bundle a sh -c 'cat /proc/self/uid_map /proc/self/gid_map | tr -s " " | sed "s/^ //"; id -u; id -g; stat -c "%u %g" /bin/busybox /host/owned; touch /host/made; grep CapEff /proc/self/status'
  cfg "$B" 'c["linux"]["namespaces"].append({"type": "user"})' \
    'c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]' \
    'c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
  chown 100000:100000 "$B/host"
  touch "$B/host/owned" && chown 101000:101001 "$B/host/owned"
  brun "$B" "$(cid a)"
  assert_rc 0 "run in a user namespace"
  assert_eq "$OUT" "$(printf '0 100000 65536\n0 100000 65536\n0\n0\n65534 65534\n1000 1001\nCapEff:\t0000000020000420')" "inside the user namespace"
  assert_eq "$(stat -c '%u %g' "$B/host/made")" "100000 100000" "owner on the host of a file made by container root"
}

test_ns_user_unmapped_user_fails() {
  make_bundle a true
  cfg "$B" 'c["linux"]["namespaces"].append({"type": "user"})' \
    'c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 1000}]' \
    'c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 1000}]' \
    'c["process"]["user"] = {"uid": 5000, "gid": 5000}'
  local id
  id=$(cid a)
  bcreate "$B" "$id"
  if [ "$RC" == 0 ]; then
    # runc fails at start, when it switches user; either is fine, as long
    # as the error names the cause.
    bcmd start "$id"
  fi
  assert_rc 1 "create/start with an unmapped process.user"
  assert_contains "$ERR" "process.user" "error"
  assert_contains "$ERR" "5000" "error (names the unmapped id)"
}

test_ns_mappings_without_userns() {
  make_bundle a true
  cfg "$B" 'c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
  local id
  id=$(cid a)
  bcreate "$B" "$id"
  assert_rc 1 "create with uidMappings but no user namespace"
  assert_contains "$ERR" "uidMappings" "error"
  assert_nothing_left "$id" a
}

test_ns_time_offsets() {
  make_bundle a sh -c 'cat /proc/self/timens_offsets | tr -s " "; cut -d" " -f1 /proc/uptime'
  cfg "$B" 'c["linux"]["namespaces"].append({"type": "time"})' \
    'c["linux"]["timeOffsets"] = {"monotonic": {"secs": 86400, "nanosecs": 0}, "boottime": {"secs": 172800, "nanosecs": 0}}'
  local host_up
  brun "$B" "$(cid a)"
  host_up=$(cut -d' ' -f1 /proc/uptime)
  assert_rc 0 "run with a time namespace"
  assert_eq "$(head -n2 <<<"$OUT" | sort)" "$(printf 'boottime 172800 0\nmonotonic 86400 0')" "timens_offsets"
  local diff
  diff=$(awk -v a="$(tail -n1 <<<"$OUT")" -v b="$host_up" 'BEGIN { printf "%d", a - b + 0.5 }')
  [ "$diff" -ge 172795 ] && [ "$diff" -le 172805 ] || fail "uptime inside minus host: $diff s, expected ~172800"
  # timeOffsets need a time namespace
  cfg "$B" 'c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "time"]'
  bcreate "$B" "$(cid b)"
  assert_rc 1 "create with timeOffsets but no time namespace"
  assert_contains "$ERR" "timeOffsets" "error"
}

test_ns_time_with_userns() {
  # Time and pid namespaces owned by a new user namespace.
  make_bundle a sh -c 'head -n1 /proc/self/timens_offsets | tr -s " "; echo $$'
  cfg "$B" 'c["linux"]["namespaces"] += [{"type": "user"}, {"type": "time"}]' \
    'c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]' \
    'c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]' \
    'c["linux"]["timeOffsets"] = {"monotonic": {"secs": 3600}}'
  brun "$B" "$(cid a)"
  assert_rc 0 "run with user + time namespaces"
  assert_eq "$OUT" "$(printf 'monotonic 3600 0\n1')" "offsets and pid"
}

test_ns_join_by_path() {
  make_bundle a sh -c 'echo ready >/host/ready; exec sleep 1000'
  cfg "$B" 'c["hostname"] = "alpha"'
  local a pid
  a=$(cid a)
  must_create "$B" "$a"
  must_start "$a"
  wait_file "$B/host/ready" 5 || fail "container A did not start"
  pid=$(state_field "$a" pid)
  make_bundle b sh -c 'hostname; readlink /proc/self/ns/net; readlink /proc/self/ns/uts'
  P=$pid cfg "$B" 'c.pop("hostname", None)' \
    'for n in c["linux"]["namespaces"]:
    if n["type"] in ("uts", "network"): n["path"] = "/proc/%s/ns/%s" % (E["P"], {"uts": "uts", "network": "net"}[n["type"]])'
  brun "$B" "$(cid b)"
  assert_rc 0 "run of B joining A's uts and net namespaces"
  assert_eq "$OUT" "$(printf 'alpha\n%s\n%s' "$(readlink "/proc/$pid/ns/net")" "$(readlink "/proc/$pid/ns/uts")")" "B in A's namespaces"
}

test_ns_join_pid() {
  make_bundle a sh -c 'echo ready >/host/ready; exec sleep 1000'
  local a pid
  a=$(cid a)
  must_create "$B" "$a"
  must_start "$a"
  wait_file "$B/host/ready" 5 || fail "container A did not start"
  pid=$(state_field "$a" pid)
  make_bundle b sh -c 'readlink /proc/self/ns/pid; sleep 0.1 & readlink /proc/$!/ns/pid; wait; tr "\0" " " </proc/1/cmdline; echo; [ $$ != 1 ] && echo not-pid-1'
  P=$pid cfg "$B" 'for n in c["linux"]["namespaces"]:
    if n["type"] == "pid": n["path"] = "/proc/%s/ns/pid" % E["P"]'
  brun "$B" "$(cid b)"
  assert_rc 0 "run of B joining A's pid namespace"
  local ns
  ns=$(readlink "/proc/$pid/ns/pid")
  assert_eq "$OUT" "$(printf '%s\n%s\nsleep 1000 \nnot-pid-1' "$ns" "$ns")" "B (and its child) in A's pid namespace"
}

test_ns_join_wrong_type() {
  make_bundle a sh -c 'echo ready >/host/ready; exec sleep 1000'
  local a pid
  a=$(cid a)
  must_create "$B" "$a"
  must_start "$a"
  pid=$(state_field "$a" pid)
  make_bundle b sh -c 'sleep 1000 # wrongns-marker'
  P=$pid cfg "$B" 'c.pop("hostname", None)' \
    'for n in c["linux"]["namespaces"]:
    if n["type"] == "uts": n["path"] = "/proc/%s/ns/net" % E["P"]'
  local id
  id=$(cid b)
  bcreate "$B" "$id"
  assert_rc 1 "create with a net namespace path for uts"
  assert_contains "$ERR" "uts" "error"
  b delete --force "$a" >/dev/null 2>&1
  assert_nothing_left "$id" b wrongns-marker
  # a path that does not exist
  cfg "$B" 'for n in c["linux"]["namespaces"]:
    if n["type"] == "uts": n["path"] = "/proc/999999999/ns/uts"'
  bcreate "$B" "$id"
  assert_rc 1 "create with a missing namespace path"
  assert_contains "$ERR" "/proc/999999999/ns/uts" "error"
  assert_nothing_left "$id" b wrongns-marker
}

test_ns_user_oom_score_adj() {
  # /proc/self files of the init in a user namespace (oomScoreAdj).
  make_bundle a cat /proc/self/oom_score_adj
  cfg "$B" 'c["linux"]["namespaces"].append({"type": "user"})' \
    'c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]' \
    'c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]' \
    'c["process"]["oomScoreAdj"] = 500'
  brun "$B" "$(cid a)"
  assert_rc 0 "run with oomScoreAdj in a user namespace"
  assert_eq "$OUT" 500 "oom_score_adj"
}
