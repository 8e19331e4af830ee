//! `UdpSocket` on loopback: every method's observable result.

use ravel_io::net::udp::UdpOptions;
use ravel_io::net::UdpSocket;
use std::future::poll_fn;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
mod common;
use common::run;

async fn pair() -> ravel::Result<(UdpSocket, UdpSocket)> {
    Ok((UdpSocket::bind("127.0.0.1:0").await?, UdpSocket::bind("127.0.0.1:0").await?))
}

#[test]
fn send_to_and_recv_from_keep_datagrams_whole_and_name_the_sender() {
    run(async {
        let (a, b) = pair().await?;
        assert_eq!(a.send_to(b"first", &b.local_addr()?).await?, 5);
        assert_eq!(a.send_to(b"second!", b.local_addr()?.to_string().as_str()).await?, 7);
        let mut buf = [0u8; 64];
        let (n, from) = b.recv_from(&mut buf).await?;
        assert_eq!((&buf[..n], from), (&b"first"[..], a.local_addr()?));
        let (n, from) = b.recv_from(&mut buf).await?;
        assert_eq!((&buf[..n], from), (&b"second!"[..], a.local_addr()?));
        Ok(())
    });
}

#[test]
fn a_datagram_larger_than_the_buffer_is_truncated_and_the_rest_discarded() {
    run(async {
        let (a, b) = pair().await?;
        a.send_to(b"0123456789", &b.local_addr()?).await?;
        a.send_to(b"next", &b.local_addr()?).await?;
        let mut small = [0u8; 4];
        let (n, _) = b.recv_from(&mut small).await?;
        assert_eq!(&small[..n], b"0123");
        let mut buf = [0u8; 16];
        let (n, _) = b.recv_from(&mut buf).await?;
        assert_eq!(&buf[..n], b"next");
        Ok(())
    });
}

#[test]
fn connect_send_recv_and_peer_addr() {
    run(async {
        let (a, b) = pair().await?;
        assert_eq!(a.peer_addr().unwrap_err().kind(), io::ErrorKind::NotConnected);
        let err = a.send(b"x").await.unwrap_err();
        assert!(err.io_error().is_some(), "{err:?}");
        a.connect(&b.local_addr()?).await?;
        b.connect(&a.local_addr()?).await?;
        assert_eq!(a.peer_addr()?, b.local_addr()?);
        assert_eq!(a.send(b"ping").await?, 4);
        let mut buf = [0u8; 8];
        let n = b.recv(&mut buf).await?;
        assert_eq!(&buf[..n], b"ping");
        b.send(b"pong").await?;
        let n = a.recv(&mut buf).await?;
        assert_eq!(&buf[..n], b"pong");
        Ok(())
    });
}

