//! Handing a seccomp listener to the agent at `linux.seccomp.listenerPath`
//! (SCMP_ACT_NOTIFY), as the runtime spec describes: one message on a new
//! connection to that unix socket, holding the ContainerProcessState as
//! JSON and the listener fd (SCM_RIGHTS, named "seccompFd" in `fds`).
//!
//! The container's process installs the filter inside the container, where
//! listenerPath is out of reach, and passes the listener over its channel
//! to the berth process on the host that started it (`create` for the
//! init, as runc, crun and youki do: an agent has it before `create`
//! returns; `exec`'s parent for an exec'd process). That process delivers
//! it to the agent, then tells the container's process to go on; a failure
//! there fails `create` (or `exec`) and the process is killed before it
//! runs anything of the user's.
//!
//! # berth's own syscalls under the filter
//!
//! From seccomp(2) on, the filter applies to berth's remaining steps too.
//! A notified syscall made while the listener is still only in the
//! process itself could never be answered: the process would hang. So the
//! only syscall between seccomp(2) and the moment the listener has left
//! the process is the `sendmsg` that passes it ([`send_fd`] allocates
//! nothing: no `brk` or `mmap` can slip in), and NOTIFY on `sendmsg` is
//! refused at `create`. After that, the process's calls (`close` of its
//! copy, `recvfrom` for the answer, `execve`; with the early install
//! before the user switch also `setresuid`, `capset`, `prctl`, ...) are
//! notified like the program's own: the berth process on the host delivers
//! the listener without waiting on the container, and the agent answers
//! them (an agent normally lets calls it does not know continue). NOTIFY
//! on `write` is refused as runc does: it is how the process reports a
//! failure after the hand-off.
//!
//! For the init, the filter is in place while it waits for `start`: its
//! remaining calls (`sendmsg` of Ready, `accept4` and `read` on the start
//! socket, the startContainer hooks' fork and exec, a `write` of an error,
//! `execve`) pass through the filter and, where a rule says NOTIFY, reach
//! the agent, which already has the listener. runc's init makes the same
//! kind of calls (its exec fifo) after its filter.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::socket::{
    connect, sendmsg, setsockopt, socket, sockopt, AddressFamily, ControlMessage, MsgFlags,
    SockFlag, SockType, UnixAddr,
};
use nix::sys::time::TimeVal;
use oci_spec::runtime::LinuxSeccomp;
use serde_json::json;

use crate::error::{Error, Result};

const FIELD: &str = "linux.seccomp.listenerPath";

/// How long connecting to the agent and sending to it may take.
const AGENT_TIMEOUT: Duration = Duration::from_secs(10);

/// Send `bytes` with `fd` attached (SCM_RIGHTS) in one sendmsg, without
/// allocating: the container's process calls it right after seccomp(2),
/// when any other syscall could be one only the agent can answer.
pub fn send_fd(sock: RawFd, bytes: &[u8], fd: RawFd) -> std::io::Result<()> {
    // Room for one cmsghdr and one int, aligned for cmsghdr.
    let mut control = [0u64; 4];
    // SAFETY: arithmetic on a length.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as usize;
    assert!(space <= std::mem::size_of_val(&control));
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr().cast_mut().cast(),
        iov_len: bytes.len(),
    };
    // SAFETY: zeroed msghdr is valid; every pointer set below refers to
    // locals alive for the call, and the cmsg is written within `space`.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>(), fd);
        loop {
            let n = libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL);
            if n >= 0 {
                return if n as usize == bytes.len() {
                    Ok(())
                } else {
                    Err(std::io::Error::from_raw_os_error(libc::EMSGSIZE))
                };
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

/// The host's side: one record from `sock`: its bytes and the fd it
/// carried, if any. An empty record means the peer closed the connection.
pub fn recv_record(sock: &UnixStream) -> Result<(Vec<u8>, Option<OwnedFd>)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned};
    use std::os::fd::FromRawFd;
    let mut buf = vec![0u8; 64 * 1024];
    let mut cbuf = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let (n, fd) = loop {
        match recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut cbuf),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Ok(msg) => {
                let mut fd = None;
                for c in msg
                    .cmsgs()
                    .map_err(|e| Error::sys("read a record", std::io::Error::from(e)))?
                {
                    if let ControlMessageOwned::ScmRights(fds) = c {
                        for f in fds {
                            // SAFETY: the kernel gave us this fd; we own it.
                            let owned = unsafe { OwnedFd::from_raw_fd(f) };
                            fd.get_or_insert(owned);
                        }
                    }
                }
                break (msg.bytes, fd);
            }
            Err(nix::errno::Errno::EINTR) => continue,
            // The init may have exec'd and closed its end in any way.
            Err(nix::errno::Errno::ECONNRESET) => break (0, None),
            Err(e) => {
                return Err(Error::sys(
                    "read from the container's process",
                    std::io::Error::from(e),
                ))
            }
        }
    };
    Ok((buf[..n].to_vec(), fd))
}

