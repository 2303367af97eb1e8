//! `events`: the container's cgroup counters as JSON lines, once
//! (`--stats`) or every interval, with an `oom` line whenever the OOM
//! killer strikes in the container's cgroup. The stream ends when the
//! container's init is gone.

use std::io::Write;
use std::time::{Duration, Instant};

/// One line of the stream, in runc's field order (`type`, `id`, `data`),
/// which callers that match the text rely on.
#[derive(serde::Serialize)]
struct Event<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<crate::cgroups::stats::Stats>,
}

use super::{init_alive, Container, Status};
use crate::error::{Error, Result};
use crate::state::Root;

/// How often the stream looks for OOM kills and for the init's exit.
const POLL: Duration = Duration::from_millis(100);

pub fn events(
    root: &Root,
    id: &str,
    stats_once: bool,
    interval: Duration,
    out: &mut dyn Write,
) -> Result<()> {
    // Read what is needed, then let go of the container's lock: a stream
    // must not block kill or delete.
    let (saved, status) = {
        let c = Container::open(root, id)?;
        let status = c.status();
        (c.saved, status)
    };
    if status == Status::Stopped {
        return Err(Error::WrongState {
            id: id.into(),
            status: status.to_string(),
            msg: "container is not running".into(),
        });
    }
    let cgroup = crate::cgroups::manager(&saved.cgroup);
    let mut emit = |ev: Event| -> Result<()> {
        let line = serde_json::to_string(&ev).map_err(|e| Error::Other(e.to_string()))?;
        writeln!(out, "{line}")
            .and_then(|_| out.flush())
            .map_err(|e| Error::sys("write events", e))
    };
    let stats = |cg: &dyn crate::cgroups::Manager| Event {
        kind: "stats",
        id,
        data: Some(cg.stats()),
    };
    if stats_once {
        return emit(stats(cgroup.as_ref()));
    }
    let mut ooms = cgroup.oom_kills();
    let watch = OomWatch::new(cgroup.oom_events_file().as_deref());
    let mut next = Instant::now();
    loop {
        let alive = init_alive(&saved);
        let now_ooms = cgroup.oom_kills();
        if now_ooms > ooms {
            emit(Event {
                kind: "oom",
                id,
                data: None,
            })?;
            ooms = now_ooms;
        }
        if !alive {
            return Ok(());
        }
        if Instant::now() >= next {
            emit(stats(cgroup.as_ref()))?;
            next += interval;
        }
        watch.wait(POLL.min(interval));
    }
}

/// Wakes the loop as soon as the kernel notifies a change of the
/// cgroup's OOM counters (v2's memory.events), so that a kill is counted
/// before the cgroup can go: with the systemd driver, an init killed by
/// the OOM killer empties its scope, and systemd removes the scope's
/// cgroup at once. Without the file (v1), the loop polls.
struct OomWatch(Option<nix::sys::inotify::Inotify>);

impl OomWatch {
    fn new(file: Option<&std::path::Path>) -> OomWatch {
        use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
        OomWatch(file.and_then(|f| {
            let ino = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK).ok()?;
            ino.add_watch(f, AddWatchFlags::IN_MODIFY).ok()?;
            Some(ino)
        }))
    }

    fn wait(&self, most: Duration) {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        use std::os::fd::AsFd;
        let Some(ino) = &self.0 else {
            std::thread::sleep(most);
            return;
        };
        let ms = PollTimeout::try_from(most.as_millis() as i32).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(ino.as_fd(), PollFlags::POLLIN)];
        if matches!(poll(&mut fds, ms), Ok(n) if n > 0) {
            let _ = ino.read_events();
        }
    }
}

/// A duration as runc's --interval takes it (Go's syntax: 5s, 100ms,
/// 1m30s); a bare number is seconds.
pub fn parse_interval(s: &str) -> Result<Duration> {
    let bad = || {
        Error::Other(format!(
            "--interval: {s:?} is not a duration (e.g. 5s, 500ms)"
        ))
    };
    if let Ok(secs) = s.parse::<f64>() {
        return (secs > 0.0)
            .then(|| Duration::from_secs_f64(secs))
            .ok_or_else(bad);
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let n_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let n: f64 = rest[..n_end].parse().map_err(|_| bad())?;
        rest = &rest[n_end..];
        let u_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..u_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += n * scale;
        rest = &rest[u_end..];
    }
    if total <= 0.0 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_interval("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_interval("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_interval("2").unwrap(), Duration::from_secs(2));
        for bad in ["", "5x", "s", "0s", "-1"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }
}
