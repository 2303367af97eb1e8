//! The config's `mounts`, applied in order inside the rootfs. Destinations
//! are created and resolved with pathrs (no symlink can lead out of the
//! rootfs), and every mount goes through the resolved fd.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;
use oci_spec::runtime::Mount;

use pathrs::flags::OpenFlags;
use pathrs::Root;

use super::inroot;
use super::options::{self, MountOptions};
use super::{cstr, fd_path, inner, mount_raw, mount_setattr, pathrs_err, remount_bind};
use crate::cgroups::Placement;
use crate::error::{Error, Result};

/// What the mounts need to know about the container beyond the config.
pub struct MountContext<'a> {
    pub bundle: &'a Path,
    pub cgroup: &'a Placement,
    /// The container has its own cgroup namespace.
    pub cgroup_ns: bool,
    /// linux.mountLabel: the SELinux context of the filesystems mounted.
    pub mount_label: Option<&'a str>,
    /// The rootfs on the host: a destination written with it in front
    /// (runc accepts `/path/to/rootfs/mnt` for `/mnt`) is taken as inside.
    pub rootfs: &'a Path,
    /// The container has a user namespace (new or joined).
    pub user_ns: bool,
    /// Bind sources taken before the user namespace (sources.rs), by
    /// index in the config's mounts.
    pub early_sources: &'a std::collections::HashMap<usize, std::os::fd::OwnedFd>,
}

/// Apply every mount, in order. Returns what must still be made
/// read-only once the rest of set-up has written there (see `LateReadOnly`).
pub fn apply_all(root: &Root, mounts: &[Mount], ctx: &MountContext) -> Result<Vec<LateReadOnly>> {
    let mut late = Vec::new();
    for (i, m) in mounts.iter().enumerate() {
        let l = match apply(root, m, ctx, ctx.early_sources.get(&i)) {
            // A user namespace may mount sysfs only when it owns the
            // network namespace too; otherwise the host's /sys is bound,
            // read-only (crun does the same).
            Err(e) if ctx.user_ns && e.errno() == Some(libc::EPERM) && is_sysfs(m) => {
                crate::logging::debug(&format!(
                    "sysfs at {}: {e}; binding the host's /sys read-only instead",
                    m.destination().display()
                ));
                apply(root, &sysfs_bind(m), ctx, None)
            }
            r => r,
        }
        .map_err(|e| {
            Error::Other(format!(
                "config.json: mounts[{i}] ({}): {e}",
                m.destination().display()
            ))
        })?;
        late.extend(l);
    }
    Ok(late)
}

fn is_sysfs(m: &Mount) -> bool {
    m.typ().as_deref() == Some("sysfs")
        && !m
            .options()
            .iter()
            .flatten()
            .any(|o| o == "bind" || o == "rbind")
}

/// A sysfs mount as a recursive read-only bind of the host's /sys, with
/// the mount's own flags.
fn sysfs_bind(m: &Mount) -> Mount {
    let mut options: Vec<String> = m
        .options()
        .iter()
        .flatten()
        .filter(|o| !matches!(o.as_str(), "rw" | "ro" | "rro"))
        .cloned()
        .collect();
    options.extend(["rbind".to_string(), "rro".to_string()]);
    let mut b = m.clone();
    b.set_typ(Some("bind".into()))
        .set_source(Some("/sys".into()))
        .set_options(Some(options));
    b
}

/// A read-only /dev tmpfs is mounted writable, because berth still fills
/// it (device nodes, /dev/pts and the other mounts under it, the console);
/// `finish_read_only` makes it read-only at the end, as runc does.
#[derive(Debug)]
pub struct LateReadOnly {
    /// Inside the container's root ("dev").
    pub dest: PathBuf,
    /// The mount's flags, MS_RDONLY among them.
    pub flags: MsFlags,
}

/// After pivot_root: remount each `LateReadOnly` read-only, keeping its
/// other flags.
pub fn finish_read_only(late: &[LateReadOnly]) -> Result<()> {
    for l in late {
        let target = cstr(Path::new("/").join(&l.dest));
        remount_bind(&target, l.flags & !MsFlags::MS_REMOUNT)
            .map_err(|e| Error::sys(format!("remount /{} read-only", l.dest.display()), e))?;
    }
    Ok(())
}

fn mode_of(h: &impl std::os::fd::AsFd) -> u32 {
    nix::sys::stat::fstat(h).map(|s| s.st_mode).unwrap_or(0)
}

