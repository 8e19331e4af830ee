//! [`AsyncFd`]: a file descriptor on the reactor, with cancellable awaits.

use crate::driver::io::{shut_down_error, Registration};
use crate::driver::scheduled_io::{Direction, ReadyEvent, WaitSlot};
use crate::error::{Error, Result};
use crate::runtime::Handle;
use crate::task::{current, Leaf};
use std::fmt;
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Which directions of readiness an [`AsyncFd`] is registered for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interest {
    read: bool,
    write: bool,
}

impl Interest {
    /// Readable (and accept, receive, hang-up).
    pub const READABLE: Interest = Interest { read: true, write: false };
    /// Writable (and connect completion).
    pub const WRITABLE: Interest = Interest { read: false, write: true };
    /// Both directions.
    pub const BOTH: Interest = Interest { read: true, write: true };

    fn to_mio(self) -> mio::Interest {
        match (self.read, self.write) {
            (true, true) => mio::Interest::READABLE | mio::Interest::WRITABLE,
            (false, true) => mio::Interest::WRITABLE,
            _ => mio::Interest::READABLE,
        }
    }
}

impl std::ops::BitOr for Interest {
    type Output = Interest;
    fn bitor(self, other: Interest) -> Interest {
        Interest { read: self.read || other.read, write: self.write || other.write }
    }
}

/// A file descriptor registered with a Ravel runtime's reactor.
///
/// The fd must be in non-blocking mode. `AsyncFd` owns its `T` (a socket,
/// a pipe end): dropping it removes the fd from the reactor, then drops
/// `T` (which closes it). [`into_inner`](Self::into_inner) gives `T` back,
/// deregistered.
///
/// Three ways to do I/O, from the most to the least convenient:
///
/// * [`io`](Self::io): an await that runs a syscall when the fd is ready,
///   retries after `WouldBlock` once the reactor reports readiness again,
///   and follows Ravel's leaf rule: it spends cooperative budget, and a
///   pending cancellation is delivered *instead of* the syscall when the
///   await suspends or resumes, so a cancelled read consumed nothing and a
///   cancelled write wrote nothing;
/// * [`poll_io`](Self::poll_io): the same as a poll function, for
///   `AsyncRead`-style traits (budgeted, but a poll function cannot deliver
///   a cancellation: wrap the awaiting future in
///   [`cancellable`](crate::cancellable) for that);
/// * [`ready`](Self::ready) / [`poll_ready`](Self::poll_ready) with
///   [`clear_ready`](Self::clear_ready) and [`try_io`](Self::try_io), to
///   drive the syscalls yourself.
///
/// A new `AsyncFd` reports itself ready in both directions, so the first
/// syscall is tried before any wait. Any number of tasks may await one
/// direction at once: each is woken by the next readiness event.
///
/// ```
/// use ravel::io::{AsyncFd, Direction};
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
///
/// ravel::run(async {
///     let (a, b) = UnixStream::pair()?;
///     a.set_nonblocking(true)?;
///     b.set_nonblocking(true)?;
///     let reader = AsyncFd::new(a)?;
///     let writer = ravel::spawn(async move {
///         ravel::yield_now().await?; // the reader waits first
///         (&b).write_all(b"ping")?;
///         Ok(b)
///     });
///     let mut buf = [0u8; 16];
///     let n = reader.io(Direction::Read, |s| (&*s).read(&mut buf)).await?;
///     assert_eq!(&buf[..n], b"ping");
///     drop(writer.await?);
///     Ok(())
/// })
/// .unwrap();
/// ```
pub struct AsyncFd<T: AsRawFd> {
    registration: Registration,
    inner: Option<T>,
}

impl<T: AsRawFd> AsyncFd<T> {
    /// Registers `inner` for both directions with the current runtime.
    ///
    /// Errors outside a Ravel runtime, on a runtime that is shutting down,
    /// and when the poller refuses the fd.
    pub fn new(inner: T) -> io::Result<AsyncFd<T>> {
        AsyncFd::with_interest(inner, Interest::BOTH)
    }

