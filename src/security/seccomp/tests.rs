//! Tests of the compiler and installer: profiles to BPF, checked
//! instruction by instruction with an interpreter, and against the kernel.
use super::*;
use serde_json::{json, Value};

fn profile(v: Value) -> LinuxSeccomp {
    serde_json::from_value(v).expect("a valid LinuxSeccomp")
}

fn err(v: Value) -> String {
    match compile(&profile(v)) {
        Ok(f) => panic!("expected an error, compiled {f:?}"),
        Err(e) => e.to_string(),
    }
}

fn native() -> &'static Abi {
    abi(HOST.expect("tests run on x86_64 or aarch64").0)
}

fn nr(abi: &Abi, name: &str) -> u32 {
    abi.lookup(name)
        .unwrap_or_else(|| panic!("{name} on {}", abi.name))
}

const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
fn errno(e: i32) -> u32 {
    libc::SECCOMP_RET_ERRNO | e as u32
}

// -- A classic BPF interpreter, to check programs without the kernel.

fn check_program(p: &[libc::sock_filter]) {
    assert!(!p.is_empty() && p.len() <= 4096);
    assert_eq!(p.last().unwrap().code, RET_K, "ends in ret");
    for (i, insn) in p.iter().enumerate() {
        match insn.code {
            JA => assert!(i + 1 + (insn.k as usize) < p.len(), "ja at {i}"),
            JEQ | JGT | JGE | JSET => {
                assert!(i + 1 + (insn.jt as usize) < p.len(), "jt at {i}");
                assert!(i + 1 + (insn.jf as usize) < p.len(), "jf at {i}");
            }
            LD_ABS => assert!(insn.k % 4 == 0 && insn.k < 64, "ld at {i}"),
            AND_K | RET_K => {}
            c => panic!("unexpected opcode {c:#x} at {i}"),
        }
    }
}

fn run_bpf(p: &[libc::sock_filter], audit: u32, nr: u32, args: [u64; 6]) -> u32 {
    let mut data = Vec::with_capacity(64);
    data.extend_from_slice(&nr.to_ne_bytes());
    data.extend_from_slice(&audit.to_ne_bytes());
    data.extend_from_slice(&0u64.to_ne_bytes());
    for a in args {
        data.extend_from_slice(&a.to_ne_bytes());
    }
    let (mut a, mut pc) = (0u32, 0usize);
    loop {
        let i = p[pc];
        pc += 1;
        let k = i.k;
        let skip = |cond: bool| if cond { i.jt } else { i.jf } as usize;
        match i.code {
            LD_ABS => a = u32::from_ne_bytes(data[k as usize..k as usize + 4].try_into().unwrap()),
            AND_K => a &= k,
            JA => pc += k as usize,
            JEQ => pc += skip(a == k),
            JGT => pc += skip(a > k),
            JGE => pc += skip(a >= k),
            JSET => pc += skip(a & k != 0),
            RET_K => return k,
            c => panic!("opcode {c:#x}"),
        }
    }
}

fn eval(f: &Filter, abi: &Abi, name: &str, args: [u64; 6]) -> u32 {
    run_bpf(&f.program, abi.audit, nr(abi, name), args)
}

// -- Tables.

#[test]
fn tables_are_sorted_and_right() {
    for a in &ABIS {
        assert!(
            a.table.windows(2).all(|w| w[0].0 < w[1].0),
            "{} sorted",
            a.name
        );
    }
    let x86_64 = abi(Arch::ScmpArchX86_64);
    assert_eq!(x86_64.lookup("read"), Some(0));
    assert_eq!(x86_64.lookup("openat"), Some(257));
    assert_eq!(x86_64.lookup("clone3"), Some(435));
    assert_eq!(x86_64.lookup("fchmodat2"), Some(452));
    assert_eq!(x86_64.lookup("_llseek"), None);
    assert_eq!(abi(Arch::ScmpArchX32).lookup("read"), Some(X32_SYSCALL_BIT));
    assert_eq!(abi(Arch::ScmpArchX86).lookup("socketcall"), Some(102));
    assert_eq!(abi(Arch::ScmpArchAarch64).lookup("openat"), Some(56));
    assert_eq!(abi(Arch::ScmpArchAarch64).lookup("open"), None);
    #[cfg(target_arch = "x86_64")]
    assert_eq!(nr(native(), "getppid") as i64, libc::SYS_getppid);
    #[cfg(target_arch = "aarch64")]
    assert_eq!(nr(native(), "getppid") as i64, libc::SYS_getppid);
}

