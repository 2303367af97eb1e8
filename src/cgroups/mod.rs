//! Cgroups: where a container's cgroup lives and how it is made, joined,
//! listed and removed. One `Manager` trait, a v2 implementation (the
//! primary path) and a v1 one that also covers hybrid hosts (v1
//! controllers plus a cgroup2 hierarchy).
//!
//! Each resource module (cpu, memory, pids, blkio, hugetlb, network,
//! rdma, unified) turns its part of `linux.resources` into `Setting`s;
//! the managers find each file's directory and write.

mod blkio;
mod bpf;
#[cfg(test)]
mod bpf_interp;
mod cpu;
mod detached;
mod device_filter;
#[cfg(test)]
mod device_filter_kernel_tests;
#[cfg(test)]
mod device_filter_tests;
mod device_rules;
pub mod freezer;
mod hugetlb;
mod layout;
mod memory;
mod network;
mod pids;
pub mod procs;
mod rdma;
mod resources;
mod setting;
pub mod stats;
pub mod sub;
pub mod systemd;
mod unified;
mod v1;
mod v2;

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub use device_filter::probe as probe_device_programs;
pub use layout::{unescape, Layout};

/// Where a container's cgroup lives: one directory per hierarchy.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Placement {
    /// The directory in the cgroup2 hierarchy (pure v2 or hybrid).
    pub unified: Option<PathBuf>,
    /// (controller list, directory) for each v1 hierarchy.
    #[serde(default)]
    pub v1: Vec<(String, PathBuf)>,
    /// The systemd unit that owns these directories (`--systemd-cgroup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd: Option<systemd::Unit>,
    /// A rootless container's own cgroup (delegated to its user, or its
    /// user's systemd unit). Its device rules are not applied there: an
    /// unprivileged user cannot load the eBPF filter, and the user
    /// namespace already keeps the container to the user's own devices.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rootless: bool,
}

pub trait Manager {
    /// Make the cgroup directories.
    fn create(&self) -> Result<()>;
    /// Move the calling process into the cgroup. It must be
    /// single-threaded and still in the runtime's user and cgroup
    /// namespaces; `placed`: clone3 already put it in the cgroup2
    /// directory of `clone_target`.
    fn join_self(&self, placed: bool) -> Result<()>;
    /// The cgroup2 directory to clone a child straight into (clone3
    /// CLONE_INTO_CGROUP): pure v2's, or a hybrid host's unified one.
    fn clone_target(&self) -> Option<std::fs::File> {
        None
    }
    /// The init is cloned and waits (before any join or unshare): put it
    /// in the cgroup from outside, with `resources` (the systemd driver
    /// makes its unit now, with the init as its process).
    fn adopt(&self, _pid: i32, _resources: Option<&LinuxResources>) -> Result<()> {
        Ok(())
    }
    /// Apply `linux.resources`.
    fn apply(&self, resources: &LinuxResources) -> Result<()>;
    /// Every pid in the cgroup.
    fn pids(&self) -> Result<Vec<i32>>;
    /// True when the cgroup is frozen.
    fn frozen(&self) -> bool;
    /// The counters `events` reports.
    fn stats(&self) -> stats::Stats;
    /// OOM kills in the cgroup so far.
    fn oom_kills(&self) -> u64;
    /// The file the kernel notifies (inotify) when the OOM counters
    /// change, where there is one (v2's memory.events).
    fn oom_events_file(&self) -> Option<PathBuf> {
        None
    }
    /// Kill what is left and remove the directories.
    fn destroy(&self) -> Result<()>;
}

/// The manager for a placement on this host (an empty one: no cgroup of
/// its own, see detached.rs).
pub fn manager(p: &Placement) -> Box<dyn Manager> {
    match &p.systemd {
        Some(unit) => Box::new(systemd::Systemd::new(
            unit.clone(),
            fs_manager(p),
            p.v1.is_empty(),
        )),
        None => fs_manager(p),
    }
}

/// The manager for a placement `create` is about to make: a systemd
/// unit's also takes the config's `org.systemd.property.*` annotations
/// (checked now, before anything is made).
pub fn manager_for_create(
    p: &Placement,
    annotations: &std::collections::HashMap<String, String>,
) -> Result<Box<dyn Manager>> {
    Ok(match &p.systemd {
        Some(unit) => Box::new(systemd::Systemd::for_create(
            unit.clone(),
            fs_manager(p),
            p.v1.is_empty(),
            annotations,
        )?),
        None => fs_manager(p),
    })
}

/// How `create` was told to make the cgroup.
pub struct Driver {
    /// --systemd-cgroup: a transient unit.
    pub systemd: bool,
    /// --rootless (given, or decided): the caller is an ordinary user, or
    /// root of a user namespace of its own.
    pub rootless: bool,
}

