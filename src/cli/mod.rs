//! The commands and their flags, as runc spells them.

mod check;
mod checkpoint;
mod completion;
mod create;
mod delete;
pub mod early;
mod events;
mod exec;
mod features;
mod kill;
mod list;
mod pause;
mod ps;
mod restore;
mod resume;
mod run;
mod spec;
mod start;
mod state;
mod update;

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Parser, Subcommand, ValueEnum};

/// The state root without `--root`, as runc's /run/runc.
pub const DEFAULT_ROOT: &str = "/run/berth";

/// `berth -v` / `--version`, in runc's three lines (clap prints the name,
/// a space, then this): `berth version X`, `commit: C`, `spec: S`.
const VERSION: &str = concat!(
    "version ",
    env!("CARGO_PKG_VERSION"),
    "\ncommit: ",
    env!("BERTH_COMMIT"),
    "\nspec: 1.3.0"
);

#[derive(Parser, Debug)]
#[command(
    name = "berth",
    version = VERSION,
    disable_version_flag = true,
    about = "A low-level OCI container runtime, a drop-in replacement for runc",
    after_help = "Example:\n  berth spec && berth run --bundle . demo\n  berth check    # what this host offers berth"
)]
pub struct Cli {
    /// Print the version (-v, as runc).
    #[arg(short = 'v', long = "version", action = clap::ArgAction::Version)]
    version: (),
    /// Directory for the state of containers [default: /run/berth].
    #[arg(long, global = true)]
    pub root: Option<PathBuf>,
    /// Write log messages (and errors) to this file instead of stderr.
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// Format of the log: text or json.
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Log debug messages.
    #[arg(long, global = true)]
    pub debug: bool,
    /// Use systemd's cgroup driver: linux.cgroupsPath is slice:prefix:name
    /// and the cgroup is a transient unit (create and run; the other
    /// commands follow what create recorded).
    #[arg(long, global = true)]
    pub systemd_cgroup: bool,
    /// Rootless mode: true, false or auto (true for a caller that is not
    /// root): without a cgroup the caller may make, the container gets
    /// none.
    #[arg(long, default_value = "auto", num_args = 0..=1, default_missing_value = "true")]
    pub rootless: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a container from a bundle; its process waits for `start`.
    #[command(
        after_help = "Example:\n  berth create --bundle /containers/web --pid-file /run/web.pid web\n  berth start web"
    )]
    Create(create::Args),
    /// Start a created container's process.
    #[command(after_help = "Example:\n  berth create --bundle ./bundle web && berth start web")]
    Start(start::Args),
    /// Print a container's state as JSON.
    #[command(after_help = "Example:\n  berth state web")]
    State(state::Args),
    /// Send a signal to a container's init (or every process with --all).
    #[command(
        after_help = "Example:\n  berth kill web            # SIGTERM\n  berth kill web KILL\n  berth kill --all web KILL"
    )]
    Kill(kill::Args),
    /// Delete a stopped container (--force: also a running one).
    #[command(
        after_help = "Example:\n  berth delete web\n  berth delete --force web   # also a running one"
    )]
    Delete(delete::Args),
    /// Create and start a container, and wait for it unless --detach.
    #[command(
        after_help = "Example:\n  berth run --bundle ./bundle demo      # in the foreground\n  berth run -d --bundle ./bundle demo   # detached"
    )]
    Run(run::Args),
    /// Run a process in a created or running container.
    #[command(
        after_help = "Example:\n  berth exec web ls /\n  berth exec -t web sh\n  berth exec --process process.json web"
    )]
    Exec(exec::Args),
    /// List containers.
    #[command(after_help = "Example:\n  berth list\n  berth list --format json")]
    List(list::Args),
    /// Freeze every process of a running container.
    #[command(after_help = "Example:\n  berth pause web && berth resume web")]
    Pause(pause::Args),
    /// Thaw a paused container.
    #[command(after_help = "Example:\n  berth pause web && berth resume web")]
    Resume(resume::Args),
    /// List a container's processes (host pids): the host's ps output
    /// for them, or a JSON array of pids.
    #[command(after_help = "Example:\n  berth ps web\n  berth ps --format json web")]
    Ps(ps::Args),
    /// Write a default config.json to a bundle.
    #[command(
        after_help = "Example:\n  mkdir -p bundle/rootfs && cd bundle && berth spec\n  berth spec --rootless"
    )]
    Spec(spec::Args),
    /// Print the features berth supports (runtime-spec features.md).
    #[command(after_help = "Example:\n  berth features")]
    Features,
    /// Print a container's cgroup stats and OOM events as JSON lines.
    #[command(
        after_help = "Example:\n  berth events web                # OOM events as they come\n  berth events --stats web        # stats once\n  berth events --interval 2s web  # stats every 2 s"
    )]
    Events(events::Args),
    /// Change a running container's resource limits.
    #[command(
        after_help = "Example:\n  berth update --memory 512m --pids-limit 100 web\n  berth update --resources resources.json web"
    )]
    Update(Box<update::Args>),
    /// Dump a running container to image files through CRIU.
    #[command(
        after_help = "Example:\n  berth checkpoint --image-path /tmp/cp web\n  berth checkpoint --leave-running --image-path /tmp/cp web"
    )]
    Checkpoint(Box<checkpoint::Args>),
    /// Restore a container from CRIU's image files.
    #[command(
        after_help = "Example:\n  berth restore -d --bundle ./bundle --image-path /tmp/cp web"
    )]
    Restore(Box<restore::Args>),
    /// Check what this host offers berth: cgroups, kernel features,
    /// privileges, security modules, systemd and CRIU.
    #[command(after_help = "Example:\n  berth check\n  berth check --format json")]
    Check(check::Args),
    /// Print a shell completion script for berth (bash, zsh or fish).
    #[command(
        after_help = "Example:\n  berth completion bash >/usr/share/bash-completion/completions/berth\n  source <(berth completion bash)"
    )]
    Completion(completion::Args),
    /// Write berth's man pages (berth.8, berth-COMMAND.8) into a directory
    /// (`make man` calls it).
    #[command(hide = true)]
    Man(completion::ManArgs),
}

