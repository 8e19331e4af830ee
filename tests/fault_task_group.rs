//! Fault injection: a `TaskGroup` body that panics while its children are
//! cancelling (asyncio: `KeyboardInterrupt`/`SystemExit` in the body). As
//! documented on `TaskGroup::run`, the panic is resumed in the parent after
//! every child is done: each child's cancellation handler runs to its end,
//! no child is left running, and the panic comes out with its payload.

use ravel::TaskGroup;
use ravel_tests::faults::{panic_text, quiet_panics, workers_still_run, TAG};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

fn flavours() -> Vec<(&'static str, usize, ravel::Runtime)> {
    vec![("current_thread", 1, ravel_tests::current_thread()), ("multi_thread", 2, ravel_tests::multi_thread(2))]
}

/// A child that, cancelled, cleans up over several awaits before it ends.
async fn slow_to_cancel(cleaned: Arc<AtomicUsize>) -> ravel::Result<()> {
    match ravel::sleep(Duration::from_secs(3600)).await {
        Err(e) if e.is_cancelled() => {
            for _ in 0..5 {
                ravel::yield_now().await?; // the cleanup takes several steps
            }
            cleaned.fetch_add(1, SeqCst);
            Err(e)
        }
        other => other,
    }
}

/// One child fails, so the group cancels the others (which take a while to
/// finish), and the body panics meanwhile: the parent gets the body's panic
/// after every child has finished its cleanup.
#[test]
fn body_panic_while_children_are_cancelling_resumes_after_all_are_done() {
    quiet_panics();
    for (name, workers, rt) in flavours() {
        let cleaned = Arc::new(AtomicUsize::new(0));
        let c = cleaned.clone();
        let parent: ravel::Task<()> = rt.handle().spawn(async move {
            TaskGroup::run(|tg| async move {
                for _ in 0..4 {
                    tg.spawn(slow_to_cancel(c.clone()))?;
                }
                ravel::yield_now().await?; // the children are asleep
                tg.spawn(async { Err::<(), _>(ravel::Error::msg("child failed")) })?;
                // The failure cancels the others (and this body, at its next
                // await): the body catches that and panics while they clean up.
                let cancelled = ravel::sleep(Duration::from_secs(3600)).await;
                assert!(cancelled.unwrap_err().is_cancelled());
                panic!("{TAG} body");
            })
            .await
        });
        let err = rt.block_on(parent).unwrap_err();
        assert_eq!(panic_text(&err), format!("{TAG} body"), "{name}: the body's panic, in the parent");
        assert_eq!(cleaned.load(SeqCst), 4, "{name}: every child finished its cleanup first");
        assert!(rt.handle().all_tasks().is_empty(), "{name}: no child left running");
        workers_still_run(&rt, workers);
    }
}

/// The parent is cancelled from outside, the children are cancelling, and
/// one child's cancellation handler panics: the parent gets that panic
/// after all the others are done.
#[test]
fn child_panic_in_its_cancellation_handler_resumes_in_the_parent_after_the_rest() {
    quiet_panics();
    for (name, workers, rt) in flavours() {
        let cleaned = Arc::new(AtomicUsize::new(0));
        let c = cleaned.clone();
        let started = ravel::Promise::<()>::new();
        let s = started.clone();
        let parent = rt.handle().spawn(async move {
            TaskGroup::run(|tg| async move {
                for _ in 0..3 {
                    tg.spawn(slow_to_cancel(c.clone()))?;
                }
                tg.spawn(async {
                    let _ = ravel::sleep(Duration::from_secs(3600)).await;
                    panic!("{TAG} child cancelling");
                    #[allow(unreachable_code)]
                    Ok(())
                })?;
                ravel::yield_now().await?;
                s.set_result(())?;
                ravel::sleep(Duration::from_secs(3600)).await
            })
            .await
        });
        let parent_ref = parent.to_task_ref();
        let err = rt
            .block_on(async move {
                started.await?;
                parent_ref.cancel();
                Ok(parent.await)
            })
            .unwrap()
            .unwrap_err();
        assert_eq!(panic_text(&err), format!("{TAG} child cancelling"), "{name}");
        assert_eq!(cleaned.load(SeqCst), 3, "{name}: the other children finished their cleanup");
        assert!(rt.handle().all_tasks().is_empty(), "{name}");
        workers_still_run(&rt, workers);
    }
}
