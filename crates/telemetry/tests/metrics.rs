//! Quantile accuracy against exact values, Prometheus text parsed back (names, labels,
//! histogram buckets and their configuration, no summaries), runtime/channel sources, the
//! sampler thread, adaptive sampling, and the loopback HTTP endpoint.

use nimsync_telemetry::{ChannelSample, LatencyHistogram, Metrics, Telemetry};
use std::collections::HashMap;
use std::time::{Duration, Instant};

fn metrics_only() -> Telemetry {
    Telemetry::builder()
        .metrics(Metrics::prometheus().global(false))
        .build()
        .unwrap()
}

/// Exact quantile by the nearest-rank definition.
fn exact(sorted: &[u64], q: f64) -> u64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[test]
fn quantiles_match_exact_values() {
    // Uniform 1..=1000 µs, recorded in a scrambled order.
    let h = LatencyHistogram::new("uniform_seconds");
    let mut values: Vec<u64> = (1..=1000).collect();
    for i in 0..values.len() {
        let j = (i * 7919) % values.len();
        values.swap(i, j);
    }
    for v in &values {
        h.record(Duration::from_micros(*v));
    }
    values.sort_unstable();
    let q = h.quantiles();
    assert_eq!(q.count, 1000);
    for (got, p) in [(q.p50, 0.5), (q.p95, 0.95), (q.p99, 0.99), (q.p999, 0.999)] {
        let want = exact(&values, p) as f64;
        let got = got.as_nanos() as f64 / 1000.0;
        assert!(
            (got - want).abs() <= want * 0.001 + 1e-9,
            "P{p}: {got} vs exact {want}"
        );
    }
    let max = q.max.as_nanos() as f64;
    assert!((max - 1e6).abs() <= 1e3, "max {max} ns");

    // A skewed distribution: 990 fast, 10 slow.
    let h = LatencyHistogram::new("skewed_seconds");
    let mut values = Vec::new();
    for i in 0..1000u64 {
        let v = if i % 100 == 0 {
            50_000 + i
        } else {
            100 + i % 17
        };
        values.push(v);
        h.record(Duration::from_nanos(v));
    }
    values.sort_unstable();
    for p in [0.5, 0.95, 0.99, 0.999] {
        let want = exact(&values, p) as f64;
        let got = h.quantile(p).as_nanos() as f64;
        assert!(
            (got - want).abs() <= want * 0.001 + 1.0,
            "P{p}: {got} vs exact {want}"
        );
    }
}

#[test]
fn adaptive_sampling_keeps_counts_right() {
    let h = LatencyHistogram::sampled("hot_seconds", 1.0, 8).unwrap();
    let total = 40_000u64;
    for i in 0..total {
        h.record(Duration::from_nanos(100 + i % 10));
    }
    assert_eq!(h.stride(), 8, "far above 1 record/s: sampling is on");
    let count = h.quantiles().count;
    assert!(
        count.abs_diff(total) <= 8 * 2,
        "weighted count {count} vs {total}"
    );
}

/// One sample line: metric name, labels, value.
type Sample = (String, HashMap<String, String>, f64);

/// Parses the text exposition into (name, labels) -> value, checking every line's shape.
fn parse(text: &str) -> (HashMap<String, String>, Vec<Sample>) {
    let mut types = HashMap::new();
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            types.insert(name.to_string(), kind.to_string());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').unwrap();
                let labels = body
                    .split(',')
                    .filter(|kv| !kv.is_empty())
                    .map(|kv| {
                        let (k, v) = kv.split_once('=').unwrap();
                        (k.to_string(), v.trim_matches('"').to_string())
                    })
                    .collect();
                (name.to_string(), labels)
            }
            None => (series.to_string(), HashMap::new()),
        };
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name {name}"
        );
        samples.push((name, labels, value));
    }
    (types, samples)
}

