//! `ravel::sync::{Queue, LifoQueue, PriorityQueue}`: asyncio's queues with
//! 3.13 `shutdown()` (asyncio-sync-semantics §1 items 1, 7, 8 and §2 "Q").
//!
//! Every [core] Q case, named by its id; the expected values are CPython
//! 3.13.0's, printed by the scenario written in Python (quoted in each
//! test). Cases that count ticks run on the current-thread runtime
//! (asyncio's FIFO order); the others run on both flavours. `tick` is
//! `ravel::yield_now()`, asyncio's `sleep(0)`.

use ravel::sync::{
    GetNowaitError, LifoQueue, PriorityQueue, PutNowaitError, Queue, QueueEmpty, QueueFull, QueueShutDown,
};
use ravel::{current_task, Error, TaskGroup};
use ravel_tests::{block, both, current_thread, multi_thread, Log};
use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

async fn tick() -> ravel::Result<()> {
    ravel::yield_now().await
}

fn is_shut_down(e: &Error) -> bool {
    e.downcast_ref::<QueueShutDown>().is_some()
}

/// Ticks until `cond` holds (a task on another worker to block, say).
async fn until(mut cond: impl FnMut() -> bool) -> ravel::Result<()> {
    while !cond() {
        tick().await?;
    }
    Ok(())
}

/// A user error standing in for Python's `ValueError`.
#[derive(Debug, PartialEq)]
struct ValueError(&'static str);

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for ValueError {}

/// Q01: `put` 1, 3, 2 and three `get`s, per class; PriorityQueue ties
/// compare on the second element.
/// CPython: `test_queues.py::QueueBasicTests::test_order`, `LifoQueueTests::test_order`,
/// `PriorityQueueTests::test_order`. CPython 3.13.0 prints:
/// ```text
/// Queue [1, 3, 2]
/// LifoQueue [2, 3, 1]
/// PriorityQueue [1, 2, 3]
/// [(0, 'x'), (1, 'a'), (1, 'z'), (2, 'b')]
/// ```
#[test]
fn q01_order_per_class() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let q = Queue::new(0);
            let l = LifoQueue::new(0);
            let p = PriorityQueue::new(0);
            for i in [1, 3, 2] {
                q.put(i).await?;
                l.put(i).await?;
                p.put(i).await?;
            }
            assert_eq!([q.get().await?, q.get().await?, q.get().await?], [1, 3, 2], "{flavour}: Queue");
            assert_eq!([l.get().await?, l.get().await?, l.get().await?], [2, 3, 1], "{flavour}: LifoQueue");
            assert_eq!([p.get().await?, p.get().await?, p.get().await?], [1, 2, 3], "{flavour}: PriorityQueue");

            let p = PriorityQueue::new(0);
            for x in [(2, 'b'), (1, 'z'), (1, 'a'), (0, 'x')] {
                p.put_nowait(x).unwrap();
            }
            let out: Vec<_> = (0..4).map(|_| p.get_nowait().unwrap()).collect();
            assert_eq!(out, [(0, 'x'), (1, 'a'), (1, 'z'), (2, 'b')], "{flavour}");
            Ok(())
        });
    }
}

/// Q02: the nowait errors, the sizes, maxsize, the `str`.
/// CPython: `QueueGetTests::test_nonblocking_get_exception`, `QueuePutTests::test_nonblocking_put_exception`,
/// `::test_float_maxsize`, `QueueBasicTests::test_full`, `::test_str`. CPython 3.13.0 prints:
/// ```text
/// QueueEmpty ()
/// QueueFull ()
/// (1, False, True, 1)
/// 0 False
/// -1 False
/// <Queue maxsize=0 _queue=[1] tasks=1>
/// ```
/// Ravel's `maxsize` is a `usize`: -1 and 1.3 have no counterpart (0 is
/// unbounded); the errors are std errors (asyncio's subclass `Exception`),
/// and `QueueFull` gives the item back.
#[test]
fn q02_nowait_errors_sizes_maxsize() {
    fn std_error<E: std::error::Error + Send + Sync + 'static>() {}
    std_error::<QueueEmpty>();
    std_error::<QueueFull<String>>();
    std_error::<QueueShutDown>();
    std_error::<GetNowaitError>();
    std_error::<PutNowaitError<String>>();

    let q = Queue::new(1);
    assert_eq!(q.get_nowait(), Err(GetNowaitError::Empty(QueueEmpty)));
    q.put_nowait(1).unwrap();
    assert_eq!(q.put_nowait(2), Err(PutNowaitError::Full(QueueFull(2))));
    assert_eq!((q.qsize(), q.empty(), q.full(), q.maxsize()), (1, false, true, 1));

    let unbounded = Queue::new(0);
    for i in 0..1000 {
        unbounded.put_nowait(i).unwrap();
    }
    assert!(!unbounded.full());
    assert_eq!(unbounded.qsize(), 1000);

    let q = Queue::new(0);
    q.put_nowait(1).unwrap();
    assert_eq!(format!("{q:?}"), "<Queue maxsize=0 _queue=[1] tasks=1>");
    // LifoQueue and PriorityQueue print their names and storage order
    // (CPython: `<PriorityQueue maxsize=0 _queue=[1, 2, 4, 5, 3] tasks=5>`,
    // then `_queue=[2, 3, 4, 5]` after a get; `<LifoQueue maxsize=2 _queue=[1] tasks=1>`).
    let p = PriorityQueue::new(0);
    for x in [5, 1, 4, 2, 3] {
        p.put_nowait(x).unwrap();
    }
    assert_eq!(format!("{p:?}"), "<PriorityQueue maxsize=0 _queue=[1, 2, 4, 5, 3] tasks=5>");
    p.get_nowait().unwrap();
    assert_eq!(format!("{p:?}"), "<PriorityQueue maxsize=0 _queue=[2, 3, 4, 5] tasks=5>");
    let l = LifoQueue::new(2);
    l.put_nowait(1).unwrap();
    assert_eq!(format!("{l:?}"), "<LifoQueue maxsize=2 _queue=[1] tasks=1>");
}

/// Q03: a putter blocked on a full `Queue(2)` is woken by a get and puts
/// one tick later.
/// CPython: `QueueBasicTests::test_maxsize`. CPython 3.13.0 prints:
/// ```text
/// after 2 ticks [0, 1] 1
/// get 0 [0, 1]
/// after tick [0, 1, 2]
/// rest [1, 2] True
/// ```
/// Order-dependent: current-thread.
#[test]
fn q03_blocking_put_with_maxsize() {
    let rt = current_thread();
    block(&rt, async move {
        let q = Queue::new(2);
        let have = Arc::new(Mutex::new(Vec::new()));
        let (p, h) = (q.clone(), have.clone());
        let putter = ravel::spawn(async move {
            for i in 0..3 {
                p.put(i).await?;
                h.lock().unwrap().push(i);
            }
            Ok(true)
        });
        tick().await?;
        tick().await?;
        assert_eq!((have.lock().unwrap().clone(), q.putters()), (vec![0, 1], 1));
        assert_eq!(q.get().await?, 0);
        assert_eq!(*have.lock().unwrap(), [0, 1], "the woken putter has not run yet");
        tick().await?;
        assert_eq!(*have.lock().unwrap(), [0, 1, 2]);
        assert_eq!([q.get().await?, q.get().await?], [1, 2]);
        assert!(putter.await?);
        Ok(())
    });
}

