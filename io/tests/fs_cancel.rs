//! Cancelling each kind of `ravel_io::fs` call, with the file checked
//! afterwards: a free function's queued job is skipped and a started one
//! finishes (`to_thread`'s rule); a `File`'s or `ReadDir`'s job belongs to
//! the handle, runs anyway, and the next call sees its outcome.
//!
//! "Queued" is made certain with a one-thread blocking pool held busy by a
//! blocker; "started" with a FIFO, whose open blocks until a reader comes.

mod common;

use common::{block, until};
use ravel_io::fs::{self, File};
use std::io::{Read, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("ravel-io-fscancel-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo failed");
}

/// Two workers, one blocking thread: a job submitted while the blocker
/// runs is queued.
fn one_blocking_thread() -> ravel::Runtime {
    ravel::Builder::new_multi_thread().worker_threads(2).max_blocking_threads(1).build().unwrap()
}

/// Holds the pool's only thread until `release` is called.
struct Blocker {
    tx: mpsc::Sender<()>,
    task: ravel::Task<()>,
}

impl Blocker {
    async fn start() -> ravel::Result<Blocker> {
        let (tx, rx) = mpsc::channel::<()>();
        let started = Arc::new(AtomicBool::new(false));
        let flag = started.clone();
        let task = ravel::spawn(ravel::to_thread(move || {
            flag.store(true, SeqCst);
            let _ = rx.recv();
            Ok(())
        }));
        until(|| started.load(SeqCst)).await?;
        Ok(Blocker { tx, task })
    }

    /// Frees the thread, then waits until every job queued so far has had
    /// its turn (the queue is FIFO and has one thread).
    async fn release(self) -> ravel::Result<()> {
        self.tx.send(()).unwrap();
        self.task.await?;
        ravel::to_thread(|| Ok(())).await
    }
}

/// Starts `f` in a task that runs at once up to its first suspension (so
/// its job is submitted), then cancels it; returns the task's output.
async fn start_then_cancel<T: Send + 'static>(
    f: impl std::future::Future<Output = ravel::Result<T>> + Send + 'static,
) -> ravel::Result<T> {
    let task = ravel::task::Builder::new().eager_start(true).spawn(f);
    task.cancel();
    task.await
}

fn cancelled<T: std::fmt::Debug>(r: ravel::Result<T>) {
    assert!(r.unwrap_err().is_cancelled());
}

#[test]
fn cancelled_queued_free_functions_are_skipped() {
    let tmp = TempDir::new("queued");
    let root = tmp.0.clone();
    block(&one_blocking_thread(), async move {
        let exists = root.join("exists");
        std::fs::write(&exists, b"kept")?;
        let blocker = Blocker::start().await?;
        let (p, e) = (root.join("written"), exists.clone());
        cancelled(start_then_cancel(async move { fs::write(&p, b"new").await }).await);
        let p = root.join("copied");
        cancelled(start_then_cancel(async move { fs::copy(&e, &p).await }).await);
        let (e, p) = (exists.clone(), root.join("renamed"));
        cancelled(start_then_cancel(async move { fs::rename(&e, &p).await }).await);
        let e = exists.clone();
        cancelled(start_then_cancel(async move { fs::remove_file(&e).await }).await);
        let p = root.join("dir/sub");
        cancelled(start_then_cancel(async move { fs::create_dir_all(&p).await }).await);
        blocker.release().await?;
        assert!(!root.join("written").exists(), "a skipped write creates nothing");
        assert!(!root.join("copied").exists());
        assert!(!root.join("renamed").exists());
        assert!(!root.join("dir").exists());
        assert_eq!(std::fs::read(&exists)?, b"kept", "not removed, not renamed");

        // A skipped write does not truncate an existing file either.
        let blocker = Blocker::start().await?;
        let e = exists.clone();
        cancelled(start_then_cancel(async move { fs::write(&e, b"").await }).await);
        blocker.release().await?;
        assert_eq!(std::fs::read(&exists)?, b"kept");
        Ok(())
    });
}

/// A queued `read` of a FIFO is skipped: it never opened the FIFO (a
/// non-blocking writer's open finds no reader: ENXIO).
#[test]
fn cancelled_queued_read_never_opens_the_file() {
    let tmp = TempDir::new("queued-read");
    let fifo = tmp.0.join("fifo");
    mkfifo(&fifo);
    block(&one_blocking_thread(), async move {
        let blocker = Blocker::start().await?;
        let f = fifo.clone();
        cancelled(start_then_cancel(async move { fs::read(&f).await }).await);
        blocker.release().await?;
        let open = std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(&fifo).unwrap_err();
        assert_eq!(open.raw_os_error(), Some(libc::ENXIO), "no reader: the read was skipped");
        Ok(())
    });
}

