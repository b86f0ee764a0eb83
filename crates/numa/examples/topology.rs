//! Prints the machine's NUMA topology as nimsync sees it (the README's example):
//! `cargo run -p nimsync-numa --example topology`.

use nimsync_numa::{NumaPlacement, Topology};

fn main() -> Result<(), nimsync_numa::TopologyError> {
    let topo = Topology::detect()?;
    println!("{topo}");
    let placement = NumaPlacement::per_node(&topo);
    let workers = topo.cpus().len();
    for w in 0..workers {
        println!(
            "worker {w} -> cpu {} (node {})",
            placement.cpu_for_worker(w, workers),
            placement.node_for_worker(w, workers)
        );
    }
    Ok(())
}