#[test]
fn features_lists() {
    assert!(archs().contains(&native().name.to_string()));
    let flags = supported_flags();
    // LOG (4.14), SPEC_ALLOW (4.17), TSYNC (3.17): every kernel berth
    // runs on; WAIT_KILLABLE_RECV from 5.19.
    for f in [
        "SECCOMP_FILTER_FLAG_TSYNC",
        "SECCOMP_FILTER_FLAG_LOG",
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    ] {
        assert!(flags.contains(&f), "{f}: {flags:?}");
    }
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let version: Vec<u32> = release
        .split(|c: char| !c.is_ascii_digit())
        .take(2)
        .map(|n| n.parse().unwrap_or(0))
        .collect();
    if version >= vec![5, 19] {
        assert!(flags.contains(&"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"));
    }
}

// -- Config errors.

#[test]
fn rejects_bad_configs_naming_the_field() {
    let e = err(json!({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1}));
    assert!(e.contains("linux.seccomp.defaultErrnoRet"), "{e}");
    let e = err(json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["getpid"], "action": "SCMP_ACT_KILL"},
        {"names": ["getppid"], "action": "SCMP_ACT_ALLOW", "errnoRet": 5}]}));
    assert!(
        e.contains("syscalls[1].errnoRet") && e.contains("SCMP_ACT_ALLOW"),
        "{e}"
    );
    let e = err(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 70000}]}));
    assert!(e.contains("syscalls[0].errnoRet"), "{e}");
    let e = err(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getpid"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                  {"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}));
    assert!(e.contains("syscalls[0].args[1].index"), "{e}");
    let e = err(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": [], "action": "SCMP_ACT_ERRNO"}]}));
    assert!(e.contains("syscalls[0].names"), "{e}");
    let e = err(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getpid", ""], "action": "SCMP_ACT_ERRNO"}]}));
    assert!(e.contains("syscalls[0].names"), "{e}");
    let e = err(json!({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/x"}));
    assert!(e.contains("defaultAction"), "{e}");
    let e = err(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/x", "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_NOTIFY"}]}),
    );
    assert!(
        e.contains("syscalls[0].action") && e.contains("write"),
        "{e}"
    );
    let e = err(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getpid"], "action": "SCMP_ACT_NOTIFY"}]}));
    assert!(e.contains("linux.seccomp.listenerPath"), "{e}");
}

#[test]
fn architectures_must_include_the_native_one() {
    let foreign = if native().arch == Arch::ScmpArchX86_64 {
        "SCMP_ARCH_AARCH64"
    } else {
        "SCMP_ARCH_X86_64"
    };
    let e = err(json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": [foreign]}));
    assert!(
        e.contains("linux.seccomp.architectures") && e.contains(native().name),
        "{e}"
    );
    // Native by name, SCMP_ARCH_NATIVE, or with foreign ones (ignored).
    for list in [
        json!([native().name]),
        json!(["SCMP_ARCH_NATIVE"]),
        json!([foreign, native().name]),
    ] {
        let f = compile(&profile(
            json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": list}),
        ));
        assert!(f.is_ok(), "{list}: {f:?}");
    }
}

#[test]
fn oci_spec_refuses_unknown_names_at_parse_time() {
    // berth never sees these: loading config.json fails first.
    for bad in [
        json!({"defaultAction": "SCMP_ACT_MAYBE"}),
        json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]}),
        json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_FAST"]}),
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpid"],
            "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_XOR"}]}]}),
    ] {
        assert!(
            serde_json::from_value::<LinuxSeccomp>(bad.clone()).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn unknown_syscalls_are_skipped() {
    let f = compile(&profile(
        json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["no_such_syscall", "getpid", "_llseek"], "action": "SCMP_ACT_ALLOW"}]}),
    ))
    .unwrap();
    assert_eq!(eval(&f, native(), "getpid", [0; 6]), ALLOW);
    // read is below getpid on every ABI, so no ENOSYS.
    assert_eq!(eval(&f, native(), "read", [0; 6]), errno(libc::EPERM));
}

#[test]
fn flags_map_to_seccomp_bits() {
    let f = compile(&profile(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": [
        "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}),
    ))
    .unwrap();
    // WAIT_KILLABLE_RECV only goes with a listener.
    assert_eq!(
        f.flags,
        libc::SECCOMP_FILTER_FLAG_LOG | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
    );
    assert!(!f.needs_listener());
    let f = compile(&profile(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/l",
        "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]}),
    ))
    .unwrap();
    assert!(f.needs_listener());
    assert_eq!(
        f.flags,
        libc::SECCOMP_FILTER_FLAG_TSYNC
            | libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH
            | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER
            | libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
    );
    assert_eq!(
        eval(&f, native(), "getppid", [0; 6]),
        libc::SECCOMP_RET_USER_NOTIF
    );
}

