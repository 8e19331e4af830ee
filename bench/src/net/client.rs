//! Load clients written for the benchmarks (one thread, edge-triggered
//! mio, so they fit on the load generator's core): TCP echo ping-pong,
//! connection churn, and a pipelined HTTP client that measures latency
//! per batch (which wrk cannot: its latency correction treats each of a
//! batch's responses as a request of its own).

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// What a client run measured.
#[derive(Debug, Default, Clone)]
pub struct ClientRun {
    /// Completed operations: echo round trips, churned connections, or
    /// pipelined responses.
    pub ops: u64,
    /// Latency samples (one per round trip, connection or batch), in µs.
    pub latencies_us: Vec<u32>,
    /// Wall time of the measured part.
    pub elapsed: Duration,
    /// Completed operations per connection slot: how evenly the server
    /// served its connections (see [`ClientRun::fairness`]).
    pub per_conn: Vec<u64>,
}

impl ClientRun {
    /// The operations completed by the least-served connection slot over
    /// the median slot's (1.0: every connection served alike; near 0: some
    /// connections starved while others were served). NaN for no slots.
    pub fn fairness(&self) -> f64 {
        let mut counts = self.per_conn.clone();
        if counts.is_empty() {
            return f64::NAN;
        }
        counts.sort_unstable();
        let median = counts[counts.len() / 2].max(1) as f64;
        counts[0] as f64 / median
    }
}

struct Slot {
    stream: Option<TcpStream>,
    sent_at: Instant,
    /// Bytes (echo) or body markers (HTTP) still expected.
    pending: usize,
    written: usize,
    tail: Vec<u8>,
}

/// `conns` connections, each sending `size` bytes and waiting for their
/// echo before sending again, for `duration`.
pub fn echo(addr: SocketAddr, conns: usize, size: usize, duration: Duration) -> ClientRun {
    let msg = vec![b'e'; size];
    drive(
        addr,
        conns,
        duration,
        false,
        &msg,
        |slot, n, _| {
            slot.pending = slot.pending.saturating_sub(n);
            slot.pending == 0
        },
        size,
    )
}

/// `conns` connections, each sending `depth` pipelined GETs at once and
/// waiting for all `depth` responses (counted by their body), for
/// `duration`; one latency sample per batch.
pub fn pipelined(addr: SocketAddr, conns: usize, depth: usize, duration: Duration) -> ClientRun {
    let batch: Vec<u8> = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n".repeat(depth);
    let mut run = drive(addr, conns, duration, false, &batch, count_bodies, depth);
    run.ops *= depth as u64;
    run
}

/// `conns` concurrent slots, each connecting, sending one GET, reading the
/// response, and closing, for `duration`; one latency sample per
/// connection (connect to response).
pub fn churn(addr: SocketAddr, conns: usize, duration: Duration) -> ClientRun {
    drive(addr, conns, duration, true, b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n", count_bodies, 1)
}

const BODY: &[u8] = b"Hello, World!";

/// Counts response bodies seen in the new bytes (a marker split across
/// reads is found through the slot's tail).
fn count_bodies(slot: &mut Slot, _n: usize, data: &[u8]) -> bool {
    slot.tail.extend_from_slice(data);
    let mut found = 0;
    let mut at = 0;
    while let Some(p) = slot.tail[at..].windows(BODY.len()).position(|w| w == BODY) {
        found += 1;
        at += p + BODY.len();
    }
    let keep = slot.tail.len().saturating_sub(BODY.len() - 1).max(at);
    slot.tail.drain(..keep);
    slot.pending = slot.pending.saturating_sub(found);
    slot.pending == 0
}

fn drive(
    addr: SocketAddr,
    conns: usize,
    duration: Duration,
    reconnect: bool,
    request: &[u8],
    mut received: impl FnMut(&mut Slot, usize, &[u8]) -> bool,
    per_request: usize,
) -> ClientRun {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(1024);
    let mut slots: Vec<Slot> = (0..conns)
        .map(|_| Slot { stream: None, sent_at: Instant::now(), pending: 0, written: 0, tail: Vec::new() })
        .collect();
    let connect = |poll: &Poll, slot: &mut Slot, i: usize| {
        let mut stream = TcpStream::connect(addr).expect("connect");
        let _ = stream.set_nodelay(true);
        poll.registry().register(&mut stream, Token(i), Interest::READABLE | Interest::WRITABLE).unwrap();
        slot.stream = Some(stream);
        slot.sent_at = Instant::now();
        slot.pending = per_request;
        slot.written = 0;
        slot.tail.clear();
    };
    for (i, slot) in slots.iter_mut().enumerate() {
        connect(&poll, slot, i);
    }
    let start = Instant::now();
    let mut run = ClientRun { per_conn: vec![0; conns], ..ClientRun::default() };
    let mut buf = vec![0u8; 65536];
    while start.elapsed() < duration {
        poll.poll(&mut events, Some(Duration::from_millis(100))).unwrap();
        for event in events.iter() {
            let i = event.token().0;
            let slot = &mut slots[i];
            let Some(mut stream) = slot.stream.take() else { continue };
            // Write what is left of the request.
            while slot.written < request.len() {
                match stream.write(&request[slot.written..]) {
                    Ok(n) => slot.written += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::NotConnected => break,
                    Err(e) => panic!("client write: {e}"),
                }
            }
            let mut done = false;
            loop {
                match stream.read(&mut buf) {
                    Ok(0) => panic!("the server closed a connection"),
                    Ok(n) => {
                        if received(slot, n, &buf[..n]) {
                            done = true;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::NotConnected => break,
                    Err(e) => panic!("client read: {e}"),
                }
            }
            slot.stream = Some(stream);
            if done {
                run.ops += 1;
                run.per_conn[i] += 1;
                run.latencies_us.push(slot.sent_at.elapsed().as_micros().min(u32::MAX as u128) as u32);
                if reconnect {
                    let mut old = slot.stream.take().unwrap();
                    let _ = poll.registry().deregister(&mut old);
                    drop(old);
                    connect(&poll, slot, i);
                } else {
                    slot.sent_at = Instant::now();
                    slot.pending = per_request;
                    slot.written = 0;
                    let stream = slot.stream.as_mut().unwrap();
                    while slot.written < request.len() {
                        match stream.write(&request[slot.written..]) {
                            Ok(n) => slot.written += n,
                            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                            Err(e) => panic!("client write: {e}"),
                        }
                    }
                }
            }
        }
    }
    run.elapsed = start.elapsed();
    run
}

/// The `q` quantile (0..=1) of `samples` (sorted in place).
pub fn quantile(samples: &mut [u32], q: f64) -> u32 {
    if samples.is_empty() {
        return 0;
    }
    samples.sort_unstable();
    samples[((samples.len() - 1) as f64 * q).round() as usize]
}