#[test]
fn a_connected_socket_ignores_datagrams_from_others() {
    run(async {
        let (a, b) = pair().await?;
        let stranger = UdpSocket::bind("127.0.0.1:0").await?;
        b.connect(&a.local_addr()?).await?;
        stranger.send_to(b"stranger", &b.local_addr()?).await?;
        a.send_to(b"peer", &b.local_addr()?).await?;
        let mut buf = [0u8; 16];
        let n = b.recv(&mut buf).await?;
        assert_eq!(&buf[..n], b"peer");
        assert_eq!(b.try_recv(&mut buf).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        Ok(())
    });
}

#[test]
fn sending_to_a_closed_port_reports_connection_refused_on_the_next_receive() {
    run(async {
        let (a, gone) = pair().await?;
        let gone_addr = gone.local_addr()?;
        drop(gone);
        a.connect(&gone_addr).await?;
        a.send(b"anyone?").await?;
        let mut buf = [0u8; 8];
        let err = a.recv(&mut buf).await.unwrap_err();
        assert_eq!(err.io_error().map(|e| e.kind()), Some(io::ErrorKind::ConnectionRefused), "{err:?}");
        Ok(())
    });
}

#[test]
fn peek_from_and_peek_leave_the_datagram_for_the_next_receive() {
    run(async {
        let (a, b) = pair().await?;
        a.send_to(b"stay", &b.local_addr()?).await?;
        let mut buf = [0u8; 8];
        let (n, from) = b.peek_from(&mut buf).await?;
        assert_eq!((&buf[..n], from), (&b"stay"[..], a.local_addr()?));
        let (n, _) = b.peek_from(&mut buf).await?;
        assert_eq!(&buf[..n], b"stay");
        b.connect(&a.local_addr()?).await?;
        let n = b.peek(&mut buf).await?;
        assert_eq!(&buf[..n], b"stay");
        let (n, _) = b.recv_from(&mut buf).await?;
        assert_eq!(&buf[..n], b"stay");
        assert_eq!(b.try_recv_from(&mut buf).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        Ok(())
    });
}

#[test]
fn try_variants_do_not_wait() {
    run(async {
        let (a, b) = pair().await?;
        let mut buf = [0u8; 8];
        assert_eq!(b.try_recv_from(&mut buf).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        assert_eq!(a.try_send_to(b"t1", b.local_addr()?)?, 2);
        b.readable().await?;
        let (n, from) = b.try_recv_from(&mut buf)?;
        assert_eq!((&buf[..n], from), (&b"t1"[..], a.local_addr()?));
        a.connect(&b.local_addr()?).await?;
        b.connect(&a.local_addr()?).await?;
        a.writable().await?;
        assert_eq!(a.try_send(b"t2")?, 2);
        b.readable().await?;
        let n = b.try_recv(&mut buf)?;
        assert_eq!(&buf[..n], b"t2");
        Ok(())
    });
}

#[test]
fn poll_variants_send_and_receive() {
    run(async {
        let (a, b) = pair().await?;
        let to = b.local_addr()?;
        let mut buf = [0u8; 8];
        let receiver = async {
            let (n, from) = poll_fn(|cx| b.poll_peek_from(cx, &mut buf)).await?;
            assert_eq!((n, from), (3, a.local_addr()?));
            let (n, _) = poll_fn(|cx| b.poll_recv_from(cx, &mut buf)).await?;
            assert_eq!(&buf[..n], b"one");
            io::Result::Ok(())
        };
        assert_eq!(poll_fn(|cx| a.poll_send_to(cx, b"one", to)).await?, 3);
        receiver.await?;
        a.connect(&to).await?;
        b.connect(&a.local_addr()?).await?;
        assert_eq!(poll_fn(|cx| a.poll_send(cx, b"two")).await?, 3);
        let n = poll_fn(|cx| b.poll_recv(cx, &mut buf)).await?;
        assert_eq!(&buf[..n], b"two");
        Ok(())
    });
}

#[test]
fn a_poll_receive_waits_for_a_later_datagram() {
    run(async {
        let (a, b) = pair().await?;
        let to = b.local_addr()?;
        let sender = ravel::spawn(async move {
            ravel::yield_now().await?;
            a.send_to(b"late", &to).await?;
            Ok(a)
        });
        let mut buf = [0u8; 8];
        let (n, _) = poll_fn(|cx| b.poll_recv_from(cx, &mut buf)).await?;
        assert_eq!(&buf[..n], b"late");
        sender.await?;
        Ok(())
    });
}

#[test]
fn options_read_back_what_was_set() {
    run(async {
        let s = UdpSocket::bind("127.0.0.1:0").await?;
        assert!(!s.broadcast()?);
        s.set_broadcast(true)?;
        assert!(s.broadcast()?);
        s.set_ttl(17)?;
        assert_eq!(s.ttl()?, 17);
        s.set_multicast_loop_v4(false)?;
        assert!(!s.multicast_loop_v4()?);
        s.set_multicast_ttl_v4(3)?;
        assert_eq!(s.multicast_ttl_v4()?, 3);
        assert!(s.take_error()?.is_none());
        assert!(!s.reuse_port()?);
        Ok(())
    });
}

#[test]
fn multicast_join_and_leave_on_loopback() {
    run(async {
        let group = Ipv4Addr::new(239, 255, 77, 1);
        let s = UdpSocket::bind("0.0.0.0:0").await?;
        s.join_multicast_v4(group, Ipv4Addr::LOCALHOST)?;
        // Joining twice is refused; leaving what was joined succeeds once.
        assert!(s.join_multicast_v4(group, Ipv4Addr::LOCALHOST).is_err());
        s.leave_multicast_v4(group, Ipv4Addr::LOCALHOST)?;
        assert!(s.leave_multicast_v4(group, Ipv4Addr::LOCALHOST).is_err());
        Ok(())
    });
}

#[test]
fn reuse_port_lets_two_sockets_share_an_address_and_without_it_the_second_bind_fails() {
    run(async {
        let plain = UdpSocket::bind("127.0.0.1:0").await?;
        let err = UdpSocket::bind(&plain.local_addr()?).await.unwrap_err();
        assert_eq!(err.io_error().map(|e| e.kind()), Some(io::ErrorKind::AddrInUse), "{err:?}");

        let options = UdpOptions { reuse_address: true, reuse_port: true, broadcast: true };
        let a = UdpSocket::bind_with("127.0.0.1:0", &options).await?;
        let b = UdpSocket::bind_with(&a.local_addr()?, &options).await?;
        assert_eq!(a.local_addr()?, b.local_addr()?);
        assert!(a.reuse_port()? && a.reuse_address()? && a.broadcast()?);
        Ok(())
    });
}

#[test]
fn bind_tries_each_resolved_address_and_reports_a_failure() {
    run(async {
        let taken = UdpSocket::bind("127.0.0.1:0").await?;
        let taken_addr = taken.local_addr()?;
        let free: SocketAddr = "127.0.0.1:0".parse()?;
        // The first address is in use; the second binds.
        let s = UdpSocket::bind(&vec![taken_addr, free]).await?;
        assert_ne!(s.local_addr()?, taken_addr);
        let s = UdpSocket::bind("localhost:0").await?;
        assert!(s.local_addr()?.ip().is_loopback());
        Ok(())
    });
}

#[test]
fn from_std_and_into_std_keep_the_socket() {
    run(async {
        let std = std::net::UdpSocket::bind("127.0.0.1:0")?;
        let addr = std.local_addr()?;
        let s = UdpSocket::from_std(std)?;
        let peer = UdpSocket::bind("127.0.0.1:0").await?;
        peer.send_to(b"while async", &addr).await?;
        let mut buf = [0u8; 16];
        let (n, _) = s.recv_from(&mut buf).await?;
        assert_eq!(&buf[..n], b"while async");
        let back = s.into_std()?;
        assert_eq!(back.local_addr()?, addr);
        peer.send_to(b"blocking", &addr).await?;
        back.set_read_timeout(Some(Duration::from_secs(5)))?;
        let (n, _) = back.recv_from(&mut buf)?; // blocking mode again
        assert_eq!(&buf[..n], b"blocking");
        Ok(())
    });
}

#[test]
fn from_std_outside_a_runtime_is_an_error() {
    let std = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    assert!(UdpSocket::from_std(std).is_err());
}
