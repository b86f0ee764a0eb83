//! Memory stays flat under a fast producer: items flow through map → filter → batch into a
//! slow sink, and the number of items alive at once never exceeds the stages' bounds.
//!
//! Every item is a `Tracked` value counted on creation and drop; the peak of the live count
//! is the memory actually held by the pipeline. The default test moves 1M items; the 10M
//! run of the issue is `#[ignore]`d (run it with `cargo test -p nimsync-streams --release
//! -- --ignored`).

use std::sync::atomic::{AtomicUsize, Ordering};

use nimsync_core_channels::mpsc;
use nimsync_scheduler::{Runtime, spawn, yield_now};
use nimsync_streams::{StreamExt, iter};

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

struct Tracked(u64);

impl Tracked {
    fn new(v: u64) -> Self {
        let live = LIVE.fetch_add(1, Ordering::SeqCst) + 1;
        PEAK.fetch_max(live, Ordering::SeqCst);
        Tracked(v)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

const STAGE: usize = 128; // spawn_stage channel (a power of two: no rounding)
const BATCH: usize = 64;
const SINK: usize = 4; // batches in the sink's channel

/// The counters are process-wide: runs must not overlap.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn run(items: u64) {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let rt = Runtime::builder().workers(2).build().unwrap();
    let (kept, sum) = rt.block_on(async move {
        let (tx, mut rx) = mpsc::<Vec<Tracked>>(SINK);
        // The producer: as fast as it can go, on its own task (spawn_stage).
        let pipeline = spawn(
            iter(0..items)
                .map(Tracked::new)
                .spawn_stage(STAGE)
                .map(|t| Tracked::new(t.0 * 2)) // replaces the item (the old one drops)
                .filter(|t| t.0 % 3 != 0)
                .batch(BATCH)
                .into_channel(tx),
        );
        // The slow sink: yields to the scheduler several times per batch.
        let mut kept = 0u64;
        let mut sum = 0u64;
        while let Ok(batch) = rx.recv().await {
            for _ in 0..4 {
                yield_now().await;
            }
            kept += batch.len() as u64;
            sum += batch.iter().map(|t| t.0).sum::<u64>();
        }
        pipeline.await.unwrap().unwrap();
        (kept, sum)
    });
    let want: Vec<u64> = (0..items).map(|x| x * 2).filter(|x| x % 3 != 0).collect();
    assert_eq!(kept, want.len() as u64, "items lost or duplicated");
    assert_eq!(sum, want.iter().sum::<u64>());
    assert_eq!(LIVE.load(Ordering::SeqCst), 0, "items leaked");
    // Bound: the stage channel, the batch being filled, the sink channel, the batch in the
    // consumer's hands, plus the item in each stage's hands (map's old and new, the sender's
    // reserved slot): a constant, independent of `items`.
    let bound = STAGE + BATCH + SINK * BATCH + BATCH + 4;
    let peak = PEAK.load(Ordering::SeqCst);
    eprintln!("{items} items: peak live {peak}, bound {bound}");
    assert!(peak <= bound, "peak {peak} items alive > bound {bound}");
    assert!(
        peak >= BATCH,
        "the test must actually fill batches (peak {peak})"
    );
}

#[test]
fn one_million_items_with_a_slow_sink_stay_within_the_bounds() {
    run(1_000_000);
}

#[test]
#[ignore = "10M items: a few seconds in release, longer in debug"]
fn ten_million_items_with_a_slow_sink_stay_within_the_bounds() {
    run(10_000_000);
}
