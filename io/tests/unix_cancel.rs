//! Cancelled Unix socket awaits take nothing: the next read gets the bytes,
//! the next accept the connection, the next receive the datagram.

use ravel_io::net::{UnixDatagram, UnixListener, UnixStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;
mod common;
use common::{run, TempPath};

#[test]
fn a_cancelled_read_leaves_the_bytes_for_the_next_read() {
    run(async {
        let (a, b) = UnixStream::pair()?;
        let b = Arc::new(b);
        let waiting = ravel::spawn({
            let b = b.clone();
            async move {
                let mut buf = [0u8; 16];
                b.read(&mut buf).await.map(|n| buf[..n].to_vec())
            }
        });
        ravel::yield_now().await?; // the reader is suspended in read
        assert!(!waiting.done());
        waiting.cancel();
        assert!(waiting.await.unwrap_err().is_cancelled());
        a.write_all(b"all of it").await?;
        let mut buf = [0u8; 9];
        b.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"all of it");
        Ok(())
    });
}

#[test]
fn a_cancelled_accept_leaves_the_connection_for_the_next_accept() {
    let path = TempPath::new("accept");
    let p = path.0.clone();
    run(async move {
        let listener = Arc::new(UnixListener::bind(&p)?);
        let waiting = ravel::spawn({
            let listener = listener.clone();
            async move { listener.accept().await.map(drop) }
        });
        ravel::yield_now().await?;
        assert!(!waiting.done());
        waiting.cancel();
        assert!(waiting.await.unwrap_err().is_cancelled());
        let client = UnixStream::connect(&p).await?;
        let (server, _) = listener.accept().await?;
        client.write_all(b"c").await?;
        let mut buf = [0u8; 1];
        server.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"c");
        Ok(())
    });
}

#[test]
fn a_cancelled_datagram_receive_leaves_the_datagram() {
    run(async {
        let (a, b) = UnixDatagram::pair()?;
        let b = Arc::new(b);
        let waiting = ravel::spawn({
            let b = b.clone();
            async move {
                let mut buf = [0u8; 16];
                b.recv_from(&mut buf).await.map(|(n, _)| buf[..n].to_vec())
            }
        });
        ravel::yield_now().await?;
        waiting.cancel();
        assert!(waiting.await.unwrap_err().is_cancelled());
        a.send(b"kept").await?;
        let mut buf = [0u8; 16];
        let n = b.recv(&mut buf).await?;
        assert_eq!(&buf[..n], b"kept");
        Ok(())
    });
}

/// Bytes arriving and the cancel race on two workers: whatever the
/// cancelled read returned plus what the next reads get is exactly what was
/// written, in order.
#[test]
fn cancel_racing_a_write_loses_no_byte() {
    let rt = ravel::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let counts = rt
        .block_on(ravel::timeout(Duration::from_secs(20), async {
            let (a, b) = UnixStream::pair()?;
            let b = Arc::new(b);
            let (mut by_cancelled, mut after) = (0, 0);
            for i in 0u32..300 {
                let started = Arc::new(ravel::sync::Event::new());
                // What the read returned, recorded inside the task (a task
                // ending with its cancellation undelivered drops its value).
                let taken = Arc::new(Mutex::new(None));
                let reader = ravel::spawn({
                    let (b, started, taken) = (b.clone(), started.clone(), taken.clone());
                    async move {
                        started.set();
                        let mut buf = [0u8; 4];
                        let result = b.read(&mut buf).await;
                        if let Ok(n) = result {
                            *taken.lock().unwrap() = Some(buf[..n].to_vec());
                        }
                        result.map(drop)
                    }
                });
                started.wait().await?;
                a.write_all(&i.to_be_bytes()).await?;
                for _ in 0..(i % 40) * 500 {
                    std::hint::spin_loop();
                }
                reader.cancel();
                let outcome = reader.await;
                let taken = taken.lock().unwrap().take();
                let mut got = match taken {
                    Some(bytes) => {
                        by_cancelled += 1;
                        bytes
                    }
                    None => {
                        let e = outcome.expect_err("the read returned nothing, so it was cancelled");
                        assert!(e.is_cancelled(), "{e:?}");
                        after += 1;
                        Vec::new()
                    }
                };
                let mut rest = vec![0u8; 4 - got.len()];
                b.read_exact(&mut rest).await?;
                got.extend_from_slice(&rest);
                assert_eq!(got, i.to_be_bytes());
            }
            Ok((by_cancelled, after))
        }))
        .unwrap();
    eprintln!("returned by the cancelled read: {}, by the next: {}", counts.0, counts.1);
    assert_eq!(counts.0 + counts.1, 300);
}

#[test]
fn a_cancelled_write_to_a_full_socket_wrote_nothing() {
    run(async {
        let (a, b) = UnixStream::pair()?;
        let a = Arc::new(a);
        let chunk = [b'.'; 4096];
        let mut filled = 0;
        loop {
            match a.try_write(&chunk) {
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e.into()),
            }
        }
        let waiting = ravel::spawn({
            let a = a.clone();
            async move { a.write(b"X").await }
        });
        ravel::yield_now().await?; // the writer is suspended: the buffer is full
        assert!(!waiting.done());
        waiting.cancel();
        assert!(waiting.await.unwrap_err().is_cancelled());
        a.shutdown(std::net::Shutdown::Write)?;
        let mut total = 0;
        let mut buf = [0u8; 8192];
        loop {
            let n = b.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            assert!(buf[..n].iter().all(|&c| c == b'.'), "the cancelled write's byte arrived");
            total += n;
        }
        assert_eq!(total, filled);
        Ok(())
    });
}

#[test]
fn a_cancelled_datagram_send_to_a_full_peer_sent_nothing() {
    run(async {
        let (a, b) = UnixDatagram::pair()?;
        let a = Arc::new(a);
        let mut sent = 0u32;
        loop {
            match a.try_send(b"queued") {
                Ok(_) => sent += 1,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e.into()),
            }
        }
        let waiting = ravel::spawn({
            let a = a.clone();
            async move { a.send(b"cancelled").await }
        });
        ravel::yield_now().await?;
        assert!(!waiting.done());
        waiting.cancel();
        assert!(waiting.await.unwrap_err().is_cancelled());
        let mut buf = [0u8; 16];
        for _ in 0..sent {
            let n = b.recv(&mut buf).await?;
            assert_eq!(&buf[..n], b"queued");
        }
        assert_eq!(b.try_recv(&mut buf).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
        Ok(())
    });
}
