//! The generated device filter, run in the test interpreter: its answers
//! for chosen devices and accesses under several rule lists, and the same
//! answers as the v1 reading of the list (device_rules::allows) over a
//! grid of devices.

use super::bpf_interp::{check_structure, run, Ctx};
use super::device_filter::program;
use super::device_rules::{
    allows, with_defaults, Kind, Rule, ALL_ACCESS, DEFAULT_ALLOWED, MKNOD, READ, WRITE,
};
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType};

/// A rule from its v1 spelling: "a", "c 1:3 rw", "b 8:* m", "c *:* rwm".
fn rule(allow: bool, spec: &str) -> LinuxDeviceCgroup {
    let mut b = LinuxDeviceCgroupBuilder::default().allow(allow);
    let parts: Vec<&str> = spec.split(' ').collect();
    match parts[0] {
        "a" => return b.access("rwm").build().unwrap(),
        "c" => b = b.typ(LinuxDeviceType::C),
        "u" => b = b.typ(LinuxDeviceType::U),
        "b" => b = b.typ(LinuxDeviceType::B),
        t => panic!("type {t}"),
    }
    let (major, minor) = parts[1].split_once(':').unwrap();
    if major != "*" {
        b = b.major(major.parse::<i64>().unwrap());
    }
    if minor != "*" {
        b = b.minor(minor.parse::<i64>().unwrap());
    }
    b.access(parts[2]).build().unwrap()
}
fn allow(spec: &str) -> LinuxDeviceCgroup {
    rule(true, spec)
}
fn deny(spec: &str) -> LinuxDeviceCgroup {
    rule(false, spec)
}

/// The configured rules alone (no defaults).
fn only(rules: &[LinuxDeviceCgroup]) -> Vec<Rule> {
    rules
        .iter()
        .enumerate()
        .map(|(i, r)| Rule::from_oci(r, i).unwrap())
        .collect()
}

fn access_bits(access: &str) -> u8 {
    access
        .chars()
        .map(|c| match c {
            'r' => READ,
            'w' => WRITE,
            'm' => MKNOD,
            _ => panic!("access {c}"),
        })
        .fold(0, |a, b| a | b)
}

/// What the filter answers for `dev` ("c 1:3") and `access` ("rw").
fn filter_allows(rules: &[Rule], dev: &str, access: &str) -> bool {
    let prog = program(rules);
    check_structure(&prog);
    let (typ, nums) = dev.split_once(' ').unwrap();
    let (major, minor) = nums.split_once(':').unwrap();
    let typ = match typ {
        "c" => 2,
        "b" => 1,
        t => panic!("type {t}"),
    };
    let ctx = Ctx {
        access_type: (u32::from(access_bits(access)) << 16) | typ,
        major: major.parse().unwrap(),
        minor: minor.parse().unwrap(),
    };
    match run(&prog, &ctx) {
        0 => false,
        1 => true,
        r => panic!("the filter returned {r}"),
    }
}

/// Assert each (device, access, allowed?) of `cases`.
fn expect(rules: &[Rule], cases: &[(&str, &str, bool)]) {
    for &(dev, access, want) in cases {
        assert_eq!(
            filter_allows(rules, dev, access),
            want,
            "{dev} {access} under {rules:?}"
        );
    }
}

#[test]
fn berth_spec_default_deny_plus_defaults() {
    let rules = with_defaults(&[deny("a")]).unwrap();
    expect(
        &rules,
        &[
            ("c 1:3", "rw", true),   // null
            ("c 1:3", "m", true),    // mknod of null
            ("c 1:5", "r", true),    // zero
            ("c 1:7", "w", true),    // full
            ("c 1:9", "r", true),    // urandom
            ("c 5:0", "rw", true),   // tty
            ("c 5:2", "rw", true),   // ptmx
            ("c 136:0", "rw", true), // pts/0
            ("c 136:77", "rwm", true),
            ("c 10:200", "rw", true),  // tun
            ("c 1:11", "r", false),    // kmsg
            ("c 1:1", "r", false),     // mem
            ("c 10:229", "rw", false), // fuse
            ("c 137:0", "r", false),
            ("b 1:3", "r", false), // type matters
            ("b 8:0", "rw", false),
            ("b 8:0", "m", false),
        ],
    );
}

