//! The state directory: one directory per container id under `--root`,
//! holding `state.json` (written atomically), the config snapshot, and the
//! start socket. The directory itself is the lock (flock on its fd), so two
//! commands on one id serialise, and `mkdir` decides which `create` wins.

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Context, Error, Result};

pub const STATE_FILE: &str = "state.json";
pub const CONFIG_FILE: &str = "config.json";
pub const START_SOCKET: &str = "start.sock";

/// What berth remembers about a container between invocations.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Saved {
    pub id: String,
    pub pid: i32,
    /// Field 22 of /proc/<pid>/stat at create: tells a recycled pid apart.
    pub pid_start_time: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub owner: String,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    /// The cgroup the container was placed in, per hierarchy.
    #[serde(default)]
    pub cgroup: crate::cgroups::Placement,
    /// True when the container has its own pid namespace (so killing init
    /// kills everything).
    pub own_pid_ns: bool,
    /// False when the container shares the host's mount namespace: its
    /// mounts are then under the rootfs on the host, for delete to remove.
    #[serde(default = "yes")]
    pub own_mount_ns: bool,
    /// True once `create` has finished; a dir without it is half-created.
    #[serde(default)]
    pub created_ok: bool,
    /// `create --no-new-keyring`: the init kept the caller's session
    /// keyring, so `exec` joins no container keyring either.
    #[serde(default)]
    pub no_new_keyring: bool,
    /// linux.intelRdt: the resctrl groups the container's processes are in.
    #[serde(default)]
    pub rdt: Option<crate::resctrl::Group>,
}

fn yes() -> bool {
    true
}

/// Check an id the way runc does: no path separators, no `.`/`..`.
pub fn validate_id(id: &str) -> Result<()> {
    let ok_chars = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+'));
    if id.is_empty() || id == "." || id == ".." || !ok_chars || id.len() > 1024 {
        return Err(Error::InvalidId(id.to_string()));
    }
    Ok(())
}

/// Parse the bytes of a `state.json` read from `path` (named in the error).
/// Pure, so hostile or corrupt state can be tested without a state dir.
pub fn parse_saved(raw: &[u8], path: &Path) -> Result<Saved> {
    let corrupt = |msg: &str| {
        Error::Other(format!(
            "{}: corrupt state ({msg}); `delete --force` removes the container",
            path.display()
        ))
    };
    let saved: Saved = crate::json::parse(raw).map_err(|msg| corrupt(&msg))?;
    // berth only records a launched init. A pid of 0 or below would mean
    // the caller's process group or every process to kill(2).
    if saved.pid <= 0 {
        return Err(corrupt(&format!("pid {} is not a process", saved.pid)));
    }
    Ok(saved)
}

/// The state root (`--root`).
pub struct Root {
    pub path: PathBuf,
}

/// An open, locked container directory. The lock is released on drop.
pub struct ContainerDir {
    pub id: String,
    pub path: PathBuf,
    dir: File,
}

impl Root {
    pub fn new(path: &Path) -> Self {
        Root {
            path: path.to_path_buf(),
        }
    }

    /// Make the state root (0700) if it is missing.
    pub fn ensure(&self) -> Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.path)
            .ctx(|| format!("create state root {}", self.path.display()))
    }

    /// Make the directory for a new container and lock it. Fails with
    /// `AlreadyExists` (leaving the existing one untouched) if the id is taken.
    pub fn create(&self, id: &str) -> Result<ContainerDir> {
        validate_id(id)?;
        self.ensure()?;
        let path = self.path.join(id);
        match std::fs::create_dir(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::AlreadyExists(id.to_string()))
            }
            Err(e) => return Err(Error::sys(format!("create {}", path.display()), e)),
        }
        let dir = File::open(&path).ctx(|| format!("open {}", path.display()))?;
        lock(&dir, &path)?;
        Ok(ContainerDir {
            id: id.to_string(),
            path,
            dir,
        })
    }

    /// Open and lock an existing container's directory.
    pub fn open(&self, id: &str) -> Result<ContainerDir> {
        let d = self.open_unlocked(id)?;
        lock(&d.dir, &d.path)?;
        // A concurrent delete may have removed it while we waited.
        if !d.path.exists() {
            return Err(Error::NotFound(id.to_string()));
        }
        Ok(d)
    }

    /// Open an existing container's directory without its lock, for
    /// readers that must never wait (`state`, `list`): the state file is
    /// replaced atomically, so a reader sees the old or the new one.
    pub fn open_unlocked(&self, id: &str) -> Result<ContainerDir> {
        validate_id(id)?;
        let path = self.path.join(id);
        let dir = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(id.to_string()))
            }
            Err(e) => return Err(Error::sys(format!("open {}", path.display()), e)),
        };
        Ok(ContainerDir {
            id: id.to_string(),
            path,
            dir,
        })
    }

    /// Ids of every container directory, sorted.
    pub fn ids(&self) -> Result<Vec<String>> {
        let rd = match std::fs::read_dir(&self.path) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::sys(format!("read {}", self.path.display()), e)),
        };
        let mut ids: Vec<String> = rd
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        ids.sort();
        Ok(ids)
    }
}

