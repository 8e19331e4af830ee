//! TCP owned halves used from two workers at once: a reader task and a
//! writer task on the halves of one stream, through an echo peer, with no
//! lost wake-up (every wait is bounded by a timeout, so a lost wake-up
//! fails instead of hanging).

use ravel_io::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

const ROUND_TRIPS: u32 = 10_000;

fn multi_thread() -> ravel::Runtime {
    ravel::Builder::new_multi_thread().worker_threads(2).build().unwrap()
}

/// Accepts one connection and echoes it until end of stream.
async fn echo_peer(listener: TcpListener) -> ravel::Result<u64> {
    let (conn, _) = listener.accept().await?;
    conn.set_nodelay(true)?;
    let mut buf = [0u8; 4096];
    let mut echoed = 0;
    loop {
        match conn.read(&mut buf).await? {
            0 => return Ok(echoed),
            n => {
                conn.write_all(&buf[..n]).await?;
                echoed += n as u64;
            }
        }
    }
}

/// Each message waits for its echo before the next is written: every round
/// trip suspends the reader on readability and the writer on the reader's
/// acknowledgement, and the two tasks run on whichever workers pick them.
#[test]
fn ten_thousand_round_trips_through_split_halves_on_two_workers() {
    let rt = multi_thread();
    let echoed = rt
        .block_on(ravel::timeout(Duration::from_secs(60), async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let peer = ravel::spawn(echo_peer(listener));
            let stream = TcpStream::connect(&addr).await?;
            stream.set_nodelay(true)?;
            let (read, write) = stream.into_split();
            let acks = Arc::new(ravel::sync::Queue::<u32>::new(1));
            let writer = ravel::spawn({
                let acks = acks.clone();
                async move {
                    for i in 0..ROUND_TRIPS {
                        write.write_all(&i.to_be_bytes()).await?;
                        assert_eq!(acks.get().await?, i);
                    }
                    Ok(write) // dropping it here would half-close before the last echo
                }
            });
            let reader = ravel::spawn(async move {
                for i in 0..ROUND_TRIPS {
                    let mut buf = [0u8; 4];
                    read.read_exact(&mut buf).await?;
                    assert_eq!(u32::from_be_bytes(buf), i);
                    acks.put(i).await?;
                }
                Ok(read)
            });
            let write = writer.await?;
            let read = reader.await?;
            drop(write); // half-close: the echo peer sees end of stream
            let mut rest = [0u8; 1];
            assert_eq!(read.read(&mut rest).await?, 0, "nothing after the last echo");
            peer.await
        }))
        .unwrap();
    assert_eq!(echoed, u64::from(ROUND_TRIPS) * 4);
}

/// The writer runs ahead while the reader drains: both halves are busy at
/// the same time, each parked on its own direction of one socket.
#[test]
fn pipelined_writes_and_reads_on_split_halves_lose_and_reorder_nothing() {
    let rt = multi_thread();
    for _ in 0..3 {
        rt.block_on(ravel::timeout(Duration::from_secs(60), async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let peer = ravel::spawn(echo_peer(listener));
            let (read, write) = TcpStream::connect(&addr).await?.into_split();
            let writer = ravel::spawn(async move {
                for i in 0..ROUND_TRIPS {
                    write.write_all(&i.to_be_bytes()).await?;
                }
                Ok(()) // drops the write half: a half-close after the last byte
            });
            let reader = ravel::spawn(async move {
                for i in 0..ROUND_TRIPS {
                    let mut buf = [0u8; 4];
                    read.read_exact(&mut buf).await?;
                    assert_eq!(u32::from_be_bytes(buf), i);
                }
                let mut rest = [0u8; 1];
                assert_eq!(read.read(&mut rest).await?, 0);
                Ok(())
            });
            writer.await?;
            reader.await?;
            assert_eq!(peer.await?, u64::from(ROUND_TRIPS) * 4);
            Ok(())
        }))
        .unwrap();
    }
}
