//! 1,000 concurrent connections to one `start_server` echo server on two
//! workers: every reply is verified, and the server then closes with no
//! connection left.

mod common;

use ravel_io::streams::open_connection;
use ravel_io::{start_server_with, ServerConfig};
use std::time::Duration;

#[test]
fn thousand_concurrent_echo_connections() {
    // 1,000 clients + 1,000 server sides + a few: raise the soft fd limit
    // if it is below that (the hard limit allows it on CI machines).
    raise_nofile(4096);
    let rt = common::multi_thread();
    common::block(&rt, async {
        let config = ServerConfig { backlog: 1024, ..Default::default() };
        let server = start_server_with(
            |reader, writer| async move {
                loop {
                    let line = reader.readline().await?;
                    if line.is_empty() {
                        return Ok(());
                    }
                    writer.write(&line)?;
                    writer.drain().await?;
                }
            },
            "127.0.0.1:0",
            config,
        )
        .await?;
        let addr = server.sockets()[0].as_inet().unwrap();
        let clients: Vec<_> = (0..1000)
            .map(|i| {
                ravel::spawn(async move {
                    let (reader, writer) = open_connection(&addr).await?;
                    for round in 0..3 {
                        let msg = format!("client {i} round {round} {}\n", "x".repeat(i % 97));
                        writer.write(msg.as_bytes())?;
                        let reply = reader.readline().await?;
                        assert_eq!(reply, msg.as_bytes());
                    }
                    writer.close();
                    writer.wait_closed().await?;
                    Ok(i)
                })
            })
            .collect();
        let mut done = Vec::new();
        for c in clients {
            done.push(ravel::timeout(Duration::from_secs(15), c).await?);
        }
        assert_eq!(done, (0..1000).collect::<Vec<_>>());
        server.close();
        ravel::timeout(Duration::from_secs(10), server.wait_closed()).await
    });
}

fn raise_nofile(want: u64) {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit write/read one rlimit we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < want {
            lim.rlim_cur = want.min(lim.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}
