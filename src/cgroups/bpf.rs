//! The little of the eBPF ABI the device filter needs: the instruction
//! encoding and the bpf(2) commands to load a `BPF_PROG_TYPE_CGROUP_DEVICE`
//! program and attach it to (and detach others from) a cgroup directory.
//! Layouts and numbers are the kernel's uapi (`linux/bpf.h`); each
//! attribute struct covers only the fields used, and the kernel zero-fills
//! the rest of its `union bpf_attr`.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::error::{Error, Result};

// Instruction classes, sizes, modes, operations and sources.
pub const BPF_LDX: u8 = 0x01;
pub const BPF_JMP: u8 = 0x05;
pub const BPF_ALU64: u8 = 0x07;
pub const BPF_W: u8 = 0x00;
pub const BPF_MEM: u8 = 0x60;
pub const BPF_AND: u8 = 0x50;
pub const BPF_RSH: u8 = 0x70;
pub const BPF_MOV: u8 = 0xb0;
pub const BPF_JEQ: u8 = 0x10;
pub const BPF_JNE: u8 = 0x50;
pub const BPF_EXIT: u8 = 0x90;
pub const BPF_K: u8 = 0x00;
pub const BPF_X: u8 = 0x08;

/// One eBPF instruction (`struct bpf_insn`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    /// dst_reg in the low nibble, src_reg in the high one.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    #[cfg(test)]
    pub fn dst(&self) -> u8 {
        self.regs & 0x0f
    }
    #[cfg(test)]
    pub fn src(&self) -> u8 {
        self.regs >> 4
    }
    fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            regs: dst | (src << 4),
            off,
            imm,
        }
    }
    /// dst = *(u32 *)(src + off)
    pub fn load_u32(dst: u8, src: u8, off: i16) -> Insn {
        Insn::new(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
    }
    /// dst = imm (sign-extended to 64 bits)
    pub fn mov_imm(dst: u8, imm: i32) -> Insn {
        Insn::new(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
    }
    /// dst = src
    pub fn mov_reg(dst: u8, src: u8) -> Insn {
        Insn::new(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0)
    }
    /// dst &= imm (sign-extended)
    pub fn and_imm(dst: u8, imm: i32) -> Insn {
        Insn::new(BPF_ALU64 | BPF_AND | BPF_K, dst, 0, 0, imm)
    }
    /// dst >>= imm
    pub fn rsh_imm(dst: u8, imm: i32) -> Insn {
        Insn::new(BPF_ALU64 | BPF_RSH | BPF_K, dst, 0, 0, imm)
    }
    /// if dst == imm goto pc + 1 + off
    pub fn jeq_imm(dst: u8, imm: i32, off: i16) -> Insn {
        Insn::new(BPF_JMP | BPF_JEQ | BPF_K, dst, 0, off, imm)
    }
    /// if dst != imm goto pc + 1 + off
    pub fn jne_imm(dst: u8, imm: i32, off: i16) -> Insn {
        Insn::new(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm)
    }
    /// return r0
    pub fn exit() -> Insn {
        Insn::new(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
    }
}

// bpf(2) commands, program type, attach type and flag.
const BPF_PROG_LOAD: u32 = 5;
const BPF_PROG_ATTACH: u32 = 8;
const BPF_PROG_DETACH: u32 = 9;
const BPF_PROG_GET_FD_BY_ID: u32 = 13;
const BPF_PROG_QUERY: u32 = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
pub const BPF_F_ALLOW_MULTI: u32 = 2;

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
}

/// BPF_PROG_ATTACH and BPF_PROG_DETACH.
#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

#[repr(C)]
#[derive(Default)]
struct GetFdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

fn bpf<T>(cmd: u32, attr: &mut T) -> std::io::Result<libc::c_long> {
    // SAFETY: attr is a live, fully initialised #[repr(C)] prefix of
    // union bpf_attr for this command, and its size is passed along; any
    // pointers inside it point at buffers the caller keeps alive.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd as libc::c_int,
            attr as *mut T,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn owned_fd(fd: libc::c_long) -> OwnedFd {
    // SAFETY: bpf(2) just returned this fd (close-on-exec) to us alone.
    unsafe { OwnedFd::from_raw_fd(fd as i32) }
}

/// Load a cgroup device program named `name` (at most 15 of [A-Za-z0-9_.]).
/// When the verifier refuses it, the error carries the end of its log.
pub fn load_device_program(insns: &[Insn], name: &str) -> Result<OwnedFd> {
    // No helper is called, so no GPL-only one either: any license will do.
    let license = c"Apache-2.0";
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: u32::try_from(insns.len())
            .map_err(|_| Error::Other("device filter: program too long".into()))?,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        ..Default::default()
    };
    for (d, s) in attr.prog_name.iter_mut().zip(name.bytes().take(15)) {
        *d = s;
    }
    match bpf(BPF_PROG_LOAD, &mut attr) {
        Ok(fd) => return Ok(owned_fd(fd)),
        Err(e) if !matches!(e.raw_os_error(), Some(libc::EINVAL | libc::EACCES)) => {
            return Err(Error::sys(
                "load the eBPF device filter (bpf BPF_PROG_LOAD)",
                e,
            ))
        }
        Err(_) => {}
    }
    // The verifier said no: load again with its log on, for the error.
    let mut log = vec![0u8; 1 << 20];
    attr.log_level = 1;
    attr.log_size = log.len() as u32;
    attr.log_buf = log.as_mut_ptr() as u64;
    let err = match bpf(BPF_PROG_LOAD, &mut attr) {
        Ok(fd) => return Ok(owned_fd(fd)),
        Err(e) => e,
    };
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    let text = String::from_utf8_lossy(&log[..end]);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(20)..].join(" | ");
    Err(Error::Other(format!(
        "load the eBPF device filter (bpf BPF_PROG_LOAD): {err}; verifier log: {}",
        if tail.is_empty() { "(empty)" } else { &tail }
    )))
}

