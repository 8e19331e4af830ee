//! asyncio's subprocess behaviour, case by case, as CPython 3.13 prints it
//! from io/tests/python/process_cases.py (its output is in
//! io/tests/python/process_cases.out); each test names the line it ports.

mod common;

use common::{block, multi_thread};
use ravel_io::process::{create_subprocess_exec, create_subprocess_shell, Options, Stdio};
use ravel_io::signal::SignalKind;

fn pipes() -> Options {
    Options::new().stdin(Stdio::Pipe).stdout(Stdio::Pipe).stderr(Stdio::Pipe)
}

fn errno(e: &ravel::Error) -> Option<i32> {
    e.io_error().and_then(|e| e.raw_os_error())
}

/// `returncode_while_running: None`, `killed_by_signal_returncode_is_negative: -9`,
/// `wait_after_exit_returns_the_same_code: -9 -9`.
#[test]
fn killed_by_signal_returncode_is_negative() {
    block(&multi_thread(), async {
        let proc = create_subprocess_exec("/bin/sh", ["-c", "read x"], Options::new().stdin(Stdio::Pipe)).await?;
        assert_eq!(proc.returncode(), None);
        proc.kill()?;
        assert_eq!(proc.wait().await?, -9);
        assert_eq!(proc.wait().await?, -9);
        assert_eq!(proc.returncode(), Some(-9));
        Ok(())
    });
}

/// `send_signal_after_wait: ProcessLookupError` (and terminate, kill).
#[test]
fn signals_after_wait_are_process_lookup_errors() {
    block(&multi_thread(), async {
        let proc = create_subprocess_exec("/bin/true", [""; 0], Options::new()).await?;
        assert_eq!(proc.wait().await?, 0);
        assert_eq!(errno(&proc.send_signal(SignalKind::terminate()).unwrap_err()), Some(libc::ESRCH));
        assert_eq!(errno(&proc.terminate().unwrap_err()), Some(libc::ESRCH));
        assert_eq!(errno(&proc.kill().unwrap_err()), Some(libc::ESRCH));
        Ok(())
    });
}

/// `terminated_by_sigterm: -15`.
#[test]
fn terminated_by_sigterm() {
    block(&multi_thread(), async {
        let proc = create_subprocess_exec("/bin/sh", ["-c", "kill -TERM $$"], Options::new()).await?;
        assert_eq!(proc.wait().await?, -15);
        Ok(())
    });
}

/// `communicate_with_input: b'hello\n' b'' 0`.
#[test]
fn communicate_with_input() {
    block(&multi_thread(), async {
        let proc = create_subprocess_exec("/bin/cat", [""; 0], pipes()).await?;
        let (out, err) = proc.communicate(Some(b"hello\n")).await?;
        assert_eq!(out.as_deref(), Some(&b"hello\n"[..]));
        assert_eq!(err.as_deref(), Some(&b""[..]));
        assert_eq!(proc.returncode(), Some(0));
        Ok(())
    });
}

/// `communicate_input_not_read: (b'', None) 0`: 4 MiB for a child that
/// exits without reading; the broken pipe is not an error.
#[test]
fn communicate_ignores_a_stdin_the_child_does_not_read() {
    block(&multi_thread(), async {
        let options = Options::new().stdin(Stdio::Pipe).stdout(Stdio::Pipe);
        let proc = create_subprocess_exec("/bin/sh", ["-c", "exit 0"], options).await?;
        let input = vec![b'x'; 4 * 1024 * 1024];
        assert_eq!(proc.communicate(Some(&input)).await?, (Some(Vec::new()), None));
        assert_eq!(proc.returncode(), Some(0));
        Ok(())
    });
}

/// `communicate_without_pipes: (None, None) 0`.
#[test]
fn communicate_without_pipes() {
    block(&multi_thread(), async {
        let proc = create_subprocess_exec("/bin/true", [""; 0], Options::new().stdout(Stdio::DevNull)).await?;
        assert_eq!(proc.communicate(Some(b"ignored")).await?, (None, None));
        assert_eq!(proc.returncode(), Some(0));
        Ok(())
    });
}

