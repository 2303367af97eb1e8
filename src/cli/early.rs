//! The re-exec of `create`, `run` and `exec` (CVE-2019-5736, see
//! `process::sealed`), made before clap parses the command line: parsing
//! it twice, once in each process, cost ~0.3 ms of every `run`.
//!
//! This only looks for the command's name among the arguments and for
//! `--root`. It may guess wrong both ways, and that is harmless: a wrong
//! "yes" (a container named `run`) costs one exec, and on a wrong "no"
//! `prepare_to_enter` re-executes after parsing, as before. Only the
//! overlayfs view is tried here; errors, and the memfd copy with the
//! debug line that reports it, are left to that later call.

use std::ffi::OsString;
use std::path::PathBuf;

const ENTERING: &[&str] = &["create", "run", "exec"];

pub fn reexec_before_parsing() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if !args.iter().any(|a| ENTERING.iter().any(|c| a == *c)) {
        return;
    }
    let root = state_root(&args);
    // The state root is a layer of the overlayfs view; making it is the
    // command's business, after its arguments are checked.
    if root.is_dir() {
        let _ = berth::process::sealed::reexec_from_view(&root);
    }
}

/// The last `--root DIR` or `--root=DIR`, else runc's default.
fn state_root(args: &[OsString]) -> PathBuf {
    let mut root = super::default_root();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let a = a.to_string_lossy();
        if a == "--" {
            break;
        }
        if a == "--root" {
            if let Some(v) = it.next() {
                root = PathBuf::from(v);
            }
        } else if let Some(v) = a.strip_prefix("--root=") {
            root = PathBuf::from(v);
        }
    }
    root
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn root_from_either_spelling_last_wins_default_runc() {
        assert_eq!(state_root(&os(&["run", "x"])), PathBuf::from("/run/berth"));
        assert_eq!(
            state_root(&os(&["--root", "/a", "run", "x"])),
            PathBuf::from("/a")
        );
        assert_eq!(
            state_root(&os(&["run", "--root=/b", "x"])),
            PathBuf::from("/b")
        );
        assert_eq!(
            state_root(&os(&["--root", "/a", "exec", "--root=/c", "x"])),
            PathBuf::from("/c")
        );
        assert_eq!(
            state_root(&os(&["exec", "x", "--", "sh", "--root", "/d"])),
            PathBuf::from("/run/berth")
        );
    }
}
