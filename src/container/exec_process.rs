//! The process `exec` runs, as runc builds it: the `--process` file as
//! given, or the container's own `process` with the command line's args;
//! then the flags on top (env entries added or replacing, cwd, user and
//! groups, capabilities, no_new_privs, terminal, AppArmor profile and
//! SELinux label). Without labels of its own the process gets the
//! container's.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities, Process, Spec};

use crate::error::{Error, Result};

/// The process-shaping flags of `exec`.
#[derive(Default, Debug, Clone)]
pub struct ProcessFlags {
    /// `--process FILE`: an OCI `process` object.
    pub file: Option<PathBuf>,
    /// The command (required without `--process`, refused with it).
    pub args: Vec<String>,
    /// `--tty[=BOOL]`: unset keeps the file's `terminal` (false otherwise).
    pub tty: Option<bool>,
    /// `--env K=V`, in order.
    pub env: Vec<String>,
    pub cwd: Option<PathBuf>,
    /// `--user UID[:GID]`.
    pub user: Option<String>,
    pub additional_gids: Vec<u32>,
    /// `--cap NAME`, with or without the CAP_ prefix.
    pub caps: Vec<String>,
    /// `--no-new-privs[=BOOL]`.
    pub no_new_privs: Option<bool>,
    pub apparmor: Option<String>,
    pub process_label: Option<String>,
}

fn flag_err(flag: &str, msg: impl std::fmt::Display) -> Error {
    Error::InvalidConfig(format!("{flag}: {msg}"))
}

/// Build and validate the process to run in a container whose config is
/// `config`.
pub fn build(f: &ProcessFlags, config: &Spec) -> Result<Process> {
    let (mut p, at) = match &f.file {
        Some(path) => {
            if !f.args.is_empty() {
                return Err(flag_err(
                    "--process",
                    format!(
                        "a command ({:?}) was given as well: with --process, process.args in the file is the command",
                        f.args.join(" ")
                    ),
                ));
            }
            (load(path)?, format!("--process {}: ", path.display()))
        }
        None => {
            if f.args.is_empty() {
                return Err(Error::InvalidConfig(
                    "no command given (berth exec ID COMMAND [ARG]..., or --process FILE)".into(),
                ));
            }
            let mut p = config.process().clone().ok_or_else(|| {
                Error::InvalidConfig(
                    "the container's config has no process to base this one on: give --process FILE".into(),
                )
            })?;
            p.set_args(Some(f.args.clone()));
            // Like runc: no terminal unless asked for, whatever the
            // container's own process has.
            p.set_terminal(Some(false));
            (p, "process.".to_string())
        }
    };
    inherit_lsm_labels(&mut p, config);
    apply(f, &mut p)?;
    crate::spec::validate_process(&p, &at)?;
    Ok(p)
}

/// Like runc, an exec'd process is confined as the container's own is
/// unless it names labels of its own (the file's, or the flags').
fn inherit_lsm_labels(p: &mut Process, config: &Spec) {
    let Some(own) = config.process().as_ref() else {
        return;
    };
    if p.apparmor_profile().as_deref().is_none_or(str::is_empty) {
        p.set_apparmor_profile(own.apparmor_profile().clone());
    }
    if p.selinux_label().as_deref().is_none_or(str::is_empty) {
        p.set_selinux_label(own.selinux_label().clone());
    }
}

/// Read an OCI `process` object; syntax errors name line and column.
fn load(path: &Path) -> Result<Process> {
    let raw =
        std::fs::read(path).map_err(|e| Error::sys(format!("--process {}", path.display()), e))?;
    parse(&raw, path)
}

/// Parse the bytes of a `--process` file read from `path` (named in the
/// error). Not validated yet: `build` does that after the flags apply.
pub fn parse(raw: &[u8], path: &Path) -> Result<Process> {
    let err = |msg| Error::InvalidConfig(format!("--process {}: {msg}", path.display()));
    // As runc: a file without `user` runs the process as uid 0, gid 0.
    if let Ok(serde_json::Value::Object(mut obj)) = serde_json::from_slice(raw) {
        if !obj.contains_key("user") {
            obj.insert("user".into(), serde_json::json!({"uid": 0, "gid": 0}));
            let filled = serde_json::to_vec(&obj).map_err(|e| err(e.to_string()))?;
            return crate::json::parse(&filled).map_err(err);
        }
    }
    crate::json::parse(raw).map_err(err)
}

