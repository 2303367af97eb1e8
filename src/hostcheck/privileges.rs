//! Who the caller is, the capabilities it can hand on, and the user
//! namespaces and subordinate ids a rootless container needs.

use std::path::Path;

use super::{Caller, Fact};

pub(super) fn caller(c: Caller) -> Fact {
    if !c.rootless {
        return Fact::ok(
            "user",
            "root (uid 0) of the host",
            "berth runs containers with every privilege the config asks for",
        );
    }
    if c.uid == 0 {
        let host = crate::userns::outer_uid(0)
            .map(|u| format!(" (uid {u} of the host)"))
            .unwrap_or_default();
        return Fact::ok(
            "user",
            format!("root of a user namespace{host}"),
            "berth runs rootless, as when rootless Podman calls it",
        );
    }
    Fact::ok(
        "user",
        format!("uid {} ({})", c.uid, user_name(c.uid).unwrap_or_else(|| "?".into())),
        "berth runs rootless: containers get a user namespace; state goes to $XDG_RUNTIME_DIR/berth",
    )
}

pub(super) fn facts(c: Caller) -> Vec<Fact> {
    vec![capabilities(c), user_namespaces(c), subordinate_ids(c)]
}

fn user_name(uid: u32) -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
}

fn capabilities(c: Caller) -> Fact {
    let bnd = match caps::read(None, caps::CapSet::Bounding) {
        Ok(b) => b,
        Err(e) => {
            return Fact::warn(
                "capabilities",
                format!("the bounding set is unreadable: {e}"),
                "unknown which capabilities containers can hold",
            )
        }
    };
    // The kernel's own capabilities, not every name the crate knows.
    let mut missing: Vec<String> = caps::runtime::thread_all_supported()
        .into_iter()
        .filter(|cap| !bnd.contains(cap))
        .map(|cap| cap.to_string())
        .collect();
    missing.sort();
    if missing.is_empty() {
        return Fact::ok(
            "capabilities",
            "the bounding set is full",
            "containers may hold any capability the config lists",
        );
    }
    let found = format!("not in the bounding set: {}", missing.join(" "));
    let has = |n: &str| missing.iter().any(|m| m == n);
    if has("CAP_SYS_ADMIN") && !c.rootless {
        return Fact::fail(
            "capabilities",
            found,
            "without CAP_SYS_ADMIN berth cannot mount: no container can start",
        );
    }
    let mut follows = vec![format!(
        "process.capabilities naming {} fail at create",
        if missing.len() == 1 { "it" } else { "them" }
    )];
    if has("CAP_SYS_RESOURCE") {
        follows.push(
            "process.rlimits above the current hard limits and a negative process.oomScoreAdj fail"
                .into(),
        );
    }
    Fact::warn("capabilities", found, follows.join("; "))
}

fn read_number(path: &str) -> Option<i64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn user_namespaces(c: Caller) -> Fact {
    if !Path::new("/proc/self/ns/user").exists()
        || read_number("/proc/sys/user/max_user_namespaces") == Some(0)
    {
        let follows = if c.rootless {
            "rootless containers cannot start: they need a user namespace"
        } else {
            "linux.namespaces user fails at create"
        };
        let f = if c.rootless { Fact::fail } else { Fact::warn };
        return f(
            "user-namespaces",
            "no user namespaces (max_user_namespaces is 0, or none in the kernel)",
            follows,
        );
    }
    if c.rootless
        && c.uid != 0
        && read_number("/proc/sys/kernel/unprivileged_userns_clone") == Some(0)
    {
        return Fact::fail(
            "user-namespaces",
            "only root may make user namespaces (kernel.unprivileged_userns_clone = 0)",
            "rootless containers cannot start",
        );
    }
    if c.rootless
        && read_number("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == Some(1)
    {
        return Fact::warn(
            "user-namespaces",
            "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1)",
            "rootless containers fail unless an AppArmor profile allows berth userns",
        );
    }
    let max = read_number("/proc/sys/user/max_user_namespaces")
        .map(|n| format!(" (at most {n})"))
        .unwrap_or_default();
    Fact::ok(
        "user-namespaces",
        format!("user namespaces{max}"),
        if c.rootless {
            "rootless containers can start"
        } else {
            "linux.namespaces user with uid and gid mappings works"
        },
    )
}

/// How many ids /etc/subuid (or subgid) gives the user (by name or uid).
fn subordinate(file: &str, name: &str, uid: u32) -> u64 {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let (who, _start, count) = (f.next()?, f.next()?, f.next()?);
            (who == name || who == uid.to_string())
                .then(|| count.trim().parse::<u64>().ok())
                .flatten()
        })
        .sum()
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(["/usr/bin".into(), "/usr/sbin".into(), "/sbin".into()])
        .any(|d| d.join(program).is_file())
}

fn subordinate_ids(c: Caller) -> Fact {
    if !c.rootless || c.uid == 0 {
        return Fact::ok(
            "subuid",
            "not needed: berth writes any uid and gid mapping itself",
            "linux.uidMappings and gidMappings may map any ids",
        );
    }
    let name = user_name(c.uid).unwrap_or_default();
    let (u, g) = (
        subordinate("/etc/subuid", &name, c.uid),
        subordinate("/etc/subgid", &name, c.uid),
    );
    let helpers = on_path("newuidmap") && on_path("newgidmap");
    if u > 0 && g > 0 && helpers {
        Fact::ok(
            "subuid",
            format!(
                "{u} subordinate uids and {g} gids for {name}; newuidmap and newgidmap are there"
            ),
            "linux.uidMappings and gidMappings may map those ids besides your own",
        )
    } else {
        let why = if u == 0 || g == 0 {
            format!("no /etc/subuid or /etc/subgid entry for {name}")
        } else {
            "no newuidmap/newgidmap (Debian's uidmap package)".to_string()
        };
        Fact::warn(
            "subuid",
            why,
            "a rootless container can map only your own uid and gid",
        )
    }
}
