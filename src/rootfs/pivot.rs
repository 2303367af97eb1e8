//! Making the rootfs the container's `/`: propagation set-up before the
//! mounts, pivot_root (or MS_MOVE + chroot with --no-pivot) after them.

use std::path::Path;

use nix::mount::MsFlags;

use super::{cstr, mount_raw};
use crate::error::{Error, Result};

/// Before any mount: stop our mounts from propagating back to the host
/// (everything becomes a slave), and make the rootfs a mount point of its
/// own so pivot_root accepts it.
pub fn prepare(rootfs: &Path) -> Result<()> {
    mount_raw(None, c"/", None, MsFlags::MS_SLAVE | MsFlags::MS_REC, None)
        .map_err(|e| Error::sys("make / rslave", e))?;
    let r = cstr(rootfs);
    mount_raw(Some(&r), &r, None, MsFlags::MS_BIND | MsFlags::MS_REC, None)
        .map_err(|e| Error::sys(format!("bind rootfs {}", rootfs.display()), e))?;
    // pivot_root refuses a new root whose parent mount is shared.
    mount_raw(None, &r, None, MsFlags::MS_PRIVATE, None)
        .map_err(|e| Error::sys("make rootfs private", e))?;
    Ok(())
}

/// Switch to the rootfs. The old root is stacked under the new one by
/// `pivot_root(".", ".")`, made a slave (so detaching it cannot unmount
/// anything on the host), and detached.
pub fn enter(rootfs: &Path, no_pivot: bool) -> Result<()> {
    nix::unistd::chdir(rootfs).map_err(|e| Error::sys("chdir to rootfs", e))?;
    if no_pivot {
        mount_raw(Some(&cstr(rootfs)), c"/", None, MsFlags::MS_MOVE, None)
            .map_err(|e| Error::sys("move rootfs to / (--no-pivot)", e))?;
        nix::unistd::chroot(".").map_err(|e| Error::sys("chroot", e))?;
    } else {
        nix::unistd::pivot_root(".", ".").map_err(|e| Error::sys("pivot_root", e))?;
        mount_raw(None, c".", None, MsFlags::MS_SLAVE | MsFlags::MS_REC, None)
            .map_err(|e| Error::sys("make old root rslave", e))?;
        nix::mount::umount2(".", nix::mount::MntFlags::MNT_DETACH)
            .map_err(|e| Error::sys("detach old root", e))?;
    }
    nix::unistd::chdir("/").map_err(|e| Error::sys("chdir /", e))?;
    Ok(())
}

/// `linux.rootfsPropagation`, applied to the new `/` once everything is
/// mounted (applying `unbindable` earlier would forbid the rootfs bind).
pub fn set_root_propagation(flag: MsFlags) -> Result<()> {
    mount_raw(None, c"/", None, flag, None)
        .map_err(|e| Error::sys("config.json: linux.rootfsPropagation", e))
}
