//! Unix signals: [`ctrl_c`], a stream of any signal ([`signal`],
//! [`Signal`]), and asyncio's callback form ([`add_signal_handler`],
//! [`remove_signal_handler`]).
//!
//! Signals belong to the process, not to a runtime. The first listener for
//! a signal installs a handler (chained with any installed before it) that
//! only records the delivery and wakes the `ravel-signal` thread; that
//! thread wakes the waiting [`Signal`]s and schedules the callbacks on
//! their runtimes, so no Ravel code runs inside a signal handler. The
//! handler stays for the rest of the process: dropping every listener
//! does not restore the default action (which would let the next delivery
//! kill the process), it makes deliveries no-ops.
//!
//! Deliveries **coalesce**: a `recv` (or a callback call) stands for one
//! or more deliveries since the previous one, as with Unix signals and
//! Tokio.
//!
//! A graceful shutdown on SIGTERM:
//!
//! ```
//! use ravel_io::signal::{signal, SignalKind};
//!
//! ravel::run(async {
//!     let main = ravel::current_task().unwrap();
//!     let mut term = signal(SignalKind::terminate())?;
//!     ravel::spawn(async move {
//!         term.recv().await?;
//!         main.cancel_with("SIGTERM");
//!         Ok(())
//!     });
//!     // SAFETY: raising a signal this process now handles.
//!     unsafe { libc::raise(libc::SIGTERM) };
//!     let err = ravel::sleep(std::time::Duration::from_secs(3600)).await.unwrap_err();
//!     assert!(err.is_cancelled());
//!     Ok(())
//! })
//! .unwrap();
//! ```
//!
//! ([`cancel_on_signal`] is that spawn, ready-made.)

mod ctrl_c;
mod handler;
mod kind;
mod registry;
mod shutdown;
mod stream;

pub use ctrl_c::{ctrl_c, CtrlC};
pub use handler::{add_signal_handler, remove_signal_handler};
pub use kind::SignalKind;
pub use shutdown::cancel_on_signal;
pub use stream::{signal, Recv, Signal};
