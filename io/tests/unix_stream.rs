//! `UnixListener` and `UnixStream` on temp-dir socket paths: every method's
//! observable result, half-close, and the owned halves.

use ravel_io::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use ravel_io::net::{UnixListener, UnixStream};
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::time::Duration;
mod common;
use common::{run, TempPath};

async fn read_to_end(s: &UnixStream) -> ravel::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 64];
    loop {
        match s.read(&mut chunk).await? {
            0 => return Ok(out),
            n => out.extend_from_slice(&chunk[..n]),
        }
    }
}

#[test]
fn connect_accept_and_addresses() {
    let path = TempPath::new("connect");
    let p = path.0.clone();
    run(async move {
        let listener = UnixListener::bind(&p)?;
        assert_eq!(listener.local_addr()?.as_pathname(), Some(p.as_path()));
        let client = UnixStream::connect(&p).await?;
        let (server, from) = listener.accept().await?;
        assert!(from.is_unnamed());
        assert_eq!(client.peer_addr()?.as_pathname(), Some(p.as_path()));
        assert!(client.local_addr()?.is_unnamed());
        assert_eq!(server.local_addr()?.as_pathname(), Some(p.as_path()));
        assert!(server.peer_addr()?.is_unnamed());
        assert!(client.take_error()?.is_none());
        client.write_all(b"over the path").await?;
        let mut buf = [0u8; 13];
        server.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"over the path");
        Ok(())
    });
}

#[test]
fn connect_to_a_missing_path_or_a_dead_socket_fails() {
    let missing = TempPath::new("missing");
    let dead = TempPath::new("dead");
    let (m, d) = (missing.0.clone(), dead.0.clone());
    run(async move {
        let err = UnixStream::connect(&m).await.unwrap_err();
        assert_eq!(err.io_error().map(|e| e.kind()), Some(io::ErrorKind::NotFound), "{err:?}");
        drop(UnixListener::bind(&d)?); // the file stays, nobody listens
        let err = UnixStream::connect(&d).await.unwrap_err();
        assert_eq!(err.io_error().map(|e| e.kind()), Some(io::ErrorKind::ConnectionRefused), "{err:?}");
        // And binding over the stale file is refused.
        let err = UnixListener::bind(&d).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        Ok(())
    });
}

#[test]
fn pair_read_write_vectored_and_read_exact() {
    run(async {
        let (a, b) = UnixStream::pair()?;
        assert!(a.local_addr()?.is_unnamed() && a.peer_addr()?.is_unnamed());
        assert_eq!(a.write(b"abc").await?, 3);
        let n = a.write_vectored(&[IoSlice::new(b"de"), IoSlice::new(b"fg")]).await?;
        assert_eq!(n, 4);
        let mut buf = [0u8; 7];
        b.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"abcdefg");
        assert_eq!(b.read(&mut []).await?, 0);
        Ok(())
    });
}

#[test]
fn read_exact_fails_with_unexpected_eof_when_the_stream_ends_early() {
    run(async {
        let (a, b) = UnixStream::pair()?;
        a.write_all(b"ab").await?;
        drop(a);
        let mut buf = [0u8; 4];
        let err = b.read_exact(&mut buf).await.unwrap_err();
        assert_eq!(err.io_error().map(|e| e.kind()), Some(io::ErrorKind::UnexpectedEof), "{err:?}");
        Ok(())
    });
}

