# Where berth parted from runc (issue 22): each test here failed before
# its fix. The standard is runc's behaviour.

test_compat_created_init_holds_no_host_fds() {
  # Between create and start the init holds its stdio, the preserved fds
  # and its two sockets (channel, start socket), nothing of the caller's or
  # the host's: not the caller's fd 3, not the --log file, not a cgroup
  # directory. runc's suite checks /proc/PID/fd of a created container.
  make_bundle a sleep 1000
  local id pid fds
  id=$(cid a)
  : >"$T_TMP/callers-file"
  b --log "$T_TMP/berth.log" create --bundle "$B" "$id" </dev/null >"$T_TMP/a.out" 2>"$T_TMP/a.err" 3>"$T_TMP/callers-file"
  RC=$?
  assert_rc 0 "create ($(cat "$T_TMP/a.err"))"
  pid=$(state_field "$id" pid)
  record_pid "$pid"
  fds=$(for f in /proc/"$pid"/fd/*; do printf '%s=%s\n' "${f##*/}" "$(readlink "$f")"; done | sort -n)
  local line n target
  while IFS= read -r line; do
    n=${line%%=*}
    target=${line#*=}
    case $n in 0 | 1 | 2) continue ;; esac
    [[ $target == socket:\[*\] ]] || fail "the created init holds fd $n -> $target (all: ${fds//$'\n'/ })"
  done <<<"$fds"
  assert_eq "$(grep -c socket: <<<"$fds")" 2 "sockets held (channel, start socket): ${fds//$'\n'/ }"
  must_start "$id"
  # --preserve-fds 1: fd 3 stays, and is the caller's file.
  make_bundle p sleep 1000
  id=$(cid p)
  b create --preserve-fds 1 --bundle "$B" "$id" </dev/null >"$T_TMP/p.out" 2>"$T_TMP/p.err" 3>"$T_TMP/callers-file"
  RC=$?
  assert_rc 0 "create --preserve-fds 1 ($(cat "$T_TMP/p.err"))"
  pid=$(state_field "$id" pid)
  record_pid "$pid"
  assert_eq "$(readlink "/proc/$pid/fd/3")" "$T_TMP/callers-file" "the preserved fd 3"
}

test_compat_capability_outside_bounding_set_fails_create() {
  # A capability berth cannot give (here: one taken out of the bounding set
  # berth itself runs with) fails create, as with runc, not start: an
  # engine that saw create succeed would race the init's exit. Nothing is
  # left behind.
  command -v setpriv >/dev/null || fail "setpriv (util-linux) is missing"
  make_bundle a sh -c 'sleep 1000 # capfail-marker'
  cfg "$B" 'for s in ("bounding", "effective", "permitted"): c["process"]["capabilities"][s].append("CAP_NET_RAW")'
  local id
  id=$(cid a)
  setpriv --bounding-set -net_raw "$BERTH" --root "$ROOT" create --bundle "$B" "$id" </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
  RC=$?
  ERR=$(cat "$T_TMP/err")
  assert_rc 1 "create with a capability outside the bounding set"
  assert_contains "$ERR" "process.capabilities" "create's error names the field"
  assert_nothing_left "$id" a capfail-marker
  # The same config runs when berth has the capability.
  cfg "$B" 'c["process"]["args"] = ["sh", "-c", "grep CapEff /proc/self/status"]'
  brun "$B" "$(cid b)"
  assert_rc 0 "run with the capability in the bounding set ($ERR)"
}

test_compat_user_switch_in_create() {
  # The user and groups are set before create returns: the created init
  # already runs as the container's user (runc's order).
  make_bundle a sleep 1000
  cfg "$B" 'c["process"]["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [2000]}'
  local id pid
  id=$(cid a)
  must_create "$B" "$id"
  pid=$(state_field "$id" pid)
  assert_match "$(grep '^Uid:' "/proc/$pid/status")" $'^Uid:\t1000\t1000\t1000\t1000$' "uid of the created init"
  assert_match "$(grep '^Gid:' "/proc/$pid/status")" $'^Gid:\t1001\t1001\t1001\t1001$' "gid of the created init"
  assert_match "$(grep '^Groups:' "/proc/$pid/status")" $'^Groups:\t2000 *$' "groups of the created init"
  must_start "$id"
}

test_compat_ambient_without_inheritable_warns() {
  # Debian's own `runc spec` writes ambient capabilities without
  # inheritable ones; the kernel will not raise those. The spec says a
  # runtime SHOULD NOT fail for capabilities it cannot grant: the container
  # runs, and the log names what was not raised, at warn level.
  make_bundle a sh -c 'grep CapAmb /proc/self/status'
  cfg "$B" 'c["process"]["capabilities"]["ambient"] = ["CAP_NET_BIND_SERVICE", "CAP_KILL"]' \
    'c["process"]["capabilities"]["inheritable"] = []'
  b --log "$T_TMP/berth.log" --log-format json run --bundle "$B" "$(cid a)" </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
  RC=$?
  assert_rc 0 "run ($(cat "$T_TMP/err"))"
  assert_match "$(cat "$T_TMP/out")" $'CapAmb:\t0+$' "nothing raised"
  local warn
  warn=$(grep '"level":"warning"' "$T_TMP/berth.log")
  assert_contains "$warn" "CAP_NET_BIND_SERVICE" "the warning"
  assert_contains "$warn" "CAP_KILL" "the warning"
  assert_contains "$warn" "process.capabilities.ambient" "the warning names the field"
  # With inheritable ones, they are raised and nothing is said.
  cfg "$B" 'c["process"]["capabilities"]["inheritable"] = ["CAP_NET_BIND_SERVICE", "CAP_KILL"]'
  : >"$T_TMP/berth.log"
  b --log "$T_TMP/berth.log" --log-format json run --bundle "$B" "$(cid b)" </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
  RC=$?
  assert_rc 0 "run with inheritable ($(cat "$T_TMP/err"))"
  assert_match "$(cat "$T_TMP/out")" $'CapAmb:\t0+420$' "ambient raised"
  assert_not_contains "$(cat "$T_TMP/berth.log")" "warning" "log"
}

test_compat_start_container_hook_env() {
  # A startContainer hook without an env of its own gets the process's,
  # HOME included (runc's historical behaviour); one with env keeps its own.
  make_bundle a true
  printf '#!/bin/sh\ntest "$ONE" = two && test "$FOO" = bar && test -n "$HOME" && echo "$ONE $FOO $HOME" >/host/hook1\n' >"$B/rootfs/check-env.sh"
  printf '#!/bin/sh\necho "ONE=${ONE:-unset} X=$X" >/host/hook2\n' >"$B/rootfs/own-env.sh"
  chmod +x "$B/rootfs/check-env.sh" "$B/rootfs/own-env.sh"
  cfg "$B" 'c["process"]["env"] = ["ONE=two", "FOO=bar", "PATH=/bin"]' \
    'c["hooks"] = {"startContainer": [{"path": "/check-env.sh"}, {"path": "/own-env.sh", "env": ["X=y"]}]}'
  brun "$B" "$(cid a)"
  assert_rc 0 "run ($ERR)"
  assert_eq "$(cat "$B/host/hook1")" "two bar /" "what the first hook saw"
  assert_eq "$(cat "$B/host/hook2")" "ONE=unset X=y" "what the second hook saw"
}

