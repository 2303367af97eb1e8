//! The foreground part of `run` and `exec`: forward signals to the
//! process, proxy its terminal if it has one, reap, and return its exit
//! status the way a shell reports it (128+N for a signal).

use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::error::{Error, Result};

/// Block every signal berth forwards, before the process exists, so
/// none is lost; the process restores the mask before exec.
pub fn block_signals() -> Result<SigSet> {
    let mut set = SigSet::all();
    set.remove(Signal::SIGKILL);
    set.remove(Signal::SIGSTOP);
    set.thread_block()
        .map_err(|e| Error::sys("block signals", e))?;
    Ok(set)
}

/// For `run`: berth reaps the init even when it is a grandchild (user
/// namespace with a new pid namespace). `exec` does not (as runc): its
/// process is berth's own child.
pub fn become_subreaper() {
    // SAFETY: plain prctl.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
}

fn exit_code(ws: WaitStatus) -> Option<i32> {
    match ws {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, sig, _) => Some(128 + sig as i32),
        _ => None,
    }
}

/// Wait for the init to exit, forwarding signals (SIGWINCH resizes the
/// pty) and proxying the pty when there is one.
pub fn wait(init: i32, set: SigSet, pty: Option<OwnedFd>) -> Result<i32> {
    let sfd =
        SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC).map_err(|e| Error::sys("signalfd", e))?;
    let mut proxy = pty.map(crate::tty::Proxy::new);
    loop {
        // Reap everything that exited; the init's status ends the wait.
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(ws) => {
                    if ws.pid() == Some(Pid::from_raw(init)) {
                        if let Some(p) = proxy.as_mut() {
                            p.drain();
                        }
                        return Ok(exit_code(ws).unwrap_or(1));
                    }
                }
            }
        }
        let mut fds = vec![libc::pollfd {
            fd: sfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        if let Some(p) = &proxy {
            fds.extend(p.pollfds());
        }
        // SAFETY: valid pollfd array.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
        if rc < 0 {
            continue;
        }
        if fds[0].revents != 0 {
            if let Ok(Some(info)) = sfd.read_signal() {
                let sig = info.ssi_signo as i32;
                if sig == libc::SIGCHLD {
                    continue;
                }
                if sig == libc::SIGWINCH {
                    if let Some(p) = &proxy {
                        p.resize_from_stdin();
                    }
                    continue;
                }
                if let Ok(s) = Signal::try_from(sig) {
                    let _ = kill(Pid::from_raw(init), s);
                }
            }
        }
        if let Some(p) = proxy.as_mut() {
            p.pump(&fds[1..]);
        }
    }
}