/// Where a new container's cgroup goes. A rootless container's is its
/// user's: a unit of the user's systemd, or a cgroupfs directory the user
/// may make (one delegated to them); without either it gets none of its
/// own, as runc, and a config that asks for a limit fails naming it.
pub fn place_container(
    layout: &Layout,
    cgroups_path: Option<&Path>,
    id: &str,
    driver: &Driver,
    resources: Option<&LinuxResources>,
) -> Result<Placement> {
    if driver.systemd {
        let path = cgroups_path.map(|p| p.to_string_lossy());
        return systemd::place(layout, path.as_deref(), id, driver.rootless);
    }
    let mut placement = place(layout, cgroups_path, id)?;
    if !driver.rootless {
        return Ok(placement);
    }
    if writable(&placement) {
        placement.rootless = true;
        return Ok(placement);
    }
    if let Some(field) = resources.and_then(detached::first_limit) {
        return Err(Error::InvalidConfig(format!(
            "config.json: linux.resources.{field}: this user may not make the container's cgroup \
             ({placement:?}): a rootless container gets limits only in a cgroup delegated to its user \
             (or from its user's systemd, with --systemd-cgroup)"
        )));
    }
    crate::logging::debug("rootless: no cgroup of its own (none delegated to this user)");
    Ok(Placement::default())
}

/// Whether this process may make the placement's directories: for each,
/// the nearest one that exists is writable.
fn writable(p: &Placement) -> bool {
    use nix::unistd::{access, AccessFlags};
    let dirs = p.unified.iter().chain(p.v1.iter().map(|(_, d)| d));
    let mut any = false;
    for d in dirs {
        any = true;
        let Some(existing) = d.ancestors().find(|a| a.exists()) else {
            return false;
        };
        if access(existing, AccessFlags::W_OK).is_err() {
            return false;
        }
    }
    any
}

/// The cgroupfs manager of a placement's directories (none: no cgroup of
/// its own, see detached.rs).
fn fs_manager(p: &Placement) -> Box<dyn Manager> {
    if p.unified.is_none() && p.v1.is_empty() {
        Box::new(detached::Detached)
    } else if p.v1.is_empty() {
        Box::new(v2::V2 {
            dir: p.unified.clone(),
            device_rules: !p.rootless,
        })
    } else {
        Box::new(v1::V1 {
            dirs: p.v1.clone(),
            unified: p.unified.clone(),
            device_rules: !p.rootless,
        })
    }
}

/// Refuse a cgroupfs path with `..` (either driver's form).
pub fn check_path(path: &Path) -> Result<()> {
    let s = path.to_string_lossy();
    if path
        .components()
        .any(|c| c == std::path::Component::ParentDir)
    {
        return Err(Error::InvalidConfig(format!(
            "config.json: linux.cgroupsPath: {s:?} must not contain '..'"
        )));
    }
    Ok(())
}

/// The cgroups this process runs in, one directory per hierarchy.
pub fn own_placement(layout: &Layout) -> Placement {
    let at = |mount: &Path, own: &Path| mount.join(own.strip_prefix("/").unwrap_or(own));
    Placement {
        unified: layout.unified.as_ref().map(|(m, own)| at(m, own)),
        v1: layout
            .v1
            .iter()
            .map(|h| (h.controllers.clone(), at(&h.mount, &h.own)))
            .collect(),
        systemd: None,
        rootless: false,
    }
}

/// Compute where the container's cgroup goes, as runc's cgroupfs driver
/// does: an absolute `cgroupsPath` under each hierarchy's root; a relative
/// one (or the id, when empty) under berth's own cgroup.
pub fn place(layout: &Layout, cgroups_path: Option<&Path>, id: &str) -> Result<Placement> {
    if let Some(s) = cgroups_path.map(|p| p.to_string_lossy()) {
        if s.contains(':') {
            return Err(Error::InvalidConfig(format!(
                "config.json: linux.cgroupsPath: {s:?} is in the systemd driver's form (slice:prefix:name): \
                 give --systemd-cgroup, or a cgroupfs path such as /mygroup/{{id}}"
            )));
        }
    }
    let inner: PathBuf = match cgroups_path {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from(id),
    };
    let under = |mount: &Path, own: &Path| -> PathBuf {
        if inner.is_absolute() {
            mount.join(inner.strip_prefix("/").unwrap_or(&inner))
        } else {
            mount
                .join(own.strip_prefix("/").unwrap_or(own))
                .join(&inner)
        }
    };
    Ok(Placement {
        unified: layout.unified.as_ref().map(|(m, own)| under(m, own)),
        v1: layout
            .v1
            .iter()
            .map(|h| (h.controllers.clone(), under(&h.mount, &h.own)))
            .collect(),
        systemd: None,
        rootless: false,
    })
}