/// How long a command waits for another's lock on the same container.
/// No berth command holds it while it waits on a container's process, so
/// a holder is busy with steps that have bounds of their own; past this,
/// something is wrong and the caller hears of it instead of hanging.
pub const LOCK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

fn lock(dir: &File, path: &Path) -> Result<()> {
    let deadline = std::time::Instant::now() + LOCK_TIMEOUT;
    let mut pause = std::time::Duration::from_micros(200);
    loop {
        // SAFETY: flock on a valid fd we own.
        let rc = unsafe { libc::flock(dir.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EWOULDBLOCK)
            && e.kind() != std::io::ErrorKind::Interrupted
        {
            return Err(Error::sys(format!("lock {}", path.display()), e));
        }
        if std::time::Instant::now() >= deadline {
            return Err(Error::Other(format!(
                "container {}: another berth command has held its lock for {} s; try again",
                path.file_name().unwrap_or_default().to_string_lossy(),
                LOCK_TIMEOUT.as_secs()
            )));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(std::time::Duration::from_millis(10));
    }
}

impl ContainerDir {
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    pub fn load(&self) -> Result<Saved> {
        let p = self.file(STATE_FILE);
        let raw = match std::fs::read(&p) {
            Ok(raw) => raw,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::WrongState {
                    id: self.id.clone(),
                    status: "creating".into(),
                    msg: "its create has not finished (or was killed); use delete --force".into(),
                })
            }
            Err(e) => return Err(Error::sys(format!("read {}", p.display()), e)),
        };
        parse_saved(&raw, &p)
    }

    /// Load the state if there is one (a half-created dir has none).
    pub fn try_load(&self) -> Result<Option<Saved>> {
        match self.load() {
            Ok(s) => Ok(Some(s)),
            Err(Error::WrongState { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn save(&self, state: &Saved) -> Result<()> {
        let data = serde_json::to_vec(state).map_err(|e| Error::Other(e.to_string()))?;
        write_atomic(&self.file(STATE_FILE), &data)
    }

    /// The config.json snapshotted at create.
    pub fn config(&self) -> Result<oci_spec::runtime::Spec> {
        let p = self.file(CONFIG_FILE);
        let raw = std::fs::read(&p).ctx(|| format!("read {}", p.display()))?;
        crate::spec::parse(&raw, &p)
    }

    /// Give up the lock early (it is otherwise held until drop): before a
    /// wait on a container's process, which must never block other
    /// commands on this container.
    pub fn unlock(&self) {
        // SAFETY: flock on a valid fd we own.
        unsafe { libc::flock(self.dir.as_raw_fd(), libc::LOCK_UN) };
    }

    /// Remove the directory and everything in it (lock held until drop).
    pub fn remove(&self) -> Result<()> {
        match std::fs::remove_dir_all(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::sys(format!("remove {}", self.path.display()), e)),
        }
    }

    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.dir.as_fd()
    }
}

/// Write a file so that readers see either the old or the new content: a
/// temporary file in the same directory, then renamed over. No fsync: the
/// state lives on tmpfs (/run) and dies with the machine's containers.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(data)?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::sys(format!("write {}", path.display()), e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        for good in ["a", "abc-123_x.y+z", "0123456789abcdef"] {
            assert!(validate_id(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "a/b", "../x", "a b", "x\0", "ä"] {
            assert!(validate_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn state_without_a_process_is_corrupt() {
        let p = Path::new("state.json");
        let with = |pid: &str| {
            format!(
                r#"{{"id":"a","pid":{pid},"pid_start_time":0,"bundle":"/b","rootfs":"/b/r",
                "created":"","owner":"","own_pid_ns":true}}"#
            )
        };
        assert_eq!(parse_saved(with("7").as_bytes(), p).unwrap().pid, 7);
        for pid in ["0", "-1"] {
            let e = parse_saved(with(pid).as_bytes(), p)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("corrupt state") && e.contains("not a process"),
                "{e}"
            );
        }
    }

    #[test]
    fn create_twice_fails_and_keeps_the_first() {
        let tmp = std::env::temp_dir().join(format!("berth-state-test-{}", std::process::id()));
        let root = Root::new(&tmp);
        {
            let d = root.create("one").unwrap();
            d.save(&Saved {
                id: "one".into(),
                pid: 42,
                ..Default::default()
            })
            .unwrap();
        }
        assert!(matches!(root.create("one"), Err(Error::AlreadyExists(_))));
        assert_eq!(root.open("one").unwrap().load().unwrap().pid, 42);
        assert_eq!(root.ids().unwrap(), vec!["one".to_string()]);
        root.open("one").unwrap().remove().unwrap();
        assert!(matches!(root.open("one"), Err(Error::NotFound(_))));
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
