//! Child processes with asyncio's shape (`asyncio.subprocess`):
//! [`create_subprocess_exec`] and [`create_subprocess_shell`] return a
//! [`Process`] whose pipes are a [`StreamWriter`](crate::StreamWriter)
//! (stdin) and [`StreamReader`](crate::StreamReader)s (stdout, stderr).
//!
//! std forks and execs; the pipes are registered with the reactor; the exit
//! is seen on the reactor too (a pidfd on Linux 5.3+, else SIGCHLD), never
//! by a thread per child. A dropped [`Process`] leaves no zombie: its child
//! is reaped in the background once it exits, killed first only with
//! [`Options::kill_on_drop`].
//!
//! # What a cancelled call has done
//!
//! | call | cancelled |
//! |---|---|
//! | [`Process::wait`] | stopped waiting; the child runs on |
//! | [`Process::communicate`] | stopped; the child runs on (asyncio's `wait_for` expiry kills nothing either: see [`Process`] for the idiom that does); unread output stays in the pipes' readers |
//! | the pipes' reads and `drain` | as for any stream (see [`streams`](crate::streams)): a read consumes nothing |
//! | [`create_subprocess_exec`] / `_shell` | complete at their first poll (std's spawn returns once the child has exec'd): never half-done |
//!
//! # Differences from asyncio
//!
//! * [`Process::wait`] returns at the exit; asyncio 3.13 also waits for the
//!   pipes to close, since its transports read them in the background.
//!   Ravel's readers read when asked (the pull design of
//!   [`streams`](crate::streams)).
//! * [`Process::returncode`] checks at the call (`waitpid(WNOHANG)`); asyncio's
//!   attribute waits for the loop's child watcher.

mod child;
mod communicate;
mod create;
mod options;
mod pipe;
mod stdio;
mod subprocess;

pub use create::{create_subprocess_command, create_subprocess_exec, create_subprocess_shell};
pub use options::Options;
pub use stdio::Stdio;
pub use subprocess::Process;

/// How many dropped children wait on the orphan list, not yet reaped
/// (children dropped outside a runtime, or whose reaper task the runtime's
/// shutdown stopped); each spawn and each finished `wait` reaps those that
/// have exited.
///
/// ```
/// // Nothing was dropped unreaped in this program.
/// assert_eq!(ravel_io::process::orphans_waiting(), 0);
/// ```
pub fn orphans_waiting() -> usize {
    child::orphan_count()
}
