//! `add_signal_handler` / `remove_signal_handler` (asyncio's callback form)
//! and `cancel_on_signal`.
//!
//! One process for the tests of this file: each test uses its own signals,
//! and installs a handler for them before raising.

use ravel::sync::Event;
use ravel_io::signal::{add_signal_handler, remove_signal_handler, signal, SignalKind};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

const BOUND: Duration = Duration::from_secs(10);

fn raise(sig: libc::c_int) {
    // SAFETY: raise(3) with a signal the test handles; the signal handler
    // has run on this thread when it returns.
    assert_eq!(unsafe { libc::raise(sig) }, 0);
}

/// Raises `sig` on a new plain thread (not a runtime thread), so the
/// signal handler runs there; returns that thread's id.
fn raise_on_plain_thread(sig: libc::c_int) -> ThreadId {
    std::thread::spawn(move || {
        raise(sig);
        std::thread::current().id()
    })
    .join()
    .unwrap()
}

fn runtime() -> ravel::Runtime {
    ravel::Builder::new_multi_thread().worker_threads(2).thread_name("sig-test-worker").build().unwrap()
}

/// Where and how a callback ran.
#[derive(Debug, Clone)]
struct Seen {
    thread: ThreadId,
    thread_name: Option<String>,
    on_runtime: bool,
    in_task: bool,
}

/// The callback runs on the runtime that added it, on one of its threads,
/// outside any task (call_soon-style), not in the signal handler (which ran
/// on the raising thread).
#[test]
fn callback_runs_on_the_runtime_not_in_the_signal_handler() {
    runtime()
        .block_on(async {
            let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
            let called = Arc::new(Event::new());
            let (s, c) = (seen.clone(), called.clone());
            add_signal_handler(SignalKind::user_defined1(), move || {
                let me = std::thread::current();
                s.lock().unwrap().push(Seen {
                    thread: me.id(),
                    thread_name: me.name().map(str::to_owned),
                    on_runtime: ravel::Handle::try_current().is_ok(),
                    in_task: ravel::current_task().is_some(),
                });
                c.set();
            })?;
            let raiser = raise_on_plain_thread(libc::SIGUSR1);
            ravel::timeout(BOUND, called.wait()).await?;
            let seen = seen.lock().unwrap().clone();
            assert_eq!(seen.len(), 1, "{seen:?}");
            let s = &seen[0];
            assert!(s.on_runtime && !s.in_task, "{s:?}");
            assert_ne!(s.thread, raiser, "ran on the thread the signal handler ran on");
            assert!(s.thread_name.as_deref().is_some_and(|n| n.starts_with("sig-test-worker")), "{s:?}");
            assert!(remove_signal_handler(SignalKind::user_defined1()));
            Ok(())
        })
        .unwrap();
}

/// Adding a second callback for a signal replaces the first; removing
/// returns true once, then false; Signals of the kind still see the
/// deliveries either way.
#[test]
fn add_replaces_and_remove_reports_whether_there_was_one() {
    runtime()
        .block_on(async {
            let kind = SignalKind::user_defined2();
            let mut listener = signal(kind)?;
            let first_calls = Arc::new(AtomicUsize::new(0));
            let first = Arc::new(Event::new());
            let (n, e) = (first_calls.clone(), first.clone());
            add_signal_handler(kind, move || {
                n.fetch_add(1, SeqCst);
                e.set();
            })?;
            raise(libc::SIGUSR2);
            ravel::timeout(BOUND, first.wait()).await?;
            ravel::timeout(BOUND, listener.recv()).await?;

            let second = Arc::new(Event::new());
            let e = second.clone();
            add_signal_handler(kind, move || e.set())?;
            raise(libc::SIGUSR2);
            ravel::timeout(BOUND, second.wait()).await?;
            ravel::timeout(BOUND, listener.recv()).await?;
            assert_eq!(first_calls.load(SeqCst), 1, "the replaced callback ran again");

            assert!(remove_signal_handler(kind));
            assert!(!remove_signal_handler(kind));
            // Still handled: a delivery with no callback neither kills the
            // process nor stops the Signal from getting it.
            raise(libc::SIGUSR2);
            ravel::timeout(BOUND, listener.recv()).await?;
            assert_eq!(first_calls.load(SeqCst), 1);
            Ok(())
        })
        .unwrap();
}

#[test]
fn add_signal_handler_needs_a_runtime() {
    let err = add_signal_handler(SignalKind::from_raw(libc::SIGURG), || {}).unwrap_err();
    assert!(err.to_string().contains("outside a Ravel runtime"), "{err}");
    assert!(!remove_signal_handler(SignalKind::from_raw(libc::SIGURG)));
    assert!(!remove_signal_handler(SignalKind::from_raw(libc::SIGKILL)));
}

/// A callback whose runtime has shut down is dropped at the next delivery
/// (the process lives on).
#[test]
fn a_callback_of_a_shut_down_runtime_is_dropped() {
    let kind = SignalKind::hangup();
    let rt = runtime();
    rt.block_on(async move { Ok(add_signal_handler(kind, || panic!("must not run"))?) }).unwrap();
    drop(rt);
    let mut listener = signal(kind).unwrap();
    raise(libc::SIGHUP);
    // The dispatcher schedules (or drops) a round's callbacks before it
    // wakes the round's Signals.
    ravel::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(async move { ravel::timeout(BOUND, listener.recv()).await })
        .unwrap();
    assert!(!remove_signal_handler(kind), "the dead runtime's callback is gone");
}

/// The shutdown helper: SIGTERM cancels the target with a message naming
/// the signal, and the target may clean up with awaits.
#[test]
fn cancel_on_signal_cancels_the_target() {
    runtime()
        .block_on(async {
            // The server has started before the signal (a task cancelled
            // before its first step never runs, as in asyncio).
            let started = Arc::new(Event::new());
            let s = started.clone();
            let server = ravel::spawn(async move {
                s.set();
                match ravel::sleep(Duration::from_secs(3600)).await {
                    Err(e) if e.is_cancelled() => {
                        ravel::yield_now().await?; // cleanup may await
                        Ok(e.cancel_message().map(str::to_owned))
                    }
                    other => other.map(|_| None),
                }
            });
            let watch = ravel_io::signal::cancel_on_signal(SignalKind::terminate(), server.as_task_ref().clone())?;
            ravel::timeout(BOUND, started.wait()).await?;
            raise(libc::SIGTERM);
            let message = ravel::timeout(BOUND, server).await?;
            assert_eq!(message.as_deref(), Some("received SIGTERM"));
            ravel::timeout(BOUND, watch).await?;
            Ok(())
        })
        .unwrap();
}
