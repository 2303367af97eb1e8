use anyhow::Result;
use berth::container::{state_json, status_of, StateJson};
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

fn unrecorded(id: &str, status: &str) -> StateJson {
    StateJson {
        oci_version: berth::OCI_VERSION.into(),
        id: id.into(),
        pid: 0,
        status: status.into(),
        bundle: String::new(),
        rootfs: String::new(),
        created: String::new(),
        annotations: Default::default(),
        owner: String::new(),
    }
}

pub fn run(root: &Root, explicit_root: bool, a: Args) -> Result<u8> {
    // As runc: a --root that does not exist is an error; the default one
    // not existing just means there are no containers.
    if explicit_root && !root.path.is_dir() {
        anyhow::bail!("--root {}: no such directory", root.path.display());
    }
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
            println!("{}", r.id);
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
                    r.id,
                    r.pid.to_string(),
                    r.status,
                    r.bundle,
                    r.created,
                    r.owner
                );
            }
        }
        other => anyhow::bail!("--format: {other:?} is not table or json"),
    }
    Ok(0)
}
