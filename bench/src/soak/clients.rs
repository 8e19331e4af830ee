//! The soak's load: blocking std clients, one thread each, on loopback.
//! Most sessions are correct request/response loops; a fraction are
//! faults: reset mid-request (`SO_LINGER` 0, then close), stall mid-header
//! (half a request, then silence past the server's header timeout), or
//! open and never send. Every socket has read/write timeouts, so no client
//! can hang.

use super::tally::Tally;
use socket2::SockRef;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

/// Which server a client talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// The echo server: a message comes back byte for byte.
    Echo,
    /// The HTTP server: `GET /` and `POST /echo` over keep-alive HTTP/1.1.
    Http,
}

/// A session's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Normal,
    Reset,
    Stall,
    Idle,
}

/// What the clients of one server saw (client side).
#[derive(Debug, Default)]
pub struct Counters {
    /// Sessions started (connected).
    pub sessions: AtomicU64,
    /// Requests answered correctly (an echo round trip, an HTTP response
    /// with the expected status and body).
    pub requests: AtomicU64,
    /// Connections reset by the client mid-request.
    pub resets: AtomicU64,
    /// Sessions that stalled mid-request (half a header, for HTTP).
    pub stalls: AtomicU64,
    /// Stalled sessions the server closed (HTTP: its header timeout).
    pub stalls_closed_by_server: AtomicU64,
    /// Stalled sessions still open when the client gave up waiting.
    pub stalls_left_open: AtomicU64,
    /// Sessions that connected and never sent.
    pub idles: AtomicU64,
    /// Idle sessions the server closed before the client did.
    pub idles_closed_by_server: AtomicU64,
    /// `connect` failing with `EMFILE` (the soak's own fd limit, in the
    /// EMFILE episodes: the clients share the server's process).
    pub connect_emfile: AtomicU64,
    /// `connect` failing otherwise (refused, timed out).
    pub connect_other: AtomicU64,
    /// A correct session's read or write timing out.
    pub timeouts: AtomicU64,
    /// A correct session's I/O failing otherwise (reset, EOF mid-response).
    pub io_errors: AtomicU64,
    /// A response that was not the expected one.
    pub bad_responses: AtomicU64,
}

impl Tally for Counters {
    fn fields(&self) -> Vec<(&'static str, &AtomicU64)> {
        vec![
            ("sessions", &self.sessions),
            ("requests", &self.requests),
            ("resets", &self.resets),
            ("stalls", &self.stalls),
            ("stalls_closed_by_server", &self.stalls_closed_by_server),
            ("stalls_left_open", &self.stalls_left_open),
            ("idles", &self.idles),
            ("idles_closed_by_server", &self.idles_closed_by_server),
            ("connect_emfile", &self.connect_emfile),
            ("connect_other", &self.connect_other),
            ("timeouts", &self.timeouts),
            ("io_errors", &self.io_errors),
            ("bad_responses", &self.bad_responses),
        ]
    }
}

/// One client's orders.
#[derive(Clone)]
pub struct Plan {
    /// The server.
    pub addr: SocketAddr,
    /// Its protocol.
    pub proto: Proto,
    /// Percent of sessions that are faults (reset, stall, idle in turn).
    pub fault_percent: u64,
    /// How long a stalled or idle client waits for the server to close.
    pub hold: Duration,
    /// Read/write/connect timeout of the correct sessions.
    pub io_timeout: Duration,
    /// Set when the run is over: the client ends after its session.
    pub stop: Arc<AtomicBool>,
}

