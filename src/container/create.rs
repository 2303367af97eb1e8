//! `create`: validate the bundle, make the state dir and cgroup, launch
//! the init, record it. Any failure removes everything it made.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

use nix::sys::socket::{
    bind, listen, socket, AddressFamily, Backlog, SockFlag, SockType, UnixAddr,
};
use oci_spec::runtime::LinuxNamespaceType as T;

use super::{hook_state, Status};
use crate::cgroups::{self, Layout};
use crate::error::{Error, Result};
use crate::namespaces::Plan;
use crate::process::{self, Launch};
use crate::spec::Bundle;
use crate::state::{self, ContainerDir, Root, Saved};

#[derive(Default, Debug, Clone)]
pub struct CreateOptions {
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    /// --pidfd-socket: a unix socket that receives a pidfd of the init.
    pub pidfd_socket: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// `run` in the foreground: a terminal is proxied to berth's own.
    pub foreground: bool,
    /// --systemd-cgroup: the cgroup is a systemd unit.
    pub systemd_cgroup: bool,
    /// --rootless (true, or auto for a caller that is not root): without a
    /// cgroup this caller may make, the container gets none (and may ask
    /// for no limits).
    pub rootless: bool,
}

pub struct Created {
    pub pid: i32,
    pub pty: Option<OwnedFd>,
}

pub fn create(root: &Root, id: &str, o: &CreateOptions) -> Result<Created> {
    state::validate_id(id)?;
    // Everything that can be checked without side effects comes first.
    let bundle = Bundle::load(&o.bundle)?;
    let rootfs = bundle.rootfs()?;
    let spec = &bundle.spec;
    let terminal = spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    if terminal && o.console_socket.is_none() && !o.foreground {
        return Err(Error::InvalidConfig(
            "config.json: process.terminal is true: give --console-socket to receive the pty, or use `berth run` in the foreground".into(),
        ));
    }
    if !terminal && o.console_socket.is_some() {
        return Err(Error::InvalidConfig(
            "--console-socket was given but config.json: process.terminal is false".into(),
        ));
    }
    let linux = spec.linux().as_ref();
    let plan = Plan::from_spec(linux)?;
    if spec.hostname().as_deref().is_some_and(|h| !h.is_empty()) && !plan.has(T::Uts) {
        return Err(Error::InvalidConfig(
            "config.json: hostname: setting it needs a uts namespace in linux.namespaces".into(),
        ));
    }
    let seccomp = seccomp_filter(linux)?;
    let mempolicy = memory_policy(linux)?;
    let net_devices = crate::netdev::plan(linux)?;
    let rdt_plan = match linux.and_then(|l| l.intel_rdt().as_ref()) {
        Some(r) => {
            let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
                .map_err(|e| Error::sys("read /proc/self/mountinfo", e))?;
            let root = crate::resctrl::mount_point(&mountinfo);
            Some(crate::resctrl::plan(r, id, root.as_deref())?)
        }
        None => None,
    };
    // systemd socket activation: only when it is meant for this process
    // (LISTEN_PID, as runc's go-systemd checks), and only fds that are
    // open; a LISTEN_FDS leaked from a parent is ignored.
    let listen_fds = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|_| {
            std::env::var("LISTEN_PID")
                .ok()
                .and_then(|p| p.parse::<u32>().ok())
                == Some(std::process::id())
        })
        .filter(|n| crate::process::exec::first_closed_fd(*n).is_none());
    let layout = Layout::detect()?;
    let cgroups_path = linux.and_then(|l| l.cgroups_path().as_deref());
    let placement = cgroups::place_container(
        &layout,
        cgroups_path,
        id,
        &cgroups::Driver {
            systemd: o.systemd_cgroup,
            rootless: o.rootless,
        },
        linux.and_then(|l| l.resources().as_ref()),
    )?;
    // What a `cgroup` mount shows: the container's cgroups, or without
    // any of its own, the ones it runs in (the caller's).
    let cgroup_view = if placement == cgroups::Placement::default() {
        cgroups::own_placement(&layout)
    } else {
        placement.clone()
    };
    let annotations = spec.annotations().clone().unwrap_or_default();
    let mgr = cgroups::manager_for_create(&placement, &annotations)?;
    // A cgroup that is there already and frozen would freeze the init in
    // its set-up: refuse it, before anything is made (runc's words).
    if mgr.frozen() {
        return Err(Error::InvalidConfig(format!(
            "config.json: linux.cgroupsPath: container's cgroup unexpectedly frozen ({placement:?}); thaw it or choose another"
        )));
    }

    crate::logging::debug(&format!(
        "create {id}: bundle {}, rootfs {}, cgroup {:?}, new namespaces {:?}, joined {:?}",
        bundle.dir.display(),
        rootfs.display(),
        placement,
        plan.new,
        plan.join.iter().map(|(t, _)| t).collect::<Vec<_>>()
    ));
    let dir = root.create(id)?;
    let mut cgroup_made = false;
    let mut rdt: Option<crate::resctrl::Group> = None;
    let result = (|| -> Result<Created> {
        state::write_atomic(&dir.file(state::CONFIG_FILE), &bundle.raw)?;
        mgr.create()?;
        cgroup_made = true;
        if let Some(p) = &rdt_plan {
            rdt = Some(crate::resctrl::make(p)?);
        }
        let listener = start_listener(&dir)?;
        let launch = Launch {
            annotations: &annotations,
            id,
            spec,
            bundle: &bundle.dir,
            rootfs: &rootfs,
            plan: &plan,
            placement: &cgroup_view,
            no_pivot: o.no_pivot,
            no_new_keyring: o.no_new_keyring,
            preserve_fds: o.preserve_fds,
            listen_fds,
            start_listener: listener.as_raw_fd(),
            want_pty: terminal,
            proxied_pty: terminal && o.foreground && o.console_socket.is_none(),
            lock_fd: dir.fd().as_raw_fd(),
            seccomp: seccomp.as_ref(),
            mempolicy: mempolicy.as_ref(),
            net_devices: &net_devices,
            rdt: rdt.as_ref(),
        };
        let state_for_hooks = |pid| hook_state(id, pid, Status::Created, &bundle.dir, &annotations);
        let launched = process::launch(&launch, &*mgr, &state_for_hooks)?;
        drop(listener);
        let pid_start_time = super::proc_stat(launched.pid).map(|s| s.1).unwrap_or(0);
        let saved = Saved {
            id: id.to_string(),
            pid: launched.pid,
            pid_start_time,
            bundle: bundle.dir.clone(),
            rootfs: rootfs.clone(),
            created: crate::logging::now_rfc3339(),
            owner: "root".into(),
            annotations,
            cgroup: placement.clone(),
            own_pid_ns: plan.has(T::Pid),
            own_mount_ns: plan.has(T::Mount),
            created_ok: true,
            no_new_keyring: o.no_new_keyring,
            rdt: rdt.clone(),
        };
        dir.save(&saved)?;
        crate::logging::debug(&format!(
            "create {id}: init {} waits for start",
            launched.pid
        ));
        if let Some(p) = &o.pid_file {
            state::write_atomic(p, launched.pid.to_string().as_bytes())?;
        }
        if let (Some(sock), Some(master)) = (&o.console_socket, &launched.pty) {
            crate::tty::send_to_console_socket(sock, master.as_raw_fd(), "console")?;
        }
        if let Some(sock) = &o.pidfd_socket {
            crate::tty::send_pidfd(sock, launched.pid)?;
        }
        Ok(Created {
            pid: launched.pid,
            pty: launched.pty,
        })
    })();
    match result {
        Ok(c) => Ok(c),
        Err(e) => {
            undo(&dir, &*mgr, cgroup_made);
            if let Some(g) = &rdt {
                crate::resctrl::remove(g);
            }
            if !plan.has(T::Mount) {
                // Mounts made in the host's namespace, under the rootfs.
                let _ = crate::rootfs::unmount_under(&rootfs);
            }
            Err(e)
        }
    }
}

