//! Per-process settings the init applies to itself before exec:
//! rlimits, OOM score, personality, I/O priority, scheduler, CPU affinity,
//! session keyring, and the switch to the container's user.

use oci_spec::runtime::{
    IOPriorityClass, LinuxPersonality, LinuxPersonalityDomain, LinuxSchedulerPolicy, PosixRlimit,
    PosixRlimitType, Process, User,
};

use crate::error::{Error, Result};

fn rlimit_resource(t: PosixRlimitType) -> libc::__rlimit_resource_t {
    use PosixRlimitType as R;
    (match t {
        R::RlimitCpu => libc::RLIMIT_CPU,
        R::RlimitFsize => libc::RLIMIT_FSIZE,
        R::RlimitData => libc::RLIMIT_DATA,
        R::RlimitStack => libc::RLIMIT_STACK,
        R::RlimitCore => libc::RLIMIT_CORE,
        R::RlimitRss => libc::RLIMIT_RSS,
        R::RlimitNproc => libc::RLIMIT_NPROC,
        R::RlimitNofile => libc::RLIMIT_NOFILE,
        R::RlimitMemlock => libc::RLIMIT_MEMLOCK,
        R::RlimitAs => libc::RLIMIT_AS,
        R::RlimitLocks => libc::RLIMIT_LOCKS,
        R::RlimitSigpending => libc::RLIMIT_SIGPENDING,
        R::RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        R::RlimitNice => libc::RLIMIT_NICE,
        R::RlimitRtprio => libc::RLIMIT_RTPRIO,
        R::RlimitRttime => libc::RLIMIT_RTTIME,
    }) as libc::__rlimit_resource_t
}

pub fn rlimits(limits: &[PosixRlimit]) -> Result<()> {
    for r in limits {
        let lim = libc::rlimit {
            rlim_cur: r.soft(),
            rlim_max: r.hard(),
        };
        // SAFETY: valid resource id and struct.
        if unsafe { libc::setrlimit(rlimit_resource(r.typ()), &lim) } != 0 {
            return Err(Error::sys(
                format!(
                    "config.json: process.rlimits: {} soft {} hard {} (raising a hard limit needs CAP_SYS_RESOURCE)",
                    r.typ(),
                    r.soft(),
                    r.hard()
                ),
                std::io::Error::last_os_error(),
            ));
        }
    }
    Ok(())
}

/// Written by the runtime into /proc/<pid>/oom_score_adj of the init.
pub fn write_oom_score_adj(pid: i32, adj: i32) -> Result<()> {
    write_oom_score_at(pathrs::procfs::ProcfsBase::ProcPid(pid as u32), adj)
}

fn write_oom_score_at(base: pathrs::procfs::ProcfsBase, adj: i32) -> Result<()> {
    use std::io::Write;
    let proc = pathrs::procfs::ProcfsHandle::new()
        .map_err(|e| Error::Other(format!("open procfs: {e}")))?;
    let mut f = proc
        .open(base, "oom_score_adj", pathrs::flags::OpenFlags::O_WRONLY)
        .map_err(|e| Error::Other(format!("config.json: process.oomScoreAdj: {e}")))?;
    f.write_all(adj.to_string().as_bytes()).map_err(|e| {
        Error::sys(
            format!("config.json: process.oomScoreAdj: {adj} (lowering it needs CAP_SYS_RESOURCE)"),
            e,
        )
    })
}

/// The OOM score a child is cloned with, for a runtime that is not root:
/// it cannot open the /proc files of a child that is not dumpable (the
/// init is not, from its first step), so it takes the score itself before
/// the clone (a child inherits it) and has its own back afterwards,
/// where it still may (not once it has made itself non-dumpable).
pub struct InheritedOomScore {
    own: Option<i32>,
}

impl InheritedOomScore {
    pub fn set(adj: Option<i32>) -> Result<InheritedOomScore> {
        let Some(adj) = adj else {
            return Ok(InheritedOomScore { own: None });
        };
        let own = std::fs::read_to_string("/proc/self/oom_score_adj")
            .ok()
            .and_then(|s| s.trim().parse().ok());
        write_oom_score_at(pathrs::procfs::ProcfsBase::ProcSelf, adj)?;
        Ok(InheritedOomScore { own })
    }

