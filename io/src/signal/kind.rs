//! [`SignalKind`]: which Unix signal to listen for.

use std::fmt;

/// A Unix signal number, named by its constructors (`SIGTERM` is
/// [`terminate`](Self::terminate)) or given raw with
/// [`from_raw`](Self::from_raw).
///
/// Any number can be held; [`signal`](super::signal) refuses the ones that
/// cannot be listened for (see there).
///
/// ```
/// use ravel_io::signal::SignalKind;
///
/// assert_eq!(SignalKind::terminate().as_raw_value(), libc::SIGTERM);
/// assert_eq!(SignalKind::from_raw(libc::SIGHUP), SignalKind::hangup());
/// assert_eq!(SignalKind::user_defined1().to_string(), "SIGUSR1");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignalKind(libc::c_int);

impl SignalKind {
    /// The signal numbered `signum` (any value; checked by
    /// [`signal`](super::signal)).
    ///
    /// ```
    /// use ravel_io::signal::SignalKind;
    /// assert_eq!(SignalKind::from_raw(libc::SIGUSR2), SignalKind::user_defined2());
    /// ```
    pub const fn from_raw(signum: libc::c_int) -> SignalKind {
        SignalKind(signum)
    }

    /// The signal number.
    ///
    /// ```
    /// use ravel_io::signal::SignalKind;
    /// assert_eq!(SignalKind::interrupt().as_raw_value(), libc::SIGINT);
    /// ```
    pub const fn as_raw_value(self) -> libc::c_int {
        self.0
    }

    /// `SIGALRM`: a timer set with `alarm(2)` expired.
    ///
    /// ```
    /// assert_eq!(ravel_io::signal::SignalKind::alarm().as_raw_value(), libc::SIGALRM);
    /// ```
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }

    /// `SIGCHLD`: a child process stopped or exited.
    ///
    /// ```
    /// assert_eq!(ravel_io::signal::SignalKind::child().as_raw_value(), libc::SIGCHLD);
    /// ```
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// `SIGHUP`: the terminal hung up; daemons take it as "reload".
    ///
    /// ```
    /// assert_eq!(ravel_io::signal::SignalKind::hangup().as_raw_value(), libc::SIGHUP);
    /// ```
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// `SIGINT`: Ctrl-C. Listening for it takes Ctrl-C over from
    /// `ravel::run` (see [`ctrl_c`](super::ctrl_c)).
    ///
    /// ```
    /// assert_eq!(ravel_io::signal::SignalKind::interrupt().as_raw_value(), libc::SIGINT);
    /// ```
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// `SIGIO`: I/O is possible on a descriptor set up for it.
    ///
    /// ```
    /// assert_eq!(ravel_io::signal::SignalKind::io().as_raw_value(), libc::SIGIO);
    /// ```
    pub const fn io() -> SignalKind {
        SignalKind(libc::SIGIO)
    }

    /// `SIGPIPE`: a write to a pipe or socket with no reader (Rust programs
    /// ignore it by default, so writes fail with `BrokenPipe` instead).
    ///
    /// ```
    /// assert_eq!(ravel_io::signal::SignalKind::pipe().as_raw_value(), libc::SIGPIPE);
    /// ```
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }

    /// `SIGQUIT`: Ctrl-\\.
    ///
    /// ```
    /// assert_eq!(ravel_io::signal::SignalKind::quit().as_raw_value(), libc::SIGQUIT);
    /// ```
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// `SIGTERM`: the polite "please stop" (`kill`, systemd, Docker).
    ///
    /// ```
    /// assert_eq!(ravel_io::signal::SignalKind::terminate().as_raw_value(), libc::SIGTERM);
    /// ```
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// `SIGUSR1`, for the program's own use.
    ///
    /// ```
    /// assert_eq!(ravel_io::signal::SignalKind::user_defined1().as_raw_value(), libc::SIGUSR1);
    /// ```
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// `SIGUSR2`, for the program's own use.
    ///
    /// ```
    /// assert_eq!(ravel_io::signal::SignalKind::user_defined2().as_raw_value(), libc::SIGUSR2);
    /// ```
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// `SIGWINCH`: the terminal's window size changed.
    ///
    /// ```
    /// assert_eq!(ravel_io::signal::SignalKind::window_change().as_raw_value(), libc::SIGWINCH);
    /// ```
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }

    /// `SIGINFO` (macOS and the BSDs: Ctrl-T asks for a status line).
    ///
    /// ```
    /// assert_eq!(ravel_io::signal::SignalKind::info().as_raw_value(), libc::SIGINFO);
    /// ```
    #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
    pub const fn info() -> SignalKind {
        SignalKind(libc::SIGINFO)
    }

    /// The real-time signal `SIGRTMIN() + offset` (Linux; checked by
    /// [`signal`](super::signal) against `SIGRTMAX()`). Unlike the
    /// classic signals, the kernel queues these, but Ravel still coalesces
    /// them like any other.
    ///
    /// ```
    /// use ravel_io::signal::SignalKind;
    /// assert_eq!(SignalKind::realtime(0).as_raw_value(), libc::SIGRTMIN());
    /// ```
    #[cfg(target_os = "linux")]
    pub fn realtime(offset: libc::c_int) -> SignalKind {
        SignalKind(libc::SIGRTMIN().saturating_add(offset))
    }

    /// The conventional name (`"SIGTERM"`), if this is one of the signals
    /// named above or a signal that cannot be handled.
    pub(crate) fn name(self) -> Option<&'static str> {
        let names: &[(libc::c_int, &str)] = &[
            (libc::SIGALRM, "SIGALRM"),
            (libc::SIGCHLD, "SIGCHLD"),
            (libc::SIGHUP, "SIGHUP"),
            (libc::SIGINT, "SIGINT"),
            (libc::SIGIO, "SIGIO"),
            (libc::SIGPIPE, "SIGPIPE"),
            (libc::SIGQUIT, "SIGQUIT"),
            (libc::SIGTERM, "SIGTERM"),
            (libc::SIGUSR1, "SIGUSR1"),
            (libc::SIGUSR2, "SIGUSR2"),
            (libc::SIGWINCH, "SIGWINCH"),
            (libc::SIGKILL, "SIGKILL"),
            (libc::SIGSTOP, "SIGSTOP"),
            (libc::SIGILL, "SIGILL"),
            (libc::SIGFPE, "SIGFPE"),
            (libc::SIGSEGV, "SIGSEGV"),
        ];
        names.iter().find(|(n, _)| *n == self.0).map(|(_, name)| *name)
    }
}

/// The name for the named signals (`SIGTERM`), else `signal N`.
impl fmt::Display for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "signal {}", self.0),
        }
    }
}