/// Q04: blocked getters are served FIFO; one put wakes (and pops) one
/// getter.
/// Source: probe. CPython 3.13.0 prints:
/// ```text
/// getters after first put 2
/// [('A', 1), ('B', 2), ('C', 3)]
/// ```
/// Order-dependent: current-thread.
#[test]
fn q04_blocked_getters_fifo_one_put_wakes_one() {
    let rt = current_thread();
    block(&rt, async move {
        let q = Queue::new(0);
        let got = Log::new();
        for name in ["A", "B", "C"] {
            let (q, got) = (q.clone(), got.clone());
            ravel::spawn(async move {
                let item = q.get().await?;
                got.push(format!("{name} {item}"));
                Ok(())
            });
        }
        tick().await?;
        assert_eq!(q.getters(), 3);
        q.put_nowait(1).unwrap();
        assert_eq!(q.getters(), 2);
        q.put_nowait(2).unwrap();
        q.put_nowait(3).unwrap();
        tick().await?;
        assert_eq!(got.events(), ["A 1", "B 2", "C 3"]);
        Ok(())
    });
}

/// Q05 (the rule of §1 item 7, not a [core] case): a woken getter or
/// putter that a `*_nowait` call beats to the item or slot waits again,
/// at the back.
/// Source: probe. CPython 3.13.0 prints:
/// ```text
/// stolen 1 1
/// after tick getters 2 []
/// [('B', 2), ('A', 3)]
/// got x
/// putters 2 []
/// y
/// ['b'] ['b']
/// b
/// ['b', 'a'] ['a']
/// ```
/// Order-dependent: current-thread.
#[test]
fn q05_woken_waiter_beaten_by_nowait_waits_again_at_the_back() {
    let rt = current_thread();
    block(&rt, async move {
        let q = Queue::new(0);
        let got = Log::new();
        for name in ["A", "B"] {
            let (q, got) = (q.clone(), got.clone());
            ravel::spawn(async move {
                let item = q.get().await?;
                got.push(format!("{name} {item}"));
                Ok(())
            });
        }
        tick().await?;
        q.put_nowait(1).unwrap(); // wakes (pops) A
        assert_eq!((q.get_nowait(), q.getters()), (Ok(1), 1), "stolen");
        tick().await?; // A finds the queue empty and queues behind B
        assert_eq!((q.getters(), got.events().len()), (2, 0));
        q.put_nowait(2).unwrap();
        q.put_nowait(3).unwrap();
        tick().await?;
        assert_eq!(got.events(), ["B 2", "A 3"]);

        let q = Queue::new(1);
        q.put_nowait("x").unwrap();
        let order = Log::new();
        for name in ["a", "b"] {
            let (q, order) = (q.clone(), order.clone());
            ravel::spawn(async move {
                q.put(name).await?;
                order.push(name);
                Ok(())
            });
        }
        tick().await?;
        assert_eq!(q.get_nowait(), Ok("x")); // wakes (pops) a
        q.put_nowait("y").unwrap(); // and takes its slot
        tick().await?;
        assert_eq!((q.putters(), order.events().len()), (2, 0));
        assert_eq!(q.get_nowait(), Ok("y"));
        tick().await?;
        assert_eq!(order.events(), ["b"]);
        assert_eq!(q.get_nowait(), Ok("b"));
        tick().await?;
        assert_eq!(order.events(), ["b", "a"]);
        assert_eq!(q.get_nowait(), Ok("a"));
        Ok(())
    });
}

/// Q06: a timed-out get and a cancelled put leave no waiter behind; the
/// queue's contents stay.
/// CPython: `QueueGetTests::test_cancelled_getters_not_being_held_in_self_getters`,
/// `QueuePutTests::test_cancelled_puts_not_being_held_in_self_putters`. CPython 3.13.0 prints:
/// ```text
/// TE () 0
/// TE () 0
/// putters 1
/// CE () (0, [1])
/// ```
#[test]
fn q06_cancelled_or_timed_out_get_and_put_leave_no_waiter() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let q = Queue::<i32>::new(0);
            let err = ravel::wait_for(q.get(), Duration::from_millis(10)).await.unwrap_err();
            assert!(err.is_timeout(), "{flavour}: {err:?}");
            assert_eq!(q.getters(), 0, "{flavour}");
            let err = ravel::timeout(Duration::from_millis(10), q.get()).await.unwrap_err();
            assert!(err.is_timeout(), "{flavour}: {err:?}");
            assert_eq!(q.getters(), 0, "{flavour}");

            let q = Queue::new(1);
            q.put_nowait(1).unwrap();
            let p = q.clone();
            let putter = ravel::spawn(async move { p.put(2).await });
            until(|| q.putters() == 1).await?;
            putter.cancel();
            let err = putter.await.unwrap_err();
            assert!(err.is_cancelled() && err.cancel_message().is_none(), "{flavour}: {err:?}");
            assert_eq!((q.putters(), format!("{q:?}")), (0, "<Queue maxsize=1 _queue=[1] tasks=1>".into()));
            Ok(())
        });
    }
}

