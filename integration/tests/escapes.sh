# shellcheck shell=bash
# Escapes that must be impossible, each tried for real. The host files
# they aim at are temp files of the test; the berth binary attacked is a
# copy. Other tests try more of the same: mounts.sh (mount targets behind
# symlinks, proc onto a symlink), linux.sh (masked and read-only paths),
# tty.sh (fds passed without --preserve-fds), errors.sh (../ destinations).

# own_berth: run this test with a copy of berth ($BERTH), so an attack
# that worked could not damage the real one; sets BERTH_SUM.
own_berth() {
  cp "$BERTH" "$T_TMP/berth-copy" || fail "copy berth"
  BERTH=$T_TMP/berth-copy
  BERTH_SUM=$(sha256sum <"$BERTH")
}

assert_berth_intact() {
  assert_eq "$(sha256sum <"$BERTH")" "$BERTH_SUM" "sha256 of the berth binary after the attack"
}

# assert_exe_sealed PID WHAT: PID's exe is not the host's berth but its
# read-only overlayfs view (the default where the kernel has overlayfs)
# or a sealed memfd copy (BERTH_EXE_SEAL=memfd, no overlayfs, or a
# rootless berth, which may not mount one).
assert_exe_sealed() {
  local exe
  exe=$(readlink "/proc/$1/exe")
  [ "$exe" != "$BERTH" ] || fail "$2: runs the host's berth binary"
  if [ "${BERTH_EXE_SEAL:-overlay}" = memfd ] || ! grep -qw overlay /proc/filesystems || [ -n "${ITEST_USER:-}" ]; then
    assert_contains "$exe" "memfd:" "$2"
  else
    assert_eq "$(stat -f -c %T "/proc/$1/exe")" overlayfs "$2: the filesystem of $exe"
  fi
}

test_escape_overwrite_berth_through_proc_exe() {
  # CVE-2019-5736. While a created container's init waits for start it
  # runs berth's code in the container's namespaces. Its exe must be a
  # read-only view or a sealed copy, not the host binary: from the host
  # (root, every capability) and from inside (exec with CAP_SYS_PTRACE,
  # the strongest container) a write through /proc/PID/exe must fail.
  # Both ways berth seals itself are tried.
  local mode
  own_berth
  for mode in overlay memfd; do
    BERTH_EXE_SEAL=$mode overwrite_berth_through_proc_exe "$mode"
  done
}

overwrite_berth_through_proc_exe() {
  export BERTH_EXE_SEAL
  make_bundle "a$1" sh -c 'echo ran; sleep 1000'
  cfg "$B" 'for s in ("bounding", "effective", "permitted"): c["process"]["capabilities"][s].append("CAP_SYS_PTRACE")'
  local id init
  id=$(cid "a$1")
  must_create "$B" "$id"
  init=$(state_field "$id" pid)
  assert_exe_sealed "$init" "the waiting init's exe ($1)"
  (printf 'pwned' >>"/proc/$init/exe") 2>/dev/null && fail "the host could append to the init's exe"
  (: >"/proc/$init/exe") 2>/dev/null && fail "the host could truncate the init's exe"
  bcmd exec "$id" sh -c 'readlink /proc/1/exe; (printf pwned >>/proc/1/exe) 2>/dev/null && echo WROTE; (: >/proc/1/exe) 2>/dev/null && echo TRUNCATED; echo tried'
  assert_rc 0 "exec (stderr: $ERR)"
  assert_contains "$OUT" "tried" "the attack ran"
  assert_not_contains "$OUT" "WROTE" "append to the init's exe from inside"
  assert_not_contains "$OUT" "TRUNCATED" "truncate the init's exe from inside"
  assert_berth_intact
  # And the init stays non-dumpable for a container without CAP_SYS_PTRACE.
  # (Not a rootless one's: its runtime, an ordinary user, could not exec
  # into it before start otherwise. Like runc's, it is dumpable once it has
  # the container's own user, capabilities and seccomp filter.)
  [ -n "${ITEST_USER:-}" ] && return 0
  make_bundle "b$1" sleep 1000
  local id2
  id2=$(cid "b$1")
  must_create "$B" "$id2"
  bcmd exec "$id2" sh -c 'cat /proc/1/exe >/dev/null 2>&1 && echo READ-EXE; cat /proc/1/environ >/dev/null 2>&1 && echo READ-ENVIRON; echo tried'
  assert_contains "$OUT" "tried" "the attack ran"
  assert_not_contains "$OUT" "READ-EXE" "read of the init's exe without CAP_SYS_PTRACE"
  assert_not_contains "$OUT" "READ-ENVIRON" "the init's environment without CAP_SYS_PTRACE"
  assert_berth_intact
}

# The open fds of the shell, without opening one to look.
OPEN_FDS='for f in 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do [ -e /proc/$$/fd/$f ] && printf "%s " $f; done; echo'

