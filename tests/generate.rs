//! The benchmarks' generator (`benches/generate`), at a small size: its rules check clean, its
//! snapshots load, and the two meet, so that a benchmark measures real work.

// Test helpers fail loudly on a broken fixture, as the tests themselves may (clippy.toml).
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../benches/generate/mod.rs"]
mod generate;

use kbrules::{RuleSet, Snapshot};

#[test]
fn generated_rules_check_without_any_diagnostic() {
    let sources = generate::sources(2_000, 7);
    assert_eq!(sources.len(), 4, "files of 500 rules");
    let checked = kbrules::check(&sources);
    let shown: Vec<String> = checked
        .diagnostics
        .iter()
        .take(5)
        .map(|d| format!("{d:?}"))
        .collect();
    assert!(checked.diagnostics.is_empty(), "{shown:#?}");
    assert_eq!(checked.graph.expect("a graph").rules().len(), 2_000);
}

#[test]
fn generation_is_deterministic() {
    assert_eq!(generate::rule_files(50, 1), generate::rule_files(50, 1));
    assert_ne!(generate::rule_files(50, 1), generate::rule_files(50, 2));
    assert_eq!(
        generate::snapshot_json(100, 3),
        generate::snapshot_json(100, 3)
    );
}

#[test]
fn generated_snapshot_loads_and_meets_the_rules() {
    let json = generate::snapshot_json(20_000, 11);
    let snapshot = Snapshot::from_json(&json, "generated.json").expect("a valid snapshot");
    assert_eq!(snapshot.events().len(), 20_000);
    assert_eq!(snapshot.services().len(), 400);
    assert_eq!(snapshot.registry().keys().len(), 300);
    assert!(snapshot.collected().services);

    let rules = RuleSet::compile(&generate::sources(1_000, 7)).expect("the rules compile");
    let report = rules.evaluate(&snapshot);
    let s = &report.summary;
    assert_eq!(
        s.fired + s.not_fired + s.not_applicable + s.not_evaluable + s.superseded,
        1_000
    );
    // Every kind of outcome a real library has on a real system, in realistic proportions:
    // most rules do not fire.
    assert!(s.fired > 0, "{s:?}");
    assert!(s.not_applicable > 0, "{s:?}");
    assert!(s.not_fired > s.fired, "{s:?}");
}