fn apply(f: &ProcessFlags, p: &mut Process) -> Result<()> {
    if let Some(t) = f.tty {
        p.set_terminal(Some(t));
    }
    if !f.env.is_empty() {
        let mut env = p.env().clone().unwrap_or_default();
        for kv in &f.env {
            match kv.split_once('=') {
                Some((k, _)) if !k.is_empty() => {
                    env.retain(|old| old.split_once('=').map_or(old.as_str(), |o| o.0) != k);
                    env.push(kv.clone());
                }
                _ => return Err(flag_err("--env", format!("{kv:?} is not KEY=VALUE"))),
            }
        }
        p.set_env(Some(env));
    }
    if let Some(cwd) = &f.cwd {
        if !cwd.is_absolute() {
            return Err(flag_err(
                "--cwd",
                format!("{} is not an absolute path", cwd.display()),
            ));
        }
        p.set_cwd(cwd.clone());
    }
    if let Some(u) = &f.user {
        let (uid, gid) = parse_user(u)?;
        p.user_mut().set_uid(uid);
        if let Some(gid) = gid {
            p.user_mut().set_gid(gid);
        }
    }
    if !f.additional_gids.is_empty() {
        let mut gids = p.user().additional_gids().clone().unwrap_or_default();
        gids.extend(&f.additional_gids);
        p.user_mut().set_additional_gids(Some(gids));
    }
    if !f.caps.is_empty() {
        add_caps(p, &f.caps)?;
    }
    if let Some(nnp) = f.no_new_privs {
        p.set_no_new_privileges(Some(nnp));
    }
    if let Some(profile) = f.apparmor.as_deref().filter(|s| !s.is_empty()) {
        crate::security::apparmor::check(profile, "--apparmor")?;
        p.set_apparmor_profile(Some(profile.to_string()));
    }
    if let Some(label) = f.process_label.as_deref().filter(|s| !s.is_empty()) {
        crate::security::selinux::check(label, "--process-label")?;
        p.set_selinux_label(Some(label.to_string()));
    }
    Ok(())
}

/// `UID[:GID]`, numbers only (as runc: no name lookup in the container).
fn parse_user(s: &str) -> Result<(u32, Option<u32>)> {
    let bad = || flag_err("--user", format!("{s:?} is not UID[:GID] (numbers)"));
    let (u, g) = match s.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (s, None),
    };
    let uid = u.parse().map_err(|_| bad())?;
    let gid = match g {
        Some(g) => Some(g.parse().map_err(|_| bad())?),
        None => None,
    };
    Ok((uid, gid))
}

/// A capability name as the config spells it: CAP_ and upper case.
fn parse_cap(name: &str) -> Result<Capability> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    serde_json::from_value(serde_json::Value::String(full))
        .map_err(|_| flag_err("--cap", format!("unknown capability {name:?}")))
}

