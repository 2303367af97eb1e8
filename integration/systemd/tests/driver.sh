# shellcheck shell=bash
# The systemd cgroup driver alone (`--systemd-cgroup`), in the systemd
# guest: each test's units are SD_PREFIX-<id>.scope in system.slice, or a
# slice of its own under system.slice. Runs with berth, then with runc
# (ITEST_RUNTIME) as the control. On a v1 (hybrid) boot the unified
# hierarchy is /sys/fs/cgroup/unified and the limits are v1 files.

SD_PREFIX=bitest

# Every call in this suite uses the driver: --systemd-cgroup is a global
# flag, before the command (runc takes it only there).
b() { "$BERTH" --root "$ROOT" --systemd-cgroup "$@"; }

# sd_path NAME: a cgroupsPath for the container NAME of this test.
sd_path() { echo "system.slice:$SD_PREFIX:$(cid "$1")"; }
sd_unit() { echo "$SD_PREFIX-$(cid "$1").scope"; }

# sd_bundle NAME ARGS...: make_bundle with the systemd path.
sd_bundle() {
  local name=$1
  make_bundle "$@"
  P=$(sd_path "$name") cfg "$B" 'c["linux"]["cgroupsPath"] = E["P"]'
}

pure_v2() { [ -f /sys/fs/cgroup/cgroup.controllers ]; }

# sd_dir UNIT_DIR CONTROLLER: the unit's directory in the hierarchy that
# has CONTROLLER (v2: the one hierarchy).
sd_dir() {
  if pure_v2; then
    echo "/sys/fs/cgroup$1"
  else
    echo "/sys/fs/cgroup/$2$1"
  fi
}

# prop UNIT NAME: one property as systemctl shows it.
prop() { systemctl show -P "$2" "$1" 2>/dev/null; }

# assert_no_unit UNIT: systemd has nothing of that name, loaded or failed.
assert_no_unit() {
  local left
  left=$(systemctl list-units --all --no-legend --plain "$1" 2>/dev/null)
  [ -z "$left" ] || fail "left behind: unit $left"
}

test_sd_scope_with_properties_and_limits() {
  sd_bundle a sleep 1000
  cfg "$B" 'c["linux"]["resources"] = {"memory": {"limit": 67108864}, "pids": {"limit": 42},
  "cpu": {"shares": 512, "quota": 50000, "period": 100000}}' \
    'c.setdefault("annotations", {})["org.systemd.property.TimeoutStopUSec"] = "uint64 123000000"'
  local id u
  id=$(cid a)
  u=$(sd_unit a)
  must_create "$B" "$id"
  assert_eq "$(prop "$u" ActiveState)" active "ActiveState"
  assert_eq "$(prop "$u" Slice)" system.slice "Slice"
  assert_eq "$(prop "$u" Delegate)" yes "Delegate"
  assert_eq "$(prop "$u" TasksMax)" 42 "TasksMax"
  assert_eq "$(prop "$u" TimeoutStopUSec)" "2min 3s" "TimeoutStopUSec (annotation)"
  local pid dir
  pid=$(state_field "$id" pid)
  if pure_v2; then
    assert_eq "$(prop "$u" MemoryMax)" 67108864 "MemoryMax"
    assert_eq "$(prop "$u" CPUQuotaPerSecUSec)" 500ms "CPUQuotaPerSecUSec"
    dir=/sys/fs/cgroup/system.slice/$u
    assert_eq "$(cat "$dir/memory.max")" 67108864 "memory.max"
    assert_eq "$(cat "$dir/cpu.max")" "50000 100000" "cpu.max"
    assert_eq "$(cat "$dir/pids.max")" 42 "pids.max"
    assert_contains "$(cat "$dir/cgroup.procs")" "$pid" "the scope's cgroup.procs"
  else
    assert_eq "$(cat "$(sd_dir "/system.slice/$u" memory)/memory.limit_in_bytes")" 67108864 "memory.limit_in_bytes"
    assert_eq "$(cat "$(sd_dir "/system.slice/$u" cpu)/cpu.cfs_quota_us")" 50000 "cpu.cfs_quota_us"
    assert_eq "$(cat "$(sd_dir "/system.slice/$u" cpu)/cpu.shares")" 512 "cpu.shares"
    assert_eq "$(cat "$(sd_dir "/system.slice/$u" pids)/pids.max")" 42 "pids.max"
    assert_contains "$(cat "$(sd_dir "/system.slice/$u" pids)/cgroup.procs")" "$pid" "the scope's cgroup.procs"
  fi
  must_start "$id"
  assert_eq "$(state_field "$id" status)" running "status"
  bcmd delete --force "$id"
  assert_rc 0 "delete --force"
  assert_no_unit "$u"
  [ -e "$(sd_dir "/system.slice/$u" pids)" ] && fail "left behind: the scope's cgroup"
  return 0
}

