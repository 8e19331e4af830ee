//! Writing to a stream socket whose peer has gone is an error, never a
//! `SIGPIPE`, even in a process that has not ignored the signal (Rust's
//! own binaries ignore it at start-up; a Rust library inside a C program,
//! or a program that restored the default, does not). Ravel's socket
//! writes pass `MSG_NOSIGNAL`, as std's `TcpStream::write` does; its
//! vectored write is a `sendmsg` for the same reason (`writev` would raise
//! the signal).
//!
//! One test in its own binary: it restores `SIGPIPE`'s default action for
//! the whole process, which would kill any test that wrote to a closed
//! socket through a path without the flag, and then this binary.

mod common;
use common::{multi, pair};
use ravel_io::net::UnixStream;
use std::io::{ErrorKind, IoSlice};

fn restore_default_sigpipe() {
    // SAFETY: setting a signal's disposition to SIG_DFL has no
    // preconditions; nothing in this process relies on SIGPIPE being
    // ignored except the behaviour under test.
    let previous = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(previous, libc::SIG_ERR);
}

fn is_gone(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::BrokenPipe | ErrorKind::ConnectionReset)
}

#[test]
fn writes_to_a_gone_peer_fail_with_an_error_instead_of_raising_sigpipe() {
    restore_default_sigpipe();
    multi(async {
        // TCP: the first write after the peer closed may still be accepted
        // (it draws the reset); a later one must fail, plain or vectored.
        let (a, b) = pair().await?;
        drop(b);
        let mut failures = Vec::new();
        for round in 0..50 {
            let result = if round % 2 == 0 {
                a.write(b"into the void").await
            } else {
                a.write_vectored(&[IoSlice::new(b"into "), IoSlice::new(b"the void")]).await
            };
            if let Err(e) = result {
                failures.push(e.io_error().map(|io| io.kind()).expect("an I/O error"));
                if failures.len() == 2 {
                    break;
                }
            }
            ravel::sleep(std::time::Duration::from_millis(1)).await?;
        }
        assert_eq!(failures.len(), 2, "two writes failed: {failures:?}");
        assert!(failures.iter().all(|k| is_gone(*k)), "{failures:?}");

        // Unix stream: a write after the peer closed fails at once.
        let (c, d) = UnixStream::pair()?;
        drop(d);
        let plain = c.write(b"x").await.expect_err("the peer is gone");
        assert_eq!(plain.io_error().map(|e| e.kind()), Some(ErrorKind::BrokenPipe));
        let vectored = c.write_vectored(&[IoSlice::new(b"x"), IoSlice::new(b"y")]).await.expect_err("the peer is gone");
        assert_eq!(vectored.io_error().map(|e| e.kind()), Some(ErrorKind::BrokenPipe));
        Ok(())
    });
}
