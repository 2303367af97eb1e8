# shellcheck shell=bash
# Bad input: exit 1, one clear line naming the cause, nothing left behind
# (no state dir, no cgroup dir, no process).

# expect_create_fails BUNDLE ID CGNAME MARKER NEEDLE...: create fails with
# exit 1, one line on stderr containing every NEEDLE, nothing left.
expect_create_fails() {
  local bundle=$1 id=$2 cgname=$3 marker=$4
  shift 4
  bcreate "$bundle" "$id"
  assert_rc 1 "create"
  assert_eq "$(wc -l <<<"$ERR")" 1 "lines on stderr ($ERR)"
  local n
  for n in "$@"; do assert_contains "$ERR" "$n" "error"; done
  assert_nothing_left "$id" "$cgname" "$marker"
}

test_bad_config_malformed() {
  make_bundle a true
  printf '{\n  "ociVersion": "1.0.0",\n  "process": oops\n}\n' >"$B/config.json"
  expect_create_fails "$B" "$(cid a)" a malformed-marker "config.json" "line 3 column"
  # a type error names its place too
  printf '{\n  "ociVersion": "1.0.0",\n  "root": {"path": "rootfs"},\n  "process": {"cwd": "/", "args": ["true"], "user": {"uid": "zero", "gid": 0}}\n}\n' >"$B/config.json"
  expect_create_fails "$B" "$(cid a)" a malformed-marker "config.json" "process.user.uid at line 4 column" "expected u32"
}

test_bad_config_missing() {
  make_bundle a true
  rm "$B/config.json"
  expect_create_fails "$B" "$(cid a)" a missing-marker "config.json" "No such file"
  # a bundle that does not exist
  expect_create_fails "$T_TMP/nosuchbundle" "$(cid a)" a missing-marker "nosuchbundle"
}

test_bad_rootfs_missing() {
  make_bundle a sh -c 'sleep 1000 # rootfs-marker'
  cfg "$B" 'c["root"]["path"] = "nosuchroot"'
  expect_create_fails "$B" "$(cid a)" a rootfs-marker "root.path" "nosuchroot"
  cfg "$B" 'del c["root"]'
  expect_create_fails "$B" "$(cid a)" a rootfs-marker "root"
}

test_bad_unknown_id() {
  local id cmd
  id=$(cid nosuch)
  for cmd in state start delete kill; do
    bcmd "$cmd" "$id"
    assert_rc 1 "$cmd of an unknown id"
    assert_contains "$ERR" "$id" "$cmd error"
    assert_contains "$ERR" "does not exist" "$cmd error"
    assert_eq "$(wc -l <<<"$ERR")" 1 "$cmd: lines on stderr"
  done
  assert_eq "$(ls -A "$ROOT")" "" "--root after commands on an unknown id"
}

test_bad_ids() {
  make_bundle a sh -c 'sleep 1000 # badid-marker'
  local id
  for id in "a/b" ".." "." "../escape" "" "with space" "semi;colon"; do
    bcreate "$B" "$id"
    assert_rc 1 "create with id [$id]"
    assert_contains "$ERR" "id" "error for id [$id]"
    assert_eq "$(ls -A "$ROOT")" "" "--root after id [$id]"
    [ -e "$T_TMP/escape" ] && fail "id ../escape made $T_TMP/escape"
    bcmd state "$id"
    assert_rc 1 "state with id [$id]"
  done
  assert_nothing_left badid-none a badid-marker
}

test_bad_oci_version() {
  make_bundle a sh -c 'sleep 1000 # ociversion-marker'
  cfg "$B" 'c["ociVersion"] = "2.0.0"'
  expect_create_fails "$B" "$(cid a)" a ociversion-marker "ociVersion" "2.0.0"
}

test_bad_missing_executable() {
  make_bundle a nosuchprogram-marker arg
  expect_create_fails "$B" "$(cid a)" a nosuchprogram-marker "executable file not found" "nosuchprogram-marker"
  cfg "$B" 'c["process"]["args"] = ["/bin/nosuchprogram-marker"]'
  expect_create_fails "$B" "$(cid a)" a nosuchprogram-marker "/bin/nosuchprogram-marker"
  # a file that is not executable
  echo "data" >"$B/rootfs/bin/notexec"
  cfg "$B" 'c["process"]["args"] = ["/bin/notexec", "nosuchprogram-marker"]'
  expect_create_fails "$B" "$(cid a)" a nosuchprogram-marker "/bin/notexec"
}

