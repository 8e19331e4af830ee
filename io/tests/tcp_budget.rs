//! A task reading a socket that always has data cannot starve the other
//! tasks of its worker: every I/O poll spends cooperative budget.

mod common;
use common::{pair, single};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;

#[test]
fn a_reader_of_an_always_ready_socket_yields_to_its_neighbours() {
    single(async {
        let (a, b) = pair().await?;
        a.write_all(&vec![1u8; 100_000]).await?;
        // Wait until the bytes are there, so every 1-byte read below is ready.
        b.readable().await?;
        let flag = Arc::new(AtomicBool::new(false));
        let neighbour = {
            let flag = flag.clone();
            ravel::spawn(async move {
                flag.store(true, SeqCst);
                Ok(())
            })
        };
        let mut reads = 0u32;
        let mut one = [0u8; 1];
        while !flag.load(SeqCst) {
            assert_eq!(b.read(&mut one).await?, 1);
            reads += 1;
        }
        neighbour.await?;
        // The budget (128 leaf polls per task poll) forced a yield long
        // before the 100,000 ready bytes ran out.
        assert!(reads <= 256, "{reads} reads before the neighbour ran");
        Ok(())
    });
}
