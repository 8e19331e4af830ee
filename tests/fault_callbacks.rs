//! Fault injection: user callbacks that panic — a task's done callback and
//! a `call_soon_threadsafe` closure. The process survives, the panic is
//! reported to the runtime's unhandled-error hook as a panic error (asyncio:
//! "Exception in callback" to the loop's exception handler), the other
//! callbacks still run, and the workers go on running tasks.

use ravel::runtime::UnhandledError;
use ravel_tests::faults::{panic_text, quiet_panics, workers_still_run, TAG};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Duration;

const BOUND: Duration = Duration::from_secs(10);

/// Both flavours, each with a hook whose reports arrive on the receiver.
fn flavours() -> Vec<(&'static str, usize, ravel::Runtime, mpsc::Receiver<UnhandledError>)> {
    let mut out = Vec::new();
    for (name, workers, builder) in [
        ("current_thread", 1, ravel::Builder::new_current_thread()),
        ("multi_thread", 2, ravel::Builder::new_multi_thread().worker_threads(2)),
    ] {
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let rt = builder.unhandled_error_hook(move |r| drop(tx.lock().unwrap().send(r.clone()))).build().unwrap();
        out.push((name, workers, rt, rx));
    }
    out
}

/// A done callback that panics: the callbacks added after it on the same
/// task still run, in order; the panic reaches the hook once, as a panic
/// error with its payload; the task's own outcome is untouched.
#[test]
fn done_callback_panic_is_reported_and_the_other_callbacks_run() {
    quiet_panics();
    for (name, workers, rt, reports) in flavours() {
        let (tx, rx) = mpsc::channel();
        let (tx1, tx2) = (tx.clone(), tx);
        let last: ravel::Promise<()> = ravel::Promise::new();
        let last_set = last.clone();
        let value = rt
            .block_on(async move {
                let task = ravel::spawn(async { Ok(5) });
                task.add_done_callback(move |_| tx1.send("first").unwrap());
                task.add_done_callback(|_| panic!("{TAG} done callback"));
                task.add_done_callback(move |t| {
                    tx2.send(if t.cancelled() { "cancelled" } else { "third" }).unwrap();
                    last_set.set_result(()).unwrap();
                });
                let value = task.await?;
                last.await?;
                Ok(value)
            })
            .unwrap();
        assert_eq!(value, 5, "{name}: the task's result is its own");
        let ran: Vec<_> =
            (0..2).map(|_| rx.recv_timeout(BOUND).expect("a callback after the panicking one ran")).collect();
        assert_eq!(ran, ["first", "third"], "{name}");
        let report = reports.recv_timeout(BOUND).expect("the panic reached the hook");
        assert_eq!(panic_text(report.error()), format!("{TAG} done callback"), "{name}");
        assert_eq!(report.message(), "Exception in callback", "{name}: {report}");
        workers_still_run(&rt, workers);
        assert!(reports.try_recv().is_err(), "{name}: one report per panic");
    }
}

/// A `call_soon_threadsafe` closure that panics: reported to the hook as a
/// panic error; closures queued before and after it run; the runtime and
/// its handle go on working.
#[test]
fn call_soon_threadsafe_panic_is_reported_and_the_runtime_goes_on() {
    quiet_panics();
    for (name, workers, rt, reports) in flavours() {
        let handle = rt.handle().clone();
        let (tx, rx) = mpsc::channel();
        let all_ran: ravel::Promise<()> = ravel::Promise::new();
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let done = all_ran.clone();
        let from = std::thread::spawn(move || {
            for i in 0..10 {
                let (tx, done, count) = (tx.clone(), done.clone(), count.clone());
                if i == 4 {
                    handle.call_soon_threadsafe(move || panic!("{TAG} threadsafe {i}")).unwrap();
                } else {
                    handle
                        .call_soon_threadsafe(move || {
                            tx.send(i).unwrap();
                            if count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 == 9 {
                                done.set_result(()).unwrap();
                            }
                        })
                        .unwrap();
                }
            }
        });
        from.join().unwrap();
        // The closures run when the runtime runs (a current-thread one
        // only inside block_on): the last of the nine sets the promise.
        rt.block_on(all_ran).unwrap();
        let got: Vec<i32> = rx.try_iter().collect();
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(sorted, [0, 1, 2, 3, 5, 6, 7, 8, 9], "{name}: every other closure ran");
        let report = reports.recv_timeout(BOUND).expect("the panic reached the hook");
        assert_eq!(panic_text(report.error()), format!("{TAG} threadsafe 4"), "{name}");
        assert_eq!(report.message(), "Exception in callback", "{name}: {report}");
        workers_still_run(&rt, workers);
        assert!(reports.try_recv().is_err(), "{name}: one report per panic");
    }
}

