//! The runtime <-> init channel: a SOCK_SEQPACKET socketpair carrying one
//! JSON message per packet, with an fd attached where a message needs one
//! (the pty master). Every receive has a timeout.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub enum Msg {
    /// runtime -> init: you are in your cgroup, go on.
    Go,
    /// init -> runtime: I made a user namespace, write my id maps.
    NeedIdMaps,
    IdMapsDone,
    /// init -> runtime: the init forked; this is the real init's host pid.
    Forked {
        pid: i32,
    },
    /// init -> runtime: namespaces and mounts are ready; run the
    /// prestart and createRuntime hooks now.
    RunHooks,
    /// runtime -> init: hooks done; the state to give container hooks.
    HooksDone {
        state: String,
    },
    /// init -> runtime: the pty master is attached.
    Pty,
    /// init -> runtime: set up and waiting for `start`.
    Ready,
    /// container process -> runtime: something to log at warn level (the
    /// process has no log of its own once its fds are closed).
    Warn {
        msg: String,
    },
    /// container process -> runtime: the seccomp listener is attached;
    /// give it to the agent at listenerPath.
    SeccompListener,
    /// runtime -> container process: the agent has it, go on.
    ListenerDelivered,
    Error {
        msg: String,
    },
}

pub struct Channel {
    fd: OwnedFd,
}

impl Channel {
    pub fn pair() -> Result<(Channel, Channel)> {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(|e| Error::sys("socketpair", e))?;
        Ok((Channel { fd: a }, Channel { fd: b }))
    }

    pub fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    pub fn send(&self, msg: &Msg) -> Result<()> {
        self.send_with_fd(msg, None)
    }

    pub fn send_with_fd(&self, msg: &Msg, fd: Option<RawFd>) -> Result<()> {
        let data = serde_json::to_vec(msg).map_err(|e| Error::Other(e.to_string()))?;
        let iov = [IoSlice::new(&data)];
        let fds: Vec<RawFd> = fd.into_iter().collect();
        let cmsg = [ControlMessage::ScmRights(&fds)];
        let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &cmsg };
        sendmsg::<()>(
            self.fd.as_raw_fd(),
            &iov,
            cmsgs,
            MsgFlags::MSG_NOSIGNAL,
            None,
        )
        .map_err(|e| Error::sys("send to peer", e))?;
        Ok(())
    }

    /// Receive one message; `Ok(None)` when the peer has gone (EOF).
    pub fn recv(&self, timeout: Duration) -> Result<Option<(Msg, Option<OwnedFd>)>> {
        wait_readable(self.fd.as_raw_fd(), timeout)?;
        let mut buf = vec![0u8; next_message_len(self.fd.as_raw_fd())];
        let mut cmsg_buf = nix::cmsg_space!([RawFd; 1]);
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<()>(
            self.fd.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg_buf),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(|e| Error::sys("receive from peer", e))?;
        let mut fd = None;
        for c in msg.cmsgs().map_err(|e| Error::sys("control message", e))? {
            if let ControlMessageOwned::ScmRights(fds) = c {
                for f in fds {
                    // SAFETY: the kernel just gave us this fd; we own it.
                    let owned = unsafe { OwnedFd::from_raw_fd(f) };
                    if fd.is_none() {
                        fd = Some(owned);
                    }
                }
            }
        }
        let n = msg.bytes;
        if n == 0 {
            return Ok(None);
        }
        let m: Msg = serde_json::from_slice(&buf[..n])
            .map_err(|e| Error::Other(format!("bad message from peer: {e}")))?;
        Ok(Some((m, fd)))
    }

    /// Receive, expecting exactly `want`; an `Error` message becomes an error.
    pub fn expect(&self, want: Msg, timeout: Duration) -> Result<()> {
        match self.recv(timeout)? {
            Some((m, _)) if m == want => Ok(()),
            Some((Msg::Error { msg }, _)) => Err(Error::Other(msg)),
            Some((m, _)) => Err(Error::Other(format!("expected {want:?}, got {m:?}"))),
            None => Err(Error::Other(format!(
                "peer closed the channel while we waited for {want:?}"
            ))),
        }
    }
}

/// The largest message a peer may send (a config with a big seccomp
/// profile is the largest there is).
const MAX_MESSAGE: usize = 256 * 1024;

/// The length of the datagram waiting on `fd` (MSG_PEEK|MSG_TRUNC), so
/// the buffer is as big as the message: a fixed 256 KiB one, zeroed for
/// every message, was most of berth's heap (glibc serves the second such
/// calloc from the heap, and zeroes it). Where the kernel does not say,
/// the largest size.
fn next_message_len(fd: RawFd) -> usize {
    // SAFETY: a zero-length peek writes nothing.
    let n = unsafe {
        libc::recv(
            fd,
            std::ptr::null_mut(),
            0,
            libc::MSG_PEEK | libc::MSG_TRUNC | libc::MSG_DONTWAIT,
        )
    };
    if n > 0 && (n as usize) <= MAX_MESSAGE {
        n as usize
    } else {
        MAX_MESSAGE
    }
}

pub fn wait_readable(fd: RawFd, timeout: Duration) -> Result<()> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    loop {
        // SAFETY: one valid pollfd.
        let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
        if rc > 0 {
            return Ok(());
        }
        if rc == 0 {
            return Err(Error::Other(format!(
                "timed out after {}s waiting for the container's init",
                timeout.as_secs()
            )));
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(Error::sys("poll", e));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_of_any_size_arrive_whole_and_eof_is_none() {
        let (a, b) = Channel::pair().unwrap();
        let big = "x".repeat(100_000);
        a.send(&Msg::Error {
            msg: "small".into(),
        })
        .unwrap();
        a.send(&Msg::Error { msg: big.clone() }).unwrap();
        assert_eq!(
            next_message_len(b.fd.as_raw_fd()),
            r#"{"Error":{"msg":"small"}}"#.len()
        );
        let t = Duration::from_secs(1);
        assert_eq!(
            b.recv(t).unwrap().unwrap().0,
            Msg::Error {
                msg: "small".into()
            }
        );
        assert_eq!(b.recv(t).unwrap().unwrap().0, Msg::Error { msg: big });
        drop(a);
        assert!(b.recv(t).unwrap().is_none());
    }
}
