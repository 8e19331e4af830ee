//! Two tasks awaiting receives on one shared socket both get datagrams.

use ravel_io::net::UdpSocket;
use std::sync::Arc;
use std::time::Duration;

#[test]
fn two_receivers_on_one_socket_each_get_a_datagram_on_two_workers() {
    let rt = ravel::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    rt.block_on(ravel::timeout(Duration::from_secs(30), async {
        let a = UdpSocket::bind("127.0.0.1:0").await?;
        let b = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
        let to = b.local_addr()?;
        for round in 0u32..500 {
            let receivers: Vec<_> = (0..2)
                .map(|_| {
                    let b = b.clone();
                    ravel::spawn(async move {
                        let mut buf = [0u8; 4];
                        b.recv_from(&mut buf).await.map(|_| u32::from_be_bytes(buf))
                    })
                })
                .collect();
            // Let the receivers start waiting on some rounds, not on others.
            if round % 2 == 0 {
                ravel::yield_now().await?;
            }
            a.send_to(&(2 * round).to_be_bytes(), &to).await?;
            a.send_to(&(2 * round + 1).to_be_bytes(), &to).await?;
            let mut got = Vec::new();
            for r in receivers {
                got.push(r.await?);
            }
            got.sort();
            assert_eq!(got, [2 * round, 2 * round + 1], "round {round}");
        }
        Ok(())
    }))
    .unwrap();
}

#[test]
fn two_receivers_on_one_current_thread_both_wait_and_both_get_one() {
    ravel::run(ravel::timeout(Duration::from_secs(10), async {
        let a = UdpSocket::bind("127.0.0.1:0").await?;
        let b = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
        let receivers: Vec<_> = (0..2)
            .map(|_| {
                let b = b.clone();
                ravel::spawn(async move {
                    let mut buf = [0u8; 8];
                    b.recv_from(&mut buf).await.map(|(n, _)| buf[..n].to_vec())
                })
            })
            .collect();
        ravel::yield_now().await?; // both are suspended in recv_from now
        assert!(receivers.iter().all(|r| !r.done()));
        a.send_to(b"one", &b.local_addr()?).await?;
        a.send_to(b"two", &b.local_addr()?).await?;
        let mut got = Vec::new();
        for r in receivers {
            got.push(r.await?);
        }
        got.sort();
        assert_eq!(got, [b"one".to_vec(), b"two".to_vec()]);
        Ok(())
    }))
    .unwrap();
}
