use anyhow::Result;
use berth::container::Container;
use berth::state::Root;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container's id.
    pub id: String,
}

pub fn run(root: &Root, a: Args) -> Result<u8> {
    // Never waits on another command's lock.
    let c = Container::open_unlocked(root, &a.id)?;
    println!("{}", serde_json::to_string_pretty(&c.state_json())?);
    Ok(0)
}
