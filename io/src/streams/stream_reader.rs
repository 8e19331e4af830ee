//! [`StreamReader`]: asyncio's buffered reader, pulling from its socket.

use super::connection::{Shared, DEFAULT_LIMIT};
use super::errors::{IncompleteReadError, LimitOverrunError, FOUND_TOO_LONG, NOT_FOUND};
use ravel::task::Leaf;
use ravel::{Error, Result};
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// A buffered byte-stream reader (asyncio `StreamReader`).
///
/// Made by [`open_connection`](super::open_connection) and handed to a
/// [`start_server`](crate::start_server) handler, or made empty with
/// [`new`](Self::new) and fed with [`feed_data`](Self::feed_data) /
/// [`feed_eof`](Self::feed_eof) (asyncio's test-and-adapter use).
///
/// # Semantics
///
/// asyncio's, from CPython 3.13 `streams.py`: the limit (default 64 KiB)
/// bounds [`readline`](Self::readline) and [`readuntil`](Self::readuntil)
/// only; an [`IncompleteReadError`] takes the whole buffer into `partial`;
/// a [`LimitOverrunError`] leaves the buffer untouched; `readline` turns it
/// into an `InvalidData` I/O error (asyncio's `ValueError`) after dropping
/// the line, or the whole buffer when no separator was seen; an exception
/// stored with [`set_exception`](Self::set_exception) is returned by every
/// read, even `read(0)`. A read that finds what it needs in the buffer
/// returns without suspending.
///
/// # Pulling, and what a cancelled read has done
///
/// asyncio's transport pushes bytes into the reader; here a read that needs
/// bytes reads the socket itself, into the buffer, and takes its result
/// from the buffer only in its last, non-suspending step. So a cancelled
/// (or timed-out) `read`, `readexactly`, `readuntil`, `readline` **and
/// `read_to_end`** has consumed nothing: every byte it had read is still
/// in the buffer for the next read (asyncio loses what `read(-1)` had
/// collected; Ravel does not). The socket is read only while a read is
/// waiting, so the buffer holds at most what reads asked for plus one
/// 64 KiB chunk: no pause/resume is needed.
///
/// # One reader at a time
///
/// Reads take `&self`, so a reader shared in an `Arc` can be read from
/// several tasks; as in asyncio a read that must wait while another read is
/// waiting fails with an invalid-state error (asyncio's `RuntimeError`)
/// naming the inner method: `"readuntil() called while another coroutine
/// is already waiting for incoming data"`.
///
/// ```
/// use ravel_io::streams::StreamReader;
///
/// ravel::run(async {
///     let reader = StreamReader::new();
///     reader.feed_data(b"line1\nline2\nrest");
///     reader.feed_eof();
///     assert_eq!(reader.readline().await?, b"line1\n");
///     assert_eq!(reader.readexactly(3).await?, b"lin");
///     assert_eq!(reader.read_to_end().await?, b"e2\nrest");
///     assert!(reader.at_eof());
///     Ok(())
/// })
/// .unwrap();
/// ```
pub struct StreamReader {
    shared: Arc<Shared>,
    /// A copy of the buffer's head for `AsyncBufRead::poll_fill_buf`
    /// (consumed from the real buffer only by `consume`).
    fill: Vec<u8>,
}

impl Default for StreamReader {
    fn default() -> Self {
        StreamReader::new()
    }
}

impl StreamReader {
    /// An empty reader with the default limit, 64 KiB.
    ///
    /// ```
    /// assert_eq!(ravel_io::streams::StreamReader::new().limit(), 65536);
    /// ```
    pub fn new() -> StreamReader {
        StreamReader::with_limit(DEFAULT_LIMIT)
    }

    /// An empty reader with `limit`.
    ///
    /// # Panics
    /// If `limit` is 0 (asyncio `ValueError('Limit cannot be <= 0')`).
    ///
    /// ```
    /// let reader = ravel_io::streams::StreamReader::with_limit(123);
    /// assert_eq!(format!("{reader:?}"), "<StreamReader limit=123>");
    /// ```
    pub fn with_limit(limit: usize) -> StreamReader {
        StreamReader::from_shared(Shared::new(limit, None))
    }

