//! linux.resources (less devices, which each manager handles its own way)
//! as the ordered list of cgroup files to write, for v1 and for v2.

use oci_spec::runtime::LinuxResources;

use super::setting::{unsupported, Probe, Setting};
use super::{blkio, cpu, hugetlb, memory, network, pids, rdma, unified};
use crate::error::Result;

/// v1 files. With `hugetlb_on_v2` (a hybrid host whose hugetlb controller
/// lives in the cgroup2 hierarchy, not in a v1 one) the hugetlb files are
/// v2's.
pub fn v1(r: &LinuxResources, probe: &dyn Probe, hugetlb_on_v2: bool) -> Result<Vec<Setting>> {
    if r.unified().as_ref().is_some_and(|u| !u.is_empty()) {
        return Err(unsupported(
            "unified",
            "v1",
            "raw cgroup v2 keys need a pure cgroup v2 host",
        ));
    }
    let mut out = Vec::new();
    if let Some(c) = r.cpu() {
        out.extend(cpu::v1_files(c));
    }
    if let Some(m) = r.memory() {
        out.extend(memory::v1(m, probe)?);
    }
    if let Some(p) = r.pids() {
        out.extend(pids::settings(p)?);
    }
    if let Some(b) = r.block_io() {
        out.extend(blkio::v1(b, probe)?);
    }
    if let Some(h) = r.hugepage_limits() {
        out.extend(hugetlb::settings(h, probe, hugetlb_on_v2)?);
    }
    if let Some(n) = r.network() {
        out.extend(network::v1(n)?);
    }
    if let Some(rd) = r.rdma() {
        out.extend(rdma::settings(rd)?);
    }
    Ok(out)
}

/// The v2 controllers these resources need, each with the field that
/// needs it: enabled in the parents' subtree_control before any file of
/// theirs is probed or written.
pub fn v2_controllers(r: &LinuxResources) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    if let Some(c) = r.cpu() {
        if c.cpus().as_ref().is_some_and(|s| !s.is_empty())
            || c.mems().as_ref().is_some_and(|s| !s.is_empty())
        {
            out.push(("cpu.cpus", "cpuset".into()));
        }
        if c.shares().is_some_and(|s| s != 0)
            || c.quota().is_some_and(|q| q != 0)
            || c.period().is_some_and(|p| p != 0)
            || c.burst().is_some()
            || c.idle().is_some()
        {
            out.push(("cpu", "cpu".into()));
        }
    }
    if r.memory().is_some() {
        out.push(("memory", "memory".into()));
    }
    if r.pids().is_some() {
        out.push(("pids", "pids".into()));
    }
    if r.block_io().is_some() {
        out.push(("blockIO", "io".into()));
    }
    if r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty()) {
        out.push(("hugepageLimits", "hugetlb".into()));
    }
    if r.rdma().as_ref().is_some_and(|h| !h.is_empty()) {
        out.push(("rdma", "rdma".into()));
    }
    for key in r.unified().iter().flat_map(|u| u.keys()) {
        if let Some(c) = super::setting::controller_of(key) {
            if !out.iter().any(|(_, have)| have == c) {
                out.push(("unified", c.to_string()));
            }
        }
    }
    out
}

pub fn v2(r: &LinuxResources, probe: &dyn Probe) -> Result<Vec<Setting>> {
    let mut out = Vec::new();
    if let Some(c) = r.cpu() {
        out.extend(cpu::v2_files(c)?);
    }
    if let Some(m) = r.memory() {
        out.extend(memory::v2(m, probe)?);
    }
    if let Some(p) = r.pids() {
        out.extend(pids::settings(p)?);
    }
    if let Some(b) = r.block_io() {
        out.extend(blkio::v2(b, probe)?);
    }
    if let Some(h) = r.hugepage_limits() {
        out.extend(hugetlb::settings(h, probe, true)?);
    }
    if let Some(n) = r.network() {
        out.extend(network::v2(n)?);
    }
    if let Some(rd) = r.rdma() {
        out.extend(rdma::settings(rd)?);
    }
    // Last, so that a raw key overrides the typed field it overlaps.
    if let Some(u) = r.unified() {
        out.extend(unified::settings(u, probe)?);
    }
    Ok(out)
}
