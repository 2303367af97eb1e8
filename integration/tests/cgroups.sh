# linux.resources applied to the container's cgroup, read back from the
# cgroup files (v1 on a hybrid host, v2 in the VM).

# cg_file CGNAME FILE: the path of FILE in this test's container cgroup,
# whichever hierarchy has it.
cg_file() {
  local h
  for h in $(cg_roots); do
    [ -f "$h$T_CG/$1/$2" ] && { echo "$h$T_CG/$1/$2"; return 0; }
  done
  return 1
}

test_cgroup_cpu_limits() {
  make_bundle a sh -c 'grep Cpus_allowed_list /proc/self/status; cat /host/go >/dev/null 2>&1; sleep 2'
  cfg "$B" 'c["linux"]["resources"]["cpu"] = {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"}'
  must_create "$B" "$(cid a)"
  local f
  if f=$(cg_file a cpu.shares); then
    assert_eq "$(cat "$f")" 512 "cpu.shares"
    assert_eq "$(cat "$(cg_file a cpu.cfs_quota_us)")" 50000 "cpu.cfs_quota_us"
    assert_eq "$(cat "$(cg_file a cpu.cfs_period_us)")" 100000 "cpu.cfs_period_us"
  else
    f=$(cg_file a cpu.weight) || fail "no cpu.shares or cpu.weight for the container"
    assert_eq "$(cat "$f")" 20 "cpu.weight (from shares 512)"
    assert_eq "$(cat "$(cg_file a cpu.max)")" "50000 100000" "cpu.max"
  fi
  assert_eq "$(cat "$(cg_file a cpuset.cpus)")" 0 "cpuset.cpus"
  must_start "$(cid a)"
  wait_status "$(cid a)" stopped 10 || fail "container did not stop"
  assert_contains "$(cat "$T_TMP/$(cid a).stdout")" "Cpus_allowed_list:	0" "cpuset seen inside"
}

test_cgroup_cpu_unlimited_quota() {
  make_bundle a true
  cfg "$B" 'c["linux"]["resources"]["cpu"] = {"quota": -1, "period": 200000}'
  must_create "$B" "$(cid a)"
  local f
  if f=$(cg_file a cpu.cfs_quota_us); then
    assert_eq "$(cat "$f")" -1 "cpu.cfs_quota_us"
    assert_eq "$(cat "$(cg_file a cpu.cfs_period_us)")" 200000 "cpu.cfs_period_us"
  else
    assert_eq "$(cat "$(cg_file a cpu.max)")" "max 200000" "cpu.max"
  fi
}

test_cgroup_cpu_impossible_limit() {
  # A quota below the kernel's minimum (1ms) is refused by create, which
  # names the field and leaves nothing behind.
  make_bundle a sh -c 'sleep 1000 # cpuquota-marker'
  cfg "$B" 'c["linux"]["resources"]["cpu"] = {"quota": 10, "period": 100000}'
  expect_create_fails "$B" "$(cid a)" a cpuquota-marker "linux.resources.cpu"
}

