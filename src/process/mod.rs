//! Starting the container's init: the runtime clones one child (with a
//! new pid namespace when no user namespace is involved; otherwise the
//! init forks once more after making its user namespace), then drives it
//! through set-up over a typed channel until it waits for `start`.
//! `enter` does the same for a process `exec` starts in a running
//! container; `finish` holds the steps both share before execve.

pub mod channel;
pub mod enter;
mod enter_child;
pub mod exec;
pub mod finish;
pub mod init;
pub mod mempolicy;
mod pty;
pub mod sealed;
pub mod setup;

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::{Linux, LinuxNamespaceType as T, Spec};

use crate::cgroups::{Manager, Placement};
use crate::error::{Error, Result};
use crate::namespaces::{self, Plan};
use crate::security::seccomp::notify::Agent;
use channel::{Channel, Msg};

/// How long any one set-up step may take before create gives up.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the init waits for Go: the runtime may first make its
/// systemd unit (a few D-Bus calls, and systemd's job: 30 s at most).
pub const GO_TIMEOUT: Duration = Duration::from_secs(180);

/// Everything the init needs, fixed before the clone.
pub struct Launch<'a> {
    pub id: &'a str,
    pub spec: &'a Spec,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub plan: &'a Plan,
    pub placement: &'a Placement,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    /// fds 3..3+n passed into the container.
    pub preserve_fds: u32,
    /// Set when LISTEN_FDS was given: its value, passed on as is.
    pub listen_fds: Option<u32>,
    /// The listening socket `start` connects to.
    pub start_listener: RawFd,
    /// Allocate a pty and send its master back.
    pub want_pty: bool,
    /// berth itself proxies the pty (`run` in the foreground): as runc,
    /// output carries no \r (ONLCR off), so it reads like a pipe's.
    pub proxied_pty: bool,
    /// linux.seccomp, compiled once by the runtime before the clone.
    pub seccomp: Option<&'a crate::security::seccomp::Filter>,
    /// linux.netDevices, checked: moved in once the init's network
    /// namespace exists.
    pub net_devices: &'a [crate::netdev::NetDevice],
    /// linux.intelRdt: the resctrl groups the init joins.
    pub rdt: Option<&'a crate::resctrl::Group>,
    /// linux.memoryPolicy, checked by the runtime before the clone.
    pub mempolicy: Option<&'a mempolicy::Policy>,
    /// The config's annotations (for the seccomp agent's state).
    pub annotations: &'a std::collections::HashMap<String, String>,
    /// The runtime's lock on the state dir: the init closes its copy at
    /// once (a flock lives as long as any copy of the fd).
    pub lock_fd: RawFd,
}

pub struct Launched {
    pub pid: i32,
    pub pty: Option<OwnedFd>,
}

/// Raw clone(2) with fork semantics (no new stack): the child returns 0
/// and goes on from here in a copy of this single-threaded process.
pub(crate) fn clone(flags: i32) -> Result<i32> {
    // SAFETY: berth is single-threaded here, so a fork-like clone is as
    // safe as fork(2). Arguments: flags, no new stack, no tid pointers.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if rc < 0 {
        return Err(Error::sys("clone", std::io::Error::last_os_error()));
    }
    Ok(rc as i32)
}

/// The kernel's `struct clone_args` up to `cgroup` (CLONE_ARGS_SIZE_VER2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Like `clone`, but with the child born in the cgroup `into` (a cgroup2
/// directory fd) when the kernel can (clone3, Linux 5.7+): the child is
/// never, not even for an instant, charged to berth's own cgroup. Returns
/// the pid and whether the child was placed; a kernel without clone3 or
/// CLONE_INTO_CGROUP gets a plain clone, and the caller moves the child.
pub(crate) fn clone_into(flags: i32, into: Option<BorrowedFd>) -> Result<(i32, bool)> {
    let Some(cgroup) = into else {
        return clone(flags).map(|pid| (pid, false));
    };
    let args = CloneArgs {
        flags: flags as u32 as u64 | CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup.as_raw_fd() as u64,
        ..Default::default()
    };
    // SAFETY: as for `clone`: a fork-like clone3 (no stack) of a
    // single-threaded process; `args` outlives the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if rc >= 0 {
        return Ok((rc as i32, true));
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
        // No clone3, or no CLONE_INTO_CGROUP in it.
        Some(libc::ENOSYS) | Some(libc::E2BIG) | Some(libc::EINVAL) => {
            clone(flags).map(|pid| (pid, false))
        }
        _ => Err(Error::sys("clone3 into the container's cgroup", err)),
    }
}

