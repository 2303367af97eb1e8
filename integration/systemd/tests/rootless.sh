# shellcheck shell=bash
# berth for an ordinary user on a systemd host (issue 20), in the systemd
# guest: the user RL_USER (made by guest.sh, lingering, with a subuid
# range; user@.service delegates cpu, io, memory and pids) runs the
# runtime in its own systemd user session. Each command runs as a
# transient service of the user's systemd (systemd-run --user --pipe), so
# that it starts inside the user's delegated cgroup tree, as a shell of a
# logged-in user would. Runs with berth, then with runc (ITEST_RUNTIME).
#
#   the systemd driver on the user bus: limits as unit properties, read
#     back from systemd and from the cgroup files; update; delete
#   cgroupfs in a directory delegated to the user (a Delegate=yes unit)
#   rootless Podman (podman --runtime): run, -m, --pids-limit, exec,
#     stop, rm

: "${RL_USER:?guest.sh sets RL_USER}"
RL_UID=$(id -u "$RL_USER")
RL_XDG=/run/user/$RL_UID
# The user's manager's cgroup; its units go below it.
RL_CG=/sys/fs/cgroup/user.slice/user-$RL_UID.slice/user@$RL_UID.service
SD_PREFIX=bitest

# as_user CMD...: CMD as the user, in a transient service of the user's
# systemd (RL_PROPS: more -p properties for it). Output in OUT/ERR,
# status in RC.
as_user() {
  local props=(--quiet) p
  # RL_LOUD: systemd-run also says how its service ended.
  [ -n "${RL_LOUD:-}" ] && props=()
  for p in ${RL_PROPS:-}; do props+=(-p "$p"); done
  timeout 120 runuser -u "$RL_USER" -- env XDG_RUNTIME_DIR="$RL_XDG" \
    DBUS_SESSION_BUS_ADDRESS="unix:path=$RL_XDG/bus" \
    systemd-run --user --wait --pipe --collect "${props[@]}" \
    -E PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin -E HOME="/home/$RL_USER" -- "$@" \
    </dev/null >"$T_TMP/.out" 2>"$T_TMP/.err"
  RC=$?
  OUT=$(cat "$T_TMP/.out")
  ERR=$(cat "$T_TMP/.err")
}

# user_prop UNIT NAME: a property of one of the user's units.
user_prop() {
  runuser -u "$RL_USER" -- env XDG_RUNTIME_DIR="$RL_XDG" DBUS_SESSION_BUS_ADDRESS="unix:path=$RL_XDG/bus" \
    systemctl --user show -P "$2" "$1" 2>/dev/null
}

# The runtime as the user, with a state root of the test's own.
rt() { as_user "$BERTH" --root "$RL_ROOT" "$@"; }

# rl_bundle NAME ARGS...: `spec --rootless` (berth's, for both runtimes)
# with the user's ids, process.args = ARGS; owned by the user.
rl_bundle() {
  local name=$1
  shift
  B=$T_TMP/$name
  mkdir -p "$B/rootfs/bin" "$B/rootfs/proc" "$B/rootfs/sys" "$B/rootfs/dev" "$B/rootfs/tmp"
  cp "$BUSYBOX" "$B/rootfs/bin/busybox"
  for a in $APPLETS; do ln -s busybox "$B/rootfs/bin/$a"; done
  (cd "$B" && "$ITEST_SPEC" spec --rootless) || fail "spec --rootless"
  RLU=$RL_UID cfg "$B" 'c["process"]["terminal"] = False' \
    "c['process']['args'] = $(printf '%s\n' "$@" | py -c 'import json,sys; print(json.dumps(sys.stdin.read().splitlines()))')" \
    'for k in ("uidMappings", "gidMappings"): c["linux"][k][0]["hostID"] = int(E["RLU"])' \
    'c["linux"].pop("resources", None)'
  chown -R "$RL_USER:" "$B"
}

sd_unit() { echo "$SD_PREFIX-$(cid "$1").scope"; }

# Each test's containers go with it: deleted as the user, then the
# state root.
eval "lib_$(declare -f cleanup_test)"
cleanup_test() {
  local id
  if [ -n "${RL_ROOT:-}" ] && [ -d "$RL_ROOT" ]; then
    for id in $(ls "$RL_ROOT" 2>/dev/null); do
      [ "$id" = .lock ] || rt delete --force "$id"
    done
    rm -rf "$RL_ROOT"
  fi
  as_user podman rm -f -a
  lib_cleanup_test "$@"
}

