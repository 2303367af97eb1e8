# shellcheck shell=bash
# Helpers for berth's end-to-end tests. Sourced by run.sh (for the final
# clean-up) and by every test process (run_one).
#
# Each test runs in its own bash process with:
#   T_NAME   the test's name (without test_)
#   T_TMP    a fresh temp dir (bundles, host-side files); removed at the end
#   ROOT     a fresh --root for berth; every container in it is deleted
#   T_CG     /berth-itest-<run>/<T_NAME>: the parent of every cgroupsPath
# and a clean-up (EXIT trap) that deletes the containers, kills only the
# pids the test recorded (and those left in its own cgroups), removes its
# cgroup dirs in every hierarchy, and removes the temp dirs.
#
# The same tests can run against another runtime (integration/vm/run.sh
# with RUNTIME=runc or crun): $BERTH is then that runtime, ITEST_RUNTIME
# names it (default berth), and ITEST_SPEC is the binary whose `spec` makes
# the bundles (default $BERTH), so that every runtime gets the same configs.

: "${BERTH:?BERTH must be set}"
: "${ITEST_RUN_ID:?ITEST_RUN_ID must be set}"
CG_PREFIX="/berth-itest-$ITEST_RUN_ID"
BUSYBOX=${BUSYBOX:-/bin/busybox}
# The real interpreter (a pyenv shim costs ~50 ms a call).
PY=${ITEST_PY:-python3}
py() { "$PY" -S "$@"; }
ITEST_RUNTIME=${ITEST_RUNTIME:-berth}

