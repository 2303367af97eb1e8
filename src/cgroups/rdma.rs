//! linux.resources.rdma: one `rdma.max` line per device, the same format
//! in both versions.

use std::collections::HashMap;

use oci_spec::runtime::LinuxRdma;

use super::setting::{invalid, Setting};
use crate::error::Result;

pub fn settings(rdma: &HashMap<String, LinuxRdma>) -> Result<Vec<Setting>> {
    let mut devices: Vec<_> = rdma.iter().collect();
    devices.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = Vec::new();
    for (dev, l) in devices {
        if dev.is_empty() || dev.contains(char::is_whitespace) {
            return Err(invalid(
                "rdma",
                format!("{dev:?} is not an RDMA device name"),
            ));
        }
        let mut line = dev.clone();
        if let Some(h) = l.hca_handles() {
            line.push_str(&format!(" hca_handle={h}"));
        }
        if let Some(o) = l.hca_objects() {
            line.push_str(&format!(" hca_object={o}"));
        }
        if line != *dev {
            out.push(Setting::new("rdma", "rdma.max", line));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxRdmaBuilder;

    #[test]
    fn lines() {
        let mut m = HashMap::new();
        m.insert(
            "mlx5_1".to_string(),
            LinuxRdmaBuilder::default()
                .hca_handles(3u32)
                .build()
                .unwrap(),
        );
        m.insert(
            "mlx5_0".to_string(),
            LinuxRdmaBuilder::default()
                .hca_handles(2u32)
                .hca_objects(100u32)
                .build()
                .unwrap(),
        );
        let s = settings(&m).unwrap();
        assert_eq!(s[0].value, "mlx5_0 hca_handle=2 hca_object=100");
        assert_eq!(s[1].value, "mlx5_1 hca_handle=3");
        m.insert(
            "bad dev".into(),
            LinuxRdmaBuilder::default().build().unwrap(),
        );
        assert!(settings(&m).is_err());
    }
}
