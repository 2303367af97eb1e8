//! linux.resources.hugepageLimits: `hugetlb.<size>.limit_in_bytes` (v1) or
//! `hugetlb.<size>.max` (v2), plus the reservation limit where the kernel
//! has one, so that reserved-but-unfaulted pages count too.

use oci_spec::runtime::LinuxHugepageLimit;

use super::setting::{invalid, limit, Probe, Setting};
use crate::error::Result;

const FIELD: &str = "hugepageLimits";

/// A page size as the kernel spells it in file names: digits then KB, MB
/// or GB.
fn check_size(size: &str) -> Result<()> {
    let digits = size.trim_end_matches(['K', 'M', 'G', 'B']);
    let unit = &size[digits.len()..];
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || !matches!(unit, "KB" | "MB" | "GB")
    {
        return Err(invalid(
            FIELD,
            format!("pageSize {size:?} is not of the form <number>KB|MB|GB"),
        ));
    }
    Ok(())
}

pub fn settings(
    limits: &[LinuxHugepageLimit],
    probe: &dyn Probe,
    v2: bool,
) -> Result<Vec<Setting>> {
    let (suffix, rsvd_suffix, unlimited) = if v2 {
        ("max", "rsvd.max", "max")
    } else {
        ("limit_in_bytes", "rsvd.limit_in_bytes", "-1")
    };
    let mut out = Vec::new();
    for l in limits {
        let size = l.page_size();
        check_size(size)?;
        let file = format!("hugetlb.{size}.{suffix}");
        if !probe.exists(&file) {
            return Err(invalid(
                FIELD,
                format!("this host has no {size} huge pages (no {file})"),
            ));
        }
        let value = limit(FIELD, l.limit(), unlimited)?;
        out.push(Setting::new(FIELD, file, &value));
        let rsvd = format!("hugetlb.{size}.{rsvd_suffix}");
        if probe.exists(&rsvd) {
            out.push(Setting::new(FIELD, rsvd, value));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::setting::fake::FakeCgroup;
    use super::*;
    use oci_spec::runtime::LinuxHugepageLimitBuilder;

    fn lim(size: &str, l: i64) -> LinuxHugepageLimit {
        LinuxHugepageLimitBuilder::default()
            .page_size(size)
            .limit(l)
            .build()
            .unwrap()
    }

    #[test]
    fn files_per_version() {
        let cg = FakeCgroup::with(&[
            ("hugetlb.2MB.max", "max"),
            ("hugetlb.2MB.rsvd.max", "max"),
            ("hugetlb.2MB.limit_in_bytes", ""),
        ]);
        let s = settings(&[lim("2MB", 4194304)], &cg, true).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].file.as_str(), s[0].value.as_str()),
            ("hugetlb.2MB.max", "4194304")
        );
        assert_eq!(s[1].file, "hugetlb.2MB.rsvd.max");
        let s = settings(&[lim("2MB", -1)], &cg, false).unwrap();
        assert_eq!(
            (s[0].file.as_str(), s[0].value.as_str()),
            ("hugetlb.2MB.limit_in_bytes", "-1")
        );
    }

    #[test]
    fn bad_sizes() {
        let cg = FakeCgroup::with(&[("hugetlb.2MB.max", "max")]);
        for bad in ["2M", "MB", "2mb", "../x", "1GB"] {
            assert!(
                settings(&[lim(bad, 1)], &cg, true)
                    .unwrap_err()
                    .to_string()
                    .contains("hugepageLimits"),
                "{bad}"
            );
        }
        assert!(settings(&[lim("2MB", -7)], &cg, true).is_err());
    }
}
