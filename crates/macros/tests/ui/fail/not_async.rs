#[nimsync::main]
fn main() {}