# cg_v2: true on a pure cgroup v2 host (the VM).
cg_v2() { [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; }

# cg_read CGNAME FILE: the contents of FILE in the container's cgroup.
cg_read() {
  local f
  f=$(cg_file "$1" "$2") || fail "no $2 in the container's cgroup"
  cat "$f"
}

# block_dev: MAJ:MIN of a real disk (virtio, scsi or nvme).
block_dev() {
  local d
  for d in /sys/block/vd* /sys/block/sd* /sys/block/nvme*; do
    [ -f "$d/dev" ] && { cat "$d/dev"; return 0; }
  done
  return 1
}

test_cgroup_memory_limits() {
  make_bundle a sleep 1000
  if cg_v2; then
    cfg "$B" 'c["linux"]["resources"]["memory"] = {"limit": 67108864, "reservation": 33554432, "swap": 134217728}'
  else
    cfg "$B" 'c["linux"]["resources"]["memory"] = {"limit": 67108864, "reservation": 33554432, "swap": 134217728, "swappiness": 7, "disableOOMKiller": False}'
  fi
  must_create "$B" "$(cid a)"
  if cg_v2; then
    assert_eq "$(cg_read a memory.max)" 67108864 "memory.max"
    assert_eq "$(cg_read a memory.low)" 33554432 "memory.low"
    if cg_file a memory.swap.max >/dev/null; then
      assert_eq "$(cg_read a memory.swap.max)" 67108864 "memory.swap.max (swap - limit)"
    fi
  else
    assert_eq "$(cg_read a memory.limit_in_bytes)" 67108864 "memory.limit_in_bytes"
    assert_eq "$(cg_read a memory.soft_limit_in_bytes)" 33554432 "memory.soft_limit_in_bytes"
    assert_eq "$(cg_read a memory.memsw.limit_in_bytes)" 134217728 "memory.memsw.limit_in_bytes"
    assert_eq "$(cg_read a memory.swappiness)" 7 "memory.swappiness"
  fi
}

test_cgroup_memory_oom_kill() {
  # 16 MiB and no swap; the shell then holds 64 MiB: the kernel's OOM
  # killer ends it, and run reports 128+SIGKILL.
  make_bundle a sh -c 'x=$(head -c 67108864 /dev/zero | tr "\0" a); echo survived ${#x}'
  cfg "$B" 'c["linux"]["resources"]["memory"] = {"limit": 16777216, "swap": 16777216}'
  brun "$B" "$(cid a)"
  assert_rc 137 "run of a container above its memory limit"
  assert_not_contains "$OUT" survived "output"
}

test_cgroup_pids_limit_stops_forks() {
  # Twenty background sleeps against a limit of 8: the shell's forks fail
  # once the cgroup is full, and the kernel counts the refusals.
  # (busybox sh gives up at the first failed fork: a subshell forks, the
  # init survives it.)
  make_bundle a sh -c '(for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do sleep 30 & done); echo forked; exec sleep 30'
  cfg "$B" 'c["linux"]["resources"]["pids"] = {"limit": 8}'
  must_create "$B" "$(cid a)"
  assert_eq "$(cg_read a pids.max)" 8 "pids.max"
  must_start "$(cid a)"
  wait_file "$T_TMP/$(cid a).stdout" 20 || fail "the container's loop did not finish: $(cat "$T_TMP/$(cid a).stderr")"
  local procs
  procs=$(wc -l <"$(cg_procs a)")
  [ "$procs" -le 8 ] || fail "$procs processes in the container's cgroup (limit 8)"
  [ "$procs" -ge 2 ] || fail "only $procs processes in the container's cgroup"
  assert_match "$(cg_read a pids.events)" "^max [1-9]" "pids.events (refused forks)"
  assert_contains "$(cat "$T_TMP/$(cid a).stderr")" "fork" "the shell's fork error"
}

test_cgroup_blkio_limits() {
  local dev
  dev=$(block_dev) || fail "no block device on this host to throttle"
  make_bundle a sleep 1000
  DEV=$dev cfg "$B" '
maj, mnr = (int(x) for x in E["DEV"].split(":"))
c["linux"]["resources"]["blockIO"] = {"weight": 500,
  "throttleReadBpsDevice": [{"major": maj, "minor": mnr, "rate": 1048576}],
  "throttleWriteIOPSDevice": [{"major": maj, "minor": mnr, "rate": 100}]}'
  must_create "$B" "$(cid a)"
  if cg_v2; then
    local f
    f=$(cg_file a io.bfq.weight || cg_file a io.weight) || fail "no io.weight or io.bfq.weight"
    assert_match "$(cat "$f")" "^default (500|4950)$" "$f"
    assert_match "$(cg_read a io.max)" "^$dev rbps=1048576 wbps=max riops=max wiops=100$" "io.max"
  else
    local f
    f=$(cg_file a blkio.weight || cg_file a blkio.bfq.weight) || fail "no blkio.weight or blkio.bfq.weight"
    assert_contains "$(cat "$f")" 500 "$f"
    assert_eq "$(cg_read a blkio.throttle.read_bps_device)" "$dev 1048576" "blkio.throttle.read_bps_device"
    assert_eq "$(cg_read a blkio.throttle.write_iops_device)" "$dev 100" "blkio.throttle.write_iops_device"
  fi
}

test_cgroup_hugetlb_limit() {
  [ -d /sys/kernel/mm/hugepages/hugepages-2048kB ] || fail "no 2 MiB huge pages on this kernel"
  make_bundle a sleep 1000
  cfg "$B" 'c["linux"]["resources"]["hugepageLimits"] = [{"pageSize": "2MB", "limit": 4194304}]'
  must_create "$B" "$(cid a)"
  local f
  # v2 (and a hybrid host, whose hugetlb controller is in cgroup2) or v1.
  f=$(cg_file a hugetlb.2MB.max || cg_file a hugetlb.2MB.limit_in_bytes) || fail "no hugetlb file for the container"
  assert_eq "$(cat "$f")" 4194304 "$f"
}

test_cgroup_network_needs_v1_controllers() {
  make_bundle a sh -c 'sleep 1000 # netcls-marker'
  cfg "$B" 'c["linux"]["resources"]["network"] = {"classID": 1048577, "priorities": [{"name": "lo", "priority": 5}]}'
  if ! cg_v2 && [ -d /sys/fs/cgroup/net_cls ]; then
    must_create "$B" "$(cid a)"
    assert_eq "$(cg_read a net_cls.classid)" 1048577 "net_cls.classid"
    assert_contains "$(cg_read a net_prio.ifpriomap)" "lo 5" "net_prio.ifpriomap"
  else
    expect_create_fails "$B" "$(cid a)" a netcls-marker "linux.resources.network"
  fi
}

test_cgroup_unified_keys() {
  make_bundle a sh -c 'sleep 1000 # unified-marker'
  cfg "$B" 'c["linux"]["resources"]["unified"] = {"pids.max": "42", "memory.high": "50000000"}'
  if cg_v2; then
    must_create "$B" "$(cid a)"
    assert_eq "$(cg_read a pids.max)" 42 "pids.max"
    assert_eq "$(cg_read a memory.high)" 49999872 "memory.high (page-rounded)"
  else
    expect_create_fails "$B" "$(cid a)" a unified-marker "linux.resources.unified" "cgroup v2"
  fi
}

test_cgroup_bad_values_leave_nothing() {
  local case n=0
  for case in \
    'pids|c["linux"]["resources"]["pids"] = {"limit": -5}' \
    'memory.limit|c["linux"]["resources"]["memory"] = {"limit": -5}' \
    'blockIO.weight|c["linux"]["resources"]["blockIO"] = {"weight": 5}' \
    'cpu.cpus|c["linux"]["resources"]["cpu"] = {"cpus": "99"}' \
    'hugepageLimits|c["linux"]["resources"]["hugepageLimits"] = [{"pageSize": "3MB", "limit": 1}]' \
    'rdma|c["linux"]["resources"]["rdma"] = {"nosuchdev": {"hcaHandles": 1}}' \
    'memory.kernel|c["linux"]["resources"]["memory"] = {"kernel": 1000000}'; do
    n=$((n + 1))
    make_bundle "b$n" sh -c 'sleep 1000 # badval-marker'
    cfg "$B" "${case#*|}"
    expect_create_fails "$B" "$(cid "b$n")" "b$n" badval-marker "linux.resources.${case%%|*}"
  done
}

test_cgroup_every_hierarchy_joined() {
  # The init and an exec'd process move themselves into the container's
  # cgroup (a thread writing "0" to `tasks` on v1; clone3 into the
  # cgroup2 directory, on a hybrid host's unified hierarchy too): every
  # hierarchy mounted on the host lists them under the cgroupsPath.
  exec_sleeper a "$CGROUPNS"
  local want="$T_CG/a" n
  bexec "$ID" cat /proc/self/cgroup
  assert_rc 0 "exec (stderr: $ERR)"
  n=$(cg_roots | wc -l)
  [ "$n" -gt 0 ] || fail "no cgroup hierarchy mounted"
  assert_eq "$(grep -c ":$want\$" "/proc/$INIT/cgroup")" "$n" "hierarchies listing the init under $want: $(tr '\n' ' ' <"/proc/$INIT/cgroup")"
  # From inside, with its own cgroup namespace, the exec'd process sees
  # its cgroup as the namespace's root in each.
  assert_eq "$(grep -c ':/$' <<<"$OUT")" "$n" "hierarchies listing the exec'd process at its namespace root: $(tr '\n' ' ' <<<"$OUT")"
}
