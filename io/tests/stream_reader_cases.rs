//! `StreamReader` fed directly, against CPython 3.13's asyncio
//! (asyncio-sync-semantics §2.N: N01–N07, N09–N11, N14). `buffer` is
//! `bytes(reader._buffer)` = `StreamReader::buffer()`; `tick` is
//! `asyncio.sleep(0)`. A single-threaded runtime keeps asyncio's one loop.

mod common;

use common::{block, current_thread, tick};
use ravel_io::streams::{IncompleteReadError, LimitOverrunError, StreamReader};
use std::io;
use std::sync::Arc;
use std::time::Duration;

const DATA: &[u8] = b"line1\nline2\nline3\n";

fn spawn_read<F, Fut>(r: &Arc<StreamReader>, f: F) -> ravel::Task<Vec<u8>>
where
    F: FnOnce(Arc<StreamReader>) -> Fut,
    Fut: std::future::Future<Output = ravel::Result<Vec<u8>>> + Send + 'static,
{
    ravel::spawn(f(r.clone()))
}

fn incomplete(e: &ravel::Error) -> &IncompleteReadError {
    e.downcast_ref::<IncompleteReadError>().unwrap_or_else(|| panic!("not an IncompleteReadError: {e}"))
}

fn overrun(e: &ravel::Error) -> &LimitOverrunError {
    e.downcast_ref::<LimitOverrunError>().unwrap_or_else(|| panic!("not a LimitOverrunError: {e}"))
}

fn io_kind(e: &ravel::Error) -> io::ErrorKind {
    e.io_error().unwrap_or_else(|| panic!("not an io error: {e}")).kind()
}

/// N01: limit 0 is refused; reprs; feeding nothing buffers nothing.
#[test]
fn n01_construction_and_repr() {
    assert!(std::panic::catch_unwind(|| StreamReader::with_limit(0)).is_err());
    let r = StreamReader::new();
    assert_eq!(r.limit(), 65536);
    assert_eq!(format!("{r:?}"), "<StreamReader>");
    assert_eq!(format!("{:?}", StreamReader::with_limit(123)), "<StreamReader limit=123>");
    r.feed_data(b"");
    assert_eq!(r.buffer(), b"");
    r.feed_data(b"data");
    assert_eq!(format!("{r:?}"), "<StreamReader 4 bytes>");
    let e = StreamReader::new();
    e.feed_eof();
    assert_eq!(format!("{e:?}"), "<StreamReader eof>");
}

/// N02: read(n).
#[test]
fn n02_read_n() {
    let rt = current_thread();
    block(&rt, async {
        let r = Arc::new(StreamReader::new());
        r.feed_data(b"line1");
        r.feed_data(b"line2");
        assert_eq!(r.read(0).await?, b"");
        assert_eq!(r.buffer(), b"line1line2");
        assert_eq!(r.read(5).await?, b"line1");
        assert_eq!(r.buffer(), b"line2");
        assert_eq!(r.read(30).await?, b"line2");
        assert_eq!(r.buffer(), b"");

        let t = spawn_read(&r, |r| async move { r.read(30).await });
        tick().await?;
        assert!(!t.done());
        r.feed_data(b"abc");
        r.feed_data(b"def");
        assert_eq!(t.await?, b"abcdef");

        let t = spawn_read(&r, |r| async move { r.read(1024).await });
        tick().await?;
        r.feed_eof();
        assert_eq!(t.await?, b"");
        assert_eq!(r.read(5).await?, b"");

        let small = StreamReader::with_limit(3);
        small.feed_data(b"chunk");
        assert_eq!(small.read(5).await?, b"chunk");

        let fresh = StreamReader::new();
        assert_eq!(fresh.read(0).await?, b"");
        Ok(())
    });
}