#[test]
fn actions_encode_like_the_kernel() {
    let cases = [
        ("SCMP_ACT_KILL", None, libc::SECCOMP_RET_KILL_THREAD),
        ("SCMP_ACT_KILL_THREAD", None, libc::SECCOMP_RET_KILL_THREAD),
        (
            "SCMP_ACT_KILL_PROCESS",
            None,
            libc::SECCOMP_RET_KILL_PROCESS,
        ),
        ("SCMP_ACT_TRAP", None, libc::SECCOMP_RET_TRAP),
        ("SCMP_ACT_ERRNO", None, errno(libc::EPERM)),
        ("SCMP_ACT_ERRNO", Some(38), errno(38)),
        ("SCMP_ACT_TRACE", None, libc::SECCOMP_RET_TRACE | 1),
        ("SCMP_ACT_TRACE", Some(7), libc::SECCOMP_RET_TRACE | 7),
        ("SCMP_ACT_LOG", None, libc::SECCOMP_RET_LOG),
    ];
    for (action, e, want) in cases {
        let mut rule = json!({"names": ["getppid"], "action": action});
        if let Some(e) = e {
            rule["errnoRet"] = json!(e);
        }
        let f = compile(&profile(
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [rule]}),
        ))
        .unwrap();
        assert_eq!(eval(&f, native(), "getppid", [0; 6]), want, "{action}");
        assert_eq!(eval(&f, native(), "getpid", [0; 6]), ALLOW, "{action}");
    }
    let f = compile(&profile(
        json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38}),
    ))
    .unwrap();
    assert_eq!(eval(&f, native(), "getpid", [0; 6]), errno(38));
}

// -- Program shape and rule semantics, on the interpreter.

#[test]
fn foreign_architectures_are_killed() {
    let f = compile(&profile(json!({"defaultAction": "SCMP_ACT_ALLOW"}))).unwrap();
    check_program(&f.program);
    assert_eq!(run_bpf(&f.program, native().audit, 0, [0; 6]), ALLOW);
    assert_eq!(
        run_bpf(&f.program, 0x1234, 0, [0; 6]),
        libc::SECCOMP_RET_KILL_PROCESS
    );
    if native().x32.is_some() {
        // x32 and i386 calls are not native unless listed.
        let x32_read = X32_SYSCALL_BIT;
        assert_eq!(
            run_bpf(&f.program, AUDIT_ARCH_X86_64, x32_read, [0; 6]),
            RET_BAD_ARCH
        );
        assert_eq!(
            run_bpf(&f.program, AUDIT_ARCH_I386, 20, [0; 6]),
            RET_BAD_ARCH
        );
        assert_eq!(
            run_bpf(&f.program, AUDIT_ARCH_X86_64, u32::MAX, [0; 6]),
            ALLOW
        );
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn compat_abis_use_their_own_numbers() {
    let f = compile(&profile(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 55},
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 0, "value": 0x1_0000_0008u64, "op": "SCMP_CMP_EQ"}]}]})))
    .unwrap();
    check_program(&f.program);
    let (x86_64, x86, x32) = (
        abi(Arch::ScmpArchX86_64),
        abi(Arch::ScmpArchX86),
        abi(Arch::ScmpArchX32),
    );
    for a in [x86_64, x86, x32] {
        assert_eq!(eval(&f, a, "getpid", [0; 6]), errno(55), "{}", a.name);
        assert_eq!(eval(&f, a, "getppid", [0; 6]), ALLOW, "{}", a.name);
    }
    // 32-bit ABIs compare the low halves only.
    assert_eq!(eval(&f, x86_64, "personality", [8, 0, 0, 0, 0, 0]), ALLOW);
    assert_eq!(
        eval(&f, x86_64, "personality", [0x1_0000_0008, 0, 0, 0, 0, 0]),
        errno(1)
    );
    assert_eq!(eval(&f, x86, "personality", [8, 0, 0, 0, 0, 0]), errno(1));
    assert_eq!(
        eval(&f, x32, "personality", [0xff_0000_0008, 0, 0, 0, 0, 0]),
        errno(1)
    );
    // i386 getpid (20) is not x86_64's 20 (writev).
    assert_eq!(run_bpf(&f.program, AUDIT_ARCH_X86_64, 20, [0; 6]), ALLOW);
}