/// The pass-on rule behind Q07/Q08/Q12 (§1 items 1 and 7): a getter woken
/// by a put and cancelled before it runs leaves the item and wakes the
/// next getter; a putter woken by a get and cancelled before it runs
/// wakes the next putter. `cancel()` returns true (the task is still
/// pending) and the task sees the cancellation at its await.
/// Source: probe. CPython 3.13.0 prints:
/// ```text
/// getters after put 1 A cancel -> True
/// [('A', 'CE')] getters 0 qsize 1
/// [('A', 'CE'), ('B', 1)] getters 0 qsize 0
/// x putters 1 a cancel -> True
/// ['a CE'] [] 0
/// ['a CE', 'b'] ['b'] 0
/// ```
/// Order-dependent: current-thread.
#[test]
fn woken_then_cancelled_waiter_passes_its_wakeup_on() {
    let rt = current_thread();
    block(&rt, async move {
        let q = Queue::new(0);
        let got = Log::new();
        let mut getters = Vec::new();
        for name in ["A", "B"] {
            let (q, got) = (q.clone(), got.clone());
            getters.push(ravel::spawn(async move {
                match q.get().await {
                    Ok(item) => got.push(format!("{name} {item}")),
                    Err(e) => {
                        got.push(format!("{name} CE"));
                        return Err(e);
                    }
                }
                Ok(())
            }));
        }
        tick().await?;
        q.put_nowait(1).unwrap();
        assert_eq!(q.getters(), 1);
        assert!(getters[0].cancel());
        tick().await?;
        assert_eq!((got.events(), q.getters(), q.qsize()), (vec!["A CE".to_string()], 0, 1));
        tick().await?;
        assert_eq!((got.events(), q.getters(), q.qsize()), (vec!["A CE".into(), "B 1".into()], 0, 0));

        let q = Queue::new(1);
        q.put_nowait("x").unwrap();
        let order = Log::new();
        let mut putters = Vec::new();
        for name in ["a", "b"] {
            let (q, order) = (q.clone(), order.clone());
            putters.push(ravel::spawn(async move {
                match q.put(name).await {
                    Ok(()) => order.push(name),
                    Err(e) => {
                        order.push(format!("{name} CE"));
                        return Err(e);
                    }
                }
                Ok(())
            }));
        }
        tick().await?;
        assert_eq!((q.get_nowait(), q.putters()), (Ok("x"), 1));
        assert!(putters[0].cancel());
        tick().await?;
        assert_eq!((order.events(), q.qsize(), q.putters()), (vec!["a CE".to_string()], 0, 0));
        tick().await?;
        assert_eq!((order.events(), q.get_nowait(), q.putters()), (vec!["a CE".into(), "b".into()], Ok("b"), 0));
        Ok(())
    });
}

/// Q09: `task_done()` and `join()`; the counter counts puts, not gets.
/// CPython: `QueueJoinTests::test_task_done_underflow`, `::test_join_empty_queue`, `::test_task_done`,
/// `::test_format`. CPython 3.13.0 prints:
/// ```text
/// VE ('task_done() called too many times',)
/// join empty ok
/// <Queue maxsize=0 _queue=[0, 1, 2] tasks=3>
/// (False, False)
/// (False, False, 1)
/// (True, True, 0)
/// VE ('task_done() called too many times',)
/// joined 1
/// ```
/// Order-dependent: current-thread.
#[test]
fn q09_task_done_and_join() {
    let rt = current_thread();
    block(&rt, async move {
        let q = Queue::new(0);
        let err = q.task_done().unwrap_err();
        assert!(err.is_invalid_state());
        assert_eq!(err.to_string(), "task_done() called too many times");
        q.join().await?;

        for i in 0..3 {
            q.put_nowait(i).unwrap();
        }
        assert_eq!(format!("{q:?}"), "<Queue maxsize=0 _queue=[0, 1, 2] tasks=3>");
        let joins: Vec<_> = (0..2)
            .map(|_| {
                let q = q.clone();
                ravel::spawn(async move { q.join().await })
            })
            .collect();
        for _ in 0..3 {
            q.get_nowait().unwrap();
        }
        tick().await?;
        assert_eq!((joins[0].done(), joins[1].done()), (false, false));
        q.task_done()?;
        q.task_done()?;
        tick().await?;
        assert_eq!((joins[0].done(), joins[1].done(), q.unfinished_tasks()), (false, false, 1));
        q.task_done()?;
        tick().await?;
        assert_eq!((joins[0].done(), joins[1].done(), q.unfinished_tasks()), (true, true, 0));
        assert_eq!(q.task_done().unwrap_err().to_string(), "task_done() called too many times");
        for j in joins {
            j.await?;
        }

        q.put_nowait(9).unwrap();
        q.task_done()?;
        q.join().await?;
        assert_eq!(q.qsize(), 1, "joined with the item still queued");
        Ok(())
    });
}

/// Q10: a worker pool with `join()`; a TaskGroup sibling fails while a
/// consumer waits in `get()`.
/// CPython: `QueueJoinTests::test_task_done`; probe. CPython 3.13.0 prints:
/// ```text
/// [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
/// getters 0
/// (ValueError('producer died'),)
/// ['consumer CE'] 0
/// ```
#[test]
fn q10_worker_pool_join_and_taskgroup_sibling_failure() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let q = Queue::new(0);
            let done = Arc::new(Mutex::new(Vec::new()));
            let workers: Vec<_> = (0..2)
                .map(|_| {
                    let (q, done) = (q.clone(), done.clone());
                    ravel::spawn(async move {
                        loop {
                            let i = match q.get().await {
                                Ok(i) => i,
                                Err(e) => return Err::<(), _>(e),
                            };
                            done.lock().unwrap().push(i);
                            q.task_done()?;
                        }
                    })
                })
                .collect();
            for i in 0..10 {
                q.put_nowait(i).unwrap();
            }
            q.join().await?;
            let mut seen = done.lock().unwrap().clone();
            seen.sort();
            assert_eq!(seen, (0..10).collect::<Vec<_>>(), "{flavour}");
            for w in &workers {
                w.cancel();
            }
            for w in workers {
                assert!(w.await.unwrap_err().is_cancelled());
            }
            assert_eq!(q.getters(), 0, "{flavour}");

            let q = Queue::<i32>::new(0);
            let log = Log::new();
            let (c, l) = (q.clone(), log.clone());
            let err = TaskGroup::run(move |tg| async move {
                tg.spawn(async move {
                    match c.get().await {
                        Err(e) if e.is_cancelled() => {
                            l.push("consumer CE");
                            Err(e)
                        }
                        other => other.map(drop),
                    }
                })?;
                tg.spawn(async move {
                    tick().await?;
                    Err::<(), _>(Error::new(ValueError("producer died")))
                })?;
                Ok(())
            })
            .await
            .unwrap_err();
            let group = err.as_group().unwrap_or_else(|| panic!("{flavour}: not a group: {err:?}"));
            assert_eq!(group.len(), 1);
            assert_eq!(group.errors()[0].downcast_ref::<ValueError>(), Some(&ValueError("producer died")));
            assert_eq!((log.events(), q.getters()), (vec!["consumer CE".to_string()], 0), "{flavour}");
            Ok(())
        });
    }
}

