//! Terminals: the init opens a pty in the container's devpts and makes the
//! slave its controlling terminal; the master goes to the caller's
//! `--console-socket` over SCM_RIGHTS, or, for `run` in the foreground, is
//! proxied to berth's own terminal.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use nix::sys::socket::{
    connect, sendmsg, socket, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, UnixAddr,
};

use crate::error::{Error, Result};

pub struct Pty {
    pub master: OwnedFd,
    pub slave_path: String,
}

/// Open a new pty through /dev/ptmx (the container's, after pivot_root).
pub fn open_pty() -> Result<Pty> {
    // SAFETY: plain libc pty calls; the fd is checked.
    let fd = unsafe {
        libc::open(
            c"/dev/ptmx".as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(Error::sys(
            "open /dev/ptmx (is devpts mounted at /dev/pts?)",
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: fd is a new, valid fd.
    let master = unsafe { OwnedFd::from_raw_fd(fd) };
    if unsafe { libc::unlockpt(fd) } != 0 {
        return Err(Error::sys("unlockpt", std::io::Error::last_os_error()));
    }
    let mut buf = [0 as libc::c_char; 128];
    if unsafe { libc::ptsname_r(fd, buf.as_mut_ptr(), buf.len()) } != 0 {
        return Err(Error::sys("ptsname", std::io::Error::last_os_error()));
    }
    let slave_path = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    Ok(Pty { master, slave_path })
}

/// Turn off ONLCR (\n to \r\n on output) on the pty behind `fd`.
pub fn clear_onlcr(fd: RawFd) {
    // SAFETY: tcgetattr/tcsetattr on a valid fd with a zeroed termios.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(fd, &mut t) == 0 {
            t.c_oflag &= !libc::ONLCR;
            libc::tcsetattr(fd, libc::TCSANOW, &t);
        }
    }
}

pub fn set_size(fd: RawFd, width: u16, height: u16) {
    let ws = libc::winsize {
        ws_row: height,
        ws_col: width,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: valid fd and winsize.
    unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) };
}

/// A session of the process's own, without a terminal (as runc's init and
/// exec'd processes have): CRIU refuses to dump a tree whose session leader
/// is outside its pid namespace, and the caller's job control stays the
/// caller's (berth forwards signals in the foreground).
pub fn new_session() -> Result<()> {
    nix::unistd::setsid().map_err(|e| Error::sys("setsid", e))?;
    Ok(())
}

/// Make the slave the calling process's controlling terminal and stdio.
pub fn become_session_leader_on(slave_path: &str) -> Result<()> {
    new_session()?;
    let c = std::ffi::CString::new(slave_path).unwrap_or_default();
    // SAFETY: valid path.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDWR) };
    if fd < 0 {
        return Err(Error::sys(
            format!("open {slave_path}"),
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: fd valid; TIOCSCTTY takes an int.
    if unsafe { libc::ioctl(fd, libc::TIOCSCTTY, 0) } != 0 {
        return Err(Error::sys("TIOCSCTTY", std::io::Error::last_os_error()));
    }
    for target in 0..3 {
        // SAFETY: dup2 onto stdio.
        if unsafe { libc::dup2(fd, target) } < 0 {
            return Err(Error::sys("dup2 pty", std::io::Error::last_os_error()));
        }
    }
    if fd > 2 {
        unsafe { libc::close(fd) };
    }
    Ok(())
}

/// Send the pty master to the `--console-socket` of the caller.
pub fn send_to_console_socket(socket_path: &Path, master: RawFd, name: &str) -> Result<()> {
    send_fd_to_socket("--console-socket", socket_path, master, name)
}

/// Connect to the unix socket at `socket_path` (given with `flag`) and send
/// `fd` with `name` as the message (SCM_RIGHTS), as runc sends the pty to
/// --console-socket and the pidfd to --pidfd-socket.
pub fn send_fd_to_socket(flag: &str, socket_path: &Path, fd: RawFd, name: &str) -> Result<()> {
    let sock = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| Error::sys("socket", e))?;
    let addr = UnixAddr::new(socket_path)
        .map_err(|e| Error::sys(format!("{flag} {}", socket_path.display()), e))?;
    connect(sock.as_raw_fd(), &addr)
        .map_err(|e| Error::sys(format!("connect to {flag} {}", socket_path.display()), e))?;
    let iov = [IoSlice::new(name.as_bytes())];
    let fds = [fd];
    sendmsg::<()>(
        sock.as_raw_fd(),
        &iov,
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(|e| Error::sys(format!("send to {flag} {}", socket_path.display()), e))?;
    Ok(())
}

/// A pidfd for `pid` sent to `socket_path` (`--pidfd-socket`), so that a
/// caller can signal that very process later, whatever becomes of its pid.
pub fn send_pidfd(socket_path: &Path, pid: i32) -> Result<()> {
    use std::os::fd::{FromRawFd, OwnedFd};
    // SAFETY: pidfd_open with plain integers; a valid fd is ours to own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(Error::sys(
            format!("--pidfd-socket: pidfd_open of process {pid}"),
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: a new fd from pidfd_open.
    let pidfd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    send_fd_to_socket("--pidfd-socket", socket_path, pidfd.as_raw_fd(), "pidfd")
}

/// Copies between berth's stdin/stdout and a pty master for `run` in the
/// foreground. The caller's terminal is raw while it lives, so keys such
/// as ^C reach the container; it is restored on drop.
pub struct Proxy {
    master: OwnedFd,
    saved: Option<nix::sys::termios::Termios>,
    stdin_open: bool,
    master_open: bool,
}

impl Proxy {
    pub fn new(master: OwnedFd) -> Proxy {
        use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
        let stdin = std::io::stdin();
        let saved = tcgetattr(&stdin).ok();
        if let Some(t) = &saved {
            let mut raw = t.clone();
            cfmakeraw(&mut raw);
            let _ = tcsetattr(&stdin, SetArg::TCSANOW, &raw);
        }
        let p = Proxy {
            master,
            saved,
            stdin_open: true,
            master_open: true,
        };
        p.resize_from_stdin();
        p
    }

    /// Give the container's terminal the size of ours.
    pub fn resize_from_stdin(&self) {
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        // SAFETY: valid winsize out-pointer.
        if unsafe { libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) } == 0 {
            set_size(self.master.as_raw_fd(), ws.ws_col, ws.ws_row);
        }
    }

    pub fn pollfds(&self) -> [libc::pollfd; 2] {
        let fd = |open: bool, fd: RawFd| if open { fd } else { -1 };
        [
            libc::pollfd {
                fd: fd(self.master_open, self.master.as_raw_fd()),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: fd(self.stdin_open, 0),
                events: libc::POLLIN,
                revents: 0,
            },
        ]
    }

    /// Move what poll said is ready.
    pub fn pump(&mut self, ready: &[libc::pollfd]) {
        let mut buf = [0u8; 8192];
        if ready.first().is_some_and(|p| p.revents != 0) {
            // SAFETY: valid buffer.
            let n =
                unsafe { libc::read(self.master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                self.master_open = false;
            } else {
                write_all(1, &buf[..n as usize]);
            }
        }
        if ready.get(1).is_some_and(|p| p.revents != 0) {
            // SAFETY: valid buffer.
            let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                self.stdin_open = false;
            } else {
                write_all(self.master.as_raw_fd(), &buf[..n as usize]);
            }
        }
    }

    /// Copy out whatever the container wrote before it exited.
    pub fn drain(&mut self) {
        while self.master_open {
            let mut p = [libc::pollfd {
                fd: self.master.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }];
            // SAFETY: one valid pollfd.
            if unsafe { libc::poll(p.as_mut_ptr(), 1, 50) } <= 0 {
                break;
            }
            let ready = [p[0]];
            self.pump(&ready);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = nix::sys::termios::tcsetattr(
                std::io::stdin(),
                nix::sys::termios::SetArg::TCSANOW,
                t,
            );
        }
    }
}

fn write_all(fd: RawFd, mut data: &[u8]) {
    while !data.is_empty() {
        // SAFETY: valid buffer.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if n <= 0 {
            return;
        }
        data = &data[n as usize..];
    }
}