#[test]
fn no_rules_at_all_is_defaults_only() {
    let rules = with_defaults(&[]).unwrap();
    expect(
        &rules,
        &[
            ("c 1:3", "rw", true),
            ("c 1:11", "r", false),
            ("b 7:0", "r", false),
        ],
    );
}

#[test]
fn explicit_deny_of_dev_null() {
    // Alone, a deny of /dev/null after allow-all refuses just that device.
    let rules = only(&[allow("a"), deny("c 1:3 rwm")]);
    expect(
        &rules,
        &[
            ("c 1:3", "r", false),
            ("c 1:3", "w", false),
            ("c 1:3", "m", false),
            ("c 1:5", "rw", true),
            ("b 1:3", "r", true),
        ],
    );
    // A narrower deny after a wider allow wins for what it names.
    let rules = only(&[deny("a"), allow("c 1:* rwm"), deny("c 1:3 w")]);
    expect(
        &rules,
        &[
            ("c 1:3", "r", true),
            ("c 1:3", "w", false),
            ("c 1:3", "rw", false),
            ("c 1:3", "m", true),
            ("c 1:5", "w", true),
        ],
    );
    // berth's defaults come after the configured rules (as on v1): they
    // give /dev/null back.
    let rules = with_defaults(&[deny("a"), deny("c 1:3 rwm")]).unwrap();
    expect(&rules, &[("c 1:3", "rw", true)]);
}

#[test]
fn wildcards() {
    let rules = only(&[
        deny("a"),
        allow("c *:* m"),
        allow("b 8:* r"),
        allow("c *:7 w"),
    ]);
    expect(
        &rules,
        &[
            ("c 1:11", "m", true), // any char device may be made
            ("c 300:9", "m", true),
            ("c 1:11", "r", false), // but not opened
            ("b 8:0", "m", false),  // block: no mknod rule
            ("b 8:0", "r", true),
            ("b 8:17", "r", true),
            ("b 8:17", "w", false),
            ("b 9:0", "r", false),
            ("c 8:0", "r", false), // the b rule is not a c rule
            ("c 1:7", "w", true),  // any major, minor 7
            ("c 4:7", "w", true),
            ("c 4:7", "rw", false),
            ("c 4:8", "w", false),
        ],
    );
    // `u` is a char device rule.
    expect(
        &only(&[deny("a"), allow("u 4:* rw")]),
        &[("c 4:1", "rw", true), ("b 4:1", "r", false)],
    );
}

#[test]
fn ending_in_allow_all_allows_everything() {
    let rules =
        with_defaults(&[deny("a"), deny("c 1:3 rwm"), allow("c 1:11 r"), allow("a")]).unwrap();
    for dev in [
        "c 1:3",
        "c 1:11",
        "c 10:229",
        "b 8:0",
        "b 4095:1048575",
        "c 0:0",
    ] {
        for access in ["r", "w", "m", "rw", "rwm"] {
            assert!(filter_allows(&rules, dev, access), "{dev} {access}");
        }
    }
    // Only the defaults' blocks would follow: the rest is cut.
    assert_eq!(
        program(&rules).len(),
        program(&with_defaults(&[allow("a")]).unwrap()).len()
    );
}

#[test]
fn ending_in_deny_all_denies_all_but_defaults() {
    let rules = with_defaults(&[allow("a"), allow("b 8:0 rwm"), deny("a")]).unwrap();
    expect(
        &rules,
        &[
            ("b 8:0", "r", false),
            ("c 1:11", "r", false),
            ("c 1:3", "rw", true),
        ],
    );
    // Denies after allow-all punch holes.
    let rules = only(&[allow("a"), deny("b *:* rwm"), deny("c 1:1 rw")]);
    expect(
        &rules,
        &[
            ("b 8:0", "r", false),
            ("c 1:1", "r", false),
            ("c 1:1", "m", true),
            ("c 1:2", "rw", true),
        ],
    );
}

#[test]
fn access_subsets() {
    let rules = only(&[deny("a"), allow("c 1:11 r")]);
    expect(
        &rules,
        &[
            ("c 1:11", "r", true),
            ("c 1:11", "w", false),
            ("c 1:11", "rw", false),
            ("c 1:11", "m", false),
        ],
    );
    // Access granted by separate rules adds up (read-write open).
    let rules = only(&[deny("a"), allow("c 1:11 r"), allow("c 1:11 w")]);
    expect(&rules, &[("c 1:11", "rw", true), ("c 1:11", "rwm", false)]);
    // A later deny takes back only what it names.
    let rules = only(&[deny("a"), allow("c 1:11 rwm"), deny("c 1:11 r")]);
    expect(
        &rules,
        &[
            ("c 1:11", "w", true),
            ("c 1:11", "m", true),
            ("c 1:11", "r", false),
            ("c 1:11", "rw", false),
        ],
    );
    // An earlier deny is overridden by a later allow of the same access.
    let rules = only(&[deny("a"), deny("c 1:11 w"), allow("c 1:* rw")]);
    expect(&rules, &[("c 1:11", "rw", true)]);
}

