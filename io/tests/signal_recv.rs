//! `signal(kind)` and `Signal::recv`: delivery, cancellation, several
//! listeners, coalescing, the Stream impl, errors, and what dropping leaves.
//!
//! Signals are process-wide and libtest runs these tests on threads of one
//! process: each test uses signals no other test in this file uses, and
//! makes its listener before it raises (an unhandled SIGUSR1 would kill the
//! test process).

use futures_core::Stream;
use ravel_io::signal::{signal, Signal, SignalKind};
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

const BOUND: Duration = Duration::from_secs(10);

fn raise(sig: libc::c_int) {
    // SAFETY: raise(3) with a valid signal number that the test handles;
    // the handler has run when it returns.
    assert_eq!(unsafe { libc::raise(sig) }, 0);
}

fn kill_self(sig: libc::c_int) {
    // SAFETY: kill(2) to this process with a signal the test handles.
    assert_eq!(unsafe { libc::kill(libc::getpid(), sig) }, 0);
}

fn runtime() -> ravel::Runtime {
    ravel::Builder::new_multi_thread().worker_threads(2).build().unwrap()
}

/// True if `signal` has a completion ready now (consuming it), without
/// waiting.
fn ready_now(signal: &mut Signal) -> bool {
    signal.poll_recv(&mut Context::from_waker(Waker::noop())).is_ready()
}

/// Spins (no sleep) until `signal` has a completion, for at most `BOUND`:
/// a fence for "the dispatcher has taken this delivery" where awaiting is
/// not possible.
fn spin_until_ready(signal: &mut Signal) {
    let deadline = Instant::now() + BOUND;
    while !ready_now(signal) {
        assert!(Instant::now() < deadline, "no delivery of {:?} within {BOUND:?}", signal.kind());
        std::thread::yield_now();
    }
}

#[test]
fn recv_gets_a_delivery_sent_with_kill() {
    runtime()
        .block_on(async {
            let mut usr1 = signal(SignalKind::user_defined1())?;
            assert!(!ready_now(&mut usr1), "no delivery yet");
            kill_self(libc::SIGUSR1);
            ravel::timeout(BOUND, usr1.recv()).await?;
            // Consumed: nothing more is ready.
            assert!(!ready_now(&mut usr1));
            // And the next delivery is received too, from another thread.
            std::thread::spawn(|| kill_self(libc::SIGUSR1)).join().unwrap();
            ravel::timeout(BOUND, usr1.recv()).await?;
            Ok(())
        })
        .unwrap();
}

/// A waiting recv, cancelled, returns the cancellation; a delivery that
/// came while it waited is not consumed by it and completes the next recv.
#[test]
fn cancelled_recv_consumes_no_delivery() {
    // Current-thread and eager: `spawn` runs the waiter up to its recv, and
    // the waiter is polled again only when this task awaits.
    let rt = ravel::Builder::new_current_thread().eager_tasks(true).build().unwrap();
    rt.block_on(async {
        let mut usr2 = signal(SignalKind::user_defined2())?;
        let mut probe = signal(SignalKind::user_defined2())?;
        let waiter = ravel::spawn(async move {
            let out = usr2.recv().await;
            Ok((out.map_err(|e| (e.is_cancelled(), e.cancel_message().map(str::to_owned))), usr2))
        });
        // Plain cancellation of a waiting recv.
        raise(libc::SIGUSR2);
        // The dispatcher has taken the delivery (and woken the waiter,
        // which cannot run before this task awaits).
        spin_until_ready(&mut probe);
        assert!(waiter.cancel_with("stop"));
        let (out, mut usr2) = ravel::timeout(BOUND, waiter).await?;
        assert_eq!(out, Err((true, Some("stop".to_owned()))));
        // The delivery it was woken for is still there for the next recv.
        assert!(ready_now(&mut usr2), "the cancelled recv consumed the delivery");

        // A cancelled recv that saw no delivery leaves later ones to the next recv.
        let waiter = ravel::spawn(async move {
            let out = usr2.recv().await;
            Ok((out.is_err_and(|e| e.is_cancelled()), usr2))
        });
        waiter.cancel();
        let (cancelled, mut usr2) = ravel::timeout(BOUND, waiter).await?;
        assert!(cancelled);
        raise(libc::SIGUSR2);
        ravel::timeout(BOUND, usr2.recv()).await?;
        Ok(())
    })
    .unwrap();
}

#[test]
fn two_signals_of_one_kind_both_see_a_delivery() {
    runtime()
        .block_on(async {
            let mut a = signal(SignalKind::hangup())?;
            let mut b = signal(SignalKind::hangup())?;
            let b_task = ravel::spawn(async move {
                ravel::timeout(BOUND, b.recv()).await?;
                Ok(b)
            });
            raise(libc::SIGHUP);
            ravel::timeout(BOUND, a.recv()).await?;
            let mut b = b_task.await?;
            // One delivery, one completion each.
            assert!(!ready_now(&mut a));
            assert!(!ready_now(&mut b));
            Ok(())
        })
        .unwrap();
}