    /// Registers `inner` for `interest` with the current runtime.
    pub fn with_interest(inner: T, interest: Interest) -> io::Result<AsyncFd<T>> {
        let handle = Handle::try_current().map_err(|_| {
            io::Error::other("ravel::io::AsyncFd::new called outside a Ravel runtime (register I/O inside a task)")
        })?;
        AsyncFd::with_handle(&handle, inner, interest)
    }

    /// Registers `inner` for `interest` with `handle`'s runtime (from any
    /// thread).
    pub fn with_handle(handle: &Handle, inner: T, interest: Interest) -> io::Result<AsyncFd<T>> {
        let driver = handle.shared().driver.clone();
        let registration = Registration::new(driver, inner.as_raw_fd(), interest.to_mio())?;
        Ok(AsyncFd { registration, inner: Some(inner) })
    }

    /// The registered object.
    pub fn get_ref(&self) -> &T {
        self.inner.as_ref().expect("AsyncFd holds its object until into_inner")
    }

    /// The registered object, mutably. Do not replace its fd.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.as_mut().expect("AsyncFd holds its object until into_inner")
    }

    /// Deregisters the fd and returns the object, still open.
    pub fn into_inner(mut self) -> T {
        let _ = self.registration.deregister();
        self.inner.take().expect("AsyncFd holds its object until into_inner")
    }

    /// Readiness in `direction`, if the last syscall did not see
    /// `WouldBlock` since the reactor last reported it; never waits.
    pub fn readiness(&self, direction: Direction) -> Option<ReadyEvent> {
        self.registration.io().ready(direction)
    }

    /// Polls for readiness in `direction`: ready at once unless a syscall
    /// saw `WouldBlock` since the last event (then `cx` is woken by the
    /// next one). Spends one unit of cooperative budget. One poller per
    /// direction: a second task polling the same direction displaces the
    /// first one's waker, which is then woken (use [`ready`](Self::ready)
    /// for several waiters).
    pub fn poll_ready(&self, cx: &mut Context<'_>, direction: Direction) -> Poll<io::Result<ReadyEvent>> {
        if !current::consume_budget() {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.poll_ready_unbudgeted(cx, direction, &mut WaitSlot::poll_api())
    }

    fn poll_ready_unbudgeted(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        slot: &mut WaitSlot,
    ) -> Poll<io::Result<ReadyEvent>> {
        if self.registration.is_shut_down() {
            return Poll::Ready(Err(shut_down_error()));
        }
        self.registration.io().poll_ready(cx, direction, slot).map(Ok)
    }

    /// Clears `event`'s readiness after a syscall returned `WouldBlock`;
    /// does nothing if the reactor reported readiness since `event` was
    /// read (so a wake-up in between is never lost).
    pub fn clear_ready(&self, event: ReadyEvent) {
        self.registration.io().clear(event);
    }

    /// Runs `f` if `direction` is ready and clears the readiness if it
    /// returns `WouldBlock`; `WouldBlock` without running `f` if not ready.
    pub fn try_io<R>(&self, direction: Direction, f: impl FnOnce(&T) -> io::Result<R>) -> io::Result<R> {
        let Some(event) = self.readiness(direction) else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        let result = f(self.get_ref());
        if matches!(&result, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            self.clear_ready(event);
        }
        result
    }

    /// Polls `f` to completion: runs it while `direction` is ready, and
    /// after `WouldBlock` waits for the next readiness event. Spends one
    /// unit of budget per call. For poll-based traits (`AsyncRead`,
    /// `AsyncWrite`); see [`poll_ready`](Self::poll_ready) for who may poll.
    pub fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut f: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        if !current::consume_budget() {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let mut slot = WaitSlot::poll_api();
        drive(self, cx, direction, &mut slot, &mut Plain(&mut f))
    }

    /// [`poll_io`](Self::poll_io) where `f` also says whether its syscall
    /// proved `direction` drained (see [`io_clearing`](Self::io_clearing)).
    pub fn poll_io_clearing<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut f: impl FnMut(&T) -> io::Result<(R, bool)>,
    ) -> Poll<io::Result<R>> {
        if !current::consume_budget() {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let mut slot = WaitSlot::poll_api();
        drive(self, cx, direction, &mut slot, &mut Clearing(&mut f))
    }

    /// Waits until `direction` is ready (a cancellable Ravel await). Ready
    /// at once on a new `AsyncFd`, and until a syscall sees `WouldBlock`
    /// and [`clear_ready`](Self::clear_ready) records it.
    pub fn ready(&self, direction: Direction) -> Ready<'_, T> {
        Ready { fd: self, direction, leaf: Leaf::new(), slot: WaitSlot::default() }
    }

    /// Runs `f` once `direction` is ready, retrying after `WouldBlock`
    /// until it returns anything else (a cancellable Ravel await; see the
    /// type docs for what a cancellation leaves done). I/O errors are
    /// returned as [`Error`]s whose [`io_error`](Error::io_error) is the
    /// `io::Error`.
    pub fn io<R, F>(&self, direction: Direction, f: F) -> AsyncIo<'_, T, Plain<F>>
    where
        F: FnMut(&T) -> io::Result<R>,
    {
        AsyncIo { fd: self, direction, call: Plain(f), leaf: Leaf::new(), slot: WaitSlot::default() }
    }

    /// [`io`](Self::io) where `f` also says whether its syscall proved the
    /// resource drained in `direction`: `Ok((value, true))` clears the
    /// readiness at once, as a `WouldBlock` would, so the next call waits
    /// for the reactor instead of making a syscall only to hear
    /// `WouldBlock`. On Linux and macOS a short read or write on a stream
    /// socket (fewer bytes than asked, but more than 0) proves it: the
    /// kernel reports new data or space with a new edge, whose tick makes
    /// a stale clear fail (see `ravel::io`'s readiness rules), so nothing
    /// is lost. Tokio's sockets do the same.
    ///
    /// ```
    /// use ravel::io::{AsyncFd, Direction};
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    ///
    /// ravel::run(async {
    ///     let (a, b) = UnixStream::pair()?;
    ///     a.set_nonblocking(true)?;
    ///     let fd = AsyncFd::new(a)?;
    ///     (&b).write_all(b"hi")?;
    ///     let mut buf = [0u8; 16];
    ///     let len = buf.len();
    ///     let n = fd
    ///         .io_clearing(Direction::Read, |s| (&*s).read(&mut buf).map(|n| (n, n > 0 && n < len)))
    ///         .await?;
    ///     assert_eq!(n, 2);
    ///     assert!(fd.readiness(Direction::Read).is_none(), "the short read cleared it");
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn io_clearing<R, F>(&self, direction: Direction, f: F) -> AsyncIo<'_, T, Clearing<F>>
    where
        F: FnMut(&T) -> io::Result<(R, bool)>,
    {
        AsyncIo { fd: self, direction, call: Clearing(f), leaf: Leaf::new(), slot: WaitSlot::default() }
    }

    fn forget_waiter(&self, direction: Direction, slot: &WaitSlot) {
        self.registration.io().forget(direction, slot);
    }
}

