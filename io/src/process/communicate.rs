//! [`Process::communicate`]: feed stdin, read stdout and stderr to their
//! ends at the same time, then wait (asyncio `Process.communicate()`).

use super::Process;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

type Part<'a, T> = Pin<Box<dyn Future<Output = ravel::Result<T>> + Send + 'a>>;

/// Polls three futures in one task until all are done or one fails (the
/// others are then dropped, which loses nothing a `StreamReader` read).
struct Join3<'a, A, B, C> {
    a: (Option<Part<'a, A>>, Option<A>),
    b: (Option<Part<'a, B>>, Option<B>),
    c: (Option<Part<'a, C>>, Option<C>),
}

fn poll_part<T>(part: &mut (Option<Part<'_, T>>, Option<T>), cx: &mut Context<'_>) -> Result<bool, ravel::Error> {
    if let Some(fut) = part.0.as_mut() {
        match fut.as_mut().poll(cx) {
            Poll::Ready(Ok(v)) => {
                part.0 = None;
                part.1 = Some(v);
            }
            Poll::Ready(Err(e)) => return Err(e),
            Poll::Pending => return Ok(false),
        }
    }
    Ok(true)
}

impl<A, B, C> Future for Join3<'_, A, B, C> {
    type Output = ravel::Result<(A, B, C)>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let a = poll_part(&mut this.a, cx)?;
        let b = poll_part(&mut this.b, cx)?;
        let c = poll_part(&mut this.c, cx)?;
        if a && b && c {
            let out = (this.a.1.take(), this.b.1.take(), this.c.1.take());
            match out {
                (Some(a), Some(b), Some(c)) => Poll::Ready(Ok((a, b, c))),
                _ => Poll::Ready(Err(ravel::Error::invalid_state("communicate polled after completion"))),
            }
        } else {
            Poll::Pending
        }
    }
}

impl<A, B, C> Unpin for Join3<'_, A, B, C> {}

fn is_broken_pipe(e: &ravel::Error) -> bool {
    e.io_error().is_some_and(|e| matches!(e.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset))
}

impl Process {
    /// Writes `input` to stdin and closes it, reads stdout and stderr to
    /// their ends, all at once (so a child that fills both pipes never
    /// deadlocks), then waits for the exit; returns what stdout and stderr
    /// gave (`None` for one that is not a pipe). As asyncio: a stdin the
    /// child does not read to the end (`BrokenPipe`, `ConnectionReset`) is
    /// not an error; `input` with no stdin pipe is ignored.
    ///
    /// Cancelled (or timed out by `ravel::wait_for`): the child is not
    /// touched; the output read so far is not returned, and what the pipes
    /// still hold stays readable from [`stdout`](Self::stdout) and
    /// [`stderr`](Self::stderr). stdin may have been closed.
    ///
    /// ```
    /// use ravel_io::process::{create_subprocess_exec, Options, Stdio};
    ///
    /// ravel::run(async {
    ///     let options = Options::new().stdin(Stdio::Pipe).stdout(Stdio::Pipe).stderr(Stdio::Pipe);
    ///     let proc = create_subprocess_exec("/bin/cat", [""; 0], options).await?;
    ///     let (out, err) = proc.communicate(Some(b"hello\n")).await?;
    ///     assert_eq!(out.as_deref(), Some(&b"hello\n"[..]));
    ///     assert_eq!(err.as_deref(), Some(&b""[..]));
    ///     assert_eq!(proc.returncode(), Some(0));
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn communicate(&self, input: Option<&[u8]>) -> ravel::Result<(Option<Vec<u8>>, Option<Vec<u8>>)> {
        let stdin = self.stdin.as_ref();
        let feed: Part<'_, ()> = Box::pin(async move {
            let Some(stdin) = stdin else { return Ok(()) };
            let fed = async {
                if let Some(input) = input {
                    stdin.write(input)?;
                }
                stdin.drain().await
            };
            match fed.await {
                Err(e) if is_broken_pipe(&e) => {}
                Err(e) => return Err(e),
                Ok(()) => {}
            }
            stdin.close();
            Ok(())
        });
        fn read(reader: Option<&crate::StreamReader>) -> Part<'_, Option<Vec<u8>>> {
            Box::pin(async move {
                match reader {
                    Some(r) => r.read_to_end().await.map(Some),
                    None => Ok(None),
                }
            })
        }
        let join = Join3 {
            a: (Some(feed), None),
            b: (Some(read(self.stdout.as_ref())), None),
            c: (Some(read(self.stderr.as_ref())), None),
        };
        let ((), out, err) = join.await?;
        self.wait().await?;
        Ok((out, err))
    }
}
