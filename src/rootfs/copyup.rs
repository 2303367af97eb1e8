//! `tmpcopyup`: fill a fresh tmpfs with a copy of the directory it covers
//! (what the image had at /run, /tmp, ... stays visible under Podman's
//! tmpfs mounts). The walk is fd-relative and never follows a symlink:
//! the rootfs may be shared with a running container that changes it.

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};

use nix::fcntl::{openat, readlinkat, AtFlags, OFlag};
use nix::sys::stat::{fchmod, fstatat, mkdirat, Mode, SFlag};
use nix::unistd::{fchownat, symlinkat, Gid, Uid};

use crate::error::{Error, Result};

fn sys(what: &str, e: nix::errno::Errno) -> Error {
    Error::sys(format!("tmpcopyup: {what}"), std::io::Error::from(e))
}

/// Copy the tree under directory `from` into the empty directory `to`:
/// directories, regular files and symlinks, with modes and owners.
pub fn copy_tree(from: &OwnedFd, to: &OwnedFd) -> Result<()> {
    let dup = nix::unistd::dup(from).map_err(|e| sys("dup", e))?;
    let mut dir = nix::dir::Dir::from_fd(dup).map_err(|e| sys("open dir", e))?;
    let names: Vec<std::ffi::CString> = dir
        .iter()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_owned())
        .filter(|n| n.as_bytes() != b"." && n.as_bytes() != b"..")
        .collect();
    for name in names {
        let name = name.as_c_str();
        let what = name.to_string_lossy().into_owned();
        let st = fstatat(from, name, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(|e| sys(&what, e))?;
        let mode = Mode::from_bits_truncate(st.st_mode & 0o7777);
        let (uid, gid) = (
            Some(Uid::from_raw(st.st_uid)),
            Some(Gid::from_raw(st.st_gid)),
        );
        let nofollow = OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        match SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) {
            SFlag::S_IFDIR => {
                mkdirat(to, name, mode).map_err(|e| sys(&what, e))?;
                fchownat(to, name, uid, gid, AtFlags::AT_SYMLINK_NOFOLLOW)
                    .map_err(|e| sys(&what, e))?;
                let dir_flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | nofollow;
                let sub_from =
                    openat(from, name, dir_flags, Mode::empty()).map_err(|e| sys(&what, e))?;
                let sub_to =
                    openat(to, name, dir_flags, Mode::empty()).map_err(|e| sys(&what, e))?;
                copy_tree(&sub_from, &sub_to)?;
            }
            SFlag::S_IFREG => {
                let src = openat(from, name, OFlag::O_RDONLY | nofollow, Mode::empty())
                    .map_err(|e| sys(&what, e))?;
                let dst = openat(
                    to,
                    name,
                    OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | nofollow,
                    mode,
                )
                .map_err(|e| sys(&what, e))?;
                let (mut src, mut dst) = (File::from(src), File::from(dst));
                std::io::copy(&mut src, &mut dst)
                    .map_err(|e| Error::sys(format!("tmpcopyup: copy {what}"), e))?;
                nix::unistd::fchown(dst.as_fd(), uid, gid).map_err(|e| sys(&what, e))?;
                // After the chown, which clears set-id bits.
                fchmod(dst.as_fd(), mode).map_err(|e| sys(&what, e))?;
            }
            SFlag::S_IFLNK => {
                let target = readlinkat(from, name).map_err(|e| sys(&what, e))?;
                symlinkat(target.as_os_str(), to, name).map_err(|e| sys(&what, e))?;
                fchownat(to, name, uid, gid, AtFlags::AT_SYMLINK_NOFOLLOW)
                    .map_err(|e| sys(&what, e))?;
            }
            // Device nodes, fifos and sockets are not copied (runc copies
            // none of them either into a tmpfs of this kind).
            _ => {}
        }
    }
    Ok(())
}
