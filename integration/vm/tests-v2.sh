# shellcheck shell=bash
# berth on pure cgroup v2, as root with every capability: the tests that need
# the VM (integration/vm/run.sh runs them there, never on the hybrid host).
#
# The format is integration/tests/*.sh's: test_NAME functions run one per
# bash process by integration/run.sh with integration/lib.sh (make_bundle,
# cfg, bcreate, fail, ...). vm/guest-run.sh gives this file a runner of its
# own. The cgroups, security and speed issues add their v2 tests here.
#
# Helpers are prefixed v2_ so that they never clash with the suite's.

# The container's cgroup directory for bundle NAME (its cgroupsPath is
# $T_CG/NAME, set by make_bundle).
v2_cgdir() { echo "/sys/fs/cgroup${T_CG}/$1"; }

# v2_drop_ns BUNDLE TYPE
v2_drop_ns() { NS=$2 cfg "$1" 'c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != E["NS"]]'; }

# v2_wait_empty FILE [seconds]: wait until a cgroup.procs file is empty.
v2_wait_empty() {
  local f=$1 secs=${2:-10} i
  for ((i = 0; i < secs * 20; i++)); do
    [ -z "$(cat "$f" 2>/dev/null)" ] && return 0
    sleep 0.05
  done
  return 1
}

# ---------------------------------------------------------------- host --

test_v2_host_is_pure_cgroup_v2() {
  # The VM is what the other v2 tests rely on: say so plainly if it is not.
  local t
  t=$(stat -fc %T /sys/fs/cgroup)
  assert_eq "$t" cgroup2fs "filesystem type of /sys/fs/cgroup"
  assert_eq "$(awk '$3 == "cgroup"' /proc/mounts)" "" "cgroup v1 mounts"
  local c
  for c in cpu io memory pids; do
    assert_contains " $(cat /sys/fs/cgroup/cgroup.subtree_control) " " $c " "controllers enabled in the root's cgroup.subtree_control"
  done
  local bnd
  bnd=$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)
  (((0x$bnd >> 24) & 1)) || fail "CAP_SYS_RESOURCE is not in the bounding set (CapBnd $bnd)"
}

# ---------------------------------------------------------- placement --

test_v2_cgroup_placement() {
  # No cgroup namespace: /proc/self/cgroup inside shows the real path.
  make_bundle a sh -c 'cat /proc/self/cgroup >/host/cgroup; echo ready >/host/ready; exec sleep 1000'
  v2_drop_ns "$B" cgroup
  local id pid dir
  id=$(cid a)
  dir=$(v2_cgdir a)
  must_create "$B" "$id"
  pid=$(state_field "$id" pid)
  assert_match "$pid" '^[1-9][0-9]*$' "pid after create"
  # The cgroup is joined at create, before the user's process runs.
  [ -f "$dir/cgroup.procs" ] || fail "no cgroup $dir after create"
  assert_eq "$(cat "$dir/cgroup.procs")" "$pid" "$dir/cgroup.procs after create"
  assert_eq "$(cut -d: -f3 "/proc/$pid/cgroup")" "$T_CG/a" "/proc/$pid/cgroup seen from the host"
  must_start "$id"
  wait_file "$B/host/ready" 10 || fail "the container did not start"
  assert_eq "$(cat "$B/host/cgroup")" "0::$T_CG/a" "/proc/self/cgroup inside (pure v2: one line)"
  assert_eq "$(cat "$dir/cgroup.procs")" "$pid" "$dir/cgroup.procs while running"
  assert_eq "$(cat "$dir/cgroup.type")" domain "cgroup.type"
  bcmd delete --force "$id"
  assert_rc 0 "delete --force"
  [ -d "$dir" ] && fail "cgroup $dir left after delete --force"
  return 0
}