test_compat_hook_error_says_error_running() {
  # runc's words, which its suite and engines look for.
  local hook
  for hook in prestart createRuntime createContainer startContainer; do
    make_bundle "$hook" true
    cfg "$B" "c['hooks'] = {'$hook': [{'path': '/bin/true'}, {'path': '/bin/false'}]}"
    brun "$B" "$(cid "${hook,,}")"
    [ "$RC" != 0 ] || fail "run with a failing $hook hook succeeded"
    assert_contains "$ERR" "error running $hook hook #1" "$hook"
  done
}

test_compat_exec_into_paused_container_holds_no_lock() {
  # exec --ignore-paused into a paused container: its process freezes in
  # set-up. berth must not hold the container's lock while it waits, or a
  # resume from another caller (and list, and state) would wait for ever.
  make_bundle a sleep 1000
  local id execpid
  id=$(cid a)
  must_create "$B" "$id"
  must_start "$id"
  bcmd pause "$id"
  assert_rc 0 "pause"
  b exec --ignore-paused "$id" sh -c 'echo exec-ran' </dev/null >"$T_TMP/exec.out" 2>"$T_TMP/exec.err" &
  execpid=$!
  record_pid "$execpid"
  sleep 1
  timeout 10 "$BERTH" --root "$ROOT" list >"$T_TMP/list.out" 2>&1
  assert_eq "$?" 0 "list while the exec waits ($(cat "$T_TMP/list.out"))"
  assert_contains "$(cat "$T_TMP/list.out")" "paused" "list"
  timeout 10 "$BERTH" --root "$ROOT" state "$id" >"$T_TMP/state.out" 2>&1
  assert_eq "$?" 0 "state while the exec waits ($(cat "$T_TMP/state.out"))"
  timeout 10 "$BERTH" --root "$ROOT" resume "$id" >"$T_TMP/resume.out" 2>&1
  assert_eq "$?" 0 "resume while the exec waits ($(cat "$T_TMP/resume.out"))"
  local i
  for ((i = 0; i < 200; i++)); do
    kill -0 "$execpid" 2>/dev/null || break
    sleep 0.05
  done
  kill -0 "$execpid" 2>/dev/null && fail "the exec did not finish after resume"
  wait "$execpid"
  assert_eq "$?" 0 "exec's status ($(cat "$T_TMP/exec.err"))"
  assert_eq "$(cat "$T_TMP/exec.out")" "exec-ran" "exec's output"
  # A foreground exec killed by its caller while its process is frozen in
  # set-up: nothing of it may keep the lock (its clone holds a copy of
  # every fd it had), so resume still goes through.
  bcmd pause "$id"
  b exec --ignore-paused "$id" true </dev/null >/dev/null 2>&1 &
  execpid=$!
  sleep 1
  kill -9 "$execpid"
  wait "$execpid" 2>/dev/null
  timeout 10 "$BERTH" --root "$ROOT" resume "$id" >"$T_TMP/resume2.out" 2>&1
  assert_eq "$?" 0 "resume after the exec was killed ($(cat "$T_TMP/resume2.out"))"
  # Without --ignore-paused, exec into a paused container fails at once
  # with 255, as runc.
  bcmd pause "$id"
  bcmd exec "$id" true
  assert_rc 255 "exec into a paused container"
  assert_contains "$ERR" "paused" "its error"
}

test_compat_list_and_state_never_wait_on_a_lock() {
  # A create in progress (a prestart hook that takes 3 s) holds the
  # container's lock; list and state answer at once all the same.
  make_bundle a sleep 1000
  cfg "$B" 'c["hooks"] = {"prestart": [{"path": "/bin/sleep", "args": ["sleep", "3"]}]}'
  local id cpid
  id=$(cid a)
  b create --bundle "$B" "$id" </dev/null >"$T_TMP/c.out" 2>"$T_TMP/c.err" &
  cpid=$!
  record_pid "$cpid"
  sleep 0.8
  timeout 2 "$BERTH" --root "$ROOT" list --format json >"$T_TMP/list.out" 2>&1
  assert_eq "$?" 0 "list during a create ($(cat "$T_TMP/list.out"))"
  assert_contains "$(cat "$T_TMP/list.out")" "\"creating\"" "list shows the create in progress"
  timeout 2 "$BERTH" --root "$ROOT" state "$id" >"$T_TMP/state.out" 2>&1
  local rc=$?
  [ "$rc" != 124 ] || fail "state waited on the create's lock"
  wait "$cpid"
  assert_eq "$?" 0 "the create ($(cat "$T_TMP/c.err"))"
  assert_eq "$(state_field "$id" status)" created "status after the create"
}

test_compat_cpuset_parent_made_by_another_create() {
  # cgroup v1 cpuset: a parent that another create has just made (its
  # cpuset.cpus and .mems still empty) must be filled by whoever finds it
  # empty, or joining fails with "No space left on device". Same for an
  # update of a container's cpuset under such a parent (a pod's).
  local cs=/sys/fs/cgroup/cpuset
  [ -f "$cs/cpuset.cpus" ] || skip "no cgroup v1 cpuset hierarchy on this host"
  mkdir -p "$cs$T_CG/pod" || fail "mkdir $cs$T_CG/pod"
  assert_eq "$(cat "$cs$T_CG/pod/cpuset.cpus")" "" "the parent starts empty"
  make_bundle a sleep 1000
  cfg "$B" "c['linux']['cgroupsPath'] = '$T_CG/pod/a'"
  local id
  id=$(cid a)
  must_create "$B" "$id"
  must_start "$id"
  assert_eq "$(cat "$cs$T_CG/pod/cpuset.cpus")" "$(cat "$cs/cpuset.cpus")" "the parent's cpus, filled"
  assert_eq "$(cat "$cs$T_CG/pod/a/cpuset.mems")" "$(cat "$cs/cpuset.mems")" "the container's mems"
  bcmd update --cpuset-cpus 0 "$id"
  assert_rc 0 "update --cpuset-cpus 0 ($ERR)"
  assert_eq "$(cat "$cs$T_CG/pod/a/cpuset.cpus")" 0 "the container's cpus after update"
}