/// Q11: several blocked putters are served FIFO.
/// CPython: `QueueGetTests::test_get_with_waiting_putters`, `QueuePutTests::test_why_are_putters_waiting`.
/// CPython 3.13.0 prints:
/// ```text
/// (['put a'], 2, ['a'])
/// ['a', 'b', 'c']
/// ['put a', 'put b', 'put c']
/// ```
/// Order-dependent: current-thread.
#[test]
fn q11_blocked_putters_served_fifo() {
    let rt = current_thread();
    block(&rt, async move {
        let q = Queue::new(1);
        let order = Log::new();
        let putters: Vec<_> = ["a", "b", "c"]
            .into_iter()
            .map(|x| {
                let (q, order) = (q.clone(), order.clone());
                ravel::spawn(async move {
                    q.put(x).await?;
                    order.push(format!("put {x}"));
                    Ok(())
                })
            })
            .collect();
        tick().await?;
        assert_eq!(
            (order.events(), q.putters(), format!("{q:?}")),
            (vec!["put a".to_string()], 2, "<Queue maxsize=1 _queue=[\"a\"] _putters[2] tasks=1>".to_string())
        );
        assert_eq!([q.get().await?, q.get().await?, q.get().await?], ["a", "b", "c"]);
        for p in putters {
            p.await?;
        }
        assert_eq!(order.events(), ["put a", "put b", "put c"]);
        Ok(())
    });
}

/// Q15: maxsize and wake-ups work the same for LifoQueue and
/// PriorityQueue.
/// Source: probe. CPython 3.13.0 prints (the gets in order, sorted, and the putter done):
/// ```text
/// LifoQueue ([1, 3, 5], True) [1, 3, 5]
/// PriorityQueue ([1, 3, 5], True) [1, 3, 5]
/// ```
/// Order-dependent: current-thread.
#[test]
fn q15_maxsize_and_wakeups_for_lifo_and_priority() {
    let rt = current_thread();
    block(&rt, async move {
        let lifo = LifoQueue::new(2);
        lifo.put_nowait(5).unwrap();
        lifo.put_nowait(1).unwrap();
        let q = lifo.clone();
        let putter = ravel::spawn(async move { q.put(3).await });
        tick().await?;
        let mut out = vec![lifo.get_nowait().unwrap()];
        tick().await?;
        out.extend([lifo.get_nowait().unwrap(), lifo.get_nowait().unwrap()]);
        assert_eq!((out, putter.done()), (vec![1, 3, 5], true), "LifoQueue");

        let prio = PriorityQueue::new(2);
        prio.put_nowait(5).unwrap();
        prio.put_nowait(1).unwrap();
        let q = prio.clone();
        let putter = ravel::spawn(async move { q.put(3).await });
        tick().await?;
        let mut out = vec![prio.get_nowait().unwrap()];
        tick().await?;
        out.extend([prio.get_nowait().unwrap(), prio.get_nowait().unwrap()]);
        assert_eq!((out, putter.done()), (vec![1, 3, 5], true), "PriorityQueue");
        Ok(())
    });
}

/// Q16: `shutdown()` of an empty queue with a blocked getter: the getter
/// fails one tick later; every put and get fails; the `str`.
/// CPython: `QueueShutdownTests::test_shutdown_empty` (3.13), `::test_format` (3.13). CPython 3.13.0 prints:
/// ```text
/// None False
/// QSD ()
/// None
/// put QSD
/// get QSD
/// put_nowait QSD
/// get_nowait QSD
/// <Queue maxsize=0 shutdown> (<class 'Exception'>,)
/// ```
/// Order-dependent: current-thread.
#[test]
fn q16_shutdown_empty_queue_with_blocked_getter() {
    let rt = current_thread();
    block(&rt, async move {
        let q = Queue::<i32>::new(0);
        let g = q.clone();
        let getter = ravel::spawn(async move { g.get().await });
        tick().await?;
        q.shutdown(false);
        assert!(!getter.done(), "woken, not yet run");
        tick().await?;
        assert!(getter.done());
        let err = getter.await.unwrap_err();
        assert!(is_shut_down(&err), "{err:?}");
        assert_eq!(err.to_string(), "the queue is shut down");
        q.join().await?;
        assert!(is_shut_down(&q.put(1).await.unwrap_err()));
        assert!(is_shut_down(&q.get().await.unwrap_err()));
        assert_eq!(q.put_nowait(1), Err(PutNowaitError::ShutDown(1)));
        assert_eq!(q.get_nowait(), Err(GetNowaitError::ShutDown(QueueShutDown)));
        assert_eq!(format!("{q:?}"), "<Queue maxsize=0 shutdown>");
        assert!(q.is_shutdown());
        Ok(())
    });
}

/// Q17: `shutdown()` of a full queue: the blocked putter fails, the item
/// still drains, `join()` waits for its `task_done()`.
/// CPython: `QueueShutdownTests::test_shutdown_nonempty` (3.13). CPython 3.13.0 prints:
/// ```text
/// qsize 1
/// putter QSD
/// data False
/// put QSD
/// get QSD
/// put_nowait QSD
/// get_nowait QSD
/// (True, 'result', None)
/// VE ('task_done() called too many times',)
/// ```
/// Order-dependent: current-thread.
#[test]
fn q17_shutdown_full_queue_putters_fail_items_drain() {
    let rt = current_thread();
    block(&rt, async move {
        let q = Queue::new(1);
        q.put_nowait("data").unwrap();
        let j = q.clone();
        let join = ravel::spawn(async move { j.join().await });
        let p = q.clone();
        let putter = ravel::spawn(async move { p.put("data2").await });
        tick().await?;
        q.shutdown(false);
        assert_eq!(q.qsize(), 1);
        tick().await?;
        assert!(putter.done());
        assert!(is_shut_down(&putter.await.unwrap_err()));
        assert_eq!(q.get().await?, "data");
        assert!(!join.done());
        assert!(is_shut_down(&q.put("x").await.unwrap_err()));
        assert!(is_shut_down(&q.get().await.unwrap_err()));
        assert_eq!(q.put_nowait("x"), Err(PutNowaitError::ShutDown("x")));
        assert!(q.get_nowait().unwrap_err().is_shut_down());
        q.task_done()?;
        tick().await?;
        assert!(join.done());
        join.await?;
        assert_eq!(q.task_done().unwrap_err().to_string(), "task_done() called too many times");
        Ok(())
    });
}

/// Q18: `shutdown(immediate=True)` drops the items and counts each one
/// done; an item taken but not marked done still holds `join()`.
/// CPython: `QueueShutdownTests::test_shutdown_immediate` (3.13), `::test_shutdown_immediate_with_unfinished`
/// (3.13). CPython 3.13.0 prints:
/// ```text
/// a
/// (0, 1)
/// join done False
/// get QSD
/// get_nowait QSD
/// (True, 'result', None)
/// VE ('task_done() called too many times',)
/// join after 1 tick True
/// ```
/// Order-dependent: current-thread.
#[test]
fn q18_immediate_shutdown_drops_items_and_counts_them_done() {
    let rt = current_thread();
    block(&rt, async move {
        let q = Queue::new(0);
        for x in ["a", "b", "c"] {
            q.put_nowait(x).unwrap();
        }
        let j = q.clone();
        let join = ravel::spawn(async move { j.join().await });
        assert_eq!(q.get().await?, "a");
        q.shutdown(true);
        assert_eq!((q.qsize(), q.unfinished_tasks()), (0, 1));
        tick().await?;
        assert!(!join.done());
        assert!(is_shut_down(&q.get().await.unwrap_err()));
        assert!(q.get_nowait().unwrap_err().is_shut_down());
        q.task_done()?;
        tick().await?;
        assert!(join.done());
        join.await?;
        assert!(q.task_done().unwrap_err().is_invalid_state());

        let q = Queue::new(0);
        q.put_nowait(1).unwrap();
        let j = q.clone();
        let join = ravel::spawn(async move { j.join().await });
        tick().await?;
        q.shutdown(true);
        tick().await?;
        assert!(join.done(), "done one tick after the immediate shutdown");
        join.await?;
        Ok(())
    });
}

