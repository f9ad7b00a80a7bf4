//! Bad snapshots of every kind get an error with a code and a position, never a panic: every
//! sample cut short at every byte, and with every byte replaced by others that JSON gives
//! meaning to.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use kbrules::{Code, RuleSet, Snapshot, Sources};

fn samples() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("examples/snapshots").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            out.push((
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
    out.sort();
    out
}

fn assert_well_reported(name: &str, text: &str) {
    if let Err(d) = Snapshot::from_json(text, name) {
        assert!(
            matches!(
                d.code,
                Code::SnapshotSyntax | Code::SnapshotField | Code::SnapshotVersion
            ),
            "{name}: {:?} for {text:?}",
            d.code
        );
        assert_eq!(d.file.as_deref(), Some(name));
        if d.code != Code::SnapshotVersion {
            assert!(
                d.position.is_some(),
                "{name}: no position for {}",
                d.message
            );
        }
    }
}

#[test]
fn every_truncation_is_an_error_with_a_position() {
    for (name, text) in samples() {
        for cut in (0..text.len()).filter(|c| text.is_char_boundary(*c)) {
            let short = &text[..cut];
            let result = Snapshot::from_json(short, &name);
            assert!(
                result.is_err() || short.trim_end().ends_with('}'),
                "{name} cut at {cut} loads"
            );
            assert_well_reported(&name, short);
        }
    }
}

#[test]
fn mutations_never_panic_and_what_loads_evaluates() {
    let (sources, _) = Sources::load_paths(&["rules"]);
    let rules = RuleSet::compile(&sources).unwrap();
    let replacements = [
        "\"", "0", "-1", "{", "[", "]", "}", ",", "null", "true", "1e400", "\\u0000",
    ];
    let (name, text) = samples().into_iter().next().unwrap();
    let mut loaded = 0;
    for at in (0..text.len())
        .filter(|c| text.is_char_boundary(*c))
        .step_by(4)
    {
        for r in replacements {
            let mut mutated = text.clone();
            let end = (at + 1..=text.len())
                .find(|e| text.is_char_boundary(*e))
                .unwrap_or(text.len());
            mutated.replace_range(at..end, r);
            assert_well_reported(&name, &mutated);
            if let Ok(snapshot) = Snapshot::from_json(&mutated, &name) {
                loaded += 1;
                let report = rules.evaluate(&snapshot);
                assert_eq!(report.verdicts.len(), rules.graph().rules().len());
            }
        }
    }
    assert!(loaded > 100, "only {loaded} mutations loaded");
}