/// Add each `--cap` to the bounding, effective and permitted sets. Not to
/// the inheritable set: nothing gets inheritable capabilities the config
/// did not give (CVE-2022-29162). Ambient only where the config already
/// makes the capability inheritable, since the kernel refuses an ambient
/// capability that is not.
fn add_caps(p: &mut Process, names: &[String]) -> Result<()> {
    let caps: Vec<Capability> = names.iter().map(|n| parse_cap(n)).collect::<Result<_>>()?;
    let mut c = match p.capabilities().clone() {
        Some(c) => c,
        // Root without a capabilities object keeps every capability it
        // has; adding changes nothing.
        None if p.user().uid() == 0 => return Ok(()),
        // Anyone else would have none: exactly the ones asked for.
        None => {
            let mut none = LinuxCapabilities::default();
            none.set_bounding(None)
                .set_effective(None)
                .set_inheritable(None)
                .set_permitted(None)
                .set_ambient(None);
            none
        }
    };
    let with = |set: &Option<Capabilities>| -> Option<Capabilities> {
        let mut s = set.clone().unwrap_or_default();
        s.extend(caps.iter().copied());
        Some(s)
    };
    let inheritable = c.inheritable().clone().unwrap_or_default();
    let mut ambient = c.ambient().clone().unwrap_or_default();
    ambient.extend(caps.iter().copied().filter(|cap| inheritable.contains(cap)));
    let (b, e, pm) = (with(c.bounding()), with(c.effective()), with(c.permitted()));
    c.set_bounding(b).set_effective(e).set_permitted(pm);
    if !ambient.is_empty() {
        c.set_ambient(Some(ambient));
    }
    p.set_capabilities(Some(c));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Spec {
        let raw = br#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},
            "process":{"cwd":"/","args":["sh"],"user":{"uid":0,"gid":0},
            "env":["PATH=/bin","A=1","B=2"],"terminal":true,
            "capabilities":{"bounding":["CAP_KILL"],"effective":["CAP_KILL"],
              "permitted":["CAP_KILL"],"inheritable":["CAP_CHOWN"]}}}"#;
        serde_json::from_slice(raw).unwrap()
    }

    fn flags(args: &[&str]) -> ProcessFlags {
        ProcessFlags {
            args: args.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn has(set: &Option<Capabilities>, c: Capability) -> bool {
        set.as_ref().is_some_and(|s| s.contains(&c))
    }

    #[test]
    fn command_replaces_args_and_terminal_is_off() {
        let p = build(&flags(&["ls", "-l"]), &config()).unwrap();
        assert_eq!(p.args().clone().unwrap(), vec!["ls", "-l"]);
        assert_eq!(p.terminal(), Some(false));
        let mut f = flags(&["ls"]);
        f.tty = Some(true);
        assert_eq!(build(&f, &config()).unwrap().terminal(), Some(true));
        assert!(build(&flags(&[]), &config()).is_err());
    }

    #[test]
    fn env_adds_and_replaces() {
        let mut f = flags(&["env"]);
        f.env = vec!["A=9".into(), "C=3".into(), "EMPTY=".into()];
        let p = build(&f, &config()).unwrap();
        assert_eq!(
            p.env().clone().unwrap(),
            vec!["PATH=/bin", "B=2", "A=9", "C=3", "EMPTY="]
        );
        f.env = vec!["NOEQUALS".into()];
        assert!(build(&f, &config())
            .unwrap_err()
            .to_string()
            .contains("--env"));
        f.env = vec!["=x".into()];
        assert!(build(&f, &config()).is_err());
    }

    #[test]
    fn process_file_without_user_runs_as_root() {
        let p = parse(br#"{"args":["id"],"cwd":"/"}"#, Path::new("p.json")).unwrap();
        assert_eq!((p.user().uid(), p.user().gid()), (0, 0));
        let err = parse(br#"{"args":["id"],"cwd":7}"#, Path::new("p.json")).unwrap_err();
        assert!(err.to_string().contains("p.json"), "{err}");
    }

    #[test]
    fn user_cwd_and_groups() {
        let mut f = flags(&["id"]);
        f.user = Some("1000:1001".into());
        f.additional_gids = vec![10, 20];
        f.cwd = Some("/tmp".into());
        let p = build(&f, &config()).unwrap();
        assert_eq!((p.user().uid(), p.user().gid()), (1000, 1001));
        assert_eq!(p.user().additional_gids().clone().unwrap(), vec![10, 20]);
        assert_eq!(p.cwd(), Path::new("/tmp"));
        f.user = Some("7".into());
        let p = build(&f, &config()).unwrap();
        assert_eq!((p.user().uid(), p.user().gid()), (7, 0));
        for bad in ["x", "1:y", "", "1:2:3", "-1"] {
            f.user = Some(bad.into());
            assert!(build(&f, &config()).is_err(), "{bad:?}");
        }
        f.user = None;
        f.cwd = Some("relative".into());
        assert!(build(&f, &config())
            .unwrap_err()
            .to_string()
            .contains("--cwd"));
    }

    #[test]
    fn caps_are_added_but_never_made_inheritable() {
        let mut f = flags(&["sh"]);
        f.caps = vec!["CAP_NET_ADMIN".into(), "chown".into()];
        let p = build(&f, &config()).unwrap();
        let c = p.capabilities().clone().unwrap();
        for set in [c.bounding(), c.effective(), c.permitted()] {
            assert!(has(set, Capability::NetAdmin) && has(set, Capability::Chown));
            assert!(has(set, Capability::Kill));
        }
        assert!(!has(c.inheritable(), Capability::NetAdmin));
        // CHOWN is inheritable in the config, so it may be ambient too.
        assert!(has(c.ambient(), Capability::Chown));
        assert!(!has(c.ambient(), Capability::NetAdmin));
        f.caps = vec!["CAP_NOPE".into()];
        assert!(build(&f, &config())
            .unwrap_err()
            .to_string()
            .contains("--cap"));
    }

    #[test]
    fn lsm_flags_checked_against_the_host() {
        // Where AppArmor runs, the profile must be loaded; elsewhere the
        // flag is an error. Either way the error names the flag.
        let mut f = flags(&["sh"]);
        f.apparmor = Some("berth-no-such-profile".into());
        let err = build(&f, &config()).unwrap_err().to_string();
        assert!(err.contains("--apparmor"), "{err}");
        let why = if crate::security::apparmor::enabled() {
            "not loaded"
        } else {
            "not enabled"
        };
        assert!(err.contains(why), "{err}");
        f.apparmor = None;
        f.process_label = Some("system_u:system_r:container_t:s0".into());
        if !crate::security::selinux::enabled() {
            let err = build(&f, &config()).unwrap_err().to_string();
            assert!(
                err.contains("--process-label") && err.contains("not enabled"),
                "{err}"
            );
        }
        f.process_label = Some("container_t".into());
        let err = build(&f, &config()).unwrap_err().to_string();
        assert!(err.contains("--process-label"), "{err}");
    }

    #[test]
    fn exec_inherits_the_containers_labels() {
        let mut c = config();
        let mut own = c.process().clone().unwrap();
        own.set_apparmor_profile(Some("container-profile".into()));
        own.set_selinux_label(Some("u:r:t:s0".into()));
        c.set_process(Some(own));
        let mut p = c.process().clone().unwrap();
        p.set_apparmor_profile(None);
        p.set_selinux_label(Some(String::new()));
        inherit_lsm_labels(&mut p, &c);
        assert_eq!(p.apparmor_profile().as_deref(), Some("container-profile"));
        assert_eq!(p.selinux_label().as_deref(), Some("u:r:t:s0"));
        p.set_apparmor_profile(Some("own".into()));
        inherit_lsm_labels(&mut p, &c);
        assert_eq!(p.apparmor_profile().as_deref(), Some("own"));
    }

    #[test]
    fn process_file() {
        let dir = std::env::temp_dir().join(format!("berth-exec-proc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("p.json");
        std::fs::write(
            &file,
            r#"{"args":["top"],"cwd":"/srv","user":{"uid":5,"gid":6},"terminal":true,"env":["X=1"]}"#,
        )
        .unwrap();
        let mut f = ProcessFlags {
            file: Some(file.clone()),
            ..Default::default()
        };
        let p = build(&f, &config()).unwrap();
        assert_eq!(p.args().clone().unwrap(), vec!["top"]);
        assert_eq!(p.terminal(), Some(true));
        assert_eq!(p.user().uid(), 5);
        f.env = vec!["Y=2".into()];
        assert_eq!(
            build(&f, &config()).unwrap().env().clone().unwrap(),
            vec!["X=1", "Y=2"]
        );
        f.args = vec!["sh".into()];
        assert!(build(&f, &config())
            .unwrap_err()
            .to_string()
            .contains("--process"));
        f.args.clear();
        std::fs::write(
            &file,
            r#"{"args":["top"],"cwd":"rel","user":{"uid":0,"gid":0}}"#,
        )
        .unwrap();
        let err = build(&f, &config()).unwrap_err().to_string();
        assert!(err.contains("p.json: cwd"), "{err}");
        std::fs::write(&file, "{\n oops").unwrap();
        let err = build(&f, &config()).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
