#[nimsync::main(flavor = "current_thread", workers = 2)]
async fn main() {}
