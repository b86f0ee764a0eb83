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

use super::recorder::{SharedRecorder, Sources};
use crate::error::BuildError;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Publishes every source through `recorder`.
pub(crate) fn publish(recorder: &SharedRecorder, sources: &Sources) {
    metrics::with_local_recorder(recorder, || {
        if let Ok(sources) = sources.lock() {
            for s in sources.iter() {
                s.publish();
            }
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
    /// Binds `addr` (port 0: a free port is picked first, so the address can be reported) and
    /// starts serving. Returns the recorder the listener renders.
    pub(crate) fn start(
        builder: metrics_exporter_prometheus::PrometheusBuilder,
        addr: std::net::SocketAddr,
    ) -> Result<
        (
            metrics_exporter_prometheus::PrometheusRecorder,
            Listener,
            std::net::SocketAddr,
        ),
        BuildError,
    > {
        let listen_err =
            |e: std::io::Error| BuildError::Prometheus(format!("listen on {addr}: {e}"));
        // The exporter binds the address itself and does not report the port it got; resolve
        // port 0 here (the port is free again for a moment before the exporter binds it).
        let addr = if addr.port() == 0 {
            std::net::TcpListener::bind(addr)
                .and_then(|l| l.local_addr())
                .map_err(listen_err)?
        } else {
            addr
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| BuildError::Thread("prometheus listener", e))?;
        let (recorder, exporter) = {
            let _enter = runtime.enter();
            builder
                .with_http_listener(addr)
                .build()
                .map_err(|e| BuildError::Prometheus(e.to_string()))?
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
