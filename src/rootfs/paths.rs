//! After pivot_root: masked paths, read-only paths, the read-only root.
//! The process's root is now the container's, so no path can resolve
//! outside it; /dev/null is still checked before it is bind-mounted,
//! since the image may have put something else there.

use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use nix::mount::MsFlags;

use super::{cstr, mount_raw, remount_bind};
use crate::error::{Error, Result};

/// Check that /dev/null really is the null device (char 1:3).
fn verified_dev_null() -> Result<std::fs::File> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open("/dev/null")
        .map_err(|e| Error::sys("open /dev/null", e))?;
    let m = f.metadata().map_err(|e| Error::sys("stat /dev/null", e))?;
    if !m.file_type().is_char_device() || m.rdev() != libc::makedev(1, 3) {
        return Err(Error::Other(
            "/dev/null in the container is not the null device; refusing to mask with it".into(),
        ));
    }
    Ok(f)
}

pub fn mask(paths: &[String]) -> Result<()> {
    let mut null = None;
    for p in paths {
        let meta = match std::fs::symlink_metadata(p) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::sys(format!("maskedPaths: {p}"), e)),
        };
        let target = cstr(p);
        if meta.is_dir() {
            mount_raw(
                Some(c"tmpfs"),
                &target,
                Some(c"tmpfs"),
                MsFlags::MS_RDONLY,
                None,
            )
            .map_err(|e| Error::sys(format!("config.json: linux.maskedPaths: {p}"), e))?;
        } else {
            if null.is_none() {
                null = Some(verified_dev_null()?);
            }
            let src = super::fd_path(null.as_ref().unwrap());
            mount_raw(Some(&src), &target, None, MsFlags::MS_BIND, None)
                .map_err(|e| Error::sys(format!("config.json: linux.maskedPaths: {p}"), e))?;
        }
    }
    Ok(())
}

pub fn readonly(paths: &[String]) -> Result<()> {
    for p in paths {
        if std::fs::symlink_metadata(p).is_err() {
            continue;
        }
        let target = cstr(p);
        mount_raw(
            Some(&target),
            &target,
            None,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None,
        )
        .map_err(|e| Error::sys(format!("config.json: linux.readonlyPaths: {p}"), e))?;
        remount_bind(
            &target,
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        )
        .or_else(|_| remount_bind(&target, MsFlags::MS_RDONLY))
        .map_err(|e| Error::sys(format!("config.json: linux.readonlyPaths: {p}"), e))?;
    }
    Ok(())
}

/// `root.readonly`: the rootfs bind mount becomes read-only.
pub fn root_readonly() -> Result<()> {
    remount_bind(c"/", MsFlags::MS_RDONLY).map_err(|e| Error::sys("config.json: root.readonly", e))
}

pub fn exists(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok()
}
