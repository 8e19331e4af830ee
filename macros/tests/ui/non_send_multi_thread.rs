use std::rc::Rc;

// The multi-thread flavour polls main on its workers: main must be Send.
// (flavor = "current_thread" accepts this body.)
#[ravel::main(flavor = "multi_thread")]
async fn main() -> ravel::Result<()> {
    let shared = Rc::new(1);
    ravel::yield_now().await?;
    drop(shared);
    Ok(())
}
