//! What cgroup hierarchies this host has, read from /proc/self/mountinfo
//! and /proc/self/cgroup at run time.

use std::path::PathBuf;

use crate::error::{Context, Result};

#[derive(Debug, Clone)]
pub struct V1Hierarchy {
    /// Comma-separated controllers (or `name=systemd`).
    pub controllers: String,
    pub mount: PathBuf,
    /// berth's own cgroup in this hierarchy.
    pub own: PathBuf,
}

#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// (mount point, berth's own cgroup) of the cgroup2 hierarchy.
    pub unified: Option<(PathBuf, PathBuf)>,
    pub v1: Vec<V1Hierarchy>,
}

impl Layout {
    pub fn detect() -> Result<Layout> {
        let mountinfo =
            std::fs::read_to_string("/proc/self/mountinfo").ctx(|| "read /proc/self/mountinfo")?;
        let own = std::fs::read_to_string("/proc/self/cgroup").ctx(|| "read /proc/self/cgroup")?;
        let mut layout = Self::parse(&mountinfo, &own);
        // mountinfo also lists mounts that something has since covered (a
        // nested set-up puts a tmpfs over /sys/fs/cgroup/unified): only
        // what is really a cgroup filesystem at its mount point counts.
        if let Some((m, _)) = &layout.unified {
            if !is_fs(m, CGROUP2_SUPER_MAGIC) {
                layout.unified = None;
            }
        }
        layout.v1.retain(|h| is_fs(&h.mount, CGROUP_SUPER_MAGIC));
        Ok(layout)
    }

    pub fn is_pure_v2(&self) -> bool {
        self.v1.is_empty() && self.unified.is_some()
    }

    pub fn parse(mountinfo: &str, own_cgroups: &str) -> Layout {
        let mut layout = Layout::default();
        let own_for = |key: &str| -> PathBuf {
            for line in own_cgroups.lines() {
                let mut parts = line.splitn(3, ':');
                let (_, ctrl, path) = (parts.next(), parts.next(), parts.next());
                if ctrl == Some(key) {
                    return PathBuf::from(path.unwrap_or("/"));
                }
            }
            PathBuf::from("/")
        };
        for line in mountinfo.lines() {
            // fields: id parent maj:min root mountpoint opts ... - fstype source superopts
            let Some((left, right)) = line.split_once(" - ") else {
                continue;
            };
            let left: Vec<&str> = left.split(' ').collect();
            let right: Vec<&str> = right.split(' ').collect();
            if left.len() < 5 || right.len() < 3 {
                continue;
            }
            let mount = PathBuf::from(unescape(left[4]));
            match right[0] {
                "cgroup2" if layout.unified.is_none() => {
                    layout.unified = Some((mount, own_for("")));
                }
                "cgroup" => {
                    let controllers: Vec<&str> = right[2]
                        .split(',')
                        .filter(|o| {
                            !matches!(*o, "rw" | "ro" | "nosuid" | "nodev" | "noexec" | "relatime")
                                && !o.starts_with("release_agent")
                                && *o != "clone_children"
                                && *o != "noprefix"
                                && *o != "xattr"
                        })
                        .collect();
                    if controllers.is_empty() {
                        continue;
                    }
                    let key = controllers.join(",");
                    if layout.v1.iter().any(|h| h.controllers == key) {
                        continue;
                    }
                    let own = own_for(&key);
                    layout.v1.push(V1Hierarchy {
                        controllers: key,
                        mount,
                        own,
                    });
                }
                _ => {}
            }
        }
        layout
    }
}

const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
const CGROUP_SUPER_MAGIC: i64 = 0x0027_e0eb;

/// Whether the filesystem seen at `path` has this magic number.
fn is_fs(path: &std::path::Path, magic: i64) -> bool {
    nix::sys::statfs::statfs(path).is_ok_and(|s| s.filesystem_type().0 == magic)
}

/// mountinfo escapes space, tab, newline and backslash as octal.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v as char);
            i += 4;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hybrid_host() {
        let mi = "30 25 0:26 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n\
                  31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n\
                  32 25 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n";
        let own = "0::/user.slice\n4:memory:/host\n3:cpu,cpuacct:/\n";
        let l = Layout::parse(mi, own);
        assert_eq!(
            l.unified,
            Some(("/sys/fs/cgroup/unified".into(), "/user.slice".into()))
        );
        assert_eq!(l.v1.len(), 2);
        assert_eq!(l.v1[0].controllers, "memory");
        assert_eq!(l.v1[0].own, PathBuf::from("/host"));
        assert_eq!(l.v1[1].controllers, "cpu,cpuacct");
        assert!(!l.is_pure_v2());
    }

    #[test]
    fn pure_v2_host() {
        let mi = "30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        let l = Layout::parse(mi, "0::/\n");
        assert!(l.is_pure_v2());
    }

    #[test]
    fn unescapes_octal() {
        assert_eq!(unescape(r"/a\040b"), "/a b");
    }
}
