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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction as Action, LinuxSeccompFilterFlag as Flag,
    LinuxSeccompOperator as Op,
};

use crate::error::{Error, Result};
use crate::logging;

#[path = "syscalls_aarch64.rs"]
mod syscalls_aarch64;
#[path = "syscalls_x86_64.rs"]
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

// ---------------------------------------------------------------------------
// BPF generation.

/// `struct seccomp_data` offsets.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
fn off_arg(index: u32, high: bool) -> u32 {
    let low_first = cfg!(target_endian = "little");
    16 + 8 * index + if high == low_first { 4 } else { 0 }
}

const LD_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const AND_K: u16 = (libc::BPF_ALU | libc::BPF_AND | libc::BPF_K) as u16;
const JA: u16 = (libc::BPF_JMP | libc::BPF_JA) as u16;
const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const JGT: u16 = (libc::BPF_JMP | libc::BPF_JGT | libc::BPF_K) as u16;
const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const JSET: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

const RET_BAD_ARCH: u32 = libc::SECCOMP_RET_KILL_PROCESS;
const RET_ENOSYS: u32 = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;

/// A place in the program, counted from its end (see `Asm`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Label(usize);

/// Builds the program back to front: every jump goes forward, so its target
/// is already emitted and the offset is known when the jump is written.
#[derive(Default)]
struct Asm {
    /// The program reversed: `rev[0]` is its last instruction.
    rev: Vec<libc::sock_filter>,
    /// Where a `ret` with this value was last emitted, to share it.
    rets: HashMap<u32, Label>,
}

impl Asm {
    fn push(&mut self, code: u16, k: u32, jt: u8, jf: u8) -> Label {
        self.rev.push(libc::sock_filter { code, jt, jf, k });
        Label(self.rev.len() - 1)
    }

    /// Instructions to skip from one pushed `extra` slots from now to `to`.
    fn dist(&self, to: Label, extra: usize) -> usize {
        self.rev.len() + extra - to.0 - 1
    }

    fn ret(&mut self, k: u32) -> Label {
        match self.rets.get(&k) {
            Some(&l) if self.dist(l, 3) <= 255 => l,
            _ => {
                let l = self.push(RET_K, k, 0, 0);
                self.rets.insert(k, l);
                l
            }
        }
    }

    fn ld(&mut self, off: u32) -> Label {
        self.push(LD_ABS, off, 0, 0)
    }

    fn and(&mut self, k: u32) -> Label {
        self.push(AND_K, k, 0, 0)
    }

    fn ja(&mut self, to: Label) -> Label {
        let k = self.dist(to, 0) as u32;
        self.push(JA, k, 0, 0)
    }

    /// `if A <op> k goto jt else goto jf`. Conditional jumps reach 255
    /// instructions ahead; a farther target goes through a `ja` placed
    /// right after the test.
    fn jump(&mut self, op: u16, k: u32, jt: Label, jf: Label) -> Label {
        let jf = if self.dist(jf, 2) > 255 {
            self.ja(jf)
        } else {
            jf
        };
        let jt = if self.dist(jt, 1) > 255 {
            self.ja(jt)
        } else {
            jt
        };
        let (t, f) = (self.dist(jt, 0) as u8, self.dist(jf, 0) as u8);
        self.push(op, k, t, f)
    }

    /// Make the next instruction pushed continue at `to`.
    fn fall_into(&mut self, to: Label) {
        if to.0 + 1 != self.rev.len() {
            self.ja(to);
        }
    }

    fn finish(mut self) -> Vec<libc::sock_filter> {
        self.rev.reverse();
        self.rev
    }
}

/// The rules of one syscall on one ABI.
#[derive(Default)]
struct SysRules<'a> {
    uncond: Option<u32>,
    conds: Vec<&'a Rule>,
}

fn generate(abis: &[&Abi], entries: &[Entry], default_ret: u32) -> Vec<libc::sock_filter> {
    let mut asm = Asm::default();
    let enosys = default_ret != RET_ENOSYS
        && default_ret != libc::SECCOMP_RET_ALLOW
        && default_ret != libc::SECCOMP_RET_LOG;

    // Sections per audit arch, in the order of `abis` (native first).
    let mut audits: Vec<u32> = Vec::new();
    for a in abis {
        if !audits.contains(&a.audit) {
            audits.push(a.audit);
        }
    }
    let mut starts = HashMap::new();
    for &audit in &audits {
        let group: Vec<&Abi> = abis.iter().copied().filter(|a| a.audit == audit).collect();
        let main = group
            .iter()
            .find(|a| a.x32 != Some(true))
            .expect("native ABI");
        let body = abi_section(&mut asm, main, entries, default_ret, enosys);
        let entry = if main.x32.is_some() {
            let x32 = match group.iter().find(|a| a.x32 == Some(true)) {
                Some(x) => abi_section(&mut asm, x, entries, default_ret, enosys),
                None => asm.ret(RET_BAD_ARCH),
            };
            let split = asm.jump(JSET, X32_SYSCALL_BIT, x32, body);
            // nr -1 (a syscall skipped by a tracer) has bit 30 set too.
            asm.jump(JEQ, u32::MAX, body, split)
        } else {
            body
        };
        asm.fall_into(entry);
        starts.insert(audit, asm.ld(OFF_NR));
    }
    // Emitted last, run first: the native architecture is tested first.
    let mut next = asm.ret(RET_BAD_ARCH);
    for audit in audits.iter().rev() {
        next = asm.jump(JEQ, *audit, starts[audit], next);
    }
    asm.ld(OFF_ARCH);
    asm.finish()
}

