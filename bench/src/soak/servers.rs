//! The servers under soak: the examples' own serving code (included from
//! `examples/serve/`), started in-process, and what they report of their
//! failures (server side).

use super::tally::Tally;
use ravel::runtime::UnhandledError;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

/// The echo example's serving part (`examples/serve/echo.rs`).
#[path = "../../../examples/serve/echo.rs"]
pub mod echo;
/// The HTTP example's serving part (`examples/serve/http.rs`).
#[path = "../../../examples/serve/http.rs"]
pub mod http;

/// Which servers a soak runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// The echo server only.
    Echo,
    /// The HTTP server only.
    Http,
    /// Both, each with half the clients.
    Both,
}

impl Which {
    /// Whether the echo server runs.
    pub fn echo(self) -> bool {
        self != Which::Http
    }

    /// Whether the HTTP server runs.
    pub fn http(self) -> bool {
        self != Which::Echo
    }
}

/// What the servers reported (server side): the echo server through the
/// runtime's unhandled-error hook (ravel-io reports failed handlers and
/// accept exhaustion there), the HTTP server through its failure callback.
#[derive(Debug, Default)]
pub struct ServerCounters {
    /// Echo handlers that ended with a reset or broken pipe.
    pub echo_conn_reset: AtomicU64,
    /// Echo handlers that ended with another error.
    pub echo_conn_other: AtomicU64,
    /// Echo accept exhaustion episodes (ravel-io reports the first
    /// `EMFILE` of each episode).
    pub echo_accept_emfile: AtomicU64,
    /// HTTP accepts that failed with `EMFILE`.
    pub http_accept_emfile: AtomicU64,
    /// HTTP accepts that failed otherwise.
    pub http_accept_other: AtomicU64,
    /// HTTP connections ended by the header-read timeout.
    pub http_conn_timeout: AtomicU64,
    /// HTTP connections that ended mid-message (EOF or reset in a request).
    pub http_conn_incomplete: AtomicU64,
    /// HTTP connections that ended with another error.
    pub http_conn_other: AtomicU64,
    /// HTTP connections closed for sending nothing within the header
    /// timeout.
    pub http_conn_silent: AtomicU64,
    /// Anything else that reached the unhandled-error hook (printed).
    pub unexpected: AtomicU64,
}

impl Tally for ServerCounters {
    fn fields(&self) -> Vec<(&'static str, &AtomicU64)> {
        vec![
            ("echo_conn_reset", &self.echo_conn_reset),
            ("echo_conn_other", &self.echo_conn_other),
            ("echo_accept_emfile", &self.echo_accept_emfile),
            ("http_accept_emfile", &self.http_accept_emfile),
            ("http_accept_other", &self.http_accept_other),
            ("http_conn_timeout", &self.http_conn_timeout),
            ("http_conn_incomplete", &self.http_conn_incomplete),
            ("http_conn_other", &self.http_conn_other),
            ("http_conn_silent", &self.http_conn_silent),
            ("unexpected", &self.unexpected),
        ]
    }
}

impl ServerCounters {
    /// The runtime's unhandled-error hook: sorts ravel-io's reports.
    pub fn on_unhandled(&self, report: &UnhandledError) {
        let io = report.error().io_error();
        let name = report.task_name();
        if name.starts_with("ravel_io::Server") && io.and_then(|e| e.raw_os_error()) == Some(libc::EMFILE) {
            self.echo_accept_emfile.fetch_add(1, Relaxed);
        } else if name.starts_with("ravel_io connection from") {
            match io.map(|e| e.kind()) {
                Some(ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) => &self.echo_conn_reset,
                _ => &self.echo_conn_other,
            }
            .fetch_add(1, Relaxed);
        } else {
            self.unexpected.fetch_add(1, Relaxed);
            eprintln!("soak: unexpected unhandled error: {} ({name}): {}", report.message(), report.error());
        }
    }

    /// The HTTP server's failure callback.
    pub fn on_http_failure(&self, failure: http::Failure<'_>) {
        match failure {
            http::Failure::Accept(e) if e.io_error().and_then(|e| e.raw_os_error()) == Some(libc::EMFILE) => {
                &self.http_accept_emfile
            }
            http::Failure::Accept(_) => &self.http_accept_other,
            http::Failure::Silent => &self.http_conn_silent,
            http::Failure::FirstRead(e) if e.io_error().is_some_and(|io| is_reset(io)) => &self.http_conn_incomplete,
            http::Failure::FirstRead(_) => &self.http_conn_other,
            http::Failure::Connection(e) => match e.downcast_ref::<hyper::Error>() {
                Some(h) if h.is_timeout() => &self.http_conn_timeout,
                Some(h) if h.is_incomplete_message() => &self.http_conn_incomplete,
                _ if is_reset(e) => &self.http_conn_incomplete,
                _ => &self.http_conn_other,
            },
        }
        .fetch_add(1, Relaxed);
    }
}

/// Whether an error's chain holds a reset or broken pipe.
fn is_reset(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if matches!(io.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) {
                return true;
            }
        }
        next = e.source();
    }
    false
}

/// The running servers.
pub struct Servers {
    echo: Option<ravel_io::Server>,
    http: Option<http::HttpServer>,
    /// The echo server's address, if it runs.
    pub echo_addr: Option<SocketAddr>,
    /// The HTTP server's address, if it runs.
    pub http_addr: Option<SocketAddr>,
}

/// How the servers' graceful shutdowns ended.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shutdowns {
    /// The echo server's, if it ran.
    pub echo: Option<echo::Shutdown>,
    /// The HTTP server's, if it ran.
    pub http: Option<http::Shutdown>,
}

impl Servers {
    /// Starts `which` on 127.0.0.1 (ephemeral ports), the HTTP server with
    /// `header_timeout`, reporting to `counters`.
    pub async fn start(
        which: Which,
        header_timeout: Duration,
        counters: Arc<ServerCounters>,
    ) -> ravel::Result<Servers> {
        let mut servers = Servers { echo: None, http: None, echo_addr: None, http_addr: None };
        if which.echo() {
            let server = echo::start("127.0.0.1:0").await?;
            servers.echo_addr = server.sockets()[0].as_inet();
            servers.echo = Some(server);
        }
        if which.http() {
            let listener = ravel_io::net::TcpListener::bind("127.0.0.1:0").await?;
            servers.http_addr = Some(listener.local_addr()?);
            servers.http = Some(http::serve(listener, header_timeout, move |f| counters.on_http_failure(f)));
        }
        Ok(servers)
    }

    /// Both graceful shutdowns (the examples' own), each with `deadline`.
    pub async fn shutdown(self, deadline: Duration) -> ravel::Result<Shutdowns> {
        let mut out = Shutdowns::default();
        if let Some(server) = &self.echo {
            out.echo = Some(echo::shutdown(server, deadline).await?);
        }
        if let Some(server) = self.http {
            out.http = Some(server.shutdown(deadline).await?);
        }
        Ok(out)
    }
}
