//! Freezing a container's cgroup for `pause`/`resume`: the v1 freezer
//! controller (`freezer.state`) where the host mounts one, else cgroup v2's
//! `cgroup.freeze`. Both report completion asynchronously, so every change
//! waits, bounded, until the kernel says all tasks are frozen (or thawed).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{write, Placement};
use crate::error::{Error, Result};

/// One v1 freeze attempt waits this long for FROZEN before thawing and
/// trying again; after `V1_ROUNDS` attempts the pause fails.
const V1_ROUND: Duration = Duration::from_millis(200);
const V1_ROUNDS: u32 = 10;
/// How long a v2 freeze or any thaw may take.
const SETTLE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freezer {
    /// The container's directory in the v1 freezer hierarchy.
    V1(PathBuf),
    /// The container's directory in the cgroup2 hierarchy.
    V2(PathBuf),
}

impl Freezer {
    /// The freezer for a container's cgroup dirs: the v1 freezer hierarchy
    /// when the host has one (runc's choice on hybrid hosts), else the
    /// cgroup2 directory.
    pub fn find(v1: &[(String, PathBuf)], unified: Option<&Path>) -> Option<Freezer> {
        let v1_dir = v1
            .iter()
            .find(|(ctrls, _)| ctrls.split(',').any(|c| c == "freezer"))
            .map(|(_, d)| Freezer::V1(d.clone()));
        v1_dir.or_else(|| unified.map(|u| Freezer::V2(u.to_path_buf())))
    }

    /// Like `find`, but an error saying why when there is no freezer, or
    /// when its control file is missing (no such cgroup, or a kernel
    /// older than 5.2 on cgroup v2).
    pub fn of(p: &Placement) -> Result<Freezer> {
        let f = Freezer::find(&p.v1, p.unified.as_deref()).ok_or_else(|| {
            Error::Other(
                "no cgroup freezer: this host mounts neither a v1 freezer hierarchy nor cgroup v2"
                    .into(),
            )
        })?;
        let file = f.control();
        if !file.exists() {
            let why = match f {
                Freezer::V1(_) => "the container's freezer cgroup is gone",
                Freezer::V2(_) => {
                    "the container's cgroup is gone, or the kernel is older than 5.2 (no cgroup v2 freezer)"
                }
            };
            return Err(Error::Other(format!(
                "no cgroup freezer: {} does not exist ({why})",
                file.display()
            )));
        }
        Ok(f)
    }

    /// The file whose content is the requested state.
    fn control(&self) -> PathBuf {
        match self {
            Freezer::V1(d) => d.join("freezer.state"),
            Freezer::V2(d) => d.join("cgroup.freeze"),
        }
    }

    /// True when the cgroup is frozen or being frozen (v1 FREEZING, v2
    /// `cgroup.freeze` set while tasks are still settling).
    pub fn is_frozen(&self) -> bool {
        let Ok(s) = std::fs::read_to_string(self.control()) else {
            return false;
        };
        match self {
            Freezer::V1(_) => matches!(s.trim(), "FROZEN" | "FREEZING"),
            Freezer::V2(_) => s.trim() == "1",
        }
    }

    /// Freeze every task; on failure the cgroup is left thawed.
    pub fn freeze(&self) -> Result<()> {
        match self {
            Freezer::V1(d) => freeze_v1(d, V1_ROUNDS, V1_ROUND),
            Freezer::V2(d) => freeze_v2(d, SETTLE),
        }
    }

    /// Thaw every task.
    pub fn thaw(&self) -> Result<()> {
        match self {
            Freezer::V1(d) => thaw_v1(d, SETTLE),
            Freezer::V2(d) => thaw_v2(d, SETTLE),
        }
    }
}

/// Thaw a container's cgroup if it is frozen, ignoring errors: for kill
/// and delete, which must not be stopped by a freezer problem.
pub fn thaw_if_frozen(p: &Placement) {
    if let Some(f) = Freezer::find(&p.v1, p.unified.as_deref()) {
        if f.is_frozen() {
            if let Err(e) = f.thaw() {
                crate::logging::debug(&format!("thaw: {e}"));
            }
        }
    }
}

/// Poll `done` with a growing sleep (1 ms up to 16 ms) until it holds or
/// `limit` has passed; true when it held.
fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    let mut nap = Duration::from_millis(1);
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(16));
    }
}

