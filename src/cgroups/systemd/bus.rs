//! A small client of systemd's D-Bus API on the system bus: the five
//! calls the driver makes, and the JobRemoved signal that says how a job
//! ended. berth's own, not zbus: see the README ("The systemd cgroup
//! driver") for the measurement behind that.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use super::props::Property;
use super::wire::{self, Call, Message, Writer};
use crate::error::{Error, Result};

pub const UNIT_EXISTS: &str = "org.freedesktop.systemd1.UnitExists";
pub const NO_SUCH_UNIT: &str = "org.freedesktop.systemd1.NoSuchUnit";
/// berth's name for a failure below D-Bus (the socket, a timeout).
const LOCAL: &str = "berth.Local";

/// How long one method call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(25);

const SYSTEMD: &str = "org.freedesktop.systemd1";
const SYSTEMD_PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";

/// An error reply (or a local failure, named LOCAL).
#[derive(Debug)]
pub struct BusError {
    pub name: String,
    pub message: String,
}

impl BusError {
    pub fn is(&self, name: &str) -> bool {
        self.name == name
    }
    pub fn into_error(self, what: &str) -> Error {
        Error::Other(format!("{what}: {} ({})", self.message, self.name))
    }
    fn local(e: impl std::fmt::Display) -> BusError {
        BusError {
            name: LOCAL.into(),
            message: e.to_string(),
        }
    }
}

type CallResult<T> = std::result::Result<T, BusError>;

pub struct Bus {
    sock: UnixStream,
    serial: u32,
    /// systemd's unique name on the bus: only its JobRemoved counts (any
    /// local user may send a signal to this connection).
    systemd: Option<String>,
    /// (job path, result) of JobRemoved signals read while waiting for
    /// something else; at most MAX_REMOVED, oldest dropped.
    removed: Vec<(String, String)>,
}

/// JobRemoved signals kept while waiting (systemd sends one per job of
/// any client that subscribed: a busy host sends many).
const MAX_REMOVED: usize = 256;

impl Bus {
    /// Connect to the system bus (root's containers) or the caller's user
    /// bus (a rootless container: its user's systemd), authenticate, and
    /// ask for JobRemoved signals.
    pub fn connect(user: bool) -> Result<Bus> {
        if user {
            let path = user_bus_path().ok_or_else(|| {
                Error::Other(
                    "--systemd-cgroup for a rootless container talks to the user's systemd, and no user bus was found \
                     (DBUS_SESSION_BUS_ADDRESS is unset and $XDG_RUNTIME_DIR/bus does not exist): \
                     run it in a systemd user session (loginctl enable-linger, dbus-user-session)"
                        .into(),
                )
            })?;
            Bus::open(&path, "the user bus")
        } else {
            Bus::open(&system_bus_path(), "the system bus")
        }
    }