#[test]
fn prometheus_text_has_histograms_with_buckets_and_labelled_sources() {
    let t = metrics_only();
    let h = t
        .latency_histogram("request_seconds", f64::INFINITY, 1)
        .unwrap();
    for us in 1..=1000u64 {
        h.record(Duration::from_micros(us));
    }
    let rt = nimsync_scheduler::Runtime::builder()
        .workers(2)
        .build()
        .unwrap();
    rt.block_on(async { nimsync_scheduler::spawn(async {}).await.unwrap() });
    t.watch_runtime("main", rt.handle().clone());
    let (tx, rx) = nimsync_core_channels::mpmc::<u32>(8);
    let probe = tx.clone();
    t.watch_channel("jobs", move || ChannelSample {
        stats: probe.stats(),
        len: probe.len(),
    });
    for i in 0..5 {
        tx.try_send(i).unwrap();
    }
    rx.try_recv().unwrap();
    t.publish_now();

    let text = t.render_prometheus().unwrap();
    let (types, samples) = parse(&text);
    assert_eq!(
        types.get("request_seconds").map(String::as_str),
        Some("histogram")
    );
    assert!(
        types.values().all(|t| t != "summary"),
        "no summaries:\n{text}"
    );
    // The in-process quantiles travel as a gauge with a `quantile` label (exact within 0.1 %).
    assert_eq!(
        types.get("request_quantile_seconds").map(String::as_str),
        Some("gauge")
    );
    for (q, exact) in [
        ("0.5", 500e-6),
        ("0.95", 950e-6),
        ("0.99", 990e-6),
        ("0.999", 999e-6),
    ] {
        let got = value(&samples, "request_quantile_seconds", &[("quantile", q)]);
        assert!(
            (got - exact).abs() <= exact * 0.001,
            "P{q} {got}, exact {exact}"
        );
    }

    let buckets = histogram_buckets(&samples, "request_seconds");
    assert_eq!(buckets.len(), nimsync_telemetry::DEFAULT_BUCKETS.len() + 1);
    assert!(
        buckets
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1)
    );
    let count = |name: &str| samples.iter().find(|(n, _, _)| n == name).map(|s| s.2);
    assert_eq!(buckets.last().unwrap().1, 1000.0);
    assert_eq!(count("request_seconds_count"), Some(1000.0));
    // 1..=1000 µs: 1 µs bucket holds 1, 5 µs holds 5, 10 µs 10, 50 µs 50, 100 µs 100, 500 µs 500.
    for (le, want) in [
        (0.000_001, 1.0),
        (0.000_01, 10.0),
        (0.000_1, 100.0),
        (0.000_5, 500.0),
    ] {
        let got = buckets
            .iter()
            .find(|b| (b.0 - le).abs() < le * 1e-9)
            .unwrap()
            .1;
        assert_eq!(got, want, "bucket le={le}");
    }

    let labelled = |name: &str, key: &str, value: &str| {
        samples
            .iter()
            .filter(|(n, l, _)| n == name && l.get(key).map(String::as_str) == Some(value))
            .map(|s| s.2)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        labelled("nimsync_channel_sent_total", "channel", "jobs"),
        [5.0]
    );
    assert_eq!(
        labelled("nimsync_channel_received_total", "channel", "jobs"),
        [1.0]
    );
    assert_eq!(labelled("nimsync_channel_len", "channel", "jobs"), [4.0]);
    assert_eq!(
        labelled("nimsync_runtime_workers", "runtime", "main"),
        [2.0]
    );
    let polls = labelled("nimsync_runtime_worker_polls_total", "runtime", "main");
    assert_eq!(polls.len(), 2, "one series per worker");
    assert!(polls.iter().sum::<f64>() >= 1.0);
    assert!(
        samples
            .iter()
            .any(|(n, l, _)| n == "nimsync_runtime_worker_parks_total"
                && l.get("worker").map(String::as_str) == Some("1"))
    );
}

