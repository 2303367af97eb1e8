//! `ps`: the host pids in a container's cgroup, and the filter that keeps
//! only their lines of the host's `ps` output.

use super::Container;
use crate::cgroups::procs::all_pids;
use crate::error::{Error, Result};
use crate::state::Root;

/// Sorted host pids of every process in the container's cgroup (empty once
/// the container has stopped and its cgroup has emptied).
pub fn pids(root: &Root, id: &str) -> Result<Vec<i32>> {
    let c = Container::open(root, id)?;
    all_pids(&c.saved.cgroup)
}

/// Keep the header of `ps` output and the lines whose PID column holds
/// one of `pids`. The PID column is found by its name in the header.
pub fn filter_table(output: &str, pids: &[i32]) -> Result<String> {
    let mut lines = output.lines();
    let header = lines
        .next()
        .ok_or_else(|| Error::Other("ps printed nothing (not even a header)".into()))?;
    let col = header
        .split_whitespace()
        .position(|f| f == "PID")
        .ok_or_else(|| {
            Error::Other(format!(
                "no PID column in ps's header {header:?}: give ps options that print the pid"
            ))
        })?;
    let mut out = format!("{header}\n");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(col)
            .and_then(|f| f.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PS_EF: &str = "\
UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 10:00 ?        00:00:01 /sbin/init
root         412       1  0 10:01 ?        00:00:00 sh -c sleep 1000 & wait
root         413     412  0 10:01 ?        00:00:00 sleep 1000
root        4120       1  0 10:02 pts/0    00:00:00 bash
";

    #[test]
    fn keeps_header_and_container_lines() {
        let out = filter_table(PS_EF, &[412, 413]).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("UID          PID"));
        assert!(lines[1].contains("sh -c sleep"));
        assert!(lines[2].contains("sleep 1000"));
        // A pid that only appears in another column (PPID 412) is not kept.
        assert!(!out.contains("bash"));
    }

    #[test]
    fn finds_the_pid_column_anywhere() {
        let ps = "COMMAND PID\nsleep 7\nsh 8\n";
        assert_eq!(filter_table(ps, &[8]).unwrap(), "COMMAND PID\nsh 8\n");
        assert_eq!(filter_table(ps, &[]).unwrap(), "COMMAND PID\n");
    }

    #[test]
    fn no_pid_column_is_an_error() {
        let err = filter_table("USER COMMAND\nroot sh\n", &[1])
            .unwrap_err()
            .to_string();
        assert!(err.contains("no PID column"), "{err}");
        assert!(filter_table("", &[1]).is_err());
    }
}
