# shellcheck shell=bash
# Docker, Podman and containerd in their default configuration on a
# systemd host (each with its systemd cgroup driver), with $BERTH as their
# runtime: berth registered in daemon.json as "berth", or Debian's runc
# (ITEST_RUNTIME=runc) as the control. guest.sh starts dockerd (and with
# it containerd) and imports the busybox image `bb` into Docker and
# Podman before this suite; ENGINE_ROOTFS is a busybox rootfs for ctr.

# The name Docker knows the runtime by.
docker_rt() { [ "$ITEST_RUNTIME" == berth ] && echo berth || echo runc; }

# dk ARGS...: docker, output in OUT/ERR, status in RC.
dk() {
  timeout 120 docker "$@" </dev/null >"$T_TMP/.out" 2>"$T_TMP/.err"
  RC=$?
  OUT=$(cat "$T_TMP/.out")
  ERR=$(cat "$T_TMP/.err")
}
pm() {
  timeout 120 podman --runtime "$BERTH" "$@" </dev/null >"$T_TMP/.out" 2>"$T_TMP/.err"
  RC=$?
  OUT=$(cat "$T_TMP/.out")
  ERR=$(cat "$T_TMP/.err")
}
# ctr with the runtime as the runc shim's binary and its systemd driver
# (the shim's options BinaryName and SystemdCgroup, as CRI's config sets
# them).
ct() {
  timeout 120 ctr -n bitest "$@" </dev/null >"$T_TMP/.out" 2>"$T_TMP/.err"
  RC=$?
  OUT=$(cat "$T_TMP/.out")
  ERR=$(cat "$T_TMP/.err")
}
# ct_run ID [FLAGS...] -- CMD...: ctr run of the busybox rootfs as ID
# (ctr wants its flags before the rootfs and the id). ctr's spec for a
# bare rootfs sets no PATH (runc then finds no `sh`): CMD is absolute.
ct_run() {
  local id=$1 flags=()
  shift
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    flags+=("$1")
    shift
  done
  shift
  ct run "${flags[@]}" --runc-binary "$BERTH" --runc-systemd-cgroup --cgroup "system.slice:ctr:$id" \
    --rootfs "$ENGINE_ROOTFS" "$id" "$@"
}

# The container's name for this test.
cname() { echo "bitest-${T_NAME//_/-}-$T_SALT"; }

# Remove what a test made in the engines, even when it failed.
engine_cleanup() {
  local n
  n=$(cname)
  docker rm -f "$n" >/dev/null 2>&1
  podman rm -f "$n" >/dev/null 2>&1
  ctr -n bitest task kill -s KILL "$n" >/dev/null 2>&1
  ctr -n bitest task rm -f "$n" >/dev/null 2>&1
  ctr -n bitest container rm "$n" >/dev/null 2>&1
  return 0
}
# The test's clean-up (lib.sh's, run at exit) does the engines' first.
eval "lib_$(declare -f cleanup_test)"
cleanup_test() {
  engine_cleanup
  lib_cleanup_test "$@"
}

assert_rc_is() { # expected what
  [ "$RC" == "$1" ] || fail "${2:-command}: exit status $RC, expected $1 (stdout: ${OUT:0:300}) (stderr: ${ERR:0:300})"
}

