//! Cancelling each kind of socket wait: the task sees the cancellation at
//! the await, and nothing in flight is lost.

mod common;
use common::{multi, pair};
use ravel_io::net::{TcpListener, TcpSocket, TcpStream};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn a_cancelled_read_consumes_nothing() {
    multi(async {
        for round in 0..50 {
            let (a, b) = pair().await?;
            let b = Arc::new(b);
            let reader = {
                let b = b.clone();
                ravel::spawn(async move {
                    let mut buf = [0u8; 8];
                    let r = b.read(&mut buf).await;
                    Ok((r.map_err(|e| e.is_cancelled()), buf))
                })
            };
            ravel::yield_now().await?;
            // The cancel and the data race (on two workers); either the read
            // got the bytes, or it was cancelled and the bytes are still there.
            if round % 2 == 0 {
                a.write_all(b"data").await?;
                reader.cancel();
            } else {
                reader.cancel();
                a.write_all(b"data").await?;
            }
            // A task cancelled before its first step ends cancelled; one
            // cancelled in its read catches it and returns.
            let result = match reader.await {
                Ok((Ok(n), buf)) => Some(buf[..n].to_vec()),
                Ok((Err(cancelled), _)) => {
                    assert!(cancelled);
                    None
                }
                Err(e) => {
                    assert!(e.is_cancelled(), "{e}");
                    None
                }
            };
            match result {
                Some(got) => assert_eq!(got, b"data"),
                None => {
                    let mut again = [0u8; 8];
                    let n = b.read(&mut again).await?;
                    assert_eq!(&again[..n], b"data", "round {round}: the cancelled read took bytes");
                }
            }
        }
        Ok(())
    });
}

#[test]
fn a_read_cancelled_while_suspended_delivers_the_message() {
    multi(async {
        let (_a, b) = pair().await?;
        let reader = ravel::spawn(async move {
            let mut buf = [0u8; 8];
            match b.read(&mut buf).await {
                Err(e) if e.is_cancelled() => {
                    // Cleanup may await, on the same socket too.
                    assert!(b.try_read(&mut buf).is_err());
                    Err(e)
                }
                other => other.map(drop),
            }
        });
        ravel::sleep(Duration::from_millis(5)).await?;
        reader.cancel_with("stop reading");
        assert_eq!(reader.await.unwrap_err().cancel_message(), Some("stop reading"));
        Ok(())
    });
}

#[test]
fn a_timed_out_read_then_reads_the_bytes() {
    multi(async {
        let (a, b) = pair().await?;
        let mut buf = [0u8; 8];
        let err = ravel::timeout(Duration::from_millis(10), b.read(&mut buf)).await.unwrap_err();
        assert!(err.is_timeout());
        a.write_all(b"late").await?;
        let n = b.read(&mut buf).await?;
        assert_eq!(&buf[..n], b"late");
        Ok(())
    });
}

#[test]
fn a_cancelled_accept_takes_no_connection() {
    multi(async {
        let listener = Arc::new(TcpListener::bind("127.0.0.1:0").await?);
        let addr = listener.local_addr()?;
        let accept = {
            let listener = listener.clone();
            ravel::spawn(async move { listener.accept().await.map(|(s, _)| s.peer_addr().ok()) })
        };
        ravel::sleep(Duration::from_millis(5)).await?;
        accept.cancel();
        assert!(accept.await.unwrap_err().is_cancelled());
        // The connection made after the cancel is in the backlog for the next accept.
        let client = TcpStream::connect(&addr).await?;
        let (server, _) = ravel::timeout(Duration::from_secs(5), listener.accept()).await?;
        assert_eq!(server.peer_addr()?, client.local_addr()?);
        Ok(())
    });
}

#[test]
fn connect_under_a_timeout_scope_is_cancelled_cleanly() {
    multi(async {
        // A listener with backlog 0 and one unaccepted connection drops
        // further SYNs (Linux): the next connect stays in progress.
        let std_listener = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
        std_listener.bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>()?.into())?;
        std_listener.listen(0)?;
        let addr = std_listener.local_addr()?.as_socket().unwrap();
        let _first = TcpStream::connect(&addr).await?;
        let socket = TcpSocket::new_v4()?;
        let err = ravel::timeout(Duration::from_millis(50), socket.connect(addr)).await.unwrap_err();
        assert!(err.is_timeout(), "{err}");

        // The runtime still serves sockets afterwards.
        let (a, b) = pair().await?;
        a.write_all(b"1").await?;
        let mut one = [0u8; 1];
        b.read_exact(&mut one).await?;
        Ok(())
    });
}

#[test]
fn a_cancelled_write_wrote_nothing_when_the_buffer_was_full() {
    multi(async {
        let (a, b) = pair().await?;
        // Fill the send path until a write would block.
        let chunk = vec![7u8; 1 << 16];
        let mut sent = 0usize;
        loop {
            match a.try_write(&chunk) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e.into()),
            }
        }
        let a = Arc::new(a);
        let writer = {
            let a = a.clone();
            ravel::spawn(async move { a.write(b"MARK").await })
        };
        ravel::sleep(Duration::from_millis(5)).await?;
        writer.cancel();
        assert!(writer.await.unwrap_err().is_cancelled());
        // Drain everything: exactly the bytes sent before, no MARK.
        drop(a);
        let mut total = 0usize;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = b.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            assert!(buf[..n].iter().all(|&x| x == 7), "the cancelled write's bytes arrived");
            total += n;
        }
        assert_eq!(total, sent);
        Ok(())
    });
}
