//! `exec`: run one more process in a created or running container (as
//! runc: not in a stopped one, nor in a paused one unless asked). It joins
//! every namespace of the container's init, its root, its cgroup, and its
//! seccomp filter; then berth either returns (`--detach`) or waits and
//! exits with the process's status.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;

use nix::fcntl::{openat, OFlag};
use nix::sys::signal::{kill, Signal};
use nix::sys::stat::Mode;
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use super::exec_process::{self, ProcessFlags};
use super::{run as fg, Container, Status};
use crate::error::{Error, Result};
use crate::namespaces;
use crate::process::enter::{self, Enter};
use crate::state::{self, Root, Saved};

#[derive(Default, Debug, Clone)]
pub struct ExecOptions {
    pub process: ProcessFlags,
    pub console_socket: Option<PathBuf>,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    /// fds 3..3+n passed to the process.
    pub preserve_fds: u32,
    pub ignore_paused: bool,
    /// --cgroup: sub-cgroups of the container's to run the process in.
    pub sub_cgroups: Vec<String>,
    /// --pidfd-socket: a unix socket that receives a pidfd of the process.
    pub pidfd_socket: Option<PathBuf>,
}

/// Run the process; returns its exit status (0 once started, with
/// `detach`).
pub fn exec(root: &Root, id: &str, o: &ExecOptions) -> Result<i32> {
    let c = Container::open(root, id)?;
    let status = c.status();
    let refuse = |msg: &str| Error::WrongState {
        id: id.into(),
        status: status.to_string(),
        msg: msg.into(),
    };
    match status {
        Status::Stopped => return Err(refuse("cannot exec in a stopped container")),
        // With --ignore-paused the process joins the frozen cgroup and
        // freezes with it: berth waits for its set-up as long as any step
        // may take (STEP_TIMEOUT) for the container to be thawed.
        Status::Paused if !o.ignore_paused => {
            return Err(refuse(
                "cannot exec in a paused container (use --ignore-paused to override)",
            ))
        }
        _ => {}
    }
    let spec = c.dir.config()?;
    let process = exec_process::build(&o.process, &spec)?;
    let terminal = process.terminal().unwrap_or(false);
    check_terminal(terminal, o)?;
    let linux = spec.linux().as_ref();
    let seccomp = super::create::seccomp_filter(linux)?;
    let mempolicy = super::create::memory_policy(linux)?;
    let agent = seccomp_agent(linux, id, &c.saved);

    let init = open_init(&c.saved)?;
    let plan = namespaces::of_process(init.as_fd())?;
    let init_root = openat(
        &init,
        "root",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::sys("open the container init's root directory", e))?;
    crate::logging::debug(&format!(
        "exec {id}: init {}, joining {:?}, args {:?}",
        c.saved.pid,
        plan.join.iter().map(|(t, _)| t).collect::<Vec<_>>(),
        process.args()
    ));

    // Before the process exists, so no signal for it is lost.
    let signals = if o.detach {
        None
    } else {
        Some(fg::block_signals()?)
    };
    let e = Enter {
        id,
        process: &process,
        linux,
        plan: &plan,
        root: &init_root,
        seccomp: seccomp.as_ref(),
        agent: agent.as_ref(),
        preserve_fds: o.preserve_fds,
        want_pty: terminal,
        proxied_pty: terminal && !o.detach,
        mempolicy: mempolicy.as_ref(),
        rdt: c.saved.rdt.as_ref(),
        join_keyring: !c.saved.no_new_keyring,
        lock_fd: c.dir.fd().as_raw_fd(),
    };
    // Unlock before waiting on the new process: in a paused container
    // (--ignore-paused) it freezes during set-up, and a `resume` (or
    // `list`, `kill`, `delete`) from another caller must not wait on us.
    c.dir.unlock();
    let cgroup = crate::cgroups::manager(&crate::cgroups::sub::with_sub_cgroups(
        &c.saved.cgroup,
        &o.sub_cgroups,
    )?);
    let entered = enter::enter(&e, &*cgroup)?;
    crate::logging::debug(&format!("exec {id}: process {} started", entered.pid));
    let handed = (|| -> Result<()> {
        if let Some(p) = &o.pid_file {
            state::write_atomic(p, entered.pid.to_string().as_bytes())?;
        }
        if let (Some(sock), Some(master)) = (&o.console_socket, &entered.pty) {
            crate::tty::send_to_console_socket(sock, master.as_raw_fd(), "console")?;
        }
        if let Some(sock) = &o.pidfd_socket {
            crate::tty::send_pidfd(sock, entered.pid)?;
        }
        Ok(())
    })();
    if let Err(err) = handed {
        let _ = kill(Pid::from_raw(entered.pid), Signal::SIGKILL);
        let _ = waitpid(Pid::from_raw(entered.pid), None);
        return Err(err);
    }
    drop(c);
    match signals {
        None => Ok(0),
        Some(set) => fg::wait(entered.pid, set, entered.pty),
    }
}

/// runc's rules: a detached process's pty must go to a console socket,
/// and a console socket is only for a detached process with a pty.
fn check_terminal(terminal: bool, o: &ExecOptions) -> Result<()> {
    if o.detach && terminal && o.console_socket.is_none() {
        return Err(Error::InvalidConfig(
            "a terminal with --detach needs --console-socket to receive the pty".into(),
        ));
    }
    if o.console_socket.is_some() && !(o.detach && terminal) {
        return Err(Error::InvalidConfig(
            "--console-socket is only used with --detach and a terminal (--tty, or \"terminal\": true in --process)".into(),
        ));
    }
    Ok(())
}

/// The container's init, pinned: /proc/<pid> is opened once and checked
/// to be the process `create` recorded (pid and start time, as `kill`
/// checks); every later look-up goes through this directory, which fails
/// rather than name another process if the pid is ever reused.
fn open_init(saved: &Saved) -> Result<OwnedFd> {
    let gone = || Error::WrongState {
        id: saved.id.clone(),
        status: Status::Stopped.to_string(),
        msg: format!(
            "cannot exec in a stopped container (its init {} has exited)",
            saved.pid
        ),
    };
    let dir = nix::fcntl::open(
        format!("/proc/{}", saved.pid).as_str(),
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|_| gone())?;
    let stat = openat(
        &dir,
        "stat",
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|_| gone())?;
    let text = std::io::read_to_string(std::fs::File::from(stat)).map_err(|_| gone())?;
    match super::parse_stat(&text) {
        Some((state, start)) if start == saved.pid_start_time && state != 'Z' && state != 'X' => {
            Ok(dir)
        }
        _ => Err(gone()),
    }
}

/// The agent a NOTIFY rule's listener goes to, from the config snapshot.
pub(crate) fn seccomp_agent(
    linux: Option<&oci_spec::runtime::Linux>,
    id: &str,
    saved: &crate::state::Saved,
) -> Option<crate::security::seccomp::notify::Agent> {
    let s = linux.and_then(|l| l.seccomp().as_ref())?;
    crate::security::seccomp::notify::Agent::of(s, id, saved.pid, &saved.bundle, &saved.annotations)
}