rl_setup() {
  [ -S "$RL_XDG/bus" ] || fail "the user's bus $RL_XDG/bus is not there"
  RL_ROOT=$RL_XDG/bitest-$T_SALT
  runuser -u "$RL_USER" -- mkdir -p "$RL_ROOT" || fail "mkdir $RL_ROOT"
}

test_rl_systemd_driver_limits_read_back() {
  rl_setup
  rl_bundle a sleep 1000
  local id u dir
  id=$(cid a)
  u=$(sd_unit a)
  P="user.slice:$SD_PREFIX:$id" cfg "$B" 'c["linux"]["cgroupsPath"] = E["P"]' \
    'c["linux"]["resources"] = {"memory": {"limit": 67108864}, "pids": {"limit": 42}, "cpu": {"quota": 50000, "period": 100000}}'
  rt --systemd-cgroup run -d --bundle "$B" "$id"
  assert_rc 0 "run -d with --systemd-cgroup as the user"
  # systemd's view (the user's manager) and the files.
  assert_eq "$(user_prop "$u" ActiveState)" active "the unit, in the user's systemd"
  assert_eq "$(user_prop "$u" MemoryMax)" 67108864 "MemoryMax"
  assert_eq "$(user_prop "$u" TasksMax)" 42 "TasksMax"
  dir=$RL_CG/user.slice/$u
  assert_eq "$(cat "$dir/memory.max" 2>&1)" 67108864 "memory.max"
  assert_eq "$(cat "$dir/pids.max" 2>&1)" 42 "pids.max"
  assert_eq "$(cat "$dir/cpu.max" 2>&1)" "50000 100000" "cpu.max"
  rt state "$id"
  local pid
  pid=$(py -c 'import json,sys; print(json.loads(sys.argv[1])["pid"])' "$OUT")
  assert_contains "$(cat "$dir/cgroup.procs")" "$pid" "the init in the unit's cgroup"
  assert_eq "$(stat -c %u "/proc/$pid")" "$RL_UID" "the init's owner on the host"
  # exec joins the unit's cgroup too; update reaches systemd and the file.
  # (The root of its cgroup namespace: the unit's cgroup.)
  rt exec "$id" sh -c 'cat /proc/self/cgroup'
  assert_rc 0 "exec"
  assert_eq "$OUT" "0::/" "exec's cgroup"
  rt update --pids-limit 50 "$id"
  assert_rc 0 "update --pids-limit"
  assert_eq "$(user_prop "$u" TasksMax)" 50 "TasksMax after update"
  assert_eq "$(cat "$dir/pids.max" 2>&1)" 50 "pids.max after update"
  rt delete --force "$id"
  assert_rc 0 "delete --force"
  [ -e "$dir" ] && fail "left behind: $dir"
  assert_eq "$(user_prop "$u" LoadState)" not-found "the unit after delete"
}

test_rl_systemd_driver_pids_limit_holds() {
  rl_setup
  rl_bundle a sleep 1000
  local id
  id=$(cid a)
  P="user.slice:$SD_PREFIX:$id" cfg "$B" 'c["linux"]["cgroupsPath"] = E["P"]' \
    'c["linux"]["resources"] = {"pids": {"limit": 10}}'
  rt --systemd-cgroup run -d --bundle "$B" "$id"
  assert_rc 0 "run -d"
  # The init, the exec'd shell and eight sleeps make ten: the fork of an
  # eleventh fails (and the shell gives up). The limit is enforced, not
  # only written.
  rt exec "$id" sh -c 'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 20 & done; echo all-forked'
  assert_contains "$ERR" "can't fork" "a fork refused by pids.max"
  assert_not_contains "$OUT" "all-forked" "twelve forks under pids.max 10"
  rt delete --force "$id"
  assert_rc 0 "delete --force"
  assert_eq "$(user_prop "$(sd_unit a)" LoadState)" not-found "the unit after delete"
}

