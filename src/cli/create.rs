use std::path::PathBuf;

use anyhow::Result;
use berth::container::create::{create, CreateOptions};
use berth::state::Root;

#[derive(clap::Args, Debug)]
#[group(skip)]
pub struct Args {
    /// Path to the bundle (the directory with config.json).
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Write the init's pid to this file.
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Unix socket that receives the pty master (process.terminal).
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Unix socket that receives a pidfd of the container's init.
    #[arg(long)]
    pub pidfd_socket: Option<PathBuf>,
    /// Use MS_MOVE + chroot instead of pivot_root.
    #[arg(long)]
    pub no_pivot: bool,
    /// Keep the caller's session keyring.
    #[arg(long)]
    pub no_new_keyring: bool,
    /// Pass fds 3..3+N into the container.
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    /// The container's id.
    pub id: String,
}

impl Args {
    pub fn options(&self, foreground: bool, g: &super::Globals) -> CreateOptions {
        CreateOptions {
            bundle: self.bundle.clone(),
            pid_file: self.pid_file.clone(),
            console_socket: self.console_socket.clone(),
            pidfd_socket: self.pidfd_socket.clone(),
            no_pivot: self.no_pivot,
            no_new_keyring: self.no_new_keyring,
            preserve_fds: self.preserve_fds,
            foreground,
            systemd_cgroup: g.systemd_cgroup,
            rootless: g.rootless,
        }
    }
}

pub fn run(root: &Root, a: Args, g: &super::Globals) -> Result<u8> {
    super::prepare_to_enter(root, a.preserve_fds)?;
    create(root, &a.id, &a.options(false, g))?;
    Ok(0)
}
