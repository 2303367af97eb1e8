//! `checkpoint`: a running container's process tree to image files,
//! through CRIU, described the way runc describes it: the rootfs, its
//! external mounts (binds, masked files, device nodes), namespaces it
//! joined by path, and the freezer of its cgroup. A failed dump leaves the
//! container running as it was (CRIU thaws what it froze).

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType as T, Spec};

use super::criu::{self, Kind, Log};
use super::opts::{self, Common};
use super::proto::Msg;
use crate::container::{Container, Status};
use crate::error::{Error, Result};

/// `checkpoint`'s own flags (the shared ones are in Common).
pub struct DumpOptions {
    pub common: Common,
    pub parent_path: Option<PathBuf>,
    pub leave_running: bool,
    pub tcp_skip_in_flight: bool,
    pub link_remap: bool,
    pub pre_dump: bool,
    pub page_server: Option<(String, i32)>,
    pub status_fd: Option<i32>,
}

/// The stdio of the init, for restore to hand pipes back (runc's
/// descriptors.json).
pub const DESCRIPTORS: &str = "descriptors.json";

pub fn checkpoint(c: &Container, o: &DumpOptions) -> Result<()> {
    let status = c.status();
    if status != Status::Running {
        return Err(Error::Other(format!(
            "container {} is {}: only a running container can be checkpointed",
            c.saved.id,
            status.as_str()
        )));
    }
    let status_fd = match o.status_fd {
        Some(fd) if !o.common.lazy_pages => {
            return Err(Error::InvalidConfig(format!(
                "--status-fd {fd}: it says when lazy pages are served; give --lazy-pages too"
            )))
        }
        Some(fd) => Some(writable_fd(fd)?),
        None => None,
    };
    if o.common.lazy_pages {
        criu::require_feature(
            criu::Feature::LazyPages,
            "--lazy-pages",
            "cannot serve pages lazily (its lazy_pages feature, userfaultfd, is missing)",
        )?;
    }
    let spec = c.dir.config()?;
    std::fs::create_dir_all(&o.common.image_path)
        .map_err(|e| Error::sys(format!("--image-path {}", o.common.image_path.display()), e))?;
    let images = opts::open_dir(&o.common.image_path, "--image-path")?;
    let work = o.common.open_work_dir()?;
    let log_file = if o.pre_dump {
        "pre-dump.log"
    } else {
        "dump.log"
    };
    let mut m = Msg::default();
    m.int(1, images.as_raw_fd())
        .int(2, c.saved.pid)
        .bool(3, o.leave_running)
        .bool(18, o.link_remap)
        .bool(46, o.tcp_skip_in_flight)
        .str(13, &c.saved.rootfs.to_string_lossy());
    o.common.encode(
        &mut m,
        log_file,
        work.as_ref().map(|w| w.as_raw_fd()),
        &spec,
    )?;
    if let Some(parent) = &o.parent_path {
        // Relative to the image directory, as CRIU reads it (runc's rule).
        if parent.is_absolute() {
            return Err(Error::InvalidConfig(format!(
                "--parent-path {}: must be relative to --image-path",
                parent.display()
            )));
        }
        if !o.common.image_path.join(parent).is_dir() {
            return Err(Error::InvalidConfig(format!(
                "--parent-path {}: no such directory beside the images",
                parent.display()
            )));
        }
        m.str(14, &parent.to_string_lossy()).bool(15, true);
    }
    if let Some((addr, port)) = &o.page_server {
        let mut ps = Msg::default();
        ps.str(1, addr).int(2, *port);
        m.msg(11, &ps);
    }
    if let Some(dir) = freezer_dir(&c.saved.cgroup) {
        m.str(44, &dir.to_string_lossy());
    }
    external_namespaces(&mut m, &spec)?;
    if !o.pre_dump {
        external_mounts(&mut m, &spec, c.saved.pid);
        write_descriptors(&o.common.image_path, c.saved.pid)?;
    }
    let kind = if o.pre_dump {
        criu::require_feature(
            criu::Feature::MemTrack,
            "--pre-dump",
            "cannot track memory changes (its mem_track feature is missing)",
        )?;
        Kind::PreDump
    } else {
        Kind::Dump
    };
    let log_dir = o.common.log_dir();
    let mut status_fd = status_fd;
    criu::call(
        kind,
        Some(m),
        None,
        &[],
        Some(&Log {
            dir: log_dir,
            file: log_file,
        }),
        // CRIU 3.15+ says "status-ready" once its page server waits for
        // the lazy restore (older ones wrote to a status fd of their own).
        &mut |n| {
            if n.script == "status-ready" {
                if let Some(fd) = status_fd.take() {
                    nix::unistd::write(&fd, &[0])
                        .map_err(|e| Error::sys("write to --status-fd", e))?;
                }
            }
            Ok(())
        },
        &mut |_, _| Ok(()),
    )?;
    Ok(())
}