test_v2_init_born_in_its_cgroup() {
  # clone3 with CLONE_INTO_CGROUP: the init never runs in berth's cgroup,
  # and exec's process neither.
  make_bundle a sleep 1000
  local id
  id=$(cid a)
  "$BERTH" --root "$ROOT" --debug --log "$T_TMP/create.log" create --bundle "$B" "$id" \
    </dev/null >"$T_TMP/$id.stdout" 2>"$T_TMP/$id.stderr" || fail "create: $(cat "$T_TMP/$id.stderr")"
  record_pid "$(state_field "$id" pid)"
  assert_contains "$(cat "$T_TMP/create.log")" "born in its cgroup (CLONE_INTO_CGROUP)" "create's debug log"
  assert_eq "$(cat "$(v2_cgdir a)/cgroup.procs")" "$(state_field "$id" pid)" "cgroup.procs"
  must_start "$id"
  bcmd exec "$id" cat /proc/self/cgroup
  assert_rc 0 "exec"
  assert_eq "$OUT" "0::/" "exec's /proc/self/cgroup (in the container's cgroup namespace)"
}

test_v2_cgroup_namespace_root() {
  # With a cgroup namespace (berth spec's default) the container sees its
  # own cgroup as the root.
  make_bundle a sh -c 'cat /proc/self/cgroup'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" "0::/" "/proc/self/cgroup in a cgroup namespace"
}

test_v2_relative_cgroups_path() {
  # A relative cgroupsPath goes under berth's own cgroup (the VM runs the
  # tests in the root cgroup, so under /sys/fs/cgroup itself).
  make_bundle a sh -c 'cat /proc/self/cgroup'
  v2_drop_ns "$B" cgroup
  local rel=berth-itest-rel-$T_SALT
  REL=$rel cfg "$B" 'c["linux"]["cgroupsPath"] = E["REL"]'
  local own
  own=$(cut -d: -f3 /proc/self/cgroup)
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  own=${own%/}
  assert_eq "$OUT" "0::$own/$rel" "/proc/self/cgroup inside"
  [ -d "/sys/fs/cgroup$own/$rel" ] && fail "cgroup /sys/fs/cgroup$own/$rel left after run"
  return 0
}

# ---------------------------------------------------------------- kill --

test_v2_kill_all_via_cgroup() {
  # No pid namespace: killing init alone would leave its children, so only
  # a signal to everything in the cgroup stops them all.
  make_bundle a sh -c 'sleep 1000 & sleep 1000 & echo ready >/host/ready; wait'
  v2_drop_ns "$B" pid
  local id dir pids p
  id=$(cid a)
  dir=$(v2_cgdir a)
  must_create "$B" "$id"
  must_start "$id"
  wait_file "$B/host/ready" 10 || fail "the container did not start"
  pids=$(cat "$dir/cgroup.procs")
  for p in $pids; do record_pid "$p"; done
  assert_eq "$(wc -l <<<"$pids")" 3 "processes in $dir/cgroup.procs"
  bcmd kill --all "$id" KILL
  assert_rc 0 "kill --all KILL"
  v2_wait_empty "$dir/cgroup.procs" 10 || fail "processes left in the cgroup after kill --all: $(cat "$dir/cgroup.procs" | tr '\n' ' ')"
  for p in $pids; do wait_gone "$p" 5 || fail "pid $p survived kill --all"; done
  wait_status "$id" stopped 10
  bcmd delete "$id"
  assert_rc 0 "delete after kill --all"
  [ -d "$dir" ] && fail "cgroup $dir left after delete"
  return 0
}

test_v2_kill_all_term() {
  # kill --all with a catchable signal reaches every process in the cgroup.
  make_bundle a sh -c 'for i in 1 2; do sh -c "trap \"echo $i >>/host/got; exit 0\" TERM; while :; do sleep 0.1; done" & done; echo ready >/host/ready; wait'
  v2_drop_ns "$B" pid
  local id dir
  id=$(cid a)
  dir=$(v2_cgdir a)
  must_create "$B" "$id"
  must_start "$id"
  wait_file "$B/host/ready" 10 || fail "the container did not start"
  sleep 0.3
  bcmd kill --all "$id" TERM
  assert_rc 0 "kill --all TERM"
  v2_wait_empty "$dir/cgroup.procs" 15 || fail "processes left in the cgroup after kill --all TERM: $(tr '\n' ' ' <"$dir/cgroup.procs")"
  assert_eq "$(sort "$B/host/got" | tr '\n' ' ')" "1 2 " "children that trapped TERM"
  wait_status "$id" stopped 10
}

