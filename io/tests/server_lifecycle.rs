//! `Server` lifecycle against CPython 3.13's asyncio
//! (asyncio-sync-semantics §2.N: N18, N24–N26, N28): wait_closed waits
//! for the connections, serve_forever, start_serving, close_clients and
//! abort_clients.

mod common;

use common::{block, current_thread, multi_thread, tick};
use ravel::sync::Event;
use ravel_io::streams::open_connection;
use ravel_io::{start_server, start_server_with, Server, ServerConfig, StreamWriter};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn addr_of(server: &Server) -> SocketAddr {
    server.sockets()[0].as_inet().unwrap()
}

/// N18: start_server and open_connection echo (uppercase).
#[test]
fn n18_start_server_open_connection_echo() {
    let rt = multi_thread();
    block(&rt, async {
        let in_task = Arc::new(Mutex::new(None));
        let seen = in_task.clone();
        let server = start_server(
            move |reader, writer| {
                let seen = seen.clone();
                async move {
                    *seen.lock().unwrap() = Some(ravel::current_task().is_some());
                    let line = reader.readline().await?;
                    writer.write(&line.to_ascii_uppercase())?;
                    writer.close();
                    writer.wait_closed().await
                }
            },
            "127.0.0.1:0",
        )
        .await?;
        assert!(server.is_serving());
        assert_eq!(server.sockets().len(), 1);
        let (reader, writer) = open_connection(&addr_of(&server)).await?;
        writer.write(b"hello\n")?;
        assert_eq!(reader.readline().await?, b"HELLO\n");
        assert_eq!(reader.read(100).await?, b"");
        assert!(reader.at_eof());
        assert_eq!(*in_task.lock().unwrap(), Some(true));
        server.close();
        server.wait_closed().await
    });
}

/// A handler that signals `connected`, then reads to EOF and returns.
fn until_eof_handler(
    connected: Event,
) -> impl Fn(
    ravel_io::StreamReader,
    StreamWriter,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ravel::Result<()>> + Send>>
       + Send
       + Sync
       + 'static {
    move |reader, writer| {
        let connected = connected.clone();
        Box::pin(async move {
            connected.set();
            reader.read_to_end().await?;
            drop(writer);
            Ok(())
        })
    }
}

/// N24: close() and wait_closed() wait for the connections.
#[test]
fn n24_close_and_wait_closed_wait_for_connections() {
    let rt = current_thread();
    block(&rt, async {
        let connected = Event::new();
        let server = start_server(until_eof_handler(connected.clone()), "127.0.0.1:0").await?;
        let addr = addr_of(&server);
        let s = server.clone();
        let w1 = ravel::spawn(async move { s.wait_closed().await });
        tick().await?;
        assert!(!w1.done(), "wait_closed returned on an open server");

        let (_reader, writer) = open_connection(&addr).await?;
        connected.wait().await?;
        server.close();
        assert_eq!((server.is_serving(), server.sockets().len()), (false, 0));
        let s = server.clone();
        let w2 = ravel::spawn(async move { s.wait_closed().await });
        tick().await?;
        tick().await?;
        assert!(!w1.done() && !w2.done());
        let refused = open_connection(&addr).await.unwrap_err();
        assert_eq!(refused.io_error().map(|e| e.kind()), Some(std::io::ErrorKind::ConnectionRefused), "{refused}");

        writer.close();
        writer.wait_closed().await?;
        ravel::timeout(Duration::from_secs(5), async {
            w1.await?;
            w2.await
        })
        .await?;
        server.wait_closed().await?;
        server.close();
        Ok(())
    });
}

/// N25: `async with server` = close() + wait_closed(): the exit waits for
/// a client that leaves after 0.2 s.
#[test]
fn n25_close_then_wait_closed_waits_for_open_connection() {
    let rt = multi_thread();
    block(&rt, async {
        let connected = Event::new();
        let server = start_server(until_eof_handler(connected.clone()), "127.0.0.1:0").await?;
        let (_reader, writer) = open_connection(&addr_of(&server)).await?;
        connected.wait().await?;
        let client = ravel::spawn(async move {
            ravel::sleep(Duration::from_millis(200)).await?;
            writer.close();
            writer.wait_closed().await
        });
        let started = Instant::now();
        server.close();
        server.wait_closed().await?;
        assert!(started.elapsed() >= Duration::from_millis(190), "{:?}", started.elapsed());
        assert!(!server.is_serving());
        client.await
    });
}

