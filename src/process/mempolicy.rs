//! `linux.memoryPolicy`: the NUMA memory policy of every process of the
//! container (set_mempolicy(2)), checked at `create` and set by the init
//! and by each exec'd process before its program runs.

use oci_spec::runtime::{LinuxMemoryPolicy, MemoryPolicyFlagType as F, MemoryPolicyModeType as M};

use crate::error::{Error, Result};

const FIELD: &str = "config.json: linux.memoryPolicy";

/// The most nodes a mask here can name (the kernel's own limit is 1024).
const MAX_NODES: usize = 1024;

/// The policy as set_mempolicy takes it: mode with its flags, and the
/// nodemask (one bit per node).
#[derive(Debug, PartialEq)]
pub struct Policy {
    pub mode: i32,
    pub mask: Vec<u64>,
}

fn mode_number(m: M) -> i32 {
    match m {
        M::MpolDefault => 0,
        M::MpolPreferred => 1,
        M::MpolBind => 2,
        M::MpolInterleave => 3,
        M::MpolLocal => 4,
        M::MpolPreferredMany => 5,
        M::MpolWeightedInterleave => 6,
    }
}

fn flag_bit(f: F) -> i32 {
    match f {
        F::MpolFNumaBalancing => 1 << 13,
        F::MpolFRelativeNodes => 1 << 14,
        F::MpolFStaticNodes => 1 << 15,
    }
}

/// "0-3,7" -> node numbers.
pub fn parse_nodes(s: &str) -> std::result::Result<Vec<usize>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let num = |t: &str| {
            t.trim()
                .parse::<usize>()
                .map_err(|_| format!("{t:?} is not a node number"))
        };
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(part)?, num(part)?),
        };
        if lo > hi {
            return Err(format!("{part:?} is an empty range"));
        }
        if hi >= MAX_NODES {
            return Err(format!("node {hi} is above the limit of {}", MAX_NODES - 1));
        }
        out.extend(lo..=hi);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Check the policy against what the mode allows and, unless the nodes are
/// relative, against the nodes this host has (`host_nodes`, from
/// /sys/devices/system/node/possible; None where there is no such file).
pub fn compile(p: &LinuxMemoryPolicy, host_nodes: Option<&[usize]>) -> Result<Policy> {
    let bad =
        |what: String| Error::InvalidConfig(format!("{FIELD}: invalid memory policy: {what}"));
    let nodes = parse_nodes(p.nodes().as_deref().unwrap_or(""))
        .map_err(|e| Error::InvalidConfig(format!("{FIELD}.nodes: {e}")))?;
    let flags: Vec<F> = p.flags().clone().unwrap_or_default();
    let mode = p.mode();
    match mode {
        M::MpolDefault | M::MpolLocal if !nodes.is_empty() => {
            return Err(bad(format!(
                "{mode} mode requires 0 nodes but got {}",
                nodes.len()
            )))
        }
        M::MpolDefault | M::MpolLocal if !flags.is_empty() => {
            return Err(bad(format!("{mode} takes no flags")))
        }
        M::MpolBind | M::MpolInterleave | M::MpolWeightedInterleave | M::MpolPreferredMany
            if nodes.is_empty() =>
        {
            return Err(bad(format!("{mode} needs nodes")))
        }
        _ => {}
    }
    let relative = flags.contains(&F::MpolFRelativeNodes);
    if relative && flags.contains(&F::MpolFStaticNodes) {
        return Err(bad(
            "MPOL_F_RELATIVE_NODES and MPOL_F_STATIC_NODES exclude each other".into(),
        ));
    }
    if let (false, Some(host)) = (relative, host_nodes) {
        if let Some(n) = nodes.iter().find(|n| !host.contains(n)) {
            return Err(Error::InvalidConfig(format!(
                "{FIELD}.nodes: node {n} is not one of this host's ({})",
                host.iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            )));
        }
    }
    let mut mask = vec![0u64; MAX_NODES / 64];
    for n in &nodes {
        mask[n / 64] |= 1 << (n % 64);
    }
    let mode = flags
        .iter()
        .fold(mode_number(mode), |m, f| m | flag_bit(*f));
    Ok(Policy { mode, mask })
}

/// This host's NUMA nodes, or None where sysfs does not say.
pub fn host_nodes() -> Option<Vec<usize>> {
    let s = std::fs::read_to_string("/sys/devices/system/node/possible").ok()?;
    parse_nodes(s.trim()).ok()
}

/// set_mempolicy(2) for the calling process (inherited by its children).
pub fn apply(p: &Policy) -> Result<()> {
    // SAFETY: mode, a pointer to `mask` (alive for the call) and its size
    // in bits plus one, as the kernel counts maxnode.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_set_mempolicy,
            p.mode as libc::c_long,
            p.mask.as_ptr(),
            (p.mask.len() * 64 + 1) as libc::c_ulong,
        )
    };
    if rc != 0 {
        return Err(Error::sys(
            format!("{FIELD}: set_mempolicy"),
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(json: &str) -> LinuxMemoryPolicy {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn nodes_parse_as_ranges() {
        assert_eq!(parse_nodes("0-2,5,5").unwrap(), vec![0, 1, 2, 5]);
        assert_eq!(parse_nodes("").unwrap(), Vec::<usize>::new());
        assert!(parse_nodes("3-1").is_err());
        assert!(parse_nodes("x").is_err());
        assert!(parse_nodes("2000").is_err());
    }

    #[test]
    fn modes_flags_and_host_nodes() {
        let host = [0usize, 1];
        let p = compile(
            &policy(r#"{"mode":"MPOL_BIND","nodes":"1","flags":["MPOL_F_STATIC_NODES"]}"#),
            Some(&host),
        )
        .unwrap();
        assert_eq!(p.mode, 2 | (1 << 15));
        assert_eq!(p.mask[0], 0b10);
        let err = compile(
            &policy(r#"{"mode":"MPOL_DEFAULT","nodes":"0-7"}"#),
            Some(&host),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("mode requires 0 nodes but got 8"), "{err}");
        let err = compile(
            &policy(r#"{"mode":"MPOL_INTERLEAVE","nodes":"4"}"#),
            Some(&host),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("node 4 is not one of this host's"), "{err}");
        // Relative nodes are not the host's own numbers.
        assert!(compile(
            &policy(r#"{"mode":"MPOL_PREFERRED","nodes":"4","flags":["MPOL_F_RELATIVE_NODES"]}"#),
            Some(&host)
        )
        .is_ok());
        assert!(compile(&policy(r#"{"mode":"MPOL_BIND"}"#), Some(&host)).is_err());
        assert_eq!(
            compile(&policy(r#"{"mode":"MPOL_DEFAULT"}"#), Some(&host))
                .unwrap()
                .mode,
            0
        );
    }
}
