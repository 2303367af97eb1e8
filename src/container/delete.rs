//! `delete`: remove a stopped (or created, as runc does, since containerd
//! relies on it) container; with --force also a running one. Kills what is
//! left, removes the cgroup, runs poststop hooks, removes the state dir.

use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::{hook_state, status_of, Status};
use crate::cgroups;
use crate::error::{Error, Result};
use crate::state::Root;

pub fn delete(root: &Root, id: &str, force: bool) -> Result<()> {
    let dir = root.open(id)?;
    let saved = match dir.try_load() {
        Ok(Some(saved)) => saved,
        // A create that died half way: nothing recorded but the dir (and
        // perhaps a config); only --force may clear it.
        Ok(None) if !force => {
            return Err(Error::WrongState {
                id: id.into(),
                status: "creating".into(),
                msg: "its create has not finished; use delete --force to remove what is left"
                    .into(),
            })
        }
        Err(e) if !force => return Err(e),
        Ok(None) | Err(_) => return remove_unrecorded(&dir, id),
    };
    let status = status_of(&dir, &saved);
    if matches!(status, Status::Running | Status::Paused) && !force {
        return Err(Error::WrongState {
            id: id.into(),
            status: status.to_string(),
            msg: "cannot delete a running container: stop it first, or use delete --force".into(),
        });
    }
    crate::logging::debug(&format!("delete {id}: status {status}, init {}", saved.pid));
    let cg = cgroups::manager(&saved.cgroup);
    move_net_devices_back(&dir, &saved, status);
    if status != Status::Stopped {
        let _ = kill(Pid::from_raw(saved.pid), Signal::SIGKILL);
    }
    // Without its own pid namespace, killing the init leaves the rest.
    if !saved.own_pid_ns {
        for pid in cg.pids().unwrap_or_default() {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
    // A paused container's tasks (on v1) die only once thawed, and a
    // frozen cgroup would keep them from leaving it.
    cgroups::freezer::thaw_if_frozen(&saved.cgroup);
    if !super::wait_gone(&saved, Duration::from_secs(10)) {
        return Err(Error::Other(format!(
            "container {id:?}: init {} did not die after SIGKILL",
            saved.pid
        )));
    }
    cg.destroy()?;
    if let Some(g) = &saved.rdt {
        crate::resctrl::remove(g);
    }
    if !saved.own_mount_ns {
        crate::rootfs::unmount_under(&saved.rootfs)?;
    }
    if let Ok(spec) = dir.config() {
        let state = hook_state(
            id,
            saved.pid,
            Status::Stopped,
            &saved.bundle,
            &saved.annotations,
        );
        crate::hooks::run_all_logged(
            "poststop",
            spec.hooks().as_ref().and_then(|h| h.poststop().as_ref()),
            &state,
            &saved.bundle,
        );
    }
    dir.remove()
}

/// `delete --force` of a container whose state was never written (its
/// create was killed) or cannot be read: the cgroup follows from the config
/// snapshotted before it was made, so kill what is in it and remove it,
/// then the dir. (The init is in the cgroup by then, or dies with its
/// create through PDEATHSIG.)
fn remove_unrecorded(dir: &crate::state::ContainerDir, id: &str) -> Result<()> {
    crate::logging::debug(&format!(
        "delete {id}: no readable state; clearing what its config says"
    ));
    if let Ok(spec) = dir.config() {
        let path = spec
            .linux()
            .as_ref()
            .and_then(|l| l.cgroups_path().as_deref());
        let layout = cgroups::Layout::detect()?;
        // A systemd unit's path (slice:prefix:name): its unit, if any.
        let placement = match path.map(|p| p.to_string_lossy()) {
            Some(p) if p.contains(':') => {
                // A rootless caller's unit is its user's systemd's.
                let user =
                    crate::userns::unprivileged() && cgroups::systemd::user_bus_path().is_some();
                cgroups::systemd::place(&layout, Some(&p), id, user)?
            }
            _ => cgroups::place(&layout, path, id)?,
        };
        cgroups::freezer::thaw_if_frozen(&placement);
        cgroups::manager(&placement).destroy()?;
    }
    dir.remove()
}

/// linux.netDevices go back to the host under their own names, from the
/// container's network namespace while it is still there: the running
/// init's, or one the container joined by path. (A namespace that died with
/// the init has already given physical devices back to the host, and taken
/// virtual ones with it.) Failures are logged: delete goes on.
fn move_net_devices_back(
    dir: &crate::state::ContainerDir,
    saved: &crate::state::Saved,
    status: Status,
) {
    let Ok(spec) = dir.config() else { return };
    let linux = spec.linux().as_ref();
    let Ok(devs) = crate::netdev::plan_saved(linux) else {
        return;
    };
    if devs.is_empty() {
        return;
    }
    let path = if status != Status::Stopped {
        Some(std::path::PathBuf::from(format!(
            "/proc/{}/ns/net",
            saved.pid
        )))
    } else {
        linux
            .and_then(|l| l.namespaces().as_ref())
            .and_then(|ns| {
                ns.iter()
                    .find(|n| n.typ() == oci_spec::runtime::LinuxNamespaceType::Network)
            })
            .and_then(|n| n.path().clone())
    };
    let Some(ns) = path.and_then(|p| std::fs::File::open(p).ok()) else {
        return;
    };
    for why in crate::netdev::move_back(&devs, &ns.into()) {
        crate::logging::warn(&format!("delete {}: linux.netDevices: {why}", saved.id));
    }
}
