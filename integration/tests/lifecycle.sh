# shellcheck shell=bash
# create / start / state / kill / delete / run / list.

# A long-running process that cannot be mistaken for anything else.
SLEEPER=(sh -c 'echo started >/host/started; exec sleep 1000')

test_create_waits_then_start_runs() {
  make_bundle a sh -c 'echo ran >/host/marker; exec sleep 1000'
  local id pid
  id=$(cid a)
  must_create "$B" "$id"
  assert_eq "$OUT$ERR" "" "create's output (berth must write nothing on success)"
  assert_eq "$(state_field "$id" status)" created "status after create"
  pid=$(state_field "$id" pid)
  assert_match "$pid" '^[1-9][0-9]*$' "pid after create"
  [ -d "/proc/$pid" ] || fail "init pid $pid is not alive after create"
  sleep 0.3
  [ -e "$B/host/marker" ] && fail "the user process ran before start (marker present after create)"
  must_start "$id"
  wait_file "$B/host/marker" 5 || fail "marker not written after start"
  assert_eq "$(cat "$B/host/marker")" ran "marker content"
  assert_eq "$(state_field "$id" status)" running "status after start"
  assert_eq "$(state_field "$id" pid)" "$pid" "pid after start"
  bcmd kill "$id" KILL
  assert_rc 0 "kill"
  wait_status "$id" stopped
  bcmd delete "$id"
  assert_rc 0 "delete of a stopped container"
  assert_eq "$(ls -A "$ROOT")" "" "--root after delete"
}

test_stopped_after_exit() {
  make_bundle a sh -c 'exit 0'
  local id
  id=$(cid a)
  must_create "$B" "$id"
  must_start "$id"
  wait_status "$id" stopped 5
  assert_eq "$(state_field "$id" pid)" 0 "pid of a stopped container"
  bcmd start "$id"
  assert_rc 1 "start of a stopped container"
  assert_contains "$ERR" stopped "start error"
  bcmd delete "$id"
  assert_rc 0 "delete"
}

test_delete_running_needs_force() {
  make_bundle a "${SLEEPER[@]}"
  local id pid
  id=$(cid a)
  must_create "$B" "$id"
  must_start "$id"
  pid=$(state_field "$id" pid)
  wait_file "$B/host/started" 5 || fail "process did not start"
  bcmd delete "$id"
  assert_rc 1 "delete of a running container without --force"
  assert_contains "$ERR" running "delete error"
  assert_eq "$(state_field "$id" status)" running "status after refused delete"
  [ "$(proc_state "$pid")" != "" ] || fail "init died after a refused delete"
  bcmd delete --force "$id"
  assert_rc 0 "delete --force"
  wait_gone "$pid" 5 || fail "init $pid still alive after delete --force"
  assert_eq "$(ls -A "$ROOT")" "" "--root after delete --force"
  assert_no_cgroup a
  bcmd state "$id"
  assert_rc 1 "state after delete"
}

test_delete_force_created() {
  make_bundle a sh -c 'echo ran >/host/marker'
  local id pid
  id=$(cid a)
  must_create "$B" "$id"
  pid=$(state_field "$id" pid)
  bcmd delete --force "$id"
  assert_rc 0 "delete --force of a created container"
  wait_gone "$pid" 5 || fail "init $pid still alive"
  [ -e "$B/host/marker" ] && fail "the process ran although the container was never started"
  assert_eq "$(ls -A "$ROOT")" "" "--root after delete"
}

test_kill_stopped_errors() {
  make_bundle a true
  local id
  id=$(cid a)
  must_create "$B" "$id"
  must_start "$id"
  wait_status "$id" stopped 5
  bcmd kill "$id" KILL
  assert_rc 1 "kill of a stopped container"
  assert_contains "$ERR" "not running" "kill error"
}

test_kill_signal_names() {
  local sig id pid n=0
  for sig in KILL SIGKILL 9; do
    n=$((n + 1))
    make_bundle "k$n" "${SLEEPER[@]}"
    id=$(cid "k$n")
    must_create "$B" "$id"
    must_start "$id"
    pid=$(state_field "$id" pid)
    bcmd kill "$id" "$sig"
    assert_rc 0 "kill $sig"
    wait_gone "$pid" 5 || fail "kill $sig: init still alive"
    wait_status "$id" stopped 5
  done
  bcmd kill "$id" NOSUCHSIG
  assert_rc 1 "kill with an unknown signal"
}

