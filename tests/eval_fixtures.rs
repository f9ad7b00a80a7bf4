//! The evaluator, data-driven: `tests/fixtures/eval/CASE.kbr` (rules) evaluated against
//! `tests/fixtures/eval/CASE.json` (a JSON snapshot); the verdicts are snapshotted.
//!
//! Every rule's title starts with the verdict the language reference promises for it
//! (`fired: …`, `not_fired: …`, `not_applicable: …`, `not_evaluable: …`, `superseded: …`), and
//! the test checks it before it compares the snapshot, so that a fixture says what it expects
//! where it is written and a snapshot cannot quietly accept a wrong verdict.
//!
//! Each verdict must also explain itself: a rule that did not fire names the condition that
//! failed, a rule that could not be evaluated names what to collect.
//!
//! The rendering is compact: one block per rule with its verdict, diagnosis, evidence, the
//! condition that failed with what was observed, and what must be collected.

// Test helpers fail loudly on a broken fixture, as the tests themselves may (clippy.toml).
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fmt::Write as _;
use std::path::Path;

use kbrules::diagnostics::{RenderOptions, render_all};
use kbrules::eval::Verdict;
use kbrules::{Report, RuleSet, Severity, Snapshot, Sources};

/// The path of a fixture relative to the package, with forward slashes, so that snapshots and
/// messages do not depend on where the checkout is.
fn relative(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Compiles one rule file; any error fails the test with the rendered diagnostics. Warnings
/// are returned as `CODE message`, so that the snapshot shows them.
fn compile(path: &Path) -> (RuleSet, Vec<String>) {
    let text = std::fs::read_to_string(path).expect("fixture is readable");
    let mut sources = Sources::new();
    sources.add(relative(path), text);
    let checked = kbrules::check(&sources);
    assert!(
        !checked.has_errors(),
        "{} does not compile:\n{}",
        path.display(),
        render_all(&checked.diagnostics, &sources, RenderOptions::default())
    );
    let warnings = checked
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(|d| format!("{} {}", d.code.as_str(), d.message))
        .collect();
    let rules = RuleSet::compile(&sources).unwrap_or_else(|diagnostics| {
        panic!(
            "{} does not compile:\n{}",
            path.display(),
            render_all(&diagnostics, &sources, RenderOptions::default())
        )
    });
    (rules, warnings)
}

fn load_snapshot(path: &Path) -> Snapshot {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e} (each case needs a .json snapshot)", path.display()));
    Snapshot::from_json(&text, &relative(path))
        .unwrap_or_else(|d| panic!("{} does not load: {d}", path.display()))
}

/// The verdict a rule's title announces: the word before the first `:`.
fn expected(verdict: &Verdict) -> &str {
    verdict
        .title
        .split_once(':')
        .map(|(word, _)| word.trim())
        .unwrap_or_else(|| {
            panic!(
                "the title of {} must start with the expected verdict, like `fired: …`",
                verdict.rule
            )
        })
}

/// One line: a line break would show as `\n` (evidence and observations are one line each).
fn line(text: impl std::fmt::Display) -> String {
    text.to_string().replace('\n', "\\n")
}

/// What a verdict lacks of the explanation that its kind promises, if anything: a rule that did
/// not fire (or does not apply) names the condition that failed, a rule that could not be
/// evaluated names what to collect, a fired rule has its diagnosis, a superseded one its rival.
fn explained(v: &Verdict) -> Option<&'static str> {
    use kbrules::eval::VerdictKind as K;
    match v.verdict {
        K::Fired if v.diagnosis.is_none() => Some("a fired rule without its diagnosis"),
        K::NotFired | K::NotApplicable if v.failed.is_none() => {
            Some("no failed condition for a rule that did not fire")
        }
        K::NotEvaluable if v.needs.is_empty() => Some("nothing needed for a rule not evaluable"),
        K::Superseded if v.superseded_by.is_none() => Some("superseded by no rule"),
        _ => None,
    }
}

