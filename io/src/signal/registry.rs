//! The process-wide signal table and its dispatcher thread.
//!
//! For each signal number there is a `pending` flag, which the signal
//! handler sets, and a slot under one mutex: how many dispatch rounds have
//! seen the signal (its *generation*), the wakers of the [`Signal`]s
//! waiting for it, and the callback added with `add_signal_handler`.
//!
//! The handler (installed once per signal, for good, through
//! `signal-hook-registry`, see `sys::add_signal_action`) only sets the flag
//! and writes a byte to a self-pipe. The dispatcher thread, `ravel-signal`,
//! started with the table, blocks reading that pipe; each time it wakes it
//! takes every set flag (from the highest signal number down), bumps those
//! signals' generations, then schedules their callbacks
//! (`call_soon_threadsafe` on the runtime each was added on), then wakes
//! their waiters. Nothing runs inside the signal handler but
//! the flag and the byte.
//!
//! A thread rather than a reader on each runtime's reactor: signals belong
//! to the process, not to a runtime, so one reader serves every runtime,
//! including ones started later and current-thread runtimes that are not
//! being driven, and a callback is scheduled even when no task of its
//! runtime is awaiting anything.
//!
//! [`Signal`]: super::Signal

use super::SignalKind;
use crate::sys;
use ravel::Handle;
use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::Waker;

/// One past the largest signal number the table holds.
#[cfg(target_os = "linux")]
const TABLE_LEN: usize = 65;
#[cfg(not(target_os = "linux"))]
const TABLE_LEN: usize = 33;

/// A callback added with `add_signal_handler`.
pub(crate) type Callback = Arc<dyn Fn() + Send + Sync>;

/// The callback of one signal and the runtime it runs on.
pub(crate) struct Handler {
    pub(crate) handle: Handle,
    pub(crate) callback: Callback,
    /// Tells this handler from a later one for the same signal.
    pub(crate) id: u64,
}

#[derive(Default)]
pub(crate) struct Slot {
    /// The OS handler is installed (it never is removed).
    installed: bool,
    /// Dispatch rounds that saw this signal.
    pub(crate) generation: u64,
    /// Waiting `Signal`s, by id.
    pub(crate) waiters: Vec<(u64, Waker)>,
    pub(crate) handler: Option<Handler>,
}

pub(crate) struct Globals {
    pending: [AtomicBool; TABLE_LEN],
    wake: UnixStream,
    slots: Mutex<Vec<Slot>>,
    next_id: AtomicU64,
}

static GLOBALS: OnceLock<Globals> = OnceLock::new();
static INIT: Mutex<()> = Mutex::new(());

/// The table, created (with its pipe and dispatcher thread) on first use.
pub(crate) fn globals() -> io::Result<&'static Globals> {
    if let Some(globals) = GLOBALS.get() {
        return Ok(globals);
    }
    let _init = INIT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(globals) = GLOBALS.get() {
        return Ok(globals);
    }
    let (read, write) = UnixStream::pair()?;
    write.set_nonblocking(true)?;
    let globals = Globals {
        pending: std::array::from_fn(|_| AtomicBool::new(false)),
        wake: write,
        slots: Mutex::new((0..TABLE_LEN).map(|_| Slot::default()).collect()),
        next_id: AtomicU64::new(1),
    };
    // The thread first, so that if it cannot start nothing is set and a
    // later call tries again; it waits for the table to be published.
    let dispatcher = std::thread::Builder::new().name("ravel-signal".into()).spawn(move || {
        let globals = loop {
            match GLOBALS.get() {
                Some(globals) => break globals,
                None => std::thread::park(),
            }
        };
        dispatch(globals, read)
    })?;
    let _ = GLOBALS.set(globals);
    dispatcher.thread().unpark();
    Ok(GLOBALS.get().expect("just set"))
}

/// The table, if anything has used it yet.
pub(crate) fn existing() -> Option<&'static Globals> {
    GLOBALS.get()
}

/// Checks that `kind` can be listened for.
pub(crate) fn check(kind: SignalKind) -> io::Result<usize> {
    let n = kind.as_raw_value();
    if signal_hook_registry::FORBIDDEN.contains(&n) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{kind} cannot be handled (SIGKILL and SIGSTOP cannot be caught; SIGILL, SIGFPE and SIGSEGV are faults)"),
        ));
    }
    match usize::try_from(n) {
        Ok(index) if (1..TABLE_LEN).contains(&index) => Ok(index),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{n} is not a signal number this platform can handle (1..{TABLE_LEN})"),
        )),
    }
}

impl Globals {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Vec<Slot>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, SeqCst)
    }

    /// Installs the OS handler for signal `index` if it is not yet; to be
    /// called with the table locked (`slots` is the locked table).
    pub(crate) fn install(&'static self, slots: &mut [Slot], kind: SignalKind, index: usize) -> io::Result<()> {
        if slots[index].installed {
            return Ok(());
        }
        if kind == SignalKind::interrupt() {
            // The program handles Ctrl-C from now on: `ravel::run`'s own
            // handler stands aside (see `ctrl_c`).
            ravel::__hand_over_sigint();
        }
        sys::add_signal_action(kind.as_raw_value(), &self.pending[index], &self.wake)?;
        slots[index].installed = true;
        Ok(())
    }
}

/// The dispatcher thread's loop: one round per wake-up of the pipe.
fn dispatch(globals: &'static Globals, mut read: UnixStream) {
    let mut buf = [0u8; 64];
    loop {
        match read.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        }
        // Bump every pending signal's generation first (from the highest
        // number down), then wake: whoever is woken for one signal sees
        // every delivery taken in this round.
        let mut wake = Vec::new();
        let mut calls = Vec::new();
        {
            let mut slots = globals.lock();
            for index in (1..TABLE_LEN).rev() {
                if !globals.pending[index].swap(false, SeqCst) {
                    continue;
                }
                let slot = &mut slots[index];
                slot.generation += 1;
                wake.extend(slot.waiters.drain(..).map(|(_, waker)| waker));
                if let Some(handler) = &slot.handler {
                    calls.push((index, handler.id, handler.handle.clone(), handler.callback.clone()));
                }
            }
        }
        // Callbacks are scheduled before waiters are woken, so a `Signal`
        // woken by this round finds them scheduled (or dropped).
        for (index, id, handle, callback) in calls {
            if handle.call_soon_threadsafe(move || callback()).is_err() {
                // Its runtime has shut down: the handler goes with it.
                let mut slots = globals.lock();
                if slots[index].handler.as_ref().is_some_and(|h| h.id == id) {
                    slots[index].handler = None;
                }
            }
        }
        wake.into_iter().for_each(Waker::wake);
    }
}
