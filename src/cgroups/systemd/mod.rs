//! The systemd cgroup driver (`--systemd-cgroup`): the container's cgroup
//! is a transient unit that systemd makes over D-Bus (a scope holding the
//! init, or a slice), delegated to berth; its resources go to systemd as
//! unit properties, and what systemd has no property for is written to
//! the unit's cgroup files by the cgroupfs managers (v1.rs, v2.rs), which
//! also do everything that only reads or joins. A rootless container's
//! unit is its user's systemd's, made over the user bus below the user
//! manager's own cgroup.

mod annotations;
mod bus;
mod path;
mod props;
mod wire;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::Duration;

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

pub use bus::{system_bus_path, user_bus_path};
pub use path::UnitPath;
use props::{prop, Property, Value};

use super::{Layout, Manager, Placement};
use crate::error::{Error, Result};

/// How long systemd gets to finish a start or stop job.
const JOB_TIMEOUT: Duration = Duration::from_secs(30);

/// A container's unit, as the state records it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Unit {
    pub unit: String,
    pub slice: String,
    /// The unit is the user's systemd's (a rootless container), reached
    /// over the user bus.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub user: bool,
}

/// Where the unit named by `cgroups_path` (`slice:prefix:name`) has its
/// cgroup in each hierarchy: below each root, not below berth's own cgroup
/// (`user`: below the user manager's cgroup, on cgroup v2 only, since a
/// user's systemd manages no v1 hierarchy).
pub fn place(
    layout: &Layout,
    cgroups_path: Option<&str>,
    id: &str,
    user: bool,
) -> Result<Placement> {
    let default_slice = if user {
        path::USER_DEFAULT_SLICE
    } else {
        path::DEFAULT_SLICE
    };
    let u = UnitPath::parse(cgroups_path, id, default_slice)?;
    let rel = u.cgroup_dir();
    let rel = rel.strip_prefix("/").unwrap_or(&rel);
    let base = if user {
        if !layout.v1.is_empty() || layout.unified.is_none() {
            return Err(Error::InvalidConfig(
                "config.json: linux.cgroupsPath: --systemd-cgroup for a rootless container needs a pure cgroup v2 host \
                 (a user's systemd is delegated no v1 hierarchy)"
                    .into(),
            ));
        }
        let mut b = bus::Bus::connect(true)?;
        let own = b
            .manager_cgroup()
            .map_err(|e| e.into_error("the user's systemd: its ControlGroup"))?;
        std::path::PathBuf::from(own.trim_start_matches('/'))
    } else {
        std::path::PathBuf::new()
    };
    Ok(Placement {
        unified: layout
            .unified
            .as_ref()
            .map(|(m, _)| m.join(&base).join(rel)),
        v1: layout
            .v1
            .iter()
            .map(|h| (h.controllers.clone(), h.mount.join(rel)))
            .collect(),
        systemd: Some(Unit {
            unit: u.unit,
            slice: u.slice,
            user,
        }),
        rootless: user,
    })
}

pub struct Systemd {
    unit: Unit,
    /// The cgroupfs manager of the unit's directories.
    fs: Box<dyn Manager>,
    v2: bool,
    /// org.systemd.property.* annotations (create only).
    extra: Vec<Property>,
    /// The unit is this container's: made by this create, or recorded in
    /// its state. A create that fails before its unit exists must not stop
    /// a unit of the same name that is someone else's.
    owned: Cell<bool>,
    /// Made by this process, with the resources as properties already.
    started_here: Cell<bool>,
    bus: RefCell<Option<bus::Bus>>,
}

impl Systemd {
    /// For a recorded container: its unit is its own.
    pub fn new(unit: Unit, fs: Box<dyn Manager>, v2: bool) -> Systemd {
        Systemd {
            unit,
            fs,
            v2,
            extra: Vec::new(),
            owned: Cell::new(true),
            started_here: Cell::new(false),
            bus: RefCell::new(None),
        }
    }

    /// For `create`: the unit is made by `adopt`; the annotations are
    /// checked now, before anything is made.
    pub fn for_create(
        unit: Unit,
        fs: Box<dyn Manager>,
        v2: bool,
        annotations: &HashMap<String, String>,
    ) -> Result<Systemd> {
        let mut s = Systemd::new(unit, fs, v2);
        s.extra = annotations::properties(annotations)?;
        s.owned.set(false);
        Ok(s)
    }

    fn with_bus<T>(&self, f: impl FnOnce(&mut bus::Bus) -> Result<T>) -> Result<T> {
        let mut slot = self.bus.borrow_mut();
        if slot.is_none() {
            *slot = Some(bus::Bus::connect(self.unit.user)?);
        }
        // After a failure the connection goes: a reply read half-way
        // would leave the stream out of step for the next call.
        let r = f(slot.as_mut().expect("connected above"));
        if r.is_err() {
            *slot = None;
        }
        r
    }

    fn is_slice(&self) -> bool {
        self.unit.unit.ends_with(".slice")
    }

    /// The unit's properties at start: what it is, where it goes, the
    /// annotations, and the resources.
    fn start_properties(&self, pid: i32, r: Option<&LinuxResources>) -> Result<Vec<Property>> {
        let mut p = vec![prop(
            "Description",
            Value::Str(format!("berth container {}", self.unit.unit)),
        )];
        if self.is_slice() {
            // A slice's place follows from its name; it holds no PIDs
            // (the init joins its cgroup by itself).
            p.push(prop("Wants", Value::Strs(vec![self.unit.slice.clone()])));
        } else {
            p.push(prop("Slice", Value::Str(self.unit.slice.clone())));
            p.push(prop("Delegate", Value::Bool(true)));
            p.push(prop("PIDs", Value::U32s(vec![pid as u32])));
        }
        p.push(prop("DefaultDependencies", Value::Bool(false)));
        p.extend(props::accounting(self.v2));
        // The annotations, then the resources: where both name a property
        // the resources win, as the cgroup files will say.
        p.extend(self.extra.iter().cloned());
        if let Some(r) = r {
            p.extend(self.resource_properties(r)?);
        }
        Ok(p)
    }

