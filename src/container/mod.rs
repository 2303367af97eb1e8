//! The container lifecycle: create, start, state, kill, delete, exec,
//! pause, resume, ps, update, events, and the foreground wait of `run` and
//! `exec`. Each command opens (and locks) the container's state dir, works
//! out its status, and acts.

pub mod create;
pub mod delete;
pub mod events;
pub mod exec;
pub mod exec_process;
pub mod kill;
pub mod pause;
pub mod ps;
pub mod run;
pub mod start;
pub mod update;

use std::collections::HashMap;
use std::path::Path;

use serde_json::json;

use crate::cgroups;
use crate::error::Result;
use crate::state::{ContainerDir, Root, Saved, START_SOCKET};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// (state letter, start time) from /proc/<pid>/stat.
pub fn proc_stat(pid: i32) -> Option<(char, u64)> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// (state letter, start time) from the text of a /proc/<pid>/stat.
pub fn parse_stat(s: &str) -> Option<(char, u64)> {
    // The command name may contain spaces and ')': split after the last ')'.
    let rest = &s[s.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let state = fields.first()?.chars().next()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((state, start))
}

/// True when `pid` is still the process we started (not a recycled pid,
/// not a zombie).
pub fn init_alive(saved: &Saved) -> bool {
    match proc_stat(saved.pid) {
        Some((state, start)) => start == saved.pid_start_time && state != 'Z' && state != 'X',
        None => false,
    }
}

pub struct Container {
    pub dir: ContainerDir,
    pub saved: Saved,
}

impl Container {
    /// Open and lock an existing, fully created container.
    pub fn open(root: &Root, id: &str) -> Result<Container> {
        let dir = root.open(id)?;
        let saved = dir.load()?;
        Ok(Container { dir, saved })
    }

    /// Open an existing container without taking its lock (`state`,
    /// `list`: readers never wait on a command in progress).
    pub fn open_unlocked(root: &Root, id: &str) -> Result<Container> {
        let dir = root.open_unlocked(id)?;
        let saved = dir.load()?;
        Ok(Container { dir, saved })
    }

    pub fn status(&self) -> Status {
        status_of(&self.dir, &self.saved)
    }

    pub fn cgroup(&self) -> Box<dyn cgroups::Manager> {
        cgroups::manager(&self.saved.cgroup)
    }

    /// The OCI state, with runc's extra fields (rootfs, created, owner).
    pub fn state_json(&self) -> StateJson {
        state_json(&self.saved, self.status())
    }
}

pub fn status_of(dir: &ContainerDir, saved: &Saved) -> Status {
    if !init_alive(saved) {
        return Status::Stopped;
    }
    if dir.file(START_SOCKET).exists() {
        return Status::Created;
    }
    if cgroups::manager(&saved.cgroup).frozen() {
        return Status::Paused;
    }
    Status::Running
}

/// A container's state as `state` and `list --format json` print it: the
/// OCI fields plus runc's (rootfs, created, owner), in runc's order, which
/// callers that match the text (runc's own suite does) rely on.
#[derive(serde::Serialize, Debug, Clone)]
pub struct StateJson {
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub status: String,
    pub bundle: String,
    pub rootfs: String,
    pub created: String,
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: HashMap<String, String>,
    pub owner: String,
}

pub fn state_json(saved: &Saved, status: Status) -> StateJson {
    let pid = if status == Status::Stopped {
        0
    } else {
        saved.pid
    };
    StateJson {
        oci_version: crate::OCI_VERSION.into(),
        id: saved.id.clone(),
        pid,
        status: status.as_str().into(),
        bundle: saved.bundle.to_string_lossy().into_owned(),
        rootfs: saved.rootfs.to_string_lossy().into_owned(),
        created: saved.created.clone(),
        annotations: saved.annotations.clone(),
        owner: saved.owner.clone(),
    }
}

/// The state given to hooks on stdin (the OCI fields only).
pub fn hook_state(
    id: &str,
    pid: i32,
    status: Status,
    bundle: &Path,
    annotations: &std::collections::HashMap<String, String>,
) -> String {
    let mut v = json!({
        "ociVersion": crate::OCI_VERSION,
        "id": id,
        "status": status.as_str(),
        "pid": pid,
        "bundle": bundle,
    });
    if !annotations.is_empty() {
        v["annotations"] = json!(annotations);
    }
    v.to_string()
}

/// Wait until `pid` is gone (exited or a zombie), up to `timeout`: on a
/// pidfd, which becomes readable when the process exits, so the wait ends
/// the moment it does; by polling /proc where pidfd_open is missing (< 5.3).
pub fn wait_gone(saved: &Saved, timeout: std::time::Duration) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    if let Some(fd) = pidfd(saved) {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        use std::os::fd::AsFd;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let ms = PollTimeout::try_from(left.as_millis().min(60_000) as i32)
                .unwrap_or(PollTimeout::MAX);
            let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, ms) {
                Ok(n) if n > 0 => return true,
                Ok(_) if left.is_zero() => return !init_alive(saved),
                Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => break,
            }
        }
    }
    while init_alive(saved) {
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    true
}

/// A pidfd for the container's init, only while that pid is still the
/// init (checked after the open, so a recycled pid is never waited on).
fn pidfd(saved: &Saved) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open with plain integers; a valid fd is ours to own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, saved.pid, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: a new fd from pidfd_open.
    let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) };
    init_alive(saved).then_some(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_stat() {
        let (state, start) = proc_stat(std::process::id() as i32).unwrap();
        assert!(state == 'R' || state == 'S');
        assert!(start > 0);
    }
}
