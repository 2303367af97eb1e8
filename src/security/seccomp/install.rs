//! Installing a compiled filter with seccomp(2), and probing which filter
//! flags this kernel takes.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use super::{Filter, KNOWN_FLAGS};
use crate::error::{Error, Result};

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

pub(super) const KNOWN_FLAG_BITS: &[libc::c_ulong] = &[
    libc::SECCOMP_FILTER_FLAG_TSYNC,
    libc::SECCOMP_FILTER_FLAG_LOG,
    libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
    libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
];

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

pub(super) fn install_error(f: &Filter, e: std::io::Error) -> Error {
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