fn is_dir_mode(mode: u32) -> bool {
    mode & libc::S_IFMT == libc::S_IFDIR
}

/// Make `dest` inside the root: a directory, or an empty file when a
/// non-directory is to be bind-mounted there.
pub fn ensure_target(root: &Root, dest: &Path, dir: bool) -> Result<pathrs::Handle> {
    if dir {
        return inroot::dir(root, dest);
    }
    if let Ok(h) = root.resolve(dest) {
        return Ok(h);
    }
    // Missing, or a dangling symlink (/etc/hosts -> /tmp/hosts): the file
    // is made where the symlinks lead, inside the root, as runc does.
    let real = inroot::through_symlinks(root, dest)?;
    let dest = real.as_path();
    if let Some(parent) = dest.parent() {
        if !parent.as_os_str().is_empty() {
            inroot::dir(root, parent)?;
        }
    }
    let file_perm = crate::rootfs::perm(0o644);
    match root.create_file(dest, OpenFlags::O_RDONLY, &file_perm) {
        Ok(_) => {}
        // Someone (another mount) created it meanwhile: use what is there.
        Err(e) if root.resolve(dest).is_ok() => drop(e),
        Err(e) => return Err(pathrs_err(format!("create {}", dest.display()), e)),
    }
    root.resolve(dest)
        .map_err(|e| pathrs_err(format!("resolve {}", dest.display()), e))
}

/// The destination inside the root: as runc, one written with the
/// rootfs's own path in front means the part after it.
fn destination(m: &Mount, rootfs: &Path) -> PathBuf {
    let d = m.destination();
    inner(d.strip_prefix(rootfs).unwrap_or(d))
}

