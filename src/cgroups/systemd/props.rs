//! Unit properties: the values systemd's D-Bus API takes, and
//! `linux.resources` mapped onto them as runc's systemd driver maps it.
//! What has no property is written to the unit's cgroup files afterwards
//! (the cgroupfs managers); these properties only keep systemd, which
//! rewrites its own files when it reloads, in agreement with those files.

use oci_spec::runtime::LinuxResources;

use crate::cgroups::device_rules::{self, Kind, Rule};
use crate::error::Result;

/// A D-Bus value of the types unit properties use.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    I32(i32),
    U32(u32),
    I64(i64),
    U64(u64),
    Double(f64),
    Str(String),
    /// `as`
    Strs(Vec<String>),
    /// `au` (PIDs)
    U32s(Vec<u32>),
    /// `ay` (a CPU or NUMA node bitmask)
    Bytes(Vec<u8>),
    /// `a(ss)` (DeviceAllow: path or group, access)
    Pairs(Vec<(String, String)>),
}

pub type Property = (String, Value);

pub fn prop(name: &str, v: Value) -> Property {
    (name.to_string(), v)
}

/// systemd's "infinity" for limits.
const INFINITY: u64 = u64::MAX;

/// The accounting switches every container unit gets, so that the
/// controllers are enabled in its cgroup.
pub fn accounting(v2: bool) -> Vec<Property> {
    let io = if v2 {
        "IOAccounting"
    } else {
        "BlockIOAccounting"
    };
    ["MemoryAccounting", "CPUAccounting", io, "TasksAccounting"]
        .into_iter()
        .map(|n| prop(n, Value::Bool(true)))
        .collect()
}

/// `linux.resources` as unit properties (v2: the unified names; v1: the
/// legacy ones systemd applies there).
pub fn resources(r: &LinuxResources, v2: bool) -> Result<Vec<Property>> {
    let mut out = Vec::new();
    if let Some(m) = r.memory() {
        match m.limit() {
            Some(l) if l > 0 => out.push(prop(mem_max(v2), Value::U64(l as u64))),
            Some(-1) => out.push(prop(mem_max(v2), Value::U64(INFINITY))),
            _ => {}
        }
        if v2 {
            if let Some(low) = m.reservation().filter(|l| *l > 0) {
                out.push(prop("MemoryLow", Value::U64(low as u64)));
            }
            // The spec's swap is memory plus swap; v2's is swap alone.
            match (m.limit(), m.swap()) {
                (_, Some(-1)) => out.push(prop("MemorySwapMax", Value::U64(INFINITY))),
                (Some(l), Some(s)) if l > 0 && s >= l => {
                    out.push(prop("MemorySwapMax", Value::U64((s - l) as u64)))
                }
                _ => {}
            }
        }
    }
    if let Some(c) = r.cpu() {
        if let Some(s) = c.shares().filter(|s| *s > 0) {
            if v2 {
                let w = crate::cgroups::cpu::shares_to_weight(s);
                out.push(prop("CPUWeight", Value::U64(w)));
            } else {
                out.push(prop("CPUShares", Value::U64(s)));
            }
        }
        out.extend(cpu_quota(c.quota(), c.period()));
        if v2 {
            if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
                out.push(prop("AllowedCPUs", Value::Bytes(bitmask(cpus)?)));
            }
            if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
                out.push(prop("AllowedMemoryNodes", Value::Bytes(bitmask(mems)?)));
            }
        }
    }
    if let Some(p) = r.pids() {
        match p.limit() {
            l if l > 0 => out.push(prop("TasksMax", Value::U64(l as u64))),
            -1 => out.push(prop("TasksMax", Value::U64(INFINITY))),
            _ => {}
        }
    }
    if let Some(w) = r.block_io().as_ref().and_then(|b| b.weight()) {
        if w > 0 {
            if v2 {
                let v = crate::cgroups::blkio::weight_to_v2(w);
                out.push(prop("IOWeight", Value::U64(v)));
            } else {
                out.push(prop("BlockIOWeight", Value::U64(u64::from(w))));
            }
        }
    }
    if let Some(rules) = r.devices() {
        out.extend(devices(&device_rules::with_defaults(rules)?));
    }
    if v2 {
        if let Some(u) = r.unified() {
            out.extend(unified(u)?);
        }
    }
    Ok(out)
}

