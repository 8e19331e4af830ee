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
