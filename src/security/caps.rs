//! `process.capabilities`: all five sets. The bounding set is reduced
//! while the process is still root with every capability; after `setuid`
//! (with PR_SET_KEEPCAPS) effective, permitted and inheritable are set in
//! one capset(2), then the ambient set is raised.

use std::str::FromStr;

use oci_spec::runtime::{Capabilities, LinuxCapabilities};

use crate::error::{Error, Result};

/// Capability numbers for one of the config's sets.
pub fn numbers(set: &Option<Capabilities>) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    for cap in set.iter().flatten() {
        let name = serde_json::to_value(cap)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        match caps::Capability::from_str(&name) {
            Ok(c) => out.push(c.index() as u32),
            Err(_) => {
                return Err(Error::InvalidConfig(format!(
                    "config.json: process.capabilities: unknown capability {name:?}"
                )))
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// The highest capability this kernel knows.
fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

fn mask(caps: &[u32]) -> u64 {
    caps.iter()
        .filter(|&&c| c < 64)
        .fold(0u64, |m, &c| m | (1u64 << c))
}

/// Drop from the bounding set everything the config does not list. Needs
/// CAP_SETPCAP, so it runs before the switch to the container's user.
pub fn drop_bounding(c: &LinuxCapabilities) -> Result<()> {
    let keep = numbers(c.bounding())?;
    for cap in 0..=last_cap() {
        if keep.contains(&cap) {
            continue;
        }
        // SAFETY: plain prctl with integer arguments.
        let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            // EINVAL: the kernel does not know this capability.
            if e.raw_os_error() != Some(libc::EINVAL) {
                return Err(Error::sys(
                    format!("drop capability {cap} from the bounding set"),
                    e,
                ));
            }
        }
    }
    Ok(())
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Set effective, permitted and inheritable at once, then the ambient set.
/// An ambient capability the kernel will not raise (it must also be
/// permitted and inheritable: Debian's `runc spec` lists ambient ones
/// without inheritable) is not an error: the spec says a runtime SHOULD
/// NOT fail for capabilities it cannot grant, and runc only warns. The
/// warnings come back for the caller to log.
pub fn apply(c: &LinuxCapabilities) -> Result<Vec<String>> {
    let eff = mask(&numbers(c.effective())?);
    let perm = mask(&numbers(c.permitted())?);
    let inh = mask(&numbers(c.inheritable())?);
    let mut hdr = CapHeader {
        version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
        pid: 0,
    };
    let data = [
        CapData {
            effective: eff as u32,
            permitted: perm as u32,
            inheritable: inh as u32,
        },
        CapData {
            effective: (eff >> 32) as u32,
            permitted: (perm >> 32) as u32,
            inheritable: (inh >> 32) as u32,
        },
    ];
    // SAFETY: valid header and two data structs, as capset v3 expects.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) };
    if rc != 0 {
        return Err(Error::sys(
            "config.json: process.capabilities: capset (is every capability in the bounding set \
             of this host?)",
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: plain prctl calls with integer arguments.
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        )
    };
    let mut refused = Vec::new();
    for cap in numbers(c.ambient())? {
        // SAFETY: plain prctl with integer arguments.
        let rc = unsafe {
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_RAISE,
                cap as libc::c_ulong,
                0,
                0,
            )
        };
        if rc != 0 {
            refused.push(name_of(cap));
        }
    }
    if refused.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![format!(
        "config.json: process.capabilities.ambient: not raised (an ambient capability must also \
         be permitted and inheritable): {}",
        refused.join(", ")
    )])
}

/// The kernel's name for capability `n` (CAP_...), or its number.
fn name_of(n: u32) -> String {
    caps::all()
        .into_iter()
        .find(|c| c.index() as u32 == n)
        .map(|c| c.to_string())
        .unwrap_or_else(|| format!("capability {n}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::Capability;

    #[test]
    fn names_to_numbers() {
        let set: Capabilities = [
            Capability::Chown,
            Capability::NetBindService,
            Capability::Kill,
        ]
        .into_iter()
        .collect();
        assert_eq!(numbers(&Some(set)).unwrap(), vec![0, 5, 10]);
        assert_eq!(mask(&[0, 5, 10]), 0b100_0010_0001);
    }
}