/// A 2-worker runtime whose metrics `t` publishes under `runtime="rt"`.
fn watched_runtime(t: &Telemetry) -> nimsync_scheduler::Runtime {
    let rt = nimsync_scheduler::Runtime::builder()
        .workers(2)
        .build()
        .unwrap();
    t.watch_runtime("rt", rt.handle().clone());
    rt
}

#[test]
fn runtime_metrics_follow_the_runtime_from_tick_to_tick() {
    // The runtime source registers its handles at the first tick; later ticks update them.
    let t = metrics_only();
    let rt = watched_runtime(&t);
    let spawned = |t: &Telemetry| {
        let (_, samples) = parse(&t.render_prometheus().unwrap());
        value(
            &samples,
            "nimsync_runtime_spawned_tasks_total",
            &[("runtime", "rt")],
        )
    };
    rt.block_on(async { nimsync_scheduler::spawn(async {}).await.unwrap() });
    t.publish_now();
    let first = spawned(&t);
    assert!(first >= 1.0, "{first}");
    rt.block_on(async {
        for _ in 0..10 {
            nimsync_scheduler::spawn(async {}).await.unwrap();
        }
    });
    t.publish_now();
    assert_eq!(spawned(&t), first + 10.0);
    let (_, samples) = parse(&t.render_prometheus().unwrap());
    let polls: f64 = ["0", "1"]
        .iter()
        .map(|w| {
            value(
                &samples,
                "nimsync_runtime_worker_polls_total",
                &[("runtime", "rt"), ("worker", w)],
            )
        })
        .sum();
    assert!(polls >= 11.0, "{polls}");
}

/// Builds a telemetry with `m` (not global), keeping only the outcome.
fn build_metrics(m: Metrics) -> Result<(), nimsync_telemetry::BuildError> {
    Telemetry::builder()
        .metrics(m.global(false))
        .build()
        .map(|_| ())
}

#[test]
fn bad_metrics_config_is_an_error() {
    let b = build_metrics;
    assert!(b(Metrics::prometheus().interval(Duration::ZERO)).is_err());
    assert!(b(Metrics::prometheus().buckets(&[])).is_err());
    assert!(b(Metrics::prometheus().buckets(&[1.0, 0.5])).is_err());
    assert!(b(Metrics::prometheus().buckets(&[1.0, f64::NAN])).is_err());
}

#[cfg(feature = "http")]
#[test]
fn serves_the_exposition_on_loopback() {
    use std::io::{Read, Write};
    let t = Telemetry::builder()
        .metrics(
            Metrics::prometheus()
                .global(false)
                .serve_prometheus("127.0.0.1:0".parse().unwrap()),
        )
        .build()
        .unwrap();
    let addr = t.prometheus_addr().unwrap();
    assert!(addr.ip().is_loopback());
    assert_ne!(addr.port(), 0);
    t.watch(|| metrics::gauge!("served_gauge").set(7.0));
    t.publish_now();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).unwrap();
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(body.contains("served_gauge 7"), "{body}");
}

#[test]
fn default_address_is_loopback() {
    assert!(Metrics::DEFAULT_ADDR.ip().is_loopback());
}

/// The value of the sample `name{labels}` (labels must match exactly).
/// The `(le, cumulative count)` pairs of histogram `name`, in exposition order (`+Inf` last).
fn histogram_buckets(samples: &[Sample], name: &str) -> Vec<(f64, f64)> {
    let series = format!("{name}_bucket");
    samples
        .iter()
        .filter(|(n, _, _)| *n == series)
        .map(|(_, l, v)| {
            let le = match l["le"].as_str() {
                "+Inf" => f64::INFINITY,
                le => le.parse().unwrap(),
            };
            (le, *v)
        })
        .collect()
}

/// The Prometheus type a runtime metric must have: `_total` names are counters.
fn runtime_metric_kind(name: &str) -> &'static str {
    if name.ends_with("_total") {
        "counter"
    } else {
        "gauge"
    }
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let want: HashMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    samples
        .iter()
        .find(|(n, l, _)| n == name && *l == want)
        .unwrap_or_else(|| panic!("no sample {name}{labels:?}"))
        .2
}

