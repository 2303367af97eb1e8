//! /dev: the default devices, `linux.devices`, and the usual symlinks.
//! Nodes are made with mknodat in a directory resolved inside the rootfs;
//! in a user namespace (where mknod is refused) the host's node is
//! bind-mounted instead.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};
use pathrs::Root;

use super::mounts::ensure_target;
use super::{cstr, fd_path, inner, mount_raw, pathrs_err};
use crate::error::{Error, Result};

/// A device to create.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    pub path: PathBuf,
    pub kind: u32,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

const DEFAULTS: &[(&str, u64, u64)] = &[
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

fn kind_of(t: LinuxDeviceType) -> u32 {
    match t {
        LinuxDeviceType::B => libc::S_IFBLK,
        LinuxDeviceType::P => libc::S_IFIFO,
        _ => libc::S_IFCHR,
    }
}

/// The default devices plus the configured ones (a configured device at a
/// default's path replaces it).
pub fn list(configured: &[LinuxDevice]) -> Result<Vec<Device>> {
    let mut out: Vec<Device> = DEFAULTS
        .iter()
        .map(|(p, maj, min)| Device {
            path: PathBuf::from(p),
            kind: libc::S_IFCHR,
            major: *maj,
            minor: *min,
            mode: 0o666,
            uid: 0,
            gid: 0,
        })
        .collect();
    for (i, d) in configured.iter().enumerate() {
        if !d.path().starts_with("/dev") {
            return Err(Error::InvalidConfig(format!(
                "config.json: linux.devices[{i}].path: {} is not under /dev",
                d.path().display()
            )));
        }
        if d.typ() == LinuxDeviceType::A {
            return Err(Error::InvalidConfig(format!(
                "config.json: linux.devices[{i}].type: \"a\" is for cgroup rules, not a device node"
            )));
        }
        let dev = Device {
            path: d.path().clone(),
            kind: kind_of(d.typ()),
            major: d.major() as u64,
            minor: d.minor() as u64,
            mode: d.file_mode().unwrap_or(0o666) & 0o7777,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        };
        out.retain(|o| o.path != dev.path);
        out.push(dev);
    }
    Ok(out)
}

pub fn create_all(root: &Root, devices: &[Device], bind: bool) -> Result<()> {
    for d in devices {
        let res = if bind {
            bind_host(root, d)
        } else {
            make_node(root, d)
        };
        res.map_err(|e| Error::Other(format!("device {}: {e}", d.path.display())))?;
    }
    Ok(())
}

fn make_node(root: &Root, d: &Device) -> Result<()> {
    let rel = inner(&d.path);
    let parent = rel.parent().unwrap_or(Path::new(""));
    let name = rel
        .file_name()
        .ok_or_else(|| Error::Other("device path has no name".into()))?;
    let dir = super::inroot::dir(root, parent)?;
    // The handle is O_PATH; mknodat needs a real directory fd.
    let dirf = super::inroot::open_dir(&dir).map_err(|e| Error::sys("open dir", e))?;
    let cname = cstr(name);
    // Replace whatever the image had there (a file or a symlink), never a dir.
    // SAFETY: valid dirfd and name.
    unsafe { libc::unlinkat(dirf.as_raw_fd(), cname.as_ptr(), 0) };
    let dev = libc::makedev(d.major as u32, d.minor as u32);
    // SAFETY: valid dirfd, name; mode and dev are plain integers.
    let rc = unsafe { libc::mknodat(dirf.as_raw_fd(), cname.as_ptr(), d.kind | d.mode, dev) };
    if rc != 0 {
        return Err(Error::sys("mknod", std::io::Error::last_os_error()));
    }
    // SAFETY: as above; AT_SYMLINK_NOFOLLOW so a race cannot chown elsewhere.
    let rc = unsafe {
        libc::fchownat(
            dirf.as_raw_fd(),
            cname.as_ptr(),
            d.uid,
            d.gid,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if rc != 0 {
        return Err(Error::sys("chown", std::io::Error::last_os_error()));
    }
    // mknod is subject to the umask; set the mode exactly.
    // SAFETY: as above.
    unsafe { libc::fchmodat(dirf.as_raw_fd(), cname.as_ptr(), d.mode, 0) };
    Ok(())
}

fn bind_host(root: &Root, d: &Device) -> Result<()> {
    let h = ensure_target(root, &inner(&d.path), false)?;
    mount_raw(
        Some(&cstr(&d.path)),
        &fd_path(&h),
        None,
        MsFlags::MS_BIND,
        None,
    )
    .map_err(|e| Error::sys(format!("bind host {}", d.path.display()), e))
}

/// /dev/fd, /dev/std*, /dev/ptmx (-> pts/ptmx) and /dev/core.
pub fn symlinks(root: &Root) -> Result<()> {
    let mut links = vec![
        ("dev/fd", "/proc/self/fd"),
        ("dev/stdin", "/proc/self/fd/0"),
        ("dev/stdout", "/proc/self/fd/1"),
        ("dev/stderr", "/proc/self/fd/2"),
    ];
    if Path::new("/proc/kcore").exists() {
        links.push(("dev/core", "/proc/kcore"));
    }
    for (link, target) in links {
        match root.create(link, &pathrs::InodeType::Symlink(PathBuf::from(target))) {
            Ok(()) => {}
            Err(_) if root.resolve_nofollow(link).is_ok() => {}
            Err(e) => return Err(pathrs_err(format!("symlink /{link}"), e)),
        }
    }
    // /dev/ptmx must be the devpts instance's ptmx, so that ptys opened in
    // the container belong to its /dev/pts.
    if root.resolve("dev/pts/ptmx").is_ok() {
        let rel = Path::new("dev/ptmx");
        if let Ok(h) = root.resolve_nofollow(rel) {
            drop(h);
            let _ = root.remove_file(rel);
        }
        root.create(rel, &pathrs::InodeType::Symlink(PathBuf::from("pts/ptmx")))
            .map_err(|e| pathrs_err("symlink /dev/ptmx", e))?;
    }
    Ok(())
}

/// Directories runc makes in a fresh /dev.
pub fn standard_dirs(root: &Root) -> Result<()> {
    for dir in ["dev/pts", "dev/shm"] {
        super::inroot::dir(root, Path::new(dir))?;
    }
    Ok(())
}