# -------------------------------------------------------------- delete --

test_v2_delete_kills_leftovers_and_removes_cgroup() {
  # No pid namespace and an init that exits at once: its child lives on in
  # the cgroup. delete must kill it (cgroup.kill) and remove the directory.
  make_bundle a sh -c 'sleep 1000 </dev/null >/dev/null 2>&1 & echo $! >/host/child'
  v2_drop_ns "$B" pid
  local id dir child
  id=$(cid a)
  dir=$(v2_cgdir a)
  must_create "$B" "$id"
  must_start "$id"
  wait_file "$B/host/child" 10 || fail "the container did not start"
  child=$(cat "$B/host/child")
  record_pid "$child"
  wait_status "$id" stopped 10
  assert_eq "$(cat "$dir/cgroup.procs")" "$child" "$dir/cgroup.procs once init has exited"
  bcmd delete "$id"
  assert_rc 0 "delete of a stopped container with a process left in its cgroup"
  wait_gone "$child" 5 || fail "the left-over process $child survived delete"
  [ -d "$dir" ] && fail "cgroup $dir left after delete"
  assert_eq "$(ls -A "$ROOT")" "" "--root after delete"
}

test_v2_delete_force_running() {
  make_bundle a sh -c 'sleep 1000 & sleep 1000 & echo ready >/host/ready; wait'
  local id dir pids p
  id=$(cid a)
  dir=$(v2_cgdir a)
  must_create "$B" "$id"
  must_start "$id"
  wait_file "$B/host/ready" 10 || fail "the container did not start"
  pids=$(cat "$dir/cgroup.procs")
  for p in $pids; do record_pid "$p"; done
  bcmd delete --force "$id"
  assert_rc 0 "delete --force of a running container"
  for p in $pids; do wait_gone "$p" 5 || fail "pid $p survived delete --force"; done
  [ -d "$dir" ] && fail "cgroup $dir left after delete --force"
  return 0
}

test_v2_failed_create_leaves_no_cgroup() {
  make_bundle a nosuchprogram-v2-marker
  local id dir
  id=$(cid a)
  dir=$(v2_cgdir a)
  bcreate "$B" "$id"
  assert_rc 1 "create of a missing executable"
  [ -d "$dir" ] && fail "cgroup $dir left after a failed create"
  assert_nothing_left "$id" a nosuchprogram-v2-marker
}

# ------------------------------------------------------- pause/resume --

# v2_count_lines FILE: its number of lines (0 when missing).
v2_count_lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

test_v2_pause_resume_cgroup_freeze() {
  make_bundle a sh -c 'i=0; while :; do i=$((i + 1)); echo $i >>/host/count; sleep 0.1; done'
  local id dir n1 n2 i
  id=$(cid a)
  dir=$(v2_cgdir a)
  must_create "$B" "$id"
  must_start "$id"
  for ((i = 0; i < 200 && $(v2_count_lines "$B/host/count") < 2; i++)); do sleep 0.05; done
  (($(v2_count_lines "$B/host/count") >= 2)) || fail "the counter did not start"
  assert_eq "$(cat "$dir/cgroup.freeze")" 0 "$dir/cgroup.freeze while running"
  bcmd pause "$id"
  assert_rc 0 "pause"
  assert_eq "$(cat "$dir/cgroup.freeze")" 1 "$dir/cgroup.freeze after pause"
  assert_contains "$(cat "$dir/cgroup.events")" "frozen 1" "$dir/cgroup.events after pause"
  assert_eq "$(state_field "$id" status)" paused "status after pause"
  n1=$(v2_count_lines "$B/host/count")
  sleep 1
  n2=$(v2_count_lines "$B/host/count")
  assert_eq "$n2" "$n1" "lines counted during 1 s of pause"
  bcmd resume "$id"
  assert_rc 0 "resume"
  assert_eq "$(cat "$dir/cgroup.freeze")" 0 "$dir/cgroup.freeze after resume"
  assert_contains "$(cat "$dir/cgroup.events")" "frozen 0" "$dir/cgroup.events after resume"
  assert_eq "$(state_field "$id" status)" running "status after resume"
  for ((i = 0; i < 200 && $(v2_count_lines "$B/host/count") <= n2; i++)); do sleep 0.05; done
  (($(v2_count_lines "$B/host/count") > n2)) || fail "the counter made no progress after resume"
}

