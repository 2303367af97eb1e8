//! The last steps before the user's program runs: find it on the
//! container's PATH, build its environment, close every fd it must not
//! inherit, and execve.

use std::ffi::CString;
use std::os::fd::RawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Resolve `prog` as execvp would, against the PATH in `env`.
pub fn lookup(prog: &str, env: &[String]) -> Result<PathBuf> {
    let is_exec = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if prog.contains('/') {
        if is_exec(Path::new(prog)) {
            return Ok(PathBuf::from(prog));
        }
        return Err(Error::Other(format!(
            "exec: {prog:?}: no such executable file in the container (stat: {})",
            std::fs::metadata(prog)
                .err()
                .map_or("not executable".into(), |e| e.to_string())
        )));
    }
    let path = env
        .iter()
        .find_map(|kv| kv.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let cand = Path::new(dir).join(prog);
        if is_exec(&cand) {
            return Ok(cand);
        }
    }
    Err(Error::Other(format!(
        "exec: {prog:?}: executable file not found in $PATH"
    )))
}

/// The environment the program gets, as runc builds it: the config's
/// with `extra` entries replacing those of the same name; each name once,
/// with its last value, in the order of those last values; an empty HOME
/// dropped; HOME added when unset (from the container's /etc/passwd entry
/// for the uid, else "/").
pub fn environment(env: &[String], uid: u32, extra: &[(String, String)]) -> Vec<String> {
    let all = env
        .iter()
        .cloned()
        .chain(extra.iter().map(|(k, v)| format!("{k}={v}")));
    let all: Vec<String> = all.collect();
    let name = |kv: &str| kv.split_once('=').map_or(kv, |(k, _)| k).to_string();
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<String> = Vec::with_capacity(all.len() + 1);
    for kv in all.iter().rev() {
        if !seen.insert(name(kv)) || kv == "HOME=" {
            continue;
        }
        out.push(kv.clone());
    }
    out.reverse();
    if !out.iter().any(|kv| kv.starts_with("HOME=")) {
        out.push(format!("HOME={}", home_of(uid)));
    }
    out
}

fn home_of(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() >= 6 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[5].to_string())
            })
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "/".into())
}

/// Mark every fd from `first` up close-on-exec (the preserved ones below
/// it stay open). CVE-2024-21626: no host fd may reach the container.
pub fn cloexec_from(first: u32) -> Result<()> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range with plain integers.
    let rc = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    if rc == 0 {
        return Ok(());
    }
    // Kernels before 5.11: every fd number up to the fd limit. Not a
    // listing of /proc/self/fd: this runs inside the container, whose
    // /proc could be a fake that hides an fd.
    let top = fd_limit() as i32;
    for fd in first as i32..top {
        // SAFETY: setting a flag on an fd number; a closed one just fails.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(())
}

/// Close every fd from `first` up except those in `keep`.
pub fn close_all_but(first: u32, keep: &[RawFd]) -> Result<()> {
    let mut keep: Vec<u32> = keep
        .iter()
        .filter(|&&fd| fd >= first as RawFd)
        .map(|&fd| fd as u32)
        .collect();
    keep.sort_unstable();
    keep.dedup();
    let mut from = first;
    for k in keep.into_iter().chain(std::iter::once(u32::MAX)) {
        if k > from {
            close_range(from, k - 1)?;
        }
        from = k.saturating_add(1);
    }
    Ok(())
}

/// close_range(2) from `lo` to `hi`; on kernels before 5.9, one close per
/// fd number up to the fd limit.
fn close_range(lo: u32, hi: u32) -> Result<()> {
    // SAFETY: close_range with plain integers; the fds are ours to close.
    let rc = unsafe { libc::syscall(libc::SYS_close_range, lo, hi, 0) };
    if rc == 0 {
        return Ok(());
    }
    let top = fd_limit().min(hi.saturating_add(1));
    for fd in lo..top {
        // SAFETY: closing an fd number; one that is not open just fails.
        unsafe { libc::close(fd as i32) };
    }
    Ok(())
}

/// One past the highest fd number this process may have (at most 2^20),
/// for the loops that stand in for close_range on old kernels.
fn fd_limit() -> u32 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct we pass.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    lim.rlim_cur.min(1 << 20) as u32
}

