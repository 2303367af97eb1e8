# shellcheck shell=bash
# root, mounts and their options, propagation, safe destinations.

# opts_of MOUNTINFO MOUNTPOINT: the per-mount options (field 6).
opts_of() { awk -v mp="$2" '$5 == mp { o = $6 } END { print o }' <<<"$1"; }
# superopts_of MOUNTINFO MOUNTPOINT: the super options (last field).
superopts_of() { awk -v mp="$2" '$5 == mp { o = $NF } END { print o }' <<<"$1"; }
# fstype_of MOUNTINFO MOUNTPOINT
fstype_of() {
  awk -v mp="$2" '$5 == mp { for (i = 7; i <= NF; i++) if ($i == "-") { t = $(i + 1); break } } END { print t }' <<<"$1"
}
# optional_of MOUNTINFO MOUNTPOINT: the optional fields (shared:N ...).
optional_of() {
  awk -v mp="$2" '$5 == mp { o = ""; for (i = 7; i <= NF && $i != "-"; i++) o = o (o == "" ? "" : " ") $i } END { print o }' <<<"$1"
}
# has_opt LIST OPT: LIST (comma separated) contains OPT exactly.
has_opt() { [[ ",$1," == *",$2,"* ]]; }

test_root_path_relative() {
  make_bundle a cat /marker
  mv "$B/rootfs" "$B/myroot"
  echo "in-myroot" >"$B/myroot/marker"
  cfg "$B" 'c["root"]["path"] = "myroot"'
  # A relative --bundle, from another cwd: root.path is relative to the bundle.
  mkdir -p "$T_TMP/elsewhere"
  local id
  id=$(cid a)
  (cd "$T_TMP" && b run --bundle a "$id" </dev/null >"$T_TMP/o" 2>"$T_TMP/e")
  RC=$? OUT=$(cat "$T_TMP/o") ERR=$(cat "$T_TMP/e")
  assert_rc 0 "run with root.path myroot"
  assert_eq "$OUT" "in-myroot" "file read from the relative root"
  # An absolute root.path works too.
  ABS="$B/myroot" cfg "$B" 'c["root"]["path"] = E["ABS"]'
  brun "$B" "$(cid b)"
  assert_rc 0 "run with an absolute root.path"
  assert_eq "$OUT" "in-myroot" "file read from the absolute root"
}

test_root_readonly() {
  make_bundle a sh -c 'touch /x 2>&1; echo rc=$?; awk "\$5 == \"/\" { split(\$6, o, \",\"); print o[1] }" /proc/self/mountinfo; touch /host/ok && echo host-rw'
  cfg "$B" 'c["root"]["readonly"] = True'
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" "$(printf 'touch: /x: Read-only file system\nrc=1\nro\nhost-rw')" "writes with root.readonly"
  [ -e "$B/rootfs/x" ] && fail "/x was created in a read-only root"
  # and without readonly, / is writable
  cfg "$B" 'c["root"]["readonly"] = False'
  brun "$B" "$(cid b)"
  assert_eq "$(head -n2 <<<"$OUT")" "$(printf 'rc=0')"$'\n'"rw" "writes without root.readonly"
}

test_mount_bind_file_and_dir() {
  make_bundle a sh -c 'cat /etc/hostfile; cat /data/in; echo new >/data/out; touch /rodata/x 2>&1; cat /rodata/in'
  echo "file-content" >"$T_TMP/hostfile"
  mkdir -p "$T_TMP/data" "$T_TMP/rodata"
  echo "dir-content" >"$T_TMP/data/in"
  echo "ro-content" >"$T_TMP/rodata/in"
  add_mount "$B" /etc/hostfile bind "$T_TMP/hostfile" bind,ro
  add_mount "$B" /data none "$T_TMP/data" bind,rw
  add_mount "$B" /rodata bind "$T_TMP/rodata" rbind,ro
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" "$(printf 'file-content\ndir-content\ntouch: /rodata/x: Read-only file system\nro-content')" "bind mounts"
  assert_eq "$(cat "$T_TMP/data/out" 2>/dev/null)" new "write through the rw bind mount"
  [ -e "$T_TMP/rodata/x" ] && fail "write through the ro bind mount reached the host"
  [ -f "$B/rootfs/etc/hostfile" ] || fail "the file bind target was not created as a file"
}

