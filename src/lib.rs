//! kbrules compiles rules written from knowledge-base articles into a checked rule graph, and
//! evaluates them against snapshots of systems: for every rule, a verdict with its evidence.
//!
//! The pipeline, one phase per module, each never importing a later one:
//!
//! ```text
//! rules/*.kbr ──syntax──▶ ast::File ──check──▶ ir::RuleGraph ──▶ eval::RuleSet
//!                                                                    │
//! snapshot.json ──snapshot──▶ Snapshot ─────────────── evaluate ──▶ Report
//! ```
//!
//! ```
//! let mut sources = kbrules::Sources::new();
//! sources.add("imc.kbr", r#"
//!     rule Q1 {
//!         title "The IMC does not start"
//!         when event Application source "MSExchangeIMC" id 4086 as failure
//!         diagnose "The Internet Mail Connector failed at {failure.time}."
//!     }
//! "#);
//! let rules = kbrules::RuleSet::compile(&sources).expect("the rules compile");
//!
//! let snapshot = kbrules::Snapshot::from_json(r#"{
//!     "kbrules_snapshot": 1,
//!     "events": [ { "log": "Application", "source": "MSExchangeIMC", "id": 4086,
//!                   "time": "2002-08-06T10:15:00Z" } ]
//! }"#, "case.json").expect("a valid snapshot");
//!
//! let report = rules.evaluate(&snapshot);
//! let finding = report.verdict("Q1").expect("every rule has a verdict");
//! assert_eq!(finding.verdict, kbrules::eval::VerdictKind::Fired);
//! assert_eq!(
//!     finding.diagnosis.as_deref(),
//!     Some("The Internet Mail Connector failed at 2002-08-06T10:15:00Z.")
//! );
//! ```

pub mod ast;
pub mod check;
#[cfg(feature = "cli")]
pub mod cli;
pub mod diagnostics;
pub mod eval;
pub mod fmt;
pub mod ide;
pub mod ir;
pub mod snapshot;
pub mod source;
pub mod syntax;
pub mod testing;

pub use check::{Checked, check, check_cached, compile};
pub use diagnostics::{Code, Diagnostic, Severity};
pub use eval::{Limits, Report, RuleSet, Truth};
pub use ir::RuleGraph;
pub use snapshot::Snapshot;
pub use source::{SourceId, Sources, Span};
