//! Device cgroup rules (`linux.resources.devices`) in one typed form,
//! shared by the cgroup v1 devices controller (as `devices.allow` and
//! `devices.deny` lines) and the cgroup v2 eBPF filter (device_filter.rs).
//!
//! Meaning: the list starts from deny-all; for each kind of access the
//! last rule that matches the device and names that access decides. A rule
//! of type `a` (or no type) stands for every device and every access
//! whatever else it says (the v1 kernel reads only its first character),
//! so it resets the list to allow-all or deny-all.
//!
//! One corner where the v1 controller differs: there a rule that goes
//! against the list's default (a deny on deny-all, an allow on allow-all)
//! only takes access away from an earlier rule for exactly the same
//! device, so `allow c 1:* rwm` then `deny c 1:3 w` leaves 1:3 writable.
//! The v2 filter does what the list says and refuses it.

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use crate::error::{Error, Result};

/// Access bits, numbered as the kernel's BPF device context numbers them
/// (`BPF_DEVCG_ACC_*`), so the filter can use them as they are.
pub const MKNOD: u8 = 1;
pub const READ: u8 = 2;
pub const WRITE: u8 = 4;
pub const ALL_ACCESS: u8 = MKNOD | READ | WRITE;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `a`: every device.
    All,
    /// `c` (and `u`, an unbuffered char device).
    Char,
    /// `b`.
    Block,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub allow: bool,
    pub kind: Kind,
    /// None: any major (`*`).
    pub major: Option<u32>,
    /// None: any minor (`*`).
    pub minor: Option<u32>,
    /// MKNOD | READ | WRITE bits.
    pub access: u8,
}

const fn allow_char(major: u32, minor: Option<u32>) -> Rule {
    Rule {
        allow: true,
        kind: Kind::Char,
        major: Some(major),
        minor,
        access: ALL_ACCESS,
    }
}

/// The devices every container gets, after the configured rules.
pub const DEFAULT_ALLOWED: &[Rule] = &[
    allow_char(1, Some(3)),    // null
    allow_char(1, Some(5)),    // zero
    allow_char(1, Some(7)),    // full
    allow_char(1, Some(8)),    // random
    allow_char(1, Some(9)),    // urandom
    allow_char(5, Some(0)),    // tty
    allow_char(5, Some(1)),    // console
    allow_char(5, Some(2)),    // ptmx
    allow_char(136, None),     // pts
    allow_char(10, Some(200)), // net/tun
];

impl Rule {
    /// One entry of `linux.resources.devices` (`index` for the errors).
    pub fn from_oci(r: &LinuxDeviceCgroup, index: usize) -> Result<Rule> {
        let field = |name: &str| format!("config.json: linux.resources.devices[{index}].{name}");
        let kind = match r.typ() {
            None | Some(LinuxDeviceType::A) => Kind::All,
            Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => Kind::Char,
            Some(LinuxDeviceType::B) => Kind::Block,
            Some(LinuxDeviceType::P) => {
                return Err(Error::InvalidConfig(format!(
                    "{}: \"p\" (a fifo) is not a device cgroup type: use a, b or c",
                    field("type")
                )))
            }
        };
        let number = |v: Option<i64>, name: &str| -> Result<Option<u32>> {
            v.map(|n| {
                u32::try_from(n).map_err(|_| {
                    Error::InvalidConfig(format!(
                        "{}: {n} is not a device number (0 to 4294967295; leave it out for any)",
                        field(name)
                    ))
                })
            })
            .transpose()
        };
        let (major, minor) = (number(r.major(), "major")?, number(r.minor(), "minor")?);
        let access = match r.access() {
            None => ALL_ACCESS,
            Some(s) => parse_access(s).ok_or_else(|| {
                Error::InvalidConfig(format!(
                    "{}: {s:?} must be made of r, w and m",
                    field("access")
                ))
            })?,
        };
        Ok(match kind {
            // The kernel ignores the rest of an `a` rule.
            Kind::All => Rule {
                allow: r.allow(),
                kind,
                major: None,
                minor: None,
                access: ALL_ACCESS,
            },
            _ => Rule {
                allow: r.allow(),
                kind,
                major,
                minor,
                access,
            },
        })
    }

    /// The line for the v1 `devices.allow`/`devices.deny` file.
    pub fn v1_line(&self) -> String {
        let typ = match self.kind {
            Kind::All => return "a".into(),
            Kind::Char => "c",
            Kind::Block => "b",
        };
        let num = |n: Option<u32>| n.map_or("*".to_string(), |n| n.to_string());
        let access: String = [(READ, 'r'), (WRITE, 'w'), (MKNOD, 'm')]
            .iter()
            .filter(|(bit, _)| self.access & bit != 0)
            .map(|(_, c)| c)
            .collect();
        format!("{typ} {}:{} {access}", num(self.major), num(self.minor))
    }

    /// `devices.allow` or `devices.deny`.
    pub fn v1_file(&self) -> &'static str {
        if self.allow {
            "devices.allow"
        } else {
            "devices.deny"
        }
    }
}