test_mount_rbind_and_rro() {
  # A host dir with a submount, made in a private mount namespace so the
  # host never sees it.
  local src="$T_TMP/src"
  mkdir -p "$src/sub"
  echo top >"$src/topfile"
  make_bundle a sh -c '
    cat /r/sub/f
    ls /nr/sub | wc -l
    touch /rro/x 2>&1; touch /rro/sub/x 2>&1
    touch /ro/x 2>&1
    touch /r/sub/w && echo r-sub-rw'
  add_mount "$B" /r bind "$src" rbind
  add_mount "$B" /nr bind "$src" bind
  add_mount "$B" /rro bind "$src" rbind,rro
  add_mount "$B" /ro bind "$src" rbind,ro
  local id
  id=$(cid a)
  ROOT=$ROOT SRC=$src ID=$id BUNDLE=$B unshare -m --propagation private sh -c '
    mount -t tmpfs -o size=1m itest "$SRC/sub" || exit 99
    echo subfile >"$SRC/sub/f"
    exec "$BERTH" --root "$ROOT" run --bundle "$BUNDLE" "$ID"' </dev/null >"$T_TMP/o" 2>"$T_TMP/e"
  RC=$? OUT=$(cat "$T_TMP/o") ERR=$(cat "$T_TMP/e")
  assert_rc 0 "run"
  assert_eq "$OUT" "$(printf 'subfile\n0\ntouch: /rro/x: Read-only file system\ntouch: /rro/sub/x: Read-only file system\ntouch: /ro/x: Read-only file system\nr-sub-rw')" "rbind/bind/rro/ro"
}

test_mount_tmpfs_options() {
  make_bundle a sh -c 'stat -c "%a %u %g" /tt; grep " /tt " /proc/self/mountinfo'
  add_mount "$B" /tt tmpfs tmpfs nosuid,nodev,noexec,size=1m,mode=0750,uid=12,gid=34
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$(head -n1 <<<"$OUT")" "750 12 34" "mode and owner of the tmpfs"
  local line
  line=$(tail -n1 <<<"$OUT")
  assert_eq "$(fstype_of "$line" /tt)" tmpfs "fstype"
  assert_eq "$(opts_of "$line" /tt)" "rw,nosuid,nodev,noexec,relatime" "per-mount options"
  local so
  so=$(superopts_of "$line" /tt)
  has_opt "$so" size=1024k || fail "tmpfs size: super options [$so]"
  has_opt "$so" mode=750 || fail "tmpfs mode: super options [$so]"
  has_opt "$so" uid=12 || fail "tmpfs uid: super options [$so]"
  has_opt "$so" gid=34 || fail "tmpfs gid: super options [$so]"
}

test_mount_option_flags() {
  make_bundle a cat /proc/self/mountinfo
  local o
  for o in ro rw nosuid nodev noexec relatime strictatime noatime nodiratime sync; do
    add_mount "$B" "/m/$o" tmpfs tmpfs "$o"
  done
  add_mount "$B" /m/bind-flags bind "$T_TMP" rbind,ro,nosuid,nodev,noexec
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  local mi=$OUT
  assert_eq "$(opts_of "$mi" /m/ro)" "ro,relatime" "ro"
  assert_eq "$(opts_of "$mi" /m/rw)" "rw,relatime" "rw"
  assert_eq "$(opts_of "$mi" /m/nosuid)" "rw,nosuid,relatime" "nosuid"
  assert_eq "$(opts_of "$mi" /m/nodev)" "rw,nodev,relatime" "nodev"
  assert_eq "$(opts_of "$mi" /m/noexec)" "rw,noexec,relatime" "noexec"
  assert_eq "$(opts_of "$mi" /m/relatime)" "rw,relatime" "relatime"
  assert_eq "$(opts_of "$mi" /m/strictatime)" "rw" "strictatime"
  assert_eq "$(opts_of "$mi" /m/noatime)" "rw,noatime" "noatime"
  assert_eq "$(opts_of "$mi" /m/nodiratime)" "rw,nodiratime,relatime" "nodiratime"
  has_opt "$(superopts_of "$mi" /m/sync)" sync || fail "sync: super options [$(superopts_of "$mi" /m/sync)]"
  assert_eq "$(opts_of "$mi" /m/bind-flags)" "ro,nosuid,nodev,noexec,relatime" "bind with ro,nosuid,nodev,noexec"
}

