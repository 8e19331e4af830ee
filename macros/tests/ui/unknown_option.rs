#[ravel::main(flavour = "current_thread")]
async fn main() {}
