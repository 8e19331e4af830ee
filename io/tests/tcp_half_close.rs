//! shutdown(Write) is a half-close: the peer reads end of stream and can
//! still answer, and this side reads the answer.

mod common;
use common::{multi, pair};
use std::net::Shutdown;

#[test]
fn half_close_then_read_the_reply() {
    multi(async {
        let (client, server) = pair().await?;
        let server = ravel::spawn(async move {
            let mut request = Vec::new();
            let mut buf = [0u8; 64];
            loop {
                let n = server.read(&mut buf).await?;
                if n == 0 {
                    break; // the client's half-close
                }
                request.extend_from_slice(&buf[..n]);
            }
            let reply = format!("got {}", String::from_utf8_lossy(&request));
            server.write_all(reply.as_bytes()).await?;
            Ok(())
        });
        client.write_all(b"req").await?;
        client.shutdown(Shutdown::Write)?;
        let mut reply = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            let n = client.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            reply.extend_from_slice(&buf[..n]);
        }
        assert_eq!(reply, b"got req");
        server.await
    });
}

#[test]
fn dropping_the_write_half_half_closes_and_reunite_keeps_the_stream() {
    multi(async {
        let (client, server) = pair().await?;
        let (read, write) = client.into_split();
        write.write_all(b"x").await?;
        drop(write); // shutdown(Write)
        let mut buf = [0u8; 4];
        assert_eq!(server.read(&mut buf).await?, 1);
        assert_eq!(server.read(&mut buf).await?, 0, "the dropped write half ended the stream");
        server.write_all(b"ok").await?;
        read.read_exact(&mut buf[..2]).await?;
        assert_eq!(&buf[..2], b"ok");

        let (c2, s2) = pair().await?;
        let (r2, w2) = c2.into_split();
        let (r3, w3) = s2.into_split();
        // Halves of two streams are refused, and given back.
        let err = r2.reunite(w3).unwrap_err();
        let (r2, w3) = (err.0, err.1);
        let c2 = r2.reunite(w2).expect("halves of one stream reunite");
        // Reuniting did not shut the stream down.
        c2.write_all(b"still").await?;
        let mut five = [0u8; 5];
        r3.read_exact(&mut five).await?;
        assert_eq!(&five, b"still");
        drop((w3, read));
        Ok(())
    });
}
