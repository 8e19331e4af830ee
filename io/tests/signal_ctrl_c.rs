//! `ctrl_c()` and SIGINT callbacks under `ravel::run`, and who wins over
//! `run`'s own Ctrl-C handling.
//!
//! `run` installs its Ctrl-C handling only on the process's main thread,
//! which libtest does not run tests on, and taking SIGINT over lasts for
//! the rest of a process: so this test has its own `main` (`harness =
//! false`), and each case runs in a child process (this executable again,
//! with `RAVEL_SIGNAL_CASE` naming the case) that sends itself SIGINT and
//! prints what it saw; the parent compares that with what it expects.

use ravel_io::signal::{add_signal_handler, ctrl_c, SignalKind};
use std::process::Command;
use std::time::Duration;

const CASE_VAR: &str = "RAVEL_SIGNAL_CASE";
const BOUND: Duration = Duration::from_secs(10);
/// How long a case gives a wrong Ctrl-C handler to cancel the main task
/// after the delivery (an absence cannot be awaited; this is not
/// synchronisation, only the window in which a bug would show).
const GRACE: Duration = Duration::from_millis(300);

/// SIGINT to this process from a plain thread (as a terminal would send
/// it, to the process rather than to one thread).
fn interrupt() {
    std::thread::spawn(|| {
        // SAFETY: kill(2) to this process; each case handles SIGINT.
        assert_eq!(unsafe { libc::kill(libc::getpid(), libc::SIGINT) }, 0);
    })
    .join()
    .unwrap();
}

fn sigint_is_default() -> bool {
    // SAFETY: querying the current action into a zeroed, valid struct.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: valid out pointer, null new action.
    assert_eq!(unsafe { libc::sigaction(libc::SIGINT, std::ptr::null(), &mut old) }, 0);
    old.sa_sigaction == libc::SIG_DFL
}

/// How the main task fares for `GRACE` after the delivery was handled.
async fn main_after_grace() -> String {
    let me = ravel::current_task().unwrap();
    match ravel::sleep(GRACE).await {
        Ok(()) => format!("main not cancelled, cancelling={}", me.cancelling()),
        Err(e) => format!("main cancelled ({:?}), cancelling={}", e.cancel_message(), me.cancelling()),
    }
}

/// Without a listener, `run`'s own handling: Ctrl-C cancels main.
#[cfg(target_os = "linux")]
fn case_baseline() {
    let out = ravel::run(async {
        ravel::spawn(async {
            interrupt();
            Ok(())
        });
        let err = ravel::sleep(BOUND).await.unwrap_err();
        println!("main saw cancelled={} message={:?}", err.is_cancelled(), err.cancel_message());
        Err::<(), _>(err)
    });
    println!("run interrupted={}", out.unwrap_err().is_interrupted());
}

/// `ctrl_c()` inside `run` gets the Ctrl-C, and main is not cancelled;
/// SIGINT stays handled after `run`, and a second `run` leaves it too.
fn case_ctrl_c_in_run() {
    let out = ravel::run(async {
        let ctrl_c = ctrl_c();
        interrupt();
        ravel::timeout(BOUND, ctrl_c).await?;
        println!("ctrl_c received");
        println!("{}", main_after_grace().await);
        Ok("done")
    });
    println!("run returned {out:?}");
    println!("after run: SIGINT default={}", sigint_is_default());
    interrupt(); // ignored now: nothing listens, and the process lives
    println!("after run: survived a SIGINT");
    let out = ravel::run(async {
        let ctrl_c = ctrl_c();
        interrupt();
        ravel::timeout(BOUND, ctrl_c).await?;
        println!("second run: ctrl_c received");
        println!("second run: {}", main_after_grace().await);
        Ok("done")
    });
    println!("second run returned {out:?}");
}

/// A waiting `ctrl_c()` is a cancellable await; cancelled, it leaves the
/// Ctrl-C that follows to the next `ctrl_c()`.
fn case_ctrl_c_cancelled() {
    let out = ravel::run(async {
        let waiter = ravel::spawn(async { ctrl_c().await });
        ravel::yield_now().await?;
        waiter.cancel();
        println!("cancelled waiter: cancelled={}", waiter.await.unwrap_err().is_cancelled());
        let ctrl_c = ctrl_c();
        interrupt();
        ravel::timeout(BOUND, ctrl_c).await?;
        println!("next ctrl_c received");
        Ok(())
    });
    println!("run returned {out:?}");
}

/// asyncio's `loop.add_signal_handler(SIGINT, main.cancel)`: the user's
/// callback replaces `run`'s handler (one cancellation, the user's).
fn case_handler_in_run() {
    let out = ravel::run(async {
        let main = ravel::current_task().unwrap();
        add_signal_handler(SignalKind::interrupt(), move || {
            main.cancel_with("user handler");
        })?;
        interrupt();
        let err = ravel::sleep(BOUND).await.unwrap_err();
        println!("main saw {:?}", err.cancel_message());
        println!("{}", main_after_grace().await);
        Ok("cleaned up")
    });
    println!("run returned {out:?}");
}

/// A case: its name, the child's code, what the child must print.
type Case = (&'static str, fn(), &'static str);

const CASES: &[Case] = &[
    // `run` handles Ctrl-C only on Linux.
    #[cfg(target_os = "linux")]
    ("baseline", case_baseline, "main saw cancelled=true message=None\nrun interrupted=true\n"),
    (
        "ctrl_c_in_run",
        case_ctrl_c_in_run,
        "ctrl_c received\n\
         main not cancelled, cancelling=0\n\
         run returned Ok(\"done\")\n\
         after run: SIGINT default=false\n\
         after run: survived a SIGINT\n\
         second run: ctrl_c received\n\
         second run: main not cancelled, cancelling=0\n\
         second run returned Ok(\"done\")\n",
    ),
    (
        "ctrl_c_cancelled",
        case_ctrl_c_cancelled,
        "cancelled waiter: cancelled=true\nnext ctrl_c received\nrun returned Ok(())\n",
    ),
    (
        "handler_in_run",
        case_handler_in_run,
        "main saw Some(\"user handler\")\n\
         main not cancelled, cancelling=1\n\
         run returned Ok(\"cleaned up\")\n",
    ),
];

fn main() {
    if let Ok(name) = std::env::var(CASE_VAR) {
        assert_eq!(std::thread::current().name(), Some("main"));
        assert!(sigint_is_default(), "the child starts with SIGINT's default action");
        let (_, case, _) = CASES.iter().find(|(n, _, _)| *n == name).expect("known case");
        case();
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let mut failed = 0;
    for (name, _, expected) in CASES {
        let out = Command::new(&exe).env(CASE_VAR, name).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        if out.status.success() && stdout == *expected {
            println!("test {name} ... ok");
        } else {
            failed += 1;
            println!(
                "test {name} ... FAILED\n  status: {}\n  expected:\n{expected}  got:\n{stdout}  stderr:\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    println!("signal_ctrl_c: {} passed, {failed} failed", CASES.len() - failed);
    if failed > 0 {
        std::process::exit(1);
    }
}