#[test]
fn mknod_only() {
    let rules = with_defaults(&[deny("a"), allow("c 1:11 m")]).unwrap();
    expect(
        &rules,
        &[
            ("c 1:11", "m", true),
            ("c 1:11", "r", false),
            ("c 1:11", "w", false),
        ],
    );
}

#[test]
fn impossible_numbers_and_empty_access_change_nothing() {
    let base = only(&[deny("a"), allow("c 1:3 rw")]);
    for extra in [
        allow("c 4096:* rwm"),
        deny("c 1:1048576 rwm"),
        allow("c 1:3 "),
    ] {
        let mut rules = base.clone();
        rules.extend(only(&[extra]));
        assert_eq!(program(&rules), program(&base), "{rules:?}");
    }
    // The largest real numbers still match.
    let rules = only(&[deny("a"), allow("c 4095:1048575 r")]);
    expect(
        &rules,
        &[
            ("c 4095:1048575", "r", true),
            ("c 4095:1048574", "r", false),
        ],
    );
}

#[test]
fn same_answers_as_the_v1_reading() {
    let lists: Vec<Vec<Rule>> = vec![
        with_defaults(&[deny("a")]).unwrap(),
        with_defaults(&[]).unwrap(),
        only(&[allow("a"), deny("c 1:3 rwm")]),
        only(&[
            deny("a"),
            allow("c 1:* rwm"),
            deny("c 1:3 w"),
            allow("c *:3 r"),
        ]),
        only(&[
            deny("a"),
            allow("c *:* m"),
            allow("b *:* m"),
            allow("b 8:* rw"),
            deny("b 8:1 r"),
        ]),
        only(&[
            allow("a"),
            deny("b *:* w"),
            allow("b 8:0 w"),
            deny("c 5:* rwm"),
            allow("c 5:1 m"),
        ]),
        with_defaults(&[
            deny("a"),
            deny("c 136:* rwm"),
            allow("c 1:11 r"),
            allow("c 1:11 w"),
        ])
        .unwrap(),
        with_defaults(&[allow("a"), deny("a"), allow("c 1:11 rw")]).unwrap(),
        only(&[deny("c 1:3 r")]),
        only(&[]),
    ];
    let devs: Vec<(Kind, u32, u32)> = [Kind::Char, Kind::Block]
        .into_iter()
        .flat_map(|k| {
            [
                (1, 1),
                (1, 3),
                (1, 5),
                (1, 11),
                (5, 0),
                (5, 1),
                (8, 0),
                (8, 1),
                (10, 200),
                (136, 4),
                (7, 3),
            ]
            .map(move |(a, b)| (k, a, b))
        })
        .collect();
    let mut checked = 0;
    for rules in &lists {
        let prog = program(rules);
        check_structure(&prog);
        for &(kind, major, minor) in &devs {
            for access in 1..=ALL_ACCESS {
                let typ = if kind == Kind::Char { 2 } else { 1 };
                let ctx = Ctx {
                    access_type: (u32::from(access) << 16) | typ,
                    major,
                    minor,
                };
                let got = run(&prog, &ctx) == 1;
                let want = allows(rules, kind, major, minor, access);
                assert_eq!(
                    got, want,
                    "{kind:?} {major}:{minor} access {access:#b} under {rules:?}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, lists.len() * 22 * 7);
}

#[test]
fn program_shape() {
    // Prologue, one block per rule (the defaults only here), epilogue.
    let prog = program(&with_defaults(&[deny("a")]).unwrap());
    check_structure(&prog);
    assert!(
        prog.len() > 6 + 2 + 4 * DEFAULT_ALLOWED.len(),
        "{} insns",
        prog.len()
    );
    assert!(
        prog.len() < 6 + 2 + 9 * DEFAULT_ALLOWED.len(),
        "{} insns",
        prog.len()
    );
}
