//! cgroup v2: one directory in the unified hierarchy.

use std::path::PathBuf;

use oci_spec::runtime::LinuxResources;

use super::{mkdir_all, read_pids, remove_dir, write, Manager};
use crate::error::{Error, Result};

pub struct V2 {
    pub dir: Option<PathBuf>,
}

impl V2 {
    fn dir(&self) -> Result<&PathBuf> {
        self.dir
            .as_ref()
            .ok_or_else(|| Error::Other("no cgroup hierarchy found on this host".into()))
    }
}

impl Manager for V2 {
    fn create(&self) -> Result<()> {
        mkdir_all(self.dir()?)?;
        Ok(())
    }

    fn add(&self, pid: i32) -> Result<()> {
        write(&self.dir()?.join("cgroup.procs"), &pid.to_string())
    }

    fn apply(&self, r: &LinuxResources) -> Result<()> {
        if let Some(c) = r.cpu() {
            let dir = self.dir()?;
            for (file, value) in super::cpu::v2_files(c)? {
                let ctrl = file.split('.').next().unwrap_or("cpu");
                enable_controller(dir, ctrl)?;
                write(&dir.join(file), &value).map_err(|e| {
                    Error::InvalidConfig(format!("config.json: linux.resources.cpu: {e}"))
                })?;
            }
        }
        if let Some(rules) = r.devices() {
            super::device_filter::apply(self.dir()?, rules)?;
        }
        Ok(())
    }

    fn pids(&self) -> Result<Vec<i32>> {
        read_pids(&self.dir()?.join("cgroup.procs"))
    }

    fn frozen(&self) -> bool {
        self.dir
            .as_ref()
            .and_then(|d| std::fs::read_to_string(d.join("cgroup.freeze")).ok())
            .is_some_and(|s| s.trim() == "1")
    }

    fn destroy(&self) -> Result<()> {
        let dir = self.dir()?;
        if !dir.exists() {
            return Ok(());
        }
        // cgroup.kill (5.14+) kills every process in the subtree at once;
        // older kernels get SIGKILL per listed pid.
        if write(&dir.join("cgroup.kill"), "1").is_err() {
            for pid in self.pids()? {
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
/// every ancestor below the hierarchy's root. A controller the root does
/// not offer is an error naming it.
fn enable_controller(dir: &std::path::Path, ctrl: &str) -> Result<()> {
    if dir.join(format!("{ctrl}.max")).exists()
        || dir.join(format!("{ctrl}.weight")).exists()
        || dir.join(format!("{ctrl}.cpus")).exists()
    {
        return Ok(());
    }
    let mut chain: Vec<&std::path::Path> = dir.ancestors().skip(1).collect();
    chain.reverse();
    for anc in chain {
        let available = std::fs::read_to_string(anc.join("cgroup.controllers")).unwrap_or_default();
        if !anc.join("cgroup.subtree_control").exists() {
            continue;
        }
        if !available.split_whitespace().any(|c| c == ctrl) {
            return Err(Error::InvalidConfig(format!(
                "config.json: linux.resources: the {ctrl} controller is not available in {} (not delegated?)",
                anc.display()
            )));
        }
        let _ = write(&anc.join("cgroup.subtree_control"), &format!("+{ctrl}"));
    }
    Ok(())
}
