//! The state one connection's `StreamReader` and `StreamWriter` share: the
//! reader's buffer, the writer's buffer and flow control, and the
//! connection-lost step that ends both (asyncio's transport +
//! `StreamReaderProtocol`, in one place).
//!
//! Locks: `reader` and `writer` are never held together, and no callback,
//! wake-up or spawn runs under either.

use super::transport::Transport;
use ravel::sync::Event;
use ravel::{Error, Handle};
use std::io;
use std::net::Shutdown;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// asyncio's `_DEFAULT_LIMIT`: 64 KiB.
pub(crate) const DEFAULT_LIMIT: usize = 64 * 1024;
/// asyncio's default high-water mark for a socket transport.
pub(crate) const DEFAULT_HIGH: usize = 64 * 1024;
/// How much one socket read asks for.
const READ_CHUNK: usize = 64 * 1024;

/// A byte queue: `data[start..]` is queued.
#[derive(Default)]
pub(crate) struct Bytes {
    data: Vec<u8>,
    start: usize,
}

impl Bytes {
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.data[self.start..]
    }

    pub(crate) fn len(&self) -> usize {
        self.data.len() - self.start
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        self.compact();
        self.data.extend_from_slice(bytes);
    }

    /// Drops the first `n` queued bytes.
    pub(crate) fn advance(&mut self, n: usize) {
        self.start += n.min(self.len());
        if self.start == self.data.len() {
            self.data.clear();
            self.start = 0;
        }
    }

    /// Takes the first `n` queued bytes (or all, if fewer).
    pub(crate) fn take(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.len());
        let out = self.data[self.start..self.start + n].to_vec();
        self.advance(n);
        out
    }

    pub(crate) fn clear(&mut self) {
        self.data.clear();
        self.start = 0;
    }

    fn compact(&mut self) {
        if self.start > 0 && self.start >= self.data.len() / 2 {
            self.data.drain(..self.start);
            self.start = 0;
        }
    }

    /// Reads once from `transport` onto the end of the queue.
    fn read_from(&mut self, transport: &dyn Transport, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        self.compact();
        let old = self.data.len();
        self.data.resize(old + READ_CHUNK, 0);
        let polled = transport.poll_read(cx, &mut self.data[old..]);
        let n = match &polled {
            Poll::Ready(Ok(n)) => *n,
            _ => 0,
        };
        self.data.truncate(old + n);
        polled
    }
}

/// The reader's half of the state (asyncio `StreamReader`'s attributes).
pub(crate) struct ReaderState {
    pub(crate) buffer: Bytes,
    pub(crate) limit: usize,
    pub(crate) eof: bool,
    pub(crate) exception: Option<Error>,
    /// A read is waiting for data (asyncio `_waiter is not None`).
    pub(crate) waiting: bool,
    waker: Option<Waker>,
    /// Bumped by every event a waiting read wakes for.
    pub(crate) generation: u64,
    /// The transport is gone: no more socket reads.
    detached: bool,
}

impl ReaderState {
    /// A waiting read is over: forget its waker (a waker keeps its task
    /// alive).
    pub(crate) fn end_wait(&mut self) {
        self.waiting = false;
        self.waker = None;
    }

    pub(crate) fn notify(&mut self) -> Option<Waker> {
        self.generation += 1;
        self.waker.take()
    }
}

/// The writer's half of the state (asyncio transport write buffer and the
/// protocol's flow control).
pub(crate) struct WriterState {
    pub(crate) buffer: Bytes,
    pub(crate) high: usize,
    pub(crate) low: usize,
    /// `Some` while writing is paused (asyncio `_paused`); set when resumed.
    pub(crate) paused: Option<Event>,
    pub(crate) closing: bool,
    pub(crate) eof_requested: bool,
    eof_sent: bool,
    pub(crate) lost: bool,
    pub(crate) lost_error: Option<Error>,
    /// A flusher task is running (it owns the sending until the buffer is
    /// empty).
    flusher: bool,
}

impl WriterState {
    fn maybe_pause(&mut self) {
        if self.paused.is_none() && self.buffer.len() > self.high {
            self.paused = Some(Event::new());
        }
    }

    fn maybe_resume(&mut self) -> Option<Event> {
        if self.paused.is_some() && self.buffer.len() <= self.low {
            return self.paused.take();
        }
        None
    }

