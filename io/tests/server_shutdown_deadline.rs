//! Graceful shutdown with a deadline: stop accepting, let the in-flight
//! handler finish its reply, cut a silent client off at the deadline
//! (`abort_clients`), so no client can hold shutdown forever.

mod common;

use ravel::sync::Event;
use ravel_io::start_server;
use ravel_io::streams::open_connection;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn in_flight_handlers_finish_silent_clients_are_cut_at_the_deadline() {
    let rt = common::multi_thread();
    common::block(&rt, async {
        for _ in 0..5 {
            let connected = Arc::new(AtomicUsize::new(0));
            let all_in = Event::new();
            let (c, a) = (connected.clone(), all_in.clone());
            let server = start_server(
                move |reader, writer| {
                    let (c, a) = (c.clone(), a.clone());
                    async move {
                        if c.fetch_add(1, Ordering::SeqCst) == 1 {
                            a.set();
                        }
                        // A request is one line; the reply takes a while.
                        let line = reader.readline().await?;
                        if line.is_empty() {
                            return Ok(()); // closed (by the client, or aborted)
                        }
                        ravel::sleep(Duration::from_millis(50)).await?;
                        writer.write(&line.to_ascii_uppercase())?;
                        writer.close();
                        writer.wait_closed().await
                    }
                },
                "127.0.0.1:0",
            )
            .await?;
            let addr = server.sockets()[0].as_inet().unwrap();
            let (busy_r, busy_w) = open_connection(&addr).await?;
            let (silent_r, _silent_w) = open_connection(&addr).await?; // never sends
            busy_w.write(b"work\n")?;
            all_in.wait().await?;

            let started = Instant::now();
            server.close();
            let grace = Duration::from_millis(300);
            match ravel::timeout(grace, server.wait_closed()).await {
                Err(e) if e.is_timeout() => {
                    server.abort_clients();
                    ravel::timeout(Duration::from_secs(5), server.wait_closed()).await?;
                }
                other => panic!("the silent client did not hold the server open: {other:?}"),
            }
            let took = started.elapsed();
            assert!(took >= grace && took < grace + Duration::from_secs(2), "{took:?}");
            // The in-flight request was answered; the silent client was cut off.
            assert_eq!(busy_r.read_to_end().await?, b"WORK\n");
            assert_eq!(silent_r.read_to_end().await?, b"");
        }
        Ok(())
    });
}

/// N27: a cancelled serve_forever closes the server and waits for its
/// clients before it returns.
#[test]
fn n27_cancelled_serve_forever_waits_for_clients() {
    let rt = common::multi_thread();
    common::block(&rt, async {
        let connected = Event::new();
        let c = connected.clone();
        let server = ravel_io::start_server_with(
            move |reader, writer| {
                let c = c.clone();
                async move {
                    c.set();
                    reader.read_to_end().await?;
                    drop(writer);
                    Ok(())
                }
            },
            "127.0.0.1:0",
            ravel_io::ServerConfig { start_serving: false, ..Default::default() },
        )
        .await?;
        let s = server.clone();
        let forever = ravel::spawn(async move { s.serve_forever().await });
        common::until(|| server.is_serving()).await?;
        let (_r, w) = open_connection(&server.sockets()[0].as_inet().unwrap()).await?;
        connected.wait().await?;
        forever.cancel_with("stop");
        let forever_ref = forever.as_task_ref().clone();
        common::until(|| !server.is_serving()).await?;
        ravel::sleep(Duration::from_millis(50)).await?;
        assert!(!forever_ref.done(), "serve_forever returned while a client was connected");
        w.close();
        let e = ravel::timeout(Duration::from_secs(5), forever).await.unwrap_err();
        assert_eq!((e.is_cancelled(), e.cancel_message()), (true, Some("stop")));
        Ok(())
    });
}
