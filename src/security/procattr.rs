//! Writes to the calling thread's `/proc/thread-self/attr/*` files, which
//! is how a process asks its LSM for a label on its next execve.
//!
//! These writes happen inside the container, after pivot_root (or after
//! exec's chroot), where `/proc` is whatever the container mounted there.
//! A fake /proc (a bind mount over /proc/self/attr, a tmpfs on /proc) would
//! silently swallow the write and leave the process unconfined, so the file
//! is opened through pathrs' ProcfsHandle: a procfs of its own (fsopen, or a
//! verified open_tree of /proc), checked to be procfs with nothing mounted
//! over the path, never the container's view.

use std::io::Write;

use pathrs::flags::OpenFlags;
use pathrs::procfs::{ProcfsBase, ProcfsHandle};

use crate::error::{Error, Result};

/// Write `value` in one write(2) to the first of `candidates` (paths under
/// /proc/thread-self) that exists. `field` starts each error.
pub fn write_thread_attr(candidates: &[&str], value: &str, field: &str) -> Result<()> {
    let proc = ProcfsHandle::new()
        .map_err(|e| Error::Other(format!("{field}: open a verified procfs: {e}")))?;
    let mut last = None;
    for path in candidates {
        match proc.open(ProcfsBase::ProcThreadSelf, path, OpenFlags::O_WRONLY) {
            Ok(mut f) => {
                // One write: the LSMs parse each write(2) as a whole command.
                let n = f.write(value.as_bytes()).map_err(|e| {
                    Error::sys(format!("{field}: write /proc/thread-self/{path}"), e)
                })?;
                if n != value.len() {
                    return Err(Error::Other(format!(
                        "{field}: short write to /proc/thread-self/{path}"
                    )));
                }
                return Ok(());
            }
            Err(e) => last = Some(format!("/proc/thread-self/{path}: {e}")),
        }
    }
    Err(Error::Other(format!(
        "{field}: {}",
        last.unwrap_or_else(|| "no attr file to write".into())
    )))
}
