use std::path::PathBuf;

use anyhow::{bail, Context, Result};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Bundle directory to write config.json into.
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// A config for a rootless container (user namespace, no cgroups).
    #[arg(long = "rootless", id = "spec_rootless")]
    pub rootless: bool,
}

pub fn run(a: Args) -> Result<u8> {
    let path = a.bundle.join("config.json");
    if path.exists() {
        bail!("{}: already exists; remove it first", path.display());
    }
    let text = serde_json::to_string_pretty(&berth::template::default_config(a.rootless))?;
    std::fs::write(&path, text + "\n").with_context(|| format!("write {}", path.display()))?;
    Ok(0)
}
