//! [`Process`]: asyncio's `asyncio.subprocess.Process`.

use super::child::{self, Child};
use crate::signal::SignalKind;
use crate::{StreamReader, StreamWriter};
use std::fmt;
use std::sync::Arc;

/// A child process (asyncio `asyncio.subprocess.Process`), made by
/// [`create_subprocess_exec`](super::create_subprocess_exec) or
/// [`create_subprocess_shell`](super::create_subprocess_shell).
///
/// * [`stdin`](Self::stdin), [`stdout`](Self::stdout),
///   [`stderr`](Self::stderr): asyncio's attributes, `Some` for a
///   [`Stdio::Pipe`](super::Stdio::Pipe). Closing or dropping the
///   `StreamWriter` closes the child's stdin (it reads end of file).
/// * [`wait`](Self::wait) returns once the child has exited; the exit is
///   seen on the reactor (a pidfd on Linux, else SIGCHLD), never by a
///   thread per child. As asyncio warns, a child that fills a pipe nobody
///   reads blocks and never exits: read the pipes, or use
///   [`communicate`](Self::communicate).
/// * Dropped before its child was reaped, the child is reaped in the
///   background once it exits (no zombie), and is not killed unless
///   [`Options::kill_on_drop`](super::Options::kill_on_drop) says so (as
///   asyncio, which never kills a child it loses). The pipes are closed.
/// * A timeout around `communicate` or `wait` (`ravel::wait_for`) cancels
///   the waiting only; the child runs on, as in asyncio. To kill it on
///   expiry:
///
/// ```
/// use ravel_io::process::{create_subprocess_exec, Options, Stdio};
/// use std::time::Duration;
///
/// ravel::run(async {
///     let proc = create_subprocess_exec("/bin/sh", ["-c", "exec sleep 30"], Options::new().stdout(Stdio::Pipe)).await?;
///     match ravel::wait_for(proc.communicate(None), Duration::from_millis(50)).await {
///         Err(e) if e.is_timeout() => {
///             assert_eq!(proc.returncode(), None); // the expiry killed nothing
///             proc.kill()?;
///             assert_eq!(proc.wait().await?, -9); // SIGKILL
///         }
///         other => panic!("sleep 30 finished: {other:?}"),
///     }
///     Ok(())
/// })
/// .unwrap();
/// ```
pub struct Process {
    /// The child's stdin, if it is a pipe (asyncio `Process.stdin`).
    pub stdin: Option<StreamWriter>,
    /// The child's stdout, if it is a pipe (asyncio `Process.stdout`).
    pub stdout: Option<StreamReader>,
    /// The child's stderr, if it is a pipe (asyncio `Process.stderr`).
    pub stderr: Option<StreamReader>,
    pub(crate) child: Arc<Child>,
    pub(crate) kill_on_drop: bool,
}

impl Process {
    /// The child's process id (asyncio `Process.pid`).
    ///
    /// ```
    /// use ravel_io::process::{create_subprocess_exec, Options};
    ///
    /// ravel::run(async {
    ///     let proc = create_subprocess_exec("/bin/true", [""; 0], Options::new()).await?;
    ///     assert!(proc.pid() > 0);
    ///     proc.wait().await?;
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// The exit code, minus the signal number if a signal killed the child
    /// (asyncio `Process.returncode`: `-9` for SIGKILL), `None` while it
    /// runs. asyncio's attribute is set by the loop's child watcher; this
    /// checks at the call (`waitpid` with `WNOHANG`), so it is `Some` as
    /// soon as the child has exited.
    ///
    /// ```
    /// use ravel_io::process::{create_subprocess_exec, Options, Stdio};
    ///
    /// ravel::run(async {
    ///     let proc = create_subprocess_exec("/bin/cat", [""; 0], Options::new().stdin(Stdio::Pipe)).await?;
    ///     assert_eq!(proc.returncode(), None); // cat waits for its stdin
    ///     proc.stdin.as_ref().unwrap().close();
    ///     assert_eq!(proc.wait().await?, 0);
    ///     assert_eq!(proc.returncode(), Some(0));
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn returncode(&self) -> Option<i32> {
        self.child.try_status().ok().flatten().map(child::returncode)
    }

