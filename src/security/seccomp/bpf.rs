//! BPF generation: a back-to-front assembler, one section per
//! architecture, a binary search over syscall numbers, and 64-bit argument
//! tests done as two 32-bit compares.

use std::collections::{BTreeMap, HashMap};

use oci_spec::runtime::LinuxSeccompOperator as Op;

use super::abi::{Abi, X32_SYSCALL_BIT};
use super::rules::{Cond, Entry, Rule};

/// `struct seccomp_data` offsets.
pub(super) const OFF_NR: u32 = 0;
pub(super) const OFF_ARCH: u32 = 4;
pub(super) fn off_arg(index: u32, high: bool) -> u32 {
    let low_first = cfg!(target_endian = "little");
    16 + 8 * index + if high == low_first { 4 } else { 0 }
}

pub(super) const LD_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
pub(super) const AND_K: u16 = (libc::BPF_ALU | libc::BPF_AND | libc::BPF_K) as u16;
pub(super) const JA: u16 = (libc::BPF_JMP | libc::BPF_JA) as u16;
pub(super) const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
pub(super) const JGT: u16 = (libc::BPF_JMP | libc::BPF_JGT | libc::BPF_K) as u16;
pub(super) const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
pub(super) const JSET: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
pub(super) const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

pub(super) const RET_BAD_ARCH: u32 = libc::SECCOMP_RET_KILL_PROCESS;
pub(super) const RET_ENOSYS: u32 = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;

/// A place in the program, counted from its end (see `Asm`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct Label(usize);

/// Builds the program back to front: every jump goes forward, so its target
/// is already emitted and the offset is known when the jump is written.
#[derive(Default)]
pub(super) struct Asm {
    /// The program reversed: `rev[0]` is its last instruction.
    pub(super) rev: Vec<libc::sock_filter>,
    /// Where a `ret` with this value was last emitted, to share it.
    pub(super) rets: HashMap<u32, Label>,
}

impl Asm {
    pub(super) fn push(&mut self, code: u16, k: u32, jt: u8, jf: u8) -> Label {
        self.rev.push(libc::sock_filter { code, jt, jf, k });
        Label(self.rev.len() - 1)
    }

    /// Instructions to skip from one pushed `extra` slots from now to `to`.
    pub(super) fn dist(&self, to: Label, extra: usize) -> usize {
        self.rev.len() + extra - to.0 - 1
    }

    pub(super) fn ret(&mut self, k: u32) -> Label {
        match self.rets.get(&k) {
            Some(&l) if self.dist(l, 3) <= 255 => l,
            _ => {
                let l = self.push(RET_K, k, 0, 0);
                self.rets.insert(k, l);
                l
            }
        }
    }

    pub(super) fn ld(&mut self, off: u32) -> Label {
        self.push(LD_ABS, off, 0, 0)
    }

    pub(super) fn and(&mut self, k: u32) -> Label {
        self.push(AND_K, k, 0, 0)
    }

    pub(super) fn ja(&mut self, to: Label) -> Label {
        let k = self.dist(to, 0) as u32;
        self.push(JA, k, 0, 0)
    }

    /// `if A <op> k goto jt else goto jf`. Conditional jumps reach 255
    /// instructions ahead; a farther target goes through a `ja` placed
    /// right after the test.
    pub(super) fn jump(&mut self, op: u16, k: u32, jt: Label, jf: Label) -> Label {
        let jf = if self.dist(jf, 2) > 255 {
            self.ja(jf)
        } else {
            jf
        };
        let jt = if self.dist(jt, 1) > 255 {
            self.ja(jt)
        } else {
            jt
        };
        let (t, f) = (self.dist(jt, 0) as u8, self.dist(jf, 0) as u8);
        self.push(op, k, t, f)
    }

    /// Make the next instruction pushed continue at `to`.
    pub(super) fn fall_into(&mut self, to: Label) {
        if to.0 + 1 != self.rev.len() {
            self.ja(to);
        }
    }

    pub(super) fn finish(mut self) -> Vec<libc::sock_filter> {
        self.rev.reverse();
        self.rev
    }
}

/// The rules of one syscall on one ABI.
#[derive(Default)]
pub(super) struct SysRules<'a> {
    pub(super) uncond: Option<u32>,
    pub(super) conds: Vec<&'a Rule>,
}

pub(super) fn generate(
    abis: &[&Abi],
    entries: &[Entry],
    default_ret: u32,
) -> Vec<libc::sock_filter> {
    let mut asm = Asm::default();
    let enosys = default_ret != RET_ENOSYS
        && default_ret != libc::SECCOMP_RET_ALLOW
        && default_ret != libc::SECCOMP_RET_LOG;

    // Sections per audit arch, in the order of `abis` (native first).
    let mut audits: Vec<u32> = Vec::new();
    for a in abis {
        if !audits.contains(&a.audit) {
            audits.push(a.audit);
        }
    }
    let mut starts = HashMap::new();
    for &audit in &audits {
        let group: Vec<&Abi> = abis.iter().copied().filter(|a| a.audit == audit).collect();
        let main = group
            .iter()
            .find(|a| a.x32 != Some(true))
            .expect("native ABI");
        let body = abi_section(&mut asm, main, entries, default_ret, enosys);
        let entry = if main.x32.is_some() {
            let x32 = match group.iter().find(|a| a.x32 == Some(true)) {
                Some(x) => abi_section(&mut asm, x, entries, default_ret, enosys),
                None => asm.ret(RET_BAD_ARCH),
            };
            let split = asm.jump(JSET, X32_SYSCALL_BIT, x32, body);
            // nr -1 (a syscall skipped by a tracer) has bit 30 set too.
            asm.jump(JEQ, u32::MAX, body, split)
        } else {
            body
        };
        asm.fall_into(entry);
        starts.insert(audit, asm.ld(OFF_NR));
    }
    // Emitted last, run first: the native architecture is tested first.
    let mut next = asm.ret(RET_BAD_ARCH);
    for audit in audits.iter().rev() {
        next = asm.jump(JEQ, *audit, starts[audit], next);
    }
    asm.ld(OFF_ARCH);
    asm.finish()
}