test_rl_systemd_default_slice() {
  rl_setup
  rl_bundle a sleep 1000
  local id u
  id=$(cid a)
  # No cgroupsPath: the unit goes in the user's user.slice.
  cfg "$B" 'c["linux"].pop("cgroupsPath", None)'
  rt --systemd-cgroup run -d --bundle "$B" "$id"
  assert_rc 0 "run -d"
  u="$(basename "$BERTH")-$id.scope"
  assert_eq "$(user_prop "$u" Slice)" user.slice "the default slice"
  rt delete --force "$id"
  assert_rc 0 "delete --force"
  assert_eq "$(user_prop "$u" LoadState)" not-found "the unit after delete"
}

test_rl_cgroupfs_in_a_delegated_directory() {
  rl_setup
  rl_bundle a sh -c 'cat /proc/self/cgroup /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max'
  cfg "$B" 'c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "cgroup"] + [{"type": "cgroup"}]' \
    'c["linux"]["cgroupsPath"] = "@OWN@/ctr"' \
    'c["linux"]["resources"] = {"memory": {"limit": 33554432}, "pids": {"limit": 30}}'
  chown "$RL_USER:" "$B/config.json"
  # The user's unit is delegated (Delegate=yes): the script leaves its
  # cgroup for a leaf, enables the controllers below it, and gives the
  # container a directory there.
  cat >"$B/go.sh" <<'EOF'
own=$(cut -d: -f3 /proc/self/cgroup)
mkdir "/sys/fs/cgroup$own/leaf" && echo $$ >"/sys/fs/cgroup$own/leaf/cgroup.procs" || exit 90
echo "+memory +pids" >"/sys/fs/cgroup$own/cgroup.subtree_control" || exit 91
sed -i "s|@OWN@|$own|" "$B/config.json"
"$RT" --root "$ROOT" run --bundle "$B" "$ID"
EOF
  RL_PROPS=Delegate=yes as_user env B="$B" RT="$BERTH" ROOT="$RL_ROOT" ID="$(cid a)" sh "$B/go.sh"
  assert_rc 0 "run in a delegated directory"
  assert_eq "$OUT" $'0::/\n33554432\n30' "the container's cgroup and limits"
}

# Rootless Podman with the runtime (guest.sh imported `bb` for the user).
pm() { as_user podman --runtime "$BERTH" "$@"; }

test_rl_podman_run() {
  rl_setup
  pm run --rm --network none bb sh -c 'id -u; cat /proc/self/uid_map; exit 3'
  assert_rc 3 "podman run's exit status"
  assert_match "$OUT" "^0
 +0 +$RL_UID +1
 +1 +[0-9]+ +65536$" "uid 0 is the user, and the subuid range"
}

test_rl_podman_limits() {
  rl_setup
  pm run --rm --network none -m 64m --pids-limit 42 bb sh -c 'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max'
  assert_rc 0 "podman run -m --pids-limit"
  assert_eq "$OUT" $'67108864\n42' "limits inside"
}

test_rl_podman_exec_stop_rm() {
  rl_setup
  local n
  n=bitest-$T_SALT
  # The service podman runs in ends with podman, and conmon stays in its
  # cgroup (podman gives it no scope of its own here): KillMode=none
  # leaves it to watch the container.
  RL_LOUD=1 RL_PROPS=KillMode=none pm run -d --name "$n" --network none bb sleep 1000
  assert_rc 0 "podman run -d"
  local cid=$OUT
  as_user podman inspect -f '{{.State.ConmonPid}}' "$n"
  echo "note: conmon runs in $(cut -d: -f3 "/proc/$OUT/cgroup" 2>&1)"
  assert_eq "$(user_prop "libpod-$cid.scope" ActiveState)" active "the container's scope in the user's systemd"
  pm exec "$n" sh -c 'echo exec-ok; id -u'
  assert_rc 0 "podman exec"
  assert_eq "$OUT" $'exec-ok\n0' "exec's output"
  pm stop -t 2 "$n"
  assert_rc 0 "podman stop"
  as_user podman inspect -f '{{.State.Status}}' "$n"
  assert_eq "$OUT" exited "status after stop"
  pm rm "$n"
  assert_rc 0 "podman rm"
  assert_eq "$(user_prop "libpod-$cid.scope" LoadState)" not-found "the scope after rm"
}