#[test]
fn actor_supervisor_and_breaker_sources_publish_their_metrics() {
    use nimsync_actors::{Actor, ActorBuilder, Context};
    use nimsync_supervision::{
        BreakerConfig, ChildSpec, CircuitBreaker, Strategy, SupervisorRef, SupervisorSpec, TripRule,
    };

    struct Worker;
    impl Actor for Worker {
        type Msg = bool;
        async fn handle(&mut self, crash: bool, _: &mut Context<Self>) {
            assert!(!crash, "expected test panic: the worker crashes on request");
        }
    }

    let t = metrics_only();
    let rt = nimsync_scheduler::Runtime::current_thread();
    let sup_metrics = t.watch_supervisor("root");
    let (early, sup) = rt.block_on(async {
        // An actor that handles 10 timed messages, then stops.
        let done = ActorBuilder::new()
            .sample_handle_time(1)
            .spawn(Worker)
            .unwrap();
        t.watch_actor("done", &done);
        for _ in 0..10 {
            done.tell(false).await.unwrap();
        }
        done.stop();
        done.wait_terminated().await;
        // An actor with 3 messages waiting (this single-threaded runtime has not run it yet).
        let queued = ActorBuilder::new().spawn(Worker).unwrap();
        t.watch_actor("queued", &queued);
        for _ in 0..3 {
            queued.try_tell(false).unwrap();
        }
        t.publish_now(); // before anything lets the actor run
        let early = t.render_prometheus().unwrap();

        // A supervisor whose worker crashes once and is restarted.
        let sup = SupervisorSpec::new(Strategy::OneForOne)
            .child(ChildSpec::new("worker", || Worker))
            .on_event(sup_metrics.hook())
            .spawn()
            .unwrap();
        sup_metrics.bind(&sup);
        let worker = sup.child::<Worker>("worker").await.unwrap().unwrap();
        worker.tell(true).await.unwrap();
        let mut restarted = false;
        for _ in 0..10_000 {
            let kids = sup.children().await.unwrap();
            if kids[0].starts == 2 && kids[0].running {
                restarted = true;
                break;
            }
            nimsync_scheduler::yield_now().await;
        }
        assert!(restarted, "the worker was not restarted");
        t.publish_now();
        (early, sup)
    });

    // A breaker: one success, two failures (opens), one rejected call.
    let breaker = CircuitBreaker::new(BreakerConfig::new(
        TripRule::ConsecutiveFailures(2),
        Duration::from_secs(3600),
    ))
    .unwrap();
    t.watch_breaker("db", breaker.clone());
    breaker.acquire().unwrap().success();
    breaker.acquire().unwrap().failure();
    breaker.acquire().unwrap().failure();
    assert!(breaker.acquire().is_err());
    t.publish_now();

    let text = t.render_prometheus().unwrap();
    let (types, samples) = parse(&text);
    let done = [("actor", "done")];
    assert_eq!(
        value(&samples, "nimsync_actor_messages_handled_total", &done),
        10.0
    );
    assert_eq!(value(&samples, "nimsync_actor_mailbox_depth", &done), 0.0);
    assert_eq!(value(&samples, "nimsync_actor_alive", &done), 0.0);
    assert_eq!(value(&samples, "nimsync_actor_restarts_total", &done), 0.0);
    assert_eq!(types["nimsync_actor_handle_seconds"], "histogram");
    assert_eq!(
        value(&samples, "nimsync_actor_handle_seconds_count", &done),
        10.0
    );
    let p99 = value(
        &samples,
        "nimsync_actor_handle_quantile_seconds",
        &[("actor", "done"), ("quantile", "0.99")],
    );
    assert!(p99 > 0.0 && p99 < 10.0, "p99 {p99}");
    let queued = [("actor", "queued")];
    let (_, early) = parse(&early);
    assert_eq!(value(&early, "nimsync_actor_mailbox_depth", &queued), 3.0);
    assert_eq!(value(&early, "nimsync_actor_alive", &queued), 1.0);
    assert_eq!(
        value(&early, "nimsync_actor_messages_handled_total", &queued),
        0.0
    );
    // Handled since (the supervisor's traffic let it run).
    assert_eq!(value(&samples, "nimsync_actor_mailbox_depth", &queued), 0.0);
    assert_eq!(
        value(&samples, "nimsync_actor_messages_handled_total", &queued),
        3.0
    );

    let root = [("supervisor", "root")];
    let worker = [("supervisor", "root"), ("child", "worker")];
    assert_eq!(
        value(&samples, "nimsync_supervisor_restarts_total", &root),
        1.0
    );
    assert_eq!(
        value(&samples, "nimsync_supervisor_escalations_total", &root),
        0.0
    );
    assert_eq!(
        value(&samples, "nimsync_supervisor_children_running", &root),
        1.0
    );
    assert_eq!(
        value(&samples, "nimsync_supervisor_child_restarts_total", &worker),
        1.0
    );
    assert_eq!(
        value(&samples, "nimsync_supervisor_child_running", &worker),
        1.0
    );

    let db = [("breaker", "db")];
    assert_eq!(types["nimsync_breaker_state"], "gauge");
    assert_eq!(value(&samples, "nimsync_breaker_state", &db), 1.0);
    assert_eq!(value(&samples, "nimsync_breaker_successes_total", &db), 1.0);
    assert_eq!(value(&samples, "nimsync_breaker_failures_total", &db), 2.0);
    assert_eq!(value(&samples, "nimsync_breaker_rejected_total", &db), 1.0);
    assert_eq!(value(&samples, "nimsync_breaker_opened_total", &db), 1.0);
    assert_eq!(
        value(&samples, "nimsync_breaker_transitions_total", &db),
        1.0
    );

    // The supervisor ends with its last address and the runtime: its children are reported
    // stopped.
    drop(sup);
    drop(rt);
    t.publish_now();
    let (_, samples) = parse(&t.render_prometheus().unwrap());
    assert_eq!(
        value(&samples, "nimsync_supervisor_children_running", &root),
        0.0
    );
}

