//! CVE-2019-5736: a process in the container must never be able to write
//! to the berth binary on the host through /proc/<pid>/exe. Before berth
//! enters a container it re-executes itself from a read-only view of its
//! binary, so the exe any container process could reach cannot be
//! written:
//!
//! - first choice: the binary's directory as the top layer of a new
//!   overlayfs with no upper layer, mounted detached (fsopen/fsmount: in
//!   no mount namespace, so nothing to clean up and nothing for engines to
//!   see). Without an upper layer the superblock itself is read-only, a
//!   state no mount flag change can undo. It costs a superblock (~0.1 ms).
//!   overlayfs wants a second lower layer when it has no upper one: the
//!   state root, whose entries the binary's directory hides where names
//!   meet (and nothing can reach the view but the exe link).
//! - otherwise (no overlayfs, an odd path): a sealed memfd copy, which
//!   costs a copy of the binary (~2-4 ms for 5 MB).
//!
//! (Making the process non-dumpable, done in the init, closes
//! /proc/<pid>/exe to other processes as well.)

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};

const MFD_EXEC: libc::c_uint = 0x10;
const F_SEAL_EXEC: libc::c_int = 0x20;

const OVERLAYFS_SUPER_MAGIC: libc::c_long = 0x794c_7630;
const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;
const MOUNT_ATTR_RDONLY: libc::c_uint = 0x1;
const MOUNT_ATTR_NOSUID: libc::c_uint = 0x2;
const MOUNT_ATTR_NODEV: libc::c_uint = 0x4;
/// Set in the re-executed berth's environment, so a re-exec that did not
/// give a sealed exe fails instead of looping.
const REEXEC_MARK: &str = "_BERTH_SEALED_REEXEC";

/// How this process's exe is protected, if it is.
#[derive(Debug, PartialEq, Eq)]
pub enum Sealed {
    /// A memfd with F_SEAL_WRITE.
    Memfd,
    /// A file on a read-only overlayfs.
    Overlay,
}

/// How this process's exe is protected, or None when it is writable.
pub fn sealed_as() -> Option<Sealed> {
    let f = std::fs::File::open("/proc/self/exe").ok()?;
    // SAFETY: fcntl on a valid fd.
    let seals = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GET_SEALS) };
    if seals >= 0 && seals & libc::F_SEAL_WRITE != 0 {
        return Some(Sealed::Memfd);
    }
    let st = nix::sys::statfs::fstatfs(&f).ok()?;
    let ro = nix::sys::statvfs::fstatvfs(&f)
        .ok()?
        .flags()
        .contains(nix::sys::statvfs::FsFlags::ST_RDONLY);
    (st.filesystem_type().0 as libc::c_long == OVERLAYFS_SUPER_MAGIC && ro)
        .then_some(Sealed::Overlay)
}

/// True when this process already runs from a read-only or sealed exe.
pub fn running_sealed() -> bool {
    sealed_as().is_some()
}

fn check(rc: libc::c_long, what: &str) -> Result<libc::c_long> {
    if rc < 0 {
        return Err(Error::sys(what, std::io::Error::last_os_error()));
    }
    Ok(rc)
}

/// fsopen + fsconfig(SET_STRING)... + CMD_CREATE + fsmount: a mount of a
/// new `fstype` superblock that is attached nowhere.
fn detached_mount(
    fstype: &CStr,
    options: &[(&CStr, &CStr)],
    attrs: libc::c_uint,
) -> Result<OwnedFd> {
    // SAFETY: fsopen with a valid name; the fd is ours.
    let fs = check(
        unsafe { libc::syscall(libc::SYS_fsopen, fstype.as_ptr(), FSOPEN_CLOEXEC) },
        "fsopen",
    )?;
    // SAFETY: a new fd we own.
    let fs = unsafe { OwnedFd::from_raw_fd(fs as i32) };
    for (key, value) in options {
        // SAFETY: fsconfig on our fs context with valid strings.
        check(
            unsafe {
                libc::syscall(
                    libc::SYS_fsconfig,
                    fs.as_raw_fd(),
                    FSCONFIG_SET_STRING,
                    key.as_ptr(),
                    value.as_ptr(),
                    0,
                )
            },
            "fsconfig",
        )?;
    }
    // SAFETY: as above, no strings.
    check(
        unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                fs.as_raw_fd(),
                FSCONFIG_CMD_CREATE,
                std::ptr::null::<libc::c_char>(),
                std::ptr::null::<libc::c_void>(),
                0,
            )
        },
        "fsconfig create",
    )?;
    // SAFETY: fsmount of our configured context; the fd is ours.
    let mnt = check(
        unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, attrs) },
        "fsmount",
    )?;
    // SAFETY: a new fd we own.
    Ok(unsafe { OwnedFd::from_raw_fd(mnt as i32) })
}

