use anyhow::Result;

pub fn run() -> Result<u8> {
    println!(
        "{}",
        serde_json::to_string_pretty(&berth::features::features())?
    );
    Ok(0)
}
