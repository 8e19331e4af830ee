//! UDP: [`UdpSocket`] (asyncio: `loop.sock_sendto` / `loop.sock_recvfrom`
//! on a non-blocking datagram socket, or a datagram endpoint).
//!
//! # Cancel safety
//!
//! Every async method is a Ravel cancellation delivery point (the leaf
//! rule, `ravel::task::Leaf`): a pending cancellation is delivered when the
//! await would suspend or when it resumes, and then *instead of* the
//! syscall. A datagram is sent or received whole by one syscall, so:
//!
//! | method | what a cancelled await has done |
//! |---|---|
//! | [`UdpSocket::recv`], [`recv_from`](UdpSocket::recv_from) | nothing: no datagram was consumed; the next receive gets it |
//! | [`UdpSocket::peek`], [`peek_from`](UdpSocket::peek_from), [`readable`](UdpSocket::readable) | nothing |
//! | [`UdpSocket::send`], [`send_to`](UdpSocket::send_to) | nothing: no datagram was sent (`send_to` with a host name may have looked it up) |
//! | [`UdpSocket::bind`], [`connect`](UdpSocket::connect) | nothing that lasts: a socket being bound is closed; a `connect` cancelled while resolving left the association as it was |
//!
//! A syscall that succeeds on the first poll returns its value even with a
//! cancellation pending (asyncio does not suspend on a done future); the
//! cancellation is then delivered at the task's next suspension.
//!
//! Several tasks may await receives (or sends) on one socket at once (share
//! it in an `Arc`): each waiter is woken by readiness and each datagram goes
//! to exactly one of them. The `poll_*` methods are for poll-based code and
//! allow one poller per direction.

use super::addr::{resolve, ToSocketAddrs};
use ravel::io::{AsyncFd, Direction};
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::task::{Context, Poll};

/// Socket options set before [`UdpSocket::bind_with`] binds (asyncio's
/// `create_datagram_endpoint(reuse_port=..., allow_broadcast=...)`).
///
/// ```
/// use ravel_io::net::udp::{UdpOptions, UdpSocket};
///
/// ravel::run(async {
///     let options = UdpOptions { reuse_port: true, ..UdpOptions::default() };
///     let a = UdpSocket::bind_with("127.0.0.1:0", &options).await?;
///     // A second socket may bind the same port when both ask for reuse.
///     let b = UdpSocket::bind_with(&a.local_addr()?, &options).await?;
///     assert_eq!(a.local_addr()?, b.local_addr()?);
///     Ok(())
/// })
/// .unwrap();
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UdpOptions {
    /// `SO_REUSEADDR`.
    pub reuse_address: bool,
    /// `SO_REUSEPORT`: several sockets on one address (the kernel spreads
    /// unicast datagrams among them, and each gets a copy of a multicast).
    pub reuse_port: bool,
    /// `SO_BROADCAST`: allow sending to a broadcast address.
    pub broadcast: bool,
}

/// A UDP socket on Ravel's reactor.
///
/// Every method takes `&self`; see the [module docs](self) for what each
/// async method leaves done when it is cancelled.
///
/// ```
/// use ravel_io::net::UdpSocket;
///
/// ravel::run(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await?;
///     let b = UdpSocket::bind("127.0.0.1:0").await?;
///     a.send_to(b"ping", &b.local_addr()?).await?;
///     let mut buf = [0u8; 16];
///     let (n, from) = b.recv_from(&mut buf).await?;
///     assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
///     Ok(())
/// })
/// .unwrap();
/// ```
pub struct UdpSocket {
    fd: AsyncFd<std::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds to `addr`, trying each address it resolves to (host names are
    /// looked up on the blocking pool) and returning the last error if none
    /// binds. Port 0 picks a free port; see [`local_addr`](Self::local_addr).
    /// Cancelled, no socket is left open.
    pub async fn bind<A: ToSocketAddrs + ?Sized>(addr: &A) -> ravel::Result<UdpSocket> {
        UdpSocket::bind_with(addr, &UdpOptions::default()).await
    }

    /// Binds to `addr` with `options` set first (see [`UdpOptions`]).
    /// Cancelled, no socket is left open.
    pub async fn bind_with<A: ToSocketAddrs + ?Sized>(addr: &A, options: &UdpOptions) -> ravel::Result<UdpSocket> {
        let mut last = None;
        for addr in resolve(addr).await? {
            match UdpSocket::bind_one(addr, options) {
                Ok(socket) => return Ok(socket),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("resolve returns at least one address").into())
    }

    fn bind_one(addr: SocketAddr, options: &UdpOptions) -> io::Result<UdpSocket> {
        let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        socket.set_nonblocking(true)?;
        if options.reuse_address {
            socket.set_reuse_address(true)?;
        }
        if options.reuse_port {
            socket.set_reuse_port(true)?;
        }
        if options.broadcast {
            socket.set_broadcast(true)?;
        }
        socket.bind(&addr.into())?;
        UdpSocket::from_std(socket.into())
    }

    /// Registers a bound std socket with the current runtime (it is set
    /// non-blocking). Errors outside a Ravel runtime.
    ///
    /// ```
    /// use ravel_io::net::UdpSocket;
    ///
    /// ravel::run(async {
    ///     let std = std::net::UdpSocket::bind("127.0.0.1:0")?;
    ///     let addr = std.local_addr()?;
    ///     let socket = UdpSocket::from_std(std)?;
    ///     assert_eq!(socket.local_addr()?, addr);
    ///     let back = socket.into_std()?;
    ///     assert_eq!(back.local_addr()?, addr);
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        Ok(UdpSocket { fd: AsyncFd::new(socket)? })
    }

    /// Deregisters the socket and returns it in blocking mode.
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        let socket = self.fd.into_inner();
        socket.set_nonblocking(false)?;
        Ok(socket)
    }