    /// Waits for the child to exit and returns its
    /// [`returncode`](Self::returncode) (asyncio `Process.wait()`); at once
    /// if it has. A cancellable Ravel await: cancelled, nothing happened to
    /// the child. asyncio 3.13's `wait()` also waits for the pipes to be
    /// closed (its transports read them in the background); Ravel's
    /// streams read only when asked, so `wait` waits for the exit alone.
    ///
    /// ```
    /// use ravel_io::process::{create_subprocess_shell, Options};
    ///
    /// ravel::run(async {
    ///     let proc = create_subprocess_shell("exit 3", Options::new()).await?;
    ///     assert_eq!(proc.wait().await?, 3);
    ///     assert_eq!(proc.wait().await?, 3); // again: the same code
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn wait(&self) -> ravel::Result<i32> {
        let status = self.child.wait().await?;
        child::reap_orphans();
        Ok(child::returncode(status))
    }

    /// Sends `signal` to the child (asyncio `Process.send_signal`). An I/O
    /// error `ESRCH` (asyncio's `ProcessLookupError`) once the child has
    /// exited, as asyncio after `wait()`.
    ///
    /// ```
    /// use ravel_io::process::{create_subprocess_exec, Options, Stdio};
    /// use ravel_io::signal::SignalKind;
    ///
    /// ravel::run(async {
    ///     let proc = create_subprocess_exec("/bin/cat", [""; 0], Options::new().stdin(Stdio::Pipe)).await?;
    ///     proc.send_signal(SignalKind::interrupt())?;
    ///     assert_eq!(proc.wait().await?, -libc::SIGINT);
    ///     let gone = proc.send_signal(SignalKind::interrupt()).unwrap_err();
    ///     assert_eq!(gone.io_error().and_then(|e| e.raw_os_error()), Some(libc::ESRCH));
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn send_signal(&self, signal: SignalKind) -> ravel::Result<()> {
        Ok(self.child.signal(signal.as_raw_value())?)
    }

    /// Sends SIGTERM (asyncio `Process.terminate()`); `ESRCH` once exited.
    ///
    /// ```
    /// use ravel_io::process::{create_subprocess_exec, Options, Stdio};
    ///
    /// ravel::run(async {
    ///     let proc = create_subprocess_exec("/bin/cat", [""; 0], Options::new().stdin(Stdio::Pipe)).await?;
    ///     proc.terminate()?;
    ///     assert_eq!(proc.wait().await?, -libc::SIGTERM);
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn terminate(&self) -> ravel::Result<()> {
        self.send_signal(SignalKind::terminate())
    }

    /// Sends SIGKILL (asyncio `Process.kill()`); `ESRCH` once exited.
    ///
    /// ```
    /// use ravel_io::process::{create_subprocess_exec, Options, Stdio};
    ///
    /// ravel::run(async {
    ///     let proc = create_subprocess_exec("/bin/cat", [""; 0], Options::new().stdin(Stdio::Pipe)).await?;
    ///     proc.kill()?;
    ///     assert_eq!(proc.wait().await?, -9);
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn kill(&self) -> ravel::Result<()> {
        self.child.signal(libc::SIGKILL).map_err(ravel::Error::from)
    }

    /// True if the child's exit is watched through SIGCHLD (the fallback)
    /// rather than a pidfd.
    ///
    /// ```
    /// use ravel_io::process::{create_subprocess_exec, Options};
    ///
    /// ravel::run(async {
    ///     let proc = create_subprocess_exec("/bin/true", [""; 0], Options::new().reap_with_sigchld(true)).await?;
    ///     assert!(proc.reaped_with_sigchld());
    ///     proc.wait().await?;
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn reaped_with_sigchld(&self) -> bool {
        self.child.uses_sigchld()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.kill_on_drop {
            // ESRCH: it has exited already.
            let _ = self.child.signal(libc::SIGKILL);
        }
        child::adopt(self.child.clone());
    }
}

impl fmt::Debug for Process {
    /// As asyncio's repr: `<Process 1234>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Process {}>", self.pid())
    }
}
