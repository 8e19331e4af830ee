//! `StreamWriter` over real TCP on 127.0.0.1, against CPython 3.13's
//! asyncio (asyncio-sync-semantics §2.N: N19–N21, N30, N31), and the
//! flushing rule of this port: written bytes reach the peer without
//! `drain`, after `close` or after dropping the writer.

mod common;

use common::{block, current_thread, multi_thread};
use ravel_io::net::{TcpListener, TcpSocket};
use ravel_io::streams::{from_tcp, open_connection, IncompleteReadError, StreamReader};
use ravel_io::StreamWriter;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Our stream pair, and the peer's stream pair, over one connection.
async fn pairs() -> ravel::Result<((StreamReader, StreamWriter), (StreamReader, StreamWriter))> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let ours = open_connection(&listener.local_addr()?).await?;
    let (peer, _) = listener.accept().await?;
    Ok((ours, from_tcp(peer, 65536)))
}

/// N19: close(), is_closing(), wait_closed(), EOF on both sides.
#[test]
fn n19_close_is_closing_wait_closed_eof_both_sides() {
    let rt = current_thread();
    block(&rt, async {
        let ((reader, writer), (peer_reader, _peer_writer)) = pairs().await?;
        writer.write(b"bye")?;
        assert!(!writer.is_closing());
        writer.close();
        assert!(writer.is_closing());
        writer.wait_closed().await?;
        writer.wait_closed().await?;
        assert_eq!((reader.at_eof(), reader.read(100).await?), (true, Vec::new()));
        assert_eq!(peer_reader.read_to_end().await?, b"bye");
        assert!(peer_reader.at_eof());
        Ok(())
    });
}

/// N20: write after close is silent; drain after close is "Connection
/// lost"; drain returns the reader's stored exception.
#[test]
fn n20_write_and_drain_after_close_drain_raises_reader_exception() {
    let rt = current_thread();
    block(&rt, async {
        let ((_reader, writer), _peer) = pairs().await?;
        writer.close();
        writer.write(b"data")?;
        let e = writer.drain().await.unwrap_err();
        let io = e.io_error().expect("an io error");
        assert_eq!((io.kind(), io.to_string()), (io::ErrorKind::ConnectionReset, "Connection lost".to_string()));

        let ((reader, writer), _peer) = pairs().await?;
        reader.set_exception(ravel::Error::msg("reader broke"));
        let e = writer.drain().await.unwrap_err();
        assert_eq!(e.to_string(), "reader broke");
        Ok(())
    });
}

/// N21: drain() backpressure: write never blocks and buffers past the
/// high-water mark; drain waits until the peer reads.
#[test]
fn n21_drain_backpressure() {
    let rt = multi_thread();
    block(&rt, async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let socket = TcpSocket::new_v4()?;
        socket.set_send_buffer_size(64 * 1024)?;
        let stream = socket.connect(listener.local_addr()?).await?;
        let (peer, _) = listener.accept().await?;
        let (_reader, writer) = from_tcp(stream, 65536);
        writer.set_write_buffer_limits(Some(65536), None)?;
        assert_eq!(writer.write_buffer_limits(), (16384, 65536));
        let chunk = vec![b'x'; 64 * 1024];
        let started = Instant::now();
        for _ in 0..64 {
            writer.write(&chunk)?;
        }
        assert!(started.elapsed() < Duration::from_secs(2), "write blocked");
        assert!(writer.write_buffer_size() > 65536, "{}", writer.write_buffer_size());
        let writer = Arc::new(writer);
        let w = writer.clone();
        let drain = ravel::spawn(async move { w.drain().await });
        ravel::sleep(Duration::from_millis(200)).await?;
        assert!(!drain.done());
        let mut buf = vec![0u8; 256 * 1024];
        let mut received = 0;
        while received < 64 * 64 * 1024 {
            received += peer.read(&mut buf).await?;
        }
        drain.await?;
        assert_eq!(writer.write_buffer_size(), 0);
        Ok(())
    });
}

/// N30: readexactly over TCP when the peer closes mid-message.
#[test]
fn n30_readexactly_when_peer_closes_mid_message() {
    let rt = current_thread();
    block(&rt, async {
        let ((reader, _writer), (_peer_reader, peer_writer)) = pairs().await?;
        peer_writer.write(b"12345")?;
        peer_writer.close();
        let e = reader.readexactly(8).await.unwrap_err();
        let inc = e.downcast_ref::<IncompleteReadError>().expect("IncompleteReadError");
        assert_eq!((inc.partial.as_slice(), inc.expected), (&b"12345"[..], Some(8)));
        assert_eq!(e.to_string(), "5 bytes read on a total of 8 expected bytes");
        assert!(reader.at_eof());
        Ok(())
    });
}

