//! A peer that resets the connection mid-request gives the reader an error
//! (not a panic, not a hang), and the writer a broken pipe or reset.

mod common;
use common::{multi, pair};
use std::io::ErrorKind;
use std::time::Duration;

#[test]
fn a_reset_mid_request_is_an_error_for_the_reader() {
    multi(async {
        let (client, server) = pair().await?;
        let handler = ravel::spawn(async move {
            let mut buf = [0u8; 64];
            let mut got = Vec::new();
            loop {
                match server.read(&mut buf).await {
                    Ok(0) => return Ok((got, None)),
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) => return Ok((got, e.io_error().map(|e| e.kind()))),
                }
            }
        });
        client.write_all(b"GET / HT").await?;
        // SO_LINGER 0: closing sends RST instead of FIN.
        client.set_linger(Some(Duration::ZERO))?;
        drop(client);
        let (got, err) = handler.await?;
        // The reader saw a prefix of the request (the kernel drops unread
        // bytes when the reset arrives first) and then the reset.
        assert!(b"GET / HT".starts_with(&got), "{got:?}");
        assert_eq!(err, Some(ErrorKind::ConnectionReset));
        Ok(())
    });
}

#[test]
fn writing_to_a_reset_connection_fails_without_a_panic() {
    multi(async {
        let (client, server) = pair().await?;
        client.set_linger(Some(Duration::ZERO))?;
        drop(client);
        // Wait until the reset has arrived (a read sees it).
        let mut buf = [0u8; 1];
        let first = server.read(&mut buf).await;
        assert_eq!(first.unwrap_err().io_error().unwrap().kind(), ErrorKind::ConnectionReset);
        let err = loop {
            match server.write(b"reply").await {
                Ok(_) => continue, // the kernel may accept one write before reporting
                Err(e) => break e,
            }
        };
        let kind = err.io_error().unwrap().kind();
        assert!(matches!(kind, ErrorKind::BrokenPipe | ErrorKind::ConnectionReset), "{kind:?}");
        Ok(())
    });
}
