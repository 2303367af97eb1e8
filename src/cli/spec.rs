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
    // runc adds a cgroup namespace only where the host is pure cgroup v2.
    let cgroup_ns = berth::cgroups::Layout::detect().is_ok_and(|l| l.is_pure_v2());
    let text =
        serde_json::to_string_pretty(&berth::template::default_config(a.rootless, cgroup_ns))?;
    std::fs::write(&path, text + "\n").with_context(|| format!("write {}", path.display()))?;
    Ok(0)
}
