//! A client that floods its connection (64 MiB from a plain thread) does
//! not pin the only worker: another task keeps running while the handler
//! reads the flood. (Every socket read a `StreamReader` makes goes through
//! a budgeted Ravel leaf, so an always-ready socket also yields; how often
//! the socket is momentarily empty here is up to the kernel, so this test
//! checks the observable outcome, not which of the two made the handler
//! yield.)

mod common;

use ravel_io::start_server;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[test]
fn flooding_client_does_not_pin_the_worker() {
    let rt = common::current_thread();
    common::block(&rt, async {
        let ticks = Arc::new(AtomicU64::new(0));
        let seen_at_end = Arc::new(AtomicU64::new(u64::MAX));
        let (t, s) = (ticks.clone(), seen_at_end.clone());
        let server = start_server(
            move |reader, writer| {
                let (ticks, seen) = (t.clone(), s.clone());
                async move {
                    let _writer = writer;
                    let start = ticks.load(Ordering::SeqCst);
                    let mut total = 0;
                    while total < 64 * 1024 * 1024 {
                        total += reader.read(1024 * 1024).await?.len();
                    }
                    seen.store(ticks.load(Ordering::SeqCst) - start, Ordering::SeqCst);
                    Ok(())
                }
            },
            "127.0.0.1:0",
        )
        .await?;
        let addr = server.sockets()[0].as_inet().unwrap();
        // The flood comes from a plain thread, so the socket stays readable.
        let flood = std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            let chunk = vec![1u8; 1024 * 1024];
            for _ in 0..64 {
                if s.write_all(&chunk).is_err() {
                    break;
                }
            }
        });
        let ticker = {
            let ticks = ticks.clone();
            let seen = seen_at_end.clone();
            ravel::spawn(async move {
                while seen.load(Ordering::SeqCst) == u64::MAX {
                    ticks.fetch_add(1, Ordering::SeqCst);
                    ravel::yield_now().await?;
                }
                Ok(())
            })
        };
        ticker.await?;
        flood.join().unwrap();
        let during = seen_at_end.load(Ordering::SeqCst);
        assert!(during > 0, "the ticker never ran while the handler read the flood");
        server.close();
        Ok(())
    });
}
