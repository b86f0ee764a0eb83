#[nimsync::test(workers = 2)]
async fn needs_multi_thread() {}

fn main() {}
