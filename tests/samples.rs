//! The sample snapshots in `examples/snapshots/` (`RULE-fires.json`, `RULE-not-fired.json`,
//! `RULE-not-evaluable.json`) give their rule of the shipped library the verdict their name
//! says: the seed rules have all three. The fired sample also shows evidence and a diagnosis
//! with its placeholders filled in. (Every rule of the library has its own tests beside it, run
//! by `kbrules test rules/`.)

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;

use kbrules::eval::VerdictKind;
use kbrules::{RuleSet, Snapshot, Sources};

fn shipped_rules() -> RuleSet {
    let (sources, errors) = Sources::load_paths(&["rules"]);
    assert!(errors.is_empty(), "{errors:?}");
    RuleSet::compile(&sources).expect("the shipped rules compile")
}

#[test]
fn every_sample_gives_its_rule_the_verdict_its_name_says() {
    let rules = shipped_rules();
    let dir = Path::new("examples/snapshots");
    let mut checked = 0;
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("examples/snapshots")
        .map(|e| e.expect("entry").file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    for name in names {
        let stem = name.trim_end_matches(".json");
        let (rule_id, want) = [
            ("-not-evaluable", VerdictKind::NotEvaluable),
            ("-not-fired", VerdictKind::NotFired),
            ("-fires", VerdictKind::Fired),
        ]
        .into_iter()
        .find_map(|(suffix, want)| stem.strip_suffix(suffix).map(|r| (r, want)))
        .unwrap_or_else(|| panic!("{name}: not RULE-fires, RULE-not-fired or RULE-not-evaluable"));
        let rule = rules
            .graph()
            .rule_by_name(rule_id)
            .map(|(_, r)| r)
            .unwrap_or_else(|| panic!("{name}: no rule {rule_id}"));
        {
            let path = dir.join(&name);
            let snapshot = Snapshot::load(&path)
                .unwrap_or_else(|d| panic!("{}: {}", path.display(), d.message));
            let report = rules.evaluate(&snapshot);
            let verdict = report.verdict(&rule.id).expect("every rule has a verdict");
            assert_eq!(verdict.verdict, want, "{}: {verdict:#?}", path.display());
            match want {
                VerdictKind::Fired => {
                    assert!(
                        !verdict.evidence.is_empty(),
                        "{}: no evidence",
                        path.display()
                    );
                    let diagnosis = verdict.diagnosis.as_deref().expect("a diagnosis");
                    assert!(!diagnosis.contains("(unknown"), "{diagnosis}");
                }
                VerdictKind::NotFired => {
                    assert!(
                        verdict.failed.is_some(),
                        "{}: no failed condition",
                        path.display()
                    );
                }
                _ => assert!(!verdict.needs.is_empty(), "{}: no needs", path.display()),
            }
            checked += 1;
        }
    }
    assert!(checked >= 12, "only {checked} samples");
}

#[test]
fn every_sample_belongs_to_a_rule() {
    let rules = shipped_rules();
    for entry in std::fs::read_dir("examples/snapshots").unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(stem) = name.strip_suffix(".json") else {
            continue;
        };
        let rule = ["-fires", "-not-fired", "-not-evaluable"]
            .iter()
            .find_map(|s| stem.strip_suffix(s))
            .unwrap_or_else(|| {
                panic!("{name}: not RULE-fires, RULE-not-fired or RULE-not-evaluable")
            });
        assert!(
            rules.graph().rule_by_name(rule).is_some(),
            "{name}: no rule {rule}"
        );
    }
}

#[test]
fn the_readme_sample_shows_a_diagnosis_with_evidence() {
    let rules = shipped_rules();
    let snapshot = Snapshot::load("examples/snapshots/Q298565-fires.json").unwrap();
    let report = rules.evaluate(&snapshot);
    let fired: Vec<_> = report.fired().collect();
    assert_eq!(fired.len(), 1);
    let v = fired[0];
    assert_eq!(v.rule, "Q298565");
    let diagnosis = v.diagnosis.as_deref().unwrap();
    assert!(
        diagnosis.contains("o=Contoso/ou=Europe/cn=Configuration"),
        "{diagnosis}"
    );
    assert!(diagnosis.contains("2002-08-06T10:15:00Z"), "{diagnosis}");
    let kinds: Vec<String> = v.evidence.iter().map(|e| e.to_string()).collect();
    assert!(
        kinds
            .iter()
            .any(|e| e.starts_with("event 4086 from MSExchangeIMC in Application")),
        "{kinds:#?}"
    );
    assert!(
        kinds
            .iter()
            .any(|e| e.contains("SiteDN (REG_SZ) = o=Contoso/ou=Europe")),
        "{kinds:#?}"
    );
    assert_eq!(v.steps.len(), 4);
}
