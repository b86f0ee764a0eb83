//! NUMA: print the detected topology, place workers per node, and pass a value through a
//! NUMA-local channel (on a one-node machine it behaves like a plain channel).
//!
//! `cargo run -p nimsync --example numa_topology`

use nimsync::numa::{NumaLocalChannel, NumaPlacement, Topology};
use nimsync::scheduler::Runtime;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let topo = Topology::detect()?;
    println!("{topo}");
    let rt = Runtime::builder()
        .workers(2)
        .placement(NumaPlacement::per_node(&topo))
        .build()?;
    let (tx, rx) = NumaLocalChannel::<u64>::partitioned(&topo, 1024)?;
    rt.block_on(async { tx.send(7).await })?; // into the shard of this thread's node
    assert_eq!(rx.recv_blocking()?, 7);
    println!("sent and received through the NUMA-local channel");
    Ok(())
}
