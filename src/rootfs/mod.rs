//! The container's root filesystem: its mounts (resolved safely inside the
//! rootfs and mounted through an fd), /dev, pivot_root, and the masked and
//! read-only paths. Runs in the container's init, in its mount namespace.

pub mod copyup;
pub mod devices;
pub mod inroot;
pub mod mounts;
pub mod options;
pub mod paths;
pub mod pivot;
pub mod sources;
pub mod sysctl;

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;

use crate::error::Error;

/// A path under the rootfs as pathrs wants it: relative, no leading `/`.
pub fn inner(dest: &Path) -> PathBuf {
    dest.components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .collect()
}

/// Permissions for directories and files berth creates in the rootfs.
pub fn perm(mode: u32) -> std::fs::Permissions {
    std::os::unix::fs::PermissionsExt::from_mode(mode)
}

/// The magic-link path through which mount(2) reaches an fd's inode. The
/// kernel follows it to exactly the inode we resolved, so a symlink swapped
/// in afterwards cannot redirect the mount.
pub fn fd_path(fd: &impl AsFd) -> CString {
    CString::new(format!("/proc/self/fd/{}", fd.as_fd().as_raw_fd())).expect("no NUL")
}

pub fn pathrs_err(what: impl std::fmt::Display, e: pathrs::error::Error) -> Error {
    Error::Other(format!("{what}: {e}"))
}

/// mount(2) with C strings; `None` passes NULL.
pub fn mount_raw(
    source: Option<&std::ffi::CStr>,
    target: &std::ffi::CStr,
    fstype: Option<&std::ffi::CStr>,
    flags: MsFlags,
    data: Option<&std::ffi::CStr>,
) -> std::io::Result<()> {
    let p = |c: Option<&std::ffi::CStr>| c.map_or(std::ptr::null(), |c| c.as_ptr());
    // SAFETY: every pointer is NULL or a valid NUL-terminated string.
    let rc = unsafe {
        libc::mount(
            p(source),
            target.as_ptr(),
            p(fstype),
            flags.bits(),
            p(data).cast(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

pub fn cstr(s: impl AsRef<std::ffi::OsStr>) -> CString {
    use std::os::unix::ffi::OsStrExt;
    CString::new(s.as_ref().as_bytes()).unwrap_or_else(|_| CString::new("?").unwrap())
}

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// mount_setattr(2) on the mount at `fd`, recursively.
pub fn mount_setattr(fd: &impl AsFd, set: u64, clr: u64) -> std::io::Result<()> {
    mount_setattr_with(fd, set, clr, None::<&std::os::fd::OwnedFd>, true)
}

/// Set the propagation (MS_SLAVE, MS_PRIVATE, ...) of the mount at `fd`
/// and its submounts with mount_setattr(2).
pub fn mount_set_propagation(fd: &impl AsFd, propagation: u64) -> std::io::Result<()> {
    setattr(
        fd,
        &MountAttr {
            attr_set: 0,
            attr_clr: 0,
            propagation,
            userns_fd: 0,
        },
        true,
    )
}

/// mount_setattr(2) on the mount at `fd` (and its submounts when
/// `recursive`), with a user namespace for MOUNT_ATTR_IDMAP.
pub fn mount_setattr_with(
    fd: &impl AsFd,
    set: u64,
    clr: u64,
    userns: Option<&impl AsFd>,
    recursive: bool,
) -> std::io::Result<()> {
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clr,
        propagation: 0,
        userns_fd: userns.map_or(0, |u| u.as_fd().as_raw_fd() as u64),
    };
    setattr(fd, &attr, recursive)
}

fn setattr(fd: &impl AsFd, attr: &MountAttr, recursive: bool) -> std::io::Result<()> {
    let mut flags = libc::AT_EMPTY_PATH;
    if recursive {
        flags |= libc::AT_RECURSIVE;
    }
    // SAFETY: valid fd, empty path with AT_EMPTY_PATH, attr is a valid struct.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_fd().as_raw_fd(),
            c"".as_ptr(),
            flags,
            attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// statfs flags that a remount must keep: in a user namespace the kernel
/// refuses to clear nosuid/nodev/noexec/ro/atime flags locked by the
/// mount's original owner.
pub fn locked_flags(path: &std::ffi::CStr) -> MsFlags {
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid path and out-pointer.
    if unsafe { libc::statvfs(path.as_ptr(), &mut st) } != 0 {
        return MsFlags::empty();
    }
    let f = st.f_flag;
    let mut out = MsFlags::empty();
    for (st_bit, ms) in [
        (libc::ST_RDONLY, MsFlags::MS_RDONLY),
        (libc::ST_NOSUID, MsFlags::MS_NOSUID),
        (libc::ST_NODEV, MsFlags::MS_NODEV),
        (libc::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (libc::ST_NOATIME, MsFlags::MS_NOATIME),
        (libc::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (libc::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f & st_bit != 0 {
            out |= ms;
        }
    }
    out
}

/// Remount a bind mount with `flags`, keeping locked flags if the kernel
/// insists.
pub fn remount_bind(target: &std::ffi::CStr, flags: MsFlags) -> std::io::Result<()> {
    remount_bind_keeping(target, flags, MsFlags::MS_RDONLY)
}

/// As `remount_bind`; on EPERM (in a user namespace the source's flags are
/// locked) the locked flags are kept, but not those in `cleared`, which
/// the config asked to clear (`rw`, `suid`, ...): asking to clear a locked
/// flag fails, as with runc.
pub fn remount_bind_keeping(
    target: &std::ffi::CStr,
    flags: MsFlags,
    cleared: MsFlags,
) -> std::io::Result<()> {
    let base = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | flags;
    match mount_raw(None, target, None, base, None) {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            let locked = locked_flags(target) & !cleared;
            mount_raw(None, target, None, base | locked, None)
        }
        r => r,
    }
}

/// Unmount every mount at or below `dir` (deepest first): what a container
/// without its own mount namespace left in the host's.
pub fn unmount_under(dir: &Path) -> Result<(), Error> {
    let info = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| Error::sys("read /proc/self/mountinfo", e))?;
    let mut points: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| PathBuf::from(crate::cgroups::unescape(m)))
        .filter(|m| m.starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    points.dedup();
    // A path mounted over several times needs one umount per layer.
    for p in points {
        while nix::mount::umount2(&p, nix::mount::MntFlags::MNT_DETACH).is_ok() {}
    }
    Ok(())
}
