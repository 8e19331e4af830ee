//! [`Error`] and [`Result`]: the outcome of every Ravel awaitable.
//!
//! asyncio signals cancellation by raising `CancelledError` inside the
//! coroutine; Rust has no exceptions, so Ravel returns it: every Ravel
//! awaitable yields a [`Result`], and a cancelled await yields an [`Error`]
//! whose [`is_cancelled`](Error::is_cancelled) is true. A task that wants
//! asyncio's "re-raise" simply propagates it with `?`; one that wants to
//! "catch" it matches on it, cleans up (awaiting as much as it likes) and
//! carries on or returns.
//!
//! `Error` is cheap to clone (an `Arc`), so one failure can be reported to
//! several awaiters, as asyncio raises the same exception object to each.

use std::any::Any;
use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

pub use crate::exception_group::ExceptionGroup;

/// The result type of every Ravel awaitable.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an [`Error`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The task was cancelled (asyncio `CancelledError`), or aborted.
    Cancelled,
    /// A deadline passed (asyncio `TimeoutError`).
    Timeout,
    /// The task's future panicked.
    Panic,
    /// An operation was called in a state that does not allow it (asyncio
    /// `InvalidStateError`, and the `RuntimeError`s of misuse).
    InvalidState,
    /// The runtime is shut down or not reachable.
    RuntimeClosed,
    /// The program was interrupted (Ctrl-C; asyncio `KeyboardInterrupt`).
    Interrupted,
    /// Several errors at once (asyncio `ExceptionGroup`), e.g. from a
    /// [`TaskGroup`](crate::TaskGroup).
    Group,
    /// An I/O error (a `std::io::Error`, from a Ravel socket or converted
    /// with `?`); [`Error::io_error`] gives it.
    Io,
    /// A user error, converted with `?` or [`Error::new`].
    Other,
}

type PanicPayload = Arc<parking_lot::Mutex<Option<Box<dyn Any + Send>>>>;

#[derive(Clone)]
enum Repr {
    Cancelled { message: Option<String>, aborted: bool },
    Timeout,
    Panic { message: String, payload: PanicPayload },
    InvalidState(String),
    RuntimeClosed(String),
    Interrupted,
    Group(ExceptionGroup),
    Other(Arc<dyn StdError + Send + Sync>),
}

struct Inner {
    repr: Repr,
    /// asyncio `__cause__` (`raise X from cause`).
    cause: Option<Error>,
    /// asyncio `__context__`: the error being handled when this one arose.
    context: Option<Error>,
}

/// An error from a Ravel awaitable or task: a cancellation, a timeout, a
/// panic, a misuse, or any user error converted with `?`.
///
/// Like `anyhow::Error`, `Error` converts from every
/// `std::error::Error + Send + Sync + 'static` and therefore does not itself
/// implement `std::error::Error`; use [`Error::into_std`] where one is needed.
///
/// ```
/// use ravel::{Error, Result};
///
/// fn parse(s: &str) -> Result<u32> {
///     Ok(s.parse::<u32>()?) // any std error converts with `?`
/// }
/// let err = parse("x").unwrap_err();
/// assert!(err.downcast_ref::<std::num::ParseIntError>().is_some());
/// assert!(!err.is_cancelled());
///
/// let cancelled = Error::cancelled(Some("shutting down"));
/// assert!(cancelled.is_cancelled());
/// assert_eq!(cancelled.cancel_message(), Some("shutting down"));
/// ```
#[derive(Clone)]
pub struct Error {
    /// `None`: a plain cancellation (no message, not an abort, no cause or
    /// context), the error every cancelled sleep, join and task ends with.
    /// It is built without allocating and reads as [`PLAIN_CANCELLED`].
    inner: Option<Arc<Inner>>,
}

/// What an `Error` with no `inner` reads as.
static PLAIN_CANCELLED: Inner =
    Inner { repr: Repr::Cancelled { message: None, aborted: false }, cause: None, context: None };

impl Error {
    fn from_repr(repr: Repr) -> Error {
        Error::from_inner(Inner { repr, cause: None, context: None })
    }

    fn from_inner(inner: Inner) -> Error {
        Error { inner: Some(Arc::new(inner)) }
    }

    fn inner(&self) -> &Inner {
        self.inner.as_deref().unwrap_or(&PLAIN_CANCELLED)
    }

    /// Whether two errors are one value (not merely equal-looking). Plain
    /// cancellations carry no identity: any two are the same value, so
    /// `Display`/`Debug` print a plain-cancellation context once when the
    /// cause is a plain cancellation too.
    fn same(&self, other: &Error) -> bool {
        match (&self.inner, &other.inner) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }

