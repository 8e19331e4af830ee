//! `StreamReader` as a futures-io `AsyncRead` / `AsyncBufRead`: the
//! buffer changes only on `consume`, reads pull from the socket, EOF is
//! `Ok(0)` / an empty slice, a stored exception is an `io::Error`.

mod common;

use futures_io::{AsyncBufRead, AsyncRead};
use ravel_io::net::TcpListener;
use ravel_io::streams::{open_connection, StreamReader};
use std::future::poll_fn;
use std::io;
use std::pin::Pin;

async fn fill(r: &mut StreamReader) -> io::Result<Vec<u8>> {
    poll_fn(|cx| Pin::new(&mut *r).poll_fill_buf(cx).map(|b| b.map(|b| b.to_vec()))).await
}

async fn read(r: &mut StreamReader, n: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    let got = poll_fn(|cx| Pin::new(&mut *r).poll_read(cx, &mut buf)).await?;
    buf.truncate(got);
    Ok(buf)
}

#[test]
fn fed_reader_buf_read_and_read() {
    let rt = common::current_thread();
    common::block(&rt, async {
        let mut r = StreamReader::new();
        r.feed_data(b"abc\ndef");
        assert_eq!(fill(&mut r).await?, b"abc\ndef");
        assert_eq!(r.buffer(), b"abc\ndef", "fill_buf consumed");
        Pin::new(&mut r).consume(4);
        assert_eq!(r.buffer(), b"def");
        assert_eq!(read(&mut r, 2).await?, b"de");
        r.feed_eof();
        assert_eq!(r.readline().await?, b"f"); // the async API sees the same buffer
        assert_eq!(fill(&mut r).await?, b"");
        assert_eq!(read(&mut r, 10).await?, b"");

        let mut r = StreamReader::new();
        r.set_exception(io::Error::new(io::ErrorKind::ConnectionReset, "gone").into());
        let e = read(&mut r, 1).await.unwrap_err();
        assert_eq!((e.kind(), e.to_string()), (io::ErrorKind::ConnectionReset, "gone".to_string()));
        Ok(())
    });
}

#[test]
fn socket_reader_buf_read_waits_for_data() {
    let rt = common::multi_thread();
    common::block(&rt, async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let (mut reader, _writer) = open_connection(&listener.local_addr()?).await?;
        let (peer, _) = listener.accept().await?;
        let sender = ravel::spawn(async move {
            ravel::yield_now().await?;
            peer.write_all(b"hello").await?;
            Ok(peer)
        });
        assert_eq!(fill(&mut reader).await?, b"hello");
        Pin::new(&mut reader).consume(5);
        let peer = sender.await?;
        drop(peer);
        assert_eq!(read(&mut reader, 10).await?, b"");
        assert!(reader.at_eof());
        Ok(())
    });
}
