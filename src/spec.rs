//! Loading and validating `config.json`. Everything berth cannot apply is
//! refused here, naming the field, so `create` fails before it builds
//! anything. The raw bytes are snapshotted into the state dir so later
//! commands never read the bundle again.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Process, Spec};

use crate::error::{Error, Result};

/// A parsed config together with the bundle it came from.
pub struct Bundle {
    pub dir: PathBuf,
    pub spec: Spec,
    pub raw: Vec<u8>,
}

impl Bundle {
    /// Read `<dir>/config.json`, parse and validate it.
    pub fn load(dir: &Path) -> Result<Self> {
        let dir = std::fs::canonicalize(dir)
            .map_err(|e| Error::sys(format!("bundle {}", dir.display()), e))?;
        let path = dir.join("config.json");
        let raw = std::fs::read(&path).map_err(|e| Error::sys(format!("{}", path.display()), e))?;
        let spec = parse(&raw, &path)?;
        validate(&spec)?;
        Ok(Bundle { dir, spec, raw })
    }

    /// The container's root filesystem, resolved against the bundle.
    pub fn rootfs(&self) -> Result<PathBuf> {
        rootfs_of(&self.spec, &self.dir)
    }
}

pub fn rootfs_of(spec: &Spec, bundle: &Path) -> Result<PathBuf> {
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| Error::InvalidConfig("config.json: root: missing".into()))?;
    let p = bundle.join(root.path());
    std::fs::canonicalize(&p)
        .map_err(|e| Error::InvalidConfig(format!("config.json: root.path: {}: {e}", p.display())))
}

/// Parse config bytes; a syntax or type error names the field's JSON path,
/// the line and the column.
pub fn parse(raw: &[u8], path: &Path) -> Result<Spec> {
    crate::json::parse::<Spec>(raw).map_err(|msg| Error::ConfigParse {
        path: path.to_path_buf(),
        msg,
    })
}

fn invalid(field: &str, msg: impl std::fmt::Display) -> Error {
    Error::InvalidConfig(format!("config.json: {field}: {msg}"))
}

/// Whether validation also asks this machine: is SELinux enabled, is the
/// AppArmor profile loaded. `Offline` checks the config alone (the form of
/// the labels included), so hostile input can be fuzzed without the host.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Host {
    Ask,
    Offline,
}

/// Check the parts of the config that serde's types do not: version,
/// required fields, and every field berth does not implement yet.
pub fn validate(spec: &Spec) -> Result<()> {
    validate_with(spec, Host::Ask)
}

/// `validate` without asking the host whether the SELinux label and the
/// AppArmor profile can be applied here: pure, reads nothing.
pub fn validate_offline(spec: &Spec) -> Result<()> {
    validate_with(spec, Host::Offline)
}

fn validate_with(spec: &Spec, host: Host) -> Result<()> {
    check_version(spec.version())?;
    if spec.root().is_none() {
        return Err(invalid(
            "root",
            "missing (a Linux container needs a root filesystem)",
        ));
    }
    if let Some(p) = spec.process() {
        validate_process_with(p, "config.json: process.", host)?;
    }
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if m.destination().as_os_str().is_empty() {
            return Err(invalid(&format!("mounts[{i}].destination"), "is empty"));
        }
        if m.destination()
            .components()
            .any(|c| c == std::path::Component::ParentDir)
        {
            return Err(invalid(
                &format!("mounts[{i}].destination"),
                format!("{:?} must not contain '..'", m.destination()),
            ));
        }
    }
    if spec.solaris().is_some() || spec.windows().is_some() || spec.vm().is_some() {
        return Err(invalid(
            "solaris/windows/vm",
            "berth runs Linux containers only",
        ));
    }
    if let Some(linux) = spec.linux() {
        validate_linux(linux, host)?;
    }
    Ok(())
}

/// Check a process object: `at` starts every error (`config.json:
/// process.`, or where exec's process came from).
pub fn validate_process(p: &Process, at: &str) -> Result<()> {
    validate_process_with(p, at, Host::Ask)
}

/// `validate_process` without asking the host (see `validate_offline`).
pub fn validate_process_offline(p: &Process, at: &str) -> Result<()> {
    validate_process_with(p, at, Host::Offline)
}

fn validate_process_with(p: &Process, at: &str, host: Host) -> Result<()> {
    if p.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(bad(at, "args", "must name at least the program to run"));
    }
    if !p.cwd().is_absolute() {
        return Err(bad(
            at,
            "cwd",
            format!("{:?} is not an absolute path", p.cwd()),
        ));
    }
    if p.command_line().is_some() {
        return Err(bad(at, "commandLine", "is for Windows only"));
    }
    if let Some(profile) = p.apparmor_profile().as_deref().filter(|s| !s.is_empty()) {
        let field = format!("{at}apparmorProfile");
        match host {
            Host::Ask => crate::security::apparmor::check(profile, &field)?,
            Host::Offline => crate::security::apparmor::check_name(profile, &field)?,
        }
    }
    if let Some(label) = p.selinux_label().as_deref().filter(|s| !s.is_empty()) {
        selinux_label(label, &format!("{at}selinuxLabel"), host)?;
    }
    for r in p.rlimits().iter().flatten() {
        if r.soft() > r.hard() {
            return Err(bad(
                at,
                "rlimits",
                format!(
                    "{}: soft limit {} is above hard limit {}",
                    r.typ(),
                    r.soft(),
                    r.hard()
                ),
            ));
        }
    }
    Ok(())
}