test_mount_special_filesystems() {
  make_bundle a cat /proc/self/mountinfo
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  local mi=$OUT mp want
  for mp in /proc:proc /sys:sysfs /dev:tmpfs /dev/pts:devpts /dev/shm:tmpfs /dev/mqueue:mqueue /host:HOSTFS; do
    want=${mp#*:}
    mp=${mp%%:*}
    [ "$want" == HOSTFS ] && want=$(findmnt -n -o FSTYPE --target "$B/host")
    assert_eq "$(fstype_of "$mi" "$mp")" "$want" "fstype at $mp"
  done
  assert_eq "$(opts_of "$mi" /sys)" "ro,nosuid,nodev,noexec,relatime" "/sys options"
  assert_eq "$(opts_of "$mi" /dev/pts)" "rw,nosuid,noexec,relatime" "/dev/pts options"
  local so
  so=$(superopts_of "$mi" /dev/pts)
  has_opt "$so" ptmxmode=666 || fail "/dev/pts ptmxmode: [$so]"
  has_opt "$so" mode=620 || fail "/dev/pts mode: [$so]"
  has_opt "$so" gid=5 || fail "/dev/pts gid: [$so]"
  assert_eq "$(opts_of "$mi" /dev/mqueue)" "rw,nosuid,nodev,noexec,relatime" "/dev/mqueue options"
  assert_eq "$(opts_of "$mi" /dev/shm)" "rw,nosuid,nodev,noexec,relatime" "/dev/shm options"
  has_opt "$(superopts_of "$mi" /dev/shm)" size=65536k || fail "/dev/shm size: [$(superopts_of "$mi" /dev/shm)]"
}

test_mount_propagation() {
  # A shared host mount, in a private mount namespace of the test's own.
  local src="$T_TMP/shsrc"
  mkdir -p "$src"
  make_bundle a cat /proc/self/mountinfo
  add_mount "$B" /p/shared tmpfs tmpfs shared
  add_mount "$B" /p/private-tmpfs tmpfs tmpfs private
  add_mount "$B" /p/slave bind "$src" rbind,rslave
  add_mount "$B" /p/private bind "$src" rbind,rprivate
  add_mount "$B" /p/rshared bind "$src" rbind,rshared
  add_mount "$B" /p/unbindable tmpfs tmpfs unbindable
  local id
  id=$(cid a)
  ROOT=$ROOT SRC=$src ID=$id BUNDLE=$B unshare -m --propagation private sh -c '
    mount -t tmpfs -o size=1m itest "$SRC" && mount --make-shared "$SRC" || exit 99
    exec "$BERTH" --root "$ROOT" run --bundle "$BUNDLE" "$ID"' </dev/null >"$T_TMP/o" 2>"$T_TMP/e"
  RC=$? OUT=$(cat "$T_TMP/o") ERR=$(cat "$T_TMP/e")
  assert_rc 0 "run"
  local mi=$OUT
  assert_match "$(optional_of "$mi" /p/shared)" '^shared:[0-9]+$' "optional fields of a shared tmpfs"
  assert_eq "$(optional_of "$mi" /p/private-tmpfs)" "" "optional fields of a private tmpfs"
  assert_match "$(optional_of "$mi" /p/slave)" '^master:[0-9]+$' "optional fields of an rslave bind of a shared mount"
  assert_eq "$(optional_of "$mi" /p/private)" "" "optional fields of an rprivate bind"
  assert_match "$(optional_of "$mi" /p/rshared)" '^shared:[0-9]+( master:[0-9]+)?$' "optional fields of an rshared bind"
  assert_eq "$(optional_of "$mi" /p/unbindable)" "unbindable" "optional fields of an unbindable tmpfs"
}

test_rootfs_propagation() {
  make_bundle a cat /proc/self/mountinfo
  local p want
  for p in shared:'^shared:[0-9]+$' private:'^$' unbindable:'^unbindable$'; do
    want=${p#*:}
    p=${p%%:*}
    P=$p cfg "$B" 'c["linux"]["rootfsPropagation"] = E["P"]'
    brun "$B" "$(cid "$p")"
    assert_rc 0 "run with rootfsPropagation $p"
    assert_match "$(optional_of "$OUT" /)" "$want" "optional fields of / with rootfsPropagation $p"
  done
  cfg "$B" 'c["linux"]["rootfsPropagation"] = "sideways"'
  bcreate "$B" "$(cid bad)"
  assert_rc 1 "create with rootfsPropagation sideways"
  assert_contains "$ERR" rootfsPropagation "error"
}

test_mount_destinations_created() {
  make_bundle a sh -c 'cat /x/y/z/file.txt; grep -c " /a/b/c/d " /proc/self/mountinfo; stat -c %F /a/b/c/d /x/y/z/file.txt'
  echo "nested-file" >"$T_TMP/file.txt"
  add_mount "$B" /a/b/c/d tmpfs tmpfs size=1m
  add_mount "$B" /x/y/z/file.txt bind "$T_TMP/file.txt" bind
  brun "$B" "$(cid a)"
  assert_rc 0 "run"
  assert_eq "$OUT" "$(printf 'nested-file\n1\ndirectory\nregular file')" "nested destinations"
  [ -d "$B/rootfs/a/b/c/d" ] || fail "rootfs/a/b/c/d was not created in the rootfs"
  [ -f "$B/rootfs/x/y/z/file.txt" ] || fail "rootfs/x/y/z/file.txt was not created in the rootfs"
}

test_mount_symlink_escape() {
  # rootfs/evil -> (absolute) host dir; rootfs/evil2 -> ../../.. host dir.
  local host="$T_TMP/hostdir" host2="$T_TMP/hostdir2"
  mkdir -p "$host" "$host2"
  echo orig >"$host/keep"
  make_bundle a sh -c 'echo pwned >/evil/sub/deeper/x; echo pwned >/evil2/y; echo done'
  ln -s "$host" "$B/rootfs/evil"
  ln -s "../../../../../../../../../../..$host2" "$B/rootfs/evil2"
  add_mount "$B" /evil/sub/deeper tmpfs tmpfs size=1m
  add_mount "$B" /evil2 tmpfs tmpfs size=1m
  local before
  before=$(grep -c . /proc/self/mountinfo)
  brun "$B" "$(cid a)"
  assert_eq "$(ls -A "$host")" keep "host dir behind the absolute symlink (run rc $RC: $ERR)"
  assert_eq "$(cat "$host/keep")" orig "host file behind the symlink"
  assert_eq "$(ls -A "$host2")" "" "host dir behind the relative symlink (run rc $RC: $ERR)"
  assert_eq "$(grep -c . /proc/self/mountinfo)" "$before" "host mount table"
  # Resolved inside the rootfs (the symlink taken as rooted at the rootfs),
  # or refused: both leave the host alone.
  if [ "$RC" == 0 ]; then
    assert_eq "$OUT" done "container output"
    [ -d "$B/rootfs/$host/sub/deeper" ] || fail "the mount target was not created inside the rootfs"
  else
    assert_rc 1 "run"
    assert_contains "$ERR" "mounts[" "error"
  fi
}

test_mount_proc_on_symlink_refused() {
  make_bundle a true
  rmdir "$B/rootfs/proc"
  mkdir -p "$T_TMP/target"
  ln -s "$T_TMP/target" "$B/rootfs/proc"
  local id
  id=$(cid a)
  bcreate "$B" "$id"
  assert_rc 1 "create with /proc a symlink"
  assert_contains "$ERR" "proc" "error"
  assert_eq "$(ls -A "$T_TMP/target")" "" "the symlink's target"
  assert_nothing_left "$id" a
}

test_mount_tmpfs_copy_up() {
  # tmpcopyup (Podman's --read-only tmpfs on /run, /tmp): the tmpfs starts
  # with a copy of the directory it covers (files, dirs, symlinks, modes,
  # owners); writes land in the tmpfs, not in the image.
  make_bundle a sh -c 'cat /run/app/conf; stat -c "%a %u:%g" /run/app/conf; readlink /run/link; echo new >/run/app/new; ls /run/app | tr "\n" " "; grep " /run " /proc/self/mounts | cut -d" " -f3'
  mkdir -p "$B/rootfs/run/app"
  echo from-image >"$B/rootfs/run/app/conf"
  chmod 604 "$B/rootfs/run/app/conf"
  chown 12:34 "$B/rootfs/run/app/conf"
  ln -s /run/app/conf "$B/rootfs/run/link"
  add_mount "$B" /run tmpfs tmpfs rw,nosuid,nodev,tmpcopyup
  brun "$B" "$(cid a)"
  assert_rc 0 "run (stderr: $ERR)"
  assert_eq "$OUT" "$(printf 'from-image\n604 12:34\n/run/app/conf\nconf new tmpfs')" "the tmpfs's copy"
  [ -e "$B/rootfs/run/app/new" ] && fail "a write went through to the image"
  return 0
}
