//! [`File`]: an open file whose reads, writes and seeks run on the
//! blocking pool, one job at a time (the design of Tokio's `fs::File`).

use super::job::Job;
use ravel::Leaf;
use std::fmt;
use std::fs::{Metadata, OpenOptions};
use std::future::Future;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

/// The most one job reads or writes (Tokio's bound): a larger write is
/// accepted in pieces, a larger read returns at most this much.
pub(crate) const MAX_BUF: usize = 2 * 1024 * 1024;

/// The file's buffer: read-ahead (`data[pos..]` not yet returned, so the
/// OS position is `data.len() - pos` bytes ahead of the file's), or the
/// bytes of the write in flight.
#[derive(Default)]
struct Buf {
    data: Vec<u8>,
    pos: usize,
}

impl Buf {
    fn unread(&self) -> usize {
        self.data.len() - self.pos
    }

    /// Drops the read-ahead; returns the seek that puts the OS position
    /// back where the file's is (0 or negative).
    fn discard_read(&mut self) -> i64 {
        let back = -(self.unread() as i64);
        self.data.clear();
        self.pos = 0;
        back
    }
}

/// What a job was started for (a seek remembers its request).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Read,
    Write,
    Seek(SeekFrom),
    SyncAll,
    SyncData,
    SetLen(u64),
}

/// A job's outcome.
enum Op {
    Read(io::Result<usize>),
    Write(io::Result<()>),
    Seek(io::Result<u64>),
    Unit(io::Result<()>),
}

enum State {
    /// `None` only while a call moves the buffer into a job.
    Idle(Option<Buf>),
    Busy(Job<(Op, Buf)>, Kind),
}

/// An open file on Ravel's blocking pool (asyncio: `open()` with its calls
/// sent to `loop.run_in_executor`; Tokio: `tokio::fs::File`).
///
/// At most one job (a read, a write, a seek, a sync...) is in flight; the
/// job belongs to the `File`, not to the call that started it:
///
/// * **Reads** read ahead up to the buffer asked for (at most 2 MiB) and
///   return from the buffer; the OS position is corrected on the next
///   write or seek, so the file's position is always the bytes returned.
/// * **Writes** copy the bytes (at most 2 MiB a call) and return at once,
///   the job writing them in the background; its error, if any, is
///   returned by the next call ([`flush`](Self::flush) waits for it). Call
///   `flush` before dropping the file to see every write's outcome: a
///   `File` dropped with a write in flight lets it finish, and its error
///   is lost (as std's `Drop` ignores close errors).
/// * **Cancelled** (every async method is a cancellable Ravel await, and
///   the poll-based traits deliver no cancellation): the job the call
///   started runs to its end anyway, and the next call waits for it first,
///   so the handle is never left in an undefined state. A cancelled
///   `read`'s bytes stay in the buffer for the next read (nothing is
///   lost); a cancelled `write` or `write_all` has had its accepted bytes
///   (whole pieces) written, or its error goes to the next call; a
///   cancelled `seek` may have moved the position (read it with
///   [`stream_position`](Self::stream_position)); a cancelled `set_len`,
///   `sync_all` or `sync_data` may have happened.
/// * A job that never ran (the runtime shut down) gives the buffer back and
///   the call (or, for a write already accepted, the next one) fails with
///   an I/O error that says so.
///
/// The traits: `futures_io::{AsyncRead, AsyncWrite, AsyncSeek}` and, with
/// feature `tokio-io`, Tokio's; `poll_close`/`poll_shutdown` is a flush.
///
/// ```
/// use std::io::SeekFrom;
///
/// ravel::run(async {
///     let path = std::env::temp_dir().join(format!("ravel-doc-file-{}", std::process::id()));
///     let rw = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).clone();
///     let mut file = ravel_io::fs::File::open_with(&path, &rw).await?;
///     file.write_all(b"hello world").await?;
///     file.seek(SeekFrom::Start(6)).await?;
///     let mut word = [0u8; 5];
///     file.read_exact(&mut word).await?;
///     assert_eq!(&word, b"world");
///     file.flush().await?;
///     drop(file);
///     assert_eq!(std::fs::read(&path)?, b"hello world");
///     std::fs::remove_file(&path)?;
///     Ok(())
/// })
/// .unwrap();
/// ```
pub struct File {
    std: Arc<std::fs::File>,
    state: State,
    /// A write `poll_write` reported accepted failed: the next call says so.
    write_error: Option<io::Error>,
    /// The job in flight was started by a call that is gone: its outcome
    /// is not returned to a later call of the same kind.
    orphaned: bool,
    /// Tokio's `start_seek` request.
    #[cfg_attr(not(feature = "tokio-io"), allow(dead_code))]
    seek_request: Option<SeekFrom>,
}