/// Q19: blocked getters and putters at shutdown, both modes: they all
/// fail with QueueShutDown; a plain shutdown keeps the contents, an
/// immediate one drops them.
/// Source: probe. CPython 3.13.0 prints:
/// ```text
/// False ['QueueShutDown', 'QueueShutDown', 'QueueShutDown']
/// False ['QueueShutDown', 'QueueShutDown'] [0]
/// True ['QueueShutDown', 'QueueShutDown', 'QueueShutDown']
/// True ['QueueShutDown', 'QueueShutDown'] []
/// ```
#[test]
fn q19_blocked_getters_and_putters_at_shutdown_both_modes() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            for immediate in [false, true] {
                let q = Queue::<i32>::new(0);
                let getters: Vec<_> = (0..3)
                    .map(|_| {
                        let q = q.clone();
                        ravel::spawn(async move { q.get().await })
                    })
                    .collect();
                until(|| q.getters() == 3).await?;
                q.shutdown(immediate);
                for g in getters {
                    let err = g.await.unwrap_err();
                    assert!(is_shut_down(&err), "{flavour} immediate={immediate}: {err:?}");
                }

                let q = Queue::new(1);
                q.put_nowait(0).unwrap();
                let putters: Vec<_> = [1, 2]
                    .into_iter()
                    .map(|i| {
                        let q = q.clone();
                        ravel::spawn(async move { q.put(i).await })
                    })
                    .collect();
                until(|| q.putters() == 2).await?;
                q.shutdown(immediate);
                for p in putters {
                    let err = p.await.unwrap_err();
                    assert!(is_shut_down(&err), "{flavour} immediate={immediate}: {err:?}");
                }
                let contents: Vec<_> = std::iter::from_fn(|| q.get_nowait().ok()).collect();
                assert_eq!(contents, if immediate { vec![] } else { vec![0] }, "{flavour}");
                assert_eq!((q.getters(), q.putters()), (0, 0));
            }
            Ok(())
        });
    }
}

/// The shutdown corners of §3 item 8 (Q20's kind; not [core]): a putter
/// woken by a `get_nowait()` and caught by a shutdown before it runs fails
/// although there is room; a getter woken by a put and caught by an
/// immediate shutdown fails, its item gone; after a plain shutdown it
/// still gets the item.
/// Source: probe. CPython 3.13.0 prints:
/// ```text
/// 0 0 False
/// putter QSD []
/// 0 1
/// 0 0
/// getter QSD
/// getter got y
/// ```
/// Order-dependent: current-thread.
#[test]
fn shutdown_catches_woken_waiters_before_they_run() {
    let rt = current_thread();
    block(&rt, async move {
        let q = Queue::new(1);
        q.put_nowait(0).unwrap();
        let p = q.clone();
        let putter = ravel::spawn(async move { p.put(1).await });
        tick().await?;
        assert_eq!((q.get_nowait(), q.putters(), q.full()), (Ok(0), 0, false));
        q.shutdown(false);
        tick().await?;
        assert!(putter.done());
        assert!(is_shut_down(&putter.await.unwrap_err()));
        assert_eq!(q.qsize(), 0);

        let q = Queue::new(0);
        let g = q.clone();
        let getter = ravel::spawn(async move { g.get().await });
        tick().await?;
        q.put_nowait("x").unwrap();
        assert_eq!((q.getters(), q.unfinished_tasks()), (0, 1));
        q.shutdown(true);
        assert_eq!((q.qsize(), q.unfinished_tasks()), (0, 0));
        tick().await?;
        assert!(is_shut_down(&getter.await.unwrap_err()));

        let q = Queue::new(0);
        let g = q.clone();
        let getter = ravel::spawn(async move { g.get().await });
        tick().await?;
        q.put_nowait("y").unwrap();
        q.shutdown(false);
        tick().await?;
        assert_eq!(getter.await?, "y");
        Ok(())
    });
}

/// Q22: a consumer loop ends on QueueShutDown after the producer's items.
/// Source: probe. CPython 3.13.0 prints:
/// ```text
/// done [0, 1, 2, 3, 4] None
/// ```
#[test]
fn q22_consumer_loop_ends_on_shutdown() {
    for (flavour, rt) in both() {
        block(&rt, async move {
            let q = Queue::new(2);
            let c = q.clone();
            let consumer = ravel::spawn(async move {
                let mut got = Vec::new();
                loop {
                    match c.get().await {
                        Ok(x) => got.push(x),
                        Err(e) if is_shut_down(&e) => return Ok(got),
                        Err(e) => return Err(e),
                    }
                    c.task_done()?;
                }
            });
            for i in 0..5 {
                q.put(i).await?;
            }
            q.shutdown(false);
            assert_eq!(consumer.await?, [0, 1, 2, 3, 4], "{flavour}");
            q.join().await?;
            Ok(())
        });
    }
}

/// S47's queue rows: `put()` with room, `get()` with an item and `join()`
/// at zero complete without suspending (a task spawned before them has
/// not run when they return).
/// Source: probe. CPython 3.13.0 prints:
/// ```text
/// put None suspended= False
/// get 1 suspended= False
/// join None suspended= False
/// ```
/// Order-dependent: current-thread.
#[test]
fn s47_uncontended_queue_operations_do_not_suspend() {
    let rt = current_thread();
    block(&rt, async move {
        let q = Queue::new(0);
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        ravel::spawn(async move {
            r.store(true, SeqCst);
            Ok(())
        });
        q.put(1).await?;
        assert_eq!(q.get().await?, 1);
        q.task_done()?;
        q.join().await?;
        assert!(!ran.load(SeqCst), "a queue fast path suspended");
        Ok(())
    });
}

