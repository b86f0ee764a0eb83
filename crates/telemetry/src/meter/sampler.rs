//! The sampler thread (publishes the sources and runs upkeep every interval, stops when the
//! telemetry is dropped) and the optional HTTP listener thread (the exporter's own listener on
//! a one-thread tokio runtime).
//!
//! ```
//! let t = nimsync_telemetry::Telemetry::builder()
//!     .metrics(nimsync_telemetry::Metrics::prometheus().global(false)
//!         .interval(std::time::Duration::from_millis(10)))
//!     .build().unwrap();
//! drop(t); // the sampler thread stops and is joined
//! ```

use super::MetricSource;
use super::recorder::{SharedRecorder, Sources};
use crate::error::BuildError;
use metrics_exporter_prometheus::PrometheusHandle;
use std::cell::Cell;
use std::sync::{Arc, PoisonError, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

thread_local! {
    /// Set while this thread publishes: a source that publishes again (e.g. calls
    /// `Telemetry::publish_now`) is not re-entered.
    static PUBLISHING: Cell<bool> = const { Cell::new(false) };
}

/// Publishes every source through `recorder`.
///
/// The sources run outside the list's lock (on a snapshot of it), so a source may watch
/// another one (published from the next tick on); a publish started from inside a source
/// on the same thread returns at once instead of recursing. A source that panics is skipped
/// for this tick (the panic hook reports it); the others are still published.
pub(crate) fn publish(recorder: &SharedRecorder, sources: &Sources) {
    if PUBLISHING.with(|p| p.replace(true)) {
        return;
    }
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            PUBLISHING.with(|p| p.set(false));
        }
    }
    let _done = Done;
    let snapshot: Vec<Arc<dyn MetricSource>> = sources
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    metrics::with_local_recorder(recorder, || {
        for s in &snapshot {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.publish()));
        }
    });
}

/// The running sampler thread; dropping it stops and joins the thread.
pub(crate) struct Sampler {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Sampler {
    pub(crate) fn start(
        interval: Duration,
        recorder: SharedRecorder,
        handle: PrometheusHandle,
        sources: Sources,
    ) -> Result<Sampler, BuildError> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("nimsync-telemetry-sampler".into())
            .spawn(move || {
                // The interval timer: wake at each tick, or as soon as the handle is dropped.
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    publish(&recorder, &sources);
                    handle.run_upkeep();
                }
            })
            .map_err(|e| BuildError::Thread("metrics sampler", e))?;
        Ok(Sampler {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take()
            && t.thread().id() != std::thread::current().id()
        {
            let _ = t.join();
        }
    }
}

/// The exporter's HTTP listener, served by a one-thread tokio runtime on its own thread.
#[cfg(feature = "http")]
pub(crate) struct Listener {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

#[cfg(feature = "http")]
impl Listener {
    /// Binds `addr` and starts serving. Returns the recorder the listener renders.
    ///
    /// For port 0 a free port is picked first, so that the address can be reported (the
    /// exporter binds the address itself and does not say which port it got). The port is
    /// free again for a moment before the exporter binds it, and another process may take it
    /// meanwhile: a failed bind then picks another port, a few times over.
    pub(crate) fn start(
        cfg: &super::Metrics,
        addr: std::net::SocketAddr,
    ) -> Result<
        (
            metrics_exporter_prometheus::PrometheusRecorder,
            Listener,
            std::net::SocketAddr,
        ),
        BuildError,
    > {
        /// Binds tried for port 0 before giving up.
        const PORT_0_TRIES: usize = 8;
        let listen_err =
            |e: std::io::Error| BuildError::Prometheus(format!("listen on {addr}: {e}"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| BuildError::Thread("prometheus listener", e))?;
        let tries = if addr.port() == 0 { PORT_0_TRIES } else { 1 };
        let mut attempt = 0;
        let (recorder, exporter, addr) = loop {
            attempt += 1;
            let bind = if addr.port() == 0 {
                std::net::TcpListener::bind(addr)
                    .and_then(|l| l.local_addr())
                    .map_err(listen_err)?
            } else {
                addr
            };
            let built = {
                let _enter = runtime.enter();
                super::recorder::prometheus_builder(cfg)?
                    .with_http_listener(bind)
                    .build()
            };
            match built {
                Ok((recorder, exporter)) => break (recorder, exporter, bind),
                Err(_) if attempt < tries => {}
                Err(e) => return Err(BuildError::Prometheus(format!("listen on {bind}: {e}"))),
            }
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("nimsync-telemetry-prometheus".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let serving = tokio::spawn(exporter);
                    let _ = stopped.await;
                    serving.abort();
                });
            })
            .map_err(|e| BuildError::Thread("prometheus listener", e))?;
        Ok((
            recorder,
            Listener {
                stop: Some(stop),
                thread: Some(thread),
            },
            addr,
        ))
    }
}

#[cfg(feature = "http")]
impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::meter::quiet_metrics;
    use std::sync::{Arc, Mutex};

    /// A source may watch another source and publish again: neither deadlocks on the list of
    /// sources (the nested publish returns at once; the new source joins the next tick).
    #[test]
    fn a_source_may_watch_and_publish_again() {
        let t = quiet_metrics();
        // Taken on the first publish, which breaks the telemetry -> source -> telemetry cycle.
        let slot = Arc::new(Mutex::new(Some(t.clone())));
        let inner = slot.clone();
        t.watch(move || {
            if let Some(t) = inner.lock().unwrap().take() {
                t.publish_now();
                t.watch(|| metrics::gauge!("late_source").set(2.0));
            }
            metrics::gauge!("first_source").set(1.0);
        });
        t.publish_now();
        let text = t.render_prometheus().unwrap();
        assert!(text.contains("first_source 1"), "{text}");
        assert!(!text.contains("late_source"), "{text}");
        t.publish_now();
        let text = t.render_prometheus().unwrap();
        assert!(text.contains("late_source 2"), "{text}");
        assert!(slot.lock().unwrap().is_none());
    }

    /// A panicking source loses its own tick only: the sources after it are published, and
    /// it runs again at the next tick.
    #[test]
    fn a_panicking_source_does_not_stop_the_others() {
        let t = quiet_metrics();
        let calls = Arc::new(Mutex::new(0u32));
        let counted = calls.clone();
        t.watch(move || {
            *counted.lock().unwrap() += 1;
            panic!("a broken source");
        });
        t.watch(|| metrics::gauge!("after_the_panic").set(3.0));
        t.publish_now();
        t.publish_now();
        assert_eq!(*calls.lock().unwrap(), 2);
        let text = t.render_prometheus().unwrap();
        assert!(text.contains("after_the_panic 3"), "{text}");
    }
}
