//! cgroup v1 (and hybrid): one directory per mounted hierarchy, plus the
//! cgroup2 directory on hybrid hosts.

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use super::setting::controller_of;
use super::{
    mkdir_all, read_pids, remove_dir, resources, write, write_settings, Manager, PathProbe,
};
use crate::error::Result;

pub struct V1 {
    pub dirs: Vec<(String, PathBuf)>,
    pub unified: Option<PathBuf>,
    /// Apply linux.resources.devices (see Placement::rootless).
    pub device_rules: bool,
}

impl V1 {
    fn dir_of(&self, controller: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|(c, _)| c.split(',').any(|x| x == controller))
            .map(|(_, d)| d.as_path())
    }

    /// Where a controller's file is: its v1 hierarchy, or with
    /// `hugetlb_on_v2` the cgroup2 directory for hugetlb's.
    fn locate(&self, file: &str, hugetlb_on_v2: bool) -> Option<PathBuf> {
        let ctrl = controller_of(file)?;
        match self.dir_of(ctrl) {
            Some(d) => Some(d.join(file)),
            None if ctrl == "hugetlb" && hugetlb_on_v2 => {
                self.unified.as_ref().map(|u| u.join(file))
            }
            None => None,
        }
    }

    fn hugetlb_in_unified(&self) -> bool {
        self.dir_of("hugetlb").is_none() && self.unified.is_some()
    }

    fn all_dirs(&self) -> impl Iterator<Item = &Path> {
        self.dirs
            .iter()
            .map(|(_, d)| d.as_path())
            .chain(self.unified.as_deref())
    }
}

/// A new v1 cpuset cgroup starts with empty cpus/mems, and no task can
/// join it (ENOSPC) until both are filled. Whoever finds them empty fills
/// them, top-down from the nearest level that has them, at every level:
/// not only whoever made the directory, since two creates under a new
/// parent race (the second may find the parent made but not yet filled).
/// Writing the same value twice is harmless.
fn fill_cpuset(dir: &Path) -> Result<()> {
    let read = |d: &Path, f: &str| {
        std::fs::read_to_string(d.join(f))
            .ok()
            .map(|s| s.trim().to_string())
    };
    let mut empty = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        match (read(d, "cpuset.cpus"), read(d, "cpuset.mems")) {
            // Above the hierarchy's root: nothing to copy from.
            (None, _) | (_, None) => break,
            (Some(c), Some(m)) if !c.is_empty() && !m.is_empty() => break,
            _ => empty.push(d),
        }
        cur = d.parent();
    }
    for d in empty.into_iter().rev() {
        let Some(parent) = d.parent() else { continue };
        for file in ["cpuset.cpus", "cpuset.mems"] {
            if read(d, file).is_some_and(|v| v.is_empty()) {
                if let Some(v) = read(parent, file).filter(|v| !v.is_empty()) {
                    write(&d.join(file), &v)?;
                }
            }
        }
    }
    Ok(())
}

impl Manager for V1 {
    fn create(&self) -> Result<()> {
        for (ctrl, dir) in &self.dirs {
            mkdir_all(dir)?;
            if ctrl.split(',').any(|c| c == "cpuset") {
                fill_cpuset(dir)?;
            }
        }
        if let Some(u) = &self.unified {
            mkdir_all(u)?;
        }
        Ok(())
    }

    fn clone_target(&self) -> Option<std::fs::File> {
        super::v2::open_dir(self.unified.as_deref()?)
    }

    fn join_self(&self, placed: bool) -> Result<()> {
        // A thread writing "0" to `tasks` moves only itself, and the kernel
        // then skips the global threadgroup lock that a pid written to
        // cgroup.procs takes, whose write side waits for an RCU grace
        // period: ~10 ms of every create and exec on v1, against ~0.1 ms.
        // The caller is single-threaded, so the thread is the process.
        // The freezer goes last: a frozen cgroup stops its new task at once
        // (exec --ignore-paused), and the rest must be joined by then.
        let (freezer, others): (Vec<_>, Vec<_>) = self
            .dirs
            .iter()
            .partition(|(c, _)| c.split(',').any(|x| x == "freezer"));
        for (_, dir) in &others {
            write(&dir.join("tasks"), "0")?;
        }
        if let (Some(u), false) = (&self.unified, placed) {
            write(&u.join("cgroup.procs"), "0")?;
        }
        for (_, dir) in &freezer {
            write(&dir.join("tasks"), "0")?;
        }
        Ok(())
    }

