//! `futures_io::AsyncRead`/`AsyncWrite` on TcpStream, UnixStream, their
//! owned halves and `&T`: reads, vectored writes, flush, close as a
//! half-close; and a task blocked in a trait-based read is cancelled when
//! the await is wrapped in `ravel::cancellable`.

use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use ravel_io::net::{TcpListener, TcpStream, UnixStream};
use std::io::IoSlice;
use std::sync::{Arc, Mutex};
use std::time::Duration;
mod common;
use common::run;

// Generic helpers, so that only the traits' methods can be called (the
// sockets' inherent `read_exact`/`write_all` would otherwise win).
async fn read_exact<R: futures_io::AsyncRead + Unpin>(mut r: R, buf: &mut [u8]) -> std::io::Result<()> {
    r.read_exact(buf).await
}

async fn read_some<R: futures_io::AsyncRead + Unpin>(mut r: R, buf: &mut [u8]) -> std::io::Result<usize> {
    r.read(buf).await
}

async fn read_to_end<R: futures_io::AsyncRead + Unpin>(mut r: R) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    r.read_to_end(&mut out).await?;
    Ok(out)
}

async fn write_all<W: futures_io::AsyncWrite + Unpin>(mut w: W, buf: &[u8]) -> std::io::Result<()> {
    w.write_all(buf).await
}

async fn close<W: futures_io::AsyncWrite + Unpin>(mut w: W) -> std::io::Result<()> {
    w.close().await
}

async fn tcp_pair() -> ravel::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let client = TcpStream::connect(&listener.local_addr()?).await?;
    let (server, _) = listener.accept().await?;
    Ok((client, server))
}

/// Writes a request, closes (half-close), reads the reply; the peer reads
/// the request to its end and replies.
async fn half_close_exchange<C, S>(mut client: C, mut server: S) -> ravel::Result<()>
where
    C: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    client.write_all(b"req").await?;
    let n = client.write_vectored(&[IoSlice::new(b"ue"), IoSlice::new(b"st")]).await?;
    assert_eq!(n, 4);
    client.flush().await?;
    client.close().await?;
    let mut request = Vec::new();
    server.read_to_end(&mut request).await?;
    assert_eq!(request, b"request");
    server.write_all(b"reply").await?;
    server.close().await?;
    let mut reply = Vec::new();
    client.read_to_end(&mut reply).await?;
    assert_eq!(reply, b"reply");
    Ok(())
}

#[test]
fn tcp_stream_reads_writes_and_closes_as_a_half_close() {
    run(async {
        let (client, server) = tcp_pair().await?;
        half_close_exchange(client, server).await
    });
}

#[test]
fn unix_stream_reads_writes_and_closes_as_a_half_close() {
    run(async {
        let (client, server) = UnixStream::pair()?;
        half_close_exchange(client, server).await
    });
}

#[test]
fn references_implement_the_traits_so_two_tasks_share_one_stream() {
    run(async {
        let (client, server) = tcp_pair().await?;
        let client = Arc::new(client);
        let reader = ravel::spawn({
            let client = client.clone();
            async move {
                let mut got = [0u8; 6];
                read_exact(&*client, &mut got).await?;
                Ok(got)
            }
        });
        write_all(&*client, b"ping").await?;
        let mut buf = [0u8; 4];
        read_exact(&server, &mut buf).await?;
        assert_eq!(&buf, b"ping");
        write_all(&server, b"pong!!").await?;
        assert_eq!(&reader.await?, b"pong!!");
        // Closing through a reference half-closes too.
        close(&*client).await?;
        assert!(read_to_end(&server).await?.is_empty());

        let (a, b) = UnixStream::pair()?;
        write_all(&a, b"u").await?;
        let mut one = [0u8; 1];
        read_exact(&b, &mut one).await?;
        assert_eq!(&one, b"u");
        Ok(())
    });
}

