//! Networking workloads: smol-ecosystem sockets (`async-net`, readiness from the async-io
//! reactor) on nimsync's runtime against the same sockets on async-executor, the smol
//! pattern where idle executor threads drive the reactor themselves (`async_io::block_on`).
//! The gap between the two is the cost of nimsync's reactor-thread → worker hand-off.
//! `websocket_flood` compares whole stacks instead: a WebSocket flood on nimsync (async-net,
//! async-tungstenite) against the same program on tokio (tokio-tungstenite).

use crate::harness::Workload;

pub mod echo_round_trip;
pub mod websocket_flood;

/// Every networking workload, in run order.
pub fn workloads() -> Vec<Workload> {
    vec![echo_round_trip::workload(), websocket_flood::workload()]
}