/// Many panicking done callbacks racing with normal ones on two workers:
/// every normal one runs, every panic is reported, none twice.
#[test]
fn racing_panicking_done_callbacks_lose_nothing() {
    quiet_panics();
    let (tx, reports) = mpsc::channel();
    let tx = Mutex::new(tx);
    let rt = ravel::Builder::new_multi_thread()
        .worker_threads(2)
        .unhandled_error_hook(move |r| drop(tx.lock().unwrap().send(r.clone())))
        .build()
        .unwrap();
    let n = 200;
    let (ok_tx, ok_rx) = mpsc::channel();
    rt.block_on(async move {
        let mut tasks = Vec::new();
        for i in 0..n {
            let task = ravel::spawn(async move {
                ravel::yield_now().await?;
                Ok(i)
            });
            let ok_tx = ok_tx.clone();
            task.add_done_callback(move |_| panic!("{TAG} racing {i}"));
            task.add_done_callback(move |_| ok_tx.send(i).unwrap());
            tasks.push(task);
        }
        for (i, task) in tasks.into_iter().enumerate() {
            assert_eq!(task.await?, i);
        }
        Ok(())
    })
    .unwrap();
    let mut ok: Vec<usize> = (0..n).map(|_| ok_rx.recv_timeout(BOUND).expect("a normal callback ran")).collect();
    ok.sort();
    assert_eq!(ok, (0..n).collect::<Vec<_>>());
    let mut panics: Vec<String> =
        (0..n).map(|_| panic_text(reports.recv_timeout(BOUND).expect("a panic was reported").error())).collect();
    panics.sort();
    let mut want: Vec<String> = (0..n).map(|i| format!("{TAG} racing {i}")).collect();
    want.sort();
    assert_eq!(panics, want);
    workers_still_run(&rt, 2);
    assert!(reports.try_recv().is_err(), "one report per panic");
}

/// A done callback added to a task already done, and one on a task ended
/// by the runtime's shutdown (which runs callbacks at once, on the thread
/// dropping the runtime): their panics are reported, do not unwind into
/// `add_done_callback` or `Runtime`'s drop, and the other callbacks run.
#[test]
fn done_callback_panic_at_shutdown_stays_inside() {
    quiet_panics();
    for (name, _, rt, reports) in flavours() {
        let (tx, rx) = mpsc::channel();
        let tx2 = tx.clone();
        let parked = rt.handle().spawn(async { ravel::sleep(Duration::from_secs(3600)).await });
        parked.add_done_callback(|_| panic!("{TAG} at shutdown"));
        parked.add_done_callback(move |t| tx.send(("after", t.cancelled())).unwrap());
        // Started: it is parked on its sleep when the runtime goes.
        while parked.info().state != ravel::call_graph::TaskState::Suspended {
            rt.block_on(async { ravel::yield_now().await }).unwrap();
        }
        let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(rt)));
        assert!(dropped.is_ok(), "{name}: the callback's panic escaped the runtime's drop");
        assert_eq!(rx.recv_timeout(BOUND).unwrap(), ("after", true), "{name}: the next callback ran");
        let report = reports.recv_timeout(BOUND).expect("the panic reached the hook");
        assert_eq!(panic_text(report.error()), format!("{TAG} at shutdown"), "{name}");
        // On a task done after shutdown, too: run at once, still contained.
        let added = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            parked.add_done_callback(|_| panic!("{TAG} on a done task"));
            parked.add_done_callback(move |_| tx2.send(("late", true)).unwrap());
        }));
        assert!(added.is_ok(), "{name}: the panic unwound into add_done_callback");
        assert_eq!(rx.recv_timeout(BOUND).unwrap(), ("late", true), "{name}");
        let report = reports.recv_timeout(BOUND).expect("the late panic reached the hook");
        assert_eq!(panic_text(report.error()), format!("{TAG} on a done task"), "{name}");
    }
}

