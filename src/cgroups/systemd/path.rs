//! `linux.cgroupsPath` in the systemd driver's form, `slice:prefix:name`,
//! and where the unit it names lives in the cgroup tree.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// The slice a container goes in when cgroupsPath names none.
pub const DEFAULT_SLICE: &str = "system.slice";
/// The same in a user's systemd (a rootless container), as runc.
pub const USER_DEFAULT_SLICE: &str = "user.slice";
/// The unit-name prefix of an empty cgroupsPath (`system.slice:berth:ID`).
pub const DEFAULT_PREFIX: &str = "berth";

/// A container's systemd unit: a scope in a slice, or a slice of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitPath {
    /// The parent slice, e.g. `system.slice`.
    pub slice: String,
    /// The unit berth starts: `prefix-name.scope`, or `name` when it is a
    /// slice.
    pub unit: String,
}

impl UnitPath {
    /// Parse `slice:prefix:name` (an empty or absent path: the default
    /// for container `id`; an empty slice: `default_slice`). Errors name
    /// the field.
    pub fn parse(cgroups_path: Option<&str>, id: &str, default_slice: &str) -> Result<UnitPath> {
        let raw = cgroups_path.unwrap_or("");
        let (slice, prefix, name) = if raw.is_empty() {
            ("", DEFAULT_PREFIX, id)
        } else {
            let parts: Vec<&str> = raw.split(':').collect();
            let [slice, prefix, name] = parts[..] else {
                return Err(invalid(
                    raw,
                    "the systemd cgroup driver wants the form slice:prefix:name",
                ));
            };
            (slice, prefix, name)
        };
        if name.is_empty() {
            return Err(invalid(raw, "the name (after the second ':') is empty"));
        }
        let slice = if slice.is_empty() {
            default_slice.to_string()
        } else {
            slice.to_string()
        };
        // Checked here so that the error names the field, not D-Bus.
        expand_slice(&slice).map_err(|why| invalid(raw, &why))?;
        let unit = if name.ends_with(".slice") {
            expand_slice(name).map_err(|why| invalid(raw, &why))?;
            name.to_string()
        } else if prefix.is_empty() {
            format!("{name}.scope")
        } else {
            format!("{prefix}-{name}.scope")
        };
        check_unit_name(&unit).map_err(|why| invalid(raw, &why))?;
        Ok(UnitPath { slice, unit })
    }

    pub fn is_slice(&self) -> bool {
        self.unit.ends_with(".slice")
    }

    /// The unit's directory relative to a hierarchy's root: a slice's
    /// place follows from its own name; a scope sits in its slice.
    pub fn cgroup_dir(&self) -> PathBuf {
        if self.is_slice() {
            // Checked by parse.
            expand_slice(&self.unit).unwrap_or_default()
        } else {
            expand_slice(&self.slice)
                .unwrap_or_default()
                .join(&self.unit)
        }
    }
}

fn invalid(raw: &str, why: &str) -> Error {
    Error::InvalidConfig(format!("config.json: linux.cgroupsPath: {raw:?}: {why}"))
}

/// Where systemd puts a slice: `a-b-c.slice` is `a.slice/a-b.slice/a-b-c.slice`
/// below the root; `-.slice` is the root itself. A name systemd would refuse
/// is an error saying why.
pub fn expand_slice(slice: &str) -> std::result::Result<PathBuf, String> {
    let Some(stem) = slice.strip_suffix(".slice") else {
        return Err(format!("{slice:?} is not a slice name (no .slice suffix)"));
    };
    check_unit_name(slice)?;
    if stem == "-" {
        return Ok(PathBuf::from("/"));
    }
    if stem.is_empty() || stem.contains('/') {
        return Err(format!("{slice:?} is not a valid slice name"));
    }
    let mut path = PathBuf::from("/");
    let mut prefix = String::new();
    for part in stem.split('-') {
        if part.is_empty() {
            return Err(format!(
                "{slice:?} is not a valid slice name (an empty part between dashes)"
            ));
        }
        if !prefix.is_empty() {
            prefix.push('-');
        }
        prefix.push_str(part);
        path.push(format!("{prefix}.slice"));
    }
    Ok(path)
}

/// systemd's rule for unit names: at most 255 bytes of ASCII letters,
/// digits and `:-_.\@`, a non-empty name before the type suffix.
fn check_unit_name(unit: &str) -> std::result::Result<(), String> {
    if unit.len() > 255 {
        return Err(format!("unit name {unit:?} is longer than 255 bytes"));
    }
    if let Some(c) = unit
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || ":-_.\\@".contains(*c)))
    {
        return Err(format!(
            "unit name {unit:?} has {c:?}, which systemd does not allow"
        ));
    }
    match unit.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() && !stem.starts_with('.') => Ok(()),
        _ => Err(format!("{unit:?} is not a valid unit name")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_path_is_system_slice_berth_id() {
        let u = UnitPath::parse(None, "c1", DEFAULT_SLICE).unwrap();
        assert_eq!(u.slice, "system.slice");
        assert_eq!(u.unit, "berth-c1.scope");
        assert_eq!(
            u.cgroup_dir(),
            PathBuf::from("/system.slice/berth-c1.scope")
        );
        assert_eq!(UnitPath::parse(Some(""), "c1", DEFAULT_SLICE).unwrap(), u);
    }

    #[test]
    fn empty_slice_means_system_slice() {
        let u = UnitPath::parse(Some(":docker:abc"), "x", DEFAULT_SLICE).unwrap();
        assert_eq!(u.slice, "system.slice");
        assert_eq!(u.unit, "docker-abc.scope");
    }

    #[test]
    fn nested_slices_expand() {
        let u = UnitPath::parse(Some("a-b-c.slice:p:n"), "x", DEFAULT_SLICE).unwrap();
        assert_eq!(
            u.cgroup_dir(),
            PathBuf::from("/a.slice/a-b.slice/a-b-c.slice/p-n.scope")
        );
        assert_eq!(expand_slice("-.slice").unwrap(), PathBuf::from("/"));
    }

    #[test]
    fn a_slice_name_makes_a_slice_unit() {
        let u = UnitPath::parse(
            Some("kubepods-burstable.slice:cri:kubepods-burstable-pod1.slice"),
            "x",
            DEFAULT_SLICE,
        )
        .unwrap();
        assert!(u.is_slice());
        assert_eq!(u.unit, "kubepods-burstable-pod1.slice");
        assert_eq!(
            u.cgroup_dir(),
            PathBuf::from("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice")
        );
    }

    #[test]
    fn empty_prefix_gives_name_scope() {
        assert_eq!(
            UnitPath::parse(Some("system.slice::n"), "x", DEFAULT_SLICE)
                .unwrap()
                .unit,
            "n.scope"
        );
    }

    #[test]
    fn bad_paths_name_the_field() {
        for bad in [
            "/a/b",
            "a:b",
            "a:b:c:d",
            "system.slice:p:",
            "notaslice:p:n",
            "a--b.slice:p:n",
            "-a.slice:p:n",
            "a-.slice:p:n",
            "system.slice:p:na/me",
            "system.slice:p:a b",
            "system.slice:p:bad-.slice",
        ] {
            let e = UnitPath::parse(Some(bad), "x", DEFAULT_SLICE)
                .unwrap_err()
                .to_string();
            assert!(e.contains("linux.cgroupsPath"), "{bad}: {e}");
        }
        let long = format!("system.slice:p:{}", "n".repeat(300));
        assert!(UnitPath::parse(Some(&long), "x", DEFAULT_SLICE).is_err());
    }
}
