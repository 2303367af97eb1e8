//! The kernel interfaces berth uses, each probed the cheapest way that
//! tells (a call with arguments the kernel rejects after it has looked at
//! them, or an object dropped at once), and what berth does without it.

use std::ffi::CStr;
use std::path::Path;

use super::{Caller, Fact};
use crate::cgroups::Layout;

pub(super) fn facts(layout: Option<&Layout>, caller: Caller) -> Vec<Fact> {
    let pure_v2 = layout.is_some_and(Layout::is_pure_v2);
    vec![
        release(),
        openat2(),
        clone3(pure_v2, layout.is_some_and(|l| l.unified.is_some())),
        exe_view(caller),
        memfd_seals(),
        pidfd(),
        mount_setattr(),
        time_namespace(),
        device_programs(pure_v2, caller),
        seccomp(),
        seccomp_notify(),
    ]
}

/// errno of the last failed call.
fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn close(fd: libc::c_long) {
    if fd >= 0 {
        // SAFETY: an fd this probe just made and owns.
        unsafe { libc::close(fd as i32) };
    }
}

fn release() -> Fact {
    let u = nix::sys::utsname::uname().ok();
    let r = u
        .as_ref()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    Fact::ok(
        "kernel",
        format!("Linux {r}"),
        "the probes below say what it offers",
    )
}

fn openat2() -> Fact {
    #[repr(C)]
    struct OpenHow {
        flags: u64,
        mode: u64,
        resolve: u64,
    }
    const RESOLVE_IN_ROOT: u64 = 0x10;
    let how = OpenHow {
        flags: (libc::O_PATH | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: RESOLVE_IN_ROOT,
    };
    // SAFETY: openat2 of "/" with a valid open_how; the fd is closed.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            libc::AT_FDCWD,
            c"/".as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    let e = errno();
    close(fd);
    if fd >= 0 {
        Fact::ok(
            "openat2",
            "openat2 with RESOLVE_IN_ROOT",
            "paths in the rootfs are resolved by the kernel, never outside it",
        )
    } else {
        Fact::warn(
            "openat2",
            format!("no openat2 (errno {e})"),
            "paths in the rootfs are resolved one component at a time (slower, still contained)",
        )
    }
}

fn clone3(pure_v2: bool, unified: bool) -> Fact {
    // SAFETY: clone3 with no arguments fails (EINVAL: size too small)
    // where it exists, ENOSYS where it does not; nothing is cloned.
    let rc = unsafe { libc::syscall(libc::SYS_clone3, std::ptr::null::<u8>(), 0usize) };
    let has_clone3 = rc < 0 && errno() != libc::ENOSYS;
    if !(has_clone3 && kernel_at_least(5, 7)) {
        return Fact::warn(
            "clone3",
            "no clone3 with CLONE_INTO_CGROUP",
            "the init joins its cgroups itself, before anything of the container runs",
        );
    }
    let follows = if pure_v2 {
        "the container's init is born in its cgroup"
    } else if unified {
        "the init is born in its v2 cgroup and joins its v1 ones itself, before anything runs"
    } else {
        "no v2 hierarchy here: the init joins its cgroups itself, before anything runs"
    };
    Fact::ok("clone3", "clone3 with CLONE_INTO_CGROUP", follows)
}

fn kernel_at_least(major: u32, minor: u32) -> bool {
    let Ok(u) = nix::sys::utsname::uname() else {
        return false;
    };
    let r = u.release().to_string_lossy().into_owned();
    let mut it = r.split(['.', '-']).map(|x| x.parse::<u32>().unwrap_or(0));
    let (a, b) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
    (a, b) >= (major, minor)
}

/// The read-only overlayfs view berth re-executes from (CVE-2019-5736):
/// an overlayfs context, opened and dropped.
fn exe_view(caller: Caller) -> Fact {
    // SAFETY: fsopen of a filesystem type; the fd is closed, nothing is
    // mounted.
    let fd = unsafe { libc::syscall(libc::SYS_fsopen, c"overlay".as_ptr(), 1u32) };
    let e = errno();
    close(fd);
    if fd >= 0 {
        Fact::ok(
            "exe-view",
            "overlayfs mounts made detached (fsopen/fsmount)",
            "berth re-executes from a read-only view of its binary before it enters a container",
        )
    } else {
        let why = if caller.rootless && e == libc::EPERM {
            "not as an ordinary user".to_string()
        } else {
            format!("errno {e}")
        };
        Fact::warn(
            "exe-view",
            format!("no detached overlayfs ({why})"),
            "berth copies itself into a sealed memfd instead (a few ms more per container)",
        )
    }
}

fn memfd_seals() -> Fact {
    let name: &CStr = c"berth-check";
    // SAFETY: a memfd made and closed here.
    let fd =
        unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if fd < 0 {
        return Fact::warn(
            "memfd-seals",
            format!("no sealable memfd (errno {})", errno()),
            "berth cannot fall back to a sealed copy of itself where the overlayfs view is missing",
        );
    }
    // SAFETY: F_ADD_SEALS on the memfd just made.
    let rc = unsafe {
        libc::fcntl(
            fd,
            libc::F_ADD_SEALS,
            libc::F_SEAL_WRITE | libc::F_SEAL_SEAL,
        )
    };
    let e = errno();
    close(fd as libc::c_long);
    if rc == 0 {
        Fact::ok(
            "memfd-seals",
            "memfd_create with F_SEAL_WRITE",
            "the sealed copy of berth (the fallback) is there",
        )
    } else {
        Fact::warn(
            "memfd-seals",
            format!("memfd seals refused (errno {e})"),
            "berth cannot fall back to a sealed copy of itself",
        )
    }
}

fn pidfd() -> Fact {
    // SAFETY: pidfd_open of ourselves; the fd is closed.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) };
    let e = errno();
    close(fd);
    if fd >= 0 {
        Fact::ok("pidfd", "pidfd_open", "--pidfd-socket hands out pidfds")
    } else {
        Fact::warn(
            "pidfd",
            format!("no pidfd_open (errno {e})"),
            "--pidfd-socket fails",
        )
    }
}

fn mount_setattr() -> Fact {
    // SAFETY: mount_setattr on fd -1 with no attributes: EBADF/EINVAL
    // where it exists, ENOSYS where not; nothing changes.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            -1,
            c"".as_ptr(),
            0u32,
            std::ptr::null::<u8>(),
            0usize,
        )
    };
    if rc < 0 && errno() == libc::ENOSYS {
        Fact::warn(
            "mount_setattr",
            "no mount_setattr",
            "recursive mount flags (rro, rnosuid...) and idmapped mounts fail",
        )
    } else {
        Fact::ok(
            "mount_setattr",
            "mount_setattr",
            "recursive mount flags (rro, rnosuid...) and idmapped mounts work",
        )
    }
}

