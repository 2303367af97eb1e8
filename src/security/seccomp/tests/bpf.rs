use super::*;
use serde_json::json;

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
pub(super) fn docker_like() -> LinuxSeccomp {
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
