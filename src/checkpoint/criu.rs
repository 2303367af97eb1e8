//! CRIU as a service: `criu swrk 3`, one request over a SOCK_SEQPACKET
//! pair, the notifications it sends while it works answered one by one,
//! then its reply. A missing CRIU, one that fails or one that dies gives
//! an error with CRIU's own words; the socket's end closes with CRIU, so
//! nothing waits for a CRIU that is gone.

use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use nix::sys::socket::{
    recvmsg, socketpair, AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockType,
};

use super::proto::{self, Msg};
use crate::error::{Error, Result};

/// criu_req_type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Dump = 1,
    Restore = 2,
    PreDump = 4,
    Notify = 6,
    FeatureCheck = 9,
}

/// criu_features' fields berth asks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    MemTrack = 1,
    LazyPages = 2,
}

/// FEATURE_CHECK for one feature, which `flag` needs: an error saying
/// `missing` where CRIU here lacks it.
pub fn require_feature(f: Feature, flag: &str, missing: &str) -> Result<()> {
    let mut ask = Msg::default();
    ask.bool(f as u32, true);
    let reply = call(
        Kind::FeatureCheck,
        None,
        Some(&ask),
        &[],
        None,
        &mut |_| Ok(()),
        &mut |_, _| Ok(()),
    )
    .map_err(|e| Error::Other(format!("{flag}: asking CRIU for its features: {e}")))?;
    if reply.features.contains(&(f as u32, true)) {
        Ok(())
    } else {
        Err(Error::Other(format!("{flag}: CRIU here {missing}")))
    }
}

/// A notification (criu_notify): a stage CRIU has reached, the pid it
/// concerns, and any fd that came with it (orphan-pts-master's pty).
pub struct Notify {
    pub script: String,
    pub pid: i32,
    pub fds: Vec<OwnedFd>,
}

/// The final reply's parts berth reads.
pub struct Reply {
    /// criu_restore_resp.pid: the restored init.
    pub restored_pid: Option<i32>,
    /// criu_features (FEATURE_CHECK): mem_track, lazy_pages.
    pub features: Vec<(u32, bool)>,
}

/// Where CRIU writes its log, for the lines an error quotes.
pub struct Log<'a> {
    pub dir: &'a Path,
    pub file: &'a str,
}

