# shellcheck shell=bash
# `berth check`: each fact against what the test itself finds out about
# this machine (the host: hybrid cgroups, no CAP_SYS_RESOURCE, no LSM; the
# VM: pure v2, every capability, AppArmor), the JSON form, the exit
# status, and that nothing is left behind.

# check_json: `berth check --format json` as the caller of this test,
# into $T_TMP/check.json; RC its status.
check_json() {
  "$BERTH" check --format json >"$T_TMP/check.json" 2>"$T_TMP/check.err"
  RC=$?
}

# fact NAME FIELD: one fact's level or found or follows.
fact() {
  py - "$T_TMP/check.json" "$1" "$2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print(next((f[sys.argv[3]] for f in d["facts"] if f["name"] == sys.argv[2]), "<no such fact>"))
EOF
}

test_check_facts_match_this_machine() {
  berth_only "berth's own command"
  local mounts_before fds
  mounts_before=$(wc -l </proc/self/mountinfo)
  check_json
  py -c 'import json, sys; json.load(open(sys.argv[1]))' "$T_TMP/check.json" || fail "check --format json is not JSON: $(head -c 300 "$T_TMP/check.json")"
  local names
  names=$(py -c 'import json, sys; print(" ".join(f["name"] for f in json.load(open(sys.argv[1]))["facts"]))' "$T_TMP/check.json")
  assert_eq "$names" "user cgroup.layout cgroup.controllers cgroup.delegation systemd kernel openat2 clone3 exe-view memfd-seals pidfd mount_setattr time-namespace bpf-devices seccomp seccomp-notify capabilities user-namespaces subuid lsm apparmor selinux criu" "the facts, in order"
  assert_eq "$(fact user found)" "root (uid 0) of the host" "user"
  # The cgroup layout.
  local want
  if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
    want="pure cgroup v2 at /sys/fs/cgroup"
  elif [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
    want="hybrid: "
  else
    want="cgroup v1"
  fi
  assert_contains "$(fact cgroup.layout found)" "$want" "cgroup.layout"
  # The bounding set: CAP_SYS_RESOURCE (bit 24) named exactly when absent.
  local bnd
  bnd=$((16#$(awk '/^CapBnd:/ {print $2}' /proc/self/status)))
  if (((bnd >> 24) & 1)); then
    case $(fact capabilities found) in *CAP_SYS_RESOURCE*) fail "capabilities names CAP_SYS_RESOURCE, which this machine has" ;; esac
  else
    assert_contains "$(fact capabilities found)" CAP_SYS_RESOURCE "capabilities"
    assert_contains "$(fact capabilities follows)" "process.rlimits" "what follows from no CAP_SYS_RESOURCE"
  fi
  # The security modules.
  if grep -qs '^Y' /sys/module/apparmor/parameters/enabled && [ -d /sys/kernel/security/apparmor ]; then
    assert_contains "$(fact apparmor found)" enabled "apparmor"
  else
    assert_eq "$(fact apparmor found)" "not enabled" "apparmor"
  fi
  if [ "$(stat -fc %T /sys/fs/selinux 2>/dev/null)" = selinuxfs ]; then
    assert_eq "$(fact selinux level)" ok "selinux"
  else
    assert_eq "$(fact selinux found)" "not enabled" "selinux"
  fi
  # systemd, time namespaces, CRIU.
  if [ -d /run/systemd/system ]; then
    assert_contains "$(fact systemd found)" "systemd is PID 1" "systemd"
  else
    assert_contains "$(fact systemd found)" "not running as PID 1" "systemd"
  fi
  if [ -e /proc/self/ns/time ]; then
    assert_eq "$(fact time-namespace level)" ok "time-namespace"
  else
    assert_eq "$(fact time-namespace level)" warn "time-namespace"
  fi
  if ! command -v criu >/dev/null; then
    assert_eq "$(fact criu found)" "no criu on PATH" "criu"
  elif criu check >/dev/null 2>&1; then
    assert_eq "$(fact criu level)" ok "criu"
  else
    assert_contains "$(fact criu found)" "criu check fails" "criu"
  fi
  assert_eq "$(fact kernel found)" "Linux $(uname -r)" "kernel"
  # It can run containers here (the rest of this suite does), says so
  # and exits 0.
  assert_eq "$RC" 0 "check's exit status"
  assert_eq "$(py -c 'import json, sys; print(json.load(open(sys.argv[1]))["canRun"])' "$T_TMP/check.json")" True "canRun"
  assert_eq "$(wc -l </proc/self/mountinfo)" "$mounts_before" "mounts after check"
}

test_check_text_has_a_line_per_fact() {
  berth_only "berth's own command"
  check_json
  local n
  n=$(py -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["facts"]))' "$T_TMP/check.json")
  "$BERTH" check >"$T_TMP/check.txt" 2>&1
  assert_eq "$?" 0 "check's exit status"
  assert_eq "$(grep -cE '^(ok|warn|fail) ' "$T_TMP/check.txt")" "$n" "lines with a level"
  assert_contains "$(tail -n 1 "$T_TMP/check.txt")" "berth can run containers here" "the last line"
  assert_eq "$(wc -l <"$T_TMP/check.txt")" $((n + 1)) "lines in all"
  "$BERTH" check --format yaml >/dev/null 2>&1
  assert_eq "$?" 2 "an unknown --format (clap's usage error)"
}

test_check_as_an_ordinary_user() {
  berth_only "berth's own command"
  command -v setpriv >/dev/null && command -v getent >/dev/null || skip "no setpriv or getent here"
  setpriv --reuid=65534 --regid=65534 --clear-groups env -u XDG_RUNTIME_DIR "$BERTH" check --format json >"$T_TMP/check.json" 2>"$T_TMP/check.err"
  RC=$?
  assert_eq "$(fact user found)" "uid 65534 ($(getent passwd 65534 | cut -d: -f1))" "user"
  assert_eq "$(fact criu follows)" "checkpoint and restore need root (as with runc)" "criu for a user"
  if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ]; then
    assert_eq "$(fact cgroup.delegation level)" warn "cgroup.delegation off pure v2"
  fi
  # nobody has no /etc/subuid entry on a test machine.
  grep -qs '^nobody:' /etc/subuid || assert_eq "$(fact subuid level)" warn "subuid"
  assert_eq "$RC" 0 "check's exit status as a user (user namespaces are there)"
}