test_v2_pause_kill_9() {
  make_bundle a sh -c 'sleep 1000 & echo ready >/host/ready; wait'
  local id dir pids p
  id=$(cid a)
  dir=$(v2_cgdir a)
  must_create "$B" "$id"
  must_start "$id"
  wait_file "$B/host/ready" 10 || fail "the container did not start"
  pids=$(cat "$dir/cgroup.procs")
  for p in $pids; do record_pid "$p"; done
  bcmd pause "$id"
  assert_rc 0 "pause"
  assert_eq "$(cat "$dir/cgroup.freeze")" 1 "$dir/cgroup.freeze after pause"
  bcmd kill "$id" 9
  assert_rc 0 "kill 9 of a paused container"
  for p in $pids; do wait_gone "$p" 10 || fail "pid $p survived kill 9 of the paused container"; done
  wait_status "$id" stopped 10
  bcmd delete "$id"
  assert_rc 0 "delete after kill 9"
  [ -d "$dir" ] && fail "cgroup $dir left after delete"
  assert_eq "$(ls -A "$ROOT")" "" "--root after delete"
}

test_v2_pause_delete_force_no_pidns() {
  # No pid namespace: the init's death alone would leave its frozen
  # children; delete --force must end them all and remove the cgroup.
  make_bundle a sh -c 'sleep 1000 & sleep 1000 & echo ready >/host/ready; wait'
  v2_drop_ns "$B" pid
  local id dir pids p
  id=$(cid a)
  dir=$(v2_cgdir a)
  must_create "$B" "$id"
  must_start "$id"
  wait_file "$B/host/ready" 10 || fail "the container did not start"
  pids=$(cat "$dir/cgroup.procs")
  for p in $pids; do record_pid "$p"; done
  assert_eq "$(wc -l <<<"$pids")" 3 "processes in $dir/cgroup.procs"
  bcmd pause "$id"
  assert_rc 0 "pause"
  assert_contains "$(cat "$dir/cgroup.events")" "frozen 1" "$dir/cgroup.events after pause"
  bcmd ps --format json "$id"
  assert_eq "$OUT" "[$(sort -n <<<"$pids" | paste -sd,)]" "ps --format json of the paused container"
  bcmd delete --force "$id"
  assert_rc 0 "delete --force of a paused container"
  for p in $pids; do wait_gone "$p" 5 || fail "pid $p survived delete --force"; done
  [ -d "$dir" ] && fail "cgroup $dir left after delete --force"
  assert_eq "$(ls -A "$ROOT")" "" "--root after delete --force"
}

# ----------------------------------------------------------- resources --

test_v2_cpu_limits_applied() {
  # cgroups.sh checks the same on both hierarchies; this one also looks at
  # the parent's subtree_control and the affinity inside.
  make_bundle a sh -c 'grep Cpus_allowed_list /proc/self/status'
  cfg "$B" 'c["linux"].setdefault("resources", {})["cpu"] = {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"}'
  local id dir
  id=$(cid a)
  dir=$(v2_cgdir a)
  must_create "$B" "$id"
  assert_eq "$(cat "$dir/cpu.weight")" 20 "cpu.weight (from shares 512)"
  assert_eq "$(cat "$dir/cpu.max")" "50000 100000" "cpu.max"
  assert_eq "$(cat "$dir/cpuset.cpus")" 0 "cpuset.cpus"
  assert_contains " $(cat "$(dirname "$dir")/cgroup.subtree_control") " " cpu " "the parent's cgroup.subtree_control"
  must_start "$id"
  wait_status "$id" stopped 10
  assert_eq "$(cat "$T_TMP/$id.stdout")" "$(printf 'Cpus_allowed_list:\t0')" "affinity inside"
}

