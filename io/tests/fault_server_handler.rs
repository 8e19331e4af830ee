//! Fault injection: `start_server` handlers that panic while other clients
//! are being served. As documented in `ravel_io::server` ("Errors of
//! handlers"), each panic is reported once through the runtime's
//! unhandled-error hook as a panic error, from the task named
//! `ravel_io connection from <peer>`, and that connection is closed; the
//! server keeps serving every other client, in flight or new.

mod common;

use ravel_io::start_server;
use ravel_io::streams::open_connection;
use std::sync::{Arc, Mutex};

type Reports = Arc<Mutex<Vec<(String, bool, String)>>>;

/// Keeps the intentional panics (prefix `ravel-fault:`) off stderr.
fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let p = info.payload();
            let msg = p.downcast_ref::<&str>().copied().or_else(|| p.downcast_ref::<String>().map(String::as_str));
            if !msg.is_some_and(|m| m.starts_with("ravel-fault:")) {
                default(info);
            }
        }));
    });
}

fn runtime_with_hook() -> (ravel::Runtime, Reports) {
    quiet_panics();
    let reports: Reports = Arc::default();
    let r = reports.clone();
    let rt = ravel::Builder::new_multi_thread()
        .worker_threads(2)
        .unhandled_error_hook(move |report| {
            let payload = report
                .error()
                .take_panic()
                .and_then(|p| p.downcast_ref::<String>().cloned().or(p.downcast_ref::<&str>().map(|s| s.to_string())))
                .unwrap_or_default();
            r.lock().unwrap().push((report.task_name().to_string(), report.error().is_panic(), payload));
        })
        .build()
        .unwrap();
    (rt, reports)
}

/// 30 clients at once on an echo server whose handler panics for every
/// third client, some before and some after answering part of the request:
/// every other client gets its whole echo, each panicking client's
/// connection is closed (EOF after what was sent), each panic is reported
/// once; then the server still serves a new client.
#[test]
fn panicking_handlers_leave_the_other_clients_served() {
    let (rt, reports) = runtime_with_hook();
    let seen = reports.clone();
    common::block(&rt, async move {
        let server = start_server(
            |reader, writer| async move {
                loop {
                    let line = reader.readline().await?;
                    if line.is_empty() {
                        return Ok(());
                    }
                    match line.as_slice() {
                        b"panic now\n" => panic!("ravel-fault: handler before answering"),
                        b"panic later\n" => {
                            writer.write(b"partial\n")?;
                            writer.drain().await?;
                            panic!("ravel-fault: handler after answering");
                        }
                        _ => {
                            writer.write(&line)?;
                            writer.drain().await?;
                        }
                    }
                }
            },
            "127.0.0.1:0",
        )
        .await?;
        let addr = server.sockets()[0].as_inet().unwrap();
        let clients: Vec<_> = (0..30)
            .map(|i| {
                ravel::spawn(async move {
                    let (reader, writer) = open_connection(&addr).await?;
                    let mut got = Vec::new();
                    // A panicking client's last request is the one that panics.
                    let rounds = if i % 3 == 0 { 2 } else { 3 };
                    for round in 0..rounds {
                        let request = match (i % 3, round) {
                            (0, 1) if i % 2 == 0 => "panic now\n".to_string(),
                            (0, 1) => "panic later\n".to_string(),
                            _ => format!("client {i} round {round}\n"),
                        };
                        writer.write(request.as_bytes())?;
                        let answer = reader.readline().await?;
                        if answer.is_empty() {
                            break; // closed by the panicking handler
                        }
                        got.push(String::from_utf8(answer).unwrap());
                    }
                    drop(writer); // EOF: a handler still reading returns
                    Ok((i, got, reader.read_to_end().await?))
                })
            })
            .collect();
        for client in clients {
            let (i, got, rest) = client.await?;
            match (i % 3, i % 2) {
                (0, 0) => assert_eq!(got, [format!("client {i} round 0\n")], "client {i}"),
                (0, _) => assert_eq!(got, [format!("client {i} round 0\n"), "partial\n".into()], "client {i}"),
                _ => {
                    assert_eq!(got, (0..3).map(|r| format!("client {i} round {r}\n")).collect::<Vec<_>>(), "client {i}")
                }
            }
            assert!(rest.is_empty(), "client {i}: {rest:?}");
        }
        common::until(|| seen.lock().unwrap().len() >= 10).await?;
        // Still serving.
        let (reader, writer) = open_connection(&addr).await?;
        writer.write(b"after\n")?;
        assert_eq!(reader.readline().await?, b"after\n");
        drop(writer);
        server.close();
        server.wait_closed().await
    });
    let reports = reports.lock().unwrap().clone();
    assert_eq!(reports.len(), 10, "one report per panic: {reports:?}");
    let before = reports.iter().filter(|r| r.2 == "ravel-fault: handler before answering").count();
    let after = reports.iter().filter(|r| r.2 == "ravel-fault: handler after answering").count();
    assert_eq!((before, after), (5, 5), "{reports:?}");
    assert!(reports.iter().all(|(name, panic, _)| *panic && name.starts_with("ravel_io connection from 127.0.0.1:")));
    // The runtime is still whole: tasks on both workers complete.
    let n = rt.block_on(async {
        let tasks: Vec<_> = (0..4).map(|i| ravel::spawn(async move { Ok(i) })).collect();
        let mut sum = 0;
        for t in tasks {
            sum += t.await?;
        }
        Ok(sum)
    });
    assert_eq!(n.unwrap(), 6);
}