#[test]
fn newer_syscalls_get_enosys_unless_the_default_allows() {
    let rules = json!([{"names": ["getpid", "io_uring_setup"], "action": "SCMP_ACT_ALLOW"}]);
    let f = compile(&profile(
        json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": rules}),
    ))
    .unwrap();
    let last = nr(native(), "io_uring_setup");
    let audit = native().audit;
    assert_eq!(run_bpf(&f.program, audit, last, [0; 6]), ALLOW);
    assert_eq!(
        run_bpf(&f.program, audit, last - 1, [0; 6]),
        errno(libc::EPERM)
    );
    assert_eq!(run_bpf(&f.program, audit, last + 1, [0; 6]), RET_ENOSYS);
    assert_eq!(run_bpf(&f.program, audit, 100_000, [0; 6]), RET_ENOSYS);
    // ERRNO(ENOSYS) default, ALLOW default: no stub.
    for d in [
        json!({"defaultAction": "SCMP_ACT_KILL"}),
        json!({"defaultAction": "SCMP_ACT_LOG"}),
    ] {
        let mut d = d;
        d["syscalls"] = rules.clone();
        let f = compile(&profile(d.clone())).unwrap();
        let want = if d["defaultAction"] == "SCMP_ACT_KILL" {
            RET_ENOSYS
        } else {
            libc::SECCOMP_RET_LOG
        };
        assert_eq!(run_bpf(&f.program, audit, last + 1, [0; 6]), want, "{d}");
    }
}