# ------------------------------------------------------------- devices --

# berth has no devices controller on v2: linux.resources.devices becomes an
# eBPF program attached to the container's cgroup. /dev/kmsg (c 1:11) is
# not among berth's default devices; these tests give it to the container
# as /dev/kmsg2 (linux.devices) and vary the rules. The container gets
# CAP_MKNOD (to try mknod) and CAP_SYSLOG (reading /dev/kmsg needs it when
# dmesg_restrict is set), so only the filter can refuse.

# Shell functions for the container: `o DEV REDIR` opens DEV with the
# redirection REDIR (< read, > write, <> both) and `m PATH TYPE MAJ MIN`
# makes a node; each prints what it did and `ok` or the error's errno text.
V2_PROBE='o() { e=$(eval ": $2$1" 2>&1) && echo "$1 $2 ok" || echo "$1 $2 ${e##*: }"; }
m() { e=$(busybox mknod "$@" 2>&1) && echo "mknod $1 ok" || echo "mknod $1 ${e##*: }"; }
'
V2_EPERM="Operation not permitted"

# v2_dev_bundle NAME SCRIPT [PYTHON...]: a bundle that runs V2_PROBE then
# SCRIPT, with /dev/kmsg2, CAP_MKNOD and CAP_SYSLOG; each PYTHON (cfg)
# then edits its config (berth spec's rules are [deny all]).
v2_dev_bundle() {
  local name=$1 script=$2
  shift 2
  make_bundle "$name" sh -c "$V2_PROBE$script"
  cfg "$B" 'c["linux"]["devices"] = [{"path": "/dev/kmsg2", "type": "c", "major": 1, "minor": 11, "fileMode": 0o666}]' \
    'for s in ("bounding", "effective", "permitted"): c["process"]["capabilities"][s] += ["CAP_MKNOD", "CAP_SYSLOG"]' \
    "$@"
}

# v2_joined LINE...: the lines joined as OUT has them.
v2_joined() { printf '%s\n' "$@"; }

test_v2_devices_unlisted_device_refused() {
  # berth spec's [deny all] plus the defaults: the node exists, but it
  # cannot be opened, and no device outside the defaults can be made.
  v2_dev_bundle a 'o /dev/kmsg2 "<"; o /dev/kmsg2 ">"; m /dev/kmsg3 c 1 11; m /dev/loop9 b 7 9'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" "$(v2_joined "/dev/kmsg2 < $V2_EPERM" "/dev/kmsg2 > $V2_EPERM" \
    "mknod /dev/kmsg3 $V2_EPERM" "mknod /dev/loop9 $V2_EPERM")" "a device the rules do not allow"
}

test_v2_devices_defaults_usable() {
  v2_dev_bundle a 'o /dev/null "<>"; o /dev/zero "<"; o /dev/full "<>"; o /dev/random "<"; o /dev/urandom "<"
head -c 4 /dev/zero | wc -c; head -c 8 /dev/urandom | wc -c; echo x 2>&1 >/dev/full
m /dev/null2 c 1 3; o /dev/null2 "<>"; o /dev/tty "<>"'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  # No controlling terminal: /dev/tty is allowed but has nothing behind it.
  assert_eq "$OUT" "$(v2_joined "/dev/null <> ok" "/dev/zero < ok" "/dev/full <> ok" \
    "/dev/random < ok" "/dev/urandom < ok" 4 8 "sh: write error: No space left on device" \
    "mknod /dev/null2 ok" "/dev/null2 <> ok" "/dev/tty <> No such device or address")" "the default devices"
}

