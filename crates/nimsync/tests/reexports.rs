//! One smoke test per layer the facade re-exports (under its feature), plus the top-level
//! shortcuts and the prelude.

#[cfg(feature = "channels")]
#[test]
fn channels_layer() {
    let (tx, rx) = nimsync::channels::mpmc::<u32>(2);
    tx.try_send(5).unwrap();
    assert_eq!(rx.try_recv(), Ok(5));
    assert_eq!(
        rx.try_recv(),
        Err(nimsync::channels::TryRecvError::Empty),
        "the value was received exactly once"
    );
}

#[cfg(feature = "scheduler")]
#[test]
fn scheduler_layer() {
    let rt = nimsync::scheduler::Runtime::builder()
        .workers(1)
        .build()
        .unwrap();
    let v = rt.block_on(async { nimsync::scheduler::spawn(async { 21 * 2 }).await.unwrap() });
    assert_eq!(v, 42);
}

#[cfg(feature = "scheduler")]
#[test]
fn top_level_block_on_spawn_sleep() {
    let rt = nimsync::scheduler::Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    let slept = rt.block_on(async {
        let t0 = nimsync::scheduler::now();
        nimsync::sleep(std::time::Duration::from_secs(60)).await; // paused clock: instant
        nimsync::scheduler::now() - t0
    });
    assert_eq!(slept, std::time::Duration::from_secs(60));
    let v = nimsync::block_on(async { nimsync::spawn(async { "spawned" }).await.unwrap() });
    assert_eq!(v, "spawned");
}

#[cfg(all(feature = "channels", feature = "scheduler"))]
#[test]
fn prelude_brings_both_layers() {
    use nimsync::prelude::*;
    let (mut tx, mut rx) = spsc::<u8>(1);
    let got = block_on(async move {
        let sender = spawn(async move { tx.send(9).await.unwrap() });
        let v = rx.recv().await.unwrap();
        sender.await.unwrap();
        v
    });
    assert_eq!(got, 9);
}

#[cfg(feature = "macros")]
#[nimsync::test]
async fn test_macro_through_the_facade() {
    let h: nimsync::scheduler::JoinHandle<u8> = nimsync::spawn(async { 3 });
    assert_eq!(h.await.unwrap(), 3);
}