/// `linux.resources.unified` files systemd also writes, as the properties
/// that write them: without these, systemd would put its own values back
/// into those files whenever it applies the unit's memory, cpu or pids
/// settings (an update, a reload). Other files are written as they are.
fn unified(u: &std::collections::HashMap<String, String>) -> Result<Vec<Property>> {
    let bytes = |file: &str, v: &str| -> Result<Value> {
        if v.trim() == "max" {
            return Ok(Value::U64(INFINITY));
        }
        v.trim().parse::<u64>().map(Value::U64).map_err(|_| {
            crate::error::Error::InvalidConfig(format!(
                "linux.resources.unified.{file}: {v:?} is not a number or \"max\""
            ))
        })
    };
    let mut keys: Vec<&String> = u.keys().collect();
    keys.sort();
    let mut out = Vec::new();
    for file in keys {
        let v = &u[file];
        let name = match file.as_str() {
            "memory.min" => "MemoryMin",
            "memory.low" => "MemoryLow",
            "memory.high" => "MemoryHigh",
            "memory.max" => "MemoryMax",
            "memory.swap.max" => "MemorySwapMax",
            "pids.max" => "TasksMax",
            "cpu.weight" => "CPUWeight",
            "cpuset.cpus" => {
                out.push(prop("AllowedCPUs", Value::Bytes(bitmask(v)?)));
                continue;
            }
            "cpuset.mems" => {
                out.push(prop("AllowedMemoryNodes", Value::Bytes(bitmask(v)?)));
                continue;
            }
            _ => continue,
        };
        out.push(prop(name, bytes(file, v)?));
    }
    Ok(out)
}

fn mem_max(v2: bool) -> &'static str {
    if v2 {
        "MemoryMax"
    } else {
        "MemoryLimit"
    }
}

/// CPUQuotaPeriodUSec and CPUQuotaPerSecUSec from the spec's quota and
/// period (µs). systemd keeps the quota per second in whole 10 ms steps:
/// round up, never to less than asked.
fn cpu_quota(quota: Option<i64>, period: Option<u64>) -> Vec<Property> {
    let mut out = Vec::new();
    let period = period.filter(|p| *p > 0);
    if let Some(p) = period {
        out.push(prop("CPUQuotaPeriodUSec", Value::U64(p)));
    }
    match quota {
        Some(q) if q > 0 => {
            let p = period.unwrap_or(100_000);
            let per_sec = (q as u64).saturating_mul(1_000_000) / p;
            // Up to the next 10 ms, saturating (an absurd quota is the
            // cgroup files' to refuse).
            let per_sec = per_sec.div_ceil(10_000).saturating_mul(10_000);
            out.push(prop("CPUQuotaPerSecUSec", Value::U64(per_sec)));
        }
        Some(-1) => out.push(prop("CPUQuotaPerSecUSec", Value::U64(INFINITY))),
        _ if period.is_some() => out.push(prop("CPUQuotaPerSecUSec", Value::U64(INFINITY))),
        _ => {}
    }
    out
}

/// A cpuset list (`0-3,6`) as systemd's bitmask: bit N of byte N/8.
pub fn bitmask(list: &str) -> Result<Vec<u8>> {
    let bad = || {
        crate::error::Error::InvalidConfig(format!(
            "linux.resources.cpu: {list:?} is not a cpu or node list (such as 0-3,6)"
        ))
    };
    let mut bytes = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<usize>(), b.parse::<usize>()),
            None => (part.parse::<usize>(), part.parse::<usize>()),
        };
        let (a, b) = (a.map_err(|_| bad())?, b.map_err(|_| bad())?);
        if a > b || b >= 8192 {
            return Err(bad());
        }
        for n in a..=b {
            if bytes.len() <= n / 8 {
                bytes.resize(n / 8 + 1, 0);
            }
            bytes[n / 8] |= 1 << (n % 8);
        }
    }
    Ok(bytes)
}

/// DevicePolicy and DeviceAllow for a rule list (see device_rules.rs for
/// its meaning). systemd can only allow, so it gets the smallest allow
/// list that covers every device the rules allow; berth's own filter (v2)
/// or devices.deny lines (v1), applied after, take away the rest.
pub fn devices(rules: &[Rule]) -> Vec<Property> {
    // Only what follows the last rule for every device counts.
    let last_all = rules.iter().rposition(|r| r.kind == Kind::All);
    let everything_allowed = last_all.is_some_and(|i| rules[i].allow);
    if everything_allowed {
        return vec![
            prop("DevicePolicy", Value::Str("auto".into())),
            prop("DeviceAllow", Value::Pairs(Vec::new())),
        ];
    }
    let from = last_all.map_or(0, |i| i + 1);
    let groups = std::fs::read_to_string("/proc/devices").unwrap_or_default();
    let mut allow: Vec<(String, String)> = Vec::new();
    for r in rules[from..].iter().filter(|r| r.allow) {
        let access = access_string(r.access);
        for node in device_nodes(r, &groups) {
            if !allow.iter().any(|(n, a)| *n == node && *a == access) {
                allow.push((node, access.clone()));
            }
        }
    }
    vec![
        prop("DevicePolicy", Value::Str("strict".into())),
        prop("DeviceAllow", Value::Pairs(allow)),
    ]
}

fn access_string(bits: u8) -> String {
    let mut s = String::new();
    if bits & device_rules::READ != 0 {
        s.push('r');
    }
    if bits & device_rules::WRITE != 0 {
        s.push('w');
    }
    if bits & device_rules::MKNOD != 0 {
        s.push('m');
    }
    s
}

