//! `kill`: a signal to the init, or with --all to every process in the
//! container's cgroup.

use nix::sys::signal::{kill as send, Signal};
use nix::unistd::Pid;

use super::{Container, Status};
use crate::error::{Error, Result};
use crate::state::Root;

/// Parse a signal as runc does: a number, or a name with or without SIG.
/// 0 is no signal (`None`): kill(2)'s check that the process is there.
pub fn parse_signal(s: &str) -> Result<Option<Signal>> {
    if let Ok(n) = s.parse::<i32>() {
        if n == 0 {
            return Ok(None);
        }
        return Signal::try_from(n)
            .map(Some)
            .map_err(|_| Error::Other(format!("unknown signal {s:?}")));
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse::<Signal>()
        .map(Some)
        .map_err(|_| Error::Other(format!("unknown signal {s:?}")))
}

pub fn kill(root: &Root, id: &str, sig: Option<Signal>, all: bool) -> Result<()> {
    let c = Container::open(root, id)?;
    let status = c.status();
    if status == Status::Stopped && !all {
        return Err(Error::WrongState {
            id: id.into(),
            status: status.to_string(),
            msg: "container not running".into(),
        });
    }
    crate::logging::debug(&format!(
        "kill {id}: {} to {}",
        sig.map_or("signal 0", |s| s.as_str()),
        if all {
            "every process".to_string()
        } else {
            format!("init {}", c.saved.pid)
        }
    ));
    if all {
        for pid in c.cgroup().pids()? {
            let _ = send(Pid::from_raw(pid), sig);
        }
    } else {
        send(Pid::from_raw(c.saved.pid), sig)
            .map_err(|e| Error::sys(format!("kill {}", c.saved.pid), e))?;
    }
    // A v1-frozen task only dies once thawed (v2 lets SIGKILL through, but
    // whatever outlives the init must not stay frozen either): as runc
    // does, SIGKILL thaws a paused container. Other signals stay pending.
    if sig == Some(Signal::SIGKILL) && status == Status::Paused {
        crate::cgroups::freezer::thaw_if_frozen(&c.saved.cgroup);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names() {
        assert_eq!(parse_signal("9").unwrap(), Some(Signal::SIGKILL));
        assert_eq!(parse_signal("KILL").unwrap(), Some(Signal::SIGKILL));
        assert_eq!(parse_signal("sigterm").unwrap(), Some(Signal::SIGTERM));
        assert_eq!(parse_signal("SIGUSR1").unwrap(), Some(Signal::SIGUSR1));
        assert_eq!(parse_signal("0").unwrap(), None);
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("99").is_err());
    }
}
