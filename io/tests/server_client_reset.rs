//! A client that resets its connection mid-request (SO_LINGER 0, then
//! close: the kernel sends RST) gives its handler an I/O error of kind
//! `ConnectionReset`, not a panic or a hang; the server carries on.

mod common;

use ravel::sync::Event;
use ravel_io::net::TcpStream;
use ravel_io::start_server;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The rest of the request, or the error kind and the bytes read first.
type Outcome = Result<Vec<u8>, (Option<io::ErrorKind>, Vec<u8>)>;

#[test]
fn client_reset_gives_the_handler_connection_reset() {
    let rt = common::multi_thread();
    common::block(&rt, async {
        let outcomes: Arc<Mutex<Vec<Outcome>>> = Arc::default();
        let got_partial = Event::new();
        let (out, partial) = (outcomes.clone(), got_partial.clone());
        let server = start_server(
            move |reader, writer| {
                let (out, partial) = (out.clone(), partial.clone());
                async move {
                    // The request is 100 bytes; the client sends 10, then resets.
                    let first = reader.readexactly(10).await?;
                    partial.set();
                    let result = reader.readexactly(90).await;
                    let outcome = match result {
                        Ok(rest) => Ok(rest),
                        Err(e) => Err((e.io_error().map(|io| io.kind()), first)),
                    };
                    out.lock().unwrap().push(outcome);
                    // drain() reports the reset the reader saw.
                    let drained = writer.drain().await;
                    assert!(drained.unwrap_err().io_error().is_some());
                    Ok(())
                }
            },
            "127.0.0.1:0",
        )
        .await?;
        let addr = server.sockets()[0].as_inet().unwrap();
        for round in 0..20 {
            got_partial.clear();
            let client = TcpStream::connect(&addr).await?;
            client.write_all(b"0123456789").await?;
            got_partial.wait().await?;
            client.set_linger(Some(Duration::ZERO))?;
            drop(client);
            common::until(|| outcomes.lock().unwrap().len() > round).await?;
        }
        server.close();
        ravel::timeout(Duration::from_secs(5), server.wait_closed()).await?;
        let outcomes = outcomes.lock().unwrap();
        for outcome in outcomes.iter() {
            assert_eq!(outcome, &Err((Some(io::ErrorKind::ConnectionReset), b"0123456789".to_vec())));
        }
        Ok(())
    });
}