/// N03: read(-1) = read_to_end reads to EOF.
#[test]
fn n03_read_to_end() {
    let rt = current_thread();
    block(&rt, async {
        let r = Arc::new(StreamReader::new());
        let t = spawn_read(&r, |r| async move { r.read_to_end().await });
        r.feed_data(b"chunk1\n");
        r.feed_data(b"chunk2");
        tick().await?;
        assert!(!t.done());
        r.feed_eof();
        assert_eq!(t.await?, b"chunk1\nchunk2");
        assert_eq!(r.buffer(), b"");
        assert!(r.at_eof());

        let r = StreamReader::with_limit(4);
        r.feed_data(b"0123456789");
        r.feed_eof();
        assert_eq!(r.read_to_end().await?, b"0123456789");
        Ok(())
    });
}

/// N04: readline.
#[test]
fn n04_readline() {
    let rt = current_thread();
    block(&rt, async {
        let r = Arc::new(StreamReader::new());
        r.feed_data(b"chunk1 ");
        let t = spawn_read(&r, |r| async move { r.readline().await });
        tick().await?;
        r.feed_data(b"chunk2 ");
        r.feed_data(b"chunk3 ");
        r.feed_data(b"\n chunk4");
        assert_eq!(t.await?, b"chunk1 chunk2 chunk3 \n");
        assert_eq!(r.buffer(), b" chunk4");

        let r = StreamReader::new();
        r.feed_data(b"line1\nline2\nline3\n");
        assert_eq!(r.readline().await?, b"line1\n");
        assert_eq!(r.buffer(), b"line2\nline3\n");
        assert_eq!(r.read(7).await?, b"line2\nl");
        assert_eq!(r.buffer(), b"ine3\n");

        let r = StreamReader::new();
        r.feed_data(b"some data");
        r.feed_eof();
        assert_eq!(r.readline().await?, b"some data");
        assert_eq!(r.readline().await?, b"");
        let r = StreamReader::new();
        r.feed_eof();
        assert_eq!(r.readline().await?, b"");
        Ok(())
    });
}

const FOUND: &str = "Separator is found, but chunk is longer than limit";
const NOT_FOUND: &str = "Separator is not found, and chunk exceed the limit";

fn assert_line_too_long(e: &ravel::Error, message: &str) {
    assert_eq!(io_kind(e), io::ErrorKind::InvalidData, "{e}");
    assert_eq!(e.io_error().unwrap().to_string(), message);
}

/// One N05 row: limit, chunks fed, EOF fed, message, buffer after.
type Row = (usize, &'static [&'static [u8]], bool, &'static str, &'static [u8]);

/// N05: readline over the limit: the error (asyncio `ValueError`, here an
/// `InvalidData` I/O error) and what is left in the buffer.
#[test]
fn n05_readline_over_limit_leaves_buffer() {
    let rt = current_thread();
    block(&rt, async {
        let rows: &[Row] = &[
            (3, &[b"li", b"ne1\nline2\n"], false, FOUND, b"line2\n"),
            (3, &[b"li", b"ne1", b"li"], false, NOT_FOUND, b""),
            (7, &[b"chunk1", b"chunk2", b"chunk3\n"], true, FOUND, b""),
            (7, &[b"chunk1", b"chunk2\n", b"chunk3\n"], true, FOUND, b"chunk3\n"),
            (7, &[b"12345678\n"], false, FOUND, b""),
            (7, &[b"12345678"], false, NOT_FOUND, b""),
        ];
        for (limit, chunks, eof, message, left) in rows {
            let r = StreamReader::with_limit(*limit);
            for c in *chunks {
                r.feed_data(c);
            }
            if *eof {
                r.feed_eof();
            }
            let e = r.readline().await.unwrap_err();
            assert_line_too_long(&e, message);
            assert_eq!(r.buffer(), *left, "limit {limit} chunks {chunks:?}");
        }
        let r = StreamReader::with_limit(7);
        r.feed_data(b"1234567\n");
        assert_eq!(r.readline().await?, b"1234567\n");

        // Fed while waiting.
        let r = Arc::new(StreamReader::with_limit(3));
        let t = spawn_read(&r, |r| async move { r.readline().await });
        tick().await?;
        r.feed_data(b"abc");
        tick().await?;
        assert!(!t.done());
        r.feed_data(b"\n");
        assert_eq!(t.await?, b"abc\n");

        let t = spawn_read(&r, |r| async move { r.readline().await });
        tick().await?;
        r.feed_data(b"abcd");
        let e = t.await.unwrap_err();
        assert_line_too_long(&e, NOT_FOUND);
        assert_eq!(r.buffer(), b"");
        Ok(())
    });
}