test_sd_default_path_and_exit_status() {
  # No cgroupsPath: system.slice:<runtime>:<id>, as runc does.
  make_bundle a sh -c 'cat /proc/self/cgroup; exit 3'
  cfg "$B" 'c["linux"].pop("cgroupsPath", None)'
  local id u
  id=$(cid a)
  u="$(basename "$BERTH")-$id.scope"
  brun "$B" "$id"
  assert_rc 3 "run's exit status"
  if pure_v2; then
    assert_contains "$OUT" "0::/" "the container's /proc/self/cgroup"
  fi
  assert_no_unit "$u"
}

test_sd_update_sets_properties_and_files() {
  sd_bundle a sleep 1000
  cfg "$B" 'c["linux"]["resources"] = {"memory": {"limit": 67108864}, "pids": {"limit": 42}}'
  # A unified file systemd also writes (memory.high): it must survive
  # systemd applying the unit's memory settings at the update.
  pure_v2 && cfg "$B" 'c["linux"]["resources"]["unified"] = {"memory.high": "50331648"}'
  local id u
  id=$(cid a)
  u=$(sd_unit a)
  must_create "$B" "$id"
  must_start "$id"
  bcmd update --memory 33554432 --pids-limit 21 --cpu-quota 20000 --cpu-period 100000 "$id"
  assert_rc 0 "update"
  assert_eq "$(prop "$u" TasksMax)" 21 "TasksMax after update"
  if pure_v2; then
    assert_eq "$(prop "$u" MemoryMax)" 33554432 "MemoryMax after update"
    assert_eq "$(prop "$u" CPUQuotaPerSecUSec)" 200ms "CPUQuotaPerSecUSec after update"
    assert_eq "$(cat "/sys/fs/cgroup/system.slice/$u/memory.max")" 33554432 "memory.max"
    assert_eq "$(cat "/sys/fs/cgroup/system.slice/$u/cpu.max")" "20000 100000" "cpu.max"
    assert_eq "$(cat "/sys/fs/cgroup/system.slice/$u/memory.high")" 50331648 "memory.high (unified) after update"
    assert_eq "$(prop "$u" MemoryHigh)" 50331648 "MemoryHigh"
  else
    assert_eq "$(cat "$(sd_dir "/system.slice/$u" memory)/memory.limit_in_bytes")" 33554432 "memory.limit_in_bytes"
  fi
  assert_eq "$(cat "$(sd_dir "/system.slice/$u" pids)/pids.max")" 21 "pids.max"
}

test_sd_pause_resume_exec_ps_kill_all() {
  sd_bundle a sh -c 'sleep 1000 & exec sleep 1001'
  local id u pids
  id=$(cid a)
  u=$(sd_unit a)
  must_create "$B" "$id"
  must_start "$id"
  bcmd pause "$id"
  assert_rc 0 "pause"
  assert_eq "$(state_field "$id" status)" paused "status after pause"
  bcmd resume "$id"
  assert_rc 0 "resume"
  assert_eq "$(state_field "$id" status)" running "status after resume"
  # exec joins the scope's cgroup (no cgroup namespace in these configs
  # on v1, so the path shows).
  bcmd exec "$id" cat /proc/self/cgroup
  assert_rc 0 "exec"
  pure_v2 || assert_contains "$OUT" "/system.slice/$u" "the exec'd process's cgroup"
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    pids=$(b ps --format json "$id" 2>/dev/null)
    [[ $pids == *,* ]] && break
    sleep 0.5
  done
  [[ $pids == *,* ]] || fail "ps lists [$pids], not both processes"
  bcmd kill --all "$id" KILL
  assert_rc 0 "kill --all"
  wait_status "$id" stopped 20 || fail "not stopped after kill --all"
  bcmd delete "$id"
  assert_rc 0 "delete"
  assert_no_unit "$u"
}

test_sd_oom_event() {
  # The hog is a subshell: the OOM killer picks it, the init lives on.
  sd_bundle a sh -c 'sleep 2; (x=$(head -c 67108864 /dev/zero | tr "\0" a); echo survived ${#x}); sleep 100'
  cfg "$B" 'c["linux"]["resources"] = {"memory": {"limit": 16777216, "swap": 16777216}}'
  local id
  id=$(cid a)
  must_create "$B" "$id"
  b events "$id" >"$T_TMP/events" 2>&1 &
  record_pid $!
  must_start "$id"
  local i
  for ((i = 0; i < 60; i++)); do
    grep -q '"type":"oom"' "$T_TMP/events" && break
    sleep 0.5
  done
  grep -q '"type":"oom"' "$T_TMP/events" || fail "no oom event: $(grep -v '"stats"' "$T_TMP/events" | head -c 300); status $(state_field "$id" status); $(tail -c 300 "$T_TMP/events")"
  assert_not_contains "$(cat "$T_TMP/$id.stdout")" survived "output"
}

