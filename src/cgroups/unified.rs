//! linux.resources.unified: raw cgroup v2 key/values, written as given
//! (after the typed fields, so they win). Only on a pure v2 host: a
//! hybrid or v1 host puts the controllers elsewhere.

use std::collections::HashMap;

use super::setting::{invalid, Probe, Setting};
use crate::error::Result;

/// Files that move or kill processes, or reshape the tree: not limits.
const REFUSED: &[&str] = &[
    "cgroup.procs",
    "cgroup.threads",
    "cgroup.kill",
    "cgroup.freeze",
    "cgroup.subtree_control",
    "cgroup.type",
];

pub fn settings(unified: &HashMap<String, String>, probe: &dyn Probe) -> Result<Vec<Setting>> {
    let mut keys: Vec<_> = unified.iter().collect();
    keys.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = Vec::new();
    for (key, value) in keys {
        if key.is_empty() || key.contains('/') || key.starts_with('.') || !key.contains('.') {
            return Err(invalid(
                "unified",
                format!("{key:?} is not a cgroup file name"),
            ));
        }
        if REFUSED.contains(&key.as_str()) {
            return Err(invalid(
                "unified",
                format!("{key:?} is not a resource limit; berth manages it"),
            ));
        }
        if !probe.exists(key) {
            return Err(invalid(
                "unified",
                format!("{key:?}: no such file in the container's cgroup (unknown key, or its controller is not available)"),
            ));
        }
        out.push(Setting::new("unified", key.as_str(), value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::setting::fake::FakeCgroup;
    use super::*;

    #[test]
    fn keys() {
        let cg = FakeCgroup::with(&[("memory.high", "max"), ("pids.max", "max")]);
        let mut m = HashMap::new();
        m.insert("pids.max".to_string(), "20".to_string());
        m.insert("memory.high".to_string(), "1000000".to_string());
        let s = settings(&m, &cg).unwrap();
        assert_eq!(
            (s[0].file.as_str(), s[0].value.as_str()),
            ("memory.high", "1000000")
        );
        for bad in ["../memory.max", "cgroup.procs", "nodot", "memory.nosuch"] {
            let mut m = HashMap::new();
            m.insert(bad.to_string(), "1".to_string());
            assert!(
                settings(&m, &cg)
                    .unwrap_err()
                    .to_string()
                    .contains("unified"),
                "{bad}"
            );
        }
    }
}