#[test]
fn write_all_of_more_than_the_socket_buffer_waits_for_the_reader() {
    run(async {
        let (a, b) = UnixStream::pair()?;
        let data: Vec<u8> = (0..4 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        let expected = data.clone();
        let writer = ravel::spawn(async move {
            a.write_all(&data).await?;
            a.shutdown(Shutdown::Write)?;
            Ok(a)
        });
        let got = read_to_end(&b).await?;
        assert!(got == expected, "{} bytes read, {} written", got.len(), expected.len());
        writer.await?;
        Ok(())
    });
}

#[test]
fn shutdown_write_is_a_half_close_and_the_reply_still_arrives() {
    let path = TempPath::new("half-close");
    let p = path.0.clone();
    run(async move {
        let listener = UnixListener::bind(&p)?;
        let server = ravel::spawn(async move {
            let (conn, _) = listener.accept().await?;
            let request = read_to_end(&conn).await?; // ends at the client's shutdown
            conn.write_all(&[b"reply to ".as_slice(), &request].concat()).await?;
            Ok(())
        });
        let client = UnixStream::connect(&p).await?;
        client.write_all(b"question").await?;
        client.shutdown(Shutdown::Write)?;
        assert_eq!(read_to_end(&client).await?, b"reply to question");
        server.await?;
        Ok(())
    });
}

#[test]
fn try_read_try_write_readable_writable() {
    run(async {
        let (a, b) = UnixStream::pair()?;
        let mut buf = [0u8; 8];
        assert_eq!(b.try_read(&mut buf).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        a.writable().await?;
        assert_eq!(a.try_write(b"now")?, 3);
        b.readable().await?;
        assert_eq!(b.try_read(&mut buf)?, 3);
        assert_eq!(&buf[..3], b"now");
        Ok(())
    });
}

#[test]
fn poll_read_write_and_read_uninit() {
    run(async {
        let (a, b) = UnixStream::pair()?;
        assert_eq!(poll_fn(|cx| a.poll_write(cx, b"one")).await?, 3);
        let mut buf = [0u8; 8];
        let n = poll_fn(|cx| b.poll_read(cx, &mut buf)).await?;
        assert_eq!(&buf[..n], b"one");
        let bufs = [IoSlice::new(b"t"), IoSlice::new(b"wo")];
        assert_eq!(poll_fn(|cx| a.poll_write_vectored(cx, &bufs)).await?, 3);
        let mut raw = [MaybeUninit::<u8>::uninit(); 8];
        let n = poll_fn(|cx| b.poll_read_uninit(cx, &mut raw)).await?;
        let got: Vec<u8> = raw[..n].iter().map(initialised).collect();
        assert_eq!(got, b"two");
        Ok(())
    });
}

/// Reads a byte `poll_read_uninit` reported initialised.
fn initialised(b: &MaybeUninit<u8>) -> u8 {
    // SAFETY: poll_read_uninit reported this byte initialised.
    unsafe { b.assume_init() }
}

#[test]
fn a_poll_read_waits_for_data_written_later() {
    run(async {
        let (a, b) = UnixStream::pair()?;
        let writer = ravel::spawn(async move {
            ravel::yield_now().await?;
            a.write_all(b"later").await?;
            Ok(a)
        });
        let mut buf = [0u8; 8];
        let n = poll_fn(|cx| b.poll_read(cx, &mut buf)).await?;
        assert_eq!(&buf[..n], b"later");
        writer.await?;
        Ok(())
    });
}

#[test]
fn incoming_yields_accepted_connections() {
    use futures_util::StreamExt;
    let path = TempPath::new("incoming");
    let p = path.0.clone();
    run(async move {
        let listener = UnixListener::bind(&p)?;
        let c1 = UnixStream::connect(&p).await?;
        let c2 = UnixStream::connect(&p).await?;
        let mut incoming = listener.incoming();
        let s1 = incoming.next().await.unwrap()?;
        let s2 = incoming.next().await.unwrap()?;
        c1.write_all(b"1").await?;
        c2.write_all(b"2").await?;
        let mut buf = [0u8; 1];
        s1.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"1");
        s2.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"2");
        Ok(())
    });
}

#[test]
fn from_std_and_into_std_keep_the_connection() {
    let path = TempPath::new("std");
    let p = path.0.clone();
    run(async move {
        let listener = UnixListener::from_std(std::os::unix::net::UnixListener::bind(&p)?)?;
        let client = UnixStream::from_std(std::os::unix::net::UnixStream::connect(&p)?)?;
        let (server, _) = listener.accept().await?;
        let std_listener = listener.into_std()?;
        assert_eq!(std_listener.local_addr()?.as_pathname(), Some(p.as_path()));
        client.write_all(b"x").await?;
        let server = server.into_std()?; // blocking again
        server.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut buf = [0u8; 1];
        io::Read::read_exact(&mut &server, &mut buf)?;
        assert_eq!(&buf, b"x");
        Ok(())
    });
}

#[test]
fn owned_halves_read_and_write_and_dropping_the_writer_half_closes() {
    run(async {
        let (a, b) = UnixStream::pair()?;
        let (read, write): (OwnedReadHalf, OwnedWriteHalf) = a.into_split();
        assert!(read.local_addr()?.is_unnamed() && write.peer_addr()?.is_unnamed());
        write.write_all(b"from a").await?;
        write.write_vectored(&[IoSlice::new(b"!")]).await?;
        drop(write);
        assert_eq!(read_to_end(&b).await?, b"from a!");
        b.write_all(b"reply").await?;
        let mut buf = [0u8; 5];
        read.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"reply");
        Ok(())
    });
}

#[test]
fn reunite_gives_the_stream_back_and_refuses_halves_of_two_streams() {
    run(async {
        let (a, b) = UnixStream::pair()?;
        let (c, _d) = UnixStream::pair()?;
        let (ra, wa) = a.into_split();
        let (rc, wc) = c.into_split();
        let err = ra.reunite(wc).unwrap_err();
        let (ra, wc) = (err.0, err.1);
        let a = ra.reunite(wa).expect("halves of one stream");
        drop((rc, wc));
        // Reuniting did not shut the writing side down.
        a.write_all(b"still open").await?;
        let mut buf = [0u8; 10];
        b.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"still open");
        Ok(())
    });
}

#[test]
fn owned_halves_used_from_two_workers_at_once() {
    let rt = ravel::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    rt.block_on(ravel::timeout(Duration::from_secs(30), async {
        let (a, echo) = UnixStream::pair()?;
        let echo = ravel::spawn(async move {
            let mut buf = [0u8; 4096];
            loop {
                match echo.read(&mut buf).await? {
                    0 => return Ok(()),
                    n => echo.write_all(&buf[..n]).await?,
                }
            }
        });
        let (read, write) = a.into_split();
        const N: u32 = 2000;
        let writer = ravel::spawn(async move {
            for i in 0..N {
                write.write_all(&i.to_be_bytes()).await?;
            }
            Ok(())
        });
        let reader = ravel::spawn(async move {
            for i in 0..N {
                let mut buf = [0u8; 4];
                read.read_exact(&mut buf).await?;
                assert_eq!(u32::from_be_bytes(buf), i);
            }
            Ok(())
        });
        writer.await?;
        reader.await?;
        echo.await
    }))
    .unwrap();
}
