//! linux.resources.cpu: the values each cgroup version wants, computed
//! once here so both managers (and their tests) agree.

use oci_spec::runtime::LinuxCpu;

use super::setting::{unsupported, Setting};
use crate::error::Result;

/// cgroup v1 (file, value) pairs, in the order they must be written:
/// the period before the quota (the kernel checks the quota against the
/// current period), cpuset last.
pub fn v1_files(c: &LinuxCpu) -> Vec<Setting> {
    let mut out = Vec::new();
    if let Some(s) = c.shares().filter(|s| *s != 0) {
        out.push(Setting::new("cpu.shares", "cpu.shares", s.to_string()));
    }
    if let Some(p) = c.period().filter(|p| *p != 0) {
        out.push(Setting::new(
            "cpu.period",
            "cpu.cfs_period_us",
            p.to_string(),
        ));
    }
    if let Some(q) = c.quota().filter(|q| *q != 0) {
        out.push(Setting::new("cpu.quota", "cpu.cfs_quota_us", q.to_string()));
    }
    if let Some(b) = c.burst() {
        out.push(Setting::new("cpu.burst", "cpu.cfs_burst_us", b.to_string()));
    }
    if let Some(p) = c.realtime_period().filter(|p| *p != 0) {
        out.push(Setting::new(
            "cpu.realtimePeriod",
            "cpu.rt_period_us",
            p.to_string(),
        ));
    }
    if let Some(r) = c.realtime_runtime().filter(|r| *r != 0) {
        out.push(Setting::new(
            "cpu.realtimeRuntime",
            "cpu.rt_runtime_us",
            r.to_string(),
        ));
    }
    if let Some(i) = c.idle() {
        out.push(Setting::new("cpu.idle", "cpu.idle", i.to_string()));
    }
    cpuset(c, &mut out);
    out
}

fn cpuset(c: &LinuxCpu, out: &mut Vec<Setting>) {
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        out.push(Setting::new("cpu.cpus", "cpuset.cpus", cpus.to_string()));
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        out.push(Setting::new("cpu.mems", "cpuset.mems", mems.to_string()));
    }
}

/// cpu.shares (v1, 2..262144) to cpu.weight (v2, 1..10000), the linear
/// map the other runtimes use, so a value means the same everywhere.
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    let s = shares.clamp(2, 262_144);
    1 + ((s - 2) * 9999) / 262_142
}

/// cgroup v2 (file, value) pairs.
pub fn v2_files(c: &LinuxCpu) -> Result<Vec<Setting>> {
    if c.realtime_runtime().is_some_and(|r| r != 0) || c.realtime_period().is_some_and(|p| p != 0) {
        return Err(unsupported(
            "cpu.realtimeRuntime",
            "v2",
            "there is no real-time cpu controller (realtimeRuntime, realtimePeriod)",
        ));
    }
    let mut out = Vec::new();
    if let Some(s) = c.shares().filter(|s| *s != 0) {
        out.push(Setting::new(
            "cpu.shares",
            "cpu.weight",
            shares_to_weight(s).to_string(),
        ));
    }
    let quota = c.quota().filter(|q| *q != 0);
    let period = c.period().filter(|p| *p != 0);
    if quota.is_some() || period.is_some() {
        let q = match quota {
            Some(q) if q > 0 => q.to_string(),
            _ => "max".to_string(),
        };
        out.push(Setting::new(
            "cpu.quota",
            "cpu.max",
            format!("{q} {}", period.unwrap_or(100_000)),
        ));
    }
    if let Some(b) = c.burst() {
        out.push(Setting::new("cpu.burst", "cpu.max.burst", b.to_string()));
    }
    if let Some(i) = c.idle() {
        out.push(Setting::new("cpu.idle", "cpu.idle", i.to_string()));
    }
    cpuset(c, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxCpuBuilder;

    #[test]
    fn weights() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
    }

    #[test]
    fn v1_order_and_v2_conversion() {
        let c = LinuxCpuBuilder::default()
            .shares(1024u64)
            .quota(50_000i64)
            .period(100_000u64)
            .cpus("0")
            .build()
            .unwrap();
        let v1: Vec<String> = v1_files(&c).into_iter().map(|s| s.file).collect();
        assert_eq!(
            v1,
            vec![
                "cpu.shares",
                "cpu.cfs_period_us",
                "cpu.cfs_quota_us",
                "cpuset.cpus"
            ]
        );
        let v2 = v2_files(&c).unwrap();
        assert!(v2.contains(&Setting::new("cpu.shares", "cpu.weight", 39)));
        assert!(v2.contains(&Setting::new("cpu.quota", "cpu.max", "50000 100000")));
        let unlimited = LinuxCpuBuilder::default().quota(-1i64).build().unwrap();
        assert_eq!(
            v2_files(&unlimited).unwrap(),
            vec![Setting::new("cpu.quota", "cpu.max", "max 100000")]
        );
        let rt = LinuxCpuBuilder::default()
            .realtime_runtime(1000i64)
            .build()
            .unwrap();
        assert!(v2_files(&rt).is_err());
    }
}
