# shellcheck shell=bash
# berth run by an ordinary user (issue 20): a user made by the test (and
# removed by its clean-up) runs berth through setpriv, with a state root of
# its own, on a bundle from `berth spec --rootless`. This host delegates
# no cgroup to users: the containers get none of their own.

# rl_user: make the test's user; sets RL_USER, RL_UID, RL_ROOT (its
# --root) and RL_XDG (its $XDG_RUNTIME_DIR).
rl_user() {
  berth_only "rootless mode"
  command -v useradd >/dev/null && command -v setpriv >/dev/null || skip "useradd or setpriv missing"
  RL_USER=brl$T_SALT
  RL_USER=${RL_USER:0:30}
  useradd -M -d /nonexistent -s /bin/sh "$RL_USER" || fail "useradd $RL_USER"
  echo "$RL_USER" >>"$T_TMP/.users"
  RL_UID=$(id -u "$RL_USER")
  RL_XDG=$T_TMP/xdg-$RL_UID
  RL_ROOT=$RL_XDG/berth
  mkdir -p "$RL_XDG" && chown "$RL_USER:" "$RL_XDG" && chmod 700 "$RL_XDG"
}

# as_user CMD...: CMD as the test's user (its own groups only), with its
# $XDG_RUNTIME_DIR; output in OUT/ERR, status in RC.
as_user() {
  setpriv --reuid="$RL_UID" --regid="$RL_UID" --init-groups \
    env XDG_RUNTIME_DIR="$RL_XDG" PATH="${RL_PATH:-/usr/sbin:/usr/bin:/sbin:/bin}" "$@" \
    </dev/null >"$T_TMP/.out" 2>"$T_TMP/.err"
  RC=$?
  OUT=$(cat "$T_TMP/.out")
  ERR=$(cat "$T_TMP/.err")
}

# rl_bundle NAME ARGS...: a rootless bundle the user can read: the
# config of `berth spec --rootless`, process.args = ARGS.
rl_bundle() {
  local name=$1
  shift
  B=$T_TMP/$name
  mkdir -p "$B/rootfs/bin" "$B/rootfs/proc" "$B/rootfs/sys" "$B/rootfs/dev" "$B/rootfs/tmp"
  chmod 755 "$B" "$B/rootfs"
  cp "$BUSYBOX" "$B/rootfs/bin/busybox" && chmod 755 "$B/rootfs/bin/busybox"
  for a in $APPLETS; do ln -s busybox "$B/rootfs/bin/$a"; done
  (cd "$B" && "$BERTH" spec --rootless) || fail "berth spec --rootless"
  # The user's own ids as the template writes them, for the user.
  RLU=$RL_UID cfg "$B" 'c["process"]["terminal"] = False' "c['process']['args'] = $(printf '%s\n' "$@" | py -c 'import json,sys; print(json.dumps(sys.stdin.read().splitlines()))')" \
    'for k in ("uidMappings", "gidMappings"): c["linux"][k][0]["hostID"] = int(E["RLU"])'
  chmod 644 "$B/config.json"
}

# The test's users go with it (lib.sh's clean-up runs first: containers
# are deleted by root before the user is).
eval "lib_$(declare -f cleanup_test)"
cleanup_test() {
  lib_cleanup_test "$@"
  local u
  if [ -f "$1/.users" ]; then
    while read -r u; do
      userdel "$u" 2>/dev/null
      sed -i "/^$u:/d" /etc/subuid /etc/subgid 2>/dev/null
    done <"$1/.users"
  fi
  return 0
}

test_rootless_run_maps_own_uid() {
  rl_user
  rl_bundle a sh -c 'id -u; cat /proc/self/uid_map; echo hi'
  as_user "$BERTH" run --bundle "$B" "$(cid a)"
  assert_rc 0 "rootless run"
  assert_match "$OUT" "^0
 +0 +$RL_UID +1
hi$" "the container's uid and its map"
  # The default state root of a user: $XDG_RUNTIME_DIR/berth, empty again.
  assert_eq "$(ls -A "$RL_ROOT" 2>&1)" "" "the user's state root after run"
}