impl File {
    /// Opens `path` for reading (`std::fs::File::open`). A cancellable
    /// await with `to_thread`'s rule: a queued open is skipped, a started
    /// one finishes and the file is closed.
    ///
    /// ```
    /// ravel::run(async {
    ///     let err = ravel_io::fs::File::open("/nonexistent/ravel").await.unwrap_err();
    ///     assert_eq!(err.io_error().map(|e| e.kind()), Some(std::io::ErrorKind::NotFound));
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn open(path: impl AsRef<Path>) -> ravel::Result<File> {
        File::open_with(path, OpenOptions::new().read(true)).await
    }

    /// Opens `path` for writing, creating or truncating it
    /// (`std::fs::File::create`). Cancelled: as [`open`](Self::open) (a
    /// started create has created or truncated the file).
    ///
    /// ```
    /// ravel::run(async {
    ///     let path = std::env::temp_dir().join(format!("ravel-doc-create-{}", std::process::id()));
    ///     let file = ravel_io::fs::File::create(&path).await?;
    ///     assert_eq!(file.metadata().await?.len(), 0);
    ///     std::fs::remove_file(&path)?;
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn create(path: impl AsRef<Path>) -> ravel::Result<File> {
        File::open_with(path, OpenOptions::new().write(true).create(true).truncate(true)).await
    }

    /// Opens `path` with `options` (`std::fs::OpenOptions::open`).
    /// Cancelled: as [`open`](Self::open).
    ///
    /// ```
    /// ravel::run(async {
    ///     let path = std::env::temp_dir().join(format!("ravel-doc-open-with-{}", std::process::id()));
    ///     std::fs::write(&path, b"ab")?;
    ///     let mut file = ravel_io::fs::File::open_with(&path, std::fs::OpenOptions::new().append(true)).await?;
    ///     file.write_all(b"c").await?;
    ///     file.flush().await?;
    ///     assert_eq!(std::fs::read(&path)?, b"abc");
    ///     std::fs::remove_file(&path)?;
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn open_with(path: impl AsRef<Path>, options: &OpenOptions) -> ravel::Result<File> {
        let (path, options) = (path.as_ref().to_owned(), options.clone());
        let std = ravel::to_thread(move || options.open(path).map_err(ravel::Error::from)).await?;
        Ok(File::from_std(std))
    }

    /// Wraps an open std file (its position is the `File`'s).
    ///
    /// ```
    /// ravel::run(async {
    ///     let path = std::env::temp_dir().join(format!("ravel-doc-from-std-{}", std::process::id()));
    ///     std::fs::write(&path, b"std")?;
    ///     let mut file = ravel_io::fs::File::from_std(std::fs::File::open(&path)?);
    ///     let mut got = Vec::new();
    ///     file.read_to_end(&mut got).await?;
    ///     assert_eq!(got, b"std");
    ///     std::fs::remove_file(&path)?;
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn from_std(std: std::fs::File) -> File {
        File {
            std: Arc::new(std),
            state: State::Idle(Some(Buf::default())),
            write_error: None,
            orphaned: false,
            seek_request: None,
        }
    }

    /// Waits for the job in flight, reports a pending write error, and
    /// returns the std file at the `File`'s position (the read-ahead is
    /// given back with a seek). Cancelled: the `File` is dropped, and the
    /// job in flight finishes.
    ///
    /// ```
    /// use std::io::Read;
    ///
    /// ravel::run(async {
    ///     let path = std::env::temp_dir().join(format!("ravel-doc-into-std-{}", std::process::id()));
    ///     std::fs::write(&path, b"abcdef")?;
    ///     let mut file = ravel_io::fs::File::open(&path).await?;
    ///     let mut two = [0u8; 2];
    ///     file.read_exact(&mut two).await?; // reads ahead
    ///     let mut std = file.into_std().await?;
    ///     let mut rest = String::new();
    ///     std.read_to_string(&mut rest)?;
    ///     assert_eq!(rest, "cdef");
    ///     std::fs::remove_file(&path)?;
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn into_std(mut self) -> ravel::Result<std::fs::File> {
        self.flush().await?;
        let back = match &mut self.state {
            State::Idle(Some(buf)) => buf.discard_read(),
            _ => 0,
        };
        if back != 0 {
            // lseek(2) touches no disk: fine on a worker thread.
            (&*self.std).seek(SeekFrom::Current(back))?;
        }
        let std = self.std.clone();
        drop(self);
        Arc::try_unwrap(std).map_err(|_| ravel::Error::invalid_state("the file is still used by a blocking job"))
    }

