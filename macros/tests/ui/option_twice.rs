#[ravel::main(eager_tasks, eager_tasks = false)]
async fn main() {}
