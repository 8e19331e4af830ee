//! Cancelling a read or a drain over real TCP loses nothing: the bytes a
//! cancelled read pulled from the socket stay in the buffer (asyncio's
//! rule for readexactly/readuntil/read(n); Ravel keeps it for read(-1),
//! `read_to_end`, too), and a cancelled drain leaves its bytes queued and
//! sent (N22).

mod common;

use common::{block, multi_thread, until};
use ravel_io::net::{TcpListener, TcpStream};
use ravel_io::streams::{from_tcp, open_connection, StreamReader};
use std::sync::Arc;
use std::time::Duration;

/// A connected pair: our stream reader/writer, and the raw peer socket.
async fn connected() -> ravel::Result<(Arc<StreamReader>, ravel_io::StreamWriter, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let (reader, writer) = open_connection(&listener.local_addr()?).await?;
    let (peer, _) = listener.accept().await?;
    Ok((Arc::new(reader), writer, peer))
}

type ReadFn =
    fn(Arc<StreamReader>) -> std::pin::Pin<Box<dyn std::future::Future<Output = ravel::Result<Vec<u8>>> + Send>>;

/// Each read method: start it, let it pull `abc` from the socket into the
/// buffer, cancel it, check the buffer, then finish the read.
#[test]
fn cancelled_reads_keep_the_bytes_they_pulled() {
    let rt = multi_thread();
    block(&rt, async {
        let cases: [(&str, ReadFn, &[u8], bool); 4] = [
            ("readexactly", |r| Box::pin(async move { r.readexactly(10).await }), b"abcdefghij", false),
            ("readuntil", |r| Box::pin(async move { r.readuntil(b"\n").await }), b"abcdefghij\n", false),
            ("readline", |r| Box::pin(async move { r.readline().await }), b"abcdefghij\n", false),
            ("read_to_end", |r| Box::pin(async move { r.read_to_end().await }), b"abcdefghij\n", true),
        ];
        for round in 0..20 {
            for (name, read, want, needs_eof) in cases {
                let (reader, _writer, peer) = connected().await?;
                peer.write_all(b"abc").await?;
                let task = ravel::spawn(read(reader.clone()));
                until(|| reader.buffer() == b"abc").await?;
                task.cancel();
                let e = task.await.unwrap_err();
                assert!(e.is_cancelled(), "{name}: {e}");
                assert_eq!(reader.buffer(), b"abc", "{name} round {round}");
                peer.write_all(b"defghij\n").await?;
                if needs_eof {
                    peer.shutdown(std::net::Shutdown::Write)?;
                }
                assert_eq!(read(reader.clone()).await?, want, "{name} round {round}");
            }
        }
        Ok(())
    });
}

/// `read(n)` returns what arrived; cancelled while waiting on an empty
/// buffer, it took nothing, and the next read gets the next bytes.
#[test]
fn cancelled_read_n_takes_nothing() {
    let rt = multi_thread();
    block(&rt, async {
        for _ in 0..20 {
            let (reader, _writer, peer) = connected().await?;
            let r = reader.clone();
            let task = ravel::spawn(async move { r.read(100).await });
            until(|| format!("{reader:?}").contains("waiter")).await?;
            task.cancel();
            assert!(task.await.unwrap_err().is_cancelled());
            peer.write_all(b"xyz").await?;
            assert_eq!(reader.read(100).await?, b"xyz");
        }
        Ok(())
    });
}