use std::os::unix::fs::OpenOptionsExt;

/// A `write` that has started (blocked opening a FIFO) and is then
/// cancelled runs to its end: the reader gets every byte.
#[test]
fn cancelled_running_write_finishes() {
    let tmp = TempDir::new("running-write");
    let fifo = tmp.0.join("fifo");
    mkfifo(&fifo);
    let data = pattern(300 * 1024); // more than a pipe holds
    let (opened_tx, opened_rx) = mpsc::channel::<()>();
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut f = std::fs::File::open(&fifo).unwrap(); // returns once the writer opened
            opened_tx.send(()).unwrap();
            let mut all = Vec::new();
            f.read_to_end(&mut all).unwrap();
            all
        })
    };
    let rt = common::multi_thread();
    let want = data.clone();
    block(&rt, async move {
        let f = fifo.clone();
        let task = ravel::spawn(async move { fs::write(&f, &data).await });
        // The job is running: it opened the FIFO.
        let opened = ravel::to_thread(move || Ok(opened_rx.recv().is_ok())).await?;
        assert!(opened);
        task.cancel();
        cancelled(task.await);
        Ok(())
    });
    let got = reader.join().unwrap();
    assert_eq!(got.len(), want.len());
    assert!(got == want, "the running write finished with every byte");
}

/// A `File::read` cancelled while its job waits in `read(2)` on a FIFO:
/// the job runs on, and the next read returns the bytes it read.
#[test]
fn cancelled_file_read_keeps_its_bytes_for_the_next_read() {
    let tmp = TempDir::new("file-read");
    let fifo = tmp.0.join("fifo");
    mkfifo(&fifo);
    block(&common::multi_thread(), async move {
        // O_RDWR: opening does not wait for a writer (Linux).
        let std = std::fs::OpenOptions::new().read(true).write(true).open(&fifo)?;
        let file = File::from_std(std);
        let (file, read) = start_then_cancel(async move {
            let mut file = file;
            let mut buf = [0u8; 16];
            let r = file.read(&mut buf).await;
            Ok((file, r))
        })
        .await?;
        cancelled(read);
        let mut file = file;
        std::fs::OpenOptions::new().write(true).open(&fifo)?.write_all(b"hello")?;
        let mut buf = [0u8; 16];
        let n = file.read(&mut buf).await?;
        assert_eq!(&buf[..n], b"hello");
        Ok(())
    });
}

/// `write_all` of 5 MiB cancelled while waiting for its first piece's job:
/// that 2 MiB piece is written, nothing more; the file then takes the rest.
#[test]
fn cancelled_write_all_has_written_its_accepted_pieces() {
    let tmp = TempDir::new("write-all");
    let path = tmp.0.join("f");
    block(&one_blocking_thread(), async move {
        let data = pattern(5 * 1024 * 1024);
        let file = File::create(&path).await?;
        let blocker = Blocker::start().await?;
        let d = data.clone();
        let (mut file, r) = start_then_cancel(async move {
            let mut file = file;
            let r = file.write_all(&d).await;
            Ok((file, r))
        })
        .await?;
        cancelled(r);
        blocker.release().await?;
        file.flush().await?;
        let on_disk = std::fs::read(&path)?;
        assert_eq!(on_disk.len(), 2 * 1024 * 1024, "one piece accepted, one written");
        assert!(on_disk == data[..on_disk.len()]);
        file.write_all(&data[on_disk.len()..]).await?;
        file.flush().await?;
        assert!(std::fs::read(&path)? == data);
        Ok(())
    });
}

