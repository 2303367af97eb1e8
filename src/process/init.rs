//! The container's init, from the clone to the exec of the user's program.
//! It runs in a copy of the runtime, never returns, and reports every
//! failure to the runtime (before `start`) or to `start` (after).
//!
//! Order matters here:
//! 1. non-dumpable first, so nothing in the container can open our exe;
//! 2. join namespaces by path (user first), then make a user namespace
//!    and wait for the runtime to write its maps, then unshare the rest:
//!    everything new is then owned by the container's user namespace;
//! 3. mounts and /dev in the rootfs while host paths are still visible,
//!    hooks, then pivot_root; masked/readonly paths after it;
//! 4. wait for `start`; only then drop privileges: bounding set while
//!    still root, setuid with KEEPCAPS, capset, ambient, no_new_privs;
//! 5. mark every non-preserved fd close-on-exec, and exec.

use std::convert::Infallible;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType as T, Process};

use super::channel::{Channel, Msg};
use super::{exec, setup, Launch, STEP_TIMEOUT};
use crate::error::{Error, Result};
use crate::namespaces;
use crate::rootfs::{self, devices, mounts, paths, pivot};

pub fn run(l: &Launch, chan: Channel) -> ! {
    let err = match steps(l, &chan) {
        Ok(never) => match never {},
        Err(e) => e,
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

fn steps(l: &Launch, chan: &Channel) -> Result<Infallible> {
    // SAFETY: closing our copy of the runtime's lock fd.
    unsafe { libc::close(l.lock_fd) };
    prctl(libc::PR_SET_DUMPABLE, 0);
    // Until create has finished, the init dies with the runtime.
    prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
    chan.expect(Msg::Go, STEP_TIMEOUT)?;
    // SAFETY: umask has no failure mode.
    unsafe { libc::umask(0) };

    l.plan.join_all()?;
    if l.plan.is_new(T::User) {
        namespaces::unshare(libc::CLONE_NEWUSER)?;
        chan.send(&Msg::NeedIdMaps)?;
        chan.expect(Msg::IdMapsDone, STEP_TIMEOUT)?;
    }
    if l.plan.user_involved() {
        become_root_in_userns()?;
    }
    namespaces::unshare(l.plan.unshare_flags())?;
    if l.plan.needs_fork() {
        fork_into_new_pid_or_time_ns(l, chan)?;
    }

    set_names(l)?;
    let own_mnt = l.plan.has(T::Mount);
    prepare_rootfs(l, own_mnt)?;
    chan.send(&Msg::RunHooks)?;
    let state = match chan.recv(STEP_TIMEOUT)? {
        Some((Msg::HooksDone { state }, _)) => state,
        Some((Msg::Error { msg }, _)) => return Err(Error::Other(msg)),
        other => return Err(Error::Other(format!("expected HooksDone, got {other:?}"))),
    };
    let hooks = l.spec.hooks().as_ref();
    crate::hooks::run_all(
        "createContainer",
        hooks.and_then(|h| h.create_container().as_ref()),
        &state,
    )?;
    let linux = l.spec.linux().as_ref();
    let entry = match (own_mnt, l.no_pivot) {
        (false, _) => pivot::Entry::Chroot,
        (true, true) => pivot::Entry::MoveAndChroot,
        (true, false) => pivot::Entry::PivotRoot,
    };
    pivot::enter(l.rootfs, entry)?;
    if own_mnt {
        if let Some(p) = linux
            .and_then(|l| l.rootfs_propagation().as_deref())
            .filter(|p| !p.is_empty())
        {
            pivot::set_root_propagation(
                rootfs::options::propagation_flag(p).unwrap_or(nix::mount::MsFlags::MS_PRIVATE),
            )?;
        }
    }
    if let Some(s) = linux.and_then(|l| l.sysctl().as_ref()) {
        rootfs::sysctl::apply(s)?;
    }
    if let Some(m) = linux.and_then(|l| l.masked_paths().as_ref()) {
        paths::mask(m)?;
    }
    if let Some(r) = linux.and_then(|l| l.readonly_paths().as_ref()) {
        paths::readonly(r)?;
    }
    let process = l.spec.process().as_ref();
    if l.want_pty {
        let size = process.and_then(|p| p.console_size().map(|b| (b.width(), b.height())));
        attach_pty(chan, size)?;
    }
    if l.spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        paths::root_readonly()?;
    }
    if let Some(p) = linux.and_then(|l| l.personality().as_ref()) {
        setup::personality(p)?;
    }
    if !l.no_new_keyring {
        setup::new_session_keyring(l.id)?;
    }
    let prepared = match process {
        Some(p) => Some(prepare_process(l, p)?),
        None => None,
    };
    prctl(libc::PR_SET_PDEATHSIG, 0);
    chan.send(&Msg::Ready)?;
    wait_for_start_then_exec(l, &state, prepared)
}

/// Become uid/gid 0 of the user namespace (mapped by now), keeping the
/// namespace's full capabilities.
fn become_root_in_userns() -> Result<()> {
    // SAFETY: plain integer arguments.
    if unsafe { libc::setresgid(0, 0, 0) } != 0 || unsafe { libc::setresuid(0, 0, 0) } != 0 {
        return Err(Error::sys(
            "config.json: linux.uidMappings/gidMappings: become root in the user namespace (is container id 0 mapped?)",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// New pid/time namespaces owned by the container's user namespace only
/// apply to children: fork, report the child's pid, and leave.
fn fork_into_new_pid_or_time_ns(l: &Launch, chan: &Channel) -> Result<()> {
    if l.plan.is_new(T::Time) {
        namespaces::unshare(namespaces::CLONE_NEWTIME)?;
        // Non-dumpable makes /proc/self/* owned by the host's root, which
        // this user namespace does not map: be dumpable for this one write
        // (no process of the container exists yet to take advantage).
        prctl(libc::PR_SET_DUMPABLE, 1);
        let written = namespaces::write_time_offsets(l.spec.linux().as_ref());
        prctl(libc::PR_SET_DUMPABLE, 0);
        written?;
    }
    if l.plan.is_new(T::Pid) {
        namespaces::unshare(libc::CLONE_NEWPID)?;
    }
    // SAFETY: single-threaded; the child goes on as the init.
    match unsafe { nix::unistd::fork() }.map_err(|e| Error::sys("fork", e))? {
        nix::unistd::ForkResult::Parent { child } => {
            let _ = chan.send(&Msg::Forked {
                pid: child.as_raw(),
            });
            // SAFETY: leave without destructors.
            unsafe { libc::_exit(0) }
        }
        nix::unistd::ForkResult::Child => Ok(()),
    }
}

fn set_names(l: &Launch) -> Result<()> {
    if let Some(h) = l.spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h)
            .map_err(|e| Error::sys(format!("config.json: hostname: {h:?}"), e))?;
    }
    if let Some(d) = l.spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        // SAFETY: valid buffer and length.
        if unsafe { libc::setdomainname(d.as_ptr().cast(), d.len()) } != 0 {
            return Err(Error::sys(
                format!("config.json: domainname: {d:?}"),
                std::io::Error::last_os_error(),
            ));
        }
    }
    Ok(())
}

/// Mounts, /dev and the cwd, inside the rootfs, before pivot_root.
/// Without a mount namespace of its own (runc allows that) the mounts land
/// in the host's namespace, under the rootfs; `delete` unmounts them.
fn prepare_rootfs(l: &Launch, own_mnt: bool) -> Result<()> {
    pivot::prepare(l.rootfs, own_mnt)?;
    let root = pathrs::Root::open(l.rootfs).map_err(|e| rootfs::pathrs_err("open rootfs", e))?;
    let no_mounts = Vec::new();
    let mounts_list = l.spec.mounts().as_ref().unwrap_or(&no_mounts);
    let ctx = mounts::MountContext {
        bundle: l.bundle,
        cgroup: l.placement,
        cgroup_ns: l.plan.has(T::Cgroup),
    };
    mounts::apply_all(&root, mounts_list, &ctx)?;
    // A /dev bind-mounted from elsewhere is left as it is; otherwise berth
    // fills it (normally a tmpfs from the config).
    let dev_is_bind = mounts_list.iter().any(|m| {
        rootfs::inner(m.destination()) == Path::new("dev")
            && (m.typ().as_deref() == Some("bind")
                || m.options()
                    .iter()
                    .flatten()
                    .any(|o| o == "bind" || o == "rbind"))
    });
    if !dev_is_bind {
        let configured = l
            .spec
            .linux()
            .as_ref()
            .and_then(|x| x.devices().clone())
            .unwrap_or_default();
        devices::standard_dirs(&root)?;
        devices::create_all(&root, &devices::list(&configured)?, l.plan.user_involved())?;
        devices::symlinks(&root)?;
    }
    if let Some(p) = l.spec.process() {
        let perm = crate::rootfs::perm(0o755);
        root.mkdir_all(rootfs::inner(p.cwd()), &perm).map_err(|e| {
            rootfs::pathrs_err(
                format!("config.json: process.cwd: {}", p.cwd().display()),
                e,
            )
        })?;
    }
    Ok(())
}

/// A pty in the container's devpts: the slave becomes /dev/console and our
/// controlling terminal and stdio; the master goes to the runtime.
fn attach_pty(chan: &Channel, size: Option<(u64, u64)>) -> Result<()> {
    let pty = crate::tty::open_pty()?;
    if let Some((w, h)) = size {
        crate::tty::set_size(pty.master.as_raw_fd(), w as u16, h as u16);
    }
    if Path::new("/dev").is_dir() {
        let console = Path::new("/dev/console");
        if std::fs::symlink_metadata(console).is_err() {
            let _ = std::fs::File::create(console);
        }
        rootfs::mount_raw(
            Some(&rootfs::cstr(&pty.slave_path)),
            c"/dev/console",
            None,
            nix::mount::MsFlags::MS_BIND,
            None,
        )
        .map_err(|e| Error::sys("bind the pty onto /dev/console", e))?;
    }
    chan.send_with_fd(&Msg::Pty, Some(pty.master.as_raw_fd()))?;
    drop(pty.master);
    crate::tty::become_session_leader_on(&pty.slave_path)
}

/// What exec needs, worked out before `create` returns so that a missing
/// program fails `create`, as with runc.
struct Prepared {
    path: PathBuf,
    args: Vec<String>,
    env: Vec<String>,
}

fn prepare_process(l: &Launch, p: &Process) -> Result<Prepared> {
    setup::before_user_switch(p)?;
    if let Some(initial) = p
        .exec_cpu_affinity()
        .as_ref()
        .and_then(|a| a.initial().as_deref())
    {
        setup::cpu_affinity(initial, "process.execCPUAffinity.initial")?;
    }
    std::env::set_current_dir(p.cwd()).map_err(|e| {
        Error::sys(
            format!("config.json: process.cwd: {}", p.cwd().display()),
            e,
        )
    })?;
    let mut extra = Vec::new();
    if let Some(n) = l.listen_fds {
        extra.push(("LISTEN_FDS".to_string(), n.to_string()));
        extra.push(("LISTEN_PID".to_string(), "1".to_string()));
    }
    let env = exec::environment(p.env().as_deref().unwrap_or(&[]), p.user().uid(), &extra);
    let args = p.args().clone().unwrap_or_default();
    let path = exec::lookup(&args[0], &env)?;
    Ok(Prepared { path, args, env })
}

/// Block until `start` connects to the start socket, then finish and exec.
/// From here, errors go to `start` over that connection.
fn wait_for_start_then_exec(
    l: &Launch,
    state: &str,
    prepared: Option<Prepared>,
) -> Result<Infallible> {
    let conn = loop {
        // SAFETY: accept4 on our listening socket.
        let fd = unsafe {
            libc::accept4(
                l.start_listener,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC,
            )
        };
        if fd >= 0 {
            // SAFETY: new fd we own.
            break unsafe { UnixStream::from(OwnedFd::from_raw_fd(fd)) };
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            // SAFETY: nobody to report to; leave.
            unsafe { libc::_exit(1) }
        }
    };
    // SAFETY: closing our copy of the listener.
    unsafe { libc::close(l.start_listener) };
    let mut conn = conn;
    let mut go = [0u8; 1];
    if conn.read_exact(&mut go).is_err() {
        unsafe { libc::_exit(1) }
    }
    let err = match finish_and_exec(l, state, prepared) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let _ = conn.write_all(err.to_string().as_bytes());
    unsafe { libc::_exit(1) }
}

fn finish_and_exec(l: &Launch, state: &str, prepared: Option<Prepared>) -> Result<Infallible> {
    let Some(prepared) = prepared else {
        return Err(Error::InvalidConfig(
            "config.json: process: not set, so there is nothing to start".into(),
        ));
    };
    let p = l.spec.process().as_ref().expect("prepared implies process");
    crate::hooks::run_all(
        "startContainer",
        l.spec
            .hooks()
            .as_ref()
            .and_then(|h| h.start_container().as_ref()),
        state,
    )?;
    let caps = p.capabilities().as_ref();
    let nnp = p.no_new_privileges().unwrap_or(false);
    // seccomp(2) needs no_new_privs or CAP_SYS_ADMIN. Normally the filter
    // goes in last, just before exec, so it need not allow the init's own
    // steps; without no_new_privs and without CAP_SYS_ADMIN after the
    // switch, it must go in now, while berth still has the capability.
    let early_seccomp = !nnp && !keeps_sys_admin(p);
    if early_seccomp {
        install_seccomp(l)?;
    }
    if let Some(c) = caps {
        crate::security::caps::drop_bounding(c)?;
    }
    setup::switch_user(p.user(), caps.is_some())?;
    if let Some(c) = caps {
        crate::security::caps::apply(c)?;
    }
    if let Some(mask) = p.user().umask() {
        // SAFETY: umask cannot fail.
        unsafe { libc::umask(mask as libc::mode_t) };
    } else {
        unsafe { libc::umask(0o022) };
    }
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
    let keep = l.preserve_fds.max(l.listen_fds.unwrap_or(0));
    exec::keep_open(keep);
    exec::cloexec_from(3 + keep)?;
    if !early_seccomp {
        install_seccomp(l)?;
    }
    Err(exec::execve(&prepared.path, &prepared.args, &prepared.env))
}

fn install_seccomp(l: &Launch) -> Result<()> {
    if let Some(f) = l.seccomp {
        crate::security::seccomp::install(f)?;
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
/// blocked (the runtime ignores SIGPIPE and `run` blocks signals).
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