test_kill_default_term() {
  make_bundle a sh -c 'trap "echo got >/host/out; exit 3" TERM; echo ready >/host/ready; while :; do sleep 1; done'
  local id
  id=$(cid a)
  must_create "$B" "$id"
  must_start "$id"
  wait_file "$B/host/ready" 5 || fail "process did not start"
  bcmd kill "$id"
  assert_rc 0 "kill (default signal)"
  wait_file "$B/host/out" 5 || fail "the TERM trap did not run"
  assert_eq "$(cat "$B/host/out")" got "trap output"
  wait_status "$id" stopped 5
}

test_kill_all() {
  # No pid namespace: killing the init alone would leave its children.
  make_bundle a sh -c 'sleep 1000 & sleep 1000 & echo ready >/host/ready; wait'
  cfg "$B" 'c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "pid"]'
  local id h procs n
  id=$(cid a)
  must_create "$B" "$id"
  must_start "$id"
  wait_file "$B/host/ready" 5 || fail "process did not start"
  procs=$(cg_procs a) || fail "no cgroup.procs for the container's cgroup"
  n=$(wc -l <"$procs")
  assert_eq "$n" 3 "processes in the container's cgroup before kill --all"
  bcmd kill --all "$id" TERM
  assert_rc 0 "kill --all"
  for ((h = 0; h < 100; h++)); do
    [ "$(wc -l <"$procs")" == 0 ] && break
    sleep 0.05
  done
  assert_eq "$(wc -l <"$procs")" 0 "processes left after kill --all TERM"
  wait_status "$id" stopped 5
}

test_state_json_fields() {
  make_bundle a "${SLEEPER[@]}"
  cfg "$B" 'c["annotations"] = {"org.example.key": "value 1", "second": "2"}'
  local id json
  id=$(cid a)
  must_create "$B" "$id" --pid-file "$T_TMP/pidfile"
  json=$(state_json "$id")
  STATE="$json" ID="$id" BUNDLE="$B" PIDFILE="$T_TMP/pidfile" py -c '
import json, os, re, sys
E = os.environ
s = json.loads(E["STATE"])
errs = []
def check(cond, what):
    if not cond: errs.append(what)
check(s.get("ociVersion") == "1.3.0", "ociVersion %r" % s.get("ociVersion"))
check(s.get("id") == E["ID"], "id %r" % s.get("id"))
check(s.get("status") == "created", "status %r" % s.get("status"))
check(isinstance(s.get("pid"), int) and s["pid"] == int(open(E["PIDFILE"]).read()), "pid %r" % s.get("pid"))
check(s.get("bundle") == os.path.realpath(E["BUNDLE"]), "bundle %r" % s.get("bundle"))
check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", s.get("created", "")), "created %r" % s.get("created"))
check(s.get("annotations") == {"org.example.key": "value 1", "second": "2"}, "annotations %r" % s.get("annotations"))
if errs:
    print("; ".join(errs)); sys.exit(1)' >"$T_TMP/check" 2>&1 || fail "state JSON: $(cat "$T_TMP/check") in $json"
  must_start "$id"
  assert_eq "$(state_field "$id" status)" running "status"
  assert_eq "$(state_field "$id" annotations)" '{"org.example.key": "value 1", "second": "2"}' "annotations after start"
}

