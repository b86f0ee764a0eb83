//! `nimsync-apocalypse`: the stress suite behind `cargo xtask apocalypse`.
//!
//! Scenarios (each with pass/fail checks): **swarm** (≥ 10 000 tasks over every channel mode
//! and nested task groups, every message exactly once), **chaos** (random panics, errors,
//! aborts, cancellations and timeouts; no orphan task), **pressure** (≥ 1 GiB churned while a
//! probe measures round-trip tails), **websocket** (a loopback WebSocket flood through a
//! bounded channel and an actor: exactly once, in order, memory flat under backpressure),
//! **leak** (0 bytes outstanding after shutdown, by a counting global allocator) and
//! **endurance** (all of it in a loop for `--duration`, memory flat). Exit status 1 on any failed check, 2 on bad arguments.

mod actors;
mod alloc;
mod chaos;
mod config;
mod endurance;
mod leak;
mod ledger;
mod pressure;
mod progress;
mod report;
mod scenario;
mod svg;
mod swarm;
mod websocket;

use std::process::ExitCode;

use config::{Config, USAGE};
use scenario::{Outcome, Verdict};

#[global_allocator]
static ALLOC: alloc::CountingAlloc = alloc::CountingAlloc;

/// Keeps scripted chaos panics quiet (thousands of them are expected); others print as usual.
fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
        if !msg.is_some_and(|m| m.starts_with(chaos::PANIC_PREFIX)) {
            default(info);
        }
    }));
}

fn main() -> ExitCode {
    let cfg = match Config::parse(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    install_panic_hook();
    println!(
        "nimsync apocalypse: seed {} ({} workers{}); rerun with --seed {}",
        cfg.seed,
        cfg.workers,
        if cfg.quick { ", --quick" } else { "" },
        cfg.seed
    );
    let (progress, drawer) = progress::Progress::start();
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut latencies = Vec::new();
    let mut memory = Vec::new();
    for name in config::SCENARIOS {
        if !cfg.runs(name) {
            continue;
        }
        eprintln!("▶ {name}");
        let outcome = match name {
            "swarm" => swarm::run(&cfg, &progress),
            "chaos" => chaos::run(&cfg, &progress),
            "pressure" => {
                let (o, l) = pressure::run(&cfg, &progress);
                latencies = l.0;
                o
            }
            "websocket" => websocket::run(&cfg, &progress),
            "leak" => leak::run(&cfg, &progress),
            _ => {
                let (o, m) = endurance::run(&cfg, &progress);
                memory = m;
                o
            }
        };
        eprintln!(
            "\r\x1b[K  {name}: {} in {:.1} s",
            outcome.verdict().label(),
            outcome.elapsed.as_secs_f64()
        );
        for c in outcome.checks.iter().filter(|c| c.verdict != Verdict::Pass) {
            eprintln!("    [{}] {}: {}", c.verdict.label(), c.what, c.detail);
        }
        outcomes.push(outcome);
    }
    progress.stop();
    if let Some(d) = drawer {
        let _ = d.join();
    }
    println!("\n{}", report::table(&outcomes));
    match report::write(&cfg.out, &cfg, &outcomes, &latencies, &memory) {
        Ok(()) => println!("report: {}", cfg.out.join("report.md").display()),
        Err(e) => {
            eprintln!("error: writing the report to {}: {e}", cfg.out.display());
            return ExitCode::FAILURE;
        }
    }
    let verdict = report::overall(&outcomes);
    println!("verdict: {}", verdict.label());
    if verdict == Verdict::Fail {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
