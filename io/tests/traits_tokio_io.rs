//! Tokio's `AsyncRead`/`AsyncWrite` (feature `tokio-io`) on TcpStream,
//! UnixStream, their owned halves and `&T`, under a Ravel runtime: reads
//! fill the `ReadBuf`'s uninitialised part without zeroing it, shutdown is
//! a half-close.
#![cfg(feature = "tokio-io")]

use ravel_io::net::{TcpListener, TcpStream, UnixStream};
use std::future::poll_fn;
use std::mem::MaybeUninit;
use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
mod common;
use common::run;

async fn tcp_pair() -> ravel::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let client = TcpStream::connect(&listener.local_addr()?).await?;
    let (server, _) = listener.accept().await?;
    Ok((client, server))
}

/// Through the traits only (generic), as Tokio-based libraries call them.
async fn exchange<C, S>(mut client: C, mut server: S) -> ravel::Result<()>
where
    C: AsyncRead + AsyncWrite + Unpin,
    S: AsyncRead + AsyncWrite + Unpin,
{
    assert!(client.is_write_vectored());
    client.write_all(b"req").await?;
    let n = client.write_vectored(&[std::io::IoSlice::new(b"ue"), std::io::IoSlice::new(b"st")]).await?;
    assert_eq!(n, 4);
    client.flush().await?;
    client.shutdown().await?; // a half-close
    let mut request = Vec::new();
    server.read_to_end(&mut request).await?;
    assert_eq!(request, b"request");
    server.write_all(b"reply").await?;
    server.shutdown().await?;
    let mut reply = Vec::new();
    client.read_to_end(&mut reply).await?;
    assert_eq!(reply, b"reply");
    Ok(())
}

#[test]
fn tcp_stream_and_its_reference() {
    run(async {
        let (client, server) = tcp_pair().await?;
        exchange(client, server).await?;
        let (client, server) = tcp_pair().await?;
        exchange(&client, &server).await
    });
}

#[test]
fn unix_stream_and_its_reference() {
    run(async {
        let (client, server) = UnixStream::pair()?;
        exchange(client, server).await?;
        let (client, server) = UnixStream::pair()?;
        exchange(&client, &server).await
    });
}

#[test]
fn owned_halves_and_their_references() {
    run(async {
        let (client, server) = tcp_pair().await?;
        let (cr, cw) = client.into_split();
        let (sr, sw) = server.into_split();
        exchange(tokio::io::join(cr, cw), tokio::io::join(&sr, &sw)).await?;

        let (client, server) = UnixStream::pair()?;
        let (cr, cw) = client.into_split();
        let (sr, sw) = server.into_split();
        exchange(tokio::io::join(&cr, &cw), tokio::io::join(sr, sw)).await
    });
}

#[test]
fn a_read_fills_the_uninitialised_part_without_zeroing_the_rest() {
    run(async {
        let (mut a, b) = UnixStream::pair()?;
        b.write_all(b"tokio").await?;
        let mut storage = [MaybeUninit::<u8>::uninit(); 64];
        let mut buf = ReadBuf::uninit(&mut storage);
        poll_fn(|cx| Pin::new(&mut a).poll_read(cx, &mut buf)).await?;
        assert_eq!(buf.filled(), b"tokio");
        // Only what was read is marked initialised: nothing was zeroed.
        assert_eq!(buf.initialized().len(), 5);

        // A second read appends after what is filled.
        b.write_all(b"-io").await?;
        poll_fn(|cx| Pin::new(&mut a).poll_read(cx, &mut buf)).await?;
        assert_eq!(buf.filled(), b"tokio-io");
        assert_eq!(buf.initialized().len(), 8);
        Ok(())
    });
}

#[test]
fn a_read_into_a_full_buffer_returns_at_once_and_end_of_stream_fills_nothing() {
    run(async {
        let (mut a, b) = tcp_pair().await?;
        let mut storage = [0u8; 0];
        let mut buf = ReadBuf::new(&mut storage);
        poll_fn(|cx| Pin::new(&mut a).poll_read(cx, &mut buf)).await?;
        assert!(buf.filled().is_empty());
        b.shutdown(std::net::Shutdown::Write)?;
        let mut storage = [MaybeUninit::<u8>::uninit(); 8];
        let mut buf = ReadBuf::uninit(&mut storage);
        poll_fn(|cx| Pin::new(&mut a).poll_read(cx, &mut buf)).await?;
        assert!(buf.filled().is_empty());
        Ok(())
    });
}
