//! The last steps of every process berth starts in a container, shared by
//! the init and by `exec`: settings that need no user switch, the cwd, the
//! program's path and environment (`prepare`); then, in this order, the
//! LSM labels for the exec, capabilities and the user switch, umask,
//! no_new_privs, CPU affinity, signal dispositions, fds, seccomp
//! (`become_process`); and execve.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

use oci_spec::runtime::Process;

use super::channel::{Channel, Msg};
use super::{exec, setup, STEP_TIMEOUT};
use crate::error::{Error, Result};
use crate::security::seccomp::{notify, Filter};

/// What execve needs, worked out early so that a missing program fails
/// before anything of the container's is started.
pub struct Prepared {
    pub path: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<String>,
}

/// Apply what does not depend on the user switch, enter the process's cwd
/// (already inside the container's root) and find the program. `extra`
/// env entries replace those of the same name; `cwd_field` names the cwd
/// in errors (the config's field, or exec's).
pub fn prepare(p: &Process, extra: &[(String, String)], cwd_field: &str) -> Result<Prepared> {
    setup::before_user_switch(p)?;
    if let Some(initial) = p
        .exec_cpu_affinity()
        .as_ref()
        .and_then(|a| a.initial().as_deref())
    {
        setup::cpu_affinity(initial, "process.execCPUAffinity.initial")?;
    }
    std::env::set_current_dir(p.cwd())
        .map_err(|e| Error::sys(format!("{cwd_field}: {}", p.cwd().display()), e))?;
    // CVE-2024-21626: a cwd reached through a magic link (/proc/self/fd/N
    // of an fd still open in berth) can lie outside the container's root;
    // getcwd then fails ("unreachable"). Refuse it.
    match std::env::current_dir() {
        Ok(d) if d.is_absolute() => {}
        _ => {
            return Err(Error::InvalidConfig(format!(
                "{cwd_field}: {} is outside the container's root",
                p.cwd().display()
            )))
        }
    }
    let env = exec::environment(p.env().as_deref().unwrap_or(&[]), p.user().uid(), extra);
    let args = p.args().clone().unwrap_or_default();
    let Some(prog) = args.first() else {
        return Err(Error::InvalidConfig(
            "process.args: must name at least the program to run".into(),
        ));
    };
    let path = exec::lookup(prog, &env)?;
    Ok(Prepared { path, args, env })
}

/// What becomes of a seccomp listener (a NOTIFY rule): passed to the berth
/// process on the host, which gives it to the agent; returns once the agent
/// has it.
pub type Handoff<'a> = &'a dyn Fn(OwnedFd) -> Result<()>;

/// The handoff of a process whose runtime is at the other end of `chan`:
/// the listener goes over the channel, and the process waits until the
/// runtime says the agent has it. The record is made now: right after
/// seccomp(2) nothing may allocate (see seccomp/notify.rs).
pub fn listener_handoff(chan: &Channel) -> Result<impl Fn(OwnedFd) -> Result<()> + '_> {
    let record = serde_json::to_vec(&Msg::SeccompListener)
        .map_err(|err| Error::Other(format!("encode a message: {err}")))?;
    Ok(move |listener: OwnedFd| {
        let sent = notify::send_fd(chan.raw(), &record, listener.as_raw_fd());
        // Whatever happened, the listener leaves this process now: with no
        // copy left anywhere, a notified call fails instead of hanging.
        drop(listener);
        sent.map_err(|err| Error::sys("pass the seccomp listener to the runtime", err))?;
        chan.expect(Msg::ListenerDelivered, STEP_TIMEOUT)
    })
}

/// What happens to inherited fds just before the late seccomp install (the
/// last of berth's own steps that a filter could refuse).
pub type FdPolicy<'a> = &'a dyn Fn() -> Result<()>;

