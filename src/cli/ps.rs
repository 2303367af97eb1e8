use anyhow::{bail, Context, Result};
use berth::container::ps::{filter_table, pids};
use berth::state::Root;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// table (the host's ps output, the container's lines only) or json
    /// (an array of host pids).
    #[arg(short, long, default_value = "table")]
    pub format: String,
    /// The container's id.
    pub id: String,
    /// Options for the host's ps in table format (default -ef), after the
    /// id (and `--` when the first starts with '-' and could be berth's).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

pub fn run(root: &Root, a: Args) -> Result<u8> {
    let pids = pids(root, &a.id)?;
    match a.format.as_str() {
        "json" => {
            if !a.ps_args.is_empty() {
                bail!(
                    "ps options ({}) only apply to --format table",
                    a.ps_args.join(" ")
                );
            }
            println!("{}", serde_json::to_string(&pids)?);
        }
        "table" => {
            let args = if a.ps_args.is_empty() {
                vec!["-ef".to_string()]
            } else {
                a.ps_args
            };
            let out = std::process::Command::new("ps")
                .args(&args)
                .output()
                .context("run the host's ps (is procps installed?)")?;
            if !out.status.success() {
                bail!(
                    "ps {}: {}: {}",
                    args.join(" "),
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
            print!(
                "{}",
                filter_table(&String::from_utf8_lossy(&out.stdout), &pids)?
            );
        }
        other => bail!("--format: {other:?} is not table or json"),
    }
    Ok(0)
}
