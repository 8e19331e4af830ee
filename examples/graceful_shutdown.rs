//! Graceful shutdown of a server, the structured-concurrency way.
//!
//! * The server is a [`TaskGroup`]: its body is the accept loop, and every
//!   request handler is a child, so the server cannot return while a
//!   handler is still running.
//! * A shutdown trigger closes the inbox: the accept loop stops, requests
//!   that arrive later are refused, and the group waits for the in-flight
//!   handlers to finish.
//! * The wait has a deadline: the whole server runs inside a
//!   [`Timeout`] with no deadline, and the trigger
//!   [`reschedule`](Timeout::reschedule)s it to "now + grace period". When
//!   it expires the server task is cancelled, the group cancels the
//!   stragglers, each one runs its async cleanup, and the scope ends with a
//!   timeout error.
//!
//! No sockets: requests are simulated, each with an amount of "work".
//!
//! ```text
//! cargo run --example graceful_shutdown
//! ```

use ravel::{Promise, TaskGroup, Timeout};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long in-flight requests get to finish once shutdown starts.
const GRACE: Duration = Duration::from_millis(150);

#[derive(Debug)]
struct Request {
    id: u32,
    work: Duration,
}

/// What became of each request.
#[derive(Default)]
struct Outcomes {
    completed: Vec<u32>,
    cancelled: Vec<u32>,
    refused: Vec<u32>,
}

/// A closable request queue; the accept loop waits on a [`Promise`].
#[derive(Default)]
struct Inbox {
    state: Mutex<InboxState>,
}

#[derive(Default)]
struct InboxState {
    queue: VecDeque<Request>,
    closed: bool,
    waiter: Option<Promise<()>>,
}

impl Inbox {
    /// Queues a request; hands it back if the server stopped accepting.
    fn submit(&self, req: Request) -> Result<(), Request> {
        let mut st = self.state.lock().unwrap();
        if st.closed {
            return Err(req);
        }
        st.queue.push_back(req);
        if let Some(w) = st.waiter.take() {
            let _ = w.set_result(());
        }
        Ok(())
    }

    /// Stops accepting; returns the requests queued but not yet accepted.
    fn close(&self) -> Vec<Request> {
        let mut st = self.state.lock().unwrap();
        st.closed = true;
        if let Some(w) = st.waiter.take() {
            let _ = w.set_result(());
        }
        st.queue.drain(..).collect()
    }

    /// The next request, or `None` once the inbox is closed.
    async fn recv(&self) -> ravel::Result<Option<Request>> {
        loop {
            let wake = {
                let mut st = self.state.lock().unwrap();
                if st.closed {
                    return Ok(None);
                }
                if let Some(req) = st.queue.pop_front() {
                    return Ok(Some(req));
                }
                let p = Promise::new();
                st.waiter = Some(p.clone());
                p
            };
            wake.await?;
        }
    }
}

/// One request handler: does its work; if cancelled, rolls back (async
/// cleanup) and re-raises the cancellation.
async fn handle(req: Request, start: Instant, outcomes: Arc<Mutex<Outcomes>>) -> ravel::Result<()> {
    match ravel::sleep(req.work).await {
        Ok(()) => {
            println!("[{:>3} ms] request {}: done", ms(start), req.id);
            outcomes.lock().unwrap().completed.push(req.id);
            Ok(())
        }
        Err(e) if e.is_cancelled() => {
            println!("[{:>3} ms] request {}: cancelled, rolling back...", ms(start), req.id);
            ravel::sleep(Duration::from_millis(10)).await?; // async cleanup still works here
            println!("[{:>3} ms] request {}: rolled back", ms(start), req.id);
            outcomes.lock().unwrap().cancelled.push(req.id);
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// Milliseconds since `start`, rounded down to 10 ms so the printout is
/// stable from run to run.
fn ms(start: Instant) -> u128 {
    start.elapsed().as_millis() / 10 * 10
}

/// The server and its clients; the outcome of every request.
async fn serve() -> ravel::Result<Outcomes> {
    let start = Instant::now();
    let inbox = Arc::new(Inbox::default());
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    // The server's drain deadline: none until shutdown starts.
    let deadline = Timeout::after(None);
    let shutdown_started = Promise::<()>::new();

    // Simulated clients: (arrives at ms, request id, work in ms).
    let client = {
        let (inbox, outcomes, shutdown_started) = (inbox.clone(), outcomes.clone(), shutdown_started.clone());
        ravel::spawn(async move {
            let schedule = [(0, 1, 20), (0, 2, 130), (0, 3, 5_000), (40, 4, 30), (120, 5, 10)];
            for (at, id, work) in schedule {
                ravel::sleep_until(start + Duration::from_millis(at)).await?;
                if id == 5 {
                    // A late client: it arrives once shutdown has begun.
                    shutdown_started.clone().await?;
                }
                let req = Request { id, work: Duration::from_millis(work) };
                if let Err(req) = inbox.submit(req) {
                    println!("[{:>3} ms] client: request {} refused, the server is shutting down", ms(start), req.id);
                    outcomes.lock().unwrap().refused.push(req.id);
                }
            }
            Ok(())
        })
    };

    // The shutdown trigger (a signal handler, an admin endpoint...).
    let trigger = {
        let (inbox, outcomes, deadline) = (inbox.clone(), outcomes.clone(), deadline.clone());
        let shutdown_started = shutdown_started.clone();
        ravel::spawn(async move {
            ravel::sleep_until(start + Duration::from_millis(100)).await?;
            println!("[{:>3} ms] shutdown requested: {} ms grace period", ms(start), GRACE.as_millis());
            for req in inbox.close() {
                outcomes.lock().unwrap().refused.push(req.id);
            }
            deadline.reschedule(Some(Instant::now() + GRACE))?;
            shutdown_started.set_result(())?;
            Ok(())
        })
    };

    // The server: the accept loop is the group's body, handlers are children.
    let served = deadline
        .run(TaskGroup::run(|server| {
            let (inbox, outcomes) = (inbox.clone(), outcomes.clone());
            async move {
                while let Some(req) = inbox.recv().await? {
                    println!("[{:>3} ms] accepted request {} ({} ms of work)", ms(start), req.id, req.work.as_millis());
                    let name = format!("request-{}", req.id);
                    server.spawn_with(ravel::task::Builder::new().name(name), handle(req, start, outcomes.clone()))?;
                }
                println!("[{:>3} ms] stopped accepting; {} request(s) in flight", ms(start), server.len());
                Ok(())
            }
        }))
        .await;
    match served {
        Ok(()) => println!("[{:>3} ms] every in-flight request finished in time", ms(start)),
        Err(e) if e.is_timeout() => {
            println!("[{:>3} ms] grace period over: stragglers were cancelled and cleaned up", ms(start))
        }
        Err(e) => return Err(e),
    }
    trigger.await?;
    client.await?;
    // The server task is not left cancelled: it goes on normally.
    assert_eq!(ravel::current_task().unwrap().cancelling(), 0);
    let outcomes = std::mem::take(&mut *outcomes.lock().unwrap());
    Ok(outcomes)
}

#[ravel::main]
async fn main() -> ravel::Result<()> {
    let outcomes = serve().await?;

    println!("completed: {:?}", outcomes.completed);
    println!("cancelled at the deadline: {:?}", outcomes.cancelled);
    println!("refused: {:?}", outcomes.refused);
    assert_eq!(outcomes.completed, [1, 4, 2]);
    assert_eq!(outcomes.cancelled, [3]);
    assert_eq!(outcomes.refused, [5]);
    Ok(())
}
