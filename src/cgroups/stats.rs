//! What `events` reports: the container's cgroup counters in the JSON
//! shape runc's `events` prints (cpu, memory, pids, blkio, hugetlb), read
//! from v1 or v2 files.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

#[derive(Serialize, Default, Debug)]
pub struct Stats {
    pub cpu: Cpu,
    pub memory: Memory,
    pub pids: Pids,
    pub blkio: Blkio,
    pub hugetlb: BTreeMap<String, Usage>,
}

#[derive(Serialize, Default, Debug)]
pub struct Cpu {
    pub usage: CpuUsage,
    pub throttling: Throttling,
}

#[derive(Serialize, Default, Debug)]
pub struct CpuUsage {
    /// Nanoseconds.
    pub total: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
}

#[derive(Serialize, Default, Debug)]
pub struct Throttling {
    pub periods: u64,
    pub throttled_periods: u64,
    /// Nanoseconds.
    pub throttled_time: u64,
}

#[derive(Serialize, Default, Debug)]
pub struct Usage {
    pub limit: u64,
    pub usage: u64,
    pub max: u64,
    pub failcnt: u64,
}

#[derive(Serialize, Default, Debug)]
pub struct Memory {
    pub usage: Usage,
    pub swap: Usage,
    pub raw: BTreeMap<String, u64>,
}

#[derive(Serialize, Default, Debug)]
pub struct Pids {
    pub current: u64,
    /// 0: no limit.
    pub limit: u64,
}

#[derive(Serialize, Default, Debug, PartialEq)]
pub struct BlkioEntry {
    pub major: u64,
    pub minor: u64,
    pub op: String,
    pub value: u64,
}

#[derive(Serialize, Default, Debug)]
pub struct Blkio {
    #[serde(rename = "ioServiceBytesRecursive")]
    pub service_bytes: Vec<BlkioEntry>,
    #[serde(rename = "ioServicedRecursive")]
    pub serviced: Vec<BlkioEntry>,
}

/// Where each cgroup file lives (None: no hierarchy has its controller).
pub type Locate<'a> = &'a dyn Fn(&str) -> Option<PathBuf>;

fn read(locate: Locate, file: &str) -> Option<String> {
    locate(file).and_then(|p| std::fs::read_to_string(p).ok())
}

/// A number, with "max" (and anything unparsable) as 0, as runc reports
/// "no limit".
fn num(locate: Locate, file: &str) -> u64 {
    read(locate, file)
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// "key value" lines (memory.stat, cpu.stat, memory.events).
pub fn keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.parse().ok()?))
        })
        .collect()
}

/// v1 blkio files: "MAJ:MIN Op value" lines (plus a "Total" line).
fn blkio_v1(text: &str) -> Vec<BlkioEntry> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let (maj, min) = it.next()?.split_once(':')?;
            Some(BlkioEntry {
                major: maj.parse().ok()?,
                minor: min.parse().ok()?,
                op: it.next()?.to_string(),
                value: it.next()?.parse().ok()?,
            })
        })
        .collect()
}

/// v2 io.stat: "MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=.." lines.
fn io_stat_v2(text: &str) -> Blkio {
    let mut b = Blkio::default();
    for l in text.lines() {
        let mut it = l.split_whitespace();
        let Some((maj, min)) = it.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (maj.parse(), min.parse()) else {
            continue;
        };
        for kv in it {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let Ok(value) = v.parse() else { continue };
            let (list, op) = match k {
                "rbytes" => (&mut b.service_bytes, "Read"),
                "wbytes" => (&mut b.service_bytes, "Write"),
                "rios" => (&mut b.serviced, "Read"),
                "wios" => (&mut b.serviced, "Write"),
                _ => continue,
            };
            list.push(BlkioEntry {
                major,
                minor,
                op: op.into(),
                value,
            });
        }
    }
    b
}

/// Huge page sizes the kernel has, as the cgroup files name them (2MB).
fn hugepage_sizes() -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/sys/kernel/mm/hugepages")
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(kb) = name
            .strip_prefix("hugepages-")
            .and_then(|s| s.strip_suffix("kB"))
            .and_then(|s| s.parse::<u64>().ok())
        else {
            continue;
        };
        out.push(match kb {
            kb if kb >= 1 << 20 && kb % (1 << 20) == 0 => format!("{}GB", kb >> 20),
            kb if kb >= 1 << 10 && kb % (1 << 10) == 0 => format!("{}MB", kb >> 10),
            kb => format!("{kb}KB"),
        });
    }
    out.sort();
    out
}

pub fn v1(locate: Locate, hugetlb_v2: bool) -> Stats {
    let mut s = Stats::default();
    let stat = keyed(&read(locate, "cpuacct.stat").unwrap_or_default());
    // cpuacct.stat counts USER_HZ ticks (100 a second on Linux).
    s.cpu.usage = CpuUsage {
        total: num(locate, "cpuacct.usage"),
        percpu: read(locate, "cpuacct.usage_percpu")
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect(),
        kernel: stat.get("system").copied().unwrap_or(0) * 10_000_000,
        user: stat.get("user").copied().unwrap_or(0) * 10_000_000,
    };
    let t = keyed(&read(locate, "cpu.stat").unwrap_or_default());
    s.cpu.throttling = Throttling {
        periods: t.get("nr_periods").copied().unwrap_or(0),
        throttled_periods: t.get("nr_throttled").copied().unwrap_or(0),
        throttled_time: t.get("throttled_time").copied().unwrap_or(0),
    };
    let usage = |prefix: &str| Usage {
        limit: num(locate, &format!("{prefix}.limit_in_bytes")),
        usage: num(locate, &format!("{prefix}.usage_in_bytes")),
        max: num(locate, &format!("{prefix}.max_usage_in_bytes")),
        failcnt: num(locate, &format!("{prefix}.failcnt")),
    };
    s.memory.usage = usage("memory");
    s.memory.swap = usage("memory.memsw");
    s.memory.raw = keyed(&read(locate, "memory.stat").unwrap_or_default());
    s.pids = Pids {
        current: num(locate, "pids.current"),
        limit: num(locate, "pids.max"),
    };
    s.blkio.service_bytes =
        blkio_v1(&read(locate, "blkio.throttle.io_service_bytes_recursive").unwrap_or_default());
    s.blkio.serviced =
        blkio_v1(&read(locate, "blkio.throttle.io_serviced_recursive").unwrap_or_default());
    if hugetlb_v2 {
        s.hugetlb = hugetlb_v2_stats(locate);
    } else {
        for size in hugepage_sizes() {
            let h = format!("hugetlb.{size}");
            if locate(&format!("{h}.usage_in_bytes")).is_some_and(|p| p.exists()) {
                s.hugetlb.insert(size, usage(&h));
            }
        }
    }
    s
}

