//! Checkpoint and restore through CRIU (`berth checkpoint`, `berth
//! restore`), beside the container lifecycle: dump.rs writes a running
//! container's images, restore.rs makes a container from them, criu.rs
//! talks to CRIU (swrk), proto.rs encodes its RPC messages, opts.rs holds
//! what both commands share.

mod criu;
pub mod dump;
pub mod opts;
mod proto;
pub mod restore;

pub use criu::{check as criu_check, works as criu_works, CheckOutcome};
pub use dump::{checkpoint, DumpOptions};
pub use opts::{empty_ns_flags, CgroupsMode, Common};
pub use restore::{restore, RestoreOptions};
