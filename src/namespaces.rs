//! `linux.namespaces`: which to create, which to join (by path), the
//! order of joins, and the id maps of a new user namespace.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::sched::CloneFlags;
use oci_spec::runtime::{Linux, LinuxIdMapping, LinuxNamespaceType as T};

use crate::error::{Error, Result};

/// CLONE_NEWTIME is not in nix's CloneFlags on every version.
pub const CLONE_NEWTIME: i32 = 0x80;

pub fn flag(t: T) -> i32 {
    match t {
        T::Mount => libc::CLONE_NEWNS,
        T::Cgroup => libc::CLONE_NEWCGROUP,
        T::Uts => libc::CLONE_NEWUTS,
        T::Ipc => libc::CLONE_NEWIPC,
        T::User => libc::CLONE_NEWUSER,
        T::Pid => libc::CLONE_NEWPID,
        T::Network => libc::CLONE_NEWNET,
        T::Time => CLONE_NEWTIME,
    }
}

/// The order in which namespaces given by path are joined: the user
/// namespace first (the others may be owned by it), the mount namespace
/// last (joining it changes how later paths would resolve).
const JOIN_ORDER: [T; 6] = [T::User, T::Ipc, T::Uts, T::Network, T::Cgroup, T::Mount];

#[derive(Default)]
pub struct Plan {
    pub new: Vec<T>,
    pub join: Vec<(T, OwnedFd)>,
}

impl Plan {
    /// Read `linux.namespaces`, opening every path now (before any
    /// namespace changes what a path means).
    pub fn from_spec(linux: Option<&Linux>) -> Result<Plan> {
        let mut plan = Plan::default();
        for ns in linux
            .and_then(|l| l.namespaces().as_ref())
            .into_iter()
            .flatten()
        {
            match ns.path() {
                Some(p) if !p.as_os_str().is_empty() => {
                    let f = std::fs::File::open(p).map_err(|e| {
                        Error::InvalidConfig(format!(
                            "config.json: linux.namespaces: {} namespace path {}: {e}",
                            ns.typ(),
                            p.display()
                        ))
                    })?;
                    plan.join.push((ns.typ(), f.into()));
                }
                _ => plan.new.push(ns.typ()),
            }
        }
        Ok(plan)
    }

    pub fn is_new(&self, t: T) -> bool {
        self.new.contains(&t)
    }

    pub fn joined(&self, t: T) -> Option<&OwnedFd> {
        self.join.iter().find(|(x, _)| *x == t).map(|(_, f)| f)
    }

    pub fn has(&self, t: T) -> bool {
        self.is_new(t) || self.joined(t).is_some()
    }

    pub fn user_involved(&self) -> bool {
        self.has(T::User)
    }

    /// A new pid or time namespace only applies to children of the process
    /// that makes it. Without a user namespace the runtime makes them
    /// itself (one clone); with one they must be owned by it, so the init
    /// makes them after joining it and forks once more.
    pub fn needs_fork(&self) -> bool {
        self.user_involved() && (self.is_new(T::Pid) || self.is_new(T::Time))
    }

    /// Flags for the runtime's clone of the init.
    pub fn clone_flags(&self) -> i32 {
        if !self.user_involved() && self.is_new(T::Pid) {
            libc::CLONE_NEWPID
        } else {
            0
        }
    }

    /// Flags the init unshares itself, after the joins and the user
    /// namespace: everything new except user, and except pid/time when the
    /// runtime or the extra fork handles them.
    pub fn unshare_flags(&self) -> i32 {
        self.new
            .iter()
            .filter(|t| !matches!(t, T::User | T::Pid | T::Time))
            .fold(0, |acc, t| acc | flag(*t))
    }

    /// Join every namespace given by path except pid and time (those the
    /// runtime joins before clone), user first.
    pub fn join_all(&self) -> Result<()> {
        for t in JOIN_ORDER {
            if let Some(fd) = self.joined(t) {
                setns(fd, t)?;
            }
        }
        Ok(())
    }
}

/// The files under /proc/<pid>/ns/ of each namespace type.
const NS_FILES: [(T, &str); 8] = [
    (T::User, "user"),
    (T::Mount, "mnt"),
    (T::Pid, "pid"),
    (T::Network, "net"),
    (T::Ipc, "ipc"),
    (T::Uts, "uts"),
    (T::Cgroup, "cgroup"),
    (T::Time, "time"),
];

