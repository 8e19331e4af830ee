//! Timers fire while a worker is blocked: a due timer must not wait for a
//! busy worker to come back to the reactor.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One worker is held by a task that spins until a flag is set (giving up
/// after 5 s); the flag is set by a task after a 10 ms sleep. The sleeper's
/// timer must fire while the blocker holds its worker, so the blocker sees
/// the flag rather than giving up. Repeated, since which worker ends up in
/// the reactor varies.
#[test]
fn timer_fires_while_another_worker_is_blocked() {
    let rt = ravel_tests::multi_thread(2);
    for round in 0..20 {
        let released = rt
            .block_on(async move {
                let flag = Arc::new(AtomicBool::new(false));
                let f = flag.clone();
                let blocker = ravel::spawn(async move {
                    let give_up = Instant::now() + Duration::from_secs(5);
                    while !f.load(Ordering::Acquire) {
                        if Instant::now() > give_up {
                            return Ok(false);
                        }
                        std::hint::spin_loop();
                    }
                    Ok(true)
                });
                let f = flag.clone();
                let sleeper = ravel::spawn(async move {
                    ravel::sleep(Duration::from_millis(10)).await?;
                    f.store(true, Ordering::Release);
                    Ok(())
                });
                sleeper.await?;
                blocker.await
            })
            .unwrap();
        assert!(released, "round {round}: the timer waited for the blocked worker");
    }
}