#[test]
fn rule_precedence_follows_runc() {
    let f = compile(&profile(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        // Same as the default: skipped, so it does not shadow what follows.
        {"names": ["getpid"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
        {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 11,
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
        {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 12,
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_GE"}]},
        // ANDed across arguments.
        {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                  {"index": 5, "value": 2, "op": "SCMP_CMP_EQ"}]},
        // ORed when on the same argument (runc).
        {"names": ["getuid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 14,
         "args": [{"index": 1, "value": 1, "op": "SCMP_CMP_EQ"},
                  {"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]},
        // An unconditional rule decides alone, wherever it is.
        {"names": ["getgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 15,
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
        {"names": ["getgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 16}]}),
    ))
    .unwrap();
    let n = native();
    let a = |x: u64, y: u64| [x, y, 0, 0, 0, y];
    assert_eq!(eval(&f, n, "getpid", a(1, 0)), errno(11));
    assert_eq!(eval(&f, n, "getpid", a(2, 0)), errno(12));
    assert_eq!(eval(&f, n, "getpid", a(0, 0)), ALLOW);
    assert_eq!(eval(&f, n, "getppid", a(1, 2)), errno(13));
    assert_eq!(eval(&f, n, "getppid", a(1, 3)), ALLOW);
    assert_eq!(eval(&f, n, "getppid", a(0, 2)), ALLOW);
    assert_eq!(eval(&f, n, "getuid", a(0, 1)), errno(14));
    assert_eq!(eval(&f, n, "getuid", a(0, 2)), errno(14));
    assert_eq!(eval(&f, n, "getuid", a(0, 3)), ALLOW);
    assert_eq!(eval(&f, n, "getgid", a(1, 0)), errno(16));
    assert_eq!(eval(&f, n, "getgid", a(0, 0)), errno(16));
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Values near the interesting edges of `v`, or anything.
    fn near(&mut self, v: u64) -> u64 {
        let r = self.next();
        match r % 8 {
            0 => v,
            1 => v.wrapping_add(1),
            2 => v.wrapping_sub(1),
            3 => v ^ (1 << ((r >> 8) % 64)),
            4 => (v & 0xffff_ffff_0000_0000) | (r >> 32),
            5 => (v & 0xffff_ffff) | (r << 32),
            6 => [0, 1, 0xffff_ffff, 1 << 32, u64::MAX][(r >> 8) as usize % 5],
            _ => r,
        }
    }
}

fn reference(op: Op, v: u64, v2: u64, arg: u64, bits32: bool) -> bool {
    let cut = |x: u64| if bits32 { x & 0xffff_ffff } else { x };
    let (v, v2, arg) = (cut(v), cut(v2), cut(arg));
    match op {
        Op::ScmpCmpEq => arg == v,
        Op::ScmpCmpNe => arg != v,
        Op::ScmpCmpLt => arg < v,
        Op::ScmpCmpLe => arg <= v,
        Op::ScmpCmpGt => arg > v,
        Op::ScmpCmpGe => arg >= v,
        Op::ScmpCmpMaskedEq => arg & v == v2,
    }
}

#[test]
fn argument_comparisons_match_a_64_bit_reference() {
    let ops = [
        Op::ScmpCmpEq,
        Op::ScmpCmpNe,
        Op::ScmpCmpLt,
        Op::ScmpCmpLe,
        Op::ScmpCmpGt,
        Op::ScmpCmpGe,
        Op::ScmpCmpMaskedEq,
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut abis = vec![native()];
    if native().arch == Arch::ScmpArchX86_64 {
        abis.push(abi(Arch::ScmpArchX86));
    }
    for op in ops {
        for _ in 0..40 {
            let v = rng.near(0x1_0000_0005);
            let v2 = if op == Op::ScmpCmpMaskedEq {
                v & rng.next()
            } else {
                0
            };
            let index = (rng.next() % 6) as usize;
            let f = compile(&profile(json!({"defaultAction": "SCMP_ACT_ALLOW",
                "architectures": abis.iter().map(|a| a.name).collect::<Vec<_>>(),
                "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77,
                    "args": [{"index": index, "value": v, "valueTwo": v2, "op": op}]}]})))
            .unwrap();
            check_program(&f.program);
            for _ in 0..50 {
                let mut args = [rng.next(); 6];
                let base = if rng.next() % 2 == 0 { v } else { v2 };
                args[index] = rng.near(base);
                for a in &abis {
                    let want = reference(op, v, v2, args[index], a.bits32);
                    let got = eval(&f, a, "getppid", args) == errno(77);
                    assert_eq!(
                        got, want,
                        "{op} {v:#x} {v2:#x} arg{index}={:#x} on {}",
                        args[index], a.name
                    );
                }
            }
        }
    }
}

#[test]
fn long_programs_jump_through_trampolines() {
    // Every syscall with a condition: bodies end up far from the search.
    let names: Vec<&str> = native().table.iter().map(|(n, _)| *n).collect();
    let rules: Vec<Value> = names
        .iter()
        .map(|n| {
            json!({"names": [n], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 1, "value": 0x1234_5678_9abcu64, "op": "SCMP_CMP_NE"}]})
        })
        .collect();
    let f = compile(&profile(
        json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": rules}),
    ))
    .unwrap();
    check_program(&f.program);
    assert!(f.instructions() > 2000, "{f:?}");
    assert!(f.program.iter().any(|i| i.code == JA));
    for n in names {
        assert_eq!(eval(&f, native(), n, [0, 1, 0, 0, 0, 0]), ALLOW, "{n}");
        assert_eq!(
            eval(&f, native(), n, [0, 0x1234_5678_9abc, 0, 0, 0, 0]),
            errno(1),
            "{n}"
        );
    }
}

/// A profile shaped like Docker's default (written for this test): the
/// default returns EPERM, a long allow list, argument rules on
/// personality, clone and socket, clone3 answered with ENOSYS.
fn docker_like() -> LinuxSeccomp {
    const DENIED: &[&str] = &[
        "acct",
        "add_key",
        "bpf",
        "clock_adjtime",
        "clock_settime",
        "clone",
        "clone3",
        "create_module",
        "delete_module",
        "finit_module",
        "fsconfig",
        "fsmount",
        "fsopen",
        "fspick",
        "get_kernel_syms",
        "get_mempolicy",
        "init_module",
        "ioperm",
        "iopl",
        "kcmp",
        "kexec_file_load",
        "kexec_load",
        "keyctl",
        "lookup_dcookie",
        "mbind",
        "mount",
        "mount_setattr",
        "move_mount",
        "move_pages",
        "name_to_handle_at",
        "nfsservctl",
        "open_by_handle_at",
        "open_tree",
        "perf_event_open",
        "personality",
        "pivot_root",
        "process_vm_readv",
        "process_vm_writev",
        "ptrace",
        "query_module",
        "quotactl",
        "quotactl_fd",
        "reboot",
        "request_key",
        "set_mempolicy",
        "setdomainname",
        "sethostname",
        "setns",
        "settimeofday",
        "socket",
        "stime",
        "swapoff",
        "swapon",
        "sysfs",
        "_sysctl",
        "umount",
        "umount2",
        "unshare",
        "uselib",
        "userfaultfd",
        "ustat",
        "vm86",
        "vm86old",
    ];
    let mut allowed: Vec<&str> = ABIS
        .iter()
        .filter(|a| {
            a.audit == native().audit || a.arch == Arch::ScmpArchX86 && native().x32.is_some()
        })
        .flat_map(|a| a.table.iter().map(|(n, _)| *n))
        .filter(|n| !DENIED.contains(n))
        .collect();
    allowed.sort_unstable();
    allowed.dedup();
    let mut syscalls = vec![json!({"names": allowed, "action": "SCMP_ACT_ALLOW"})];
    for p in [0u64, 8, 0x20000, 0x20008, 0xffff_ffff] {
        syscalls.push(json!({"names": ["personality"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": p, "op": "SCMP_CMP_EQ"}]}));
    }
    syscalls.push(json!({"names": ["clone"], "action": "SCMP_ACT_ALLOW",
        "args": [{"index": 0, "value": 0x7e02_0000u64, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}));
    syscalls.push(json!({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}));
    syscalls.push(json!({"names": ["socket"], "action": "SCMP_ACT_ALLOW",
        "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_NE"}]}));
    let archs: Vec<&str> = match native().arch {
        Arch::ScmpArchX86_64 => vec!["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        _ => vec!["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
    };
    profile(
        json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
        "architectures": archs, "syscalls": syscalls}),
    )
}

#[test]
fn docker_like_profile_compiles() {
    let p = docker_like();
    assert!(p.syscalls().as_ref().unwrap()[0].names().len() > 300);
    let f = compile(&p).unwrap();
    check_program(&f.program);
    let n = native();
    let eperm = errno(libc::EPERM);
    assert_eq!(eval(&f, n, "getpid", [0; 6]), ALLOW);
    assert_eq!(eval(&f, n, "mount", [0; 6]), eperm);
    assert_eq!(
        eval(&f, n, "personality", [0xffff_ffff, 0, 0, 0, 0, 0]),
        ALLOW
    );
    assert_eq!(
        eval(&f, n, "personality", [0x0040_0000, 0, 0, 0, 0, 0]),
        eperm
    );
    assert_eq!(
        eval(&f, n, "clone", [libc::SIGCHLD as u64, 0, 0, 0, 0, 0]),
        ALLOW
    );
    assert_eq!(
        eval(&f, n, "clone", [libc::CLONE_NEWNS as u64, 0, 0, 0, 0, 0]),
        eperm
    );
    assert_eq!(eval(&f, n, "clone3", [0; 6]), errno(38));
    assert_eq!(
        eval(&f, n, "socket", [libc::AF_UNIX as u64, 1, 0, 0, 0, 0]),
        ALLOW
    );
    assert_eq!(eval(&f, n, "socket", [40, 1, 0, 0, 0, 0]), eperm);
    if n.x32.is_some() {
        let x86 = abi(Arch::ScmpArchX86);
        assert_eq!(eval(&f, x86, "_llseek", [0; 6]), ALLOW);
        assert_eq!(eval(&f, x86, "mount", [0; 6]), eperm);
        assert_eq!(eval(&f, abi(Arch::ScmpArchX32), "read", [0; 6]), ALLOW);
    }
}

// -- The kernel's view: install in a forked child.

enum Outcome {
    Exit(i32),
    Signal(i32),
}

/// Runs `body` in a forked child and reports how it ended. The child
/// only makes syscalls and leaves with _exit: the test process has
/// other threads, so the child must not allocate.
fn in_child(body: impl FnOnce() -> i32) -> Outcome {
    // SAFETY: see above; the child never returns into the harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        // SAFETY: plain syscalls; a stuck child dies of SIGALRM.
        unsafe {
            libc::alarm(20);
            libc::_exit(body())
        }
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    while unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::EINTR)
        );
    }
    if libc::WIFEXITED(status) {
        Outcome::Exit(libc::WEXITSTATUS(status))
    } else {
        Outcome::Signal(libc::WTERMSIG(status))
    }
}

/// no_new_privs, install `f`, then `probe`'s exit code.
fn with_filter(f: &Filter, probe: impl FnOnce() -> i32) -> Outcome {
    in_child(|| {
        // SAFETY: plain prctl.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            return 100;
        }
        match install(f) {
            Ok(_) => probe(),
            Err(_) => 101,
        }
    })
}

fn expect_exit(o: Outcome, what: &str) {
    match o {
        Outcome::Exit(0) => {}
        Outcome::Exit(c) => panic!("{what}: child exited with {c}"),
        Outcome::Signal(s) => panic!("{what}: child killed by signal {s}"),
    }
}

/// A raw syscall: Ok(return value) or Err(errno).
fn sys(nr: libc::c_long, a: [u64; 6]) -> std::result::Result<i64, i32> {
    // SAFETY: callers pass syscalls whose arguments are plain numbers
    // or valid pointers.
    let rc = unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
    if rc == -1 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(rc)
    }
}

#[test]
fn kernel_applies_errno_rules_and_flags() {
    let f = compile(&profile(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
        "syscalls": [
            {"names": ["getpid"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]})))
    .unwrap();
    expect_exit(
        with_filter(&f, || {
            let path = c"/nonexistent-berth-seccomp/x";
            let mkdir = sys(
                libc::SYS_mkdirat,
                [libc::AT_FDCWD as u64, path.as_ptr() as u64, 0o700, 0, 0, 0],
            );
            match (
                sys(libc::SYS_getpid, [0; 6]),
                mkdir,
                sys(libc::SYS_getppid, [0; 6]),
            ) {
                (Err(libc::EPERM), Err(38), Ok(_)) => 0,
                _ => 1,
            }
        }),
        "errno rules",
    );
}

#[test]
fn kernel_kills_the_process() {
    let f = compile(&profile(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"}]}),
    ))
    .unwrap();
    match with_filter(&f, || {
        let _ = sys(libc::SYS_getppid, [0; 6]);
        2
    }) {
        Outcome::Signal(libc::SIGSYS) => {}
        Outcome::Signal(s) => panic!("killed by {s}, not SIGSYS"),
        Outcome::Exit(c) => panic!("child exited with {c}"),
    }
}

#[test]
fn kernel_compares_64_bit_arguments() {
    // personality(0xffffffff) only queries; anything else is refused.
    let f = compile(&profile(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 0, "value": 0xffff_ffffu64, "op": "SCMP_CMP_NE"}]},
        // getppid ignores its arguments, so they are free to probe with.
        {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 21,
         "args": [{"index": 0, "value": 0xff00_0000_0000_00ffu64,
                   "valueTwo": 0x1200_0000_0000_0034u64, "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
         "args": [{"index": 1, "value": 0x1_0000_0000u64, "op": "SCMP_CMP_GT"},
                  {"index": 2, "value": 0x2_0000_0000u64, "op": "SCMP_CMP_LT"}]}]}),
    ))
    .unwrap();
    expect_exit(
        with_filter(&f, || {
            let pers = |p: u64| sys(libc::SYS_personality, [p, 0, 0, 0, 0, 0]);
            let ppid = |a: [u64; 3]| sys(libc::SYS_getppid, [a[0], a[1], a[2], 0, 0, 0]);
            let checks = [
                pers(0xffff_ffff).is_ok(),
                pers(0x0040_0000) == Err(libc::EPERM),
                ppid([0x12ab_cdef_0000_0034, 0, 0]) == Err(21),
                ppid([0x1200_0000_0000_0035, 0, 0]).is_ok(),
                ppid([0x1300_0000_0000_0034, 0, 0]).is_ok(),
                ppid([0, 0x1_0000_0001, 0x1_ffff_ffff]) == Err(22),
                ppid([0, 0x1_0000_0000, 0x1_ffff_ffff]).is_ok(),
                ppid([0, 0x1_0000_0001, 0x2_0000_0000]).is_ok(),
                ppid([0, 0xffff_ffff_ffff, 5]) == Err(22),
            ];
            checks
                .iter()
                .position(|ok| !ok)
                .map_or(0, |i| 10 + i as i32)
        }),
        "argument rules",
    );
}

#[test]
fn kernel_returns_enosys_above_the_profile() {
    let f = compile(&profile(
        json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["exit_group", "getpid", "io_uring_setup"], "action": "SCMP_ACT_ALLOW"}]}),
    ))
    .unwrap();
    expect_exit(
        with_filter(&f, || {
            match (
                sys(libc::SYS_getpid, [0; 6]),
                sys(libc::SYS_getppid, [0; 6]),
                sys(1000, [0; 6]),
            ) {
                (Ok(_), Err(libc::EPERM), Err(libc::ENOSYS)) => 0,
                _ => 1,
            }
        }),
        "ENOSYS stub",
    );
}

