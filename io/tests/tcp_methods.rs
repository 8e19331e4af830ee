//! Every TcpStream / TcpListener / TcpSocket method on loopback.

mod common;
use common::{multi, pair, single};
use ravel_io::net::{TcpListener, TcpSocket, TcpStream};
use std::io::{ErrorKind, IoSlice};
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

#[test]
fn connect_accept_and_addresses_agree() {
    single(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        assert_eq!(addr.ip().to_string(), "127.0.0.1");
        assert_ne!(addr.port(), 0);
        let client = ravel::spawn(async move { TcpStream::connect(&addr).await });
        let (server, peer) = listener.accept().await?;
        let client = client.await?;
        assert_eq!(server.peer_addr()?, peer);
        assert_eq!(client.local_addr()?, peer);
        assert_eq!(client.peer_addr()?, addr);
        assert_eq!(server.local_addr()?, addr);
        Ok(())
    });
}

#[test]
fn host_names_resolve_on_the_blocking_pool() {
    single(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let client = ravel::spawn(async move { TcpStream::connect(&("localhost", port)).await });
        let (_server, _) = listener.accept().await?;
        let client = client.await?;
        assert!(client.peer_addr()?.ip().is_loopback());
        Ok(())
    });
}

#[test]
fn read_write_peek_and_vectored() {
    multi(async {
        let (a, b) = pair().await?;
        assert_eq!(a.write(b"hello").await?, 5);
        let mut buf = [0u8; 16];
        // peek leaves the bytes for the next read
        let n = b.peek(&mut buf).await?;
        assert_eq!(&buf[..n], b"hello");
        let n = b.read(&mut buf).await?;
        assert_eq!(&buf[..n], b"hello");

        let bufs = [IoSlice::new(b"ab"), IoSlice::new(b"cd")];
        assert_eq!(a.write_vectored(&bufs).await?, 4);
        let mut four = [0u8; 4];
        b.read_exact(&mut four).await?;
        assert_eq!(&four, b"abcd");

        // An empty buffer reads 0 at once.
        assert_eq!(b.read(&mut []).await?, 0);
        Ok(())
    });
}

#[test]
fn write_vectored_of_more_buffers_than_iov_max_writes_a_prefix_in_order() {
    multi(async {
        let (a, b) = pair().await?;
        let bytes: Vec<[u8; 1]> = (0..1500u32).map(|i| [(i % 251) as u8]).collect();
        let slices: Vec<IoSlice<'_>> = bytes.iter().map(|b| IoSlice::new(b)).collect();
        // The kernel takes at most IOV_MAX (1024) buffers per call; more is
        // a short write, not an error.
        let n = a.write_vectored(&slices).await?;
        assert!((1..=1024).contains(&n), "wrote {n}");
        let mut got = vec![0u8; n];
        b.read_exact(&mut got).await?;
        let expected: Vec<u8> = bytes[..n].iter().map(|b| b[0]).collect();
        assert_eq!(got, expected);
        Ok(())
    });
}

#[test]
fn write_all_and_read_exact_move_a_megabyte_in_both_directions() {
    multi(async {
        let (a, b) = pair().await?;
        let data: Vec<u8> = (0..1 << 20).map(|i| (i * 7 % 251) as u8).collect();
        let expected = data.clone();
        let writer = ravel::spawn(async move {
            a.write_all(&data).await?;
            let mut back = vec![0u8; data.len()];
            a.read_exact(&mut back).await?;
            Ok(back)
        });
        let mut got = vec![0u8; expected.len()];
        b.read_exact(&mut got).await?;
        assert!(got == expected);
        b.write_all(&got).await?;
        assert!(writer.await? == expected);
        Ok(())
    });
}

#[test]
fn read_exact_at_end_of_stream_is_unexpected_eof() {
    single(async {
        let (a, b) = pair().await?;
        a.write_all(b"abc").await?;
        drop(a);
        let mut buf = [0u8; 8];
        let err = b.read_exact(&mut buf).await.unwrap_err();
        assert_eq!(err.io_error().unwrap().kind(), ErrorKind::UnexpectedEof);
        assert_eq!(&buf[..3], b"abc");
        assert_eq!(b.read(&mut buf).await?, 0, "end of stream reads 0");
        Ok(())
    });
}