test_compat_tmpfs_over_unified_is_not_cgroup2() {
  # A nested set-up covers /sys/fs/cgroup/unified with a tmpfs: mountinfo
  # still lists the cgroup2 mount underneath. berth must go by what is
  # really there (no cgroup2), run the container, and leave nothing in the
  # tmpfs (it failed with EBADF from clone3 and left a directory).
  mountpoint -q /sys/fs/cgroup/unified 2>/dev/null || skip "no hybrid cgroup2 mount at /sys/fs/cgroup/unified"
  make_bundle a sh -c 'echo ran'
  local out
  out=$(unshare -m --propagation private sh -c '
    mount -t tmpfs berth-test /sys/fs/cgroup/unified || exit 90
    "$0" --root "$1" run --bundle "$2" "$3" </dev/null 2>&1
    echo "rc=$?"
    echo "left=$(ls -A /sys/fs/cgroup/unified | tr "\n" " ")"' "$BERTH" "$ROOT" "$B" "$(cid a)")
  assert_contains "$out" "ran" "the container ran ($out)"
  assert_contains "$out" "rc=0" "run's status ($out)"
  assert_match "$out" "left=\s*$" "nothing made in the tmpfs ($out)"
}

test_compat_rnosymfollow_reaches_submounts() {
  # rnosymfollow (and every recursive r* option) applies to every
  # submount of an rbind, through mount_setattr(AT_RECURSIVE); it was
  # passed to the kernel as data, which a bind ignores. nosymfollow on a
  # plain bind is a flag too.
  make_bundle a sh -c 'cat /mnt/top-link 2>&1; cat /mnt/sub/sub-link 2>&1; cat /mnt/sub/plain; grep " /mnt/sub " /proc/self/mountinfo | grep -o nosymfollow'
  local d=$T_TMP/src
  mkdir -p "$d/sub" "$B/rootfs/mnt"
  echo top-target >"$d/top-target"
  cfg "$B" "c['mounts'].append({'destination': '/mnt', 'type': 'bind', 'source': '$d', 'options': ['rbind', 'rnosymfollow']})"
  local out
  out=$(unshare -m --propagation private sh -c '
    mount -t tmpfs sub "$4/sub" || exit 90
    echo sub-target >"$4/sub/sub-target"; echo plain-file >"$4/sub/plain"
    ln -s top-target "$4/top-link"; ln -s sub-target "$4/sub/sub-link"
    "$0" --root "$1" run --bundle "$2" "$3" </dev/null 2>&1; echo "rc=$?"' "$BERTH" "$ROOT" "$B" "$(cid a)" "$d")
  assert_contains "$out" "rc=0" "run ($out)"
  assert_contains "$out" "plain-file" "files are read ($out)"
  assert_not_contains "$out" "top-target" "the symlink on the bind itself was followed ($out)"
  assert_not_contains "$out" "sub-target" "the symlink on a submount was followed ($out)"
  assert_contains "$out" "nosymfollow" "the submount's flags ($out)"
}

test_compat_spec_cgroupns_only_on_pure_v2() {
  # runc's `spec` asks for a cgroup namespace only on a pure cgroup v2
  # host; on v1 or hybrid it leaves it out.
  mkdir -p "$T_TMP/s"
  (cd "$T_TMP/s" && "$BERTH" spec) || fail "spec"
  local has want=no
  has=$(py -c 'import json,sys; print("yes" if any(n["type"] == "cgroup" for n in json.load(open(sys.argv[1]))["linux"]["namespaces"]) else "no")' "$T_TMP/s/config.json")
  if [ "$(stat -f -c %T /sys/fs/cgroup)" == cgroup2fs ]; then want=yes; fi
  assert_eq "$has" "$want" "a cgroup namespace in the spec (host /sys/fs/cgroup: $(stat -f -c %T /sys/fs/cgroup))"
}

test_compat_kill_signal_0_and_list_json_order() {
  # kill ID 0 checks that the init is there (kill(2) with no signal), and
  # fails once it is gone; list --format json and state keep runc's field
  # order, which callers that match the text rely on.
  make_bundle a sleep 1000
  local id
  id=$(cid a)
  must_create "$B" "$id"
  must_start "$id"
  bcmd kill "$id" 0
  assert_rc 0 "kill ID 0 of a running container ($ERR)"
  bcmd list --format json
  assert_rc 0 "list"
  assert_match "$OUT" '^\[\{"ociVersion":"[0-9.]+","id":"'"$id"'","pid":[0-9]+,"status":"running","bundle":"[^"]*","rootfs":"[^"]*","created":"[^"]*","owner":"[^"]*"\}\]$' "list --format json"
  bcmd events --stats "$id"
  assert_rc 0 "events --stats"
  assert_match "$OUT" '^\{"type":"stats","id":"'"$id"'","data":\{' "events --stats"
  bcmd kill "$id" KILL
  wait_status "$id" stopped
  bcmd kill "$id" 0
  assert_rc 1 "kill ID 0 of a stopped container"
  assert_contains "$ERR" "not running" "its error"
  bcmd kill --all "$id" 0
  assert_rc 0 "kill --all ID 0 of a stopped container"
  # An explicit --root that does not exist is an error for list.
  "$BERTH" --root "$T_TMP/no-such-root" list >/dev/null 2>&1 && fail "list with a missing --root succeeded"
  return 0
}

test_compat_pty_owned_by_the_process_user() {
  # As runc: the process's terminal belongs to its user; the group is
  # devpts' own (gid=5 in the spec's devpts options).
  make_bundle a sh -c 'stat -c "owner=%u:%g" $(tty)'
  cfg "$B" 'c["process"]["terminal"] = True' 'c["process"]["user"] = {"uid": 1000, "gid": 100}'
  local sock="$T_TMP/console.sock" out="$T_TMP/console.out" id
  start_console_receiver "$sock" "$out"
  id=$(cid a)
  bcreate "$B" "$id" --console-socket "$sock"
  assert_rc 0 "create --console-socket ($ERR)"
  must_start "$id"
  wait_file "$out.done" 10 || fail "the receiver did not see the pty close"
  assert_contains "$(tr -d '\r' <"$out")" "owner=1000:5" "the pty's owner"
}

test_compat_env_dedup_and_home() {
  # runc's environment: each name once with its last value, an empty HOME
  # replaced by the user's home from the container's /etc/passwd.
  make_bundle a env
  printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n' >"$B/rootfs/etc/passwd"
  cfg "$B" 'c["process"]["env"] = ["ONE=two", "PATH=/bin", "ONE=three", "HOME=/x", "HOME="]'
  brun "$B" "$(cid a)"
  assert_rc 0 "run ($ERR)"
  assert_eq "$(sort <<<"$OUT" | tr '\n' ' ')" "HOME=/root ONE=three PATH=/bin " "the environment"
  cfg "$B" 'c["process"]["user"] = {"uid": 1000, "gid": 1000}' 'c["process"]["env"] = ["PATH=/bin"]'
  brun "$B" "$(cid b)"
  assert_contains "$OUT" "HOME=/home/user" "HOME of uid 1000"
}

test_compat_exec_process_file_without_user() {
  # runc runs a --process file without `user` as uid 0.
  make_bundle a sleep 1000
  cfg "$B" 'c["process"]["user"] = {"uid": 1000, "gid": 1000}'
  local id
  id=$(cid a)
  must_create "$B" "$id"
  must_start "$id"
  printf '{"args": ["id", "-u"], "cwd": "/"}' >"$T_TMP/p.json"
  bcmd exec --process "$T_TMP/p.json" "$id"
  assert_rc 0 "exec --process without user ($ERR)"
  assert_eq "$OUT" 0 "uid"
}

test_compat_tmpfs_mode() {
  # A tmpfs without mode= takes the mode of the directory it covers; with
  # mode= that one (the directory itself untouched); on a directory berth
  # makes, tmpfs's default 1777 (and the directories made are 755).
  make_bundle a sh -c 'stat -c %a /inherit /explicit /made/a/b; grep -E " /(inherit|explicit|made/a/b) " /proc/self/mounts'
  mkdir -p "$B/rootfs/inherit" "$B/rootfs/explicit"
  chmod 0710 "$B/rootfs/inherit" "$B/rootfs/explicit"
  cfg "$B" 'c["mounts"] += [
    {"type": "tmpfs", "source": "tmpfs", "destination": "/inherit", "options": ["rw", "nodev", "nosuid"]},
    {"type": "tmpfs", "source": "tmpfs", "destination": "/explicit", "options": ["rw", "nodev", "nosuid", "mode=1500"]},
    {"type": "tmpfs", "source": "tmpfs", "destination": "/made/a/b", "options": ["rw", "nodev", "nosuid"]}]'
  brun "$B" "$(cid a)"
  assert_rc 0 "run ($ERR)"
  assert_eq "$(head -3 <<<"$OUT" | tr '\n' ' ')" "710 1500 1777 " "the modes inside"
  assert_match "$(grep ' /inherit ' <<<"$OUT")" 'mode=710' "the inherited mode= in /proc/self/mounts"
  assert_not_contains "$(grep ' /made/a/b ' <<<"$OUT")" "mode=" "no mode= on a directory berth made"
  assert_eq "$(stat -c %a "$B/rootfs/explicit")" 710 "the covered directory's own mode"
  assert_eq "$(stat -c %a "$B/rootfs/made" "$B/rootfs/made/a" "$B/rootfs/made/a/b" | tr '\n' ' ')" "755 755 755 " "the directories made"
}

test_compat_read_only_dev() {
  # A read-only /dev tmpfs (runc issue 3248): berth still fills it (device
  # nodes, /dev/pts, /dev/shm, /dev/mqueue under it) and makes it
  # read-only at the end.
  make_bundle a sh -c 'grep "^tmpfs /dev " /proc/mounts; echo x >/dev/null && echo null-ok; touch /dev/new 2>&1; ls /dev/pts/ptmx >/dev/null && echo pts-ok'
  cfg "$B" 'for m in c["mounts"]:
    if m["destination"] == "/dev": m["options"].append("ro")'
  brun "$B" "$(cid a)"
  assert_rc 0 "run with a read-only /dev ($ERR)"
  assert_match "$(head -1 <<<"$OUT")" ' ro[, ]' "/dev read-only"
  assert_contains "$OUT" "null-ok" "/dev/null works"
  assert_contains "$OUT" "Read-only file system" "nothing new in /dev"
  assert_contains "$OUT" "pts-ok" "/dev/pts mounted under it"
}

test_compat_no_pivot_hides_host_proc() {
  # With --no-pivot the host's mounts stay beneath the container's root;
  # a full host /proc there would let a process in a new user namespace
  # mount a procfs of its own, unmasked. berth detaches them first: the
  # mount is refused (runc's no_pivot.bats; 'h' to sysrq-trigger only
  # prints help, if it ever got there).
  make_bundle a unshare -mrpf sh -c 'mount -t proc none /proc && echo h > /proc/sysrq-trigger && echo MOUNTED'
  ln -s busybox "$B/rootfs/bin/unshare"
  cfg "$B" 'c["process"]["capabilities"]["bounding"].append("CAP_SETFCAP")' \
    'c["process"]["capabilities"]["permitted"].append("CAP_SETFCAP")'
  brun "$B" "$(cid a)" --no-pivot
  assert_not_contains "$OUT" "MOUNTED" "a procfs mounted from a new user namespace under --no-pivot"
  assert_contains "$OUT$ERR" "ermission denied" "the mount's error"
  # --no-pivot itself still works.
  make_bundle b sh -c 'cat /proc/self/status | grep -c ^Pid; ls /'
  brun "$B" "$(cid b)" --no-pivot
  assert_rc 0 "run --no-pivot ($ERR)"
  assert_contains "$OUT" "bin" "the container's root"
}

test_compat_bind_through_dangling_symlinks() {
  # A bind target reached through symlinks that lead nowhere yet, inside
  # the rootfs: berth makes what they point at (inside the rootfs) and
  # mounts there, as runc does.
  make_bundle a sh -c 'cat /etc/hosts; grep -o " /tmp/foo/bar/baz/hosts " /proc/self/mountinfo; cat /etc/trail; grep -o " /tmp/trail " /proc/self/mountinfo; ls /etc/dirlink'
  echo "the-source" >"$T_TMP/src-file"
  mkdir -p "$T_TMP/src-dir" && touch "$T_TMP/src-dir/in-dir"
  rm -f "$B/rootfs/etc/hosts"
  ln -s /tmp/foo/bar "$B/rootfs/jump"
  ln -s /jump/baz/hosts "$B/rootfs/etc/hosts"
  ln -s /tmp/trail "$B/rootfs/etc/trail"
  ln -s ../tmp/dirtarget "$B/rootfs/etc/dirlink"
  cfg "$B" "c['mounts'] += [
    {'source': '$T_TMP/src-file', 'destination': '/etc/hosts', 'options': ['bind']},
    {'source': '$T_TMP/src-file', 'destination': '/etc/trail', 'options': ['bind']},
    {'source': '$T_TMP/src-dir', 'destination': '/etc/dirlink', 'options': ['bind']}]"
  brun "$B" "$(cid a)"
  assert_rc 0 "run ($ERR)"
  assert_eq "$OUT" "$(printf 'the-source\n /tmp/foo/bar/baz/hosts \nthe-source\n /tmp/trail \nin-dir')" "what the container sees"
  [ -f "$B/rootfs/tmp/foo/bar/baz/hosts" ] || fail "the target was not made inside the rootfs"
  [ -d "$B/rootfs/tmp/dirtarget" ] || fail "the directory target was not made inside the rootfs"
}