test_bad_mount_dotdot_destination() {
  make_bundle a sh -c 'sleep 1000 # dotdot-marker'
  DEST="/../../../../../../..$T_TMP/escaped" cfg "$B" 'c["mounts"].append({"destination": E["DEST"], "type": "tmpfs", "source": "tmpfs"})'
  expect_create_fails "$B" "$(cid a)" a dotdot-marker "mounts[" "destination"
  [ -e "$T_TMP/escaped" ] && fail "a mount destination with .. created $T_TMP/escaped on the host"
  return 0
}

test_bad_mount_symlink_target() {
  # The mount target is a symlink out of the rootfs: the host side stays
  # untouched whatever berth does.
  make_bundle a sh -c 'echo pwned >/link/x; sleep 1000 # symlinktarget-marker'
  mkdir -p "$T_TMP/outside"
  ln -s ../../../../../../../..$T_TMP/outside "$B/rootfs/link"
  add_mount "$B" /link tmpfs tmpfs size=1m
  add_mount "$B" /link/sub/dir tmpfs tmpfs size=1m
  local id
  id=$(cid a)
  bcreate "$B" "$id"
  if [ "$RC" == 0 ]; then
    must_start "$id"
    sleep 0.2
    b delete --force "$id" >/dev/null 2>&1
  fi
  assert_eq "$(ls -A "$T_TMP/outside")" "" "host dir behind the symlink"
  [ "$RC" == 0 ] || assert_contains "$ERR" "mounts[" "error"
}

test_bad_bind_source_missing() {
  make_bundle a sh -c 'sleep 1000 # bindsrc-marker'
  add_mount "$B" /data bind "$T_TMP/nosuchsource" rbind
  expect_create_fails "$B" "$(cid a)" a bindsrc-marker "mounts[" "nosuchsource"
}

test_bad_mount_type() {
  make_bundle a sh -c 'sleep 1000 # mounttype-marker'
  add_mount "$B" /data nosuchfs none
  expect_create_fails "$B" "$(cid a)" a mounttype-marker "mounts[" "/data"
}

test_bad_unsupported_fields() {
  # Fields berth cannot apply are refused, naming the field, never ignored.
  make_bundle a sh -c 'sleep 1000 # unsupported-marker'
  cp "$B/config.json" "$T_TMP/orig.json"
  cfg "$B" 'c["linux"]["intelRdt"] = {"closID": "x"}'
  expect_create_fails "$B" "$(cid a)" a unsupported-marker "linux.intelRdt"
  cp "$T_TMP/orig.json" "$B/config.json"
  cfg "$B" 'c["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0"'
  expect_create_fails "$B" "$(cid a)" a unsupported-marker "linux.mountLabel"
  cp "$T_TMP/orig.json" "$B/config.json"
  cfg "$B" 'c["process"]["apparmorProfile"] = "unconfined-x"'
  expect_create_fails "$B" "$(cid a)" a unsupported-marker "apparmorProfile"
  cp "$T_TMP/orig.json" "$B/config.json"
  cfg "$B" 'c["mounts"].append({"destination": "/idm", "type": "bind", "source": "/tmp", "options": ["rbind", "idmap"]})'
  expect_create_fails "$B" "$(cid a)" a unsupported-marker "idmap"
}

test_bad_duplicate_namespace() {
  make_bundle a sh -c 'sleep 1000 # dupns-marker'
  cfg "$B" 'c["linux"]["namespaces"].append({"type": "pid"})'
  expect_create_fails "$B" "$(cid a)" a dupns-marker "linux.namespaces" "pid"
}

test_bad_cgroups_path_dotdot() {
  make_bundle a sh -c 'sleep 1000 # cgdotdot-marker'
  # (kept inside the test's own prefix even if it were not refused)
  CGP="$T_CG/x/../a" cfg "$B" 'c["linux"]["cgroupsPath"] = E["CGP"]'
  expect_create_fails "$B" "$(cid a)" a cgdotdot-marker "cgroupsPath" ".."
  assert_no_cgroup x
}
