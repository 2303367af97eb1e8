//! cgroup v2: one directory in the unified hierarchy.

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use super::{
    mkdir_all, read_pids, remove_dir, resources, write, write_settings, Manager, PathProbe,
};
use crate::error::{Error, Result};

pub struct V2 {
    pub dir: Option<PathBuf>,
    /// Apply linux.resources.devices (not in a rootless user's cgroup:
    /// see Placement::rootless).
    pub device_rules: bool,
}

impl V2 {
    fn dir(&self) -> Result<&PathBuf> {
        self.dir
            .as_ref()
            .ok_or_else(|| Error::Other("no cgroup hierarchy found on this host".into()))
    }
}

/// A cgroup2 directory, for clone3's CLONE_INTO_CGROUP.
pub(super) fn open_dir(dir: &Path) -> Option<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
        .ok()
}

impl Manager for V2 {
    fn create(&self) -> Result<()> {
        mkdir_all(self.dir()?)?;
        Ok(())
    }

    fn clone_target(&self) -> Option<std::fs::File> {
        open_dir(self.dir.as_ref()?)
    }

    fn join_self(&self, placed: bool) -> Result<()> {
        if placed {
            return Ok(());
        }
        write(&self.dir()?.join("cgroup.procs"), "0")
    }

    fn apply(&self, r: &LinuxResources) -> Result<()> {
        let dir = self.dir()?;
        // Controllers first: a controller's files appear in the
        // container's cgroup only once its parents delegate it.
        for (field, ctrl) in resources::v2_controllers(r) {
            enable_controller(dir, &ctrl, field)?;
        }
        let locate = |file: &str| Some(dir.join(file));
        let settings = resources::v2(r, &PathProbe(&locate))?;
        write_settings(&settings, &locate)?;
        if let Some(rules) = r.devices().as_ref().filter(|_| self.device_rules) {
            super::device_filter::apply(dir, rules)?;
        }
        Ok(())
    }

    fn pids(&self) -> Result<Vec<i32>> {
        read_pids(&self.dir()?.join("cgroup.procs"))
    }

    fn frozen(&self) -> bool {
        super::freezer::Freezer::find(&[], self.dir.as_deref()).is_some_and(|f| f.is_frozen())
    }

    fn stats(&self) -> super::stats::Stats {
        super::stats::v2(&|f: &str| self.dir.as_ref().map(|d| d.join(f)))
    }

    fn oom_kills(&self) -> u64 {
        super::stats::oom_kills(&|f: &str| self.dir.as_ref().map(|d| d.join(f)), true)
    }

    fn oom_events_file(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join("memory.events"))
    }

    fn destroy(&self) -> Result<()> {
        let dir = self.dir()?;
        if !dir.exists() {
            return Ok(());
        }
        // cgroup.kill (5.14+) kills every process in the subtree at once;
        // older kernels get SIGKILL per listed pid.
        if write(&dir.join("cgroup.kill"), "1").is_err() {
            for pid in super::subtree_pids(dir) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        remove_dir(dir)
    }
}

/// Make `ctrl` available in `dir`: enable it in the subtree_control of
/// every ancestor below the hierarchy's root that lacks it. A controller
/// an ancestor cannot offer is an error naming `field` and the
/// controller.
pub fn enable_controller(dir: &Path, ctrl: &str, field: &str) -> Result<()> {
    let mut chain: Vec<&Path> = dir.ancestors().skip(1).collect();
    chain.reverse();
    for anc in chain {
        let subtree = anc.join("cgroup.subtree_control");
        let Ok(enabled) = std::fs::read_to_string(&subtree) else {
            continue; // above the hierarchy's root
        };
        if enabled.split_whitespace().any(|c| c == ctrl) {
            continue;
        }
        let available = std::fs::read_to_string(anc.join("cgroup.controllers")).unwrap_or_default();
        if !available.split_whitespace().any(|c| c == ctrl) {
            return Err(Error::InvalidConfig(format!(
                "linux.resources.{field}: the {ctrl} controller is not available in {} (not on this host, or not delegated)",
                anc.display()
            )));
        }
        write(&subtree, &format!("+{ctrl}")).map_err(|e| {
            Error::InvalidConfig(format!(
                "linux.resources.{field}: cannot enable the {ctrl} controller: {e}"
            ))
        })?;
    }
    Ok(())
}
