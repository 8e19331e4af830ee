//! The `http_server` example's serving code (`examples/serve/http.rs`)
//! closes a connection that sends nothing within the header-read timeout
//! and reports it, while a client that talks is served. hyper's own
//! header timeout starts only after hyper-util's auto builder has read the
//! first bytes (to tell HTTP/1 from HTTP/2), so before the example's own
//! first-byte timeout a silent client held its connection, and its fd,
//! until the shutdown (found by the soak, `bench/src/bin/soak.rs`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[path = "../examples/serve/http.rs"]
mod serve;

#[test]
fn a_silent_client_is_closed_at_the_header_timeout_and_a_talking_one_served() {
    let rt = ravel::Runtime::builder().worker_threads(2).build().unwrap();
    let silent = Arc::new(AtomicUsize::new(0));
    let others = Arc::new(Mutex::new(Vec::new()));
    let (seen, other) = (silent.clone(), others.clone());
    let (closed, answer, shutdown) = rt
        .block_on(async move {
            let listener = ravel_io::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let server = serve::serve(listener, Duration::from_millis(200), move |failure| match failure {
                serve::Failure::Silent => drop(seen.fetch_add(1, SeqCst)),
                serve::Failure::Accept(e) | serve::Failure::FirstRead(e) => other.lock().unwrap().push(e.to_string()),
                serve::Failure::Connection(e) => other.lock().unwrap().push(e.to_string()),
            });
            let (closed, answer) = ravel::to_thread(move || {
                let mut quiet = TcpStream::connect(addr)?;
                quiet.set_read_timeout(Some(Duration::from_secs(20)))?;
                let mut talk = TcpStream::connect(addr)?;
                talk.set_read_timeout(Some(Duration::from_secs(20)))?;
                talk.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")?;
                let mut answer = Vec::new();
                talk.read_to_end(&mut answer)?;
                // The server closes the silent connection: EOF, not a timeout.
                let closed = quiet.read(&mut [0u8; 16]).map(|n| n == 0).unwrap_or(false);
                Ok((closed, String::from_utf8_lossy(&answer).into_owned()))
            })
            .await?;
            let shutdown = server.shutdown(Duration::from_secs(5)).await?;
            Ok((closed, answer, shutdown))
        })
        .unwrap();
    assert!(closed, "the silent connection was not closed by the server");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nHello, world!\n"), "{answer}");
    assert_eq!(silent.load(SeqCst), 1);
    assert_eq!(*others.lock().unwrap(), Vec::<String>::new());
    assert_eq!(shutdown, serve::Shutdown::Finished);
}