#[test]
fn kernel_loads_a_docker_like_profile() {
    let f = compile(&docker_like()).unwrap();
    expect_exit(
        with_filter(&f, || {
            let pers = |p: u64| sys(libc::SYS_personality, [p, 0, 0, 0, 0, 0]);
            let sock = |d: i32| {
                sys(
                    libc::SYS_socket,
                    [d as u64, libc::SOCK_STREAM as u64, 0, 0, 0, 0],
                )
            };
            let clone = |fl: i32| sys(libc::SYS_clone, [fl as u64, 0, 0, 0, 0, 0]);
            let unix = sock(libc::AF_UNIX);
            if let Ok(fd) = unix {
                let _ = sys(libc::SYS_close, [fd as u64, 0, 0, 0, 0, 0]);
            }
            // A plain fork-like clone is allowed; reap the child.
            let forked = match clone(libc::SIGCHLD) {
                Ok(0) => unsafe { libc::_exit(0) },
                Ok(pid) => {
                    let mut st = 0;
                    unsafe { libc::waitpid(pid as i32, &mut st, 0) == pid as i32 }
                }
                Err(_) => false,
            };
            let checks = [
                sys(libc::SYS_getpid, [0; 6]).is_ok(),
                pers(0xffff_ffff).is_ok(),
                pers(0x0040_0000) == Err(libc::EPERM),
                unix.is_ok(),
                sock(40) == Err(libc::EPERM),
                clone(libc::CLONE_NEWNS | libc::SIGCHLD) == Err(libc::EPERM),
                forked,
                sys(libc::SYS_clone3, [0; 6]) == Err(libc::ENOSYS),
                sys(libc::SYS_unshare, [libc::CLONE_NEWNS as u64, 0, 0, 0, 0, 0])
                    == Err(libc::EPERM),
                sys(1000, [0; 6]) == Err(libc::ENOSYS),
            ];
            checks
                .iter()
                .position(|ok| !ok)
                .map_or(0, |i| 10 + i as i32)
        }),
        "docker-like profile",
    );
}