test_rootless_lifecycle_and_no_cgroup() {
  rl_user
  rl_bundle a sleep 1000
  local id
  id=$(cid a)
  as_user "$BERTH" create --bundle "$B" "$id"
  assert_rc 0 "rootless create"
  as_user "$BERTH" start "$id"
  assert_rc 0 "rootless start"
  as_user "$BERTH" state "$id"
  assert_contains "$OUT" '"status": "running"' "state"
  local pid
  pid=$(py -c 'import json,sys; print(json.loads(sys.argv[1])["pid"])' "$OUT")
  record_pid "$pid"
  assert_eq "$(stat -c %u "/proc/$pid")" "$RL_UID" "the init's owner on the host"
  # No cgroup of its own: it runs in its caller's.
  assert_eq "$(cat "/proc/$pid/cgroup")" "$(cat /proc/self/cgroup)" "the init's cgroups"
  as_user "$BERTH" kill "$id" KILL
  assert_rc 0 "rootless kill"
  as_user "$BERTH" delete --force "$id"
  assert_rc 0 "rootless delete"
  assert_eq "$(ls -A "$RL_ROOT" 2>&1)" "" "the user's state root after delete"
}

test_rootless_exec() {
  rl_user
  rl_bundle a sleep 1000
  local id
  id=$(cid a)
  as_user "$BERTH" run -d --bundle "$B" "$id"
  assert_rc 0 "rootless run -d"
  # The exec'd process joins the user namespace, then the pid namespace
  # (from inside it), and is forked there.
  as_user "$BERTH" exec "$id" sh -c 'id -u; [ "$(readlink /proc/self/ns/pid)" = "$(readlink /proc/1/ns/pid)" ] && echo same-pid'
  assert_rc 0 "rootless exec"
  assert_eq "$OUT" $'0\nsame-pid' "exec's uid and pid namespace"
  as_user "$BERTH" exec "$id" sh -c 'exit 7'
  assert_rc 7 "rootless exec's exit status"
  as_user "$BERTH" delete --force "$id"
  assert_rc 0 "rootless delete --force"
}

test_rootless_subuid_range() {
  rl_user
  command -v newuidmap >/dev/null || skip "newuidmap (uidmap) is not installed"
  echo "$RL_USER:$((200000 + RL_UID * 65536 % 1000000)):65536" >>/etc/subuid
  echo "$RL_USER:$((200000 + RL_UID * 65536 % 1000000)):65536" >>/etc/subgid
  local base
  base=$((200000 + RL_UID * 65536 % 1000000))
  rl_bundle a sh -c 'cat /proc/self/uid_map /proc/self/gid_map'
  BASE=$base cfg "$B" 'for k in ("uidMappings", "gidMappings"): c["linux"][k].append({"containerID": 1, "hostID": int(E["BASE"]), "size": 65536})'
  as_user "$BERTH" run --bundle "$B" "$(cid a)"
  assert_rc 0 "rootless run with a subuid range"
  assert_match "$OUT" "^ +0 +$RL_UID +1
 +1 +$base +65536
 +0 +$RL_UID +1
 +1 +$base +65536$" "uid and gid maps"
}

test_rootless_errors_leave_nothing() {
  rl_user
  local id
  id=$(cid a)
  # A range the user does not have.
  rl_bundle a true
  cfg "$B" 'for k in ("uidMappings", "gidMappings"): c["linux"][k].append({"containerID": 1, "hostID": 300000, "size": 1000})'
  as_user "$BERTH" run --bundle "$B" "$id"
  assert_rc 1 "a range that is not the user's"
  assert_contains "$ERR" "linux.uidMappings" "error"
  assert_contains "$ERR" "/etc/subuid" "error"
  # The helpers missing.
  RL_PATH=$T_TMP/empty as_user "$BERTH" run --bundle "$B" "$id"
  assert_rc 1 "no newuidmap"
  assert_contains "$ERR" "newuidmap" "error"
  # A limit, and no cgroup delegated to the user.
  rl_bundle b true
  cfg "$B" 'c["linux"]["resources"] = {"memory": {"limit": 67108864}}'
  as_user "$BERTH" run --bundle "$B" "$id"
  assert_rc 1 "a memory limit without delegation"
  assert_contains "$ERR" "linux.resources.memory" "error"
  assert_eq "$(ls -A "$RL_ROOT" 2>&1)" "" "the user's state root"
  assert_nothing_left "$id" a
}

