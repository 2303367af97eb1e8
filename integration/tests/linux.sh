# shellcheck shell=bash
# sysctl, maskedPaths, readonlyPaths, --no-pivot, --no-new-keyring.

test_sysctl_namespaced() {
  make_bundle a sh -c 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni'
  cfg "$B" 'c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmni": "1234"}' \
    'c["linux"]["readonlyPaths"].remove("/proc/sys")'
  local host_fwd host_shm
  host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
  host_shm=$(cat /proc/sys/kernel/shmmni)
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" "$(printf '1\n1234')" "sysctls inside"
  assert_eq "$(cat /proc/sys/net/ipv4/ip_forward)" "$host_fwd" "the host's ip_forward"
  assert_eq "$(cat /proc/sys/kernel/shmmni)" "$host_shm" "the host's shmmni"
}

test_sysctl_refused() {
  make_bundle a sh -c 'sleep 1000 # sysctl-marker'
  local id before
  id=$(cid a)
  before=$(cat /proc/sys/vm/swappiness)
  cfg "$B" 'c["linux"]["sysctl"] = {"vm.swappiness": "17"}'
  bcreate "$B" "$id"
  assert_rc 1 "create with vm.swappiness"
  assert_contains "$ERR" "vm.swappiness" "error"
  assert_eq "$(cat /proc/sys/vm/swappiness)" "$before" "the host's swappiness"
  assert_nothing_left "$id" a sysctl-marker
  # a net.* sysctl without a network namespace would change the host
  cfg "$B" 'c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}' \
    'c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]'
  bcreate "$B" "$id"
  assert_rc 1 "create with net.ipv4.ip_forward and no network namespace"
  assert_contains "$ERR" "net.ipv4.ip_forward" "error"
  assert_nothing_left "$id" a sysctl-marker
}

test_masked_paths() {
  make_bundle a sh -c 'cat /etc/secret | wc -c; ls -A /secretdir | wc -l; echo x >/etc/secret; cat /etc/secret | wc -c; touch /secretdir/x 2>/dev/null && echo dir-writable; wc -c </proc/timer_list; cat /nonexistent-masked 2>&1 | wc -l'
  echo "s3cret" >"$B/rootfs/etc/secret"
  mkdir -p "$B/rootfs/secretdir"
  echo "hidden" >"$B/rootfs/secretdir/file"
  cfg "$B" 'c["linux"]["maskedPaths"] += ["/etc/secret", "/secretdir", "/nonexistent-masked"]'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" "$(printf '0\n0\n0\n0\n1')" "masked file (read, read after write), masked dir, /proc/timer_list, missing path"
  assert_eq "$(cat "$B/rootfs/etc/secret")" s3cret "the masked file on the host"
  assert_eq "$(ls "$B/rootfs/secretdir")" file "the masked dir on the host"
}

test_readonly_paths() {
  make_bundle a sh -c 'touch /rodir/x 2>&1; (echo 1 >/proc/sys/kernel/domainname) 2>&1 | sed "s/.*: //"; touch /rwdir/x && echo rw-ok; cat /rodir/f'
  mkdir -p "$B/rootfs/rodir" "$B/rootfs/rwdir"
  echo content >"$B/rootfs/rodir/f"
  cfg "$B" 'c["linux"]["readonlyPaths"] += ["/rodir"]' \
    'for s in ("bounding", "effective", "permitted"): c["process"]["capabilities"][s].append("CAP_SYS_ADMIN")'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" "$(printf 'touch: /rodir/x: Read-only file system\nRead-only file system\nrw-ok\ncontent')" "readonly paths"
}

test_no_pivot() {
  make_bundle a sh -c 'cat /marker; ls /host >/dev/null && echo host-ok; awk "\$5 == \"/\"" /proc/self/mountinfo | wc -l'
  echo "no-pivot-root" >"$B/rootfs/marker"
  brun "$B" "$(cid a)" --no-pivot
  assert_rc 0 "run --no-pivot"
  assert_eq "$(head -n2 <<<"$OUT")" "$(printf 'no-pivot-root\nhost-ok')" "--no-pivot container"
  [ "$(tail -n1 <<<"$OUT")" -ge 1 ] || fail "no / mount in the container"
}

test_no_new_keyring() {
  # With a new session keyring (the default) its name is the container id;
  # with --no-new-keyring the process keeps the caller's session keyring.
  make_bundle a sh -c 'cat /proc/keys'
  cfg "$B" 'c["linux"]["maskedPaths"].remove("/proc/keys")'
  local id
  id=$(cid a)
  brun "$B" "$id"
  assert_rc 0 "run"
  assert_match "$OUT" "keyring +$id:" "/proc/keys with a new session keyring"
  id=$(cid b)
  brun "$B" "$id" --no-new-keyring
  assert_rc 0 "run --no-new-keyring"
  assert_not_contains "$OUT" "$id" "/proc/keys with --no-new-keyring"
}

test_annotations_in_state() {
  make_bundle a sh -c 'exec sleep 1000'
  cfg "$B" 'c["annotations"] = {"io.kubernetes.cri.container-type": "container", "empty": ""}'
  local id
  id=$(cid a)
  must_create "$B" "$id"
  assert_eq "$(state_field "$id" annotations)" '{"empty": "", "io.kubernetes.cri.container-type": "container"}' "annotations"
  bcmd list --format json
  assert_contains "$OUT" '"io.kubernetes.cri.container-type":"container"' "list --format json"
}