/// `--status-fd N`: an fd berth inherited, open for writing; berth owns it
/// from here (it is closed once the \0 is written).
fn writable_fd(fd: i32) -> Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: F_GETFL reads flags; any int is a valid argument.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(Error::sys(
            format!("--status-fd {fd}"),
            std::io::Error::last_os_error(),
        ));
    }
    let mode = flags & libc::O_ACCMODE;
    if fd <= 2 || (mode != libc::O_WRONLY && mode != libc::O_RDWR) {
        return Err(Error::InvalidConfig(format!(
            "--status-fd {fd}: not an fd open for writing (besides stdio)"
        )));
    }
    // SAFETY: the fd is open (F_GETFL said so) and given to berth by its
    // caller for this one use.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// The cgroup CRIU freezes the tree with: v1's freezer directory, or the
/// v2 directory (CRIU 3.14+ uses cgroup.freeze). None without a cgroup of
/// its own: CRIU then stops the processes with ptrace.
fn freezer_dir(p: &crate::cgroups::Placement) -> Option<PathBuf> {
    if p.v1.is_empty() {
        return p.unified.clone();
    }
    p.v1.iter()
        .find(|(c, _)| c.split(',').any(|x| x == "freezer"))
        .map(|(_, d)| d.clone())
}

/// Namespaces the container joined by path are not its own: CRIU leaves
/// them out of the image and restore joins them again (`net` and `pid`,
/// the ones CRIU can treat so).
fn external_namespaces(m: &mut Msg, spec: &Spec) -> Result<()> {
    let Some(ns) = spec.linux().as_ref().and_then(|l| l.namespaces().as_ref()) else {
        return Ok(());
    };
    for n in ns {
        let Some(path) = n.path() else { continue };
        let key = match n.typ() {
            T::Network => "extRootNetNS",
            T::Pid => "extRootPidNS",
            _ => continue,
        };
        let kind = if n.typ() == T::Network { "net" } else { "pid" };
        let st = nix::sys::stat::stat(path).map_err(|e| {
            Error::sys(
                format!("linux.namespaces: {kind} namespace {}", path.display()),
                e,
            )
        })?;
        m.str(37, &format!("{kind}[{}]:{key}", st.st_ino));
    }
    Ok(())
}

/// Mounts whose source is outside the container: CRIU records their
/// place, and restore binds their sources again (runc's list: bind
/// mounts, masked files, device nodes).
fn external_mounts(m: &mut Msg, spec: &Spec, pid: i32) {
    for (dest, _) in opts::bind_mounts(spec) {
        ext_mnt(m, &dest, &dest);
    }
    for path in spec
        .linux()
        .as_ref()
        .and_then(|l| l.masked_paths().as_ref())
        .into_iter()
        .flatten()
    {
        let inside = format!("/proc/{pid}/root{path}");
        if std::fs::metadata(&inside).is_ok_and(|md| !md.is_dir()) {
            ext_mnt(m, path, "/dev/null");
        }
    }
    for d in opts::device_paths(spec) {
        ext_mnt(m, &d, &d);
    }
}

pub(super) fn ext_mnt(m: &mut Msg, key: &str, val: &str) {
    let mut e = Msg::default();
    e.str(1, key).str(2, val);
    m.msg(23, &e);
}

/// What the init's fds 0, 1 and 2 are (pipe:[N], a path, /dev/null...).
fn write_descriptors(images: &Path, pid: i32) -> Result<()> {
    let fds: Vec<String> = (0..3)
        .map(|i| {
            std::fs::read_link(format!("/proc/{pid}/fd/{i}"))
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_else(|_| "/dev/null".into())
        })
        .collect();
    let json = serde_json::to_vec(&fds).map_err(|e| Error::Other(e.to_string()))?;
    crate::state::write_atomic(&images.join(DESCRIPTORS), &json)
}
