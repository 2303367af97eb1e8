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
//! 4. drop privileges, as runc does before `create` returns: bounding set
//!    while still root, setuid with KEEPCAPS, capset, ambient,
//!    no_new_privs; close every fd but stdio, the preserved ones and the
//!    two sockets; seccomp (its listener goes to the agent now);
//! 5. wait for `start`, run the startContainer hooks, exec.
//!
//! Step 4 (and the look-up of the program) lives in finish.rs, which
//! `exec`'s processes share.

use std::convert::Infallible;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use oci_spec::runtime::{LinuxNamespaceType as T, Process};

use super::channel::{Channel, Msg};
use super::finish::{self, Prepared};
use super::{pty, setup, Launch, STEP_TIMEOUT};
use crate::cgroups::Manager;
use crate::error::{Error, Result};
use crate::namespaces;
use crate::rootfs::{self, devices, mounts, paths, pivot};

pub fn run(l: &Launch, chan: Channel, cgroup: &dyn Manager, placed: bool) -> ! {
    let err = match steps(l, &chan, cgroup, placed) {
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

fn steps(l: &Launch, chan: &Channel, cgroup: &dyn Manager, placed: bool) -> Result<Infallible> {
    // SAFETY: closing our copy of the runtime's lock fd.
    unsafe { libc::close(l.lock_fd) };
    prctl(libc::PR_SET_DUMPABLE, 0);
    // (Asked now: in a new user namespace every id is unmapped until the
    // maps are written, and root afterwards.)
    let rootless = !nix::unistd::geteuid().is_root();
    // Until create has finished, the init dies with the runtime.
    prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
    // Go comes once the runtime has put the init in its cgroup from
    // outside, where that is its way (the systemd driver's unit).
    chan.expect(Msg::Go, super::GO_TIMEOUT)?;
    // Into the cgroup first, by itself (cheap on v1, see join_self), while
    // still single-threaded and in the runtime's user and cgroup
    // namespaces: before any join, unshare or fork.
    cgroup.join_self(placed)?;
    // SAFETY: umask has no failure mode.
    unsafe { libc::umask(0) };

    // While still the host's root: id-mapped mounts, and bind sources a
    // user namespace's root may not reach (see rootfs/sources.rs).
    let linux = l.spec.linux().as_ref();
    let early_sources = rootfs::sources::open_early(&rootfs::sources::Early {
        mounts: l.spec.mounts().as_deref().unwrap_or(&[]),
        bundle: l.bundle,
        rootfs: l.rootfs,
        user_involved: l.plan.user_involved(),
        uid_maps: linux
            .and_then(|x| x.uid_mappings().as_deref())
            .unwrap_or(&[]),
        gid_maps: linux
            .and_then(|x| x.gid_mappings().as_deref())
            .unwrap_or(&[]),
        joined_userns: l.plan.joined(T::User),
    })?;
    l.plan.join_all()?;
    if l.plan.is_new(T::User) {
        namespaces::unshare(libc::CLONE_NEWUSER)?;
        // A rootless runtime (same uid, no CAP_SYS_PTRACE) can open this
        // process's uid_map and setgroups only while it is dumpable; no
        // process of the container exists yet to take advantage.
        if rootless {
            prctl(libc::PR_SET_DUMPABLE, 1);
        }
        chan.send(&Msg::NeedIdMaps)?;
        let mapped = chan.expect(Msg::IdMapsDone, STEP_TIMEOUT);
        if rootless {
            prctl(libc::PR_SET_DUMPABLE, 0);
        }
        mapped?;
    }
    if l.plan.user_involved() {
        setup::become_root_in_userns()?;
    }
    namespaces::unshare(l.plan.unshare_flags())?;
    if l.plan.needs_fork() {
        fork_into_new_pid_or_time_ns(l, chan)?;
    }

    set_names(l)?;
    let own_mnt = l.plan.has(T::Mount);
    let late_read_only = prepare_rootfs(l, own_mnt, &early_sources)?;
    drop(early_sources);
    chan.send(&Msg::RunHooks)?;
    let state = match chan.recv(STEP_TIMEOUT)? {
        Some((Msg::HooksDone { state }, _)) => state,
        Some((Msg::Error { msg }, _)) => return Err(Error::Other(msg)),
        other => return Err(Error::Other(format!("expected HooksDone, got {other:?}"))),
    };
    let hooks = l.spec.hooks().as_ref();
    // As runc: createContainer hooks run from the rootfs (in the
    // container's mount namespace, before pivot_root), so that a relative
    // path in them names something in the container's root.
    nix::unistd::chdir(l.rootfs).map_err(|e| Error::sys("chdir to the rootfs", e))?;
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
        attach_pty(chan, process, l)?;
    } else {
        crate::tty::new_session()?;
        reopen_dev_null()?;
    }
    // /dev is complete (the console too): now it may be read-only.
    mounts::finish_read_only(&late_read_only)?;
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
    if let Some(p) = l.mempolicy {
        super::mempolicy::apply(p)?;
    }
    if !l.no_new_keyring {
        setup::new_session_keyring(l.id)?;
    }
    let prepared = match process {
        Some(p) => Some(become_process(l, chan, p)?),
        None => {
            close_host_fds(l, chan)?;
            None
        }
    };
    prctl(libc::PR_SET_PDEATHSIG, 0);
    if rootless && prepared.is_some() {
        // A runtime that is not root may open this waiting init's
        // namespaces and root (for `exec` before `start`) only while it
        // is dumpable, as runc's init is. It has the container's own
        // user, capabilities and seccomp filter by now: a process of the
        // container can do nothing through it that it could not already.
        prctl(libc::PR_SET_DUMPABLE, 1);
    }
    chan.send(&Msg::Ready)?;
    wait_for_start_then_exec(l, &state, prepared)
}

/// Everything but the exec, as runc does it in `create`: the user,
/// groups, capabilities and seccomp are in place before the init reports
/// ready, so a capability outside the host's bounding set, a user that
/// cannot be set or a filter the kernel refuses fails `create` and leaves
/// nothing (an engine that sees `create` succeed and `start` fail races
/// the init's exit). A seccomp listener therefore reaches the agent during
/// `create` too. What is left for `start`: the startContainer hooks and
/// execve.
///
/// A filter that can go in last and has no listener waits until after
/// `start` (just before execve), so that a strict allow-list need not
/// allow the init's wait; one with a listener goes in now, so that the
/// agent has it when `create` returns (as with runc).
fn become_process(l: &Launch, chan: &Channel, p: &Process) -> Result<(Prepared, bool)> {
    let prepared = prepare_process(l, p)?;
    let handoff = finish::listener_handoff(chan)?;
    let fds = || close_host_fds(l, chan);
    let became = finish::become_process(p, l.seccomp, &handoff, &fds, true)?;
    for msg in became.warnings {
        chan.send(&Msg::Warn { msg })?;
    }
    die_on_signals_while_waiting();
    Ok((prepared, became.filter_pending))
}

/// The init is its pid namespace's PID 1, which the kernel keeps from
/// signals it has no handler for, even ones sent from the host: a created
/// container would shrug off `kill ID` (SIGTERM) or a pidfd's SIGTERM.
/// runc's waiting init (a Go program, with handlers) dies of them; so does
/// berth's: until its execve resets them, these signals end it with
/// 128+N. execve puts every caught signal back to its default.
fn die_on_signals_while_waiting() {
    extern "C" fn die(sig: libc::c_int) {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(128 + sig) }
    }
    for sig in [
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGTERM,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGALRM,
    ] {
        // SAFETY: installing a handler that only calls _exit; failure
        // (a filter that refuses rt_sigaction) leaves the default.
        unsafe { libc::signal(sig, die as extern "C" fn(libc::c_int) as libc::sighandler_t) };
    }
}

