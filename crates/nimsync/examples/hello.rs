//! Hello, nimsync: spawn tasks on the global runtime and wait for them with `block_on`.
//!
//! `cargo run -p nimsync --example hello`

fn main() {
    let greeting = nimsync::block_on(async {
        // Each spawned task may run on any worker; its JoinHandle gives back the result.
        let words: [&'static str; 4] = ["hello", "from", "four", "tasks"];
        let handles: Vec<_> = words
            .iter()
            .copied()
            .enumerate()
            .map(|(i, w)| nimsync::spawn(async move { format!("{w}#{i}") }))
            .collect();
        let mut parts = Vec::new();
        for h in handles {
            parts.push(h.await.expect("the task does not panic"));
        }
        parts.join(" ")
    });
    println!("{greeting}");
    assert_eq!(greeting, "hello#0 from#1 four#2 tasks#3");
}
