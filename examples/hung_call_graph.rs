//! A program that hangs, and the call graph that says why.
//!
//! `loader` takes a lock and then waits (in `wait_for`, with a one-hour
//! limit) for a configuration event that nobody ever sets; `flush` waits for
//! that lock; `reporter` awaits `flush`; `ticker` sleeps in a loop. The
//! TaskGroup in `main` never ends. A watchdog thread notices that main has
//! not finished in time, prints `Handle::dump()`, the tree of which task
//! awaits which (what `python -m asyncio pstree` shows for asyncio 3.14),
//! and the call graph seen from `flush` (`capture_call_graph`, asyncio's
//! `print_call_graph`), then cancels main so the program ends.
//!
//! Run it with `cargo run --example hung_call_graph`.

use ravel::sync::{Event, Lock};
use ravel::task::Builder;
use ravel::{Handle, TaskGroup};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// How long the watchdog lets main run before it reports.
const PATIENCE: Duration = Duration::from_millis(300);

#[ravel::main(worker_threads = 2)]
async fn main() -> ravel::Result<()> {
    let handle = Handle::current();
    let me = ravel::current_task().expect("main is a task");
    let (flush_tx, flush_rx) = mpsc::channel::<ravel::TaskRef>();
    // The watchdog is a plain thread: it sees the runtime from outside,
    // as a debugger or a signal handler would.
    let watchdog = std::thread::spawn(move || {
        std::thread::sleep(PATIENCE);
        println!("main has not finished after {PATIENCE:?}. Every task, as a tree of who awaits whom:\n");
        print!("{}", handle.dump());
        if let Ok(flush) = flush_rx.try_recv() {
            println!("\nThe call graph from `flush` up (asyncio's print_call_graph):\n");
            if let Some(graph) = ravel::capture_call_graph(Some(&flush)) {
                print!("{graph}");
            }
        }
        me.cancel_with("watchdog: main hung");
    });

    let lock = Arc::new(Lock::new());
    let config_ready = Arc::new(Event::new());
    let out = TaskGroup::run(|tg| async move {
        let (l, ready) = (lock.clone(), config_ready.clone());
        tg.spawn_with(Builder::new().name("loader"), async move {
            let _held = l.acquire().await?;
            // The bug: nothing ever sets `config_ready`.
            ravel::wait_for(ready.wait(), Duration::from_secs(3600)).await
        })?;
        ravel::yield_now().await?; // let loader take the lock first
        let flush = Builder::new().name("flush").spawn(async move {
            let _held = lock.acquire().await?;
            Ok(())
        });
        flush_tx.send(flush.to_task_ref()).expect("the watchdog is waiting");
        tg.spawn_with(Builder::new().name("reporter"), flush)?; // awaits flush
        tg.spawn_with::<_, ()>(Builder::new().name("ticker"), async {
            loop {
                ravel::sleep(Duration::from_secs(1)).await?;
            }
        })?;
        Ok(())
    })
    .await;
    watchdog.join().expect("watchdog thread");
    match out {
        Err(e) if e.is_cancelled() => {
            println!(
                "\nmain ended cancelled ({}); its TaskGroup cancelled every child.",
                e.cancel_message().unwrap_or("-")
            );
            Ok(())
        }
        other => other,
    }
}
