use anyhow::Result;
use berth::hostcheck::{self, Level};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// text: one line per fact; json: {"canRun": bool, "facts": [...]}.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

pub fn run(a: Args) -> Result<u8> {
    let facts = hostcheck::run();
    let can_run = hostcheck::can_run(&facts);
    match a.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "canRun": can_run,
                "facts": facts,
            }))?
        ),
        Format::Text => {
            for f in &facts {
                println!(
                    "{:<4}  {:<18} {} => {}",
                    f.level.as_str(),
                    f.name,
                    f.found,
                    f.follows
                );
            }
            let count = |l: Level| facts.iter().filter(|f| f.level == l).count();
            let (ok, warn, fail) = (count(Level::Ok), count(Level::Warn), count(Level::Fail));
            if can_run {
                println!("berth can run containers here ({ok} ok, {warn} warn, {fail} fail)");
            } else {
                println!("berth cannot run containers here: see the fail lines ({ok} ok, {warn} warn, {fail} fail)");
            }
        }
    }
    Ok(if can_run { 0 } else { 1 })
}
