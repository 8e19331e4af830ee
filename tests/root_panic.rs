//! A panic of the root future (`Runtime::block_on`, `Runtime::run`,
//! `ravel::run`) resumes in the caller with its original payload, as
//! Tokio's `block_on`, `std::thread::scope` and asyncio `run` (for
//! `SystemExit`/`KeyboardInterrupt`) propagate; a child task's panic stays
//! that task's error.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Once};
use std::time::Duration;

const TAG: &str = "ravel-test-panic:";

/// Keeps the panics raised on purpose off stderr.
fn quiet_test_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let p = info.payload();
            let msg = p.downcast_ref::<&str>().copied().or_else(|| p.downcast_ref::<String>().map(String::as_str));
            if !msg.is_some_and(|m| m.starts_with(TAG)) {
                default(info);
            }
        }));
    });
}

/// The payload a caught panic carries, as text.
fn message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(p) => p.downcast_ref::<&str>().expect("a string payload").to_string(),
    }
}

/// A panic of the root future of `block_on` unwinds out of `block_on`
/// itself, with the root's payload, on both flavours; ignoring the result
/// (`let _ =`) cannot swallow it.
#[test]
fn block_on_resumes_the_root_panic_in_the_caller() {
    quiet_test_panics();
    for (flavour, rt) in ravel_tests::both() {
        let caught = catch_unwind(AssertUnwindSafe(|| {
            let _ = rt.block_on(async {
                ravel::yield_now().await?;
                panic!("{TAG} root of block_on");
                #[allow(unreachable_code)]
                Ok(())
            });
        }));
        let payload = caught.expect_err("block_on returned instead of unwinding");
        assert_eq!(message(payload), format!("{TAG} root of block_on"), "{flavour}");
        // The runtime is still usable.
        assert_eq!(rt.block_on(async { Ok(5) }).unwrap(), 5, "{flavour}");
    }
}

/// A panic of a task the root awaits is that task's error: `block_on`
/// returns it, it does not unwind.
#[test]
fn block_on_returns_a_child_panic_as_an_error() {
    quiet_test_panics();
    for (flavour, rt) in ravel_tests::both() {
        let out = rt.block_on(async {
            let child = ravel::spawn(async {
                panic!("{TAG} child");
                #[allow(unreachable_code)]
                Ok(())
            });
            child.await
        });
        let err = out.unwrap_err();
        assert!(err.is_panic(), "{flavour}: {err:?}");
        assert_eq!(message(err.take_panic().unwrap()), format!("{TAG} child"), "{flavour}");
    }
}

/// `Runtime::run`: main's panic resumes in the caller, after the tasks
/// still alive were cancelled and had their cleanup awaited (asyncio `run`
/// cancels the leftovers in its `finally`).
#[test]
fn runtime_run_resumes_main_panic_after_cancelling_leftovers() {
    quiet_test_panics();
    for (flavour, rt) in ravel_tests::both() {
        let cleaned = Arc::new(AtomicBool::new(false));
        let c = cleaned.clone();
        let caught = catch_unwind(AssertUnwindSafe(|| {
            rt.run(async move {
                let _leftover = ravel::spawn(async move {
                    let err = ravel::sleep(Duration::from_secs(3600)).await.unwrap_err();
                    assert!(err.is_cancelled());
                    ravel::yield_now().await.ok(); // async cleanup
                    c.store(true, SeqCst);
                    Err::<(), _>(err)
                });
                ravel::yield_now().await?;
                panic!("{TAG} main of Runtime::run");
                #[allow(unreachable_code)]
                Ok(())
            })
        }));
        assert_eq!(message(caught.unwrap_err()), format!("{TAG} main of Runtime::run"), "{flavour}");
        assert!(cleaned.load(SeqCst), "{flavour}: the leftover task was cancelled and awaited first");
        assert_eq!(rt.run(async { Ok(1) }).unwrap(), 1, "{flavour}: the runtime is still usable");
    }
}

/// `ravel::run`: main's panic resumes in the caller with its payload (not
/// only `String`/`&str` payloads: the original box comes back).
#[test]
fn ravel_run_resumes_main_panic_with_original_payload() {
    quiet_test_panics();
    #[derive(Debug, PartialEq)]
    struct Custom(u32);
    let caught = catch_unwind(|| {
        ravel::run(async {
            ravel::yield_now().await?;
            std::panic::panic_any(Custom(7));
            #[allow(unreachable_code)]
            Ok(())
        })
    });
    let payload = caught.unwrap_err();
    assert_eq!(payload.downcast_ref::<Custom>(), Some(&Custom(7)));
}
