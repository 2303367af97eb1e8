# shellcheck shell=bash
# spec, features, --log/--log-format, global flags.

test_spec_like_runc() {
  [ -x /usr/sbin/runc ] || skip "/usr/sbin/runc is not installed on this host"
  mkdir -p "$T_TMP/berth" "$T_TMP/runc"
  (cd "$T_TMP/berth" && b spec) || fail "berth spec failed"
  (cd "$T_TMP/runc" && /usr/sbin/runc spec) || fail "runc spec failed"
  local got
  got=$(py - "$T_TMP/berth/config.json" "$T_TMP/runc/config.json" <<'EOF' 2>&1
import json, sys
b = json.load(open(sys.argv[1])); r = json.load(open(sys.argv[2]))
errs = []
def same(what, x, y):
    if x != y: errs.append("%s: berth %r, runc %r" % (what, x, y))
same("ociVersion major", b["ociVersion"].split(".")[0], "1")
same("top-level keys", sorted(b), sorted(r))
same("root", b["root"], r["root"])
same("process.terminal", b["process"]["terminal"], r["process"]["terminal"])
same("process.args", b["process"]["args"], r["process"]["args"])
same("process.cwd", b["process"]["cwd"], r["process"]["cwd"])
same("process.user", b["process"]["user"], r["process"]["user"])
same("process.env", b["process"]["env"], r["process"]["env"])
same("process.noNewPrivileges", b["process"].get("noNewPrivileges"), r["process"].get("noNewPrivileges"))
same("process.rlimits", b["process"].get("rlimits"), r["process"].get("rlimits"))
for s in ("bounding", "effective", "permitted"):
    same("capabilities." + s, b["process"]["capabilities"].get(s), r["process"]["capabilities"].get(s))
same("mounts", [(m["destination"], m["type"]) for m in b["mounts"]], [(m["destination"], m["type"]) for m in r["mounts"]])
same("maskedPaths", b["linux"]["maskedPaths"], r["linux"]["maskedPaths"])
same("readonlyPaths", b["linux"]["readonlyPaths"], r["linux"]["readonlyPaths"])
missing = {n["type"] for n in r["linux"]["namespaces"]} - {n["type"] for n in b["linux"]["namespaces"]}
if missing: errs.append("namespaces missing: %r" % sorted(missing))
same("linux.resources.devices", b["linux"].get("resources", {}).get("devices"), r["linux"].get("resources", {}).get("devices"))
print("; ".join(errs))
EOF
)
  assert_eq "$got" "" "berth spec vs runc spec"
  # The spec as written runs (with terminal off and our cgroup).
  make_bundle run sh -c 'hostname; cat /proc/self/status | grep -E "^(CapEff|NoNewPrivs)"; touch /x 2>&1 | grep -c Read-only'
  cp "$T_TMP/berth/config.json" "$B/config.json"
  CGP="$T_CG/run" cfg "$B" 'c["process"]["terminal"] = False' \
    'c["process"]["args"] = ["sh", "-c", "hostname; grep -E \"^(CapEff|NoNewPrivs)\" /proc/self/status; touch /x 2>&1 | grep -c Read-only"]' \
    'c["linux"]["cgroupsPath"] = E["CGP"]'
  brun "$B" "$(cid run)"
  assert_rc 0 "run of the default spec"
  assert_eq "$OUT" "$(printf 'berth\nCapEff:\t0000000020000420\nNoNewPrivs:\t1\n1')" "default spec in a container"
}

test_spec_rootless() {
  [ -x /usr/sbin/runc ] || skip "/usr/sbin/runc is not installed on this host"
  mkdir -p "$T_TMP/berth" "$T_TMP/runc"
  (cd "$T_TMP/berth" && b spec --rootless) || fail "berth spec --rootless failed"
  (cd "$T_TMP/runc" && /usr/sbin/runc spec --rootless) || fail "runc spec --rootless failed"
  local got
  got=$(py - "$T_TMP/berth/config.json" "$T_TMP/runc/config.json" <<'EOF' 2>&1
import json, sys
b = json.load(open(sys.argv[1])); r = json.load(open(sys.argv[2]))
errs = []
def same(what, x, y):
    if x != y: errs.append("%s: berth %r, runc %r" % (what, x, y))
same("namespaces", sorted(n["type"] for n in b["linux"]["namespaces"]), sorted(n["type"] for n in r["linux"]["namespaces"]))
same("uidMappings", b["linux"].get("uidMappings"), r["linux"].get("uidMappings"))
same("gidMappings", b["linux"].get("gidMappings"), r["linux"].get("gidMappings"))
bm = {m["destination"]: (m["type"], m.get("options")) for m in b["mounts"]}
rm = {m["destination"]: (m["type"], m.get("options")) for m in r["mounts"]}
same("mount destinations", sorted(bm), sorted(rm))
for d in sorted(set(bm) & set(rm)):
    same("mount " + d, bm[d], rm[d])
same("resources", b["linux"].get("resources"), r["linux"].get("resources"))
print("; ".join(errs))
EOF
)
  assert_eq "$got" "" "berth spec --rootless vs runc spec --rootless"
}

test_spec_refuses_overwrite() {
  mkdir -p "$T_TMP/x"
  echo '{"mine": true}' >"$T_TMP/x/config.json"
  (cd "$T_TMP/x" && b spec) >"$T_TMP/o" 2>"$T_TMP/e"
  RC=$? ERR=$(cat "$T_TMP/e")
  assert_rc 1 "spec over an existing config.json"
  assert_contains "$ERR" "already exists" "spec error"
  assert_eq "$(cat "$T_TMP/x/config.json")" '{"mine": true}' "config.json after refused spec"
  # --bundle writes elsewhere
  mkdir -p "$T_TMP/y"
  bcmd spec --bundle "$T_TMP/y"
  assert_rc 0 "spec --bundle"
  [ -s "$T_TMP/y/config.json" ] || fail "spec --bundle did not write config.json"
}