test_list_formats() {
  local a b
  make_bundle a "${SLEEPER[@]}"
  a=$(cid a)
  must_create "$B" "$a"
  make_bundle b "${SLEEPER[@]}"
  b=$(cid b)
  must_create "$B" "$b"
  must_start "$b"
  bcmd list
  assert_rc 0 "list"
  assert_match "$(head -n1 <<<"$OUT")" '^ID +PID +STATUS +BUNDLE +CREATED +OWNER$' "list header"
  assert_eq "$(wc -l <<<"$OUT")" 3 "list: lines"
  assert_match "$(grep -- "^$a " <<<"$OUT")" "^$a +[0-9]+ +created +$T_TMP/a +[0-9T:.Z-]+ +root$" "list row of $a"
  assert_match "$(grep -- "^$b " <<<"$OUT")" "^$b +[0-9]+ +running +$T_TMP/b +[0-9T:.Z-]+ +root$" "list row of $b"
  bcmd list --quiet
  assert_rc 0 "list --quiet"
  assert_eq "$OUT" "$(printf '%s\n' "$a" "$b" | sort)" "list --quiet"
  bcmd list -q
  assert_eq "$OUT" "$(printf '%s\n' "$a" "$b" | sort)" "list -q"
  bcmd list --format json
  assert_rc 0 "list --format json"
  local got
  got=$(py -c '
import json, sys
rows = json.loads(sys.argv[1])
print(" ".join(sorted("%s=%s" % (r["id"], r["status"]) for r in rows)))' "$OUT" 2>&1)
  assert_eq "$got" "$(printf '%s\n' "$a=created" "$b=running" | sort | tr '\n' ' ' | sed 's/ $//')" "list --format json"
  bcmd list --format yaml
  assert_rc 1 "list --format yaml"
}

test_create_duplicate_id() {
  make_bundle a "${SLEEPER[@]}"
  local id pid
  id=$(cid a)
  must_create "$B" "$id"
  pid=$(state_field "$id" pid)
  local first=$B
  make_bundle b sh -c 'echo second >/host/second'
  bcreate "$B" "$id"
  assert_rc 1 "second create with the same id"
  assert_contains "$ERR" "already exists" "error"
  assert_eq "$(state_field "$id" pid)" "$pid" "first container's pid"
  assert_eq "$(state_field "$id" bundle)" "$first" "first container's bundle"
  assert_eq "$(state_field "$id" status)" created "first container's status"
  must_start "$id"
  wait_file "$first/host/started" 5 || fail "the first container no longer starts"
  [ -e "$B/host/second" ] && fail "the second config ran"
  assert_no_cgroup b
}

test_run_exit_status() {
  make_bundle a sh -c 'echo out; echo err >&2; exit 7'
  brun "$B" "$(cid a)"
  assert_rc 7 "run of 'exit 7'"
  assert_eq "$OUT" out "run stdout"
  assert_eq "$ERR" err "run stderr"
  assert_eq "$(ls -A "$ROOT")" "" "--root after run (without --keep)"
}

test_run_killed_status() {
  make_bundle a sh -c 'echo ready >/host/ready; exec sleep 1000'
  local id pid i
  id=$(cid a)
  (b run --bundle "$B" "$id" </dev/null >/dev/null 2>&1; echo $? >"$T_TMP/rc") &
  record_pid $!
  wait_file "$B/host/ready" 10 || fail "the container did not start"
  bcmd kill "$id" KILL
  assert_rc 0 "kill KILL"
  wait_file "$T_TMP/rc" 10 || fail "berth run did not return after the container was killed"
  assert_eq "$(cat "$T_TMP/rc")" 137 "run exit status after SIGKILL"
}

test_run_signal_self_status() {
  # Without a pid namespace the process can kill itself.
  make_bundle a sh -c 'kill -9 $$'
  cfg "$B" 'c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "pid"]'
  brun "$B" "$(cid a)"
  assert_rc 137 "run of a process that SIGKILLs itself"
}

test_run_detach() {
  make_bundle a sh -c 'echo ready >/host/ready; exec sleep 1000'
  local id pid
  id=$(cid a)
  b run --detach --bundle "$B" "$id" </dev/null >"$T_TMP/o" 2>"$T_TMP/e"
  RC=$?
  pid=$(state_field "$id" pid)
  [ -n "$pid" ] && record_pid "$pid"
  assert_rc 0 "run --detach"
  wait_file "$B/host/ready" 5 || fail "the detached container did not run"
  assert_eq "$(state_field "$id" status)" running "status after run --detach"
  [ -n "$(proc_state "$pid")" ] || fail "init $pid not alive"
  bcmd delete --force "$id"
  assert_rc 0 "delete --force"
}

test_run_keep() {
  make_bundle a sh -c 'exit 5'
  local id
  id=$(cid a)
  brun "$B" "$id" --keep
  assert_rc 5 "run --keep"
  assert_eq "$(state_field "$id" status)" stopped "status after run --keep"
  bcmd delete "$id"
  assert_rc 0 "delete after run --keep"
  assert_eq "$(ls -A "$ROOT")" "" "--root after delete"
}

test_pid_file() {
  make_bundle a "${SLEEPER[@]}"
  local id
  id=$(cid a)
  must_create "$B" "$id" --pid-file "$T_TMP/init.pid"
  assert_eq "$(cat "$T_TMP/init.pid")" "$(state_field "$id" pid)" "pid file"
  # The pid file names the container's process itself.
  must_start "$id"
  wait_file "$B/host/started" 5 || fail "process did not start"
  local pid
  pid=$(cat "$T_TMP/init.pid")
  assert_eq "$(tr '\0' ' ' <"/proc/$pid/cmdline")" "sleep 1000 " "cmdline of the pid in the pid file"
  # A relative --pid-file is relative to berth's cwd.
  make_bundle b true
  (cd "$T_TMP" && b create --bundle "$B" --pid-file rel.pid "$(cid b)" </dev/null >/dev/null 2>&1)
  [ -s "$T_TMP/rel.pid" ] || fail "relative --pid-file not written in the cwd"
  record_pid "$(cat "$T_TMP/rel.pid")"
  assert_eq "$(cat "$T_TMP/rel.pid")" "$(state_field "$(cid b)" pid)" "relative pid file"
}

test_create_stdio_is_containers() {
  make_bundle a sh -c 'read line; echo "out:$line"; echo err >&2'
  local id
  id=$(cid a)
  echo "from-stdin" >"$T_TMP/in"
  b create --bundle "$B" "$id" <"$T_TMP/in" >"$T_TMP/o" 2>"$T_TMP/e"
  RC=$?
  assert_rc 0 "create"
  record_pid "$(state_field "$id" pid)"
  assert_eq "$(cat "$T_TMP/o")" "" "stdout after create (berth writes nothing)"
  assert_eq "$(cat "$T_TMP/e")" "" "stderr after create"
  must_start "$id"
  wait_status "$id" stopped 5
  assert_eq "$(cat "$T_TMP/o")" "out:from-stdin" "container's stdout"
  assert_eq "$(cat "$T_TMP/e")" "err" "container's stderr"
}

test_start_twice_fails() {
  make_bundle a "${SLEEPER[@]}"
  local id
  id=$(cid a)
  must_create "$B" "$id"
  must_start "$id"
  bcmd start "$id"
  assert_rc 1 "second start"
  assert_contains "$ERR" running "error of the second start"
}

test_run_forwards_signals() {
  # `berth run` in the foreground passes signals it gets on to the
  # container, and exits with the container's status.
  make_bundle a sh -c 'trap "echo got-usr1 >/host/out; exit 5" USR1; echo ready >/host/ready; while :; do sleep 1; done'
  # the binary itself, not the b() function: $! must be berth, not a subshell
  "$BERTH" --root "$ROOT" run --bundle "$B" "$(cid a)" </dev/null >"$T_TMP/run.out" 2>"$T_TMP/run.err" &
  local runner=$!
  record_pid "$runner"
  wait_file "$B/host/ready" || fail "the container did not start: $(cat "$T_TMP/run.err")"
  kill -USR1 "$runner"
  local rc=0
  wait "$runner" || rc=$?
  assert_eq "$rc" 5 "berth run's exit status"
  assert_eq "$(cat "$B/host/out" 2>/dev/null)" got-usr1 "signal seen by the container"
}

test_init_has_its_own_session_and_the_containers_dev_null() {
  # As runc: the init leads a session of its own (no terminal), and stdio
  # that was the host's /dev/null is the container's /dev/null, a file on
  # one of its own mounts (what lets CRIU checkpoint it). An exec'd
  # process leads its own session too.
  make_bundle a sh -c 'echo "sid:$(cut -d" " -f6 /proc/self/stat)"; m=$(sed -n "s/^mnt_id:[[:space:]]*//p" /proc/self/fdinfo/0); grep -q "^$m " /proc/self/mountinfo && echo stdin-inside; exec sleep 100'
  local id i
  id=$(cid a)
  b create --bundle "$B" "$id" </dev/null >"$T_TMP/o" 2>&1
  RC=$?
  assert_rc 0 "create"
  record_pid "$(state_field "$id" pid)"
  must_start "$id"
  for ((i = 0; i < 100; i++)); do
    grep -q stdin-inside "$T_TMP/o" && break
    sleep 0.05
  done
  assert_eq "$(cat "$T_TMP/o")" "$(printf 'sid:1\nstdin-inside')" "the init's session and stdin"
  bcmd exec "$id" sh -c 'test "$(cut -d" " -f6 /proc/self/stat)" = "$$" && echo own-session'
  assert_eq "$OUT" own-session "an exec'd process's session"
  bcmd delete --force "$id"
}
