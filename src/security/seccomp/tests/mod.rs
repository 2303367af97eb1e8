//! Unit tests of the seccomp compiler: rules.rs (config checks), bpf.rs
//! (program semantics on a BPF interpreter) and kernel.rs (filters
//! installed in forked children).

mod bpf;
mod kernel;
mod oracle;
mod rules;

use super::abi::*;
use super::bpf::*;
use super::install::*;
use super::*;
use oci_spec::runtime::{Arch, LinuxSeccompOperator as Op};
use serde_json::Value;

fn profile(v: Value) -> LinuxSeccomp {
    serde_json::from_value(v).expect("a valid LinuxSeccomp")
}

fn err(v: Value) -> String {
    match compile(&profile(v)) {
        Ok(f) => panic!("expected an error, compiled {f:?}"),
        Err(e) => e.to_string(),
    }
}

fn native() -> &'static Abi {
    abi(HOST.expect("tests run on x86_64 or aarch64").0)
}

fn nr(abi: &Abi, name: &str) -> u32 {
    abi.lookup(name)
        .unwrap_or_else(|| panic!("{name} on {}", abi.name))
}

const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
fn errno(e: i32) -> u32 {
    libc::SECCOMP_RET_ERRNO | e as u32
}

// -- A classic BPF interpreter, to check programs without the kernel.

fn check_program(p: &[libc::sock_filter]) {
    assert!(!p.is_empty() && p.len() <= 4096);
    assert_eq!(p.last().unwrap().code, RET_K, "ends in ret");
    for (i, insn) in p.iter().enumerate() {
        match insn.code {
            JA => assert!(i + 1 + (insn.k as usize) < p.len(), "ja at {i}"),
            JEQ | JGT | JGE | JSET => {
                assert!(i + 1 + (insn.jt as usize) < p.len(), "jt at {i}");
                assert!(i + 1 + (insn.jf as usize) < p.len(), "jf at {i}");
            }
            LD_ABS => assert!(insn.k % 4 == 0 && insn.k < 64, "ld at {i}"),
            AND_K | RET_K => {}
            c => panic!("unexpected opcode {c:#x} at {i}"),
        }
    }
}

fn run_bpf(p: &[libc::sock_filter], audit: u32, nr: u32, args: [u64; 6]) -> u32 {
    let mut data = Vec::with_capacity(64);
    data.extend_from_slice(&nr.to_ne_bytes());
    data.extend_from_slice(&audit.to_ne_bytes());
    data.extend_from_slice(&0u64.to_ne_bytes());
    for a in args {
        data.extend_from_slice(&a.to_ne_bytes());
    }
    let (mut a, mut pc) = (0u32, 0usize);
    loop {
        let i = p[pc];
        pc += 1;
        let k = i.k;
        let skip = |cond: bool| if cond { i.jt } else { i.jf } as usize;
        match i.code {
            LD_ABS => a = u32::from_ne_bytes(data[k as usize..k as usize + 4].try_into().unwrap()),
            AND_K => a &= k,
            JA => pc += k as usize,
            JEQ => pc += skip(a == k),
            JGT => pc += skip(a > k),
            JGE => pc += skip(a >= k),
            JSET => pc += skip(a & k != 0),
            RET_K => return k,
            c => panic!("opcode {c:#x}"),
        }
    }
}

fn eval(f: &Filter, abi: &Abi, name: &str, args: [u64; 6]) -> u32 {
    run_bpf(&f.program, abi.audit, nr(abi, name), args)
}

/// xorshift64: reproducible pseudo-random test inputs.
pub(super) struct Rng(pub(super) u64);
impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Values near the interesting edges of `v`, or anything.
    pub(super) fn near(&mut self, v: u64) -> u64 {
        let r = self.next();
        match r % 8 {
            0 => v,
            1 => v.wrapping_add(1),
            2 => v.wrapping_sub(1),
            3 => v ^ (1 << ((r >> 8) % 64)),
            4 => (v & 0xffff_ffff_0000_0000) | (r >> 32),
            5 => (v & 0xffff_ffff) | (r << 32),
            6 => [0, 1, 0xffff_ffff, 1 << 32, u64::MAX][(r >> 8) as usize % 5],
            _ => r,
        }
    }
}