    pub(crate) fn from_shared(shared: Arc<Shared>) -> StreamReader {
        StreamReader { shared, fill: Vec::new() }
    }

    /// The buffer limit.
    pub fn limit(&self) -> usize {
        self.shared.reader().limit
    }

    /// Appends `data` to the buffer and wakes a waiting read (asyncio
    /// `feed_data`). Empty data is ignored.
    ///
    /// # Panics
    /// After [`feed_eof`](Self::feed_eof) (asyncio's
    /// `AssertionError('feed_data after feed_eof')`).
    ///
    /// ```
    /// let reader = ravel_io::streams::StreamReader::new();
    /// reader.feed_data(b"abcd");
    /// assert_eq!(format!("{reader:?}"), "<StreamReader 4 bytes>");
    /// ```
    pub fn feed_data(&self, data: &[u8]) {
        let mut st = self.shared.reader();
        assert!(!st.eof, "feed_data after feed_eof");
        if data.is_empty() {
            return;
        }
        st.buffer.extend(data);
        let waker = st.notify();
        drop(st);
        self.shared.wake_reader(waker);
    }

    /// Marks the end of the stream and wakes a waiting read (asyncio
    /// `feed_eof`).
    ///
    /// ```
    /// let reader = ravel_io::streams::StreamReader::new();
    /// reader.feed_eof();
    /// assert!(reader.at_eof());
    /// ```
    pub fn feed_eof(&self) {
        let mut st = self.shared.reader();
        st.eof = true;
        let waker = st.notify();
        drop(st);
        self.shared.wake_reader(waker);
    }

    /// Stores `error`: every later read returns it, and a waiting read is
    /// woken to return it (asyncio `set_exception`). A writer's
    /// [`drain`](super::StreamWriter::drain) returns it too.
    ///
    /// ```
    /// let reader = ravel_io::streams::StreamReader::new();
    /// reader.set_exception(ravel::Error::msg("bad"));
    /// assert_eq!(reader.exception().unwrap().to_string(), "bad");
    /// ```
    pub fn set_exception(&self, error: Error) {
        let mut st = self.shared.reader();
        st.exception = Some(error);
        let waker = st.notify();
        drop(st);
        self.shared.wake_reader(waker);
    }

    /// The stored exception (the same value, a clone of the `Arc`).
    pub fn exception(&self) -> Option<Error> {
        self.shared.reader().exception.clone()
    }

    /// True once EOF was seen and the buffer is empty (asyncio `at_eof`).
    pub fn at_eof(&self) -> bool {
        let st = self.shared.reader();
        st.eof && st.buffer.is_empty()
    }

    /// A copy of the bytes buffered and not yet read (asyncio
    /// `bytes(reader._buffer)`, for inspection and tests).
    ///
    /// ```
    /// let reader = ravel_io::streams::StreamReader::new();
    /// reader.feed_data(b"xy");
    /// assert_eq!(reader.buffer(), b"xy");
    /// ```
    pub fn buffer(&self) -> Vec<u8> {
        self.shared.reader().buffer.as_slice().to_vec()
    }

