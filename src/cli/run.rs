use anyhow::Result;
use berth::container::{create::create, delete::delete, run as fg, start::start};
use berth::state::Root;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub create: super::create::Args,
    /// Return once the container is started, without waiting for it.
    #[arg(short, long)]
    pub detach: bool,
    /// Keep the container's state after it exits (no delete).
    #[arg(long)]
    pub keep: bool,
}

pub fn run(root: &Root, a: Args, g: &super::Globals) -> Result<u8> {
    super::prepare_to_enter(root, a.create.preserve_fds)?;
    let id = a.create.id.clone();
    let signals = if a.detach {
        None
    } else {
        fg::become_subreaper();
        Some(fg::block_signals()?)
    };
    let created = create(root, &id, &a.create.options(!a.detach, g))?;
    if let Err(e) = start(root, &id) {
        let _ = delete(root, &id, true);
        return Err(e.into());
    }
    let Some(set) = signals else { return Ok(0) };
    let code = fg::wait(created.pid, set, created.pty)?;
    if !a.keep {
        delete(root, &id, true)?;
    }
    Ok(code.clamp(0, 255) as u8)
}
