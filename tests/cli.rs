//! The command line's surface and its error paths, through the real
//! binary: exit codes, one-line errors, the JSON log, and that a failed
//! create leaves nothing behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Tmp(PathBuf);

impl Tmp {
    fn new(name: &str) -> Tmp {
        let p = std::env::temp_dir().join(format!("berth-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Tmp(p)
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn berth(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A bundle whose config is `config` and whose rootfs is an empty dir.
fn bundle(dir: &Path, config: &str) -> PathBuf {
    let b = dir.join("bundle");
    std::fs::create_dir_all(b.join("rootfs")).unwrap();
    std::fs::write(b.join("config.json"), config).unwrap();
    b
}

fn assert_failed_cleanly(o: &Output, root: &Path, want: &str) {
    assert_eq!(o.status.code(), Some(1), "stderr: {}", stderr(o));
    let err = stderr(o);
    assert!(err.contains(want), "expected {want:?} in {err:?}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
    assert!(o.stdout.is_empty(), "nothing on stdout");
    let left: Vec<_> = std::fs::read_dir(root)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "state left behind: {left:?}");
}

#[test]
fn version_and_help() {
    let t = Tmp::new("version");
    // runc's three lines, for -v and --version (docker info reads them).
    for flag in ["--version", "-v"] {
        let o = berth(&t.0, &[flag]);
        assert!(o.status.success(), "{flag}");
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{flag}: {out:?}");
        assert!(lines[0].starts_with("berth version 0."), "{out:?}");
        assert!(lines[1].starts_with("commit: "), "{out:?}");
        assert_eq!(lines[2], "spec: 1.3.0");
    }
    let o = berth(&t.0, &["--help"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("create"));
}

#[test]
fn spec_writes_a_valid_config_once() {
    let t = Tmp::new("spec");
    let o = berth(&t.0, &["spec", "--bundle", t.0.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let raw = std::fs::read(t.0.join("config.json")).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(v["process"]["args"][0], "sh");
    assert_eq!(v["root"]["path"], "rootfs");
    let o = berth(&t.0, &["spec", "--bundle", t.0.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already exists"));
}

#[test]
fn rootless_spec_has_a_user_namespace() {
    let t = Tmp::new("spec-rootless");
    let o = berth(
        &t.0,
        &["spec", "--rootless", "--bundle", t.0.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(t.0.join("config.json")).unwrap()).unwrap();
    let ns = v["linux"]["namespaces"].as_array().unwrap();
    assert!(ns.iter().any(|n| n["type"] == "user"));
    assert_eq!(v["linux"]["uidMappings"][0]["size"], 1);
}

#[test]
fn features_reports_what_is_supported() {
    let t = Tmp::new("features");
    let o = berth(&t.0, &["features"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ociVersionMin"], "1.0.0");
    assert_eq!(v["ociVersionMax"], "1.3.0");
    assert_eq!(v["hooks"].as_array().unwrap().len(), 6);
    assert_eq!(v["linux"]["seccomp"]["enabled"], true);
    assert!(v["linux"]["seccomp"]["actions"]
        .as_array()
        .unwrap()
        .contains(&"SCMP_ACT_ERRNO".into()));
    assert!(v["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .contains(&"time".into()));
}

/// Engines read `features` with the runtime-spec's own types: the output
/// must parse as oci-spec's `Features` and say nothing those types drop
/// (a field they do not know, or of the wrong type, would not round-trip).
#[test]
fn features_parse_as_the_runtime_spec_types() {
    let t = Tmp::new("features-typed");
    let o = berth(&t.0, &["features"]);
    assert!(o.status.success());
    let raw: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let typed: oci_spec::runtime::Features = serde_json::from_slice(&o.stdout).unwrap();
    let mut lost = Vec::new();
    differences("", &raw, &serde_json::to_value(&typed).unwrap(), &mut lost);
    assert!(lost.is_empty(), "not as the spec's types read it: {lost:?}");
}

/// The paths under which `a` and `b` differ.
fn differences(at: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value::Object;
    match (a, b) {
        (Object(x), Object(y)) => {
            for (k, v) in x {
                let path = format!("{at}.{k}");
                match y.get(k) {
                    Some(w) => differences(&path, v, w, out),
                    None => out.push(format!("{path} dropped")),
                }
            }
            // An absent optional field comes back as null: not a change.
            for k in y.keys().filter(|k| !x.contains_key(*k) && !y[*k].is_null()) {
                out.push(format!("{at}.{k} added as {}", y[k]));
            }
        }
        _ if a != b => out.push(format!("{at}: {a} became {b}")),
        _ => {}
    }
}

#[test]
fn unknown_id_is_an_error_for_every_command() {
    let t = Tmp::new("unknown");
    for args in [
        &["state", "nope"][..],
        &["start", "nope"],
        &["kill", "nope"],
        &["delete", "nope"],
    ] {
        let o = berth(&t.0, args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&o).contains("does not exist"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    // runc: delete --force of a missing container succeeds.
    assert!(berth(&t.0, &["delete", "--force", "nope"]).status.success());
}

#[test]
fn bad_ids_are_refused() {
    let t = Tmp::new("ids");
    let b = bundle(&t.0, "{}");
    let root = t.0.join("state");
    for id in ["../x", "a/b", "..", ".", "a b"] {
        let o = berth(&root, &["create", "--bundle", b.to_str().unwrap(), id]);
        assert_failed_cleanly(&o, &root, "is invalid");
    }
}

#[test]
fn malformed_config_names_line_and_column() {
    let t = Tmp::new("malformed");
    let b = bundle(
        &t.0,
        "{\n  \"ociVersion\": \"1.0.0\",\n  \"root\": {\"path\": \"rootfs\"\n}\n",
    );
    let root = t.0.join("state");
    let o = berth(&root, &["create", "--bundle", b.to_str().unwrap(), "x"]);
    assert_failed_cleanly(&o, &root, "line 5 column 0");
    assert!(stderr(&o).contains("config.json"));
}

#[test]
fn missing_bundle_and_rootfs() {
    let t = Tmp::new("missing");
    let root = t.0.join("state");
    let o = berth(&root, &["create", "--bundle", "/nonexistent/bundle", "x"]);
    assert_failed_cleanly(&o, &root, "/nonexistent/bundle");
    let b = bundle(&t.0, r#"{"ociVersion":"1.0.0","root":{"path":"nope"}}"#);
    let o = berth(&root, &["create", "--bundle", b.to_str().unwrap(), "x"]);
    assert_failed_cleanly(&o, &root, "root.path");
}

#[test]
fn unsupported_version_and_fields_are_named() {
    let t = Tmp::new("version-field");
    let root = t.0.join("state");
    let cases = [
        (
            r#"{"ociVersion":"2.0.0","root":{"path":"rootfs"}}"#,
            "ociVersion",
        ),
        (
            r#"{"ociVersion":"1.0.0","root":{"path":"rootfs"},"linux":{"intelRdt":{"closID":"x"}}}"#,
            "linux.intelRdt",
        ),
        (
            r#"{"ociVersion":"1.0.0","root":{"path":"rootfs"},"linux":{"mountLabel":"system_u:object_r:container_file_t:s0"}}"#,
            "linux.mountLabel",
        ),
        (
            r#"{"ociVersion":"1.0.0","root":{"path":"rootfs"},"linux":{"cgroupsPath":"system.slice:berth:x"}}"#,
            "linux.cgroupsPath",
        ),
        (
            r#"{"ociVersion":"1.0.0","root":{"path":"rootfs"},"linux":{"sysctl":{"vm.swappiness":"1"}}}"#,
            "linux.sysctl",
        ),
        (
            r#"{"ociVersion":"1.0.0","root":{"path":"rootfs"},"process":{"cwd":"/","args":["sh"],"user":{"uid":0,"gid":0},"capabilities":{"bounding":["CAP_TEST"]}}}"#,
            "CAP_TEST",
        ),
    ];
    for (config, want) in cases {
        let b = bundle(&t.0, config);
        let o = berth(&root, &["create", "--bundle", b.to_str().unwrap(), "x"]);
        assert_failed_cleanly(&o, &root, want);
    }
}

#[test]
fn errors_go_to_the_json_log() {
    let t = Tmp::new("log");
    let log = t.0.join("log.json");
    let o = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args([
            "--root",
            t.0.to_str().unwrap(),
            "--log",
            log.to_str().unwrap(),
            "--log-format",
            "json",
            "state",
            "ghost",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let text = std::fs::read_to_string(&log).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["level"], "error");
    assert!(last["msg"].as_str().unwrap().contains("ghost"));
    assert!(last["time"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn exec_of_an_unknown_container_exits_255() {
    let t = Tmp::new("exec");
    let log = t.0.join("log.json");
    let o = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args([
            "--root",
            t.0.to_str().unwrap(),
            "--log",
            log.to_str().unwrap(),
        ])
        .args(["--log-format", "json", "exec", "ghost", "true"])
        .output()
        .unwrap();
    // Every failure of exec itself exits 255, as runc's (runc's own
    // suite checks it for an unknown container).
    assert_eq!(o.status.code(), Some(255), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("exec failed") && err.contains("\"ghost\" does not exist"));
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["level"], "error");
    assert!(last["msg"].as_str().unwrap().starts_with("exec failed: "));
    // No id at all: a usage error, as for every command.
    assert_eq!(berth(&t.0, &["exec"]).status.code(), Some(2));
}

#[test]
fn rootless_takes_true_false_auto_only() {
    let o = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["--rootless", "maybe", "list"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("rootless"));
}

#[test]
fn list_of_an_empty_root() {
    let t = Tmp::new("list");
    let o = berth(&t.0, &["list", "--format", "json"]);
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "[]");
    let o = berth(&t.0, &["list", "-q"]);
    assert!(o.stdout.is_empty());
}