    /// Reads into `buf`, `Ok(0)` at end of file (or for an empty `buf`).
    /// Cancelled: nothing is consumed; the job's bytes stay buffered for
    /// the next read.
    ///
    /// ```
    /// ravel::run(async {
    ///     let path = std::env::temp_dir().join(format!("ravel-doc-file-read-{}", std::process::id()));
    ///     std::fs::write(&path, b"xyz")?;
    ///     let mut file = ravel_io::fs::File::open(&path).await?;
    ///     let mut buf = [0u8; 8];
    ///     let n = file.read(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"xyz");
    ///     assert_eq!(file.read(&mut buf).await?, 0);
    ///     std::fs::remove_file(&path)?;
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn read(&mut self, buf: &mut [u8]) -> ravel::Result<usize> {
        FileOp::new(self, |f, cx| f.poll_read_inner(cx, buf)).await
    }

    /// Reads exactly `buf.len()` bytes; an I/O error of kind
    /// `UnexpectedEof` if the file ends first. Cancelled: the bytes read
    /// into `buf` so far are consumed (how many is not reported).
    ///
    /// ```
    /// ravel::run(async {
    ///     let path = std::env::temp_dir().join(format!("ravel-doc-read-exact-{}", std::process::id()));
    ///     std::fs::write(&path, b"ab")?;
    ///     let mut file = ravel_io::fs::File::open(&path).await?;
    ///     let mut three = [0u8; 3];
    ///     let err = file.read_exact(&mut three).await.unwrap_err();
    ///     assert_eq!(err.io_error().map(|e| e.kind()), Some(std::io::ErrorKind::UnexpectedEof));
    ///     std::fs::remove_file(&path)?;
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn read_exact(&mut self, mut buf: &mut [u8]) -> ravel::Result<()> {
        while !buf.is_empty() {
            let n = self.read(buf).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file ended before the buffer was filled",
                )
                .into());
            }
            buf = &mut buf[n..];
        }
        Ok(())
    }

    /// Reads to the end of the file, appending to `out`; returns how many
    /// bytes it appended. Cancelled: the bytes appended so far stay in
    /// `out` (the rest is read by the next call).
    ///
    /// ```
    /// ravel::run(async {
    ///     let path = std::env::temp_dir().join(format!("ravel-doc-read-to-end-{}", std::process::id()));
    ///     std::fs::write(&path, vec![1u8; 5000])?;
    ///     let mut file = ravel_io::fs::File::open(&path).await?;
    ///     let mut all = Vec::new();
    ///     assert_eq!(file.read_to_end(&mut all).await?, 5000);
    ///     std::fs::remove_file(&path)?;
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn read_to_end(&mut self, out: &mut Vec<u8>) -> ravel::Result<usize> {
        let start = out.len();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = self.read(&mut chunk).await?;
            if n == 0 {
                return Ok(out.len() - start);
            }
            out.extend_from_slice(&chunk[..n]);
            if n == chunk.len() && chunk.len() < MAX_BUF {
                chunk.resize(chunk.len() * 2, 0);
            }
        }
    }

    /// Accepts up to 2 MiB of `buf` for writing and returns how many bytes
    /// it took; the write runs in the background (its error is returned by
    /// the next call, or [`flush`](Self::flush)). Waits only for the job
    /// before. Cancelled (while waiting for it): nothing of `buf` was taken.
    ///
    /// ```
    /// ravel::run(async {
    ///     let path = std::env::temp_dir().join(format!("ravel-doc-file-write-{}", std::process::id()));
    ///     let mut file = ravel_io::fs::File::create(&path).await?;
    ///     assert_eq!(file.write(b"abc").await?, 3);
    ///     file.flush().await?;
    ///     assert_eq!(std::fs::read(&path)?, b"abc");
    ///     std::fs::remove_file(&path)?;
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn write(&mut self, buf: &[u8]) -> ravel::Result<usize> {
        FileOp::new(self, |f, cx| f.poll_write_inner(cx, buf)).await
    }

    /// Writes all of `buf` (in pieces of at most 2 MiB) and returns once
    /// the last piece is accepted (call [`flush`](Self::flush) to wait for
    /// it to be written). Cancelled: the pieces accepted so far are
    /// written; the rest is not.
    ///
    /// ```
    /// ravel::run(async {
    ///     let path = std::env::temp_dir().join(format!("ravel-doc-write-all-{}", std::process::id()));
    ///     let mut file = ravel_io::fs::File::create(&path).await?;
    ///     file.write_all(&vec![9u8; 3 * 1024 * 1024]).await?;
    ///     file.flush().await?;
    ///     assert_eq!(std::fs::metadata(&path)?.len(), 3 * 1024 * 1024);
    ///     std::fs::remove_file(&path)?;
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn write_all(&mut self, mut buf: &[u8]) -> ravel::Result<()> {
        while !buf.is_empty() {
            let n = self.write(buf).await?;
            buf = &buf[n..];
        }
        Ok(())
    }

    /// Waits for the write in flight and returns its error, or an earlier
    /// one not yet reported. Does not `fsync` (see
    /// [`sync_all`](Self::sync_all)). Cancelled: the write goes on; the
    /// next call reports its outcome.
    ///
    /// ```
    /// ravel::run(async {
    ///     let path = std::env::temp_dir().join(format!("ravel-doc-flush-{}", std::process::id()));
    ///     let mut file = ravel_io::fs::File::create(&path).await?;
    ///     file.write(b"x").await?;
    ///     file.flush().await?;
    ///     assert_eq!(std::fs::read(&path)?, b"x");
    ///     std::fs::remove_file(&path)?;
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn flush(&mut self) -> ravel::Result<()> {
        FileOp::new(self, |f, cx| f.poll_flush_inner(cx)).await
    }

    /// Moves the position (`std::io::Seek::seek`) and returns the new one
    /// from the start. Cancelled: the seek may have happened (see
    /// [`stream_position`](Self::stream_position)).
    ///
    /// ```
    /// use std::io::SeekFrom;
    ///
    /// ravel::run(async {
    ///     let path = std::env::temp_dir().join(format!("ravel-doc-seek-{}", std::process::id()));
    ///     std::fs::write(&path, b"0123456789")?;
    ///     let mut file = ravel_io::fs::File::open(&path).await?;
    ///     assert_eq!(file.seek(SeekFrom::End(-3)).await?, 7);
    ///     let mut rest = Vec::new();
    ///     file.read_to_end(&mut rest).await?;
    ///     assert_eq!(rest, b"789");
    ///     std::fs::remove_file(&path)?;
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn seek(&mut self, pos: SeekFrom) -> ravel::Result<u64> {
        FileOp::new(self, move |f, cx| f.poll_seek_inner(cx, pos)).await
    }

    /// The position from the start (the bytes returned by reads and
    /// written, not the read-ahead). Cancelled: nothing moved.
    ///
    /// ```
    /// ravel::run(async {
    ///     let path = std::env::temp_dir().join(format!("ravel-doc-position-{}", std::process::id()));
    ///     std::fs::write(&path, b"abcdef")?;
    ///     let mut file = ravel_io::fs::File::open(&path).await?;
    ///     let mut two = [0u8; 2];
    ///     file.read_exact(&mut two).await?;
    ///     assert_eq!(file.stream_position().await?, 2);
    ///     std::fs::remove_file(&path)?;
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn stream_position(&mut self) -> ravel::Result<u64> {
        self.seek(SeekFrom::Current(0)).await
    }

    /// Flushes data and metadata to the device (`fsync`). Cancelled: the
    /// sync goes on.
    ///
    /// ```
    /// ravel::run(async {
    ///     let path = std::env::temp_dir().join(format!("ravel-doc-sync-{}", std::process::id()));
    ///     let mut file = ravel_io::fs::File::create(&path).await?;
    ///     file.write_all(b"durable").await?;
    ///     file.sync_all().await?;
    ///     std::fs::remove_file(&path)?;
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn sync_all(&mut self) -> ravel::Result<()> {
        self.unit(Kind::SyncAll).await
    }

    /// Flushes data to the device (`fdatasync`). Cancelled: the sync goes on.
    ///
    /// ```
    /// ravel::run(async {
    ///     let path = std::env::temp_dir().join(format!("ravel-doc-sync-data-{}", std::process::id()));
    ///     let mut file = ravel_io::fs::File::create(&path).await?;
    ///     file.write_all(b"data").await?;
    ///     file.sync_data().await?;
    ///     std::fs::remove_file(&path)?;
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn sync_data(&mut self) -> ravel::Result<()> {
        self.unit(Kind::SyncData).await
    }

    /// Truncates or extends the file to `len` bytes; the position does not
    /// move. Cancelled: the change may have happened.
    ///
    /// ```
    /// ravel::run(async {
    ///     let path = std::env::temp_dir().join(format!("ravel-doc-set-len-{}", std::process::id()));
    ///     let mut file = ravel_io::fs::File::create(&path).await?;
    ///     file.set_len(10).await?;
    ///     assert_eq!(file.metadata().await?.len(), 10);
    ///     std::fs::remove_file(&path)?;
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn set_len(&mut self, len: u64) -> ravel::Result<()> {
        self.unit(Kind::SetLen(len)).await
    }

    /// The file's metadata (`fstat`). Takes `&self`: it runs on its own
    /// job, beside the one in flight.
    ///
    /// ```
    /// ravel::run(async {
    ///     let path = std::env::temp_dir().join(format!("ravel-doc-file-metadata-{}", std::process::id()));
    ///     std::fs::write(&path, b"12")?;
    ///     let file = ravel_io::fs::File::open(&path).await?;
    ///     assert_eq!(file.metadata().await?.len(), 2);
    ///     std::fs::remove_file(&path)?;
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn metadata(&self) -> ravel::Result<Metadata> {
        let std = self.std.clone();
        ravel::to_thread(move || std.metadata().map_err(ravel::Error::from)).await
    }

    async fn unit(&mut self, kind: Kind) -> ravel::Result<()> {
        FileOp::new(self, move |f, cx| {
            f.poll_other(cx, kind).map(|op| match op {
                Ok(Op::Unit(r)) => r,
                Ok(_) => unreachable!("poll_other returns its own kind's outcome"),
                Err(e) => Err(e),
            })
        })
        .await
    }

    // ---- the state machine ----

    fn idle_buf(&mut self) -> Buf {
        match &mut self.state {
            State::Idle(buf) => buf.take().expect("an idle File has its buffer"),
            State::Busy(..) => unreachable!("called when idle"),
        }
    }

    fn start(&mut self, kind: Kind, buf: Buf, run: fn(&std::fs::File, Kind, &mut Buf) -> Op) {
        let job = Job::start(
            (self.std.clone(), kind, buf),
            move |(std, kind, mut buf)| {
                let op = run(&std, kind, &mut buf);
                (op, buf)
            },
            |state, error| {
                let (kind, buf) = match state {
                    Some((_, kind, buf)) => (Some(kind), buf),
                    None => (None, Buf::default()),
                };
                let op = match kind {
                    Some(Kind::Read) | None => Op::Read(Err(error)),
                    Some(Kind::Write) => Op::Write(Err(error)),
                    Some(Kind::Seek(_)) => Op::Seek(Err(error)),
                    Some(_) => Op::Unit(Err(error)),
                };
                (op, buf)
            },
        );
        self.state = State::Busy(job, kind);
    }

    /// Waits for the job in flight; `Ready(None)` when idle, else its kind,
    /// outcome and whether its caller is gone (the file is then idle).
    fn poll_done(&mut self, cx: &mut Context<'_>) -> Poll<Option<(Kind, Op, bool)>> {
        match &mut self.state {
            State::Idle(_) => Poll::Ready(None),
            State::Busy(job, kind) => {
                let kind = *kind;
                let (op, buf) = ready!(job.poll(cx));
                self.state = State::Idle(Some(buf));
                Poll::Ready(Some((kind, op, std::mem::take(&mut self.orphaned))))
            }
        }
    }

    /// Keeps what an outcome nobody waits for must not lose: a write's error.
    fn absorb(&mut self, op: Op) {
        if let Op::Write(Err(e)) = op {
            self.write_error.get_or_insert(e);
        }
    }

    fn orphan(&mut self) {
        if matches!(self.state, State::Busy(..)) {
            self.orphaned = true;
        }
    }

    fn poll_read_inner(&mut self, cx: &mut Context<'_>, dst: &mut [u8]) -> Poll<io::Result<usize>> {
        loop {
            if let Some((_, op, orphaned)) = ready!(self.poll_done(cx)) {
                match op {
                    Op::Read(Err(e)) if !orphaned => return Poll::Ready(Err(e)),
                    Op::Read(Ok(0)) if !orphaned => return Poll::Ready(Ok(0)),
                    Op::Read(_) => {} // the bytes are in the buffer
                    other => self.absorb(other),
                }
                continue;
            }
            if let State::Idle(Some(buf)) = &mut self.state {
                if buf.unread() > 0 {
                    let n = buf.unread().min(dst.len());
                    dst[..n].copy_from_slice(&buf.data[buf.pos..buf.pos + n]);
                    buf.pos += n;
                    return Poll::Ready(Ok(n));
                }
            }
            if dst.is_empty() {
                return Poll::Ready(Ok(0));
            }
            if let Some(e) = self.write_error.take() {
                return Poll::Ready(Err(e));
            }
            let mut buf = self.idle_buf();
            buf.discard_read();
            buf.data.resize(dst.len().min(MAX_BUF), 0);
            self.start(Kind::Read, buf, |std, _, buf| {
                let r = loop {
                    match (&*std).read(&mut buf.data) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        other => break other,
                    }
                };
                buf.data.truncate(*r.as_ref().unwrap_or(&0));
                buf.pos = 0;
                Op::Read(r)
            });
        }
    }

    fn poll_write_inner(&mut self, cx: &mut Context<'_>, src: &[u8]) -> Poll<io::Result<usize>> {
        if let Some((_, op, _)) = ready!(self.poll_done(cx)) {
            match op {
                // Accepted earlier, failed now: this call reports it.
                Op::Write(Err(e)) => return Poll::Ready(Err(e)),
                other => self.absorb(other),
            }
        }
        if let Some(e) = self.write_error.take() {
            return Poll::Ready(Err(e));
        }
        if src.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let mut buf = self.idle_buf();
        let back = buf.discard_read();
        let n = src.len().min(MAX_BUF);
        buf.data.extend_from_slice(&src[..n]);
        // The read-ahead to give back rides in `pos` (the buffer is
        // otherwise all bytes to write).
        buf.pos = back.unsigned_abs() as usize;
        self.start(Kind::Write, buf, |std, _, buf| {
            let back = std::mem::take(&mut buf.pos) as i64;
            let r = (|| {
                if back != 0 {
                    (&*std).seek(SeekFrom::Current(-back))?;
                }
                (&*std).write_all(&buf.data)
            })();
            buf.data.clear();
            Op::Write(r)
        });
        Poll::Ready(Ok(n))
    }

    fn poll_flush_inner(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((_, op, _)) = ready!(self.poll_done(cx)) {
            match op {
                Op::Write(Err(e)) => return Poll::Ready(Err(e)),
                other => self.absorb(other),
            }
        }
        Poll::Ready(self.write_error.take().map_or(Ok(()), Err))
    }

    fn poll_seek_inner(&mut self, cx: &mut Context<'_>, pos: SeekFrom) -> Poll<io::Result<u64>> {
        loop {
            if let Some((kind, op, orphaned)) = ready!(self.poll_done(cx)) {
                match op {
                    Op::Seek(r) if kind == Kind::Seek(pos) && !orphaned => return Poll::Ready(r),
                    other => self.absorb(other),
                }
                continue;
            }
            if let Some(e) = self.write_error.take() {
                return Poll::Ready(Err(e));
            }
            let mut buf = self.idle_buf();
            let back = buf.discard_read();
            // `pos` rides in the kind; the read-ahead correction in the buffer.
            buf.pos = back.unsigned_abs() as usize;
            self.start(Kind::Seek(pos), buf, |std, kind, buf| {
                let back = std::mem::take(&mut buf.pos) as i64;
                let Kind::Seek(pos) = kind else { unreachable!("a seek job") };
                let pos = match pos {
                    SeekFrom::Current(n) => SeekFrom::Current(n - back),
                    other => other,
                };
                Op::Seek((&*std).seek(pos))
            });
        }
    }

    /// Runs a sync or `set_len` job once the file is idle.
    fn poll_other(&mut self, cx: &mut Context<'_>, want: Kind) -> Poll<io::Result<Op>> {
        loop {
            if let Some((kind, op, orphaned)) = ready!(self.poll_done(cx)) {
                match op {
                    op @ Op::Unit(_) if kind == want && !orphaned => return Poll::Ready(Ok(op)),
                    other => self.absorb(other),
                }
                continue;
            }
            if let Some(e) = self.write_error.take() {
                return Poll::Ready(Err(e));
            }
            let mut buf = self.idle_buf();
            if let Kind::SetLen(_) = want {
                // Give the read-ahead back: it may be past the new end.
                buf.pos = buf.discard_read().unsigned_abs() as usize;
            }
            self.start(want, buf, |std, kind, buf| match kind {
                Kind::SyncAll => Op::Unit(std.sync_all()),
                Kind::SyncData => Op::Unit(std.sync_data()),
                Kind::SetLen(len) => {
                    let back = std::mem::take(&mut buf.pos) as i64;
                    Op::Unit((|| {
                        if back != 0 {
                            (&*std).seek(SeekFrom::Current(-back))?;
                        }
                        std.set_len(len)
                    })())
                }
                _ => unreachable!("poll_other runs syncs and set_len"),
            });
        }
    }
}

