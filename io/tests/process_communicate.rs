//! `communicate` with 10 MB on both stdout and stderr (no deadlock, sizes
//! and bytes checked), and a `wait_for` expiry around it killing nothing
//! (CPython 3.13 lines `communicate_10mb_both`, `wait_for_communicate_expiry`,
//! `readline_after_expiry` (a difference), `killed_after_expiry`, `kill_on_expiry_idiom` of
//! io/tests/python/process_cases.out).

mod common;

use common::{block, multi_thread};
use ravel_io::process::{create_subprocess_exec, Options, Stdio};
use std::time::Duration;

const TEN_MB: usize = 10 * 1024 * 1024;

/// `communicate_10mb_both: 10485760 10485760 {0} {0} 0`; and 10 MB in on
/// stdin at the same time, through `cat`, out on stdout.
#[test]
fn communicate_10mb_on_both_pipes() {
    block(&multi_thread(), async {
        let script = format!("head -c {TEN_MB} /dev/zero; head -c {TEN_MB} /dev/zero >&2");
        let options = Options::new().stdout(Stdio::Pipe).stderr(Stdio::Pipe);
        let proc = create_subprocess_exec("/bin/sh", ["-c", &script], options).await?;
        let (out, err) = proc.communicate(None).await?;
        let (out, err) = (out.unwrap(), err.unwrap());
        assert_eq!((out.len(), err.len()), (TEN_MB, TEN_MB));
        assert!(out.iter().all(|&b| b == 0) && err.iter().all(|&b| b == 0));
        assert_eq!(proc.returncode(), Some(0));

        // Both directions at once: 10 MB through `cat` while its stderr
        // gets 10 MB of its own.
        let input: Vec<u8> = (0..TEN_MB).map(|i| (i % 251) as u8).collect();
        let script = format!("head -c {TEN_MB} /dev/zero >&2 & cat; wait");
        let options = Options::new().stdin(Stdio::Pipe).stdout(Stdio::Pipe).stderr(Stdio::Pipe);
        let proc = create_subprocess_exec("/bin/sh", ["-c", &script], options).await?;
        let (out, err) = proc.communicate(Some(&input)).await?;
        assert!(out.unwrap() == input, "cat gave back different bytes");
        assert_eq!(err.unwrap().len(), TEN_MB);
        assert_eq!(proc.returncode(), Some(0));
        Ok(())
    });
}

/// `wait_for_communicate_expiry: TimeoutError returncode None alive True`,
/// `killed_after_expiry: -9`: the expiry cancels the communicate only.
#[test]
fn wait_for_expiry_around_communicate_kills_nothing() {
    block(&multi_thread(), async {
        let proc = create_subprocess_exec(
            "/bin/sh",
            ["-c", "echo started; exec sleep 30"],
            Options::new().stdout(Stdio::Pipe),
        )
        .await?;
        let expired = ravel::wait_for(proc.communicate(None), Duration::from_millis(200)).await;
        assert!(expired.unwrap_err().is_timeout());
        assert_eq!(proc.returncode(), None, "the child still runs");
        // A difference, on purpose: asyncio prints `readline_after_expiry:
        // TimeoutError` (its cancelled read(-1) took "started\n" with it);
        // Ravel's cancelled read_to_end consumed nothing.
        assert_eq!(proc.stdout.as_ref().unwrap().readline().await?, b"started\n");
        proc.kill()?;
        assert_eq!(proc.wait().await?, -9);
        Ok(())
    });
}

/// `kill_on_expiry_idiom: -9`: the idiom that does kill.
#[test]
fn the_kill_on_expiry_idiom() {
    block(&multi_thread(), async {
        let proc =
            create_subprocess_exec("/bin/sh", ["-c", "exec sleep 30"], Options::new().stdout(Stdio::Pipe)).await?;
        let code = match ravel::wait_for(proc.communicate(None), Duration::from_millis(100)).await {
            Err(e) if e.is_timeout() => {
                proc.kill()?;
                proc.wait().await?
            }
            other => panic!("sleep 30 ended early: {other:?}"),
        };
        assert_eq!(code, -9);
        Ok(())
    });
}