/// The syscall an [`AsyncIo`] runs: [`Plain`] (from [`AsyncFd::io`]) or
/// [`Clearing`] (from [`AsyncFd::io_clearing`]).
pub trait IoCall<T> {
    /// What the syscall returns.
    type Output;
    /// Runs it; the `bool` says the resource was proved drained.
    fn call(&mut self, inner: &T) -> io::Result<(Self::Output, bool)>;
}

/// A syscall that says nothing about draining ([`AsyncFd::io`]).
#[derive(Debug)]
pub struct Plain<F>(F);

/// A syscall that says whether it drained the resource
/// ([`AsyncFd::io_clearing`]).
#[derive(Debug)]
pub struct Clearing<F>(F);

impl<T, R, F: FnMut(&T) -> io::Result<R>> IoCall<T> for Plain<F> {
    type Output = R;
    fn call(&mut self, inner: &T) -> io::Result<(R, bool)> {
        (self.0)(inner).map(|r| (r, false))
    }
}

impl<T, R, F: FnMut(&T) -> io::Result<(R, bool)>> IoCall<T> for Clearing<F> {
    type Output = R;
    fn call(&mut self, inner: &T) -> io::Result<(R, bool)> {
        (self.0)(inner)
    }
}

/// The readiness loop: syscall while ready, clear on `WouldBlock` (or when
/// the syscall proved the resource drained), wait.
fn drive<T: AsRawFd, C: IoCall<T>>(
    fd: &AsyncFd<T>,
    cx: &mut Context<'_>,
    direction: Direction,
    slot: &mut WaitSlot,
    call: &mut C,
) -> Poll<io::Result<C::Output>> {
    loop {
        let event = match fd.poll_ready_unbudgeted(cx, direction, slot) {
            Poll::Ready(Ok(event)) => event,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        match call.call(fd.get_ref()) {
            Ok((value, drained)) => {
                if drained {
                    fd.clear_ready(event);
                }
                return Poll::Ready(Ok(value));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                fd.clear_ready(event);
                // A hang-up that the syscall answers with WouldBlock (a
                // listener after shutdown) is not retried until the next
                // event: CLOSED is never cleared, so this would spin.
                slot.would_block(event);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Poll::Ready(Err(e)),
        }
    }
}

impl<T: AsRawFd> AsRawFd for AsyncFd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_raw_fd()
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for AsyncFd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFd").field("inner", &self.inner).finish()
    }
}

