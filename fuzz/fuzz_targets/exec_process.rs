//! cargo-fuzz target `exec_process`: see `exec_process` in ../targets.rs.
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = targets::exec_process(data);
});
