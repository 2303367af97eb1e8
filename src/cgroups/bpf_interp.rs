//! Tests only: an interpreter for the few eBPF instructions the device
//! filter emits, run on a `bpf_cgroup_dev_ctx`, plus the structural checks
//! the kernel's verifier makes that matter here (jumps in range, forward
//! only, no unreachable instruction, no register read before it is set).
//! Anything else it meets is a test failure.

use super::bpf::*;

/// The device context: (access bits << 16 | device type), major, minor.
pub struct Ctx {
    pub access_type: u32,
    pub major: u32,
    pub minor: u32,
}

/// Run `prog` on `ctx`; its return value (r0).
pub fn run(prog: &[Insn], ctx: &Ctx) -> u64 {
    let mut regs: [Option<u64>; 11] = [None; 11];
    const CTX: u64 = 0xc0de; // r1: a token, only valid as a load base
    regs[1] = Some(CTX);
    let get = |regs: &[Option<u64>; 11], r: u8, pc: usize| -> u64 {
        regs[r as usize].unwrap_or_else(|| panic!("insn {pc}: r{r} read before it is set"))
    };
    let mut pc = 0usize;
    loop {
        let insn = *prog
            .get(pc)
            .unwrap_or_else(|| panic!("fell off the end of the program at {pc}"));
        let (dst, src) = (insn.dst(), insn.src());
        assert!(dst <= 10 && src <= 10, "insn {pc}: bad register");
        let imm = insn.imm as i64 as u64; // sign-extended, as the kernel does
        let mut next = pc + 1;
        match insn.code {
            c if c == BPF_LDX | BPF_MEM | BPF_W => {
                assert_eq!(
                    get(&regs, src, pc),
                    CTX,
                    "insn {pc}: load from a non-context pointer"
                );
                let v = match insn.off {
                    0 => ctx.access_type,
                    4 => ctx.major,
                    8 => ctx.minor,
                    off => panic!("insn {pc}: context load at offset {off}"),
                };
                regs[dst as usize] = Some(u64::from(v));
            }
            c if c == BPF_ALU64 | BPF_MOV | BPF_K => regs[dst as usize] = Some(imm),
            c if c == BPF_ALU64 | BPF_MOV | BPF_X => regs[dst as usize] = Some(get(&regs, src, pc)),
            c if c == BPF_ALU64 | BPF_AND | BPF_K => {
                regs[dst as usize] = Some(get(&regs, dst, pc) & imm)
            }
            c if c == BPF_ALU64 | BPF_RSH | BPF_K => {
                assert!(
                    (0..64).contains(&insn.imm),
                    "insn {pc}: shift by {}",
                    insn.imm
                );
                regs[dst as usize] = Some(get(&regs, dst, pc) >> insn.imm)
            }
            c if c == BPF_JMP | BPF_JEQ | BPF_K || c == BPF_JMP | BPF_JNE | BPF_K => {
                let equal = get(&regs, dst, pc) == imm;
                if equal == (c == BPF_JMP | BPF_JEQ | BPF_K) {
                    next = jump_target(prog, pc, insn.off);
                }
            }
            c if c == BPF_JMP | BPF_EXIT => return get(&regs, 0, pc),
            c => panic!("insn {pc}: opcode {c:#04x} not known to the test interpreter"),
        }
        pc = next;
    }
}

fn jump_target(prog: &[Insn], pc: usize, off: i16) -> usize {
    assert!(off >= 0, "insn {pc}: backward jump");
    let t = pc + 1 + off as usize;
    assert!(t < prog.len(), "insn {pc}: jump out of the program to {t}");
    t
}

/// Panic unless every instruction can be reached from the first, every
/// jump lands inside the program, and the last instruction is an exit
/// (the verifier refuses a program that breaks any of these).
pub fn check_structure(prog: &[Insn]) {
    assert!(!prog.is_empty(), "empty program");
    assert_eq!(
        prog.last().unwrap().code,
        BPF_JMP | BPF_EXIT,
        "last insn is not exit"
    );
    let mut reached = vec![false; prog.len()];
    reached[0] = true;
    // Jumps go forward only, so one pass in order finds every reachable one.
    for pc in 0..prog.len() {
        if !reached[pc] {
            panic!("insn {pc} is unreachable: {:?}", prog[pc]);
        }
        let insn = prog[pc];
        let class = insn.code & 0x07;
        if class == BPF_JMP && insn.code != BPF_JMP | BPF_EXIT {
            reached[jump_target(prog, pc, insn.off)] = true;
        }
        if insn.code != BPF_JMP | BPF_EXIT && pc + 1 < prog.len() {
            reached[pc + 1] = true;
        }
    }
}
