//! `linux.seccomp`: compile the config into a classic BPF program and
//! install it with seccomp(2).
//!
//! berth generates the BPF itself. seccompiler has one match action per
//! filter, no `SECCOMP_RET_USER_NOTIF`, one architecture per filter (a
//! stack of them would kill every other ABI) and keeps its syscall tables
//! private; libseccomp would mean linking C. The generator is small: a
//! back-to-front assembler, a binary search over syscall numbers, and
//! 64-bit argument tests done as two 32-bit compares. seccompiler serves
//! as an independent oracle for it in the unit tests (tests/oracle.rs).
//!
//! # Files
//!
//! - `mod.rs`: `compile` (config to [`Filter`]) and what `berth features`
//!   reports;
//! - `abi.rs`: the architectures a filter covers and the syscall tables
//!   (`syscalls_*.rs`: names to numbers);
//! - `rules.rs`: the config checked and turned into rules (actions, errnos,
//!   conditions, flags; unknown names skipped with a warning);
//! - `bpf.rs`: the BPF program;
//! - `install.rs`: seccomp(2), and the probe of the flags this kernel takes;
//! - `notify.rs`: a NOTIFY rule's listener, from the container's process
//!   to the berth process on the host and on to `listenerPath`;
//! - `tests/`: unit tests (config checks, the program on a BPF interpreter,
//!   checked against seccompiler's where both can express a profile,
//!   filters installed in forked children).
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
//!   The caller passes it on at once (notify.rs), with nothing but the
//!   `sendmsg` that does so in between: a notified syscall made while the
//!   listener is only in the process itself would never be answered. That
//!   is why NOTIFY on `sendmsg` is refused, on `write` (the error report
//!   after the hand-off) as in runc, and as the default action.
//! - `berth exec` processes join the container with setns; they must
//!   install the filter themselves, in the same place.
//!
//! `compile` allocates; `install` does not on success, so a filter
//! compiled before fork/clone can be installed in the child.

use std::fmt;

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction as Action};

use crate::error::{Error, Result};
use crate::logging;

mod abi;
mod bpf;
mod install;
pub mod notify;
mod rules;
mod syscalls_aarch64;
mod syscalls_x86_64;
#[cfg(test)]
mod tests;

pub use install::{install, supported_flags};

use abi::{enabled_abis, HOST};
use bpf::generate;
use rules::{action_ret, entries, seccomp_flags, warn_unknown_names};

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

    /// The classic BPF program itself, for checks that do not install it
    /// (the fuzz target verifies every jump lands inside it).
    pub fn program(&self) -> &[libc::sock_filter] {
        &self.program
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
    // The spec: listenerMetadata MUST NOT be set without listenerPath; a
    // listenerPath without any NOTIFY rule is ignored.
    if s.listener_metadata().is_some() && s.listener_path().is_none() {
        return Err(invalid(
            "linux.seccomp.listenerMetadata",
            "is set but listenerPath is not: the metadata only goes to the agent at listenerPath",
        ));
    }
    if !listener && s.listener_path().is_some() {
        logging::debug("seccomp: listenerPath is ignored: no rule uses SCMP_ACT_NOTIFY");
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

fn invalid(field: &str, msg: &str) -> Error {
    Error::InvalidConfig(format!("config.json: {field}: {msg}"))
}