/// N26: serve_forever() and start_serving().
#[test]
fn n26_serve_forever_and_start_serving() {
    let rt = current_thread();
    block(&rt, async {
        let config = ServerConfig { start_serving: false, ..Default::default() };
        let server = start_server_with(|_r, _w| async { Ok(()) }, "127.0.0.1:0", config.clone()).await?;
        assert!(!server.is_serving());
        let s = server.clone();
        let t = ravel::spawn(async move { s.serve_forever().await });
        tick().await?;
        assert!(server.is_serving());
        let e = server.serve_forever().await.unwrap_err();
        assert!(e.is_invalid_state());
        assert!(e.to_string().contains("is already being awaited on serve_forever()"), "{e}");
        t.cancel_with("stop");
        let e = t.await.unwrap_err();
        assert_eq!((e.is_cancelled(), e.cancel_message()), (true, Some("stop")));
        assert_eq!((server.is_serving(), server.sockets().len()), (false, 0));
        let e = server.serve_forever().await.unwrap_err();
        assert!(e.to_string().ends_with("is closed"), "{e}");

        let server = start_server_with(|_r, _w| async { Ok(()) }, "127.0.0.1:0", config).await?;
        server.start_serving()?;
        assert!(server.is_serving());
        server.start_serving()?;
        assert!(server.is_serving());

        // close() from another task ends serve_forever with a plain
        // cancellation; the task's own counter stays 0.
        let s = server.clone();
        let t = ravel::spawn(async move { s.serve_forever().await });
        let task_ref = t.as_task_ref().clone();
        tick().await?;
        server.close();
        let e = t.await.unwrap_err();
        assert!(e.is_cancelled());
        assert_eq!(task_ref.cancelling(), 0);
        Ok(())
    });
}

/// N28 (3.13): close_clients() closes the connections (the client reads
/// EOF); abort_clients() drops the server's queued bytes.
#[test]
fn n28_close_clients_and_abort_clients() {
    let rt = multi_thread();
    block(&rt, async {
        let connected = Event::new();
        let server = start_server(until_eof_handler(connected.clone()), "127.0.0.1:0").await?;
        let (reader, _writer) = open_connection(&addr_of(&server)).await?;
        connected.wait().await?;
        server.close();
        let s = server.clone();
        let waiting = ravel::spawn(async move { s.wait_closed().await });
        server.close_clients();
        ravel::timeout(Duration::from_secs(5), waiting).await?;
        assert_eq!(reader.read(100).await?, b"");

        // abort: the client does not read; the server's queue is not empty.
        let slot: Arc<Mutex<Option<StreamWriter>>> = Arc::new(Mutex::new(None));
        let ready = Event::new();
        let (s2, r2) = (slot.clone(), ready.clone());
        let server = start_server(
            move |_reader, writer| {
                let (slot, ready) = (s2.clone(), r2.clone());
                async move {
                    let chunk = vec![0u8; 1024 * 1024];
                    while writer.write_buffer_size() == 0 {
                        writer.write(&chunk)?;
                    }
                    *slot.lock().unwrap() = Some(writer);
                    ready.set();
                    Ok(())
                }
            },
            "127.0.0.1:0",
        )
        .await?;
        let (_reader, _writer) = ravel_io::streams::open_connection_with_limit(&addr_of(&server), 4096).await?;
        ready.wait().await?;
        assert!(slot.lock().unwrap().as_ref().unwrap().write_buffer_size() > 0);
        server.close();
        server.abort_clients();
        ravel::timeout(Duration::from_secs(5), server.wait_closed()).await?;
        let guard = slot.lock().unwrap();
        let server_writer = guard.as_ref().unwrap();
        assert_eq!(server_writer.write_buffer_size(), 0);
        assert!(server_writer.is_closing());
        Ok(())
    });
}