test_compat_update_memory_unlimited_on_v1() {
  # update --memory -1 with memory+swap limited before: the kernel keeps
  # limit <= memsw, so memsw is lifted too (as runc), first.
  local mem=/sys/fs/cgroup/memory
  [ -f "$mem/memory.memsw.limit_in_bytes" ] || skip "no cgroup v1 memory hierarchy with swap accounting here"
  make_bundle a sleep 1000
  local id
  id=$(cid a)
  must_create "$B" "$id"
  must_start "$id"
  bcmd update --memory 50M --memory-swap 96468992 "$id"
  assert_rc 0 "update --memory 50M --memory-swap 92M ($ERR)"
  assert_eq "$(cat "$mem$T_CG/a/memory.memsw.limit_in_bytes")" 96468992 "memsw"
  bcmd update --memory -1 "$id"
  assert_rc 0 "update --memory -1 ($ERR)"
  local unlimited
  unlimited=$(cat "$mem/memory.limit_in_bytes")
  assert_eq "$(cat "$mem$T_CG/a/memory.limit_in_bytes")" "$unlimited" "memory limit after --memory -1"
  assert_eq "$(cat "$mem$T_CG/a/memory.memsw.limit_in_bytes")" "$unlimited" "memsw after --memory -1"
}

test_compat_hooks_relative_paths_and_dirs() {
  # As runc: hooks in the runtime's namespaces run from the bundle (a
  # relative path names a program there); createContainer hooks run from
  # the rootfs, before pivot_root.
  make_bundle a true
  mkdir -p "$B/hooks"
  printf '#!/bin/sh\npwd >"%s/host/prestart-cwd"\n' "$B" >"$B/hooks/pre.sh"
  printf '#!/bin/sh\npwd >"%s/host/poststop-cwd"\n' "$B" >"$B/hooks/post.sh"
  chmod +x "$B/hooks/pre.sh" "$B/hooks/post.sh"
  cfg "$B" 'c["hooks"] = {"prestart": [{"path": "hooks/pre.sh"}], "poststop": [{"path": "hooks/post.sh"}],
    "createContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "touch ./made-by-create-container"]}]}'
  brun "$B" "$(cid a)"
  assert_rc 0 "run ($ERR)"
  assert_eq "$(cat "$B/host/prestart-cwd")" "$B" "the prestart hook's cwd"
  assert_eq "$(cat "$B/host/poststop-cwd")" "$B" "the poststop hook's cwd"
  [ -e "$B/rootfs/made-by-create-container" ] || fail "the createContainer hook did not run in the rootfs"
}