/// A small deterministic generator (xorshift64*), one per client.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Runs client `id` until `plan.stop` is set. Clients 0, 1 and 2 start
/// with a reset, a stall and an idle session, so every fault is exercised
/// in any run with three clients or more per server.
pub fn client(id: u64, plan: &Plan, counters: &Counters) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (id + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
    let mut session = 0u64;
    while !plan.stop.load(Relaxed) {
        let kind = match (session, id) {
            (0, 0) => Kind::Reset,
            (0, 1) => Kind::Stall,
            (0, 2) => Kind::Idle,
            _ if rng.next() % 100 < plan.fault_percent => {
                [Kind::Reset, Kind::Stall, Kind::Idle][(rng.next() % 3) as usize]
            }
            _ => Kind::Normal,
        };
        session += 1;
        let stream = match TcpStream::connect_timeout(&plan.addr, plan.io_timeout) {
            Ok(s) => s,
            Err(e) => {
                if e.raw_os_error() == Some(libc::EMFILE) {
                    counters.connect_emfile.fetch_add(1, Relaxed);
                } else {
                    counters.connect_other.fetch_add(1, Relaxed);
                }
                // Not synchronisation: a failing client backs off instead of spinning.
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        counters.sessions.fetch_add(1, Relaxed);
        let _ = stream.set_nodelay(true);
        let _ = stream.set_read_timeout(Some(plan.io_timeout));
        let _ = stream.set_write_timeout(Some(plan.io_timeout));
        match kind {
            Kind::Normal => {
                let requests = 1 + rng.next() % 20;
                for n in 0..requests {
                    match request(plan.proto, &stream, &mut rng, n) {
                        Ok(()) => counters.requests.fetch_add(1, Relaxed),
                        Err(Failed::Io(e)) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {
                            counters.timeouts.fetch_add(1, Relaxed);
                            break;
                        }
                        Err(Failed::Io(_)) => {
                            counters.io_errors.fetch_add(1, Relaxed);
                            break;
                        }
                        Err(Failed::Bad) => {
                            counters.bad_responses.fetch_add(1, Relaxed);
                            break;
                        }
                    };
                }
            }
            Kind::Reset => {
                let _ = (&stream).write_all(&partial_request(plan.proto));
                let _ = SockRef::from(&stream).set_linger(Some(Duration::ZERO));
                counters.resets.fetch_add(1, Relaxed);
            }
            Kind::Stall => {
                counters.stalls.fetch_add(1, Relaxed);
                let _ = (&stream).write_all(stalled_request(plan.proto));
                match wait_for_close(&stream, plan.hold) {
                    true => counters.stalls_closed_by_server.fetch_add(1, Relaxed),
                    false => counters.stalls_left_open.fetch_add(1, Relaxed),
                };
            }
            Kind::Idle => {
                counters.idles.fetch_add(1, Relaxed);
                if wait_for_close(&stream, plan.hold) {
                    counters.idles_closed_by_server.fetch_add(1, Relaxed);
                }
            }
        }
    }
}

/// A request's start, cut short: a POST announcing more body than follows
/// (HTTP), or a message of which only the start is sent (echo).
fn partial_request(proto: Proto) -> Vec<u8> {
    match proto {
        Proto::Echo => vec![b'r'; 16 * 1024],
        Proto::Http => {
            let mut req = b"POST /echo HTTP/1.1\r\nHost: soak\r\nContent-Length: 4096\r\n\r\n".to_vec();
            req.extend_from_slice(&[b'b'; 1000]);
            req
        }
    }
}

/// Half a request, then nothing: a header without its end (HTTP), or the
/// start of a message (echo, which answers the part it got).
fn stalled_request(proto: Proto) -> &'static [u8] {
    match proto {
        Proto::Echo => b"the first half of a mess",
        Proto::Http => b"GET / HTTP/1.1\r\nHost: soak\r\nX-Stalled: ",
    }
}

/// Reads (and discards: an echo of what was sent, or an error response)
/// until the server closes (`true`) or `hold` passes (`false`).
fn wait_for_close(stream: &TcpStream, hold: Duration) -> bool {
    let _ = stream.set_read_timeout(Some(hold));
    let mut buf = [0u8; 4096];
    loop {
        match (&*stream).read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return !matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock),
        }
    }
}

enum Failed {
    Io(io::Error),
    Bad,
}

impl From<io::Error> for Failed {
    fn from(e: io::Error) -> Failed {
        Failed::Io(e)
    }
}

/// One request and its checked answer.
fn request(proto: Proto, stream: &TcpStream, rng: &mut Rng, n: u64) -> Result<(), Failed> {
    let mut s = stream;
    let size = 1 + (rng.next() % 8192) as usize;
    let body: Vec<u8> = (0..size).map(|i| b'a' + ((i as u64 + n) % 26) as u8).collect();
    match proto {
        Proto::Echo => {
            s.write_all(&body)?;
            let mut back = vec![0u8; size];
            s.read_exact(&mut back)?;
            if back != body {
                return Err(Failed::Bad);
            }
        }
        Proto::Http if n.is_multiple_of(2) => {
            s.write_all(b"GET / HTTP/1.1\r\nHost: soak\r\n\r\n")?;
            if read_response(s)? != b"Hello, world!\n" {
                return Err(Failed::Bad);
            }
        }
        Proto::Http => {
            let head = format!("POST /echo HTTP/1.1\r\nHost: soak\r\nContent-Length: {size}\r\n\r\n");
            s.write_all(head.as_bytes())?;
            s.write_all(&body)?;
            if read_response(s)? != body {
                return Err(Failed::Bad);
            }
        }
    }
    Ok(())
}

/// Reads one `200 OK` response with a `content-length` body and returns
/// the body (the server answers one request at a time: nothing follows).
fn read_response(mut s: &TcpStream) -> Result<Vec<u8>, Failed> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(Failed::Io(ErrorKind::UnexpectedEof.into()));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| Failed::Bad)?;
    if !head.starts_with("HTTP/1.1 200 ") {
        return Err(Failed::Bad);
    }
    let length: usize = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")))
        .and_then(|(_, v)| v.trim().parse().ok())
        .ok_or(Failed::Bad)?;
    let mut body = buf.split_off(head_end);
    if body.len() > length {
        return Err(Failed::Bad);
    }
    let have = body.len();
    body.resize(length, 0);
    s.read_exact(&mut body[have..])?;
    Ok(body)
}

/// Whether the server at `addr` answers one fresh request correctly.
pub fn answers(addr: SocketAddr, proto: Proto, timeout: Duration) -> bool {
    let Ok(stream) = TcpStream::connect_timeout(&addr, timeout) else { return false };
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));
    answers_on(&stream, proto)
}

/// Whether one request on the open `stream` is answered correctly.
pub fn answers_on(stream: &TcpStream, proto: Proto) -> bool {
    request(proto, stream, &mut Rng(1), 0).is_ok()
}
