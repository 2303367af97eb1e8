//! The cgroup v2 device filter: cgroup v2 has no devices controller, so
//! `linux.resources.devices` becomes a `BPF_PROG_TYPE_CGROUP_DEVICE`
//! program, generated here from the rules and attached to the container's
//! cgroup. The kernel runs it on every open and mknod of a device node
//! and allows the access only when it returns 1.
//!
//! The program reads the rules back to front: for each access bit asked
//! for, the last rule that matches the device and names that bit decides,
//! the meaning device_rules.rs gives a list (and says where the v1
//! controller differs). A deny that covers a bit still undecided returns 0;
//! an allow clears the bits it covers and returns 1 once none is left.
//! Past the first rule (front to back) the answer is deny: berth's lists
//! start from deny-all, unless an `a` rule reset them to allow-all.

use std::os::fd::AsFd;
use std::path::Path;

use oci_spec::runtime::LinuxDeviceCgroup;

use super::bpf::{self, Insn};
use super::device_rules::{self, Kind, Rule, ALL_ACCESS};
use crate::error::{Context, Error, Result};

// Registers: the context comes in r1; the program keeps the access bits
// still to decide in r2, the device type in r3, major in r4, minor in r5,
// and returns r0.
const R0: u8 = 0;
const R1: u8 = 1;
const ACCESS: u8 = 2;
const TYPE: u8 = 3;
const MAJOR: u8 = 4;
const MINOR: u8 = 5;

// struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }:
// access_type is (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;

/// The kernel's dev_t has 12 bits of major and 20 of minor: a rule naming
/// a larger number matches no device and can be left out (which also
/// keeps every number within a jump's signed 32-bit immediate).
const MAX_MAJOR: u32 = (1 << 12) - 1;
const MAX_MINOR: u32 = (1 << 20) - 1;

/// The program for a rule list (as device_rules::with_defaults gives it).
pub fn program(rules: &[Rule]) -> Vec<Insn> {
    // An `a` rule decides everything: what came before it is dead, and
    // it is the answer when no later rule matches.
    let (start, base) = match rules.iter().rposition(|r| r.kind == Kind::All) {
        Some(i) => (i + 1, rules[i].allow),
        None => (0, false),
    };
    let mut prog = vec![
        Insn::load_u32(ACCESS, R1, 0),
        Insn::mov_reg(TYPE, ACCESS),
        Insn::and_imm(TYPE, 0xffff),
        Insn::rsh_imm(ACCESS, 16),
        Insn::load_u32(MAJOR, R1, 4),
        Insn::load_u32(MINOR, R1, 8),
    ];
    for rule in rules[start..].iter().rev() {
        let never_matches = rule.access & ALL_ACCESS == 0
            || rule.major.is_some_and(|m| m > MAX_MAJOR)
            || rule.minor.is_some_and(|m| m > MAX_MINOR);
        if !never_matches {
            prog.extend(block(rule));
        }
    }
    prog.push(Insn::mov_imm(R0, base as i32));
    prog.push(Insn::exit());
    prog
}

/// One rule's instructions. Every jump leaves the block for the next
/// rule; each block has at least one, so no instruction is unreachable
/// (which the verifier would refuse).
fn block(rule: &Rule) -> Vec<Insn> {
    const NEXT: i16 = i16::MIN; // placeholder, patched below
    let mut b = Vec::with_capacity(9);
    let typ = match rule.kind {
        Kind::Block => DEV_BLOCK,
        Kind::Char => DEV_CHAR,
        Kind::All => unreachable!("program() starts after the last `a` rule"),
    };
    b.push(Insn::jne_imm(TYPE, typ, NEXT));
    if let Some(m) = rule.major {
        b.push(Insn::jne_imm(MAJOR, m as i32, NEXT));
    }
    if let Some(m) = rule.minor {
        b.push(Insn::jne_imm(MINOR, m as i32, NEXT));
    }
    let access = i32::from(rule.access & ALL_ACCESS);
    if rule.allow {
        b.push(Insn::and_imm(ACCESS, !access));
        b.push(Insn::jne_imm(ACCESS, 0, NEXT));
        b.push(Insn::mov_imm(R0, 1));
    } else {
        b.push(Insn::mov_reg(R0, ACCESS));
        b.push(Insn::and_imm(R0, access));
        b.push(Insn::jeq_imm(R0, 0, NEXT));
        b.push(Insn::mov_imm(R0, 0));
    }
    b.push(Insn::exit());
    let len = b.len();
    for (i, insn) in b.iter_mut().enumerate() {
        if insn.off == NEXT {
            insn.off = (len - i - 1) as i16;
        }
    }
    b
}

/// Whether this kernel loads a cgroup device program for berth (`berth
/// check`): one that allows everything, loaded and dropped at once (it is
/// never attached).
pub fn probe() -> Result<()> {
    bpf::load_device_program(&[Insn::mov_imm(R0, 1), Insn::exit()], "berth_probe").map(drop)
}

/// Make `rules` (`linux.resources.devices`, then berth's default devices)
/// the device filter of the cgroup `dir`, in place of whatever device
/// programs were attached there before (a later `update` calls this
/// again).
pub fn apply(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<()> {
    let prog = program(&device_rules::with_defaults(rules)?);
    let prog = bpf::load_device_program(&prog, "berth_devices")?;
    replace(dir, prog.as_fd())
}

/// Attach `prog` to the cgroup `dir`, then detach every device program
/// attached there before. In between both run and a device must pass
/// each, so the container never has more access than either allows.
pub fn replace(dir: &Path, prog: std::os::fd::BorrowedFd) -> Result<()> {
    let what = || format!("eBPF device filter for {}", dir.display());
    let cg = std::fs::File::open(dir).ctx(|| format!("open cgroup {}", dir.display()))?;
    let old = bpf::device_program_ids(cg.as_fd())
        .ctx(|| format!("{}: list attached programs (BPF_PROG_QUERY)", what()))?;
    bpf::attach_device_program(cg.as_fd(), prog, bpf::BPF_F_ALLOW_MULTI).map_err(|e| {
        let hint = if e.raw_os_error() == Some(libc::EPERM) {
            " (a program attached here or above without BPF_F_ALLOW_MULTI forbids it)"
        } else {
            ""
        };
        Error::Other(format!("{}: attach (BPF_PROG_ATTACH): {e}{hint}", what()))
    })?;
    for id in old {
        let old = match bpf::program_by_id(id) {
            Ok(fd) => fd,
            // Gone already.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => {
                return Err(Error::sys(
                    format!("{}: open old program {id} (BPF_PROG_GET_FD_BY_ID)", what()),
                    e,
                ))
            }
        };
        match bpf::detach_device_program(cg.as_fd(), old.as_fd()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => {
                return Err(Error::sys(
                    format!("{}: detach old program {id} (BPF_PROG_DETACH)", what()),
                    e,
                ))
            }
        }
    }
    Ok(())
}