/// An async method's await: a Ravel leaf over a poll function; when it is
/// cancelled or dropped before completing, the job it waits for is marked
/// orphaned (it still runs; its outcome is absorbed by the next call).
struct FileOp<'a, F> {
    file: &'a mut File,
    poll: F,
    leaf: Leaf,
    done: bool,
}

impl<'a, F> FileOp<'a, F> {
    fn new<T>(file: &'a mut File, poll: F) -> Self
    where
        F: FnMut(&mut File, &mut Context<'_>) -> Poll<io::Result<T>>,
    {
        FileOp { file, poll, leaf: Leaf::new(), done: false }
    }
}

impl<F> Unpin for FileOp<'_, F> {}

impl<T, F: FnMut(&mut File, &mut Context<'_>) -> Poll<io::Result<T>>> Future for FileOp<'_, F> {
    type Output = ravel::Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<ravel::Result<T>> {
        let this = self.get_mut();
        let (file, poll) = (&mut *this.file, &mut this.poll);
        let out = ready!(this.leaf.poll(cx, |cx| poll(file, cx)));
        if out.is_ok() {
            this.done = true;
        }
        Poll::Ready(out.and_then(|r| r.map_err(ravel::Error::from)))
    }
}

impl<F> Drop for FileOp<'_, F> {
    fn drop(&mut self) {
        if !self.done {
            self.file.orphan();
        }
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File").field("std", &self.std).field("busy", &matches!(self.state, State::Busy(..))).finish()
    }
}

impl futures_io::AsyncRead for File {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.get_mut().poll_read_inner(cx, buf)
    }
}

impl futures_io::AsyncWrite for File {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_inner(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_inner(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_inner(cx)
    }
}

impl futures_io::AsyncSeek for File {
    fn poll_seek(self: Pin<&mut Self>, cx: &mut Context<'_>, pos: SeekFrom) -> Poll<io::Result<u64>> {
        self.get_mut().poll_seek_inner(cx, pos)
    }
}

#[cfg(feature = "tokio-io")]
impl tokio::io::AsyncRead for File {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut tokio::io::ReadBuf<'_>) -> Poll<io::Result<()>> {
        let n = ready!(self.get_mut().poll_read_inner(cx, buf.initialize_unfilled()))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

#[cfg(feature = "tokio-io")]
impl tokio::io::AsyncWrite for File {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_inner(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_inner(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_inner(cx)
    }
}

#[cfg(feature = "tokio-io")]
impl tokio::io::AsyncSeek for File {
    fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
        let this = self.get_mut();
        if this.seek_request.is_some() {
            return Err(io::Error::other("a seek is pending: call poll_complete before start_seek"));
        }
        this.seek_request = Some(position);
        Ok(())
    }

    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        let pos = this.seek_request.unwrap_or(SeekFrom::Current(0));
        let out = ready!(this.poll_seek_inner(cx, pos));
        this.seek_request = None;
        Poll::Ready(out)
    }
}
