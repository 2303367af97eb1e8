# shellcheck shell=bash
# The six hook points: order, state on stdin, args/env, timeout, failures.

# write_hook_script FILE: a POSIX sh hook that appends
# "<name> <status> <id> <pid>" (from the state on stdin) to a log.
#   sh FILE NAME LOG
write_hook_script() {
  cat >"$1" <<'EOF'
s=$(cat)
get() { echo "$s" | sed -n "s/.*\"$1\": *\"\{0,1\}\([^\",}]*\)\"\{0,1\}.*/\1/p"; }
echo "$1 $(get status) $(get id) $(get pid)" >>"$2"
EOF
}

# hook_json NAME SCRIPT LOG: one hook entry running SCRIPT.
hook_json() {
  py -c 'import json, sys; print(json.dumps({"path": "/bin/sh", "args": ["sh", sys.argv[2], sys.argv[1], sys.argv[3]], "env": ["PATH=/usr/bin:/bin"]}))' "$@"
}

test_hooks_order_and_state() {
  make_bundle a sh -c 'exec sleep 1000'
  local log="$B/host/hooks.log" id pid
  write_hook_script "$T_TMP/hook.sh"
  write_hook_script "$B/rootfs/hook.sh"
  H_PRE=$(hook_json prestart "$T_TMP/hook.sh" "$log") \
    H_CR=$(hook_json createRuntime "$T_TMP/hook.sh" "$log") \
    H_CC=$(hook_json createContainer "$T_TMP/hook.sh" "$log") \
    H_SC=$(hook_json startContainer /hook.sh /host/hooks.log) \
    H_PS=$(hook_json poststart "$T_TMP/hook.sh" "$log") \
    H_PST=$(hook_json poststop "$T_TMP/hook.sh" "$log") \
    cfg "$B" 'c["hooks"] = {
      "prestart": [json.loads(E["H_PRE"])], "createRuntime": [json.loads(E["H_CR"])],
      "createContainer": [json.loads(E["H_CC"])], "startContainer": [json.loads(E["H_SC"])],
      "poststart": [json.loads(E["H_PS"])], "poststop": [json.loads(E["H_PST"])]}'
  id=$(cid a)
  must_create "$B" "$id"
  pid=$(state_field "$id" pid)
  # The create-time hooks see "created" (what the OCI runtime-tools
  # validation suite, validation/hooks_stdin, checks for prestart; runc 1.1
  # passes "creating"), poststart "running", poststop "stopped".
  assert_eq "$(cat "$log")" "$(printf '%s\n' "prestart created $id $pid" "createRuntime created $id $pid" "createContainer created $id $pid")" "hooks run by create"
  must_start "$id"
  assert_eq "$(cat "$log")" "$(printf '%s\n' "prestart created $id $pid" "createRuntime created $id $pid" "createContainer created $id $pid" \
    "startContainer created $id $pid" "poststart running $id $pid")" "hooks run by start"
  bcmd kill "$id" KILL
  wait_status "$id" stopped 5
  assert_eq "$(wc -l <"$log")" 5 "hooks after the container stopped (poststop is for delete)"
  bcmd delete "$id"
  assert_rc 0 "delete"
  assert_eq "$(tail -n1 "$log")" "poststop stopped $id $pid" "poststop hook"
  assert_eq "$(wc -l <"$log")" 6 "hooks in all"
}

test_hooks_run_in_order_within_a_point() {
  make_bundle a true
  local log="$T_TMP/order.log"
  LOG=$log cfg "$B" 'c["hooks"] = {"createRuntime": [
    {"path": "/bin/sh", "args": ["sh", "-c", "echo %d >>%s" % (i, E["LOG"])]} for i in range(1, 6)]}'
  must_create "$B" "$(cid a)"
  assert_eq "$(cat "$log")" "$(printf '%s\n' 1 2 3 4 5)" "order of the createRuntime hooks"
}

test_hooks_args_and_env() {
  make_bundle a true
  local log="$T_TMP/args.log"
  LOG=$log cfg "$B" 'c["hooks"] = {"createRuntime": [{"path": "/bin/sh",
    "args": ["sh", "-c", "echo \"$0|$1|$FOO|$BAR\" >>%s; tr \"\\\\0\" \"\\\\n\" </proc/$$/environ | sort >>%s" % (E["LOG"], E["LOG"]), "arg-zero", "arg one"],
    "env": ["FOO=foo value", "BAR=bar=baz"]}]}'
  must_create "$B" "$(cid a)"
  assert_eq "$(cat "$log")" "$(printf '%s\n' 'arg-zero|arg one|foo value|bar=baz' 'BAR=bar=baz' 'FOO=foo value')" "hook args and (exact) env"
}

test_hooks_timeout() {
  make_bundle a sh -c 'sleep 1000 # hooktimeout-marker'
  cfg "$B" 'c["hooks"] = {"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "7"], "timeout": 1}]}'
  local id start end
  id=$(cid a)
  start=$(date +%s)
  bcreate "$B" "$id"
  end=$(date +%s)
  assert_rc 1 "create with a hook that outlives its timeout"
  assert_contains "$ERR" "createRuntime" "error"
  assert_contains "$ERR" "timed out" "error"
  [ $((end - start)) -le 4 ] || fail "create took $((end - start))s with a 1s hook timeout"
  assert_nothing_left "$id" a hooktimeout-marker
}

