# shellcheck shell=bash
# The default seccomp profiles of Docker and Podman must load in berth and
# behave: allowed calls work, denied ones get the profile's errno, argument
# rules hold, rules that depend on capabilities follow the bundle's, and a
# NOTIFY rule added on top reaches an agent. No profile is copied into this
# repository: the tests find them on this machine at test time.
# - Podman: /usr/share/containers/seccomp.json, from Debian's
#   containers-common (in Debian 12 the package is named
#   golang-github-containers-common; podman depends on it).
# - Docker: Debian's docker.io ships no profile file; dockerd has its
#   default profile compiled in (moby's profiles/seccomp, whose
#   default.json is generated from the same Go code). That default.json of
#   the same version (20.10) is in golang-github-docker-docker-dev, moby's
#   source. (integration/engines/ also runs a real dockerd and podman on
#   berth, where the engines convert their profiles themselves.)
# A profile that is not installed is fetched with `apt-get download` (the
# .deb is unpacked under /var/tmp/berth-test-profiles, never installed).

PROFILE_CACHE=/var/tmp/berth-test-profiles

# engine_profile docker|podman: print the path of the engine's profile.
engine_profile() {
  local pkgs pkg file
  case $1 in
  docker)
    pkgs=golang-github-docker-docker-dev
    file=usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json
    ;;
  podman)
    pkgs="containers-common golang-github-containers-common"
    file=usr/share/containers/seccomp.json
    ;;
  esac
  if [ -s "/$file" ]; then
    echo "/$file"
    return 0
  fi
  for pkg in $pkgs; do
    if [ ! -s "$PROFILE_CACHE/$pkg/$file" ]; then
      mkdir -p "$PROFILE_CACHE/debs"
      (cd "$PROFILE_CACHE/debs" && { apt-get download -qq -o APT::Sandbox::User=root "$pkg" ||
        { apt-get update -qq && apt-get download -qq -o APT::Sandbox::User=root "$pkg"; }; }) >/dev/null 2>&1 || continue
      dpkg -x "$PROFILE_CACHE"/debs/"$pkg"_*.deb "$PROFILE_CACHE/$pkg" || continue
    fi
    if [ -s "$PROFILE_CACHE/$pkg/$file" ]; then
      echo "$PROFILE_CACHE/$pkg/$file"
      return 0
    fi
  done
  fail "no $1 seccomp profile: /$file is not installed and none of [$pkgs] could be downloaded"
}

# engine_to_oci PROFILE BUNDLE [NOTIFY_SOCK]: turn the engine's profile
# (its own format: archMap, includes/excludes by capability, architecture
# and kernel version) into the linux.seccomp that engine would write into
# BUNDLE's config.json. That conversion is the engine's job (moby's
# profiles/seccomp and containers/common's pkg/seccomp do it when they
# build the config), not berth's; this is a small stand-in written for the
# test that does what they do: the architectures are this machine's and its
# archMap sub-architectures; a rule is kept when every capability in its
# includes.caps is in the bundle's bounding set, none of excludes.caps is,
# the machine's (Go) architecture is in includes.arches and not in
# excludes.arches, and the kernel is at least includes.minKernel. With
# NOTIFY_SOCK, mkdir is sent to an agent.
engine_to_oci() {
  py - "$1" "$2/config.json" "${3:-}" <<'PY'
import json, os, sys
profile, config, sock = sys.argv[1], sys.argv[2], sys.argv[3]
p = json.load(open(profile))
c = json.load(open(config))
machine = os.uname().machine
goarch = {"x86_64": "amd64", "aarch64": "arm64"}[machine]
native = {"x86_64": "SCMP_ARCH_X86_64", "aarch64": "SCMP_ARCH_AARCH64"}[machine]
caps = set(c["process"].get("capabilities", {}).get("bounding") or [])
def version(v):
    parts = [int(x) for x in v.split("-")[0].split(".")[:3] if x.isdigit()]
    return tuple(parts + [0] * (3 - len(parts)))
kernel = version(os.uname().release)
out = {"defaultAction": p["defaultAction"], "syscalls": []}
if p.get("defaultErrnoRet") is not None:
    out["defaultErrnoRet"] = p["defaultErrnoRet"]
for m in p.get("archMap") or []:
    if m["architecture"] == native:
        out["architectures"] = [native] + (m.get("subArchitectures") or [])
for r in p["syscalls"]:
    inc, exc = r.get("includes") or {}, r.get("excludes") or {}
    if inc.get("arches") and goarch not in inc["arches"]:
        continue
    if inc.get("caps") and not set(inc["caps"]) <= caps:
        continue
    if inc.get("minKernel") and kernel < version(inc["minKernel"]):
        continue
    if exc.get("arches") and goarch in exc["arches"]:
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
# (`probe NR [ARG]...` makes syscall NR and prints NR[,ARG...]=RET/ERRNO),
# a static C program built here with gcc.
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
    for (int i = 1; i < argc; i++) printf(i > 1 ? ",%s" : "%s", argv[i]);
    printf("=%ld/%d\n", r, r < 0 ? errno : 0);
    return 0;
}
C
    gcc -static -O1 -o "$T_TMP/probe" "$T_TMP/probe.c" 2>"$T_TMP/gcc.err" || fail "gcc: $(cat "$T_TMP/gcc.err")"
  fi
  cp "$T_TMP/probe" "$B/rootfs/bin/probe"
}

# x86_64 numbers: getpid 39; unshare 272 (CLONE_NEWUSER needs no
# privilege); mount 165 (with a NULL target the kernel says EFAULT before
# any permission check, so EPERM can only come from the filter);
# personality 135 (0xffffffff only queries; 8 is PER_LINUX32; 4 is in no
# profile's rules); userfaultfd 323 (UFFD_USER_MODE_ONLY = 1 needs no
# privilege).
PROBES='probe 39; probe 272 0x10000000; probe 165; probe 135 0xffffffff; probe 135 8; probe 135 4; probe 323 1; mkdir /tmp/d && echo mkdir-ok; ls / >/dev/null && echo ls-ok'

