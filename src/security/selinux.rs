//! SELinux: `process.selinuxLabel` (and `exec --process-label`) and
//! `linux.mountLabel`.
//!
//! The process label is set for the next execve through the thread's
//! attr/exec; the mount label goes into the data of the filesystems berth
//! mounts (`context="..."`), which labels every file on them.

use crate::error::{Error, Result};

/// selinuxfs's magic number (statfs f_type).
const SELINUX_MAGIC: i64 = 0xf97c_ff8c;
const SELINUXFS: &str = "/sys/fs/selinux";

/// Whether SELinux is active: selinuxfs is mounted at its usual place.
pub fn enabled() -> bool {
    nix::sys::statfs::statfs(SELINUXFS).is_ok_and(|s| s.filesystem_type().0 == SELINUX_MAGIC)
}

/// Check, before anything is created, that `label` can be applied.
pub fn check(label: &str, field: &str) -> Result<()> {
    check_form(label, field)?;
    if !enabled() {
        return Err(Error::InvalidConfig(format!(
            "{field}: SELinux label {label:?} requested, but SELinux is not enabled on this host"
        )));
    }
    Ok(())
}

/// The part of `check` that looks at the label alone, not at the host.
pub fn check_form(label: &str, field: &str) -> Result<()> {
    if label.chars().any(|c| c.is_control() || c == '"') {
        return Err(Error::InvalidConfig(format!(
            "{field}: {label:?} is not a valid SELinux label"
        )));
    }
    if label.split(':').count() < 3 {
        return Err(Error::InvalidConfig(format!(
            "{field}: {label:?} is not a SELinux label (user:role:type[:level])"
        )));
    }
    Ok(())
}

/// Label this thread's next execve.
pub fn apply_on_exec(label: &str, field: &str) -> Result<()> {
    super::procattr::write_thread_attr(&["attr/exec"], label, field)
}

/// The filesystems whose mount data takes the mount label. Not bind
/// mounts (their files keep their own labels), nor proc, sysfs, cgroup
/// and mqueue, which share one superblock per namespace (a context= that
/// differs from that superblock's fails with EINVAL) and are labelled by
/// policy.
pub fn takes_mount_label(fstype: &str) -> bool {
    !matches!(
        fstype,
        "" | "bind" | "proc" | "sysfs" | "cgroup" | "cgroup2" | "mqueue"
    )
}

/// The mount data with the label added as `context="LABEL"`.
pub fn with_mount_label(data: &[String], label: &str) -> Vec<String> {
    let mut out = data.to_vec();
    out.push(format!("context=\"{label}\""));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_label_in_data() {
        let data = vec!["mode=755".to_string()];
        assert_eq!(
            with_mount_label(&data, "system_u:object_r:container_file_t:s0:c1,c2"),
            vec![
                "mode=755".to_string(),
                "context=\"system_u:object_r:container_file_t:s0:c1,c2\"".to_string()
            ]
        );
        assert!(takes_mount_label("tmpfs"));
        assert!(takes_mount_label("devpts"));
        assert!(!takes_mount_label("proc"));
        assert!(!takes_mount_label("bind"));
    }

    #[test]
    fn bad_labels_refused_before_the_host_is_asked() {
        assert!(check("container_t", "process.selinuxLabel")
            .unwrap_err()
            .to_string()
            .contains("user:role:type"));
        assert!(check("a:b:c\"x", "linux.mountLabel").is_err());
    }
}
