//! Streams and servers over Unix domain sockets (asyncio
//! `start_unix_server` / `open_unix_connection`), in a temp directory.

mod common;

use ravel_io::start_unix_server;
use ravel_io::streams::open_unix_connection;
use std::path::PathBuf;
use std::time::Duration;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ravel-io-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn unix_server_echo_half_close_and_cleanup() {
    let dir = temp_dir("unix");
    let path = dir.join("s.sock");
    let rt = common::multi_thread();
    let p = path.clone();
    common::block(&rt, async move {
        let server = start_unix_server(
            |reader, writer| async move {
                let request = reader.read_to_end().await?; // until the client's write_eof
                writer.write(&[b"got ".as_slice(), &request].concat())?;
                writer.close();
                writer.wait_closed().await
            },
            &p,
        )
        .await?;
        let addr = server.sockets()[0].clone();
        assert_eq!(addr.as_unix().and_then(|a| a.as_pathname().map(|p| p.to_path_buf())), Some(p.clone()));
        for i in 0..50 {
            let (reader, writer) = open_unix_connection(&p).await?;
            assert!(writer.peer_addr()?.as_unix().is_some());
            let msg = format!("request {i}");
            writer.write(msg.as_bytes())?;
            writer.write_eof();
            assert!(!writer.is_closing());
            let reply = ravel::timeout(Duration::from_secs(5), reader.read_to_end()).await?;
            assert_eq!(reply, format!("got {msg}").as_bytes());
            assert!(reader.at_eof());
        }
        server.close();
        ravel::timeout(Duration::from_secs(5), server.wait_closed()).await?;
        assert!(!p.exists(), "the socket path was not removed");
        assert!(open_unix_connection(&p).await.is_err());
        Ok(())
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A Unix connect to a listener whose backlog is full does not block the
/// worker: on a single-threaded runtime, clients wait (cancellably) while
/// the server, not yet accepting, starts serving a little later; then all
/// are served. (Run on a thread with a deadline, so a blocking connect
/// fails the test instead of hanging it.)
#[test]
fn unix_connect_with_full_backlog_does_not_block_the_worker() {
    let dir = temp_dir("backlog");
    let path = dir.join("b.sock");
    let p = path.clone();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = common::current_thread();
        let result = rt.block_on(async move {
            let config = ravel_io::ServerConfig { backlog: 1, start_serving: false, ..Default::default() };
            let server = ravel_io::start_unix_server_with(
                |reader, writer| async move {
                    let data = reader.read(100).await?;
                    writer.write(&data)?;
                    writer.close();
                    writer.wait_closed().await
                },
                &p,
                config,
            )
            .await?;
            let clients: Vec<_> = (0..6u8)
                .map(|i| {
                    let p = p.clone();
                    ravel::spawn(async move {
                        let (reader, writer) = open_unix_connection(&p).await?;
                        writer.write(&[i])?;
                        reader.read_to_end().await
                    })
                })
                .collect();
            ravel::sleep(Duration::from_millis(100)).await?;
            server.start_serving()?;
            let mut replies = Vec::new();
            for c in clients {
                replies.push(ravel::timeout(Duration::from_secs(5), c).await?);
            }
            server.close();
            Ok::<_, ravel::Error>(replies)
        });
        let _ = done_tx.send(result.map_err(|e| e.to_string()));
    });
    let replies = done_rx.recv_timeout(Duration::from_secs(15)).expect("a Unix connect blocked the worker").unwrap();
    assert_eq!(replies, (0..6u8).map(|i| vec![i]).collect::<Vec<_>>());
    std::fs::remove_dir_all(&dir).unwrap();
}