test_v2_devices_allow_rule_access_subsets() {
  # Read only: write and mknod stay refused.
  v2_dev_bundle a 'o /dev/kmsg2 "<"; o /dev/kmsg2 ">"; o /dev/kmsg2 "<>"; m /dev/kmsg3 c 1 11' \
    'c["linux"]["resources"]["devices"].append({"allow": True, "type": "c", "major": 1, "minor": 11, "access": "r"})'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" "$(v2_joined "/dev/kmsg2 < ok" "/dev/kmsg2 > $V2_EPERM" "/dev/kmsg2 <> $V2_EPERM" \
    "mknod /dev/kmsg3 $V2_EPERM")" "allowed for r"
  # Write and mknod (any minor of major 1), read taken back by a later
  # deny. (The v1 controller would leave the read: there a deny removes
  # only a rule for exactly the same device. The v2 filter does what the
  # list says: the last matching rule wins.)
  v2_dev_bundle b 'o /dev/kmsg2 "<"; o /dev/kmsg2 ">"; m /dev/kmsg3 c 1 11; o /dev/kmsg3 ">"; m /dev/loop9 b 7 9' \
    'c["linux"]["resources"]["devices"] += [{"allow": True, "type": "c", "major": 1, "access": "rwm"}, {"allow": False, "type": "c", "major": 1, "minor": 11, "access": "r"}]'
  brun "$B" "$(cid b)"
  assert_rc 0 "run"
  assert_eq "$OUT" "$(v2_joined "/dev/kmsg2 < $V2_EPERM" "/dev/kmsg2 > ok" "mknod /dev/kmsg3 ok" \
    "/dev/kmsg3 > ok" "mknod /dev/loop9 $V2_EPERM")" "allowed for c 1:* rwm, then denied for c 1:11 r"
}

test_v2_devices_ending_in_allow_all() {
  v2_dev_bundle a 'o /dev/kmsg2 "<>"; m /dev/kmsg3 c 1 11; m /dev/loop9 b 7 9; o /dev/null "<>"' \
    'c["linux"]["resources"]["devices"] += [{"allow": False, "type": "c", "major": 1, "minor": 11, "access": "rwm"}, {"allow": True, "access": "rwm"}]'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" "$(v2_joined "/dev/kmsg2 <> ok" "mknod /dev/kmsg3 ok" "mknod /dev/loop9 ok" \
    "/dev/null <> ok")" "rules ending in allow-all"
  # Allow-all, then a deny: a hole for just that.
  v2_dev_bundle b 'o /dev/kmsg2 "<"; o /dev/kmsg2 ">"; m /dev/loop9 b 7 9' \
    'c["linux"]["resources"]["devices"] = [{"allow": True, "access": "rwm"}, {"allow": False, "type": "c", "major": 1, "minor": 11, "access": "r"}]'
  brun "$B" "$(cid b)"
  assert_rc 0 "run"
  assert_eq "$OUT" "$(v2_joined "/dev/kmsg2 < $V2_EPERM" "/dev/kmsg2 > ok" "mknod /dev/loop9 ok")" "allow-all, then deny c 1:11 r"
}

test_v2_devices_filter_is_on_the_cgroup() {
  # The filter belongs to the container's cgroup, not to its processes:
  # whatever joins the cgroup later is held to it too.
  v2_dev_bundle a 'echo ready >/host/ready; sleep 1000 & wait'
  local id dir
  id=$(cid a)
  dir=$(v2_cgdir a)
  must_create "$B" "$id"
  must_start "$id"
  wait_file "$B/host/ready" 10 || fail "the container did not start"
  # A process of the guest's, moved into the container's cgroup, cannot
  # open /dev/kmsg either, though nothing else stops it.
  sh -c 'echo $$ >"$1/cgroup.procs" && exec head -c 0 /dev/kmsg' sh "$dir" 2>"$T_TMP/err"
  RC=$?
  assert_rc 1 "head -c 0 /dev/kmsg in the container's cgroup"
  assert_contains "$(cat "$T_TMP/err")" "$V2_EPERM" "error"
  head -c 0 /dev/kmsg || fail "/dev/kmsg does not open outside the container's cgroup"
  bcmd delete --force "$id"
  assert_rc 0 "delete --force"
}

