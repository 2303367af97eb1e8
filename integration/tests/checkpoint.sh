# shellcheck shell=bash
# checkpoint and restore on this host: what does not need a working CRIU
# (this host's kernel fails `criu check`; the dumps and restores
# themselves are tested in the systemd guest, integration/systemd/
# tests/checkpoint.sh): bad input, a missing or broken CRIU, flags berth
# refuses. Each leaves the container as it was, or nothing.

test_checkpoint_bad_input() {
  berth_only "berth's own errors"
  bcmd checkpoint --image-path "$T_TMP/img" "$(cid nope)"
  assert_rc 1 "checkpoint of an unknown id"
  make_bundle s true
  local id
  id=$(cid s)
  must_create "$B" "$id"
  must_start "$id"
  wait_status "$id" stopped 10
  bcmd checkpoint --image-path "$T_TMP/img" "$id"
  assert_rc 1 "checkpoint of a stopped container"
  assert_contains "$ERR" "only a running container" "error"
  bcmd delete "$id"
  # A restore that cannot be: nothing is made.
  b restore -d --bundle "$B" --image-path "$T_TMP/none" "$(cid r)" </dev/null >"$T_TMP/.out" 2>"$T_TMP/.err"
  assert_eq "$?" 1 "restore from a missing image path"
  assert_contains "$(cat "$T_TMP/.err")" "--image-path" "error"
  assert_nothing_left "$(cid r)" r
  make_bundle a sleep 1000
  id=$(cid a)
  must_create "$B" "$id"
  must_start "$id"
  # CRIU here cannot say what it has (criu check fails): an error naming
  # the flag.
  bcmd checkpoint --lazy-pages --image-path "$T_TMP/img" "$id"
  assert_rc 1 "--lazy-pages"
  assert_contains "$ERR" "--lazy-pages" "error"
  bcmd checkpoint --status-fd 1 --image-path "$T_TMP/img" "$id"
  assert_rc 1 "--status-fd without --lazy-pages"
  assert_contains "$ERR" "give --lazy-pages" "error"
  bcmd checkpoint --lazy-pages --status-fd 9 --image-path "$T_TMP/img" "$id"
  assert_rc 1 "--status-fd of a closed fd"
  assert_contains "$ERR" "--status-fd 9" "error"
  bcmd checkpoint --manage-cgroups-mode sometimes --image-path "$T_TMP/img" "$id"
  assert_rc 1 "a bad --manage-cgroups-mode"
  assert_contains "$ERR" "--manage-cgroups-mode" "error"
  bcmd checkpoint --parent-path /abs --image-path "$T_TMP/img" "$id"
  assert_rc 1 "an absolute --parent-path"
  assert_contains "$ERR" "--parent-path" "error"
  bcmd checkpoint --parent-path ../nope --image-path "$T_TMP/img" "$id"
  assert_rc 1 "a --parent-path that is not there"
  assert_contains "$ERR" "--parent-path" "error"
  bcmd checkpoint --empty-ns pid --image-path "$T_TMP/img" "$id"
  assert_rc 1 "--empty-ns pid"
  assert_contains "$ERR" "--empty-ns" "error"
  assert_eq "$(state_field "$id" status)" running "the container after refused checkpoints"
  b restore -d --no-pivot --bundle "$B" --image-path "$T_TMP/none" "$(cid r)" </dev/null >"$T_TMP/.out" 2>"$T_TMP/.err"
  assert_eq "$?" 1 "restore --no-pivot"
  assert_contains "$(cat "$T_TMP/.err")" "--no-pivot" "error"
  mkdir -p "$T_TMP/img" && : >"$T_TMP/img/inventory.img"
  b restore -d --bundle "$B" --image-path "$T_TMP/img" "$id" </dev/null >"$T_TMP/.out" 2>"$T_TMP/.err"
  assert_eq "$?" 1 "restore onto an existing id"
  assert_contains "$(cat "$T_TMP/.err")" "$id" "error"
  assert_eq "$(state_field "$id" status)" running "the existing container"
}

test_checkpoint_without_criu_leaves_it_running() {
  berth_only "berth's own errors"
  make_bundle a sleep 1000
  local id
  id=$(cid a)
  must_create "$B" "$id"
  must_start "$id"
  env PATH="$T_TMP/empty" "$BERTH" --root "$ROOT" checkpoint --image-path "$T_TMP/img" "$id" </dev/null >/dev/null 2>"$T_TMP/.err"
  assert_eq "$?" 1 "checkpoint without criu"
  assert_contains "$(cat "$T_TMP/.err")" "criu is not installed" "error"
  assert_eq "$(state_field "$id" status)" running "the container"
}

test_checkpoint_failed_dump_leaves_it_running() {
  berth_only "berth's own errors"
  command -v criu >/dev/null || skip "criu is not installed"
  criu check >/dev/null 2>&1 && skip "criu works on this host (the guest's tests dump for real)"
  make_bundle a sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/count; sleep 0.1; done'
  local id c1
  id=$(cid a)
  must_create "$B" "$id"
  must_start "$id"
  bcmd checkpoint --image-path "$T_TMP/img" "$id"
  assert_rc 1 "checkpoint where CRIU does not work"
  assert_contains "$ERR" "criu check" "error quotes criu check"
  assert_eq "$(state_field "$id" status)" running "the container after a failed dump"
  c1=$(cat "$B/rootfs/tmp/count")
  sleep 0.5
  [ "$(cat "$B/rootfs/tmp/count")" -gt "$c1" ] || fail "the container does not run on after a failed dump"
}

test_features_say_checkpoint_works_only_where_criu_does() {
  local want=false got
  criu check >/dev/null 2>&1 && want=true
  bcmd features
  assert_rc 0 "features"
  got=$(printf '%s' "$OUT" | "$PY" -c 'import json, sys; a = json.load(sys.stdin)["annotations"]; print(a["org.opencontainers.runtime-spec.features.berth.checkpoint.enabled"], a["org.opencontainers.runc.checkpoint.enabled"])')
  assert_eq "$got" "$want $want" "features' checkpoint annotations (criu check: $want)"
  # Without CRIU on PATH: false.
  got=$(env PATH=/nonexistent "$BERTH" features | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["annotations"]["org.opencontainers.runc.checkpoint.enabled"])')
  assert_eq "$got" false "features without criu on PATH"
}