#[test]
fn children_running_drops_temporary_children_ended_by_a_group_restart() {
    use nimsync_actors::{Actor, Context};
    use nimsync_supervision::{ChildSpec, Restart, Strategy, SupervisorRef, SupervisorSpec};

    struct Worker;
    impl Actor for Worker {
        type Msg = bool;
        async fn handle(&mut self, crash: bool, _: &mut Context<Self>) {
            assert!(!crash, "expected test panic: the worker crashes on request");
        }
    }

    let t = metrics_only();
    let m = t.watch_supervisor("group");
    let rt = nimsync_scheduler::Runtime::current_thread();
    let (before, after) = rt.block_on(async {
        let sup = SupervisorSpec::new(Strategy::OneForAll)
            .child(ChildSpec::new("main", || Worker))
            .child(ChildSpec::new("helper", || Worker).restart(Restart::Temporary))
            .on_event(m.hook())
            .spawn()
            .unwrap();
        m.bind(&sup);
        assert!(sup.children().await.unwrap().iter().all(|k| k.running));
        t.publish_now();
        let before = t.render_prometheus().unwrap();
        // `main` crashes: the group restarts; the temporary `helper` is stopped for good.
        let main = sup.child::<Worker>("main").await.unwrap().unwrap();
        main.tell(true).await.unwrap();
        let mut restarted = false;
        for _ in 0..10_000 {
            let kids = sup.children().await.unwrap();
            if kids[0].starts == 2 && kids[0].running {
                assert!(!kids[1].running, "the temporary child is not restarted");
                restarted = true;
                break;
            }
            nimsync_scheduler::yield_now().await;
        }
        assert!(restarted, "main was not restarted");
        t.publish_now();
        let after = t.render_prometheus().unwrap();
        sup.stop_and_wait().await;
        (before, after)
    });
    let group = [("supervisor", "group")];
    let helper = [("supervisor", "group"), ("child", "helper")];
    let main = [("supervisor", "group"), ("child", "main")];
    let (_, before) = parse(&before);
    assert_eq!(
        value(&before, "nimsync_supervisor_children_running", &group),
        2.0
    );
    let (_, after) = parse(&after);
    assert_eq!(
        value(&after, "nimsync_supervisor_children_running", &group),
        1.0
    );
    assert_eq!(
        value(&after, "nimsync_supervisor_child_running", &helper),
        0.0
    );
    assert_eq!(
        value(&after, "nimsync_supervisor_child_running", &main),
        1.0
    );
    assert_eq!(
        value(&after, "nimsync_supervisor_restarts_total", &group),
        1.0
    );
}

