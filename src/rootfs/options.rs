//! Turning a mount's `options` list into mount(2) flags, propagation
//! changes, mount_setattr(2) attributes and filesystem data.

use nix::mount::MsFlags;

/// mount_setattr(2) attribute bits (linux/mount.h).
pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;
pub const MOUNT_ATTR_RELATIME: u64 = 0x0;
pub const MOUNT_ATTR_NOATIME: u64 = 0x10;
pub const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
pub const MOUNT_ATTR__ATIME: u64 = 0x70;
pub const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
pub const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x0020_0000;

/// MS_NOSYMFOLLOW (Linux 5.10), which nix does not name.
const MS_NOSYMFOLLOW: MsFlags = MsFlags::from_bits_retain(256);

#[derive(Debug, PartialEq)]
pub struct MountOptions {
    /// Flags set at mount time (and on the bind remount).
    pub flags: MsFlags,
    /// Flags the options clear explicitly (`rw`, `suid`, `dev`, ...).
    pub cleared: MsFlags,
    /// True when the options asked for a bind (`bind` or `rbind`).
    pub bind: bool,
    pub recursive: bool,
    /// Propagation changes, applied in order after the mount.
    pub propagation: Vec<MsFlags>,
    /// Recursive attributes (`rro`, `rnosuid`, ...): set and clear masks.
    pub attr_set: u64,
    pub attr_clr: u64,
    /// Everything else, passed to the filesystem as data.
    pub data: Vec<String>,
    /// `tmpcopyup` (runc's and crun's extension, used by Podman): a tmpfs
    /// starts with a copy of what the directory under it held.
    pub copy_up: bool,
    /// `idmap` or `ridmap`: an id-mapped bind (sources.rs makes it).
    pub idmap: bool,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            flags: MsFlags::empty(),
            cleared: MsFlags::empty(),
            bind: false,
            recursive: false,
            propagation: Vec::new(),
            attr_set: 0,
            attr_clr: 0,
            data: Vec::new(),
            copy_up: false,
            idmap: false,
        }
    }
}

pub fn propagation_flag(name: &str) -> Option<MsFlags> {
    Some(match name {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        _ => return None,
    })
}

/// (set, clear) flags for a plain option.
fn plain_flag(name: &str) -> Option<(bool, MsFlags)> {
    use MsFlags as F;
    Some(match name {
        "defaults" => (true, F::empty()),
        "ro" => (true, F::MS_RDONLY),
        "rw" => (false, F::MS_RDONLY),
        "nosuid" => (true, F::MS_NOSUID),
        "suid" => (false, F::MS_NOSUID),
        "nodev" => (true, F::MS_NODEV),
        "dev" => (false, F::MS_NODEV),
        "noexec" => (true, F::MS_NOEXEC),
        "exec" => (false, F::MS_NOEXEC),
        "sync" => (true, F::MS_SYNCHRONOUS),
        "async" => (false, F::MS_SYNCHRONOUS),
        "dirsync" => (true, F::MS_DIRSYNC),
        "remount" => (true, F::MS_REMOUNT),
        "mand" => (true, F::MS_MANDLOCK),
        "nomand" => (false, F::MS_MANDLOCK),
        "noatime" => (true, F::MS_NOATIME),
        "atime" => (false, F::MS_NOATIME),
        "nodiratime" => (true, F::MS_NODIRATIME),
        "diratime" => (false, F::MS_NODIRATIME),
        "relatime" => (true, F::MS_RELATIME),
        "norelatime" => (false, F::MS_RELATIME),
        "strictatime" => (true, F::MS_STRICTATIME),
        "nostrictatime" => (false, F::MS_STRICTATIME),
        "silent" => (true, F::MS_SILENT),
        "loud" => (false, F::MS_SILENT),
        "iversion" => (true, F::MS_I_VERSION),
        "noiversion" => (false, F::MS_I_VERSION),
        "lazytime" => (true, F::MS_LAZYTIME),
        "nolazytime" => (false, F::MS_LAZYTIME),
        "nosymfollow" => (true, MS_NOSYMFOLLOW),
        "symfollow" => (false, MS_NOSYMFOLLOW),
        _ => return None,
    })
}

