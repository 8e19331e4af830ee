//! 1,000 concurrent connections on one listener, each echoing its own
//! bytes, on two workers.

mod common;
use common::multi;
use ravel_io::net::{TcpListener, TcpStream};

const CONNECTIONS: usize = 1000;

/// 2,000 fds are needed at once; raise the soft limit if it is lower.
fn enough_fds() {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit write and read a live local struct.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        if lim.rlim_cur < 4096 {
            lim.rlim_cur = lim.rlim_max.min(8192);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

#[test]
fn a_thousand_concurrent_echo_connections() {
    enough_fds();
    multi(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = ravel::spawn(ravel::TaskGroup::run(move |group| async move {
            for _ in 0..CONNECTIONS {
                let (conn, _) = listener.accept().await?;
                group.spawn(async move {
                    let mut buf = [0u8; 64];
                    loop {
                        let n = conn.read(&mut buf).await?;
                        if n == 0 {
                            return Ok(());
                        }
                        conn.write_all(&buf[..n]).await?;
                    }
                })?;
            }
            Ok(())
        }));
        let mut clients = Vec::with_capacity(CONNECTIONS);
        for i in 0..CONNECTIONS {
            clients.push(ravel::spawn(async move {
                let conn = TcpStream::connect(&addr).await?;
                // All connections are open before anyone finishes: each
                // sends, then waits for its echo.
                let msg = format!("connection {i:04}");
                conn.write_all(msg.as_bytes()).await?;
                let mut back = vec![0u8; msg.len()];
                conn.read_exact(&mut back).await?;
                assert_eq!(back, msg.as_bytes());
                Ok(conn)
            }));
        }
        let mut open = Vec::with_capacity(CONNECTIONS);
        for c in clients {
            open.push(c.await?);
        }
        assert_eq!(open.len(), CONNECTIONS);
        drop(open); // every handler reads end of stream and returns
        server.await
    });
}