#[test]
fn an_empty_latency_histogram_name_is_an_error() {
    let t = metrics_only();
    assert!(matches!(
        t.latency_histogram("", f64::INFINITY, 1),
        Err(nimsync_telemetry::BuildError::EmptyMetricName)
    ));
    let off = Telemetry::builder().build().unwrap();
    assert!(off.latency_histogram("", f64::INFINITY, 1).is_err());
    // Nothing registered: the exposition stays parseable.
    let text = t.render_prometheus().unwrap();
    assert!(!text.contains("# TYPE  "), "{text}");
}

/// The sampler thread publishes every watched source each interval, through the telemetry's
/// recorder, with no `publish_now`; it runs while any clone of the telemetry lives and stops
/// when the last one is dropped, dropping the sources (and the sender this one holds).
#[test]
fn the_sampler_publishes_every_interval_until_the_last_clone_is_dropped() {
    use std::sync::mpsc::{self, RecvTimeoutError};
    let t = Telemetry::builder()
        .metrics(
            Metrics::prometheus()
                .global(false)
                .interval(Duration::from_millis(5)),
        )
        .build()
        .unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    t.watch(move || {
        metrics::counter!("sampler_ticks_total").increment(1);
        let _ = tx.send(());
    });
    for tick in 0..2 {
        rx.recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("tick {tick} not published by the sampler: {e}"));
    }
    let (_, samples) = parse(&t.render_prometheus().unwrap());
    let ticks = value(&samples, "sampler_ticks_total", &[]);
    assert!(ticks >= 2.0, "{ticks}");

    // Another clone keeps the sampler running.
    let clone = t.clone();
    drop(t);
    while rx.try_recv().is_ok() {}
    rx.recv_timeout(Duration::from_secs(10))
        .expect("a clone is alive: the sampler still publishes");

    drop(clone);
    // What was sent before the drop may still be queued; then the sender is gone.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(()) => assert!(
                Instant::now() < deadline,
                "the sampler still publishes after the telemetry was dropped"
            ),
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {
                panic!("the source was not dropped with the telemetry")
            }
        }
    }
}