    /// Wraps a user error.
    pub fn new<E: StdError + Send + Sync + 'static>(error: E) -> Error {
        Error::from_repr(Repr::Other(Arc::new(error)))
    }

    /// An exception group (asyncio `ExceptionGroup(message, errors)`).
    pub fn group(group: ExceptionGroup) -> Error {
        Error::from_repr(Repr::Group(group))
    }

    /// An error carrying just a message (like `anyhow!("...")`).
    pub fn msg(message: impl Into<String>) -> Error {
        Error::new(Message(message.into()))
    }

    /// A cancellation error (asyncio `CancelledError(msg)`). Returning it from
    /// a task ends the task cancelled, as raising `CancelledError` does.
    pub fn cancelled<M: Into<String>>(message: Option<M>) -> Error {
        match message {
            None => Error { inner: None },
            Some(message) => Error::from_repr(Repr::Cancelled { message: Some(message.into()), aborted: false }),
        }
    }

    /// Whether this is a plain cancellation: no message, not an abort, no
    /// cause or context (one that `Error::cancelled(None)` recreates exactly).
    pub(crate) fn is_plain_cancellation(&self) -> bool {
        self.inner.is_none()
    }

    /// The outcome of a task stopped by [`abort`](crate::TaskRef::abort).
    pub(crate) fn aborted() -> Error {
        Error::from_repr(Repr::Cancelled { message: None, aborted: true })
    }

    /// A timeout error (asyncio `TimeoutError`).
    pub fn timeout() -> Error {
        Error::from_repr(Repr::Timeout)
    }

    /// A timeout error whose cause is `cause` (asyncio `raise TimeoutError from exc`).
    pub fn timeout_from(cause: Error) -> Error {
        Error::from_inner(Inner { repr: Repr::Timeout, cause: Some(cause.clone()), context: Some(cause) })
    }

    /// The same error with `context` set as the error being handled when it
    /// arose (asyncio `__context__`). If this error already has a context,
    /// `context` is added at the end of its context chain.
    pub fn with_context(&self, context: Error) -> Error {
        let inner = self.inner();
        let context = match &inner.context {
            Some(existing) => existing.with_context(context),
            None => context,
        };
        Error::from_inner(Inner { repr: inner.repr.clone(), cause: inner.cause.clone(), context: Some(context) })
    }

    /// The same error with a timeout error in its context chain, as 3.13's
    /// `Timeout` does for a foreign error leaving an expired scope
    /// (`_insert_timeout_error`): just before the first cancellation in the
    /// chain, with that cancellation as its cause and context. A chain
    /// without a cancellation gets one at its end, caused by a plain
    /// cancellation: Ravel has no implicit `__context__`, so a foreign error
    /// is taken to have been raised while handling the expiry's cancellation,
    /// which Python would have put there.
    pub(crate) fn with_timeout_context(&self) -> Error {
        let inner = self.inner();
        let context = match &inner.context {
            Some(context) if context.is_cancelled() => Error::timeout_from(context.clone()),
            Some(context) => context.with_timeout_context(),
            None => Error::timeout_from(Error::cancelled(None::<String>)),
        };
        Error::from_inner(Inner { repr: inner.repr.clone(), cause: inner.cause.clone(), context: Some(context) })
    }

    /// An invalid-state error with a message naming the misuse.
    pub fn invalid_state(message: impl Into<String>) -> Error {
        Error::from_repr(Repr::InvalidState(message.into()))
    }

    /// The runtime is shut down or not reachable.
    pub(crate) fn runtime_closed(message: impl Into<String>) -> Error {
        Error::from_repr(Repr::RuntimeClosed(message.into()))
    }

    /// Ctrl-C ended [`run`](crate::run) (asyncio `KeyboardInterrupt`).
    pub(crate) fn interrupted() -> Error {
        Error::from_repr(Repr::Interrupted)
    }

    /// The error for a caught panic.
    pub(crate) fn panic(payload: Box<dyn Any + Send>) -> Error {
        let message = if let Some(s) = payload.downcast_ref::<&'static str>() {
            (*s).to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "Box<dyn Any>".to_string()
        };
        Error::from_repr(Repr::Panic { message, payload: Arc::new(parking_lot::Mutex::new(Some(payload))) })
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        match &self.inner().repr {
            Repr::Cancelled { .. } => ErrorKind::Cancelled,
            Repr::Timeout => ErrorKind::Timeout,
            Repr::Panic { .. } => ErrorKind::Panic,
            Repr::InvalidState(_) => ErrorKind::InvalidState,
            Repr::RuntimeClosed(_) => ErrorKind::RuntimeClosed,
            Repr::Interrupted => ErrorKind::Interrupted,
            Repr::Group(_) => ErrorKind::Group,
            Repr::Other(e) if e.is::<std::io::Error>() => ErrorKind::Io,
            Repr::Other(_) => ErrorKind::Other,
        }
    }

    /// True for a cancellation (asyncio `CancelledError`), including an abort.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.inner().repr, Repr::Cancelled { .. })
    }

    /// True if the task was stopped by [`abort`](crate::TaskRef::abort)
    /// rather than cancelled.
    pub fn is_aborted(&self) -> bool {
        matches!(self.inner().repr, Repr::Cancelled { aborted: true, .. })
    }

    /// The cancellation message (asyncio `CancelledError.args[0]`), if this is
    /// a cancellation that carries one.
    pub fn cancel_message(&self) -> Option<&str> {
        match &self.inner().repr {
            Repr::Cancelled { message, .. } => message.as_deref(),
            _ => None,
        }
    }

    /// True for a timeout (asyncio `TimeoutError`).
    pub fn is_timeout(&self) -> bool {
        matches!(self.inner().repr, Repr::Timeout)
    }

    /// True if a task's future panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.inner().repr, Repr::Panic { .. })
    }

    /// True if Ctrl-C interrupted [`run`](crate::run) (asyncio `KeyboardInterrupt`).
    pub fn is_interrupted(&self) -> bool {
        matches!(self.inner().repr, Repr::Interrupted)
    }

    /// True for an invalid-state error (misuse).
    pub fn is_invalid_state(&self) -> bool {
        matches!(self.inner().repr, Repr::InvalidState(_))
    }

    /// The error this one was raised from (asyncio `__cause__`), e.g. the
    /// cancellation behind a timeout.
    pub fn cause(&self) -> Option<&Error> {
        self.inner().cause.as_ref()
    }

    /// The error that was being handled when this one arose (asyncio
    /// `__context__`).
    pub fn context(&self) -> Option<&Error> {
        self.inner().context.as_ref()
    }

    /// True for an exception group.
    pub fn is_group(&self) -> bool {
        matches!(self.inner().repr, Repr::Group(_))
    }

    /// The exception group, if this is one.
    pub fn as_group(&self) -> Option<&ExceptionGroup> {
        match &self.inner().repr {
            Repr::Group(g) => Some(g),
            _ => None,
        }
    }

    /// The I/O error inside, if this is one (kind [`ErrorKind::Io`]).
    ///
    /// ```
    /// let err = ravel::Error::from(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
    /// assert_eq!(err.kind(), ravel::ErrorKind::Io);
    /// assert_eq!(err.io_error().unwrap().kind(), std::io::ErrorKind::ConnectionReset);
    /// assert!(!err.is_cancelled());
    /// ```
    pub fn io_error(&self) -> Option<&std::io::Error> {
        self.downcast_ref::<std::io::Error>()
    }

    /// True if this is an I/O error.
    pub fn is_io(&self) -> bool {
        self.io_error().is_some()
    }

    /// The user error inside, if it is an `E`.
    pub fn downcast_ref<E: StdError + 'static>(&self) -> Option<&E> {
        match &self.inner().repr {
            Repr::Other(e) => e.downcast_ref::<E>(),
            _ => None,
        }
    }

    /// Takes the panic payload of a panic error. The payload can be taken
    /// once; later calls (on this error or its clones) return `None`.
    pub fn take_panic(&self) -> Option<Box<dyn Any + Send>> {
        match &self.inner().repr {
            Repr::Panic { payload, .. } => payload.lock().take(),
            _ => None,
        }
    }

    /// Re-raises a panic error's panic on this thread with its original
    /// payload (`std::panic::resume_unwind`). Any other error (or a panic
    /// whose payload was already taken) panics with this error's message.
    pub fn resume_unwind(self) -> ! {
        match self.take_panic() {
            Some(payload) => std::panic::resume_unwind(payload),
            None => panic!("{self}"),
        }
    }

    /// Converts into a boxed `std::error::Error`.
    pub fn into_std(self) -> Box<dyn StdError + Send + Sync + 'static> {
        Box::new(StdAdapter(self))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner().repr {
            Repr::Cancelled { aborted: true, .. } => f.write_str("task aborted"),
            Repr::Cancelled { message: Some(m), .. } => write!(f, "cancelled: {m}"),
            Repr::Cancelled { message: None, .. } => f.write_str("cancelled"),
            Repr::Timeout => f.write_str("timed out"),
            Repr::Panic { message, .. } => write!(f, "task panicked: {message}"),
            Repr::InvalidState(m) => f.write_str(m),
            Repr::RuntimeClosed(m) => f.write_str(m),
            Repr::Interrupted => f.write_str("interrupted (Ctrl-C)"),
            Repr::Group(g) => fmt::Display::fmt(g, f),
            Repr::Other(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind());
        match &self.inner().repr {
            Repr::Cancelled { message, .. } => d.field("message", message),
            Repr::Other(e) => d.field("error", e),
            Repr::Group(g) => d.field("group", g),
            _ => d.field("message", &self.to_string()),
        };
        if let Some(cause) = &self.inner().cause {
            d.field("cause", cause);
        }
        if let Some(context) = &self.inner().context {
            if self.inner().cause.as_ref().is_none_or(|c| !c.same(context)) {
                d.field("context", context);
            }
        }
        d.finish()
    }
}

impl<E: StdError + Send + Sync + 'static> From<E> for Error {
    fn from(error: E) -> Error {
        Error::new(error)
    }
}

impl From<Error> for Box<dyn StdError + Send + Sync + 'static> {
    fn from(error: Error) -> Self {
        error.into_std()
    }
}

#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for Message {}

struct StdAdapter(Error);

impl fmt::Debug for StdAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for StdAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl StdError for StdAdapter {}
