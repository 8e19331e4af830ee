//! The `echo_server` example driven by clients no one here wrote: CPython's
//! asyncio (`open_connection`), then SIGTERM for a graceful shutdown. The
//! test is skipped, with a printed reason, when `python3` is absent.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The example's binary (cargo builds examples with the tests; built here
/// if this test runs alone).
fn example() -> PathBuf {
    let deps = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    let bin = deps.parent().unwrap().join("examples/echo_server");
    if !bin.exists() {
        let status = Command::new(env!("CARGO")).args(["build", "--example", "echo_server"]).status().unwrap();
        assert!(status.success());
    }
    bin
}

const CLIENT: &str = r#"
import asyncio, sys
async def main(port):
    r, w = await asyncio.open_connection('127.0.0.1', port)
    for msg in [b'hello\n', b'x' * 100000 + b'\n', b'bye\n']:
        w.write(msg)
        await w.drain()
        got = await r.readexactly(len(msg))
        print(len(got), got == msg)
    w.write_eof()
    print('eof', await r.read())
    w.close()
    await w.wait_closed()
asyncio.run(main(int(sys.argv[1])))
"#;

#[test]
fn cpython_client_then_sigterm_shuts_down_gracefully() {
    if Command::new("python3").arg("--version").output().is_err() {
        println!("skipped: python3 is not installed");
        return;
    }
    let mut server = Command::new(example())
        .args(["--addr", "127.0.0.1:0", "--deadline", "1"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let port: u16 = first.rsplit(':').next().unwrap().parse().unwrap();
    assert!(first.starts_with("listening on 127.0.0.1:"), "{first}");

    let out = Command::new("python3").args(["-c", CLIENT, &port.to_string()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "6 True\n100001 True\n4 True\neof b''\n");

    // An idle client holds a connection open over the shutdown. Its echo
    // proves the server accepted it and its handler runs: a connection
    // still in the listen backlog at SIGTERM is dropped with the listener,
    // and the shutdown would then (rightly) find nothing open.
    let idle = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    {
        use std::io::{Read, Write};
        (&idle).write_all(b"ping").unwrap();
        let mut echo = [0u8; 4];
        (&idle).read_exact(&mut echo).unwrap();
        assert_eq!(&echo, b"ping");
    }
    // SAFETY: kill(2) with a live child's pid.
    assert_eq!(unsafe { libc::kill(server.id() as i32, libc::SIGTERM) }, 0);
    let start = Instant::now();
    assert_eq!(lines.next().unwrap().unwrap(), "signal: closing, 1s for open connections");
    assert_eq!(lines.next().unwrap().unwrap(), "deadline passed: aborting the remaining connections");
    let status = server.wait().unwrap();
    assert!(status.success(), "{status}");
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(10), "{took:?}");
    // The aborted client sees the connection end.
    use std::io::Read;
    let mut buf = [0u8; 1];
    let mut idle = idle;
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert!(matches!(idle.read(&mut buf), Ok(0) | Err(_)));
}
