//! [`Stdio`]: what a child's stdin, stdout or stderr is connected to
//! (asyncio's `PIPE`, `DEVNULL`, `None`).

/// Where a child's standard stream goes.
///
/// ```
/// use ravel_io::process::{create_subprocess_exec, Options, Stdio};
///
/// ravel::run(async {
///     let options = Options::new().stdout(Stdio::Pipe).stderr(Stdio::DevNull);
///     let proc = create_subprocess_exec("/bin/sh", ["-c", "echo out; echo err >&2"], options).await?;
///     assert!(proc.stdin.is_none() && proc.stderr.is_none()); // not pipes
///     let (out, err) = proc.communicate(None).await?;
///     assert_eq!((out.as_deref(), err), (Some(&b"out\n"[..]), None));
///     Ok(())
/// })
/// .unwrap();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stdio {
    /// A pipe to this process (asyncio `PIPE`): a `StreamWriter` for stdin,
    /// a `StreamReader` for stdout and stderr.
    Pipe,
    /// `/dev/null` (asyncio `DEVNULL`).
    DevNull,
    /// This process's own stream (asyncio `None`, the default).
    #[default]
    Inherit,
}

impl Stdio {
    pub(crate) fn to_std(self) -> std::process::Stdio {
        match self {
            Stdio::Pipe => std::process::Stdio::piped(),
            Stdio::DevNull => std::process::Stdio::null(),
            Stdio::Inherit => std::process::Stdio::inherit(),
        }
    }
}