/// A plan that joins every namespace of the process whose /proc directory
/// is `proc_dir` and that differs from berth's own (joining one's own user
/// namespace is an error; the others would change nothing). The fds are
/// opened through `proc_dir`, so they are that process's even if its pid
/// is reused meanwhile.
pub fn of_process(proc_dir: BorrowedFd) -> Result<Plan> {
    use nix::fcntl::{openat, OFlag};
    use nix::sys::stat::{fstat, stat, Mode};
    let mut plan = Plan::default();
    for (t, name) in NS_FILES {
        let path = format!("ns/{name}");
        let theirs = match openat(
            proc_dir,
            path.as_str(),
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            // A kernel without this namespace type.
            Err(nix::errno::Errno::ENOENT) => continue,
            Err(e) => {
                return Err(Error::sys(
                    format!("open the container init's {t} namespace"),
                    e,
                ))
            }
        };
        let ours = match stat(format!("/proc/self/ns/{name}").as_str()) {
            Ok(st) => st,
            Err(nix::errno::Errno::ENOENT) => continue,
            Err(e) => return Err(Error::sys(format!("stat /proc/self/ns/{name}"), e)),
        };
        let st =
            fstat(&theirs).map_err(|e| Error::sys(format!("stat the init's {t} namespace"), e))?;
        if (st.st_dev, st.st_ino) != (ours.st_dev, ours.st_ino) {
            plan.join.push((t, theirs));
        }
    }
    Ok(plan)
}

pub fn setns(fd: &OwnedFd, t: T) -> Result<()> {
    nix::sched::setns(fd.as_fd(), CloneFlags::from_bits_retain(flag(t))).map_err(|e| {
        Error::sys(
            format!(
                "config.json: linux.namespaces: join {t} namespace (is the path a {t} namespace?)"
            ),
            e,
        )
    })
}

pub fn unshare(flags: i32) -> Result<()> {
    if flags == 0 {
        return Ok(());
    }
    nix::sched::unshare(CloneFlags::from_bits_retain(flags))
        .map_err(|e| Error::sys(format!("unshare namespaces (flags {flags:#x})"), e))
}

fn map_text(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// A new user namespace with these maps, held by an fd (an id-mapped
/// mount's mapping): a child is forked into it and waits while its maps
/// are written and its namespace opened, then it is let go. The caller
/// must be single-threaded and privileged in its own user namespace.
pub fn userns_with(uid: &[LinuxIdMapping], gid: &[LinuxIdMapping]) -> Result<OwnedFd> {
    use nix::unistd::{fork, pipe2, read, write, ForkResult};
    use std::io::Write;
    let (ready_r, ready_w) =
        pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| Error::sys("pipe", e))?;
    let (done_r, done_w) =
        pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| Error::sys("pipe", e))?;
    // SAFETY: single-threaded; the child only makes syscalls and exits.
    let child = match unsafe { fork() }.map_err(|e| Error::sys("fork", e))? {
        ForkResult::Child => {
            drop(ready_r);
            drop(done_w);
            // Tell the parent our pid as /proc (the host's, whatever pid
            // namespace the caller is in) knows it, or 0 on failure.
            // SAFETY: plain syscalls, then leave without destructors.
            unsafe {
                let ok = libc::unshare(libc::CLONE_NEWUSER) == 0;
                let me = std::fs::read_link("/proc/self")
                    .ok()
                    .filter(|_| ok)
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "0".into());
                let _ = write(&ready_w, me.as_bytes());
                let mut b = [0u8; 1];
                let _ = read(&done_r, &mut b);
                libc::_exit(0)
            }
        }
        ForkResult::Parent { child } => child,
    };
    drop(ready_w);
    drop(done_r);
    let made = (|| -> Result<OwnedFd> {
        let mut b = [0u8; 32];
        let n = read(&ready_r, &mut b).unwrap_or(0);
        let pid: i32 = std::str::from_utf8(&b[..n])
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .filter(|p| *p > 0)
            .ok_or_else(|| {
                Error::Other("make a user namespace for an id-mapped mount: unshare failed".into())
            })?;
        for (file, maps) in [("uid_map", uid), ("gid_map", gid)] {
            std::fs::OpenOptions::new()
                .write(true)
                .open(format!("/proc/{pid}/{file}"))
                .and_then(|mut f| f.write_all(map_text(maps).as_bytes()))
                .map_err(|e| {
                    Error::sys(
                        format!("write {file} of an id-mapped mount's user namespace"),
                        e,
                    )
                })?;
        }
        std::fs::File::open(format!("/proc/{pid}/ns/user"))
            .map(OwnedFd::from)
            .map_err(|e| Error::sys("open an id-mapped mount's user namespace", e))
    })();
    drop(done_w);
    let _ = nix::sys::wait::waitpid(child, None);
    made
}