/// A task cancelled before it polls `get()` on a non-empty queue still
/// gets the item (the leaf rule's "ready on the first poll wins");
/// one that must wait gets the cancellation and leaves no waiter.
#[test]
fn pending_cancellation_and_the_fast_path() {
    let rt = current_thread();
    block(&rt, async move {
        let me = current_task().unwrap();
        let q = Queue::new(0);
        q.put_nowait(1).unwrap();
        me.cancel();
        assert_eq!(q.get().await?, 1, "ready on the first poll");
        let err = q.get().await.unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(q.getters(), 0);
        me.uncancel();
        Ok(())
    });
}

/// Dropping a waiting `get()` (a lost `select`, an abort) leaves the queue
/// as a cancellation does: a wake-up it had been given goes to the next
/// getter, and the item stays.
#[test]
fn dropped_woken_getter_passes_its_wakeup_on() {
    let rt = current_thread();
    block(&rt, async move {
        let q = Queue::new(0);
        let first = ravel::spawn({
            let q = q.clone();
            async move { q.get().await }
        });
        let second = ravel::spawn({
            let q = q.clone();
            async move { q.get().await }
        });
        tick().await?;
        q.put_nowait("item").unwrap(); // wakes first
        first.abort(); // its future is dropped before it runs
        tick().await?; // first is dropped, and wakes second
        tick().await?; // second runs
        assert!(second.done(), "the wake-up was lost");
        assert_eq!(second.await?, "item");
        assert_eq!((q.getters(), q.qsize()), (0, 0));
        Ok(())
    });
}