impl<T: AsRawFd> Drop for AsyncFd<T> {
    fn drop(&mut self) {
        // Deregister before `inner` (dropped after this) closes the fd.
        let _ = self.registration.deregister();
    }
}

/// The future of [`AsyncFd::ready`].
#[must_use = "futures do nothing unless awaited"]
pub struct Ready<'a, T: AsRawFd> {
    fd: &'a AsyncFd<T>,
    direction: Direction,
    leaf: Leaf,
    slot: WaitSlot,
}

impl<T: AsRawFd> Future for Ready<'_, T> {
    type Output = Result<ReadyEvent>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<ReadyEvent>> {
        let this = self.get_mut();
        let (fd, direction, slot) = (this.fd, this.direction, &mut this.slot);
        match this.leaf.poll(cx, |cx| fd.poll_ready_unbudgeted(cx, direction, slot)) {
            Poll::Ready(Ok(Ok(event))) => Poll::Ready(Ok(event)),
            Poll::Ready(Ok(Err(e))) => Poll::Ready(Err(Error::from(e))),
            Poll::Ready(Err(cancelled)) => Poll::Ready(Err(cancelled)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsRawFd> Drop for Ready<'_, T> {
    fn drop(&mut self) {
        self.fd.forget_waiter(self.direction, &self.slot);
    }
}

/// The future of [`AsyncFd::io`] and [`AsyncFd::io_clearing`].
#[must_use = "futures do nothing unless awaited"]
pub struct AsyncIo<'a, T: AsRawFd, C> {
    fd: &'a AsyncFd<T>,
    direction: Direction,
    call: C,
    leaf: Leaf,
    slot: WaitSlot,
}

// `C` is only called through `&mut`, never pinned.
impl<T: AsRawFd, C> Unpin for AsyncIo<'_, T, C> {}

impl<T: AsRawFd, C: IoCall<T>> Future for AsyncIo<'_, T, C> {
    type Output = Result<C::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<C::Output>> {
        let this = self.get_mut();
        let (fd, direction, slot, call) = (this.fd, this.direction, &mut this.slot, &mut this.call);
        match this.leaf.poll(cx, |cx| drive(fd, cx, direction, slot, call)) {
            Poll::Ready(Ok(Ok(value))) => Poll::Ready(Ok(value)),
            Poll::Ready(Ok(Err(e))) => Poll::Ready(Err(Error::from(e))),
            Poll::Ready(Err(cancelled)) => Poll::Ready(Err(cancelled)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsRawFd, C> Drop for AsyncIo<'_, T, C> {
    fn drop(&mut self) {
        self.fd.forget_waiter(self.direction, &self.slot);
    }
}