# probe_result OUT CALL: the "RET/ERRNO" printed for CALL (NR[,ARG...]).
probe_result() { grep -m1 "^$2=" <<<"$1" | cut -d= -f2; }

# check_probe OUT CALL ERE WHAT: CALL's result matches ERE.
check_probe() { assert_match "$(probe_result "$1" "$2")" "$3" "$4 ($2)"; }

test_profiles_baseline_without_filter() {
  # With no filter every probe gets the kernel's answer: a different one
  # in the tests below is the profile's doing.
  probe_bundle a "$PROBES"
  brun "$B" "$(cid a)"
  assert_rc 0 "run (stderr: $ERR)"
  check_probe "$OUT" 39 '^[0-9]+/0$' "getpid"
  check_probe "$OUT" 272,0x10000000 '^0/0$' "unshare(CLONE_NEWUSER)"
  check_probe "$OUT" 165 '^-1/14$' "mount with a NULL target: EFAULT"
  check_probe "$OUT" 135,8 '^[0-9]+/0$' "personality(PER_LINUX32)"
  check_probe "$OUT" 135,4 '^[0-9]+/0$' "personality(4)"
  check_probe "$OUT" 323,1 '^[0-9]+/0$' "userfaultfd"
  assert_contains "$OUT" "mkdir-ok" "mkdir"
}

test_profiles_docker_default() {
  probe_bundle a "$PROBES"
  engine_to_oci "$(engine_profile docker)" "$B"
  brun "$B" "$(cid a)"
  assert_rc 0 "run under Docker's profile (stderr: $ERR)"
  check_probe "$OUT" 39 '^[0-9]+/0$' "getpid (allowed)"
  assert_contains "$OUT" "ls-ok" "ls (allowed)"
  assert_contains "$OUT" "mkdir-ok" "mkdir (allowed)"
  # Docker's default action is ERRNO with EPERM (1); unshare and mount
  # are only allowed with CAP_SYS_ADMIN, which the bundle lacks.
  check_probe "$OUT" 272,0x10000000 '^-1/1$' "unshare without CAP_SYS_ADMIN: EPERM"
  check_probe "$OUT" 165 '^-1/1$' "mount without CAP_SYS_ADMIN: EPERM"
  check_probe "$OUT" 323,1 '^-1/1$' "userfaultfd (not in the profile): EPERM"
  # personality: argument rules allow five values.
  check_probe "$OUT" 135,0xffffffff '^[0-9]+/0$' "personality query (an argument rule)"
  check_probe "$OUT" 135,8 '^[0-9]+/0$' "personality(PER_LINUX32) (an argument rule)"
  check_probe "$OUT" 135,4 '^-1/1$' "personality(4) (no rule): EPERM"
}

test_profiles_docker_with_cap_sys_admin() {
  # The same profile for a bundle with CAP_SYS_ADMIN: the rules that
  # include that capability now allow unshare and mount (the kernel's own
  # answer comes back), the rest stays as it was.
  probe_bundle a "$PROBES"
  cfg "$B" 'for k in ("bounding", "effective", "permitted"): c["process"]["capabilities"][k].append("CAP_SYS_ADMIN")'
  engine_to_oci "$(engine_profile docker)" "$B"
  brun "$B" "$(cid a)"
  assert_rc 0 "run under Docker's profile (stderr: $ERR)"
  check_probe "$OUT" 272,0x10000000 '^0/0$' "unshare (allowed with CAP_SYS_ADMIN)"
  check_probe "$OUT" 165 '^-1/14$' "mount (allowed with CAP_SYS_ADMIN; the kernel's EFAULT)"
  check_probe "$OUT" 323,1 '^-1/1$' "userfaultfd: still EPERM"
  check_probe "$OUT" 135,4 '^-1/1$' "personality(4): still EPERM"
}

test_profiles_podman_default() {
  probe_bundle a "$PROBES"
  engine_to_oci "$(engine_profile podman)" "$B"
  brun "$B" "$(cid a)"
  assert_rc 0 "run under Podman's profile (stderr: $ERR)"
  check_probe "$OUT" 39 '^[0-9]+/0$' "getpid (allowed)"
  assert_contains "$OUT" "ls-ok" "ls (allowed)"
  assert_contains "$OUT" "mkdir-ok" "mkdir (allowed)"
  # Podman allows unshare and mount (the kernel's own checks apply);
  # userfaultfd is in its explicit EPERM rule; a call no rule matches
  # (personality 4) gets its default errno, ENOSYS (38).
  check_probe "$OUT" 272,0x10000000 '^0/0$' "unshare (Podman allows it)"
  check_probe "$OUT" 165 '^-1/14$' "mount (Podman allows it; the kernel's EFAULT)"
  check_probe "$OUT" 323,1 '^-1/1$' "userfaultfd (an ERRNO rule): EPERM"
  check_probe "$OUT" 135,0xffffffff '^[0-9]+/0$' "personality query (an argument rule)"
  check_probe "$OUT" 135,8 '^[0-9]+/0$' "personality(PER_LINUX32) (an argument rule)"
  check_probe "$OUT" 135,4 '^-1/38$' "personality(4) (no rule matches): ENOSYS"
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
  check_probe "$OUT" 272,0x10000000 '^-1/1$' "unshare still refused by the profile"
  assert_contains "$OUT" "ls-ok" "ls"
  [ -s "$T_TMP/agent.log" ] || fail "the agent got no listener"
}
