//! Cheap forms of the two pathrs calls that rootfs setup makes most.
//!
//! pathrs' `mkdir_all` and `Handle::reopen` check their work through its
//! procfs handle: ~70 syscalls each, most of the time of a container's
//! rootfs setup. Nearly every directory berth needs already exists
//! (`/proc`, `/dev`, `/sys`, the cwd), and reopening a directory needs no
//! procfs at all, so both take a short path first and fall back to pathrs
//! only where it has something to guard.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use pathrs::{Handle, Root};

use super::pathrs_err;
use crate::error::Result;

/// The directory `rel` inside the root, made (with its parents, mode 0755)
/// if it is missing. An existing one is found with a single
/// openat2(RESOLVE_IN_ROOT), which cannot leave the root either.
pub fn dir(root: &Root, rel: &Path) -> Result<Handle> {
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    match lookup(root, rel) {
        Ok(h) if is_dir(&h) => return Ok(h),
        Err(nix::errno::Errno::ENOENT) => {
            if let Some(h) = make_leaf(root, rel) {
                return Ok(h);
            }
        }
        _ => {}
    }
    // Deeper, or not a directory: pathrs makes it, or says why it cannot.
    match root.mkdir_all(rel, &super::perm(0o755)) {
        Ok(h) => Ok(h),
        // Through a dangling symlink (pathrs does not make what a symlink
        // points at): make the directories where it leads, as runc does.
        Err(e) => match through_symlinks(root, rel) {
            Ok(real) if real != rel => root
                .mkdir_all(&real, &super::perm(0o755))
                .map_err(|e| pathrs_err(format!("mkdir {}", real.display()), e)),
            _ => Err(pathrs_err(format!("mkdir {}", rel.display()), e)),
        },
    }
}

/// `rel` with every symlink on it replaced by where it leads, inside the
/// root (an absolute target starts again at the root, `..` never climbs
/// above it), as far as the path exists; what is missing is kept as
/// written. For making what a dangling symlink points at: a bind target
/// /etc/hosts -> /jump/hosts with /jump -> /tmp/a (missing) is tmp/a/hosts.
pub fn through_symlinks(root: &Root, rel: &Path) -> Result<std::path::PathBuf> {
    use std::collections::VecDeque;
    use std::path::{Component, PathBuf};
    let mut done = PathBuf::new();
    let mut todo: VecDeque<PathBuf> = rel
        .components()
        .map(|c| PathBuf::from(c.as_os_str()))
        .collect();
    let mut links = 0;
    let mut missing = false;
    while let Some(part) = todo.pop_front() {
        match part.components().next() {
            Some(Component::RootDir) | Some(Component::CurDir) | None => continue,
            Some(Component::ParentDir) => {
                done.pop();
                continue;
            }
            _ => {}
        }
        let cand = done.join(&part);
        if missing {
            done = cand;
            continue;
        }
        match lookup_nofollow(root, &cand) {
            Err(nix::errno::Errno::ENOENT) => {
                missing = true;
                done = cand;
            }
            Err(e) => {
                return Err(crate::error::Error::sys(
                    format!("resolve {}", cand.display()),
                    std::io::Error::from(e),
                ))
            }
            Ok(h) if is_symlink(&h) => {
                links += 1;
                if links > 40 {
                    return Err(crate::error::Error::sys(
                        format!("resolve {}", rel.display()),
                        std::io::Error::from_raw_os_error(libc::ELOOP),
                    ));
                }
                let target = nix::fcntl::readlinkat(&h, "").map_err(|e| {
                    crate::error::Error::sys(
                        format!("readlink {}", cand.display()),
                        std::io::Error::from(e),
                    )
                })?;
                let target = PathBuf::from(target);
                if target.is_absolute() {
                    done = PathBuf::new();
                }
                for c in target.components().rev() {
                    todo.push_front(PathBuf::from(c.as_os_str()));
                }
            }
            Ok(_) => done = cand,
        }
    }
    Ok(done)
}

/// `rel` inside the root without following a symlink at its end.
fn lookup_nofollow(root: &Root, rel: &Path) -> nix::Result<Handle> {
    lookup_with(root, rel, false)
}

fn is_symlink(h: &impl AsFd) -> bool {
    nix::sys::stat::fstat(h).is_ok_and(|s| s.st_mode & libc::S_IFMT == libc::S_IFLNK)
}