# wait_for CMD...: up to 30 s for CMD to succeed.
wait_for() {
  local i
  for ((i = 0; i < 60; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  return 1
}

test_docker_uses_systemd_driver() {
  assert_eq "$(docker info --format '{{.CgroupDriver}}' 2>&1)" systemd "docker's cgroup driver"
  assert_eq "$(docker info --format '{{.CgroupVersion}}' 2>&1)" 2 "docker's cgroup version"
}

test_docker_run_output_and_status() {
  dk run --rm --runtime "$(docker_rt)" --network none bb sh -c 'echo hello from bb; exit 3'
  assert_rc_is 3 "docker run"
  assert_eq "$OUT" "hello from bb" "docker run's output"
}

test_docker_limits_read_back() {
  dk run --rm --runtime "$(docker_rt)" --network none -m 64m --cpus 0.5 --pids-limit 42 bb \
    sh -c 'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max /sys/fs/cgroup/pids.max'
  assert_rc_is 0 "docker run with limits"
  assert_eq "$OUT" $'67108864\n50000 100000\n42' "limits inside"
}

test_docker_scope_exec_stop() {
  local n id
  n=$(cname)
  dk run -d --name "$n" --runtime "$(docker_rt)" --network none bb sleep 1000
  assert_rc_is 0 "docker run -d"
  id=$OUT
  assert_eq "$(systemctl show -P ActiveState "docker-$id.scope")" active "the container's scope"
  dk exec "$n" sh -c 'echo exec-ok; cat /proc/self/attr/current'
  assert_rc_is 0 "docker exec"
  assert_contains "$OUT" exec-ok "docker exec's output"
  assert_contains "$OUT" "docker-default (enforce)" "AppArmor profile of the exec'd process"
  dk stop -t 2 "$n"
  assert_rc_is 0 "docker stop"
  assert_eq "$(docker inspect -f '{{.State.Status}}' "$n")" exited "status after stop"
  wait_for bash -c "! systemctl is-active -q docker-$id.scope" || fail "the scope is still active after stop"
}

test_docker_apparmor_profile() {
  dk run --rm --runtime "$(docker_rt)" --network none bb cat /proc/self/attr/current
  assert_rc_is 0 "docker run"
  assert_eq "$OUT" "docker-default (enforce)" "the container's AppArmor profile"
}

test_docker_restart_policy() {
  local n
  n=$(cname)
  dk run -d --name "$n" --restart on-failure:2 --runtime "$(docker_rt)" --network none bb sh -c 'exit 1'
  assert_rc_is 0 "docker run --restart"
  local i c s
  for ((i = 0; i < 90; i++)); do
    c=$(docker inspect -f '{{.RestartCount}}' "$n" 2>/dev/null)
    s=$(docker inspect -f '{{.State.Status}}' "$n" 2>/dev/null)
    [ "$c" == 2 ] && [ "$s" == exited ] && break
    sleep 0.5
  done
  assert_eq "$c/$s" "2/exited" "restart count / status"
}

test_docker_failed_start_leaves_nothing() {
  local before after
  before=$(systemctl list-units --all --no-legend --plain 'docker-*.scope' | wc -l)
  dk run --rm --runtime "$(docker_rt)" --network none bb /no/such/binary
  [ "$RC" != 0 ] || fail "docker run of a missing binary succeeded"
  assert_contains "$ERR" "no/such/binary" "docker's error"
  sleep 1
  after=$(systemctl list-units --all --no-legend --plain 'docker-*.scope' | wc -l)
  assert_eq "$after" "$before" "docker-*.scope units before and after"
  assert_eq "$(ctr -n moby tasks ls -q 2>&1 | wc -l)" 0 "containerd tasks left"
  local p shims=0
  for p in /proc/[0-9]*; do
    [[ "$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)" == *containerd-shim* ]] && shims=$((shims + 1))
  done
  assert_eq "$shims" 0 "shims left"
}

test_podman_uses_systemd_driver() {
  assert_eq "$(podman info --format '{{.Host.CgroupManager}}' 2>&1)" systemd "podman's cgroup manager"
}

test_podman_run_limits() {
  pm run --rm --network none -m 64m --cpus 0.5 --pids-limit 42 bb \
    sh -c 'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max /sys/fs/cgroup/pids.max; exit 4'
  assert_rc_is 4 "podman run"
  assert_eq "$OUT" $'67108864\n50000 100000\n42' "limits inside"
}

test_podman_exec_stop() {
  local n id
  n=$(cname)
  pm run -d --name "$n" --network none bb sleep 1000
  assert_rc_is 0 "podman run -d"
  id=$OUT
  assert_eq "$(systemctl show -P ActiveState "libpod-$id.scope")" active "the container's scope"
  pm exec "$n" echo exec-ok
  assert_rc_is 0 "podman exec"
  assert_eq "$OUT" exec-ok "podman exec's output"
  pm stop -t 2 "$n"
  assert_rc_is 0 "podman stop"
  assert_eq "$(podman inspect -f '{{.State.Status}}' "$n")" exited "status after stop"
}

test_containerd_run_limit_exec_kill() {
  local n
  n=$(cname)
  ct_run "$n" --rm -- /bin/sh -c 'echo hi; exit 5'
  assert_rc_is 5 "ctr run"
  assert_eq "$OUT" hi "ctr run's output"
  ct_run "$n" -d --memory-limit 67108864 -- /bin/sleep 1000
  assert_rc_is 0 "ctr run -d"
  assert_eq "$(systemctl show -P ActiveState "ctr-$n.scope")" active "the container's scope"
  assert_eq "$(cat "/sys/fs/cgroup/system.slice/ctr-$n.scope/memory.max")" 67108864 "memory.max"
  ct task exec --exec-id e1 "$n" /bin/sh -c 'echo exec-ok'
  assert_rc_is 0 "ctr task exec"
  assert_eq "$OUT" exec-ok "exec's output"
  ct task kill -s KILL "$n"
  assert_rc_is 0 "ctr task kill"
  wait_for bash -c "ctr -n bitest task ls | grep -q '^$n .*STOPPED'" || fail "task not stopped after kill: $(ctr -n bitest task ls)"
  ct task rm "$n"
  ct container rm "$n"
  wait_for bash -c "! systemctl is-active -q ctr-$n.scope" || fail "the scope is still active after kill"
}
