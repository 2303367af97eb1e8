//! Every process in a container's cgroup, sub-cgroups included (for `ps`;
//! a container with a writable cgroupfs may have made some).

use std::path::{Path, PathBuf};

use super::{read_pids, Placement};
use crate::error::{Error, Result};

/// The directory to list: on v1 any hierarchy holds every task (prefer
/// one every host has, as `V1::pids` does), else the cgroup2 directory.
fn listing_dir(p: &Placement) -> Option<&Path> {
    let v1 = |name: &str| {
        p.v1.iter()
            .find(|(c, _)| c.split(',').any(|x| x == name))
            .map(|(_, d)| d.as_path())
    };
    v1("pids")
        .or_else(|| v1("memory"))
        .or_else(|| p.v1.first().map(|(_, d)| d.as_path()))
        .or(p.unified.as_deref())
}

/// Sorted pids of every process in the container's cgroup subtree; empty
/// when the cgroup is gone.
pub fn all_pids(p: &Placement) -> Result<Vec<i32>> {
    let Some(top) = listing_dir(p) else {
        return Ok(Vec::new());
    };
    let mut pids = Vec::new();
    let mut todo: Vec<PathBuf> = vec![top.to_path_buf()];
    while let Some(dir) = todo.pop() {
        pids.extend(read_pids(&dir.join("cgroup.procs"))?);
        let entries = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            // Removed while we walked (or never made): nothing below.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::sys(format!("read {}", dir.display()), e)),
        };
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push(e.path());
            }
        }
    }
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_sub_cgroups() {
        let t = std::env::temp_dir().join(format!("berth-procs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&t);
        std::fs::create_dir_all(t.join("sub/deeper")).unwrap();
        std::fs::write(t.join("cgroup.procs"), "30\n10\n").unwrap();
        std::fs::write(t.join("sub/cgroup.procs"), "20\n").unwrap();
        std::fs::write(t.join("sub/deeper/cgroup.procs"), "5\n10\n").unwrap();
        let p = Placement {
            unified: Some(t.clone()),
            v1: vec![],
            ..Default::default()
        };
        assert_eq!(all_pids(&p).unwrap(), vec![5, 10, 20, 30]);
        let gone = Placement {
            unified: Some(t.join("nope")),
            v1: vec![],
            ..Default::default()
        };
        assert_eq!(all_pids(&gone).unwrap(), Vec::<i32>::new());
        assert_eq!(all_pids(&Placement::default()).unwrap(), Vec::<i32>::new());
        std::fs::remove_dir_all(&t).unwrap();
    }

    #[test]
    fn lists_a_v1_hierarchy_first() {
        let p = Placement {
            unified: Some("/u".into()),
            v1: vec![
                ("cpu".into(), "/cpu/c".into()),
                ("memory".into(), "/mem/c".into()),
            ],
            ..Default::default()
        };
        assert_eq!(listing_dir(&p), Some(Path::new("/mem/c")));
    }
}
