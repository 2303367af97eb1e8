//! The pod sandbox's process (the "pause" container): it holds the pod's
//! namespaces and does nothing, until SIGTERM or SIGINT ends it. Built
//! static with plain rustc by run.sh, into the test's own pause image.
use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: i32) {
    STOP.store(true, Ordering::SeqCst);
}

extern "C" {
    fn signal(sig: i32, handler: extern "C" fn(i32)) -> usize;
    fn pause() -> i32;
}

fn main() {
    const SIGINT: i32 = 2;
    const SIGTERM: i32 = 15;
    // SAFETY: installs a handler that only stores to an atomic.
    unsafe {
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
    }
    while !STOP.load(Ordering::SeqCst) {
        // SAFETY: pause(2) has no arguments and returns on a signal.
        unsafe { pause() };
    }
}