/// While it waits for `start`, the init holds only its stdio, the
/// preserved fds (3.., or LISTEN_FDS of them), its channel to the runtime
/// and the start socket: every fd it inherited from the caller or opened
/// on the host (the log, the cgroup directory, procfs handles) is closed,
/// not just marked close-on-exec.
fn close_host_fds(l: &Launch, chan: &Channel) -> Result<()> {
    let keep = l.preserve_fds.max(l.listen_fds.unwrap_or(0));
    // The preserved range must not take in berth's own sockets.
    if [chan.raw(), l.start_listener]
        .iter()
        .any(|&fd| fd >= 3 && fd < 3 + keep as i32)
    {
        return Err(Error::InvalidConfig(format!(
            "{keep} preserved fds would include berth's own sockets: pass only fds that are open"
        )));
    }
    crate::logging::close_file();
    super::exec::keep_open(keep);
    super::exec::close_all_but(3 + keep, &[chan.raw(), l.start_listener])
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
fn prepare_rootfs(
    l: &Launch,
    own_mnt: bool,
    early_sources: &std::collections::HashMap<usize, std::os::fd::OwnedFd>,
) -> Result<Vec<mounts::LateReadOnly>> {
    let keep_slave = l
        .spec
        .linux()
        .as_ref()
        .and_then(|x| x.rootfs_propagation().as_deref())
        .is_some_and(|p| p == "slave" || p == "rslave");
    pivot::prepare(l.rootfs, own_mnt, keep_slave)?;
    let root = pathrs::Root::open(l.rootfs).map_err(|e| rootfs::pathrs_err("open rootfs", e))?;
    let no_mounts = Vec::new();
    let mounts_list = l.spec.mounts().as_ref().unwrap_or(&no_mounts);
    // A user namespace of the container's, or the one berth runs in
    // (rootless Podman's): mounts from outside it keep their locked
    // flags, and device nodes cannot be made, only bound from the host.
    let in_userns = l.plan.user_involved() || crate::userns::running_in();
    let ctx = mounts::MountContext {
        bundle: l.bundle,
        cgroup: l.placement,
        cgroup_ns: l.plan.has(T::Cgroup),
        mount_label: l
            .spec
            .linux()
            .as_ref()
            .and_then(|x| x.mount_label().as_deref())
            .filter(|s| !s.is_empty()),
        rootfs: l.rootfs,
        user_ns: in_userns,
        early_sources,
    };
    let late_read_only = mounts::apply_all(&root, mounts_list, &ctx)?;
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
        devices::create_all(&root, &devices::list(&configured)?, in_userns)?;
        devices::symlinks(&root)?;
    }
    if let Some(p) = l.spec.process() {
        rootfs::inroot::dir(&root, &rootfs::inner(p.cwd())).map_err(|e| {
            Error::Other(format!(
                "config.json: process.cwd: {}: {e}",
                p.cwd().display()
            ))
        })?;
    }
    Ok(late_read_only)
}

