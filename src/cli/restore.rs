use std::path::PathBuf;

use anyhow::{bail, Result};
use berth::checkpoint::{self, RestoreOptions};
use berth::container::{delete::delete, run as fg};
use berth::state::Root;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub shared: super::checkpoint::Shared,
    /// Path to the bundle (the directory with config.json).
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Return once restored, instead of waiting for the container.
    #[arg(short, long)]
    pub detach: bool,
    /// Write the restored init's pid to this file.
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Unix socket that receives the restored pty master.
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Do not become a subreaper while waiting.
    #[arg(long)]
    pub no_subreaper: bool,
    /// Refused: CRIU restores the mount namespace and its root itself.
    #[arg(long)]
    pub no_pivot: bool,
    /// The container's id.
    pub id: String,
}

pub fn run(root: &Root, a: Args, g: &super::Globals) -> Result<u8> {
    if a.no_pivot {
        bail!("--no-pivot: a restored container's root comes from CRIU's images, not from pivot_root; the flag has no meaning for restore");
    }
    let o = RestoreOptions {
        common: a.shared.common()?,
        bundle: a.bundle.clone(),
        pid_file: a.pid_file.clone(),
        console_socket: a.console_socket.clone(),
        systemd_cgroup: g.systemd_cgroup,
        rootless: g.rootless,
    };
    if a.detach {
        checkpoint::restore(root, &a.id, &o)?;
        return Ok(0);
    }
    // In the foreground, as `run`: the restored init is this process's
    // child (CRIU restores it as its sibling); signals go to it, its exit
    // status is ours, and the container goes with it.
    if !a.no_subreaper {
        fg::become_subreaper();
    }
    let set = fg::block_signals()?;
    let pid = checkpoint::restore(root, &a.id, &o)?;
    let code = fg::wait(pid, set, None);
    let _ = delete(root, &a.id, true);
    Ok(code? as u8)
}