test_compat_proc_bind_of_host_procfs() {
  # In the host's pid namespace, /proc may be a bind of the host's procfs
  # (runc's start_hello.bats); a bind of anything else stays refused.
  make_bundle a sh -c 'test -e /proc/1/status && echo proc-ok'
  cfg "$B" 'c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "pid"]' \
    'for m in c["mounts"]:
    if m["type"] == "proc": m.update({"type": "none", "source": "/proc", "options": ["rbind", "nosuid", "nodev", "noexec"]})'
  brun "$B" "$(cid a)"
  assert_rc 0 "run with /proc a bind of the host's ($ERR)"
  assert_contains "$OUT" "proc-ok" "procfs inside"
  mkdir -p "$T_TMP/fake-proc"
  cfg "$B" "for m in c['mounts']:
    if m['destination'] == '/proc': m['source'] = '$T_TMP/fake-proc'"
  brun "$B" "$(cid b)"
  assert_rc 1 "run with /proc a bind of a plain directory"
  assert_contains "$ERR" "only a procfs" "its error"
}

test_compat_userns_bind_sources_out_of_reach() {
  # In a user namespace the init's root is host uid 100000, which cannot
  # search a host directory of mode 0700 owned by root. As runc, berth
  # takes such bind sources before it enters the user namespace: run and
  # exec see them.
  make_bundle a sh -c 'cat /tmp/mount-1/foo.txt /tmp/mount-2/foo.txt; sleep 1000'
  local s
  for s in 1 2; do
    mkdir -p "$B/source-inaccessible-$s/dir"
    echo "foo-$s" >"$B/source-inaccessible-$s/dir/foo.txt"
    chmod 700 "$B/source-inaccessible-$s"
  done
  chmod 755 "$T_TMP"
  cfg "$B" 'c["linux"]["namespaces"].append({"type": "user"})' \
    'c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]' \
    'c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]' \
    'c["mounts"] += [{"source": "source-inaccessible-1/dir", "destination": "/tmp/mount-1", "options": ["bind"]},
                     {"source": "source-inaccessible-2/dir", "destination": "/tmp/mount-2", "options": ["rbind", "ro"]}]'
  chown -R 100000:100000 "$B/rootfs"
  local id
  id=$(cid a)
  must_create "$B" "$id"
  must_start "$id"
  bcmd exec "$id" cat /tmp/mount-1/foo.txt /tmp/mount-2/foo.txt
  assert_rc 0 "exec ($ERR)"
  assert_eq "$OUT" "$(printf 'foo-1\nfoo-2')" "what exec reads"
  bcmd exec "$id" sh -c 'touch /tmp/mount-2/x 2>&1'
  assert_contains "$OUT" "Read-only" "the ro option on the attached tree"
  # Taken as a copy of a (possibly shared) host mount, the tree must not
  # stay a peer of it: nothing mounted under it may reach the host.
  bcmd exec "$id" grep -E " /tmp/mount-[12] " /proc/self/mountinfo
  assert_not_contains "$OUT" "shared:" "the attached trees' propagation"
}

test_compat_mount_order_with_sources_inside_the_container() {
  # runc's mount-order test: later mounts bind sources that earlier mounts
  # put inside the rootfs (resolved at their turn, in the container's
  # mount namespace), and destinations may be written with the rootfs's
  # host path in front.
  make_bundle a cat /final/x/y/z/z/x/y/z/x/file
  local src=$T_TMP/bind-src rootfs sub
  for sub in a/x b/y c/z; do
    mkdir -p "$src/$sub"
    echo "$sub" >"$src/$sub/file"
    ln -s "$(dirname "$sub")" "$src/sym-$(dirname "$sub")"
  done
  rootfs=$B/rootfs
  mkdir -p "$rootfs/mnt" "$rootfs/final"
  cfg "$B" "c['mounts'] += [
    {'source': '$src/a', 'destination': '/mnt', 'type': 'bind', 'options': ['rbind', 'rprivate']},
    {'source': '$src/sym-b', 'destination': '/mnt/x', 'type': 'bind', 'options': ['rbind', 'rprivate']},
    {'source': '$src/c', 'destination': '/mnt/x/y', 'type': 'bind', 'options': ['rbind', 'rprivate']},
    {'source': '$src/sym-a', 'destination': '/mnt/x/y/z', 'type': 'bind', 'options': ['rbind', 'rprivate']},
    {'source': '$rootfs/mnt/x', 'destination': '$rootfs/mnt/x/y/z/x', 'type': 'bind', 'options': ['rbind', 'rprivate']},
    {'source': '$rootfs/mnt/x/y', 'destination': '$rootfs/mnt/x/y/z', 'type': 'bind', 'options': ['rbind', 'rprivate']},
    {'source': '$rootfs/mnt', 'destination': '$rootfs/final', 'type': 'bind', 'options': ['rbind', 'rprivate']}]"
  brun "$B" "$(cid a)"
  assert_rc 0 "run ($ERR)"
  assert_eq "$OUT" "a/x" "the file at the end of the chain"
}

test_compat_memory_policy() {
  # linux.memoryPolicy (runtime-spec 1.3): set_mempolicy for the init and
  # every exec'd process; nodes checked against this host's, the mode's
  # rules against runc's. (Two NUMA nodes: the VM's tests-v2.sh.)
  make_bundle a sh -c 'head -n 1 /proc/self/numa_maps | cut -d " " -f 2; sleep 1000'
  cfg "$B" 'c["linux"]["memoryPolicy"] = {"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]}'
  local id
  id=$(cid a)
  must_create "$B" "$id"
  must_start "$id"
  wait_file "$T_TMP/$id.stdout" 5
  assert_match "$(head -1 "$T_TMP/$id.stdout")" '^bind=static:0$' "the init's policy"
  bcmd exec "$id" sh -c 'head -n 1 /proc/self/numa_maps | cut -d " " -f 2'
  assert_rc 0 "exec ($ERR)"
  assert_match "$OUT" '^bind=static:0$' "the exec'd process's policy"
  bcmd delete --force "$id"
  make_bundle b sh -c 'head -n 1 /proc/self/numa_maps | cut -d " " -f 2'
  cfg "$B" 'c["linux"]["memoryPolicy"] = {"mode": "MPOL_PREFERRED", "nodes": "0", "flags": ["MPOL_F_RELATIVE_NODES"]}'
  brun "$B" "$(cid b)"
  assert_rc 0 "run, preferred relative ($ERR)"
  assert_match "$OUT" '^prefer=relative:0$' "preferred relative"
  cfg "$B" 'c["linux"]["memoryPolicy"] = {"mode": "MPOL_DEFAULT"}'
  brun "$B" "$(cid c)"
  assert_rc 0 "run, default ($ERR)"
  assert_eq "$OUT" default "default"
  cfg "$B" 'c["linux"]["memoryPolicy"] = {"mode": "MPOL_DEFAULT", "nodes": "0-7"}'
  brun "$B" "$(cid d)"
  assert_rc 1 "default with nodes"
  assert_contains "$ERR" "mode requires 0 nodes but got 8" "its error"
  assert_nothing_left "$(cid d)" b
  local missing
  missing=$(($(sed 's/.*[-,]//' /sys/devices/system/node/possible) + 1))
  cfg "$B" "c['linux']['memoryPolicy'] = {'mode': 'MPOL_INTERLEAVE', 'nodes': '$missing'}"
  brun "$B" "$(cid e)"
  assert_rc 1 "a node the host does not have"
  assert_contains "$ERR" "linux.memoryPolicy.nodes: node $missing is not one of this host's" "its error"
}