test_v2_devices_bad_rule_leaves_nothing() {
  make_bundle a sh -c 'sleep 1000 # v2-devices-marker'
  cfg "$B" 'c["linux"]["resources"]["devices"].append({"allow": True, "type": "c", "major": 1, "minor": 11, "access": "rwx"})'
  local id
  id=$(cid a)
  bcreate "$B" "$id"
  assert_rc 1 "create with access \"rwx\""
  assert_contains "$ERR" "linux.resources.devices[1].access" "error"
  [ -d "$(v2_cgdir a)" ] && fail "cgroup $(v2_cgdir a) left after the refused create"
  assert_nothing_left "$id" a v2-devices-marker
}

# ------------------------------------------------------------- rlimits --

test_v2_rlimit_raise_hard() {
  # The VM has CAP_SYS_RESOURCE (the hybrid host does not): a hard limit
  # above the caller's own must be applied.
  local hard max want
  hard=$(ulimit -Hn)
  max=$(cat /proc/sys/fs/nr_open)
  [ "$hard" == unlimited ] && hard=$((max / 2))
  want=$((hard + 1024))
  ((want > max)) && want=$max
  ((want > hard)) || fail "cannot pick a hard RLIMIT_NOFILE above $hard (nr_open $max)"
  make_bundle a sh -c 'ulimit -Sn; ulimit -Hn'
  N=$want cfg "$B" 'c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": int(E["N"]), "hard": int(E["N"])}]'
  brun "$B" "$(cid a)"
  assert_rc 0 "run with RLIMIT_NOFILE $want above the caller's hard limit $hard"
  assert_eq "$OUT" "$want"$'\n'"$want" "soft and hard RLIMIT_NOFILE inside"
}

# ------------------------------------------------------------- memory --

test_v2_memory_policy_two_nodes() {
  # linux.memoryPolicy on a host with two NUMA nodes (run.sh boots the VM
  # with two): interleave over both, bind to the second, and a node the
  # host does not have refused naming the field.
  local nodes
  nodes=$(cat /sys/devices/system/node/possible)
  assert_eq "$nodes" "0-1" "the VM's NUMA nodes"
  make_bundle a sh -c 'head -n 1 /proc/self/numa_maps | cut -d " " -f 2-'
  cfg "$B" 'c["linux"]["memoryPolicy"] = {"mode": "MPOL_INTERLEAVE", "nodes": "0-1"}'
  brun "$B" "$(cid a)"
  assert_rc 0 "run, interleave 0-1 ($ERR)"
  assert_match "$OUT" "^interleave:0-1( |$)" "interleave"
  cfg "$B" 'c["linux"]["memoryPolicy"] = {"mode": "MPOL_BIND", "nodes": "1"}'
  brun "$B" "$(cid b)"
  assert_rc 0 "run, bind 1 ($ERR)"
  assert_match "$OUT" "^bind:1( |$)" "bind to node 1"
  cfg "$B" 'c["linux"]["memoryPolicy"] = {"mode": "MPOL_PREFERRED_MANY", "nodes": "0,1", "flags": ["MPOL_F_STATIC_NODES"]}'
  brun "$B" "$(cid c)"
  assert_rc 0 "run, preferred-many static ($ERR)"
  assert_match "$OUT" "^prefer.*many.*static.*:0-1( |$)" "preferred many"
  cfg "$B" 'c["linux"]["memoryPolicy"] = {"mode": "MPOL_BIND", "nodes": "2"}'
  brun "$B" "$(cid d)"
  assert_rc 1 "bind to a node the VM lacks"
  assert_contains "$ERR" "linux.memoryPolicy.nodes: node 2" "its error"
}
