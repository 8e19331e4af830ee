//! The cancel counters (`cancel`, `uncancel`, `cancelling`) and delivery,
//! under random interleavings, against a model of asyncio 3.13's rules
//! (shared spec, algorithms §2–§5):
//!
//! - `cancel(msg)` on a done task returns false and leaves the counter;
//!   otherwise it adds one (repeats are not collapsed), marks a delivery
//!   pending and records `msg` (the task is running, not suspended on a
//!   future, so the latest message wins).
//! - `uncancel()` subtracts one if above zero and returns the new value;
//!   reaching zero withdraws the pending delivery (3.13). It works on done
//!   tasks.
//! - The next await delivers a pending cancellation once, with the message;
//!   catching it leaves the counter as it is.
//! - A task that returns while a delivery is pending ends cancelled, its
//!   value discarded.
//!
//! The task runs the operations on itself (so none is forwarded to an
//! awaited future, whose cancel asyncio cannot withdraw); after it ends,
//! the rest run from outside on the done task.

use proptest::prelude::*;
use ravel::{Builder, TaskRef};

#[derive(Debug, Clone)]
enum Op {
    /// `cancel()` or `cancel_with(msg)` on the task.
    Cancel(Option<u8>),
    Uncancel,
    /// `yield_now().await`, a delivery point; a cancellation that comes out
    /// is caught (`catch`) or ends the task.
    Await {
        catch: bool,
    },
    /// The task returns `Ok`.
    Return,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => proptest::option::of(0u8..4).prop_map(Op::Cancel),
        3 => Just(Op::Uncancel),
        3 => proptest::bool::weighted(0.8).prop_map(|catch| Op::Await { catch }),
        1 => Just(Op::Return),
    ]
}

/// asyncio 3.13's task, as far as the counters go.
#[derive(Debug, Default)]
struct Model {
    count: u32,
    must_cancel: bool,
    message: Option<String>,
    done: bool,
}

impl Model {
    fn cancel(&mut self, msg: Option<String>) -> bool {
        if self.done {
            return false;
        }
        self.count += 1;
        self.must_cancel = true;
        self.message = msg;
        true
    }

    fn uncancel(&mut self) -> u32 {
        if self.count > 0 {
            self.count -= 1;
            if self.count == 0 {
                self.must_cancel = false;
            }
        }
        self.count
    }

    /// An await: the delivered message, if a cancellation comes out.
    fn deliver(&mut self) -> Option<Option<String>> {
        std::mem::take(&mut self.must_cancel).then(|| self.message.clone())
    }
}

fn message(m: Option<u8>) -> Option<String> {
    m.map(|m| format!("m{m}"))
}

fn cancel(task: &TaskRef, m: Option<u8>) -> bool {
    match message(m) {
        Some(text) => task.cancel_with(text),
        None => task.cancel(),
    }
}

/// How the body stopped: the index of its last operation and, when it
/// let a cancellation out, that error.
struct Stop {
    at: usize,
    model: Model,
    raised: Option<ravel::Error>,
}

/// Runs the operations inside the task, checking each against the model.
async fn body(ops: Vec<Op>) -> Result<Stop, TestCaseError> {
    let me = ravel::current_task().expect("inside a task");
    let mut model = Model::default();
    for (i, op) in ops.iter().cloned().enumerate() {
        match op {
            Op::Cancel(m) => {
                let want = model.cancel(message(m));
                prop_assert_eq!(cancel(&me, m), want, "op {}: cancel()", i);
            }
            Op::Uncancel => {
                let want = model.uncancel();
                prop_assert_eq!(me.uncancel(), want, "op {}: uncancel()", i);
            }
            Op::Await { catch } => {
                let want = model.deliver();
                match (ravel::yield_now().await, want) {
                    (Ok(()), None) => {}
                    (Err(e), Some(msg)) if e.is_cancelled() => {
                        prop_assert_eq!(e.cancel_message(), msg.as_deref(), "op {}: message", i);
                        if !catch {
                            return Ok(Stop { at: i, model, raised: Some(e) });
                        }
                    }
                    (got, want) => prop_assert!(false, "op {}: await gave {:?}, the model {:?}", i, got, want),
                }
            }
            Op::Return => return Ok(Stop { at: i, model, raised: None }),
        }
        prop_assert_eq!(me.cancelling(), model.count, "op {}: cancelling()", i);
    }
    Ok(Stop { at: ops.len(), model, raised: None })
}

fn check(ops: Vec<Op>, eager: bool) -> Result<(), TestCaseError> {
    let rt = Builder::new_current_thread().eager_tasks(eager).build().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    let seen_in = seen.clone();
    let body_ops = ops.clone();
    let outside = rt.block_on(async move {
        let task = ravel::spawn(async move {
            let checked = body(body_ops).await;
            let raised = checked.as_ref().ok().and_then(|s| s.raised.clone());
            *seen_in.lock().unwrap() = Some(checked);
            match raised {
                Some(e) => Err(e),
                None => Ok(()),
            }
        });
        let outside = task.to_task_ref();
        let _ = task.await;
        Ok(outside)
    });
    let outside = outside.map_err(|e| TestCaseError::fail(format!("the root failed: {e}")))?;
    let Stop { at, mut model, raised } = seen.lock().unwrap().take().expect("the body ran")?;
    // How it ended: the cancellation it let out, or, when it returned, the
    // one still pending (its value discarded), or a plain return.
    let end = match raised {
        Some(e) => Some(e.cancel_message().map(str::to_string)),
        None => model.deliver(),
    };
    model.done = true;
    prop_assert!(outside.done());
    prop_assert_eq!(outside.cancelled(), end.is_some(), "ended with {:?}", end);
    if let Some(msg) = &end {
        let e = outside.exception().unwrap_err();
        prop_assert_eq!(e.cancel_message(), msg.as_deref());
    }
    prop_assert_eq!(outside.cancelling(), model.count, "cancelling() after the end");
    // The rest of the operations, on the done task.
    for op in ops.into_iter().skip(at + 1) {
        match op {
            Op::Cancel(m) => prop_assert!(!cancel(&outside, m), "cancel() of a done task"),
            Op::Uncancel => prop_assert_eq!(outside.uncancel(), model.uncancel()),
            Op::Await { .. } | Op::Return => {}
        }
        prop_assert_eq!(outside.cancelling(), model.count);
    }
    Ok(())
}

proptest! {
    // 256 cases of up to 60 operations: well under a second in debug.
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn counters_and_delivery_match_asyncio_3_13(ops in proptest::collection::vec(op(), 0..60)) {
        check(ops, false)?;
    }

    /// The same with eager tasks: the body's first steps run inside `spawn`.
    #[test]
    fn counters_and_delivery_match_asyncio_3_13_eager(ops in proptest::collection::vec(op(), 0..60)) {
        check(ops, true)?;
    }
}