/// Attach `prog` to the cgroup `cgroup` as a device program.
pub fn attach_device_program(
    cgroup: BorrowedFd,
    prog: BorrowedFd,
    flags: u32,
) -> std::io::Result<()> {
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: flags,
    };
    bpf(BPF_PROG_ATTACH, &mut attr).map(drop)
}

/// Detach the device program `prog` from the cgroup `cgroup`.
pub fn detach_device_program(cgroup: BorrowedFd, prog: BorrowedFd) -> std::io::Result<()> {
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: 0,
    };
    bpf(BPF_PROG_DETACH, &mut attr).map(drop)
}

/// The ids of the device programs attached to `cgroup` itself (not those
/// inherited from its ancestors).
pub fn device_program_ids(cgroup: BorrowedFd) -> std::io::Result<Vec<u32>> {
    let mut ids = vec![0u32; 16];
    loop {
        let mut attr = QueryAttr {
            target_fd: cgroup.as_raw_fd() as u32,
            attach_type: BPF_CGROUP_DEVICE,
            prog_ids: ids.as_mut_ptr() as u64,
            prog_cnt: ids.len() as u32,
            ..Default::default()
        };
        match bpf(BPF_PROG_QUERY, &mut attr) {
            Ok(_) => {
                ids.truncate(attr.prog_cnt as usize);
                return Ok(ids);
            }
            // More than fit: prog_cnt says how many there are.
            Err(e)
                if e.raw_os_error() == Some(libc::ENOSPC) && attr.prog_cnt as usize > ids.len() =>
            {
                ids = vec![0; attr.prog_cnt as usize];
            }
            Err(e) => return Err(e),
        }
    }
}

/// An fd for the loaded program with this id.
pub fn program_by_id(id: u32) -> std::io::Result<OwnedFd> {
    let mut attr = GetFdAttr {
        prog_id: id,
        ..Default::default()
    };
    bpf(BPF_PROG_GET_FD_BY_ID, &mut attr).map(owned_fd)
}
