use std::io::Read;

use anyhow::{bail, Context, Result};
use berth::container::update::update;
use berth::state::Root;
use serde_json::{json, Map, Value};

/// runc's `update` flags; memory sizes take runc's suffixes (k, m, g...).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A linux.resources JSON file ("-": stdin); excludes the other flags.
    #[arg(short = 'r', long)]
    pub resources: Option<String>,
    /// Block IO weight, 10 to 1000.
    #[arg(long)]
    pub blkio_weight: Option<u16>,
    /// CPU CFS period in microseconds.
    #[arg(long)]
    pub cpu_period: Option<u64>,
    /// CPU CFS quota in microseconds per period (-1: none).
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// CPU CFS burst in microseconds.
    #[arg(long)]
    pub cpu_burst: Option<u64>,
    /// CPU shares (relative weight).
    #[arg(long, alias = "cpu-shares")]
    pub cpu_share: Option<u64>,
    /// Realtime period in microseconds.
    #[arg(long)]
    pub cpu_rt_period: Option<u64>,
    /// Realtime runtime in microseconds per period.
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<i64>,
    /// cpu.idle: 1 makes the cgroup an idle one (SCHED_IDLE), 0 not.
    #[arg(long)]
    pub cpu_idle: Option<i64>,
    /// CPUs the container may run on (e.g. 0-3,6).
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes the container may use (e.g. 0,1).
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    /// Memory limit (bytes, or with k, m, g; -1: none).
    #[arg(long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory soft limit (bytes, or with k, m, g).
    #[arg(long, allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    /// Memory plus swap limit (bytes, or with k, m, g; -1: none).
    #[arg(long, allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Most processes at once (-1: no limit).
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Intel RDT L3 cache schema (refused: RDT is set at create only).
    #[arg(long)]
    pub l3_cache_schema: Option<String>,
    /// Intel RDT memory bandwidth schema (refused: RDT is set at create
    /// only).
    #[arg(long)]
    pub mem_bw_schema: Option<String>,
    /// The container's id.
    pub id: String,
}

/// A size as runc reads it: a number with an optional binary suffix
/// (b, k, m, g, t, p; `kb`, `KiB` and the like too); -1 is unlimited.
pub fn parse_bytes(s: &str) -> Result<i64> {
    let t = s.trim();
    if t == "-1" {
        return Ok(-1);
    }
    let lower = t.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(split);
    let shift = match unit.trim_end_matches("ib").trim_end_matches('b') {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        "p" => 50,
        _ => bail!("{s:?} is not a size (a number with an optional k, m, g, t or p)"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| anyhow::anyhow!("{s:?} is not a size"))?;
    Ok((n * (1u64 << shift) as f64) as i64)
}

fn delta_from_flags(a: &Args) -> Result<Value> {
    let mut r = Map::new();
    let mut put = |cat: &str, key: &str, v: Value| {
        r.entry(cat)
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .map(|o| o.insert(key.into(), v));
    };
    if let Some(v) = a.blkio_weight {
        put("blockIO", "weight", json!(v));
    }
    for (key, v) in [
        ("period", a.cpu_period.map(|v| json!(v))),
        ("quota", a.cpu_quota.map(|v| json!(v))),
        ("burst", a.cpu_burst.map(|v| json!(v))),
        ("shares", a.cpu_share.map(|v| json!(v))),
        ("realtimePeriod", a.cpu_rt_period.map(|v| json!(v))),
        ("realtimeRuntime", a.cpu_rt_runtime.map(|v| json!(v))),
        ("idle", a.cpu_idle.map(|v| json!(v))),
        ("cpus", a.cpuset_cpus.as_ref().map(|v| json!(v))),
        ("mems", a.cpuset_mems.as_ref().map(|v| json!(v))),
    ] {
        if let Some(v) = v {
            put("cpu", key, v);
        }
    }
    for (key, flag, v) in [
        ("limit", "--memory", &a.memory),
        ("reservation", "--memory-reservation", &a.memory_reservation),
        ("swap", "--memory-swap", &a.memory_swap),
    ] {
        if let Some(v) = v {
            let n = parse_bytes(v).with_context(|| flag.to_string())?;
            put("memory", key, json!(n));
        }
    }
    if let Some(v) = a.pids_limit {
        put("pids", "limit", json!(v));
    }
    Ok(Value::Object(r))
}

pub fn run(root: &Root, a: Args) -> Result<u8> {
    if a.l3_cache_schema.is_some() || a.mem_bw_schema.is_some() {
        bail!("--l3-cache-schema/--mem-bw-schema: berth applies linux.intelRdt at create only; update does not change it");
    }
    let flags = delta_from_flags(&a)?;
    let delta = match &a.resources {
        Some(file) => {
            if flags.as_object().is_some_and(|o| !o.is_empty()) {
                bail!("update: --resources and the per-resource flags cannot be combined");
            }
            let mut raw = String::new();
            if file == "-" {
                std::io::stdin()
                    .read_to_string(&mut raw)
                    .context("read resources from stdin")?;
            } else {
                raw = std::fs::read_to_string(file).with_context(|| format!("read {file}"))?;
            }
            berth::json::parse(raw.as_bytes())
                .map_err(|msg| anyhow::anyhow!("--resources {file}: {msg}"))?
        }
        None => flags,
    };
    if delta.as_object().is_some_and(|o| o.is_empty()) {
        bail!("update: nothing to change (give --resources or a resource flag)");
    }
    update(root, &a.id, &delta)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::parse_bytes;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("1024").unwrap(), 1024);
        assert_eq!(parse_bytes("64m").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("1G").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("2KiB").unwrap(), 2048);
        assert_eq!(parse_bytes("-1").unwrap(), -1);
        assert!(parse_bytes("12q").is_err());
        assert!(parse_bytes("m").is_err());
    }
}
