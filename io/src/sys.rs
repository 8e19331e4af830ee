//! The crate's raw syscalls (socket transfers, signal actions, pipe flags,
//! pidfds, `kill`), and its `unsafe` (besides `compat::tokio_io`,
//! which marks Tokio's `ReadBuf` bytes initialised after a read).

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::RawFd;

// Stream sockets' transfers: `recv`/`send`/`sendmsg` rather than
// `read`/`write`/`writev`. They go straight to the socket layer, where
// `read(2)` and `writev(2)` first pass through the VFS (position lock,
// `rw_verify_area`, fsnotify): 2.3 % of a pipelined hyper server's CPU in
// perf against 0.9 % for `recv` (`docs/benchmarks.md`, "Network"). And
// `send` takes `MSG_NOSIGNAL`, so a gone peer is an `EPIPE` error, never a
// `SIGPIPE`, in a process that has not ignored the signal.
//
// (Calling them through `syscall(2)` to skip glibc's cancellation-point
// bracketing, `__pthread_{enable,disable}_asynccancel`, ~0.9 % of a
// keep-alive server's samples, was tried: the samples moved to
// `syscall` itself, no gain, so the plain wrappers stay.)

fn cvt(n: isize) -> io::Result<usize> {
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// `recv(2)` from a socket (see the notes above).
pub(crate) fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `[u8]` and `[MaybeUninit<u8>]` have the same layout, and
    // `recv_uninit` only lets recv(2) write initialised bytes into the
    // slice, never de-initialising one, so `buf` stays a valid `[u8]`.
    let uninit = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
    recv_uninit(fd, uninit)
}

/// `recv(2)` from a socket into possibly uninitialised memory; returns how
/// many bytes of `buf` it initialised.
pub(crate) fn recv_uninit(fd: RawFd, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the whole
    // call (a unique borrow); recv writes at most that many and never
    // reads them, so their being uninitialised is fine.
    cvt(unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) })
}

/// `send(2)` on a socket, with `MSG_NOSIGNAL` (a closed peer is an
/// `EPIPE` error, never a `SIGPIPE`), as std's `TcpStream::write`.
pub(crate) fn send(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes for the whole
    // call; send only reads them.
    cvt(unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) })
}

/// `sendmsg(2)` of several buffers on a socket, with `MSG_NOSIGNAL` (the
/// vectored `send`; std's `write_vectored` uses `writev`, which can raise
/// `SIGPIPE`).
pub(crate) fn send_vectored(fd: RawFd, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
    // SAFETY: an all-zero msghdr is a valid one with no name, no control
    // data and no buffers.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    // `IoSlice` is ABI-compatible with `iovec` on Unix (its documented
    // guarantee); sendmsg only reads through the pointers.
    msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
    // At most IOV_MAX (1024 on Linux) buffers, as std's `write_vectored`:
    // more is EMSGSIZE, and a short write of the first 1024 is correct.
    msg.msg_iovlen = bufs.len().min(1024) as _;
    // SAFETY: `msg` points at `bufs` (alive and unchanged for the call) and
    // has no name or control data; sendmsg reads `msg` and the buffers.
    cvt(unsafe { libc::sendmsg(fd, &msg, libc::MSG_NOSIGNAL) })
}

/// Reads into the uninitialised tail of hyper's buffer with `recv` (a
/// `poll_read_uninit`), then marks what it filled as initialised.
#[cfg(feature = "hyper")]
pub(crate) fn read_into_cursor(
    buf: &mut hyper::rt::ReadBufCursor<'_>,
    read: impl FnOnce(&mut [MaybeUninit<u8>]) -> std::task::Poll<io::Result<usize>>,
) -> std::task::Poll<io::Result<()>> {
    // SAFETY: `as_mut` requires that no initialised byte be
    // de-initialised; `read` only lets recv(2) write bytes into the slice.
    let uninit = unsafe { buf.as_mut() };
    let n = match read(uninit) {
        std::task::Poll::Ready(Ok(n)) => n,
        std::task::Poll::Ready(Err(e)) => return std::task::Poll::Ready(Err(e)),
        std::task::Poll::Pending => return std::task::Poll::Pending,
    };
    // SAFETY: recv(2) initialised the first `n` bytes of the slice.
    unsafe { buf.advance(n) };
    std::task::Poll::Ready(Ok(()))
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

/// Sets `O_NONBLOCK` on `fd` (a child's pipe end, which std opens blocking).
pub(crate) fn set_nonblocking(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: `fd` is a borrowed, open descriptor for the whole call;
    // F_GETFL takes no argument and touches no memory.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above; F_SETFL takes an int argument.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `pidfd_open(pid, 0)` (Linux 5.3+): a descriptor that turns readable
/// when the child `pid` exits. `ENOSYS` (or `EPERM` under some sandboxes)
/// elsewhere: the caller falls back to SIGCHLD.
#[cfg(target_os = "linux")]
pub(crate) fn pidfd_open(pid: u32) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open takes a pid and a flags int and touches no
    // memory of ours; it returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0 as libc::c_uint) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new descriptor that nothing else owns (pidfds are
    // opened close-on-exec).
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as RawFd) })
}

/// No pidfd off Linux: the caller falls back to SIGCHLD.
#[cfg(not(target_os = "linux"))]
pub(crate) fn pidfd_open(_pid: u32) -> io::Result<std::os::fd::OwnedFd> {
    Err(io::Error::from_raw_os_error(libc::ENOSYS))
}

/// `kill(pid, sig)`. The caller guarantees `pid` is its child that has not
/// been reaped yet (so the pid cannot have been reused).
pub(crate) fn kill(pid: u32, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: kill(2) takes two ints and touches no memory of ours.
    if unsafe { libc::kill(pid as libc::pid_t, sig) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
