//! The targets of the design (its section 9), measured: compiling a library of 10,000 rules,
//! loading a snapshot of 1,000,000 events, and evaluating 1,000 and 10,000 rules over it, on one
//! thread. Run with `cargo bench`; `book/src/performance.md` has the numbers and what they mean.
//!
//! The inputs come from `generate` (synthetic, deterministic) and are made before measuring:
//! code in a benchmark before `bencher.bench` runs once and is not timed.

// Benchmark code fails loudly on a broken input, as tests may (clippy.toml).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod generate;

use std::sync::OnceLock;

use divan::Bencher;
use divan::counter::{BytesCount, ItemsCount};
use kbrules::{RuleSet, Snapshot};

/// The events in the benchmark snapshot.
const EVENTS: usize = 1_000_000;
const RULE_SEED: u64 = 1;
const SNAPSHOT_SEED: u64 = 2;

fn main() {
    divan::main();
}

/// The snapshot as JSON text, generated once.
fn snapshot_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| generate::snapshot_json(EVENTS, SNAPSHOT_SEED))
}

/// The snapshot, loaded once.
fn snapshot() -> &'static Snapshot {
    static SNAPSHOT: OnceLock<Snapshot> = OnceLock::new();
    SNAPSHOT.get_or_init(|| {
        Snapshot::from_json(snapshot_json(), "generated.json").expect("a valid snapshot")
    })
}

/// Rule text to a compiled rule set: parse, check, build the graph, prepare the event questions.
#[divan::bench(args = [1_000, 10_000], sample_count = 10, sample_size = 1)]
fn compile(bencher: Bencher, rules: usize) {
    let sources = generate::sources(rules, RULE_SEED);
    let bytes: usize = sources.iter().map(|(_, f)| f.text().len()).sum();
    bencher
        .counter(BytesCount::new(bytes))
        .bench(|| RuleSet::compile(&sources).expect("the rules compile"));
}

/// JSON text to a loaded, indexed snapshot.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn load_snapshot(bencher: Bencher) {
    let json = snapshot_json();
    bencher
        .counter(BytesCount::new(json.len()))
        .bench(|| Snapshot::from_json(json, "generated.json").expect("a valid snapshot"));
}

/// Every rule decided over the loaded snapshot, with the report built.
#[divan::bench(args = [1_000, 10_000], sample_count = 10, sample_size = 1)]
fn evaluate(bencher: Bencher, rules: usize) {
    let rule_set =
        RuleSet::compile(&generate::sources(rules, RULE_SEED)).expect("the rules compile");
    let snapshot = snapshot();
    bencher
        .counter(ItemsCount::new(EVENTS))
        .bench(|| rule_set.evaluate(snapshot));
}