/// The first of fds 3..3+n that is not open (fds a caller says it passes).
pub fn first_closed_fd(n: u32) -> Option<i32> {
    // SAFETY: F_GETFD only reads the flags of an fd number.
    (3..3 + n as i32).find(|&fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0)
}

/// Clear close-on-exec on the preserved fds 3..3+n.
pub fn keep_open(n: u32) {
    for fd in 3..3 + n as i32 {
        // SAFETY: flag change on an fd number; a closed fd just fails.
        unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
    }
}

pub fn execve(path: &Path, args: &[String], env: &[String]) -> Error {
    let c = |s: &str| CString::new(s).unwrap_or_default();
    let p =
        CString::new(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str())).unwrap_or_default();
    let args: Vec<CString> = args.iter().map(|a| c(a)).collect();
    let env: Vec<CString> = env.iter().map(|a| c(a)).collect();
    let e = nix::unistd::execve(&p, &args, &env).unwrap_err();
    // runc's words ("exec /run.sh: no such file or directory"), which
    // callers match.
    Error::Other(format!("exec {}: {}", path.display(), errno_text(e)))
}

/// An errno as Go prints it: the C library's text, lower-case, no number.
fn errno_text(e: nix::errno::Errno) -> String {
    let text = e.desc();
    let mut c = text.chars();
    match c.next() {
        Some(first) => first.to_lowercase().chain(c).collect(),
        None => format!("errno {}", e as i32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closes_all_but_the_kept_fds() {
        use std::os::fd::{AsRawFd, IntoRawFd};
        // In a child, so the test harness's own fds are left alone.
        // SAFETY: the child only makes syscalls and exits.
        match unsafe { nix::unistd::fork() }.unwrap() {
            nix::unistd::ForkResult::Child => {
                let open = |_| std::fs::File::open("/dev/null").unwrap().into_raw_fd();
                let fds: Vec<RawFd> = (0..6).map(open).collect();
                let first = fds[0] as u32;
                close_all_but(first, &[fds[2], fds[4], 1]).unwrap();
                let alive = |fd: RawFd| unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0;
                let got: Vec<bool> = fds.iter().map(|&f| alive(f)).collect();
                let ok = got == [false, false, true, false, true, false]
                    && alive(std::io::stdout().as_raw_fd());
                unsafe { libc::_exit(if ok { 0 } else { 1 }) }
            }
            nix::unistd::ForkResult::Parent { child } => {
                let st = nix::sys::wait::waitpid(child, None).unwrap();
                assert_eq!(st, nix::sys::wait::WaitStatus::Exited(child, 0));
            }
        }
    }

    #[test]
    fn exec_errors_read_as_runc_s() {
        let e = execve(Path::new("/no/such/program"), &["x".into()], &[]);
        assert_eq!(
            e.to_string(),
            "exec /no/such/program: no such file or directory"
        );
    }

    #[test]
    fn finds_programs_on_path() {
        let env = vec!["PATH=/nonexistent:/bin:/usr/bin".to_string()];
        assert!(lookup("sh", &env).unwrap().ends_with("sh"));
        assert!(lookup("no-such-program-xyz", &env).is_err());
        assert!(lookup("/bin/sh", &[]).is_ok());
        assert!(lookup("/no/such", &[]).is_err());
    }

    #[test]
    fn env_gets_home_and_extras() {
        let env = environment(
            &["A=1".into(), "LISTEN_FDS=9".into()],
            65534,
            &[("LISTEN_FDS".into(), "2".into())],
        );
        assert!(env.contains(&"A=1".to_string()));
        assert!(env.contains(&"LISTEN_FDS=2".to_string()));
        assert!(env.iter().any(|e| e.starts_with("HOME=")));
        let env = environment(&["HOME=/root".into()], 0, &[]);
        assert_eq!(env, vec!["HOME=/root".to_string()]);
        // runc's rules: each name once, its last value, in the order of
        // the last values; an empty HOME is replaced.
        let env = environment(
            &["A=1".into(), "B=2".into(), "A=3".into(), "HOME=".into()],
            65534,
            &[],
        );
        assert_eq!(env[..2], ["B=2".to_string(), "A=3".to_string()]);
        assert!(env[2].starts_with("HOME=") && env[2] != "HOME=", "{env:?}");
        assert_eq!(env.len(), 3);
    }
}
