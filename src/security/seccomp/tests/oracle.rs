//! seccompiler (rust-vmm's BPF compiler, written independently of berth)
//! as an oracle for bpf.rs. It compiles one match action per filter, for
//! one architecture, without NOTIFY (see the README), so it cannot build
//! berth's filters; but for the profiles it can express (native
//! architecture, one action for every rule, a default) both compilers must
//! agree. Random such profiles are compiled by both and run on the test
//! interpreter: the binary search over syscall numbers, the rule chains,
//! the 64-bit argument comparisons and the long-jump trampolines are
//! checked against a second implementation.
//!
//! Where the two differ by design the comparison leaves it out: berth
//! answers ENOSYS above the highest syscall a profile names (as runc
//! does; checked here instead), and MASKED_EQ values stay inside their
//! mask (seccompiler masks the expected value too; the OCI/libseccomp
//! meaning does not).

use super::*;
use seccompiler::{
    SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
    TargetArch,
};
use serde_json::json;
use std::collections::BTreeMap;

fn target() -> TargetArch {
    match native().arch {
        Arch::ScmpArchX86_64 => TargetArch::x86_64,
        Arch::ScmpArchAarch64 => TargetArch::aarch64,
        a => panic!("no seccompiler target for {a}"),
    }
}

/// An action in both vocabularies.
#[derive(Clone, Copy)]
enum Act {
    Allow,
    Errno(u32),
    KillProcess,
    Trap,
    Log,
}

impl Act {
    fn oci(self) -> (&'static str, Option<u32>) {
        match self {
            Act::Allow => ("SCMP_ACT_ALLOW", None),
            Act::Errno(e) => ("SCMP_ACT_ERRNO", Some(e)),
            Act::KillProcess => ("SCMP_ACT_KILL_PROCESS", None),
            Act::Trap => ("SCMP_ACT_TRAP", None),
            Act::Log => ("SCMP_ACT_LOG", None),
        }
    }

    fn seccompiler(self) -> SeccompAction {
        match self {
            Act::Allow => SeccompAction::Allow,
            Act::Errno(e) => SeccompAction::Errno(e),
            Act::KillProcess => SeccompAction::KillProcess,
            Act::Trap => SeccompAction::Trap,
            Act::Log => SeccompAction::Log,
        }
    }
}

/// One condition: OCI operator, value, valueTwo (MASKED_EQ's expected
/// value; `value` is then the mask).
type Cnd = (Op, u64, u64, usize);

fn to_seccompiler(c: &Cnd) -> SeccompCondition {
    let (op, v, v2, index) = *c;
    let (op, value) = match op {
        Op::ScmpCmpEq => (SeccompCmpOp::Eq, v),
        Op::ScmpCmpNe => (SeccompCmpOp::Ne, v),
        Op::ScmpCmpLt => (SeccompCmpOp::Lt, v),
        Op::ScmpCmpLe => (SeccompCmpOp::Le, v),
        Op::ScmpCmpGt => (SeccompCmpOp::Gt, v),
        Op::ScmpCmpGe => (SeccompCmpOp::Ge, v),
        Op::ScmpCmpMaskedEq => (SeccompCmpOp::MaskedEq(v), v2),
    };
    SeccompCondition::new(index as u8, SeccompCmpArgLen::Qword, op, value).unwrap()
}

fn to_libc(p: &[seccompiler::sock_filter]) -> Vec<libc::sock_filter> {
    p.iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect()
}

const OPS: [Op; 7] = [
    Op::ScmpCmpEq,
    Op::ScmpCmpNe,
    Op::ScmpCmpLt,
    Op::ScmpCmpLe,
    Op::ScmpCmpGt,
    Op::ScmpCmpGe,
    Op::ScmpCmpMaskedEq,
];

