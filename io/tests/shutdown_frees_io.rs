//! A runtime dropped while tasks wait on sockets is freed whole: the
//! resources those sockets released at shutdown (which hold the waiting
//! tasks' wakers, and so the scheduler) are freed by the shutdown itself,
//! not left for a reactor turn that never comes. Seen from outside: what
//! the runtime owns (its unhandled-error hook) is dropped with it.
//! Found by `scripts/valgrind.sh` (docs/leak-checks.md).

use ravel_io::streams::{from_tcp, open_connection};
use ravel_io::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn runtime(multi: bool, dropped: &Arc<AtomicUsize>) -> ravel::Runtime {
    let guard = DropCount(dropped.clone());
    let builder =
        if multi { ravel::Builder::new_multi_thread().worker_threads(2) } else { ravel::Builder::new_current_thread() };
    builder
        .unhandled_error_hook(move |report| {
            let _ = &guard;
            eprintln!("{report}");
        })
        .build()
        .unwrap()
}

/// Tasks parked on socket reads (plain sockets and streams) when the
/// runtime is dropped: the runtime's state is freed, both flavours, many
/// rounds (the order in which shutdown drops the futures varies).
#[test]
fn runtime_dropped_with_tasks_waiting_on_sockets_is_freed() {
    for multi in [false, true] {
        for round in 0..20 {
            let dropped = Arc::new(AtomicUsize::new(0));
            let rt = runtime(multi, &dropped);
            let parked = rt
                .block_on(async {
                    let listener = TcpListener::bind("127.0.0.1:0").await?;
                    let addr = listener.local_addr()?;
                    let client = TcpStream::connect(&addr).await?;
                    let (server, _) = listener.accept().await?;
                    let (reader, writer) = open_connection(&addr).await?;
                    let (peer, _) = listener.accept().await?;
                    let (peer_reader, peer_writer) = from_tcp(peer, 65536);
                    let mut tasks = Vec::new();
                    tasks.push(ravel::spawn(async move {
                        let mut buf = [0u8; 16];
                        client.read(&mut buf).await?;
                        Ok(())
                    }));
                    tasks.push(ravel::spawn(async move {
                        let mut buf = [0u8; 16];
                        server.read(&mut buf).await?;
                        Ok(())
                    }));
                    tasks.push(ravel::spawn(async move {
                        let _keep = (writer, peer_writer);
                        reader.read(10).await?;
                        Ok(())
                    }));
                    tasks.push(ravel::spawn(async move {
                        peer_reader.read(10).await?;
                        Ok(())
                    }));
                    // Each parks on its read.
                    for _ in 0..10 {
                        ravel::yield_now().await?;
                    }
                    Ok(tasks.iter().filter(|t| !t.done()).count())
                })
                .unwrap();
            assert_eq!(parked, 4, "multi {multi} round {round}: all four parked on their reads");
            drop(rt);
            assert_eq!(dropped.load(SeqCst), 1, "multi {multi} round {round}: the runtime's state was not freed");
        }
    }
}
