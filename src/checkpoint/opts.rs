//! What `checkpoint` and `restore` share: their common flags as CRIU
//! options, and what the config says about mounts and devices.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use super::proto::Msg;
use crate::error::{Error, Result};

/// The per-container CRIU configuration file (runc's annotation): a
/// path, or empty for none; without it, /etc/criu/berth.conf if there.
pub const CONFIG_ANNOTATION: &str = "org.criu.config";
const DEFAULT_CONFIG: &str = "/etc/criu/berth.conf";

/// criu_cg_mode, as `--manage-cgroups-mode` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CgroupsMode {
    Ignore = 0,
    Soft = 3,
    Full = 4,
    Strict = 5,
}

impl CgroupsMode {
    pub fn parse(s: &str) -> Result<CgroupsMode> {
        Ok(match s {
            "soft" => CgroupsMode::Soft,
            "full" => CgroupsMode::Full,
            "strict" => CgroupsMode::Strict,
            "ignore" => CgroupsMode::Ignore,
            other => {
                return Err(Error::InvalidConfig(format!(
                    "--manage-cgroups-mode: {other:?} is not one of soft, full, strict, ignore"
                )))
            }
        })
    }
}

/// The flags both commands take.
pub struct Common {
    pub image_path: PathBuf,
    pub work_path: Option<PathBuf>,
    pub tcp_established: bool,
    pub ext_unix_sk: bool,
    pub shell_job: bool,
    pub file_locks: bool,
    pub manage_cgroups_mode: Option<CgroupsMode>,
    /// CLONE_NEW* flags of namespaces CRIU makes empty instead of
    /// restoring (`--empty-ns network`).
    pub empty_ns: u32,
    pub auto_dedup: bool,
    pub lazy_pages: bool,
}

impl Common {
    /// `--work-path`, made if missing and opened (None: CRIU works in the
    /// image directory).
    pub fn open_work_dir(&self) -> Result<Option<OwnedFd>> {
        let Some(w) = &self.work_path else {
            return Ok(None);
        };
        std::fs::create_dir_all(w)
            .map_err(|e| Error::sys(format!("--work-path {}", w.display()), e))?;
        open_dir(w, "--work-path").map(Some)
    }

    /// Where CRIU writes its log: the work path, else the image path.
    pub fn log_dir(&self) -> &Path {
        self.work_path.as_deref().unwrap_or(&self.image_path)
    }

    /// The shared criu_opts fields.
    pub fn encode(
        &self,
        m: &mut Msg,
        log_file: &str,
        work_fd: Option<i32>,
        spec: &Spec,
    ) -> Result<()> {
        m.int(9, 4)
            .str(10, log_file)
            .bool(12, true)
            .bool(4, self.ext_unix_sk)
            .bool(5, self.tcp_established)
            .bool(7, self.shell_job)
            .bool(8, self.file_locks)
            .bool(16, self.auto_dedup)
            .bool(24, true)
            .bool(48, self.lazy_pages)
            .bool(50, true);
        if let Some(fd) = work_fd {
            m.int(17, fd);
        }
        if let Some(mode) = self.manage_cgroups_mode {
            m.uint(34, mode as u64);
        }
        if self.empty_ns != 0 {
            m.uint(38, u64::from(self.empty_ns));
        }
        let annotated = spec
            .annotations()
            .as_ref()
            .and_then(|a| a.get(CONFIG_ANNOTATION));
        match annotated {
            Some(p) if p.is_empty() => {}
            Some(p) => {
                if !Path::new(p).is_file() {
                    return Err(Error::InvalidConfig(format!(
                        "config.json: annotations.{CONFIG_ANNOTATION}: {p} is not a file"
                    )));
                }
                m.str(51, p);
            }
            None if Path::new(DEFAULT_CONFIG).is_file() => {
                m.str(51, DEFAULT_CONFIG);
            }
            None => {}
        }
        Ok(())
    }
}

/// `--empty-ns`: only `network` is one CRIU can leave empty.
pub fn empty_ns_flags(names: &[String]) -> Result<u32> {
    let mut flags = 0u32;
    for n in names {
        match n.as_str() {
            "network" => flags |= libc::CLONE_NEWNET as u32,
            other => {
                return Err(Error::InvalidConfig(format!(
                    "--empty-ns: {other:?}: only network can be left empty"
                )))
            }
        }
    }
    Ok(flags)
}

pub fn open_dir(p: &Path, flag: &str) -> Result<OwnedFd> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(p)
        .map(OwnedFd::from)
        .map_err(|e| Error::sys(format!("{flag} {}", p.display()), e))
}

fn is_bind(m: &oci_spec::runtime::Mount) -> bool {
    m.typ().as_deref() == Some("bind")
        || m.options()
            .iter()
            .flatten()
            .any(|o| o == "bind" || o == "rbind")
}

/// (destination, source) of each bind mount, the destination as the
/// container sees it.
pub fn bind_mounts(spec: &Spec) -> Vec<(String, PathBuf)> {
    spec.mounts()
        .iter()
        .flatten()
        .filter(|m| is_bind(m))
        .map(|m| {
            let dest = Path::new("/").join(crate::rootfs::inner(m.destination()));
            (
                dest.to_string_lossy().into_owned(),
                m.source().clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// linux.devices' paths.
pub fn device_paths(spec: &Spec) -> Vec<String> {
    spec.linux()
        .as_ref()
        .and_then(|l| l.devices().as_ref())
        .into_iter()
        .flatten()
        .map(|d| d.path().to_string_lossy().into_owned())
        .collect()
}
