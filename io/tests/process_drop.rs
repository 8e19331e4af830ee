//! A dropped `Process` leaves no zombie: its child is reaped in the
//! background once it exits (asyncio does not kill it; neither do we unless
//! `kill_on_drop`); a cancelled `wait` leaves the child alone.

mod common;

use common::{block, multi_thread, until};
use ravel_io::process::{create_subprocess_exec, Options, Stdio};

/// The child's state letter from /proc (`Z` for a zombie), `None` once it
/// is reaped (its /proc entry is gone).
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ...": the state follows the last ')'.
    stat.rsplit(')').next()?.trim_start().chars().next()
}

/// Dropped while running (it waits on its stdin), not killed: it exits
/// when the dropped stdin pipe closes, and is then reaped.
#[test]
fn dropped_process_is_reaped_not_killed() {
    for sigchld in [false, true] {
        block(&multi_thread(), async move {
            let options = Options::new().stdin(Stdio::Pipe).stdout(Stdio::Pipe).reap_with_sigchld(sigchld);
            let proc = create_subprocess_exec("/bin/sh", ["-c", "read x; echo done"], options).await?;
            let pid = proc.pid();
            assert!(matches!(proc_state(pid), Some(c) if c != 'Z'));
            drop(proc); // closes stdin: `read` sees EOF, the shell exits 1
            until(|| proc_state(pid).is_none()).await?;
            assert_eq!(ravel_io::process::orphans_waiting(), 0);
            Ok(())
        });
    }
}

/// `kill_on_drop(true)`: a child that would run for 30 s is killed by the
/// drop, then reaped.
#[test]
fn kill_on_drop_kills_then_reaps() {
    block(&multi_thread(), async {
        let options = Options::new().kill_on_drop(true);
        let proc = create_subprocess_exec("/bin/sh", ["-c", "exec sleep 30"], options).await?;
        let pid = proc.pid();
        drop(proc);
        until(|| proc_state(pid).is_none()).await?;
        Ok(())
    });
}

/// Without `kill_on_drop` the dropped child runs on (asyncio's rule).
#[test]
fn without_kill_on_drop_the_child_runs_on() {
    block(&multi_thread(), async {
        let proc = create_subprocess_exec("/bin/sh", ["-c", "exec sleep 30"], Options::new()).await?;
        let pid = proc.pid();
        drop(proc);
        // Still there after the reaper task has had many chances to run.
        for _ in 0..100 {
            ravel::yield_now().await?;
        }
        assert!(matches!(proc_state(pid), Some(c) if c != 'Z'), "a dropped child is not killed");
        // Clean up: it is our child's pid, not yet reaped (the reaper task
        // owns it), so signalling it is safe.
        assert_eq!(std::process::Command::new("kill").arg("-9").arg(pid.to_string()).status()?.code(), Some(0));
        until(|| proc_state(pid).is_none()).await?;
        Ok(())
    });
}

/// A cancelled `wait` did nothing to the child; waiting again works.
#[test]
fn cancelled_wait_leaves_the_child_alone() {
    block(&multi_thread(), async {
        let proc =
            std::sync::Arc::new(create_subprocess_exec("/bin/cat", [""; 0], Options::new().stdin(Stdio::Pipe)).await?);
        let p = proc.clone();
        let waiter = ravel::task::Builder::new().eager_start(true).spawn(async move { p.wait().await });
        waiter.cancel();
        assert!(waiter.await.unwrap_err().is_cancelled());
        assert_eq!(proc.returncode(), None);
        proc.stdin.as_ref().unwrap().close();
        assert_eq!(proc.wait().await?, 0);
        Ok(())
    });
}
