//! linux.resources.memory for both cgroup versions.
//!
//! The spec's `swap` is the v1 meaning: memory plus swap together. v2
//! limits swap alone, so its value is `swap - limit` there.

use oci_spec::runtime::LinuxMemory;

use super::setting::{invalid, limit, unsupported, Probe, Setting};
use crate::error::Result;

/// Refused everywhere: the kernel dropped kernel-memory limits (v1 ignores
/// or rejects them on current kernels, v2 never had them), so berth does
/// not pretend to apply them.
fn refuse_kernel(m: &LinuxMemory) -> Result<()> {
    for (field, set) in [
        // 0 is "not set": dockerd's `update` sends every field, zeros
        // included.
        ("memory.kernel", m.kernel().is_some_and(|k| k != 0)),
        ("memory.kernelTCP", m.kernel_tcp().is_some_and(|k| k != 0)),
    ] {
        if set {
            return Err(invalid(
                field,
                "kernel memory limits are deprecated and not applied by berth; remove the field",
            ));
        }
    }
    Ok(())
}

/// With checkBeforeUpdate, a new limit below what the cgroup uses now is
/// an error instead of an OOM kill.
fn check_usage(m: &LinuxMemory, usage_file: &str, probe: &dyn Probe) -> Result<()> {
    let (Some(true), Some(new)) = (m.check_before_update(), m.limit()) else {
        return Ok(());
    };
    if new <= 0 {
        return Ok(());
    }
    let usage: Option<i64> = probe.read(usage_file).and_then(|s| s.trim().parse().ok());
    if let Some(usage) = usage.filter(|u| *u >= new) {
        return Err(invalid(
            "memory.limit",
            format!("{new} is below the current usage {usage} (checkBeforeUpdate)"),
        ));
    }
    Ok(())
}

pub fn v1(m: &LinuxMemory, probe: &dyn Probe) -> Result<Vec<Setting>> {
    refuse_kernel(m)?;
    check_usage(m, "memory.usage_in_bytes", probe)?;
    let mut out = Vec::new();
    let lim = m
        .limit()
        .map(|l| limit("memory.limit", l, "-1").map(|v| (l, v)))
        .transpose()?;
    let memsw = probe.exists("memory.memsw.limit_in_bytes");
    let swap = m
        .swap()
        .filter(|s| *s != 0)
        // Unlimited memory plus swap where the kernel has no swap
        // accounting is what the container gets anyway.
        .filter(|s| memsw || *s != -1)
        .map(|s| limit("memory.swap", s, "-1").map(|v| (s, v)))
        .transpose()?;
    if let (Some((l, _)), Some((s, _))) = (lim.as_ref(), swap.as_ref()) {
        if *l > 0 && *s > 0 && s < l {
            return Err(invalid(
                "memory.swap",
                format!("{s} (memory plus swap) is less than memory.limit {l}"),
            ));
        }
    }
    if swap.is_some() && !memsw {
        return Err(unsupported(
            "memory.swap",
            "v1",
            "the kernel has no swap accounting (memory.memsw.limit_in_bytes is missing)",
        ));
    }
    let limit_setting = lim.map(|(_, v)| Setting::new("memory.limit", "memory.limit_in_bytes", v));
    let swap_setting = swap
        .as_ref()
        .map(|(_, v)| Setting::new("memory.swap", "memory.memsw.limit_in_bytes", v));
    // The kernel keeps limit <= memsw at every step: when the new memsw
    // is above the current one, raise it first; when lowering, lower the
    // limit first.
    let memsw_first = swap.as_ref().is_some_and(|(s, _)| {
        let current: Option<i64> = probe
            .read("memory.memsw.limit_in_bytes")
            .and_then(|c| c.trim().parse().ok());
        *s == -1 || current.is_none_or(|c| *s >= c)
    });
    if memsw_first {
        out.extend(swap_setting);
        out.extend(limit_setting);
    } else {
        out.extend(limit_setting);
        out.extend(swap_setting);
    }
    if let Some(r) = m.reservation() {
        out.push(Setting::new(
            "memory.reservation",
            "memory.soft_limit_in_bytes",
            limit("memory.reservation", r, "-1")?,
        ));
    }
    if let Some(s) = m.swappiness() {
        if s > 100 {
            return Err(invalid(
                "memory.swappiness",
                format!("{s} is out of range 0..=100"),
            ));
        }
        out.push(Setting::new("memory.swappiness", "memory.swappiness", s));
    }
    if m.disable_oom_killer() == Some(true) {
        out.push(Setting::new(
            "memory.disableOOMKiller",
            "memory.oom_control",
            1,
        ));
    }
    if let Some(h) = m.use_hierarchy() {
        out.push(Setting::new(
            "memory.useHierarchy",
            "memory.use_hierarchy",
            u8::from(h),
        ));
    }
    Ok(out)
}

