//! berth: a low-level OCI container runtime, a drop-in replacement for runc.
//!
//! The binary (src/main.rs, src/cli/) is a thin layer over this library:
//! `spec` loads and validates config.json, `state` keeps the per-container
//! state dir, `container` drives the lifecycle, `process` starts the init,
//! `rootfs`, `namespaces`, `netdev`, `cgroups`, `security`, `hooks` and `tty`
//! each do one part of building the container.

pub mod cgroups;
pub mod checkpoint;
pub mod container;
pub mod error;
pub mod features;
pub mod hooks;
pub mod hostcheck;
pub mod json;
pub mod logging;
pub mod namespaces;
pub mod netdev;
pub mod process;
pub mod resctrl;
pub mod rootfs;
pub mod security;
pub mod spec;
pub mod state;
pub mod template;
pub mod tty;
pub mod userns;

/// The runtime-spec version berth implements and reports.
pub const OCI_VERSION: &str = "1.3.0";