    fn std(&self) -> &std::net::UdpSocket {
        self.fd.get_ref()
    }

    /// Sets the default destination of [`send`](Self::send) and filters
    /// received datagrams to those from `addr` (the first address it
    /// resolves to that connects). Cancelled (only possible while a host
    /// name is looked up), the association is unchanged.
    ///
    /// ```
    /// use ravel_io::net::UdpSocket;
    ///
    /// ravel::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.connect(&b.local_addr()?).await?;
    ///     b.connect(&a.local_addr()?).await?;
    ///     assert_eq!(a.peer_addr()?, b.local_addr()?);
    ///     a.send(b"hi").await?;
    ///     let mut buf = [0u8; 8];
    ///     let n = b.recv(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"hi");
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn connect<A: ToSocketAddrs + ?Sized>(&self, addr: &A) -> ravel::Result<()> {
        let mut last = None;
        for addr in resolve(addr).await? {
            match self.std().connect(addr) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("resolve returns at least one address").into())
    }

    /// Sends `buf` as one datagram to the connected peer; returns its
    /// length. Cancelled, nothing was sent.
    ///
    /// An error of kind `NotConnected` if the socket is not connected; a
    /// datagram the kernel refuses (too large: `EMSGSIZE`) is an error,
    /// not a partial send.
    pub async fn send(&self, buf: &[u8]) -> ravel::Result<usize> {
        self.fd.io(Direction::Write, |s| s.send(buf)).await
    }

    /// Receives one datagram from the connected peer into `buf`, waiting
    /// for one; the part that does not fit in `buf` is discarded. Cancelled,
    /// no datagram was consumed.
    ///
    /// An ICMP error for an earlier send to the peer (the port is closed:
    /// `ConnectionRefused`) is returned by the next receive on Linux.
    pub async fn recv(&self, buf: &mut [u8]) -> ravel::Result<usize> {
        self.fd.io(Direction::Read, |s| s.recv(buf)).await
    }

    /// Receives the next datagram from the connected peer without consuming
    /// it. Cancelled, it has done nothing.
    pub async fn peek(&self, buf: &mut [u8]) -> ravel::Result<usize> {
        self.fd.io(Direction::Read, |s| s.peek(buf)).await
    }

    /// Sends `buf` as one datagram to `target` (the first address it
    /// resolves to; a host name is looked up on the blocking pool for each
    /// call). Cancelled, nothing was sent.
    pub async fn send_to<A: ToSocketAddrs + ?Sized>(&self, buf: &[u8], target: &A) -> ravel::Result<usize> {
        let target = resolve(target).await?[0];
        self.fd.io(Direction::Write, |s| s.send_to(buf, target)).await
    }

    /// Receives one datagram and its sender, waiting for one; the part that
    /// does not fit in `buf` is discarded. Cancelled, no datagram was
    /// consumed.
    pub async fn recv_from(&self, buf: &mut [u8]) -> ravel::Result<(usize, SocketAddr)> {
        self.fd.io(Direction::Read, |s| s.recv_from(buf)).await
    }

