//! Live progress on stderr: one bar per running scenario, redrawn by a small thread.
//!
//! The drawing thread writes straight to the locked stderr with `write!` (no allocation), so
//! it can keep running while the leak proof counts bytes.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Shared progress of the scenario running now.
pub struct Progress {
    name: std::sync::Mutex<&'static str>,
    done: AtomicU64,
    total: AtomicU64,
    stop: AtomicBool,
    started: Instant,
}

impl Progress {
    /// Starts the drawing thread (a no-op display when stderr is not a terminal: then only the
    /// start and end of each scenario are printed, by the caller).
    pub fn start() -> (Arc<Progress>, Option<JoinHandle<()>>) {
        let progress = Arc::new(Progress {
            name: std::sync::Mutex::new(""),
            done: AtomicU64::new(0),
            total: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            started: Instant::now(),
        });
        let drawer = std::io::stderr().is_terminal().then(|| {
            let p = Arc::clone(&progress);
            std::thread::Builder::new()
                .name("apocalypse-progress".into())
                .spawn(move || p.draw_loop())
                .expect("spawn the progress thread")
        });
        (progress, drawer)
    }

    /// Switches the bar to scenario `name` with `total` units of work.
    pub fn begin(&self, name: &'static str, total: u64) {
        *self.name.lock().unwrap_or_else(|e| e.into_inner()) = name;
        self.done.store(0, Ordering::Relaxed);
        self.total.store(total.max(1), Ordering::Relaxed);
    }

    /// Adds `n` finished units.
    pub fn advance(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }

    /// Sets the finished units.
    pub fn set(&self, n: u64) {
        self.done.store(n, Ordering::Relaxed);
    }

    /// Stops the drawing thread (join the handle afterwards).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    fn draw_loop(&self) {
        const WIDTH: u64 = 30;
        while !self.stop.load(Ordering::Relaxed) {
            let name = *self.name.lock().unwrap_or_else(|e| e.into_inner());
            let done = self.done.load(Ordering::Relaxed);
            let total = self.total.load(Ordering::Relaxed).max(1);
            let filled = (done.min(total) * WIDTH / total) as usize;
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r  {name:<10} [");
            for i in 0..WIDTH as usize {
                let _ = err.write_all(if i < filled { b"#" } else { b"." });
            }
            let _ = write!(
                err,
                "] {:>5.1}%  {done}/{total}  {:>6.1}s \x1b[K",
                done.min(total) as f64 * 100.0 / total as f64,
                self.started.elapsed().as_secs_f64()
            );
            let _ = err.flush();
            drop(err);
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
    }
}
