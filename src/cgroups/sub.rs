//! `exec --cgroup`: run an exec'd process in a sub-cgroup of the
//! container's, as runc does: `PATH` for every hierarchy (cgroup v2's one,
//! or all of v1's), or `CONTROLLER[,CONTROLLER...]:PATH` for the v1
//! hierarchies of those controllers. PATH is below the container's cgroup
//! (`/` is the container's own) and must already exist.

use std::path::{Component, Path, PathBuf};

use super::Placement;
use crate::error::{Error, Result};

/// `placement` with the sub-cgroups `specs` (the flag's values, in order;
/// a later one for the same hierarchy wins) applied.
pub fn with_sub_cgroups(placement: &Placement, specs: &[String]) -> Result<Placement> {
    let mut out = placement.clone();
    for spec in specs {
        let bad = |why: &str| Error::InvalidConfig(format!("--cgroup {spec:?}: {why}"));
        let (controllers, path) = match spec.split_once(':') {
            Some((c, p)) => (Some(c), p),
            None => (None, spec.as_str()),
        };
        let sub = clean(path).ok_or_else(|| {
            bad("bad sub cgroup path (it must stay below the container's cgroup)")
        })?;
        match controllers {
            None => {
                if let Some(u) = out.unified.as_mut() {
                    *u = placement
                        .unified
                        .as_ref()
                        .map(|b| b.join(&sub))
                        .unwrap_or_default();
                }
                for (i, (_, dir)) in out.v1.iter_mut().enumerate() {
                    *dir = placement.v1[i].1.join(&sub);
                }
            }
            Some(list) => {
                if placement.v1.is_empty() {
                    return Err(bad("controllers can only be named on cgroup v1; on cgroup v2 give the path alone"));
                }
                for c in list.split(',').filter(|c| !c.is_empty()) {
                    let i = placement
                        .v1
                        .iter()
                        .position(|(ctrls, _)| ctrls.split(',').any(|x| x == c))
                        .ok_or_else(|| bad(&format!("unknown controller {c:?}")))?;
                    out.v1[i].1 = placement.v1[i].1.join(&sub);
                }
            }
        }
    }
    for dir in out.unified.iter().chain(out.v1.iter().map(|(_, d)| d)) {
        if let Err(e) = std::fs::metadata(dir) {
            return Err(Error::sys(
                format!("--cgroup: adding pid to cgroup {}", dir.display()),
                e,
            ));
        }
    }
    Ok(out)
}

/// The sub-path, relative, without `.`; None if it climbs out with `..`.
fn clean(path: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_cgroups_per_hierarchy() {
        let base = std::env::temp_dir().join(format!("berth-subcg-{}", std::process::id()));
        for d in ["mem/c/sub", "cpu/c/x", "cpu/c/sub"] {
            std::fs::create_dir_all(base.join(d)).unwrap();
        }
        let p = Placement {
            unified: None,
            v1: vec![
                ("memory".into(), base.join("mem/c")),
                ("cpu,cpuacct".into(), base.join("cpu/c")),
            ],
            ..Default::default()
        };
        let q = with_sub_cgroups(&p, &["sub".into()]).unwrap();
        assert_eq!(q.v1[0].1, base.join("mem/c/sub"));
        assert_eq!(q.v1[1].1, base.join("cpu/c/sub"));
        let q = with_sub_cgroups(&p, &["cpuacct:x".into()]).unwrap();
        assert_eq!(q.v1[0].1, base.join("mem/c"));
        assert_eq!(q.v1[1].1, base.join("cpu/c/x"));
        assert_eq!(with_sub_cgroups(&p, &["/".into()]).unwrap(), p);
        let err = |s: &str| with_sub_cgroups(&p, &[s.into()]).unwrap_err().to_string();
        assert!(err("..").contains("bad sub cgroup path"));
        assert!(err("x").contains("adding pid to cgroup"));
        assert!(err("whaaat:/").contains("unknown controller"));
        std::fs::remove_dir_all(&base).unwrap();
    }
}