test_escape_overwrite_berth_at_execve() {
  # CVE-2019-5736 at the last moment berth's code runs in the container:
  # the container's execve (the init's at start, an exec'd process's) goes
  # to a seccomp agent (seccomp.sh's), which holds it and, as root on the
  # host, tries to append to the caller's /proc/PID/exe. The caller is
  # still berth, so that exe must be its read-only view, not the binary.
  own_berth
  start_agent "$T_TMP/agent.sock" "$T_TMP/agent.log"
  make_bundle a sleep 1000
  notify_cfg "$B" "$T_TMP/agent.sock" "" execve execveat
  local id
  id=$(cid a)
  must_create "$B" "$id"
  bcmd start "$id"
  assert_rc 0 "start (stderr: $ERR)"
  bcmd exec "$id" true
  assert_rc 0 "exec (stderr: $ERR)"
  assert_eq "$(wc -l <"$T_TMP/agent.log.exe")" 2 "execve calls the agent held (start, exec): $(cat "$T_TMP/agent.log.exe")"
  local line
  while read -r line; do
    [ "${line% *}" != "$BERTH" ] || fail "berth's process at execve runs the host's berth binary"
    assert_contains "$line" " refused" "an append to that exe"
  done <"$T_TMP/agent.log.exe"
  assert_berth_intact
}

test_escape_host_fds_do_not_leak() {
  # fds the caller has open (without --preserve-fds) and berth's own never
  # reach the container: run, create/start and exec list only 0, 1, 2.
  make_bundle a sh -c "$OPEN_FDS"
  exec 5<"$B/config.json" 7>"$T_TMP/w"
  brun "$B" "$(cid a)"
  assert_rc 0 "run (stderr: $ERR)"
  assert_eq "$OUT" "0 1 2 " "fds in the container (run)"
  make_bundle b sleep 1000
  local id
  id=$(cid b)
  must_create "$B" "$id"
  must_start "$id"
  bcmd exec "$id" sh -c "$OPEN_FDS"
  assert_rc 0 "exec (stderr: $ERR)"
  assert_eq "$OUT" "0 1 2 " "fds in an exec'd process"
  bcmd exec "$id" sh -c 'for f in 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do [ -e /proc/1/fd/$f ] && printf "%s " $f; done; echo'
  assert_eq "$OUT" "0 1 2 " "fds of the container's init"
  exec 5<&- 7>&-
}

test_escape_cwd_through_leaked_fd() {
  # CVE-2024-21626: a cwd of /proc/self/fd/N names whatever berth has open
  # as fd N when it chdirs; a host directory there would put the process
  # outside its root. Every N must fail or stay inside.
  local n id
  for n in 3 4 5 6 7 8 9 10 11 12; do
    make_bundle "c$n" sh -c 'pwd; ls .. 2>&1 | head -3; cat ../../../../etc/hostname 2>&1'
    cfg "$B" "c['process']['cwd'] = '/proc/self/fd/$n'"
    id=$(cid "c$n")
    brun "$B" "$id"
    if [ "$RC" == 0 ]; then
      assert_not_contains "$OUT" "$(hostname)" "cwd /proc/self/fd/$n: the host's hostname"
      assert_not_contains "$OUT" "(unreachable)" "cwd /proc/self/fd/$n"
    else
      assert_contains "$ERR" "cwd" "error for cwd /proc/self/fd/$n"
    fi
  done
  make_bundle e sleep 1000
  id=$(cid e)
  must_create "$B" "$id"
  must_start "$id"
  for n in 3 4 5 6 7 8 9 10; do
    bcmd exec --cwd "/proc/self/fd/$n" "$id" sh -c 'pwd; cat ../../../../etc/hostname 2>&1'
    assert_not_contains "$OUT" "$(hostname)" "exec --cwd /proc/self/fd/$n: the host's hostname"
    assert_not_contains "$OUT" "(unreachable)" "exec --cwd /proc/self/fd/$n"
  done
}

test_escape_mount_target_swapped_for_symlink() {
  # A race: while containers are created with a tmpfs mount at /race/sub,
  # the rootfs's /race keeps turning from a directory into a symlink to a
  # host directory and back. No mount and no directory may ever land on
  # the host side.
  local host="$T_TMP/hostside" i id flipper
  mkdir -p "$host"
  make_bundle a true
  add_mount "$B" /race/sub tmpfs tmpfs size=1m
  local before
  before=$(grep -c . /proc/self/mountinfo)
  (
    while :; do
      rm -rf "$B/rootfs/race" 2>/dev/null
      mkdir -p "$B/rootfs/race" 2>/dev/null
      rm -rf "$B/rootfs/race" 2>/dev/null
      ln -s "$host" "$B/rootfs/race" 2>/dev/null
    done
  ) &
  flipper=$!
  record_pid "$flipper"
  for i in $(seq 1 30); do
    id=$(cid "r$i")
    b run --bundle "$B" "$id" </dev/null >/dev/null 2>&1
    b delete --force "$id" >/dev/null 2>&1
  done
  kill -9 "$flipper" 2>/dev/null
  wait "$flipper" 2>/dev/null
  assert_eq "$(ls -A "$host")" "" "the host directory behind the symlink"
  assert_eq "$(grep -c . /proc/self/mountinfo)" "$before" "host mount table"
  awk -v p="$host" 'index($5, p) == 1' /proc/self/mountinfo | grep -q . && fail "a mount landed on the host side"
  return 0
}

