//! `linux.intelRdt`: the container's processes in a resctrl group (Intel
//! RDT, AMD PQoS: cache allocation and memory bandwidth classes) of the
//! resctrl filesystem.
//!
//! The group is `closID` when given (shared by every container naming
//! it), else the container's id. A group berth makes gets the schemata
//! (`schemata`, else `l3CacheSchema` and `memBwSchema`) and is removed at
//! `delete`; an existing `closID` group is joined, and schemata given for
//! it must be what it already has (it belongs to others too). With
//! `enableMonitoring` the container also gets a monitoring group of its own
//! (`mon_groups/<id>`). The init and every exec'd process are added to the
//! groups' `tasks` before they run anything of the user's.

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxIntelRdt;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const FIELD: &str = "config.json: linux.intelRdt";

/// What `create` checked, before making anything.
#[derive(Debug, PartialEq)]
pub struct Plan {
    pub dir: PathBuf,
    /// The group is a `closID`, shared: never removed by berth.
    pub shared: bool,
    /// Schemata lines to write (a new group) or to find (an existing one).
    pub lines: Vec<String>,
    /// `mon_groups/<id>` under the group, with enableMonitoring.
    pub mon: Option<PathBuf>,
}

/// The groups a container is in, recorded in its state.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Group {
    pub dir: PathBuf,
    /// berth made the group for this container alone (so `delete` removes
    /// it); never for a `closID`, which other containers may join.
    pub made: bool,
    pub mon: Option<PathBuf>,
}

/// Where resctrl is mounted, from the text of /proc/self/mountinfo.
pub fn mount_point(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|l| {
        let (left, right) = l.split_once(" - ")?;
        (right.split(' ').next()? == "resctrl")
            .then(|| {
                left.split(' ')
                    .nth(4)
                    .map(|m| PathBuf::from(crate::cgroups::unescape(m)))
            })
            .flatten()
    })
}

/// Check `linux.intelRdt` for container `id` against the resctrl mounted
/// at `root` (None: not mounted).
pub fn plan(rdt: &LinuxIntelRdt, id: &str, root: Option<&Path>) -> Result<Plan> {
    let bad = |what: String| Error::InvalidConfig(format!("{FIELD}: {what}"));
    let Some(root) = root else {
        return Err(bad(
            "this host has no resctrl filesystem mounted (Intel RDT / AMD QoS), so no runtime can apply it here"
                .into(),
        ));
    };
    let name = match rdt.clos_id().as_deref() {
        Some(c) if c.is_empty() || c == "." || c == ".." || c.contains('/') || c.contains('\n') => {
            return Err(bad(format!("closID: {c:?} is not a group name")))
        }
        Some(c) => c.to_string(),
        None => id.to_string(),
    };
    let given = rdt.schemata().as_ref().filter(|s| !s.is_empty());
    if given.is_some() && (rdt.l3_cache_schema().is_some() || rdt.mem_bw_schema().is_some()) {
        return Err(bad(
            "schemata replaces l3CacheSchema and memBwSchema: give one or the other".into(),
        ));
    }
    let lines: Vec<String> = match given {
        Some(s) => s.clone(),
        None => [rdt.l3_cache_schema(), rdt.mem_bw_schema()]
            .into_iter()
            .flatten()
            .flat_map(|s| s.lines().map(str::to_string).collect::<Vec<_>>())
            .collect(),
    };
    let lines: Vec<String> = lines
        .into_iter()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let dir = root.join(&name);
    #[allow(deprecated)]
    let monitor = rdt.enable_monitoring().unwrap_or(false)
        || rdt.enable_cmt().unwrap_or(false)
        || rdt.enable_mbm().unwrap_or(false);
    let mon = monitor.then(|| dir.join("mon_groups").join(id));
    Ok(Plan {
        dir,
        shared: rdt.clos_id().is_some(),
        lines,
        mon,
    })
}

/// Make (or join) the group and the monitoring group. On failure nothing
/// berth made is left.
pub fn make(p: &Plan) -> Result<Group> {
    let made = match std::fs::create_dir(&p.dir) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(e) => return Err(Error::sys(format!("{FIELD}: make {}", p.dir.display()), e)),
    };
    let group = Group {
        dir: p.dir.clone(),
        made: made && !p.shared,
        mon: None,
    };
    let done = (|| -> Result<Group> {
        let schemata = p.dir.join("schemata");
        if made {
            // New (a closID's first user makes it): the schemata go in.
            for line in &p.lines {
                std::fs::write(&schemata, format!("{line}\n")).map_err(|e| {
                    Error::sys(
                        format!("{FIELD}: write {line:?} to {}", schemata.display()),
                        e,
                    )
                })?;
            }
        } else if !p.lines.is_empty() {
            let have = std::fs::read_to_string(&schemata)
                .map_err(|e| Error::sys(format!("{FIELD}: read {}", schemata.display()), e))?;
            let have: Vec<&str> = have.lines().map(str::trim).collect();
            if let Some(l) = p.lines.iter().find(|l| !have.contains(&l.as_str())) {
                return Err(Error::InvalidConfig(format!(
                    "{FIELD}: the existing group {} has other schemata than {l:?}; it is shared, so berth will not change it",
                    p.dir.display()
                )));
            }
        }
        let mut g = group.clone();
        if let Some(m) = &p.mon {
            std::fs::create_dir(m).map_err(|e| {
                Error::sys(
                    format!("{FIELD}: make the monitoring group {}", m.display()),
                    e,
                )
            })?;
            g.mon = Some(m.clone());
        }
        Ok(g)
    })();
    if done.is_err() {
        remove(&group);
    }
    done
}