fn time_namespace() -> Fact {
    if Path::new("/proc/self/ns/time").exists() {
        Fact::ok(
            "time-namespace",
            "time namespaces",
            "linux.namespaces time and linux.timeOffsets work",
        )
    } else {
        Fact::warn(
            "time-namespace",
            "no time namespaces",
            "linux.namespaces time and linux.timeOffsets fail at create",
        )
    }
}

fn device_programs(pure_v2: bool, caller: Caller) -> Fact {
    if !pure_v2 {
        return Fact::ok(
            "bpf-devices",
            "not needed here",
            "linux.resources.devices goes to the v1 devices controller",
        );
    }
    if caller.rootless {
        return Fact::ok(
            "bpf-devices",
            "not needed for you",
            "rootless containers get no device rules (their devices are bound, not made)",
        );
    }
    match crate::cgroups::probe_device_programs() {
        Ok(()) => Fact::ok(
            "bpf-devices",
            "BPF_PROG_TYPE_CGROUP_DEVICE programs load",
            "linux.resources.devices becomes a BPF program on the container's cgroup",
        ),
        Err(e) => Fact::fail(
            "bpf-devices",
            format!("a cgroup device program does not load: {e}"),
            "create fails: on cgroup v2 device rules need BPF",
        ),
    }
}

fn seccomp() -> Fact {
    // SAFETY: PR_GET_SECCOMP only reads.
    let rc = unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) };
    if rc < 0 {
        return Fact::warn(
            "seccomp",
            "no seccomp in this kernel",
            "linux.seccomp fails at create",
        );
    }
    let flags = crate::security::seccomp::supported_flags();
    let found = if flags.is_empty() {
        "seccomp filters (no flags)".to_string()
    } else {
        let short: Vec<&str> = flags
            .iter()
            .map(|f| f.trim_start_matches("SECCOMP_FILTER_FLAG_"))
            .collect();
        format!("seccomp filters; flags: {}", short.join(" "))
    };
    Fact::ok(
        "seccomp",
        found,
        "linux.seccomp works, with the flags listed",
    )
}

fn seccomp_notify() -> Fact {
    let action: u32 = libc::SECCOMP_RET_USER_NOTIF;
    // SAFETY: SECCOMP_GET_ACTION_AVAIL reads one u32 and installs nothing.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_GET_ACTION_AVAIL,
            0,
            &action as *const u32,
        )
    };
    if rc == 0 {
        Fact::ok(
            "seccomp-notify",
            "SECCOMP_RET_USER_NOTIF",
            "SCMP_ACT_NOTIFY rules with linux.seccomp.listenerPath work",
        )
    } else {
        Fact::warn(
            "seccomp-notify",
            format!("no SECCOMP_RET_USER_NOTIF (errno {})", errno()),
            "SCMP_ACT_NOTIFY rules fail at create",
        )
    }
}
