# `update` (flags and -r) and `events` (--stats and the stream with OOM
# events), read back from the container's cgroup files: v1 on a hybrid
# host, v2 in the VM. cg_file, cg_read and cg_v2 come from cgroups.sh.

# saved_resources ID: linux.resources of the config snapshotted in the
# container's state dir, as JSON.
saved_resources() {
  py -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))["linux"].get("resources", {}), sort_keys=True))' "$ROOT/$1/config.json"
}

test_update_flags() {
  make_bundle a sleep 1000
  cfg "$B" 'c["linux"]["resources"].update({"memory": {"limit": 67108864, "swap": 67108864}, "pids": {"limit": 50}, "cpu": {"shares": 1024}})'
  must_create "$B" "$(cid a)"
  must_start "$(cid a)"
  bcmd update --memory 128m --memory-swap 256M --memory-reservation 32m --pids-limit 30 \
    --cpu-share 512 --cpu-period 100000 --cpu-quota 20000 --cpuset-cpus 0 "$(cid a)"
  assert_rc 0 "update"
  assert_eq "$(cg_read a pids.max)" 30 "pids.max"
  assert_eq "$(cg_read a cpuset.cpus)" 0 "cpuset.cpus"
  if cg_v2; then
    assert_eq "$(cg_read a memory.max)" 134217728 "memory.max"
    assert_eq "$(cg_read a memory.low)" 33554432 "memory.low"
    assert_eq "$(cg_read a cpu.weight)" 20 "cpu.weight"
    assert_eq "$(cg_read a cpu.max)" "20000 100000" "cpu.max"
  else
    assert_eq "$(cg_read a memory.limit_in_bytes)" 134217728 "memory.limit_in_bytes"
    assert_eq "$(cg_read a memory.memsw.limit_in_bytes)" 268435456 "memory.memsw.limit_in_bytes"
    assert_eq "$(cg_read a memory.soft_limit_in_bytes)" 33554432 "memory.soft_limit_in_bytes"
    assert_eq "$(cg_read a cpu.shares)" 512 "cpu.shares"
    assert_eq "$(cg_read a cpu.cfs_quota_us)" 20000 "cpu.cfs_quota_us"
  fi
  local saved
  saved=$(saved_resources "$(cid a)")
  assert_contains "$saved" '"limit": 134217728' "snapshotted config: memory.limit"
  assert_contains "$saved" '"limit": 30' "snapshotted config: pids.limit"
  assert_contains "$saved" '"shares": 512' "snapshotted config: cpu.shares"
  # Lowering below the old swap works too (the limit goes down first).
  bcmd update --memory 32m --memory-swap 48m "$(cid a)"
  assert_rc 0 "update (lower)"
  if cg_v2; then
    assert_eq "$(cg_read a memory.max)" 33554432 "memory.max"
  else
    assert_eq "$(cg_read a memory.memsw.limit_in_bytes)" 50331648 "memory.memsw.limit_in_bytes"
  fi
}

test_update_resources_file_and_stdin() {
  make_bundle a sleep 1000
  must_create "$B" "$(cid a)"
  printf '{"pids": {"limit": 77}}' >"$T_TMP/r.json"
  bcmd update -r "$T_TMP/r.json" "$(cid a)"
  assert_rc 0 "update -r FILE"
  assert_eq "$(cg_read a pids.max)" 77 "pids.max"
  b update --resources - "$(cid a)" <<<'{"pids": {"limit": 66}}' || fail "update --resources -"
  assert_eq "$(cg_read a pids.max)" 66 "pids.max"
  assert_contains "$(saved_resources "$(cid a)")" '"limit": 66' "snapshotted config"
  # -r and a flag together is ambiguous: refused.
  bcmd update -r "$T_TMP/r.json" --pids-limit 5 "$(cid a)"
  assert_rc 1 "update -r with a flag"
}