test_rootless_sysfs_without_a_network_namespace() {
  rl_user
  # A sysfs mount in a user namespace that does not own the network
  # namespace is refused by the kernel: the host's /sys is bound, read-only.
  rl_bundle a sh -c 'grep " /sys " /proc/self/mounts; [ -d /sys/kernel ] && echo has-kernel; touch /sys/x 2>/dev/null || echo ro'
  cfg "$B" 'c["mounts"] = [m if m["destination"] != "/sys" else {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev"]} for m in c["mounts"]]' \
    'assert not any(n["type"] == "network" for n in c["linux"]["namespaces"])'
  as_user "$BERTH" run --bundle "$B" "$(cid a)"
  assert_rc 0 "sysfs without a network namespace"
  assert_match "$OUT" "^sysfs /sys sysfs ro," "the bound /sys"
  assert_contains "$OUT" "has-kernel" "the host's /sys"
  assert_contains "$OUT" $'\nro' "read-only"
}

test_rootless_berth_inside_a_user_namespace() {
  rl_user
  command -v unshare >/dev/null || skip "unshare missing"
  # As rootless Podman calls it: berth is root of a user namespace the
  # user made, and the config asks for no user namespace of its own.
  rl_bundle a sh -c 'id -u; cat /proc/self/uid_map; grep -c " /dev/null " /proc/self/mountinfo; head -c 4 /dev/zero | wc -c'
  cfg "$B" 'c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "user"]' \
    'del c["linux"]["uidMappings"], c["linux"]["gidMappings"]'
  as_user unshare --user --map-root-user "$BERTH" run --bundle "$B" "$(cid a)"
  assert_rc 0 "berth in a user namespace"
  # uid 0 is the user; /dev/null is the host's node, bound (mknod is
  # refused there); no cgroup of its own; the user's state root.
  assert_match "$OUT" "^0
 +0 +$RL_UID +1
1
4$" "uid, map, bound device, a read"
  assert_eq "$(ls -A "$RL_ROOT" 2>&1)" "" "the user's state root after run"
  # A limit needs a cgroup the namespace's root may make: none here.
  cfg "$B" 'c["linux"]["resources"] = {"pids": {"limit": 10}}'
  as_user unshare --user --map-root-user "$BERTH" run --bundle "$B" "$(cid a)"
  assert_rc 1 "a limit in a user namespace without delegation"
  assert_contains "$ERR" "linux.resources.pids" "error"
  assert_nothing_left "$(cid a)" a
}