# pidfd_receiver SOCKET SIGNAL: a python listener that takes one pidfd
# from SOCKET and sends SIGNAL (a number) through it.
pidfd_receiver() {
  cat >"$T_TMP/pidfd.py" <<'PY'
import os, signal, socket, sys
path, sig = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(1)
open(path + ".ready", "w").close()
s.settimeout(30)
c, _ = s.accept()
msg, fds, flags, addr = socket.recv_fds(c, 1024, 4)
signal.pidfd_send_signal(fds[0], sig)
open(path + ".sent", "w").write("%s %d\n" % (msg.decode(), len(fds)))
PY
  bg "$PY" -S "$T_TMP/pidfd.py" "$1" "$2"
  local i
  for ((i = 0; i < 100; i++)); do
    [ -e "$1.ready" ] && return 0
    sleep 0.05
  done
  fail "the pidfd receiver did not start"
}

test_compat_pidfd_socket_and_exec_sub_cgroup() {
  # --pidfd-socket (create, run, exec): the caller gets a pidfd of the
  # process and can signal it through it. exec --cgroup runs the process
  # in a sub-cgroup of the container's.
  make_bundle a sleep 1000
  local id
  id=$(cid a)
  pidfd_receiver "$T_TMP/p1.sock" 9
  bcreate "$B" "$id" --pidfd-socket "$T_TMP/p1.sock"
  assert_rc 0 "create --pidfd-socket ($ERR)"
  wait_file "$T_TMP/p1.sock.sent" 5 || fail "no pidfd came to the socket"
  assert_eq "$(cat "$T_TMP/p1.sock.sent")" "pidfd 1" "what the socket got"
  wait_status "$id" stopped 5
  bcmd delete "$id"
  make_bundle b sleep 1000
  id=$(cid b)
  must_create "$B" "$id"
  must_start "$id"
  local h sub=""
  for h in /sys/fs/cgroup/pids /sys/fs/cgroup/unified /sys/fs/cgroup; do
    if [ -f "$h$T_CG/b/cgroup.procs" ]; then sub=$h$T_CG/b/sub; break; fi
  done
  [ -n "$sub" ] || fail "no cgroup directory for the container"
  mkdir "$sub"
  local spec=sub
  [[ $sub == /sys/fs/cgroup/pids/* ]] && spec=pids:sub
  # Signal 0 through the pidfd: the process is there; then SIGKILL.
  pidfd_receiver "$T_TMP/p2.sock" 0
  bcmd exec -d --cgroup "$spec" --pid-file "$T_TMP/exec.pid" --pidfd-socket "$T_TMP/p2.sock" "$id" sleep 1000
  assert_rc 0 "exec --cgroup $spec --pidfd-socket ($ERR)"
  local epid
  epid=$(cat "$T_TMP/exec.pid")
  record_pid "$epid"
  wait_file "$T_TMP/p2.sock.sent" 5 || fail "no pidfd came to the socket for exec"
  assert_eq "$(cat "$sub/cgroup.procs")" "$epid" "the sub-cgroup's processes"
  pidfd_receiver "$T_TMP/p3.sock" 9
  bcmd exec -d --pid-file "$T_TMP/exec2.pid" --pidfd-socket "$T_TMP/p3.sock" "$id" sleep 1000
  epid=$(cat "$T_TMP/exec2.pid")
  record_pid "$epid"
  wait_gone "$epid" 5 || fail "the exec'd process $epid survived SIGKILL sent through its pidfd"
  bcmd exec --cgroup .. "$id" true
  assert_rc 255 "exec --cgroup .."
  assert_contains "$ERR" "bad sub cgroup path" "its error"
  bcmd exec --cgroup nonexistent "$id" true
  assert_contains "$ERR" "adding pid to cgroup" "exec --cgroup of a missing sub-cgroup"
  assert_eq "$(state_field "$id" status)" running "the container after all that"
}

test_compat_idmapped_mounts() {
  # mounts[].uidMappings/gidMappings and the idmap/ridmap options
  # (runtime-spec 1.2+, as Kubernetes user namespaces use them): files
  # owned by 0 on disk appear as the mapping says, with and without a
  # user namespace of the container's own; the host's files are unchanged.
  mkdir -p "$T_TMP/src/sub"
  touch "$T_TMP/src/foo" "$T_TMP/src/sub/bar"
  chown 1:1 "$T_TMP/src/sub/bar"
  make_bundle a sh -c 'stat -c "%u:%g" /mnt/foo /mnt/sub/bar /plain/foo'
  cfg "$B" "c['mounts'] += [
    {'source': '$T_TMP/src', 'destination': '/mnt', 'options': ['bind'],
     'uidMappings': [{'containerID': 0, 'hostID': 100000, 'size': 65536}],
     'gidMappings': [{'containerID': 0, 'hostID': 200000, 'size': 65536}]},
    {'source': '$T_TMP/src', 'destination': '/plain', 'options': ['bind']}]"
  brun "$B" "$(cid a)"
  assert_rc 0 "run with an id-mapped mount ($ERR)"
  assert_eq "$OUT" "$(printf '100000:200000\n100001:200001\n0:0')" "owners seen (no user namespace)"
  assert_eq "$(stat -c %u:%g "$T_TMP/src/foo")" "0:0" "the host's file"
  # In a user namespace (0 -> 100000): the idmap option alone takes the
  # container's maps, so root's files are root's inside.
  make_bundle b sh -c 'stat -c "%u:%g" /mnt/foo /mnt/sub/bar; touch /mnt/new && echo wrote'
  chmod 755 "$T_TMP"
  cfg "$B" 'c["linux"]["namespaces"].append({"type": "user"})' \
    'c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]' \
    'c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]' \
    "c['mounts'].append({'source': '$T_TMP/src', 'destination': '/mnt', 'options': ['rbind', 'idmap']})"
  chown -R 100000:100000 "$B/rootfs"
  brun "$B" "$(cid b)"
  assert_rc 0 "run in a user namespace with an idmap mount ($ERR)"
  assert_eq "$OUT" "$(printf '0:0\n1:1\nwrote')" "owners seen (user namespace, implied maps)"
  assert_eq "$(stat -c %u:%g "$T_TMP/src/new")" "0:0" "a file made through the mount, on the host"
  # idmap on something other than a bind is refused, naming the mount.
  make_bundle c true
  cfg "$B" 'c["mounts"].append({"type": "tmpfs", "source": "tmpfs", "destination": "/t", "options": ["idmap"]})'
  brun "$B" "$(cid c)"
  assert_rc 1 "idmap on a tmpfs"
  assert_contains "$ERR" "for bind mounts only" "its error"
}

test_compat_delete_force_with_sub_cgroups() {
  # A container that made sub-cgroups of its own and moved a process into
  # them: delete --force kills that process too and removes the subtree.
  make_bundle a sleep 1000
  local id h moved=0 epid
  id=$(cid a)
  must_create "$B" "$id"
  must_start "$id"
  bcmd exec -d --pid-file "$T_TMP/e.pid" "$id" sleep 1000
  epid=$(cat "$T_TMP/e.pid")
  record_pid "$epid"
  for h in /sys/fs/cgroup/memory /sys/fs/cgroup/freezer /sys/fs/cgroup/unified /sys/fs/cgroup; do
    [ -f "$h$T_CG/a/cgroup.procs" ] || continue
    mkdir "$h$T_CG/a/foo" && echo "$epid" >"$h$T_CG/a/foo/cgroup.procs" && moved=1
  done
  [ "$moved" = 1 ] || fail "could not make a sub-cgroup"
  bcmd delete --force "$id"
  assert_rc 0 "delete --force ($ERR)"
  wait_gone "$epid" 5 || fail "the process in the sub-cgroup survived"
  bcmd state "$id"
  assert_rc 1 "state after delete"
  assert_nothing_left "$id" a
}

test_compat_update_cpu_period_under_pod_limit() {
  # A pod's parent cgroup limits CPU to 50%: lowering the period while
  # the old quota would exceed that is refused by the kernel unless the
  # new quota goes first (runc's order on retry).
  local cpu=/sys/fs/cgroup/cpu
  [ -f "$cpu/cpu.cfs_period_us" ] || skip "no cgroup v1 cpu hierarchy on this host"
  mkdir -p "$cpu$T_CG/pod"
  echo 50000 >"$cpu$T_CG/pod/cpu.cfs_quota_us" || fail "set the pod's quota"
  make_bundle a sleep 1000
  cfg "$B" "c['linux']['cgroupsPath'] = '$T_CG/pod/a'" \
    'c["linux"]["resources"]["cpu"] = {"quota": 500000, "period": 1000000}'
  local id
  id=$(cid a)
  must_create "$B" "$id"
  must_start "$id"
  bcmd update --cpu-quota 600000 "$id"
  assert_rc 1 "update above the pod's limit"
  bcmd update --cpu-period 10000 --cpu-quota 3000 "$id"
  assert_rc 0 "update --cpu-period 10000 --cpu-quota 3000 ($ERR)"
  assert_eq "$(cat "$cpu$T_CG/pod/a/cpu.cfs_period_us") $(cat "$cpu$T_CG/pod/a/cpu.cfs_quota_us")" "10000 3000" "period and quota"
}

test_compat_create_refuses_a_frozen_cgroup() {
  # A cgroup that exists and is frozen before create: refused at once
  # (runc's words), nothing made, the cgroup left as it was; before, the
  # init froze in its set-up until the step timeout.
  local f
  if [ -d /sys/fs/cgroup/freezer ]; then
    mkdir -p "/sys/fs/cgroup/freezer$T_CG/a"
    echo FROZEN >"/sys/fs/cgroup/freezer$T_CG/a/freezer.state"
    f="/sys/fs/cgroup/freezer$T_CG/a/freezer.state"
  else
    mkdir -p "/sys/fs/cgroup$T_CG/a"
    echo 1 >"/sys/fs/cgroup$T_CG/a/cgroup.freeze"
    f="/sys/fs/cgroup$T_CG/a/cgroup.freeze"
  fi
  make_bundle a sh -c 'sleep 1000 # frozen-marker'
  local id start
  id=$(cid a)
  start=$SECONDS
  bcreate "$B" "$id"
  assert_rc 1 "create in a frozen cgroup"
  assert_contains "$ERR" "container's cgroup unexpectedly frozen" "its error"
  [ $((SECONDS - start)) -lt 10 ] || fail "create took $((SECONDS - start)) s to refuse"
  [ -z "$(ls -A "$ROOT" 2>/dev/null)" ] || fail "state left behind: $(ls -A "$ROOT")"
  [ -f "$f" ] || fail "the frozen cgroup was removed"
  brun "$B" "$(cid b)" -d
  assert_rc 1 "run -d in a frozen cgroup"
  assert_contains "$ERR" "unexpectedly frozen" "run's error"
  case $f in
  */freezer.state) echo THAWED >"$f" ;;
  *) echo 0 >"$f" ;;
  esac
}

