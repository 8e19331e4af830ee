//! A `Process` dropped outside any runtime goes on the orphan list and is
//! reaped by the next spawn (its own binary: the list is process-wide).

mod common;

use common::{block, multi_thread, until};
use ravel_io::process::{create_subprocess_exec, Options, Stdio};

fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')').next()?.trim_start().chars().next()
}

/// Dropped outside any runtime (after its runtime is gone): the child goes
/// on the orphan list, and the next spawn reaps it once it has exited.
#[test]
fn dropped_outside_a_runtime_goes_on_the_orphan_list() {
    let rt = multi_thread();
    let proc = block(&rt, async {
        let proc = create_subprocess_exec("/bin/sh", ["-c", "read x"], Options::new().stdin(Stdio::Pipe)).await?;
        Ok(proc)
    });
    drop(rt);
    let pid = proc.pid();
    drop(proc); // no runtime: its stdin closes, the child exits, nobody reaps yet
    assert!(ravel_io::process::orphans_waiting() >= 1);
    block(&multi_thread(), async move {
        until(|| proc_state(pid) == Some('Z')).await?; // exited, a zombie for now
        let next = create_subprocess_exec("/bin/true", [""; 0], Options::new()).await?; // reaps it
        assert_eq!(proc_state(pid), None);
        next.wait().await?;
        Ok(())
    });
}