/// The global flags `create` and `run` pass on.
pub struct Globals {
    pub systemd_cgroup: bool,
    pub rootless: bool,
}

/// The state root without `--root`: runc's choice, $XDG_RUNTIME_DIR/berth
/// for a caller that is not root (when the variable is set), else
/// DEFAULT_ROOT. Root of a user namespace counts as not root unless $USER
/// says root (rootless Podman's runtime calls keep the user's $USER).
pub fn default_root() -> std::path::PathBuf {
    let honour_xdg = if !nix::unistd::geteuid().is_root() {
        true
    } else {
        berth::userns::running_in() && std::env::var("USER").map_or(true, |u| u != "root")
    };
    if honour_xdg {
        if let Some(x) = std::env::var_os("XDG_RUNTIME_DIR").filter(|x| !x.is_empty()) {
            return std::path::PathBuf::from(x).join("berth");
        }
    }
    std::path::PathBuf::from(DEFAULT_ROOT)
}

/// `--rootless auto`, as runc decides it: a caller that is not root has
/// no other way; the host's root is not rootless; root of a user
/// namespace (rootless Podman) is, except that with --systemd-cgroup and
/// no user bus to reach it talks to the system's systemd as root.
fn rootless_auto(systemd_cgroup: bool) -> bool {
    if !nix::unistd::geteuid().is_root() {
        true
    } else if !berth::userns::running_in() {
        false
    } else if systemd_cgroup {
        berth::cgroups::systemd::user_bus_path().is_some()
    } else {
        true
    }
}

