use std::path::PathBuf;

use anyhow::Result;
use berth::container::exec::{exec, ExecOptions};
use berth::container::exec_process::ProcessFlags;
use berth::state::Root;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// An OCI process JSON file: the process to run (instead of a command).
    #[arg(short, long)]
    pub process: Option<PathBuf>,
    /// Allocate a pseudo-terminal (default: none; with --process, the
    /// file's "terminal").
    #[arg(short, long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub tty: Option<bool>,
    /// Unix socket that receives the pty master (with --detach and a tty).
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Return once the process has started, without waiting for it.
    #[arg(short, long)]
    pub detach: bool,
    /// Write the process's pid to this file.
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Set an environment variable (KEY=VALUE); repeatable.
    #[arg(short, long)]
    pub env: Vec<String>,
    /// Working directory in the container.
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// Run as UID[:GID].
    #[arg(short, long)]
    pub user: Option<String>,
    /// An additional group id; repeatable.
    #[arg(short = 'g', long)]
    pub additional_gids: Vec<u32>,
    /// Add a capability (bounding, effective, permitted); repeatable.
    #[arg(short, long)]
    pub cap: Vec<String>,
    /// Set no_new_privs for the process.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub no_new_privs: Option<bool>,
    /// AppArmor profile (default: the container's).
    #[arg(long)]
    pub apparmor: Option<String>,
    /// SELinux process label (default: the container's).
    #[arg(long)]
    pub process_label: Option<String>,
    /// Pass fds 3..3+N to the process.
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    /// Allow exec in a paused container.
    #[arg(long)]
    pub ignore_paused: bool,
    /// Run in a sub-cgroup of the container's: PATH, or
    /// CONTROLLER[,CONTROLLER]:PATH on cgroup v1; repeatable.
    #[arg(long = "cgroup")]
    pub cgroup: Vec<String>,
    /// Unix socket that receives a pidfd of the process.
    #[arg(long)]
    pub pidfd_socket: Option<PathBuf>,
    /// The container's id, then the command and its arguments. Everything
    /// after the id belongs to the command, even words that look like
    /// flags (as in runc).
    #[arg(
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ID [COMMAND [ARG]...]"
    )]
    pub id_and_command: Vec<String>,
}

pub fn run(root: &Root, a: Args) -> Result<u8> {
    let code = inner(root, a).map_err(|e| anyhow::Error::new(super::ExecFailed(e)))?;
    Ok(code.clamp(0, 255) as u8)
}

fn inner(root: &Root, a: Args) -> Result<i32> {
    super::prepare_to_enter(root, a.preserve_fds)?;
    let mut rest = a.id_and_command.into_iter();
    let id = rest.next().unwrap_or_default();
    let o = ExecOptions {
        process: ProcessFlags {
            file: a.process,
            args: rest.collect(),
            tty: a.tty,
            env: a.env,
            cwd: a.cwd,
            user: a.user,
            additional_gids: a.additional_gids,
            caps: a.cap,
            no_new_privs: a.no_new_privs,
            apparmor: a.apparmor,
            process_label: a.process_label,
        },
        console_socket: a.console_socket,
        detach: a.detach,
        pid_file: a.pid_file,
        preserve_fds: a.preserve_fds,
        ignore_paused: a.ignore_paused,
        sub_cgroups: a.cgroup,
        pidfd_socket: a.pidfd_socket,
    };
    Ok(exec(root, &id, &o)?)
}