/// N31: write_eof() half-closes: the reply still arrives.
#[test]
fn n31_write_eof_half_close() {
    let rt = multi_thread();
    block(&rt, async {
        let ((reader, writer), (peer_reader, peer_writer)) = pairs().await?;
        let server = ravel::spawn(async move {
            let request = peer_reader.read_to_end().await?;
            peer_writer.write(&[b"got ".as_slice(), &request].concat())?;
            peer_writer.close();
            peer_writer.wait_closed().await
        });
        assert!(writer.can_write_eof());
        writer.write(b"req")?;
        writer.write_eof();
        assert!(!writer.is_closing());
        let e = writer.write(b"more").unwrap_err();
        assert!(e.is_invalid_state());
        assert_eq!(e.to_string(), "Cannot call write() after write_eof()");
        assert_eq!(reader.read_to_end().await?, b"got req");
        server.await
    });
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// Bytes written and never drained reach the peer: `write` then `close`
/// then `wait_closed`, with far more data than the socket buffers hold.
#[test]
fn written_bytes_reach_the_peer_with_only_write_close_wait_closed() {
    let rt = multi_thread();
    block(&rt, async {
        for _ in 0..5 {
            let ((_reader, writer), (peer_reader, _peer_writer)) = pairs().await?;
            let data = pattern(8 * 1024 * 1024);
            let expected = data.clone();
            let peer = ravel::spawn(async move { peer_reader.read_to_end().await });
            for chunk in data.chunks(100_000) {
                writer.write(chunk)?;
            }
            assert!(writer.write_buffer_size() > 0, "the socket took 8 MiB at once?");
            writer.close();
            writer.wait_closed().await?;
            assert_eq!(writer.write_buffer_size(), 0);
            let got = peer.await?;
            assert_eq!(got.len(), expected.len());
            assert!(got == expected);
        }
        Ok(())
    });
}

/// Dropping the writer closes it and still sends what it queued.
#[test]
fn dropped_writer_still_sends_its_queue() {
    let rt = multi_thread();
    block(&rt, async {
        let ((reader, writer), (peer_reader, _peer_writer)) = pairs().await?;
        let data = pattern(4 * 1024 * 1024);
        writer.write(&data)?;
        drop(writer);
        drop(reader);
        let got = peer_reader.read_to_end().await?;
        assert!(got == data);
        Ok(())
    });
}

/// The addresses (asyncio `get_extra_info('peername'/'sockname')`).
#[test]
fn peer_and_local_addresses() {
    let rt = current_thread();
    block(&rt, async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (_r, writer) = open_connection(&addr).await?;
        let (peer, peer_addr) = listener.accept().await?;
        assert_eq!(writer.peer_addr()?.as_inet(), Some(addr));
        assert_eq!(writer.local_addr()?.as_inet(), Some(peer_addr));
        drop(peer);
        Ok(())
    });
}

/// A send error loses the connection the asyncio way (`connection_lost(exc)`
/// → `reader.set_exception(exc)`): the peer resets, our writes fail in
/// the flusher, and both `drain` and the reader return that I/O error.
#[test]
fn send_error_reaches_drain_and_the_reader() {
    let rt = multi_thread();
    block(&rt, async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let (reader, writer) = open_connection(&listener.local_addr()?).await?;
        let (peer, _) = listener.accept().await?;
        peer.set_linger(Some(Duration::ZERO))?;
        drop(peer); // RST
        let chunk = vec![0u8; 256 * 1024];
        let error = ravel::timeout(Duration::from_secs(5), async {
            loop {
                writer.write(&chunk)?;
                if let Err(e) = writer.drain().await {
                    return Ok(e);
                }
                ravel::yield_now().await?;
            }
        })
        .await?;
        let kind = error.io_error().map(|e| e.kind());
        assert!(matches!(kind, Some(io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe)), "{error}");
        let read_error = reader.read(10).await.unwrap_err();
        assert_eq!(read_error.io_error().map(|e| e.kind()), kind);
        assert!(writer.is_closing());
        assert_eq!(writer.wait_closed().await.unwrap_err().io_error().map(|e| e.kind()), kind);
        Ok(())
    });
}
