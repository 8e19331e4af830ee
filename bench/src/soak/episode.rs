//! An EMFILE episode: the fd limit lowered to the lowest free fd number, so
//! every new fd in the process fails with `EMFILE` (the fds already open
//! keep working); a prober connection to each server, from a socket
//! created before the limit came down, makes its accept fail; the limit
//! held, restored, and each server checked to serve again.

use super::clients::{self, Counters, Proto};
use super::probe;
use super::servers::{ServerCounters, Servers};
use socket2::{Domain, Socket, Type};
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one episode saw.
#[derive(Debug, Clone)]
pub struct Episode {
    /// The echo server reported an accept `EMFILE` (if it runs).
    pub echo_saw_emfile: Option<bool>,
    /// The HTTP server reported an accept `EMFILE` (if it runs).
    pub http_saw_emfile: Option<bool>,
    /// Client connects that failed with `EMFILE` meanwhile.
    pub client_connect_emfile: u64,
    /// Every server answered a request, while the limit was lowered, on a
    /// connection it had accepted before: serving goes on while accepting
    /// cannot.
    pub served_while_lowered: bool,
    /// How long the limit stayed lowered.
    pub lowered_for: Duration,
    /// Every server answered a fresh request after the limit was restored.
    pub recovered: bool,
    /// From the restore to the last server's first correct answer.
    pub recovery: Duration,
}

/// How long an episode waits for each step (server report, recovery).
const BOUND: Duration = Duration::from_secs(10);

/// Runs one episode; the limit is restored on every path.
pub(super) async fn run(
    servers: &Servers,
    counters: &ServerCounters,
    client_counters: [&Arc<Counters>; 2],
    fd_floor: u64,
    hold: Duration,
) -> ravel::Result<Episode> {
    let targets: Vec<(SocketAddr, Proto)> = [(servers.echo_addr, Proto::Echo), (servers.http_addr, Proto::Http)]
        .into_iter()
        .filter_map(|(a, p)| a.map(|a| (a, p)))
        .collect();
    let emfiles = || (counters.echo_accept_emfile.load(Relaxed), counters.http_accept_emfile.load(Relaxed));
    let client_emfile = || client_counters.iter().map(|c| c.connect_emfile.load(Relaxed)).sum::<u64>();
    let (before, client_before) = (emfiles(), client_emfile());
    // One connection per server, accepted and answering, before the limit
    // comes down.
    let keepers = ravel::to_thread({
        let targets = targets.clone();
        move || {
            let mut keepers = Vec::new();
            for &(addr, proto) in &targets {
                let stream = std::net::TcpStream::connect_timeout(&addr, BOUND)?;
                stream.set_read_timeout(Some(BOUND))?;
                stream.set_write_timeout(Some(BOUND))?;
                if !clients::answers_on(&stream, proto) {
                    return Err(ravel::Error::msg(format!("{proto:?} server does not answer before the episode")));
                }
                keepers.push((stream, proto));
            }
            Ok(keepers)
        }
    })
    .await?;
    // The probers' sockets exist before the limit comes down.
    let probers =
        targets.iter().map(|_| Socket::new(Domain::IPV4, Type::STREAM, None)).collect::<std::io::Result<Vec<_>>>()?;
    let old = probe::set_nofile_soft(fd_floor)?;
    let lowered = Instant::now();
    let held = async {
        let addrs: Vec<SocketAddr> = targets.iter().map(|t| t.0).collect();
        let probers = ravel::to_thread(move || {
            for (socket, addr) in probers.iter().zip(&addrs) {
                // Completes in the kernel's backlog; the server's accept then fails.
                socket.connect_timeout(&(*addr).into(), BOUND)?;
            }
            Ok(probers)
        })
        .await?;
        let want = (servers.echo_addr.is_some(), servers.http_addr.is_some());
        let give_up = Instant::now() + BOUND;
        loop {
            let now = emfiles();
            let seen = ((now.0 > before.0) || !want.0, (now.1 > before.1) || !want.1);
            if seen == (true, true) || Instant::now() > give_up {
                break;
            }
            // A bounded wait for the servers' reports, read every 10 ms.
            ravel::sleep(Duration::from_millis(10)).await?;
        }
        let served = ravel::to_thread(move || {
            let served = keepers.iter().all(|(stream, proto)| clients::answers_on(stream, *proto));
            Ok(served)
        })
        .await?;
        ravel::sleep(hold.saturating_sub(lowered.elapsed())).await?;
        Ok::<_, ravel::Error>((probers, served))
    }
    .await;
    probe::set_nofile_soft(old)?;
    let lowered_for = lowered.elapsed();
    let (probers, served_while_lowered) = held?;
    drop(probers);
    let after = emfiles();
    let client_connect_emfile = client_emfile() - client_before;
    let restored = Instant::now();
    let recovered = ravel::to_thread(move || {
        Ok(targets.iter().all(|&(addr, proto)| {
            let give_up = Instant::now() + BOUND;
            while Instant::now() < give_up {
                if clients::answers(addr, proto, BOUND) {
                    return true;
                }
                // Not synchronisation: the server is in its accept backoff.
                std::thread::sleep(Duration::from_millis(20));
            }
            false
        }))
    })
    .await?;
    Ok(Episode {
        echo_saw_emfile: servers.echo_addr.map(|_| after.0 > before.0),
        http_saw_emfile: servers.http_addr.map(|_| after.1 > before.1),
        client_connect_emfile,
        served_while_lowered,
        lowered_for,
        recovered,
        recovery: restored.elapsed(),
    })
}
