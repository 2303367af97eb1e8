//! berth ships as one self-contained binary: statically linked (glibc with
//! crt-static, .cargo/config.toml), no C library to install beside it.

use std::process::Command;

#[test]
fn berth_is_statically_linked() {
    let bin = env!("CARGO_BIN_EXE_berth");
    let out = Command::new("ldd")
        .arg(bin)
        .output()
        .expect("run ldd (Debian's libc-bin)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("statically linked") || text.contains("not a dynamic executable"),
        "ldd {bin}: {text}"
    );
    assert!(!text.contains("=>"), "ldd lists shared libraries: {text}");
}