    /// Back to the runtime's own score (a raise can always be undone).
    pub fn restore(self) {
        if let Some(own) = self.own {
            let _ = write_oom_score_at(pathrs::procfs::ProcfsBase::ProcSelf, own);
        }
    }
}

/// Whether the runtime sets the OOM score by inheritance (see
/// InheritedOomScore): it is not root, or root of a user namespace of its
/// own, where a non-dumpable child's /proc files belong to nobody it maps.
pub fn oom_score_by_inheritance() -> bool {
    crate::userns::unprivileged()
}

pub fn personality(p: &LinuxPersonality) -> Result<()> {
    const PER_LINUX: u64 = 0;
    const PER_LINUX32: u64 = 0x0008;
    let mut persona = match p.domain() {
        LinuxPersonalityDomain::PerLinux => PER_LINUX,
        LinuxPersonalityDomain::PerLinux32 => PER_LINUX32,
    };
    for f in p.flags().iter().flatten() {
        persona |= match f.as_str() {
            "ADDR_NO_RANDOMIZE" => 0x0040000,
            "MMAP_PAGE_ZERO" => 0x0100000,
            "ADDR_COMPAT_LAYOUT" => 0x0200000,
            "READ_IMPLIES_EXEC" => 0x0400000,
            "ADDR_LIMIT_32BIT" => 0x0800000,
            "SHORT_INODE" => 0x1000000,
            "WHOLE_SECONDS" => 0x2000000,
            "STICKY_TIMEOUTS" => 0x4000000,
            "ADDR_LIMIT_3GB" => 0x8000000,
            other => {
                return Err(Error::InvalidConfig(format!(
                    "config.json: linux.personality.flags: unknown flag {other:?}"
                )))
            }
        };
    }
    // SAFETY: personality takes a plain integer.
    if unsafe { libc::personality(persona as libc::c_ulong) } == -1 {
        return Err(Error::sys(
            "config.json: linux.personality",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

pub fn io_priority(class: IOPriorityClass, priority: i64) -> Result<()> {
    let class_num: i64 = match class {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    if !(0..=7).contains(&priority) {
        return Err(Error::InvalidConfig(format!(
            "config.json: process.ioPriority.priority: {priority} is not in 0..7"
        )));
    }
    const IOPRIO_WHO_PROCESS: i64 = 1;
    let value = (class_num << 13) | priority;
    // SAFETY: plain integer syscall arguments.
    if unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value) } != 0 {
        return Err(Error::sys(
            "config.json: process.ioPriority",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

#[repr(C)]
#[derive(Default)]
struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
}

pub fn scheduler(s: &oci_spec::runtime::Scheduler) -> Result<()> {
    use LinuxSchedulerPolicy as P;
    let policy = match s.policy() {
        P::SchedOther => 0,
        P::SchedFifo => 1,
        P::SchedRr => 2,
        P::SchedBatch => 3,
        P::SchedIso => 4,
        P::SchedIdle => 5,
        P::SchedDeadline => 6,
    };
    let mut flags = 0u64;
    for f in s.flags().iter().flatten() {
        let name = serde_json::to_value(f)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        flags |= match name.as_str() {
            "SCHED_FLAG_RESET_ON_FORK" => 0x01,
            "SCHED_FLAG_RECLAIM" => 0x02,
            "SCHED_FLAG_DL_OVERRUN" => 0x04,
            "SCHED_FLAG_KEEP_POLICY" => 0x08,
            "SCHED_FLAG_KEEP_PARAMS" => 0x10,
            "SCHED_FLAG_UTIL_CLAMP_MIN" => 0x20,
            "SCHED_FLAG_UTIL_CLAMP_MAX" => 0x40,
            other => {
                return Err(Error::InvalidConfig(format!(
                    "config.json: process.scheduler.flags: unknown flag {other:?}"
                )))
            }
        };
    }
    let attr = SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        policy,
        flags,
        nice: s.nice().unwrap_or(0),
        priority: s.priority().unwrap_or(0) as u32,
        runtime: s.runtime().unwrap_or(0),
        deadline: s.deadline().unwrap_or(0),
        period: s.period().unwrap_or(0),
    };
    // SAFETY: a valid sched_attr for pid 0 (this process).
    if unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) } != 0 {
        return Err(Error::sys(
            "config.json: process.scheduler",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// Parse a cpu list such as "0-3,7".
pub fn parse_cpu_list(s: &str) -> Result<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || Error::InvalidConfig(format!("cpu list {s:?} is invalid"));
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) =
                    (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                if a > b {
                    return Err(bad());
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.parse().map_err(|_| bad())?),
        }
    }
    Ok(cpus)
}

pub fn cpu_affinity(list: &str, field: &str) -> Result<()> {
    let mut set = nix::sched::CpuSet::new();
    for cpu in parse_cpu_list(list)? {
        set.set(cpu)
            .map_err(|e| Error::sys(format!("config.json: {field}: cpu {cpu}"), e))?;
    }
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
        .map_err(|e| Error::sys(format!("config.json: {field}: {list}"), e))
}

/// A fresh session keyring, so the container does not share the host's.
pub fn new_session_keyring(name: &str) -> Result<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    let cname = std::ffi::CString::new(name).unwrap_or_default();
    // SAFETY: keyctl with a valid string pointer.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            cname.as_ptr(),
        )
    };
    if rc < 0 {
        let e = std::io::Error::last_os_error();
        // Kernels without keyrings, or where keyctl is blocked, go on.
        if e.raw_os_error() != Some(libc::ENOSYS) && e.raw_os_error() != Some(libc::EPERM) {
            return Err(Error::sys("join a new session keyring", e));
        }
    }
    Ok(())
}

/// Switch to the container's user. With `keep_caps`, PR_SET_KEEPCAPS keeps
/// the permitted set across setuid so that `caps::apply` can then set
/// exactly what the config asks; without it, a non-root user loses all.
pub fn switch_user(user: &User, keep_caps: bool) -> Result<()> {
    if keep_caps {
        // SAFETY: plain prctl.
        unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) };
    }
    let gids: Vec<libc::gid_t> = user.additional_gids().clone().unwrap_or_default();
    // SAFETY: valid slice.
    if unsafe { libc::setgroups(gids.len(), gids.as_ptr()) } != 0 {
        let e = std::io::Error::last_os_error();
        // A user namespace with setgroups denied: fine when none are asked.
        if !(gids.is_empty() && e.raw_os_error() == Some(libc::EPERM)) {
            return Err(Error::sys(
                "config.json: process.user.additionalGids: setgroups",
                e,
            ));
        }
    }
    let (uid, gid) = (user.uid(), user.gid());
    // SAFETY: plain integer arguments.
    if unsafe { libc::setresgid(gid, gid, gid) } != 0 {
        return Err(Error::sys(
            format!("config.json: process.user.gid: setresgid({gid}) (is it mapped?)"),
            std::io::Error::last_os_error(),
        ));
    }
    if unsafe { libc::setresuid(uid, uid, uid) } != 0 {
        return Err(Error::sys(
            format!("config.json: process.user.uid: setresuid({uid}) (is it mapped?)"),
            std::io::Error::last_os_error(),
        ));
    }
    if keep_caps {
        unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 0, 0, 0, 0) };
    }
    Ok(())
}

