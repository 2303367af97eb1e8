//! The config, checked and turned into rules: actions and errnos to
//! seccomp return values, arguments to conditions, flags to seccomp(2)
//! bits; unknown syscall names are skipped with a warning.

use std::collections::HashSet;

use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction as Action, LinuxSeccompFilterFlag as Flag,
    LinuxSeccompOperator as Op,
};

use super::abi::ABIS;
use super::invalid;
use crate::error::Result;
use crate::logging;

/// One rule: all conditions hold (or there are none) -> return `ret`.
pub(super) struct Rule {
    pub(super) ret: u32,
    pub(super) conds: Vec<Cond>,
}

#[derive(Clone, Copy)]
pub(super) struct Cond {
    pub(super) index: u32,
    pub(super) op: Op,
    pub(super) value: u64,
    /// MASKED_EQ: the expected value (`value` is the mask).
    pub(super) value_two: u64,
}

/// One `syscalls[]` entry.
pub(super) struct Entry<'a> {
    pub(super) index: usize,
    pub(super) names: &'a [String],
    pub(super) rules: Vec<Rule>,
    /// Same action as the default: only counts for the ENOSYS boundary.
    pub(super) redundant: bool,
}

pub(super) fn entries(s: &LinuxSeccomp, default_ret: u32) -> Result<Vec<Entry<'_>>> {
    let mut out = Vec::new();
    for (i, sc) in s.syscalls().iter().flatten().enumerate() {
        let field = format!("linux.seccomp.syscalls[{i}]");
        if sc.names().is_empty() {
            return Err(invalid(
                &format!("{field}.names"),
                "must name at least one syscall",
            ));
        }
        if sc.names().iter().any(|n| n.is_empty()) {
            return Err(invalid(
                &format!("{field}.names"),
                "an empty string is not a syscall name",
            ));
        }
        let ret = action_ret(sc.action(), sc.errno_ret(), &format!("{field}.errnoRet"))?;
        if sc.action() == Action::ScmpActNotify {
            if let Some(n) = sc
                .names()
                .iter()
                .find(|n| matches!(n.as_str(), "write" | "sendmsg"))
            {
                return Err(invalid(
                    &format!("{field}.action"),
                    &format!("SCMP_ACT_NOTIFY cannot be used for the {n} syscall: the container's process passes the listener on with sendmsg before anyone could answer a notification, and reports a failure after that with write"),
                ));
            }
        }
        let mut conds = Vec::new();
        for (j, a) in sc.args().iter().flatten().enumerate() {
            if a.index() > 5 {
                return Err(invalid(
                    &format!("{field}.args[{j}].index"),
                    &format!(
                        "{} is out of range: syscalls have arguments 0 to 5",
                        a.index()
                    ),
                ));
            }
            conds.push(Cond {
                index: a.index() as u32,
                op: a.op(),
                value: a.value(),
                value_two: a.value_two().unwrap_or(0),
            });
        }
        // runc: two conditions on one argument become separate rules.
        let mut seen = HashSet::new();
        let rules = if conds.iter().all(|c| seen.insert(c.index)) {
            vec![Rule { ret, conds }]
        } else {
            conds
                .into_iter()
                .map(|c| Rule {
                    ret,
                    conds: vec![c],
                })
                .collect()
        };
        out.push(Entry {
            index: i,
            names: sc.names(),
            rules,
            redundant: ret == default_ret,
        });
    }
    Ok(out)
}

/// The seccomp return value of an action; `errno` is ERRNO's errno or
/// TRACE's message, EPERM when unset (as runc).
pub(super) fn action_ret(action: Action, errno: Option<u32>, errno_field: &str) -> Result<u32> {
    let data = match (action, errno) {
        (Action::ScmpActErrno | Action::ScmpActTrace, Some(e)) if e > 0xffff => {
            return Err(invalid(
                errno_field,
                &format!("{e} does not fit the 16 bits of a seccomp return value"),
            ))
        }
        (Action::ScmpActErrno | Action::ScmpActTrace, e) => e.unwrap_or(libc::EPERM as u32),
        (_, Some(_)) => {
            return Err(invalid(
                errno_field,
                &format!("only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not {action}"),
            ))
        }
        (_, None) => 0,
    };
    Ok(match action {
        Action::ScmpActKill | Action::ScmpActKillThread => libc::SECCOMP_RET_KILL_THREAD,
        Action::ScmpActKillProcess => libc::SECCOMP_RET_KILL_PROCESS,
        Action::ScmpActTrap => libc::SECCOMP_RET_TRAP,
        Action::ScmpActErrno => libc::SECCOMP_RET_ERRNO | data,
        Action::ScmpActTrace => libc::SECCOMP_RET_TRACE | data,
        Action::ScmpActNotify => libc::SECCOMP_RET_USER_NOTIF,
        Action::ScmpActLog => libc::SECCOMP_RET_LOG,
        Action::ScmpActAllow => libc::SECCOMP_RET_ALLOW,
    })
}

pub(super) fn seccomp_flags(list: &[Flag], listener: bool) -> libc::c_ulong {
    let mut flags = 0;
    for f in list {
        flags |= match f {
            Flag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
            Flag::SeccompFilterFlagSpecAllow => libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
            Flag::SeccompFilterFlagTsync => libc::SECCOMP_FILTER_FLAG_TSYNC,
            // Only means something for a listener; the kernel refuses it
            // without one.
            Flag::SeccompFilterFlagWaitKillableRecv if listener => {
                libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
            }
            Flag::SeccompFilterFlagWaitKillableRecv => {
                logging::debug("seccomp: WAIT_KILLABLE_RECV without a NOTIFY rule has no effect");
                0
            }
        };
    }
    if listener {
        flags |= libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
        // TSYNC reports a failing thread by its id, which would be
        // ambiguous with the listener fd; TSYNC_ESRCH makes it an error.
        if flags & libc::SECCOMP_FILTER_FLAG_TSYNC != 0 {
            flags |= libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
        }
    }
    flags
}

/// Warn once per name that no table knows (a typo, or a syscall newer
/// than berth): the rule is skipped, as runc does.
pub(super) fn warn_unknown_names(entries: &[Entry]) {
    let mut warned = HashSet::new();
    for e in entries {
        for name in e.names {
            if ABIS.iter().all(|a| a.lookup(name).is_none()) && warned.insert(name.as_str()) {
                // To the --log file (engines keep it); never onto stderr,
                // which `exec` shares with the process the engine shows.
                let msg = format!(
                    "seccomp: unknown syscall {name:?} in linux.seccomp.syscalls[{}] is ignored",
                    e.index
                );
                if logging::has_file() {
                    logging::warn(&msg);
                } else {
                    logging::debug(&msg);
                }
            }
        }
    }
}