    /// asyncio `set_write_buffer_limits`; returns an event to set if this
    /// resumed writing.
    pub(crate) fn set_limits(&mut self, high: usize, low: usize) -> Option<Event> {
        self.high = high;
        self.low = low;
        self.maybe_pause();
        self.maybe_resume()
    }
}

/// What a reader (and, on a connection, its writer) share.
pub(crate) struct Shared {
    reader: Mutex<ReaderState>,
    writer: Mutex<WriterState>,
    pub(crate) transport: Option<Arc<dyn Transport>>,
    handle: Option<Handle>,
    /// Set when the connection is lost (asyncio's closed future).
    pub(crate) closed: Event,
    /// Run once when the connection is lost (a server's detach).
    on_lost: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic under these locks leaves the state consistent (no user code
    // runs under them), so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub(crate) fn new(limit: usize, transport: Option<Arc<dyn Transport>>) -> Arc<Shared> {
        assert!(limit > 0, "Limit cannot be <= 0");
        let handle = transport.as_ref().and_then(|_| Handle::try_current().ok());
        Arc::new(Shared {
            reader: Mutex::new(ReaderState {
                buffer: Bytes::default(),
                limit,
                eof: false,
                exception: None,
                waiting: false,
                waker: None,
                generation: 0,
                detached: transport.is_none(),
            }),
            writer: Mutex::new(WriterState {
                buffer: Bytes::default(),
                high: DEFAULT_HIGH,
                low: DEFAULT_HIGH / 4,
                paused: None,
                closing: false,
                eof_requested: false,
                eof_sent: false,
                lost: false,
                lost_error: None,
                flusher: false,
            }),
            transport,
            handle,
            closed: Event::new(),
            on_lost: Mutex::new(None),
        })
    }