test_update_with_the_devices_of_create() {
  # containerd's update (kubelet's resize) sends the whole resources, the
  # devices as they were at create: accepted as no change. Other device
  # rules are refused.
  make_bundle a sleep 1000
  cfg "$B" 'c["linux"]["resources"]["devices"] = [{"allow": False, "access": "rwm"}, {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]'
  must_create "$B" "$(cid a)"
  b update --resources - "$(cid a)" <<<'{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}], "pids": {"limit": 33}}' ||
    fail "update with the devices of create"
  assert_eq "$(cg_read a pids.max)" 33 "pids.max"
  printf '{"devices": [{"allow": true, "access": "rwm"}], "pids": {"limit": 44}}' >"$T_TMP/r.json"
  bcmd update -r "$T_TMP/r.json" "$(cid a)"
  assert_rc 1 "update with other device rules"
  assert_contains "$ERR" "devices" "error"
  assert_eq "$(cg_read a pids.max)" 33 "pids.max after the refused update"
}

test_update_errors() {
  make_bundle a sleep 1000
  cfg "$B" 'c["linux"]["resources"]["pids"] = {"limit": 50}'
  must_create "$B" "$(cid a)"
  bcmd update --memory 12q "$(cid a)"
  assert_rc 1 "update --memory 12q"
  assert_contains "$ERR" "--memory" "error"
  bcmd update --pids-limit -5 "$(cid a)"
  assert_rc 1 "update --pids-limit -5"
  assert_contains "$ERR" "pids.limit" "error"
  assert_eq "$(cg_read a pids.max)" 50 "pids.max after refused updates"
  assert_contains "$(saved_resources "$(cid a)")" '"limit": 50' "snapshotted config after refused updates"
  bcmd update --pids-limit 5 nosuch-container
  assert_rc 1 "update of an unknown container"
  bcmd update "$(cid a)"
  assert_rc 1 "update with nothing to change"
  make_bundle s true
  must_create "$B" "$(cid s)"
  must_start "$(cid s)"
  wait_status "$(cid s)" stopped 10 || fail "container did not stop"
  bcmd update --pids-limit 5 "$(cid s)"
  assert_rc 1 "update of a stopped container"
  assert_contains "$ERR" "stopped" "error"
}

test_events_stats() {
  make_bundle a sh -c 'x=$(head -c 1000000 /dev/zero | tr "\0" a); sleep 1000'
  cfg "$B" 'c["linux"]["resources"].update({"pids": {"limit": 40}, "memory": {"limit": 67108864}})'
  must_create "$B" "$(cid a)"
  must_start "$(cid a)"
  sleep 0.5
  bcmd events --stats "$(cid a)"
  assert_rc 0 "events --stats"
  py -c '
import json, sys
e = json.loads(sys.argv[1])
assert e["type"] == "stats", e
assert e["id"] == sys.argv[2], e
d = e["data"]
assert d["pids"]["current"] >= 1 and d["pids"]["limit"] == 40, d["pids"]
assert d["memory"]["usage"]["usage"] > 0 and d["memory"]["usage"]["limit"] == 67108864, d["memory"]["usage"]
assert d["cpu"]["usage"]["total"] > 0, d["cpu"]
' "$OUT" "$(cid a)" || fail "events --stats: $OUT"
  bcmd events --stats nosuch
  assert_rc 1 "events of an unknown container"
}

test_events_stream_reports_oom() {
  make_bundle a sh -c 'sleep 1; x=$(head -c 67108864 /dev/zero | tr "\0" a)'
  cfg "$B" 'c["linux"]["resources"]["memory"] = {"limit": 16777216, "swap": 16777216}'
  must_create "$B" "$(cid a)"
  bg b events --interval 200ms "$(cid a)" >"$T_TMP/events.out" 2>"$T_TMP/events.err"
  local ev=$BG_PID
  must_start "$(cid a)"
  wait_status "$(cid a)" stopped 30 || fail "container did not stop"
  wait_gone "$ev" 10 || fail "events did not end when the container stopped"
  wait "$ev"
  assert_eq "$?" 0 "events exit status ($(cat "$T_TMP/events.err"))"
  local out
  out=$(cat "$T_TMP/events.out")
  assert_contains "$out" '"type":"oom"' "events stream"
  assert_contains "$out" '"type":"stats"' "events stream"
}