/// Reads a container's cgroup files through a function that says where
/// each file lives (None: no hierarchy has its controller).
struct PathProbe<'a>(&'a dyn Fn(&str) -> Option<PathBuf>);

impl setting::Probe for PathProbe<'_> {
    fn exists(&self, file: &str) -> bool {
        (self.0)(file).is_some_and(|p| p.exists())
    }
    fn read(&self, file: &str) -> Option<String> {
        (self.0)(file).and_then(|p| std::fs::read_to_string(p).ok())
    }
}

/// Write each setting where `locate` puts its file; errors name the
/// config field.
fn write_settings(
    settings: &[setting::Setting],
    locate: &dyn Fn(&str) -> Option<PathBuf>,
) -> Result<()> {
    let find = |s: &setting::Setting| {
        locate(&s.file).ok_or_else(|| {
            Error::InvalidConfig(format!(
                "linux.resources.{}: no cgroup hierarchy on this host has the {} controller (for {})",
                s.field,
                s.controller().unwrap_or("?"),
                s.file
            ))
        })
    };
    let put = |s: &setting::Setting| -> Result<()> {
        write(&find(s)?, &s.value)
            .map_err(|e| Error::InvalidConfig(format!("linux.resources.{}: {e}", s.field)))
    };
    let mut quota_written = false;
    for (i, s) in settings.iter().enumerate() {
        if quota_written && s.file == "cpu.cfs_quota_us" {
            continue;
        }
        let path = find(s)?;
        match write(&path, &s.value) {
            Ok(()) => {}
            // A lower period can be refused while the old quota over it
            // would exceed a parent's limit (a pod's): as runc does, set
            // the new quota first when there is one, then the period.
            Err(Error::Sys { cause, .. })
                if s.file == "cpu.cfs_period_us"
                    && cause.raw_os_error() == Some(libc::EINVAL)
                    && settings[i + 1..]
                        .iter()
                        .any(|q| q.file == "cpu.cfs_quota_us") =>
            {
                if let Some(q) = settings[i + 1..]
                    .iter()
                    .find(|q| q.file == "cpu.cfs_quota_us")
                {
                    put(q)?;
                }
                quota_written = true;
                put(s)?;
            }
            Err(e) => {
                return Err(Error::InvalidConfig(format!(
                    "linux.resources.{}: {e}",
                    s.field
                )))
            }
        }
    }
    Ok(())
}

/// Read a cgroup.procs-style file of pids.
fn read_pids(file: &Path) -> Result<Vec<i32>> {
    match std::fs::read_to_string(file) {
        Ok(s) => Ok(s.lines().filter_map(|l| l.trim().parse().ok()).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::sys(format!("read {}", file.display()), e)),
    }
}

fn write(file: &Path, value: &str) -> Result<()> {
    std::fs::write(file, value)
        .map_err(|e| Error::sys(format!("write {value:?} to {}", file.display()), e))
}

/// Remove a cgroup directory, retrying while the kernel still sees tasks
/// exiting (EBUSY) for up to about a second.
/// Every pid in `dir` and in the cgroups below it (sub-cgroups that the
/// container made for itself).
fn subtree_pids(dir: &Path) -> Vec<i32> {
    let mut out = read_pids(&dir.join("cgroup.procs")).unwrap_or_default();
    for sub in sub_dirs(dir) {
        out.extend(subtree_pids(&sub));
    }
    out
}

fn sub_dirs(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// Remove a cgroup directory and the sub-cgroups below it, deepest first.
fn remove_dir(dir: &Path) -> Result<()> {
    for sub in sub_dirs(dir) {
        remove_dir(&sub)?;
    }
    for _ in 0..200 {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                std::thread::sleep(std::time::Duration::from_millis(5))
            }
            Err(e) => return Err(Error::sys(format!("remove {}", dir.display()), e)),
        }
    }
    Err(Error::Other(format!(
        "remove {}: still busy after 1s",
        dir.display()
    )))
}

/// Make a directory and its missing parents; return those it created.
fn mkdir_all(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut made = Vec::new();
    let mut missing = Vec::new();
    let mut cur = dir;
    while !cur.exists() {
        missing.push(cur.to_path_buf());
        match cur.parent() {
            Some(p) => cur = p,
            None => break,
        }
    }
    for d in missing.into_iter().rev() {
        match std::fs::create_dir(&d) {
            Ok(()) => made.push(d),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::sys(format!("create cgroup {}", d.display()), e)),
        }
    }
    Ok(made)
}
