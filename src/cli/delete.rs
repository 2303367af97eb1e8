use anyhow::Result;
use berth::state::Root;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Kill a running container first.
    #[arg(short, long)]
    pub force: bool,
    /// The container's id.
    pub id: String,
}

pub fn run(root: &Root, a: Args) -> Result<u8> {
    match berth::container::delete::delete(root, &a.id, a.force) {
        // runc: delete --force of a container that does not exist succeeds.
        Err(berth::error::Error::NotFound(_)) if a.force => Ok(0),
        r => {
            r?;
            Ok(0)
        }
    }
}