/// N06: readuntil, including 3.13's several separators.
#[test]
fn n06_readuntil() {
    let rt = current_thread();
    block(&rt, async {
        let r = Arc::new(StreamReader::new());
        let e = r.readuntil(b"").await.unwrap_err();
        assert_eq!(io_kind(&e), io::ErrorKind::InvalidInput);
        assert_eq!(e.io_error().unwrap().to_string(), "Separator should be at least one-byte string");
        let e = r.readuntil_any(&[b""]).await.unwrap_err();
        assert_eq!(e.io_error().unwrap().to_string(), "Separator should be at least one-byte string");
        let e = r.readuntil_any(&[]).await.unwrap_err();
        assert_eq!(e.io_error().unwrap().to_string(), "Separator should contain at least one element");

        r.feed_data(b"lineAAAxxx");
        assert_eq!(r.readuntil(b"AAA").await?, b"lineAAA");
        assert_eq!(r.buffer(), b"xxx");
        let r = Arc::new(StreamReader::new());
        r.feed_data(b"QWEaa");
        r.feed_data(b"XYa");
        r.feed_data(b"aa");
        assert_eq!(r.readuntil(b"aaa").await?, b"QWEaaXYaaa");

        // Byte by byte.
        let r = Arc::new(StreamReader::new());
        r.feed_data(b"XXX");
        let t = spawn_read(&r, |r| async move { r.readuntil(b"aaa").await });
        for _ in 0..2 {
            r.feed_data(b"a");
            tick().await?;
            assert!(!t.done());
        }
        r.feed_data(b"a");
        assert_eq!(t.await?, b"XXXaaa");

        // EOF without the separator.
        let r = StreamReader::new();
        r.feed_data(b"some dataAA");
        r.feed_eof();
        let e = r.readuntil(b"AAA").await.unwrap_err();
        let inc = incomplete(&e);
        assert_eq!((inc.partial.as_slice(), inc.expected), (&b"some dataAA"[..], None));
        assert_eq!(e.to_string(), "11 bytes read on a total of undefined expected bytes");
        assert_eq!(r.buffer(), b"");
        let e = r.readuntil(b"AAA").await.unwrap_err();
        assert_eq!(incomplete(&e).partial, b"");
        assert_eq!(e.to_string(), "0 bytes read on a total of undefined expected bytes");

        // The separator is found even though EOF is set.
        let r = StreamReader::new();
        r.feed_data(b"abc\nrest");
        r.feed_eof();
        assert_eq!((r.readuntil(b"\n").await?, r.read_to_end().await?), (b"abc\n".to_vec(), b"rest".to_vec()));
        let r = StreamReader::new();
        r.feed_data(b"x\r\ny");
        assert_eq!(r.readuntil(b"\r\n").await?, b"x\r\n");

        assert_eq!(
            IncompleteReadError { partial: b"abc".to_vec(), expected: Some(10) }.to_string(),
            "3 bytes read on a total of 10 expected bytes"
        );

        // Several separators: the earliest end wins, the shorter on a tie.
        let r = StreamReader::new();
        r.feed_data(b"ab\r\ncd\n");
        assert_eq!(r.readuntil_any(&[b"\r\n", b"\n"]).await?, b"ab\r\n");
        assert_eq!(r.readuntil_any(&[b"d\n", b"\n"]).await?, b"cd\n");
        let r = StreamReader::new();
        r.feed_data(b"xxAAByy");
        assert_eq!(r.readuntil_any(&[b"AAB", b"B"]).await?, b"xxAAB");
        Ok(())
    });
}