/// Namespaces the runtime itself must enter before the clone, because
/// they only apply to children (pid, and time where no user namespace
/// owns it). Restored right after the clone.
pub(crate) struct ForChildren {
    saved: Vec<(T, OwnedFd)>,
}

impl ForChildren {
    /// Nothing to join here (the child does it: see
    /// enter::joins_pid_in_child).
    pub(crate) fn none() -> ForChildren {
        ForChildren { saved: Vec::new() }
    }

    pub(crate) fn enter(plan: &Plan, linux: Option<&Linux>) -> Result<ForChildren> {
        let mut saved = Vec::new();
        let mut save = |t: T, file: &str| -> Result<()> {
            let f = std::fs::File::open(format!("/proc/self/ns/{file}"))
                .map_err(|e| Error::sys(format!("open /proc/self/ns/{file}"), e))?;
            saved.push((t, f.into()));
            Ok(())
        };
        if let Some(fd) = plan.joined(T::Pid) {
            save(T::Pid, "pid_for_children")?;
            namespaces::setns(fd, T::Pid)?;
        }
        if let Some(fd) = plan.joined(T::Time) {
            save(T::Time, "time_for_children")?;
            namespaces::setns(fd, T::Time)?;
        } else if plan.is_new(T::Time) && !plan.user_involved() {
            save(T::Time, "time_for_children")?;
            namespaces::unshare(namespaces::CLONE_NEWTIME)?;
            namespaces::write_time_offsets(linux)?;
        }
        Ok(ForChildren { saved })
    }

    pub(crate) fn restore(self) -> Result<()> {
        for (t, fd) in &self.saved {
            namespaces::setns(fd, *t)?;
        }
        Ok(())
    }
}

