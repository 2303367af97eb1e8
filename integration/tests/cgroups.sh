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
