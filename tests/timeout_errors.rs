//! Which error comes out of a timeout scope, and its cause/context chain
//! (asyncio-semantics §2.C: C20; 3.13's splicing of the timeout error into
//! a foreign error's context chain, Ravel's choice per §3).

use ravel::{current_task, Error, TaskGroup, Timeout};
use ravel_tests::block;
use ravel_tests::both;
use std::fmt;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(10);
const SHORT: Duration = Duration::from_millis(10);

/// A user error standing in for Python's built-in exception types.
#[derive(Debug, PartialEq)]
struct Py(&'static str);

impl fmt::Display for Py {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Py {}

fn py(e: &Error) -> Option<&'static str> {
    e.downcast_ref::<Py>().map(|p| p.0)
}

/// Asserts `e` is a timeout error caused by a message-less cancellation that
/// is also its context.
fn assert_timeout_from_cancel(e: &Error) {
    assert!(e.is_timeout(), "{e:?}");
    let cause = e.cause().expect("cause");
    assert!(cause.is_cancelled() && cause.cancel_message().is_none(), "{e:?}");
    assert!(e.context().expect("context").is_cancelled(), "{e:?}");
}

/// C20: a foreign error raised in a scope that did not expire passes through
/// untouched (no context added) and the scope is not expired.
/// CPython: `test_timeouts.py::test_foreign_exception_passed`.
#[test]
fn c20_foreign_error_passes_through() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let cm = Timeout::after(SHORT);
            let err = cm.run(async { Err::<(), _>(Error::new(Py("KeyError"))) }).await.unwrap_err();
            assert_eq!(py(&err), Some("KeyError"), "{flavour}: {err:?}");
            assert!(err.context().is_none() && err.cause().is_none());
            assert!(!cm.expired());
            Ok(())
        });
    }
}

/// A body that fails, then is cancelled by the expiry while cleaning up,
/// re-raises the cancellation: a timeout error caused by it.
/// CPython: `test_timeouts.py::test_timeout_exception_context` (the implicit
/// `__context__` of the CancelledError, ZeroDivisionError, has no Ravel
/// equivalent: a Ravel await does not know what the code was handling).
#[test]
fn c20_cancel_during_cleanup_of_own_error_is_a_timeout() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let err = ravel::timeout(SHORT, async {
                let _zero_division = Error::new(Py("ZeroDivisionError"));
                // finally: await sleep(1)
                ravel::sleep(Duration::from_secs(1)).await?;
                Ok(())
            })
            .await
            .unwrap_err();
            assert_timeout_from_cancel(&err);
            assert_eq!(current_task().unwrap().cancelling(), 0, "{flavour}");
            Ok(())
        });
    }
}

/// A foreign error raised while the expiry's cancellation is being handled
/// propagates (not a timeout error), with the timeout error (caused by the
/// cancellation) as its context (3.13+).
/// CPython: `test_timeouts.py::test_foreign_exception_on_timeout`.
#[test]
fn c20_foreign_error_on_timeout_gets_timeout_context() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let cm = Timeout::after(SHORT);
            let err = cm
                .run(async {
                    // crash(): try: sleep(1) finally: 1/0
                    let _ = ravel::sleep(Duration::from_secs(1)).await;
                    Err::<(), _>(Error::new(Py("ZeroDivisionError")))
                })
                .await
                .unwrap_err();
            assert_eq!(py(&err), Some("ZeroDivisionError"), "{flavour}: {err:?}");
            assert!(err.cause().is_none());
            assert_timeout_from_cancel(err.context().expect("the timeout error is the context"));
            assert!(cm.expired());
            assert_eq!(current_task().unwrap().cancelling(), 0);
            // The expiry's cancellation was taken back: nothing is pending.
            ravel::sleep(Duration::from_millis(1)).await?;
            Ok(())
        });
    }
}