/// Handles are cheap `Clone + Send + Sync`, and the nowait side,
/// `task_done` and `shutdown` work from plain threads.
#[test]
fn handles_are_shared_across_plain_threads() {
    fn send_sync<T: Clone + Send + Sync + 'static>() {}
    send_sync::<Queue<String>>();
    send_sync::<LifoQueue<String>>();
    send_sync::<PriorityQueue<String>>();
    fn send_future<F: std::future::Future + Send + 'static>(_: &F) {}

    let rt = multi_thread(2);
    block(&rt, async move {
        let q = Queue::new(4);
        send_future(&q.put(String::new()));
        send_future(&q.get());
        send_future(&q.join());
        let producer = {
            let q = q.clone();
            std::thread::spawn(move || {
                for i in 0..100 {
                    let mut item = i.to_string();
                    loop {
                        match q.put_nowait(item) {
                            Ok(()) => break,
                            Err(PutNowaitError::Full(QueueFull(back))) => {
                                item = back;
                                std::thread::yield_now();
                            }
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
                q.shutdown(false);
            })
        };
        let mut got = Vec::new();
        loop {
            match q.get().await {
                Ok(s) => got.push(s),
                Err(e) if is_shut_down(&e) => break,
                Err(e) => return Err(e),
            }
            let q = q.clone();
            ravel::to_thread(move || q.task_done()).await?;
        }
        producer.join().unwrap();
        assert_eq!(got, (0..100).map(|i| i.to_string()).collect::<Vec<_>>());
        q.join().await?;
        Ok(())
    });
}

/// Items are never dropped under the queue's lock: an item whose `Drop`
/// uses the queue does not deadlock an immediate shutdown.
#[test]
fn immediate_shutdown_drops_items_outside_the_lock() {
    struct Item(Arc<Mutex<Option<Queue<Item>>>>, Arc<AtomicUsize>);
    impl Drop for Item {
        fn drop(&mut self) {
            if let Some(q) = self.0.lock().unwrap().as_ref() {
                self.1.fetch_add(q.qsize() + 1, SeqCst);
            }
        }
    }
    let slot = Arc::new(Mutex::new(None));
    let seen = Arc::new(AtomicUsize::new(0));
    let q = Queue::new(0);
    *slot.lock().unwrap() = Some(q.clone());
    for _ in 0..3 {
        q.put_nowait(Item(slot.clone(), seen.clone())).unwrap();
    }
    q.shutdown(true);
    assert_eq!(seen.load(SeqCst), 3, "dropped after the drain, each seeing an empty queue");
    // A put refused by shutdown hands the item back.
    let back = q.put_nowait(Item(slot.clone(), seen.clone())).unwrap_err().into_inner();
    drop(back);
    assert_eq!(seen.load(SeqCst), 4);
    slot.lock().unwrap().take();
}

/// A small xorshift generator: the stress tests' random points.
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        Rng(u64::from(nanos) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Stress: 4 producers and 4 consumers on a 2-worker runtime move 30,000
/// items through a `Queue(8)` while a third party cancels them at random
/// points. Each catches the cancellation (uncancel) and carries on, so
/// every cancellation lands in a `put` or `get` (waiting, woken, or
/// running). Invariant: every item put is gotten exactly once; no waiter
/// is left; `join()` returns.
#[test]
fn stress_every_item_gotten_once_under_random_cancellation() {
    const ITEMS: usize = 30_000;
    const PRODUCERS: usize = 4;
    const CONSUMERS: usize = 4;
    let rt = multi_thread(2);
    let seed = Rng::seeded().0;
    block(&rt, async move {
        let q = Queue::new(8);
        let got = Arc::new(Mutex::new(Vec::with_capacity(ITEMS)));
        let caught = Arc::new(AtomicUsize::new(0));
        // A task cancelled before its first poll never runs (asyncio throws
        // into the coroutine before its first line): the canceller waits
        // until every task has started.
        let started = Arc::new(AtomicUsize::new(0));
        let produced = Arc::new(AtomicUsize::new(0));
        let mut producers = Vec::new();
        for p in 0..PRODUCERS {
            let (q, caught, started, produced) = (q.clone(), caught.clone(), started.clone(), produced.clone());
            producers.push(ravel::spawn(async move {
                started.fetch_add(1, SeqCst);
                for id in (p..ITEMS).step_by(PRODUCERS) {
                    loop {
                        match q.put(id).await {
                            Ok(()) => break,
                            Err(e) if e.is_cancelled() => {
                                current_task().unwrap().uncancel();
                                caught.fetch_add(1, SeqCst);
                            }
                            Err(e) => return Err(e),
                        }
                    }
                }
                produced.fetch_add(1, SeqCst);
                Ok(())
            }));
        }
        let mut consumers = Vec::new();
        for _ in 0..CONSUMERS {
            let (q, got, caught, started) = (q.clone(), got.clone(), caught.clone(), started.clone());
            consumers.push(ravel::spawn(async move {
                started.fetch_add(1, SeqCst);
                loop {
                    match q.get().await {
                        Ok(id) => {
                            got.lock().unwrap().push(id);
                            q.task_done()?;
                        }
                        Err(e) if e.is_cancelled() => {
                            current_task().unwrap().uncancel();
                            caught.fetch_add(1, SeqCst);
                        }
                        Err(e) if is_shut_down(&e) => return Ok(()),
                        Err(e) => return Err(e),
                    }
                }
            }));
        }
        let targets: Vec<ravel::TaskRef> =
            producers.iter().chain(consumers.iter()).map(|t| t.as_task_ref().clone()).collect();
        until(|| started.load(SeqCst) == PRODUCERS + CONSUMERS).await?;
        let stop = Arc::new(AtomicBool::new(false));
        let canceller = {
            let stop = stop.clone();
            ravel::spawn(async move {
                let mut rng = Rng(seed);
                let mut sent = 0usize;
                while !stop.load(SeqCst) {
                    targets[rng.below(targets.len())].cancel();
                    sent += 1;
                    for _ in 0..rng.below(3) {
                        tick().await?;
                    }
                    tick().await?;
                }
                Ok(sent)
            })
        };
        let guard = Duration::from_secs(20);
        for p in producers {
            // A producer may end with a cancellation still undelivered (it
            // then counts as cancelled) after its last put.
            match ravel::timeout(guard, p).await {
                Ok(()) => {}
                Err(e) if e.is_cancelled() => {}
                Err(e) => return Err(e),
            }
        }
        assert_eq!(produced.load(SeqCst), PRODUCERS, "seed {seed}: a producer stopped early");
        stop.store(true, SeqCst);
        let sent = canceller.await?;
        ravel::timeout(guard, q.join()).await.unwrap_or_else(|e| panic!("seed {seed}: join: {e:?}"));
        q.shutdown(false);
        for c in consumers {
            // A consumer may end with a cancellation still undelivered (it
            // then counts as cancelled); its items are recorded already.
            match c.await {
                Ok(()) => {}
                Err(e) if e.is_cancelled() => {}
                Err(e) => return Err(e),
            }
        }
        let mut got = got.lock().unwrap().clone();
        assert_eq!(got.len(), ITEMS, "seed {seed}: an item was lost or duplicated");
        got.sort_unstable();
        assert!(got.iter().copied().eq(0..ITEMS), "seed {seed}: not every item exactly once");
        assert!(caught.load(SeqCst) > 0, "seed {seed}: no cancellation landed ({sent} sent)");
        assert_eq!((q.getters(), q.putters(), q.qsize(), q.unfinished_tasks()), (0, 0, 0, 0));
        Ok(())
    });
}

/// Stress for the pass-on rule across threads: 50 blocked getters (then 50
/// blocked putters on a full queue) while a plain thread puts 25 items
/// (takes 25) and a task cancels 25 random waiters at random points, so
/// some are cancelled after they were woken. Cancelled waiters do not
/// retry. Invariant: no wake-up is lost, so the queue settles with no
/// getter waiting beside an item (no putter beside a free slot); a lost
/// wake-up would never settle, and the guard turns that hang into a
/// failure. Then a shutdown releases the rest, and items are conserved.
#[test]
fn stress_woken_then_cancelled_waiters_never_lose_a_wakeup() {
    const ROUNDS: usize = 120;
    const N: usize = 50;
    const MOVED: usize = N / 2;
    let rt = multi_thread(2);
    let seed = Rng::seeded().0;
    block(&rt, async move {
        let guard = Duration::from_secs(10);
        let mut rng = Rng(seed);
        for round in 0..ROUNDS {
            let ctx = format!("seed {seed} round {round}");
            let mut victims: Vec<usize> = (0..N).collect();
            for i in (1..N).rev() {
                victims.swap(i, rng.below(i + 1));
            }
            victims.truncate(N / 2);
            let cancel = |tasks: Vec<ravel::TaskRef>, victims: Vec<usize>, seed: u64| {
                ravel::spawn(async move {
                    let mut rng = Rng(seed);
                    for v in victims {
                        tasks[v].cancel();
                        for _ in 0..rng.below(3) {
                            tick().await?;
                        }
                    }
                    Ok(())
                })
            };

            // Getters, fed from a plain thread.
            // What a waiter got or put is recorded at once: a cancellation
            // that arrives after `get()` returned but before the task ends
            // makes the task end cancelled (A11), its value dropped.
            let q = Queue::new(0);
            let got = Arc::new(Mutex::new(Vec::new()));
            let getters: Vec<_> = (0..N)
                .map(|_| {
                    let (q, got) = (q.clone(), got.clone());
                    ravel::spawn(async move {
                        let item = q.get().await?;
                        got.lock().unwrap().push(item);
                        Ok(())
                    })
                })
                .collect();
            until(|| q.getters() == N).await?;
            let refs = getters.iter().map(|t| t.as_task_ref().clone()).collect();
            let canceller = cancel(refs, victims.clone(), rng.next());
            let feeder = {
                let q = q.clone();
                ravel::to_thread(move || {
                    for i in 0..MOVED {
                        q.put_nowait(i).unwrap();
                        std::thread::yield_now();
                    }
                    Ok(())
                })
            };
            feeder.await?;
            canceller.await?;
            let settled = ravel::timeout(guard, until(|| q.empty() || q.getters() == 0)).await;
            assert!(settled.is_ok(), "{ctx}: getters wait beside {} items: a lost wake-up", q.qsize());
            q.shutdown(false);
            for (i, g) in getters.into_iter().enumerate() {
                match ravel::timeout(guard, g).await {
                    Ok(()) => {}
                    Err(e) if is_shut_down(&e) => {}
                    Err(e) if e.is_cancelled() && victims.contains(&i) => {}
                    Err(e) => panic!("{ctx}: getter {i}: {e:?}"),
                }
            }
            let got: Vec<usize> = got.lock().unwrap().clone();
            let distinct: HashSet<usize> = got.iter().copied().collect();
            assert_eq!(distinct.len(), got.len(), "{ctx}: an item twice");
            assert_eq!(got.len() + q.qsize(), MOVED, "{ctx}");
            assert_eq!(q.getters(), 0, "{ctx}");

            // Putters on a full queue, drained from a plain thread.
            let q = Queue::new(N);
            for i in 0..N {
                q.put_nowait(i).unwrap();
            }
            let put = Arc::new(AtomicUsize::new(0));
            let putters: Vec<_> = (0..N)
                .map(|i| {
                    let (q, put) = (q.clone(), put.clone());
                    ravel::spawn(async move {
                        q.put(N + i).await?;
                        put.fetch_add(1, SeqCst);
                        Ok(())
                    })
                })
                .collect();
            until(|| q.putters() == N).await?;
            let refs = putters.iter().map(|t| t.as_task_ref().clone()).collect();
            let canceller = cancel(refs, victims.clone(), rng.next());
            let drainer = {
                let q = q.clone();
                ravel::to_thread(move || {
                    let mut out = Vec::new();
                    for _ in 0..MOVED {
                        out.push(q.get_nowait().unwrap());
                        std::thread::yield_now();
                    }
                    Ok(out)
                })
            };
            let drained = drainer.await?;
            assert_eq!(drained, (0..MOVED).collect::<Vec<_>>(), "{ctx}");
            canceller.await?;
            let settled = ravel::timeout(guard, until(|| q.full() || q.putters() == 0)).await;
            assert!(settled.is_ok(), "{ctx}: putters wait beside {} free slots: a lost wake-up", N - q.qsize());
            q.shutdown(false);
            for (i, p) in putters.into_iter().enumerate() {
                match ravel::timeout(guard, p).await {
                    Ok(()) => {}
                    Err(e) if is_shut_down(&e) => {}
                    Err(e) if e.is_cancelled() && victims.contains(&i) => {}
                    Err(e) => panic!("{ctx}: putter {i}: {e:?}"),
                }
            }
            assert_eq!(q.qsize(), N - MOVED + put.load(SeqCst), "{ctx}");
            assert_eq!(q.putters(), 0, "{ctx}");
        }
        Ok(())
    });
}

/// Stress: `shutdown` (plain or immediate, alternating) from a plain thread
/// races blocked putters and getters, 40 rounds of 600 items on a 2-worker
/// runtime. Three async producers and the plain thread put; two consumers
/// get; the thread shuts the queue down after a random number of its own
/// puts. Each item records its own drop, so: nothing hangs; every put
/// either succeeded and its item was gotten (or, with `immediate`, drained
/// and dropped), or failed with QueueShutDown (and its item was dropped);
/// a plain shutdown drains nothing; every item is gotten or dropped exactly
/// once; `join()` returns.
#[test]
fn stress_shutdown_races_blocked_putters_and_getters() {
    const ROUNDS: usize = 40;
    const ITEMS: usize = 600;
    const ASYNC_PRODUCERS: usize = 3;
    const SOURCES: usize = ASYNC_PRODUCERS + 1;

    struct Tracked {
        id: usize,
        taken: bool,
        dropped: Arc<Mutex<Vec<usize>>>,
    }
    impl Drop for Tracked {
        fn drop(&mut self) {
            if !self.taken {
                self.dropped.lock().unwrap().push(self.id);
            }
        }
    }

    let rt = multi_thread(2);
    let mut rng = Rng::seeded();
    let seed = rng.0;
    for round in 0..ROUNDS {
        let immediate = round % 2 == 1;
        let shutdown_after = rng.below(ITEMS / SOURCES);
        let ctx = format!("seed {seed} round {round} immediate={immediate} after={shutdown_after}");
        let c = ctx.clone();
        block(&rt, async move {
            let ctx = c;
            let q = Queue::new(4);
            let dropped = Arc::new(Mutex::new(Vec::new()));
            let ok = Arc::new(Mutex::new(Vec::new()));
            let failed = Arc::new(Mutex::new(Vec::new()));
            let gotten = Arc::new(Mutex::new(Vec::new()));
            let item = {
                let dropped = dropped.clone();
                move |id| Tracked { id, taken: false, dropped: dropped.clone() }
            };

            let mut tasks = Vec::new();
            for p in 0..ASYNC_PRODUCERS {
                let (q, ok, failed, item) = (q.clone(), ok.clone(), failed.clone(), item.clone());
                tasks.push(ravel::spawn(async move {
                    for id in (p..ITEMS).step_by(SOURCES) {
                        match q.put(item(id)).await {
                            Ok(()) => ok.lock().unwrap().push(id),
                            Err(e) if is_shut_down(&e) => failed.lock().unwrap().push(id),
                            Err(e) => return Err(e),
                        }
                    }
                    Ok(())
                }));
            }
            for _ in 0..2 {
                let (q, gotten) = (q.clone(), gotten.clone());
                tasks.push(ravel::spawn(async move {
                    loop {
                        match q.get().await {
                            Ok(mut t) => {
                                t.taken = true;
                                gotten.lock().unwrap().push(t.id);
                                q.task_done()?;
                            }
                            Err(e) if is_shut_down(&e) => return Ok(()),
                            Err(e) => return Err(e),
                        }
                    }
                }));
            }
            let thread = {
                let (q, ok, failed) = (q.clone(), ok.clone(), failed.clone());
                ravel::to_thread(move || {
                    for (n, id) in (ASYNC_PRODUCERS..ITEMS).step_by(SOURCES).enumerate() {
                        if n == shutdown_after {
                            q.shutdown(immediate);
                        }
                        let mut t = item(id);
                        loop {
                            match q.put_nowait(t) {
                                Ok(()) => {
                                    ok.lock().unwrap().push(id);
                                    break;
                                }
                                Err(PutNowaitError::Full(QueueFull(back))) => {
                                    t = back;
                                    std::thread::yield_now();
                                }
                                Err(PutNowaitError::ShutDown(back)) => {
                                    drop(back);
                                    failed.lock().unwrap().push(id);
                                    break;
                                }
                            }
                        }
                    }
                    Ok(())
                })
            };
            let all = async move {
                thread.await?;
                for t in tasks {
                    t.await?;
                }
                q.join().await?;
                Ok::<_, Error>(q)
            };
            let q = ravel::timeout(Duration::from_secs(20), all).await.unwrap_or_else(|e| panic!("{ctx}: {e:?}"));

            let set = |v: &Arc<Mutex<Vec<usize>>>| {
                let v = v.lock().unwrap().clone();
                let s: HashSet<usize> = v.iter().copied().collect();
                assert_eq!(s.len(), v.len(), "{ctx}: a duplicate");
                s
            };
            let (ok, failed, gotten, dropped) = (set(&ok), set(&failed), set(&gotten), set(&dropped));
            let all: HashSet<usize> = (0..ITEMS).collect();
            assert!(ok.is_disjoint(&failed), "{ctx}");
            assert_eq!(&ok | &failed, all, "{ctx}: a put neither succeeded nor failed");
            assert!(gotten.is_disjoint(&dropped), "{ctx}: an item gotten and dropped");
            assert_eq!(&gotten | &dropped, all, "{ctx}: an item neither gotten nor dropped");
            assert!(gotten.is_subset(&ok), "{ctx}: an item gotten from a failed put");
            assert!(failed.is_subset(&dropped), "{ctx}: a failed put's item not dropped");
            let drained: HashSet<usize> = &dropped - &failed;
            assert!(drained.is_subset(&ok), "{ctx}");
            if !immediate {
                assert!(drained.is_empty(), "{ctx}: a plain shutdown drained {drained:?}");
            }
            let after: HashSet<usize> = (ASYNC_PRODUCERS..ITEMS).step_by(SOURCES).skip(shutdown_after).collect();
            assert!(after.is_subset(&failed), "{ctx}: a put_nowait after shutdown succeeded");
            assert_eq!((q.getters(), q.putters(), q.qsize(), q.unfinished_tasks()), (0, 0, 0, 0), "{ctx}");
            assert!(q.is_shutdown());
            Ok(())
        });
    }
}