/// N07: LimitOverrunError leaves the buffer intact; `consumed`.
#[test]
fn n07_limit_overrun_leaves_buffer_intact() {
    let rt = current_thread();
    block(&rt, async {
        let rows: &[(&[u8], &[u8], &str, usize)] = &[
            (b"some dataAA", b"AAA", NOT_FOUND, 9),
            (b"some dataAAA", b"AAA", FOUND, 9),
            (b"abcd", b"\n", NOT_FOUND, 4),
        ];
        for (data, sep, message, consumed) in rows {
            let r = StreamReader::with_limit(3);
            r.feed_data(data);
            let e = r.readuntil(sep).await.unwrap_err();
            let o = overrun(&e);
            assert_eq!((o.message, o.consumed), (*message, *consumed));
            assert_eq!(e.to_string(), *message);
            assert_eq!(r.buffer(), *data);
        }
        let r = StreamReader::with_limit(3);
        r.feed_data(b"abc\n");
        assert_eq!(r.readuntil(b"\n").await?, b"abc\n");
        Ok(())
    });
}

/// N09: readexactly. (`readexactly(-1)`'s ValueError cannot happen: `n`
/// is a `usize`.)
#[test]
fn n09_readexactly() {
    let rt = current_thread();
    block(&rt, async {
        let r = Arc::new(StreamReader::new());
        r.feed_data(DATA);
        assert_eq!(r.readexactly(0).await?, b"");
        assert_eq!(r.buffer(), DATA);

        let r = Arc::new(StreamReader::new());
        let t = spawn_read(&r, |r| async move { r.readexactly(36).await });
        tick().await?;
        for _ in 0..3 {
            r.feed_data(DATA);
        }
        assert_eq!(t.await?, [DATA, DATA].concat());
        assert_eq!(r.buffer(), DATA);

        let small = StreamReader::with_limit(3);
        small.feed_data(b"chunk");
        assert_eq!(small.readexactly(5).await?, b"chunk");

        let r = Arc::new(StreamReader::new());
        let t = spawn_read(&r, |r| async move { r.readexactly(36).await });
        tick().await?;
        r.feed_data(DATA);
        r.feed_eof();
        let e = t.await.unwrap_err();
        let inc = incomplete(&e);
        assert_eq!((inc.partial.as_slice(), inc.expected), (DATA, Some(36)));
        assert_eq!(e.to_string(), "18 bytes read on a total of 36 expected bytes");
        assert_eq!(r.buffer(), b"");
        assert!(r.at_eof());

        let r = StreamReader::new();
        r.feed_data(b"abcdef");
        r.feed_eof();
        assert_eq!(r.readexactly(4).await?, b"abcd");
        assert_eq!(r.buffer(), b"ef");
        assert!(!r.at_eof());
        assert_eq!(r.readexactly(2).await?, b"ef");
        assert!(r.at_eof());
        let e = r.readexactly(1).await.unwrap_err();
        let inc = incomplete(&e);
        assert_eq!((inc.partial.as_slice(), inc.expected), (&b""[..], Some(1)));
        Ok(())
    });
}

