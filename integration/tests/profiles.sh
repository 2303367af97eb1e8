# shellcheck shell=bash
# The default seccomp profiles of Docker and Podman, as those engines ship
# them, turned into linux.seccomp the way the engines do, must load in
# berth and behave: allowed calls work, denied ones get the profile's
# errno, argument filters hold, and a NOTIFY rule added on top reaches an
# agent. The profiles come from Debian's packages at test time (cached in
# /var/tmp/berth-test-profiles; nothing is installed): Docker 20.10's
# profiles/seccomp/default.json from golang-github-docker-docker-dev (the
# source dockerd embeds it from), Podman's /usr/share/containers/seccomp.json
# from golang-github-containers-common.

PROFILE_CACHE=/var/tmp/berth-test-profiles

# engine_profile docker|podman: print the path of the engine's profile.
engine_profile() {
  local pkg file
  case $1 in
  docker) pkg=golang-github-docker-docker-dev file=usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json ;;
  podman) pkg=golang-github-containers-common file=usr/share/containers/seccomp.json ;;
  esac
  if [ ! -s "$PROFILE_CACHE/$pkg/$file" ]; then
    mkdir -p "$PROFILE_CACHE/debs"
    (cd "$PROFILE_CACHE/debs" && { apt-get download -qq -o APT::Sandbox::User=root "$pkg" ||
      { apt-get update -qq && apt-get download -qq -o APT::Sandbox::User=root "$pkg"; }; }) >/dev/null 2>&1 ||
      fail "cannot download $pkg (Debian's package with the $1 seccomp profile)"
    dpkg -x "$PROFILE_CACHE"/debs/"$pkg"_*.deb "$PROFILE_CACHE/$pkg" || fail "dpkg -x $pkg"
  fi
  [ -s "$PROFILE_CACHE/$pkg/$file" ] || fail "no $file in $pkg"
  echo "$PROFILE_CACHE/$pkg/$file"
}

