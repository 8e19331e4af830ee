//! 200 concurrent `/bin/sh -c` children (CPython 3.13 line
//! `two_hundred_concurrent: True`), on both reaping paths; and several
//! tasks on different workers waiting for one child, many times.

mod common;

use common::{block, multi_thread};
use ravel_io::process::{create_subprocess_exec, Options, Stdio};

async fn two_hundred(sigchld: bool) -> ravel::Result<()> {
    let mut tasks = Vec::new();
    for i in 0..200u32 {
        tasks.push(ravel::spawn(async move {
            let script = format!("echo {i}; exit {}", i % 7);
            let options = Options::new().stdout(Stdio::Pipe).reap_with_sigchld(sigchld);
            let proc = create_subprocess_exec("/bin/sh", ["-c", &script], options).await?;
            assert_eq!(proc.reaped_with_sigchld(), sigchld);
            let (out, _) = proc.communicate(None).await?;
            Ok((i, out.unwrap(), proc.returncode()))
        }));
    }
    for task in tasks {
        let (i, out, code) = task.await?;
        assert_eq!(out, format!("{i}\n").into_bytes());
        assert_eq!(code, Some((i % 7) as i32));
    }
    Ok(())
}

#[test]
fn two_hundred_concurrent_children_with_pidfds() {
    block(&multi_thread(), two_hundred(false));
}

#[test]
fn two_hundred_concurrent_children_with_sigchld() {
    block(&multi_thread(), two_hundred(true));
}

/// Three tasks wait for the same child while a fourth kills it; all see
/// -9. Repeated, on two workers, on both reaping paths.
#[test]
fn concurrent_waiters_on_one_child_all_see_the_code() {
    block(&multi_thread(), async {
        for round in 0..40 {
            let options = Options::new().stdin(Stdio::Pipe).reap_with_sigchld(round % 2 == 1);
            let proc = std::sync::Arc::new(create_subprocess_exec("/bin/cat", [""; 0], options).await?);
            let waiters: Vec<_> = (0..3)
                .map(|_| {
                    let p = proc.clone();
                    ravel::spawn(async move { p.wait().await })
                })
                .collect();
            let p = proc.clone();
            let killer = ravel::spawn(async move { p.kill() });
            killer.await?;
            for w in waiters {
                assert_eq!(w.await?, -9, "round {round}");
            }
        }
        Ok(())
    });
}
