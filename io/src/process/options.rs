//! [`Options`]: the keyword arguments of asyncio's
//! `create_subprocess_exec`/`create_subprocess_shell` (`stdin`, `stdout`,
//! `stderr`, `limit`), and Tokio's `kill_on_drop`.

use super::Stdio;

/// How to start a child: its standard streams, the pipes' reader limit,
/// and whether dropping the [`Process`](super::Process) kills it.
///
/// ```
/// use ravel_io::process::{create_subprocess_shell, Options, Stdio};
///
/// ravel::run(async {
///     let options = Options::new().stdin(Stdio::Pipe).stdout(Stdio::Pipe).limit(1024);
///     let proc = create_subprocess_shell("tr a-z A-Z", options).await?;
///     let (out, _) = proc.communicate(Some(b"shout")).await?;
///     assert_eq!(out.unwrap(), b"SHOUT");
///     Ok(())
/// })
/// .unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Options {
    pub(crate) stdin: Stdio,
    pub(crate) stdout: Stdio,
    pub(crate) stderr: Stdio,
    pub(crate) limit: usize,
    pub(crate) kill_on_drop: bool,
    pub(crate) sigchld: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options::new()
    }
}

impl Options {
    /// asyncio's defaults: every stream inherited, the 64 KiB stream limit,
    /// not killed on drop.
    ///
    /// ```
    /// let options = ravel_io::process::Options::new();
    /// # let _ = options;
    /// ```
    pub fn new() -> Options {
        Options {
            stdin: Stdio::Inherit,
            stdout: Stdio::Inherit,
            stderr: Stdio::Inherit,
            limit: crate::streams::DEFAULT_LIMIT,
            kill_on_drop: false,
            sigchld: false,
        }
    }

    /// The child's stdin (a pipe makes [`Process::stdin`](super::Process::stdin)).
    ///
    /// ```
    /// let options = ravel_io::process::Options::new().stdin(ravel_io::process::Stdio::DevNull);
    /// # let _ = options;
    /// ```
    pub fn stdin(mut self, stdio: Stdio) -> Options {
        self.stdin = stdio;
        self
    }

    /// The child's stdout (a pipe makes [`Process::stdout`](super::Process::stdout)).
    ///
    /// ```
    /// let options = ravel_io::process::Options::new().stdout(ravel_io::process::Stdio::Pipe);
    /// # let _ = options;
    /// ```
    pub fn stdout(mut self, stdio: Stdio) -> Options {
        self.stdout = stdio;
        self
    }

    /// The child's stderr (a pipe makes [`Process::stderr`](super::Process::stderr)).
    ///
    /// ```
    /// let options = ravel_io::process::Options::new().stderr(ravel_io::process::Stdio::Pipe);
    /// # let _ = options;
    /// ```
    pub fn stderr(mut self, stdio: Stdio) -> Options {
        self.stderr = stdio;
        self
    }

    /// The limit of the stdout and stderr `StreamReader`s (asyncio
    /// `limit`; see [`StreamReader::with_limit`](crate::StreamReader::with_limit)).
    /// Panics if `limit` is 0, as asyncio raises.
    ///
    /// ```
    /// let options = ravel_io::process::Options::new().limit(4096);
    /// # let _ = options;
    /// ```
    pub fn limit(mut self, limit: usize) -> Options {
        assert!(limit > 0, "Limit cannot be <= 0");
        self.limit = limit;
        self
    }

    /// Whether dropping the [`Process`](super::Process) sends the child
    /// SIGKILL (Tokio's `kill_on_drop`). Off by default, as asyncio, which
    /// never kills a child it loses track of. Either way the child is
    /// reaped in the background once it exits: no zombie is left.
    ///
    /// ```
    /// let options = ravel_io::process::Options::new().kill_on_drop(true);
    /// # let _ = options;
    /// ```
    pub fn kill_on_drop(mut self, kill: bool) -> Options {
        self.kill_on_drop = kill;
        self
    }

    /// Watches the child's exit through SIGCHLD and `waitpid(WNOHANG)`
    /// rather than a pidfd. This is the fallback used anyway where
    /// `pidfd_open` is unavailable (not Linux, kernels before 5.3, some
    /// sandboxes); the option exists to exercise that path.
    ///
    /// ```
    /// use ravel_io::process::{create_subprocess_exec, Options};
    ///
    /// ravel::run(async {
    ///     let proc = create_subprocess_exec("/bin/true", [""; 0], Options::new().reap_with_sigchld(true)).await?;
    ///     assert_eq!(proc.wait().await?, 0);
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn reap_with_sigchld(mut self, sigchld: bool) -> Options {
        self.sigchld = sigchld;
        self
    }
}