/// Where the listener goes and what the agent is told with it.
pub struct Agent {
    pub path: PathBuf,
    pub metadata: Option<String>,
    pub id: String,
    /// The container's init: `state.pid` (the process the listener is
    /// for, an exec'd one, is the message's own `pid`).
    pub init_pid: i32,
    pub bundle: PathBuf,
    pub annotations: HashMap<String, String>,
}

impl Agent {
    /// The agent of a container whose filter has a NOTIFY rule.
    pub fn of(
        s: &LinuxSeccomp,
        id: &str,
        init_pid: i32,
        bundle: &Path,
        annotations: &HashMap<String, String>,
    ) -> Option<Agent> {
        Some(Agent {
            path: s.listener_path().clone()?,
            metadata: s.listener_metadata().clone(),
            id: id.to_string(),
            init_pid,
            bundle: bundle.to_path_buf(),
            annotations: annotations.clone(),
        })
    }

    /// The message for the agent about process `pid` (the init, or an
    /// exec'd process) of a container in `status`.
    pub fn process_state(&self, pid: i32, status: &str) -> serde_json::Value {
        let mut state = json!({
            "ociVersion": crate::OCI_VERSION,
            "id": self.id,
            "status": status,
            "pid": self.init_pid,
            "bundle": self.bundle,
        });
        if !self.annotations.is_empty() {
            state["annotations"] = json!(self.annotations);
        }
        let mut msg = json!({
            "ociVersion": crate::OCI_VERSION,
            "fds": ["seccompFd"],
            "pid": pid,
            "state": state,
        });
        if let Some(m) = &self.metadata {
            msg["metadata"] = json!(m);
        }
        msg
    }

    /// Connect to the agent and send it the state and the listener, in one
    /// sendmsg on a connection of its own, then close it. Connecting and
    /// sending time out (a hung agent fails `start` instead of hanging it).
    pub fn deliver(&self, pid: i32, status: &str, listener: &OwnedFd) -> Result<()> {
        let at = |what: &str, e: std::io::Error| {
            Error::sys(format!("{FIELD}: {what} {}", self.path.display()), e)
        };
        let sock = socket(
            AddressFamily::Unix,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .map_err(|e| at("socket for", e.into()))?;
        // For unix sockets SO_SNDTIMEO bounds connect (a full backlog) too.
        let timeout = TimeVal::new(AGENT_TIMEOUT.as_secs() as _, 0);
        setsockopt(&sock, sockopt::SendTimeout, &timeout)
            .map_err(|e| at("set a timeout for", e.into()))?;
        let addr = UnixAddr::new(&self.path).map_err(|e| at("the address", e.into()))?;
        connect(sock.as_raw_fd(), &addr).map_err(|e| {
            let hint = match e {
                nix::errno::Errno::ECONNREFUSED | nix::errno::Errno::ENOENT => {
                    " (is the seccomp agent running?)"
                }
                _ => "",
            };
            Error::sys(
                format!(
                    "{FIELD}: failed to connect with seccomp agent: connect to {}{hint}",
                    self.path.display()
                ),
                std::io::Error::from(e),
            )
        })?;
        let body = self.process_state(pid, status).to_string();
        let fds = [listener.as_raw_fd()];
        let cmsg = [ControlMessage::ScmRights(&fds)];
        let iov = [std::io::IoSlice::new(body.as_bytes())];
        let sent = sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsg, MsgFlags::MSG_NOSIGNAL, None)
            .map_err(|e| at("send the listener to", e.into()))?;
        if sent != body.len() {
            return Err(Error::Other(format!(
                "{FIELD}: short send to {} ({sent} of {} bytes)",
                self.path.display(),
                body.len()
            )));
        }
        Ok(())
    }
}