/// Three deliveries before a recv give one completion, not three, even
/// when each was dispatched on its own (a probe of the same kind sees each
/// before the next is raised).
#[test]
fn deliveries_before_a_recv_coalesce() {
    runtime()
        .block_on(async {
            let mut alrm = signal(SignalKind::alarm())?;
            let mut probe = signal(SignalKind::alarm())?;
            for _ in 0..3 {
                raise(libc::SIGALRM);
                spin_until_ready(&mut probe);
            }
            ravel::timeout(BOUND, alrm.recv()).await?;
            assert!(!ready_now(&mut alrm), "the deliveries were counted, not coalesced");
            // A Signal made now does not see the deliveries before it.
            let mut late = signal(SignalKind::alarm())?;
            assert!(!ready_now(&mut late));
            Ok(())
        })
        .unwrap();
}

#[test]
fn signal_is_a_stream_that_yields_per_completion() {
    runtime()
        .block_on(async {
            let mut urg = signal(SignalKind::from_raw(libc::SIGURG))?;
            raise(libc::SIGURG);
            let item =
                ravel::timeout(BOUND, ravel::cancellable(poll_fn(|cx| Pin::new(&mut urg).poll_next(cx)))).await?;
            assert_eq!(item, Some(()));
            Ok(())
        })
        .unwrap();
}

/// Dropping every Signal of a kind leaves the signal handled: the next
/// delivery is ignored rather than running the default action (SIGPROF's
/// is "terminate"), and a later Signal receives the one after.
#[test]
fn dropping_signals_does_not_restore_the_default_action() {
    let prof = signal(SignalKind::from_raw(libc::SIGPROF)).unwrap();
    drop(prof);
    // With SIG_DFL back, this would kill the test process.
    raise(libc::SIGPROF);
    // SAFETY: querying the current action into a zeroed, valid struct.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: null new action, valid out pointer.
    assert_eq!(unsafe { libc::sigaction(libc::SIGPROF, std::ptr::null(), &mut action) }, 0);
    assert_ne!(action.sa_sigaction, libc::SIG_DFL);
    runtime()
        .block_on(async {
            let mut again = signal(SignalKind::from_raw(libc::SIGPROF))?;
            raise(libc::SIGPROF);
            ravel::timeout(BOUND, again.recv()).await?;
            Ok(())
        })
        .unwrap();
}

#[test]
fn signals_that_cannot_be_handled_are_refused_clearly() {
    for (sig, words) in [
        (libc::SIGKILL, "SIGKILL cannot be handled"),
        (libc::SIGSTOP, "SIGSTOP cannot be handled"),
        (libc::SIGSEGV, "SIGSEGV cannot be handled"),
        (0, "0 is not a signal number"),
        (-1, "-1 is not a signal number"),
        (1000, "1000 is not a signal number"),
    ] {
        let err = signal(SignalKind::from_raw(sig)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{sig}");
        assert!(err.to_string().contains(words), "{sig}: {err}");
        let err = ravel_io::signal::add_signal_handler(SignalKind::from_raw(sig), || {}).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{sig}");
    }
    // Through `?` in a task the io::Error becomes a ravel::Error of kind Io.
    let err = ravel::Runtime::new()
        .unwrap()
        .block_on(async {
            signal(SignalKind::from_raw(libc::SIGKILL))?;
            Ok(())
        })
        .unwrap_err();
    assert_eq!(err.io_error().map(io::Error::kind), Some(io::ErrorKind::InvalidInput));
}

/// A Signal may be made outside any runtime; its recv then works in any.
#[test]
fn a_signal_made_outside_a_runtime_is_received_inside_one() {
    let mut vtalrm = signal(SignalKind::from_raw(libc::SIGVTALRM)).unwrap();
    raise(libc::SIGVTALRM);
    ravel::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(async move { ravel::timeout(BOUND, vtalrm.recv()).await })
        .unwrap();
}

/// Signals belong to the process: listeners on two runtimes both see one
/// delivery.
#[test]
fn listeners_on_two_runtimes_both_see_a_delivery() {
    let (one, two) = (runtime(), ravel::Builder::new_current_thread().build().unwrap());
    let mut a = signal(SignalKind::from_raw(libc::SIGXFSZ)).unwrap();
    let mut b = signal(SignalKind::from_raw(libc::SIGXFSZ)).unwrap();
    let waiting = one.handle().spawn(async move { ravel::timeout(BOUND, a.recv()).await });
    raise(libc::SIGXFSZ);
    two.block_on(async move { ravel::timeout(BOUND, b.recv()).await }).unwrap();
    one.block_on(waiting).unwrap();
}

#[cfg(target_os = "linux")]
#[test]
fn realtime_signals_are_received_on_linux() {
    runtime()
        .block_on(async {
            let kind = SignalKind::realtime(1);
            let mut rt = signal(kind)?;
            raise(kind.as_raw_value());
            ravel::timeout(BOUND, rt.recv()).await?;
            Ok(())
        })
        .unwrap();
}

/// The doc'd poll with a noop waker: pending when nothing came.
#[test]
fn poll_recv_is_pending_without_a_delivery() {
    let mut xcpu = signal(SignalKind::from_raw(libc::SIGXCPU)).unwrap();
    assert_eq!(xcpu.poll_recv(&mut Context::from_waker(Waker::noop())), Poll::Pending);
}