/// `linux.seccomp`, compiled; with a NOTIFY rule its listenerPath must be
/// a unix socket that is there already.
pub(crate) fn seccomp_filter(
    linux: Option<&oci_spec::runtime::Linux>,
) -> Result<Option<crate::security::seccomp::Filter>> {
    let Some(s) = linux.and_then(|l| l.seccomp().as_ref()) else {
        return Ok(None);
    };
    let f = crate::security::seccomp::compile(s)?;
    if f.needs_listener() {
        crate::security::seccomp::notify::check(s)?;
    }
    Ok(Some(f))
}

/// `linux.memoryPolicy`, checked against the mode and this host's nodes.
pub(crate) fn memory_policy(
    linux: Option<&oci_spec::runtime::Linux>,
) -> Result<Option<crate::process::mempolicy::Policy>> {
    use crate::process::mempolicy;
    linux
        .and_then(|l| l.memory_policy().as_ref())
        .map(|p| mempolicy::compile(p, mempolicy::host_nodes().as_deref()))
        .transpose()
}

/// Remove what a failed create made: the init (if recorded), the cgroup,
/// the state dir.
fn undo(dir: &ContainerDir, mgr: &dyn cgroups::Manager, cgroup_made: bool) {
    if let Ok(Some(saved)) = dir.try_load() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(saved.pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        super::wait_gone(&saved, std::time::Duration::from_secs(2));
    }
    if cgroup_made {
        if let Err(e) = mgr.destroy() {
            crate::logging::warn(&format!("cleanup after failed create: {e}"));
        }
    }
    let _ = dir.remove();
}

/// The socket the init waits on for `start`. Bound through the state dir's
/// fd so a long --root cannot overflow sun_path.
fn start_listener(dir: &ContainerDir) -> Result<OwnedFd> {
    let sock = socket(
        AddressFamily::Unix,
        SockType::SeqPacket,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| Error::sys("socket", e))?;
    let path = format!(
        "/proc/self/fd/{}/{}",
        dir.fd().as_raw_fd(),
        state::START_SOCKET
    );
    let addr = UnixAddr::new(path.as_str()).map_err(|e| Error::sys("start socket address", e))?;
    bind(sock.as_raw_fd(), &addr).map_err(|e| Error::sys("bind start socket", e))?;
    listen(&sock, Backlog::new(1).unwrap_or(Backlog::MAXCONN))
        .map_err(|e| Error::sys("listen on start socket", e))?;
    Ok(sock)
}
