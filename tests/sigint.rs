//! L09: SIGINT while `ravel::run` waits (`test_runners.py::test_interrupt_wait`).
//!
//! Runs without libtest's harness so that `ravel::run` is called on the
//! process's main thread, where Ctrl-C handling is installed.

use std::sync::mpsc;
use std::time::Duration;

fn sigint_action_is_default() -> bool {
    // SAFETY: querying the current action into a zeroed, valid struct.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: valid out pointer, null new action.
    assert_eq!(unsafe { libc::sigaction(libc::SIGINT, std::ptr::null(), &mut old) }, 0);
    old.sa_sigaction == libc::SIG_DFL
}

/// Sends SIGINT to the process once `ready` fires.
fn interrupt_when(ready: mpsc::Receiver<()>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        ready.recv().unwrap();
        // SAFETY: sending a signal to our own process.
        unsafe { libc::kill(libc::getpid(), libc::SIGINT) };
    })
}

/// The main task gets a cancellation with no message and cancelling()==1;
/// when it re-raises, `run` fails with an interrupted error (asyncio
/// KeyboardInterrupt), and the default action is back afterwards.
fn l09_first_sigint_cancels_main() {
    let (tx, rx) = mpsc::channel();
    let killer = interrupt_when(rx);
    let (seen_tx, seen_rx) = mpsc::channel();
    let out = ravel::run(async move {
        tx.send(()).unwrap();
        let err = ravel::sleep(Duration::from_secs(60)).await.unwrap_err();
        let me = ravel::current_task().unwrap();
        seen_tx.send((err.is_cancelled(), err.cancel_message().map(str::to_owned), me.cancelling())).unwrap();
        Err::<(), _>(err)
    });
    killer.join().unwrap();
    assert_eq!(seen_rx.recv().unwrap(), (true, None, 1));
    let err = out.unwrap_err();
    assert!(err.is_interrupted(), "got {err:?}");
    assert!(sigint_action_is_default(), "run restores the default SIGINT action");
}

/// A main that swallows the cancellation and returns a value makes `run`
/// return that value.
fn l09_main_may_swallow_the_interrupt() {
    let (tx, rx) = mpsc::channel();
    let killer = interrupt_when(rx);
    let out = ravel::run(async move {
        tx.send(()).unwrap();
        match ravel::sleep(Duration::from_secs(60)).await {
            Err(e) if e.is_cancelled() => Ok("cleaned up"),
            other => other.map(|_| "slept"),
        }
    });
    killer.join().unwrap();
    assert_eq!(out.unwrap(), "cleaned up");
    assert!(sigint_action_is_default());
}

fn main() {
    assert!(sigint_action_is_default());
    l09_first_sigint_cancels_main();
    l09_main_may_swallow_the_interrupt();
    println!("sigint: 2 passed, 0 failed");
}
