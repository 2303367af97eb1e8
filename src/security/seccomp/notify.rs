//! Handing a seccomp listener to the agent at `linux.seccomp.listenerPath`
//! (SCMP_ACT_NOTIFY), as the runtime spec describes: one message on a new
//! connection to that unix socket, holding the ContainerProcessState as
//! JSON and the listener fd (SCM_RIGHTS, named "seccompFd" in `fds`).
//!
//! The container's process installs the filter just before its execve,
//! inside the container, where listenerPath is out of reach. It passes the
//! listener back to the berth process on the host that started it
//! (`start`, or `exec`'s parent), which delivers it here, then tells the
//! process to go on. Until then the process does nothing but wait, so no
//! notified syscall of its own can come before the agent has the fd.

use std::collections::HashMap;
use std::io::IoSlice;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use oci_spec::runtime::LinuxSeccomp;
use serde_json::json;

use crate::error::{Error, Result};

const FIELD: &str = "linux.seccomp.listenerPath";

/// On the start connection (a SOCK_SEQPACKET socket, one record per
/// message): the record that carries the listener (it starts with a NUL,
/// which no error text does), and the answer once the agent has it.
pub const LISTENER_RECORD: &[u8] = b"\0seccomp-listener";
pub const DELIVERED: &[u8] = b"delivered";

/// The container's side: send the listener over `sock`, wait until the
/// host side says the agent has it.
pub fn pass_back(sock: &UnixStream, listener: OwnedFd) -> Result<()> {
    use std::io::Read;
    let fds = [listener.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let iov = [IoSlice::new(LISTENER_RECORD)];
    sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None).map_err(|e| {
        Error::sys(
            "pass the seccomp listener to the runtime",
            std::io::Error::from(e),
        )
    })?;
    drop(listener);
    let mut answer = vec![0u8; 64 * 1024];
    let n = (&mut &*sock)
        .read(&mut answer)
        .map_err(|e| Error::sys("wait for the seccomp agent", e))?;
    if &answer[..n] == DELIVERED {
        return Ok(());
    }
    Err(Error::Other(format!(
        "{FIELD}: the agent did not get the listener: {}",
        String::from_utf8_lossy(&answer[..n])
    )))
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
    pub metadata: String,
    pub id: String,
    pub bundle: PathBuf,
    pub annotations: HashMap<String, String>,
}

impl Agent {
    /// The agent of a container whose filter has a NOTIFY rule.
    pub fn of(
        s: &LinuxSeccomp,
        id: &str,
        bundle: &Path,
        annotations: &HashMap<String, String>,
    ) -> Option<Agent> {
        Some(Agent {
            path: s.listener_path().clone()?,
            metadata: s.listener_metadata().clone().unwrap_or_default(),
            id: id.to_string(),
            bundle: bundle.to_path_buf(),
            annotations: annotations.clone(),
        })
    }

    /// The message for the agent about process `pid` of a container in
    /// `status`.
    pub fn process_state(&self, pid: i32, status: &str) -> serde_json::Value {
        let mut state = json!({
            "ociVersion": crate::OCI_VERSION,
            "id": self.id,
            "status": status,
            "pid": pid,
            "bundle": self.bundle,
        });
        if !self.annotations.is_empty() {
            state["annotations"] = json!(self.annotations);
        }
        json!({
            "ociVersion": crate::OCI_VERSION,
            "fds": ["seccompFd"],
            "pid": pid,
            "metadata": self.metadata,
            "state": state,
        })
    }

    /// Connect to the agent and send it the state and the listener.
    pub fn deliver(&self, pid: i32, status: &str, listener: &OwnedFd) -> Result<()> {
        let at = |what: &str, e: std::io::Error| {
            Error::sys(format!("{FIELD}: {what} {}", self.path.display()), e)
        };
        let conn = UnixStream::connect(&self.path).map_err(|e| at("connect to", e))?;
        let body = self.process_state(pid, status).to_string();
        let fds = [listener.as_raw_fd()];
        let cmsg = [ControlMessage::ScmRights(&fds)];
        let iov = [IoSlice::new(body.as_bytes())];
        let sent = sendmsg::<()>(conn.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None)
            .map_err(|e| at("send the listener to", std::io::Error::from(e)))?;
        if sent != body.len() {
            return Err(Error::Other(format!(
                "{FIELD}: short send to {}",
                self.path.display()
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
                "config.json: {FIELD}: {} (is the seccomp agent running?)",
                path.display()
            ),
            e,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let a = Agent::of(&profile("/run/a.sock"), "c1", Path::new("/b"), &ann).unwrap();
        let m = a.process_state(42, "created");
        assert_eq!(m["fds"], json!(["seccompFd"]));
        assert_eq!(m["pid"], 42);
        assert_eq!(m["metadata"], "meta-1");
        assert_eq!(m["state"]["id"], "c1");
        assert_eq!(m["state"]["status"], "created");
        assert_eq!(m["state"]["bundle"], "/b");
        assert_eq!(m["state"]["annotations"]["k"], "v");
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
