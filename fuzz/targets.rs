//! The bodies of the fuzz targets, shared with the ordinary test suite
//! (tests/fuzz_inputs.rs runs every seed and every saved crash through
//! them, without nightly). Each calls berth's pure entry points only:
//! nothing here touches the filesystem or the kernel.
//!
//! Each returns how far the input got: `Ok` when every stage accepted it,
//! else the error of the stage that refused it. Panics are the bugs.
#![allow(dead_code)]

use std::path::Path;

use berth::container::{hook_state, state_json, Status};
use oci_spec::runtime::LinuxSeccomp;

/// config.json: parse, validate without asking the host, then what the
/// init derives from a valid config without the kernel: the seccomp
/// filter and each mount's options.
pub fn config(data: &[u8]) -> Result<(), String> {
    let spec = berth::spec::parse(data, Path::new("config.json")).map_err(|e| e.to_string())?;
    berth::spec::validate_offline(&spec).map_err(|e| e.to_string())?;
    if let Some(s) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        let f = berth::security::seccomp::compile(s).map_err(|e| e.to_string())?;
        check_bpf(f.program());
    }
    for m in spec.mounts().iter().flatten() {
        berth::rootfs::options::parse(m.options().as_deref().unwrap_or(&[]))?;
    }
    Ok(())
}

/// exec's `--process` file: parsed and validated as `exec` does.
pub fn exec_process(data: &[u8]) -> Result<(), String> {
    let path = Path::new("process.json");
    let p = berth::container::exec_process::parse(data, path).map_err(|e| e.to_string())?;
    berth::spec::validate_process_offline(&p, "--process process.json: ").map_err(|e| e.to_string())
}

/// A container's state.json: what berth loads must load again once
/// saved, and turn into the OCI state and the hooks' state.
pub fn state(data: &[u8]) -> Result<(), String> {
    let path = Path::new("state.json");
    let saved = berth::state::parse_saved(data, path).map_err(|e| e.to_string())?;
    let again = serde_json::to_vec(&saved).expect("a loaded state serializes");
    let reloaded = berth::state::parse_saved(&again, path)
        .unwrap_or_else(|e| panic!("a saved state does not load again: {e}"));
    assert_eq!(reloaded.pid, saved.pid);
    assert_eq!(reloaded.cgroup, saved.cgroup);
    for status in [Status::Created, Status::Running, Status::Stopped] {
        serde_json::to_string(&state_json(&saved, status)).expect("a state prints as JSON");
    }
    let _ = hook_state(
        &saved.id,
        saved.pid,
        Status::Running,
        &saved.bundle,
        &saved.annotations,
    );
    Ok(())
}

/// `linux.seccomp`: compiled to classic BPF (never installed), and the
/// program checked as the kernel would.
pub fn seccomp(data: &[u8]) -> Result<(), String> {
    let s: LinuxSeccomp = berth::json::parse(data)?;
    let f = berth::security::seccomp::compile(&s).map_err(|e| e.to_string())?;
    check_bpf(f.program());
    Ok(())
}

/// A mount's `options`: a JSON array of strings when the input is one
/// (any string, commas and NULs included), else the bytes split on commas
/// as `mount -o` spells them.
pub fn mount_options(data: &[u8]) -> Result<(), String> {
    let opts: Vec<String> = match serde_json::from_slice(data) {
        Ok(v) => v,
        Err(_) => std::str::from_utf8(data)
            .map_err(|e| e.to_string())?
            .split(',')
            .map(str::to_string)
            .collect(),
    };
    let o = berth::rootfs::options::parse(&opts)?;
    // What goes to mount(2) as data must be a C string.
    assert!(o.data.iter().all(|d| !d.contains('\0')), "{:?}", o.data);
    assert!(o.data.len() <= opts.len());
    assert!(!o.recursive || o.bind, "rbind is a bind");
    Ok(())
}

const BPF_MAXINSNS: usize = 4096;
// The classic BPF opcodes (linux/filter.h) berth's generator emits.
const LD_W_ABS: u16 = 0x20;
const ALU_AND_K: u16 = 0x54;
const JMP_JA: u16 = 0x05;
const JMP_JEQ_K: u16 = 0x15;
const JMP_JGT_K: u16 = 0x25;
const JMP_JGE_K: u16 = 0x35;
const JMP_JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;

/// What the kernel's checker would refuse: more than 4096 instructions,
/// an opcode berth does not emit, a jump out of the program, a load
/// outside `seccomp_data` (64 bytes), a last instruction that is no
/// return.
fn check_bpf(p: &[libc::sock_filter]) {
    assert!(
        !p.is_empty() && p.len() <= BPF_MAXINSNS,
        "{} instructions",
        p.len()
    );
    assert_eq!(p[p.len() - 1].code, RET_K, "the program ends in a return");
    for (i, insn) in p.iter().enumerate() {
        let lands = |skip: usize| i + 1 + skip < p.len();
        match insn.code {
            JMP_JA => assert!(lands(insn.k as usize), "ja at {i} jumps out"),
            JMP_JEQ_K | JMP_JGT_K | JMP_JGE_K | JMP_JSET_K => {
                assert!(lands(insn.jt as usize), "jt at {i} jumps out");
                assert!(lands(insn.jf as usize), "jf at {i} jumps out");
            }
            LD_W_ABS => assert!(insn.k % 4 == 0 && insn.k < 64, "ld at {i}"),
            ALU_AND_K | RET_K => {}
            c => panic!("opcode {c:#x} at {i}"),
        }
    }
}
