use anyhow::Result;
use berth::state::Root;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container's id.
    pub id: String,
}

pub fn run(root: &Root, a: Args) -> Result<u8> {
    berth::container::start::start(root, &a.id)?;
    Ok(0)
}