test_rootless_exec_inside_a_user_namespace() {
  rl_user
  command -v unshare >/dev/null && command -v nsenter >/dev/null || skip "unshare or nsenter missing"
  # berth as root of the user's own user namespace (rootless Podman's
  # way) creates a container, then, from the same namespace, execs into
  # it: the exec'd process joins the pid namespace the container's init
  # has (it may not come back to the host's, which the host owns).
  rl_bundle a sleep 1000
  cfg "$B" 'c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "user"]' \
    'del c["linux"]["uidMappings"], c["linux"]["gidMappings"]'
  local id holder i
  id=$(cid a)
  setpriv --reuid="$RL_UID" --regid="$RL_UID" --init-groups env XDG_RUNTIME_DIR="$RL_XDG" \
    unshare --user --map-root-user sh -c "\"\$0\" run -d --bundle \"\$1\" \"\$2\" && echo \$\$ >\"\$3\"; exec sleep 1000" \
    "$BERTH" "$B" "$id" "$RL_XDG/holder" </dev/null >/dev/null 2>&1 &
  record_pid $!
  for ((i = 0; i < 100; i++)); do
    [ -s "$RL_XDG/holder" ] && break
    sleep 0.1
  done
  holder=$(cat "$RL_XDG/holder" 2>/dev/null) || fail "berth run -d in the user namespace did not finish"
  as_user nsenter --user -t "$holder" --preserve-credentials \
    "$BERTH" exec "$id" sh -c 'id -u; [ "$(readlink /proc/self/ns/pid)" = "$(readlink /proc/1/ns/pid)" ] && echo same-pid; exit 6'
  assert_rc 6 "exec's exit status"
  assert_eq "$OUT" $'0\nsame-pid' "exec's uid and pid namespace"
  as_user nsenter --user -t "$holder" --preserve-credentials "$BERTH" delete --force "$id"
  assert_rc 0 "delete --force"
  assert_eq "$(ls -A "$RL_ROOT" 2>&1)" "" "the user's state root after delete"
}

test_rootless_exec_before_start() {
  rl_user
  # As runc: an ordinary user may exec into its created container before
  # starting it (the waiting init is dumpable once it holds the
  # container's own credentials).
  rl_bundle a sh -c 'echo started'
  local id
  id=$(cid a)
  as_user "$BERTH" create --bundle "$B" "$id"
  assert_rc 0 "rootless create"
  as_user "$BERTH" exec "$id" sh -c 'id -u; echo exec-before-start'
  assert_rc 0 "exec into the created container"
  assert_eq "$OUT" $'0\nexec-before-start' "exec's output"
  as_user "$BERTH" delete --force "$id"
  assert_rc 0 "delete --force"
}

test_rootless_container_has_only_the_users_powers() {
  rl_user
  # Root in the container is the user: a root-only host file and
  # directory bound in stay out of reach, no device node can be made, and
  # with the host's pid namespace the host's root processes cannot be
  # signalled.
  echo secret >"$T_TMP/root-only"
  chmod 600 "$T_TMP/root-only"
  mkdir -p "$T_TMP/root-dir"
  chmod 755 "$T_TMP/root-dir"
  # (One line: rl_bundle makes an argument of each line.)
  rl_bundle a sh -c 'cat /secret 2>/dev/null && echo READ-SECRET; touch /rootdir/x 2>/dev/null && echo WROTE-ROOT-DIR; mknod /dev/mem2 c 1 1 2>/dev/null && echo MADE-DEVICE; kill -0 1 2>/dev/null && echo SIGNALLED-HOST-INIT; cat /proc/1/environ >/dev/null 2>&1 && echo READ-HOST-INIT; echo tried'
  # (A user namespace may mount a procfs only for a pid namespace of its
  # own: the host's /proc is bound instead.)
  cfg "$B" 'c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "pid"]' \
    'c["mounts"] = [dict(m, type="bind", source="/proc", options=["rbind"]) if m["destination"] == "/proc" else m for m in c["mounts"]]' \
    'c["process"]["capabilities"] = {k: ["CAP_SYS_ADMIN", "CAP_DAC_OVERRIDE", "CAP_KILL", "CAP_MKNOD", "CAP_SYS_PTRACE"] for k in ("bounding", "effective", "permitted")}' \
    "c['mounts'] += [{'destination': '/secret', 'type': 'bind', 'source': '$T_TMP/root-only', 'options': ['bind']},
                     {'destination': '/rootdir', 'type': 'bind', 'source': '$T_TMP/root-dir', 'options': ['bind']}]"
  touch "$B/rootfs/secret" && mkdir "$B/rootfs/rootdir"
  as_user "$BERTH" run --bundle "$B" "$(cid a)"
  assert_rc 0 "rootless run"
  assert_eq "$OUT" tried "what the container's root could do to the host"
  assert_eq "$(cat "$T_TMP/root-only")" secret "the root-only file"
  assert_eq "$(ls -A "$T_TMP/root-dir")" "" "the root-owned directory"
}

