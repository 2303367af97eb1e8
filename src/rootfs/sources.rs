//! Bind sources opened before the container's user namespace exists.
//!
//! In a user namespace the init is root only of the ids it maps: a bind
//! source under a directory the mapped root cannot search (`chmod o-rwx`
//! on the host) is out of its reach by path. As runc does, such sources
//! are taken while the init is still the host's root, before it joins or
//! makes the user namespace: `open_tree(OPEN_TREE_CLONE)` gives a detached
//! copy of the mount (recursive for `rbind`), which `move_mount` attaches
//! later in the container's mount namespace, whatever that namespace and
//! its owner. (An O_PATH fd would not do: bind-mounting a path that lives
//! in another mount namespace is refused.)
//!
//! Sources inside the rootfs are left to be resolved at mount time, after
//! the mounts before them: a config may bind what an earlier mount put
//! there (runc's mount-order tests).

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::Mount;

const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;

/// Detached copies of the bind sources of `mounts` that lie outside
/// `rootfs`, by index in `mounts`. A source that cannot be taken this way
/// (no open_tree before Linux 5.2, or any other failure) is simply left
/// out: it is looked up by path at mount time, as without a user
/// namespace, and fails there with its own error if it must.
pub fn open_early(mounts: &[Mount], bundle: &Path, rootfs: &Path) -> HashMap<usize, OwnedFd> {
    let mut out = HashMap::new();
    for (i, m) in mounts.iter().enumerate() {
        let opts = m.options().as_deref().unwrap_or(&[]);
        let bind =
            m.typ().as_deref() == Some("bind") || opts.iter().any(|o| o == "bind" || o == "rbind");
        let Some(src) = m.source().as_ref().filter(|_| bind) else {
            continue;
        };
        let src = bundle.join(src);
        if src.starts_with(rootfs) {
            continue;
        }
        let recursive = opts.iter().any(|o| o == "rbind");
        if let Ok(fd) = open_tree(&src, recursive) {
            out.insert(i, fd);
        }
    }
    out
}

fn open_tree(path: &Path, recursive: bool) -> std::io::Result<OwnedFd> {
    let p = super::cstr(path);
    let mut flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: a NUL-terminated path and plain integer flags.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, p.as_ptr(), flags) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Attach the detached tree `tree` on the mount point `target` (an fd).
pub fn attach(tree: &OwnedFd, target: &impl AsFd) -> std::io::Result<()> {
    // SAFETY: two valid fds, empty paths with the *_EMPTY_PATH flags.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            target.as_fd().as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