/// At create: listenerPath must be an absolute path to a unix socket that
/// is there now (the agent runs before the container, as with runc).
pub fn check(s: &LinuxSeccomp) -> Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let Some(path) = s.listener_path() else {
        return Ok(());
    };
    if !path.is_absolute() {
        return Err(Error::InvalidConfig(format!(
            "config.json: {FIELD}: {} is not an absolute path",
            path.display()
        )));
    }
    match std::fs::metadata(path) {
        Ok(m) if m.file_type().is_socket() => Ok(()),
        Ok(_) => Err(Error::InvalidConfig(format!(
            "config.json: {FIELD}: {} is not a unix socket",
            path.display()
        ))),
        Err(e) => Err(Error::sys(
            format!(
                "config.json: {FIELD}: failed to connect with seccomp agent at {} (is the seccomp agent running?)",
                path.display()
            ),
            e,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::FromRawFd;
    use std::os::unix::net::UnixListener;

    fn profile(path: &str) -> LinuxSeccomp {
        serde_json::from_value(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": path,
            "listenerMetadata": "meta-1",
            "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]
        }))
        .unwrap()
    }

    #[test]
    fn state_message_as_the_spec_says() {
        let mut ann = HashMap::new();
        ann.insert("k".to_string(), "v".to_string());
        let a = Agent::of(&profile("/run/a.sock"), "c1", 42, Path::new("/b"), &ann).unwrap();
        let m = a.process_state(42, "created");
        assert_eq!(m["fds"], json!(["seccompFd"]));
        assert_eq!(m["pid"], 42);
        assert_eq!(m["metadata"], "meta-1");
        assert_eq!(m["state"]["id"], "c1");
        assert_eq!(m["state"]["status"], "created");
        assert_eq!(m["state"]["bundle"], "/b");
        assert_eq!(m["state"]["annotations"]["k"], "v");
        assert_eq!(m["state"]["pid"], 42);
        // An exec'd process: its own pid, the init's in the state.
        let m = a.process_state(43, "running");
        assert_eq!(
            (m["pid"].as_i64(), m["state"]["pid"].as_i64()),
            (Some(43), Some(42))
        );
        // Without listenerMetadata there is no metadata field, nor
        // annotations without any.
        let mut p = profile("/run/a.sock");
        p.set_listener_metadata(None);
        let m = Agent::of(&p, "c1", 42, Path::new("/b"), &HashMap::new())
            .unwrap()
            .process_state(42, "created");
        assert!(m.get("metadata").is_none(), "{m}");
        assert!(m["state"].get("annotations").is_none(), "{m}");
    }

    #[test]
    fn send_fd_passes_bytes_and_fd_in_one_record() {
        const RECORD: &[u8] = b"{\"SeccompListener\":null}";
        use nix::sys::socket::{recvmsg, socketpair, ControlMessageOwned};
        use std::io::{IoSliceMut, Read, Write};
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .unwrap();
        let (r, mut w) = std::io::pipe().unwrap();
        send_fd(a.as_raw_fd(), RECORD, r.as_raw_fd()).unwrap();
        drop(r);
        let mut buf = [0u8; 64];
        let mut cbuf = nix::cmsg_space!([RawFd; 1]);
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg =
            recvmsg::<()>(b.as_raw_fd(), &mut iov, Some(&mut cbuf), MsgFlags::empty()).unwrap();
        let fds: Vec<RawFd> = msg
            .cmsgs()
            .unwrap()
            .flat_map(|c| match c {
                ControlMessageOwned::ScmRights(f) => f,
                _ => vec![],
            })
            .collect();
        assert_eq!(msg.bytes, RECORD.len());
        assert_eq!(fds.len(), 1);
        assert_eq!(&buf[..RECORD.len()], RECORD);
        // The fd is the pipe's read end.
        // SAFETY: the fd just received is ours.
        let mut got = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fds[0]) });
        w.write_all(b"x").unwrap();
        let mut one = [0u8; 1];
        got.read_exact(&mut one).unwrap();
        assert_eq!(&one, b"x");
    }

    #[test]
    fn check_wants_an_absolute_socket() {
        assert!(check(&profile("relative.sock"))
            .unwrap_err()
            .to_string()
            .contains("absolute"));
        let dir = std::env::temp_dir().join(format!("berth-agent-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("a.sock");
        let _ = std::fs::remove_file(&sock);
        let err = check(&profile(sock.to_str().unwrap()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("agent running"), "{err}");
        let _l = UnixListener::bind(&sock).unwrap();
        check(&profile(sock.to_str().unwrap())).unwrap();
        std::fs::write(dir.join("plain"), "").unwrap();
        let err = check(&profile(dir.join("plain").to_str().unwrap()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a unix socket"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn delivers_state_and_fd() {
        use nix::sys::socket::{recvmsg, ControlMessageOwned};
        use std::io::IoSliceMut;
        let dir = std::env::temp_dir().join(format!("berth-agent-d-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("a.sock");
        let _ = std::fs::remove_file(&sock);
        let l = UnixListener::bind(&sock).unwrap();
        let a = Agent::of(
            &profile(sock.to_str().unwrap()),
            "c2",
            7,
            Path::new("/b"),
            &HashMap::new(),
        )
        .unwrap();
        let (r, _w) = std::io::pipe().unwrap();
        let fd: OwnedFd = r.into();
        a.deliver(7, "running", &fd).unwrap();
        let (conn, _) = l.accept().unwrap();
        let mut buf = vec![0u8; 4096];
        let mut cbuf = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut cbuf),
            MsgFlags::empty(),
        )
        .unwrap();
        let got_fd = msg
            .cmsgs()
            .unwrap()
            .any(|c| matches!(c, ControlMessageOwned::ScmRights(f) if f.len() == 1));
        let n = msg.bytes;
        assert!(got_fd);
        let v: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
        assert_eq!(v["state"]["status"], "running");
        assert_eq!(v["pid"], 7);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