    fn open(path: &str, what: &str) -> Result<Bus> {
        let sock = UnixStream::connect(path).map_err(|e| {
            Error::sys(
                format!("connect to {what} at {path} (--systemd-cgroup needs systemd and D-Bus)"),
                e,
            )
        })?;
        let _ = sock.set_read_timeout(Some(CALL_TIMEOUT));
        let mut bus = Bus {
            sock,
            serial: 0,
            systemd: None,
            removed: Vec::new(),
        };
        bus.authenticate()
            .map_err(|e| Error::sys(format!("authenticate on {what}"), e))?;
        let err = |e: BusError| e.into_error(what);
        bus.call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "Hello",
            "",
            &Writer::default(),
        )
        .map_err(err)?;
        let mut match_rule = Writer::default();
        match_rule.str(&format!(
            "type='signal',sender='{SYSTEMD}',path='{SYSTEMD_PATH}',interface='{MANAGER}',member='JobRemoved'"
        ));
        bus.call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "AddMatch",
            "s",
            &match_rule,
        )
        .map_err(err)?;
        // The reply comes from systemd itself: its sender is systemd's
        // unique name, the only one whose signals count.
        let reply = bus
            .manager("Subscribe", "", &Writer::default())
            .map_err(err)?;
        bus.systemd = reply.sender;
        Ok(bus)
    }

    /// SASL EXTERNAL: the server knows our uid from the socket; we name it,
    /// as the bus's own namespace sees it. In a user namespace of its own
    /// (rootless Podman) berth's uid means nothing to the bus: it names
    /// none and answers the server's empty challenge with an empty
    /// response, which tells the server to take the socket's credentials.
    fn authenticate(&mut self) -> std::io::Result<()> {
        self.sock.write_all(b"\0")?;
        if crate::userns::running_in() {
            self.sock.write_all(b"AUTH EXTERNAL\r\n")?;
            let line = self.read_line()?;
            if line != "DATA" && !line.starts_with("DATA ") {
                return Err(std::io::Error::other(format!(
                    "the bus refused EXTERNAL authentication: {line:?}"
                )));
            }
            self.sock.write_all(b"DATA\r\n")?;
        } else {
            let uid = nix::unistd::getuid().as_raw().to_string();
            let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
            self.sock
                .write_all(format!("AUTH EXTERNAL {hex}\r\n").as_bytes())?;
        }
        let line = self.read_line()?;
        if !line.starts_with("OK ") {
            return Err(std::io::Error::other(format!(
                "the bus refused EXTERNAL authentication: {line:?}"
            )));
        }
        self.sock.write_all(b"BEGIN\r\n")
    }

    /// One line of the authentication exchange, byte by byte so that
    /// nothing after it is taken from the socket.
    fn read_line(&mut self) -> std::io::Result<String> {
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        while !line.ends_with(b"\r\n") {
            if self.sock.read(&mut b)? == 0 || line.len() > 512 {
                return Err(std::io::Error::other(
                    "the bus closed during authentication",
                ));
            }
            line.push(b[0]);
        }
        line.truncate(line.len() - 2);
        Ok(String::from_utf8_lossy(&line).into_owned())
    }

    /// StartTransientUnit(name, "replace", properties, no aux units): the
    /// job's path.
    pub fn start_transient_unit(&mut self, name: &str, props: &[Property]) -> CallResult<String> {
        let mut w = Writer::default();
        w.str(name);
        w.str("replace");
        properties(&mut w, props);
        w.array(8, |_| {});
        let reply = self.manager("StartTransientUnit", "ssa(sv)a(sa(sv))", &w)?;
        object_path(&reply)
    }

    /// The manager's own cgroup (its ControlGroup property), below which
    /// its units' cgroups are: empty for the system's systemd,
    /// `/user.slice/user-UID.slice/user@UID.service` for a user's.
    pub fn manager_cgroup(&mut self) -> CallResult<String> {
        let mut w = Writer::default();
        w.str(MANAGER);
        w.str("ControlGroup");
        let reply = self.call(
            SYSTEMD,
            SYSTEMD_PATH,
            "org.freedesktop.DBus.Properties",
            "Get",
            "ss",
            &w,
        )?;
        let mut r = reply.reader();
        match r.sig().as_deref() {
            Some("s") => r
                .str()
                .ok_or_else(|| BusError::local("ControlGroup: a malformed reply")),
            other => Err(BusError::local(format!(
                "ControlGroup: a value of type {other:?}, not a string"
            ))),
        }
    }

    /// StopUnit(name, "replace"): the job's path.
    pub fn stop_unit(&mut self, name: &str) -> CallResult<String> {
        let mut w = Writer::default();
        w.str(name);
        w.str("replace");
        let reply = self.manager("StopUnit", "ss", &w)?;
        object_path(&reply)
    }

    pub fn reset_failed_unit(&mut self, name: &str) -> CallResult<()> {
        let mut w = Writer::default();
        w.str(name);
        self.manager("ResetFailedUnit", "s", &w).map(drop)
    }

    /// SetUnitProperties(name, runtime, properties).
    pub fn set_unit_properties(&mut self, name: &str, props: &[Property]) -> CallResult<()> {
        let mut w = Writer::default();
        w.str(name);
        w.bool(true);
        properties(&mut w, props);
        self.manager("SetUnitProperties", "sba(sv)", &w).map(drop)
    }

    /// Wait for the JobRemoved signal of `job`: its result ("done",
    /// "failed", "timeout", ...).
    pub fn wait_job(&mut self, job: &str, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = self.removed.iter().position(|(j, _)| j == job) {
                return Ok(self.removed.swap_remove(i).1);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::Other(format!(
                    "systemd did not finish job {job} within {} s",
                    timeout.as_secs()
                )));
            }
            let m = self
                .read_message(left)
                .map_err(|e| e.into_error("wait for a systemd job"))?;
            self.note_signal(&m);
        }
    }

    fn manager(&mut self, member: &str, sig: &str, body: &Writer) -> CallResult<Message> {
        self.call(SYSTEMD, SYSTEMD_PATH, MANAGER, member, sig, body)
    }

    fn call(
        &mut self,
        dest: &str,
        path: &str,
        iface: &str,
        member: &str,
        sig: &str,
        body: &Writer,
    ) -> CallResult<Message> {
        self.serial += 1;
        let serial = self.serial;
        let c = Call {
            dest,
            path,
            iface,
            member,
            sig,
        };
        self.sock
            .write_all(&wire::call(&c, serial, body))
            .map_err(BusError::local)?;
        let deadline = Instant::now() + CALL_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(BusError::local(format!(
                    "no reply to {member} within {} s",
                    CALL_TIMEOUT.as_secs()
                )));
            }
            let m = self.read_message(left)?;
            if m.reply_serial != Some(serial) {
                self.note_signal(&m);
                continue;
            }
            return match m.kind {
                wire::METHOD_RETURN => Ok(m),
                wire::ERROR => Err(BusError {
                    name: m.error_name.clone().unwrap_or_else(|| "unknown".into()),
                    message: if m.signature.starts_with('s') {
                        m.reader().str().unwrap_or_default()
                    } else {
                        String::new()
                    },
                }),
                other => Err(BusError::local(format!("a reply of message type {other}"))),
            };
        }
    }

    /// Keep a JobRemoved (signature uoss: id, job, unit, result).
    fn note_signal(&mut self, m: &Message) {
        if m.kind != wire::SIGNAL
            || m.member.as_deref() != Some("JobRemoved")
            || m.signature != "uoss"
            || m.sender.is_none()
            || m.sender != self.systemd
        {
            return;
        }
        let mut r = m.reader();
        let parsed = (|| {
            r.u32()?;
            let job = r.str()?;
            r.str()?;
            Some((job, r.str()?))
        })();
        if let Some(jr) = parsed {
            if self.removed.len() >= MAX_REMOVED {
                self.removed.remove(0);
            }
            self.removed.push(jr);
        }
    }

    fn read_message(&mut self, timeout: Duration) -> CallResult<Message> {
        wait_readable(&self.sock, timeout)?;
        let mut head = [0u8; 16];
        self.sock.read_exact(&mut head).map_err(BusError::local)?;
        let len = wire::message_len(&head)
            .ok_or_else(|| BusError::local("a malformed message on the bus"))?;
        if len > 64 << 20 {
            return Err(BusError::local("a message of over 64 MiB on the bus"));
        }
        let mut msg = head.to_vec();
        msg.resize(len, 0);
        self.sock
            .read_exact(&mut msg[16..])
            .map_err(BusError::local)?;
        wire::parse(&msg).ok_or_else(|| BusError::local("a malformed message on the bus"))
    }
}