/// The timeout error is spliced at the end of a foreign error's existing
/// context chain: ZeroDivisionError ← KeyError ← TimeoutError ← cancellation.
/// CPython: `test_timeouts.py::test_foreign_exception_on_timeout_2`. There the
/// chain is ZeroDivisionError ← KeyError ← CancelledError ← ValueError and
/// the timeout error goes before the cancellation (see
/// `c20_timeout_inserted_before_first_cancellation_in_chain`); a Ravel error
/// has no implicit context, so a chain without a cancellation is taken to
/// have been raised while handling the expiry's cancellation, which sits at
/// its end (a documented difference: 3.13 inserts nothing into a chain
/// without a cancellation).
#[test]
fn c20_timeout_spliced_at_end_of_context_chain() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let err = ravel::timeout(SHORT, async {
                let _ = ravel::sleep(Duration::from_secs(1)).await;
                let key = Error::new(Py("KeyError"));
                Err::<(), _>(Error::new(Py("ZeroDivisionError")).with_context(key))
            })
            .await
            .unwrap_err();
            assert_eq!(py(&err), Some("ZeroDivisionError"), "{flavour}: {err:?}");
            let e2 = err.context().unwrap();
            assert_eq!(py(e2), Some("KeyError"));
            assert!(e2.cause().is_none());
            assert_timeout_from_cancel(e2.context().expect("timeout error at the end of the chain"));
            Ok(())
        });
    }
}

/// A cancellation with its own message raised by the body after the expiry
/// is still converted (3.13: any CancelledError, subclasses included); its
/// message survives as the cause.
/// CPython: `timeouts.py::Timeout.__aexit__` (`issubclass(exc_type, CancelledError)`).
#[test]
fn c20_own_cancellation_after_expiry_is_converted() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let err = ravel::timeout(SHORT, async {
                let _ = ravel::sleep(LONG).await;
                Err::<(), _>(Error::cancelled(Some("own")))
            })
            .await
            .unwrap_err();
            assert!(err.is_timeout(), "{flavour}: {err:?}");
            assert_eq!(err.cause().unwrap().cancel_message(), Some("own"));
            Ok(())
        });
    }
}

/// A TaskGroup error leaving an expired scope: the timeout error is attached
/// to the group and to each member (3.13), the group still holds exactly the
/// child's error, and the parent's counter is 0 with nothing pending.
/// CPython: `test_timeouts.py::test_timeout_taskgroup`.
#[test]
fn c20_timeout_around_failing_taskgroup() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let err = ravel::timeout(SHORT, async {
                TaskGroup::run(|tg| async move {
                    let started = ravel::Promise::new();
                    let st = started.clone();
                    tg.spawn(async move {
                        st.set_result(())?;
                        // try: sleep(2) finally: 1/0 (crash in cleanup)
                        let _ = ravel::sleep(Duration::from_secs(2)).await;
                        Err::<(), _>(Error::new(Py("ZeroDivisionError")))
                    })?;
                    started.await?;
                    // try: raise ValueError finally: await sleep(1)
                    let _value_error = Error::new(Py("ValueError"));
                    ravel::sleep(Duration::from_secs(1)).await?;
                    Ok(())
                })
                .await
            })
            .await
            .unwrap_err();
            let group = err.as_group().unwrap_or_else(|| panic!("{flavour}: {err:?}"));
            assert_eq!(group.message(), "unhandled errors in a TaskGroup");
            assert!(err.cause().is_none());
            assert_timeout_from_cancel(err.context().expect("timeout error as the group's context"));
            assert_eq!(group.len(), 1, "{group:?}");
            let e1 = &group.errors()[0];
            assert_eq!(py(e1), Some("ZeroDivisionError"));
            assert!(e1.cause().is_none());
            assert_timeout_from_cancel(e1.context().expect("timeout error as the member's context"));
            let me = current_task().unwrap();
            assert_eq!(me.cancelling(), 0);
            ravel::sleep(Duration::from_millis(1)).await?;
            Ok(())
        });
    }
}

