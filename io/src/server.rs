//! Stream servers: [`start_server`], [`start_unix_server`] and [`Server`]
//! (asyncio `start_server` and `asyncio.Server`, CPython 3.13).
//!
//! Each accepted connection gets a [`StreamReader`]/[`StreamWriter`] pair
//! and runs `handler(reader, writer)` as its own task. The server tracks
//! its connections (not its handler tasks, as asyncio tracks transports):
//! [`Server::wait_closed`] returns once the server is closed and every
//! connection has been closed.
//!
//! # The connection lives as long as its writer
//!
//! Dropping the [`StreamWriter`] closes the connection (asyncio closes an
//! unreferenced writer too). A handler written `|reader, _writer| async
//! move { ... }` that never names `_writer` inside the `async move` block
//! does not capture it: the writer is dropped when the closure returns,
//! before the handler runs. Bind it inside (`let _writer = writer;`).
//!
//! # Errors of handlers
//!
//! A handler's task is detached: a handler that returns an error (or
//! panics) is reported through the runtime's unhandled-error hook
//! (`ravel::Builder::unhandled_error_hook`) as "Task exception was never
//! retrieved", with the task named `ravel_io connection from <peer>`
//! (asyncio: "Unhandled exception in client_connected_cb"), and its
//! connection is closed. A cancelled handler's connection is closed
//! quietly (3.13).
//!
//! # Surviving clients and resource exhaustion
//!
//! * `accept` failing with `EMFILE`, `ENFILE`, `ENOBUFS` or `ENOMEM` stops
//!   accepting for [`ServerConfig::accept_backoff`] (1 s, asyncio's
//!   `ACCEPT_RETRY_DELAY`), then accepting resumes, for as long as the
//!   server is open. The first failure of an episode (until an accept
//!   succeeds again) is reported through the unhandled-error hook: an
//!   error whose `io_error()` is the accept error, from a task named
//!   `ravel_io::Server <addr>: socket.accept() out of system resource`.
//!   Other accept errors (`ECONNABORTED`, `EPROTO`, ...) are skipped.
//! * Each readiness event accepts up to [`ServerConfig::accept_batch`]
//!   connections before the accept task yields (and it spends cooperative
//!   budget on every accept), so a flood of connections cannot pin a
//!   worker.
//! * A client that resets its connection makes its handler's read return
//!   an I/O error of kind `ConnectionReset`; a silent client is ended by
//!   [`Server::close_clients`] / [`Server::abort_clients`] or a deadline
//!   (see [`Server`]).

use crate::net::{TcpStream, ToSocketAddrs};
use crate::streams::{pair, Shared, StreamAddr, StreamReader, StreamWriter, Transport};
use ravel::io::{AsyncFd, Direction, Interest};
use ravel::sync::Event;
use ravel::{Error, Handle, Result, TaskRef};
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::Shutdown;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

type BoxFuture = Pin<Box<dyn Future<Output = Result<()>> + Send>>;
type Handler = Arc<dyn Fn(StreamReader, StreamWriter) -> BoxFuture + Send + Sync>;

/// Options of [`start_server_with`] and [`start_unix_server_with`]
/// (asyncio's keyword arguments).
///
/// ```
/// use std::time::Duration;
///
/// let config = ravel_io::ServerConfig { accept_backoff: Duration::from_millis(50), ..Default::default() };
/// assert_eq!(config.limit, 65536);
/// assert!(config.start_serving);
/// ```
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Each connection's reader limit (asyncio `limit=`, 64 KiB).
    pub limit: usize,
    /// Start accepting at once (asyncio `start_serving=True`).
    pub start_serving: bool,
    /// The listen backlog (asyncio `backlog=100`).
    pub backlog: u32,
    /// How long accepting pauses after `EMFILE`, `ENFILE`, `ENOBUFS` or
    /// `ENOMEM` (asyncio's 1 s `ACCEPT_RETRY_DELAY`).
    pub accept_backoff: Duration,
    /// Connections accepted per readiness event before the accept task
    /// yields.
    pub accept_batch: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            limit: 64 * 1024,
            start_serving: true,
            backlog: 100,
            accept_backoff: Duration::from_secs(1),
            accept_batch: 100,
        }
    }
}

