//! Ctrl-C for [`run`](crate::run), as asyncio's `Runner` does it: while
//! `run` drives the main task on the process's main thread, and only if
//! SIGINT still has its default action, the first SIGINT cancels the main
//! task (no message) and a second one aborts it. The previous action is
//! restored when `run` returns.
//!
//! The handler only does async-signal-safe work: it bumps a counter and
//! writes one byte to a pipe. A watcher thread reads the pipe and acts on
//! the main task. This module and `task/raw.rs` are the only places with
//! `unsafe`.
//!
//! A program that handles SIGINT itself (ravel-io's `ctrl_c()` or a SIGINT
//! handler) calls [`hand_over`] first: from then on, for the rest of the
//! process, `run`'s handler does nothing when called (another handler may
//! chain to it), `run` installs none, and `finish` leaves the action in
//! place instead of restoring the old one over the program's (asyncio:
//! `loop.add_signal_handler(SIGINT, ...)` replaces the Runner's handler).

use crate::task::TaskRef;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering::SeqCst};
use std::thread::JoinHandle;

static COUNT: AtomicUsize = AtomicUsize::new(0);
static PIPE_WRITE: AtomicI32 = AtomicI32::new(-1);
/// Set for good by [`hand_over`]: the program handles SIGINT itself.
static HANDED_OVER: AtomicBool = AtomicBool::new(false);
/// The task Ctrl-C acts on (set right after the handler is installed), and
/// how many signals have been applied to it.
static TARGET: Mutex<(Option<TaskRef>, usize)> = Mutex::new((None, 0));

const BYTE_SIGNAL: u8 = 1;
const BYTE_STOP: u8 = 0;

/// The program handles SIGINT from now on (see the module docs).
pub(crate) fn hand_over() {
    HANDED_OVER.store(true, SeqCst);
}

extern "C" fn on_sigint(_: libc::c_int) {
    if HANDED_OVER.load(SeqCst) {
        return;
    }
    COUNT.fetch_add(1, SeqCst);
    let fd = PIPE_WRITE.load(SeqCst);
    if fd >= 0 {
        let byte = BYTE_SIGNAL;
        // SAFETY: write(2) is async-signal-safe; the buffer is a live local
        // byte, and `fd` stays open until `finish` restores the old action.
        unsafe { libc::write(fd, &byte as *const u8 as *const libc::c_void, 1) };
    }
}

/// Installed SIGINT handling; [`finish`](SigintGuard::finish) restores it.
pub(crate) struct SigintGuard {
    old: libc::sigaction,
    read_fd: libc::c_int,
    write_fd: libc::c_int,
    watcher: Option<JoinHandle<()>>,
}

impl SigintGuard {
    /// Installs the handler if this is the main thread and SIGINT has its
    /// default action; `None` otherwise (someone else handles Ctrl-C).
    /// Signals that arrive before [`target`](Self::target) names the main
    /// task are applied to it then.
    pub(crate) fn install() -> Option<SigintGuard> {
        if std::thread::current().name() != Some("main") || HANDED_OVER.load(SeqCst) {
            return None;
        }
        // SAFETY: an all-zero `sigaction` is a valid (empty) value.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: querying the current action with a valid out pointer.
        if unsafe { libc::sigaction(libc::SIGINT, std::ptr::null(), &mut old) } != 0 {
            return None;
        }
        if old.sa_sigaction != libc::SIG_DFL {
            return None;
        }
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` has room for the two descriptors pipe2 writes.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return None;
        }
        let [read_fd, write_fd] = fds;
        COUNT.store(0, SeqCst);
        PIPE_WRITE.store(write_fd, SeqCst);
        let watcher = std::thread::Builder::new().name("ravel-sigint".into()).spawn(move || loop {
            let mut byte = 0u8;
            // SAFETY: reading one byte into a live local from our own pipe.
            let n = unsafe { libc::read(read_fd, &mut byte as *mut u8 as *mut libc::c_void, 1) };
            if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            if n != 1 || byte == BYTE_STOP {
                break;
            }
            apply(&mut TARGET.lock());
        });
        let watcher = match watcher {
            Ok(w) => w,
            Err(_) => {
                PIPE_WRITE.store(-1, SeqCst);
                // SAFETY: closing the descriptors we just created.
                unsafe {
                    libc::close(read_fd);
                    libc::close(write_fd);
                }
                return None;
            }
        };
        // SAFETY: an all-zero `sigaction` is a valid (empty) value.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        // SAFETY: installing a handler that only does async-signal-safe work.
        unsafe { libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut()) };
        Some(SigintGuard { old, read_fd, write_fd, watcher: Some(watcher) })
    }

    /// Names the task Ctrl-C acts on, applying signals that came already.
    pub(crate) fn target(&self, main: TaskRef) {
        let mut target = TARGET.lock();
        *target = (Some(main), 0);
        apply(&mut target);
    }

    /// Restores the previous action and returns how many SIGINTs arrived.
    pub(crate) fn finish(mut self) -> usize {
        self.restore()
    }

    fn restore(&mut self) -> usize {
        if !HANDED_OVER.load(SeqCst) {
            // SAFETY: restoring the action saved by `install`.
            unsafe { libc::sigaction(libc::SIGINT, &self.old, std::ptr::null_mut()) };
        }
        PIPE_WRITE.store(-1, SeqCst);
        let stop = BYTE_STOP;
        // SAFETY: writing one byte from a live local to our own pipe.
        unsafe { libc::write(self.write_fd, &stop as *const u8 as *const libc::c_void, 1) };
        if let Some(watcher) = self.watcher.take() {
            let _ = watcher.join();
        }
        // SAFETY: closing our own descriptors once; the watcher has exited.
        unsafe {
            libc::close(self.read_fd);
            libc::close(self.write_fd);
        }
        *TARGET.lock() = (None, 0);
        COUNT.swap(0, SeqCst)
    }
}

/// Applies the signals that arrived since the last call: the first
/// cancels the main task, a later one aborts it.
fn apply(target: &mut (Option<TaskRef>, usize)) {
    let (Some(main), applied) = target else { return };
    let count = COUNT.load(SeqCst);
    if count > *applied {
        if *applied == 0 {
            main.cancel();
        }
        if count >= 2 {
            main.abort();
        }
        *applied = count;
    }
}

impl Drop for SigintGuard {
    fn drop(&mut self) {
        if self.watcher.is_some() {
            self.restore();
        }
    }
}
