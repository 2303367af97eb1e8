//! `linux.seccomp`: compile the config into a classic BPF program and
//! install it with seccomp(2).
//!
//! berth generates the BPF itself. seccompiler (already a dependency) has no
//! `SECCOMP_RET_USER_NOTIF`, filters one architecture only and keeps its
//! syscall tables private; libseccomp would mean linking C. The generator
//! below is small: a back-to-front assembler, a binary search over syscall
//! numbers, and 64-bit argument tests done as two 32-bit compares.
//!
//! # What the program does
//!
//! 1. Load `seccomp_data.arch`. An architecture the filter does not cover
//!    gets `SECCOMP_RET_KILL_PROCESS` (libseccomp's "bad arch" action;
//!    runc leaves it at KILL_THREAD, berth kills the whole process so no
//!    half-dead thread group is left behind).
//! 2. Load the syscall number. On x86_64, bit 30 marks an x32 call: it
//!    goes to the x32 section if `SCMP_ARCH_X32` is listed, else it gets
//!    the bad-arch action (-1, a syscall a tracer skipped, is not x32).
//! 3. As runc does: unless the default action allows the call (ALLOW, LOG)
//!    or already is `ERRNO(ENOSYS)`, a number above the highest syscall the
//!    profile names gets `ENOSYS`, so libcs fall back from syscalls newer
//!    than the profile (clone3, faccessat2, ...) instead of failing.
//! 4. Binary search for the number, then that syscall's rules, else the
//!    default action.
//!
//! # Rules, as runc with libseccomp applies them
//!
//! - An entry whose action (with its errno) equals the default action is
//!   skipped: it would change nothing, and libseccomp refuses it.
//! - Conditions in one entry are ANDed. As runc does, an entry with two
//!   conditions on the same argument index is split into one rule per
//!   condition, ORed.
//! - A syscall named in several entries: an entry without conditions
//!   decides the syscall on its own (libseccomp drops conditional rules
//!   next to an unconditional one); otherwise the conditional rules are
//!   tried in config order and the first that matches wins.
//! - A name unknown to every syscall table berth has is skipped with a
//!   warning (runc skips it silently); a name that exists on another
//!   architecture only (`_llseek` on x86_64) is skipped quietly.
//! - Arguments are compared unsigned over 64 bits. On the 32-bit ABIs (x86
//!   and x32) only the low 32 bits of the argument and of the value count,
//!   as in libseccomp: the kernel leaves the upper half of a compat task's
//!   registers undefined.
//!
//! # Architectures
//!
//! `architectures` must include this machine's architecture (or be empty,
//! which means the native one). On x86_64 hosts, `SCMP_ARCH_X86` and
//! `SCMP_ARCH_X32` are filtered too. Any other entry (`SCMP_ARCH_ARM` on
//! aarch64, foreign architectures) is ignored with a debug log for now:
//! syscalls from such an ABI get the bad-arch action.
//!
//! # When the caller installs the filter
//!
//! The filter applies to everything the process does after `install`, up
//! to and including `execve`, and is inherited across fork and exec.
//!
//! - Install as late as possible: after the mounts, `pivot_root`, the user
//!   switch, capabilities and `no_new_privs`, just before `execve`. Then
//!   the profile only has to allow `execve` (and `exit_group` for error
//!   paths), not the runtime's own setup.
//! - seccomp(2) needs `no_new_privs` or `CAP_SYS_ADMIN` (in the current
//!   user namespace). With `process.noNewPrivileges: true`, set it first,
//!   then install. Without it, and if the process will lack
//!   `CAP_SYS_ADMIN` after the user switch and capset, install *before*
//!   `setuid` (runc does the same); the profile must then allow what the
//!   init still does (setgroups, setresuid, capset, prctl, close_range,
//!   execve, ...).
//! - With a NOTIFY rule, `install` returns the listener fd (close-on-exec).
//!   The caller sends it with the container state to `listenerPath`. A
//!   notified syscall made by the init itself blocks until the agent
//!   answers; that is why NOTIFY on `write` or as the default action is
//!   refused, as in runc.
//! - `berth exec` processes join the container with setns; they must
//!   install the filter themselves, in the same place.
//!
//! `compile` allocates; `install` does not on success, so a filter
//! compiled before fork/clone can be installed in the child.

