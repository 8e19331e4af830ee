//! [`Child`]: a spawned child, its exit watch (a pidfd on the reactor, or
//! SIGCHLD), and the reaping of children whose `Process` was dropped.

use ravel::io::{AsyncFd, Direction, Interest};
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

struct Inner {
    /// `None` only after `Drop` handed it to the orphan list.
    child: Option<std::process::Child>,
    status: Option<ExitStatus>,
}

impl Inner {
    fn poll_status(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.status.is_none() {
            if let Some(child) = self.child.as_mut() {
                self.status = child.try_wait()?;
            }
        }
        Ok(self.status)
    }
}

/// How the exit is noticed.
enum Watch {
    /// Linux 5.3+: the pidfd turns readable when the child exits.
    Pidfd(AsyncFd<OwnedFd>),
    /// Elsewhere (or when `pidfd_open` fails): every SIGCHLD, then
    /// `waitpid(pid, WNOHANG)`.
    Sigchld,
}

/// A spawned child. Its status is read under the lock, so a signal sent
/// under it never reaches a reaped (and maybe reused) pid.
pub(crate) struct Child {
    pid: u32,
    inner: Mutex<Inner>,
    watch: Watch,
}

impl Child {
    /// Watches `child`'s exit with a pidfd, or SIGCHLD if `sigchld` or if
    /// `pidfd_open` fails.
    pub(crate) fn new(child: std::process::Child, sigchld: bool) -> io::Result<Arc<Child>> {
        let pid = child.id();
        let watch = match (sigchld, crate::sys::pidfd_open(pid)) {
            (false, Ok(fd)) => Watch::Pidfd(AsyncFd::with_interest(fd, Interest::READABLE)?),
            _ => {
                // Install the SIGCHLD handler now (not at the first wait),
                // so the registry is ready before anyone waits.
                drop(crate::signal::signal(crate::signal::SignalKind::child())?);
                Watch::Sigchld
            }
        };
        Ok(Arc::new(Child { pid, inner: Mutex::new(Inner { child: Some(child), status: None }), watch }))
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// True if the exit is watched through SIGCHLD.
    pub(crate) fn uses_sigchld(&self) -> bool {
        matches!(self.watch, Watch::Sigchld)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The exit status if the child has exited (reaping it: `waitpid` with
    /// `WNOHANG`); never waits.
    pub(crate) fn try_status(&self) -> io::Result<Option<ExitStatus>> {
        self.lock().poll_status()
    }

    /// Sends `sig` unless the child has exited (then `ESRCH`, asyncio's
    /// `ProcessLookupError`).
    pub(crate) fn signal(&self, sig: libc::c_int) -> io::Result<()> {
        let mut inner = self.lock();
        if inner.poll_status()?.is_some() {
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        }
        // The child is not reaped (we hold the lock), so `pid` is still it.
        crate::sys::kill(self.pid, sig)
    }

    /// Waits for the exit (a cancellable Ravel await; cancelled, nothing
    /// happened to the child) and reaps the child.
    pub(crate) async fn wait(&self) -> ravel::Result<ExitStatus> {
        match &self.watch {
            Watch::Pidfd(fd) => loop {
                let event = fd.ready(Direction::Read).await?;
                if let Some(status) = self.try_status()? {
                    return Ok(status);
                }
                fd.clear_ready(event);
            },
            Watch::Sigchld => {
                // Listen first, then check: an exit in between is a
                // delivery the next `recv` sees.
                let mut sigchld = crate::signal::signal(crate::signal::SignalKind::child())?;
                loop {
                    if let Some(status) = self.try_status()? {
                        return Ok(status);
                    }
                    sigchld.recv().await?;
                }
            }
        }
    }
}

/// asyncio's `returncode`: the exit code, or minus the signal that killed
/// the child.
pub(crate) fn returncode(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(sig)) => -sig,
        (None, None) => unreachable!("an exited child has a code or a signal"),
    }
}

impl Drop for Child {
    /// Not reaped yet (its `Process` and reaper task are gone, e.g. at a
    /// runtime's shutdown): onto the orphan list.
    fn drop(&mut self) {
        let inner = self.inner.get_mut().unwrap_or_else(PoisonError::into_inner);
        if !matches!(inner.poll_status(), Ok(Some(_))) {
            if let Some(child) = inner.child.take() {
                orphans().push(child);
            }
        }
    }
}

/// Children dropped before they were reaped and that no reaper task
/// watches (no runtime, or it shut down): reaped by the next spawn or
/// wait in this process.
static ORPHANS: Mutex<Vec<std::process::Child>> = Mutex::new(Vec::new());

fn orphans() -> MutexGuard<'static, Vec<std::process::Child>> {
    ORPHANS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Reaps, in the background, a child whose `Process` is gone: a detached
/// task on the reactor waits for its exit (no thread per child); without a
/// runtime, or if that task is cancelled by the runtime's shutdown, the
/// child goes on the orphan list (see `Drop`).
pub(crate) fn adopt(child: Arc<Child>) {
    if matches!(child.try_status(), Ok(Some(_))) {
        return;
    }
    let Ok(handle) = ravel::Handle::try_current() else {
        return; // dropping `child` puts it on the orphan list
    };
    let task = ravel::task::Builder::new().name("ravel_io child reaper").spawn_on(&handle, async move {
        let _ = child.wait().await;
        reap_orphans();
        Ok(())
    });
    drop(task);
}

/// Reaps the orphans that have exited.
pub(crate) fn reap_orphans() {
    let mut list = orphans();
    if !list.is_empty() {
        // An error (ECHILD: someone else reaped it) also ends the watch.
        list.retain_mut(|child| matches!(child.try_wait(), Ok(None)));
    }
}

/// How many orphans wait to be reaped (for tests and `Debug`).
pub(crate) fn orphan_count() -> usize {
    orphans().len()
}