/// The v2 memory.swap.max for the spec's (limit, memory+swap).
fn swap_v2(lim: Option<i64>, swap: Option<i64>) -> Result<Option<String>> {
    match (lim, swap.filter(|s| *s != 0)) {
        // As v1 does: no swap limit, and memory unlimited, means swap
        // unlimited too.
        (Some(-1), None) => Ok(Some("max".into())),
        (_, None) => Ok(None),
        (_, Some(-1)) => Ok(Some("max".into())),
        (_, Some(s)) if s < 0 => Err(invalid(
            "memory.swap",
            format!("{s} is negative (use -1 for no limit)"),
        )),
        (None | Some(-1) | Some(0), Some(_)) => Err(invalid(
            "memory.swap",
            "a swap limit needs a memory.limit (swap is memory plus swap)",
        )),
        (Some(l), Some(s)) if s < l => Err(invalid(
            "memory.swap",
            format!("{s} (memory plus swap) is less than memory.limit {l}"),
        )),
        (Some(l), Some(s)) => Ok(Some((s - l).to_string())),
    }
}

pub fn v2(m: &LinuxMemory, probe: &dyn Probe) -> Result<Vec<Setting>> {
    refuse_kernel(m)?;
    if m.swappiness().is_some() {
        return Err(unsupported(
            "memory.swappiness",
            "v2",
            "there is no per-cgroup swappiness",
        ));
    }
    if m.disable_oom_killer() == Some(true) {
        return Err(unsupported(
            "memory.disableOOMKiller",
            "v2",
            "the OOM killer cannot be turned off per cgroup",
        ));
    }
    if m.use_hierarchy() == Some(false) {
        return Err(unsupported(
            "memory.useHierarchy",
            "v2",
            "accounting is always hierarchical",
        ));
    }
    check_usage(m, "memory.current", probe)?;
    let mut out = Vec::new();
    if let Some(l) = m.limit() {
        out.push(Setting::new(
            "memory.limit",
            "memory.max",
            limit("memory.limit", l, "max")?,
        ));
    }
    if let Some(v) = swap_v2(m.limit(), m.swap())? {
        if !probe.exists("memory.swap.max") {
            // Unlimited swap where the kernel has no swap accounting is
            // what the container gets anyway.
            if v != "max" {
                return Err(unsupported(
                    "memory.swap",
                    "v2",
                    "the kernel has no swap accounting (memory.swap.max is missing)",
                ));
            }
        } else {
            out.push(Setting::new("memory.swap", "memory.swap.max", v));
        }
    }
    if let Some(r) = m.reservation() {
        out.push(Setting::new(
            "memory.reservation",
            "memory.low",
            limit("memory.reservation", r, "max")?,
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::setting::fake::FakeCgroup;
    use super::*;
    use oci_spec::runtime::LinuxMemoryBuilder;

    fn files(s: &[Setting]) -> Vec<(&str, &str)> {
        s.iter()
            .map(|s| (s.file.as_str(), s.value.as_str()))
            .collect()
    }

    #[test]
    fn v1_raise_writes_memsw_first_and_lower_writes_limit_first() {
        let cg = FakeCgroup::with(&[("memory.memsw.limit_in_bytes", "1000")]);
        let up = LinuxMemoryBuilder::default()
            .limit(2000i64)
            .swap(4000i64)
            .build()
            .unwrap();
        assert_eq!(
            files(&v1(&up, &cg).unwrap()),
            vec![
                ("memory.memsw.limit_in_bytes", "4000"),
                ("memory.limit_in_bytes", "2000")
            ]
        );
        let down = LinuxMemoryBuilder::default()
            .limit(200i64)
            .swap(400i64)
            .build()
            .unwrap();
        assert_eq!(
            files(&v1(&down, &cg).unwrap()),
            vec![
                ("memory.limit_in_bytes", "200"),
                ("memory.memsw.limit_in_bytes", "400")
            ]
        );
    }

    #[test]
    fn v1_other_fields() {
        let cg = FakeCgroup::default();
        let m = LinuxMemoryBuilder::default()
            .limit(-1i64)
            .reservation(100i64)
            .swappiness(10u64)
            .disable_oom_killer(true)
            .use_hierarchy(true)
            .build()
            .unwrap();
        assert_eq!(
            files(&v1(&m, &cg).unwrap()),
            vec![
                ("memory.limit_in_bytes", "-1"),
                ("memory.soft_limit_in_bytes", "100"),
                ("memory.swappiness", "10"),
                ("memory.oom_control", "1"),
                ("memory.use_hierarchy", "1")
            ]
        );
    }

    #[test]
    fn bad_values_name_the_field() {
        let cg = FakeCgroup::with(&[("memory.memsw.limit_in_bytes", "1000")]);
        let cases = [
            (
                LinuxMemoryBuilder::default().limit(-5i64).build().unwrap(),
                "memory.limit",
            ),
            (
                LinuxMemoryBuilder::default()
                    .limit(100i64)
                    .swap(50i64)
                    .build()
                    .unwrap(),
                "memory.swap",
            ),
            (
                LinuxMemoryBuilder::default()
                    .swappiness(101u64)
                    .build()
                    .unwrap(),
                "memory.swappiness",
            ),
            (
                LinuxMemoryBuilder::default().kernel(1i64).build().unwrap(),
                "memory.kernel",
            ),
            (
                LinuxMemoryBuilder::default()
                    .kernel_tcp(1i64)
                    .build()
                    .unwrap(),
                "memory.kernelTCP",
            ),
        ];
        for (m, field) in cases {
            let e1 = v1(&m, &cg).unwrap_err().to_string();
            let e2 = v2(&m, &cg).unwrap_err().to_string();
            assert!(e1.contains(field), "{e1}");
            assert!(e2.contains(field), "{e2}");
        }
    }

    #[test]
    fn v1_swap_needs_accounting() {
        let m = LinuxMemoryBuilder::default()
            .limit(100i64)
            .swap(200i64)
            .build()
            .unwrap();
        let e = v1(&m, &FakeCgroup::default()).unwrap_err().to_string();
        assert!(e.contains("swap accounting"), "{e}");
    }

    #[test]
    fn v2_conversions() {
        let cg = FakeCgroup::with(&[("memory.swap.max", "max")]);
        let m = LinuxMemoryBuilder::default()
            .limit(1000i64)
            .swap(3000i64)
            .reservation(500i64)
            .build()
            .unwrap();
        assert_eq!(
            files(&v2(&m, &cg).unwrap()),
            vec![
                ("memory.max", "1000"),
                ("memory.swap.max", "2000"),
                ("memory.low", "500")
            ]
        );
        let unlimited = LinuxMemoryBuilder::default().limit(-1i64).build().unwrap();
        assert_eq!(
            files(&v2(&unlimited, &cg).unwrap()),
            vec![("memory.max", "max"), ("memory.swap.max", "max")]
        );
        let swap_alone = LinuxMemoryBuilder::default().swap(3000i64).build().unwrap();
        assert!(v2(&swap_alone, &cg).is_err());
        for m in [
            LinuxMemoryBuilder::default().swappiness(1u64).build(),
            LinuxMemoryBuilder::default()
                .disable_oom_killer(true)
                .build(),
            LinuxMemoryBuilder::default().use_hierarchy(false).build(),
        ] {
            assert!(v2(&m.unwrap(), &cg).is_err());
        }
    }

    #[test]
    fn check_before_update() {
        let m = LinuxMemoryBuilder::default()
            .limit(1000i64)
            .check_before_update(true)
            .build()
            .unwrap();
        let busy = FakeCgroup::with(&[
            ("memory.current", "5000"),
            ("memory.usage_in_bytes", "5000"),
        ]);
        assert!(v2(&m, &busy)
            .unwrap_err()
            .to_string()
            .contains("checkBeforeUpdate"));
        assert!(v1(&m, &busy).is_err());
        let idle = FakeCgroup::with(&[("memory.current", "10")]);
        assert!(v2(&m, &idle).is_ok());
    }
}