/// Listens on `addr` (every address it resolves to) and runs
/// `handler(reader, writer)` as a task for each connection (asyncio
/// `start_server(client_connected_cb, host, port)`). See the
/// [module docs](self) for handler errors and accept failures.
///
/// ```
/// use ravel_io::streams::open_connection;
///
/// ravel::run(async {
///     let server = ravel_io::start_server(
///         |reader, writer| async move {
///             while let line = reader.readline().await? {
///                 if line.is_empty() {
///                     break;
///                 }
///                 writer.write(&line.to_ascii_uppercase())?;
///                 writer.drain().await?;
///             }
///             Ok(())
///         },
///         "127.0.0.1:0",
///     )
///     .await?;
///     let addr = server.sockets()[0].as_inet().unwrap();
///     let (reader, writer) = open_connection(&addr).await?;
///     writer.write(b"hello\n")?;
///     assert_eq!(reader.readline().await?, b"HELLO\n");
///     drop(writer); // closes: the handler reads EOF and returns
///     server.close();
///     server.wait_closed().await
/// })
/// .unwrap();
/// ```
pub async fn start_server<H, Fut, A>(handler: H, addr: &A) -> Result<Server>
where
    H: Fn(StreamReader, StreamWriter) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
    A: ToSocketAddrs + ?Sized,
{
    start_server_with(handler, addr, ServerConfig::default()).await
}

/// [`start_server`] with options.
pub async fn start_server_with<H, Fut, A>(handler: H, addr: &A, config: ServerConfig) -> Result<Server>
where
    H: Fn(StreamReader, StreamWriter) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
    A: ToSocketAddrs + ?Sized,
{
    assert!(config.limit > 0, "Limit cannot be <= 0");
    let mut listeners = Vec::new();
    for addr in crate::net::resolve(addr).await? {
        listeners.push(Listener::bind_tcp(addr, config.backlog)?);
    }
    Server::new(box_handler(handler), listeners, config)
}

/// Listens on the Unix socket `path` (asyncio `start_unix_server`). The
/// path is removed when the server is closed (3.13 `cleanup_socket`).
pub async fn start_unix_server<H, Fut, P>(handler: H, path: P) -> Result<Server>
where
    H: Fn(StreamReader, StreamWriter) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
    P: AsRef<Path>,
{
    start_unix_server_with(handler, path, ServerConfig::default()).await
}

/// [`start_unix_server`] with options.
pub async fn start_unix_server_with<H, Fut, P>(handler: H, path: P, config: ServerConfig) -> Result<Server>
where
    H: Fn(StreamReader, StreamWriter) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
    P: AsRef<Path>,
{
    assert!(config.limit > 0, "Limit cannot be <= 0");
    let listener = Listener::bind_unix(path.as_ref(), config.backlog)?;
    Server::new(box_handler(handler), vec![listener], config)
}

fn box_handler<H, Fut>(handler: H) -> Handler
where
    H: Fn(StreamReader, StreamWriter) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    Arc::new(move |r, w| Box::pin(handler(r, w)) as BoxFuture)
}

/// A listening socket on the reactor.
enum Listener {
    Tcp(AsyncFd<std::net::TcpListener>),
    Unix(AsyncFd<std::os::unix::net::UnixListener>, PathBuf),
}

