//! linux.resources.blockIO: v1's blkio files, or v2's io.weight/io.max.
//!
//! Weights go to the CFQ-era `weight` files where the kernel has them and
//! to BFQ's otherwise (the only proportional scheduler on current
//! kernels). v2's io.weight has another range (1..10000) than blkio's
//! (10..1000) and is converted linearly; io.bfq.weight takes blkio's.

use oci_spec::runtime::{LinuxBlockIo, LinuxThrottleDevice};

use super::setting::{invalid, unsupported, Probe, Setting};
use crate::error::Result;

fn check_weight(field: &str, w: u16) -> Result<()> {
    if !(10..=1000).contains(&w) {
        return Err(invalid(field, format!("{w} is out of range 10..=1000")));
    }
    Ok(())
}

/// blkio weight (10..1000) to io.weight (1..10000).
pub fn weight_to_v2(w: u16) -> u64 {
    1 + (u64::from(w).saturating_sub(10)) * 9999 / 990
}

/// The proportional-weight file family this kernel has: (prefix, v2
/// conversion needed).
fn weight_files(probe: &dyn Probe, v2: bool, field: &str) -> Result<(&'static str, bool)> {
    let candidates: &[(&str, bool)] = if v2 {
        &[("io.bfq.weight", false), ("io.weight", true)]
    } else {
        &[("blkio.weight", false), ("blkio.bfq.weight", false)]
    };
    for (file, convert) in candidates {
        if probe.exists(file) {
            return Ok((file, *convert));
        }
    }
    Err(unsupported(
        field,
        if v2 { "v2" } else { "v1" },
        "no proportional io weight files here (no CFQ/BFQ scheduler, or the io controller is missing)",
    ))
}

fn throttles(
    b: &LinuxBlockIo,
) -> [(
    &'static str,
    &'static str,
    &'static str,
    Option<&Vec<LinuxThrottleDevice>>,
); 4] {
    [
        (
            "blockIO.throttleReadBpsDevice",
            "blkio.throttle.read_bps_device",
            "rbps",
            b.throttle_read_bps_device().as_ref(),
        ),
        (
            "blockIO.throttleWriteBpsDevice",
            "blkio.throttle.write_bps_device",
            "wbps",
            b.throttle_write_bps_device().as_ref(),
        ),
        (
            "blockIO.throttleReadIOPSDevice",
            "blkio.throttle.read_iops_device",
            "riops",
            b.throttle_read_iops_device().as_ref(),
        ),
        (
            "blockIO.throttleWriteIOPSDevice",
            "blkio.throttle.write_iops_device",
            "wiops",
            b.throttle_write_iops_device().as_ref(),
        ),
    ]
}

fn check_device(field: &str, major: i64, minor: i64) -> Result<()> {
    if major < 0 || minor < 0 {
        return Err(invalid(
            field,
            format!("device {major}:{minor} is not a device number"),
        ));
    }
    Ok(())
}

/// A weight of 0 means "not set": Docker sends `"weight": 0` for every
/// container without --blkio-weight, and runc and crun leave the cgroup
/// alone then.
fn given(w: Option<u16>) -> Option<u16> {
    w.filter(|&w| w != 0)
}

pub fn v1(b: &LinuxBlockIo, probe: &dyn Probe) -> Result<Vec<Setting>> {
    let mut out = Vec::new();
    if let Some(w) = given(b.weight()) {
        check_weight("blockIO.weight", w)?;
        let (file, _) = weight_files(probe, false, "blockIO.weight")?;
        out.push(Setting::new("blockIO.weight", file, w));
    }
    if let Some(w) = given(b.leaf_weight()) {
        check_weight("blockIO.leafWeight", w)?;
        if !probe.exists("blkio.leaf_weight") {
            return Err(unsupported(
                "blockIO.leafWeight",
                "v1",
                "the kernel has no blkio.leaf_weight (CFQ is gone)",
            ));
        }
        out.push(Setting::new("blockIO.leafWeight", "blkio.leaf_weight", w));
    }
    for d in b.weight_device().iter().flatten() {
        let field = "blockIO.weightDevice";
        check_device(field, d.major(), d.minor())?;
        if let Some(w) = given(d.weight()) {
            check_weight(field, w)?;
            let (file, _) = weight_files(probe, false, field)?;
            out.push(Setting::new(
                field,
                format!("{file}_device"),
                format!("{}:{} {w}", d.major(), d.minor()),
            ));
        }
        if let Some(w) = given(d.leaf_weight()) {
            check_weight(field, w)?;
            if !probe.exists("blkio.leaf_weight_device") {
                return Err(unsupported(
                    field,
                    "v1",
                    "leafWeight: the kernel has no blkio.leaf_weight_device",
                ));
            }
            out.push(Setting::new(
                field,
                "blkio.leaf_weight_device",
                format!("{}:{} {w}", d.major(), d.minor()),
            ));
        }
    }
    for (field, file, _, list) in throttles(b) {
        for d in list.into_iter().flatten() {
            check_device(field, d.major(), d.minor())?;
            out.push(Setting::new(
                field,
                file,
                format!("{}:{} {}", d.major(), d.minor(), d.rate()),
            ));
        }
    }
    Ok(out)
}

