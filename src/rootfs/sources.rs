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
//! in another mount namespace is refused.) The copy is made a slave at
//! once (a copy of a shared mount would be a peer of the host's), and it is
//! used only where the container's root cannot reach the source by path:
//! a bind made from the container's own mount namespace keeps the
//! kernel's MNT_LOCKED flags, which a tree copied by the host's root lacks.
//!
//! Id-mapped mounts (`mounts[].uidMappings`/`gidMappings`, the `idmap` and
//! `ridmap` options) are made here too, for the same reason: a detached
//! tree gets its mapping (mount_setattr MOUNT_ATTR_IDMAP with a user
//! namespace made for the maps) before it is attached.
//!
//! Other sources inside the rootfs are left to be resolved at mount time, after
//! the mounts before them: a config may bind what an earlier mount put
//! there (runc's mount-order tests).

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::{LinuxIdMapping, Mount};

use crate::error::{Error, Result};

const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;

/// What `open_early` needs to know of the container.
pub struct Early<'a> {
    pub mounts: &'a [Mount],
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    /// The container has a user namespace (new or joined): take every bind
    /// source outside the rootfs early, not only id-mapped ones.
    pub user_involved: bool,
    /// The container's own id maps (linux.uidMappings/gidMappings), for
    /// an `idmap` mount that gives none of its own.
    pub uid_maps: &'a [LinuxIdMapping],
    pub gid_maps: &'a [LinuxIdMapping],
    /// The user namespace the container joins by path, if it does.
    pub joined_userns: Option<&'a OwnedFd>,
}

/// Detached copies of bind sources, by index in `mounts`: every id-mapped
/// one (with its mapping applied), and with a user namespace every other
/// one that lies outside the rootfs. A plain source that cannot be taken
/// this way (no open_tree before Linux 5.2, or any other failure) is left
/// out: it is looked up by path at mount time, as without a user
/// namespace, and fails there with its own error if it must. An id-mapped
/// one that cannot be made fails `create`.
pub fn open_early(e: &Early) -> Result<HashMap<usize, OwnedFd>> {
    let mut out = HashMap::new();
    let mut userns_cache: Vec<(String, OwnedFd)> = Vec::new();
    for (i, m) in e.mounts.iter().enumerate() {
        let opts = m.options().as_deref().unwrap_or(&[]);
        let has = |o: &str| opts.iter().any(|x| x == o);
        let bind = m.typ().as_deref() == Some("bind") || has("bind") || has("rbind");
        let Some(src) = m.source().as_ref().filter(|_| bind) else {
            continue;
        };
        let src = e.bundle.join(src);
        let own_maps = m.uid_mappings().as_ref().is_some_and(|v| !v.is_empty())
            || m.gid_mappings().as_ref().is_some_and(|v| !v.is_empty());
        let idmapped = own_maps || has("idmap") || has("ridmap");
        let recursive = has("rbind");
        // A source inside the rootfs may be made by an earlier mount: with
        // its own maps and no user namespace (the init stays the host's
        // root), it is id-mapped at its turn instead (`mapped_now`).
        if idmapped && own_maps && !e.user_involved && src.starts_with(e.rootfs) {
            continue;
        }
        if idmapped {
            let field = format!("config.json: mounts[{i}]");
            let tree = open_tree(&src, recursive).map_err(|err| {
                Error::sys(
                    format!("{field}: id-mapped mount of {}", src.display()),
                    err,
                )
            })?;
            let userns = idmap_userns(e, m, own_maps, &field, &mut userns_cache)?;
            // `ridmap` maps every submount too; `idmap`, or mappings alone,
            // the top one (a submount may be id-mapped already, and the
            // kernel maps no mount twice).
            let rec = has("ridmap");
            set_idmap(&tree, &userns, rec).map_err(|err| {
                Error::sys(
                    format!("{field}: id-map the mount of {}", src.display()),
                    err,
                )
            })?;
            out.insert(i, tree);
            continue;
        }
        if !e.user_involved || src.starts_with(e.rootfs) {
            continue;
        }
        if let Ok(fd) = open_tree(&src, recursive) {
            out.insert(i, fd);
        }
    }
    Ok(out)
}

/// The user namespace whose maps an id-mapped mount uses: its own maps,
/// else the container's (the namespace it joins, or its own maps).
fn idmap_userns(
    e: &Early,
    m: &Mount,
    own_maps: bool,
    field: &str,
    cache: &mut Vec<(String, OwnedFd)>,
) -> Result<OwnedFd> {
    let dup = |fd: &OwnedFd| fd.try_clone().map_err(|err| Error::sys("dup", err));
    if !own_maps {
        if let Some(fd) = e.joined_userns {
            return dup(fd);
        }
    }
    let (uid, gid) = if own_maps {
        (
            m.uid_mappings().clone().unwrap_or_default(),
            m.gid_mappings().clone().unwrap_or_default(),
        )
    } else {
        (e.uid_maps.to_vec(), e.gid_maps.to_vec())
    };
    if uid.is_empty() || gid.is_empty() {
        return Err(Error::InvalidConfig(format!(
            "{field}: idmap: an id-mapped mount needs uidMappings and gidMappings (its own, or the container's user namespace's)"
        )));
    }
    // Mounts with the same maps share one namespace.
    let key = format!("{uid:?}{gid:?}");
    if let Some((_, fd)) = cache.iter().find(|(k, _)| *k == key) {
        return dup(fd);
    }
    let fd = crate::namespaces::userns_with(&uid, &gid)?;
    let copy = dup(&fd)?;
    cache.push((key, fd));
    Ok(copy)
}

/// An id-mapped detached tree of `src` made now, with the mount's own
/// maps: for a source inside the rootfs, at its turn in the mounts.
pub fn mapped_now(m: &Mount, src: &Path) -> Result<OwnedFd> {
    let opts = m.options().as_deref().unwrap_or(&[]);
    let has = |o: &str| opts.iter().any(|x| x == o);
    let recursive = has("rbind");
    let tree = open_tree(src, recursive)
        .map_err(|err| Error::sys(format!("id-mapped mount of {}", src.display()), err))?;
    let userns = crate::namespaces::userns_with(
        m.uid_mappings().as_deref().unwrap_or(&[]),
        m.gid_mappings().as_deref().unwrap_or(&[]),
    )?;
    set_idmap(&tree, &userns, has("ridmap"))
        .map_err(|err| Error::sys(format!("id-map the mount of {}", src.display()), err))?;
    Ok(tree)
}

const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;

/// mount_setattr(MOUNT_ATTR_IDMAP) on a detached tree.
fn set_idmap(tree: &OwnedFd, userns: &OwnedFd, recursive: bool) -> std::io::Result<()> {
    super::mount_setattr_with(tree, MOUNT_ATTR_IDMAP, 0, Some(userns), recursive)
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
    let tree = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    // A clone of a shared mount joins its peer group: mounts made under it
    // in the container would show on the host. Make the copy (and its
    // submounts) a slave first, as the container's own mount namespace is.
    super::mount_set_propagation(&tree, libc::MS_SLAVE)?;
    Ok(tree)
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