# Applets linked into every rootfs.
APPLETS="sh cat echo ls id env grep sleep touch mkdir stat readlink hostname
uname wc tr printf pwd sort test [ head tail mount ionice true false tty
kill ps awk sed rm ln cut nproc dd stty"

# ---------------------------------------------------------------- results --

# fail MSG: end the test as failed, with a one-line reason.
fail() {
  local msg="$*"
  msg=${msg//$'\n'/ | }
  printf '%s\n' "${msg:0:600}" >"$T_REASON"
  echo "FAIL: $msg" >&2
  exit 1
}

# skip MSG: end the test as skipped (only for a reason the host proves).
skip() {
  printf 'SKIP %s\n' "$*" >"$T_REASON"
  exit 77
}

# berth_only REASON: skip the test when the runtime under test is not berth
# (only for a test of something berth alone has by design, e.g. a berth-only
# flag; never for a behaviour other runtimes could share).
berth_only() {
  [ "$ITEST_RUNTIME" == berth ] || skip "berth only ($ITEST_RUNTIME): $*"
}

assert_eq() { # actual expected what
  [ "$1" == "$2" ] || fail "${3:-value}: expected [$2], got [$1]"
}

assert_contains() { # haystack needle what
  [[ "$1" == *"$2"* ]] || fail "${3:-output}: expected to contain [$2], got [$1]"
}

assert_not_contains() { # haystack needle what
  [[ "$1" != *"$2"* ]] || fail "${3:-output}: expected not to contain [$2], got [$1]"
}

assert_match() { # haystack ERE what
  [[ "$1" =~ $2 ]] || fail "${3:-output}: expected to match /$2/, got [$1]"
}

# assert_rc EXPECTED [what]: the status of the last brun/bcreate/bcmd.
assert_rc() {
  [ "$RC" == "$1" ] || fail "${2:-berth} exit status: expected $1, got $RC (stdout: ${OUT:0:300}) (stderr: ${ERR:0:300})"
}

# ----------------------------------------------------------------- berth --

# ITEST_USER (integration/run.sh with ITEST_ROOTLESS=1): every berth call
# is that ordinary user's, with the test's state root as its
# $XDG_RUNTIME_DIR, and make_bundle's configs are rootless ones.
if [ -n "${ITEST_USER:-}" ]; then
  b() {
    setpriv --reuid="$ITEST_UID" --regid="$ITEST_UID" --init-groups \
      env XDG_RUNTIME_DIR="$ROOT" "$BERTH" --root "$ROOT" "$@"
  }
else
  b() { "$BERTH" --root "$ROOT" "$@"; }
fi

# bcmd ARGS...: run berth (global flags first), capture OUT, ERR, RC.
bcmd() {
  b "$@" </dev/null >"$T_TMP/.out" 2>"$T_TMP/.err"
  RC=$?
  OUT=$(cat "$T_TMP/.out")
  ERR=$(cat "$T_TMP/.err")
}

# cid NAME: a container id unique to this test run.
cid() { echo "${T_NAME//_/-}-$1-$T_SALT"; }

# brun BUNDLE ID [run flags...]: `berth run` in the foreground, stdin from
# /dev/null; sets OUT, ERR, RC.
brun() {
  local bundle=$1 id=$2
  shift 2
  b run --bundle "$bundle" "$@" "$id" </dev/null >"$T_TMP/.out" 2>"$T_TMP/.err"
  RC=$?
  OUT=$(cat "$T_TMP/.out")
  ERR=$(cat "$T_TMP/.err")
}

# bcreate BUNDLE ID [create flags...]: `berth create`; the container's
# stdout/stderr go to $T_TMP/ID.stdout / .stderr (never a pipe: the
# container keeps them open). Records the init pid on success.
bcreate() {
  local bundle=$1 id=$2
  shift 2
  b create --bundle "$bundle" "$@" "$id" </dev/null >"$T_TMP/$id.stdout" 2>"$T_TMP/$id.stderr"
  RC=$?
  OUT=$(cat "$T_TMP/$id.stdout")
  ERR=$(cat "$T_TMP/$id.stderr")
  if [ "$RC" == 0 ]; then
    local pid
    pid=$(state_field "$id" pid 2>/dev/null)
    [ -n "$pid" ] && [ "$pid" != 0 ] && record_pid "$pid"
  fi
  return 0
}

# must_create BUNDLE ID [flags]: create or fail the test.
must_create() {
  bcreate "$@"
  [ "$RC" == 0 ] || fail "create $2 failed (rc $RC): $ERR"
}

must_start() {
  bcmd start "$1"
  [ "$RC" == 0 ] || fail "start $1 failed (rc $RC): $ERR"
}

# state_json ID: print `berth state ID` (empty on error).
state_json() { b state "$1" 2>/dev/null; }

# state_field ID FIELD: one field of the state JSON (annotations as JSON).
state_field() {
  b state "$1" 2>/dev/null | py -c '
import json, sys
v = json.load(sys.stdin).get(sys.argv[1])
print(json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else ("" if v is None else v))' "$2"
}

# wait_status ID STATUS [seconds]: poll `state` until it says STATUS.
wait_status() {
  local id=$1 want=$2 secs=${3:-10} i got
  for ((i = 0; i < secs * 20; i++)); do
    got=$(state_field "$id" status)
    [ "$got" == "$want" ] && return 0
    sleep 0.05
  done
  fail "container $id: status stayed [$got], expected [$want] within ${secs}s"
}

# wait_file FILE [seconds]: wait until FILE exists and is non-empty.
wait_file() {
  local f=$1 secs=${2:-10} i
  for ((i = 0; i < secs * 20; i++)); do
    [ -s "$f" ] && return 0
    sleep 0.05
  done
  return 1
}

# wait_gone PID [seconds]: wait until PID has exited (or is a zombie).
wait_gone() {
  local pid=$1 secs=${2:-10} i st
  for ((i = 0; i < secs * 20; i++)); do
    st=$(proc_state "$pid")
    [ -z "$st" ] || [ "$st" == Z ] && return 0
    sleep 0.05
  done
  return 1
}

# proc_state PID: the state letter of PID ("" if there is no such process).
proc_state() {
  local line
  read -r line 2>/dev/null <"/proc/$1/stat" || return 0
  line=${line##*) }
  echo "${line%% *}"
}

# proc_starttime PID: field 22 of /proc/PID/stat.
proc_starttime() {
  local line
  read -r line 2>/dev/null <"/proc/$1/stat" || return 0
  line=${line##*) }
  # shellcheck disable=SC2086
  set -- $line
  echo "${20}"
}

# record_pid PID: remember a process the clean-up may kill (pid and start
# time, so a recycled pid is never killed).
record_pid() {
  local st
  st=$(proc_starttime "$1")
  [ -n "$st" ] && echo "$1 $st" >>"$T_TMP/.pids"
}

# bg CMD...: start CMD in the background and record it; sets BG_PID.
bg() {
  "$@" &
  BG_PID=$!
  record_pid "$BG_PID"
}

# ------------------------------------------------------------- terminals --

# start_console_receiver SOCKET OUT: in the background, receive a pty
# master over SOCKET (SCM_RIGHTS; the count of fds goes to OUT.meta),
# write "hello\n" to it, copy everything read to OUT until the container's
# side closes, then write OUT.done.
start_console_receiver() {
  cat >"$T_TMP/recv.py" <<'EOF'
import os, socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(1)
open(path + ".ready", "w").close()
s.settimeout(30)
c, _ = s.accept()
msg, fds, flags, addr = socket.recv_fds(c, 1024, 4)
with open(out + ".meta", "w") as f:
    f.write("%d\n" % len(fds))
master = fds[0]
os.write(master, b"hello\n")
data = b""
while True:
    try:
        d = os.read(master, 4096)
    except OSError:
        break
    if not d:
        break
    data += d
    with open(out, "wb") as f:
        f.write(data)
with open(out + ".done", "w") as f:
    f.write("done\n")
EOF
  bg "$PY" -S "$T_TMP/recv.py" "$1" "$2"
  local i
  for ((i = 0; i < 100; i++)); do
    [ -e "$1.ready" ] && return 0
    sleep 0.05
  done
  fail "console receiver did not start"
}

# --------------------------------------------------------------- bundles --

# cfg BUNDLE PYCODE...: edit BUNDLE/config.json with Python statements on
# `c` (the config dict); `E` is os.environ.
cfg() {
  local bundle=$1
  shift
  py - "$bundle/config.json" "$@" <<'EOF' || fail "cfg: editing $bundle/config.json failed"
import json, os, sys
p = sys.argv[1]
c = json.load(open(p))
E = os.environ
for code in sys.argv[2:]:
    exec(code)
with open(p, "w") as f:
    json.dump(c, f, indent=2)
EOF
}

# CGROUPNS: config code that adds a cgroup namespace (`berth spec`, like
# runc's, asks for one only on a pure cgroup v2 host).
CGROUPNS='c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "cgroup"] + [{"type": "cgroup"}]'

# make_bundle NAME ARGS...: a busybox bundle at $T_TMP/NAME, set in $B:
# config from `berth spec` ($ITEST_SPEC), terminal off, process.args = ARGS,
# the root writable, a cgroupsPath of its own under $T_CG, and the host dir
# $B/host bind-mounted at /host. Under crun (ITEST_RUNTIME=crun), which
# refuses an ociVersion above 1.1, ociVersion 1.0.2.
make_bundle() {
  local name=$1
  shift
  B="$T_TMP/$name"
  mkdir -p "$B/rootfs/bin" "$B/rootfs/proc" "$B/rootfs/sys" "$B/rootfs/dev" \
    "$B/rootfs/etc" "$B/rootfs/tmp" "$B/rootfs/host" "$B/host" || fail "make_bundle: mkdir"
  chmod 755 "$B" "$B/rootfs"
  chmod 777 "$B/host"
  cp "$BUSYBOX" "$B/rootfs/bin/busybox" && chmod 755 "$B/rootfs/bin/busybox" || fail "make_bundle: copy busybox"
  (cd "$B" && "${ITEST_SPEC:-$BERTH}" spec) || fail "make_bundle: berth spec failed"
  APPLETS=$APPLETS CGP="$T_CG/$name" HOSTDIR="$B/host" RT=$ITEST_RUNTIME py - "$B/config.json" "$@" <<'EOF' || fail "make_bundle: editing config.json failed"
import json, os, sys
E = os.environ
p = sys.argv[1]
for a in E["APPLETS"].split():
    os.symlink("busybox", os.path.join(os.path.dirname(p), "rootfs/bin", a))
c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = sys.argv[2:]
c["root"]["readonly"] = False
c["linux"]["cgroupsPath"] = E["CGP"]
c["mounts"].append({"destination": "/host", "type": "bind", "source": E["HOSTDIR"], "options": ["rbind", "rw"]})
if E.get("ITEST_UID"):
    # Rootless: the user's own uid and gid are root inside; no cgroup (none
    # is delegated to the user here) and so no limits.
    uid = int(E["ITEST_UID"])
    l = c["linux"]
    if not any(n["type"] == "user" for n in l["namespaces"]):
        l["namespaces"].append({"type": "user"})
    l["uidMappings"] = [{"containerID": 0, "hostID": uid, "size": 1}]
    l["gidMappings"] = [{"containerID": 0, "hostID": uid, "size": 1}]
    l.pop("cgroupsPath", None)
    l.pop("resources", None)
    for m in c["mounts"]:
        if m["type"] == "devpts":
            m["options"] = [o for o in m["options"] if not o.startswith("gid=")]
if E["RT"] == "crun":
    c["ociVersion"] = "1.0.2"
with open(p, "w") as f:
    json.dump(c, f, indent=2)
EOF
  if [ -n "${ITEST_USER:-}" ]; then
    chown -R "$ITEST_UID:$ITEST_UID" "$B/rootfs" || fail "make_bundle: chown the rootfs"
  fi
}

# add_mount BUNDLE DEST TYPE SOURCE [OPT,OPT...]
add_mount() {
  MD=$2 MT=$3 MS=$4 MO=${5:-} cfg "$1" '
m = {"destination": E["MD"], "type": E["MT"], "source": E["MS"]}
if E["MO"]: m["options"] = E["MO"].split(",")
c["mounts"].append(m)'
}

# mountinfo_line OUTPUT MOUNTPOINT: the last mountinfo line for MOUNTPOINT.
mountinfo_line() {
  awk -v mp="$2" '$5 == mp { line = $0 } END { print line }' <<<"$1"
}

# ---------------------------------------------------------------- cgroups --

# cg_roots: the mount point of every cgroup hierarchy (v1 controllers and
# cgroup2: /sys/fs/cgroup/<ctrl> and /sys/fs/cgroup/unified on a hybrid
# host, /sys/fs/cgroup alone on a pure v2 one).
cg_roots() {
  awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup" || $(i + 1) == "cgroup2") print $5; break } }' /proc/self/mountinfo | sort -u
}

# cg_procs CGNAME: the cgroup.procs file of this test's container cgroup
# CGNAME (a hierarchy every host has: pids or memory on v1, else cgroup2).
cg_procs() {
  local h f
  for h in /sys/fs/cgroup/pids /sys/fs/cgroup/memory $(cg_roots); do
    f="$h$T_CG/$1/cgroup.procs"
    [ -f "$f" ] && { echo "$f"; return 0; }
  done
  return 1
}

# assert_no_cgroup CGNAME: no dir for it in any hierarchy.
assert_no_cgroup() {
  local h
  for h in $(cg_roots); do
    [ -e "$h$T_CG/$1" ] && fail "left behind: cgroup dir $h$T_CG/$1"
  done
  return 0
}

# --------------------------------------------------------- left-behinds --

# assert_nothing_left ID CGNAME [MARKER]: no state dir under --root, no
# cgroup dir for the container in any hierarchy, no process with ID or
# MARKER in its command line.
assert_nothing_left() {
  local id=$1 cgname=$2 marker=${3:-$1} h left p arg
  left=$(ls -A "$ROOT" 2>/dev/null)
  [ -z "$left" ] || fail "left behind under --root: $left"
  assert_no_cgroup "$cgname"
  # Scan with builtins only, so no scanner has the marker in its argv.
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" == "$$" ] || [ "${p#/proc/}" == "$BASHPID" ] && continue
    while IFS= read -r -d '' arg; do
      if [[ "$arg" == *"$id"* || "$arg" == *"$marker"* ]]; then
        fail "left behind: process ${p#/proc/} ($(tr '\0' ' ' <"$p/cmdline" 2>/dev/null))"
      fi
    done 2>/dev/null <"$p/cmdline"
  done
  return 0
}

# ------------------------------------------------------------- clean-up --

# cleanup_test TMP ROOT CG: idempotent; also run by run.sh after a test
# that timed out.
cleanup_test() {
  local tmp=$1 root=$2 cg=$3 d id pid st h i mp
  if [ -d "$root" ]; then
    for d in "$root"/*/; do
      [ -d "$d" ] || continue
      id=$(basename "$d")
      timeout -k 2 20 "$BERTH" --root "$root" delete --force "$id" >/dev/null 2>&1
    done
  fi
  # Recorded pids, only while they are still the process we recorded.
  if [ -f "$tmp/.pids" ]; then
    while read -r pid st; do
      [ "$(proc_starttime "$pid")" == "$st" ] && kill -9 "$pid" 2>/dev/null
    done <"$tmp/.pids"
  fi
  # A paused container left over: thaw it, or (v1) SIGKILL cannot end it.
  for h in $(cg_roots); do
    [ -d "$h$cg" ] || continue
    find "$h$cg" -name freezer.state -exec sh -c 'for f; do echo THAWED >"$f"; done' sh {} + 2>/dev/null
    find "$h$cg" -name cgroup.freeze -exec sh -c 'for f; do echo 0 >"$f"; done' sh {} + 2>/dev/null
  done
  # Whatever is still in this test's own cgroups (ours by construction).
  for h in $(cg_roots); do
    d="$h$cg"
    [ -d "$d" ] || continue
    while read -r pid; do
      [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
    done < <(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null)
  done
  for h in $(cg_roots); do
    d="$h$cg"
    [ -d "$d" ] || continue
    for ((i = 0; i < 40; i++)); do
      find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
      [ -d "$d" ] || break
      sleep 0.05
    done
    [ -d "$d" ] && echo "cleanup: could not remove cgroup $d" >&2
  done
  # A mount that leaked to the host under our dirs: detach it before rm.
  for d in "$tmp" "$root"; do
    [ -n "$d" ] && [ -d "$d" ] || continue
    while read -r mp; do
      echo "cleanup: unmounting leaked host mount $mp" >&2
      umount -l "$mp" 2>/dev/null
    done < <(awk -v p="$d/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
  done
  [ -n "$tmp" ] && rm -rf --one-file-system "$tmp"
  [ -n "$root" ] && rm -rf --one-file-system "$root"
  return 0
}

# run_one FUNC: the body of one test process (called by run.sh).
run_one() {
  local func=$1
  T_NAME=${func#test_}
  T_SALT=$RANDOM$RANDOM
  T_CG="$CG_PREFIX/$T_NAME"
  T_TMP=$(mktemp -d /tmp/berth-itest.XXXXXX) || exit 1
  ROOT=$(mktemp -d /tmp/berth-itest-root.XXXXXX) || exit 1
  chmod 755 "$T_TMP"
  [ -n "${ITEST_USER:-}" ] && chown "$ITEST_UID:$ITEST_UID" "$ROOT"
  echo "$T_TMP $ROOT $T_CG" >"$T_STATEFILE"
  trap 'cleanup_test "$T_TMP" "$ROOT" "$T_CG"' EXIT
  trap 'exit 143' TERM INT
  cd "$T_TMP" || exit 1
  "$func"
  exit 0
}
