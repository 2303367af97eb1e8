//! `berth check`: what this host offers berth, one fact per line, each
//! with what follows from it for containers (ok, warn or fail). Every
//! probe only reads, or makes a kernel object it drops at once (a memfd,
//! a pidfd, an fs context, an unattached BPF program): nothing is left
//! behind, and the whole run takes milliseconds.
//!
//! Beside its kin: the probes ask the same kernel interfaces the rest of
//! berth uses (cgroups' layout, the seccomp flag probe, the device
//! program loader) and say what berth does without them.

mod cgroup;
mod kernel;
mod privileges;
mod security;
mod services;

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "fail",
        }
    }
}

/// One fact about the host.
#[derive(Debug, Serialize)]
pub struct Fact {
    /// A stable name (`cgroup.layout`, `openat2`...), for tools.
    pub name: &'static str,
    pub level: Level,
    /// What the probe found.
    pub found: String,
    /// What follows from it for berth and its containers.
    pub follows: String,
}

impl Fact {
    fn new(
        name: &'static str,
        level: Level,
        found: impl Into<String>,
        follows: impl Into<String>,
    ) -> Fact {
        Fact {
            name,
            level,
            found: found.into(),
            follows: follows.into(),
        }
    }
    fn ok(name: &'static str, found: impl Into<String>, follows: impl Into<String>) -> Fact {
        Fact::new(name, Level::Ok, found, follows)
    }
    fn warn(name: &'static str, found: impl Into<String>, follows: impl Into<String>) -> Fact {
        Fact::new(name, Level::Warn, found, follows)
    }
    fn fail(name: &'static str, found: impl Into<String>, follows: impl Into<String>) -> Fact {
        Fact::new(name, Level::Fail, found, follows)
    }
}

/// Who is asking: root of the host, or a caller berth treats as rootless
/// (an ordinary user, or root of a user namespace).
#[derive(Clone, Copy, Debug)]
struct Caller {
    uid: u32,
    rootless: bool,
}

impl Caller {
    fn detect() -> Caller {
        Caller {
            uid: nix::unistd::geteuid().as_raw(),
            rootless: crate::userns::unprivileged(),
        }
    }
}

/// Every fact, in the order `berth check` prints them.
pub fn run() -> Vec<Fact> {
    let caller = Caller::detect();
    let layout = crate::cgroups::Layout::detect().ok();
    let mut facts = vec![privileges::caller(caller)];
    facts.extend(cgroup::facts(layout.as_ref(), caller));
    facts.push(services::systemd(caller));
    facts.extend(kernel::facts(layout.as_ref(), caller));
    facts.extend(privileges::facts(caller));
    facts.extend(security::facts());
    facts.push(services::criu(caller));
    facts
}

/// Whether berth can run containers here: no fact failed.
pub fn can_run(facts: &[Fact]) -> bool {
    facts.iter().all(|f| f.level != Level::Fail)
}
