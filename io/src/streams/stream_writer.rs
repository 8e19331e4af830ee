//! [`StreamWriter`]: asyncio's writer, with its buffering and flow control.

use super::connection::Shared;
use super::transport::StreamAddr;
use super::StreamReader;
use ravel::Result;
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;

/// The writing side of a connection (asyncio `StreamWriter` with its
/// transport).
///
/// # When bytes are sent
///
/// [`write`](Self::write) never waits, as in asyncio. With nothing queued
/// it sends at once, as much as the socket takes; the rest is queued, and a
/// per-connection **flusher task** (spawned when bytes are first queued,
/// ending when the queue is empty) sends it as the socket drains. So
/// written bytes reach the peer without [`drain`](Self::drain) and after
/// [`close`](Self::close): the connection is shut down once the queue is
/// sent, and [`wait_closed`](Self::wait_closed) returns then. `drain` is
/// flow control only: it waits while the queue is above the high-water
/// mark, until it falls to the low-water mark
/// ([`set_write_buffer_limits`](Self::set_write_buffer_limits); 64 KiB and
/// 16 KiB by default).
///
/// Dropping the writer closes it (asyncio `StreamWriter.__del__`); queued
/// bytes are still sent.
///
/// ```
/// use ravel_io::streams::open_connection;
/// use ravel_io::net::TcpListener;
///
/// ravel::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     let (reader, writer) = open_connection(&addr).await?;
///     let (peer, _) = listener.accept().await?;
///     writer.write(b"hello ")?;
///     writer.writelines([&b"wor"[..], b"ld"])?;
///     writer.drain().await?;
///     writer.close();
///     writer.wait_closed().await?;
///     let mut buf = [0u8; 32];
///     let n = peer.read(&mut buf).await?;
///     assert_eq!(&buf[..n], b"hello world");
///     assert_eq!(reader.read(10).await?, b""); // closed: our reader is at EOF
///     Ok(())
/// })
/// .unwrap();
/// ```
pub struct StreamWriter {
    shared: Arc<Shared>,
}

impl StreamWriter {
    pub(crate) fn from_shared(shared: Arc<Shared>) -> StreamWriter {
        StreamWriter { shared }
    }

    /// Queues `data` and sends what the socket takes now; never waits
    /// (asyncio `write`). After [`close`](Self::close) the bytes are
    /// dropped silently; after [`write_eof`](Self::write_eof) it is an
    /// invalid-state error, `"Cannot call write() after write_eof()"`.
    /// A send error loses the connection: the next `drain` returns it.
    pub fn write(&self, data: &[u8]) -> Result<()> {
        self.shared.write(data)
    }