test_escape_dev_null_replaced() {
  # The image's /dev/null is a symlink to a host file and the config uses
  # the image's /dev (no tmpfs there): berth masks with /dev/null only
  # after checking it is the null device, so the host file is neither
  # bind-mounted into the container nor truncated.
  local host="$T_TMP/host-secret"
  echo "host data" >"$host"
  make_bundle a sh -c 'cat /etc/masked 2>&1; echo x >/dev/null; echo done'
  echo "image data" >"$B/rootfs/etc/masked"
  mkdir -p "$B/rootfs/dev"
  ln -sf "$host" "$B/rootfs/dev/null"
  cfg "$B" 'c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/dev"]' \
    'c["linux"]["maskedPaths"] = ["/etc/masked"]'
  brun "$B" "$(cid a)"
  assert_eq "$(cat "$host")" "host data" "the host file behind rootfs/dev/null (run rc $RC: $ERR)"
  assert_not_contains "$OUT" "host data" "container output"
  if [ "$RC" != 0 ]; then
    assert_contains "$ERR" "/dev/null" "error"
  fi
  # /dev/ptmx replaced by a symlink to a host file, with a terminal.
  echo "host data" >"$host"
  make_bundle b sh -c 'ls -l /dev/ptmx; echo done'
  mkdir -p "$B/rootfs/dev"
  ln -sf "$host" "$B/rootfs/dev/ptmx"
  cfg "$B" 'c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/dev"]'
  brun "$B" "$(cid b)"
  assert_eq "$(cat "$host")" "host data" "the host file behind rootfs/dev/ptmx (run rc $RC: $ERR)"
}

test_escape_masked_and_readonly_symlinks_to_host() {
  # maskedPaths and readonlyPaths that are symlinks to host files: applied
  # after pivot_root, where an absolute symlink resolves inside the
  # container, so the host files stay as they were and writable.
  local host="$T_TMP/host-shadow" hostdir="$T_TMP/host-dir"
  echo "host secret" >"$host"
  mkdir -p "$hostdir"
  echo keep >"$hostdir/f"
  make_bundle a sh -c 'echo done'
  ln -s "$host" "$B/rootfs/etc/evil-mask"
  ln -s "$hostdir" "$B/rootfs/evil-ro"
  ln -s "../../../../../../../../..$host" "$B/rootfs/etc/evil-mask2"
  cfg "$B" 'c["linux"]["maskedPaths"] += ["/etc/evil-mask", "/etc/evil-mask2"]' \
    'c["linux"]["readonlyPaths"] += ["/evil-ro"]'
  local before
  before=$(grep -c . /proc/self/mountinfo)
  brun "$B" "$(cid a)"
  assert_eq "$(cat "$host")" "host secret" "the host file behind a masked symlink (run rc $RC: $ERR)"
  echo more >>"$hostdir/f" || fail "the host dir behind a read-only symlink became read-only"
  assert_eq "$(grep -c . /proc/self/mountinfo)" "$before" "host mount table"
}

test_escape_fake_proc_refused() {
  # A fake /proc, or a bind over part of it, could swallow or redirect the
  # writes made there (sysctl, LSM labels): refused at create, naming the
  # mount. lxcfs's files stay allowed.
  mkdir -p "$T_TMP/fake/sys/kernel" "$T_TMP/fake/attr"
  local dest n=0
  for dest in /proc/sys /proc/self/attr /proc/1/attr /proc/sys/kernel; do
    n=$((n + 1))
    make_bundle "p$n" sh -c 'sleep 1000 # fakeproc-marker'
    add_mount "$B" "$dest" bind "$T_TMP/fake" rbind
    cfg "$B" 'c["linux"]["sysctl"] = {"kernel.domainname": "berth-test"}'
    expect_create_fails "$B" "$(cid "p$n")" "p$n" fakeproc-marker "mounts["
  done
  make_bundle t sh -c 'sleep 1000 # fakeproc-marker'
  cfg "$B" 'c["mounts"] = [dict(m, type="tmpfs", source="tmpfs", options=[]) if m["destination"] == "/proc" else m for m in c["mounts"]]'
  expect_create_fails "$B" "$(cid t)" t fakeproc-marker "/proc"
  # lxcfs-style binds onto /proc/meminfo are allowed.
  echo "MemTotal: 1 kB" >"$T_TMP/meminfo"
  make_bundle m sh -c 'head -1 /proc/meminfo'
  add_mount "$B" /proc/meminfo bind "$T_TMP/meminfo" bind
  brun "$B" "$(cid m)"
  assert_rc 0 "run with /proc/meminfo bound (stderr: $ERR)"
  assert_eq "$OUT" "MemTotal: 1 kB" "/proc/meminfo"
}