/// `wait_then_read: 0 b'one\ntwo\n'`: output buffered in the pipe is
/// still read after the exit.
#[test]
fn reading_stdout_after_exit_yields_the_buffered_output() {
    block(&multi_thread(), async {
        let proc =
            create_subprocess_exec("/bin/sh", ["-c", "echo one; echo two"], Options::new().stdout(Stdio::Pipe)).await?;
        assert_eq!(proc.wait().await?, 0);
        assert_eq!(proc.stdout.as_ref().unwrap().read_to_end().await?, b"one\ntwo\n");
        Ok(())
    });
}

/// `stdin_closed_gives_eof: b'abc' 0`.
#[test]
fn closing_stdin_gives_the_child_end_of_file() {
    block(&multi_thread(), async {
        let proc =
            create_subprocess_exec("/bin/cat", [""; 0], Options::new().stdin(Stdio::Pipe).stdout(Stdio::Pipe)).await?;
        let stdin = proc.stdin.as_ref().unwrap();
        stdin.write(b"abc")?;
        stdin.close();
        stdin.wait_closed().await?;
        assert_eq!(proc.stdout.as_ref().unwrap().read_to_end().await?, b"abc");
        assert_eq!(proc.wait().await?, 0);
        Ok(())
    });
}

/// `shell_exit_code: 3`, `shell_communicate: (b'42\n', None)`.
#[test]
fn shell_exit_code_and_communicate() {
    block(&multi_thread(), async {
        assert_eq!(create_subprocess_shell("exit 3", Options::new()).await?.wait().await?, 3);
        let proc = create_subprocess_shell("echo $((6*7))", Options::new().stdout(Stdio::Pipe)).await?;
        assert_eq!(proc.communicate(None).await?, (Some(b"42\n".to_vec()), None));
        Ok(())
    });
}

/// `exec_not_found: FileNotFoundError 2`.
#[test]
fn exec_of_a_missing_program_is_not_found() {
    block(&multi_thread(), async {
        let err = create_subprocess_exec("/nonexistent/prog", [""; 0], Options::new()).await.unwrap_err();
        assert_eq!(errno(&err), Some(libc::ENOENT));
        Ok(())
    });
}

/// `no_pipes_attributes: None None None 0`.
#[test]
fn no_pipes_means_no_streams() {
    block(&multi_thread(), async {
        let proc = create_subprocess_exec("/bin/true", [""; 0], Options::new()).await?;
        assert!(proc.stdin.is_none() && proc.stdout.is_none() && proc.stderr.is_none());
        assert_eq!(proc.wait().await?, 0);
        Ok(())
    });
}

/// `reader_cancelled_mid_output: b'first\n' b'second\n' 0`: a readline
/// cancelled while the child is between two lines loses nothing (the
/// port adds a partial line before the wait, which the cancelled readline
/// may have pulled into the buffer: it is still read).
#[test]
fn reader_cancelled_mid_output_loses_nothing() {
    block(&multi_thread(), async {
        let proc = std::sync::Arc::new(
            create_subprocess_exec(
                "/bin/sh",
                ["-c", "echo first; printf half; read x; echo second"],
                Options::new().stdin(Stdio::Pipe).stdout(Stdio::Pipe),
            )
            .await?,
        );
        let stdout = proc.stdout.as_ref().unwrap();
        assert_eq!(stdout.readline().await?, b"first\n");
        let p = proc.clone();
        // Eager: the readline pulls "half" (if written yet) and waits.
        let pending = ravel::task::Builder::new()
            .eager_start(true)
            .spawn(async move { p.stdout.as_ref().unwrap().readline().await });
        pending.cancel();
        assert!(pending.await.unwrap_err().is_cancelled());
        let stdin = proc.stdin.as_ref().unwrap();
        stdin.write(b"go\n")?;
        stdin.close();
        assert_eq!(stdout.read_to_end().await?, b"halfsecond\n");
        assert_eq!(proc.wait().await?, 0);
        Ok(())
    });
}
