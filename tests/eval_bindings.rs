//! Bindings across `followed by`, captures, counts in windows and `N of`, evaluated and
//! explained: the search varies a binding only when a later condition reads it, and explaining a
//! bound `followed by` checks the bound pair.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use kbrules::eval::VerdictKind;
use kbrules::{RuleSet, Snapshot, Sources, Truth};

const RULES: &str = r#"
rule A {
    title "count in window"
    when count(event System source "SRV" id 2000) >= 3 within 10m
    diagnose "x"
}
rule B {
    title "followed by"
    when event System source "Service Control Manager" id 7009 as timeout
         followed by event System source "Service Control Manager" id 7000 as failed within 1m
     and failed.data.1 == "Spooler"
    diagnose "{failed.data.1} timed out at {timeout.time} then failed at {failed.time}"
}
rule C {
    title "captures"
    when event source "MSExchange POP3" id 11508 message ~ "failed in function \w+ with error (0x[0-9a-f]+)" as failure
     and number(failure.1) == 0x2741
    diagnose "pop3 {failure.1}"
}
rule D {
    title "not and n of"
    when not service "SNMP" present and 2 of (service "A" running, service "B" running, service "C" running)
    diagnose "d"
}
"#;

const SNAPSHOT: &str = r#"{ "kbrules_snapshot": 1,
  "services": [ {"name":"A","state":"running"}, {"name":"B","state":"stopped"}, {"name":"C","state":"running"} ],
  "events": [
    {"log":"System","source":"SRV","id":2000,"time":"2002-01-01T10:00:00Z"},
    {"log":"System","source":"SRV","id":2000,"time":"2002-01-01T10:05:00Z"},
    {"log":"System","source":"SRV","id":2000,"time":"2002-01-01T10:20:00Z"},
    {"log":"System","source":"SRV","id":2000,"time":"2002-01-01T10:25:00Z"},
    {"log":"System","source":"Service Control Manager","id":7009,"time":"2002-01-01T11:00:00Z", "data":["30000","Spooler"]},
    {"log":"System","source":"Service Control Manager","id":7000,"time":"2002-01-01T11:00:30Z", "data":{"param1":"Spooler","param2":"%%1053"}},
    {"log":"System","source":"Service Control Manager","id":7009,"time":"2002-01-01T12:00:00Z", "data":["30000","Browser"]},
    {"log":"System","source":"Service Control Manager","id":7000,"time":"2002-01-01T12:00:30Z", "data":["Browser","%%1053"]},
    {"log":"Application","source":"MSExchange POP3","id":11508,"time":"2002-01-01T12:00:30Z", "message":"POP3 failed in function Accept with error 0x2741."}
  ]
}"#;

fn setup() -> (RuleSet, Snapshot) {
    let mut sources = Sources::new();
    sources.add("r.kbr", RULES);
    let rules = RuleSet::compile(&sources).expect("compiles");
    let snapshot = Snapshot::from_json(SNAPSHOT, "s.json").expect("loads");
    (rules, snapshot)
}

#[test]
fn verdicts_and_diagnoses() {
    let (rules, snapshot) = setup();
    let report = rules.evaluate(&snapshot);
    let v = |id: &str| report.verdict(id).unwrap();
    // Four events in 25 minutes, but never three within 10 minutes.
    assert_eq!(v("A").verdict, VerdictKind::NotFired);
    assert_eq!(
        v("A").failed.as_ref().unwrap().observed.as_deref(),
        Some("at most 2 matching events in any window")
    );
    // The most recent pair is Browser's; the search moves on to Spooler's.
    assert_eq!(v("B").verdict, VerdictKind::Fired);
    assert_eq!(
        v("B").diagnosis.as_deref(),
        Some("Spooler timed out at 2002-01-01T11:00:00Z then failed at 2002-01-01T11:00:30Z")
    );
    assert_eq!(v("C").verdict, VerdictKind::Fired);
    assert_eq!(v("C").diagnosis.as_deref(), Some("pop3 0x2741"));
    assert_eq!(v("D").verdict, VerdictKind::Fired);
    let evidence: Vec<String> = v("D").evidence.iter().map(ToString::to_string).collect();
    assert_eq!(
        evidence,
        [
            "service SNMP is not installed",
            "service A (running)",
            "service C (running)"
        ]
    );
}

