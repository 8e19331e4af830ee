//! A handler's failure is never lost: it goes to the runtime's
//! unhandled-error hook, and its connection is closed (asyncio 3.13 N29:
//! 'Unhandled exception in client_connected_cb'). A cancelled handler's
//! connection is closed quietly.

mod common;

use ravel_io::start_server;
use ravel_io::streams::open_connection;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Reports = Arc<Mutex<Vec<(String, String, bool)>>>;

fn runtime_with_hook() -> (ravel::Runtime, Reports) {
    let reports: Reports = Arc::default();
    let r = reports.clone();
    let rt = ravel::Builder::new_multi_thread()
        .worker_threads(2)
        .unhandled_error_hook(move |report| {
            r.lock().unwrap().push((
                report.task_name().to_string(),
                report.error().to_string(),
                report.error().is_panic(),
            ))
        })
        .build()
        .unwrap();
    (rt, reports)
}

#[test]
fn failing_and_panicking_handlers_are_reported_and_their_connections_closed() {
    let (rt, reports) = runtime_with_hook();
    let seen = reports.clone();
    common::block(&rt, async move {
        let server = start_server(
            |reader, writer| async move {
                // Keep the writer: dropping it closes the connection.
                let _writer = writer;
                match reader.readline().await?.as_slice() {
                    b"fail\n" => Err(ravel::Error::msg("boom")),
                    b"panic\n" => panic!("handler panicked"),
                    _ => Ok(()),
                }
            },
            "127.0.0.1:0",
        )
        .await?;
        let addr = server.sockets()[0].as_inet().unwrap();
        for request in [&b"fail\n"[..], b"panic\n"] {
            let (reader, writer) = open_connection(&addr).await?;
            writer.write(request)?;
            // The connection is closed: the client reads EOF.
            assert_eq!(ravel::timeout(Duration::from_secs(5), reader.read_to_end()).await?, b"");
        }
        common::until(|| seen.lock().unwrap().len() >= 2).await?;
        server.close();
        server.wait_closed().await
    });
    let mut reports = reports.lock().unwrap().clone();
    reports.sort();
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert!(reports.iter().all(|(name, _, _)| name.starts_with("ravel_io connection from 127.0.0.1:")), "{reports:?}");
    assert!(reports.iter().any(|(_, e, panic)| e == "boom" && !panic), "{reports:?}");
    assert!(reports.iter().any(|(_, e, panic)| e.contains("handler panicked") && *panic), "{reports:?}");
}

#[test]
fn cancelled_handler_closes_its_connection_quietly() {
    let (rt, reports) = runtime_with_hook();
    common::block(&rt, async move {
        let server = start_server(
            |reader, writer| async move {
                let _keep = writer; // the writer is not dropped by returning early
                ravel::current_task().unwrap().cancel();
                reader.read_to_end().await?; // delivers the cancellation
                Ok(())
            },
            "127.0.0.1:0",
        )
        .await?;
        let (reader, _writer) = open_connection(&server.sockets()[0].as_inet().unwrap()).await?;
        assert_eq!(ravel::timeout(Duration::from_secs(5), reader.read_to_end()).await?, b"");
        server.close();
        ravel::timeout(Duration::from_secs(5), server.wait_closed()).await
    });
    assert!(reports.lock().unwrap().is_empty(), "{:?}", reports.lock().unwrap());
}