/// Clone the init and drive it to the point where it waits for `start`.
/// On failure the init is killed; the caller removes cgroup and state.
pub fn launch(
    l: &Launch,
    cgroup: &dyn Manager,
    hook_state: &dyn Fn(i32) -> String,
) -> Result<Launched> {
    let (parent, child) = Channel::pair()?;
    let adj = l.spec.process().as_ref().and_then(|p| p.oom_score_adj());
    let inherited = if self::setup::oom_score_by_inheritance() {
        Some(self::setup::InheritedOomScore::set(adj)?)
    } else {
        None
    };
    let for_children = ForChildren::enter(l.plan, l.spec.linux().as_ref())?;
    let target = cgroup.clone_target();
    let cloned = clone_into(l.plan.clone_flags(), target.as_ref().map(|f| f.as_fd()));
    if !matches!(cloned, Ok((0, _))) {
        if let Some(i) = inherited {
            i.restore();
        }
    }
    let (pid, placed) = match cloned {
        Ok(r) => r,
        Err(e) => {
            let _ = for_children.restore();
            return Err(e);
        }
    };
    if pid == 0 {
        // The init keeps the namespaces it was cloned into.
        drop(parent);
        drop(for_children);
        init::run(l, child, cgroup, placed);
    }
    let restored = for_children.restore();
    drop(child);
    let mut init_pid = pid;
    if placed {
        crate::logging::debug(&format!(
            "init {pid} born in its cgroup (CLONE_INTO_CGROUP)"
        ));
    }
    let res = restored.and_then(|()| drive(l, &parent, cgroup, pid, &mut init_pid, hook_state));
    if res.is_err() {
        // Devices moved in already go back before the namespace goes (a
        // joined one would keep them; the init's own would give physical
        // ones back under the container's names, and destroy virtual ones).
        if !l.net_devices.is_empty() {
            if let Ok(ns) = std::fs::File::open(format!("/proc/{init_pid}/ns/net")) {
                let _ = crate::netdev::move_back(l.net_devices, &ns.into());
            }
        }
        let _ = kill(Pid::from_raw(init_pid), Signal::SIGKILL);
        if init_pid != pid {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = waitpid(Pid::from_raw(pid), None);
    }
    res
}

fn drive(
    l: &Launch,
    chan: &Channel,
    cgroup: &dyn Manager,
    child: i32,
    init_pid: &mut i32,
    hook_state: &dyn Fn(i32) -> String,
) -> Result<Launched> {
    if let Some(adj) = l.spec.process().as_ref().and_then(|p| p.oom_score_adj()) {
        // Inherited by the init's fork, if there is one. (A rootless
        // runtime's init has it from its clone.)
        if !self::setup::oom_score_by_inheritance() {
            self::setup::write_oom_score_adj(child, adj)?;
        }
    }
    if let Some(g) = l.rdt {
        // Before it runs anything; whatever it forks stays in the group.
        crate::resctrl::join(g, child)?;
    }
    let resources = l.spec.linux().as_ref().and_then(|x| x.resources().as_ref());
    cgroup.adopt(child, resources)?;
    chan.send(&Msg::Go)?;
    let hooks = l.spec.hooks().as_ref();
    let mut pty = None;
    loop {
        match chan.recv(STEP_TIMEOUT)? {
            Some((Msg::NeedIdMaps, _)) => {
                namespaces::write_id_maps(child, l.spec.linux().as_ref())?;
                chan.send(&Msg::IdMapsDone)?;
            }
            Some((Msg::Forked { pid }, _)) => {
                // The intermediate exits at once; reap it.
                let _ = waitpid(Pid::from_raw(child), None);
                *init_pid = pid;
            }
            Some((Msg::RunHooks, _)) => {
                // The init's namespaces exist: its network devices go in
                // before any hook runs (hooks may configure them).
                crate::netdev::move_into(l.net_devices, *init_pid)?;
                // Resources only now: /dev is filled (device rules would
                // forbid the mknods), and nothing of the user's has run.
                if let Some(r) = l.spec.linux().as_ref().and_then(|x| x.resources().as_ref()) {
                    cgroup.apply(r)?;
                }
                let state = hook_state(*init_pid);
                // Both run in the runtime's namespaces, after the
                // container's exist and before pivot_root.
                crate::hooks::run_all_in_bundle(
                    "prestart",
                    hooks.and_then(|h| h.prestart().as_ref()),
                    &state,
                    l.bundle,
                )?;
                crate::hooks::run_all_in_bundle(
                    "createRuntime",
                    hooks.and_then(|h| h.create_runtime().as_ref()),
                    &state,
                    l.bundle,
                )?;
                chan.send(&Msg::HooksDone { state })?;
            }
            Some((Msg::Pty, fd)) => pty = fd,
            Some((Msg::Warn { msg }, _)) => crate::logging::warn(&msg),
            Some((Msg::SeccompListener, Some(listener))) => {
                let agent = l.spec.linux().as_ref().and_then(|x| x.seccomp().as_ref());
                let Some(agent) =
                    agent.and_then(|s| Agent::of(s, l.id, *init_pid, l.bundle, l.annotations))
                else {
                    return Err(Error::Other(
                        "the init has a seccomp listener but no listenerPath is set".into(),
                    ));
                };
                agent.deliver(*init_pid, "creating", &listener)?;
                chan.send(&Msg::ListenerDelivered)?;
            }
            Some((Msg::Ready, _)) => break,
            Some((Msg::Error { msg }, _)) => return Err(Error::Other(msg)),
            Some((other, _)) => {
                return Err(Error::Other(format!(
                    "unexpected message from init: {other:?}"
                )))
            }
            None => {
                let status = waitpid(Pid::from_raw(child), None)
                    .map(|s| format!("{s:?}"))
                    .unwrap_or_else(|e| e.to_string());
                return Err(Error::Other(format!(
                    "container init exited during set-up without saying why ({status})"
                )));
            }
        }
    }
    if l.want_pty && pty.is_none() {
        return Err(Error::Other("init did not send the pty master".into()));
    }
    let _ = pty.as_ref().map(|p: &OwnedFd| p.as_fd());
    Ok(Launched {
        pid: *init_pid,
        pty,
    })
}
