//! Architectures and syscall tables: which ABIs a filter covers on this
//! machine, and syscall names to numbers for each.

use oci_spec::runtime::Arch;

use super::{invalid, syscalls_aarch64, syscalls_x86_64};
use crate::error::Result;
use crate::logging;

pub(super) const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
pub(super) const AUDIT_ARCH_I386: u32 = 0x4000_0003;
pub(super) const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
/// x32 syscalls are x86_64 ones with this bit set in the number.
pub(super) const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// One syscall ABI: what `seccomp_data.arch` says and how numbers map.
pub(super) struct Abi {
    pub(super) name: &'static str,
    pub(super) arch: Arch,
    pub(super) audit: u32,
    pub(super) table: &'static [(&'static str, u32)],
    /// 32-bit ABI: compare the low half of arguments only.
    pub(super) bits32: bool,
    /// Shares AUDIT_ARCH_X86_64: whether its numbers carry X32_SYSCALL_BIT.
    pub(super) x32: Option<bool>,
}

impl Abi {
    pub(super) fn lookup(&self, name: &str) -> Option<u32> {
        let i = self.table.binary_search_by(|(n, _)| (*n).cmp(name)).ok()?;
        Some(self.table[i].1)
    }
}

pub(super) static ABIS: [Abi; 4] = [
    Abi {
        name: "SCMP_ARCH_X86_64",
        arch: Arch::ScmpArchX86_64,
        audit: AUDIT_ARCH_X86_64,
        table: syscalls_x86_64::X86_64,
        bits32: false,
        x32: Some(false),
    },
    Abi {
        name: "SCMP_ARCH_X32",
        arch: Arch::ScmpArchX32,
        audit: AUDIT_ARCH_X86_64,
        table: syscalls_x86_64::X32,
        bits32: true,
        x32: Some(true),
    },
    Abi {
        name: "SCMP_ARCH_X86",
        arch: Arch::ScmpArchX86,
        audit: AUDIT_ARCH_I386,
        table: syscalls_x86_64::I386,
        bits32: true,
        x32: None,
    },
    Abi {
        name: "SCMP_ARCH_AARCH64",
        arch: Arch::ScmpArchAarch64,
        audit: AUDIT_ARCH_AARCH64,
        table: syscalls_aarch64::AARCH64,
        bits32: false,
        x32: None,
    },
];

/// This machine's architecture and the compat ABIs berth can filter too.
#[cfg(target_arch = "x86_64")]
pub(super) const HOST: Option<(Arch, &[Arch])> = Some((
    Arch::ScmpArchX86_64,
    &[Arch::ScmpArchX86, Arch::ScmpArchX32],
));
#[cfg(target_arch = "aarch64")]
pub(super) const HOST: Option<(Arch, &[Arch])> = Some((Arch::ScmpArchAarch64, &[]));
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub(super) const HOST: Option<(Arch, &[Arch])> = None;

pub(super) fn abi(arch: Arch) -> &'static Abi {
    ABIS.iter()
        .find(|a| a.arch == arch)
        .expect("HOST only names architectures in ABIS")
}

/// The ABIs to filter: the native one first, then listed compat ones.
pub(super) fn enabled_abis(
    list: Option<&[Arch]>,
    native: Arch,
    compat: &[Arch],
) -> Result<Vec<&'static Abi>> {
    let mut out = vec![abi(native)];
    let list = list.unwrap_or_default();
    if list.is_empty() {
        return Ok(out);
    }
    if !list
        .iter()
        .any(|&a| a == native || a == Arch::ScmpArchNative)
    {
        let names: Vec<String> = list.iter().map(|a| a.to_string()).collect();
        return Err(invalid(
            "linux.seccomp.architectures",
            &format!(
                "[{}] does not include this machine's architecture {native}; add it (or leave the list empty)",
                names.join(", ")
            ),
        ));
    }
    for &a in list {
        if a == native || a == Arch::ScmpArchNative || out.iter().any(|x| x.arch == a) {
            continue;
        }
        if compat.contains(&a) {
            out.push(abi(a));
        } else {
            logging::debug(&format!(
                "seccomp: architecture {a} is not filtered on this machine; its syscalls get SCMP_ACT_KILL_PROCESS"
            ));
        }
    }
    Ok(out)
}
