//! On the current-thread runtime, due timers run after what is already
//! ready, as in asyncio's `_run_once` (asyncio-semantics §1.1): an iteration
//! takes the ready list, appends the callbacks of the timers that are due,
//! and runs exactly those; what a timer callback wakes runs in the next
//! iteration. So a result queued before a deadline passed (because a task
//! blocked the loop past it) wins over the expiry.
//!
//! Written from CPython 3.13.0 (3.12.1 prints the same); the tasks block the
//! loop with `time.sleep`, which is the scenario, not a synchronisation:
//!
//! ```text
//! result queued before the deadline passed: 'result' expired: False
//! sleep due before a later deadline, both passed: TimeoutError, expired: True
//! timer due while a ticker is ready: ['tick 0', 'tick 1', 'sleeper woke', 'tick 2', 'tick 3']
//! ```

use ravel::{Promise, Timeout};
use ravel_tests::{block, current_thread, Log};
use std::time::Duration;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `async with timeout(0.01): create_task(blocker()); await fut`, where the
/// blocker blocks the loop 50 ms and then sets `fut`: the wake-up of the
/// body is ready before the expiry's callback, so the body gets the result
/// and the scope is not expired.
#[test]
fn result_queued_before_the_deadline_passed_wins_over_the_expiry() {
    let rt = current_thread();
    block(&rt, async {
        let fut = Promise::new();
        let f = fut.clone();
        let cm = Timeout::after(ms(10));
        let r = cm
            .run(async move {
                ravel::spawn(async move {
                    std::thread::sleep(ms(50)); // blocks the loop past the deadline
                    f.set_result("result")
                });
                fut.await
            })
            .await;
        assert_eq!(r.expect("the result wins"), "result");
        assert!(!cm.expired());
        assert_eq!(ravel::current_task().unwrap().cancelling(), 0);
        ravel::sleep(ms(1)).await?; // nothing pending
        Ok(())
    });
}

/// `async with timeout(0.02): await sleep(0.01)` with the loop blocked past
/// both: both timers are due in one iteration and run in deadline order; the
/// sleep's callback only queues the body's wake-up, so the expiry's cancel
/// reaches the body first and the scope times out.
#[test]
fn sleep_due_in_the_same_iteration_as_a_later_deadline_times_out() {
    let rt = current_thread();
    block(&rt, async {
        ravel::spawn(async {
            std::thread::sleep(ms(50));
            Ok(())
        });
        let cm = Timeout::after(ms(20));
        let err = cm.run(ravel::sleep(ms(10))).await.expect_err("the expiry wins");
        assert!(err.is_timeout(), "{err:?}");
        assert!(cm.expired());
        Ok(())
    });
}

/// A sleeper whose deadline passed while the loop was blocked wakes one
/// iteration after its timer is processed: a ticker that was ready logs
/// twice first.
#[test]
fn timer_due_while_a_ticker_is_ready_wakes_one_iteration_later() {
    let rt = current_thread();
    let log = Log::new();
    let l = log.clone();
    block(&rt, async move {
        let ls = l.clone();
        let s = ravel::spawn(async move {
            ravel::sleep(ms(10)).await?;
            ls.push("sleeper woke");
            Ok(())
        });
        ravel::yield_now().await?; // the sleeper has registered its timer
        std::thread::sleep(ms(20)); // its deadline passes while we block
        let lt = l.clone();
        let t = ravel::spawn(async move {
            for i in 0..4 {
                lt.push(format!("tick {i}"));
                ravel::yield_now().await?;
            }
            Ok(())
        });
        s.await?;
        t.await
    });
    assert_eq!(log.events(), ["tick 0", "tick 1", "sleeper woke", "tick 2", "tick 3"]);
}
