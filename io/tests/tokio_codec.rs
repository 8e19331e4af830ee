//! `tokio_util::codec::Framed` with `LinesCodec` over Ravel sockets under a
//! Ravel runtime (feature `tokio-io`), and a task blocked in a `Framed`
//! read is cancelled when the await is wrapped in `ravel::cancellable`,
//! losing no byte.
#![cfg(feature = "tokio-io")]

use futures_util::{SinkExt, StreamExt};
use ravel_io::net::{TcpListener, TcpStream, UnixStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::codec::{Framed, LinesCodec};
mod common;
use common::run;

#[test]
fn framed_lines_round_trip_over_a_tcp_stream() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        // An upper-casing line server, written against the codec alone.
        let server = ravel::spawn(async move {
            let (conn, _) = listener.accept().await?;
            let mut lines = Framed::new(conn, LinesCodec::new());
            let mut served = 0;
            while let Some(line) = ravel::cancellable(lines.next()).await? {
                let line = line.map_err(std::io::Error::other)?;
                lines.send(line.to_uppercase()).await.map_err(std::io::Error::other)?;
                served += 1;
            }
            Ok(served)
        });
        let mut client = Framed::new(TcpStream::connect(&addr).await?, LinesCodec::new());
        for word in ["hello", "ravel", "and tokio-util"] {
            client.send(word).await.map_err(std::io::Error::other)?;
            let reply = client.next().await.expect("a reply line").map_err(std::io::Error::other)?;
            assert_eq!(reply, word.to_uppercase());
        }
        // Several lines in one write come back as several items.
        client.get_ref().write_all(b"a\nb\nc\n").await?;
        let mut got = Vec::new();
        for _ in 0..3 {
            got.push(client.next().await.unwrap().map_err(std::io::Error::other)?);
        }
        assert_eq!(got, ["A", "B", "C"]);
        // Closing the sink shuts down the writing side: the server's stream ends.
        SinkExt::<&str>::close(&mut client).await.map_err(std::io::Error::other)?;
        assert_eq!(server.await?, 6);
        assert!(client.next().await.is_none(), "the server closed after the client did");
        Ok(())
    });
}

#[test]
fn framed_lines_over_a_unix_stream() {
    run(async {
        let (a, b) = UnixStream::pair()?;
        let mut a = Framed::new(a, LinesCodec::new());
        let mut b = Framed::new(b, LinesCodec::new());
        a.send("over unix").await.map_err(std::io::Error::other)?;
        assert_eq!(b.next().await.unwrap().map_err(std::io::Error::other)?, "over unix");
        Ok(())
    });
}

/// The reader has part of a line buffered when it is cancelled; the rest
/// arrives later and the next read yields the whole line.
#[test]
fn a_task_blocked_in_a_framed_read_is_cancelled_when_wrapped_and_keeps_its_buffer() {
    run(async {
        let (a, b) = UnixStream::pair()?;
        b.write_all(b"par").await?;
        let reader = ravel::spawn(async move {
            let mut lines = Framed::new(a, LinesCodec::new());
            match ravel::cancellable(lines.next()).await {
                Err(e) if e.is_cancelled() => Ok(lines),
                Err(e) => Err(e),
                Ok(item) => panic!("the read returned {item:?} before a newline was written"),
            }
        });
        ravel::yield_now().await?; // the reader took "par" and waits for a newline
        assert!(!reader.done());
        reader.cancel();
        let mut lines = reader.await?;
        assert_eq!(lines.read_buffer().as_ref(), b"par");
        b.write_all(b"tial\n").await?;
        assert_eq!(lines.next().await.unwrap().map_err(std::io::Error::other)?, "partial");
        Ok(())
    });
}

/// The cancel and the line's arrival race on two workers: the wrapped
/// `Framed` read either returned the line or was cancelled and the next
/// read returns it.
#[test]
fn cancelled_framed_reads_racing_a_line_on_two_workers_lose_nothing() {
    let rt = ravel::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    rt.block_on(ravel::timeout(Duration::from_secs(20), async {
        let (a, b) = UnixStream::pair()?;
        // The reader task borrows the Framed from this slot and puts it
        // back, with the line it read, before it ends: a task ending with
        // its cancellation undelivered drops its value (asyncio's rule), so
        // nothing may travel back in the task's output.
        let slot = Arc::new(Mutex::new((Some(Framed::new(a, LinesCodec::new())), None::<String>)));
        for i in 0u32..200 {
            let started = Arc::new(ravel::sync::Event::new());
            let reader = ravel::spawn({
                let (started, slot) = (started.clone(), slot.clone());
                async move {
                    let mut framed = slot.lock().unwrap().0.take().unwrap();
                    started.set();
                    let result = ravel::cancellable(framed.next()).await;
                    let mut slot = slot.lock().unwrap();
                    slot.0 = Some(framed);
                    let item = result?; // cancelled: nothing was read
                    slot.1 = Some(item.unwrap().map_err(std::io::Error::other)?);
                    Ok(())
                }
            });
            started.wait().await?;
            b.write_all(format!("line {i}\n").as_bytes()).await?;
            for _ in 0..(i % 40) * 500 {
                std::hint::spin_loop();
            }
            reader.cancel();
            let outcome = reader.await;
            let (mut framed, got) = {
                let mut slot = slot.lock().unwrap();
                (slot.0.take().unwrap(), slot.1.take())
            };
            let got = match got {
                Some(line) => line,
                None => {
                    let e = outcome.expect_err("the read returned nothing, so it was cancelled");
                    assert!(e.is_cancelled(), "{e:?}");
                    framed.next().await.unwrap().map_err(std::io::Error::other)?
                }
            };
            assert_eq!(got, format!("line {i}"));
            slot.lock().unwrap().0 = Some(framed);
        }
        Ok(())
    }))
    .unwrap();
}
