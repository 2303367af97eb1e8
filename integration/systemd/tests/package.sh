# shellcheck shell=bash
# The Debian package (`make deb`, scripts/deb.sh; run.sh builds it from the
# binary under test) on Debian 12 with systemd: it installs, berth check
# says what this guest is, a container runs from the installed binary, man
# pages and completions are where Debian looks, and it removes cleanly.
# berth's own: no runc control.

DEB=/opt/berth/berth.deb

eval "lib_$(declare -f cleanup_test)"
cleanup_test() {
  dpkg -r berth >/dev/null 2>&1
  lib_cleanup_test "$@"
}

test_package_installs_runs_and_removes_cleanly() {
  [ -f "$DEB" ] || fail "no package at $DEB (run.sh makes it with scripts/deb.sh)"
  dpkg -i "$DEB" >"$T_TMP/dpkg.out" 2>&1 || fail "dpkg -i: $(tail -n 5 "$T_TMP/dpkg.out")"
  [ -x /usr/bin/berth ] || fail "no /usr/bin/berth after dpkg -i"
  # berth check from the package, against what this guest is.
  /usr/bin/berth check >"$T_TMP/check.txt" 2>&1
  assert_eq "$?" 0 "berth check's status (fail lines: $(grep '^fail' "$T_TMP/check.txt"))"
  grep -q '^ok    systemd .*the system bus answers' "$T_TMP/check.txt" || fail "berth check: $(grep ' systemd ' "$T_TMP/check.txt")"
  grep -q '^ok    cgroup.layout .*pure cgroup v2' "$T_TMP/check.txt" || fail "berth check: $(grep ' cgroup.layout ' "$T_TMP/check.txt")"
  grep -q '^ok    apparmor .*enabled' "$T_TMP/check.txt" || fail "berth check: $(grep ' apparmor ' "$T_TMP/check.txt")"
  grep -q '^ok    capabilities .*full' "$T_TMP/check.txt" || fail "berth check: $(grep ' capabilities ' "$T_TMP/check.txt")"
  # A container from the installed binary.
  make_bundle a sh -c 'echo from-the-package'
  /usr/bin/berth --root "$ROOT" run --bundle "$B" "$(cid a)" </dev/null >"$T_TMP/run.out" 2>&1
  assert_eq "$?" 0 "run ($(cat "$T_TMP/run.out"))"
  assert_eq "$(cat "$T_TMP/run.out")" from-the-package "the container's output"
  # Man pages, completions and the licence where Debian keeps them.
  local f
  for f in /usr/share/man/man8/berth.8.gz /usr/share/man/man8/berth-run.8.gz \
    /usr/share/man/man8/berth-check.8.gz /usr/share/bash-completion/completions/berth \
    /usr/share/zsh/vendor-completions/_berth /usr/share/fish/vendor_completions.d/berth.fish \
    /usr/share/doc/berth/copyright /usr/share/doc/berth/README.md.gz; do
    [ -s "$f" ] || fail "the package lacks $f"
  done
  bash -c 'source /usr/share/bash-completion/completions/berth && complete -p berth' >/dev/null 2>&1 ||
    fail "the installed bash completion does not load"
  # Removal takes every file the package brought.
  local files
  files=$(dpkg -L berth | while read -r f; do [ -f "$f" ] && echo "$f"; done)
  [ -n "$files" ] || fail "dpkg -L berth lists no files"
  dpkg -r berth >"$T_TMP/dpkg.out" 2>&1 || fail "dpkg -r: $(tail -n 5 "$T_TMP/dpkg.out")"
  for f in $files; do
    [ -e "$f" ] && fail "$f is left after dpkg -r"
  done
  [ "$(dpkg-query -W -f='${db:Status-Abbrev}' berth 2>/dev/null)" != "ii " ] || fail "dpkg still has berth installed"
}