/// N10: at_eof, feed after EOF, line iteration.
#[test]
fn n10_at_eof_feed_after_eof_iteration() {
    let rt = current_thread();
    block(&rt, async {
        let r = StreamReader::new();
        assert!(!r.at_eof());
        r.feed_data(b"some data\n");
        assert!(!r.at_eof());
        r.readline().await?;
        assert!(!r.at_eof());
        r.feed_data(b"some data\n");
        r.feed_eof();
        assert!(!r.at_eof());
        r.readline().await?;
        assert!(r.at_eof());

        let fed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| r.feed_data(b"x")));
        let payload = fed.unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"feed_data after feed_eof"));

        let r = StreamReader::new();
        r.feed_data(b"a\nb\n\nc");
        r.feed_eof();
        let mut lines = Vec::new();
        loop {
            let line = r.readline().await?;
            if line.is_empty() {
                break;
            }
            lines.push(line);
        }
        assert_eq!(lines, [&b"a\n"[..], b"b\n", b"\n", b"c"]);
        Ok(())
    });
}

#[derive(Debug)]
struct Bad;
impl std::fmt::Display for Bad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("bad")
    }
}
impl std::error::Error for Bad {}

/// N11: set_exception: every read returns it; the buffer keeps its bytes;
/// a waiting read gets it.
#[test]
fn n11_set_exception() {
    let rt = current_thread();
    block(&rt, async {
        let r = Arc::new(StreamReader::new());
        r.feed_data(b"line\n");
        assert_eq!(r.read(2).await?, b"li");
        r.set_exception(ravel::Error::new(Bad));
        assert!(r.exception().unwrap().downcast_ref::<Bad>().is_some());
        let results = [
            r.read(2).await.unwrap_err(),
            r.read(0).await.unwrap_err(),
            r.readline().await.unwrap_err(),
            r.readexactly(1).await.unwrap_err(),
            r.readuntil(b"\n").await.unwrap_err(),
            r.read_to_end().await.unwrap_err(),
        ];
        for e in &results {
            assert!(e.downcast_ref::<Bad>().is_some(), "{e}");
        }
        assert_eq!(r.buffer(), b"ne\n");

        let r = Arc::new(StreamReader::new());
        let t = spawn_read(&r, |r| async move { r.readline().await });
        tick().await?;
        r.set_exception(io::Error::new(io::ErrorKind::ConnectionReset, "gone").into());
        let e = t.await.unwrap_err();
        assert_eq!(io_kind(&e), io::ErrorKind::ConnectionReset);
        assert_eq!(e.io_error().unwrap().to_string(), "gone");
        Ok(())
    });
}

/// N14: timeout() / wait_for around reads: the buffer is untouched, no
/// waiter is left, the counter is restored.
#[test]
fn n14_timeout_around_reads() {
    let rt = current_thread();
    block(&rt, async {
        let r = Arc::new(StreamReader::new());
        r.feed_data(b"12");
        let e = ravel::timeout(Duration::from_millis(10), r.readexactly(4)).await.unwrap_err();
        assert!(e.is_timeout(), "{e}");
        assert_eq!(r.buffer(), b"12");
        assert_eq!(format!("{r:?}"), "<StreamReader 2 bytes>"); // no waiter
        assert_eq!(ravel::current_task().unwrap().cancelling(), 0);
        let e = ravel::wait_for(r.readline(), Duration::from_millis(10)).await.unwrap_err();
        assert!(e.is_timeout(), "{e}");
        assert_eq!(r.buffer(), b"12");
        r.feed_data(b"34\n");
        assert_eq!(r.readexactly(4).await?, b"1234");
        assert_eq!(r.buffer(), b"\n");
        Ok(())
    });
}

/// A second read that must wait while another waits is an error naming
/// the inner method (readline → readuntil), as asyncio's RuntimeError.
#[test]
fn second_concurrent_reader_is_an_error() {
    let rt = current_thread();
    block(&rt, async {
        let r = Arc::new(StreamReader::new());
        let t = spawn_read(&r, |r| async move { r.read(10).await });
        tick().await?;
        let e = r.readline().await.unwrap_err();
        assert!(e.is_invalid_state(), "{e}");
        assert_eq!(e.to_string(), "readuntil() called while another coroutine is already waiting for incoming data");
        r.feed_data(b"ok");
        assert_eq!(t.await?, b"ok");
        Ok(())
    });
}