/// `buckets_for_suffix`: a histogram whose name ends with the suffix gets exactly those
/// bounds (plus `+Inf`); the others, the suffix elsewhere in the name included, keep the
/// default buckets.
#[test]
fn suffix_buckets_apply_to_histograms_ending_with_the_suffix_only() {
    let t = Telemetry::builder()
        .metrics(
            Metrics::prometheus()
                .global(false)
                .buckets_for_suffix("_bytes", &[64.0, 1024.0, 65536.0]),
        )
        .build()
        .unwrap();
    t.watch(|| {
        for v in [10.0, 100.0, 2000.0, 1e6] {
            metrics::histogram!("payload_bytes").record(v);
        }
        metrics::histogram!("payload_bytes_per_item").record(0.002);
        metrics::histogram!("request_seconds").record(0.002);
    });
    t.publish_now();
    let (types, samples) = parse(&t.render_prometheus().unwrap());
    let buckets = |name: &str| histogram_buckets(&samples, name);
    let same = |a: f64, b: f64| a == b || (a - b).abs() <= b.abs() * 1e-9;
    assert_eq!(
        types.get("payload_bytes").map(String::as_str),
        Some("histogram")
    );
    assert_eq!(
        buckets("payload_bytes"),
        [
            (64.0, 1.0),
            (1024.0, 2.0),
            (65536.0, 3.0),
            (f64::INFINITY, 4.0)
        ]
    );
    let default: Vec<f64> = nimsync_telemetry::DEFAULT_BUCKETS
        .iter()
        .copied()
        .chain([f64::INFINITY])
        .collect();
    for name in ["payload_bytes_per_item", "request_seconds"] {
        let got = buckets(name);
        assert_eq!(got.len(), default.len(), "{name}: {got:?}");
        assert!(
            got.iter().zip(&default).all(|(g, d)| same(g.0, *d)),
            "{name}: {got:?}"
        );
        assert_eq!(got.last().unwrap().1, 1.0, "{name}");
    }
}

/// Bucket bounds that are empty, not increasing or not finite are `BuildError::Buckets`,
/// for the default buckets and for a suffix rule alike.
#[test]
fn invalid_bucket_bounds_are_a_buckets_error() {
    use nimsync_telemetry::BuildError;
    let build = build_metrics;
    let bad: [&[f64]; 5] = [
        &[],
        &[1.0, 0.5],
        &[1.0, 1.0],
        &[0.5, f64::NAN],
        &[1.0, f64::INFINITY],
    ];
    for bounds in bad {
        assert!(
            matches!(
                build(Metrics::prometheus().buckets(bounds)),
                Err(BuildError::Buckets(ref which)) if which.contains("default")
            ),
            "buckets({bounds:?})"
        );
        assert!(
            matches!(
                build(Metrics::prometheus().buckets_for_suffix("_bytes", bounds)),
                Err(BuildError::Buckets(ref which)) if which.contains("\"_bytes\"")
            ),
            "buckets_for_suffix({bounds:?})"
        );
    }
    assert!(
        build(
            Metrics::prometheus()
                .buckets(&[1.0])
                .buckets_for_suffix("_bytes", &[1.0, 2.0])
        )
        .is_ok()
    );
}