/// Run one request. `opts` is criu_opts (None for VERSION and
/// FEATURE_CHECK); `features` is criu_features for FEATURE_CHECK.
/// `on_notify` handles each notification; an error from it ends the
/// request (CRIU then undoes what it did).
/// `on_spawn` runs once CRIU exists, before the request goes: it may add
/// options (berth's restore puts CRIU in the container's cgroup there,
/// and names that cgroup to it). `inherit` fds go to CRIU as its fds 4,
/// 5...
pub fn call(
    kind: Kind,
    opts: Option<Msg>,
    features: Option<&Msg>,
    inherit: &[RawFd],
    log: Option<&Log>,
    on_notify: &mut dyn FnMut(&Notify) -> Result<()>,
    on_spawn: &mut dyn FnMut(i32, &mut Msg) -> Result<()>,
) -> Result<Reply> {
    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| Error::sys("socketpair for criu", e))?;
    let theirs_fd = theirs.as_raw_fd();
    let inherit = inherit.to_vec();
    let mut cmd = Command::new("criu");
    cmd.arg("swrk").arg("3");
    // SAFETY: between fork and exec only async-signal-safe calls: dup2
    // and fcntl on fds this process holds.
    unsafe {
        cmd.pre_exec(move || {
            // The inherited fds first (at 4...), then the socket at 3.
            for (i, fd) in inherit.iter().enumerate() {
                if libc::dup2(*fd, 4 + i as i32) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            if libc::dup2(theirs_fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // A foreground restore blocks the signals it forwards: CRIU
            // (and what it restores) must not start with them blocked.
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
            Ok(())
        });
    }
    if kind != Kind::Restore {
        cmd.stdin(Stdio::null());
    }
    let mut child = cmd.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Other(
                "criu is not installed: checkpoint and restore need CRIU (Debian: apt-get install criu)"
                    .into(),
            )
        } else {
            Error::sys("start criu swrk", e)
        }
    })?;
    // Only CRIU holds the other end now: its exit ends every read.
    drop(theirs);
    let result = (|| {
        let mut opts = opts;
        let mut extra = Msg::default();
        on_spawn(child.id() as i32, &mut extra)?;
        let mut req = Msg::default();
        req.uint(1, kind as u64);
        if let Some(o) = opts.as_mut() {
            o.append(extra);
            req.msg(2, o);
        }
        if let Some(f) = features {
            req.msg(5, f);
        }
        send(&ours, &req)?;
        loop {
            let (bytes, fds) = receive(&ours)?;
            let f = proto::fields(&bytes)
                .ok_or_else(|| Error::Other("criu sent a reply berth cannot read".into()))?;
            let t = proto::int_of(&f, 1).unwrap_or(0);
            let ok = proto::int_of(&f, 2) == Some(1);
            if !ok {
                let errno = proto::int_of(&f, 7).map(|e| e as i32).unwrap_or(0);
                let msg = proto::str_of(&f, 9).unwrap_or_default();
                return Err(Error::Other(format!(
                    "criu failed ({}{}{})",
                    kind_name(t),
                    if errno != 0 {
                        format!(
                            ", errno {errno}: {}",
                            std::io::Error::from_raw_os_error(errno)
                        )
                    } else {
                        String::new()
                    },
                    if msg.is_empty() {
                        String::new()
                    } else {
                        format!(": {msg}")
                    }
                )));
            }
            if t == Kind::Notify as u64 {
                let n = proto::bytes_of(&f, 5)
                    .and_then(proto::fields)
                    .ok_or_else(|| {
                        Error::Other("criu sent a notification without its body".into())
                    })?;
                let note = Notify {
                    script: proto::str_of(&n, 1).unwrap_or_default(),
                    pid: proto::int_of(&n, 2).map(|p| p as i32).unwrap_or(0),
                    fds,
                };
                crate::logging::debug(&format!("criu: {} (pid {})", note.script, note.pid));
                on_notify(&note)?;
                let mut ack = Msg::default();
                ack.uint(1, Kind::Notify as u64).bool(3, true);
                send(&ours, &ack)?;
                continue;
            }
            let restored_pid = proto::bytes_of(&f, 4)
                .and_then(proto::fields)
                .and_then(|r| proto::int_of(&r, 1))
                .map(|p| p as i32);
            let features = proto::bytes_of(&f, 8)
                .and_then(proto::fields)
                .map(|r| {
                    r.iter()
                        .filter_map(|(n, v)| match v {
                            proto::Value::Int(i) => Some((*n, *i != 0)),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            return Ok(Reply {
                restored_pid,
                features,
            });
        }
    })();
    // CRIU exits once it has replied (a pre-dump's waits for more: end it).
    drop(ours);
    if kind == Kind::PreDump {
        let _ = child.kill();
    }
    let status = child.wait();
    match result {
        Err(e) => Err(with_log(e, log)),
        Ok(r) => match status {
            Ok(s) if s.success() || kind == Kind::PreDump => Ok(r),
            Ok(s) => Err(with_log(
                Error::Other(format!("criu swrk ended with {s}")),
                log,
            )),
            Err(e) => Err(Error::sys("wait for criu", e)),
        },
    }
}

fn kind_name(t: u64) -> String {
    match t {
        1 => "dump".into(),
        2 => "restore".into(),
        4 => "pre-dump".into(),
        6 => "notify".into(),
        9 => "feature check".into(),
        10 => "version".into(),
        n => format!("request type {n}"),
    }
}

fn send(sock: &OwnedFd, m: &Msg) -> Result<()> {
    let bytes = m.clone().into_bytes();
    nix::sys::socket::send(sock.as_raw_fd(), &bytes, MsgFlags::empty())
        .map_err(|e| Error::sys("write to criu", e))?;
    Ok(())
}

/// One message and the fds that came with it.
fn receive(sock: &OwnedFd) -> Result<(Vec<u8>, Vec<OwnedFd>)> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut space = nix::cmsg_space!([RawFd; 4]);
    let (n, fds) = {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(|e| Error::sys("read from criu", e))?;
        let mut fds = Vec::new();
        for c in msg
            .cmsgs()
            .map_err(|e| Error::sys("criu's control message", e))?
        {
            if let ControlMessageOwned::ScmRights(v) = c {
                // SAFETY: the kernel just gave us these fds.
                fds.extend(v.into_iter().map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }));
            }
        }
        (msg.bytes, fds)
    };
    if n == 0 {
        return Err(Error::Other(
            "criu ended without a reply (see its log)".into(),
        ));
    }
    buf.truncate(n);
    Ok((buf, fds))
}

/// What `criu check` says: CRIU missing, CRIU able to work on this kernel
/// as this user, or failing with its own (non-empty) lines. One run, for
/// `berth features`, `berth check` and the errors of a failed request.
pub enum CheckOutcome {
    Missing,
    Passes,
    Fails(Vec<String>),
}

pub fn check() -> CheckOutcome {
    let Ok(o) = Command::new("criu")
        .arg("check")
        .stdin(Stdio::null())
        .output()
    else {
        return CheckOutcome::Missing;
    };
    if o.status.success() {
        return CheckOutcome::Passes;
    }
    let text =
        String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout);
    CheckOutcome::Fails(
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect(),
    )
}

/// Whether CRIU works here (what `berth features` reports).
pub fn works() -> bool {
    matches!(check(), CheckOutcome::Passes)
}

/// An error with the lines of CRIU's log that say what went wrong, and
/// `criu check`'s words where CRIU itself cannot work on this host.
fn with_log(e: Error, log: Option<&Log>) -> Error {
    let mut out = e.to_string();
    if let Some(l) = log {
        let path = l.dir.join(l.file);
        if let Ok(text) = std::fs::read_to_string(&path) {
            // CRIU's own error lines ("(00.15) Error (criu/…): …"), not
            // the mount table's "errors=" options; those the reply already
            // carries are not said twice.
            let errors: Vec<&str> = text
                .lines()
                .filter_map(|x| x.find("Error (").map(|i| &x[i..]))
                .filter(|x| !out.contains(x.trim()))
                .collect();
            let tail = &errors[errors.len().saturating_sub(5)..];
            if !tail.is_empty() {
                out.push_str(&format!(
                    "; {} says: {}",
                    path.display(),
                    tail.iter()
                        .map(|x| x.trim())
                        .collect::<Vec<_>>()
                        .join(" | ")
                ));
            }
        }
    }
    if let CheckOutcome::Fails(lines) = check() {
        out.push_str(&format!(
            "; `criu check` fails on this host: {}",
            lines.join(" | ")
        ));
    }
    Error::Other(out)
}
