//! The servers of the network benchmarks, one process per run so its CPU
//! time can be read from `/proc/<pid>/stat`:
//!
//!     netserver <runtime> <workload> [addr]
//!
//! * runtime: `ravel` (multi-thread, 1 worker), `ravel-ct` (current
//!   thread), `tokio-mt` (Tokio `multi_thread`, 1 worker), `tokio-ct`
//!   (Tokio `current_thread`), `mio` (one thread, no runtime: the ceiling;
//!   `minimal` and `echo` only);
//! * workload: `hyper` (hyper 1.x HTTP/1.1 hello), `minimal` (a hand-written
//!   keep-alive responder, the same parser on every runtime), `echo` (TCP
//!   echo).
//!
//! Prints `ready <addr>` on stdout once listening; runs until killed.

use ravel_bench::net::respond;
use std::io::Write;
use std::net::SocketAddr;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: netserver <ravel|ravel-ct|tokio-mt|tokio-ct|mio> <hyper|minimal|echo> [addr]");
        std::process::exit(2);
    }
    let addr: SocketAddr =
        args.get(3).map(|a| a.parse().expect("addr")).unwrap_or_else(|| "127.0.0.1:0".parse().unwrap());
    let workload = Workload::parse(&args[2]);
    match args[1].as_str() {
        "ravel" => ravel_server::run(ravel::Builder::new_multi_thread().worker_threads(1), addr, workload),
        "ravel-ct" => ravel_server::run(ravel::Builder::new_current_thread(), addr, workload),
        "tokio-mt" => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(1);
            tokio_server::run(b, addr, workload)
        }
        "tokio-ct" => tokio_server::run(tokio::runtime::Builder::new_current_thread(), addr, workload),
        "mio" => mio_server::run(addr, workload),
        other => panic!("unknown runtime {other}"),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Workload {
    Hyper,
    Minimal,
    Echo,
}

impl Workload {
    fn parse(s: &str) -> Workload {
        match s {
            "hyper" => Workload::Hyper,
            "minimal" => Workload::Minimal,
            "echo" => Workload::Echo,
            other => panic!("unknown workload {other}"),
        }
    }
}

fn announce(addr: SocketAddr) {
    let mut out = std::io::stdout();
    writeln!(out, "ready {addr}").unwrap();
    out.flush().unwrap();
}

async fn hello(
    _req: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<http_body_util::Full<hyper::body::Bytes>>, std::convert::Infallible> {
    Ok(hyper::Response::new(http_body_util::Full::new(hyper::body::Bytes::from_static(b"Hello, World!"))))
}

mod ravel_server {
    use super::*;
    use ravel_io::hyper::RavelTimer;
    use ravel_io::net::{TcpListener, TcpStream};

    pub fn run(builder: ravel::Builder, addr: SocketAddr, workload: Workload) {
        let rt = builder.build().unwrap();
        rt.block_on(async move {
            let listener = TcpListener::bind(&addr).await?;
            announce(listener.local_addr()?);
            loop {
                let (stream, _) = listener.accept().await?;
                let _ = stream.set_nodelay(true);
                ravel::spawn(async move {
                    let _ = match workload {
                        Workload::Hyper => hyper_conn(stream).await,
                        Workload::Minimal => minimal(stream).await,
                        Workload::Echo => echo(stream).await,
                    };
                    Ok(())
                });
            }
        })
        .unwrap()
    }

    async fn hyper_conn(stream: TcpStream) -> ravel::Result<()> {
        hyper::server::conn::http1::Builder::new()
            .pipeline_flush(true)
            .timer(RavelTimer::new())
            .serve_connection(stream, hyper::service::service_fn(hello))
            .await?;
        Ok(())
    }

    async fn minimal(stream: TcpStream) -> ravel::Result<()> {
        let (mut input, mut out) = (Vec::with_capacity(8192), Vec::with_capacity(8192));
        let mut buf = vec![0u8; 8192];
        loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            input.extend_from_slice(&buf[..n]);
            if respond(&mut input, &mut out) > 0 {
                stream.write_all(&out).await?;
                out.clear();
            }
        }
    }

    async fn echo(stream: TcpStream) -> ravel::Result<()> {
        let mut buf = vec![0u8; 16384];
        loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            stream.write_all(&buf[..n]).await?;
        }
    }
}

