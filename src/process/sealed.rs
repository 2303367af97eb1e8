//! CVE-2019-5736: a process in the container must never be able to write
//! to the berth binary on the host through /proc/<pid>/exe. Before berth
//! enters a container it re-executes itself from a sealed memfd copy, so
//! the exe any container process could reach is an immutable, anonymous
//! file. (Making the process non-dumpable, done in the init, closes
//! /proc/<pid>/exe to other processes as well.)

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::error::{Error, Result};

const MFD_EXEC: libc::c_uint = 0x10;
const F_SEAL_EXEC: libc::c_int = 0x20;

/// True when this process already runs from a write-sealed memfd.
pub fn running_sealed() -> bool {
    let Ok(f) = std::fs::File::open("/proc/self/exe") else {
        return false;
    };
    // SAFETY: fcntl on a valid fd.
    let seals = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GET_SEALS) };
    seals >= 0 && seals & libc::F_SEAL_WRITE != 0
}

fn memfd() -> Result<OwnedFd> {
    let name = c"berth";
    let base = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // SAFETY: valid name; flags are plain integers. MFD_EXEC (6.3+) is
    // retried without on older kernels.
    let mut fd = unsafe { libc::memfd_create(name.as_ptr(), base | MFD_EXEC) };
    if fd < 0 {
        fd = unsafe { libc::memfd_create(name.as_ptr(), base) };
    }
    if fd < 0 {
        return Err(Error::sys("memfd_create", std::io::Error::last_os_error()));
    }
    // SAFETY: new fd we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Re-execute from a sealed copy unless already running from one. Returns
/// only on failure.
pub fn reexec_sealed() -> Result<()> {
    if running_sealed() {
        return Ok(());
    }
    let exe =
        std::fs::File::open("/proc/self/exe").map_err(|e| Error::sys("open /proc/self/exe", e))?;
    let len = exe
        .metadata()
        .map_err(|e| Error::sys("stat /proc/self/exe", e))?
        .len();
    let mem = memfd()?;
    let mut left = len as usize;
    while left > 0 {
        // SAFETY: valid fds; the kernel copies between them.
        let n =
            unsafe { libc::sendfile(mem.as_raw_fd(), exe.as_raw_fd(), std::ptr::null_mut(), left) };
        if n <= 0 {
            return Err(Error::sys(
                "copy berth into memfd",
                std::io::Error::last_os_error(),
            ));
        }
        left -= n as usize;
    }
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: fcntl on our memfd. F_SEAL_EXEC (6.3+) is best effort.
    if unsafe { libc::fcntl(mem.as_raw_fd(), libc::F_ADD_SEALS, seals | F_SEAL_EXEC) } != 0
        && unsafe { libc::fcntl(mem.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0
    {
        return Err(Error::sys("seal memfd", std::io::Error::last_os_error()));
    }
    let args: Vec<CString> = std::env::args_os()
        .map(|a| {
            CString::new(std::os::unix::ffi::OsStrExt::as_bytes(a.as_os_str())).unwrap_or_default()
        })
        .collect();
    let env: Vec<CString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = std::os::unix::ffi::OsStrExt::as_bytes(k.as_os_str()).to_vec();
            kv.push(b'=');
            kv.extend_from_slice(std::os::unix::ffi::OsStrExt::as_bytes(v.as_os_str()));
            CString::new(kv).unwrap_or_default()
        })
        .collect();
    let e = nix::unistd::fexecve(&mem, &args, &env).unwrap_err();
    Err(Error::sys("re-exec from sealed memfd", e))
}