/// Every metric of the runtime source under its labels: per worker `{runtime, worker}` (one
/// series per worker), per runtime `{runtime}` only; counters and gauges typed as such; and
/// consistent values once the runtime is idle: busy ratios within 0..=1 (above 0 at the tick
/// after a worker that ran parks), steals no more than steal attempts, the load imbalance
/// computed from the published polls, empty queues, every spawned task completed.
#[test]
fn the_runtime_source_publishes_every_metric_with_its_labels() {
    const PER_WORKER: [&str; 7] = [
        "nimsync_runtime_worker_polls_total",
        "nimsync_runtime_worker_steals_total",
        "nimsync_runtime_worker_steal_attempts_total",
        "nimsync_runtime_worker_parks_total",
        "nimsync_runtime_worker_overflows_total",
        "nimsync_runtime_worker_local_queue_depth",
        "nimsync_runtime_worker_busy_ratio",
    ];
    const PER_RUNTIME: [&str; 8] = [
        "nimsync_runtime_workers",
        "nimsync_runtime_global_queue_depth",
        "nimsync_runtime_alive_tasks",
        "nimsync_runtime_load_imbalance",
        "nimsync_runtime_spawned_tasks_total",
        "nimsync_runtime_completed_tasks_total",
        "nimsync_runtime_blocking_threads",
        "nimsync_runtime_blocking_queue_depth",
    ];
    let t = metrics_only();
    let rt = watched_runtime(&t);
    t.publish_now(); // a busy ratio needs a previous tick
    rt.block_on(async {
        let tasks: Vec<_> = (0..64u32)
            .map(|i| {
                nimsync_scheduler::spawn(async move {
                    if i % 16 == 0 {
                        let start = Instant::now();
                        while start.elapsed() < Duration::from_millis(2) {
                            std::hint::spin_loop();
                        }
                    }
                    nimsync_scheduler::yield_now().await;
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });

    let worker = |w: &'static str| [("runtime", "rt"), ("worker", w)];
    let total = [("runtime", "rt")];
    // A worker adds its busy time when it parks, and tasks end just after waking their
    // joiners: publish until a tick has seen busy time and the runtime is idle.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut busy_seen = false;
    let (types, samples) = loop {
        t.publish_now();
        let (types, samples) = parse(&t.render_prometheus().unwrap());
        for w in ["0", "1"] {
            let busy = value(&samples, "nimsync_runtime_worker_busy_ratio", &worker(w));
            assert!((0.0..=1.0).contains(&busy), "worker {w}: busy ratio {busy}");
            busy_seen |= busy > 0.0;
        }
        let idle = ["0", "1"].iter().all(|w| {
            value(
                &samples,
                "nimsync_runtime_worker_local_queue_depth",
                &worker(w),
            ) == 0.0
        }) && value(&samples, "nimsync_runtime_alive_tasks", &total) == 0.0
            && value(&samples, "nimsync_runtime_global_queue_depth", &total) == 0.0;
        if busy_seen && idle {
            break (types, samples);
        }
        assert!(
            Instant::now() < deadline,
            "busy seen: {busy_seen}, idle: {idle}"
        );
        std::thread::yield_now();
    };

    for name in PER_WORKER {
        let series: Vec<_> = samples.iter().filter(|(n, _, _)| n == name).collect();
        assert_eq!(series.len(), 2, "{name}: one series per worker");
        for w in ["0", "1"] {
            let _ = value(&samples, name, &worker(w));
        }
        assert_eq!(
            types.get(name).map(String::as_str),
            Some(runtime_metric_kind(name)),
            "{name}"
        );
    }
    for name in PER_RUNTIME {
        let series: Vec<_> = samples.iter().filter(|(n, _, _)| n == name).collect();
        assert_eq!(series.len(), 1, "{name}: one series per runtime");
        let _ = value(&samples, name, &total);
        assert_eq!(
            types.get(name).map(String::as_str),
            Some(runtime_metric_kind(name)),
            "{name}"
        );
    }

    let polls: Vec<f64> = ["0", "1"]
        .iter()
        .map(|w| value(&samples, "nimsync_runtime_worker_polls_total", &worker(w)))
        .collect();
    assert!(polls.iter().sum::<f64>() >= 128.0, "{polls:?}"); // 64 tasks, each polled twice
    for w in ["0", "1"] {
        let steals = value(&samples, "nimsync_runtime_worker_steals_total", &worker(w));
        let attempts = value(
            &samples,
            "nimsync_runtime_worker_steal_attempts_total",
            &worker(w),
        );
        assert!(
            steals <= attempts,
            "worker {w}: {steals} steals, {attempts} attempts"
        );
    }
    let mean = polls.iter().sum::<f64>() / 2.0;
    let max = polls.iter().copied().fold(0.0, f64::max);
    let imbalance = value(&samples, "nimsync_runtime_load_imbalance", &total);
    assert!((0.0..=1.0).contains(&imbalance), "{imbalance}");
    assert!(
        (imbalance - (max - mean) / mean).abs() <= 1e-9,
        "imbalance {imbalance} for polls {polls:?}"
    );
    assert_eq!(value(&samples, "nimsync_runtime_workers", &total), 2.0);
    let spawned = value(&samples, "nimsync_runtime_spawned_tasks_total", &total);
    assert!(spawned >= 64.0, "{spawned}");
    assert_eq!(
        value(&samples, "nimsync_runtime_completed_tasks_total", &total),
        spawned
    );
    assert_eq!(
        value(&samples, "nimsync_runtime_blocking_queue_depth", &total),
        0.0
    );
}
