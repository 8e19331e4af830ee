//! [`create_subprocess_exec`], [`create_subprocess_shell`] and
//! [`create_subprocess_command`]: start a child with asyncio's options.

use super::child::{self, Child};
use super::pipe::Pipe;
use super::{Options, Process};
use crate::streams::{Shared, StreamReader, StreamWriter, Transport};
use ravel::io::Direction;
use std::ffi::OsStr;
use std::os::fd::OwnedFd;
use std::sync::Arc;

/// Starts `program` with `args` (asyncio `create_subprocess_exec(program,
/// *args, stdin=..., stdout=..., stderr=..., limit=...)`); `program` is
/// looked up in `PATH` if it has no slash.
///
/// std forks and execs the child on the calling worker, as Tokio does (it
/// returns once the exec happened, and reports an exec failure as this
/// call's I/O error: `NotFound` for a missing program, asyncio's
/// `FileNotFoundError`), so the call completes at its first poll and is
/// never cancelled half-way. Errors outside a Ravel runtime.
///
/// ```
/// use ravel_io::process::{create_subprocess_exec, Options, Stdio};
///
/// ravel::run(async {
///     let proc = create_subprocess_exec("echo", ["a", "b"], Options::new().stdout(Stdio::Pipe)).await?;
///     assert_eq!(proc.stdout.as_ref().unwrap().read_to_end().await?, b"a b\n");
///     assert_eq!(proc.wait().await?, 0);
///     let missing = create_subprocess_exec("/nonexistent/prog", [""; 0], Options::new()).await.unwrap_err();
///     assert_eq!(missing.io_error().map(|e| e.kind()), Some(std::io::ErrorKind::NotFound));
///     Ok(())
/// })
/// .unwrap();
/// ```
pub async fn create_subprocess_exec<I, S>(
    program: impl AsRef<OsStr>,
    args: I,
    options: Options,
) -> ravel::Result<Process>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = std::process::Command::new(program);
    command.args(args);
    create_subprocess_command(command, options).await
}

/// Runs `cmd` with `/bin/sh -c` (asyncio `create_subprocess_shell`). As
/// there, quoting the arguments is the caller's business.
///
/// ```
/// use ravel_io::process::{create_subprocess_shell, Options, Stdio};
///
/// ravel::run(async {
///     let proc = create_subprocess_shell("echo $((6*7))", Options::new().stdout(Stdio::Pipe)).await?;
///     let (out, err) = proc.communicate(None).await?;
///     assert_eq!((out.unwrap(), err), (b"42\n".to_vec(), None));
///     Ok(())
/// })
/// .unwrap();
/// ```
pub async fn create_subprocess_shell(cmd: impl AsRef<OsStr>, options: Options) -> ravel::Result<Process> {
    let mut command = std::process::Command::new("/bin/sh");
    command.arg("-c").arg(cmd);
    create_subprocess_command(command, options).await
}

/// Starts a prepared `std::process::Command` (for `cwd`, `env` and the
/// rest of asyncio's `**kwds`, which `Popen` takes); `options` sets its
/// standard streams, replacing any the command had.
///
/// ```
/// use ravel_io::process::{create_subprocess_command, Options, Stdio};
///
/// ravel::run(async {
///     let mut command = std::process::Command::new("/bin/sh");
///     command.args(["-c", "echo $GREETING"]).env("GREETING", "hi");
///     let proc = create_subprocess_command(command, Options::new().stdout(Stdio::Pipe)).await?;
///     assert_eq!(proc.communicate(None).await?.0.unwrap(), b"hi\n");
///     Ok(())
/// })
/// .unwrap();
/// ```
pub async fn create_subprocess_command(mut command: std::process::Command, options: Options) -> ravel::Result<Process> {
    ravel::Handle::try_current()?;
    child::reap_orphans();
    command.stdin(options.stdin.to_std()).stdout(options.stdout.to_std()).stderr(options.stderr.to_std());
    let mut std_child = command.spawn()?;
    let stdin = std_child.stdin.take().map(OwnedFd::from);
    let stdout = std_child.stdout.take().map(OwnedFd::from);
    let stderr = std_child.stderr.take().map(OwnedFd::from);
    let child = match Child::new(std_child, options.sigchld) {
        Ok(child) => child,
        Err(e) => return Err(e.into()), // dropping the child queues it for reaping
    };
    let limit = options.limit;
    let pipe = |fd: OwnedFd, direction| -> std::io::Result<Arc<Shared>> {
        let pipe = Pipe::new(fd, direction)?;
        Ok(Shared::new(limit, Some(Arc::new(pipe) as Arc<dyn Transport>)))
    };
    let mut process = Process { stdin: None, stdout: None, stderr: None, child, kill_on_drop: options.kill_on_drop };
    // On an error here the process is dropped: its child is killed if asked
    // and reaped either way.
    process.stdin = stdin.map(|fd| pipe(fd, Direction::Write).map(StreamWriter::from_shared)).transpose()?;
    process.stdout = stdout.map(|fd| pipe(fd, Direction::Read).map(StreamReader::from_shared)).transpose()?;
    process.stderr = stderr.map(|fd| pipe(fd, Direction::Read).map(StreamReader::from_shared)).transpose()?;
    Ok(process)
}
