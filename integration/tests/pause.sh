# shellcheck shell=bash
# pause / resume (the cgroup freezer: v1 freezer.state on the hybrid host,
# cgroup.freeze in the v2 VM) and ps. Helpers are prefixed pz_.

# A process that appends a line to /host/count every 0.1 s.
PZ_COUNTER=(sh -c 'i=0; while :; do i=$((i + 1)); echo $i >>/host/count; sleep 0.1; done')

# pz_freezer CGNAME: the freezer file of this test's container cgroup
# CGNAME: freezer.state in the v1 freezer hierarchy, else cgroup.freeze.
pz_freezer() {
  local h
  for h in $(cg_roots); do
    [ -f "$h$T_CG/$1/freezer.state" ] && { echo "$h$T_CG/$1/freezer.state"; return 0; }
  done
  for h in $(cg_roots); do
    [ -f "$h$T_CG/$1/cgroup.freeze" ] && { echo "$h$T_CG/$1/cgroup.freeze"; return 0; }
  done
  return 1
}

# pz_assert_freezer CGNAME frozen|thawed: the freezer file says so.
pz_assert_freezer() {
  local f want
  f=$(pz_freezer "$1") || fail "no freezer.state or cgroup.freeze for the container's cgroup"
  case "$2:$f" in
  frozen:*freezer.state) want=FROZEN ;;
  thawed:*freezer.state) want=THAWED ;;
  frozen:*) want=1 ;;
  *) want=0 ;;
  esac
  assert_eq "$(cat "$f")" "$want" "$f"
}

# pz_lines FILE: its number of lines (0 when missing).
pz_lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

# pz_wait_lines FILE N [seconds]: wait until FILE has more than N lines.
pz_wait_lines() {
  local f=$1 n=$2 secs=${3:-10} i
  for ((i = 0; i < secs * 20; i++)); do
    (($(pz_lines "$f") > n)) && return 0
    sleep 0.05
  done
  return 1
}

# pz_running BUNDLE-NAME ID ARGS...: make_bundle, create, start, and wait
# for /host/ready (ARGS must write it).
pz_running() {
  local name=$1 id=$2
  shift 2
  make_bundle "$name" "$@"
  must_create "$B" "$id"
  must_start "$id"
  wait_file "$B/host/ready" 10 || fail "container $id did not start"
}

test_pause_resume_counter() {
  make_bundle a "${PZ_COUNTER[@]}"
  local id n1 n2
  id=$(cid a)
  must_create "$B" "$id"
  must_start "$id"
  pz_wait_lines "$B/host/count" 1 10 || fail "the counter did not start"
  bcmd pause "$id"
  assert_rc 0 "pause"
  assert_eq "$OUT$ERR" "" "pause's output"
  assert_eq "$(state_field "$id" status)" paused "status after pause"
  pz_assert_freezer a frozen
  bcmd list
  assert_match "$(grep -- "^$id " <<<"$OUT")" "^$id +[0-9]+ +paused " "list row while paused"
  bcmd list --format json
  assert_contains "$OUT" '"status":"paused"' "list --format json while paused"
  n1=$(pz_lines "$B/host/count")
  sleep 1
  n2=$(pz_lines "$B/host/count")
  assert_eq "$n2" "$n1" "lines counted during 1 s of pause"
  bcmd resume "$id"
  assert_rc 0 "resume"
  assert_eq "$OUT$ERR" "" "resume's output"
  assert_eq "$(state_field "$id" status)" running "status after resume"
  pz_assert_freezer a thawed
  pz_wait_lines "$B/host/count" "$n2" 5 || fail "the counter made no progress after resume"
}

test_pause_resume_wrong_states() {
  make_bundle a sh -c 'echo ready >/host/ready; exec sleep 1000'
  local id
  id=$(cid a)
  must_create "$B" "$id"
  bcmd pause "$id"
  assert_rc 1 "pause of a created container"
  assert_contains "$ERR" "is created: only a running container can be paused" "pause error"
  assert_eq "$(state_field "$id" status)" created "status after the refused pause"
  bcmd resume "$id"
  assert_rc 1 "resume of a created container"
  must_start "$id"
  wait_file "$B/host/ready" 10 || fail "the container did not start"
  bcmd resume "$id"
  assert_rc 1 "resume of a running container"
  assert_contains "$ERR" "is running: only a paused container can be resumed" "resume error"
  bcmd pause "$id"
  assert_rc 0 "pause"
  bcmd pause "$id"
  assert_rc 1 "pause of a paused container"
  assert_contains "$ERR" "is paused" "second pause error"
  bcmd resume "$id"
  assert_rc 0 "resume"
  bcmd kill "$id" KILL
  assert_rc 0 "kill"
  wait_status "$id" stopped 10
  bcmd pause "$id"
  assert_rc 1 "pause of a stopped container"
  assert_contains "$ERR" "is stopped" "pause error"
  bcmd resume "$id"
  assert_rc 1 "resume of a stopped container"
  local cmd
  for cmd in pause resume ps; do
    bcmd "$cmd" "nosuch-$T_SALT"
    assert_rc 1 "$cmd of an unknown id"
    assert_contains "$ERR" "does not exist" "$cmd error"
  done
}