/// The binary, opened through a new overlayfs whose layers are its
/// directory (on top) and `second`. The mount is detached: it goes away
/// with its last user, and the exe keeps it alive while it runs. (A
/// detached empty tmpfs would do as the second layer only on kernels that
/// take detached mounts as layers, 6.15 on; overlapping layers, such as a
/// state root inside the binary's directory, make overlayfs refuse, and
/// berth copies itself instead.)
fn overlay_view(second: &Path) -> Result<std::fs::File> {
    let path = std::fs::read_link("/proc/self/exe")
        .map_err(|e| Error::sys("readlink /proc/self/exe", e))?;
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(Error::Other(format!("{}: no directory", path.display())));
    };
    let dir = dir.to_str().unwrap_or_default();
    let second_str = second.to_str().unwrap_or_default();
    // ':' and ',' separate overlayfs options and layers; "(deleted)" or a
    // relative path means the binary is gone or odd: use the memfd.
    let usable = |p: &str| p.starts_with('/') && !p.contains([':', ',', '\\']);
    if !usable(dir) || !usable(second_str) || path.to_string_lossy().ends_with(" (deleted)") {
        return Err(Error::Other(format!(
            "{} or {}: not usable as an overlayfs layer",
            path.display(),
            second.display()
        )));
    }
    let layers = CString::new(format!("{dir}:{second_str}"))
        .map_err(|_| Error::Other("overlayfs layers: NUL in path".into()))?;
    let view = detached_mount(
        c"overlay",
        &[(c"lowerdir", &layers)],
        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
    )?;
    let name = CString::new(std::os::unix::ffi::OsStrExt::as_bytes(name))
        .map_err(|_| Error::Other("binary name: NUL".into()))?;
    // SAFETY: openat relative to our mount fd with a valid name.
    let fd = unsafe {
        libc::openat(
            view.as_raw_fd(),
            name.as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW,
        )
    };
    if fd < 0 {
        return Err(Error::sys(
            "open berth on its overlayfs view",
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: a new fd we own.
    Ok(unsafe { std::fs::File::from_raw_fd(fd) })
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

/// Set once the marker was seen: the early re-exec (`cli/early.rs`) and
/// the later one both consult it, so a re-exec that did not end up sealed
/// fails instead of looping, whichever of the two looks first.
static MARKED: AtomicBool = AtomicBool::new(false);

/// Whether this process is a re-exec of berth's. The marker leaves the
/// environment at the first look, so nothing berth starts inherits it.
fn take_mark() -> bool {
    if std::env::var_os(REEXEC_MARK).is_some() {
        // Single-threaded here: the CLI calls this before anything else.
        std::env::remove_var(REEXEC_MARK);
        MARKED.store(true, Ordering::Relaxed);
    }
    MARKED.load(Ordering::Relaxed)
}

/// Re-execute from a read-only view or a sealed copy unless already
/// running from one; `state_root` (which must exist) is the overlayfs
/// view's second layer. Returns only on failure.
pub fn reexec_sealed(state_root: &Path) -> Result<()> {
    reexec(state_root, true)
}

/// The early form: re-execute only from the overlayfs view. Where there
/// is none (or the memfd copy is asked for), it does nothing and leaves
/// the copy, and the debug line that reports it, to `reexec_sealed` once
/// logging is set up.
pub fn reexec_from_view(state_root: &Path) -> Result<()> {
    reexec(state_root, false)
}

fn reexec(state_root: &Path, may_copy: bool) -> Result<()> {
    let marked = take_mark();
    if running_sealed() {
        return Ok(());
    }
    if marked {
        return Err(Error::Other(
            "re-executed berth, but /proc/self/exe is still writable".into(),
        ));
    }
    let target = match std::env::var_os("BERTH_EXE_SEAL").as_deref() {
        Some(v) if v == "memfd" && !may_copy => return Ok(()),
        Some(v) if v == "memfd" => memfd_copy()?,
        Some(v) if v != "overlay" => {
            return Err(Error::Other(format!(
                "BERTH_EXE_SEAL={}: expected overlay or memfd",
                v.to_string_lossy()
            )))
        }
        _ => match overlay_view(state_root) {
            Ok(f) => f,
            Err(_) if !may_copy => return Ok(()),
            Err(e) => {
                crate::logging::debug(&format!("no overlayfs view of berth ({e}); copying it"));
                memfd_copy()?
            }
        },
    };
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
        .chain(CString::new(format!("{REEXEC_MARK}=1")).ok())
        .collect();
    let e = nix::unistd::fexecve(&target, &args, &env).unwrap_err();
    Err(Error::sys("re-exec from a sealed exe", e))
}

/// A sealed memfd copy of the binary.
fn memfd_copy() -> Result<std::fs::File> {
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
    Ok(std::fs::File::from(mem))
}