/// The common case of a missing directory (`dev/pts` in a fresh /dev):
/// only the last component is missing. It is made relative to the
/// resolved parent and opened with O_NOFOLLOW, so a swap of the new entry
/// for a symlink makes this fail (and pathrs take over) instead of
/// leading elsewhere. None when it does not apply or did not work.
fn make_leaf(root: &Root, rel: &Path) -> Option<Handle> {
    let name = super::cstr(rel.file_name()?);
    let parent = lookup(root, rel.parent()?).ok()?;
    let pfd = parent.as_fd().as_raw_fd();
    // SAFETY: a valid dirfd and NUL-terminated name; plain integers.
    let made = unsafe { libc::mkdirat(pfd, name.as_ptr(), 0o755) };
    if made != 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EEXIST) {
        return None;
    }
    // SAFETY: as above.
    let fd = unsafe {
        libc::openat(
            pfd,
            name.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return None;
    }
    // SAFETY: openat returned a new fd that nothing else owns.
    Some(Handle::from_fd(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// `rel` looked up inside the root, as `Root::resolve` does on kernels
/// with openat2 (5.6+), but without the procfs lookups pathrs makes to
/// describe a failure: berth looks up many paths it expects to be missing.
/// Where openat2 is not there (or asks to retry), pathrs resolves.
fn lookup(root: &Root, rel: &Path) -> nix::Result<Handle> {
    lookup_with(root, rel, true)
}

/// `lookup` or `lookup_nofollow`: a symlink at the end followed or not.
fn lookup_with(root: &Root, rel: &Path, follow: bool) -> nix::Result<Handle> {
    use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
    let mut flags = OFlag::O_PATH | OFlag::O_CLOEXEC;
    if !follow {
        flags |= OFlag::O_NOFOLLOW;
    }
    let how = OpenHow::new()
        .flags(flags)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    match nix::fcntl::openat2(root.as_fd(), rel, how) {
        Ok(fd) => Ok(Handle::from_fd(fd)),
        Err(nix::errno::Errno::ENOSYS | nix::errno::Errno::EAGAIN) => {
            let resolved = if follow {
                root.resolve(rel)
            } else {
                root.resolve_nofollow(rel)
            };
            resolved.map_err(|e| match e.kind() {
                pathrs::error::ErrorKind::OsError(Some(n)) => nix::errno::Errno::from_raw(n),
                _ => nix::errno::Errno::EIO,
            })
        }
        Err(e) => Err(e),
    }
}

/// A readable fd for the directory an (O_PATH) handle holds: "." looked up
/// from the handle is that very directory (it cannot be a symlink, and it
/// does not cross onto a mount made on top since the handle was taken).
pub fn open_dir(h: &impl AsFd) -> std::io::Result<OwnedFd> {
    // SAFETY: a valid dirfd and a NUL-terminated name.
    let fd = unsafe {
        libc::openat(
            h.as_fd().as_raw_fd(),
            c".".as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: openat returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn is_dir(h: &impl AsFd) -> bool {
    nix::sys::stat::fstat(h).is_ok_and(|s| s.st_mode & libc::S_IFMT == libc::S_IFDIR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn existing_dir_found_missing_made_file_refused() {
        let top = std::env::temp_dir().join(format!("berth-inroot-{}", std::process::id()));
        std::fs::create_dir_all(top.join("a/b")).unwrap();
        std::fs::write(top.join("f"), b"").unwrap();
        std::fs::create_dir(top.join("etc")).unwrap();
        std::os::unix::fs::symlink("/etc", top.join("out")).unwrap();
        let root = Root::open(&top).unwrap();
        assert!(dir(&root, Path::new("a/b")).is_ok());
        assert!(dir(&root, Path::new("c/d")).is_ok());
        assert!(dir(&root, Path::new("a/b/leaf")).is_ok());
        assert!(top.join("a/b/leaf").is_dir());
        assert!(dir(&root, Path::new("")).is_ok());
        assert!(top.join("c/d").is_dir());
        assert!(dir(&root, Path::new("f")).is_err());
        // A symlink out of the root resolves inside it: /etc in the root.
        assert!(dir(&root, Path::new("out/x")).is_ok());
        assert!(top.join("etc/x").is_dir());
        std::os::unix::fs::symlink("/etc", top.join("a/b/link")).unwrap();
        // An existing symlink as the leaf is followed inside the root.
        let h = dir(&root, Path::new("a/b/link")).unwrap();
        let (held, inside) = (
            nix::sys::stat::fstat(&h).unwrap(),
            std::fs::metadata(top.join("etc")).unwrap(),
        );
        assert_eq!(held.st_ino, std::os::unix::fs::MetadataExt::ino(&inside));
        // Dangling symlinks: what they point at is made, inside the root.
        std::os::unix::fs::symlink("/tmp/foo/bar", top.join("jump")).unwrap();
        std::os::unix::fs::symlink("../jump/baz/hosts", top.join("a/hosts")).unwrap();
        assert_eq!(
            through_symlinks(&root, Path::new("a/hosts")).unwrap(),
            Path::new("tmp/foo/bar/baz/hosts")
        );
        assert!(dir(&root, Path::new("jump/baz")).is_ok());
        assert!(top.join("tmp/foo/bar/baz").is_dir());
        let d = open_dir(&root.resolve("a").unwrap()).unwrap();
        std::fs::write(top.join("a/probe"), b"").unwrap();
        // SAFETY: valid dirfd and name.
        let found = unsafe { libc::faccessat(d.as_raw_fd(), c"probe".as_ptr(), libc::F_OK, 0) };
        assert_eq!(found, 0);
        std::fs::remove_dir_all(&top).unwrap();
    }
}