    /// The resources as properties. A user's systemd gets no device
    /// rules: it cannot load the eBPF program that enforces them (and the
    /// user namespace confines the container's devices already).
    fn resource_properties(&self, r: &LinuxResources) -> Result<Vec<Property>> {
        if self.unit.user && r.devices().is_some() {
            let mut r = r.clone();
            r.set_devices(None);
            return props::resources(&r, self.v2);
        }
        props::resources(r, self.v2)
    }

    fn start(&self, props: &[Property]) -> Result<()> {
        let name = &self.unit.unit;
        self.with_bus(|b| {
            let job = match b.start_transient_unit(name, props) {
                Ok(job) => job,
                // Maybe a failed leftover of an earlier container: reset
                // it, so that systemd forgets it, and try once more. A
                // unit that is still there is someone else's (a slice
                // too: adopting one would make delete kill all in it).
                Err(e) if e.is(bus::UNIT_EXISTS) => {
                    let _ = b.reset_failed_unit(name);
                    b.start_transient_unit(name, props).map_err(|e| {
                        if e.is(bus::UNIT_EXISTS) {
                            Error::InvalidConfig(format!(
                                "config.json: linux.cgroupsPath: systemd unit {name} exists already (another container's?)"
                            ))
                        } else {
                            e.into_error(&format!("start systemd unit {name}"))
                        }
                    })?
                }
                Err(e) => return Err(e.into_error(&format!("start systemd unit {name}"))),
            };
            // The unit is this container's from here on: whatever fails
            // next, undo stops and resets it.
            self.owned.set(true);
            let result = b.wait_job(&job, JOB_TIMEOUT)?;
            if result != "done" {
                return Err(Error::Other(format!(
                    "systemd could not start unit {name}: the job ended {result:?}"
                )));
            }
            Ok(())
        })
    }

    /// Stop the unit and wait for it; forget it if it failed.
    fn stop(&self) -> Result<()> {
        let name = &self.unit.unit;
        self.with_bus(|b| {
            match b.stop_unit(name) {
                Ok(job) => {
                    let result = b.wait_job(&job, JOB_TIMEOUT)?;
                    if result != "done" && result != "skipped" {
                        crate::logging::debug(&format!("stop {name}: job ended {result:?}"));
                    }
                }
                Err(e) if e.is(bus::NO_SUCH_UNIT) => {}
                Err(e) => return Err(e.into_error(&format!("stop systemd unit {name}"))),
            }
            match b.reset_failed_unit(name) {
                Ok(()) => Ok(()),
                Err(e) if e.is(bus::NO_SUCH_UNIT) => Ok(()),
                Err(e) => Err(e.into_error(&format!("reset-failed systemd unit {name}"))),
            }
        })
    }
}

impl Manager for Systemd {
    fn create(&self) -> Result<()> {
        // The unit (and its cgroup) comes with adopt, once the init exists.
        Ok(())
    }

    fn adopt(&self, pid: i32, resources: Option<&LinuxResources>) -> Result<()> {
        let props = self.start_properties(pid, resources)?;
        self.start(&props)?;
        self.owned.set(true);
        self.started_here.set(true);
        // The hierarchies systemd does not manage (v1 freezer, hugetlb...)
        // get their directories from berth; the init joins them all.
        self.fs.create()
    }

    fn join_self(&self, placed: bool) -> Result<()> {
        self.fs.join_self(placed)
    }

    fn clone_target(&self) -> Option<std::fs::File> {
        // Before adopt the unit's cgroup is not there (or not ours).
        if self.owned.get() {
            self.fs.clone_target()
        } else {
            None
        }
    }

    fn apply(&self, r: &LinuxResources) -> Result<()> {
        // At create the unit got the resources with its other properties.
        if self.started_here.get() {
            return self.fs.apply(r);
        }
        // `update`: berth's own checks (and writes) first, so that
        // nothing reaches systemd that berth refuses; then the unit's
        // properties, so that systemd does not later put back old values;
        // then the files again, since systemd rounds some (the quota).
        self.fs.apply(r)?;
        let props = self.resource_properties(r)?;
        if props.is_empty() {
            return Ok(());
        }
        let name = &self.unit.unit;
        self.with_bus(|b| {
            b.set_unit_properties(name, &props)
                .map_err(|e| e.into_error(&format!("set properties of systemd unit {name}")))
        })?;
        self.fs.apply(r)
    }

    fn pids(&self) -> Result<Vec<i32>> {
        self.fs.pids()
    }

    fn frozen(&self) -> bool {
        self.fs.frozen()
    }

    fn stats(&self) -> super::stats::Stats {
        self.fs.stats()
    }

    fn oom_kills(&self) -> u64 {
        self.fs.oom_kills()
    }

    fn oom_events_file(&self) -> Option<std::path::PathBuf> {
        self.fs.oom_events_file()
    }

    fn destroy(&self) -> Result<()> {
        if !self.owned.get() {
            return Ok(());
        }
        // Kill everything at once first (systemd's stop would send SIGTERM
        // and wait up to 90 s), remove the sub-cgroups the container made,
        // then stop the unit so that nothing of it is left.
        let fs = self.fs.destroy();
        let stopped = self.stop();
        fs.and(stopped)
    }
}
