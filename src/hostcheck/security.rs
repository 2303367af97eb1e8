//! The Linux security modules a config may ask for.

use super::Fact;
use crate::security::{apparmor, selinux};

pub(super) fn facts() -> Vec<Fact> {
    vec![lsm(), apparmor_fact(), selinux_fact()]
}

fn lsm() -> Fact {
    match std::fs::read_to_string("/sys/kernel/security/lsm") {
        Ok(list) => Fact::ok(
            "lsm",
            format!("active: {}", list.trim().replace(',', " ")),
            "the modules below are the ones a config may name",
        ),
        Err(_) => Fact::ok(
            "lsm",
            "no securityfs list (/sys/kernel/security/lsm)",
            "the modules below are probed one by one",
        ),
    }
}

fn apparmor_parser() -> Option<String> {
    ["/sbin/apparmor_parser", "/usr/sbin/apparmor_parser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .map(String::from)
}

fn apparmor_fact() -> Fact {
    if !apparmor::enabled() {
        return Fact::warn(
            "apparmor",
            "not enabled",
            "process.apparmorProfile fails at create (engines then leave it out)",
        );
    }
    match apparmor_parser() {
        Some(p) => Fact::ok(
            "apparmor",
            format!("enabled; {p} is there"),
            "process.apparmorProfile applies a loaded profile; engines load theirs with apparmor_parser",
        ),
        None => Fact::warn(
            "apparmor",
            "enabled, but no apparmor_parser (Debian's apparmor package)",
            "only profiles already loaded can be applied; Docker cannot load docker-default",
        ),
    }
}

fn selinux_fact() -> Fact {
    if selinux::enabled() {
        Fact::ok(
            "selinux",
            "enabled (selinuxfs at /sys/fs/selinux)",
            "process.selinuxLabel and linux.mountLabel apply",
        )
    } else {
        Fact::warn(
            "selinux",
            "not enabled",
            "process.selinuxLabel and linux.mountLabel fail at create",
        )
    }
}
