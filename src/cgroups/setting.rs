//! One value for one cgroup file, and where it came from.
//!
//! Each resource module turns its part of `linux.resources` into a list of
//! settings, in the order they must be written; the v1 and v2 managers
//! only find the file and write. Keeping the conversion free of I/O (all
//! reads go through a `Probe`) lets unit tests check every file and value
//! against a fake cgroup.

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The config field, below `linux.resources` (e.g. `memory.limit`),
    /// named in errors.
    pub field: String,
    /// The cgroup file, relative to the container's cgroup directory.
    pub file: String,
    pub value: String,
}

impl Setting {
    pub fn new(field: &str, file: impl Into<String>, value: impl ToString) -> Setting {
        Setting {
            field: field.to_string(),
            file: file.into(),
            value: value.to_string(),
        }
    }

    /// The controller that owns the file: its name up to the first dot
    /// (`memory.max` → memory). `cgroup.*` files belong to none.
    pub fn controller(&self) -> Option<&str> {
        controller_of(&self.file)
    }
}

pub fn controller_of(file: &str) -> Option<&str> {
    match file.split('.').next() {
        Some("cgroup") | None => None,
        Some(c) => Some(c),
    }
}

/// What the conversion may ask of the container's cgroup: whether a file
/// exists, and its current contents.
pub trait Probe {
    fn exists(&self, file: &str) -> bool;
    fn read(&self, file: &str) -> Option<String>;
}

/// An invalid value in `linux.resources`.
pub fn invalid(field: &str, why: impl std::fmt::Display) -> Error {
    Error::InvalidConfig(format!("linux.resources.{field}: {why}"))
}

/// A field this cgroup version has no file for.
pub fn unsupported(field: &str, version: &str, why: &str) -> Error {
    Error::InvalidConfig(format!(
        "linux.resources.{field}: invalid configuration: not supported on cgroup {version}: {why}"
    ))
}

/// A limit in bytes or a count: -1 means unlimited (`unlimited`), other
/// negative values are errors.
pub fn limit(field: &str, v: i64, unlimited: &str) -> Result<String> {
    match v {
        -1 => Ok(unlimited.to_string()),
        v if v < 0 => Err(invalid(
            field,
            format!("{v} is negative (use -1 for no limit)"),
        )),
        v => Ok(v.to_string()),
    }
}

#[cfg(test)]
pub mod fake {
    use std::collections::HashMap;

    /// A cgroup directory in memory: file → contents.
    #[derive(Default)]
    pub struct FakeCgroup(pub HashMap<String, String>);

    impl FakeCgroup {
        pub fn with(files: &[(&str, &str)]) -> FakeCgroup {
            FakeCgroup(
                files
                    .iter()
                    .map(|(f, v)| (f.to_string(), v.to_string()))
                    .collect(),
            )
        }
    }

    impl super::Probe for FakeCgroup {
        fn exists(&self, file: &str) -> bool {
            self.0.contains_key(file)
        }
        fn read(&self, file: &str) -> Option<String> {
            self.0.get(file).cloned()
        }
    }
}