fn hugetlb_v2_stats(locate: Locate) -> BTreeMap<String, Usage> {
    let mut out = BTreeMap::new();
    for size in hugepage_sizes() {
        let h = format!("hugetlb.{size}");
        if !locate(&format!("{h}.current")).is_some_and(|p| p.exists()) {
            continue;
        }
        let events = keyed(&read(locate, &format!("{h}.events")).unwrap_or_default());
        out.insert(
            size,
            Usage {
                limit: num(locate, &format!("{h}.max")),
                usage: num(locate, &format!("{h}.current")),
                max: 0,
                failcnt: events.get("max").copied().unwrap_or(0),
            },
        );
    }
    out
}

pub fn v2(locate: Locate) -> Stats {
    let mut s = Stats::default();
    let cpu = keyed(&read(locate, "cpu.stat").unwrap_or_default());
    let us = |k: &str| cpu.get(k).copied().unwrap_or(0) * 1000;
    s.cpu.usage = CpuUsage {
        total: us("usage_usec"),
        percpu: Vec::new(),
        kernel: us("system_usec"),
        user: us("user_usec"),
    };
    s.cpu.throttling = Throttling {
        periods: cpu.get("nr_periods").copied().unwrap_or(0),
        throttled_periods: cpu.get("nr_throttled").copied().unwrap_or(0),
        throttled_time: us("throttled_usec"),
    };
    let events = keyed(&read(locate, "memory.events").unwrap_or_default());
    s.memory.usage = Usage {
        limit: num(locate, "memory.max"),
        usage: num(locate, "memory.current"),
        max: num(locate, "memory.peak"),
        failcnt: events.get("max").copied().unwrap_or(0),
    };
    s.memory.swap = Usage {
        limit: num(locate, "memory.swap.max"),
        usage: num(locate, "memory.swap.current"),
        max: num(locate, "memory.swap.peak"),
        failcnt: 0,
    };
    s.memory.raw = keyed(&read(locate, "memory.stat").unwrap_or_default());
    s.pids = Pids {
        current: num(locate, "pids.current"),
        limit: num(locate, "pids.max"),
    };
    s.blkio = io_stat_v2(&read(locate, "io.stat").unwrap_or_default());
    s.hugetlb = hugetlb_v2_stats(locate);
    s
}

/// How many times the OOM killer has killed in the cgroup so far (v1
/// memory.oom_control, v2 memory.events).
pub fn oom_kills(locate: Locate, v2: bool) -> u64 {
    let file = if v2 {
        "memory.events"
    } else {
        "memory.oom_control"
    };
    keyed(&read(locate, file).unwrap_or_default())
        .get("oom_kill")
        .copied()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_io_files() {
        let v1 = blkio_v1("8:0 Read 4096\n8:0 Write 0\nTotal 4096\n");
        assert_eq!(v1.len(), 2);
        assert_eq!(
            v1[0],
            BlkioEntry {
                major: 8,
                minor: 0,
                op: "Read".into(),
                value: 4096
            }
        );
        let v2 = io_stat_v2("254:0 rbytes=512 wbytes=1024 rios=1 wios=2 dbytes=0 dios=0\n");
        assert_eq!(v2.service_bytes.len(), 2);
        assert_eq!(v2.service_bytes[1].value, 1024);
        assert_eq!(v2.serviced[0].op, "Read");
    }

    #[test]
    fn reads_a_fake_v2_cgroup() {
        let dir = std::env::temp_dir().join(format!("berth-stats-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (f, v) in [
            ("cpu.stat", "usage_usec 10\nuser_usec 6\nsystem_usec 4\nnr_periods 3\nnr_throttled 1\nthrottled_usec 2\n"),
            ("memory.current", "4096\n"),
            ("memory.max", "max\n"),
            ("memory.events", "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n"),
            ("pids.current", "2\n"),
            ("pids.max", "10\n"),
        ] {
            std::fs::write(dir.join(f), v).unwrap();
        }
        let locate = |f: &str| Some(dir.join(f));
        let s = v2(&locate);
        assert_eq!(s.cpu.usage.total, 10_000);
        assert_eq!(s.cpu.usage.kernel, 4_000);
        assert_eq!(s.cpu.throttling.throttled_time, 2_000);
        assert_eq!(s.memory.usage.usage, 4096);
        assert_eq!(s.memory.usage.limit, 0);
        assert_eq!(s.memory.usage.failcnt, 5);
        assert_eq!((s.pids.current, s.pids.limit), (2, 10));
        assert_eq!(oom_kills(&locate, true), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