fn apply(
    root: &Root,
    m: &Mount,
    ctx: &MountContext,
    early: Option<&std::os::fd::OwnedFd>,
) -> Result<Option<LateReadOnly>> {
    let mut opts = options::parse(m.options().as_deref().unwrap_or(&[])).map_err(Error::Other)?;
    let typ = m.typ().clone().unwrap_or_default();
    let bind = opts.bind || typ == "bind";
    let dest = destination(m, ctx.rootfs);
    if dest.as_os_str().is_empty() {
        return Err(Error::Other(
            "mounting over the container's root is not allowed".into(),
        ));
    }
    let mapped = m.uid_mappings().as_ref().is_some_and(|v| !v.is_empty())
        || m.gid_mappings().as_ref().is_some_and(|v| !v.is_empty());
    if (opts.idmap || mapped) && !bind {
        return Err(Error::Other(
            "uidMappings, gidMappings, idmap and ridmap are for bind mounts only".into(),
        ));
    }
    let proc_source = bind
        && dest == Path::new("proc")
        && bind_source(m, ctx.bundle).is_ok_and(|src| is_procfs(&src));
    check_proc_destination(&dest, &typ, bind, proc_source)?;

    if (typ == "cgroup" || typ == "cgroup2") && !bind {
        return mount_cgroup(root, &dest, &opts, ctx).map(|()| None);
    }
    let late = (dest == Path::new("dev")
        && typ == "tmpfs"
        && !bind
        && opts.flags.contains(MsFlags::MS_RDONLY))
    .then(|| {
        let flags = opts.flags;
        opts.flags.remove(MsFlags::MS_RDONLY);
        LateReadOnly {
            dest: dest.clone(),
            flags,
        }
    });

    let handle = if bind {
        let source = bind_source(m, ctx.bundle)?;
        // An id-mapped source that sources.rs left for its turn.
        let made_now;
        let early = match early {
            None if opts.idmap || mapped => {
                made_now = super::sources::mapped_now(m, &source)?;
                Some(&made_now)
            }
            // A plain source taken early: by path when the container's
            // root can reach it (a bind from its own mount namespace keeps
            // the kernel's MNT_LOCKED flags), the early tree only when it
            // cannot.
            Some(_) if !(opts.idmap || mapped) && std::fs::metadata(&source).is_ok() => None,
            e => e,
        };
        let is_dir = match early {
            Some(tree) => nix::sys::stat::fstat(tree).map(|s| is_dir_mode(s.st_mode)),
            None => std::fs::metadata(&source).map(|m| m.is_dir()).map_err(|e| {
                e.raw_os_error()
                    .map_or(nix::errno::Errno::EIO, nix::errno::Errno::from_raw)
            }),
        }
        .map_err(|e| Error::sys(format!("bind source {}", source.display()), e))?;
        let h = ensure_target(root, &dest, is_dir)?;
        let mut flags = MsFlags::MS_BIND;
        if opts.recursive {
            flags |= MsFlags::MS_REC;
        }
        match early {
            Some(tree) => super::sources::attach(tree, &h)
                .map_err(|e| Error::sys(format!("bind {}", source.display()), e))?,
            None => mount_raw(Some(&cstr(&source)), &fd_path(&h), None, flags, None)
                .map_err(|e| Error::sys(format!("bind {}", source.display()), e))?,
        }
        let top = reresolve(root, &dest)?;
        let mut extra = opts.flags & !(MsFlags::MS_REMOUNT);
        if ctx.user_ns {
            // As the kernel does for a mount a user namespace gets from
            // its parent (and runc with it): the source's ro, nosuid,
            // nodev, noexec and atime flags stay unless the config sets
            // others; asking to clear one of them fails. (A tree taken
            // early by the host's root is not locked by the kernel: berth
            // keeps the rule itself.)
            let src_flags = super::locked_flags(&fd_path(&top));
            let clearing = src_flags & opts.cleared;
            if !clearing.is_empty() {
                return Err(Error::sys(
                    format!(
                        "bind {}: a user namespace cannot clear the source's {clearing:?}",
                        source.display()
                    ),
                    std::io::Error::from_raw_os_error(libc::EPERM),
                ));
            }
            if !extra.is_empty() {
                let atime = MsFlags::MS_NOATIME | MsFlags::MS_RELATIME | MsFlags::MS_STRICTATIME;
                let keep = if extra.intersects(atime) {
                    src_flags & !(atime | MsFlags::MS_NODIRATIME)
                } else {
                    src_flags
                };
                extra |= keep;
            }
        }
        if !extra.is_empty() {
            super::remount_bind_keeping(&fd_path(&top), extra, opts.cleared)
                .map_err(|e| Error::sys("remount with the mount's options", e))?;
        }
        top
    } else {
        // A tmpfs without mode= takes the mode of the directory it covers
        // (runc does this since 1.2); on a directory berth makes, it keeps
        // tmpfs's own default (1777).
        let covered_mode = (typ == "tmpfs" && !opts.data.iter().any(|d| d.starts_with("mode=")))
            .then(|| root.resolve(&dest).ok().map(|h| mode_of(&h)))
            .flatten()
            .filter(|m| is_dir_mode(*m));
        let h = ensure_target(root, &dest, true)?;
        if matches!(typ.as_str(), "proc" | "sysfs") {
            // procfs and sysfs only onto a real directory, never through a
            // symlink the image planted there.
            let own = root
                .resolve_nofollow(&dest)
                .map_err(|e| pathrs_err(format!("resolve {}", dest.display()), e))?;
            if !is_dir_mode(mode_of(&own)) {
                return Err(Error::Other(format!(
                    "{typ} must be mounted on ordinary directory: {} is not one",
                    dest.display()
                )));
            }
        }
        let source = m.source().clone().unwrap_or_else(|| PathBuf::from(&typ));
        // tmpcopyup: keep a handle on the directory the tmpfs will cover.
        let under = if opts.copy_up && typ == "tmpfs" {
            Some(
                inroot::open_dir(&h)
                    .map_err(|e| Error::sys(format!("open {}", dest.display()), e))?,
            )
        } else {
            None
        };
        let mut data = match ctx.mount_label {
            Some(label) if crate::security::selinux::takes_mount_label(&typ) => {
                crate::security::selinux::with_mount_label(&opts.data, label)
            }
            _ => opts.data.clone(),
        };
        if let Some(mode) = covered_mode {
            data.push(format!("mode={:o}", mode & 0o7777));
        }
        let data = (!data.is_empty()).then(|| cstr(data.join(",")));
        let fstype = if typ.is_empty() {
            None
        } else {
            Some(cstr(&typ))
        };
        mount_raw(
            Some(&cstr(&source)),
            &fd_path(&h),
            fstype.as_deref(),
            opts.flags & !MsFlags::MS_REMOUNT,
            data.as_deref(),
        )
        .map_err(|e| Error::sys(format!("mount {typ}"), e))?;
        let top = reresolve(root, &dest)?;
        if let Some(under) = under {
            let fresh = inroot::open_dir(&top)
                .map_err(|e| Error::sys(format!("open {}", dest.display()), e))?;
            super::copyup::copy_tree(&under, &fresh)?;
        }
        top
    };
    finish(&handle, &opts)?;
    Ok(late)
}

