//! A process's terminal, made from inside the container (its /dev/ptmx,
//! after the root is entered): the master goes to the runtime over the
//! channel, the slave becomes the controlling terminal and stdio.

use std::os::fd::AsRawFd;

use oci_spec::runtime::Process;

use super::channel::{Channel, Msg};
use crate::error::{Error, Result};
use crate::tty::{self, Pty};
use nix::fcntl::AT_FDCWD;

/// Open a pty sized as `process.consoleSize` asks (ONLCR off when berth
/// proxies it), its slave owned by the
/// process's user (as runc; the group stays devpts' own, `gid=5` in the
/// usual config), so that the process can use its terminal as itself.
pub fn open(p: Option<&Process>, proxied: bool) -> Result<Pty> {
    let pty = tty::open_pty()?;
    if proxied {
        // Before anything is written: berth copies the output to its own
        // stdout, where runc's callers expect \n, not \r\n.
        tty::clear_onlcr(pty.master.as_raw_fd());
    }
    if let Some(b) = p.and_then(|p| p.console_size()) {
        tty::set_size(pty.master.as_raw_fd(), b.width() as u16, b.height() as u16);
    }
    let uid = p.map_or(0, |p| p.user().uid());
    if uid != 0 {
        nix::unistd::fchownat(
            AT_FDCWD,
            pty.slave_path.as_str(),
            Some(nix::unistd::Uid::from_raw(uid)),
            None,
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(|e| Error::sys(format!("chown {} to uid {uid}", pty.slave_path), e))?;
    }
    Ok(pty)
}

/// Send the master to the runtime, then make the slave ours.
pub fn hand_over(chan: &Channel, pty: Pty) -> Result<()> {
    chan.send_with_fd(&Msg::Pty, Some(pty.master.as_raw_fd()))?;
    drop(pty.master);
    tty::become_session_leader_on(&pty.slave_path)
}