pub fn v2(b: &LinuxBlockIo, probe: &dyn Probe) -> Result<Vec<Setting>> {
    let mut out = Vec::new();
    if given(b.leaf_weight()).is_some()
        || b.weight_device()
            .iter()
            .flatten()
            .any(|d| given(d.leaf_weight()).is_some())
    {
        return Err(unsupported(
            "blockIO.leafWeight",
            "v2",
            "io has no leaf weights",
        ));
    }
    let weight = |w: u16, convert: bool| {
        if convert {
            weight_to_v2(w)
        } else {
            u64::from(w)
        }
    };
    if let Some(w) = given(b.weight()) {
        check_weight("blockIO.weight", w)?;
        let (file, convert) = weight_files(probe, true, "blockIO.weight")?;
        out.push(Setting::new("blockIO.weight", file, weight(w, convert)));
    }
    for d in b.weight_device().iter().flatten() {
        let field = "blockIO.weightDevice";
        check_device(field, d.major(), d.minor())?;
        if let Some(w) = given(d.weight()) {
            check_weight(field, w)?;
            let (file, convert) = weight_files(probe, true, field)?;
            out.push(Setting::new(
                field,
                file,
                format!("{}:{} {}", d.major(), d.minor(), weight(w, convert)),
            ));
        }
    }
    for (field, _, key, list) in throttles(b) {
        for d in list.into_iter().flatten() {
            check_device(field, d.major(), d.minor())?;
            // v1 removes a throttle with 0; v2 says so with "max".
            let rate = if d.rate() == 0 {
                "max".to_string()
            } else {
                d.rate().to_string()
            };
            out.push(Setting::new(
                field,
                "io.max",
                format!("{}:{} {key}={rate}", d.major(), d.minor()),
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::setting::fake::FakeCgroup;
    use super::*;
    use oci_spec::runtime::{
        LinuxBlockIoBuilder, LinuxThrottleDeviceBuilder, LinuxWeightDeviceBuilder,
    };

    fn files(s: &[Setting]) -> Vec<(&str, &str)> {
        s.iter()
            .map(|s| (s.file.as_str(), s.value.as_str()))
            .collect()
    }

    fn sample() -> LinuxBlockIo {
        let t = |rate: u64| {
            LinuxThrottleDeviceBuilder::default()
                .major(8i64)
                .minor(0i64)
                .rate(rate)
                .build()
                .unwrap()
        };
        LinuxBlockIoBuilder::default()
            .weight(500u16)
            .weight_device(vec![LinuxWeightDeviceBuilder::default()
                .major(8i64)
                .minor(0i64)
                .weight(100u16)
                .build()
                .unwrap()])
            .throttle_read_bps_device(vec![t(1_048_576)])
            .throttle_write_iops_device(vec![t(0)])
            .build()
            .unwrap()
    }

    #[test]
    fn v1_bfq_host() {
        let cg = FakeCgroup::with(&[("blkio.bfq.weight", "100")]);
        assert_eq!(
            files(&v1(&sample(), &cg).unwrap()),
            vec![
                ("blkio.bfq.weight", "500"),
                ("blkio.bfq.weight_device", "8:0 100"),
                ("blkio.throttle.read_bps_device", "8:0 1048576"),
                ("blkio.throttle.write_iops_device", "8:0 0"),
            ]
        );
    }

    #[test]
    fn v2_conversions() {
        let cg = FakeCgroup::with(&[("io.weight", "default 100")]);
        assert_eq!(
            files(&v2(&sample(), &cg).unwrap()),
            vec![
                ("io.weight", "4950"),
                ("io.weight", "8:0 910"),
                ("io.max", "8:0 rbps=1048576"),
                ("io.max", "8:0 wiops=max"),
            ]
        );
        let bfq = FakeCgroup::with(&[
            ("io.bfq.weight", "default 100"),
            ("io.weight", "default 100"),
        ]);
        assert_eq!(v2(&sample(), &bfq).unwrap()[0].value, "500");
        assert_eq!(weight_to_v2(10), 1);
        assert_eq!(weight_to_v2(1000), 10000);
    }

    #[test]
    fn zero_weight_means_unset_as_docker_sends_it() {
        let cg = FakeCgroup::with(&[("io.weight", "default 100"), ("blkio.bfq.weight", "100")]);
        let zero = LinuxBlockIoBuilder::default()
            .weight(0u16)
            .leaf_weight(0u16)
            .build()
            .unwrap();
        assert!(v1(&zero, &cg).unwrap().is_empty());
        assert!(v2(&zero, &cg).unwrap().is_empty());
    }

    #[test]
    fn errors_name_the_field() {
        let cg = FakeCgroup::with(&[("io.weight", ""), ("blkio.bfq.weight", "")]);
        let low = LinuxBlockIoBuilder::default().weight(5u16).build().unwrap();
        assert!(v1(&low, &cg)
            .unwrap_err()
            .to_string()
            .contains("blockIO.weight"));
        assert!(v2(&low, &cg)
            .unwrap_err()
            .to_string()
            .contains("blockIO.weight"));
        let leaf = LinuxBlockIoBuilder::default()
            .leaf_weight(100u16)
            .build()
            .unwrap();
        assert!(v1(&leaf, &cg)
            .unwrap_err()
            .to_string()
            .contains("blockIO.leafWeight"));
        assert!(v2(&leaf, &cg)
            .unwrap_err()
            .to_string()
            .contains("blockIO.leafWeight"));
        let none = FakeCgroup::default();
        let w = LinuxBlockIoBuilder::default()
            .weight(100u16)
            .build()
            .unwrap();
        assert!(v1(&w, &none).is_err());
    }
}
