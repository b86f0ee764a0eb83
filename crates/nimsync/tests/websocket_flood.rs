//! The WebSocket flood example at test size: 20 000 messages over loopback arrive exactly once.

#![cfg(all(
    feature = "net",
    feature = "actors",
    feature = "channels",
    feature = "scheduler"
))]

#[path = "../examples/websocket_flood.rs"]
mod websocket_flood;

#[test]
fn flood_20k_messages_arrive_exactly_once() {
    let rt = nimsync::scheduler::Runtime::builder()
        .workers(2)
        .build()
        .unwrap();
    let n = 20_000;
    let (tally, _) = rt.block_on(websocket_flood::flood(n));
    assert_eq!(
        tally,
        websocket_flood::Tally {
            distinct: n,
            duplicates: 0,
            out_of_range: 0
        }
    );
}
