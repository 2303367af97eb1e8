//! linux.resources.pids: the same `pids.max` file in both versions.

use oci_spec::runtime::LinuxPids;

use super::setting::{invalid, Setting};
use crate::error::Result;

pub fn settings(p: &LinuxPids) -> Result<Vec<Setting>> {
    let value = match p.limit() {
        // 0 and -1 both mean no limit, as runc and the spec read them.
        0 | -1 => "max".to_string(),
        l if l < 0 => {
            return Err(invalid(
                "pids.limit",
                format!("{l} is negative (use -1 for no limit)"),
            ))
        }
        l => l.to_string(),
    };
    Ok(vec![Setting::new("pids.limit", "pids.max", value)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxPidsBuilder;

    fn value(l: i64) -> Result<String> {
        let p = LinuxPidsBuilder::default().limit(l).build().unwrap();
        settings(&p).map(|s| s[0].value.clone())
    }

    #[test]
    fn limits() {
        assert_eq!(value(10).unwrap(), "10");
        assert_eq!(value(-1).unwrap(), "max");
        assert_eq!(value(0).unwrap(), "max");
        assert!(value(-2).unwrap_err().to_string().contains("pids.limit"));
    }
}