fn render_verdict(out: &mut String, v: &Verdict) {
    let _ = writeln!(out, "{} {}", v.rule, v.verdict.as_str());
    if let Some(by) = &v.superseded_by {
        let _ = writeln!(out, "  superseded by: {by}");
    }
    if let Some(d) = &v.diagnosis {
        let _ = writeln!(out, "  diagnosis: {d}");
    }
    for e in &v.evidence {
        let _ = writeln!(out, "  evidence: {}", line(e));
    }
    for w in &v.warnings {
        let _ = writeln!(out, "  warning: {w}");
    }
    for s in &v.steps {
        let _ = writeln!(out, "  step: {s}");
    }
    if let Some(f) = &v.failed {
        let _ = writeln!(out, "  failed: {}", f.condition);
        if let Some(o) = &f.observed {
            let _ = writeln!(out, "  observed: {}", line(o));
        }
    }
    for n in &v.needs {
        let _ = writeln!(out, "  needs: {n}");
    }
}

fn render(report: &Report, warnings: &[String]) -> String {
    let mut out = String::new();
    for w in warnings {
        let _ = writeln!(out, "warning {w}");
    }
    let _ = writeln!(out, "{}", report.summary);
    for v in &report.verdicts {
        out.push('\n');
        render_verdict(&mut out, v);
    }
    out
}

#[test]
fn eval_fixtures() {
    let mut cases = 0;
    insta::glob!("fixtures/eval/*.kbr", |path| {
        cases += 1;
        let (rules, warnings) = compile(path);
        let snapshot = load_snapshot(&path.with_extension("json"));
        let report = rules.evaluate(&snapshot);
        let wrong: Vec<String> = report
            .verdicts
            .iter()
            .filter_map(|v| {
                let problem = if expected(v) != v.verdict.as_str() {
                    format!("expected {}", expected(v))
                } else {
                    explained(v)?.to_string()
                };
                let mut block = String::new();
                render_verdict(&mut block, v);
                Some(format!("{problem}, got:\n{block}"))
            })
            .collect();
        assert!(
            wrong.is_empty(),
            "{}:\n{}",
            relative(path),
            wrong.join("\n")
        );
        insta::assert_snapshot!("verdicts", render(&report, &warnings));
    });
    assert!(cases > 0, "no fixture in tests/fixtures/eval");
}

/// Every case is a pair: no snapshot without rules, no rules without a snapshot.
#[test]
fn eval_fixtures_come_in_pairs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eval");
    for entry in std::fs::read_dir(&dir).expect("tests/fixtures/eval exists") {
        let path = entry.expect("readable directory").path();
        let other = match path.extension().and_then(|e| e.to_str()) {
            Some("kbr") => path.with_extension("json"),
            Some("json") => path.with_extension("kbr"),
            _ => panic!("unexpected file {}", path.display()),
        };
        assert!(
            other.exists(),
            "{} has no {}",
            relative(&path),
            relative(&other)
        );
    }
}

/// A search that runs out of steps before it can decide is not evaluable, and says which limit
/// stopped it; with the default limit, the same rule is decided.
#[test]
fn search_stops_at_the_step_limit() {
    let mut sources = Sources::new();
    sources.add(
        "limit.kbr",
        r#"
rule ORDERED {
    title "three events in order, the last one record 100"
    when event System id 1 as a and event System id 1 as b and event System id 1 as c
     and a.time < b.time and b.time < c.time and c.record_id == 100
    diagnose "never: no record 100"
}
"#,
    );
    let events: Vec<String> = (0..30)
        .map(|i| {
            format!(
                r#"{{ "log": "System", "source": "S", "id": 1, "time": "2003-01-01T00:00:{i:02}Z", "record_id": {i} }}"#
            )
        })
        .collect();
    let json = format!(
        r#"{{ "kbrules_snapshot": 1, "events": [{}], "collected": {{ "events": true }} }}"#,
        events.join(", ")
    );
    let snapshot = Snapshot::from_json(&json, "limit.json").expect("a valid snapshot");
    let rules = RuleSet::compile(&sources).expect("the rule compiles");

    let decided = rules.evaluate(&snapshot);
    let v = decided.verdict("ORDERED").expect("a verdict");
    assert_eq!(v.verdict.as_str(), "not_fired", "{v:?}");

    let limited = rules.with_limits(kbrules::Limits { max_steps: 50 });
    let stopped = limited.evaluate(&snapshot);
    let v = stopped.verdict("ORDERED").expect("a verdict");
    assert_eq!(v.verdict.as_str(), "not_evaluable", "{v:?}");
    let needs: Vec<String> = v.needs.iter().map(ToString::to_string).collect();
    assert_eq!(
        needs,
        ["a higher search step limit (50) (evaluation stopped at the limit)"]
    );
}
