//! cargo-fuzz target `mount_options`: see `mount_options` in ../targets.rs.
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = targets::mount_options(data);
});