/// A promise's done callback that panics: the later ones still run and the
/// panic reaches the hook; on a promise made outside any runtime (callbacks
/// run on the completing thread), the others run and then the panic comes
/// out of `set_result`.
#[test]
fn promise_callback_panic_loses_no_other_callback() {
    quiet_panics();
    for (name, workers, rt, reports) in flavours() {
        let (tx, rx) = mpsc::channel();
        rt.block_on(async move {
            let promise: ravel::Promise<u32> = ravel::Promise::new();
            let done: ravel::Promise<()> = ravel::Promise::new();
            let (tx1, d) = (tx.clone(), done.clone());
            promise.add_done_callback(move |_| tx1.send("first").unwrap());
            promise.add_done_callback(|_| panic!("{TAG} promise callback"));
            promise.add_done_callback(move |p| {
                tx.send(if p.done() { "third" } else { "?" }).unwrap();
                d.set_result(()).unwrap();
            });
            promise.set_result(1)?;
            done.await
        })
        .unwrap();
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), ["first", "third"], "{name}");
        let report = reports.recv_timeout(BOUND).expect("the panic reached the hook");
        assert_eq!(panic_text(report.error()), format!("{TAG} promise callback"), "{name}");
        assert_eq!(report.message(), "Exception in callback", "{name}");
        workers_still_run(&rt, workers);
    }
    // Outside any runtime.
    let promise: ravel::Promise<u32> = ravel::Promise::new();
    let (tx, rx) = mpsc::channel();
    let tx1 = tx.clone();
    promise.add_done_callback(|_| panic!("{TAG} inline"));
    promise.add_done_callback(move |_| tx1.send(1).unwrap());
    promise.add_done_callback(move |_| tx.send(2).unwrap());
    let raised = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| promise.set_result(5)));
    let payload = raised.expect_err("the callback's panic comes out of set_result");
    assert_eq!(ravel_tests::faults::payload_str(&*payload), format!("{TAG} inline"));
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2], "the other callbacks ran first");
    assert_eq!(promise.result().unwrap(), 5, "the promise is set");
}

/// A promise made on a runtime that has since shut down: its callbacks run
/// at once on the completing thread (nothing is left to schedule them), a
/// panicking one is reported to that runtime's hook as a callback's, and
/// the panic does not come out of `set_result`, as it would not on a live
/// runtime.
#[test]
fn promise_callback_panic_after_shutdown_is_reported_not_raised() {
    quiet_panics();
    for (name, _, rt, reports) in flavours() {
        let promise: ravel::Promise<u32> = rt.block_on(async { Ok(ravel::Promise::new()) }).unwrap();
        let (tx, rx) = mpsc::channel();
        promise.add_done_callback(|_| panic!("{TAG} after shutdown"));
        promise.add_done_callback(move |p| tx.send(p.result().unwrap()).unwrap());
        drop(rt);
        let set = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| promise.set_result(7)));
        assert!(set.is_ok(), "{name}: the callback's panic came out of set_result");
        assert_eq!(rx.recv_timeout(BOUND).unwrap(), 7, "{name}: the other callback ran");
        let report = reports.recv_timeout(BOUND).expect("the panic reached the hook");
        assert_eq!(report.message(), "Exception in callback", "{name}");
        assert_eq!(panic_text(report.error()), format!("{TAG} after shutdown"), "{name}");
    }
}