test_hooks_failing_create_hooks() {
  local point id n=0
  for point in prestart createRuntime createContainer; do
    n=$((n + 1))
    make_bundle "h$n" sh -c "sleep 1000 # failhook-marker-$n"
    P=$point cfg "$B" 'c["hooks"] = {E["P"]: [{"path": "/bin/sh", "args": ["sh", "-c", "echo hook-says-no >&2; exit 3"]}]}'
    id=$(cid "h$n")
    bcreate "$B" "$id"
    assert_rc 1 "create with a failing $point hook"
    assert_contains "$ERR" "$point" "error"
    assert_contains "$ERR" "hook-says-no" "error (the hook's output)"
    assert_nothing_left "$id" "h$n" "failhook-marker-$n"
  done
}

test_hooks_failing_start_container() {
  make_bundle a sh -c 'echo ran >/host/ran; sleep 1000'
  cfg "$B" 'c["hooks"] = {"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "echo hook-says-no >&2; exit 3"]}]}'
  local id
  id=$(cid a)
  must_create "$B" "$id"
  bcmd start "$id"
  assert_rc 1 "start with a failing startContainer hook"
  assert_contains "$ERR" "startContainer" "error"
  assert_contains "$ERR" "hook-says-no" "error (the hook's output)"
  sleep 0.2
  [ -e "$B/host/ran" ] && fail "the process ran although startContainer failed"
  wait_status "$id" stopped 5
}

test_hooks_poststop_failure_only_logged() {
  make_bundle a true
  cfg "$B" 'c["hooks"] = {"poststop": [{"path": "/bin/sh", "args": ["sh", "-c", "echo poststop-says-no >&2; exit 4"]}]}'
  local id
  id=$(cid a)
  must_create "$B" "$id"
  must_start "$id"
  wait_status "$id" stopped 5
  bcmd --log "$T_TMP/log.json" --log-format json delete "$id"
  assert_rc 0 "delete with a failing poststop hook"
  assert_eq "$(ls -A "$ROOT")" "" "--root after delete"
  local log
  log=$(cat "$T_TMP/log.json" 2>/dev/null)
  assert_contains "$log" "poststop" "--log after the failing poststop hook"
  assert_contains "$log" '"level":"warning"' "--log level"
}

test_hooks_poststart_failure_only_logged() {
  make_bundle a sh -c 'echo ran >/host/ran; exec sleep 1000'
  cfg "$B" 'c["hooks"] = {"poststart": [{"path": "/bin/false"}]}'
  local id
  id=$(cid a)
  must_create "$B" "$id"
  bcmd --log "$T_TMP/log.json" --log-format json start "$id"
  assert_rc 0 "start with a failing poststart hook"
  wait_file "$B/host/ran" 5 || fail "the process did not run"
  assert_contains "$(cat "$T_TMP/log.json" 2>/dev/null)" poststart "--log"
}

test_hooks_state_on_stdin() {
  # The full state JSON each hook gets (what runtime-tools checks).
  make_bundle a true
  local id
  id=$(cid a)
  D=$T_TMP cfg "$B" 'c["annotations"] = {"org.example.hook": "stdin test"}' \
    'c["hooks"] = {p: [{"path": "/bin/sh", "args": ["sh", "-c", "cat >%s/%s.json" % (E["D"], p)]}] for p in ("prestart", "createRuntime", "poststart", "poststop")}'
  must_create "$B" "$id"
  local pid
  pid=$(state_field "$id" pid)
  must_start "$id"
  wait_status "$id" stopped 5
  bcmd delete "$id"
  assert_rc 0 "delete"
  local got
  got=$(py - "$T_TMP" "$id" "$pid" "$B" <<'PYEOF' 2>&1
import json, os, sys
d, cid, pid, bundle = sys.argv[1], sys.argv[2], int(sys.argv[3]), os.path.realpath(sys.argv[4])
want_status = {"prestart": "created", "createRuntime": "created", "poststart": "running", "poststop": "stopped"}
errs = []
for p, st in want_status.items():
    try:
        s = json.load(open(os.path.join(d, p + ".json")))
    except Exception as e:
        errs.append("%s: %s" % (p, e)); continue
    for k, v in (("id", cid), ("bundle", bundle), ("status", st), ("annotations", {"org.example.hook": "stdin test"})):
        if s.get(k) != v: errs.append("%s: %s %r (want %r)" % (p, k, s.get(k), v))
    if p != "poststop" and s.get("pid") != pid: errs.append("%s: pid %r (want %r)" % (p, s.get("pid"), pid))
    if not s.get("ociVersion"): errs.append("%s: no ociVersion" % p)
print("; ".join(errs))
PYEOF
)
  assert_eq "$got" "" "state on the hooks' stdin"
}