/// The race: a peer streams a known byte sequence while the reader reads
/// it and a task on the other worker cancels the reader again and again;
/// the reader catches each cancellation and reads on. The bytes read, in
/// order, are exactly the bytes sent.
#[test]
fn reads_under_racing_cancels_lose_nothing() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let rt = multi_thread();
    block(&rt, async {
        let mut cancels = 0;
        for round in 0..12u64 {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let total: usize = 100_000;
            let data: Arc<Vec<u8>> = Arc::new((0..total).map(|i| (i * 7 + i / 251) as u8).collect());
            let d = data.clone();
            let sender = ravel::spawn(async move {
                let (peer, _) = listener.accept().await?;
                // Paced, so the reader keeps waiting for data (where the
                // cancellations land).
                for chunk in d.chunks(1000) {
                    peer.write_all(chunk).await?;
                    ravel::sleep(Duration::from_micros(200)).await?;
                }
                peer.shutdown(std::net::Shutdown::Write)?;
                Ok(())
            });
            let stream = TcpStream::connect(&addr).await?;
            let (reader, _writer) = from_tcp(stream, 4096);
            let done = Arc::new(AtomicBool::new(false));
            let finished = done.clone();
            let started = Arc::new(AtomicBool::new(false));
            let running = started.clone();
            let result = Arc::new(std::sync::Mutex::new(None));
            let out = result.clone();
            let read_all = ravel::spawn(async move {
                running.store(true, Ordering::SeqCst);
                let mut got = Vec::with_capacity(total);
                let (mut i, mut cancelled) = (0u64, 0u64);
                loop {
                    i += 1;
                    let attempt = match (i + round) % 4 {
                        0 => reader.readexactly(777).await,
                        1 => reader.readuntil(&[0x42]).await,
                        2 => reader.read(1000).await,
                        _ => reader.readline().await,
                    };
                    match attempt {
                        Ok(bytes) if bytes.is_empty() => break,
                        Ok(bytes) => got.extend_from_slice(&bytes),
                        Err(e) if e.is_cancelled() => cancelled += 1,
                        Err(e) => {
                            if let Some(inc) = e.downcast_ref::<ravel_io::streams::IncompleteReadError>() {
                                got.extend_from_slice(&inc.partial);
                            } else if e.downcast_ref::<ravel_io::streams::LimitOverrunError>().is_some() {
                                // Leaves the buffer: take the bytes with read.
                                loop {
                                    match reader.read(4096).await {
                                        Ok(b) => break got.extend(b),
                                        Err(e) if e.is_cancelled() => cancelled += 1,
                                        Err(e) => return Err(e),
                                    }
                                }
                            } else {
                                return Err(e);
                            }
                        }
                    }
                }
                // Hand the result over before `done`: a cancel that lands
                // after the last await still ends the task cancelled (as
                // asyncio's `_must_cancel` does).
                *out.lock().unwrap() = Some((got, cancelled));
                finished.store(true, Ordering::SeqCst);
                Ok(())
            });
            let target = read_all.as_task_ref().clone();
            // Cancel only once the reader runs (a task cancelled before its
            // first step never starts).
            while !started.load(Ordering::SeqCst) {
                ravel::yield_now().await?;
            }
            while !done.load(Ordering::SeqCst) && !target.done() {
                target.cancel();
                ravel::yield_now().await?;
            }
            match read_all.await {
                Ok(()) => {}
                Err(e) if e.is_cancelled() && done.load(Ordering::SeqCst) => {}
                Err(e) => return Err(e),
            }
            let (got, cancelled) = result.lock().unwrap().take().expect("the reader finished");
            cancels += cancelled;
            assert_eq!(got.len(), total, "round {round}");
            assert!(got == *data, "round {round}: bytes differ");
            sender.await?;
        }
        assert!(cancels > 20, "only {cancels} reads were cancelled: the race was not exercised");
        eprintln!("{cancels} reads cancelled");
        Ok(())
    });
}

/// N22: a drain cancelled while writing is paused leaves its bytes queued;
/// they are all sent once the peer reads.
#[test]
fn n22_cancelled_drain_loses_no_data() {
    let rt = multi_thread();
    block(&rt, async {
        let (_reader, writer, peer) = connected().await?;
        let writer = Arc::new(writer);
        let chunk = vec![7u8; 64 * 1024];
        let mut sent = 0;
        while writer.write_buffer_size() <= 64 * 1024 {
            writer.write(&chunk)?;
            sent += chunk.len();
        }
        let w = writer.clone();
        let drain = ravel::spawn(async move { w.drain().await });
        ravel::sleep(Duration::from_millis(20)).await?;
        assert!(!drain.done());
        drain.cancel();
        assert!(drain.await.unwrap_err().is_cancelled());
        assert!(writer.write_buffer_size() > 0);
        writer.close();
        let mut buf = vec![0u8; 256 * 1024];
        let mut received = 0;
        loop {
            let n = peer.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            assert!(buf[..n].iter().all(|b| *b == 7));
            received += n;
        }
        assert_eq!(received, sent);
        writer.wait_closed().await?;
        Ok(())
    });
}
