//! The process `exec` starts, from the clone to the execve of the user's
//! program. Born in the container's pid namespace (the runtime joined it
//! for its children) and already in the container's cgroup when the
//! runtime says Go. It never returns; every failure goes to the runtime.
//!
//! Order matters here:
//! 1. join the namespaces, user first: the others may be owned by it, and
//!    joining it gives us the capabilities to join them. Then become root
//!    of that user namespace (the ids we had may not be mapped in it);
//! 2. mount namespace last: setns puts root and cwd at that namespace's
//!    root, then chroot to the init's own root (the same place after
//!    pivot_root; the only way in for a container without a mount
//!    namespace of its own), and only then chdir to the cwd, so the cwd
//!    resolves inside the container (CVE-2024-21626);
//! 3. per-process settings while still root, the pty, tell the runtime;
//! 4. finish::exec_process: capabilities around the user switch, seccomp
//!    as late as it may go, every fd but the preserved ones close-on-exec.

use std::convert::Infallible;
use std::os::fd::AsRawFd;

use super::channel::{Channel, Msg};
use super::enter::Enter;
use super::{exec, finish, pty, setup, STEP_TIMEOUT};
use crate::cgroups::Manager;
use crate::error::{Error, Result};

pub fn run(e: &Enter, chan: Channel, cgroup: &dyn Manager, placed: bool) -> ! {
    let err = match steps(e, &chan, cgroup, placed) {
        Ok(never) => match never {},
        Err(err) => err,
    };
    let _ = chan.send(&Msg::Error {
        msg: err.to_string(),
    });
    // SAFETY: leave without running the runtime's destructors or atexit.
    unsafe { libc::_exit(1) }
}

fn prctl(op: libc::c_int, arg: libc::c_ulong) {
    // SAFETY: plain prctl with integer arguments.
    unsafe { libc::prctl(op, arg, 0, 0, 0) };
}

fn steps(e: &Enter, chan: &Channel, cgroup: &dyn Manager, placed: bool) -> Result<Infallible> {
    // SAFETY: closing our copy of the runtime's lock fd (a flock lives as
    // long as any copy of the fd).
    unsafe { libc::close(e.lock_fd) };
    // Until the runtime has seen us exec, we die with it.
    prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
    // Into the container's cgroup by itself, before joining any of its
    // namespaces (see init's steps).
    cgroup.join_self(placed)?;
    chan.expect(Msg::Go, STEP_TIMEOUT)?;

    // Decided as the runtime decided it, before the user namespace
    // changes what this process's ids look like.
    let pid_ns_here = super::enter::joins_pid_in_child(e.plan);
    e.plan.join_all()?;
    if pid_ns_here {
        fork_into_pid_ns(e, chan)?;
    }
    if e.plan.user_involved() {
        setup::become_root_in_userns()?;
    }
    enter_root(e)?;
    if let Some(p) = e.linux.and_then(|l| l.personality().as_ref()) {
        setup::personality(p)?;
    }
    if let Some(p) = e.mempolicy {
        super::mempolicy::apply(p)?;
    }
    if e.join_keyring {
        setup::new_session_keyring(e.id)?;
    }
    let prepared = finish::prepare(e.process, &[], "process.cwd")?;
    if e.want_pty {
        // The container's /dev/ptmx: the pty belongs to its devpts.
        pty::hand_over(chan, pty::open(Some(e.process), e.proxied_pty)?)?;
    } else {
        crate::tty::new_session()?;
    }
    chan.send(&Msg::Ready)?;
    prctl(libc::PR_SET_PDEATHSIG, 0);
    // A seccomp listener goes back to the runtime, which gives it to the
    // agent; the process waits for that before going on.
    let handoff = finish::listener_handoff(chan)?;
    let keep = e.preserve_fds;
    let fds = || {
        exec::keep_open(keep);
        exec::cloexec_from(3 + keep)
    };
    let became = finish::become_process(e.process, e.seccomp, &handoff, &fds, false)?;
    for msg in became.warnings {
        chan.send(&Msg::Warn { msg })?;
    }
    Err(exec::execve(&prepared.path, &prepared.args, &prepared.env))
}

/// Make the init's root ours; the cwd is entered from there.
fn enter_root(e: &Enter) -> Result<()> {
    // SAFETY: fchdir on a directory fd we hold.
    if unsafe { libc::fchdir(e.root.as_raw_fd()) } != 0 {
        return Err(Error::sys(
            "enter the container's root directory",
            std::io::Error::last_os_error(),
        ));
    }
    nix::unistd::chroot(".").map_err(|err| Error::sys("chroot into the container's root", err))?;
    std::env::set_current_dir("/").map_err(|err| Error::sys("chdir / in the container", err))
}

/// Rootless: join the container's pid (and time) namespace now that its
/// user namespace is ours, and go on in a forked child, which is born in
/// them; this process reports the child's pid and exits.
fn fork_into_pid_ns(e: &Enter, chan: &Channel) -> Result<()> {
    use oci_spec::runtime::LinuxNamespaceType as T;
    for t in [T::Pid, T::Time] {
        if let Some(fd) = e.plan.joined(t) {
            crate::namespaces::setns(fd, t)?;
        }
    }
    // SAFETY: single-threaded; the child only goes on with these steps.
    match unsafe { libc::fork() } {
        -1 => Err(Error::sys(
            "fork into the container's pid namespace",
            std::io::Error::last_os_error(),
        )),
        0 => Ok(()),
        pid => {
            let sent = chan.send(&Msg::Forked { pid });
            // SAFETY: _exit without running anything of the parent's.
            unsafe { libc::_exit(i32::from(sent.is_err())) }
        }
    }
}
