//! The `--log` / `--log-format` sink. Engines read berth's errors from this
//! file: with `json` every line is one object `{"level","msg","time"}` as
//! runc writes them, and the last `error` line is what their user sees.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::Mutex;
use std::sync::OnceLock;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
    /// Above every level: nothing is written.
    Off,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warning",
            Level::Error => "error",
            Level::Off => "off",
        }
    }
}

struct Sink {
    file: Option<File>,
    json: bool,
    min: Level,
}

static SINK: OnceLock<Mutex<Sink>> = OnceLock::new();

/// Set up the log sink once, at start-up. Without a file, warnings and
/// debug output go to stderr (text), errors are printed by `main`.
pub fn init(path: Option<&std::path::Path>, json: bool, debug: bool) -> std::io::Result<()> {
    let file = match path {
        Some(p) => Some(OpenOptions::new().create(true).append(true).open(p)?),
        None => None,
    };
    let min = if debug { Level::Debug } else { Level::Warn };
    let _ = SINK.set(Mutex::new(Sink { file, json, min }));
    Ok(())
}

/// Close the log file and write nothing more from this process: the
/// container's init does this before it waits for `start`, so that no fd
/// of the host's is open in it (what it still has to say goes to the
/// runtime over its channel).
pub fn close_file() {
    if let Some(Ok(mut sink)) = SINK.get().map(|s| s.lock()) {
        sink.file = None;
        sink.min = Level::Off;
    }
}

/// True when a `--log` file was given.
pub fn has_file() -> bool {
    SINK.get()
        .and_then(|s| s.lock().ok().map(|s| s.file.is_some()))
        .unwrap_or(false)
}

pub fn log(level: Level, msg: &str) {
    let Some(sink) = SINK.get() else { return };
    let Ok(mut sink) = sink.lock() else { return };
    if level < sink.min {
        return;
    }
    let line = if sink.json {
        let obj = serde_json::json!({"level": level.as_str(), "msg": msg, "time": now_rfc3339()});
        format!("{obj}\n")
    } else {
        format!(
            "time=\"{}\" level={} msg={:?}\n",
            now_rfc3339(),
            level.as_str(),
            msg
        )
    };
    match sink.file.as_mut() {
        Some(f) => {
            let _ = f.write_all(line.as_bytes());
        }
        // Errors without a log file are printed once by main; everything
        // else goes to stderr so a person at a shell sees it.
        None if level != Level::Error => {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
        None => {}
    }
}

pub fn warn(msg: &str) {
    log(Level::Warn, msg)
}

pub fn debug(msg: &str) {
    log(Level::Debug, msg)
}

/// The current UTC time as RFC 3339 with nanoseconds, without a date crate.
pub fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(now.as_secs() as i64, now.subsec_nanos())
}

pub fn rfc3339(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(rfc3339(951_782_400, 5), "2000-02-29T00:00:00.000000005Z");
        assert_eq!(rfc3339(1_798_761_599, 0), "2026-12-31T23:59:59.000000000Z");
    }
}