test_features_json() {
  bcmd features
  assert_rc 0 "features"
  local got
  got=$(py - <<'EOF' "$OUT" 2>&1
import json, sys
f = json.loads(sys.argv[1])
errs = []
if f.get("ociVersionMin") != "1.0.0": errs.append("ociVersionMin %r" % f.get("ociVersionMin"))
if f.get("ociVersionMax") != "1.3.0": errs.append("ociVersionMax %r" % f.get("ociVersionMax"))
hooks = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]
if sorted(f.get("hooks", [])) != sorted(hooks): errs.append("hooks %r" % f.get("hooks"))
ns = sorted(f.get("linux", {}).get("namespaces", []))
if ns != ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"]: errs.append("namespaces %r" % ns)
caps = f.get("linux", {}).get("capabilities", [])
if "CAP_SYS_ADMIN" not in caps or "CAP_CHOWN" not in caps: errs.append("capabilities %r" % caps[:5])
for o in ("rbind", "rro", "ro", "nosuid", "rprivate", "shared", "rslave"):
    if o not in f.get("mountOptions", []): errs.append("mountOptions lacks %s" % o)
print("; ".join(errs))
EOF
)
  assert_eq "$got" "" "features JSON"
}

test_log_json_error() {
  local log="$T_TMP/log.json" id
  id=$(cid nosuch)
  bcmd --log "$log" --log-format json state "$id"
  assert_rc 1 "state of an unknown id"
  assert_eq "$(wc -l <<<"$ERR")" 1 "lines on stderr"
  assert_contains "$ERR" "does not exist" "stderr"
  [ -s "$log" ] || fail "--log file is empty"
  local got
  got=$(py - "$log" "$id" <<'EOF' 2>&1
import json, re, sys
lines = open(sys.argv[1]).read().splitlines()
errs = []
try:
    objs = [json.loads(l) for l in lines]
except Exception as e:
    print("not JSON lines: %r (%s)" % (lines, e)); sys.exit()
last = [o for o in objs if o.get("level") == "error"]
if not last: errs.append("no error line in %r" % lines)
else:
    o = last[-1]
    if sys.argv[2] not in o.get("msg", "") or "does not exist" not in o.get("msg", ""): errs.append("msg %r" % o.get("msg"))
    if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", o.get("time", "")): errs.append("time %r" % o.get("time"))
print("; ".join(errs))
EOF
)
  assert_eq "$got" "" "--log JSON"
  # text format too
  bcmd --log "$T_TMP/log.txt" --log-format text kill "$id"
  assert_rc 1 "kill of an unknown id"
  assert_match "$(cat "$T_TMP/log.txt")" 'level=error msg=.*does not exist' "--log-format text"
}

test_log_create_error_json() {
  # What engines see: a failed create with --log --log-format json.
  make_bundle a nosuchprogram
  local id
  id=$(cid a)
  bcmd --log "$T_TMP/log.json" --log-format json create --bundle "$B" "$id"
  assert_rc 1 "create of a missing program"
  local msg
  msg=$(py -c '
import json, sys
print([json.loads(l) for l in open(sys.argv[1]) if l.strip()][-1]["msg"])' "$T_TMP/log.json" 2>&1)
  assert_contains "$msg" "executable file not found" "last log line"
  assert_nothing_left "$id" a
}

test_systemd_cgroup_without_systemd() {
  make_bundle a true
  local id
  id=$(cid a)
  # This host has no systemd as PID 1 and no system bus (the systemd
  # guest, integration/systemd/, tests the driver itself).
  [ -S /run/dbus/system_bus_socket ] && skip "this host has a system bus"
  # A cgroupfs path is not the systemd driver's form.
  bcmd --systemd-cgroup create --bundle "$B" "$id"
  assert_rc 1 "--systemd-cgroup create with a cgroupfs path"
  assert_contains "$ERR" "slice:prefix:name" "error"
  assert_nothing_left "$id" a
  cfg "$B" 'c["linux"]["cgroupsPath"] = "system.slice:berth:x"'
  bcmd --systemd-cgroup create --bundle "$B" "$id"
  assert_rc 1 "--systemd-cgroup create"
  assert_contains "$ERR" "system bus" "error"
  assert_eq "$(wc -l <<<"$ERR")" 1 "lines on stderr"
  assert_nothing_left "$id" a
  # A cgroupsPath in the systemd form is the cgroupfs driver's error.
  bcmd create --bundle "$B" "$id"
  assert_rc 1 "create with a systemd cgroupsPath"
  assert_contains "$ERR" "--systemd-cgroup" "error"
  assert_nothing_left "$id" a
}

test_version_and_help() {
  local flag
  for flag in --version -v; do
    bcmd "$flag"
    assert_rc 0 "$flag"
    assert_match "$OUT" $'^berth version [0-9]+\\.[0-9]+\\.[0-9]+\ncommit: ([0-9a-f]+|unknown)\nspec: 1\\.3\\.0$' "$flag"
  done
  # An error says so, as runc's level=error and crun's do.
  bcmd state no-such-container
  assert_rc 1 "state of no container"
  assert_match "$ERR" '^berth: error: ' "an error line"
  bcmd --help
  assert_rc 0 "--help"
  local c
  for c in create start state kill delete run list spec features; do
    assert_contains "$OUT" "$c" "--help lists $c"
  done
  bcmd nosuchcommand
  [ "$RC" != 0 ] || fail "an unknown command succeeded"
}
