//! linux.resources.network: v1's net_cls and net_prio controllers. cgroup
//! v2 has neither (an eBPF program's job there), so it is an error there.

use oci_spec::runtime::LinuxNetwork;

use super::setting::{invalid, unsupported, Setting};
use crate::error::Result;

pub fn v1(n: &LinuxNetwork) -> Result<Vec<Setting>> {
    let mut out = Vec::new();
    if let Some(id) = n.class_id() {
        out.push(Setting::new("network.classID", "net_cls.classid", id));
    }
    for p in n.priorities().iter().flatten() {
        let name = p.name();
        if name.is_empty() || name.contains(char::is_whitespace) || name.contains('/') {
            return Err(invalid(
                "network.priorities",
                format!("{name:?} is not an interface name"),
            ));
        }
        out.push(Setting::new(
            "network.priorities",
            "net_prio.ifpriomap",
            format!("{name} {}", p.priority()),
        ));
    }
    Ok(out)
}

pub fn v2(n: &LinuxNetwork) -> Result<Vec<Setting>> {
    if n.class_id().is_some() || n.priorities().as_ref().is_some_and(|p| !p.is_empty()) {
        return Err(unsupported(
            "network",
            "v2",
            "net_cls and net_prio exist only in cgroup v1",
        ));
    }
    Ok(Vec::new())
}