mod tokio_server {
    use super::*;
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    pub fn run(mut builder: tokio::runtime::Builder, addr: SocketAddr, workload: Workload) {
        let rt = builder.enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = TcpListener::bind(addr).await.unwrap();
            announce(listener.local_addr().unwrap());
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    // Errors end their connection only.
                    match workload {
                        Workload::Hyper => drop(hyper_conn(stream).await),
                        Workload::Minimal => drop(minimal(stream).await),
                        Workload::Echo => drop(echo(stream).await),
                    }
                });
            }
        })
    }

    async fn hyper_conn(stream: TcpStream) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        hyper::server::conn::http1::Builder::new()
            .pipeline_flush(true)
            .timer(TokioTimer::new())
            .serve_connection(TokioIo::new(stream), hyper::service::service_fn(hello))
            .await?;
        Ok(())
    }

    async fn minimal(mut stream: TcpStream) -> std::io::Result<()> {
        let (mut input, mut out) = (Vec::with_capacity(8192), Vec::with_capacity(8192));
        let mut buf = vec![0u8; 8192];
        loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            input.extend_from_slice(&buf[..n]);
            if respond(&mut input, &mut out) > 0 {
                stream.write_all(&out).await?;
                out.clear();
            }
        }
    }

    async fn echo(mut stream: TcpStream) -> std::io::Result<()> {
        let mut buf = vec![0u8; 16384];
        loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            stream.write_all(&buf[..n]).await?;
        }
    }
}

/// One thread, edge-triggered mio, no runtime: the ceiling.
mod mio_server {
    use super::*;
    use mio::net::{TcpListener, TcpStream};
    use mio::{Events, Interest, Poll, Token};
    use std::collections::HashMap;
    use std::io::{ErrorKind, Read};

    const LISTENER: Token = Token(usize::MAX);

    struct Conn {
        stream: TcpStream,
        input: Vec<u8>,
        out: Vec<u8>,
        written: usize,
    }

    pub fn run(addr: SocketAddr, workload: Workload) {
        assert!(workload != Workload::Hyper, "the mio ceiling has no hyper server");
        let mut poll = Poll::new().unwrap();
        let mut listener = TcpListener::bind(addr).unwrap();
        poll.registry().register(&mut listener, LISTENER, Interest::READABLE).unwrap();
        announce(listener.local_addr().unwrap());
        let mut conns: HashMap<Token, Conn> = HashMap::new();
        let mut next = 0usize;
        let mut events = Events::with_capacity(1024);
        let mut buf = vec![0u8; 16384];
        loop {
            poll.poll(&mut events, None).unwrap();
            for event in events.iter() {
                if event.token() == LISTENER {
                    loop {
                        match listener.accept() {
                            Ok((mut stream, _)) => {
                                let _ = stream.set_nodelay(true);
                                let token = Token(next);
                                next += 1;
                                poll.registry()
                                    .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                                    .unwrap();
                                conns.insert(token, Conn { stream, input: Vec::new(), out: Vec::new(), written: 0 });
                            }
                            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                            Err(e) => panic!("accept: {e}"),
                        }
                    }
                    continue;
                }
                let token = event.token();
                let Some(conn) = conns.get_mut(&token) else { continue };
                let mut closed = false;
                loop {
                    match conn.stream.read(&mut buf) {
                        Ok(0) => {
                            closed = true;
                            break;
                        }
                        Ok(n) => match workload {
                            Workload::Echo => conn.out.extend_from_slice(&buf[..n]),
                            _ => {
                                conn.input.extend_from_slice(&buf[..n]);
                                respond(&mut conn.input, &mut conn.out);
                            }
                        },
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(_) => {
                            closed = true;
                            break;
                        }
                    }
                }
                while !closed && conn.written < conn.out.len() {
                    match conn.stream.write(&conn.out[conn.written..]) {
                        Ok(n) => conn.written += n,
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(_) => closed = true,
                    }
                }
                if conn.written == conn.out.len() {
                    conn.out.clear();
                    conn.written = 0;
                }
                if closed {
                    let mut conn = conns.remove(&token).unwrap();
                    let _ = poll.registry().deregister(&mut conn.stream);
                }
            }
        }
    }
}
