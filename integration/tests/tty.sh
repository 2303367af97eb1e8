# shellcheck shell=bash
# Terminals (--console-socket, run in the foreground) and passed fds.

test_console_socket() {
  make_bundle a sh -c 'tty; [ -t 0 ] && echo stdin-tty; [ -t 1 ] && echo stdout-tty; [ -t 2 ] && echo stderr-tty; stty size; read line; echo "got:$line"; ls -l /dev/console | cut -c1'
  cfg "$B" 'c["process"]["terminal"] = True' 'c["process"]["consoleSize"] = {"height": 30, "width": 100}'
  local sock="$T_TMP/console.sock" out="$T_TMP/console.out" id
  start_console_receiver "$sock" "$out"
  id=$(cid a)
  bcreate "$B" "$id" --console-socket "$sock"
  assert_rc 0 "create --console-socket"
  assert_eq "$OUT$ERR" "" "berth's own output"
  assert_eq "$(cat "$out.meta" 2>/dev/null)" 1 "fds received on the console socket"
  must_start "$id"
  wait_status "$id" stopped 10
  wait_file "$out.done" 10 || fail "the receiver did not see the pty close"
  local got
  got=$(tr -d '\r' <"$out" | grep -v '^hello$')
  assert_eq "$got" "$(printf '/dev/pts/0\nstdin-tty\nstdout-tty\nstderr-tty\n30 100\ngot:hello\nc')" "output read from the pty master"
}

test_terminal_needs_console_socket() {
  make_bundle a sh -c 'sleep 1000 # tty-marker'
  cfg "$B" 'c["process"]["terminal"] = True'
  local id
  id=$(cid a)
  bcreate "$B" "$id"
  assert_rc 1 "create with terminal:true and no --console-socket"
  assert_contains "$ERR" "console-socket" "error"
  assert_nothing_left "$id" a tty-marker
  # and the converse: a console socket for a container without a terminal
  cfg "$B" 'c["process"]["terminal"] = False'
  bcreate "$B" "$id" --console-socket "$T_TMP/nosuch.sock"
  assert_rc 1 "create with --console-socket and terminal:false"
  assert_contains "$ERR" "terminal" "error"
  assert_nothing_left "$id" a tty-marker
  # a console socket nobody listens on
  cfg "$B" 'c["process"]["terminal"] = True'
  bcreate "$B" "$id" --console-socket "$T_TMP/nosuch.sock"
  assert_rc 1 "create with a --console-socket nobody listens on"
  assert_contains "$ERR" "nosuch.sock" "error"
  assert_nothing_left "$id" a tty-marker
}

test_run_terminal_foreground() {
  make_bundle a sh -c 'tty; [ -t 1 ] && echo stdout-tty; exit 3'
  cfg "$B" 'c["process"]["terminal"] = True'
  brun "$B" "$(cid a)"
  assert_rc 3 "run with terminal:true in the foreground"
  assert_eq "$(tr -d '\r' <<<"$OUT")" "$(printf '/dev/pts/0\nstdout-tty')" "output proxied from the pty"
}

test_preserve_fds() {
  make_bundle a sh -c 'echo via-fd3 >&3; [ -e /proc/self/fd/3 ] && echo fd3-open; [ -e /proc/self/fd/4 ] && echo fd4-open || echo fd4-closed'
  local id
  id=$(cid a)
  b run --preserve-fds 1 --bundle "$B" "$id" </dev/null >"$T_TMP/o" 2>"$T_TMP/e" 3>"$T_TMP/fd3" 4>"$T_TMP/fd4"
  RC=$? OUT=$(cat "$T_TMP/o") ERR=$(cat "$T_TMP/e")
  assert_rc 0 "run --preserve-fds 1"
  assert_eq "$OUT" "$(printf 'fd3-open\nfd4-closed')" "fds in the container"
  assert_eq "$(cat "$T_TMP/fd3")" via-fd3 "written through fd 3"
  # without --preserve-fds no fd beyond stdio reaches the container
  make_bundle b sh -c 'ls /proc/self/fd >/dev/null; for fd in 3 4 5 6 7 8 9; do [ -e /proc/$$/fd/$fd ] && echo "fd$fd-open"; done; echo checked'
  b run --bundle "$B" "$(cid b)" </dev/null >"$T_TMP/o" 2>"$T_TMP/e" 3>"$T_TMP/fd3b"
  RC=$? OUT=$(cat "$T_TMP/o") ERR=$(cat "$T_TMP/e")
  assert_rc 0 "run without --preserve-fds"
  assert_eq "$OUT" checked "fds in the container without --preserve-fds"
  # --preserve-fds naming an fd that is not open
  make_bundle c true
  bcmd run --preserve-fds 3 --bundle "$B" "$(cid c)"
  assert_rc 1 "run --preserve-fds 3 with fds 3..5 closed"
  assert_contains "$ERR" "preserve-fds" "error"
}

test_preserve_fds_create() {
  # create/start: the fd stays with the waiting init until start.
  make_bundle a sh -c 'echo via-fd3 >&3'
  local id
  id=$(cid a)
  b create --preserve-fds 1 --bundle "$B" "$id" </dev/null >"$T_TMP/o" 2>"$T_TMP/e" 3>"$T_TMP/fd3"
  RC=$? ERR=$(cat "$T_TMP/e")
  assert_rc 0 "create --preserve-fds 1"
  record_pid "$(state_field "$id" pid)"
  must_start "$id"
  wait_status "$id" stopped 5
  assert_eq "$(cat "$T_TMP/fd3")" via-fd3 "written through fd 3"
}

test_listen_fds() {
  make_bundle a sh -c 'env | grep ^LISTEN_ | sort; echo via-listen >&3; [ -e /proc/$$/fd/4 ] && echo fd4-open || echo fd4-closed'
  local id
  id=$(cid a)
  # systemd socket activation: LISTEN_PID names the receiving process.
  (LISTEN_FDS=1 LISTEN_PID=$BASHPID exec "$BERTH" --root "$ROOT" run --bundle "$B" "$id") </dev/null >"$T_TMP/o" 2>"$T_TMP/e" 3>"$T_TMP/fd3" 4>"$T_TMP/fd4"
  RC=$? OUT=$(cat "$T_TMP/o") ERR=$(cat "$T_TMP/e")
  assert_rc 0 "run with LISTEN_FDS=1"
  assert_eq "$OUT" "$(printf 'LISTEN_FDS=1\nLISTEN_PID=1\nfd4-closed')" "LISTEN_* and fds in the container"
  assert_eq "$(cat "$T_TMP/fd3")" via-listen "written through fd 3"
}
