//! `start`: tell a created container's init to exec the user's program
//! (everything else, the seccomp listener included, was done in `create`),
//! then run the poststart hooks.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::time::Duration;

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
    // Everything start needs afterwards is read before the init is told
    // to go: once it is, start can no longer fail without reason.
    let spec = c.dir.config()?;
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
    // From here the container counts as started, whatever happens next;
    // the wait for the init's exec (its startContainer hooks run first)
    // holds no lock, so other commands on this container never wait on it.
    let _ = std::fs::remove_file(c.dir.file(START_SOCKET));
    c.dir.unlock();
    let mut conn = std::os::unix::net::UnixStream::from(sock);
    conn.write_all(b"s")
        .map_err(|e| Error::sys("signal the container's init", e))?;
    // The init closes the connection by exec'ing (close-on-exec), or
    // writes why it could not (one record, SOCK_SEQPACKET). The wait is
    // bounded: the step timeout plus each startContainer hook's timeout
    // (a step's worth for a hook without one).
    let bound = crate::process::STEP_TIMEOUT
        + spec
            .hooks()
            .as_ref()
            .and_then(|h| h.start_container().as_ref())
            .into_iter()
            .flatten()
            .map(|h| {
                h.timeout()
                    .filter(|t| *t > 0)
                    .map_or(crate::process::STEP_TIMEOUT, |t| {
                        Duration::from_secs(t as u64)
                    })
            })
            .sum::<Duration>();
    conn.set_read_timeout(Some(bound))
        .map_err(|e| Error::sys("set a timeout on the start connection", e))?;
    let record = match notify::recv_record(&conn) {
        Ok((record, _)) => record,
        Err(Error::Sys { cause, .. }) if cause.kind() == std::io::ErrorKind::WouldBlock => {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(c.saved.pid),
                nix::sys::signal::Signal::SIGKILL,
            );
            return Err(Error::Other(format!(
                "the container's init did not exec its process within {} s (startContainer hooks?); it was killed",
                bound.as_secs()
            )));
        }
        Err(e) => return Err(e),
    };
    if !record.is_empty() {
        return Err(Error::Other(String::from_utf8_lossy(&record).into_owned()));
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
        &c.saved.bundle,
    );
    Ok(())
}
