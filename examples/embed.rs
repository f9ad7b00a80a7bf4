//! Evaluates the shipped rule library on a sample snapshot, from Rust.
//!
//! ```console
//! cargo run --example embed [SNAPSHOT.json]
//! ```
//!
//! The rules are compiled once into a `RuleSet`, which is `Send + Sync`: one instance can
//! evaluate any number of snapshots, from any number of threads.

use std::process::ExitCode;

fn main() -> ExitCode {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "examples/snapshots/Q298565-fires.json".to_string());

    let (sources, errors) = kbrules::Sources::load_paths(&["rules"]);
    if let Some(error) = errors.first() {
        eprintln!("cannot read the rules: {}", error.message);
        return ExitCode::from(2);
    }
    let rules = match kbrules::RuleSet::compile(&sources) {
        Ok(rules) => rules,
        Err(diagnostics) => {
            for d in diagnostics.iter().filter(|d| d.is_error()) {
                eprintln!("error[{}]: {}", d.code, d.message);
            }
            return ExitCode::from(2);
        }
    };
    let snapshot = match kbrules::Snapshot::load(&path) {
        Ok(snapshot) => snapshot,
        Err(d) => {
            eprintln!("error[{}]: {}", d.code, d.message);
            return ExitCode::from(2);
        }
    };

    // Evaluate on two threads at once, to show that a rule set is shared, not copied.
    let reports = std::thread::scope(|scope| {
        let a = scope.spawn(|| rules.evaluate(&snapshot));
        let b = scope.spawn(|| rules.evaluate(&snapshot));
        [a.join(), b.join()]
    });
    let [Ok(report), Ok(again)] = reports else {
        eprintln!("an evaluation thread failed");
        return ExitCode::from(2);
    };
    assert_eq!(report.summary, again.summary, "evaluation is deterministic");

    for finding in report.fired() {
        println!("{}: {}", finding.rule, finding.title);
        if let Some(diagnosis) = &finding.diagnosis {
            println!("  {diagnosis}");
        }
        for evidence in &finding.evidence {
            println!("  - {evidence}");
        }
    }
    println!("{}", report.summary);
    ExitCode::SUCCESS
}