use std::collections::HashSet;
use std::fmt;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction as Action, LinuxSeccompFilterFlag as Flag,
    LinuxSeccompOperator as Op,
};

use crate::error::{Error, Result};
use crate::logging;

mod syscalls_aarch64;
mod syscalls_x86_64;

/// A compiled filter, ready to install.
#[derive(Clone)]
pub struct Filter {
    program: Vec<libc::sock_filter>,
    /// The flags for seccomp(2), `NEW_LISTENER` included when needed.
    flags: libc::c_ulong,
    /// A rule uses SCMP_ACT_NOTIFY: `install` returns a listener fd.
    listener: bool,
}

impl Filter {
    /// Whether a rule uses SCMP_ACT_NOTIFY, so that `install` returns the
    /// listener fd that must go to `linux.seccomp.listenerPath`.
    pub fn needs_listener(&self) -> bool {
        self.listener
    }

    /// Length of the BPF program (at most 4096).
    pub fn instructions(&self) -> usize {
        self.program.len()
    }
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filter")
            .field("instructions", &self.program.len())
            .field("flags", &format_args!("{:#x}", self.flags))
            .field("listener", &self.listener)
            .finish()
    }
}

/// The action names berth accepts (for `berth features`).
pub const ACTIONS: &[&str] = &[
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP",
];

/// The argument operators berth accepts (for `berth features`).
pub const OPERATORS: &[&str] = &[
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_LE",
    "SCMP_CMP_LT",
    "SCMP_CMP_MASKED_EQ",
    "SCMP_CMP_NE",
];

/// The filter flags berth knows (for `berth features`: `knownFlags`).
pub const KNOWN_FLAGS: &[&str] = &[
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

/// The architectures berth filters on this machine (for `berth features`).
pub fn archs() -> Vec<String> {
    match HOST {
        Some((native, compat)) => std::iter::once(native)
            .chain(compat.iter().copied())
            .map(|a| a.to_string())
            .collect(),
        None => Vec::new(),
    }
}

/// The known flags this kernel accepts (`supportedFlags`). Probes seccomp(2)
/// with a NULL program: EFAULT means the flag passed the kernel's check, and
/// nothing is installed.
pub fn supported_flags() -> Vec<&'static str> {
    let mut out = Vec::new();
    for (name, &bit) in KNOWN_FLAGS.iter().zip(KNOWN_FLAG_BITS) {
        // The kernel takes WAIT_KILLABLE_RECV only with a listener.
        let bit = if bit == libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV {
            bit | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER
        } else {
            bit
        };
        // SAFETY: a NULL program makes the kernel fail with EFAULT after
        // checking the flags; it never installs anything.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                bit,
                std::ptr::null::<libc::sock_fprog>(),
            )
        };
        if rc < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EFAULT) {
            out.push(*name);
        }
    }
    out
}

const KNOWN_FLAG_BITS: &[libc::c_ulong] = &[
    libc::SECCOMP_FILTER_FLAG_TSYNC,
    libc::SECCOMP_FILTER_FLAG_LOG,
    libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
    libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
];

