use anyhow::Result;
use berth::container::{state_json, status_of};
use berth::state::Root;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// table or json
    #[arg(short, long, default_value = "table")]
    pub format: String,
    /// Print only the ids.
    #[arg(short, long)]
    pub quiet: bool,
}

fn unrecorded(id: &str, status: &str) -> serde_json::Value {
    serde_json::json!({
        "ociVersion": berth::OCI_VERSION,
        "id": id,
        "pid": 0,
        "status": status,
        "bundle": "",
        "created": "",
        "owner": "",
    })
}

pub fn run(root: &Root, a: Args) -> Result<u8> {
    let mut rows = Vec::new();
    for id in root.ids()? {
        // Without the lock: list never waits on a command in progress.
        // A container deleted meanwhile is skipped.
        let Ok(dir) = root.open_unlocked(&id) else {
            continue;
        };
        match dir.try_load() {
            Ok(Some(saved)) => rows.push(state_json(&saved, status_of(&dir, &saved))),
            // A create killed before it wrote the state, or a state file
            // that cannot be read: listed, so that `delete --force` of
            // what `list` shows clears them too.
            Ok(None) => rows.push(unrecorded(&id, "creating")),
            Err(_) => rows.push(unrecorded(&id, "unknown")),
        }
    }
    if a.quiet {
        for r in &rows {
            println!("{}", r["id"].as_str().unwrap_or(""));
        }
        return Ok(0);
    }
    match a.format.as_str() {
        "json" => println!("{}", serde_json::to_string(&rows)?),
        "table" => {
            println!(
                "{:<20} {:<8} {:<10} {:<40} {:<31} OWNER",
                "ID", "PID", "STATUS", "BUNDLE", "CREATED"
            );
            for r in &rows {
                println!(
                    "{:<20} {:<8} {:<10} {:<40} {:<31} {}",
                    r["id"].as_str().unwrap_or(""),
                    r["pid"].to_string(),
                    r["status"].as_str().unwrap_or(""),
                    r["bundle"].as_str().unwrap_or(""),
                    r["created"].as_str().unwrap_or(""),
                    r["owner"].as_str().unwrap_or("")
                );
            }
        }
        other => anyhow::bail!("--format: {other:?} is not table or json"),
    }
    Ok(0)
}
