# shellcheck shell=bash
# State that went wrong and callers that race: a corrupt or missing state
# file, a create killed half way, and many berth processes at once against
# one id or one container. Nothing may panic, corrupt the state, or leave
# a process, cgroup or state dir behind.

# assert_no_panic TEXT WHAT: no Rust panic message in TEXT.
assert_no_panic() { assert_not_contains "$1" "panicked" "$2"; }

test_robust_corrupt_state() {
  make_bundle a sh -c 'exec sleep 1000 # corrupt-marker'
  local id pid
  id=$(cid a)
  must_create "$B" "$id"
  must_start "$id"
  pid=$(state_field "$id" pid)
  head -c 17 "$ROOT/$id/state.json" >"$T_TMP/cut" && cp "$T_TMP/cut" "$ROOT/$id/state.json"
  bcmd state "$id"
  assert_rc 1 "state with a truncated state file"
  assert_contains "$ERR" "corrupt state" "error"
  assert_contains "$ERR" "line 1 column" "error"
  assert_contains "$ERR" "delete --force" "error (the way out)"
  bcmd delete "$id"
  assert_rc 1 "delete (not forced) with a corrupt state file"
  [ -d "/proc/$pid" ] || fail "a failed delete killed the container"
  bcmd delete --force "$id"
  assert_rc 0 "delete --force with a corrupt state file (stderr: $ERR)"
  wait_gone "$pid" 5 || fail "the container's init $pid survived delete --force"
  assert_nothing_left "$id" a corrupt-marker
}

test_robust_create_killed_before_its_state() {
  # What a create SIGKILLed after launching the init but before writing
  # its state leaves: a state dir with the config, a live init waiting for
  # start, and a cgroup. delete --force must clear all three.
  make_bundle a sh -c 'echo ran >/host/ran; exec sleep 1000 # halfway-marker'
  local id pid
  id=$(cid a)
  must_create "$B" "$id"
  pid=$(state_field "$id" pid)
  rm "$ROOT/$id/state.json"
  bcmd state "$id"
  assert_rc 1 "state of a half-created container"
  bcmd list -q
  assert_eq "$OUT" "$id" "list -q shows the half-created container"
  bcmd list --format json
  assert_contains "$OUT" '"status":"creating"' "list --format json"
  bcmd delete "$id"
  assert_rc 1 "delete (not forced) of a half-created container"
  assert_contains "$ERR" "delete --force" "error"
  bcmd delete --force "$id"
  assert_rc 0 "delete --force of a half-created container (stderr: $ERR)"
  wait_gone "$pid" 5 || fail "the half-created container's init $pid survived delete --force"
  [ -e "$B/host/ran" ] && fail "the process ran"
  assert_nothing_left "$id" a halfway-marker
}

test_robust_concurrent_create_one_id() {
  make_bundle a sh -c 'exec sleep 1000 # race-marker'
  local id i ok=0 exists=0 other=""
  id=$(cid a)
  for i in $(seq 1 50); do
    b create --bundle "$B" "$id" </dev/null >"$T_TMP/c$i.out" 2>"$T_TMP/c$i.err" &
    echo $! >"$T_TMP/c$i.pid"
  done
  for i in $(seq 1 50); do
    if wait "$(cat "$T_TMP/c$i.pid")"; then
      ok=$((ok + 1))
    elif grep -q "already exists" "$T_TMP/c$i.err"; then
      exists=$((exists + 1))
    else
      other+=" [$i: $(cat "$T_TMP/c$i.err")]"
    fi
    assert_no_panic "$(cat "$T_TMP/c$i.err")" "create $i"
  done
  local pid
  pid=$(state_field "$id" pid)
  [ -n "$pid" ] && record_pid "$pid"
  assert_eq "$ok" 1 "creates that succeeded"
  assert_eq "$exists" 49 "creates refused with 'already exists' (others:$other)"
  assert_eq "$(state_field "$id" status)" created "the winner's status"
  assert_eq "$(wc -l <"$(cg_procs a)")" 1 "processes in the container's cgroup"
  must_start "$id"
  assert_eq "$(state_field "$id" status)" running "the winner's status after start"
  bcmd delete --force "$id"
  assert_rc 0 "delete --force"
  assert_nothing_left "$id" a race-marker
}

test_robust_concurrent_delete_kill_state() {
  make_bundle a sh -c 'trap "" TERM; exec sleep 1000 # storm-marker'
  local id i pid
  id=$(cid a)
  must_create "$B" "$id"
  must_start "$id"
  pid=$(state_field "$id" pid)
  for i in $(seq 1 50); do
    case $((i % 3)) in
    0) b delete --force "$id" ;;
    1) b kill "$id" TERM ;;
    2) b state "$id" ;;
    esac </dev/null >"$T_TMP/s$i.out" 2>"$T_TMP/s$i.err" &
    echo $! >"$T_TMP/s$i.pid"
  done
  local rc
  for i in $(seq 1 50); do
    wait "$(cat "$T_TMP/s$i.pid")"
    rc=$?
    [ "$rc" == 0 ] || [ "$rc" == 1 ] || fail "berth call $i exited $rc: $(cat "$T_TMP/s$i.err")"
    assert_no_panic "$(cat "$T_TMP/s$i.err")" "call $i"
    # A state that printed must be whole JSON.
    if [ $((i % 3)) == 2 ] && [ -s "$T_TMP/s$i.out" ]; then
      py -c 'import json,sys; json.load(open(sys.argv[1]))' "$T_TMP/s$i.out" ||
        fail "state $i printed something that is not JSON: $(cat "$T_TMP/s$i.out")"
    fi
  done
  wait_gone "$pid" 5 || fail "the init $pid survived the delete --force storm"
  bcmd state "$id"
  assert_rc 1 "state after the storm"
  assert_contains "$ERR" "does not exist" "error"
  assert_nothing_left "$id" a storm-marker
}
