//! AppArmor: `process.apparmorProfile` (and `exec --apparmor`).
//!
//! The profile is requested for the next execve ("exec PROFILE" written to
//! the thread's attr file), so berth itself keeps running unconfined until
//! it execs the user's program, and the program starts confined.

use std::path::Path;

use crate::error::{Error, Result};

const SECURITYFS_DIR: &str = "/sys/kernel/security/apparmor";
const ENABLED_PARAM: &str = "/sys/module/apparmor/parameters/enabled";

/// Whether AppArmor is active on this kernel: the module says so and its
/// securityfs directory is there.
pub fn enabled() -> bool {
    Path::new(SECURITYFS_DIR).is_dir()
        && std::fs::read_to_string(ENABLED_PARAM).is_ok_and(|s| s.starts_with('Y'))
}

/// The profiles loaded in the kernel: the name of each line of
/// `profiles` ("NAME (MODE)").
fn loaded_profiles() -> Result<Vec<String>> {
    let path = format!("{SECURITYFS_DIR}/profiles");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::sys(format!("read {path}"), e))?;
    Ok(parse_profiles(&text))
}

fn parse_profiles(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| match l.rsplit_once(" (") {
            Some((name, _mode)) => Some(name.to_string()),
            None if !l.is_empty() => Some(l.to_string()),
            None => None,
        })
        .collect()
}

/// Check, before anything is created, that `profile` can be applied:
/// AppArmor is enabled and the profile is loaded ("unconfined" always is).
/// `field` names the setting in errors.
pub fn check(profile: &str, field: &str) -> Result<()> {
    check_name(profile, field)?;
    if !enabled() {
        return Err(Error::InvalidConfig(format!(
            "{field}: AppArmor profile {profile:?} requested, but AppArmor is not enabled on this host"
        )));
    }
    if profile == "unconfined" || loaded_profiles()?.iter().any(|p| p == profile) {
        return Ok(());
    }
    Err(Error::InvalidConfig(format!(
        "{field}: AppArmor profile {profile:?} is not loaded (load it with apparmor_parser first)"
    )))
}

/// The part of `check` that looks at the name alone, not at the host.
pub fn check_name(profile: &str, field: &str) -> Result<()> {
    if profile.chars().any(|c| c.is_control()) {
        return Err(Error::InvalidConfig(format!(
            "{field}: {profile:?} is not a valid profile name"
        )));
    }
    Ok(())
}

/// Ask for `profile` on this thread's next execve. attr/apparmor/exec is
/// AppArmor's own file (5.8+); attr/exec is the shared one older kernels
/// have.
pub fn apply_on_exec(profile: &str, field: &str) -> Result<()> {
    super::procattr::write_thread_attr(
        &["attr/apparmor/exec", "attr/exec"],
        &format!("exec {profile}"),
        field,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names_from_securityfs() {
        let text = "docker-default (enforce)\n/usr/bin/man (complain)\nberth test (enforce)\n";
        assert_eq!(
            parse_profiles(text),
            vec!["docker-default", "/usr/bin/man", "berth test"]
        );
        assert!(parse_profiles("").is_empty());
    }

    #[test]
    fn control_characters_refused() {
        let e = check("a\nchangeprofile b", "process.apparmorProfile").unwrap_err();
        assert!(e.to_string().contains("process.apparmorProfile"), "{e}");
    }
}