/// Put process `pid` in the group (and its monitoring group): a thread id
/// to `tasks`; the children it makes after this are in it too.
pub fn join(g: &Group, pid: i32) -> Result<()> {
    for dir in std::iter::once(&g.dir).chain(g.mon.as_ref()) {
        let tasks = dir.join("tasks");
        std::fs::write(&tasks, pid.to_string())
            .map_err(|e| Error::sys(format!("{FIELD}: add {pid} to {}", tasks.display()), e))?;
    }
    Ok(())
}

/// Remove the monitoring group and, if berth made it, the group.
pub fn remove(g: &Group) {
    if let Some(m) = &g.mon {
        let _ = std::fs::remove_dir(m);
    }
    if g.made {
        let _ = std::fs::remove_dir(&g.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rdt(json: &str) -> LinuxIntelRdt {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn finds_the_mount() {
        let mi = "22 1 0:20 / /sys/fs/resctrl rw,relatime - resctrl resctrl rw\n\
                  23 1 0:21 / /proc rw - proc proc rw\n";
        assert_eq!(mount_point(mi), Some(PathBuf::from("/sys/fs/resctrl")));
        assert_eq!(mount_point("23 1 0:21 / /proc rw - proc proc rw\n"), None);
    }

    #[test]
    fn plans_names_lines_and_errors() {
        let root = Path::new("/r");
        let p = plan(
            &rdt(r#"{"l3CacheSchema":"L3:0=7f","memBwSchema":"MB:0=50"}"#),
            "c1",
            Some(root),
        )
        .unwrap();
        assert_eq!(p.dir, PathBuf::from("/r/c1"));
        assert_eq!(p.lines, vec!["L3:0=7f", "MB:0=50"]);
        assert_eq!(p.mon, None);
        let p = plan(
            &rdt(r#"{"closID":"gold","schemata":["L3:0=ff"],"enableMonitoring":true}"#),
            "c1",
            Some(root),
        )
        .unwrap();
        assert_eq!(p.dir, PathBuf::from("/r/gold"));
        assert_eq!(p.mon, Some(PathBuf::from("/r/gold/mon_groups/c1")));
        let err = |j: &str, r: Option<&Path>| plan(&rdt(j), "c1", r).unwrap_err().to_string();
        assert!(err("{}", None).contains("no resctrl"));
        assert!(err(r#"{"closID":"../x"}"#, Some(root)).contains("closID"));
        assert!(err(
            r#"{"schemata":["L3:0=1"],"l3CacheSchema":"L3:0=1"}"#,
            Some(root)
        )
        .contains("one or the other"));
    }

    #[test]
    fn a_closid_group_is_never_removed() {
        let root = std::env::temp_dir().join(format!("berth-resctrl-c-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        let p = plan(&rdt(r#"{"closID":"gold"}"#), "c1", Some(&root)).unwrap();
        let g = make(&p).unwrap();
        assert!(
            !g.made,
            "a closID group made by berth still belongs to every user of it"
        );
        remove(&g);
        assert!(root.join("gold").exists());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn makes_joins_and_removes_a_group() {
        // Plain directories stand in for resctrl.
        let root = std::env::temp_dir().join(format!("berth-resctrl-{}", std::process::id()));
        std::fs::create_dir_all(root.join("shared")).unwrap();
        std::fs::write(root.join("shared/schemata"), "L3:0=ff\nMB:0=100\n").unwrap();
        // (No monitoring here: its mon_groups directory is the kernel's.)
        let p = plan(&rdt(r#"{"schemata":["L3:0=f0"]}"#), "c1", Some(&root)).unwrap();
        let g = make(&p).unwrap();
        assert!(g.made);
        assert_eq!(
            std::fs::read_to_string(root.join("c1/schemata")).unwrap(),
            "L3:0=f0\n"
        );
        join(&g, 42).unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("c1/tasks")).unwrap(),
            "42"
        );
        std::fs::remove_file(root.join("c1/schemata")).unwrap();
        std::fs::remove_file(root.join("c1/tasks")).unwrap();
        remove(&g);
        assert!(!root.join("c1").exists());
        // An existing closID group is joined, never changed, never removed.
        let shared = plan(
            &rdt(r#"{"closID":"shared","schemata":["L3:0=ff"]}"#),
            "c2",
            Some(&root),
        )
        .unwrap();
        let g = make(&shared).unwrap();
        assert!(!g.made);
        remove(&g);
        assert!(root.join("shared").exists());
        let other = plan(
            &rdt(r#"{"closID":"shared","schemata":["L3:0=1"]}"#),
            "c3",
            Some(&root),
        )
        .unwrap();
        assert!(make(&other)
            .unwrap_err()
            .to_string()
            .contains("other schemata"));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