/// Write the uid and gid maps of `pid`'s new user namespace through a
/// verified procfs handle.
pub fn write_id_maps(pid: i32, linux: Option<&Linux>) -> Result<()> {
    let Some(linux) = linux else { return Ok(()) };
    let proc = pathrs::procfs::ProcfsHandle::new()
        .map_err(|e| Error::Other(format!("open procfs: {e}")))?;
    // Without CAP_SETUID/CAP_SETGID (a rootless caller) the kernel takes
    // only a map of the caller's own id, and a gid map only once
    // setgroups is denied; wider maps go through the setuid helpers,
    // which check /etc/subuid and /etc/subgid.
    let privileged =
        caps::has_cap(None, caps::CapSet::Effective, caps::Capability::CAP_SETUID).unwrap_or(false);
    let own = [
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
    ];
    for (i, (file, maps, field, helper)) in [
        (
            "uid_map",
            linux.uid_mappings(),
            "linux.uidMappings",
            "newuidmap",
        ),
        (
            "gid_map",
            linux.gid_mappings(),
            "linux.gidMappings",
            "newgidmap",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let Some(maps) = maps.as_ref().filter(|m| !m.is_empty()) else {
            continue;
        };
        let own_only = maps.len() == 1 && maps[0].host_id() == own[i] && maps[0].size() == 1;
        if privileged || own_only {
            if !privileged && file == "gid_map" {
                write_proc(&proc, pid, "setgroups", "deny", field)?;
            }
            write_proc(&proc, pid, file, &map_text(maps), field)?;
        } else {
            map_with_helper(helper, pid, maps, field)?;
        }
    }
    Ok(())
}

fn write_proc(
    proc: &pathrs::procfs::ProcfsHandle,
    pid: i32,
    file: &str,
    text: &str,
    field: &str,
) -> Result<()> {
    use std::io::Write;
    let mut f = proc
        .open(
            pathrs::procfs::ProcfsBase::ProcPid(pid as u32),
            file,
            pathrs::flags::OpenFlags::O_WRONLY,
        )
        .map_err(|e| Error::Other(format!("open /proc/{pid}/{file}: {e}")))?;
    f.write_all(text.as_bytes())
        .map_err(|e| Error::sys(format!("config.json: {field}: write {file}"), e))
}

/// newuidmap/newgidmap PID (CONTAINER HOST SIZE)...: the map, if
/// /etc/subuid or /etc/subgid gives this user those ids.
fn map_with_helper(helper: &str, pid: i32, maps: &[LinuxIdMapping], field: &str) -> Result<()> {
    let mut cmd = std::process::Command::new(helper);
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([
            m.container_id().to_string(),
            m.host_id().to_string(),
            m.size().to_string(),
        ]);
    }
    let out = cmd.output().map_err(|e| {
        Error::InvalidConfig(format!(
            "config.json: {field}: mapping more than your own id needs {helper} (Debian's uidmap package): {e}"
        ))
    })?;
    if !out.status.success() {
        return Err(Error::InvalidConfig(format!(
            "config.json: {field}: {helper} refused the map (is the range yours in /etc/sub{}id?): {}",
            if helper == "newuidmap" { "u" } else { "g" },
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// `linux.timeOffsets`, written right after the time namespace is made
/// and before any process enters it.
pub fn write_time_offsets(linux: Option<&Linux>) -> Result<()> {
    use std::io::Write;
    let Some(offsets) = linux.and_then(|l| l.time_offsets().as_ref()) else {
        return Ok(());
    };
    let mut text = String::new();
    for (clock, off) in offsets {
        text.push_str(&format!(
            "{clock} {} {}\n",
            off.secs().unwrap_or(0),
            off.nanosecs().unwrap_or(0)
        ));
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/self/timens_offsets")
        .map_err(|e| Error::sys("config.json: linux.timeOffsets: open timens_offsets", e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| Error::sys("config.json: linux.timeOffsets", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(new: &[T]) -> Plan {
        Plan {
            new: new.to_vec(),
            join: vec![],
        }
    }

    #[test]
    fn one_clone_without_user_namespace() {
        let p = plan(&[T::Pid, T::Mount, T::Network]);
        assert_eq!(p.clone_flags(), libc::CLONE_NEWPID);
        assert!(!p.needs_fork());
        assert_eq!(p.unshare_flags(), libc::CLONE_NEWNS | libc::CLONE_NEWNET);
    }

    #[test]
    fn user_and_pid_need_the_extra_fork() {
        let p = plan(&[T::User, T::Pid, T::Mount]);
        assert_eq!(p.clone_flags(), 0);
        assert!(p.needs_fork());
        assert_eq!(p.unshare_flags(), libc::CLONE_NEWNS);
    }
}