/// Check and compile `linux.seccomp` for this machine. Pure: nothing in the
/// process changes (unknown syscall names are logged), so `create` can call
/// it to validate, and the init can call it again or use a copy.
pub fn compile(s: &LinuxSeccomp) -> Result<Filter> {
    let Some((native, compat)) = HOST else {
        return Err(invalid(
            "linux.seccomp",
            "berth has no seccomp support on this architecture",
        ));
    };
    let default_ret = action_ret(
        s.default_action(),
        s.default_errno_ret(),
        "linux.seccomp.defaultErrnoRet",
    )?;
    if s.default_action() == Action::ScmpActNotify {
        return Err(invalid(
            "linux.seccomp.defaultAction",
            "SCMP_ACT_NOTIFY cannot be the default action: the container's init would block on its own syscalls",
        ));
    }
    let abis = enabled_abis(s.architectures().as_deref(), native, compat)?;
    let entries = entries(s, default_ret)?;

    let listener = entries.iter().any(|e| {
        e.rules
            .iter()
            .any(|r| r.ret == libc::SECCOMP_RET_USER_NOTIF)
    });
    if listener && s.listener_path().is_none() {
        return Err(invalid(
            "linux.seccomp.listenerPath",
            "must be set when a rule uses SCMP_ACT_NOTIFY: the listener fd is sent there",
        ));
    }
    let flags = seccomp_flags(s.flags().as_deref().unwrap_or_default(), listener);
    warn_unknown_names(&entries);

    let program = generate(&abis, &entries, default_ret);
    if program.len() > libc::BPF_MAXINSNS as usize {
        return Err(invalid(
            "linux.seccomp",
            &format!(
                "the profile compiles to {} BPF instructions, more than the kernel's limit of {}",
                program.len(),
                libc::BPF_MAXINSNS
            ),
        ));
    }
    logging::debug(&format!(
        "seccomp: {} BPF instructions for {}",
        program.len(),
        abis.iter().map(|a| a.name).collect::<Vec<_>>().join(", ")
    ));
    Ok(Filter {
        program,
        flags,
        listener,
    })
}

/// Install the filter in the calling thread (and, with
/// SECCOMP_FILTER_FLAG_TSYNC, its sibling threads). The caller has set
/// no_new_privs before when the config asks for it; without it the process
/// needs CAP_SYS_ADMIN (see the module docs for the order). Returns the
/// listener fd (close-on-exec) when the filter has a NOTIFY rule.
pub fn install(f: &Filter) -> Result<Option<OwnedFd>> {
    let prog = libc::sock_fprog {
        len: f.program.len() as libc::c_ushort,
        filter: f.program.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points into `f.program`, alive for the call; the kernel
    // copies the program and only reads through the pointer.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            f.flags,
            &prog as *const libc::sock_fprog,
        )
    };
    if rc < 0 {
        return Err(install_error(f, std::io::Error::last_os_error()));
    }
    if f.listener {
        // SAFETY: with NEW_LISTENER the kernel returns a new fd we now own.
        Ok(Some(unsafe { OwnedFd::from_raw_fd(rc as RawFd) }))
    } else {
        Ok(None)
    }
}

fn install_error(f: &Filter, e: std::io::Error) -> Error {
    let why = match e.raw_os_error() {
        Some(libc::EACCES) => {
            "the process has neither no_new_privs nor CAP_SYS_ADMIN; set process.noNewPrivileges or install before dropping privileges"
        }
        Some(libc::EINVAL) => {
            "the kernel refused the filter or one of linux.seccomp.flags (too old for it?)"
        }
        Some(libc::EBUSY) => "another seccomp filter with a listener is already installed",
        Some(libc::ESRCH) => "SECCOMP_FILTER_FLAG_TSYNC: another thread could not be synced",
        Some(libc::ENOSYS) => "this kernel has no seccomp filter support",
        _ => "installing the filter",
    };
    Error::sys(
        format!("seccomp (flags {:#x}): {why}", f.flags),
        std::io::Error::from_raw_os_error(e.raw_os_error().unwrap_or(libc::EINVAL)),
    )
}

fn invalid(field: &str, msg: &str) -> Error {
    Error::InvalidConfig(format!("config.json: {field}: {msg}"))
}

// ---------------------------------------------------------------------------
// Architectures and syscall tables.

const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
/// x32 syscalls are x86_64 ones with this bit set in the number.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// One syscall ABI: what `seccomp_data.arch` says and how numbers map.
struct Abi {
    name: &'static str,
    arch: Arch,
    audit: u32,
    table: &'static [(&'static str, u32)],
    /// 32-bit ABI: compare the low half of arguments only.
    bits32: bool,
    /// Shares AUDIT_ARCH_X86_64: whether its numbers carry X32_SYSCALL_BIT.
    x32: Option<bool>,
}

impl Abi {
    fn lookup(&self, name: &str) -> Option<u32> {
        let i = self.table.binary_search_by(|(n, _)| (*n).cmp(name)).ok()?;
        Some(self.table[i].1)
    }
}