    /// Receives the next datagram and its sender without consuming it.
    /// Cancelled, it has done nothing.
    ///
    /// ```
    /// use ravel_io::net::UdpSocket;
    ///
    /// ravel::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.send_to(b"once", &b.local_addr()?).await?;
    ///     let mut buf = [0u8; 8];
    ///     let (n, from) = b.peek_from(&mut buf).await?;
    ///     assert_eq!((&buf[..n], from), (&b"once"[..], a.local_addr()?));
    ///     // Still there:
    ///     let (n, _) = b.recv_from(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"once");
    ///     Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn peek_from(&self, buf: &mut [u8]) -> ravel::Result<(usize, SocketAddr)> {
        self.fd.io(Direction::Read, |s| s.peek_from(buf)).await
    }

    /// Waits until a receive may make progress. Ready at once until a
    /// receive sees `WouldBlock`.
    pub async fn readable(&self) -> ravel::Result<()> {
        self.fd.ready(Direction::Read).await.map(drop)
    }

    /// Waits until a send may make progress.
    pub async fn writable(&self) -> ravel::Result<()> {
        self.fd.ready(Direction::Write).await.map(drop)
    }

    /// Sends to the connected peer without waiting: `WouldBlock` if the
    /// send buffer is full.
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.fd.try_io(Direction::Write, |s| s.send(buf))
    }

    /// Sends to `target` without waiting.
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.fd.try_io(Direction::Write, |s| s.send_to(buf, target))
    }

    /// Receives from the connected peer without waiting: `WouldBlock` if no
    /// datagram is queued.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.fd.try_io(Direction::Read, |s| s.recv(buf))
    }

    /// Receives a datagram and its sender without waiting.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.fd.try_io(Direction::Read, |s| s.recv_from(buf))
    }

    /// Polls a send to the connected peer (for poll-based code; budgeted,
    /// not a cancellation point). One poller per direction.
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.fd.poll_io(cx, Direction::Write, |s| s.send(buf))
    }

    /// Polls a send to `target` (see [`poll_send`](Self::poll_send)).
    pub fn poll_send_to(&self, cx: &mut Context<'_>, buf: &[u8], target: SocketAddr) -> Poll<io::Result<usize>> {
        self.fd.poll_io(cx, Direction::Write, |s| s.send_to(buf, target))
    }

    /// Polls a receive from the connected peer (see
    /// [`poll_send`](Self::poll_send)).
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.fd.poll_io(cx, Direction::Read, |s| s.recv(buf))
    }

    /// Polls a receive of a datagram and its sender.
    pub fn poll_recv_from(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.fd.poll_io(cx, Direction::Read, |s| s.recv_from(buf))
    }

    /// Polls a peek at the next datagram and its sender.
    pub fn poll_peek_from(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.fd.poll_io(cx, Direction::Read, |s| s.peek_from(buf))
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.std().local_addr()
    }

    /// The connected peer's address; `NotConnected` if there is none.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.std().peer_addr()
    }

    /// `SO_BROADCAST`.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.std().broadcast()
    }

    /// Sets `SO_BROADCAST` (allow sending to a broadcast address).
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.std().set_broadcast(on)
    }

    /// `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.std().ttl()
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.std().set_ttl(ttl)
    }

    /// `IP_MULTICAST_LOOP`.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.std().multicast_loop_v4()
    }

    /// Sets `IP_MULTICAST_LOOP` (whether this host receives its own
    /// multicasts).
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.std().set_multicast_loop_v4(on)
    }

    /// `IP_MULTICAST_TTL`.
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.std().multicast_ttl_v4()
    }

    /// Sets `IP_MULTICAST_TTL`.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.std().set_multicast_ttl_v4(ttl)
    }

    /// `IPV6_MULTICAST_LOOP`.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.std().multicast_loop_v6()
    }

    /// Sets `IPV6_MULTICAST_LOOP`.
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.std().set_multicast_loop_v6(on)
    }

    /// Joins the IPv4 multicast group `group` on the interface with address
    /// `interface` (`Ipv4Addr::UNSPECIFIED`: the system's choice).
    pub fn join_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.std().join_multicast_v4(&group, &interface)
    }

    /// Leaves an IPv4 multicast group.
    pub fn leave_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.std().leave_multicast_v4(&group, &interface)
    }

    /// Joins the IPv6 multicast group `group` on interface index
    /// `interface` (0: the system's choice).
    pub fn join_multicast_v6(&self, group: Ipv6Addr, interface: u32) -> io::Result<()> {
        self.std().join_multicast_v6(&group, interface)
    }

    /// Leaves an IPv6 multicast group.
    pub fn leave_multicast_v6(&self, group: Ipv6Addr, interface: u32) -> io::Result<()> {
        self.std().leave_multicast_v6(&group, interface)
    }

    /// `SO_REUSEADDR` (set it before binding with [`UdpOptions`]).
    pub fn reuse_address(&self) -> io::Result<bool> {
        SockRef::from(self.std()).reuse_address()
    }

    /// `SO_REUSEPORT` (set it before binding with [`UdpOptions`]).
    pub fn reuse_port(&self) -> io::Result<bool> {
        SockRef::from(self.std()).reuse_port()
    }

    /// Takes the socket's pending error (`SO_ERROR`).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.std().take_error()
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.std().as_raw_fd()
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}
