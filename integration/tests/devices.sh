# shellcheck shell=bash
# /dev: default nodes, links, linux.devices, the devices cgroup.

test_dev_defaults() {
  make_bundle a stat -c '%n|%F|%t:%T|%a|%u:%g' /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" "$(printf '%s\n' \
    '/dev/null|character special file|1:3|666|0:0' \
    '/dev/zero|character special file|1:5|666|0:0' \
    '/dev/full|character special file|1:7|666|0:0' \
    '/dev/random|character special file|1:8|666|0:0' \
    '/dev/urandom|character special file|1:9|666|0:0' \
    '/dev/tty|character special file|5:0|666|0:0')" "default device nodes"
  # and they work (the devices cgroup allows them)
  make_bundle b sh -c 'echo x >/dev/null && echo null-ok; head -c 4 /dev/zero | wc -c; head -c 8 /dev/urandom | wc -c; echo x 2>&1 >/dev/full'
  brun "$B" "$(cid b)"
  assert_eq "$OUT" "$(printf 'null-ok\n4\n8\nsh: write error: No space left on device')" "using the default devices"
}

test_dev_dirs_and_links() {
  make_bundle a sh -c 'for l in /dev/fd /dev/stdin /dev/stdout /dev/stderr /dev/ptmx; do echo "$l -> $(readlink $l)"; done; stat -c "%n %F" /dev/pts /dev/shm /dev/mqueue; stat -f -c "%n %T" /dev/pts /dev/shm; ls /dev/pts'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" "$(printf '%s\n' \
    '/dev/fd -> /proc/self/fd' '/dev/stdin -> /proc/self/fd/0' '/dev/stdout -> /proc/self/fd/1' \
    '/dev/stderr -> /proc/self/fd/2' '/dev/ptmx -> pts/ptmx' \
    '/dev/pts directory' '/dev/shm directory' '/dev/mqueue directory' \
    '/dev/pts devpts' '/dev/shm tmpfs' 'ptmx')" "/dev dirs and links"
}

test_dev_custom_devices() {
  make_bundle a stat -c '%n|%F|%t:%T|%a|%u:%g' /dev/fuse /dev/blk0 /dev/sub/fifo0
  cfg "$B" 'c["linux"]["devices"] = [
    {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o620, "uid": 1000, "gid": 1001},
    {"path": "/dev/blk0", "type": "b", "major": 7, "minor": 200, "fileMode": 0o640},
    {"path": "/dev/sub/fifo0", "type": "p", "major": 0, "minor": 0}]' \
    'c["linux"]["resources"]["devices"] += [{"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rwm"}, {"allow": True, "type": "b", "major": 7, "minor": 200, "access": "rwm"}]'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" "$(printf '%s\n' \
    '/dev/fuse|character special file|a:e5|620|1000:1001' \
    '/dev/blk0|block special file|7:c8|640|0:0' \
    '/dev/sub/fifo0|fifo|0:0|666|0:0')" "configured devices"
  # a device outside /dev is refused
  cfg "$B" 'c["linux"]["devices"] = [{"path": "/etc/evil", "type": "c", "major": 1, "minor": 1}]'
  local id
  id=$(cid b)
  bcreate "$B" "$id"
  assert_rc 1 "create with a device outside /dev"
  assert_contains "$ERR" "linux.devices" "error"
  assert_nothing_left "$id" a
}

test_dev_cgroup_rules() {
  # An allow rule for c 10:229 lets /dev/fuse open; the rules are in the
  # container's devices cgroup.
  make_bundle a sh -c 'e=$(true 2>&1 </dev/fuse) && echo opened || echo "refused: ${e##*: }"; echo ready >/host/ready; exec sleep 1000'
  cfg "$B" 'c["linux"]["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o666}]' \
    'c["linux"]["resources"]["devices"].append({"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rwm"})'
  local id
  id=$(cid a)
  must_create "$B" "$id"
  must_start "$id"
  wait_file "$B/host/ready" 5 || fail "the container did not start"
  # A kernel without the fuse driver (the test VM's) has no /dev/fuse:
  # there the open gets past the devices cgroup and fails in the driver
  # lookup (ENODEV), where a refusal would be EPERM.
  local want=opened
  [ -c /dev/fuse ] || want="refused: No such device"
  assert_eq "$(cat "$T_TMP/$id.stdout")" "$want" "open of an allowed device"
  if [ -d /sys/fs/cgroup/devices ]; then # cgroup v1 devices controller
    local list
    list=$(cat "/sys/fs/cgroup/devices${T_CG}/a/devices.list")
    assert_contains "$list" "c 10:229 rwm" "devices.list"
    assert_contains "$list" "c 1:3 rwm" "devices.list"
    assert_not_contains "$list" "a *:* rwm" "devices.list"
  fi
  # a device not allowed is refused
  make_bundle b sh -c 'true </dev/kmsg2 && echo opened || echo refused'
  cfg "$B" 'c["linux"]["devices"] = [{"path": "/dev/kmsg2", "type": "c", "major": 1, "minor": 11, "fileMode": 0o666}]' \
    'c["linux"]["resources"]["devices"].append({"allow": True, "type": "c", "major": 1, "minor": 11, "access": "m"})'
  brun "$B" "$(cid b)"
  assert_rc 0 "run"
  assert_eq "$OUT" refused "open of a device allowed only for mknod"
  assert_contains "$ERR" "/dev/kmsg2: Operation not permitted" "error of the refused open"
}

test_dev_node_without_allow_rule() {
  # linux.devices and linux.resources.devices are independent (runc makes
  # the node, the cgroup refuses to open it).
  make_bundle a sh -c 'stat -c "%t:%T %a" /dev/fuse; true </dev/fuse && echo opened || echo refused'
  cfg "$B" 'c["linux"]["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o666}]'
  brun "$B" "$(cid a)"
  assert_rc 0 "run with a device node and no allow rule for it"
  assert_eq "$OUT" "$(printf 'a:e5 666\nrefused')" "node made, open refused"
  assert_contains "$ERR" "/dev/fuse: Operation not permitted" "error of the refused open"
}
