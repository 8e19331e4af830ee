//! A root future that is not `Send` (`Runtime::block_on_local`,
//! `Runtime::run_local`) on the current-thread flavour, which polls its
//! root only on the calling thread; refused on the multi-thread flavour.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

/// A root holding `Rc<RefCell<_>>` across awaits (sleep, joins, a task
/// group) runs to completion and hands back a non-Send output; inside it,
/// it is a task like any root (current task, cancellation, timeouts).
#[test]
fn block_on_local_runs_a_non_send_root_with_a_non_send_output() {
    let rt = ravel_tests::current_thread();
    let out = rt.block_on_local(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        log.borrow_mut().push("start");
        ravel::sleep(Duration::from_millis(1)).await?;
        let n = ravel::spawn(async { Ok(2) }).await?;
        ravel::TaskGroup::run(|tg| async move {
            tg.spawn(async { Ok(()) })?;
            Ok(())
        })
        .await?;
        let err = ravel::timeout(Duration::from_millis(1), ravel::sleep(Duration::from_secs(3600))).await.unwrap_err();
        assert!(err.is_timeout());
        log.borrow_mut().push("end");
        assert!(ravel::current_task().is_some());
        Ok((log, n))
    });
    let (log, n) = out.unwrap();
    assert_eq!(*log.borrow(), ["start", "end"]);
    assert_eq!(n, 2);
}

/// `run_local` is `run` for a non-Send main: a task named "main", whose
/// leftovers are cancelled when it ends.
#[test]
fn run_local_names_main_and_cancels_leftovers() {
    let rt = ravel_tests::current_thread();
    let (name, leftover) = rt
        .run_local(async {
            let here = Rc::new(ravel::current_task().unwrap().name());
            let leftover = ravel::spawn(async {
                ravel::sleep(Duration::from_secs(3600)).await?;
                Ok(())
            });
            ravel::yield_now().await?;
            Ok(((*here).clone(), leftover.to_task_ref()))
        })
        .unwrap();
    assert_eq!(name, "main");
    assert!(leftover.cancelled());
}

/// A panic of a local root resumes in the caller, as for `block_on`.
#[test]
fn block_on_local_resumes_the_root_panic() {
    let rt = ravel_tests::current_thread();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        let _ = rt.block_on_local(async {
            let _rc = Rc::new(());
            ravel::yield_now().await?;
            std::panic::panic_any(3_u8);
            #[allow(unreachable_code)]
            Ok(())
        });
    }));
    assert_eq!(caught.unwrap_err().downcast_ref::<u8>(), Some(&3));
}

/// On a multi-thread runtime the workers poll the root, so a non-Send root
/// is refused with a message naming the fix.
#[test]
fn block_on_local_panics_on_a_multi_thread_runtime() {
    let rt = ravel_tests::multi_thread(1);
    let caught = catch_unwind(AssertUnwindSafe(|| rt.block_on_local(async { Ok(()) }))).unwrap_err();
    let message = caught.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("needs a current-thread runtime"), "{message}");
    assert_eq!(rt.block_on(async { Ok(1) }).unwrap(), 1, "the runtime is unaffected");
}