test_compat_userns_bind_keeps_locked_ro() {
  # In a user namespace a read-only source's ro is locked: a bind that
  # does not mention rw keeps it (and gets its own nosuid, nodev); one
  # that asks for rw fails. (runc's mounts_sshfs.bats, on a tmpfs.)
  make_bundle a sh -c 'awk "\$2 == \"/mnt\" { print \$4 }" /proc/self/mounts'
  chmod 755 "$T_TMP"
  mkdir -p "$T_TMP/ro"
  cfg "$B" 'c["linux"]["namespaces"].append({"type": "user"})' \
    'c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]' \
    'c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]' \
    "c['mounts'].append({'source': '$T_TMP/ro', 'destination': '/mnt', 'type': 'bind', 'options': ['bind', 'nosuid', 'nodev', 'rprivate']})"
  chown -R 100000:100000 "$B/rootfs"
  ln -s busybox "$B/rootfs/bin/awk" 2>/dev/null
  local out
  out=$(unshare -m --propagation private sh -c '
    mount -t tmpfs -o rw,suid,dev,exec src "$4" && mount --bind -o remount,ro "$4" || exit 90
    "$0" --root "$1" run --bundle "$2" "$3" </dev/null 2>&1; echo "rc=$?"' "$BERTH" "$ROOT" "$B" "$(cid a)" "$T_TMP/ro")
  assert_contains "$out" "rc=0" "run, bind without rw ($out)"
  assert_match "$(head -1 <<<"$out")" '^ro,nosuid,nodev' "the mount's flags"
  cfg "$B" 'c["mounts"][-1]["options"] = ["bind", "rw", "nosuid", "nodev", "rprivate"]'
  out=$(unshare -m --propagation private sh -c '
    mount -t tmpfs -o rw,suid,dev,exec src "$4" && mount --bind -o remount,ro "$4" || exit 90
    "$0" --root "$1" run --bundle "$2" "$3" </dev/null 2>&1; echo "rc=$?"' "$BERTH" "$ROOT" "$B" "$(cid b)" "$T_TMP/ro")
  assert_contains "$out" "rc=1" "run, bind asking rw of a locked ro ($out)"
  assert_contains "$out" "not permitted" "its error"
}

test_compat_net_devices() {
  # linux.netDevices (runtime-spec 1.2+): a host interface (one end of a
  # veth pair here; this host's kernel has no dummy) moves into the
  # container's network namespace, renamed as asked, and back to the host
  # under its own name at delete when the namespace outlives the init (a
  # namespace joined by path). Bad configs fail naming the field.
  # Globals, not locals: the EXIT trap runs after this function returns.
  ND_DEV="bt${T_SALT:0:6}" ND_NS="berth-nd-${T_SALT:0:6}"
  local dev=$ND_DEV peer="bp${T_SALT:0:6}" ns=$ND_NS
  trap 'ip link del "$ND_DEV" 2>/dev/null; ip link del "${ND_DEV}b" 2>/dev/null; ip netns del "$ND_NS" 2>/dev/null; cleanup_test "$T_TMP" "$ROOT" "$T_CG"' EXIT
  ip link add "$dev" type veth peer name "$peer" || fail "make a veth pair"
  make_bundle a sh -c 'ip -o link show ctr0 | cut -d: -f2'
  ln -s busybox "$B/rootfs/bin/ip"
  cfg "$B" "c['linux']['netDevices'] = {'$dev': {'name': 'ctr0'}}"
  brun "$B" "$(cid a)"
  assert_rc 0 "run with a net device ($ERR)"
  assert_match "$(tr -d ' ' <<<"$OUT")" '^ctr0(@.*)?$' "the device inside, renamed"
  # The container's own namespace died with it, and the veth with it.
  ip link show "$dev" >/dev/null 2>&1 && fail "the veth end is still on the host after the container's namespace died"
  # A namespace joined by path outlives the init: delete moves the device
  # back, under its own name.
  # (A second pair: the first one's destruction is asynchronous.)
  dev=${dev}b peer=${peer}b
  ip link add "$dev" type veth peer name "$peer" || fail "make a second veth pair"
  ip netns add "$ns" || fail "ip netns add"
  make_bundle b sleep 1000
  ln -s busybox "$B/rootfs/bin/ip"
  cfg "$B" "c['linux']['netDevices'] = {'$dev': {'name': 'ctr1'}}" \
    "[n.update({'path': '/run/netns/$ns'}) for n in c['linux']['namespaces'] if n['type'] == 'network']"
  local id
  id=$(cid b)
  must_create "$B" "$id"
  must_start "$id"
  ip netns exec "$ns" ip link show ctr1 >/dev/null 2>&1 || fail "ctr1 is not in the joined namespace"
  ip link show "$dev" >/dev/null 2>&1 && fail "the device is still on the host while the container runs"
  bcmd kill "$id" KILL
  wait_status "$id" stopped
  bcmd delete "$id"
  assert_rc 0 "delete ($ERR)"
  ip link show "$dev" >/dev/null 2>&1 || fail "the device did not come back to the host as $dev"
  # Bad configs.
  make_bundle c sh -c 'sleep 1000 # netdev-marker'
  cfg "$B" "c['linux']['netDevices'] = {'no-such-dev0': {}}"
  expect_create_fails "$B" "$(cid c)" c netdev-marker "linux.netDevices" "no such network device"
  cfg "$B" "c['linux']['netDevices'] = {'$dev': {'name': 'a/b'}}"
  expect_create_fails "$B" "$(cid c)" c netdev-marker "linux.netDevices" "not a valid interface name"
  cfg "$B" "c['linux']['netDevices'] = {'$dev': {}}" \
    'c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]'
  expect_create_fails "$B" "$(cid c)" c netdev-marker "linux.netDevices" "needs a network namespace"
}

test_compat_created_container_dies_of_sigterm() {
  # A created container is stopped by `kill ID` (SIGTERM), as with runc:
  # its waiting init is PID 1 of its namespace and would otherwise ignore
  # a signal it has no handler for. After start the program's own
  # dispositions apply (a shell as PID 1 ignores SIGTERM).
  make_bundle a sleep 1000
  local id
  id=$(cid a)
  must_create "$B" "$id"
  bcmd kill "$id"
  assert_rc 0 "kill (TERM) of a created container"
  wait_status "$id" stopped 5
  bcmd delete "$id"
  make_bundle b sh -c 'echo started >/host/started; sleep 1000'
  id=$(cid b)
  must_create "$B" "$id"
  must_start "$id"
  wait_file "$B/host/started" 5 || fail "the process did not start"
  bcmd kill "$id" TERM
  sleep 0.5
  assert_eq "$(state_field "$id" status)" running "a started sh (PID 1, no handler) after SIGTERM"
}

test_compat_no_pivot_hides_stacked_host_procfs() {
  # The same with two procfs mounts stacked on the host's /proc (what
  # `unshare --mount-proc` leaves, as runc's suite runs): both go.
  make_bundle a unshare -mrpf sh -c 'mount -t proc none /proc && echo MOUNTED'
  ln -s busybox "$B/rootfs/bin/unshare"
  cfg "$B" 'c["process"]["capabilities"]["bounding"].append("CAP_SETFCAP")' \
    'c["process"]["capabilities"]["permitted"].append("CAP_SETFCAP")'
  local out
  out=$(unshare -m --propagation private sh -c '
    mount -t proc proc /proc || exit 90
    "$0" --root "$1" run --no-pivot --bundle "$2" "$3" </dev/null 2>&1; echo "rc=$?"' "$BERTH" "$ROOT" "$B" "$(cid a)")
  assert_not_contains "$out" "MOUNTED" "a procfs mounted under --no-pivot with a stacked host /proc ($out)"
  assert_contains "$out" "ermission denied" "the mount's error ($out)"
}

test_compat_idmapped_source_made_by_an_earlier_mount() {
  # An id-mapped bind whose source inside the rootfs is what an earlier
  # mount put there: mapped at its turn, not before the mounts (runc's
  # "mount order, container idmap source").
  # The second id-mapped rbind's tree holds the first (already mapped,
  # which the kernel never maps twice): mappings alone map the top mount.
  mkdir -p "$T_TMP/src/sub"
  touch "$T_TMP/src/foo"
  make_bundle a stat -c %u:%g /final/foo /mnt/sub/foo
  local rootfs=$B/rootfs
  mkdir -p "$rootfs/mnt" "$rootfs/final"
  local maps="'uidMappings': [{'containerID': 0, 'hostID': 100000, 'size': 65536}], 'gidMappings': [{'containerID': 0, 'hostID': 100000, 'size': 65536}]"
  cfg "$B" "c['mounts'] += [
    {'source': '$T_TMP/src', 'destination': '/mnt', 'type': 'bind', 'options': ['rbind']},
    {'source': '$rootfs/mnt', 'destination': '/mnt/sub', 'type': 'bind', 'options': ['rbind'], $maps},
    {'source': '$rootfs/mnt', 'destination': '/final', 'type': 'bind', 'options': ['rbind'], $maps}]"
  brun "$B" "$(cid a)"
  assert_rc 0 "run ($ERR)"
  assert_eq "$OUT" "$(printf '100000:100000\n100000:100000')" "the owner seen through the id-mapped mounts"
}

test_compat_rootfs_propagation_slave_read_back() {
  # linux.rootfsPropagation "slave" leaves / a slave of the host's mount
  # (runc's mounts_propagation_unsafe.bats reads it back); "private" stays
  # private.
  make_bundle a sh -c 'awk "\$5 == \"/\"" /proc/self/mountinfo | grep -o "master:[0-9]*" || echo no-master'
  ln -s busybox "$B/rootfs/bin/awk" 2>/dev/null
  cfg "$B" 'c["linux"]["rootfsPropagation"] = "slave"'
  local out
  out=$(unshare -m --propagation shared sh -c '"$0" --root "$1" run --bundle "$2" "$3" </dev/null 2>&1; echo "rc=$?"' "$BERTH" "$ROOT" "$B" "$(cid a)")
  assert_contains "$out" "rc=0" "run ($out)"
  assert_contains "$out" "master:" "/ is a slave with rootfsPropagation slave ($out)"
  cfg "$B" 'c["linux"]["rootfsPropagation"] = "private"'
  out=$(unshare -m --propagation shared sh -c '"$0" --root "$1" run --bundle "$2" "$3" </dev/null 2>&1; echo "rc=$?"' "$BERTH" "$ROOT" "$B" "$(cid b)")
  assert_contains "$out" "no-master" "/ with rootfsPropagation private ($out)"
}

test_compat_userns_early_tree_is_not_a_host_peer() {
  # A bind source taken early (open_tree) is a copy of the host's mount,
  # and a copy of a shared mount joins its peer group: mounts made under
  # it in the container would appear on the host. It is made a slave.
  make_bundle a sh -c 'grep " /tmp/mount-1 " /proc/self/mountinfo'
  mkdir -p "$B/hidden/dir"
  chmod 700 "$B/hidden"
  chmod 755 "$T_TMP"
  cfg "$B" 'c["linux"]["namespaces"].append({"type": "user"})' \
    'c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]' \
    'c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]' \
    'c["mounts"].append({"source": "hidden/dir", "destination": "/tmp/mount-1", "options": ["bind"]})'
  chown -R 100000:100000 "$B/rootfs"
  local out
  out=$(unshare -m --propagation shared sh -c '"$0" --root "$1" run --bundle "$2" "$3" </dev/null 2>&1; echo "rc=$?"' "$BERTH" "$ROOT" "$B" "$(cid a)")
  assert_contains "$out" "rc=0" "run ($out)"
  assert_contains "$out" "/tmp/mount-1" "the mount inside ($out)"
  assert_not_contains "$out" "shared:" "the early tree's propagation ($out)"
}