test_pause_kill_9() {
  # kill 9 (as containerd's shim sends it) of a paused container must end
  # it: on v1 a frozen task dies only once thawed.
  local id pid child
  id=$(cid a)
  pz_running a "$id" sh -c 'sleep 1000 & echo ready >/host/ready; wait'
  pid=$(state_field "$id" pid)
  read -r child <"/proc/$pid/task/$pid/children"
  assert_match "$child" '^[1-9][0-9]*$' "the init's one child"
  record_pid "$child"
  bcmd pause "$id"
  assert_rc 0 "pause"
  bcmd kill "$id" 9
  assert_rc 0 "kill 9 of a paused container"
  wait_gone "$pid" 10 || fail "init $pid survived kill 9 of the paused container"
  wait_gone "$child" 10 || fail "child $child survived kill 9 of the paused container"
  wait_status "$id" stopped 10
  bcmd delete "$id"
  assert_rc 0 "delete after kill 9"
  assert_nothing_left "$id" a
}

test_pause_kill_term_waits_for_resume() {
  # Only SIGKILL thaws (runc's rule): a TERM stays pending while paused.
  local id
  id=$(cid a)
  pz_running a "$id" sh -c 'trap "echo term >/host/term; exit 0" TERM; sleep 1000 & echo ready >/host/ready; wait'
  bcmd pause "$id"
  assert_rc 0 "pause"
  bcmd kill "$id" TERM
  assert_rc 0 "kill TERM of a paused container"
  sleep 0.5
  [ -e "$B/host/term" ] && fail "the TERM trap ran while the container was paused"
  assert_eq "$(state_field "$id" status)" paused "status after kill TERM"
  bcmd resume "$id"
  assert_rc 0 "resume"
  wait_file "$B/host/term" 10 || fail "the pending TERM was not delivered after resume"
  wait_status "$id" stopped 10
}

test_pause_delete_force() {
  local id pid child
  id=$(cid a)
  pz_running a "$id" sh -c 'sleep 1000 & echo ready >/host/ready; wait # pausedel-marker'
  pid=$(state_field "$id" pid)
  read -r child <"/proc/$pid/task/$pid/children"
  assert_match "$child" '^[1-9][0-9]*$' "the init's one child"
  record_pid "$child"
  bcmd pause "$id"
  assert_rc 0 "pause"
  bcmd delete "$id"
  assert_rc 1 "delete of a paused container without --force"
  assert_contains "$ERR" "is paused" "delete error"
  bcmd delete --force "$id"
  assert_rc 0 "delete --force of a paused container"
  wait_gone "$pid" 5 || fail "init $pid survived delete --force"
  wait_gone "$child" 5 || fail "child $child survived delete --force"
  assert_nothing_left "$id" a pausedel-marker
}

test_ps_json_and_table() {
  local id pid child want line
  id=$(cid a)
  pz_running a "$id" sh -c 'sleep 1000 & echo ready >/host/ready; wait'
  pid=$(state_field "$id" pid)
  read -r child <"/proc/$pid/task/$pid/children"
  assert_match "$child" '^[1-9][0-9]*$' "the init's one child"
  record_pid "$child"
  want="[$(printf '%s\n' "$pid" "$child" | sort -n | paste -sd,)]"
  bcmd ps --format json "$id"
  assert_rc 0 "ps --format json"
  assert_eq "$OUT" "$want" "ps --format json"
  bcmd ps -f json "$id"
  assert_eq "$OUT" "$want" "ps -f json"
  # Default: the host's `ps -ef`, its header and the container's lines only.
  bcmd ps "$id"
  assert_rc 0 "ps"
  assert_match "$(head -n1 <<<"$OUT")" '^ *(UID +)?PID ' "ps header"
  assert_eq "$(wc -l <<<"$OUT")" 3 "ps: lines (header, init, child): $OUT"
  line=$(awk -v p="$pid" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "PID") c = i } NR > 1 && $c == p' <<<"$OUT")
  assert_contains "$line" "sh -c sleep 1000" "ps line of the init"
  # ps options after the id (and after --).
  bcmd ps "$id" -o pid,comm
  assert_rc 0 "ps ID -o pid,comm"
  assert_eq "$(awk '{ print $1, $2 }' <<<"$OUT")" "$(printf 'PID COMMAND\n%s\n' "$(printf '%s sh\n%s sleep\n' "$pid" "$child" | sort -n)")" "ps -o pid,comm"
  bcmd ps "$id" -- -o comm,pid
  assert_rc 0 "ps ID -- -o comm,pid"
  assert_eq "$(awk 'NR > 1 { print $2 }' <<<"$OUT" | sort -n | paste -sd,)" "${want:1:-1}" "pids of ps -o comm,pid"
  bcmd ps "$id" -o comm
  assert_rc 1 "ps without a PID column"
  assert_contains "$ERR" "no PID column" "ps error"
  bcmd ps --format yaml "$id"
  assert_rc 1 "ps --format yaml"
  # ps works on a paused container too.
  bcmd pause "$id"
  assert_rc 0 "pause"
  bcmd ps --format json "$id"
  assert_eq "$OUT" "$want" "ps --format json while paused"
}

