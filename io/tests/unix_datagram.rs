//! `UnixDatagram` on temp-dir socket paths: every method's observable result.

use ravel_io::net::UnixDatagram;
use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::time::Duration;
mod common;
use common::{run, TempPath};

#[test]
fn bound_sockets_send_to_and_recv_from_by_path() {
    let (pa, pb) = (TempPath::new("a"), TempPath::new("b"));
    let (pa, pb) = (pa.0.clone(), pb.0.clone());
    run(async move {
        let a = UnixDatagram::bind(&pa)?;
        let b = UnixDatagram::bind(&pb)?;
        assert_eq!(a.local_addr()?.as_pathname(), Some(pa.as_path()));
        assert_eq!(a.send_to(b"hello", &pb).await?, 5);
        assert_eq!(a.send_to(b"again", &pb).await?, 5);
        let mut buf = [0u8; 16];
        let (n, from) = b.recv_from(&mut buf).await?;
        assert_eq!((&buf[..n], from.as_pathname()), (&b"hello"[..], Some(pa.as_path())));
        let (n, _) = b.recv_from(&mut buf).await?;
        assert_eq!(&buf[..n], b"again");
        // Reply to the sender's path.
        b.send_to(b"back", from.as_pathname().unwrap()).await?;
        let (n, from) = a.recv_from(&mut buf).await?;
        assert_eq!((&buf[..n], from.as_pathname()), (&b"back"[..], Some(pb.as_path())));
        Ok(())
    });
}

#[test]
fn an_unbound_socket_sends_as_an_unnamed_sender() {
    let pb = TempPath::new("unbound-target");
    let pb = pb.0.clone();
    run(async move {
        let a = UnixDatagram::unbound()?;
        assert!(a.local_addr()?.is_unnamed());
        let b = UnixDatagram::bind(&pb)?;
        a.send_to(b"anon", &pb).await?;
        let mut buf = [0u8; 8];
        let (n, from) = b.recv_from(&mut buf).await?;
        assert_eq!(&buf[..n], b"anon");
        assert!(from.is_unnamed());
        Ok(())
    });
}

#[test]
fn connect_send_recv_and_peer_addr() {
    let pb = TempPath::new("connect-target");
    let pb = pb.0.clone();
    run(async move {
        let a = UnixDatagram::unbound()?;
        assert_eq!(a.peer_addr().unwrap_err().kind(), io::ErrorKind::NotConnected);
        let b = UnixDatagram::bind(&pb)?;
        a.connect(&pb)?;
        assert_eq!(a.peer_addr()?.as_pathname(), Some(pb.as_path()));
        assert_eq!(a.send(b"connected").await?, 9);
        let mut buf = [0u8; 16];
        let (n, _) = b.recv_from(&mut buf).await?;
        assert_eq!(&buf[..n], b"connected");
        Ok(())
    });
}

#[test]
fn send_to_a_missing_path_fails() {
    let missing = TempPath::new("missing");
    let m = missing.0.clone();
    run(async move {
        let a = UnixDatagram::unbound()?;
        let err = a.send_to(b"x", &m).await.unwrap_err();
        assert_eq!(err.io_error().map(|e| e.kind()), Some(io::ErrorKind::NotFound), "{err:?}");
        Ok(())
    });
}

#[test]
fn pair_keeps_boundaries_and_truncates_to_the_buffer() {
    run(async {
        let (a, b) = UnixDatagram::pair()?;
        a.send(b"0123456789").await?;
        a.send(b"next").await?;
        let mut small = [0u8; 4];
        assert_eq!(b.recv(&mut small).await?, 4);
        assert_eq!(&small, b"0123");
        let mut buf = [0u8; 16];
        let n = b.recv(&mut buf).await?;
        assert_eq!(&buf[..n], b"next");
        Ok(())
    });
}

#[test]
fn a_receive_waits_for_a_datagram_sent_later() {
    run(async {
        let (a, b) = UnixDatagram::pair()?;
        let sender = ravel::spawn(async move {
            ravel::yield_now().await?;
            a.send(b"later").await?;
            Ok(a)
        });
        let mut buf = [0u8; 8];
        let n = b.recv(&mut buf).await?;
        assert_eq!(&buf[..n], b"later");
        sender.await?;
        Ok(())
    });
}

#[test]
fn try_and_poll_variants() {
    let pb = TempPath::new("poll-target");
    let pb = pb.0.clone();
    run(async move {
        let (a, b) = UnixDatagram::pair()?;
        let mut buf = [0u8; 8];
        assert_eq!(b.try_recv(&mut buf).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        a.writable().await?;
        assert_eq!(a.try_send(b"t")?, 1);
        b.readable().await?;
        assert_eq!(b.try_recv(&mut buf)?, 1);
        assert_eq!(poll_fn(|cx| a.poll_send(cx, b"p")).await?, 1);
        assert_eq!(poll_fn(|cx| b.poll_recv(cx, &mut buf)).await?, 1);
        assert_eq!(buf[0], b'p');

        let named = UnixDatagram::bind(&pb)?;
        let u = UnixDatagram::unbound()?;
        assert_eq!(u.try_send_to(b"ts", &pb)?, 2);
        named.readable().await?;
        let (n, _) = named.try_recv_from(&mut buf)?;
        assert_eq!(&buf[..n], b"ts");
        assert_eq!(poll_fn(|cx| u.poll_send_to(cx, b"ps", &pb)).await?, 2);
        let (n, from) = poll_fn(|cx| named.poll_recv_from(cx, &mut buf)).await?;
        assert_eq!(&buf[..n], b"ps");
        assert!(from.is_unnamed());
        Ok(())
    });
}

#[test]
fn shutdown_write_makes_sends_fail() {
    run(async {
        let (a, _b) = UnixDatagram::pair()?;
        a.shutdown(Shutdown::Write)?;
        let err = a.send(b"x").await.unwrap_err();
        assert_eq!(err.io_error().map(|e| e.kind()), Some(io::ErrorKind::BrokenPipe), "{err:?}");
        assert!(a.take_error()?.is_none());
        Ok(())
    });
}

#[test]
fn from_std_and_into_std_keep_the_socket() {
    run(async {
        let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
        let a = UnixDatagram::from_std(a)?;
        b.send(b"x")?;
        let mut buf = [0u8; 1];
        assert_eq!(a.recv(&mut buf).await?, 1);
        let a = a.into_std()?;
        a.set_read_timeout(Some(Duration::from_secs(5)))?;
        b.send(b"y")?;
        assert_eq!(a.recv(&mut buf)?, 1); // blocking mode again
        assert_eq!(&buf, b"y");
        Ok(())
    });
}
