//! `#[nimsync::main]` with two workers: spawned tasks run and their results come back.

#[nimsync::main(workers = 2)]
async fn main() {
    let handles: Vec<_> = (1..=4u32).map(|i| nimsync::spawn(async move { i * i })).collect();
    let mut sum = 0;
    for h in handles {
        sum += h.await.unwrap();
    }
    assert_eq!(sum, 30);
}
