use anyhow::Result;
use berth::container::events::{events, parse_interval};
use berth::state::Root;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print the container's stats once and exit.
    #[arg(long)]
    pub stats: bool,
    /// How often to print stats while streaming (5s, 500ms, ...).
    #[arg(long, default_value = "5s")]
    pub interval: String,
    /// The container's id.
    pub id: String,
}

pub fn run(root: &Root, a: Args) -> Result<u8> {
    let interval = parse_interval(&a.interval)?;
    events(
        root,
        &a.id,
        a.stats,
        interval,
        &mut std::io::stdout().lock(),
    )?;
    Ok(0)
}