#[test]
fn try_read_and_try_write_never_wait() {
    single(async {
        let (a, b) = pair().await?;
        let mut buf = [0u8; 4];
        assert_eq!(b.try_read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
        assert_eq!(a.try_write(b"x")?, 1);
        b.readable().await?;
        assert_eq!(b.try_read(&mut buf)?, 1);
        a.writable().await?;
        Ok(())
    });
}

#[test]
fn socket_options_round_trip() {
    single(async {
        let (a, _b) = pair().await?;
        a.set_nodelay(true)?;
        assert!(a.nodelay()?);
        a.set_nodelay(false)?;
        assert!(!a.nodelay()?);
        a.set_ttl(42)?;
        assert_eq!(a.ttl()?, 42);
        a.set_linger(Some(Duration::from_secs(3)))?;
        assert_eq!(a.linger()?, Some(Duration::from_secs(3)));
        a.set_linger(None)?;
        assert_eq!(a.linger()?, None);
        assert!(a.take_error()?.is_none());
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        listener.set_ttl(17)?;
        assert_eq!(listener.ttl()?, 17);
        Ok(())
    });
}

#[test]
fn tcp_socket_reuse_port_lets_two_listeners_share_a_port() {
    single(async {
        let first = TcpSocket::new_v4()?;
        first.set_reuseport(true)?;
        first.bind("127.0.0.1:0".parse()?)?;
        let first = first.listen(8)?;
        let addr = first.local_addr()?;
        let second = TcpSocket::new_v4()?;
        second.set_reuseport(true)?;
        second.bind(addr)?;
        let second = second.listen(8)?;
        assert_eq!(second.local_addr()?, addr);
        // Without SO_REUSEPORT the bind fails.
        let third = TcpSocket::new_v4()?;
        let err = third.bind(addr).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse);
        Ok(())
    });
}

#[test]
fn tcp_socket_connect_with_buffer_sizes() {
    single(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let socket = TcpSocket::new_v4()?;
        socket.set_send_buffer_size(1 << 16)?;
        socket.set_recv_buffer_size(1 << 16)?;
        socket.set_nodelay(true)?;
        let client = ravel::spawn(async move { socket.connect(addr).await });
        let (server, _) = listener.accept().await?;
        let client = client.await?;
        assert!(client.nodelay()?);
        client.write_all(b"q").await?;
        let mut b = [0u8; 1];
        server.read_exact(&mut b).await?;
        assert_eq!(&b, b"q");
        Ok(())
    });
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    single(async {
        let addr: SocketAddr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0")?;
            l.local_addr()?
        }; // closed here
        let err = TcpStream::connect(&addr).await.unwrap_err();
        assert_eq!(err.io_error().unwrap().kind(), ErrorKind::ConnectionRefused);
        assert_eq!(err.kind(), ravel::ErrorKind::Io);
        Ok(())
    });
}

#[test]
fn bind_an_address_in_use_fails_with_addr_in_use() {
    single(async {
        let first = TcpListener::bind("127.0.0.1:0").await?;
        let addr = first.local_addr()?;
        let err = TcpListener::bind(&addr).await.unwrap_err();
        assert_eq!(err.io_error().unwrap().kind(), ErrorKind::AddrInUse);
        Ok(())
    });
}

#[test]
fn from_std_and_into_std_hand_the_socket_over() {
    single(async {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = std_listener.local_addr()?;
        let listener = TcpListener::from_std(std_listener)?;
        let client = std::thread::spawn(move || std::net::TcpStream::connect(addr).unwrap());
        let (server, _) = listener.accept().await?;
        let mut client = client.join().unwrap();
        // Back to std: blocking again.
        let mut server = server.into_std()?;
        use std::io::{Read, Write};
        client.write_all(b"sync")?;
        let mut buf = [0u8; 4];
        server.read_exact(&mut buf)?;
        assert_eq!(&buf, b"sync");
        // And a std stream into Ravel.
        let client = TcpStream::from_std(client)?;
        server.write_all(b"back")?;
        client.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"back");
        let listener = listener.into_std()?;
        assert_eq!(listener.local_addr()?, addr);
        Ok(())
    });
}

#[test]
fn registering_outside_a_runtime_is_a_clear_error() {
    let std_stream = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap()
    };
    let err = TcpStream::from_std(std_stream).unwrap_err();
    assert!(err.to_string().contains("outside a Ravel runtime"), "{err}");
}

#[test]
fn incoming_is_a_stream_of_connections() {
    use std::future::poll_fn;
    use std::pin::Pin;
    single(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let clients = ravel::spawn(async move {
            let mut v = Vec::new();
            for _ in 0..3 {
                v.push(TcpStream::connect(&addr).await?);
            }
            Ok(v)
        });
        let mut incoming = listener.incoming();
        let mut got = Vec::new();
        for _ in 0..3 {
            let next = poll_fn(|cx| futures_core::Stream::poll_next(Pin::new(&mut incoming), cx)).await;
            got.push(next.expect("incoming never ends")?);
        }
        let clients = clients.await?;
        let mut peers: Vec<_> = got.iter().map(|s| s.peer_addr().unwrap()).collect();
        let mut locals: Vec<_> = clients.iter().map(|s| s.local_addr().unwrap()).collect();
        peers.sort();
        locals.sort();
        assert_eq!(peers, locals);
        Ok(())
    });
}

#[test]
fn shutdown_both_ends_reads_and_writes() {
    single(async {
        let (a, b) = pair().await?;
        a.shutdown(Shutdown::Both)?;
        let mut buf = [0u8; 1];
        assert_eq!(b.read(&mut buf).await?, 0);
        assert_eq!(a.read(&mut buf).await?, 0, "a read after shutdown(Read) sees end of stream");
        let err = a.write(b"x").await.unwrap_err();
        assert_eq!(err.io_error().unwrap().kind(), ErrorKind::BrokenPipe);
        Ok(())
    });
}
