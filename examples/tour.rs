//! A tour of Ravel: cancellation with async cleanup, cancel counters, eager
//! tasks, and `#[ravel::main]` (`ravel::run`).
//!
//! Run it with `cargo run --release --example tour`.

use ravel::{current_task, sleep, spawn, task, Error, Promise, Result};
use std::time::{Duration, Instant};

/// A worker that holds a "connection" and, when cancelled, closes it with an
/// async step before re-raising the cancellation, as an asyncio coroutine
/// would in `except CancelledError: await conn.close(); raise`.
async fn worker(id: u32, started: Promise<()>) -> Result<u32> {
    println!("  worker {id}: connected, waiting for work");
    started.set_result(())?;
    match sleep(Duration::from_secs(3600)).await {
        Ok(()) => Ok(id),
        Err(e) if e.is_cancelled() => {
            println!("  worker {id}: cancelled ({}), closing the connection...", e.cancel_message().unwrap_or("-"));
            // Cleanup may await: the task is still alive and schedulable.
            sleep(Duration::from_millis(20)).await?;
            println!("  worker {id}: connection closed, re-raising");
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// A task that catches one cancellation, uncancels, and finishes its job.
async fn stubborn(started: Promise<()>) -> Result<&'static str> {
    let me = current_task().expect("inside a task");
    started.set_result(())?;
    if let Err(e) = sleep(Duration::from_secs(3600)).await {
        assert!(e.is_cancelled());
        println!("  stubborn: cancelled once (cancelling={}), declining", me.cancelling());
        me.uncancel();
    }
    Ok("finished anyway")
}

/// Looks a value up in a cache; a hit completes without suspending.
async fn lookup(key: u32) -> Result<u32> {
    if key.is_multiple_of(2) {
        return Ok(key * 10); // cache hit: no await at all
    }
    sleep(Duration::from_millis(1)).await?; // miss: go to the "server"
    Ok(key * 10)
}

async fn tour() -> Result<()> {
    println!("1. Cancellation with async cleanup");
    let started: Vec<Promise<()>> = (1..=3).map(|_| Promise::new()).collect();
    let workers: Vec<_> = (1..=3).zip(&started).map(|(i, s)| spawn(worker(i, s.clone()))).collect();
    // Let them start: a task cancelled before its first step never runs at all.
    for s in started {
        s.await?;
    }
    for (i, w) in workers.iter().enumerate() {
        w.cancel_with(format!("shutdown #{}", i + 1));
    }
    for w in workers {
        let err = w.await.unwrap_err();
        assert!(err.is_cancelled());
    }

    println!("2. Cancel counters: a task may catch a cancellation and uncancel");
    let started = Promise::new();
    let t = spawn(stubborn(started.clone()));
    started.await?;
    t.cancel();
    println!("  after cancel(): cancelling() = {}", t.cancelling());
    let tr = t.as_task_ref().clone();
    println!("  result: {:?}; cancelled() = {}; cancelling() = {}", t.await?, tr.cancelled(), tr.cancelling());

    println!("3. Eager tasks: a ready future completes inside spawn, never queued");
    let start = Instant::now();
    let mut hits = 0;
    let mut pending = Vec::new();
    for key in 0..10 {
        let t = task::Builder::new().name(format!("lookup-{key}")).eager_start(true).spawn(lookup(key));
        if t.done() {
            hits += 1;
        }
        pending.push(t);
    }
    let mut total = 0;
    for t in pending {
        total += t.await?;
    }
    println!("  {hits} of 10 lookups were done when spawn returned; sum = {total}; took {:?}", start.elapsed());

    println!("4. A task left running when main returns is cancelled by #[ravel::main] (as ravel::run does)");
    let started = Promise::new();
    let signal = started.clone();
    let leftover = spawn(async move {
        signal.set_result(())?;
        match sleep(Duration::from_secs(3600)).await {
            Err(e) if e.is_cancelled() => {
                println!("  leftover: cancelled by run's shutdown, cleaning up");
                Err::<(), Error>(e)
            }
            other => other,
        }
    });
    drop(leftover); // detached: the runtime still owns it
    started.await?;
    Ok(())
}

/// `#[ravel::main]` runs `main` as `ravel::run` does: a multi-thread
/// runtime, main as a task named "main", leftovers cancelled at the end.
#[ravel::main]
async fn main() -> Result<()> {
    tour().await?;
    println!("done");
    Ok(())
}