#[test]
fn bpf_agrees_with_seccompiler() {
    let pairs = [
        (Act::Errno(libc::EPERM as u32), Act::Allow),
        (Act::Allow, Act::Errno(13)),
        (Act::Allow, Act::KillProcess),
        (Act::Log, Act::Trap),
        (Act::KillProcess, Act::Allow),
    ];
    let table = native().table;
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut compared = 0;
    for case in 0..60 {
        let (default, matched) = pairs[case % pairs.len()];
        // Up to 120 syscalls: long programs need trampolines (seccompiler's
        // linear programs reach the 4096-instruction limit soon after).
        let count = 1 + (rng.next() % if case % 10 == 0 { 120 } else { 40 }) as usize;
        let mut chosen: BTreeMap<u32, (&str, Vec<Vec<Cnd>>)> = BTreeMap::new();
        for _ in 0..count {
            let (name, nr) = table[(rng.next() % table.len() as u64) as usize];
            let mut rules = Vec::new();
            if rng.next() % 4 != 0 {
                for _ in 0..1 + rng.next() % 3 {
                    // Distinct arguments within a rule (runc splits two
                    // conditions on one argument into ORed rules).
                    let mut conds = Vec::new();
                    let mut index = (rng.next() % 6) as usize;
                    for _ in 0..1 + rng.next() % 3 {
                        let op = OPS[(rng.next() % 7) as usize];
                        let v = rng.near(0x1_0000_0005);
                        let v2 = if op == Op::ScmpCmpMaskedEq {
                            v & rng.next()
                        } else {
                            0
                        };
                        conds.push((op, v, v2, index));
                        index = (index + 1 + (rng.next() % 2) as usize) % 6;
                        if conds.iter().any(|c| c.3 == index) {
                            break;
                        }
                    }
                    rules.push(conds);
                }
            }
            chosen.insert(nr, (name, rules));
        }

        // berth: one entry per rule, all with the same action.
        let (dname, derrno) = default.oci();
        let (mname, merrno) = matched.oci();
        let mut entries = Vec::new();
        for (name, rules) in chosen.values() {
            let mut base = json!({"names": [name], "action": mname});
            if let Some(e) = merrno {
                base["errnoRet"] = json!(e);
            }
            if rules.is_empty() {
                entries.push(base.clone());
            }
            for r in rules {
                let mut e = base.clone();
                e["args"] = r
                    .iter()
                    .map(|&(op, v, v2, index)| {
                        json!({"index": index, "value": v, "valueTwo": v2, "op": op})
                    })
                    .collect();
                entries.push(e);
            }
        }
        let mut cfg = json!({"defaultAction": dname, "syscalls": entries});
        if let Some(e) = derrno {
            cfg["defaultErrnoRet"] = json!(e);
        }
        let berth = compile(&profile(cfg)).unwrap();
        check_program(&berth.program);

        // seccompiler: the same rules.
        let map = chosen
            .iter()
            .map(|(&nr, (_, rules))| {
                let rules = rules
                    .iter()
                    .map(|r| SeccompRule::new(r.iter().map(to_seccompiler).collect()).unwrap())
                    .collect();
                (nr as i64, rules)
            })
            .collect();
        let other = SeccompFilter::new(map, default.seccompiler(), matched.seccompiler(), target())
            .unwrap();
        let other: seccompiler::BpfProgram = other.try_into().unwrap();
        let other = to_libc(&other);

        let highest = *chosen.keys().last().unwrap();
        let audit = native().audit;
        for _ in 0..400 {
            // Mostly the chosen syscalls, with arguments near their values.
            let pick = rng.next() % 4;
            let nr = if pick == 0 {
                table[(rng.next() % table.len() as u64) as usize].1
            } else {
                *chosen
                    .keys()
                    .nth((rng.next() % chosen.len() as u64) as usize)
                    .unwrap()
            };
            let mut args = [0u64; 6];
            for a in args.iter_mut() {
                *a = rng.next();
            }
            if let Some((_, rules)) = chosen.get(&nr) {
                for c in rules.iter().flatten() {
                    if rng.next() % 2 == 0 {
                        let around = if rng.next() % 2 == 0 { c.1 } else { c.2 };
                        args[c.3] = rng.near(around);
                    }
                }
            }
            let got = run_bpf(&berth.program, audit, nr, args);
            if nr > highest {
                // berth's ENOSYS stub (runc's), unless the default allows.
                let want = match default {
                    Act::Allow | Act::Log => run_bpf(&other, audit, nr, args),
                    _ => RET_ENOSYS,
                };
                assert_eq!(got, want, "case {case}: nr {nr} above {highest}");
                continue;
            }
            let want = run_bpf(&other, audit, nr, args);
            assert_eq!(
                got,
                want,
                "case {case}: nr {nr} args {args:#x?}: rules {:?}",
                chosen.get(&nr).map(|r| &r.1)
            );
            compared += 1;
        }
        // Another architecture: both kill the process.
        assert_eq!(
            run_bpf(&berth.program, 0x1234, 0, [0; 6]),
            run_bpf(&other, 0x1234, 0, [0; 6])
        );
    }
    assert!(compared > 10_000, "{compared}");
}