test_sd_bad_paths_and_annotations_leave_nothing() {
  make_bundle a true
  local id bad
  id=$(cid a)
  for bad in "/a/b" "system.slice:x" "notaslice:x:n" "a--b.slice:x:n" "system.slice:x:na/me"; do
    BAD=$bad cfg "$B" 'c["linux"]["cgroupsPath"] = E["BAD"]'
    bcmd create --bundle "$B" "$id"
    assert_rc 1 "create with cgroupsPath $bad"
    # runc's words differ ("invalid slice name"); berth names the field.
    [ "$ITEST_RUNTIME" == berth ] && assert_contains "$ERR" "cgroupsPath" "error for $bad"
  done
  P=$(sd_path a) cfg "$B" 'c["linux"]["cgroupsPath"] = E["P"]' \
    'c.setdefault("annotations", {})["org.systemd.property.TasksMax"] = "lots"'
  bcmd create --bundle "$B" "$id"
  assert_rc 1 "create with a malformed property annotation"
  [ "$ITEST_RUNTIME" == berth ] && assert_contains "$ERR" "org.systemd.property.TasksMax" "error"
  assert_nothing_left "$id" a
  assert_no_unit "$(sd_unit a)"
}

test_sd_failed_create_leaves_no_unit() {
  # The unit exists before the init fails (a bind mount of a missing
  # source): create must stop it again.
  sd_bundle a true
  add_mount "$B" /x bind "$T_TMP/missing" rbind
  local id
  id=$(cid a)
  bcmd create --bundle "$B" "$id"
  assert_rc 1 "create with a missing bind source"
  assert_nothing_left "$id" a
  assert_no_unit "$(sd_unit a)"
  [ -e "$(sd_dir "/system.slice/$(sd_unit a)" pids)" ] && fail "left behind: the scope's cgroup"
  return 0
}

test_sd_unit_name_taken() {
  sd_bundle a sleep 1000
  local id1 id2 u
  id1=$(cid a)
  id2=$(cid b)
  u=$(sd_unit a)
  must_create "$B" "$id1"
  # A second container asking for the same unit fails and leaves the
  # first one alone.
  bcmd create --bundle "$B" "$id2"
  assert_rc 1 "create of a second container with the same unit"
  assert_eq "$(prop "$u" ActiveState)" active "the first container's unit"
  assert_eq "$(state_field "$id1" status)" created "the first container"
  [ -d "$ROOT/$id2" ] && fail "left behind: state of $id2"
  return 0
}

test_sd_slice_unit() {
  # A name ending in .slice makes the container's cgroup a slice.
  make_bundle a sleep 1000
  local id s
  id=$(cid a)
  s="system-$SD_PREFIX${T_SALT}.slice"
  S=$s cfg "$B" 'c["linux"]["cgroupsPath"] = "system.slice:x:" + E["S"]'
  must_create "$B" "$id"
  assert_eq "$(prop "$s" ActiveState)" active "the slice"
  assert_contains "$(cat "$(sd_dir "/system.slice/$s" pids)/cgroup.procs")" "$(state_field "$id" pid)" "the slice's cgroup.procs"
  # A slice that is there already is not taken over: a second container
  # asking for it fails, and the first one lives on.
  bcmd create --bundle "$B" "$(cid b)"
  assert_rc 1 "create of a second container in the same slice"
  assert_eq "$(state_field "$id" status)" created "the first container"
  assert_eq "$(prop "$s" ActiveState)" active "the slice"
  bcmd delete --force "$id"
  assert_rc 0 "delete --force"
  assert_no_unit "$s"
}

test_sd_device_policy() {
  # Deny everything but the defaults: systemd gets DevicePolicy=strict
  # with the defaults allowed; the container reads /dev/null and cannot
  # read a node it made of /dev/mem.
  sd_bundle a sh -c 'head -c 0 /dev/null && echo null-ok; mknod /tmp/m c 1 1 2>/dev/null; head -c 1 /tmp/m >/dev/null 2>&1 && echo mem-read; true'
  cfg "$B" 'c["linux"]["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}' \
    'for k in ("bounding", "effective", "permitted"): c["process"]["capabilities"][k].append("CAP_MKNOD")'
  local id u
  id=$(cid a)
  u=$(sd_unit a)
  must_create "$B" "$id"
  assert_eq "$(prop "$u" DevicePolicy)" strict "DevicePolicy"
  assert_contains "$(prop "$u" DeviceAllow)" "/dev/char/1:3 rw" "DeviceAllow"
  must_start "$id"
  wait_status "$id" stopped 20 || fail "the container did not finish"
  assert_contains "$(cat "$T_TMP/$id.stdout")" null-ok "reading /dev/null"
  assert_not_contains "$(cat "$T_TMP/$id.stdout")" mem-read "reading /dev/mem's number"
}