    pub(crate) fn reader(&self) -> MutexGuard<'_, ReaderState> {
        lock(&self.reader)
    }

    pub(crate) fn writer(&self) -> MutexGuard<'_, WriterState> {
        lock(&self.writer)
    }

    /// Sets what runs once when the connection is lost; runs it now if it
    /// already was.
    pub(crate) fn set_on_lost(&self, f: Box<dyn FnOnce() + Send>) {
        let lost = self.writer().lost;
        if lost {
            f();
        } else {
            *lock(&self.on_lost) = Some(f);
            // Lost in between: `connection_lost` may have missed it.
            if self.writer().lost {
                if let Some(f) = lock(&self.on_lost).take() {
                    f();
                }
            }
        }
    }

    /// Polls for the event a waiting read wants: with `generation`, any
    /// change since that generation; without, data, EOF or an exception.
    /// On a connection this is where the socket is read: the bytes go into
    /// the buffer before anything can take a result, so a read that is
    /// cancelled afterwards loses nothing.
    pub(crate) fn poll_data(&self, cx: &mut Context<'_>, generation: Option<u64>) -> Poll<()> {
        let mut st = self.reader();
        let changed = match generation {
            Some(g) => st.generation != g,
            None => !st.buffer.is_empty(),
        };
        if changed || st.eof || st.exception.is_some() {
            return Poll::Ready(());
        }
        st.waker = Some(cx.waker().clone());
        let Some(transport) = self.transport.as_deref().filter(|_| !st.detached) else {
            return Poll::Pending;
        };
        match st.buffer.read_from(transport, cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(n)) => {
                if n == 0 {
                    st.eof = true;
                }
                st.generation += 1;
                Poll::Ready(())
            }
            Poll::Ready(Err(e)) => {
                let err = Error::from(e);
                st.exception = Some(err.clone());
                st.generation += 1;
                drop(st);
                // asyncio: a fatal read error force-closes the transport.
                self.connection_lost(Some(err));
                Poll::Ready(())
            }
        }
    }

    pub(crate) fn wake_reader(&self, waker: Option<Waker>) {
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// asyncio `connection_lost(exc)`: the buffered output is dropped, the
    /// socket is shut down, the reader sees EOF (or `exc`), drainers and
    /// `wait_closed` are released, and a server is told. Idempotent.
    pub(crate) fn connection_lost(&self, exc: Option<Error>) {
        let paused = {
            let mut w = self.writer();
            if w.lost {
                return;
            }
            w.lost = true;
            w.closing = true;
            w.buffer.clear();
            w.lost_error = exc.clone();
            w.paused.take()
        };
        if let Some(t) = &self.transport {
            // The peer may be gone already (ENOTCONN): nothing to report.
            let _ = t.shutdown(Shutdown::Both);
        }
        let waker = {
            let mut r = self.reader();
            r.detached = true;
            match exc {
                None => r.eof = true,
                Some(e) => r.exception = Some(e),
            }
            r.notify()
        };
        self.wake_reader(waker);
        if let Some(ev) = paused {
            ev.set();
        }
        self.closed.set();
        let f = lock(&self.on_lost).take();
        if let Some(f) = f {
            f();
        }
    }

    /// asyncio `transport.write(data)`: never waits. With nothing queued
    /// the bytes are sent at once as far as the socket takes them; the rest
    /// is queued and a flusher task sends it.
    pub(crate) fn write(self: &Arc<Self>, mut data: &[u8]) -> ravel::Result<()> {
        let transport = self.transport.as_ref().expect("a writer has a transport");
        let mut w = self.writer();
        if w.eof_requested {
            return Err(Error::invalid_state("Cannot call write() after write_eof()"));
        }
        if w.closing || data.is_empty() {
            return Ok(());
        }
        if w.buffer.is_empty() && !w.flusher {
            match transport.try_write(data) {
                Ok(n) => data = &data[n..],
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
                Err(e) => {
                    drop(w);
                    self.connection_lost(Some(e.into()));
                    return Ok(());
                }
            }
            if data.is_empty() {
                return Ok(());
            }
        }
        w.buffer.extend(data);
        w.maybe_pause();
        let start = !w.flusher;
        w.flusher = true;
        drop(w);
        if start {
            self.start_flusher();
        }
        Ok(())
    }

    fn start_flusher(self: &Arc<Self>) {
        let me = self.clone();
        let future = async move {
            let flushed = ravel::cancellable(std::future::poll_fn(|cx| me.poll_flush(cx))).await;
            if flushed.is_err() {
                // Cancelled (runtime shutdown): the bytes stay queued; a
                // later write, close or abort takes over.
                me.writer().flusher = false;
            }
            Ok(())
        };
        let builder = ravel::task::Builder::new().name("ravel_io stream flusher").eager_start(false);
        match &self.handle {
            Some(handle) => drop(builder.spawn_on(handle, future)),
            None => drop(builder.spawn(future)),
        }
    }

    /// The flusher: sends the queue until it is empty, then does the close
    /// or half-close that was waiting for it.
    fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<()> {
        let transport = self.transport.as_ref().expect("a writer has a transport");
        loop {
            let mut w = self.writer();
            if w.lost {
                w.flusher = false;
                return Poll::Ready(());
            }
            if w.buffer.is_empty() {
                w.flusher = false;
                if w.closing {
                    drop(w);
                    self.connection_lost(None);
                } else if w.eof_requested && !w.eof_sent {
                    w.eof_sent = true;
                    let _ = transport.shutdown(Shutdown::Write);
                }
                return Poll::Ready(());
            }
            match transport.poll_write(cx, w.buffer.as_slice()) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0)) => {
                    drop(w);
                    self.connection_lost(Some(io::Error::from(io::ErrorKind::WriteZero).into()));
                    return Poll::Ready(());
                }
                Poll::Ready(Ok(n)) => {
                    w.buffer.advance(n);
                    let resumed = w.maybe_resume();
                    drop(w);
                    if let Some(ev) = resumed {
                        ev.set();
                    }
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => {
                    drop(w);
                    self.connection_lost(Some(e.into()));
                    return Poll::Ready(());
                }
            }
        }
    }

    /// asyncio `transport.close()`: closing at once; the connection is
    /// lost once the queued bytes are sent.
    pub(crate) fn close(&self) {
        let mut w = self.writer();
        if w.closing {
            return;
        }
        w.closing = true;
        let now = w.buffer.is_empty() && !w.flusher;
        drop(w);
        if now {
            self.connection_lost(None);
        }
    }

    /// asyncio `transport.write_eof()`: half-close once the queue is sent.
    pub(crate) fn write_eof(&self) {
        let transport = self.transport.as_ref().expect("a writer has a transport");
        let mut w = self.writer();
        if w.closing || w.eof_requested {
            return;
        }
        w.eof_requested = true;
        if w.buffer.is_empty() && !w.flusher {
            w.eof_sent = true;
            let _ = transport.shutdown(Shutdown::Write);
        }
    }
}