// ----- where the timeout error goes in a chain that has a cancellation -----
//
// CPython 3.13.0 (`Timeout._insert_timeout_error`: before the first
// CancelledError of the chain, with it as cause and context; nothing if the
// chain has none), printing `type <- __context__ <- ...`:
//
//   raised in except CE: Foo <- TimeoutError(cause=CancelledError, cause is context: True) <- CancelledError
//   long chain: Foo <- KeyError <- TimeoutError(cause=CancelledError, cause is context: True) <- CancelledError <- ValueError
//   no cancellation in the chain: Foo <- KeyError
//   two cancellations in the chain: Foo <- TimeoutError(cause=CancelledError, cause is context: True) <- CancelledError('inner',) <- CancelledError
//
// (3.12.1 inserts nothing: `Foo <- CancelledError`, ...). The bodies:
// "raised in except CE" is `try: await sleep(1) except CancelledError: raise
// Foo`; "long chain" raises ValueError, is cancelled in its `finally: await
// sleep(1)`, and in `except CancelledError` raises KeyError and, handling
// that, Foo; "two cancellations" raises `CancelledError("inner")` in the
// `except CancelledError` and, handling that, Foo. Ravel builds the same
// chains with `with_context`. "No cancellation in the chain" is the
// difference documented at `c20_timeout_spliced_at_end_of_context_chain`.

/// The names along `e`'s context chain: `Py` names, or the kind with the
/// cancellation message (a timeout error's cause must be a cancellation).
fn chain(e: &Error) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = Some(e);
    while let Some(e) = cur {
        out.push(match py(e) {
            Some(name) => name.to_string(),
            None if e.is_cancelled() => format!("Cancelled({:?})", e.cancel_message()),
            None if e.is_timeout() => {
                assert!(e.cause().expect("a cause").is_cancelled(), "{e:?}");
                "Timeout(from Cancelled)".to_string()
            }
            None => format!("{:?}", e.kind()),
        });
        cur = e.context();
    }
    out
}

fn foo() -> Error {
    Error::new(Py("Foo"))
}

/// The cancellation the expiry delivered to the body.
async fn expiry() -> Error {
    ravel::sleep(Duration::from_secs(1)).await.expect_err("the expiry cancels the sleep")
}

#[test]
fn c20_timeout_inserted_before_cancellation_the_error_was_raised_in() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let err =
                ravel::timeout(SHORT, async { Err::<(), _>(foo().with_context(expiry().await)) }).await.unwrap_err();
            assert_eq!(chain(&err), ["Foo", "Timeout(from Cancelled)", "Cancelled(None)"], "{flavour}");
            Ok(())
        });
    }
}

#[test]
fn c20_timeout_inserted_before_first_cancellation_in_chain() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let err = ravel::timeout(SHORT, async {
                let value_error = Error::new(Py("ValueError"));
                let cancelled = expiry().await; // in the `finally` of the ValueError
                let key_error = Error::new(Py("KeyError")).with_context(cancelled.with_context(value_error));
                Err::<(), _>(foo().with_context(key_error))
            })
            .await
            .unwrap_err();
            assert_eq!(
                chain(&err),
                ["Foo", "KeyError", "Timeout(from Cancelled)", "Cancelled(None)", "ValueError"],
                "{flavour}"
            );
            // The timeout error's cause is the chain's cancellation itself.
            let timeout = err.context().unwrap().context().unwrap();
            assert_eq!(py(timeout.cause().unwrap().context().unwrap()), Some("ValueError"));
            Ok(())
        });
    }
}

#[test]
fn c20_timeout_inserted_before_first_of_two_cancellations() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let err = ravel::timeout(SHORT, async {
                let cancelled = expiry().await;
                let inner = Error::cancelled(Some("inner")).with_context(cancelled);
                Err::<(), _>(foo().with_context(inner))
            })
            .await
            .unwrap_err();
            assert_eq!(
                chain(&err),
                ["Foo", "Timeout(from Cancelled)", "Cancelled(Some(\"inner\"))", "Cancelled(None)"],
                "{flavour}"
            );
            assert_eq!(err.context().unwrap().cause().unwrap().cancel_message(), Some("inner"));
            Ok(())
        });
    }
}