/// (set?, attribute) for a recursive option such as `rro`.
fn recursive_attr(name: &str) -> Option<(bool, u64)> {
    Some(match name {
        "rro" => (true, MOUNT_ATTR_RDONLY),
        "rrw" => (false, MOUNT_ATTR_RDONLY),
        "rnosuid" => (true, MOUNT_ATTR_NOSUID),
        "rsuid" => (false, MOUNT_ATTR_NOSUID),
        "rnodev" => (true, MOUNT_ATTR_NODEV),
        "rdev" => (false, MOUNT_ATTR_NODEV),
        "rnoexec" => (true, MOUNT_ATTR_NOEXEC),
        "rexec" => (false, MOUNT_ATTR_NOEXEC),
        "rnodiratime" => (true, MOUNT_ATTR_NODIRATIME),
        "rdiratime" => (false, MOUNT_ATTR_NODIRATIME),
        "rrelatime" => (true, MOUNT_ATTR_RELATIME),
        // Leaving relatime, atime or strictatime: the default (relatime).
        "rnorelatime" | "ratime" | "rnostrictatime" => (false, MOUNT_ATTR_RELATIME),
        "rnoatime" => (true, MOUNT_ATTR_NOATIME),
        "rstrictatime" => (true, MOUNT_ATTR_STRICTATIME),
        "rnosymfollow" => (true, MOUNT_ATTR_NOSYMFOLLOW),
        "rsymfollow" => (false, MOUNT_ATTR_NOSYMFOLLOW),
        _ => return None,
    })
}

/// Parse a mount's options.
pub fn parse(options: &[String]) -> Result<MountOptions, String> {
    let mut o = MountOptions::default();
    for opt in options {
        let opt = opt.as_str();
        if opt.contains('\0') {
            // mount(2) takes C strings, which cannot hold one.
            return Err(format!("option {opt:?}: contains a NUL byte"));
        }
        if opt == "bind" {
            o.bind = true;
        } else if opt == "rbind" {
            o.bind = true;
            o.recursive = true;
        } else if let Some((set, f)) = plain_flag(opt) {
            if set {
                o.flags |= f;
                o.cleared &= !f;
            } else {
                o.flags &= !f;
                o.cleared |= f;
            }
        } else if let Some(p) = propagation_flag(opt) {
            o.propagation.push(p);
        } else if let Some((set, a)) = recursive_attr(opt) {
            if a == MOUNT_ATTR_RELATIME || a == MOUNT_ATTR_NOATIME || a == MOUNT_ATTR_STRICTATIME {
                // The atime mode is a field, not a bit: clear it, then set.
                o.attr_clr |= MOUNT_ATTR__ATIME;
            }
            if set {
                o.attr_set |= a;
            } else {
                o.attr_clr |= a;
            }
        } else if opt == "idmap" || opt == "ridmap" {
            // Made before the mount (rootfs/sources.rs): not for the kernel.
            o.idmap = true;
        } else if opt == "tmpcopyup" {
            o.copy_up = true;
        } else if opt.starts_with("x-") {
            // Userspace hints (x-systemd.*, ...) are for other tools.
        } else {
            o.data.push(opt.to_string());
        }
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(opts: &[&str]) -> MountOptions {
        parse(&opts.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn flags_and_data() {
        let o = p(&["nosuid", "strictatime", "mode=755", "size=65536k"]);
        assert_eq!(o.flags, MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME);
        assert_eq!(o.data, vec!["mode=755", "size=65536k"]);
        assert!(!o.bind);
    }

    #[test]
    fn later_option_wins() {
        assert_eq!(p(&["ro", "rw"]).flags, MsFlags::empty());
        assert_eq!(p(&["rw", "ro"]).flags, MsFlags::MS_RDONLY);
    }

    #[test]
    fn bind_propagation_and_recursive() {
        let o = p(&["rbind", "rprivate", "rro", "x-foo"]);
        assert!(o.bind && o.recursive);
        assert_eq!(o.propagation, vec![MsFlags::MS_PRIVATE | MsFlags::MS_REC]);
        assert_eq!(o.attr_set, MOUNT_ATTR_RDONLY);
        assert!(o.data.is_empty());
    }

    #[test]
    fn symfollow_options_are_flags_not_data() {
        let o = p(&["rbind", "rnosymfollow"]);
        assert_eq!(o.attr_set, MOUNT_ATTR_NOSYMFOLLOW);
        assert!(o.data.is_empty());
        let o = p(&["bind", "nosymfollow"]);
        assert_eq!(o.flags, MS_NOSYMFOLLOW);
        assert!(o.data.is_empty());
        assert_eq!(p(&["rsymfollow"]).attr_clr, MOUNT_ATTR_NOSYMFOLLOW);
        for atime in ["ratime", "rnorelatime", "rnostrictatime"] {
            let o = p(&[atime]);
            assert_eq!((o.attr_set, o.attr_clr), (0, MOUNT_ATTR__ATIME), "{atime}");
        }
    }

    #[test]
    fn nul_bytes_are_refused() {
        assert!(parse(&["size=1\0,exec".to_string()]).is_err());
    }

    #[test]
    fn idmap_is_a_marker_not_data() {
        let o = parse(&["bind".to_string(), "ridmap".to_string()]).unwrap();
        assert!(o.idmap && o.data.is_empty());
    }
}