/// systemd's names for the devices one rule covers: a device node by
/// number, a driver group from /proc/devices (`char-pts`), or every group
/// of a kind (`char-*`).
fn device_nodes(r: &Rule, proc_devices: &str) -> Vec<String> {
    let kind = match r.kind {
        Kind::Block => "block",
        _ => "char",
    };
    match (r.major, r.minor) {
        (None, _) => vec![format!("{kind}-*")],
        (Some(maj), Some(min)) => vec![format!("/dev/{kind}/{maj}:{min}")],
        (Some(maj), None) => {
            let section = if kind == "block" {
                "Block devices:"
            } else {
                "Character devices:"
            };
            groups_with_major(proc_devices, section, maj)
                .map(|g| format!("{kind}-{g}"))
                .collect()
        }
    }
}

/// The driver groups of one kind that /proc/devices lists under `major`.
fn groups_with_major<'a>(
    proc_devices: &'a str,
    section: &'a str,
    major: u32,
) -> impl Iterator<Item = &'a str> + 'a {
    let mut in_section = false;
    proc_devices.lines().filter_map(move |line| {
        if line.ends_with(':') {
            in_section = line == section;
            return None;
        }
        let mut f = line.split_whitespace();
        let (m, name) = (f.next()?, f.next()?);
        (in_section && m.parse::<u32>().ok()? == major).then_some(name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmask_sets_bits() {
        assert_eq!(bitmask("0").unwrap(), vec![1]);
        assert_eq!(bitmask("0-3,9").unwrap(), vec![0x0f, 0x02]);
        assert!(bitmask("3-1").is_err());
        assert!(bitmask("x").is_err());
    }

    #[test]
    fn quota_rounds_up_to_10ms_per_second() {
        let p = cpu_quota(Some(50_000), Some(100_000));
        assert_eq!(p[0], prop("CPUQuotaPeriodUSec", Value::U64(100_000)));
        assert_eq!(p[1], prop("CPUQuotaPerSecUSec", Value::U64(500_000)));
        let p = cpu_quota(Some(1234), None);
        assert_eq!(p, vec![prop("CPUQuotaPerSecUSec", Value::U64(20_000))]);
        assert!(cpu_quota(None, None).is_empty());
        let p = cpu_quota(Some(i64::MAX), Some(1));
        assert_eq!(p[1], prop("CPUQuotaPerSecUSec", Value::U64(u64::MAX)));
    }

    #[test]
    fn device_groups_come_from_proc_devices() {
        let pd =
            "Character devices:\n  1 mem\n  4 tty\n  4 ttyS\n136 pts\n\nBlock devices:\n  8 sd\n";
        let r = |kind, major, minor| Rule {
            allow: true,
            kind,
            major,
            minor,
            access: device_rules::READ | device_rules::WRITE,
        };
        assert_eq!(
            device_nodes(&r(Kind::Char, Some(4), None), pd),
            vec!["char-tty", "char-ttyS"]
        );
        assert_eq!(
            device_nodes(&r(Kind::Block, Some(8), None), pd),
            vec!["block-sd"]
        );
        assert_eq!(
            device_nodes(&r(Kind::Char, Some(1), Some(3)), pd),
            vec!["/dev/char/1:3"]
        );
        assert_eq!(
            device_nodes(&r(Kind::Block, None, None), pd),
            vec!["block-*"]
        );
    }

    #[test]
    fn unified_files_systemd_writes_become_properties() {
        let u = std::collections::HashMap::from([
            ("memory.high".to_string(), "max".to_string()),
            ("memory.min".to_string(), "1048576".to_string()),
            ("cpuset.cpus".to_string(), "1".to_string()),
            ("io.max".to_string(), "8:0 rbps=1".to_string()),
        ]);
        let p = unified(&u).unwrap();
        assert_eq!(
            p,
            vec![
                prop("AllowedCPUs", Value::Bytes(vec![2])),
                prop("MemoryHigh", Value::U64(u64::MAX)),
                prop("MemoryMin", Value::U64(1_048_576)),
            ]
        );
        let bad = std::collections::HashMap::from([("pids.max".to_string(), "lots".to_string())]);
        assert!(unified(&bad)
            .unwrap_err()
            .to_string()
            .contains("unified.pids.max"));
    }

    #[test]
    fn allow_all_last_is_policy_auto() {
        let all = |allow| Rule {
            allow,
            kind: Kind::All,
            major: None,
            minor: None,
            access: device_rules::ALL_ACCESS,
        };
        let p = devices(&[all(false), all(true)]);
        assert_eq!(p[0], prop("DevicePolicy", Value::Str("auto".into())));
        let p = devices(&[all(true), all(false)]);
        assert_eq!(p[0], prop("DevicePolicy", Value::Str("strict".into())));
        assert_eq!(p[1], prop("DeviceAllow", Value::Pairs(vec![])));
    }
}
