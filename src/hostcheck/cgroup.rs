//! The cgroup layout, the controllers there are, and whether the caller
//! may make cgroups.

use std::path::Path;

use super::{Caller, Fact};
use crate::cgroups::Layout;

/// The controllers berth writes, and the config fields that need each.
const V2_USED: &[(&str, &str)] = &[
    ("cpu", "linux.resources.cpu (shares, quota)"),
    ("cpuset", "linux.resources.cpu.cpus/mems"),
    ("memory", "linux.resources.memory"),
    ("pids", "linux.resources.pids"),
    ("io", "linux.resources.blockIO"),
    ("hugetlb", "linux.resources.hugepageLimits"),
];
const V1_USED: &[(&str, &str)] = &[
    ("cpu", "linux.resources.cpu (shares, quota)"),
    ("cpuacct", "cpu statistics (events --stats)"),
    ("cpuset", "linux.resources.cpu.cpus/mems"),
    ("memory", "linux.resources.memory"),
    ("pids", "linux.resources.pids"),
    ("blkio", "linux.resources.blockIO"),
    ("hugetlb", "linux.resources.hugepageLimits"),
    ("devices", "linux.resources.devices"),
    ("freezer", "pause and resume"),
    ("net_cls", "linux.resources.network.classID"),
    ("net_prio", "linux.resources.network.priorities"),
];

pub(super) fn facts(layout: Option<&Layout>, caller: Caller) -> Vec<Fact> {
    let Some(l) = layout.filter(|l| l.unified.is_some() || !l.v1.is_empty()) else {
        return vec![Fact::fail(
            "cgroup.layout",
            "no cgroup filesystem is mounted",
            "containers cannot be given a cgroup: create fails",
        )];
    };
    vec![layout_fact(l), controllers(l), delegation(l, caller)]
}

fn layout_fact(l: &Layout) -> Fact {
    match (&l.unified, l.v1.is_empty()) {
        (Some((m, _)), true) => Fact::ok(
            "cgroup.layout",
            format!("pure cgroup v2 at {}", m.display()),
            "limits go through the v2 controllers, device rules through BPF",
        ),
        (Some((m, _)), false) => Fact::ok(
            "cgroup.layout",
            format!(
                "hybrid: {} v1 hierarchies, and cgroup v2 at {} (no controllers)",
                l.v1.len(),
                m.display()
            ),
            "limits go through the v1 controllers, as runc does here",
        ),
        (None, _) => Fact::ok(
            "cgroup.layout",
            format!("cgroup v1 ({} hierarchies)", l.v1.len()),
            "limits go through the v1 controllers",
        ),
    }
}

/// The controllers this layout offers berth.
fn available(l: &Layout) -> (Vec<String>, &'static [(&'static str, &'static str)]) {
    if l.is_pure_v2() {
        let (m, _) = l.unified.as_ref().expect("pure v2 has a unified mount");
        let list = std::fs::read_to_string(m.join("cgroup.controllers")).unwrap_or_default();
        (list.split_whitespace().map(String::from).collect(), V2_USED)
    } else {
        let list =
            l.v1.iter()
                .flat_map(|h| h.controllers.split(','))
                .filter(|c| !c.starts_with("name="))
                .map(String::from)
                .collect();
        (list, V1_USED)
    }
}

fn controllers(l: &Layout) -> Fact {
    let (have, used) = available(l);
    let missing: Vec<&(&str, &str)> = used
        .iter()
        .filter(|(c, _)| !have.iter().any(|h| h == c))
        .collect();
    let mut sorted = have.clone();
    sorted.sort();
    if missing.is_empty() {
        Fact::ok(
            "cgroup.controllers",
            sorted.join(" "),
            "every linux.resources section berth knows can be applied",
        )
    } else {
        Fact::warn(
            "cgroup.controllers",
            format!(
                "{}; missing: {}",
                sorted.join(" "),
                missing
                    .iter()
                    .map(|(c, _)| *c)
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            format!(
                "create fails naming the field for {}",
                missing
                    .iter()
                    .map(|(_, f)| *f)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    }
}

/// May the caller make cgroups? Root may anywhere; a rootless caller
/// only below a cgroup delegated to it (its own, or its systemd user
/// instance's).
fn delegation(l: &Layout, caller: Caller) -> Fact {
    if !caller.rootless {
        return Fact::ok(
            "cgroup.delegation",
            "root: every hierarchy",
            "berth makes the container's cgroup where linux.cgroupsPath says",
        );
    }
    let Some((mount, own)) = l.unified.as_ref().filter(|_| l.is_pure_v2()) else {
        return Fact::warn(
            "cgroup.delegation",
            "not pure cgroup v2: nothing is delegated to an ordinary user",
            "rootless containers run without a cgroup (no limits)",
        );
    };
    let systemd_user = mount.join(format!(
        "user.slice/user-{uid}.slice/user@{uid}.service",
        uid = caller.uid
    ));
    let own = mount.join(own.strip_prefix("/").unwrap_or(own));
    for (dir, how) in [
        (own, "the cgroupfs driver, below your own cgroup"),
        (
            systemd_user,
            "--systemd-cgroup: through your systemd user instance",
        ),
    ] {
        if writable(&dir) {
            let ctrls = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
            return Fact::ok(
                "cgroup.delegation",
                format!("{} is yours (controllers: {})", dir.display(), ctrls.trim()),
                format!("rootless containers get cgroups ({how})"),
            );
        }
    }
    Fact::warn(
        "cgroup.delegation",
        "no cgroup is delegated to you",
        "rootless containers run without a cgroup (no limits)",
    )
}

fn writable(dir: &Path) -> bool {
    let w = |p: &Path| nix::unistd::access(p, nix::unistd::AccessFlags::W_OK).is_ok();
    w(dir) && w(&dir.join("cgroup.procs"))
}
