//! [`read_dir`] and [`ReadDir`]: a directory's entries as a `Stream`, read
//! in batches on the blocking pool.

use super::job::Job;
use futures_core::Stream;
use ravel::Leaf;
use std::collections::VecDeque;
use std::fmt;
use std::fs::DirEntry;
use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

/// How many entries one blocking job reads (Tokio's batch).
const BATCH: usize = 32;

/// Opens the directory at `path` for [`ReadDir`] (`std::fs::read_dir`).
///
/// Cancelled: a queued open is skipped; a started one finishes and the
/// handle is closed. Nothing on disk changes.
///
/// ```
/// use futures_util::StreamExt;
///
/// ravel::run(async {
///     let dir = std::env::temp_dir().join(format!("ravel-doc-read-dir-{}", std::process::id()));
///     ravel_io::fs::create_dir_all(&dir).await?;
///     ravel_io::fs::write(dir.join("one"), b"1").await?;
///     let mut names = Vec::new();
///     let mut entries = ravel_io::fs::read_dir(&dir).await?;
///     while let Some(entry) = entries.next().await {
///         names.push(entry?.file_name());
///     }
///     assert_eq!(names, ["one"]);
///     std::fs::remove_dir_all(&dir)?;
///     Ok(())
/// })
/// .unwrap();
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> ravel::Result<ReadDir> {
    let path = path.as_ref().to_owned();
    let std = ravel::to_thread(move || std::fs::read_dir(path).map_err(ravel::Error::from)).await?;
    Ok(ReadDir { state: State::Idle(Some(Batch { entries: VecDeque::new(), rest: Some(std) })) })
}

/// Entries read so far, and the rest of the directory (`None` once done).
struct Batch {
    entries: VecDeque<io::Result<DirEntry>>,
    rest: Option<std::fs::ReadDir>,
}

enum State {
    /// `None` only while a poll moves the batch into a job.
    Idle(Option<Batch>),
    Busy(Job<Batch>),
}

/// A directory's entries (`std::fs::DirEntry`; its `path` and `file_name`
/// do not block, its `metadata` and `file_type` may: use
/// [`fs::metadata`](super::metadata) on `entry.path()` from a task).
///
/// A `Stream` of `ravel::Result<DirEntry>` (its `poll_next` delivers no
/// cancellation, as every poll method), and [`next_entry`](Self::next_entry)
/// is the cancellable await. Entries are read 32 at a time on the blocking
/// pool; a read in flight belongs to the `ReadDir`, so a cancelled
/// `next_entry` (or a dropped `next()` future) loses no entry: the next call
/// returns it. The order is the OS's.
pub struct ReadDir {
    state: State,
}

impl ReadDir {
    /// The next entry, `Ok(None)` at the end (a cancellable Ravel await;
    /// cancelled, it has consumed nothing).
    ///
    /// ```
    /// ravel::run(async {
    ///     let dir = std::env::temp_dir().join(format!("ravel-doc-next-entry-{}", std::process::id()));
    ///     ravel_io::fs::create_dir_all(&dir).await?;
    ///     let mut entries = ravel_io::fs::read_dir(&dir).await?;
    ///     assert!(entries.next_entry().await?.is_none()); // empty
    ///     std::fs::remove_dir(&dir)?;
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn next_entry(&mut self) -> ravel::Result<Option<DirEntry>> {
        NextEntry { dir: self, leaf: Leaf::new() }.await
    }

    /// Polls for the next entry (`None` at the end); no cancellation is
    /// delivered here.
    pub fn poll_next_entry(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<DirEntry>>> {
        loop {
            match &mut self.state {
                State::Idle(batch) => {
                    let mut batch = batch.take().expect("a ReadDir is idle with its batch");
                    if let Some(entry) = batch.entries.pop_front() {
                        self.state = State::Idle(Some(batch));
                        return Poll::Ready(Some(entry));
                    }
                    if batch.rest.is_none() {
                        self.state = State::Idle(Some(batch));
                        return Poll::Ready(None);
                    }
                    self.state = State::Busy(Job::start(batch, read_batch, skipped));
                }
                State::Busy(job) => {
                    let batch = std::task::ready!(job.poll(cx));
                    self.state = State::Idle(Some(batch));
                }
            }
        }
    }
}

fn read_batch(mut batch: Batch) -> Batch {
    if let Some(rest) = batch.rest.as_mut() {
        for _ in 0..BATCH {
            match rest.next() {
                Some(entry) => batch.entries.push_back(entry),
                None => {
                    batch.rest = None;
                    break;
                }
            }
        }
    }
    batch
}

/// A batch that did not run: the error is the next item, and the rest of
/// the directory is still there for the call after (if it was not lost to
/// a panic).
fn skipped(batch: Option<Batch>, error: io::Error) -> Batch {
    let mut batch = batch.unwrap_or(Batch { entries: VecDeque::new(), rest: None });
    batch.entries.push_front(Err(error));
    batch
}

struct NextEntry<'a> {
    dir: &'a mut ReadDir,
    leaf: Leaf,
}

impl Future for NextEntry<'_> {
    type Output = ravel::Result<Option<DirEntry>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let dir = &mut *this.dir;
        match this.leaf.poll(cx, |cx| dir.poll_next_entry(cx)) {
            Poll::Ready(Ok(Some(Ok(entry)))) => Poll::Ready(Ok(Some(entry))),
            Poll::Ready(Ok(Some(Err(e)))) => Poll::Ready(Err(e.into())),
            Poll::Ready(Ok(None)) => Poll::Ready(Ok(None)),
            Poll::Ready(Err(cancelled)) => Poll::Ready(Err(cancelled)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Stream for ReadDir {
    type Item = ravel::Result<DirEntry>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_next_entry(cx).map(|entry| entry.map(|e| e.map_err(ravel::Error::from)))
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir").field("busy", &matches!(self.state, State::Busy(_))).finish()
    }
}