pub fn dispatch(cli: Cli) -> Result<u8> {
    let rootless = match cli.rootless.as_str() {
        "false" => false,
        "true" => true,
        "auto" => rootless_auto(cli.systemd_cgroup),
        other => bail!("--rootless: {other:?} is not one of true, false, auto"),
    };
    let globals = Globals {
        systemd_cgroup: cli.systemd_cgroup,
        rootless,
    };
    let explicit_root = cli.root.is_some();
    let root = berth::state::Root::new(&cli.root.clone().unwrap_or_else(default_root));
    match cli.command {
        Command::Create(a) => create::run(&root, a, &globals),
        Command::Start(a) => start::run(&root, a),
        Command::State(a) => state::run(&root, a),
        Command::Kill(a) => kill::run(&root, a),
        Command::Delete(a) => delete::run(&root, a),
        Command::Run(a) => run::run(&root, a, &globals),
        Command::Exec(a) => exec::run(&root, a),
        Command::List(a) => list::run(&root, explicit_root, a),
        Command::Pause(a) => pause::run(&root, a),
        Command::Resume(a) => resume::run(&root, a),
        Command::Ps(a) => ps::run(&root, a),
        Command::Checkpoint(a) => checkpoint::run(&root, *a, &globals),
        Command::Restore(a) => restore::run(&root, *a, &globals),
        Command::Spec(a) => spec::run(a),
        Command::Features => features::run(),
        Command::Check(a) => check::run(a),
        Command::Completion(a) => completion::run(a),
        Command::Man(a) => completion::man(a),
        Command::Update(a) => update::run(&root, *a),
        Command::Events(a) => events::run(&root, a),
    }
}

/// Whether an error comes from what this host lacks (a capability, a
/// controller, a kernel feature, a security module, user namespaces,
/// CRIU) rather than from the config: such errors point to `berth check`.
pub fn host_dependent(msg: &str) -> bool {
    const SIGNS: &[&str] = &[
        "operation not permitted",
        "function not implemented",
        "not enabled on this host",
        "controller is not available",
        "controller (for",
        "needs cap_",
        "bounding set",
        "user namespace",
        "criu check",
        "no swap accounting",
        "no real-time cpu controller",
    ];
    let m = msg.to_ascii_lowercase();
    SIGNS.iter().any(|s| m.contains(s))
}

/// A failed `exec`: it exits 255 (see `failure_status`).
#[derive(Debug)]
pub struct ExecFailed(pub anyhow::Error);

impl std::fmt::Display for ExecFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exec failed: {:#}", self.0)
    }
}

impl std::error::Error for ExecFailed {}

/// The exit status for an error from `dispatch`: 1, but `exec` exits 255 for every failure of its own (an unknown, stopped or
/// paused container, a bad flag, a process that could not start), as
/// runc does, so that it stands apart from the process's own status.
pub fn failure_status(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<ExecFailed>() {
        Some(_) => 255,
        None => 1,
    }
}

/// Before entering a container: check the fds the caller says it passes,
/// then re-exec from a read-only view or a sealed copy of berth
/// (CVE-2019-5736).
pub fn prepare_to_enter(root: &berth::state::Root, preserve_fds: u32) -> Result<()> {
    if let Some(fd) = berth::process::exec::first_closed_fd(preserve_fds) {
        return Err(berth::error::Error::InvalidConfig(format!(
            "--preserve-fds {preserve_fds}: fd {fd} is not open"
        ))
        .into());
    }
    root.ensure()?;
    berth::process::sealed::reexec_sealed(&root.path)?;
    Ok(())
}

#[cfg(test)]
mod help_tests {
    #[test]
    fn host_errors_point_to_check() {
        assert!(super::host_dependent(
            "config.json: process.oomScoreAdj: -500 (lowering it needs CAP_SYS_RESOURCE)"
        ));
        assert!(super::host_dependent(
            "linux.resources.hugepageLimits: no cgroup hierarchy on this host has the hugetlb controller (for x)"
        ));
        assert!(!super::host_dependent("config.json: process.args: missing"));
        assert!(!super::host_dependent("container web does not exist"));
    }

    use clap::CommandFactory;

    /// Every command says what it does and shows an example; every flag
    /// says what it does.
    #[test]
    fn every_command_and_flag_is_described() {
        let mut cmd = super::Cli::command();
        cmd.build();
        let mut missing = Vec::new();
        for sub in cmd.get_subcommands() {
            let name = sub.get_name();
            if sub.is_hide_set() || name == "help" {
                continue;
            }
            if sub.get_about().is_none() {
                missing.push(format!("{name}: no description"));
            }
            if !sub
                .get_after_help()
                .is_some_and(|h| h.to_string().contains("Example"))
            {
                missing.push(format!("{name}: no example"));
            }
            for arg in sub.get_arguments() {
                if arg.get_help().is_none() && arg.get_id() != "help" {
                    missing.push(format!("{name} {}: no help", arg.get_id()));
                }
            }
        }
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }
}
