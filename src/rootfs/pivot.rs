//! Making the rootfs the container's `/`: propagation set-up before the
//! mounts, pivot_root (or MS_MOVE + chroot with --no-pivot) after them.

use std::path::Path;

use nix::mount::MsFlags;

use super::{cstr, mount_raw};
use crate::error::{Error, Result};

/// How the init makes the rootfs its `/`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Entry {
    PivotRoot,
    /// --no-pivot: MS_MOVE the rootfs onto / and chroot.
    MoveAndChroot,
    /// No mount namespace of its own: only chroot (a move or pivot would
    /// change the host's mount tree).
    Chroot,
}

/// Before any mount: in the container's own mount namespace, stop our
/// mounts from propagating back to the host (everything becomes a slave).
/// Then make the rootfs a mount point of its own, so pivot_root accepts it
/// and `root.readonly` has a mount to remount. It is made private, unless
/// `keep_slave` (linux.rootfsPropagation asks for slave or rslave): then it
/// stays the host's slave, as runc leaves it (nothing is shared after the
/// rslave, so pivot_root takes it either way).
pub fn prepare(rootfs: &Path, own_mount_ns: bool, keep_slave: bool) -> Result<()> {
    if own_mount_ns {
        mount_raw(None, c"/", None, MsFlags::MS_SLAVE | MsFlags::MS_REC, None)
            .map_err(|e| Error::sys("make / rslave", e))?;
    }
    let r = cstr(rootfs);
    mount_raw(Some(&r), &r, None, MsFlags::MS_BIND | MsFlags::MS_REC, None)
        .map_err(|e| Error::sys(format!("bind rootfs {}", rootfs.display()), e))?;
    if !(keep_slave && own_mount_ns) {
        // pivot_root refuses a new root whose parent mount is shared.
        mount_raw(None, &r, None, MsFlags::MS_PRIVATE, None)
            .map_err(|e| Error::sys("make rootfs private", e))?;
    }
    Ok(())
}

/// Switch to the rootfs. The old root is stacked under the new one by
/// `pivot_root(".", ".")`, made a slave (so detaching it cannot unmount
/// anything on the host), and detached.
pub fn enter(rootfs: &Path, how: Entry) -> Result<()> {
    nix::unistd::chdir(rootfs).map_err(|e| Error::sys("chdir to rootfs", e))?;
    if how == Entry::Chroot {
        nix::unistd::chroot(".").map_err(|e| Error::sys("chroot", e))?;
    } else if how == Entry::MoveAndChroot {
        hide_full_pseudo_mounts(rootfs)?;
        mount_raw(Some(&cstr(rootfs)), c"/", None, MsFlags::MS_MOVE, None)
            .map_err(|e| Error::sys("move rootfs to / (--no-pivot)", e))?;
        nix::unistd::chroot(".").map_err(|e| Error::sys("chroot", e))?;
    } else {
        // After pivot_root(".", ".") the old root is stacked on top of the
        // new one. Step onto it (through an fd taken before) so that the
        // rslave and the detach reach the old root only, not the
        // container's own mounts (which keep their propagation).
        let old_root = std::fs::File::open("/").map_err(|e| Error::sys("open old root", e))?;
        nix::unistd::pivot_root(".", ".").map_err(|e| Error::sys("pivot_root", e))?;
        nix::unistd::fchdir(&old_root).map_err(|e| Error::sys("fchdir old root", e))?;
        mount_raw(None, c".", None, MsFlags::MS_SLAVE | MsFlags::MS_REC, None)
            .map_err(|e| Error::sys("make old root rslave", e))?;
        nix::mount::umount2(".", nix::mount::MntFlags::MNT_DETACH)
            .map_err(|e| Error::sys("detach old root", e))?;
    }
    nix::unistd::chdir("/").map_err(|e| Error::sys("chdir /", e))?;
    Ok(())
}

/// --no-pivot: after the move and chroot, the host's mounts stay in the
/// container's mount namespace, beneath its root. The kernel lets a
/// process mount a new procfs or sysfs (in a user namespace of its own,
/// say) whenever the namespace holds a full, unmasked one: the host's
/// /proc would be that, and with it /proc/sysrq-trigger. So every full
/// procfs and sysfs outside the rootfs is detached first, or covered with
/// an empty tmpfs where it cannot be (a locked mount). The namespace is
/// already a slave of the host's (`prepare`), so nothing reaches the host.
fn hide_full_pseudo_mounts(rootfs: &Path) -> Result<()> {
    let info = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| Error::sys("read /proc/self/mountinfo", e))?;
    let mut points: Vec<std::path::PathBuf> = info
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let left: Vec<&str> = left.split(' ').collect();
            let fstype = right.split(' ').next()?;
            let full = left.get(3) == Some(&"/");
            let point = std::path::PathBuf::from(crate::cgroups::unescape(left.get(4)?));
            (full && matches!(fstype, "proc" | "sysfs") && !point.starts_with(rootfs))
                .then_some(point)
        })
        .collect();
    // Deepest first: a parent's detach takes its submounts with it.
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    points.dedup();
    for p in points {
        // Never what holds the rootfs itself.
        if rootfs.starts_with(&p) {
            continue;
        }
        // Mounts stacked at one point (a procfs over a procfs, as
        // `unshare --mount-proc` leaves) come off one per call.
        let mut detached = false;
        loop {
            match nix::mount::umount2(&p, nix::mount::MntFlags::MNT_DETACH) {
                Ok(()) => detached = true,
                // Nothing (more) mounted there, or gone with a parent.
                Err(nix::errno::Errno::EINVAL) if detached => break,
                Err(nix::errno::Errno::ENOENT) => break,
                Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::EPERM) => {
                    mount_raw(
                        Some(c"tmpfs"),
                        &cstr(&p),
                        Some(c"tmpfs"),
                        MsFlags::empty(),
                        None,
                    )
                    .map_err(|e| Error::sys(format!("cover {} (--no-pivot)", p.display()), e))?;
                    break;
                }
                Err(e) => {
                    return Err(Error::sys(
                        format!("detach {} (--no-pivot)", p.display()),
                        e,
                    ))
                }
            }
        }
    }
    Ok(())
}

/// `linux.rootfsPropagation`, applied to the new `/` once everything is
/// mounted (applying `unbindable` earlier would forbid the rootfs bind).
pub fn set_root_propagation(flag: MsFlags) -> Result<()> {
    mount_raw(None, c"/", None, flag, None)
        .map_err(|e| Error::sys("config.json: linux.rootfsPropagation", e))
}
