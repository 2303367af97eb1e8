//! `linux.sysctl`: which keys a container may set (only those that belong
//! to a namespace it has), and writing them through a verified procfs.

use oci_spec::runtime::LinuxNamespaceType;

use crate::error::{Error, Result};

const IPC_KEYS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// Refuse a sysctl that would change the host: it must belong to a
/// namespace the container has its own copy of.
pub fn check_allowed(key: &str, namespaces: &[LinuxNamespaceType]) -> Result<()> {
    let has = |t| namespaces.contains(&t);
    let key_dots = key.replace('/', ".");
    let ok = if IPC_KEYS.contains(&key_dots.as_str()) || key_dots.starts_with("fs.mqueue.") {
        has(LinuxNamespaceType::Ipc)
    } else if key_dots.starts_with("net.") {
        has(LinuxNamespaceType::Network)
    } else if key_dots == "kernel.hostname" || key_dots == "kernel.domainname" {
        has(LinuxNamespaceType::Uts)
    } else {
        return Err(Error::InvalidConfig(format!(
            "config.json: linux.sysctl: {key:?} is not namespaced; setting it would change the host"
        )));
    };
    if !ok {
        return Err(Error::InvalidConfig(format!(
            "config.json: linux.sysctl: {key:?} needs the container to have its own namespace for it"
        )));
    }
    if key.contains("..") {
        return Err(Error::InvalidConfig(format!(
            "config.json: linux.sysctl: {key:?} is invalid"
        )));
    }
    Ok(())
}

/// Write every sysctl through a procfs handle that pathrs verified (a
/// fresh, unmasked procfs, not whatever the container put at /proc).
pub fn apply(sysctl: &std::collections::HashMap<String, String>) -> Result<()> {
    use std::io::Write;
    if sysctl.is_empty() {
        return Ok(());
    }
    let proc = pathrs::procfs::ProcfsHandle::new()
        .map_err(|e| Error::Other(format!("open procfs for sysctl: {e}")))?;
    for (key, value) in sysctl {
        let sub = format!("sys/{}", key.replace('.', "/"));
        let mut f = proc
            .open(
                pathrs::procfs::ProcfsBase::ProcRoot,
                &sub,
                pathrs::flags::OpenFlags::O_WRONLY,
            )
            .map_err(|e| Error::Other(format!("config.json: linux.sysctl: {key}: {e}")))?;
        f.write_all(value.as_bytes())
            .map_err(|e| Error::sys(format!("config.json: linux.sysctl: {key}={value}"), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use LinuxNamespaceType::*;

    #[test]
    fn namespaced_keys_only() {
        assert!(check_allowed("net.ipv4.ip_forward", &[Network]).is_ok());
        assert!(check_allowed("net.ipv4.ip_forward", &[Ipc]).is_err());
        assert!(check_allowed("kernel.shmmax", &[Ipc]).is_ok());
        assert!(check_allowed("fs.mqueue.msg_max", &[Ipc]).is_ok());
        assert!(check_allowed("kernel.hostname", &[Uts]).is_ok());
        assert!(check_allowed("vm.swappiness", &[Ipc, Network, Uts]).is_err());
    }
}