/// One ABI's section; it starts with the syscall number in A.
pub(super) fn abi_section(
    asm: &mut Asm,
    abi: &Abi,
    entries: &[Entry],
    default_ret: u32,
    enosys: bool,
) -> Label {
    let mut by_nr: BTreeMap<u32, SysRules> = BTreeMap::new();
    let mut last = None;
    for e in entries {
        for name in e.names {
            let Some(nr) = abi.lookup(name) else { continue };
            last = last.max(Some(nr));
            if e.redundant {
                continue;
            }
            let s = by_nr.entry(nr).or_default();
            for r in &e.rules {
                if r.conds.is_empty() {
                    s.uncond.get_or_insert(r.ret);
                } else {
                    s.conds.push(r);
                }
            }
        }
    }
    let mut targets = Vec::with_capacity(by_nr.len());
    for (&nr, rules) in &by_nr {
        targets.push((nr, syscall_body(asm, abi, rules, default_ret)));
    }
    let tree = search(asm, &targets, default_ret);
    match last {
        Some(last) if enosys => {
            let e = asm.ret(RET_ENOSYS);
            asm.jump(JGT, last, e, tree)
        }
        _ => tree,
    }
}

/// Binary search over sorted syscall numbers (A = nr), then a short
/// linear run of `jeq`s; no match -> the default action.
pub(super) fn search(asm: &mut Asm, targets: &[(u32, Label)], default_ret: u32) -> Label {
    if targets.len() <= 4 {
        let mut next = asm.ret(default_ret);
        for &(nr, body) in targets.iter().rev() {
            next = asm.jump(JEQ, nr, body, next);
        }
        return next;
    }
    let mid = targets.len() / 2;
    let upper = search(asm, &targets[mid..], default_ret);
    let lower = search(asm, &targets[..mid], default_ret);
    asm.jump(JGE, targets[mid].0, upper, lower)
}

pub(super) fn syscall_body(asm: &mut Asm, abi: &Abi, rules: &SysRules, default_ret: u32) -> Label {
    if let Some(ret) = rules.uncond {
        return asm.ret(ret);
    }
    let mut next = asm.ret(default_ret);
    for rule in rules.conds.iter().rev() {
        let mut entry = asm.ret(rule.ret);
        for c in rule.conds.iter().rev() {
            entry = condition(asm, abi.bits32, c, entry, next);
        }
        next = entry;
    }
    next
}

/// Test one argument: go to `pass` or `fail`. 64-bit values are compared
/// high word first; the low word decides only when the high words are
/// equal.
pub(super) fn condition(asm: &mut Asm, bits32: bool, c: &Cond, pass: Label, fail: Label) -> Label {
    let (v, v2) = (c.value, c.value_two);
    let (hi, lo) = (|x: u64| (x >> 32) as u32, |x: u64| x as u32);

    // The low word.
    match c.op {
        Op::ScmpCmpEq => asm.jump(JEQ, lo(v), pass, fail),
        Op::ScmpCmpNe => asm.jump(JEQ, lo(v), fail, pass),
        Op::ScmpCmpGt => asm.jump(JGT, lo(v), pass, fail),
        Op::ScmpCmpGe => asm.jump(JGE, lo(v), pass, fail),
        Op::ScmpCmpLt => asm.jump(JGE, lo(v), fail, pass),
        Op::ScmpCmpLe => asm.jump(JGT, lo(v), fail, pass),
        Op::ScmpCmpMaskedEq => {
            asm.jump(JEQ, lo(v2), pass, fail);
            asm.and(lo(v))
        }
    };
    let lo_entry = asm.ld(off_arg(c.index, false));
    if bits32 {
        return lo_entry;
    }

    // The high word: decide, or fall through to the low word when equal.
    match c.op {
        Op::ScmpCmpEq => asm.jump(JEQ, hi(v), lo_entry, fail),
        Op::ScmpCmpNe => asm.jump(JEQ, hi(v), lo_entry, pass),
        Op::ScmpCmpGt | Op::ScmpCmpGe => {
            let eq = asm.jump(JEQ, hi(v), lo_entry, fail);
            asm.jump(JGT, hi(v), pass, eq)
        }
        Op::ScmpCmpLt | Op::ScmpCmpLe => {
            let eq = asm.jump(JEQ, hi(v), lo_entry, pass);
            asm.jump(JGT, hi(v), fail, eq)
        }
        Op::ScmpCmpMaskedEq => {
            asm.jump(JEQ, hi(v2), lo_entry, fail);
            asm.and(hi(v))
        }
    };
    asm.ld(off_arg(c.index, true))
}