impl Listener {
    fn bind_tcp(addr: std::net::SocketAddr, backlog: u32) -> io::Result<Listener> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        socket.bind(&addr.into())?;
        socket.listen(backlog.min(i32::MAX as u32) as i32)?;
        socket.set_nonblocking(true)?;
        Ok(Listener::Tcp(AsyncFd::with_interest(socket.into(), Interest::READABLE)?))
    }

    fn bind_unix(path: &Path, backlog: u32) -> io::Result<Listener> {
        let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
        socket.bind(&socket2::SockAddr::unix(path)?)?;
        socket.listen(backlog.min(i32::MAX as u32) as i32)?;
        socket.set_nonblocking(true)?;
        let listener = std::os::unix::net::UnixListener::from(std::os::fd::OwnedFd::from(socket));
        Ok(Listener::Unix(AsyncFd::with_interest(listener, Interest::READABLE)?, path.to_path_buf()))
    }

    fn local_addr(&self) -> io::Result<StreamAddr> {
        match self {
            Listener::Tcp(fd) => fd.get_ref().local_addr().map(StreamAddr::Inet),
            Listener::Unix(fd, _) => fd.get_ref().local_addr().map(StreamAddr::Unix),
        }
    }

    /// One accept (a cancellable await; cancelled, it took nothing).
    async fn accept(&self) -> Result<Arc<dyn Transport>> {
        Ok(match self {
            Listener::Tcp(fd) => {
                let (stream, _) = fd.io(Direction::Read, |l| l.accept()).await?;
                Arc::new(TcpStream::from_std(stream)?)
            }
            Listener::Unix(fd, _) => {
                let (stream, _) = fd.io(Direction::Read, |l| l.accept()).await?;
                Arc::new(crate::net::UnixStream::from_std(stream)?)
            }
        })
    }

    /// Stops listening now: the kernel refuses new connections (Linux
    /// `shutdown` on a listening socket), the accept task wakes, and the
    /// fd is closed when the task lets go of it.
    fn stop(&self) {
        match self {
            Listener::Tcp(fd) => {
                let _ = SockRef::from(fd.get_ref()).shutdown(Shutdown::Both);
            }
            Listener::Unix(fd, path) => {
                let _ = SockRef::from(fd.get_ref()).shutdown(Shutdown::Both);
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// A running stream server (asyncio `asyncio.Server`). Cloning gives
/// another handle to the same server.
///
/// # Graceful shutdown
///
/// Stop accepting, let the handlers in flight finish, and cut the rest off
/// at a deadline: [`close`](Self::close), then [`wait_closed`](Self::wait_closed)
/// under a timeout scope, then [`abort_clients`](Self::abort_clients) (a
/// handler's read then sees EOF and its `drain` fails, so it ends). Here
/// the shutdown is a task in the application's `TaskGroup`, so the scope
/// ends only once the server is down:
///
/// ```
/// use ravel::{sync::Event, TaskGroup};
/// use ravel_io::streams::open_connection;
/// use std::time::Duration;
///
/// ravel::run(async {
///     let server = ravel_io::start_server(
///         |reader, writer| async move {
///             loop {
///                 let line = reader.readline().await?; // b"" at EOF, or once aborted
///                 if line.is_empty() {
///                     return Ok(());
///                 }
///                 writer.write(&line.to_ascii_uppercase())?;
///                 writer.drain().await?;
///             }
///         },
///         "127.0.0.1:0",
///     )
///     .await?;
///     let addr = server.sockets()[0].as_inet().unwrap();
///     let (_silent_r, _silent_w) = open_connection(&addr).await?; // connects, never speaks
///     let stop = Event::new();
///     TaskGroup::run(|tg| {
///         let (server, stop) = (server.clone(), stop.clone());
///         async move {
///             let s = server.clone();
///             let st = stop.clone();
///             tg.spawn(async move {
///                 st.wait().await?; // say, set by a signal handler
///                 s.close(); // stop accepting
///                 match ravel::timeout(Duration::from_millis(100), s.wait_closed()).await {
///                     Err(e) if e.is_timeout() => {
///                         s.abort_clients(); // the deadline: cut the rest off
///                         s.wait_closed().await
///                     }
///                     other => other,
///                 }
///             })?;
///             // The application's own work, then the order to stop.
///             let (reader, writer) = open_connection(&addr).await?;
///             writer.write(b"hi\n")?;
///             assert_eq!(reader.readline().await?, b"HI\n");
///             stop.set();
///             Ok(())
///         }
///     })
///     .await?;
///     assert!(!server.is_serving());
///     Ok(())
/// })
/// .unwrap();
/// ```
#[derive(Clone)]
pub struct Server {
    inner: Arc<Inner>,
}

struct Inner {
    handler: Handler,
    config: ServerConfig,
    handle: Handle,
    state: Mutex<State>,
    /// Set once the server is closed and no connection is left (asyncio
    /// `_wakeup`: `_waiters` is `None`).
    all_closed: Event,
    next_id: AtomicU64,
}

struct State {
    listeners: Vec<Arc<Listener>>,
    addrs: Vec<StreamAddr>,
    serving: bool,
    closed: bool,
    accept_tasks: Vec<TaskRef>,
    connections: HashMap<u64, Connection>,
    /// The pending `serve_forever`'s wake-up.
    forever: Option<Event>,
}

/// A tracked connection. The handler's task is not kept: holding a
/// `TaskRef` would delay the unhandled-error report of a failed handler
/// until the reference is dropped.
struct Connection {
    shared: Arc<Shared>,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Server {
    fn new(handler: Handler, listeners: Vec<Listener>, config: ServerConfig) -> Result<Server> {
        let handle = Handle::try_current()?;
        let addrs = listeners.iter().map(Listener::local_addr).collect::<io::Result<Vec<_>>>()?;
        let server = Server {
            inner: Arc::new(Inner {
                handler,
                handle,
                state: Mutex::new(State {
                    listeners: listeners.into_iter().map(Arc::new).collect(),
                    addrs,
                    serving: false,
                    closed: false,
                    accept_tasks: Vec::new(),
                    connections: HashMap::new(),
                    forever: None,
                }),
                all_closed: Event::new(),
                next_id: AtomicU64::new(0),
                config,
            }),
        };
        if server.inner.config.start_serving {
            server.start_serving()?;
        }
        Ok(server)
    }

    /// Starts accepting connections (asyncio `start_serving`); idempotent.
    /// An invalid-state error on a closed server.
    pub fn start_serving(&self) -> Result<()> {
        let listeners = {
            let mut st = lock(&self.inner.state);
            if st.closed {
                drop(st); // the message formats `self`, which locks
                return Err(Error::invalid_state(format!("server {self:?} is closed")));
            }
            if st.serving {
                return Ok(());
            }
            st.serving = true;
            st.listeners.clone()
        };
        for listener in listeners {
            let name = match listener.local_addr() {
                Ok(a) => format!("ravel_io::Server {a} accept"),
                Err(_) => "ravel_io::Server accept".to_string(),
            };
            let task = ravel::task::Builder::new()
                .name(name)
                .eager_start(false)
                .spawn_on(&self.inner.handle, accept_loop(self.inner.clone(), listener));
            let task_ref = task.as_task_ref().clone();
            drop(task);
            let mut st = lock(&self.inner.state);
            if st.closed {
                task_ref.cancel();
            } else {
                st.accept_tasks.push(task_ref);
            }
        }
        Ok(())
    }

    /// True while accepting (asyncio `is_serving`).
    pub fn is_serving(&self) -> bool {
        let st = lock(&self.inner.state);
        st.serving && !st.closed
    }

    /// The listening addresses; empty once closed (asyncio `sockets`).
    pub fn sockets(&self) -> Vec<StreamAddr> {
        lock(&self.inner.state).addrs.clone()
    }

    /// Stops listening (asyncio `close`): new connections are refused,
    /// `sockets()` is empty, a pending [`serve_forever`](Self::serve_forever)
    /// ends; open connections are left open. Idempotent.
    pub fn close(&self) {
        let (listeners, tasks, forever, empty) = {
            let mut st = lock(&self.inner.state);
            if st.closed {
                return;
            }
            st.closed = true;
            st.serving = false;
            st.addrs.clear();
            (
                std::mem::take(&mut st.listeners),
                std::mem::take(&mut st.accept_tasks),
                st.forever.take(),
                st.connections.is_empty(),
            )
        };
        for l in &listeners {
            l.stop();
        }
        for t in tasks {
            t.cancel();
        }
        if let Some(ev) = forever {
            ev.set();
        }
        if empty {
            self.inner.all_closed.set();
        }
    }

    /// Closes every connection, after its queued bytes are sent (asyncio
    /// 3.13 `close_clients`).
    pub fn close_clients(&self) {
        for shared in self.connections() {
            shared.close();
        }
    }

    /// Closes every connection at once, dropping queued bytes (asyncio
    /// 3.13 `abort_clients`).
    pub fn abort_clients(&self) {
        for shared in self.connections() {
            shared.connection_lost(None);
        }
    }

    fn connections(&self) -> Vec<Arc<Shared>> {
        lock(&self.inner.state).connections.values().map(|c| c.shared.clone()).collect()
    }

    /// Waits until the server is closed **and** every connection has
    /// closed (asyncio 3.12.1+ `wait_closed`): on an open server it waits
    /// for [`close`](Self::close) too.
    ///
    /// Cancelled, it has only stopped waiting.
    pub async fn wait_closed(&self) -> Result<()> {
        self.inner.all_closed.wait().await
    }

    /// Accepts until cancelled or closed (asyncio `serve_forever`). Either
    /// way it then closes the server and waits for its connections
    /// ([`wait_closed`](Self::wait_closed)), and returns a cancellation
    /// error: the task's own (with its message) if it was cancelled, a
    /// plain one if another task closed the server.
    ///
    /// An invalid-state error if another `serve_forever` is running (`"...
    /// is already being awaited on serve_forever()"`) or the server is
    /// closed (`"... is closed"`).
    ///
    /// Cancelled, it has closed the server; if cancelled again while
    /// waiting for the connections, it returns that cancellation at once.
    pub async fn serve_forever(&self) -> Result<()> {
        let wake = {
            let mut st = lock(&self.inner.state);
            let refused = if st.forever.is_some() {
                Some("is already being awaited on serve_forever()")
            } else if st.closed {
                Some("is closed")
            } else {
                None
            };
            if let Some(why) = refused {
                drop(st); // the message formats `self`, which locks
                return Err(Error::invalid_state(format!("server {self:?} {why}")));
            }
            let ev = Event::new();
            st.forever = Some(ev.clone());
            ev
        };
        self.start_serving()?;
        let waited = wake.wait().await;
        lock(&self.inner.state).forever = None;
        let error = match waited {
            Ok(()) => Error::cancelled(None::<String>),
            Err(e) => e,
        };
        self.close();
        self.wait_closed().await?;
        Err(error)
    }

    fn detach(inner: &Inner, id: u64) {
        let wake = {
            let mut st = lock(&inner.state);
            st.connections.remove(&id);
            st.closed && st.connections.is_empty()
        };
        if wake {
            inner.all_closed.set();
        }
    }
}

impl fmt::Debug for Server {
    /// `<Server sockets=[127.0.0.1:8888]>`, as asyncio's repr.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = lock(&self.inner.state);
        let addrs: Vec<String> = st.addrs.iter().map(|a| a.to_string()).collect();
        write!(f, "<Server sockets=[{}]>", addrs.join(", "))
    }
}

/// One connection: track it, then run the handler as a detached task.
fn new_connection(inner: &Arc<Inner>, transport: Arc<dyn Transport>) {
    let peer = transport.peer_addr().map(|a| a.to_string()).unwrap_or_else(|_| "?".into());
    let shared = Shared::new(inner.config.limit, Some(transport));
    let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
    lock(&inner.state).connections.insert(id, Connection { shared: shared.clone() });
    let weak: Weak<Inner> = Arc::downgrade(inner);
    shared.set_on_lost(Box::new(move || {
        if let Some(inner) = weak.upgrade() {
            Server::detach(&inner, id);
        }
    }));
    let (reader, writer) = pair(shared.clone());
    let handler = (inner.handler)(reader, writer);
    let task = ravel::task::Builder::new().name(format!("ravel_io connection from {peer}")).spawn_on(
        &inner.handle,
        async move {
            let result = handler.await;
            if result.is_err() {
                // asyncio 3.13: a failed or cancelled handler's transport is closed.
                shared.close();
            }
            result
        },
    );
    // Detached: a failure is reported through the unhandled-error hook.
    drop(task);
}

fn is_resource_error(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM))
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ECONNABORTED | libc::EPROTO | libc::EINTR | libc::EPERM | libc::ENETDOWN | libc::EHOSTUNREACH)
    ) || e.kind() == io::ErrorKind::ConnectionAborted
}

