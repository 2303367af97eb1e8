//! The six hook points. Each hook gets the container's state JSON on
//! stdin, its own args and env, and at most `timeout` seconds. Where each
//! runs, and what a failure means, is the caller's business (see
//! container/ and process/init.rs); here a hook is just run.

use std::io::{Read, Seek, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::Hook;

use crate::error::{Error, Result};

/// Run hooks in order; the first failure stops the list and is returned.
/// For hooks that run in the container's namespaces (createContainer).
pub fn run_all(point: &str, hooks: Option<&Vec<Hook>>, state: &str) -> Result<()> {
    run_all_with_env(point, hooks, state, None)
}

/// As `run_all`; a hook without an `env` of its own gets `default_env`
/// (runc gives startContainer hooks the process's environment).
pub fn run_all_with_env(
    point: &str,
    hooks: Option<&Vec<Hook>>,
    state: &str,
    default_env: Option<&[String]>,
) -> Result<()> {
    run_list(point, hooks, state, default_env, None)
}

/// As `run_all`, for hooks that run in the runtime's namespaces (prestart,
/// createRuntime): as with runc, which works from the bundle, they run
/// there, and a relative path names a program in the bundle.
pub fn run_all_in_bundle(
    point: &str,
    hooks: Option<&Vec<Hook>>,
    state: &str,
    bundle: &Path,
) -> Result<()> {
    run_list(point, hooks, state, None, Some(bundle))
}

fn run_list(
    point: &str,
    hooks: Option<&Vec<Hook>>,
    state: &str,
    default_env: Option<&[String]>,
    dir: Option<&Path>,
) -> Result<()> {
    for (i, h) in hooks.into_iter().flatten().enumerate() {
        run_one(h, state, default_env, dir).map_err(|e| {
            Error::Other(format!(
                "error running {point} hook #{i} ({}): {e}",
                h.path().display()
            ))
        })?;
    }
    Ok(())
}

/// Run every hook, logging failures instead of stopping (poststart and
/// poststop: the spec says to warn and go on). They run in the runtime's
/// namespaces, from the bundle (see `run_all_in_bundle`).
pub fn run_all_logged(point: &str, hooks: Option<&Vec<Hook>>, state: &str, bundle: &Path) {
    for (i, h) in hooks.into_iter().flatten().enumerate() {
        if let Err(e) = run_one(h, state, None, Some(bundle)) {
            crate::logging::warn(&format!(
                "error running {point} hook #{i} ({}): {e}",
                h.path().display()
            ));
        }
    }
}

fn run_one(
    h: &Hook,
    state: &str,
    default_env: Option<&[String]>,
    dir: Option<&Path>,
) -> Result<()> {
    let args = h.args().clone().unwrap_or_default();
    let mut cmd = match dir {
        Some(d) => {
            let mut c = Command::new(d.join(h.path()));
            c.current_dir(d);
            c
        }
        None => Command::new(h.path()),
    };
    if let Some(arg0) = args.first() {
        cmd.arg0(arg0);
    }
    cmd.args(args.iter().skip(1));
    cmd.env_clear();
    let env = h.env().as_deref().or(default_env).unwrap_or(&[]);
    for kv in env {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    // Output goes to a memfd, read back for the error message; no pipes to
    // drain, so no threads in the init.
    let out = memfd("berth-hook-output")?;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::from(
            out.try_clone().map_err(|e| Error::sys("dup", e))?,
        ))
        .stderr(Stdio::from(
            out.try_clone().map_err(|e| Error::sys("dup", e))?,
        ));
    let mut child = cmd.spawn().map_err(|e| Error::sys("start", e))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine (EPIPE ignored).
        let _ = stdin.write_all(state.as_bytes());
    }
    let deadline = h
        .timeout()
        .filter(|t| *t > 0)
        .map(|t| Instant::now() + Duration::from_secs(t as u64));
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| Error::sys("wait", e))? {
            break st;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Other(format!(
                "timed out after {}s",
                h.timeout().unwrap_or(0)
            )));
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    if status.success() {
        return Ok(());
    }
    let mut out = out;
    let mut text = String::new();
    let _ = out.rewind();
    let _ = out.read_to_string(&mut text);
    let text = text.trim();
    Err(Error::Other(format!(
        "{status}{}{}",
        if text.is_empty() { "" } else { ": " },
        text.chars().take(2000).collect::<String>()
    )))
}

fn memfd(name: &str) -> Result<std::fs::File> {
    let cname = std::ffi::CString::new(name).unwrap_or_default();
    // SAFETY: valid name pointer.
    let fd = unsafe { libc::memfd_create(cname.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(Error::sys("memfd_create", std::io::Error::last_os_error()));
    }
    // SAFETY: a new fd we own.
    Ok(unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::HookBuilder;

    #[test]
    fn a_hook_gets_state_on_stdin_and_its_env() {
        let dir = std::env::temp_dir().join(format!("berth-hook-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("out");
        let h = HookBuilder::default()
            .path("/bin/sh")
            .args(vec![
                "sh".into(),
                "-c".into(),
                format!("cat > {}; echo \"$X\" >> {}", out.display(), out.display()),
            ])
            .env(vec!["X=hello".into()])
            .build()
            .unwrap();
        run_all("test", Some(&vec![h]), "{\"id\":\"x\"}").unwrap();
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "{\"id\":\"x\"}hello\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn failure_and_timeout_are_errors() {
        let fail = HookBuilder::default()
            .path("/bin/sh")
            .args(vec![
                "sh".into(),
                "-c".into(),
                "echo nope >&2; exit 3".into(),
            ])
            .build()
            .unwrap();
        let e = run_all("test", Some(&vec![fail]), "{}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("nope") && e.contains('3'), "{e}");
        let slow = HookBuilder::default()
            .path("/bin/sleep")
            .args(vec!["sleep".into(), "5".into()])
            .timeout(1)
            .build()
            .unwrap();
        let e = run_all("test", Some(&vec![slow]), "{}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("timed out"), "{e}");
    }
}