    /// The stored exception if there is one, to return.
    fn check(&self) -> Result<()> {
        match &self.shared.reader().exception {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Starts waiting for data (asyncio `_wait_for_data`): an error if
    /// another read is waiting.
    fn wait_for_data(&self, generation: u64, name: &str) -> Result<WaitForData<'_>> {
        let mut st = self.shared.reader();
        if st.waiting {
            return Err(Error::invalid_state(format!(
                "{name}() called while another coroutine is already waiting for incoming data"
            )));
        }
        st.waiting = true;
        Ok(WaitForData { shared: &self.shared, generation, leaf: Leaf::new() })
    }

    /// Reads up to `n` bytes: waits only if the buffer is empty and not at
    /// EOF, then returns what is buffered, up to `n` (asyncio `read(n)`).
    /// `read(0)` returns an empty vector at once (after the stored
    /// exception check). The limit does not apply. At EOF it returns an
    /// empty vector.
    ///
    /// Cancelled, it has consumed nothing.
    ///
    /// ```
    /// use ravel_io::streams::StreamReader;
    ///
    /// ravel::run(async {
    ///     let reader = StreamReader::new();
    ///     reader.feed_data(b"line1");
    ///     reader.feed_data(b"line2");
    ///     assert_eq!(reader.read(5).await?, b"line1");
    ///     assert_eq!(reader.read(30).await?, b"line2");
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn read(&self, n: usize) -> Result<Vec<u8>> {
        self.check()?;
        if n == 0 {
            return Ok(Vec::new());
        }
        loop {
            let generation = {
                let mut st = self.shared.reader();
                if let Some(e) = &st.exception {
                    return Err(e.clone());
                }
                if !st.buffer.is_empty() || st.eof {
                    return Ok(st.buffer.take(n));
                }
                st.generation
            };
            self.wait_for_data(generation, "read")?.await?;
        }
    }

    /// Reads until EOF and returns everything (asyncio `read(-1)`).
    ///
    /// Cancelled, it has consumed nothing: unlike asyncio, whose collected
    /// chunks are lost, the bytes read so far stay in the buffer. An error
    /// (a stored exception) also leaves them there.
    ///
    /// ```
    /// use ravel_io::streams::StreamReader;
    ///
    /// ravel::run(async {
    ///     let reader = StreamReader::with_limit(4);
    ///     reader.feed_data(b"0123456789");
    ///     reader.feed_eof();
    ///     assert_eq!(reader.read_to_end().await?, b"0123456789");
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn read_to_end(&self) -> Result<Vec<u8>> {
        self.check()?;
        loop {
            let generation = {
                let mut st = self.shared.reader();
                if let Some(e) = &st.exception {
                    return Err(e.clone());
                }
                if st.eof {
                    let n = st.buffer.len();
                    return Ok(st.buffer.take(n));
                }
                st.generation
            };
            self.wait_for_data(generation, "read")?.await?;
        }
    }

    /// Reads exactly `n` bytes (asyncio `readexactly`). The limit does not
    /// apply. If EOF comes first, the error is an [`IncompleteReadError`]
    /// with the whole buffer as `partial` and `expected: Some(n)`, and the
    /// buffer is empty afterwards.
    ///
    /// Cancelled, it has consumed nothing.
    ///
    /// ```
    /// use ravel_io::streams::{IncompleteReadError, StreamReader};
    ///
    /// ravel::run(async {
    ///     let reader = StreamReader::new();
    ///     reader.feed_data(b"abcdef");
    ///     reader.feed_eof();
    ///     assert_eq!(reader.readexactly(4).await?, b"abcd");
    ///     let err = reader.readexactly(4).await.unwrap_err();
    ///     let e = err.downcast_ref::<IncompleteReadError>().unwrap();
    ///     assert_eq!((e.partial.as_slice(), e.expected), (&b"ef"[..], Some(4)));
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn readexactly(&self, n: usize) -> Result<Vec<u8>> {
        self.check()?;
        if n == 0 {
            return Ok(Vec::new());
        }
        loop {
            let generation = {
                let mut st = self.shared.reader();
                if let Some(e) = &st.exception {
                    return Err(e.clone());
                }
                if st.buffer.len() >= n {
                    return Ok(st.buffer.take(n));
                }
                if st.eof {
                    let len = st.buffer.len();
                    let partial = st.buffer.take(len);
                    return Err(Error::new(IncompleteReadError { partial, expected: Some(n) }));
                }
                st.generation
            };
            self.wait_for_data(generation, "readexactly")?.await?;
        }
    }

    /// Reads a line, up to and including `\n` (asyncio `readline`). At EOF
    /// it returns the partial last line, then empty vectors.
    ///
    /// A line longer than the limit is an `InvalidData` I/O error with
    /// asyncio's message (asyncio's `ValueError`); the line (if its `\n`
    /// was seen) or the whole buffer (if not) has then been discarded.
    ///
    /// Cancelled, it has consumed nothing.
    ///
    /// ```
    /// use ravel_io::streams::StreamReader;
    ///
    /// ravel::run(async {
    ///     let reader = StreamReader::new();
    ///     reader.feed_data(b"a\nb");
    ///     reader.feed_eof();
    ///     let mut lines = Vec::new();
    ///     loop {
    ///         let line = reader.readline().await?; // asyncio `async for line in reader`
    ///         if line.is_empty() {
    ///             break;
    ///         }
    ///         lines.push(line);
    ///     }
    ///     assert_eq!(lines, [b"a\n".to_vec(), b"b".to_vec()]);
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn readline(&self) -> Result<Vec<u8>> {
        match self.readuntil(b"\n").await {
            Ok(line) => Ok(line),
            Err(e) => {
                if let Some(incomplete) = e.downcast_ref::<IncompleteReadError>() {
                    return Ok(incomplete.partial.clone());
                }
                let Some(overrun) = e.downcast_ref::<LimitOverrunError>() else {
                    return Err(e);
                };
                let mut st = self.shared.reader();
                if st.buffer.as_slice()[overrun.consumed..].starts_with(b"\n") {
                    st.buffer.advance(overrun.consumed + 1);
                } else {
                    st.buffer.clear();
                }
                Err(io::Error::new(io::ErrorKind::InvalidData, overrun.message).into())
            }
        }
    }

    /// Reads up to and including `separator` (asyncio `readuntil`).
    ///
    /// * At EOF without the separator: an [`IncompleteReadError`] with the
    ///   whole buffer and `expected: None`; the buffer is then empty.
    /// * More than `limit` bytes before the separator: a
    ///   [`LimitOverrunError`]; the buffer is left as it was.
    /// * An empty separator: an `InvalidInput` I/O error
    ///   (`"Separator should be at least one-byte string"`).
    ///
    /// Cancelled, it has consumed nothing.
    ///
    /// ```
    /// use ravel_io::streams::StreamReader;
    ///
    /// ravel::run(async {
    ///     let reader = StreamReader::new();
    ///     reader.feed_data(b"lineAAAxxx");
    ///     assert_eq!(reader.readuntil(b"AAA").await?, b"lineAAA");
    ///     assert_eq!(reader.buffer(), b"xxx");
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn readuntil(&self, separator: &[u8]) -> Result<Vec<u8>> {
        self.readuntil_any(&[separator]).await
    }

    /// [`readuntil`](Self::readuntil) with several separators (asyncio 3.13
    /// `readuntil(tuple)`): the match that **ends** first wins, the
    /// shorter separator on a tie. No separators is an `InvalidInput` I/O
    /// error (`"Separator should contain at least one element"`).
    ///
    /// Cancelled, it has consumed nothing.
    ///
    /// ```
    /// use ravel_io::streams::StreamReader;
    ///
    /// ravel::run(async {
    ///     let reader = StreamReader::new();
    ///     reader.feed_data(b"abc\r\ndef\n");
    ///     assert_eq!(reader.readuntil_any(&[b"\n", b"\r\n"]).await?, b"abc\r\n");
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn readuntil_any(&self, separators: &[&[u8]]) -> Result<Vec<u8>> {
        let mut seps: Vec<&[u8]> = separators.to_vec();
        seps.sort_by_key(|s| s.len());
        let (Some(min), Some(max)) = (seps.first(), seps.last()) else {
            return Err(invalid_input("Separator should contain at least one element"));
        };
        let (min_len, max_len) = (min.len(), max.len());
        if min_len == 0 {
            return Err(invalid_input("Separator should be at least one-byte string"));
        }
        self.check()?;
        let mut offset = 0;
        loop {
            let generation = {
                let mut st = self.shared.reader();
                if let Some(e) = &st.exception {
                    return Err(e.clone());
                }
                let limit = st.limit;
                let buf = st.buffer.as_slice();
                if buf.len() >= offset + min_len {
                    let mut found: Option<(usize, usize)> = None;
                    for sep in &seps {
                        if let Some(start) = find(&buf[offset..], sep).map(|i| i + offset) {
                            let end = start + sep.len();
                            if found.is_none_or(|(_, e)| end < e) {
                                found = Some((start, end));
                            }
                        }
                    }
                    if let Some((start, end)) = found {
                        if start > limit {
                            return Err(Error::new(LimitOverrunError { message: FOUND_TOO_LONG, consumed: start }));
                        }
                        return Ok(st.buffer.take(end));
                    }
                    offset = (buf.len() + 1).saturating_sub(max_len);
                    if offset > limit {
                        return Err(Error::new(LimitOverrunError { message: NOT_FOUND, consumed: offset }));
                    }
                }
                if st.eof {
                    let len = st.buffer.len();
                    let partial = st.buffer.take(len);
                    return Err(Error::new(IncompleteReadError { partial, expected: None }));
                }
                st.generation
            };
            self.wait_for_data(generation, "readuntil")?.await?;
        }
    }

    /// Polls until the buffer has bytes, EOF or an exception (the
    /// poll-based traits' wait; not a cancellation point).
    fn poll_fill(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            {
                let st = self.shared.reader();
                if let Some(e) = &st.exception {
                    return Poll::Ready(Err(to_io(e)));
                }
                if !st.buffer.is_empty() || st.eof {
                    return Poll::Ready(Ok(()));
                }
                if st.waiting {
                    return Poll::Ready(Err(io::Error::other(
                        "poll_read() called while another coroutine is already waiting for incoming data",
                    )));
                }
            }
            if self.shared.poll_data(cx, None).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

fn invalid_input(message: &str) -> Error {
    io::Error::new(io::ErrorKind::InvalidInput, message.to_string()).into()
}

/// A stored exception as an `io::Error` (its kind kept if it is one).
fn to_io(e: &Error) -> io::Error {
    match e.io_error() {
        Some(io) => io::Error::new(io.kind(), io.to_string()),
        None => io::Error::other(e.clone().into_std()),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() == 1 {
        return haystack.iter().position(|b| *b == needle[0]);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// asyncio `_wait_for_data`: one cancellable wait for the next change (new
/// bytes, EOF, an exception). Dropping it frees the reader for another
/// waiting read.
struct WaitForData<'a> {
    shared: &'a Shared,
    generation: u64,
    leaf: Leaf,
}

impl Future for WaitForData<'_> {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = &mut *self;
        let (shared, generation) = (this.shared, this.generation);
        this.leaf.poll(cx, |cx| shared.poll_data(cx, Some(generation)))
    }
}

impl Drop for WaitForData<'_> {
    fn drop(&mut self) {
        self.shared.reader().end_wait();
    }
}

impl fmt::Debug for StreamReader {
    /// As asyncio's repr: `<StreamReader>`, `<StreamReader 4 bytes>`,
    /// `<StreamReader eof>`, `<StreamReader limit=123>`, then `waiter`,
    /// `exception=...` and `transport` when they apply.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.shared.reader();
        let mut info = vec!["StreamReader".to_string()];
        if !st.buffer.is_empty() {
            info.push(format!("{} bytes", st.buffer.len()));
        }
        if st.eof {
            info.push("eof".into());
        }
        if st.limit != DEFAULT_LIMIT {
            info.push(format!("limit={}", st.limit));
        }
        if st.waiting {
            info.push("waiter".into());
        }
        if let Some(e) = &st.exception {
            info.push(format!("exception={e}"));
        }
        if self.shared.transport.is_some() {
            info.push("transport".into());
        }
        write!(f, "<{}>", info.join(" "))
    }
}

impl futures_io::AsyncRead for StreamReader {
    /// Copies buffered bytes, reading the socket when the buffer is empty;
    /// `Ok(0)` at EOF. A stored exception is returned as an `io::Error`.
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if !this.fill.is_empty() {
            // A fill_buf copy is outstanding: it mirrors the buffer's head.
            this.fill.clear();
        }
        match this.poll_fill(cx) {
            Poll::Ready(Ok(())) => {
                let taken = this.shared.reader().buffer.take(buf.len());
                buf[..taken.len()].copy_from_slice(&taken);
                Poll::Ready(Ok(taken.len()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl futures_io::AsyncBufRead for StreamReader {
    /// The buffered bytes (a copy of the buffer's head: the buffer itself
    /// changes only in [`consume`](futures_io::AsyncBufRead::consume)).
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        match this.poll_fill(cx) {
            Poll::Ready(Ok(())) => {
                this.fill.clear();
                this.fill.extend_from_slice(this.shared.reader().buffer.as_slice());
                Poll::Ready(Ok(&this.fill))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        this.shared.reader().buffer.advance(amt);
        this.fill.clear();
    }
}