fn read_trimmed(file: &Path) -> String {
    std::fs::read_to_string(file)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// The `frozen` key of a cgroup.events file.
fn events_frozen(events: &str) -> Option<bool> {
    events
        .lines()
        .find_map(|l| l.strip_prefix("frozen "))
        .map(|v| v.trim() == "1")
}

fn freeze_v1(dir: &Path, rounds: u32, round: Duration) -> Result<()> {
    let file = dir.join("freezer.state");
    for _ in 0..rounds {
        write(&file, "FROZEN")?;
        if wait_until(round, || read_trimmed(&file) == "FROZEN") {
            return Ok(());
        }
        // Stuck in FREEZING: some task cannot be frozen right now (a vfork
        // parent, one in uninterruptible sleep). Thawing and freezing again
        // lets it reach a point where it can.
        write(&file, "THAWED")?;
        std::thread::sleep(Duration::from_millis(1));
    }
    let last = read_trimmed(&file);
    write(&file, "THAWED")?;
    Err(Error::Other(format!(
        "{} still read {last} after {rounds} attempts of {}ms; the container was thawed again",
        file.display(),
        round.as_millis()
    )))
}

fn thaw_v1(dir: &Path, limit: Duration) -> Result<()> {
    let file = dir.join("freezer.state");
    write(&file, "THAWED")?;
    if wait_until(limit, || read_trimmed(&file) == "THAWED") {
        return Ok(());
    }
    Err(Error::Other(format!(
        "{} still reads {} after writing THAWED (is a parent cgroup frozen?)",
        file.display(),
        read_trimmed(&file)
    )))
}

fn v2_frozen(dir: &Path) -> Option<bool> {
    events_frozen(&std::fs::read_to_string(dir.join("cgroup.events")).ok()?)
}

fn freeze_v2(dir: &Path, limit: Duration) -> Result<()> {
    let file = dir.join("cgroup.freeze");
    write(&file, "1")?;
    if wait_until(limit, || v2_frozen(dir) == Some(true)) {
        return Ok(());
    }
    // Do not leave some tasks frozen and others not.
    write(&file, "0")?;
    Err(Error::Other(format!(
        "{}: not every task was frozen (cgroup.events still says frozen 0) after {}s; the container was thawed again",
        dir.display(),
        limit.as_secs_f32()
    )))
}

fn thaw_v2(dir: &Path, limit: Duration) -> Result<()> {
    write(&dir.join("cgroup.freeze"), "0")?;
    if wait_until(limit, || v2_frozen(dir) != Some(true)) {
        return Ok(());
    }
    Err(Error::Other(format!(
        "{}: cgroup.events still says frozen 1 after writing 0 to cgroup.freeze (is a parent cgroup frozen?)",
        dir.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Tmp(PathBuf);
    impl Tmp {
        fn new(name: &str) -> Tmp {
            let p =
                std::env::temp_dir().join(format!("berth-freezer-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            Tmp(p)
        }
    }
    impl Drop for Tmp {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn prefers_the_v1_freezer_then_cgroup2() {
        let v1 = vec![
            ("memory".to_string(), PathBuf::from("/m/c")),
            ("freezer".to_string(), PathBuf::from("/f/c")),
        ];
        let u = Path::new("/u/c");
        assert_eq!(
            Freezer::find(&v1, Some(u)),
            Some(Freezer::V1("/f/c".into()))
        );
        assert_eq!(
            Freezer::find(&v1[..1], Some(u)),
            Some(Freezer::V2("/u/c".into()))
        );
        assert_eq!(Freezer::find(&v1[..1], None), None);
        let err = Freezer::of(&Placement::default()).unwrap_err().to_string();
        assert!(err.contains("no cgroup freezer"), "{err}");
    }

    #[test]
    fn missing_control_file_is_named() {
        let t = Tmp::new("missing");
        let p = Placement {
            unified: Some(t.0.clone()),
            v1: vec![],
            ..Default::default()
        };
        let err = Freezer::of(&p).unwrap_err().to_string();
        assert!(err.contains("cgroup.freeze does not exist"), "{err}");
        std::fs::write(t.0.join("cgroup.freeze"), "0\n").unwrap();
        assert_eq!(Freezer::of(&p).unwrap(), Freezer::V2(t.0.clone()));
    }

    #[test]
    fn reads_events() {
        assert_eq!(events_frozen("populated 1\nfrozen 1\n"), Some(true));
        assert_eq!(events_frozen("populated 1\nfrozen 0\n"), Some(false));
        assert_eq!(events_frozen("populated 0\n"), None);
    }

    #[test]
    fn v1_states() {
        let t = Tmp::new("v1");
        std::fs::write(t.0.join("freezer.state"), "THAWED\n").unwrap();
        let f = Freezer::V1(t.0.clone());
        assert!(!f.is_frozen());
        f.freeze().unwrap();
        assert!(f.is_frozen());
        std::fs::write(t.0.join("freezer.state"), "FREEZING\n").unwrap();
        assert!(f.is_frozen());
        f.thaw().unwrap();
        assert!(!f.is_frozen());
    }

    #[test]
    fn v2_freeze_waits_for_events_and_undoes_on_timeout() {
        let t = Tmp::new("v2");
        std::fs::write(t.0.join("cgroup.freeze"), "0\n").unwrap();
        std::fs::write(t.0.join("cgroup.events"), "populated 1\nfrozen 1\n").unwrap();
        let f = Freezer::V2(t.0.clone());
        f.freeze().unwrap();
        assert!(f.is_frozen());
        // The kernel never reports frozen: the freeze fails and is undone.
        std::fs::write(t.0.join("cgroup.events"), "populated 1\nfrozen 0\n").unwrap();
        let err = freeze_v2(&t.0, Duration::from_millis(30))
            .unwrap_err()
            .to_string();
        assert!(err.contains("thawed again"), "{err}");
        assert!(!f.is_frozen());
        // A thaw that the kernel does not confirm is an error too.
        std::fs::write(t.0.join("cgroup.events"), "populated 1\nfrozen 1\n").unwrap();
        let err = thaw_v2(&t.0, Duration::from_millis(30))
            .unwrap_err()
            .to_string();
        assert!(err.contains("parent cgroup frozen"), "{err}");
    }
}