/// A pty in the container's devpts: the slave becomes /dev/console and our
/// controlling terminal and stdio; the master goes to the runtime.
fn attach_pty(chan: &Channel, process: Option<&Process>, l: &Launch) -> Result<()> {
    let pty = pty::open(process, l.proxied_pty)?;
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
    pty::hand_over(chan, pty)
}

/// Stdio that is the host's /dev/null becomes the container's own (the
/// same device, opened inside): CRIU can dump only files it finds in the
/// container's mounts, and runc does the same.
fn reopen_dev_null() -> Result<()> {
    use std::os::fd::AsRawFd;
    let Ok(null) = nix::sys::stat::stat("/dev/null") else {
        return Ok(());
    };
    if null.st_mode & libc::S_IFMT != libc::S_IFCHR {
        return Ok(());
    }
    for fd in 0..3 {
        // SAFETY: fstat of fds 0-2, which may or may not be open.
        let st = match nix::sys::stat::fstat(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }) {
            Ok(st) => st,
            Err(_) => continue,
        };
        if st.st_mode & libc::S_IFMT != libc::S_IFCHR || st.st_rdev != null.st_rdev {
            continue;
        }
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
            .map_err(|e| Error::sys("open the container's /dev/null", e))?;
        // SAFETY: dup2 onto a stdio fd of ours.
        if unsafe { libc::dup2(f.as_raw_fd(), fd) } < 0 {
            return Err(Error::sys(
                format!("reopen fd {fd} as /dev/null"),
                std::io::Error::last_os_error(),
            ));
        }
    }
    Ok(())
}

/// Worked out before `create` returns so that a missing program fails
/// `create`, as with runc.
fn prepare_process(l: &Launch, p: &Process) -> Result<Prepared> {
    let mut extra = Vec::new();
    if let Some(n) = l.listen_fds {
        extra.push(("LISTEN_FDS".to_string(), n.to_string()));
        extra.push(("LISTEN_PID".to_string(), "1".to_string()));
    }
    finish::prepare(p, &extra, "config.json: process.cwd")
}

/// Block until `start` connects to the start socket, then finish and exec.
/// From here, errors go to `start` over that connection.
fn wait_for_start_then_exec(
    l: &Launch,
    state: &str,
    prepared: Option<(Prepared, bool)>,
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

fn finish_and_exec(
    l: &Launch,
    state: &str,
    prepared: Option<(Prepared, bool)>,
) -> Result<Infallible> {
    let Some((prepared, filter_pending)) = prepared else {
        return Err(Error::InvalidConfig(
            "config.json: process: not set, so there is nothing to start".into(),
        ));
    };
    // As with runc, a startContainer hook without an env of its own gets
    // the process's (HOME included).
    crate::hooks::run_all_with_env(
        "startContainer",
        l.spec
            .hooks()
            .as_ref()
            .and_then(|h| h.start_container().as_ref()),
        state,
        Some(&prepared.env),
    )?;
    if filter_pending {
        // No listener (so no hand-off): seccomp(2), then execve.
        let no_listener = |_| -> Result<()> { Ok(()) };
        finish::install_seccomp(l.seccomp, &no_listener)?;
    }
    // Every fd left is close-on-exec (the start connection, the channel,
    // the listener) but the preserved ones.
    Err(super::exec::execve(
        &prepared.path,
        &prepared.args,
        &prepared.env,
    ))
}
