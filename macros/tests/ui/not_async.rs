#[ravel::main]
fn main() {}
