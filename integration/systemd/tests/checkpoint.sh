# shellcheck shell=bash
# Checkpoint and restore through CRIU (issue 21), in the systemd guest,
# whose kernel CRIU works on (`criu check` fails on the host's). Runs with
# berth, then with Debian's runc (ITEST_RUNTIME) as the control.

# A process that counts in memory: it writes each number to /tmp/count
# (in the rootfs, read from here) and never reads it back, so a restored
# one goes on from where it was only if its memory came back.
COUNTER='i=0; while :; do i=$((i+1)); echo $i; echo $i >/tmp/count; sleep 0.2; done'

count() { cat "$B/rootfs/tmp/count" 2>/dev/null; }

# wait_count N: until the counter has passed N (up to 20 s).
wait_count() {
  local i
  for ((i = 0; i < 100; i++)); do
    [ "$(count)" -gt "$1" ] 2>/dev/null && return 0
    sleep 0.2
  done
  fail "the counter did not pass $1 (it says $(count))"
}

# cp ARGS...: checkpoint, output in OUT/ERR, status in RC; on failure
# ERR also has CRIU's error lines from the dump log (runc names the log
# without quoting it).
cp_() {
  bcmd checkpoint "$@"
  [ "$RC" = 0 ] && return 0
  local log
  for log in "$T_TMP"/img*/dump.log "$T_TMP"/img*/*/dump.log; do
    [ -f "$log" ] && ERR="$ERR | $log: $(grep -h 'Error' "$log" | tail -n 3 | tr '\n' ' ')"
  done
}
# cp_create ID [FILE]: create the test's bundle as ID with its stdin and
# stderr on /dev/null (the container's own /dev/null once created: CRIU
# dumps no file from outside the container's mounts) and its stdout on
# /dev/null too, or on a pipe whose reader appends to FILE.
cp_create() {
  local id=$1 out=${2:-} pid
  if [ -n "$out" ]; then
    b create --bundle "$B" "$id" </dev/null 2>/dev/null > >(exec cat >>"$out")
    RC=$?
    record_pid $!
  else
    b create --bundle "$B" "$id" </dev/null >/dev/null 2>&1
    RC=$?
  fi
  [ "$RC" = 0 ] || fail "create $id failed (rc $RC)"
  pid=$(state_field "$id" pid)
  [ -n "$pid" ] && record_pid "$pid"
}

# rs ID [ARGS...]: restore -d of the test's bundle as ID; with RS_OUT set,
# its stdout is a pipe whose reader appends to $RS_OUT (the restored
# process gets it in place of the pipe it had).
rs() {
  local id=$1
  shift
  if [ -n "${RS_OUT:-}" ]; then
    b restore -d --bundle "$B" "$@" "$id" </dev/null 2>"$T_TMP/.err" > >(exec cat >>"$RS_OUT")
    RC=$?
    record_pid $!
    : >"$T_TMP/.out"
  else
    b restore -d --bundle "$B" "$@" "$id" </dev/null >"$T_TMP/.out" 2>"$T_TMP/.err"
    RC=$?
  fi
  OUT=$(cat "$T_TMP/.out")
  ERR=$(cat "$T_TMP/.err")
  local log
  for log in "$T_TMP"/img*/restore.log "$T_TMP"/img*/*/restore.log; do
    [ "$RC" != 0 ] && [ -f "$log" ] && ERR="$ERR | $log: $(grep -h 'Error' "$log" | tail -n 3 | tr '\n' ' ')"
  done
  if [ "$RC" = 0 ]; then
    local pid
    pid=$(state_field "$id" pid 2>/dev/null)
    [ -n "$pid" ] && record_pid "$pid"
  fi
}

counter_bundle() {
  make_bundle a sh -c "$COUNTER"
}

test_cp_counter_continues() {
  counter_bundle
  local id before after
  id=$(cid a)
  cp_create "$id" "$T_TMP/out1"
  must_start "$id"
  wait_count 5
  cp_ --image-path "$T_TMP/img" "$id"
  assert_rc 0 "checkpoint"
  # Dumped for good: the container is gone, the counter stopped.
  bcmd state "$id"
  [ "$RC" != 0 ] || assert_eq "$(state_field "$id" status)" stopped "state after checkpoint"
  before=$(count)
  sleep 1
  assert_eq "$(count)" "$before" "the counter after checkpoint"
  [ -f "$T_TMP/img/inventory.img" ] || fail "no inventory.img in the image directory"
  bcmd delete --force "$id"
  grep -qx 2 "$T_TMP/out1" || fail "the counter's stdout did not reach its pipe before the checkpoint"
  RS_OUT=$T_TMP/out2 rs "$id" --image-path "$T_TMP/img"
  assert_rc 0 "restore -d"
  assert_eq "$(state_field "$id" status)" running "state after restore"
  wait_count "$before"
  after=$(count)
  # It went on from its own memory: the next numbers, not 1, 2, 3.
  [ "$after" -gt "$before" ] || fail "after restore the counter says $after (it was at $before)"
  # ... and writes them to the pipe restore gave it in place of its own.
  sleep 0.5
  grep -qx "$after" "$T_TMP/out2" || fail "the restored counter's stdout ($after) is not in the new pipe: $(tr '\n' ' ' <"$T_TMP/out2")"
  bcmd exec "$id" sh -c 'echo exec-ok'
  assert_rc 0 "exec into the restored container"
  assert_eq "$OUT" exec-ok "exec's output"
  bcmd pause "$id"
  assert_rc 0 "pause"
  bcmd resume "$id"
  assert_rc 0 "resume"
  bcmd kill "$id" KILL
  assert_rc 0 "kill"
  wait_status "$id" stopped 10
  bcmd delete "$id"
  assert_rc 0 "delete"
  assert_nothing_left "$id" a
}

test_cp_leave_running_then_restore_as_another() {
  counter_bundle
  local id id2 pid2
  id=$(cid a)
  id2=$(cid b)
  cp_create "$id"
  must_start "$id"
  wait_count 3
  cp_ --leave-running --image-path "$T_TMP/img" "$id"
  assert_rc 0 "checkpoint --leave-running"
  assert_eq "$(state_field "$id" status)" running "state after --leave-running"
  bcmd kill "$id" KILL
  wait_status "$id" stopped 10
  bcmd delete "$id"
  # A new id and a new cgroup path.
  CGP="$T_CG/restored" cfg "$B" 'c["linux"]["cgroupsPath"] = E["CGP"]'
  rs "$id2" --image-path "$T_TMP/img"
  assert_rc 0 "restore as $id2"
  pid2=$(state_field "$id2" pid)
  assert_contains "$(cat /proc/"$pid2"/cgroup)" "$T_CG/restored" "the restored init's cgroup"
  local now
  now=$(count)
  wait_count "$now"
  bcmd delete --force "$id2"
  assert_rc 0 "delete --force"
  assert_nothing_left "$id2" restored
}

test_cp_pre_dump_then_dump() {
  counter_bundle
  local id before
  id=$(cid a)
  cp_create "$id"
  must_start "$id"
  wait_count 3
  cp_ --pre-dump --image-path "$T_TMP/img/parent" "$id"
  assert_rc 0 "checkpoint --pre-dump"
  assert_eq "$(state_field "$id" status)" running "state after a pre-dump"
  wait_count "$(count)"
  cp_ --parent-path ../parent --image-path "$T_TMP/img/final" "$id"
  assert_rc 0 "checkpoint --parent-path"
  before=$(count)
  bcmd delete --force "$id"
  rs "$id" --image-path "$T_TMP/img/final"
  assert_rc 0 "restore from the final images"
  wait_count "$before"
  bcmd delete --force "$id"
}

test_cp_lazy_pages_through_a_page_server() {
  counter_bundle
  local id id2 port=27277 cpid got before
  id=$(cid a)
  id2=$(cid b)
  cp_create "$id"
  must_start "$id"
  wait_count 3
  # The status fd: a fifo's write-only end (runc wants it so), which the
  # runtime closes after writing \0 once the pages are served; `keep` holds
  # the fifo open for reading until dd reads it.
  mkfifo "$T_TMP/status"
  exec {keep}<>"$T_TMP/status"
  exec {sfd}>"$T_TMP/status"
  b checkpoint --lazy-pages --page-server "127.0.0.1:$port" --status-fd "$sfd" \
    --work-path "$T_TMP/work" --image-path "$T_TMP/img" "$id" </dev/null >"$T_TMP/cp.out" 2>"$T_TMP/cp.err" {keep}>&- &
  cpid=$!
  record_pid "$cpid"
  exec {sfd}>&-
  got=$(timeout 30 dd if="$T_TMP/status" bs=1 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')
  exec {keep}>&-
  assert_eq "$got" 00 "what came over --status-fd (checkpoint said: $(cat "$T_TMP/cp.err"))"
  [ -f "$T_TMP/img/inventory.img" ] || fail "no inventory.img while the pages are served"
  before=$(count)
  # The restoring side: CRIU's lazy-pages daemon fetches the pages from
  # the page server for the restore, which runs as another container (the
  # dumped one is gone only once its last page has moved).
  criu lazy-pages --page-server --address 127.0.0.1 --port "$port" -D "$T_TMP/img" >"$T_TMP/lazy.log" 2>&1 &
  record_pid $!
  CGP="$T_CG/restored" cfg "$B" 'c["linux"]["cgroupsPath"] = E["CGP"]'
  rs "$id2" --image-path "$T_TMP/img" --lazy-pages
  assert_rc 0 "restore --lazy-pages"
  wait_count "$before"
  wait_gone "$cpid" 30 || fail "checkpoint --lazy-pages still runs after the restore"
  wait "$cpid"
  assert_eq "$?" 0 "checkpoint --lazy-pages's status (it said: $(cat "$T_TMP/cp.err"))"
  bcmd state "$id"
  [ "$RC" != 0 ] || fail "the dumped container is still there: $OUT"
  bcmd delete --force "$id2"
  assert_rc 0 "delete --force"
}

test_cp_tcp_established() {
  # A loopback TCP connection inside the container, open across the
  # checkpoint: nc -l reads what a client sends once a second.
  # (nc -l's stdin never ends: at its end nc would close the connection.)
  make_bundle a sh -c 'ip link set lo up; sleep 100000 | nc -l -p 5000 >/tmp/received & sleep 1; while :; do date +%s; sleep 1; done | nc 127.0.0.1 5000'
  cfg "$B" 'for s in ("bounding", "effective", "permitted"): c["process"]["capabilities"][s].append("CAP_NET_ADMIN")'
  local id n
  id=$(cid a)
  cp_create "$id"
  must_start "$id"
  sleep 3
  cp_ --tcp-established --image-path "$T_TMP/img" "$id"
  assert_rc 0 "checkpoint --tcp-established"
  bcmd delete --force "$id"
  n=$(wc -l <"$B/rootfs/tmp/received")
  rs "$id" --image-path "$T_TMP/img" --tcp-established
  assert_rc 0 "restore --tcp-established"
  sleep 3
  [ "$(wc -l <"$B/rootfs/tmp/received")" -gt "$n" ] || fail "nothing came over the restored connection (still $n lines)"
  bcmd delete --force "$id"
}

test_cp_bind_mount_and_tmpfs() {
  # make_bundle's /host is a bind mount; /data a tmpfs whose content
  # CRIU keeps.
  make_bundle a sh -c 'echo kept >/data/f; i=0; while :; do i=$((i+1)); echo $i >/host/count; sleep 0.2; done'
  add_mount "$B" /data tmpfs tmpfs size=1m
  local id
  id=$(cid a)
  cp_create "$id"
  must_start "$id"
  sleep 1
  cp_ --image-path "$T_TMP/img" "$id"
  assert_rc 0 "checkpoint"
  bcmd delete --force "$id"
  rm -f "$B/host/count"
  rs "$id" --image-path "$T_TMP/img"
  assert_rc 0 "restore"
  bcmd exec "$id" cat /data/f
  assert_eq "$OUT" kept "the tmpfs's file after restore"
  local i
  for ((i = 0; i < 50; i++)); do
    [ -s "$B/host/count" ] && break
    sleep 0.1
  done
  [ -s "$B/host/count" ] || fail "the bind mount does not reach the host after restore"
  bcmd delete --force "$id"
}

# term_saw OUT LINE: OUT (a terminal's output, \r\n) has the line LINE.
term_saw() { tr -d '\r' <"$1" 2>/dev/null | grep -qx "$2"; }

test_cp_terminal_restored_to_a_new_console_socket() {
  make_bundle a sh -c 'i=0; while :; do i=$((i+1)); echo "n$i"; echo $i >/tmp/count; sleep 0.2; done'
  cfg "$B" 'c["process"]["terminal"] = True'
  local id before i
  id=$(cid a)
  start_console_receiver "$T_TMP/c1.sock" "$T_TMP/c1.out"
  bcreate "$B" "$id" --console-socket "$T_TMP/c1.sock"
  assert_rc 0 "create --console-socket"
  must_start "$id"
  wait_count 3
  term_saw "$T_TMP/c1.out" n2 || fail "nothing came over the first terminal"
  cp_ --image-path "$T_TMP/img" "$id"
  assert_rc 0 "checkpoint of a container with a terminal"
  before=$(count)
  bcmd delete --force "$id"
  start_console_receiver "$T_TMP/c2.sock" "$T_TMP/c2.out"
  rs "$id" --image-path "$T_TMP/img" --console-socket "$T_TMP/c2.sock"
  assert_rc 0 "restore --console-socket"
  # The restored process goes on counting, onto the new terminal.
  for ((i = 0; i < 100; i++)); do
    term_saw "$T_TMP/c2.out" "n$((before + 2))" && break
    sleep 0.2
  done
  term_saw "$T_TMP/c2.out" "n$((before + 2))" ||
    fail "n$((before + 2)) never came over the restored terminal (got: $(tr -d '\r' <"$T_TMP/c2.out" | head -c 200 | tr '\n' ' '))"
  bcmd delete --force "$id"
  assert_rc 0 "delete --force"
  assert_nothing_left "$id" a
}

test_cp_bad_input_leaves_nothing() {
  counter_bundle
  local id
  id=$(cid a)
  # Restore from a directory that does not exist.
  rs "$id" --image-path "$T_TMP/nope"
  [ "$RC" != 0 ] || fail "restore from a missing image path succeeded"
  [ -n "$ERR" ] || fail "restore from a missing image path said nothing"
  assert_nothing_left "$id" a
  # Checkpoint of a stopped container.
  make_bundle s true
  must_create "$B" "$(cid s)"
  must_start "$(cid s)"
  wait_status "$(cid s)" stopped 10
  cp_ --image-path "$T_TMP/img2" "$(cid s)"
  [ "$RC" != 0 ] || fail "checkpoint of a stopped container succeeded"
  [ -n "$ERR" ] || fail "checkpoint of a stopped container said nothing"
  bcmd delete "$(cid s)"
  # Restore onto an id that exists.
  B=$T_TMP/a  # the counter bundle made above
  cp_create "$id"
  must_start "$id"
  wait_count 2
  cp_ --leave-running --image-path "$T_TMP/img" "$id"
  assert_rc 0 "checkpoint --leave-running"
  rs "$id" --image-path "$T_TMP/img"
  [ "$RC" != 0 ] || fail "restore onto an existing id succeeded"
  assert_contains "$ERR" "exists" "the error"
  assert_eq "$(state_field "$id" status)" running "the existing container"
  bcmd delete --force "$id"
}

# Podman with the runtime (guest.sh imported the busybox image `bb`).
pm() {
  timeout 180 podman --runtime "$BERTH" "$@" </dev/null >"$T_TMP/.out" 2>"$T_TMP/.err"
  RC=$?
  OUT=$(cat "$T_TMP/.out")
  ERR=$(cat "$T_TMP/.err")
}
pm_cleanup() { podman rm -f "bitest-$T_SALT" >/dev/null 2>&1; }
eval "lib_$(declare -f cleanup_test)"
cleanup_test() {
  pm_cleanup
  lib_cleanup_test "$@"
}

# pm_count NAME: the container's counter, read through exec.
pm_count() { podman --runtime "$BERTH" exec "$1" cat /tmp/count 2>/dev/null; }

test_cp_podman_checkpoint_restore_export_import() {
  local n=bitest-$T_SALT before after
  pm run -d --name "$n" --network none bb sh -c "$COUNTER"
  assert_rc 0 "podman run -d"
  sleep 2
  pm container checkpoint "$n"
  assert_rc 0 "podman container checkpoint"
  assert_eq "$(podman inspect -f '{{.State.Status}}' "$n")" exited "status after checkpoint"
  pm container restore "$n"
  assert_rc 0 "podman container restore"
  before=$(pm_count "$n")
  sleep 1
  after=$(pm_count "$n")
  [ "${after:-0}" -gt "${before:-0}" ] || fail "the counter does not go on after restore ($before, then $after)"
  # Out to a file, the container removed, and back in from the file.
  pm container checkpoint --export "$T_TMP/cp.tar.gz" "$n"
  assert_rc 0 "podman container checkpoint --export"
  pm rm -f "$n"
  pm container restore --import "$T_TMP/cp.tar.gz"
  assert_rc 0 "podman container restore --import"
  before=$(pm_count "$n")
  sleep 1
  after=$(pm_count "$n")
  [ "${after:-0}" -gt "${before:-0}" ] || fail "the counter does not go on after import ($before, then $after)"
  pm rm -f "$n"
  assert_rc 0 "podman rm -f"
}