/// Every step of the switch to the container's process short of execve:
/// LSM labels, capabilities around the user switch, umask, no_new_privs,
/// CPU affinity, signal dispositions, `fds`, and seccomp. The init does
/// all of it before it reports ready, so that whatever fails, fails
/// `create` (as with runc); only hooks and execve are left for `start`.
/// With `may_defer_filter`, a filter that can go in last and has no
/// listener to deliver is left for the caller to install just before
/// execve (`Became::filter_pending`), so that the init's wait for `start`
/// is not subject to it.
pub fn become_process(
    p: &Process,
    seccomp: Option<&Filter>,
    handoff: Handoff,
    fds: FdPolicy,
    may_defer_filter: bool,
) -> Result<Became> {
    // LSM labels first: still root with every capability, before
    // no_new_privs and before any seccomp filter could deny the writes.
    crate::security::apply_lsm_labels(p)?;
    let caps = p.capabilities().as_ref();
    let nnp = p.no_new_privileges().unwrap_or(false);
    // seccomp(2) needs no_new_privs or CAP_SYS_ADMIN. Normally the filter
    // goes in last, so it need not allow berth's own steps; without
    // no_new_privs and without CAP_SYS_ADMIN after the switch, it must go
    // in now, while berth still has the capability.
    let early_seccomp = !nnp && !keeps_sys_admin(p);
    if early_seccomp {
        install_seccomp(seccomp, handoff)?;
    }
    // The bounding set needs CAP_SETPCAP: drop it while still root.
    if let Some(c) = caps {
        crate::security::caps::drop_bounding(c)?;
    }
    setup::switch_user(p.user(), caps.is_some())?;
    let mut warnings = Vec::new();
    if let Some(c) = caps {
        warnings.extend(crate::security::caps::apply(c)?);
    }
    let mask = p.user().umask().unwrap_or(0o022);
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(mask as libc::mode_t) };
    if nnp {
        setup::no_new_privs()?;
    }
    if let Some(fin) = p
        .exec_cpu_affinity()
        .as_ref()
        .and_then(|a| a.cpu_affinity_final().as_deref())
    {
        setup::cpu_affinity(fin, "process.execCPUAffinity.final")?;
    }
    reset_signals();
    fds()?;
    let defer = may_defer_filter && !seccomp.is_some_and(Filter::needs_listener);
    if !early_seccomp && !defer {
        install_seccomp(seccomp, handoff)?;
    }
    Ok(Became {
        warnings,
        filter_pending: !early_seccomp && defer && seccomp.is_some(),
    })
}

/// What `become_process` leaves to its caller.
pub struct Became {
    /// Capabilities the kernel would not grant, for the caller to log.
    pub warnings: Vec<String>,
    /// The seccomp filter is still to be installed (`install_seccomp`).
    pub filter_pending: bool,
}

/// Install the filter; a listener goes to `handoff` at once, before any
/// other syscall of ours could be one the agent must answer.
pub fn install_seccomp(f: Option<&Filter>, handoff: Handoff) -> Result<()> {
    if let Some(f) = f {
        if let Some(listener) = crate::security::seccomp::install(f)? {
            handoff(listener)?;
        }
    }
    Ok(())
}

/// Whether the process still has CAP_SYS_ADMIN once it runs as the
/// container's user: only if the config gives it (or gives no capability
/// sets at all and the user is root).
fn keeps_sys_admin(p: &Process) -> bool {
    const CAP_SYS_ADMIN: u32 = 21;
    match p.capabilities() {
        Some(c) => crate::security::caps::numbers(c.effective())
            .map(|e| e.contains(&CAP_SYS_ADMIN))
            .unwrap_or(false),
        None => p.user().uid() == 0,
    }
}

/// The program starts with default signal dispositions and nothing
/// blocked (the runtime ignores SIGPIPE; `run` and `exec` block signals).
fn reset_signals() {
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: restoring the default disposition.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
    let empty = nix::sys::signal::SigSet::empty();
    let _ = nix::sys::signal::sigprocmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&empty),
        None,
    );
}
