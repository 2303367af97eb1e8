use super::*;
use serde_json::json;

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
    // The spec: listenerMetadata MUST NOT be set without listenerPath.
    let e = err(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "m", "syscalls": [
        {"names": ["getpid"], "action": "SCMP_ACT_ERRNO"}]}),
    );
    assert!(e.contains("linux.seccomp.listenerMetadata"), "{e}");
}

#[test]
fn listener_path_without_notify_is_ignored() {
    // The spec: "If the SCMP_ACT_NOTIFY action is not used this value is
    // ignored": no listener, no NEW_LISTENER flag.
    let f = compile(&profile(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "relative/and/absent",
        "listenerMetadata": "m", "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO"}]}),
    ))
    .unwrap();
    assert!(!f.needs_listener());
    assert_eq!(f.flags & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER, 0);
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
