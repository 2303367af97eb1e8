//! `start`: tell a created container's init to exec the user's program,
//! then run the poststart hooks.

use std::io::Write;
use std::os::fd::AsRawFd;

use nix::sys::socket::{connect, socket, AddressFamily, SockFlag, SockType, UnixAddr};

use super::{hook_state, Container, Status};
use crate::error::{Error, Result};
use crate::security::seccomp::notify;
use crate::state::{Root, START_SOCKET};

pub fn start(root: &Root, id: &str) -> Result<()> {
    let c = Container::open(root, id)?;
    let status = c.status();
    if status != Status::Created {
        return Err(Error::WrongState {
            id: id.into(),
            status: status.to_string(),
            msg: "only a created container can be started".into(),
        });
    }
    let sock = socket(
        AddressFamily::Unix,
        SockType::SeqPacket,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| Error::sys("socket", e))?;
    let path = format!("/proc/self/fd/{}/{}", c.dir.fd().as_raw_fd(), START_SOCKET);
    let addr = UnixAddr::new(path.as_str()).map_err(|e| Error::sys("start socket address", e))?;
    connect(sock.as_raw_fd(), &addr).map_err(|e| Error::sys("reach the container's init", e))?;
    // From here the container counts as started, whatever happens next.
    let _ = std::fs::remove_file(c.dir.file(START_SOCKET));
    let mut conn = std::os::unix::net::UnixStream::from(sock);
    conn.write_all(b"s")
        .map_err(|e| Error::sys("signal the container's init", e))?;
    // The init closes the connection by exec'ing (close-on-exec), or
    // writes why it could not; before that it may pass back a seccomp
    // listener for the agent. One record per recv (SOCK_SEQPACKET).
    let spec = c.dir.config()?;
    loop {
        let (record, fd) = notify::recv_record(&conn)?;
        if record.is_empty() {
            break;
        }
        if record.as_slice() != notify::LISTENER_RECORD {
            return Err(Error::Other(String::from_utf8_lossy(&record).into_owned()));
        }
        let delivered = match (fd, super::exec::seccomp_agent(spec.linux().as_ref(), id, &c.saved)) {
            (Some(listener), Some(agent)) => agent.deliver(c.saved.pid, "created", &listener),
            _ => Err(Error::Other(
                "the init passed back a seccomp listener, but there is no listenerPath to give it to".into(),
            )),
        };
        match delivered {
            Ok(()) => conn
                .write_all(notify::DELIVERED)
                .map_err(|e| Error::sys("tell the container's init", e))?,
            Err(e) => {
                // The init gives up on any other answer and exits; kill it
                // all the same, in case it is stuck in a notified call the
                // agent (if it got the listener) does not answer.
                let _ = conn.write_all(e.to_string().as_bytes());
                if super::init_alive(&c.saved) {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(c.saved.pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                    super::wait_gone(&c.saved, std::time::Duration::from_secs(2));
                }
                return Err(e);
            }
        }
    }
    crate::logging::debug(&format!(
        "start {id}: init {} exec'd the process",
        c.saved.pid
    ));
    let state = hook_state(
        id,
        c.saved.pid,
        Status::Running,
        &c.saved.bundle,
        &c.saved.annotations,
    );
    crate::hooks::run_all_logged(
        "poststart",
        spec.hooks().as_ref().and_then(|h| h.poststart().as_ref()),
        &state,
    );
    Ok(())
}
