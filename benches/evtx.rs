//! The design's EVTX target, measured: the shipped rule library evaluated over the shared 20 MB
//! event log (31,815 records), against the `evtx` crate alone rendering the same file to JSON
//! (`records_json`) on one thread, in the same run. Run with `cargo bench --bench evtx`;
//! `book/src/performance.md` has the numbers.
//!
//! The file is read into memory before timing, so no benchmark times the disk.

// Benchmark code fails loudly on a broken input, as tests may (clippy.toml).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;
use std::sync::OnceLock;

use divan::Bencher;
use divan::counter::BytesCount;
use evtx::{EvtxParser, ParserSettings};
use kbrules::{RuleSet, Snapshot, Sources};

/// The shared benchmark log, beside the checkout.
const FILE: &str = "../shared/data/evtx/bench/stitched_system_application_x5.evtx";
const RECORDS: usize = 31_815;

fn main() {
    divan::main();
}

fn bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(FILE);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    })
}

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let (sources, errors) = Sources::load_paths(&[dir]);
        assert!(errors.is_empty(), "{errors:?}");
        RuleSet::compile(&sources).expect("the shipped rules compile")
    })
}

/// Every record rendered to JSON by the `evtx` crate on `threads` threads (0: one per core),
/// and counted: what any reader built on the crate pays at least.
fn bare(threads: usize) -> usize {
    let settings = ParserSettings::default().num_threads(threads);
    let mut parser = EvtxParser::from_buffer(bytes().to_vec())
        .unwrap()
        .with_configuration(settings);
    parser.records_json().filter(Result::is_ok).count()
}

/// The `evtx` crate alone, one thread, as the design's target states it.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn evtx_records_json(bencher: Bencher) {
    assert_eq!(bare(1), RECORDS);
    bencher
        .counter(BytesCount::new(bytes().len()))
        .bench(|| bare(1));
}

/// The `evtx` crate alone on every core (on this machine, 2): whether its threads would help.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn evtx_records_json_all_cores(bencher: Bencher) {
    assert_eq!(bare(0), RECORDS);
    bencher
        .counter(BytesCount::new(bytes().len()))
        .bench(|| bare(0));
}

/// The file to a loaded snapshot, as `kbrules` reads it (one thread per core): the crate
/// renders each record to XML, which kbrules scans, on the crate's worker threads.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn load(bencher: Bencher) {
    let snapshot = Snapshot::from_bytes(bytes(), FILE).unwrap();
    assert_eq!(snapshot.events().len(), RECORDS);
    bencher
        .counter(BytesCount::new(bytes().len()))
        .bench(|| Snapshot::from_bytes(bytes(), FILE).unwrap());
}

/// The same on the calling thread alone.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn load_one_thread(bencher: Bencher) {
    bencher
        .counter(BytesCount::new(bytes().len()))
        .bench(|| Snapshot::from_evtx_on(bytes(), FILE, 1).unwrap());
}

/// The design's target: the file loaded and the whole shipped library evaluated over it,
/// report included.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn load_and_evaluate_library(bencher: Bencher) {
    let rules = rules();
    bencher
        .counter(BytesCount::new(bytes().len()))
        .bench(|| rules.evaluate(&Snapshot::from_bytes(bytes(), FILE).unwrap()));
}