/// One ABI's section; it starts with the syscall number in A.
fn abi_section(
    asm: &mut Asm,
    abi: &Abi,
    entries: &[Entry],
    default_ret: u32,
    enosys: bool,
) -> Label {
    let mut by_nr: BTreeMap<u32, SysRules> = BTreeMap::new();
    let mut last = None;
    for e in entries {
        for name in e.names {
            let Some(nr) = abi.lookup(name) else { continue };
            last = last.max(Some(nr));
            if e.redundant {
                continue;
            }
            let s = by_nr.entry(nr).or_default();
            for r in &e.rules {
                if r.conds.is_empty() {
                    s.uncond.get_or_insert(r.ret);
                } else {
                    s.conds.push(r);
                }
            }
        }
    }
    let mut targets = Vec::with_capacity(by_nr.len());
    for (&nr, rules) in &by_nr {
        targets.push((nr, syscall_body(asm, abi, rules, default_ret)));
    }
    let tree = search(asm, &targets, default_ret);
    match last {
        Some(last) if enosys => {
            let e = asm.ret(RET_ENOSYS);
            asm.jump(JGT, last, e, tree)
        }
        _ => tree,
    }
}

/// Binary search over sorted syscall numbers (A = nr), then a short
/// linear run of `jeq`s; no match -> the default action.
fn search(asm: &mut Asm, targets: &[(u32, Label)], default_ret: u32) -> Label {
    if targets.len() <= 4 {
        let mut next = asm.ret(default_ret);
        for &(nr, body) in targets.iter().rev() {
            next = asm.jump(JEQ, nr, body, next);
        }
        return next;
    }
    let mid = targets.len() / 2;
    let upper = search(asm, &targets[mid..], default_ret);
    let lower = search(asm, &targets[..mid], default_ret);
    asm.jump(JGE, targets[mid].0, upper, lower)
}

fn syscall_body(asm: &mut Asm, abi: &Abi, rules: &SysRules, default_ret: u32) -> Label {
    if let Some(ret) = rules.uncond {
        return asm.ret(ret);
    }
    let mut next = asm.ret(default_ret);
    for rule in rules.conds.iter().rev() {
        let mut entry = asm.ret(rule.ret);
        for c in rule.conds.iter().rev() {
            entry = condition(asm, abi.bits32, c, entry, next);
        }
        next = entry;
    }
    next
}

