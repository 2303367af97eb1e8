# shellcheck shell=bash
# AppArmor: process.apparmorProfile applied to the container's process and
# inherited (or overridden) by exec. They need a kernel with AppArmor and
# apparmor_parser: the VM has both (setup.sh puts Debian's parser in the
# guest); on a host without AppArmor they skip, and errors.sh/exec.sh check
# the refusal there.

# need_apparmor: skip unless profiles can be loaded here.
need_apparmor() {
  [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" == Y ] ||
    skip "AppArmor is not enabled on this kernel (the VM runs this test)"
  [ -d /sys/kernel/security/apparmor ] || skip "securityfs is not mounted"
  command -v apparmor_parser >/dev/null || skip "no apparmor_parser"
}

# load_profile: a profile of this test's own (AA_NAME) that allows
# everything but reading /host/denied.txt; loaded into the kernel.
load_profile() {
  AA_NAME="berth-test-$T_SALT"
  cat >"$T_TMP/profile" <<PROFILE
profile $AA_NAME flags=(attach_disconnected,mediate_deleted) {
  file,
  capability,
  network,
  signal,
  ptrace,
  unix,
  mount,
  umount,
  pivot_root,
  deny /host/denied.txt r,
}
PROFILE
  apparmor_parser -r -K "$T_TMP/profile" >"$T_TMP/parser.log" 2>&1 ||
    fail "apparmor_parser could not load the test's profile: $(cat "$T_TMP/parser.log")"
  grep -q "^$AA_NAME (enforce)" /sys/kernel/security/apparmor/profiles ||
    fail "the profile $AA_NAME is not listed as loaded"
}

unload_profile() { apparmor_parser -R -K "$T_TMP/profile" >/dev/null 2>&1; }

test_apparmor_profile_applied() {
  need_apparmor
  load_profile
  make_bundle a sh -c 'cat /proc/self/attr/current; cat /host/allowed.txt; cat /host/denied.txt && echo READ-DENIED-FILE; exit 0'
  echo allowed >"$B/host/allowed.txt"
  echo secret >"$B/host/denied.txt"
  cfg "$B" "c['process']['apparmorProfile'] = '$AA_NAME'"
  brun "$B" "$(cid a)"
  assert_rc 0 "run with apparmorProfile (stderr: $ERR)"
  assert_eq "$(sed -n 1p <<<"$OUT")" "$AA_NAME (enforce)" "the process's AppArmor label"
  assert_eq "$(sed -n 2p <<<"$OUT")" allowed "a file the profile allows"
  assert_not_contains "$OUT" READ-DENIED-FILE "output"
  assert_contains "$ERR" "denied.txt" "the denied read's error"
  unload_profile
}

test_apparmor_exec_inherits_or_overrides() {
  need_apparmor
  load_profile
  make_bundle a sleep 1000
  cfg "$B" "c['process']['apparmorProfile'] = '$AA_NAME'"
  local id
  id=$(cid a)
  must_create "$B" "$id"
  must_start "$id"
  bcmd exec "$id" cat /proc/self/attr/current
  assert_rc 0 "exec (stderr: $ERR)"
  assert_eq "$OUT" "$AA_NAME (enforce)" "an exec'd process's label (the container's)"
  bcmd exec --apparmor unconfined "$id" cat /proc/self/attr/current
  assert_rc 0 "exec --apparmor unconfined (stderr: $ERR)"
  assert_eq "$OUT" "unconfined" "the label with --apparmor unconfined"
  bcmd exec --apparmor "$AA_NAME-missing" "$id" true
  assert_rc 255 "exec with a profile that is not loaded"
  assert_contains "$ERR" "not loaded" "error"
  unload_profile
}

test_apparmor_unloaded_profile_refused() {
  need_apparmor
  make_bundle a sh -c 'echo RAN >/host/ran'
  cfg "$B" "c['process']['apparmorProfile'] = 'berth-no-such-profile-$T_SALT'"
  local id
  id=$(cid a)
  bcreate "$B" "$id"
  assert_rc 1 "create with a profile that is not loaded"
  assert_contains "$ERR" "apparmorProfile" "error"
  assert_contains "$ERR" "not loaded" "error"
  [ -e "$B/host/ran" ] && fail "the process ran"
  assert_nothing_left "$id" a
}