test_rootless_spec_runs_as_is() {
  rl_user
  # `berth spec --rootless` by the user: the config runs unchanged.
  B=$T_TMP/asis
  mkdir -p "$B/rootfs/bin"
  cp "$BUSYBOX" "$B/rootfs/bin/busybox"
  for a in $APPLETS; do ln -s busybox "$B/rootfs/bin/$a"; done
  chown -R "$RL_USER:" "$B"
  as_user sh -c "cd '$B' && '$BERTH' spec --rootless && sed -i 's/\"terminal\": true/\"terminal\": false/; s/\"sh\"/\"id\"/' config.json"
  assert_rc 0 "spec --rootless as the user"
  as_user "$BERTH" run --bundle "$B" "$(cid a)"
  assert_rc 0 "run of the unchanged config"
  assert_match "$OUT" "^uid=0 gid=0 " "id in the container"
}

test_rootless_oom_score_and_rlimits_within_the_users_own() {
  rl_user
  # Raising the OOM score and lowering a limit are the user's to do;
  # the reverse fails, naming the field, and leaves nothing.
  local id
  id=$(cid a)
  rl_bundle a sh -c 'cat /proc/self/oom_score_adj; ulimit -n'
  cfg "$B" 'c["process"]["oomScoreAdj"] = 500' \
    'c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 512, "soft": 256}]'
  as_user "$BERTH" run --bundle "$B" "$id"
  assert_rc 0 "a higher OOM score, lower limits"
  assert_eq "$OUT" $'500\n256' "oom_score_adj and RLIMIT_NOFILE inside"
  cfg "$B" 'c["process"]["oomScoreAdj"] = -500'
  as_user "$BERTH" run --bundle "$B" "$id"
  assert_rc 1 "a lower OOM score"
  assert_contains "$ERR" "process.oomScoreAdj" "error"
  cfg "$B" 'c["process"].pop("oomScoreAdj")' \
    'c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 1073741816, "soft": 1024}]'
  as_user "$BERTH" run --bundle "$B" "$id"
  assert_rc 1 "a hard limit above the user's"
  assert_contains "$ERR" "process.rlimits" "error"
  assert_eq "$(ls -A "$RL_ROOT" 2>&1)" "" "the user's state root"
  assert_nothing_left "$id" a
}

test_rootless_additional_groups_with_a_subgid_range() {
  rl_user
  command -v newgidmap >/dev/null || skip "newgidmap (uidmap) is not installed"
  local base=$((300000 + RL_UID * 65536 % 1000000))
  echo "$RL_USER:$base:65536" >>/etc/subuid
  echo "$RL_USER:$base:65536" >>/etc/subgid
  # With a wider gid map (newgidmap) setgroups stays allowed, and the
  # process gets its additional groups; with the user's own gid alone it
  # is denied (the spec's rule), and so is a group list.
  rl_bundle a sh -c 'id -G; cat /proc/self/setgroups'
  BASE=$base cfg "$B" 'for k in ("uidMappings", "gidMappings"): c["linux"][k].append({"containerID": 1, "hostID": int(E["BASE"]), "size": 65536})' \
    'c["process"]["user"]["additionalGids"] = [5, 100]'
  as_user "$BERTH" run --bundle "$B" "$(cid a)"
  assert_rc 0 "run with additionalGids"
  assert_eq "$OUT" $'0 5 100\nallow' "groups and setgroups"
  rl_bundle b sh -c 'cat /proc/self/setgroups'
  as_user "$BERTH" run --bundle "$B" "$(cid b)"
  assert_eq "$OUT" deny "setgroups with only the user's own gid"
  cfg "$B" 'c["process"]["user"]["additionalGids"] = [5]'
  as_user "$BERTH" run --bundle "$B" "$(cid b)"
  assert_rc 1 "additionalGids without a gid range"
  assert_contains "$ERR" "additionalGids" "error"
}
