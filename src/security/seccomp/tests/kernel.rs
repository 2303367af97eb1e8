use super::bpf::docker_like;
use super::*;
use serde_json::json;

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