/// Test one argument: go to `pass` or `fail`. 64-bit values are compared
/// high word first; the low word decides only when the high words are
/// equal.
fn condition(asm: &mut Asm, bits32: bool, c: &Cond, pass: Label, fail: Label) -> Label {
    let (v, v2) = (c.value, c.value_two);
    let (hi, lo) = (|x: u64| (x >> 32) as u32, |x: u64| x as u32);

    // The low word.
    match c.op {
        Op::ScmpCmpEq => asm.jump(JEQ, lo(v), pass, fail),
        Op::ScmpCmpNe => asm.jump(JEQ, lo(v), fail, pass),
        Op::ScmpCmpGt => asm.jump(JGT, lo(v), pass, fail),
        Op::ScmpCmpGe => asm.jump(JGE, lo(v), pass, fail),
        Op::ScmpCmpLt => asm.jump(JGE, lo(v), fail, pass),
        Op::ScmpCmpLe => asm.jump(JGT, lo(v), fail, pass),
        Op::ScmpCmpMaskedEq => {
            asm.jump(JEQ, lo(v2), pass, fail);
            asm.and(lo(v))
        }
    };
    let lo_entry = asm.ld(off_arg(c.index, false));
    if bits32 {
        return lo_entry;
    }

    // The high word: decide, or fall through to the low word when equal.
    match c.op {
        Op::ScmpCmpEq => asm.jump(JEQ, hi(v), lo_entry, fail),
        Op::ScmpCmpNe => asm.jump(JEQ, hi(v), lo_entry, pass),
        Op::ScmpCmpGt | Op::ScmpCmpGe => {
            let eq = asm.jump(JEQ, hi(v), lo_entry, fail);
            asm.jump(JGT, hi(v), pass, eq)
        }
        Op::ScmpCmpLt | Op::ScmpCmpLe => {
            let eq = asm.jump(JEQ, hi(v), lo_entry, pass);
            asm.jump(JGT, hi(v), fail, eq)
        }
        Op::ScmpCmpMaskedEq => {
            asm.jump(JEQ, hi(v2), lo_entry, fail);
            asm.and(hi(v))
        }
    };
    asm.ld(off_arg(c.index, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn profile(v: Value) -> LinuxSeccomp {
        serde_json::from_value(v).expect("a valid LinuxSeccomp")
    }

    fn err(v: Value) -> String {
        match compile(&profile(v)) {
            Ok(f) => panic!("expected an error, compiled {f:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn native() -> &'static Abi {
        abi(HOST.expect("tests run on x86_64 or aarch64").0)
    }

    fn nr(abi: &Abi, name: &str) -> u32 {
        abi.lookup(name)
            .unwrap_or_else(|| panic!("{name} on {}", abi.name))
    }

    const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
    fn errno(e: i32) -> u32 {
        libc::SECCOMP_RET_ERRNO | e as u32
    }

    // -- A classic BPF interpreter, to check programs without the kernel.

    fn check_program(p: &[libc::sock_filter]) {
        assert!(!p.is_empty() && p.len() <= 4096);
        assert_eq!(p.last().unwrap().code, RET_K, "ends in ret");
        for (i, insn) in p.iter().enumerate() {
            match insn.code {
                JA => assert!(i + 1 + (insn.k as usize) < p.len(), "ja at {i}"),
                JEQ | JGT | JGE | JSET => {
                    assert!(i + 1 + (insn.jt as usize) < p.len(), "jt at {i}");
                    assert!(i + 1 + (insn.jf as usize) < p.len(), "jf at {i}");
                }
                LD_ABS => assert!(insn.k % 4 == 0 && insn.k < 64, "ld at {i}"),
                AND_K | RET_K => {}
                c => panic!("unexpected opcode {c:#x} at {i}"),
            }
        }
    }

    fn run_bpf(p: &[libc::sock_filter], audit: u32, nr: u32, args: [u64; 6]) -> u32 {
        let mut data = Vec::with_capacity(64);
        data.extend_from_slice(&nr.to_ne_bytes());
        data.extend_from_slice(&audit.to_ne_bytes());
        data.extend_from_slice(&0u64.to_ne_bytes());
        for a in args {
            data.extend_from_slice(&a.to_ne_bytes());
        }
        let (mut a, mut pc) = (0u32, 0usize);
        loop {
            let i = p[pc];
            pc += 1;
            let k = i.k;
            let skip = |cond: bool| if cond { i.jt } else { i.jf } as usize;
            match i.code {
                LD_ABS => {
                    a = u32::from_ne_bytes(data[k as usize..k as usize + 4].try_into().unwrap())
                }
                AND_K => a &= k,
                JA => pc += k as usize,
                JEQ => pc += skip(a == k),
                JGT => pc += skip(a > k),
                JGE => pc += skip(a >= k),
                JSET => pc += skip(a & k != 0),
                RET_K => return k,
                c => panic!("opcode {c:#x}"),
            }
        }
    }

    fn eval(f: &Filter, abi: &Abi, name: &str, args: [u64; 6]) -> u32 {
        run_bpf(&f.program, abi.audit, nr(abi, name), args)
    }

    // -- Tables.

    #[test]
    fn tables_are_sorted_and_right() {
        for a in &ABIS {
            assert!(
                a.table.windows(2).all(|w| w[0].0 < w[1].0),
                "{} sorted",
                a.name
            );
        }
        let x86_64 = abi(Arch::ScmpArchX86_64);
        assert_eq!(x86_64.lookup("read"), Some(0));
        assert_eq!(x86_64.lookup("openat"), Some(257));
        assert_eq!(x86_64.lookup("clone3"), Some(435));
        assert_eq!(x86_64.lookup("fchmodat2"), Some(452));
        assert_eq!(x86_64.lookup("_llseek"), None);
        assert_eq!(abi(Arch::ScmpArchX32).lookup("read"), Some(X32_SYSCALL_BIT));
        assert_eq!(abi(Arch::ScmpArchX86).lookup("socketcall"), Some(102));
        assert_eq!(abi(Arch::ScmpArchAarch64).lookup("openat"), Some(56));
        assert_eq!(abi(Arch::ScmpArchAarch64).lookup("open"), None);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(nr(native(), "getppid") as i64, libc::SYS_getppid);
        #[cfg(target_arch = "aarch64")]
        assert_eq!(nr(native(), "getppid") as i64, libc::SYS_getppid);
    }

    #[test]
    fn features_lists() {
        assert!(archs().contains(&native().name.to_string()));
        let flags = supported_flags();
        // LOG (4.14), SPEC_ALLOW (4.17), TSYNC (3.17): every kernel berth
        // runs on; WAIT_KILLABLE_RECV from 5.19.
        for f in [
            "SECCOMP_FILTER_FLAG_TSYNC",
            "SECCOMP_FILTER_FLAG_LOG",
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        ] {
            assert!(flags.contains(&f), "{f}: {flags:?}");
        }
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
        let version: Vec<u32> = release
            .split(|c: char| !c.is_ascii_digit())
            .take(2)
            .map(|n| n.parse().unwrap_or(0))
            .collect();
        if version >= vec![5, 19] {
            assert!(flags.contains(&"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"));
        }
    }

    // -- Config errors.

    #[test]
    fn rejects_bad_configs_naming_the_field() {
        let e = err(json!({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1}));
        assert!(e.contains("linux.seccomp.defaultErrnoRet"), "{e}");
        let e = err(json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["getpid"], "action": "SCMP_ACT_KILL"},
            {"names": ["getppid"], "action": "SCMP_ACT_ALLOW", "errnoRet": 5}]}));
        assert!(
            e.contains("syscalls[1].errnoRet") && e.contains("SCMP_ACT_ALLOW"),
            "{e}"
        );
        let e = err(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 70000}]}));
        assert!(e.contains("syscalls[0].errnoRet"), "{e}");
        let e = err(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["getpid"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                      {"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}));
        assert!(e.contains("syscalls[0].args[1].index"), "{e}");
        let e = err(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": [], "action": "SCMP_ACT_ERRNO"}]}));
        assert!(e.contains("syscalls[0].names"), "{e}");
        let e = err(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["getpid", ""], "action": "SCMP_ACT_ERRNO"}]}));
        assert!(e.contains("syscalls[0].names"), "{e}");
        let e = err(json!({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/x"}));
        assert!(e.contains("defaultAction"), "{e}");
        let e = err(
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/x", "syscalls": [
            {"names": ["read", "write"], "action": "SCMP_ACT_NOTIFY"}]}),
        );
        assert!(
            e.contains("syscalls[0].action") && e.contains("write"),
            "{e}"
        );
        let e = err(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["getpid"], "action": "SCMP_ACT_NOTIFY"}]}));
        assert!(e.contains("linux.seccomp.listenerPath"), "{e}");
    }

    #[test]
    fn architectures_must_include_the_native_one() {
        let foreign = if native().arch == Arch::ScmpArchX86_64 {
            "SCMP_ARCH_AARCH64"
        } else {
            "SCMP_ARCH_X86_64"
        };
        let e = err(json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": [foreign]}));
        assert!(
            e.contains("linux.seccomp.architectures") && e.contains(native().name),
            "{e}"
        );
        // Native by name, SCMP_ARCH_NATIVE, or with foreign ones (ignored).
        for list in [
            json!([native().name]),
            json!(["SCMP_ARCH_NATIVE"]),
            json!([foreign, native().name]),
        ] {
            let f = compile(&profile(
                json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": list}),
            ));
            assert!(f.is_ok(), "{list}: {f:?}");
        }
    }

    #[test]
    fn oci_spec_refuses_unknown_names_at_parse_time() {
        // berth never sees these: loading config.json fails first.
        for bad in [
            json!({"defaultAction": "SCMP_ACT_MAYBE"}),
            json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]}),
            json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_FAST"]}),
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpid"],
                "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_XOR"}]}]}),
        ] {
            assert!(
                serde_json::from_value::<LinuxSeccomp>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn unknown_syscalls_are_skipped() {
        let f = compile(&profile(
            json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["no_such_syscall", "getpid", "_llseek"], "action": "SCMP_ACT_ALLOW"}]}),
        ))
        .unwrap();
        assert_eq!(eval(&f, native(), "getpid", [0; 6]), ALLOW);
        // read is below getpid on every ABI, so no ENOSYS.
        assert_eq!(eval(&f, native(), "read", [0; 6]), errno(libc::EPERM));
    }

    #[test]
    fn flags_map_to_seccomp_bits() {
        let f = compile(&profile(
            json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": [
            "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}),
        ))
        .unwrap();
        // WAIT_KILLABLE_RECV only goes with a listener.
        assert_eq!(
            f.flags,
            libc::SECCOMP_FILTER_FLAG_LOG | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
        );
        assert!(!f.needs_listener());
        let f = compile(&profile(
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/l",
            "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
            "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]}),
        ))
        .unwrap();
        assert!(f.needs_listener());
        assert_eq!(
            f.flags,
            libc::SECCOMP_FILTER_FLAG_TSYNC
                | libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH
                | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER
                | libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
        );
        assert_eq!(
            eval(&f, native(), "getppid", [0; 6]),
            libc::SECCOMP_RET_USER_NOTIF
        );
    }

    #[test]
    fn actions_encode_like_the_kernel() {
        let cases = [
            ("SCMP_ACT_KILL", None, libc::SECCOMP_RET_KILL_THREAD),
            ("SCMP_ACT_KILL_THREAD", None, libc::SECCOMP_RET_KILL_THREAD),
            (
                "SCMP_ACT_KILL_PROCESS",
                None,
                libc::SECCOMP_RET_KILL_PROCESS,
            ),
            ("SCMP_ACT_TRAP", None, libc::SECCOMP_RET_TRAP),
            ("SCMP_ACT_ERRNO", None, errno(libc::EPERM)),
            ("SCMP_ACT_ERRNO", Some(38), errno(38)),
            ("SCMP_ACT_TRACE", None, libc::SECCOMP_RET_TRACE | 1),
            ("SCMP_ACT_TRACE", Some(7), libc::SECCOMP_RET_TRACE | 7),
            ("SCMP_ACT_LOG", None, libc::SECCOMP_RET_LOG),
        ];
        for (action, e, want) in cases {
            let mut rule = json!({"names": ["getppid"], "action": action});
            if let Some(e) = e {
                rule["errnoRet"] = json!(e);
            }
            let f = compile(&profile(
                json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule]}),
            ))
            .unwrap();
            assert_eq!(eval(&f, native(), "getppid", [0; 6]), want, "{action}");
            assert_eq!(eval(&f, native(), "getpid", [0; 6]), ALLOW, "{action}");
        }
        let f = compile(&profile(
            json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38}),
        ))
        .unwrap();
        assert_eq!(eval(&f, native(), "getpid", [0; 6]), errno(38));
    }

    // -- Program shape and rule semantics, on the interpreter.

    #[test]
    fn foreign_architectures_are_killed() {
        let f = compile(&profile(json!({"defaultAction": "SCMP_ACT_ALLOW"}))).unwrap();
        check_program(&f.program);
        assert_eq!(run_bpf(&f.program, native().audit, 0, [0; 6]), ALLOW);
        assert_eq!(
            run_bpf(&f.program, 0x1234, 0, [0; 6]),
            libc::SECCOMP_RET_KILL_PROCESS
        );
        if native().x32.is_some() {
            // x32 and i386 calls are not native unless listed.
            let x32_read = X32_SYSCALL_BIT;
            assert_eq!(
                run_bpf(&f.program, AUDIT_ARCH_X86_64, x32_read, [0; 6]),
                RET_BAD_ARCH
            );
            assert_eq!(
                run_bpf(&f.program, AUDIT_ARCH_I386, 20, [0; 6]),
                RET_BAD_ARCH
            );
            assert_eq!(
                run_bpf(&f.program, AUDIT_ARCH_X86_64, u32::MAX, [0; 6]),
                ALLOW
            );
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn compat_abis_use_their_own_numbers() {
        let f = compile(&profile(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [
                {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 55},
                {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 0, "value": 0x1_0000_0008u64, "op": "SCMP_CMP_EQ"}]}]})))
        .unwrap();
        check_program(&f.program);
        let (x86_64, x86, x32) = (
            abi(Arch::ScmpArchX86_64),
            abi(Arch::ScmpArchX86),
            abi(Arch::ScmpArchX32),
        );
        for a in [x86_64, x86, x32] {
            assert_eq!(eval(&f, a, "getpid", [0; 6]), errno(55), "{}", a.name);
            assert_eq!(eval(&f, a, "getppid", [0; 6]), ALLOW, "{}", a.name);
        }
        // 32-bit ABIs compare the low halves only.
        assert_eq!(eval(&f, x86_64, "personality", [8, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(
            eval(&f, x86_64, "personality", [0x1_0000_0008, 0, 0, 0, 0, 0]),
            errno(1)
        );
        assert_eq!(eval(&f, x86, "personality", [8, 0, 0, 0, 0, 0]), errno(1));
        assert_eq!(
            eval(&f, x32, "personality", [0xff_0000_0008, 0, 0, 0, 0, 0]),
            errno(1)
        );
        // i386 getpid (20) is not x86_64's 20 (writev).
        assert_eq!(run_bpf(&f.program, AUDIT_ARCH_X86_64, 20, [0; 6]), ALLOW);
    }

    #[test]
    fn newer_syscalls_get_enosys_unless_the_default_allows() {
        let rules = json!([{"names": ["getpid", "io_uring_setup"], "action": "SCMP_ACT_ALLOW"}]);
        let f = compile(&profile(
            json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": rules}),
        ))
        .unwrap();
        let last = nr(native(), "io_uring_setup");
        let audit = native().audit;
        assert_eq!(run_bpf(&f.program, audit, last, [0; 6]), ALLOW);
        assert_eq!(
            run_bpf(&f.program, audit, last - 1, [0; 6]),
            errno(libc::EPERM)
        );
        assert_eq!(run_bpf(&f.program, audit, last + 1, [0; 6]), RET_ENOSYS);
        assert_eq!(run_bpf(&f.program, audit, 100_000, [0; 6]), RET_ENOSYS);
        // ERRNO(ENOSYS) default, ALLOW default: no stub.
        for d in [
            json!({"defaultAction": "SCMP_ACT_KILL"}),
            json!({"defaultAction": "SCMP_ACT_LOG"}),
        ] {
            let mut d = d;
            d["syscalls"] = rules.clone();
            let f = compile(&profile(d.clone())).unwrap();
            let want = if d["defaultAction"] == "SCMP_ACT_KILL" {
                RET_ENOSYS
            } else {
                libc::SECCOMP_RET_LOG
            };
            assert_eq!(run_bpf(&f.program, audit, last + 1, [0; 6]), want, "{d}");
        }
    }

    #[test]
    fn rule_precedence_follows_runc() {
        let f = compile(&profile(
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            // Same as the default: skipped, so it does not shadow what follows.
            {"names": ["getpid"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
            {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 11,
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
            {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 12,
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_GE"}]},
            // ANDed across arguments.
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                      {"index": 5, "value": 2, "op": "SCMP_CMP_EQ"}]},
            // ORed when on the same argument (runc).
            {"names": ["getuid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 14,
             "args": [{"index": 1, "value": 1, "op": "SCMP_CMP_EQ"},
                      {"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]},
            // An unconditional rule decides alone, wherever it is.
            {"names": ["getgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 15,
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
            {"names": ["getgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 16}]}),
        ))
        .unwrap();
        let n = native();
        let a = |x: u64, y: u64| [x, y, 0, 0, 0, y];
        assert_eq!(eval(&f, n, "getpid", a(1, 0)), errno(11));
        assert_eq!(eval(&f, n, "getpid", a(2, 0)), errno(12));
        assert_eq!(eval(&f, n, "getpid", a(0, 0)), ALLOW);
        assert_eq!(eval(&f, n, "getppid", a(1, 2)), errno(13));
        assert_eq!(eval(&f, n, "getppid", a(1, 3)), ALLOW);
        assert_eq!(eval(&f, n, "getppid", a(0, 2)), ALLOW);
        assert_eq!(eval(&f, n, "getuid", a(0, 1)), errno(14));
        assert_eq!(eval(&f, n, "getuid", a(0, 2)), errno(14));
        assert_eq!(eval(&f, n, "getuid", a(0, 3)), ALLOW);
        assert_eq!(eval(&f, n, "getgid", a(1, 0)), errno(16));
        assert_eq!(eval(&f, n, "getgid", a(0, 0)), errno(16));
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        /// Values near the interesting edges of `v`, or anything.
        fn near(&mut self, v: u64) -> u64 {
            let r = self.next();
            match r % 8 {
                0 => v,
                1 => v.wrapping_add(1),
                2 => v.wrapping_sub(1),
                3 => v ^ (1 << ((r >> 8) % 64)),
                4 => (v & 0xffff_ffff_0000_0000) | (r >> 32),
                5 => (v & 0xffff_ffff) | (r << 32),
                6 => [0, 1, 0xffff_ffff, 1 << 32, u64::MAX][(r >> 8) as usize % 5],
                _ => r,
            }
        }
    }

    fn reference(op: Op, v: u64, v2: u64, arg: u64, bits32: bool) -> bool {
        let cut = |x: u64| if bits32 { x & 0xffff_ffff } else { x };
        let (v, v2, arg) = (cut(v), cut(v2), cut(arg));
        match op {
            Op::ScmpCmpEq => arg == v,
            Op::ScmpCmpNe => arg != v,
            Op::ScmpCmpLt => arg < v,
            Op::ScmpCmpLe => arg <= v,
            Op::ScmpCmpGt => arg > v,
            Op::ScmpCmpGe => arg >= v,
            Op::ScmpCmpMaskedEq => arg & v == v2,
        }
    }

    #[test]
    fn argument_comparisons_match_a_64_bit_reference() {
        let ops = [
            Op::ScmpCmpEq,
            Op::ScmpCmpNe,
            Op::ScmpCmpLt,
            Op::ScmpCmpLe,
            Op::ScmpCmpGt,
            Op::ScmpCmpGe,
            Op::ScmpCmpMaskedEq,
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut abis = vec![native()];
        if native().arch == Arch::ScmpArchX86_64 {
            abis.push(abi(Arch::ScmpArchX86));
        }
        for op in ops {
            for _ in 0..40 {
                let v = rng.near(0x1_0000_0005);
                let v2 = if op == Op::ScmpCmpMaskedEq {
                    v & rng.next()
                } else {
                    0
                };
                let index = (rng.next() % 6) as usize;
                let f = compile(&profile(json!({"defaultAction": "SCMP_ACT_ALLOW",
                    "architectures": abis.iter().map(|a| a.name).collect::<Vec<_>>(),
                    "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77,
                        "args": [{"index": index, "value": v, "valueTwo": v2, "op": op}]}]})))
                .unwrap();
                check_program(&f.program);
                for _ in 0..50 {
                    let mut args = [rng.next(); 6];
                    let base = if rng.next() % 2 == 0 { v } else { v2 };
                    args[index] = rng.near(base);
                    for a in &abis {
                        let want = reference(op, v, v2, args[index], a.bits32);
                        let got = eval(&f, a, "getppid", args) == errno(77);
                        assert_eq!(
                            got, want,
                            "{op} {v:#x} {v2:#x} arg{index}={:#x} on {}",
                            args[index], a.name
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn long_programs_jump_through_trampolines() {
        // Every syscall with a condition: bodies end up far from the search.
        let names: Vec<&str> = native().table.iter().map(|(n, _)| *n).collect();
        let rules: Vec<Value> = names
            .iter()
            .map(|n| {
                json!({"names": [n], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 1, "value": 0x1234_5678_9abcu64, "op": "SCMP_CMP_NE"}]})
            })
            .collect();
        let f = compile(&profile(
            json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": rules}),
        ))
        .unwrap();
        check_program(&f.program);
        assert!(f.instructions() > 2000, "{f:?}");
        assert!(f.program.iter().any(|i| i.code == JA));
        for n in names {
            assert_eq!(eval(&f, native(), n, [0, 1, 0, 0, 0, 0]), ALLOW, "{n}");
            assert_eq!(
                eval(&f, native(), n, [0, 0x1234_5678_9abc, 0, 0, 0, 0]),
                errno(1),
                "{n}"
            );
        }
    }

    /// A profile shaped like Docker's default (written for this test): the
    /// default returns EPERM, a long allow list, argument rules on
    /// personality, clone and socket, clone3 answered with ENOSYS.
    fn docker_like() -> LinuxSeccomp {
        const DENIED: &[&str] = &[
            "acct",
            "add_key",
            "bpf",
            "clock_adjtime",
            "clock_settime",
            "clone",
            "clone3",
            "create_module",
            "delete_module",
            "finit_module",
            "fsconfig",
            "fsmount",
            "fsopen",
            "fspick",
            "get_kernel_syms",
            "get_mempolicy",
            "init_module",
            "ioperm",
            "iopl",
            "kcmp",
            "kexec_file_load",
            "kexec_load",
            "keyctl",
            "lookup_dcookie",
            "mbind",
            "mount",
            "mount_setattr",
            "move_mount",
            "move_pages",
            "name_to_handle_at",
            "nfsservctl",
            "open_by_handle_at",
            "open_tree",
            "perf_event_open",
            "personality",
            "pivot_root",
            "process_vm_readv",
            "process_vm_writev",
            "ptrace",
            "query_module",
            "quotactl",
            "quotactl_fd",
            "reboot",
            "request_key",
            "set_mempolicy",
            "setdomainname",
            "sethostname",
            "setns",
            "settimeofday",
            "socket",
            "stime",
            "swapoff",
            "swapon",
            "sysfs",
            "_sysctl",
            "umount",
            "umount2",
            "unshare",
            "uselib",
            "userfaultfd",
            "ustat",
            "vm86",
            "vm86old",
        ];
        let mut allowed: Vec<&str> = ABIS
            .iter()
            .filter(|a| {
                a.audit == native().audit || a.arch == Arch::ScmpArchX86 && native().x32.is_some()
            })
            .flat_map(|a| a.table.iter().map(|(n, _)| *n))
            .filter(|n| !DENIED.contains(n))
            .collect();
        allowed.sort_unstable();
        allowed.dedup();
        let mut syscalls = vec![json!({"names": allowed, "action": "SCMP_ACT_ALLOW"})];
        for p in [0u64, 8, 0x20000, 0x20008, 0xffff_ffff] {
            syscalls.push(json!({"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": p, "op": "SCMP_CMP_EQ"}]}));
        }
        syscalls.push(json!({"names": ["clone"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 0x7e02_0000u64, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}));
        syscalls.push(json!({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}));
        syscalls.push(json!({"names": ["socket"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_NE"}]}));
        let archs: Vec<&str> = match native().arch {
            Arch::ScmpArchX86_64 => vec!["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            _ => vec!["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
        };
        profile(
            json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
            "architectures": archs, "syscalls": syscalls}),
        )
    }

    #[test]
    fn docker_like_profile_compiles() {
        let p = docker_like();
        assert!(p.syscalls().as_ref().unwrap()[0].names().len() > 300);
        let f = compile(&p).unwrap();
        check_program(&f.program);
        let n = native();
        let eperm = errno(libc::EPERM);
        assert_eq!(eval(&f, n, "getpid", [0; 6]), ALLOW);
        assert_eq!(eval(&f, n, "mount", [0; 6]), eperm);
        assert_eq!(
            eval(&f, n, "personality", [0xffff_ffff, 0, 0, 0, 0, 0]),
            ALLOW
        );
        assert_eq!(
            eval(&f, n, "personality", [0x0040_0000, 0, 0, 0, 0, 0]),
            eperm
        );
        assert_eq!(
            eval(&f, n, "clone", [libc::SIGCHLD as u64, 0, 0, 0, 0, 0]),
            ALLOW
        );
        assert_eq!(
            eval(&f, n, "clone", [libc::CLONE_NEWNS as u64, 0, 0, 0, 0, 0]),
            eperm
        );
        assert_eq!(eval(&f, n, "clone3", [0; 6]), errno(38));
        assert_eq!(
            eval(&f, n, "socket", [libc::AF_UNIX as u64, 1, 0, 0, 0, 0]),
            ALLOW
        );
        assert_eq!(eval(&f, n, "socket", [40, 1, 0, 0, 0, 0]), eperm);
        if n.x32.is_some() {
            let x86 = abi(Arch::ScmpArchX86);
            assert_eq!(eval(&f, x86, "_llseek", [0; 6]), ALLOW);
            assert_eq!(eval(&f, x86, "mount", [0; 6]), eperm);
            assert_eq!(eval(&f, abi(Arch::ScmpArchX32), "read", [0; 6]), ALLOW);
        }
    }

    // -- The kernel's view: install in a forked child.

    enum Outcome {
        Exit(i32),
        Signal(i32),
    }

    /// Runs `body` in a forked child and reports how it ended. The child
    /// only makes syscalls and leaves with _exit: the test process has
    /// other threads, so the child must not allocate.
    fn in_child(body: impl FnOnce() -> i32) -> Outcome {
        // SAFETY: see above; the child never returns into the harness.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
        if pid == 0 {
            // SAFETY: plain syscalls; a stuck child dies of SIGALRM.
            unsafe {
                libc::alarm(20);
                libc::_exit(body())
            }
        }
        let mut status = 0;
        // SAFETY: waiting for our own child.
        while unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
            assert_eq!(
                std::io::Error::last_os_error().raw_os_error(),
                Some(libc::EINTR)
            );
        }
        if libc::WIFEXITED(status) {
            Outcome::Exit(libc::WEXITSTATUS(status))
        } else {
            Outcome::Signal(libc::WTERMSIG(status))
        }
    }

    /// no_new_privs, install `f`, then `probe`'s exit code.
    fn with_filter(f: &Filter, probe: impl FnOnce() -> i32) -> Outcome {
        in_child(|| {
            // SAFETY: plain prctl.
            if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
                return 100;
            }
            match install(f) {
                Ok(_) => probe(),
                Err(_) => 101,
            }
        })
    }

    fn expect_exit(o: Outcome, what: &str) {
        match o {
            Outcome::Exit(0) => {}
            Outcome::Exit(c) => panic!("{what}: child exited with {c}"),
            Outcome::Signal(s) => panic!("{what}: child killed by signal {s}"),
        }
    }

    /// A raw syscall: Ok(return value) or Err(errno).
    fn sys(nr: libc::c_long, a: [u64; 6]) -> std::result::Result<i64, i32> {
        // SAFETY: callers pass syscalls whose arguments are plain numbers
        // or valid pointers.
        let rc = unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
        if rc == -1 {
            Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
        } else {
            Ok(rc)
        }
    }

    #[test]
    fn kernel_applies_errno_rules_and_flags() {
        let f = compile(&profile(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
            "syscalls": [
                {"names": ["getpid"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]})))
        .unwrap();
        expect_exit(
            with_filter(&f, || {
                let path = c"/nonexistent-berth-seccomp/x";
                let mkdir = sys(
                    libc::SYS_mkdirat,
                    [libc::AT_FDCWD as u64, path.as_ptr() as u64, 0o700, 0, 0, 0],
                );
                match (
                    sys(libc::SYS_getpid, [0; 6]),
                    mkdir,
                    sys(libc::SYS_getppid, [0; 6]),
                ) {
                    (Err(libc::EPERM), Err(38), Ok(_)) => 0,
                    _ => 1,
                }
            }),
            "errno rules",
        );
    }

    #[test]
    fn kernel_kills_the_process() {
        let f = compile(&profile(
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"}]}),
        ))
        .unwrap();
        match with_filter(&f, || {
            let _ = sys(libc::SYS_getppid, [0; 6]);
            2
        }) {
            Outcome::Signal(libc::SIGSYS) => {}
            Outcome::Signal(s) => panic!("killed by {s}, not SIGSYS"),
            Outcome::Exit(c) => panic!("child exited with {c}"),
        }
    }

    #[test]
    fn kernel_compares_64_bit_arguments() {
        // personality(0xffffffff) only queries; anything else is refused.
        let f = compile(&profile(
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 0, "value": 0xffff_ffffu64, "op": "SCMP_CMP_NE"}]},
            // getppid ignores its arguments, so they are free to probe with.
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 21,
             "args": [{"index": 0, "value": 0xff00_0000_0000_00ffu64,
                       "valueTwo": 0x1200_0000_0000_0034u64, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
             "args": [{"index": 1, "value": 0x1_0000_0000u64, "op": "SCMP_CMP_GT"},
                      {"index": 2, "value": 0x2_0000_0000u64, "op": "SCMP_CMP_LT"}]}]}),
        ))
        .unwrap();
        expect_exit(
            with_filter(&f, || {
                let pers = |p: u64| sys(libc::SYS_personality, [p, 0, 0, 0, 0, 0]);
                let ppid = |a: [u64; 3]| sys(libc::SYS_getppid, [a[0], a[1], a[2], 0, 0, 0]);
                let checks = [
                    pers(0xffff_ffff).is_ok(),
                    pers(0x0040_0000) == Err(libc::EPERM),
                    ppid([0x12ab_cdef_0000_0034, 0, 0]) == Err(21),
                    ppid([0x1200_0000_0000_0035, 0, 0]).is_ok(),
                    ppid([0x1300_0000_0000_0034, 0, 0]).is_ok(),
                    ppid([0, 0x1_0000_0001, 0x1_ffff_ffff]) == Err(22),
                    ppid([0, 0x1_0000_0000, 0x1_ffff_ffff]).is_ok(),
                    ppid([0, 0x1_0000_0001, 0x2_0000_0000]).is_ok(),
                    ppid([0, 0xffff_ffff_ffff, 5]) == Err(22),
                ];
                checks
                    .iter()
                    .position(|ok| !ok)
                    .map_or(0, |i| 10 + i as i32)
            }),
            "argument rules",
        );
    }

    #[test]
    fn kernel_returns_enosys_above_the_profile() {
        let f = compile(&profile(
            json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["exit_group", "getpid", "io_uring_setup"], "action": "SCMP_ACT_ALLOW"}]}),
        ))
        .unwrap();
        expect_exit(
            with_filter(&f, || {
                match (
                    sys(libc::SYS_getpid, [0; 6]),
                    sys(libc::SYS_getppid, [0; 6]),
                    sys(1000, [0; 6]),
                ) {
                    (Ok(_), Err(libc::EPERM), Err(libc::ENOSYS)) => 0,
                    _ => 1,
                }
            }),
            "ENOSYS stub",
        );
    }

    #[test]
    fn kernel_loads_a_docker_like_profile() {
        let f = compile(&docker_like()).unwrap();
        expect_exit(
            with_filter(&f, || {
                let pers = |p: u64| sys(libc::SYS_personality, [p, 0, 0, 0, 0, 0]);
                let sock = |d: i32| {
                    sys(
                        libc::SYS_socket,
                        [d as u64, libc::SOCK_STREAM as u64, 0, 0, 0, 0],
                    )
                };
                let clone = |fl: i32| sys(libc::SYS_clone, [fl as u64, 0, 0, 0, 0, 0]);
                let unix = sock(libc::AF_UNIX);
                if let Ok(fd) = unix {
                    let _ = sys(libc::SYS_close, [fd as u64, 0, 0, 0, 0, 0]);
                }
                // A plain fork-like clone is allowed; reap the child.
                let forked = match clone(libc::SIGCHLD) {
                    Ok(0) => unsafe { libc::_exit(0) },
                    Ok(pid) => {
                        let mut st = 0;
                        unsafe { libc::waitpid(pid as i32, &mut st, 0) == pid as i32 }
                    }
                    Err(_) => false,
                };
                let checks = [
                    sys(libc::SYS_getpid, [0; 6]).is_ok(),
                    pers(0xffff_ffff).is_ok(),
                    pers(0x0040_0000) == Err(libc::EPERM),
                    unix.is_ok(),
                    sock(40) == Err(libc::EPERM),
                    clone(libc::CLONE_NEWNS | libc::SIGCHLD) == Err(libc::EPERM),
                    forked,
                    sys(libc::SYS_clone3, [0; 6]) == Err(libc::ENOSYS),
                    sys(libc::SYS_unshare, [libc::CLONE_NEWNS as u64, 0, 0, 0, 0, 0])
                        == Err(libc::EPERM),
                    sys(1000, [0; 6]) == Err(libc::ENOSYS),
                ];
                checks
                    .iter()
                    .position(|ok| !ok)
                    .map_or(0, |i| 10 + i as i32)
            }),
            "docker-like profile",
        );
    }

    #[test]
    fn kernel_hands_out_a_working_listener() {
        let f = compile(&profile(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": "/run/agent.sock",
            "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
            "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]})))
        .unwrap();
        expect_exit(
            in_child(|| {
                use std::os::fd::AsRawFd;
                // SAFETY: plain syscalls on our own fds and children.
                unsafe {
                    if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                        return 100;
                    }
                    let Ok(Some(listener)) = install(&f) else {
                        return 101;
                    };
                    let fd = listener.as_raw_fd();
                    if libc::fcntl(fd, libc::F_GETFD) & libc::FD_CLOEXEC == 0 {
                        return 102;
                    }
                    // A grandchild makes the notified call; we answer it.
                    let pid = libc::fork();
                    if pid == 0 {
                        let r = libc::syscall(libc::SYS_getppid);
                        libc::_exit(if r == 4242 { 0 } else { 1 });
                    }
                    let mut req: libc::seccomp_notif = std::mem::zeroed();
                    if libc::ioctl(fd, libc::SECCOMP_IOCTL_NOTIF_RECV, &mut req) != 0 {
                        libc::kill(pid, libc::SIGKILL);
                        return 103;
                    }
                    if req.data.nr as libc::c_long != libc::SYS_getppid || req.pid as i32 != pid {
                        return 104;
                    }
                    let resp = libc::seccomp_notif_resp {
                        id: req.id,
                        val: 4242,
                        error: 0,
                        flags: 0,
                    };
                    if libc::ioctl(fd, libc::SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0 {
                        return 105;
                    }
                    let mut st = 0;
                    if libc::waitpid(pid, &mut st, 0) != pid || !libc::WIFEXITED(st) {
                        return 106;
                    }
                    libc::WEXITSTATUS(st)
                }
            }),
            "notify",
        );
    }

    #[cfg(target_arch = "x86_64")]
    mod compat {
        use super::*;

        /// An i386 syscall without arguments, from 64-bit code.
        fn int80(nr: u32) -> i32 {
            let ret: i32;
            // SAFETY: int 0x80 with only eax set; the kernel clobbers r8-r11.
            unsafe {
                std::arch::asm!("int 0x80", inlateout("eax") nr as i32 => ret,
                    out("r8") _, out("r9") _, out("r10") _, out("r11") _, options(nostack));
            }
            ret
        }
        const I386_GETPID: u32 = 20;

        fn has_ia32() -> bool {
            let o = in_child(|| {
                // SAFETY: getpid.
                (int80(I386_GETPID) != unsafe { libc::getpid() }) as i32
            });
            matches!(o, Outcome::Exit(0))
        }

        #[test]
        fn kernel_filters_compat_abis_by_arch() {
            let plain = compile(&profile(json!({"defaultAction": "SCMP_ACT_ALLOW"}))).unwrap();
            // An x32 call without SCMP_ARCH_X32 kills the process.
            match with_filter(&plain, || {
                sys(X32_SYSCALL_BIT as libc::c_long | 39, [0; 6]).is_ok() as i32
            }) {
                Outcome::Signal(libc::SIGSYS) => {}
                _ => panic!("x32 getpid was not killed"),
            }
            let listed = compile(&profile(json!({"defaultAction": "SCMP_ACT_ALLOW",
                "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 56}]})))
            .unwrap();
            expect_exit(
                with_filter(&listed, || {
                    let x32 = sys(X32_SYSCALL_BIT as libc::c_long | 39, [0; 6]);
                    let native = sys(libc::SYS_getpid, [0; 6]);
                    (x32 != Err(56) || native != Err(56)) as i32
                }),
                "x32 listed",
            );
            if !has_ia32() {
                eprintln!("skipping the i386 part: this kernel runs no ia32 syscalls");
                return;
            }
            match with_filter(&plain, || int80(I386_GETPID)) {
                Outcome::Signal(libc::SIGSYS) => {}
                _ => panic!("i386 getpid was not killed"),
            }
            expect_exit(
                with_filter(&listed, || (int80(I386_GETPID) != -56) as i32),
                "i386 listed",
            );
        }
    }
}
