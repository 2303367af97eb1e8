//! `berth completion SHELL` and the hidden `berth man DIR`: both made
//! from the same clap definitions as the parser, so they cannot drift
//! from what berth accepts.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Target {
    Bash,
    Zsh,
    Fish,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The shell: bash, zsh or fish.
    #[arg(value_enum)]
    pub shell: Target,
}

#[derive(clap::Args, Debug)]
pub struct ManArgs {
    /// The directory to write the pages into (made if missing).
    pub dir: PathBuf,
}

pub fn run(a: Args) -> Result<u8> {
    let shell = match a.shell {
        Target::Bash => Shell::Bash,
        Target::Zsh => Shell::Zsh,
        Target::Fish => Shell::Fish,
    };
    let mut cmd = super::Cli::command();
    clap_complete::generate(shell, &mut cmd, "berth", &mut std::io::stdout());
    Ok(0)
}

/// berth.8, and berth-COMMAND.8 for each command a person may type.
pub fn man(a: ManArgs) -> Result<u8> {
    std::fs::create_dir_all(&a.dir).with_context(|| format!("mkdir {}", a.dir.display()))?;
    let mut cmd = super::Cli::command();
    cmd.build();
    write_page(&a.dir, "berth", cmd.clone())?;
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        // clap names commands with &'static str (without its "string"
        // feature); a few short strings, once, for a process that ends here.
        let name: &'static str = Box::leak(format!("berth-{}", sub.get_name()).into_boxed_str());
        write_page(&a.dir, name, sub.clone().name(name))?;
    }
    Ok(0)
}

fn write_page(dir: &std::path::Path, name: &str, cmd: clap::Command) -> Result<()> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .section("8")
        .manual("berth manual")
        .source(concat!("berth ", env!("CARGO_PKG_VERSION")))
        .render(&mut out)?;
    let path = dir.join(format!("{name}.8"));
    std::fs::write(&path, out).with_context(|| format!("write {}", path.display()))?;
    Ok(())
}