/// a(sv): name, then the value as a variant.
fn properties(w: &mut Writer, props: &[Property]) {
    w.array(8, |w| {
        for (name, v) in props {
            w.struct_start();
            w.str(name);
            w.variant(v);
        }
    });
}

fn object_path(m: &Message) -> CallResult<String> {
    if m.signature != "o" {
        return Err(BusError::local(format!(
            "a reply of type {:?}, not an object path",
            m.signature
        )));
    }
    m.reader()
        .str()
        .ok_or_else(|| BusError::local("a malformed object path"))
}

fn wait_readable(sock: &UnixStream, timeout: Duration) -> CallResult<()> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let ms = PollTimeout::try_from(timeout.as_millis().min(i32::MAX as u128) as i32)
        .unwrap_or(PollTimeout::MAX);
    let mut fds = [PollFd::new(sock.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, ms) {
        Ok(0) => Err(BusError::local("timed out waiting for the system bus")),
        Ok(_) => Ok(()),
        Err(e) => Err(BusError::local(e)),
    }
}

/// The system bus's socket: DBUS_SYSTEM_BUS_ADDRESS's first unix:path=,
/// else the standard one.
pub fn system_bus_path() -> String {
    std::env::var("DBUS_SYSTEM_BUS_ADDRESS")
        .ok()
        .and_then(|a| unix_path(&a))
        .unwrap_or_else(|| "/run/dbus/system_bus_socket".into())
}

/// The caller's user bus: DBUS_SESSION_BUS_ADDRESS's first unix:path=,
/// else $XDG_RUNTIME_DIR/bus (dbus-user-session's socket) where it exists.
pub fn user_bus_path() -> Option<String> {
    if let Some(p) = std::env::var("DBUS_SESSION_BUS_ADDRESS")
        .ok()
        .and_then(|a| unix_path(&a))
    {
        return Some(p);
    }
    let xdg = std::env::var_os("XDG_RUNTIME_DIR").filter(|x| !x.is_empty())?;
    let p = std::path::Path::new(&xdg).join("bus");
    p.exists().then(|| p.to_string_lossy().into_owned())
}

/// The first `unix:path=` socket of a D-Bus address list.
fn unix_path(addr: &str) -> Option<String> {
    addr.split(';').find_map(|a| {
        a.strip_prefix("unix:")?
            .split(',')
            .find_map(|kv| kv.strip_prefix("path="))
            .map(str::to_string)
    })
}