static ABIS: [Abi; 4] = [
    Abi {
        name: "SCMP_ARCH_X86_64",
        arch: Arch::ScmpArchX86_64,
        audit: AUDIT_ARCH_X86_64,
        table: syscalls_x86_64::X86_64,
        bits32: false,
        x32: Some(false),
    },
    Abi {
        name: "SCMP_ARCH_X32",
        arch: Arch::ScmpArchX32,
        audit: AUDIT_ARCH_X86_64,
        table: syscalls_x86_64::X32,
        bits32: true,
        x32: Some(true),
    },
    Abi {
        name: "SCMP_ARCH_X86",
        arch: Arch::ScmpArchX86,
        audit: AUDIT_ARCH_I386,
        table: syscalls_x86_64::I386,
        bits32: true,
        x32: None,
    },
    Abi {
        name: "SCMP_ARCH_AARCH64",
        arch: Arch::ScmpArchAarch64,
        audit: AUDIT_ARCH_AARCH64,
        table: syscalls_aarch64::AARCH64,
        bits32: false,
        x32: None,
    },
];

/// This machine's architecture and the compat ABIs berth can filter too.
#[cfg(target_arch = "x86_64")]
const HOST: Option<(Arch, &[Arch])> = Some((
    Arch::ScmpArchX86_64,
    &[Arch::ScmpArchX86, Arch::ScmpArchX32],
));
#[cfg(target_arch = "aarch64")]
const HOST: Option<(Arch, &[Arch])> = Some((Arch::ScmpArchAarch64, &[]));
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const HOST: Option<(Arch, &[Arch])> = None;

fn abi(arch: Arch) -> &'static Abi {
    ABIS.iter()
        .find(|a| a.arch == arch)
        .expect("HOST only names architectures in ABIS")
}

/// The ABIs to filter: the native one first, then listed compat ones.
fn enabled_abis(list: Option<&[Arch]>, native: Arch, compat: &[Arch]) -> Result<Vec<&'static Abi>> {
    let mut out = vec![abi(native)];
    let list = list.unwrap_or_default();
    if list.is_empty() {
        return Ok(out);
    }
    if !list
        .iter()
        .any(|&a| a == native || a == Arch::ScmpArchNative)
    {
        let names: Vec<String> = list.iter().map(|a| a.to_string()).collect();
        return Err(invalid(
            "linux.seccomp.architectures",
            &format!(
                "[{}] does not include this machine's architecture {native}; add it (or leave the list empty)",
                names.join(", ")
            ),
        ));
    }
    for &a in list {
        if a == native || a == Arch::ScmpArchNative || out.iter().any(|x| x.arch == a) {
            continue;
        }
        if compat.contains(&a) {
            out.push(abi(a));
        } else {
            logging::debug(&format!(
                "seccomp: architecture {a} is not filtered on this machine; its syscalls get SCMP_ACT_KILL_PROCESS"
            ));
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// The config, checked and turned into rules.

/// One rule: all conditions hold (or there are none) -> return `ret`.
struct Rule {
    ret: u32,
    conds: Vec<Cond>,
}

#[derive(Clone, Copy)]
struct Cond {
    index: u32,
    op: Op,
    value: u64,
    /// MASKED_EQ: the expected value (`value` is the mask).
    value_two: u64,
}

/// One `syscalls[]` entry.
struct Entry<'a> {
    index: usize,
    names: &'a [String],
    rules: Vec<Rule>,
    /// Same action as the default: only counts for the ENOSYS boundary.
    redundant: bool,
}

fn entries(s: &LinuxSeccomp, default_ret: u32) -> Result<Vec<Entry<'_>>> {
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
                    &format!("SCMP_ACT_NOTIFY cannot be used for {n}: the container's process passes the listener back with sendmsg (and reports errors with write) before the agent has it"),
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
fn action_ret(action: Action, errno: Option<u32>, errno_field: &str) -> Result<u32> {
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

fn seccomp_flags(list: &[Flag], listener: bool) -> libc::c_ulong {
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
fn warn_unknown_names(entries: &[Entry]) {
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

mod codegen;
use codegen::*;

#[cfg(test)]
mod tests;