/// Reports `error` through the unhandled-error hook: a detached task
/// that fails with it ("Task exception was never retrieved").
fn report(inner: &Inner, what: String, error: Error) {
    let task = ravel::task::Builder::new()
        .name(what)
        .eager_start(false)
        .spawn_on(&inner.handle, async move { Err::<(), Error>(error) });
    drop(task);
}

fn is_closed(inner: &Inner) -> bool {
    lock(&inner.state).closed
}

/// The accept task of one listener.
async fn accept_loop(inner: Arc<Inner>, listener: Arc<Listener>) -> Result<()> {
    let backoff = inner.config.accept_backoff;
    let batch = inner.config.accept_batch.max(1);
    let mut reported = false;
    loop {
        let mut accepted = 0;
        while accepted < batch {
            if is_closed(&inner) {
                return Ok(());
            }
            match listener.accept().await {
                Ok(transport) => {
                    reported = false;
                    accepted += 1;
                    new_connection(&inner, transport);
                }
                Err(e) if e.is_cancelled() || is_closed(&inner) => return Ok(()),
                Err(e) => {
                    let io = e.io_error();
                    if io.is_some_and(is_transient) {
                        continue;
                    }
                    if !reported {
                        reported = true;
                        let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
                        let what = if io.is_some_and(is_resource_error) {
                            format!("ravel_io::Server {addr}: socket.accept() out of system resource; retrying in {backoff:?}")
                        } else {
                            format!("ravel_io::Server {addr}: socket.accept() failed; retrying in {backoff:?}")
                        };
                        report(&inner, what, e);
                    }
                    // Stop reading the listener for the backoff: no spin.
                    if ravel::sleep(backoff).await.is_err() {
                        return Ok(());
                    }
                }
            }
        }
        if ravel::yield_now().await.is_err() {
            return Ok(());
        }
    }
}
