//! `StreamWriter` is shared by tasks on two workers: each `write` is
//! queued whole and in one place (no message is split or lost), and a
//! `close` racing the flusher still sends everything written before it.

mod common;

use ravel_io::net::TcpListener;
use ravel_io::streams::{from_tcp, open_connection};
use std::collections::HashMap;
use std::sync::Arc;

#[test]
fn concurrent_writers_and_close_lose_nothing() {
    let rt = common::multi_thread();
    common::block(&rt, async {
        for round in 0..20 {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let (_reader, writer) = open_connection(&listener.local_addr()?).await?;
            let (peer, _) = listener.accept().await?;
            let (peer_reader, _peer_writer) = from_tcp(peer, 1 << 20);
            let writer = Arc::new(writer);
            let tasks: Vec<_> = (0..2)
                .map(|t| {
                    let w = writer.clone();
                    ravel::spawn(async move {
                        for i in 0..2000 {
                            // Some messages are big, so the queue and the flusher are in play.
                            let pad = if i % 100 == 0 { 50_000 } else { i % 13 };
                            w.write(format!("{t}:{i}:{}\n", "p".repeat(pad)).as_bytes())?;
                            if i % 50 == 0 {
                                ravel::yield_now().await?;
                            }
                        }
                        Ok(())
                    })
                })
                .collect();
            let reading = ravel::spawn(async move { peer_reader.read_to_end().await });
            for t in tasks {
                t.await?;
            }
            writer.close(); // may race the flusher on the other worker
            writer.wait_closed().await?;
            let got = reading.await?;
            let mut next: HashMap<&str, usize> = HashMap::new();
            for line in got.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                let line = std::str::from_utf8(line).unwrap();
                let mut parts = line.splitn(3, ':');
                let (t, i) = (parts.next().unwrap(), parts.next().unwrap().parse::<usize>().unwrap());
                let want = next.entry(t).or_insert(0);
                assert_eq!(i, *want, "round {round}: writer {t} out of order");
                let pad = if i % 100 == 0 { 50_000 } else { i % 13 };
                assert_eq!(parts.next().unwrap().len(), pad);
                *want += 1;
            }
            assert_eq!(next.get("0"), Some(&2000));
            assert_eq!(next.get("1"), Some(&2000));
        }
        Ok(())
    });
}