/// Become uid/gid 0 of a user namespace just made (mapped by now) or
/// joined, keeping the namespace's full capabilities.
pub fn become_root_in_userns() -> Result<()> {
    // SAFETY: plain integer arguments.
    if unsafe { libc::setresgid(0, 0, 0) } != 0 || unsafe { libc::setresuid(0, 0, 0) } != 0 {
        return Err(Error::sys(
            "config.json: linux.uidMappings/gidMappings: become root in the user namespace (is container id 0 mapped?)",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

pub fn no_new_privs() -> Result<()> {
    // SAFETY: plain prctl.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(Error::sys(
            "config.json: process.noNewPrivileges",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// Apply everything in `process` that does not depend on the user switch.
pub fn before_user_switch(p: &Process) -> Result<()> {
    if let Some(r) = p.rlimits() {
        rlimits(r)?;
    }
    if let Some(io) = p.io_priority() {
        io_priority(io.class(), io.priority())?;
    }
    if let Some(s) = p.scheduler() {
        scheduler(s)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-2,5").unwrap(), vec![0, 1, 2, 5]);
        assert_eq!(parse_cpu_list("3").unwrap(), vec![3]);
        assert!(parse_cpu_list("2-1").is_err());
        assert!(parse_cpu_list("x").is_err());
    }
}
