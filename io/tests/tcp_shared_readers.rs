//! Several tasks waiting on one direction of one socket, and sockets
//! opened and closed while events are in flight: no hang, no lost wake-up,
//! no use of a freed registration.

mod common;
use common::{multi, pair};
use ravel_io::net::{TcpListener, TcpStream};
use std::sync::Arc;

#[test]
fn two_readers_of_one_socket_both_get_bytes() {
    multi(async {
        for _ in 0..200 {
            let (a, b) = pair().await?;
            let b = Arc::new(b);
            let readers: Vec<_> = (0..2)
                .map(|_| {
                    let b = b.clone();
                    ravel::spawn(async move {
                        let mut one = [0u8; 1];
                        b.read_exact(&mut one).await?;
                        Ok(one[0])
                    })
                })
                .collect();
            ravel::yield_now().await?;
            a.write_all(b"x").await?;
            ravel::yield_now().await?;
            a.write_all(b"y").await?;
            let mut got = Vec::new();
            for r in readers {
                got.push(r.await?);
            }
            got.sort();
            assert_eq!(got, b"xy");
        }
        Ok(())
    });
}

#[test]
fn connections_churn_while_data_flows() {
    multi(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = ravel::spawn(async move {
            for _ in 0..400 {
                let (conn, _) = listener.accept().await?;
                ravel::spawn(async move {
                    let mut buf = [0u8; 16];
                    // Echo until the client goes; errors (resets) are fine.
                    while let Ok(n) = conn.read(&mut buf).await {
                        if n == 0 || conn.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    Ok(())
                });
            }
            Ok(())
        });
        let clients: Vec<_> = (0..4)
            .map(|_| {
                ravel::spawn(async move {
                    for i in 0..100u32 {
                        let conn = TcpStream::connect(&addr).await?;
                        conn.write_all(&i.to_le_bytes()).await?;
                        if i % 3 == 0 {
                            // Close with the echo in flight: the registration
                            // goes while the reactor may hold its event.
                            continue;
                        }
                        let mut back = [0u8; 4];
                        conn.read_exact(&mut back).await?;
                        assert_eq!(u32::from_le_bytes(back), i);
                    }
                    Ok(())
                })
            })
            .collect();
        for c in clients {
            c.await?;
        }
        server.await
    });
}
