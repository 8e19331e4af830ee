//! hyper on Ravel with real clients: hyper's own client over Ravel
//! sockets, and `curl` (skipped, with a printed reason, if absent).

mod common;
use common::multi;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use ravel_io::hyper::{RavelExecutor, RavelTimer};
use ravel_io::net::{TcpListener, TcpStream};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Set when `/slow` starts serving (only one test uses it).
static SLOW_STARTED: std::sync::LazyLock<ravel::sync::Event> = std::sync::LazyLock::new(ravel::sync::Event::new);

/// `/` says hello, `/echo` echoes, `/slow` answers after 200 ms.
async fn route(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(match req.uri().path() {
        "/echo" => Response::new(Full::new(req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default())),
        "/slow" => {
            SLOW_STARTED.set();
            ravel::sleep(Duration::from_millis(200)).await.ok();
            Response::new(Full::new(Bytes::from_static(b"slow done")))
        }
        _ => Response::new(Full::new(Bytes::from_static(b"hello"))),
    })
}

struct Server {
    addr: SocketAddr,
    accept: ravel::Task<GracefulShutdown>,
    /// Connections accepted so far.
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

async fn serve(header_timeout: Duration) -> ravel::Result<Server> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    let accept = ravel::spawn(async move {
        let mut builder = auto::Builder::new(RavelExecutor::new());
        builder.http1().timer(RavelTimer::new()).header_read_timeout(header_timeout);
        builder.http2().timer(RavelTimer::new());
        let graceful = GracefulShutdown::new();
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) if e.is_cancelled() => return Ok(graceful),
                Err(e) => return Err(e),
            };
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let conn = builder.serve_connection(stream, hyper::service::service_fn(route)).into_owned();
            let conn = graceful.watch(conn);
            // A client's error ends its connection only: the task's value.
            ravel::spawn(ravel::cancellable(conn));
        }
    });
    Ok(Server { addr, accept, accepted })
}

async fn client(addr: SocketAddr) -> ravel::Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(&addr).await?;
    let (sender, conn) = hyper::client::conn::http1::handshake(stream).await?;
    ravel::spawn(ravel::cancellable(conn));
    Ok(sender)
}

fn get(path: &str) -> Request<Full<Bytes>> {
    Request::get(path).header("host", "test").body(Full::new(Bytes::new())).unwrap()
}

#[test]
fn hyper_client_keeps_one_connection_alive_for_many_requests() {
    multi(async {
        let server = serve(Duration::from_secs(5)).await?;
        let mut sender = client(server.addr).await?;
        for i in 0..50 {
            sender.ready().await?;
            let body = format!("request {i}");
            let req = Request::post("/echo").header("host", "t").body(Full::new(Bytes::from(body.clone())))?;
            let resp = sender.send_request(req).await?;
            assert_eq!(resp.status(), 200);
            assert_eq!(resp.into_body().collect().await?.to_bytes(), body.as_bytes());
        }
        assert_eq!(server.accepted.load(std::sync::atomic::Ordering::SeqCst), 1, "keep-alive reused the connection");
        server.accept.cancel();
        server.accept.await?;
        Ok(())
    });
}

#[test]
fn a_chunked_request_body_is_echoed_whole() {
    multi(async {
        let server = serve(Duration::from_secs(5)).await?;
        let stream = TcpStream::connect(&server.addr).await?;
        type Chunks = StreamBody<futures_util_shim::Chunks>;
        let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Chunks>(stream).await?;
        ravel::spawn(ravel::cancellable(conn));
        let chunks: Vec<Bytes> = (0..20).map(|i| Bytes::from(format!("chunk{i:02};"))).collect();
        let expected: Vec<u8> = chunks.iter().flat_map(|c| c.to_vec()).collect();
        // No content-length: hyper sends Transfer-Encoding: chunked.
        let req =
            Request::post("/echo").header("host", "t").body(StreamBody::new(futures_util_shim::Chunks(chunks)))?;
        let resp = sender.send_request(req).await?;
        assert_eq!(resp.into_body().collect().await?.to_bytes(), &expected[..]);
        server.accept.cancel();
        server.accept.await?;
        Ok(())
    });
}

/// A body stream of ready chunks (a `futures_core::Stream` by hand).
mod futures_util_shim {
    use super::*;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    pub struct Chunks(pub Vec<Bytes>);

