//! `update`: change a live container's resources. The new values are
//! merged into the config snapshotted at create (so a later `update` or
//! `events` sees them), and the merged categories that changed are
//! written to the cgroup.

use oci_spec::runtime::LinuxResources;
use serde_json::{Map, Value};

use super::{Container, Status};
use crate::error::{Error, Result};
use crate::state::{write_atomic, Root, CONFIG_FILE};

/// `a` with every key of `b` laid over it; objects merge key by key,
/// anything else (arrays included) is replaced.
fn merge(a: &mut Value, b: &Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                if v.is_null() {
                    continue;
                }
                merge(a.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b.clone(),
    }
}

fn parse(v: &Value, what: &str) -> Result<LinuxResources> {
    serde_json::from_value(v.clone())
        .map_err(|e| Error::InvalidConfig(format!("update: {what}: {e}")))
}

/// The fields where 0 (or "") means "leave as it is", as runc's update
/// reads them: dockerd sends every field of the resources on each
/// `docker update`, zeros for what the user did not give.
const UNSET_WHEN_ZERO: &[(&str, &[&str])] = &[
    (
        "memory",
        &["limit", "reservation", "swap", "kernel", "kernelTCP"],
    ),
    (
        "cpu",
        &[
            "shares",
            "quota",
            "period",
            "realtimeRuntime",
            "realtimePeriod",
            "cpus",
            "mems",
        ],
    ),
    ("blockIO", &["weight", "leafWeight"]),
    ("pids", &["limit"]),
];

/// `delta` without the zero fields above, and without categories left
/// empty by that.
fn without_unset(delta: &Value) -> Value {
    let mut out = delta.clone();
    let Some(map) = out.as_object_mut() else {
        return out;
    };
    for (cat, fields) in UNSET_WHEN_ZERO {
        let Some(obj) = map.get_mut(*cat).and_then(Value::as_object_mut) else {
            continue;
        };
        obj.retain(|k, v| {
            !(fields.contains(&k.as_str())
                && (v.as_i64() == Some(0) || v.as_u64() == Some(0) || v.as_str() == Some("")))
        });
        if obj.is_empty() {
            map.remove(*cat);
        }
    }
    out
}

/// As runc: an update that makes memory unlimited and says nothing of swap
/// makes memory plus swap unlimited too. Otherwise a swap limit set
/// earlier stays in the merged config, and the kernel refuses a memory
/// limit above it (cgroup v1 keeps limit <= memsw).
fn unlimited_memory_lifts_swap(delta: &mut Value) {
    let Some(mem) = delta.get_mut("memory").and_then(Value::as_object_mut) else {
        return;
    };
    if mem.get("limit").and_then(Value::as_i64) == Some(-1) && !mem.contains_key("swap") {
        mem.insert("swap".into(), Value::from(-1));
    }
}

/// Apply `delta` (a `linux.resources` object) to container `id`.
pub fn update(root: &Root, id: &str, delta: &Value) -> Result<()> {
    let mut delta = without_unset(delta);
    unlimited_memory_lifts_swap(&mut delta);
    if !delta.is_object() {
        return Err(Error::InvalidConfig(
            "update: resources must be a JSON object (linux.resources)".into(),
        ));
    }
    parse(&delta, "resources")?;
    let c = Container::open(root, id)?;
    let status = c.status();
    if status == Status::Stopped {
        return Err(Error::WrongState {
            id: id.into(),
            status: status.to_string(),
            msg: "cannot update a stopped container".into(),
        });
    }
    let mut spec = c.dir.config()?;
    let old = spec
        .linux()
        .as_ref()
        .and_then(|l| l.resources().as_ref())
        .map(serde_json::to_value)
        .transpose()
        .map_err(|e| Error::Other(e.to_string()))?
        .unwrap_or_else(|| Value::Object(Map::new()));
    // containerd's update sends the whole resources, the devices as they
    // were at create: the same rules are no change. Other rules are
    // refused (a live device policy is not replaced).
    // Compared parsed, so that fields written out or left to their
    // defaults are the same rules.
    if let Some(devices) = delta.as_object_mut().and_then(|m| m.remove("devices")) {
        if !devices.is_null() {
            let new = parse(&serde_json::json!({ "devices": devices }), "resources")?;
            let current = parse(&old, "resources")?;
            if new.devices().clone().unwrap_or_default()
                != current.devices().clone().unwrap_or_default()
            {
                return Err(Error::InvalidConfig(
                    "update: linux.resources.devices cannot be changed on a live container".into(),
                ));
            }
        }
    }
    let delta = &delta;
    let delta_map = delta.as_object().cloned().unwrap_or_default();
    let mut merged = old;
    merge(&mut merged, delta);
    // Write whole categories from the merged config: a v2 swap limit is
    // computed from the memory limit, a v1 quota is checked against the
    // period.
    let touched: Map<String, Value> = merged
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| delta_map.contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let apply = parse(&Value::Object(touched), "resources")?;
    crate::logging::debug(&format!("update {id}: {}", delta));
    c.cgroup().apply(&apply)?;

    let merged = parse(&merged, "merged resources")?;
    if let Some(linux) = spec.linux_mut() {
        linux.set_resources(Some(merged));
    }
    let data = serde_json::to_vec(&spec).map_err(|e| Error::Other(e.to_string()))?;
    write_atomic(&c.dir.file(CONFIG_FILE), &data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn zeros_from_docker_update_leave_fields_alone() {
        let d = without_unset(&json!({
            "memory": {"limit": 0, "reservation": 0, "swap": 0, "kernel": 0},
            "cpu": {"shares": 0, "quota": 0, "period": 0, "cpus": "", "mems": ""},
            "blockIO": {"weight": 300},
            "pids": {"limit": 0}
        }));
        assert_eq!(d, json!({"blockIO": {"weight": 300}}));
        let d = without_unset(&json!({"memory": {"limit": 1048576, "swap": 0}}));
        assert_eq!(d, json!({"memory": {"limit": 1048576}}));
    }

    #[test]
    fn merges_key_by_key() {
        let mut a = json!({"memory": {"limit": 1, "swap": 2}, "cpu": {"cpus": "0"}});
        merge(
            &mut a,
            &json!({"memory": {"limit": 5}, "pids": {"limit": 3}, "cpu": null}),
        );
        assert_eq!(
            a,
            json!({"memory": {"limit": 5, "swap": 2}, "cpu": {"cpus": "0"}, "pids": {"limit": 3}})
        );
    }
}