#[test]
fn tcp_owned_halves_and_their_references() {
    run(async {
        let (client, server) = tcp_pair().await?;
        let (mut read, mut write) = client.into_split();
        write_all(&mut write, b"by half").await?;
        write_all(&write, b"!").await?;
        close(&mut write).await?; // shutdown(Write), the half stays usable for addresses
        assert!(write.peer_addr().is_ok());
        assert_eq!(read_to_end(&server).await?, b"by half!");
        write_all(&server, b"ab").await?;
        let mut buf = [0u8; 1];
        read_exact(&mut read, &mut buf).await?;
        assert_eq!(&buf, b"a");
        read_exact(&read, &mut buf).await?;
        assert_eq!(&buf, b"b");
        Ok(())
    });
}

#[test]
fn unix_owned_halves_echo_with_futures_copy() {
    run(async {
        let (client, server) = UnixStream::pair()?;
        // An echo server built from the traits alone: copy its read half
        // into its write half until end of stream, then close.
        let echo = ravel::spawn(async move {
            let (mut read, mut write) = server.into_split();
            let n = futures_util::io::copy(&mut read, &mut write).await?;
            write.close().await?;
            Ok(n)
        });
        let (mut read, mut write) = client.into_split();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
        let sent = data.clone();
        let writer = ravel::spawn(async move {
            write_all(&mut write, &sent).await?;
            close(&write).await?;
            Ok(())
        });
        let back = read_to_end(&mut read).await?;
        writer.await?;
        assert_eq!(echo.await?, data.len() as u64);
        assert!(back == data, "echoed {} of {} bytes", back.len(), data.len());
        Ok(())
    });
}

#[test]
fn a_task_blocked_in_a_trait_read_is_cancelled_when_wrapped_in_cancellable_and_no_byte_is_lost() {
    run(async {
        let (mut a, b) = UnixStream::pair()?;
        let reader = ravel::spawn(async move {
            let mut buf = [0u8; 4];
            match ravel::cancellable(read_some(&mut a, &mut buf)).await {
                Err(e) if e.is_cancelled() => Ok(a), // give the stream back
                Err(e) => Err(e),
                Ok(read) => panic!("the read returned {read:?} with nothing written"),
            }
        });
        ravel::yield_now().await?; // the reader is waiting for data
        assert!(!reader.done());
        reader.cancel();
        let mut a = reader.await?;
        write_all(&b, b"kept").await?;
        let mut buf = [0u8; 4];
        read_exact(&mut a, &mut buf).await?;
        assert_eq!(&buf, b"kept");
        Ok(())
    });
}

/// The trait-based read on one worker, the cancel and the write on the
/// other: a cancelled wrapped read either returned the bytes or left them.
#[test]
fn cancellable_trait_reads_racing_a_write_on_two_workers_lose_no_byte() {
    let rt = ravel::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    rt.block_on(ravel::timeout(Duration::from_secs(20), async {
        let (a, b) = UnixStream::pair()?;
        let a = Arc::new(a);
        for i in 0u32..200 {
            let started = Arc::new(ravel::sync::Event::new());
            // What the read returned, recorded inside the task (a task
            // ending with its cancellation undelivered drops its value).
            let taken = Arc::new(Mutex::new(None));
            let reader = ravel::spawn({
                let (a, started, taken) = (a.clone(), started.clone(), taken.clone());
                async move {
                    started.set();
                    let mut buf = [0u8; 4];
                    let n = ravel::cancellable(read_some(&*a, &mut buf)).await??;
                    *taken.lock().unwrap() = Some(buf[..n].to_vec());
                    Ok(())
                }
            });
            started.wait().await?;
            b.write_all(&i.to_be_bytes()).await?;
            for _ in 0..(i % 40) * 500 {
                std::hint::spin_loop();
            }
            reader.cancel();
            let outcome = reader.await;
            let taken = taken.lock().unwrap().take();
            let mut got = match taken {
                Some(bytes) => bytes,
                None => {
                    let e = outcome.expect_err("the read returned nothing, so it was cancelled");
                    assert!(e.is_cancelled(), "{e:?}");
                    Vec::new()
                }
            };
            let mut rest = vec![0u8; 4 - got.len()];
            a.read_exact(&mut rest).await?;
            got.extend_from_slice(&rest);
            assert_eq!(got, i.to_be_bytes(), "round {i}");
        }
        Ok(())
    }))
    .unwrap();
}
