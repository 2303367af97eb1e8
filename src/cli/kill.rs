use anyhow::Result;
use berth::container::kill::{kill, parse_signal};
use berth::state::Root;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Signal every process in the container's cgroup.
    #[arg(short, long)]
    pub all: bool,
    /// The container's id.
    pub id: String,
    /// Name (KILL, SIGKILL) or number; default TERM.
    #[arg(default_value = "TERM")]
    pub signal: String,
}

pub fn run(root: &Root, a: Args) -> Result<u8> {
    kill(root, &a.id, parse_signal(&a.signal)?, a.all)?;
    Ok(0)
}
