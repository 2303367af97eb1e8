//! No cgroup of its own: a rootless container where the user has no
//! cgroup delegated to them (as runc's rootless cgroup manager). It runs
//! in its caller's cgroup; a config that asks for limits fails naming
//! the field, since there is nothing to enforce them with.

use oci_spec::runtime::LinuxResources;

use super::Manager;
use crate::error::{Error, Result};

pub struct Detached;

/// The first `linux.resources` field that asks for a limit (devices
/// aside: a user namespace already keeps the user to their own devices).
pub fn first_limit(r: &LinuxResources) -> Option<&'static str> {
    let unified = r.unified().as_ref().is_some_and(|u| !u.is_empty());
    [
        (r.memory().is_some(), "memory"),
        (r.cpu().is_some(), "cpu"),
        (r.pids().is_some(), "pids"),
        (r.block_io().is_some(), "blockIO"),
        (
            r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty()),
            "hugepageLimits",
        ),
        (r.network().is_some(), "network"),
        (r.rdma().as_ref().is_some_and(|m| !m.is_empty()), "rdma"),
        (unified, "unified"),
    ]
    .into_iter()
    .find_map(|(asked, field)| asked.then_some(field))
}

impl Manager for Detached {
    fn create(&self) -> Result<()> {
        Ok(())
    }

    fn join_self(&self, _placed: bool) -> Result<()> {
        Ok(())
    }

    fn apply(&self, r: &LinuxResources) -> Result<()> {
        match first_limit(r) {
            Some(field) => Err(Error::InvalidConfig(format!(
                "linux.resources.{field}: a rootless container has no cgroup of its own here \
                 (none is delegated to this user): run it under a systemd user session with \
                 --systemd-cgroup, or give a cgroupsPath in a cgroup delegated to you"
            ))),
            None => Ok(()),
        }
    }

    fn pids(&self) -> Result<Vec<i32>> {
        Err(Error::Other(
            "the container has no cgroup of its own (rootless, nothing delegated): its processes cannot be listed".into(),
        ))
    }

    fn frozen(&self) -> bool {
        false
    }

    fn stats(&self) -> super::stats::Stats {
        super::stats::Stats::default()
    }

    fn oom_kills(&self) -> u64 {
        0
    }

    fn destroy(&self) -> Result<()> {
        Ok(())
    }
}
