//! `exec`'s runtime side: start one more process in a running container.
//!
//! One clone, no intermediate process: the runtime itself joins the
//! container's pid (and time) namespace "for children" first, so the clone
//! is born inside it (a pid namespace only ever applies to processes
//! created after the setns); it restores its own at once. The child joins
//! the rest (enter_child.rs). The runtime puts it in the container's
//! cgroup and sets its OOM score before the child goes on, so nothing of
//! the user's ever runs outside them.

use std::os::fd::{AsFd, OwnedFd, RawFd};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::{Linux, Process};

use super::channel::{Channel, Msg};
use super::{clone_into, enter_child, ForChildren, STEP_TIMEOUT};
use crate::cgroups::Manager;
use crate::error::{Error, Result};
use crate::namespaces::Plan;
use crate::security::seccomp::Filter;

/// Everything the new process needs, fixed before the clone.
pub struct Enter<'a> {
    pub id: &'a str,
    /// The process to run (args, env, cwd, user, capabilities, ...).
    pub process: &'a Process,
    /// The container's `linux` section (personality).
    pub linux: Option<&'a Linux>,
    /// The init's namespaces that differ from berth's.
    pub plan: &'a Plan,
    /// The init's root directory (/proc/<pid>/root), entered after the
    /// mount namespace.
    pub root: &'a OwnedFd,
    /// The container's `linux.seccomp`, compiled by the runtime.
    pub seccomp: Option<&'a Filter>,
    /// Where a seccomp listener goes (a NOTIFY rule).
    pub agent: Option<&'a crate::security::seccomp::notify::Agent>,
    /// fds 3..3+n passed on.
    pub preserve_fds: u32,
    /// Make a pty and send its master back.
    pub want_pty: bool,
    /// The container's resctrl groups (linux.intelRdt).
    pub rdt: Option<&'a crate::resctrl::Group>,
    /// linux.memoryPolicy of the container, checked by the runtime.
    pub mempolicy: Option<&'a super::mempolicy::Policy>,
    /// berth proxies the pty (exec -t in the foreground): ONLCR off.
    pub proxied_pty: bool,
    /// Join the container's session keyring (unless create had
    /// --no-new-keyring).
    pub join_keyring: bool,
    /// The runtime's lock on the state dir: the child closes its copy.
    pub lock_fd: RawFd,
}

pub struct Entered {
    /// The new process's pid (in berth's pid namespace).
    pub pid: i32,
    pub pty: Option<OwnedFd>,
}

/// Start the process and return once it has exec'd the program (or say
/// why it could not; then nothing is left of it).
pub fn enter(e: &Enter, cgroup: &dyn Manager) -> Result<Entered> {
    let (parent, child) = Channel::pair()?;
    let inherited = if super::setup::oom_score_by_inheritance() {
        Some(super::setup::InheritedOomScore::set(
            e.process.oom_score_adj(),
        )?)
    } else {
        None
    };
    // Non-dumpable before the clone, so the child is never ptrace-able or
    // open through /proc from the container, not even before its first
    // instruction. (execve makes the program dumpable again.)
    // SAFETY: plain prctl.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    let for_children = if joins_pid_in_child(e.plan) {
        // The process is then berth's grandchild: reap it all the same.
        // SAFETY: plain prctl.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        ForChildren::none()
    } else {
        ForChildren::enter(e.plan, e.linux)?
    };
    let target = cgroup.clone_target();
    let cloned = clone_into(0, target.as_ref().map(|f| f.as_fd()));
    if !matches!(cloned, Ok((0, _))) {
        if let Some(i) = inherited {
            i.restore();
        }
    }
    let (pid, placed) = match cloned {
        Ok(r) => r,
        Err(err) => {
            let _ = for_children.restore();
            return Err(clone_error(err));
        }
    };
    if pid == 0 {
        drop(parent);
        drop(for_children);
        enter_child::run(e, child, cgroup, placed);
    }
    let restored = for_children.restore();
    drop(child);
    let mut process = pid;
    let res = restored.and_then(|()| drive(e, &parent, pid, &mut process));
    if res.is_err() {
        let _ = kill(Pid::from_raw(process), Signal::SIGKILL);
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        let _ = waitpid(Pid::from_raw(pid), None);
    }
    res
}

/// A rootless runtime may join the container's pid (and time) namespace
/// only from inside the container's user namespace: the child joins them
/// after the user namespace and forks the process into them, instead of
/// the runtime joining them for its children.
pub(crate) fn joins_pid_in_child(plan: &crate::namespaces::Plan) -> bool {
    use oci_spec::runtime::LinuxNamespaceType as T;
    // Root of a user namespace of its own (rootless Podman's) may join
    // the container's pid namespace, but not go back to its own, which
    // the host's user namespace owns: the runtime stays where it is.
    let unprivileged = (!nix::unistd::geteuid().is_root() && plan.joined(T::User).is_some())
        || crate::userns::running_in();
    unprivileged && (plan.joined(T::Pid).is_some() || plan.joined(T::Time).is_some())
}

/// A pid namespace whose init has died takes no new process (ENOMEM).
fn clone_error(e: Error) -> Error {
    match &e {
        Error::Sys { cause, .. } if cause.raw_os_error() == Some(libc::ENOMEM) => {
            Error::Other(format!(
                "{e} (has the container's init exited? its pid namespace takes no new process)"
            ))
        }
        _ => e,
    }
}

fn drive(e: &Enter, chan: &Channel, first: i32, child: &mut i32) -> Result<Entered> {
    if let Some(adj) = e.process.oom_score_adj() {
        // (A rootless runtime's child has it from its clone.)
        if !super::setup::oom_score_by_inheritance() {
            super::setup::write_oom_score_adj(*child, adj)?;
        }
    }
    if let Some(g) = e.rdt {
        crate::resctrl::join(g, *child)?;
    }
    chan.send(&Msg::Go)?;
    let mut pty = None;
    let mut ready = false;
    loop {
        match chan.recv(STEP_TIMEOUT)? {
            Some((Msg::Forked { pid }, _)) => {
                // The child that joined the namespaces exits at once.
                let _ = waitpid(Pid::from_raw(first), None);
                *child = pid;
            }
            Some((Msg::Pty, fd)) => pty = fd,
            Some((Msg::Warn { msg }, _)) => crate::logging::warn(&msg),
            Some((Msg::Ready, _)) => ready = true,
            Some((Msg::SeccompListener, Some(listener))) => {
                let Some(agent) = e.agent else {
                    return Err(Error::Other(
                        "the exec process has a seccomp listener but no listenerPath is set".into(),
                    ));
                };
                agent.deliver(*child, "running", &listener)?;
                chan.send(&Msg::ListenerDelivered)?;
            }
            Some((Msg::Error { msg }, _)) => return Err(Error::Other(msg)),
            Some((other, _)) => {
                return Err(Error::Other(format!(
                    "unexpected message from the exec process: {other:?}"
                )))
            }
            // The channel is close-on-exec: EOF after Ready means execve
            // succeeded (an error is always sent before the child exits).
            None if ready => break,
            None => {
                let status = waitpid(Pid::from_raw(first), None)
                    .map(|s| format!("{s:?}"))
                    .unwrap_or_else(|e| e.to_string());
                return Err(Error::Other(format!(
                    "the exec process exited during set-up without saying why ({status})"
                )));
            }
        }
    }
    if e.want_pty && pty.is_none() {
        return Err(Error::Other(
            "the exec process did not send the pty master".into(),
        ));
    }
    Ok(Entered { pid: *child, pty })
}
