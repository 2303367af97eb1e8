//! Root only, against this host's kernel: the generated filter passes the
//! verifier, attaches to a cgroup2 directory, is enforced on a process
//! there, and a second apply replaces it; a bad program comes back with
//! the verifier's log. Skipped, saying why, when not root or when there is
//! no cgroup2 hierarchy. The test cgroup is a new directory of its own at
//! the top of the cgroup2 hierarchy, removed even when a check fails.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::Command;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceCgroupBuilder};

use super::bpf::{self, Insn};
use super::device_filter;

/// None (and a note on stderr) when this test cannot run here.
fn cgroup2_root(test: &str) -> Option<PathBuf> {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skip {test}: needs root (bpf(2) and cgroup directories)");
        return None;
    }
    let layout = super::Layout::detect().ok()?;
    match layout.unified {
        Some((mount, _)) => Some(mount),
        None => {
            eprintln!("skip {test}: no cgroup2 hierarchy mounted on this host");
            None
        }
    }
}

/// A cgroup made for one test, removed on drop.
struct TestCgroup(PathBuf);

impl TestCgroup {
    fn new(root: &Path, name: &str) -> TestCgroup {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir = root.join(format!(
            "berth-unittest-{name}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        TestCgroup(dir)
    }

    fn program_ids(&self) -> Vec<u32> {
        let f = std::fs::File::open(&self.0).unwrap();
        bpf::device_program_ids(f.as_fd()).unwrap()
    }

    /// Run `script` in a shell that first moves itself into this cgroup;
    /// its stdout and stderr.
    fn sh(&self, script: &str) -> String {
        let procs = self.0.join("cgroup.procs");
        let full = format!("echo $$ >'{}' || exit 99\n{script}", procs.display());
        let out = Command::new("/bin/sh")
            .args(["-c", &full])
            .output()
            .unwrap();
        assert_ne!(
            out.status.code(),
            Some(99),
            "could not join {}",
            self.0.display()
        );
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        // The shells have been waited for; the kernel may still be
        // finishing them, which remove_dir waits out.
        if let Err(e) = super::remove_dir(&self.0) {
            eprintln!("warning: test cgroup {} left behind: {e}", self.0.display());
        }
    }
}

fn deny_all() -> LinuxDeviceCgroup {
    LinuxDeviceCgroupBuilder::default()
        .allow(false)
        .access("rwm")
        .build()
        .unwrap()
}

fn allow_all() -> LinuxDeviceCgroup {
    LinuxDeviceCgroupBuilder::default()
        .allow(true)
        .access("rwm")
        .build()
        .unwrap()
}

// /dev/kmsg (1:11) is not among berth's default devices; /dev/zero is.
const PROBE: &str = "for d in /dev/zero /dev/kmsg; do if : <$d; then echo \"$d opened\"; fi; done";

#[test]
fn kernel_accepts_enforces_and_replaces_the_filter() {
    let Some(root) = cgroup2_root("kernel_accepts_enforces_and_replaces_the_filter") else {
        return;
    };
    assert!(
        Path::new("/dev/kmsg").exists(),
        "/dev/kmsg is missing on this host"
    );
    let cg = TestCgroup::new(&root, "devfilter");
    assert_eq!(
        cg.program_ids(),
        Vec::<u32>::new(),
        "programs on a new cgroup"
    );
    let before = cg.sh(PROBE);
    assert_eq!(
        before, "/dev/zero opened\n/dev/kmsg opened\n",
        "without a filter"
    );

    // berth spec's rules: deny all, then the defaults.
    device_filter::apply(&cg.0, &[deny_all()]).expect("apply deny-all");
    let first = cg.program_ids();
    assert_eq!(first.len(), 1, "programs after the first apply: {first:?}");
    let out = cg.sh(PROBE);
    assert!(out.starts_with("/dev/zero opened\n"), "{out}");
    assert!(!out.contains("/dev/kmsg opened"), "{out}");
    assert!(out.contains("Operation not permitted"), "{out}");

    // Again, now ending in allow-all: one program, a new one, kmsg opens.
    device_filter::apply(&cg.0, &[deny_all(), allow_all()]).expect("apply allow-all");
    let second = cg.program_ids();
    assert_eq!(
        second.len(),
        1,
        "programs after the second apply: {second:?}"
    );
    assert_ne!(second, first, "the first program is still the one attached");
    assert_eq!(cg.sh(PROBE), before, "with allow-all");

    // And back: the replacement really is what the kernel enforces.
    device_filter::apply(&cg.0, &[deny_all()]).expect("apply deny-all again");
    assert_eq!(cg.program_ids().len(), 1);
    assert!(!cg.sh(PROBE).contains("/dev/kmsg opened"));
}

#[test]
fn verifier_refusal_carries_its_log() {
    if cgroup2_root("verifier_refusal_carries_its_log").is_none() {
        return;
    }
    // Returns r0 without ever setting it.
    let err = bpf::load_device_program(&[Insn::exit()], "berth_bad")
        .expect_err("the verifier accepted a program that never sets r0")
        .to_string();
    assert!(err.contains("verifier log"), "{err}");
    assert!(err.contains("R0"), "{err}");
}