/// A cancelled `seek`, `flush`, `set_len` or `sync_all` still happens; the
/// next call sees it, and the handle works on.
#[test]
fn cancelled_file_seek_flush_set_len_and_sync_happen() {
    let tmp = TempDir::new("file-ops");
    let path = tmp.0.join("f");
    block(&one_blocking_thread(), async move {
        let data = pattern(1000);
        std::fs::write(&path, &data)?;
        let rw = std::fs::OpenOptions::new().read(true).write(true).clone();
        let file = File::open_with(&path, &rw).await?;

        let blocker = Blocker::start().await?;
        let (mut file, r) = start_then_cancel(async move {
            let mut file = file;
            let r = file.seek(SeekFrom::Start(100)).await;
            Ok((file, r))
        })
        .await?;
        cancelled(r);
        blocker.release().await?;
        assert_eq!(file.stream_position().await?, 100, "the cancelled seek ran");
        let mut one = [0u8; 1];
        file.read_exact(&mut one).await?;
        assert_eq!(one[0], data[100]);

        file.seek(SeekFrom::Start(0)).await?;
        let blocker = Blocker::start().await?;
        assert_eq!(file.write(b"abc").await?, 3); // accepted; its job is queued
        let (file, r) = start_then_cancel(async move {
            let mut file = file;
            let r = file.flush().await;
            Ok((file, r))
        })
        .await?;
        cancelled(r);
        blocker.release().await?;
        let mut file = file;
        file.flush().await?;
        assert_eq!(&std::fs::read(&path)?[..4], &[b'a', b'b', b'c', data[3]]);

        let blocker = Blocker::start().await?;
        let (file, r) = start_then_cancel(async move {
            let mut file = file;
            let r = file.set_len(10).await;
            Ok((file, r))
        })
        .await?;
        cancelled(r);
        blocker.release().await?;
        let mut file = file;
        file.flush().await?; // waits for (and absorbs) the set_len
        assert_eq!(std::fs::metadata(&path)?.len(), 10, "the cancelled set_len ran");

        let blocker = Blocker::start().await?;
        let (file, r) = start_then_cancel(async move {
            let mut file = file;
            let r = file.sync_all().await;
            Ok((file, r))
        })
        .await?;
        cancelled(r);
        blocker.release().await?;
        let mut file = file;
        file.sync_all().await?; // a new sync, after the cancelled one
        assert_eq!(file.stream_position().await?, 3);
        let mut rest = Vec::new();
        file.read_to_end(&mut rest).await?;
        assert_eq!(rest, &data[3..10]);
        Ok(())
    });
}

/// A `next_entry` cancelled while its batch job is queued loses no entry.
#[test]
fn cancelled_next_entry_loses_no_entry() {
    let tmp = TempDir::new("read-dir");
    let root = tmp.0.clone();
    block(&one_blocking_thread(), async move {
        for i in 0..40 {
            std::fs::write(root.join(format!("e{i}")), b"")?;
        }
        let entries = fs::read_dir(&root).await?;
        let blocker = Blocker::start().await?;
        let (mut entries, r) = start_then_cancel(async move {
            let mut entries = entries;
            let r = entries.next_entry().await.map(|e| e.is_some());
            Ok((entries, r))
        })
        .await?;
        cancelled(r);
        blocker.release().await?;
        let mut names = Vec::new();
        while let Some(entry) = entries.next_entry().await? {
            names.push(entry.file_name());
        }
        assert_eq!(names.len(), 40);
        Ok(())
    });
}

/// A `File` dropped with a write accepted and its job queued: the write
/// still happens (the job belongs to the pool now, not the handle).
#[test]
fn a_dropped_file_finishes_its_accepted_write() {
    let tmp = TempDir::new("drop");
    let path = tmp.0.join("f");
    block(&one_blocking_thread(), async move {
        let mut file = File::create(&path).await?;
        let blocker = Blocker::start().await?;
        assert_eq!(file.write(b"data").await?, 4);
        drop(file);
        blocker.release().await?;
        assert_eq!(std::fs::read(&path)?, b"data");
        Ok(())
    });
}

/// Racing parts on different threads, many times: a reader task on one
/// worker is cancelled at varying points while its jobs complete on pool
/// threads; reading on after each cancellation, the bytes collected are
/// exactly the file's, in order (nothing lost, nothing twice).
#[test]
fn cancelling_reads_at_any_point_never_loses_or_repeats_bytes() {
    let tmp = TempDir::new("race");
    let path = tmp.0.join("f");
    let data = pattern(200 * 1024);
    std::fs::write(&path, &data).unwrap();
    block(&common::multi_thread(), async move {
        for round in 0..60u32 {
            let mut file = File::open(&path).await?;
            let got = Arc::new(Mutex::new(Vec::new()));
            for cut in 0..3u32 {
                let sink = got.clone();
                // Eager: the task owns the file and waits in a read before
                // it can be cancelled (a task cancelled before it started
                // would drop the file unread).
                let task = ravel::task::Builder::new().eager_start(true).spawn(async move {
                    let mut buf = vec![0u8; 7000 + 1000 * cut as usize];
                    loop {
                        match file.read(&mut buf).await {
                            Ok(0) => return Ok((file, true)),
                            Ok(n) => sink.lock().unwrap().extend_from_slice(&buf[..n]),
                            Err(e) if e.is_cancelled() => return Ok((file, false)),
                            Err(e) => return Err(e),
                        }
                    }
                });
                for _ in 0..(round % 5) {
                    ravel::yield_now().await?;
                }
                task.cancel();
                let (back, _done) = task.await?;
                file = back;
            }
            let mut rest = Vec::new();
            file.read_to_end(&mut rest).await?;
            let mut all = got.lock().unwrap().clone();
            all.extend_from_slice(&rest);
            assert_eq!(all.len(), data.len(), "round {round}");
            assert!(all == data, "round {round}: bytes lost or repeated");
        }
        Ok(())
    });
}