fn bad(at: &str, field: &str, msg: impl std::fmt::Display) -> Error {
    Error::InvalidConfig(format!("{at}{field}: {msg}"))
}

fn check_version(v: &str) -> Result<()> {
    let mut parts = v.split('.');
    let major = parts.next().unwrap_or("");
    let minor: Option<u32> = parts.next().and_then(|m| m.parse().ok());
    if major != "1" || minor.is_none_or(|m| m > 3) {
        return Err(invalid(
            "ociVersion",
            format!("{v:?} is not supported (berth implements runtime-spec 1.0 to 1.3)"),
        ));
    }
    Ok(())
}

fn selinux_label(label: &str, field: &str, host: Host) -> Result<()> {
    match host {
        Host::Ask => crate::security::selinux::check(label, field),
        Host::Offline => crate::security::selinux::check_form(label, field),
    }
}

fn validate_linux(linux: &oci_spec::runtime::Linux, host: Host) -> Result<()> {
    if let Some(label) = linux.mount_label().as_deref().filter(|s| !s.is_empty()) {
        selinux_label(label, "config.json: linux.mountLabel", host)?;
    }
    let mut seen = Vec::new();
    for ns in linux.namespaces().iter().flatten() {
        if seen.contains(&ns.typ()) {
            return Err(invalid(
                "linux.namespaces",
                format!("{} namespace listed twice", ns.typ()),
            ));
        }
        seen.push(ns.typ());
    }
    let has = |t| seen.contains(&t);
    let has_userns = has(LinuxNamespaceType::User);
    let maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
        || linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    if maps && !has_userns {
        return Err(invalid(
            "linux.uidMappings",
            "id mappings need a user namespace in linux.namespaces",
        ));
    }
    if linux.time_offsets().is_some() && !has(LinuxNamespaceType::Time) {
        return Err(invalid(
            "linux.timeOffsets",
            "needs a time namespace in linux.namespaces",
        ));
    }
    if let Some(offsets) = linux.time_offsets() {
        for k in offsets.keys() {
            if k != "monotonic" && k != "boottime" {
                return Err(invalid(
                    "linux.timeOffsets",
                    format!("unknown clock {k:?} (monotonic or boottime)"),
                ));
            }
        }
    }
    if linux.sysctl().as_ref().is_some_and(|s| !s.is_empty()) {
        for key in linux.sysctl().as_ref().unwrap().keys() {
            crate::rootfs::sysctl::check_allowed(key, &seen)?;
        }
    }
    if let Some(p) = linux.rootfs_propagation() {
        if !p.is_empty() && crate::rootfs::options::propagation_flag(p).is_none() {
            return Err(invalid(
                "linux.rootfsPropagation",
                format!("unknown value {p:?}"),
            ));
        }
    }
    if let Some(path) = linux.cgroups_path() {
        crate::cgroups::check_path(path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert!(check_version("1.0.0").is_ok());
        assert!(check_version("1.0.2-dev").is_ok());
        assert!(check_version("1.3.0").is_ok());
        assert!(check_version("1.4.0").is_err());
        assert!(check_version("2.0.0").is_err());
        assert!(check_version("").is_err());
    }

    #[test]
    fn parse_error_names_line_and_column() {
        let err = parse(
            b"{\n  \"ociVersion\": \"1.0.0\",\n  oops\n}",
            Path::new("config.json"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("line 3 column 3"), "{err}");
    }

    #[test]
    fn offline_validation_checks_the_form_of_labels_only() {
        let with = |label: &str| {
            let raw = format!(
                r#"{{"ociVersion":"1.0.0","root":{{"path":"rootfs"}},
                "process":{{"cwd":"/","args":["sh"],"user":{{"uid":0,"gid":0}},
                "selinuxLabel":"{label}","apparmorProfile":"some-profile"}}}}"#
            );
            parse(raw.as_bytes(), Path::new("config.json")).unwrap()
        };
        assert!(validate_offline(&with("system_u:system_r:container_t:s0")).is_ok());
        let e = validate_offline(&with("container_t"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("process.selinuxLabel"), "{e}");
    }

    #[test]
    fn unknown_capability_is_refused() {
        let raw = br#"{"ociVersion":"1.0.0","root":{"path":"rootfs"},
            "process":{"cwd":"/","args":["sh"],"user":{"uid":0,"gid":0},
            "capabilities":{"bounding":["CAP_TEST"]}}}"#;
        assert!(parse(raw, Path::new("config.json")).is_err());
    }
}
