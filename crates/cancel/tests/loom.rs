//! loom models of the token tree: concurrent cancel vs callback registration / drop, and
//! cancel vs child creation / drop. Every callback runs at most once, exactly once when its
//! registration outlives the cancel, never after its registration was dropped first. The last
//! model drops children (a leaf, and an interior child kept alive by its own child) while the
//! root is cancelled: the canceller upgrades children under the parent's lock while a dying
//! child takes that lock to remove its entry.
//!
//! Run with: `RUSTFLAGS="--cfg nimsync_loom" cargo test -p nimsync-cancel --test loom --release`.
#![cfg(nimsync_loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use nimsync_cancel::CancelToken;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(f);
}

#[test]
fn cancel_vs_register_and_drop_callback() {
    model(|| {
        let token = CancelToken::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let t = token.clone();
        let canceller = thread::spawn(move || t.cancel());
        let r = runs.clone();
        let reg = token.on_cancel(move || {
            r.fetch_add(1, Ordering::SeqCst);
        });
        drop(reg);
        canceller.join().unwrap();
        // Either the cancel ran it before the drop (1) or the drop removed it first (0).
        assert!(runs.load(Ordering::SeqCst) <= 1);
        assert!(token.is_cancelled());
        assert_eq!(token.registrations(), 0);
    });
}

#[test]
fn callback_registered_concurrently_runs_exactly_once() {
    model(|| {
        let token = CancelToken::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let t = token.clone();
        let canceller = thread::spawn(move || t.cancel());
        let r = runs.clone();
        let t2 = token.clone();
        let registrar = thread::spawn(move || {
            t2.on_cancel(move || {
                r.fetch_add(1, Ordering::SeqCst);
            })
        });
        let reg = registrar.join().unwrap();
        canceller.join().unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 1, "lost or doubled callback");
        drop(reg);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn cancel_vs_child_creation_and_drop() {
    model(|| {
        let root = CancelToken::new();
        let r = root.clone();
        let canceller = thread::spawn(move || r.cancel());
        let r2 = root.clone();
        let maker = thread::spawn(move || {
            let short = r2.child();
            drop(short);
            r2.child()
        });
        let kept = maker.join().unwrap();
        canceller.join().unwrap();
        assert!(
            kept.is_cancelled(),
            "a child created concurrently missed the cancel"
        );
        assert_eq!(root.registrations(), 0);
    });
}

#[test]
fn cancel_vs_dropping_children_reaches_grandchild_callback() {
    model(|| {
        let root = CancelToken::new();
        let interior = root.child();
        let grandchild = interior.child();
        let leaf = root.child();
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let reg = grandchild.on_cancel(move || {
            r.fetch_add(1, Ordering::SeqCst);
        });
        let t = root.clone();
        let canceller = thread::spawn(move || t.cancel());
        // The interior node stays alive through the grandchild's parent link; the leaf goes.
        drop(interior);
        drop(leaf);
        canceller.join().unwrap();
        assert!(grandchild.is_cancelled(), "cancel missed the grandchild");
        assert_eq!(runs.load(Ordering::SeqCst), 1, "lost or doubled callback");
        drop(reg);
        drop(grandchild);
        assert_eq!(root.registrations(), 0);
    });
}