    /// [`write`](Self::write) for each buffer in turn (asyncio
    /// `writelines`).
    pub fn writelines<I, B>(&self, buffers: I) -> Result<()>
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        for b in buffers {
            self.write(b.as_ref())?;
        }
        Ok(())
    }

    /// Waits while writing is paused (asyncio `drain`).
    ///
    /// In order: the reader's stored exception is returned if there is one
    /// (so a reset seen by the reader fails the writer too); a closing
    /// writer yields once; a lost connection is a `ConnectionReset` I/O
    /// error `"Connection lost"`; then, if the queue is above the
    /// high-water mark, it waits until the queue is at the low-water mark
    /// or the connection is lost (with an error: that error).
    ///
    /// Cancelled, it has only stopped waiting: the queued bytes stay queued
    /// and are still sent.
    pub async fn drain(&self) -> Result<()> {
        if let Some(e) = self.shared.reader().exception.clone() {
            return Err(e);
        }
        if self.is_closing() {
            ravel::yield_now().await?;
        }
        let paused = {
            let w = self.shared.writer();
            if w.lost {
                return Err(io::Error::new(io::ErrorKind::ConnectionReset, "Connection lost").into());
            }
            match &w.paused {
                None => return Ok(()),
                Some(ev) => ev.clone(),
            }
        };
        paused.wait().await?;
        let w = self.shared.writer();
        match (&w.lost, &w.lost_error) {
            (true, Some(e)) => Err(e.clone()),
            _ => Ok(()),
        }
    }

    /// Starts closing (asyncio `close`): [`is_closing`](Self::is_closing)
    /// is true at once; the queued bytes are sent, then the socket is shut
    /// down in both directions (the peer reads EOF; our reader reads EOF
    /// after what it had buffered).
    pub fn close(&self) {
        self.shared.close();
    }

    /// Closes at once, dropping the queued bytes (asyncio
    /// `transport.abort()`).
    pub fn abort(&self) {
        self.shared.connection_lost(None);
    }

    /// True once [`close`](Self::close) (or [`abort`](Self::abort)) was
    /// called or the connection was lost.
    pub fn is_closing(&self) -> bool {
        self.shared.writer().closing
    }

    /// Waits until the connection is closed: the queue sent and the socket
    /// shut down (asyncio `wait_closed`). Returns the error the connection
    /// was lost with, if any. Any number of calls return.
    ///
    /// Cancelled, it has only stopped waiting.
    pub async fn wait_closed(&self) -> Result<()> {
        self.shared.closed.wait().await?;
        match self.shared.writer().lost_error.clone() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Half-closes once the queue is sent (asyncio `write_eof`): the peer
    /// reads EOF, our reader still reads the reply. Later writes are an
    /// error.
    pub fn write_eof(&self) {
        self.shared.write_eof();
    }

    /// True: TCP and Unix stream sockets can half-close (asyncio
    /// `can_write_eof`).
    pub fn can_write_eof(&self) -> bool {
        true
    }

    /// Sets the flow-control marks (asyncio `set_write_buffer_limits`):
    /// with neither, 64 KiB and 16 KiB; with `high` only, `low = high / 4`;
    /// with `low` only, `high = 4 * low`. `low > high` is an
    /// `InvalidInput` error.
    pub fn set_write_buffer_limits(&self, high: Option<usize>, low: Option<usize>) -> Result<()> {
        let high = high.unwrap_or_else(|| low.map_or(64 * 1024, |l| l.saturating_mul(4)));
        let low = low.unwrap_or(high / 4);
        if low > high {
            return Err(
                io::Error::new(io::ErrorKind::InvalidInput, format!("high ({high}) must be >= low ({low})")).into()
            );
        }
        let resumed = self.shared.writer().set_limits(high, low);
        if let Some(ev) = resumed {
            ev.set();
        }
        Ok(())
    }

    /// `(low, high)` (asyncio `transport.get_write_buffer_limits()`).
    pub fn write_buffer_limits(&self) -> (usize, usize) {
        let w = self.shared.writer();
        (w.low, w.high)
    }

    /// Bytes queued and not yet sent (asyncio
    /// `transport.get_write_buffer_size()`).
    pub fn write_buffer_size(&self) -> usize {
        self.shared.writer().buffer.len()
    }

    /// The peer's address (asyncio `get_extra_info('peername')`).
    pub fn peer_addr(&self) -> io::Result<StreamAddr> {
        self.transport().peer_addr()
    }

    /// The local address (asyncio `get_extra_info('sockname')`).
    pub fn local_addr(&self) -> io::Result<StreamAddr> {
        self.transport().local_addr()
    }

    fn transport(&self) -> &dyn super::transport::Transport {
        self.shared.transport.as_deref().expect("a writer has a transport")
    }
}

impl AsRawFd for StreamWriter {
    /// The socket (asyncio `get_extra_info('socket')`), for options such
    /// as `SO_SNDBUF` through `socket2::SockRef`.
    fn as_raw_fd(&self) -> RawFd {
        self.transport().raw_fd()
    }
}

impl Drop for StreamWriter {
    fn drop(&mut self) {
        self.shared.close();
    }
}

impl fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self.shared.writer();
        let mut info = vec!["StreamWriter".to_string()];
        if w.closing {
            info.push("closing".into());
        }
        if !w.buffer.is_empty() {
            info.push(format!("buffered={}", w.buffer.len()));
        }
        write!(f, "<{}>", info.join(" "))
    }
}

/// Makes the reader/writer pair over one transport.
pub(crate) fn pair(shared: Arc<Shared>) -> (StreamReader, StreamWriter) {
    (StreamReader::from_shared(shared.clone()), StreamWriter::from_shared(shared))
}