test_ps_stopped_container() {
  make_bundle a true
  local id
  id=$(cid a)
  must_create "$B" "$id"
  must_start "$id"
  wait_status "$id" stopped 10
  bcmd ps --format json "$id"
  assert_rc 0 "ps --format json of a stopped container"
  assert_eq "$OUT" "[]" "ps --format json of a stopped container"
  bcmd ps "$id"
  assert_rc 0 "ps of a stopped container"
  assert_eq "$(wc -l <<<"$OUT")" 1 "ps of a stopped container: the header only: $OUT"
  assert_contains "$OUT" PID "ps header"
}

# ------------------------------------------------ cgroup v2 on this host --

test_freeze_unified_when_no_v1_freezer() {
  # On a hybrid host without a v1 freezer hierarchy berth freezes through
  # the cgroup2 directory. This host has one: `create` runs in a mount
  # namespace where it is unmounted, so the container is placed without a
  # v1 freezer, and pause/resume/kill/delete (run normally) use the real
  # cgroup.freeze / cgroup.events of /sys/fs/cgroup/unified.
  local u=/sys/fs/cgroup/unified
  mountpoint -q /sys/fs/cgroup/freezer || skip "no v1 freezer hierarchy at /sys/fs/cgroup/freezer to hide"
  [ "$(stat -fc %T $u 2>/dev/null)" == cgroup2fs ] || skip "no cgroup2 hierarchy at $u"
  local wrap=$T_TMP/berth-without-v1-freezer
  printf '#!/bin/sh\nexec unshare -m sh -c %q %q "$@"\n' \
    'umount /sys/fs/cgroup/freezer && exec "$0" "$@"' "$BERTH" >"$wrap"
  chmod +x "$wrap"
  local id pid n1 n2 dir name
  for name in a b; do
    make_bundle "$name" sh -c 'i=0; while :; do i=$((i + 1)); echo $i >>/host/count; sleep 0.1; done # v2host-marker'
    BERTH=$wrap must_create "$B" "$(cid "$name")"
    [ -d "/sys/fs/cgroup/freezer$T_CG/$name" ] && fail "a v1 freezer cgroup was made although the hierarchy was hidden"
    must_start "$(cid "$name")"
    pz_wait_lines "$B/host/count" 1 10 || fail "the counter of $name did not start"
  done
  id=$(cid a)
  dir=$u$T_CG/a
  pid=$(state_field "$id" pid)
  grep -qx "$pid" "$dir/cgroup.procs" || fail "init $pid is not in $dir/cgroup.procs"
  bcmd pause "$id"
  assert_rc 0 "pause"
  assert_eq "$(cat "$dir/cgroup.freeze")" 1 "$dir/cgroup.freeze after pause"
  assert_contains "$(cat "$dir/cgroup.events")" "frozen 1" "$dir/cgroup.events after pause"
  assert_eq "$(state_field "$id" status)" paused "status after pause"
  n1=$(pz_lines "$T_TMP/a/host/count")
  sleep 0.5
  n2=$(pz_lines "$T_TMP/a/host/count")
  assert_eq "$n2" "$n1" "lines counted while paused"
  bcmd resume "$id"
  assert_rc 0 "resume"
  assert_eq "$(cat "$dir/cgroup.freeze")" 0 "$dir/cgroup.freeze after resume"
  assert_contains "$(cat "$dir/cgroup.events")" "frozen 0" "$dir/cgroup.events after resume"
  assert_eq "$(state_field "$id" status)" running "status after resume"
  pz_wait_lines "$T_TMP/a/host/count" "$n2" 5 || fail "no progress after resume"
  # kill 9 of a paused container (v2 delivers SIGKILL to frozen tasks).
  bcmd pause "$id"
  assert_rc 0 "pause again"
  bcmd kill "$id" 9
  assert_rc 0 "kill 9 of the paused container"
  wait_gone "$pid" 10 || fail "init $pid survived kill 9"
  wait_status "$id" stopped 10
  bcmd delete "$id"
  assert_rc 0 "delete"
  # delete --force of a paused one.
  id=$(cid b)
  pid=$(state_field "$id" pid)
  bcmd pause "$id"
  assert_rc 0 "pause b"
  assert_eq "$(cat "$u$T_CG/b/cgroup.freeze")" 1 "cgroup.freeze of b"
  bcmd delete --force "$id"
  assert_rc 0 "delete --force of the paused container"
  wait_gone "$pid" 10 || fail "init $pid survived delete --force"
  assert_nothing_left "$id" b v2host-marker
  assert_no_cgroup a
}