# engine_to_oci PROFILE BUNDLE [NOTIFY_SOCK]: what the engine puts in
# config.json: the native architecture and its sub-architectures, and the
# rules whose includes/excludes (capabilities of BUNDLE's process, arch,
# minKernel) select them. With NOTIFY_SOCK, mkdir is sent to an agent.
engine_to_oci() {
  py - "$1" "$2/config.json" "${3:-}" <<'PY'
import json, os, sys
profile, config, sock = sys.argv[1], sys.argv[2], sys.argv[3]
p = json.load(open(profile))
c = json.load(open(config))
caps = set(c["process"].get("capabilities", {}).get("bounding", []))
kernel = tuple(int(x) for x in os.uname().release.split("-")[0].split(".")[:2])
arches = {"amd64", "x86_64", "x32", "386"}
out = {"defaultAction": p["defaultAction"], "syscalls": []}
if p.get("defaultErrnoRet") is not None:
    out["defaultErrnoRet"] = p["defaultErrnoRet"]
for m in p.get("archMap") or []:
    if m["architecture"] == "SCMP_ARCH_X86_64":
        out["architectures"] = [m["architecture"]] + m.get("subArchitectures", [])
for r in p["syscalls"]:
    inc, exc = r.get("includes") or {}, r.get("excludes") or {}
    if inc.get("arches") and not arches & set(inc["arches"]):
        continue
    if inc.get("caps") and not set(inc["caps"]) <= caps:
        continue
    if inc.get("minKernel") and kernel < tuple(int(x) for x in inc["minKernel"].split(".")[:2]):
        continue
    if exc.get("arches") and arches & set(exc["arches"]):
        continue
    if exc.get("caps") and set(exc["caps"]) & caps:
        continue
    rule = {"names": r["names"], "action": r["action"]}
    if r.get("args"):
        rule["args"] = r["args"]
    if r.get("errnoRet") is not None:
        rule["errnoRet"] = r["errnoRet"]
    out["syscalls"].append(rule)
if sock:
    # mkdir is allowed by both profiles; a NOTIFY rule put first takes it.
    out["syscalls"].insert(0, {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"})
    out["listenerPath"] = sock
c["linux"]["seccomp"] = out
json.dump(c, open(config, "w"))
PY
}

# probe_bundle NAME SCRIPT: a bundle running SCRIPT with /bin/probe
# (`probe NR [ARG]...` makes syscall NR and prints NR=RET/ERRNO), a static
# C program built here with gcc.
probe_bundle() {
  make_bundle "$1" sh -c "$2"
  if [ ! -x "$T_TMP/probe" ]; then
    command -v gcc >/dev/null || fail "gcc is needed to build the syscall probe"
    cat >"$T_TMP/probe.c" <<'C'
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long a[6] = {0};
    for (int i = 2; i < argc && i < 8; i++) a[i - 2] = strtol(argv[i], 0, 0);
    errno = 0;
    long r = syscall(strtol(argv[1], 0, 0), a[0], a[1], a[2], a[3], a[4], a[5]);
    printf("%s=%ld/%d\n", argv[1], r, r < 0 ? errno : 0);
    return 0;
}
C
    gcc -static -O1 -o "$T_TMP/probe" "$T_TMP/probe.c" 2>"$T_TMP/gcc.err" || fail "gcc: $(cat "$T_TMP/gcc.err")"
  fi
  cp "$T_TMP/probe" "$B/rootfs/bin/probe"
}

# x86_64 numbers: getpid 39, unshare 272 (CLONE_NEWUSER needs no
# privilege), personality 135, userfaultfd 323 (UFFD_USER_MODE_ONLY = 1
# needs no privilege).
PROBES='probe 39; probe 272 0x10000000; probe 135 0xffffffff; probe 135 0x4; probe 323 1; mkdir /tmp/d && echo mkdir-ok; ls / >/dev/null && echo ls-ok'

# probe_result OUT NR: the first "RET/ERRNO" printed for syscall NR.
probe_result() { grep -m1 "^$2=" <<<"$1" | cut -d= -f2; }

test_profiles_baseline_without_filter() {
  # With no filter every probe succeeds: a failure in the tests below is
  # the profile's doing.
  probe_bundle a "$PROBES"
  brun "$B" "$(cid a)"
  assert_rc 0 "run (stderr: $ERR)"
  assert_eq "$(probe_result "$OUT" 272)" "0/0" "unshare(CLONE_NEWUSER) without a filter"
  assert_match "$(probe_result "$OUT" 323)" '^[0-9]+/0$' "userfaultfd without a filter"
  assert_contains "$OUT" "135=0/0" "personality(4) without a filter"
  assert_contains "$OUT" "mkdir-ok" "mkdir without a filter"
}

test_profiles_docker_default() {
  probe_bundle a "$PROBES"
  engine_to_oci "$(engine_profile docker)" "$B"
  brun "$B" "$(cid a)"
  assert_rc 0 "run under Docker's profile (stderr: $ERR)"
  assert_match "$(probe_result "$OUT" 39)" '^[0-9]+/0$' "getpid (allowed)"
  assert_contains "$OUT" "ls-ok" "ls (allowed)"
  assert_contains "$OUT" "mkdir-ok" "mkdir (allowed)"
  # Docker's default action is ERRNO with EPERM (1).
  assert_eq "$(probe_result "$OUT" 272)" "-1/1" "unshare without CAP_SYS_ADMIN: EPERM"
  assert_eq "$(probe_result "$OUT" 323)" "-1/1" "userfaultfd (not in the profile): EPERM"
  # personality: the query (0xffffffff) is allowed by an argument rule,
  # persona 4 by none.
  assert_match "$(probe_result "$OUT" 135)" '^[0-9]+/0$' "personality(0xffffffff) (an argument rule allows it)"
  assert_contains "$OUT" "135=-1/1" "personality(4) (no rule allows it): EPERM"
}

test_profiles_podman_default() {
  probe_bundle a "$PROBES"
  engine_to_oci "$(engine_profile podman)" "$B"
  brun "$B" "$(cid a)"
  assert_rc 0 "run under Podman's profile (stderr: $ERR)"
  assert_match "$(probe_result "$OUT" 39)" '^[0-9]+/0$' "getpid (allowed)"
  assert_contains "$OUT" "ls-ok" "ls (allowed)"
  assert_contains "$OUT" "mkdir-ok" "mkdir (allowed)"
  # Podman allows unshare; userfaultfd is in its explicit EPERM rule; a
  # call no rule matches (personality 4: the personality rules allow five
  # values) gets its default errno, ENOSYS (38).
  assert_eq "$(probe_result "$OUT" 272)" "0/0" "unshare (Podman allows it)"
  assert_eq "$(probe_result "$OUT" 323)" "-1/1" "userfaultfd (an ERRNO rule): EPERM"
  assert_match "$(probe_result "$OUT" 135)" '^[0-9]+/0$' "personality(0xffffffff) (an argument rule allows it)"
  assert_contains "$OUT" "135=-1/38" "personality(4) (no rule matches): ENOSYS"
}

test_profiles_docker_with_notify() {
  # Docker's profile with a NOTIFY rule for mkdir on top: the agent gets
  # the listener and answers (EOPNOTSUPP); the rest of the profile holds.
  start_agent "$T_TMP/agent.sock" "$T_TMP/agent.log"
  probe_bundle a "$PROBES"
  engine_to_oci "$(engine_profile docker)" "$B" "$T_TMP/agent.sock"
  brun "$B" "$(cid a)"
  assert_rc 0 "run (stderr: $ERR)"
  assert_contains "$ERR" "not supported" "mkdir answered by the agent"
  assert_not_contains "$OUT" "mkdir-ok" "mkdir"
  assert_eq "$(probe_result "$OUT" 272)" "-1/1" "unshare still refused by the profile"
  assert_contains "$OUT" "ls-ok" "ls"
  [ -s "$T_TMP/agent.log" ] || fail "the agent got no listener"
}