    impl futures_core::Stream for Chunks {
        type Item = Result<Frame<Bytes>, Infallible>;
        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            Poll::Ready(if self.0.is_empty() { None } else { Some(Ok(Frame::data(self.0.remove(0)))) })
        }
    }
}

#[test]
fn a_slow_header_is_cut_off_by_the_read_timeout() {
    multi(async {
        let server = serve(Duration::from_millis(100)).await?;
        let stream = TcpStream::connect(&server.addr).await?;
        let start = Instant::now();
        stream.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n").await?; // never finishes the header
        let mut buf = vec![0u8; 1024];
        let mut got = Vec::new();
        loop {
            match stream.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.io_error().map(|e| e.kind()) == Some(std::io::ErrorKind::ConnectionReset) => break,
                Err(e) => return Err(e),
            }
        }
        let waited = start.elapsed();
        // hyper answers 408 (or just closes) once the header timer fires.
        let text = String::from_utf8_lossy(&got);
        assert!(text.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
        assert!(waited >= Duration::from_millis(100), "closed before the timeout: {waited:?}");
        assert!(waited < Duration::from_secs(5), "the timer never fired: {waited:?}");
        server.accept.cancel();
        server.accept.await?;
        Ok(())
    });
}

#[test]
fn graceful_shutdown_lets_an_in_flight_request_finish_and_refuses_new_connections() {
    multi(async {
        let server = serve(Duration::from_secs(5)).await?;
        let addr = server.addr;
        let mut sender = client(addr).await?;
        let in_flight = ravel::spawn(async move {
            let resp = sender.send_request(get("/slow")).await?;
            Ok(resp.into_body().collect().await?.to_bytes())
        });
        // Wait until the request is being served (the slow route is asleep).
        SLOW_STARTED.wait().await?;
        server.accept.cancel();
        let graceful = server.accept.await?;
        // The listener is gone: a new connection is refused.
        let refused = TcpStream::connect(&addr).await.unwrap_err();
        assert_eq!(refused.io_error().unwrap().kind(), std::io::ErrorKind::ConnectionRefused);
        ravel::timeout(Duration::from_secs(5), async {
            graceful.shutdown().await;
            Ok(())
        })
        .await?;
        assert_eq!(in_flight.await?, &b"slow done"[..]);
        Ok(())
    });
}

#[test]
fn curl_reuses_a_keep_alive_connection_and_speaks_http2() {
    if std::process::Command::new("curl").arg("--version").output().is_err() {
        println!("skipped: curl is not installed");
        return;
    }
    multi(async {
        let server = serve(Duration::from_secs(5)).await?;
        let url = format!("http://{}/", server.addr);
        let echo = format!("http://{}/echo", server.addr);
        let out = ravel::to_thread(move || {
            Ok(std::process::Command::new("curl")
                .args(["-s", "--max-time", "10", "-w", " %{http_version} %{num_connects}\\n"])
                .args([&url, &url])
                .args(["-d", "posted body", &echo])
                .output()?)
        })
        .await?;
        let text = String::from_utf8(out.stdout)?;
        assert_eq!(text, "hello 1.1 1\nhello 1.1 0\nposted body 1.1 0\n", "one connection, reused twice");
        assert_eq!(server.accepted.load(std::sync::atomic::Ordering::SeqCst), 1);

        let url = format!("http://{}/", server.addr);
        let out = ravel::to_thread(move || {
            Ok(std::process::Command::new("curl")
                .args(["-s", "--max-time", "10", "--http2-prior-knowledge", "-w", " %{http_version}"])
                .arg(&url)
                .output()?)
        })
        .await?;
        assert_eq!(String::from_utf8(out.stdout)?, "hello 2");
        server.accept.cancel();
        server.accept.await?;
        Ok(())
    });
}

#[test]
fn hyper_over_a_unix_stream() {
    multi(async {
        let (a, b) = ravel_io::net::UnixStream::pair()?;
        let server = ravel::spawn(ravel::cancellable(async move {
            hyper::server::conn::http1::Builder::new()
                .timer(RavelTimer::new())
                .serve_connection(b, hyper::service::service_fn(route))
                .await?;
            Ok::<_, ravel::Error>(())
        }));
        let (mut sender, conn) = hyper::client::conn::http1::handshake(a).await?;
        ravel::spawn(ravel::cancellable(conn));
        let resp = sender.send_request(get("/")).await?;
        assert_eq!(resp.into_body().collect().await?.to_bytes(), &b"hello"[..]);
        drop(sender);
        server.await??;
        Ok(())
    });
}
