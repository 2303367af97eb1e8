//! What berth talks to: systemd over D-Bus, and CRIU.

use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};

use super::{Caller, Fact};
use crate::cgroups::systemd::{system_bus_path, user_bus_path};
use crate::checkpoint::CheckOutcome;

pub(super) fn systemd(caller: Caller) -> Fact {
    if !Path::new("/run/systemd/system").is_dir() {
        return Fact::warn(
            "systemd",
            "not running as PID 1 (no /run/systemd/system)",
            "--systemd-cgroup fails here; the cgroupfs driver (the default) works",
        );
    }
    let (bus, which) = if caller.rootless {
        (user_bus_path(), "user bus")
    } else {
        (Some(system_bus_path()), "system bus")
    };
    let Some(bus) = bus else {
        return Fact::warn(
            "systemd",
            "systemd is PID 1; no user bus (no $DBUS_SESSION_BUS_ADDRESS, no $XDG_RUNTIME_DIR/bus)",
            "--systemd-cgroup fails for you; the cgroupfs driver works",
        );
    };
    match UnixStream::connect(&bus) {
        Ok(_) => Fact::ok(
            "systemd",
            format!("systemd is PID 1; the {which} answers at {bus}"),
            "--systemd-cgroup works: containers become transient units",
        ),
        Err(e) => Fact::warn(
            "systemd",
            format!("systemd is PID 1, but the {which} at {bus}: {e}"),
            "--systemd-cgroup fails: berth cannot reach systemd",
        ),
    }
}

pub(super) fn criu(caller: Caller) -> Fact {
    let version = match Command::new("criu")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
    {
        Ok(o) => String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .trim_start_matches("Version:")
            .trim()
            .to_string(),
        Err(_) => {
            return Fact::warn(
                "criu",
                "no criu on PATH",
                "checkpoint and restore fail (install criu for them)",
            )
        }
    };
    if caller.rootless {
        return Fact::warn(
            "criu",
            format!("CRIU {version}; you are not root"),
            "checkpoint and restore need root (as with runc)",
        );
    }
    match crate::checkpoint::criu_check() {
        CheckOutcome::Passes => Fact::ok(
            "criu",
            format!("CRIU {version}: criu check passes"),
            "checkpoint and restore work",
        ),
        CheckOutcome::Fails(lines) => {
            let first_error = lines
                .iter()
                .find(|l| l.contains("Error"))
                .or(lines.last())
                .cloned()
                .unwrap_or_default();
            Fact::warn(
                "criu",
                format!("CRIU {version}: criu check fails: {first_error}"),
                "checkpoint and restore fail on this kernel",
            )
        }
        CheckOutcome::Missing => Fact::warn(
            "criu",
            format!("CRIU {version}: criu check could not be run"),
            "checkpoint and restore fail",
        ),
    }
}