    fn apply(&self, r: &LinuxResources) -> Result<()> {
        // A hybrid host may keep a controller (hugetlb, typically) only in
        // its cgroup2 hierarchy: use it there, with v2's files.
        let hugetlb_on_v2 = r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty())
            && self.dir_of("hugetlb").is_none()
            && self.unified.as_deref().is_some_and(|u| {
                super::v2::enable_controller(u, "hugetlb", "hugepageLimits").is_ok()
            });
        // An ancestor made by someone else (a pod's parent) may still have
        // empty cpus/mems: a child's cpuset cannot be set under it.
        if let Some(d) = self.dir_of("cpuset") {
            fill_cpuset(d)?;
        }
        let locate = |file: &str| self.locate(file, hugetlb_on_v2);
        let settings = resources::v1(r, &PathProbe(&locate), hugetlb_on_v2)?;
        write_settings(&settings, &locate)?;
        if let Some(rules) = r.devices().as_ref().filter(|_| self.device_rules) {
            let Some(dir) = self.dir_of("devices") else {
                return Err(crate::error::Error::InvalidConfig(
                    "config.json: linux.resources.devices: no devices cgroup hierarchy on this host"
                        .into(),
                ));
            };
            let rules = super::device_rules::with_defaults(rules)?;
            write(&dir.join("devices.deny"), "a")?;
            for rule in &rules {
                write(&dir.join(rule.v1_file()), &rule.v1_line())?;
            }
        }
        Ok(())
    }

    fn pids(&self) -> Result<Vec<i32>> {
        // Any hierarchy lists the same tasks; prefer one every host has.
        let dir = self
            .dir_of("pids")
            .or(self.dir_of("memory"))
            .or(self.dirs.first().map(|(_, d)| d.as_path()));
        match dir {
            Some(d) => read_pids(&d.join("cgroup.procs")),
            None => Ok(Vec::new()),
        }
    }

    fn frozen(&self) -> bool {
        super::freezer::Freezer::find(&self.dirs, self.unified.as_deref())
            .is_some_and(|f| f.is_frozen())
    }

    fn stats(&self) -> super::stats::Stats {
        let h = self.hugetlb_in_unified();
        super::stats::v1(&|f: &str| self.locate(f, h), h)
    }

    fn oom_kills(&self) -> u64 {
        super::stats::oom_kills(&|f: &str| self.locate(f, false), false)
    }

    fn destroy(&self) -> Result<()> {
        if let Some(u) = &self.unified {
            let _ = write(&u.join("cgroup.kill"), "1");
        }
        // The container may have made sub-cgroups of its own: every
        // process below goes too.
        let mut pids = self.pids()?;
        for (_, dir) in &self.dirs {
            pids.extend(super::subtree_pids(dir));
        }
        pids.sort_unstable();
        pids.dedup();
        for pid in pids {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let mut first_err = None;
        for dir in self.all_dirs() {
            if let Err(e) = remove_dir(dir) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpuset_filled_at_every_empty_level_top_down() {
        // Plain files standing in for a cpuset hierarchy: the root has
        // values, a parent someone else made is still empty, and so is
        // the container's own directory.
        let base = std::env::temp_dir().join(format!("berth-cpuset-{}", std::process::id()));
        let (root, parent, own) = (base.join("r"), base.join("r/pod"), base.join("r/pod/c"));
        std::fs::create_dir_all(&own).unwrap();
        for (d, cpus, mems) in [
            (&root, "0-3\n", "0\n"),
            (&parent, "\n", "\n"),
            (&own, "", ""),
        ] {
            std::fs::write(d.join("cpuset.cpus"), cpus).unwrap();
            std::fs::write(d.join("cpuset.mems"), mems).unwrap();
        }
        fill_cpuset(&own).unwrap();
        for d in [&parent, &own] {
            assert_eq!(
                std::fs::read_to_string(d.join("cpuset.cpus")).unwrap(),
                "0-3"
            );
            assert_eq!(std::fs::read_to_string(d.join("cpuset.mems")).unwrap(), "0");
        }
        // A level with values of its own keeps them.
        std::fs::write(parent.join("cpuset.cpus"), "1").unwrap();
        std::fs::write(own.join("cpuset.cpus"), "").unwrap();
        fill_cpuset(&own).unwrap();
        assert_eq!(
            std::fs::read_to_string(own.join("cpuset.cpus")).unwrap(),
            "1"
        );
        std::fs::remove_dir_all(&base).unwrap();
    }
}