#[test]
fn explaining_a_bound_followed_by_checks_the_pair() {
    let (rules, snapshot) = setup();
    let e = rules.explain("B", &snapshot).unwrap();
    assert_eq!(e.when.value, Truth::True);
    let pair = &e.when.children[0];
    assert_eq!(pair.value, Truth::True);
    assert_eq!(pair.evidence.len(), 2);
    assert!(
        pair.evidence[0].to_string().contains("11:00:00Z"),
        "{:?}",
        pair.evidence
    );
}

#[test]
fn the_search_stops_at_its_limit_and_says_so() {
    let mut sources = Sources::new();
    sources.add(
        "r.kbr",
        r#"rule L {
            title "many pairs"
            when event System source "SRV" id 2000 as a
             and event System source "SRV" id 2000 as b
             and a.record_id > b.record_id and b.record_id > a.record_id
            diagnose "x"
        }"#,
    );
    let rules = RuleSet::compile(&sources)
        .unwrap()
        .with_limits(kbrules::Limits { max_steps: 50 });
    let events: Vec<String> = (1..=40)
        .map(|i| format!(r#"{{"log":"System","source":"SRV","id":2000,"record_id":{i}}}"#))
        .collect();
    let snapshot = Snapshot::from_json(
        &format!(
            r#"{{"kbrules_snapshot":1,"events":[{}]}}"#,
            events.join(",")
        ),
        "s.json",
    )
    .unwrap();
    let report = rules.evaluate(&snapshot);
    let v = report.verdict("L").unwrap();
    assert_eq!(v.verdict, VerdictKind::NotEvaluable);
    assert!(
        v.needs
            .iter()
            .any(|n| n.to_string().contains("search step limit (50)")),
        "{:?}",
        v.needs
    );
    // With the default limit the search completes: no choice satisfies it.
    let report = RuleSet::compile(&sources).unwrap().evaluate(&snapshot);
    assert_eq!(report.verdict("L").unwrap().verdict, VerdictKind::NotFired);
}

#[test]
fn wide_conjunctions_and_many_bindings_take_no_deep_stack() {
    const N: usize = 5000;
    let snapshot = Snapshot::from_json(
        &format!(
            r#"{{"kbrules_snapshot":1,"services":[{}]}}"#,
            (0..N)
                .map(|i| format!(r#"{{"name":"S{i}","state":"running"}}"#))
                .collect::<Vec<_>>()
                .join(",")
        ),
        "wide.json",
    )
    .unwrap();
    let plain = (0..N)
        .map(|i| format!("service \"S{i}\" present"))
        .collect::<Vec<_>>()
        .join(" and ");
    let bound = (0..N)
        .map(|i| format!("service \"S{i}\" present as b{i}"))
        .collect::<Vec<_>>()
        .join(" and ");
    let mut sources = Sources::new();
    sources.add(
        "wide.kbr",
        format!(
            "rule Plain {{ title \"t\" when {plain} diagnose \"x\" }}\n\
             rule Bound {{ title \"t\" when {bound} diagnose \"{{b0}} {{b{}}}\" }}\n",
            N - 1
        ),
    );
    let rules = RuleSet::compile(&sources).unwrap();
    // Evaluated on a thread with a small stack, as an embedder's worker might be.
    let report = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || rules.evaluate(&snapshot))
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(report.verdict("Plain").unwrap().verdict, VerdictKind::Fired);
    let bound = report.verdict("Bound").unwrap();
    assert_eq!(bound.verdict, VerdictKind::Fired);
    assert_eq!(bound.diagnosis.as_deref(), Some("running running"));
}
