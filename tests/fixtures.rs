//! Data-driven tests: rule files in, snapshots out.
//!
//! - `tests/fixtures/invalid/*.kbr`: every file yields at least one diagnostic; the rendered
//!   diagnostics (no colour, 100 columns) are snapshotted.
//! - `tests/fixtures/valid/*.kbr`: every file checks with no diagnostic; its syntax tree and its
//!   rule graph are snapshotted.
//! - `rules/`: the shipped library checks clean; its graph is snapshotted.

// Test helpers fail loudly on a broken fixture, as the tests themselves may (clippy.toml).
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

use kbrules::diagnostics::{RenderOptions, render_all};
use kbrules::{Severity, Sources};

/// Loads one file under a name relative to the package, so snapshots do not depend on where
/// the checkout is.
fn load(path: &Path) -> Sources {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let name = path
        .strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/");
    let bytes = std::fs::read(path).expect("fixture is readable");
    let mut sources = Sources::new();
    match sources.add_bytes(name, &bytes) {
        Ok(_) => {}
        Err(diagnostic) => {
            // Only the not-UTF-8 fixture gets here; it is rendered like any other diagnostic.
            assert_eq!(diagnostic.code, kbrules::Code::InvalidUtf8, "{diagnostic}");
            insta::assert_snapshot!(render_all(
                &[diagnostic],
                &sources,
                RenderOptions::default()
            ));
        }
    }
    sources
}

#[test]
fn invalid_fixtures() {
    let mut seen = std::collections::BTreeSet::new();
    let mut count = 0;
    insta::glob!("fixtures/invalid/*.kbr", |path| {
        count += 1;
        let sources = load(path);
        if sources.is_empty() {
            seen.insert(kbrules::Code::InvalidUtf8);
            return;
        }
        let checked = kbrules::check(&sources);
        seen.extend(checked.diagnostics.iter().map(|d| d.code));
        assert!(
            !checked.diagnostics.is_empty(),
            "{} produced no diagnostic",
            path.display()
        );
        if checked.has_errors() {
            assert!(checked.graph.is_none(), "a graph was built despite errors");
        } else {
            assert!(
                checked
                    .diagnostics
                    .iter()
                    .all(|d| d.severity == Severity::Warning),
                "no error, yet not all warnings"
            );
        }
        insta::assert_snapshot!(render_all(
            &checked.diagnostics,
            &sources,
            RenderOptions::default()
        ));
    });
}

#[test]
fn valid_fixtures() {
    insta::glob!("fixtures/valid/*.kbr", |path| {
        let sources = load(path);
        let checked = kbrules::check(&sources);
        assert!(
            checked.diagnostics.is_empty(),
            "{}:\n{}",
            path.display(),
            render_all(&checked.diagnostics, &sources, RenderOptions::default())
        );
        let graph = checked.graph.expect("a graph for a clean file");
        insta::assert_json_snapshot!("ast", checked.files);
        insta::assert_snapshot!("graph", kbrules::ir::to_dot(&graph));
    });
}

#[test]
fn shipped_rules_check_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (mut sources, io) = Sources::load_paths(&[root.join("rules")]);
    assert!(io.is_empty(), "{io:?}");
    // Rename to package-relative paths for a stable snapshot.
    let mut renamed = Sources::new();
    for (_, file) in sources.iter() {
        let name = Path::new(file.name())
            .strip_prefix(root)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_else(|_| file.name().to_string());
        renamed.add(name, file.text());
    }
    sources = renamed;
    let checked = kbrules::check(&sources);
    assert!(
        checked.diagnostics.is_empty(),
        "{}",
        render_all(&checked.diagnostics, &sources, RenderOptions::default())
    );
    let graph = checked.graph.expect("graph");
    let ids: Vec<&str> = graph.rules().iter().map(|r| r.id.as_str()).collect();
    for seed in ["Q298565", "Q182346", "Q303283"] {
        assert!(ids.contains(&seed), "{seed} missing from {ids:?}");
    }
    assert!(ids.len() >= 80, "only {} rules", ids.len());
}

/// The graph of the seed rules (the library's first files), as `kbrules graph` draws it: a
/// stable picture that the library's growth does not change.
#[test]
fn seed_rules_graph() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = Sources::new();
    for name in [
        "rules/catalogue.kbr",
        "rules/common.kbr",
        "rules/exchange/imc.kbr",
        "rules/iis/metabase.kbr",
    ] {
        let text = std::fs::read_to_string(root.join(name)).expect("a seed file");
        sources.add(name, text.as_str());
    }
    let checked = kbrules::check(&sources);
    assert!(checked.diagnostics.is_empty());
    let graph = checked.graph.expect("graph");
    insta::assert_snapshot!("rules_graph", kbrules::ir::to_dot(&graph));
}