fn parse_access(s: &str) -> Option<u8> {
    s.chars().try_fold(0, |acc, c| match c {
        'r' => Some(acc | READ),
        'w' => Some(acc | WRITE),
        'm' => Some(acc | MKNOD),
        _ => None,
    })
}

/// The configured rules, then `DEFAULT_ALLOWED`: what a container's
/// devices cgroup gets, on top of deny-all.
pub fn with_defaults(rules: &[LinuxDeviceCgroup]) -> Result<Vec<Rule>> {
    let mut out = rules
        .iter()
        .enumerate()
        .map(|(i, r)| Rule::from_oci(r, i))
        .collect::<Result<Vec<_>>>()?;
    out.extend_from_slice(DEFAULT_ALLOWED);
    Ok(out)
}

/// The reference meaning of a rule list (see the top of this file),
/// written front to back, per access bit, for checking the BPF filter
/// against.
#[cfg(test)]
pub fn allows(rules: &[Rule], kind: Kind, major: u32, minor: u32, access: u8) -> bool {
    let mut allowed = 0u8;
    for r in rules {
        let matches = r.kind == Kind::All
            || (r.kind == kind
                && r.major.is_none_or(|m| m == major)
                && r.minor.is_none_or(|m| m == minor));
        if matches {
            if r.allow {
                allowed |= r.access;
            } else {
                allowed &= !r.access;
            }
        }
    }
    access & !allowed == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxDeviceCgroupBuilder;

    fn oci(
        allow: bool,
        typ: Option<LinuxDeviceType>,
        major: Option<i64>,
        access: &str,
    ) -> LinuxDeviceCgroup {
        let mut b = LinuxDeviceCgroupBuilder::default()
            .allow(allow)
            .access(access);
        if let Some(t) = typ {
            b = b.typ(t);
        }
        if let Some(m) = major {
            b = b.major(m);
        }
        b.build().unwrap()
    }

    #[test]
    fn v1_lines() {
        let all = Rule::from_oci(&oci(false, None, None, "rwm"), 0).unwrap();
        assert_eq!(
            (all.v1_file(), all.v1_line().as_str()),
            ("devices.deny", "a")
        );
        // `a` with numbers and a partial access is still every device.
        let all = Rule::from_oci(&oci(true, Some(LinuxDeviceType::A), Some(1), "r"), 0).unwrap();
        assert_eq!(all.v1_line(), "a");
        assert_eq!(all.access, ALL_ACCESS);
        let one = Rule::from_oci(&oci(true, Some(LinuxDeviceType::C), Some(1), "wr"), 0).unwrap();
        assert_eq!(
            (one.v1_file(), one.v1_line().as_str()),
            ("devices.allow", "c 1:* rw")
        );
        let u = Rule::from_oci(&oci(true, Some(LinuxDeviceType::U), Some(4), "m"), 0).unwrap();
        assert_eq!(u.v1_line(), "c 4:* m");
        let b = Rule::from_oci(&oci(false, Some(LinuxDeviceType::B), None, ""), 0).unwrap();
        assert_eq!(b.v1_line(), "b *:* ");
    }

    #[test]
    fn defaults_as_v1_lines() {
        let lines: Vec<String> = DEFAULT_ALLOWED.iter().map(Rule::v1_line).collect();
        assert_eq!(
            lines,
            [
                "c 1:3 rwm",
                "c 1:5 rwm",
                "c 1:7 rwm",
                "c 1:8 rwm",
                "c 1:9 rwm",
                "c 5:0 rwm",
                "c 5:1 rwm",
                "c 5:2 rwm",
                "c 136:* rwm",
                "c 10:200 rwm"
            ]
        );
        assert!(DEFAULT_ALLOWED.iter().all(|r| r.allow));
    }

    #[test]
    fn access_defaults_to_rwm() {
        let r = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .typ(LinuxDeviceType::B)
            .major(8)
            .minor(0)
            .build()
            .unwrap();
        assert_eq!(Rule::from_oci(&r, 0).unwrap().v1_line(), "b 8:0 rwm");
    }

    #[test]
    fn bad_rules_name_the_field() {
        let e = Rule::from_oci(&oci(true, Some(LinuxDeviceType::C), None, "rx"), 2).unwrap_err();
        assert!(
            e.to_string().contains("linux.resources.devices[2].access"),
            "{e}"
        );
        let e = Rule::from_oci(&oci(true, Some(LinuxDeviceType::P), None, "r"), 0).unwrap_err();
        assert!(
            e.to_string().contains("linux.resources.devices[0].type"),
            "{e}"
        );
        let e = Rule::from_oci(&oci(true, Some(LinuxDeviceType::C), Some(-1), "r"), 1).unwrap_err();
        assert!(
            e.to_string().contains("linux.resources.devices[1].major"),
            "{e}"
        );
    }

    #[test]
    fn defaults_come_last() {
        let rules = with_defaults(&[oci(false, None, None, "rwm")]).unwrap();
        assert_eq!(rules.len(), 1 + DEFAULT_ALLOWED.len());
        assert_eq!(rules[0].kind, Kind::All);
        assert_eq!(&rules[1..], DEFAULT_ALLOWED);
    }
}
