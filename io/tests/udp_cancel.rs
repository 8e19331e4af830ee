//! A cancelled UDP receive consumed no datagram: the next receive gets it.

use ravel_io::net::UdpSocket;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn multi_thread() -> ravel::Runtime {
    ravel::Builder::new_multi_thread().worker_threads(2).build().unwrap()
}

fn block<T: Send + 'static>(
    rt: &ravel::Runtime,
    body: impl std::future::Future<Output = ravel::Result<T>> + Send + 'static,
) -> T {
    rt.block_on(ravel::timeout(Duration::from_secs(20), body)).unwrap()
}

#[test]
fn a_cancelled_recv_from_leaves_the_datagram_for_the_next_call() {
    ravel::run(ravel::timeout(Duration::from_secs(10), async {
        let a = UdpSocket::bind("127.0.0.1:0").await?;
        let b = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
        let waiting = ravel::spawn({
            let b = b.clone();
            async move {
                let mut buf = [0u8; 16];
                b.recv_from(&mut buf).await.map(|(n, _)| buf[..n].to_vec())
            }
        });
        ravel::yield_now().await?; // the receiver is suspended in recv_from
        assert!(!waiting.done());
        waiting.cancel();
        let err = waiting.await.unwrap_err();
        assert!(err.is_cancelled(), "{err:?}");
        a.send_to(b"kept", &b.local_addr()?).await?;
        let mut buf = [0u8; 16];
        let (n, from) = b.recv_from(&mut buf).await?;
        assert_eq!((&buf[..n], from), (&b"kept"[..], a.local_addr()?));
        Ok(())
    }))
    .unwrap();
}

#[test]
fn a_cancelled_recv_on_a_connected_socket_leaves_the_datagram() {
    ravel::run(ravel::timeout(Duration::from_secs(10), async {
        let a = UdpSocket::bind("127.0.0.1:0").await?;
        let b = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
        b.connect(&a.local_addr()?).await?;
        let waiting = ravel::spawn({
            let b = b.clone();
            async move {
                let mut buf = [0u8; 16];
                b.recv(&mut buf).await.map(|n| buf[..n].to_vec())
            }
        });
        ravel::yield_now().await?;
        waiting.cancel();
        assert!(waiting.await.unwrap_err().is_cancelled());
        a.send_to(b"kept", &b.local_addr()?).await?;
        let mut buf = [0u8; 16];
        let n = b.recv(&mut buf).await?;
        assert_eq!(&buf[..n], b"kept");
        Ok(())
    }))
    .unwrap();
}

/// The datagram's arrival and the cancellation race on two workers: either
/// the cancelled receive returned the datagram, or it was cancelled and
/// the next receive gets it. Never lost, never twice.
#[test]
fn cancel_racing_a_datagram_loses_nothing() {
    let rt = multi_thread();
    let (got_by_cancelled, got_after) = block(&rt, async {
        let a = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
        let b = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
        let to = b.local_addr()?;
        let (mut by_cancelled, mut after) = (0, 0);
        for i in 0u32..300 {
            let started = Arc::new(ravel::sync::Event::new());
            // What the receive returned, recorded inside the task: a task
            // that ends with its cancellation undelivered ends cancelled
            // and drops its value (asyncio's rule), so the task's output
            // cannot tell whether the datagram was taken.
            let taken = Arc::new(Mutex::new(None));
            let receiver = ravel::spawn({
                let (b, started, taken) = (b.clone(), started.clone(), taken.clone());
                async move {
                    started.set();
                    let mut buf = [0u8; 4];
                    let result = b.recv_from(&mut buf).await;
                    if result.is_ok() {
                        *taken.lock().unwrap() = Some(u32::from_be_bytes(buf));
                    }
                    result.map(drop)
                }
            });
            started.wait().await?;
            // The receiver is in (or about to enter) recv_from; the reactor,
            // on whichever worker polls it, wakes it while this task spins
            // for a varying time and then cancels it.
            a.send_to(&i.to_be_bytes(), &to).await?;
            for _ in 0..(i % 40) * 500 {
                std::hint::spin_loop();
            }
            receiver.cancel();
            let outcome = receiver.await;
            let taken = taken.lock().unwrap().take();
            match taken {
                Some(got) => {
                    assert_eq!(got, i);
                    by_cancelled += 1;
                }
                None => {
                    let e = outcome.expect_err("the receive returned nothing, so it was cancelled");
                    assert!(e.is_cancelled(), "{e:?}");
                    let mut buf = [0u8; 4];
                    b.recv_from(&mut buf).await?;
                    assert_eq!(u32::from_be_bytes(buf), i);
                    after += 1;
                }
            }
            let mut buf = [0u8; 4];
            assert_eq!(b.try_recv_from(&mut buf).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
        }
        Ok((by_cancelled, after))
    });
    eprintln!("returned by the cancelled receive: {got_by_cancelled}, by the next: {got_after}");
    assert_eq!(got_by_cancelled + got_after, 300);
}

#[test]
fn a_cancelled_send_to_sent_nothing_when_it_was_cancelled_before_its_first_poll() {
    // A send is only deferred when the socket's buffer is full, which a
    // loopback UDP socket almost never is; what can be observed is that a
    // task cancelled before it runs sends nothing.
    ravel::run(ravel::timeout(Duration::from_secs(10), async {
        let a = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
        let b = UdpSocket::bind("127.0.0.1:0").await?;
        let to = b.local_addr()?;
        let sender = ravel::spawn({
            let a = a.clone();
            async move {
                ravel::yield_now().await?;
                a.send_to(b"never", &to).await
            }
        });
        sender.cancel();
        assert!(sender.await.unwrap_err().is_cancelled());
        a.send_to(b"after", &to).await?;
        let mut buf = [0u8; 8];
        let (n, _) = b.recv_from(&mut buf).await?;
        assert_eq!(&buf[..n], b"after");
        Ok(())
    }))
    .unwrap();
}
