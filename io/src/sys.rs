//! The crate's raw syscalls: the only `unsafe` in ravel-io.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::RawFd;

/// `read(2)` into possibly uninitialised memory; returns how many bytes of
/// `buf` it initialised.
pub(crate) fn read_uninit(fd: RawFd, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the whole
    // call (a unique borrow); `read` writes at most that many and never
    // reads them, so their being uninitialised is fine.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Adds, for good, an action to signal `sig`'s handler (chained with any
/// handler already installed, by `signal-hook-registry`): it sets
/// `pending` and writes one byte to `wake` (non-blocking; a full pipe
/// already holds a wake-up, so the write may fail).
pub(crate) fn add_signal_action(
    sig: libc::c_int,
    pending: &'static std::sync::atomic::AtomicBool,
    wake: &'static std::os::unix::net::UnixStream,
) -> io::Result<()> {
    use std::io::Write;
    let action = move || {
        pending.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = (&*wake).write(&[1]);
    };
    // SAFETY: the action is async-signal-safe: an atomic store and one
    // send(2)/write(2) on a non-blocking socket (no allocation, no lock;
    // its error, if any, is an OS code); `sig` is not a FORBIDDEN signal,
    // which the caller checked (register would panic).
    unsafe { signal_hook_registry::register(sig, action) }.map(drop)
}