#[test]
fn kernel_hands_out_a_working_listener() {
    let f = compile(&profile(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": "/run/agent.sock",
        "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]})))
    .unwrap();
    expect_exit(
        in_child(|| {
            use std::os::fd::AsRawFd;
            // SAFETY: plain syscalls on our own fds and children.
            unsafe {
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                    return 100;
                }
                let Ok(Some(listener)) = install(&f) else {
                    return 101;
                };
                let fd = listener.as_raw_fd();
                if libc::fcntl(fd, libc::F_GETFD) & libc::FD_CLOEXEC == 0 {
                    return 102;
                }
                // A grandchild makes the notified call; we answer it.
                let pid = libc::fork();
                if pid == 0 {
                    let r = libc::syscall(libc::SYS_getppid);
                    libc::_exit(if r == 4242 { 0 } else { 1 });
                }
                let mut req: libc::seccomp_notif = std::mem::zeroed();
                if libc::ioctl(fd, libc::SECCOMP_IOCTL_NOTIF_RECV, &mut req) != 0 {
                    libc::kill(pid, libc::SIGKILL);
                    return 103;
                }
                if req.data.nr as libc::c_long != libc::SYS_getppid || req.pid as i32 != pid {
                    return 104;
                }
                let resp = libc::seccomp_notif_resp {
                    id: req.id,
                    val: 4242,
                    error: 0,
                    flags: 0,
                };
                if libc::ioctl(fd, libc::SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0 {
                    return 105;
                }
                let mut st = 0;
                if libc::waitpid(pid, &mut st, 0) != pid || !libc::WIFEXITED(st) {
                    return 106;
                }
                libc::WEXITSTATUS(st)
            }
        }),
        "notify",
    );
}

#[cfg(target_arch = "x86_64")]
mod compat {
    use super::*;

    /// An i386 syscall without arguments, from 64-bit code.
    fn int80(nr: u32) -> i32 {
        let ret: i32;
        // SAFETY: int 0x80 with only eax set; the kernel clobbers r8-r11.
        unsafe {
            std::arch::asm!("int 0x80", inlateout("eax") nr as i32 => ret,
                out("r8") _, out("r9") _, out("r10") _, out("r11") _, options(nostack));
        }
        ret
    }
    const I386_GETPID: u32 = 20;

    fn has_ia32() -> bool {
        let o = in_child(|| {
            // SAFETY: getpid.
            (int80(I386_GETPID) != unsafe { libc::getpid() }) as i32
        });
        matches!(o, Outcome::Exit(0))
    }

    #[test]
    fn kernel_filters_compat_abis_by_arch() {
        let plain = compile(&profile(json!({"defaultAction": "SCMP_ACT_ALLOW"}))).unwrap();
        // An x32 call without SCMP_ARCH_X32 kills the process.
        match with_filter(&plain, || {
            sys(X32_SYSCALL_BIT as libc::c_long | 39, [0; 6]).is_ok() as i32
        }) {
            Outcome::Signal(libc::SIGSYS) => {}
            _ => panic!("x32 getpid was not killed"),
        }
        let listed = compile(&profile(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 56}]})))
        .unwrap();
        expect_exit(
            with_filter(&listed, || {
                let x32 = sys(X32_SYSCALL_BIT as libc::c_long | 39, [0; 6]);
                let native = sys(libc::SYS_getpid, [0; 6]);
                (x32 != Err(56) || native != Err(56)) as i32
            }),
            "x32 listed",
        );
        if !has_ia32() {
            eprintln!("skipping the i386 part: this kernel runs no ia32 syscalls");
            return;
        }
        match with_filter(&plain, || int80(I386_GETPID)) {
            Outcome::Signal(libc::SIGSYS) => {}
            _ => panic!("i386 getpid was not killed"),
        }
        expect_exit(
            with_filter(&listed, || (int80(I386_GETPID) != -56) as i32),
            "i386 listed",
        );
    }
}
