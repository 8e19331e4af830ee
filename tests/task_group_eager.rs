//! TaskGroup with eager tasks: children that finish inside `spawn` (asyncio
//! `eager_task_factory` with `TaskGroup.create_task`).

use ravel::{Error, TaskGroup};
use ravel_tests::{current_thread_eager, Log};
use std::time::Duration;

/// A child that succeeds and one that fails inside `spawn`, and one that
/// suspends: both finished children are done when `spawn` returns; the
/// failure is handled on the next loop iteration (asyncio schedules the done
/// callback of an already-done task), so the body runs on to its next
/// suspension and is cancelled there, the suspended sibling is cancelled,
/// and the scope fails with exactly the child's error.
/// CPython 3.12.1 and 3.13.0 print, for the same program (eager task
/// factory, `ok`, `slow`, `bad`, then `await sleep(0)` in the body):
/// `['ok ran', 't1 done=True', 'slow start', 'bad ran', 't2 done=True',
///   'body before await', 'slow cancelled', "caught ['boom']",
///   't1=1 t3 cancelled=True']`.
/// Order-dependent: current-thread.
#[test]
fn eager_children_finishing_inside_spawn_are_reported_to_the_group() {
    let rt = current_thread_eager();
    let log = Log::new();
    let l = log.clone();
    let out = rt.block_on(async move {
        let l2 = l.clone();
        let scope = TaskGroup::run(move |tg| {
            let l = l2.clone();
            async move {
                let lo = l.clone();
                let t1 = tg.spawn(async move {
                    lo.push("ok ran");
                    Ok(1)
                })?;
                l.push(format!("t1 done={}", t1.done()));
                let ls = l.clone();
                let t3 = tg.spawn(async move {
                    ls.push("slow start");
                    match ravel::sleep(Duration::from_secs(10)).await {
                        Err(e) if e.is_cancelled() => {
                            ls.push("slow cancelled");
                            Err(e)
                        }
                        other => other.map(|_| 0),
                    }
                })?;
                let lb = l.clone();
                let t2 = tg.spawn(async move {
                    lb.push("bad ran");
                    Err::<i32, _>(Error::msg("boom"))
                })?;
                l.push(format!("t2 done={}", t2.done()));
                l.push("body before await");
                ravel::sleep(Duration::ZERO).await?;
                l.push("body after await");
                Ok((t1, t3))
            }
        })
        .await;
        match scope {
            Err(e) => {
                let group = e.as_group().expect("a group error");
                let messages: Vec<String> = group.errors().iter().map(|e| e.to_string()).collect();
                l.push(format!("caught {messages:?}"));
            }
            Ok(_) => l.push("no error"),
        }
        Ok(())
    });
    out.unwrap();
    assert_eq!(
        log.events(),
        [
            "ok ran",
            "t1 done=true",
            "slow start",
            "bad ran",
            "t2 done=true",
            "body before await",
            "slow cancelled",
            "caught [\"boom\"]",
        ]
    );
}

/// Many eager children that finish inside `spawn`, on both flavours: each
/// is reported once, on the next loop iteration, and every result is kept.
#[test]
fn many_eager_children_finish_inside_spawn() {
    let runtimes = [
        ("current_thread", current_thread_eager()),
        ("multi_thread", ravel::Runtime::builder().worker_threads(2).eager_tasks(true).build().unwrap()),
    ];
    for (flavour, rt) in runtimes {
        let sum = rt
            .block_on(async move {
                let flavour = flavour;
                let tasks = TaskGroup::run(move |tg| async move {
                    let mut tasks = Vec::new();
                    for i in 0..1000u64 {
                        let task = tg.spawn(async move { Ok(i) })?;
                        assert!(task.done(), "finished inside spawn");
                        tasks.push(task);
                    }
                    if flavour == "current_thread" {
                        // Their reports come on the next loop iteration
                        // (module docs of task_group.rs, gh-128550). On
                        // the multi-thread runtime another worker may run
                        // them at any time.
                        assert_eq!(tg.len(), 1000, "reports pending");
                        ravel::yield_now().await?;
                        assert_eq!(tg.len(), 0, "every child reported once");
                    }
                    Ok(tasks)
                })
                .await?;
                let mut sum = 0;
                for task in tasks {
                    sum += task.await?;
                }
                Ok(sum)
            })
            .unwrap();
        assert_eq!(sum, 999 * 1000 / 2, "{flavour}");
    }
}