/// Files under /proc that may be covered by a bind mount: what lxcfs
/// provides (per-container views of the host's figures).
const PROC_BIND_ALLOWED: &[&str] = &[
    "proc/cpuinfo",
    "proc/diskstats",
    "proc/meminfo",
    "proc/stat",
    "proc/swaps",
    "proc/uptime",
    "proc/loadavg",
    "proc/slabinfo",
    "proc/sys/kernel/ns_last_pid",
];

/// Only procfs goes on /proc, and nothing goes under it but lxcfs's
/// files: a fake /proc (or /proc/sys, /proc/self/attr, ...) over the real
/// one could redirect what is written there (CVE-2019-16884,
/// CVE-2019-19921). berth itself writes through a verified procfs handle;
/// this keeps such a config from even starting.
fn check_proc_destination(dest: &Path, typ: &str, bind: bool, proc_source: bool) -> Result<()> {
    if dest == Path::new("proc") {
        // A bind of a real procfs (the host's /proc, for a container in
        // the host's pid namespace, as runc allows) is a procfs too.
        return if (typ == "proc" && !bind) || proc_source {
            Ok(())
        } else {
            Err(Error::Other(
                "only a procfs (type proc, or a bind of a procfs) may be mounted on /proc".into(),
            ))
        };
    }
    if !dest.starts_with("proc") {
        return Ok(());
    }
    if bind && PROC_BIND_ALLOWED.iter().any(|a| dest == Path::new(a)) {
        return Ok(());
    }
    Err(Error::Other(format!(
        "mounting over /{} is not allowed (under /proc only binds onto {} are)",
        dest.display(),
        PROC_BIND_ALLOWED
            .iter()
            .map(|a| format!("/{a}"))
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// Propagation and recursive attributes, on the mount just made.
fn finish(top: &pathrs::Handle, opts: &MountOptions) -> Result<()> {
    for p in &opts.propagation {
        mount_raw(None, &fd_path(top), None, *p, None)
            .map_err(|e| Error::sys("set mount propagation", e))?;
    }
    if opts.attr_set != 0 || opts.attr_clr != 0 {
        mount_setattr(top, opts.attr_set, opts.attr_clr)
            .map_err(|e| Error::sys("mount_setattr (recursive options)", e))?;
    }
    Ok(())
}

/// Whether `path` is the root of a procfs mount (not a directory under
/// one, not a look-alike).
fn is_procfs(path: &Path) -> bool {
    const PROC_SUPER_MAGIC: i64 = 0x9fa0;
    let is_proc =
        nix::sys::statfs::statfs(path).is_ok_and(|s| s.filesystem_type().0 == PROC_SUPER_MAGIC);
    // The root of a procfs has inode 1.
    is_proc && std::fs::metadata(path).is_ok_and(|m| m.ino() == 1)
}

/// After a mount, resolve the destination again to reach the new mount
/// (the old fd still points at the directory underneath).
fn reresolve(root: &Root, dest: &Path) -> Result<pathrs::Handle> {
    root.resolve(dest)
        .map_err(|e| pathrs_err(format!("resolve {}", dest.display()), e))
}

fn bind_source(m: &Mount, bundle: &Path) -> Result<PathBuf> {
    let src = m
        .source()
        .as_ref()
        .ok_or_else(|| Error::Other("a bind mount needs a source".into()))?;
    Ok(if src.is_absolute() {
        src.clone()
    } else {
        bundle.join(src)
    })
}

/// A `cgroup` mount: on cgroup v2 with a cgroup namespace, a fresh cgroup2
/// mount (it shows the namespace's root); otherwise the container's own
/// cgroup directories bind-mounted (v1: one per hierarchy on a tmpfs).
pub fn mount_cgroup(
    root: &Root,
    dest: &Path,
    opts: &MountOptions,
    ctx: &MountContext,
) -> Result<()> {
    let ro = opts.flags.contains(MsFlags::MS_RDONLY);
    let base = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    let h = ensure_target(root, dest, true)?;
    if ctx.cgroup.v1.is_empty() {
        let Some(dir) = &ctx.cgroup.unified else {
            return Err(Error::Other("no cgroup hierarchy on this host".into()));
        };
        let fresh = if ctx.cgroup_ns {
            let flags = base
                | if ro {
                    MsFlags::MS_RDONLY
                } else {
                    MsFlags::empty()
                };
            match mount_raw(
                Some(c"cgroup2"),
                &fd_path(&h),
                Some(c"cgroup2"),
                flags,
                None,
            ) {
                Ok(()) => true,
                // From a user namespace the kernel refuses a cgroup2 mount
                // of a hierarchy the host mounted (EBUSY: its superblock
                // belongs to another user namespace), or one outside the
                // cgroup namespace's reach (EPERM): the container's own
                // directory, bound, shows what the mount would.
                Err(e)
                    if ctx.user_ns
                        && matches!(e.raw_os_error(), Some(libc::EBUSY | libc::EPERM)) =>
                {
                    crate::logging::debug(&format!(
                        "mount cgroup2: {e}; binding {} instead",
                        dir.display()
                    ));
                    false
                }
                Err(e) => return Err(Error::sys("mount cgroup2", e)),
            }
        } else {
            false
        };
        if !fresh {
            mount_raw(Some(&cstr(dir)), &fd_path(&h), None, MsFlags::MS_BIND, None)
                .map_err(|e| Error::sys(format!("bind {}", dir.display()), e))?;
            let top = reresolve(root, dest)?;
            let flags = base
                | if ro {
                    MsFlags::MS_RDONLY
                } else {
                    MsFlags::empty()
                };
            remount_bind(&fd_path(&top), flags).map_err(|e| Error::sys("remount cgroup", e))?;
        }
        return Ok(());
    }
    mount_raw(
        Some(c"tmpfs"),
        &fd_path(&h),
        Some(c"tmpfs"),
        base,
        Some(c"mode=755"),
    )
    .map_err(|e| Error::sys("mount tmpfs for cgroups", e))?;
    let mut hierarchies: Vec<(String, &PathBuf)> =
        ctx.cgroup.v1.iter().map(|(c, d)| (c.clone(), d)).collect();
    if let Some(u) = &ctx.cgroup.unified {
        hierarchies.push(("unified".into(), u));
    }
    for (ctrl, dir) in hierarchies {
        let name = ctrl.strip_prefix("name=").unwrap_or(&ctrl).to_string();
        let sub = dest.join(&name);
        let hh = ensure_target(root, &sub, true)?;
        mount_raw(
            Some(&cstr(dir)),
            &fd_path(&hh),
            None,
            MsFlags::MS_BIND,
            None,
        )
        .map_err(|e| Error::sys(format!("bind {}", dir.display()), e))?;
        let top = reresolve(root, &sub)?;
        let flags = base
            | if ro {
                MsFlags::MS_RDONLY
            } else {
                MsFlags::empty()
            };
        remount_bind(&fd_path(&top), flags).map_err(|e| Error::sys("remount cgroup", e))?;
        // cpu,cpuacct is also reachable as cpu and cpuacct.
        if name.contains(',') {
            for part in name.split(',') {
                let link = dest.join(part);
                let _ = root.create(&link, &pathrs::InodeType::Symlink(PathBuf::from(&name)));
            }
        }
    }
    if ro {
        let top = reresolve(root, dest)?;
        mount_raw(
            None,
            &fd_path(&top),
            None,
            MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | base,
            Some(c"mode=755"),
        )
        .map_err(|e| Error::sys("remount cgroup tmpfs read-only", e))?;
    }
    finish(
        &reresolve(root, dest)?,
        &MountOptions {
            propagation: opts.propagation.clone(),
            ..Default::default()
        },
    )
}

#[cfg(test)]
mod proc_tests {
    use super::check_proc_destination as check;
    use std::path::Path;

    #[test]
    fn only_procfs_on_proc_and_lxcfs_binds_under_it() {
        // (destination, type, bind, the bind's source is a procfs)
        assert!(check(Path::new("proc"), "proc", false, false).is_ok());
        assert!(check(Path::new("proc"), "tmpfs", false, false).is_err());
        assert!(check(Path::new("proc"), "bind", true, false).is_err());
        assert!(check(Path::new("proc"), "none", true, true).is_ok());
        assert!(check(Path::new("proc/sys"), "bind", true, false).is_err());
        assert!(check(Path::new("proc/self/attr"), "tmpfs", false, false).is_err());
        assert!(check(Path::new("proc/meminfo"), "bind", true, false).is_ok());
        assert!(check(Path::new("proc/meminfo"), "tmpfs", false, false).is_err());
        assert!(check(Path::new("processes"), "tmpfs", false, false).is_ok());
        assert!(check(Path::new("srv/proc"), "bind", true, false).is_ok());
        assert!(super::is_procfs(Path::new("/proc")));
        assert!(!super::is_procfs(Path::new("/proc/self")));
        assert!(!super::is_procfs(Path::new("/tmp")));
    }
}
