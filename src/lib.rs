//! kbrules compiles rules written from knowledge-base articles into a checked rule graph.
//!
//! The pipeline, one phase per module, each never importing a later one:
//!
//! ```text
//! rules/*.kbr ──syntax──▶ ast::File ──check──▶ ir::RuleGraph
//! ```
//!
//! ```
//! let mut sources = kbrules::Sources::new();
//! sources.add("imc.kbr", r#"
//!     rule Q1 {
//!         title "The IMC does not start"
//!         when event Application source "MSExchangeIMC" id 4086
//!         diagnose "The Internet Mail Connector failed to load its configuration."
//!     }
//! "#);
//! let graph = kbrules::compile(&sources).expect("the rules compile");
//! assert_eq!(graph.rules().len(), 1);
//! ```

pub mod ast;
pub mod check;
#[cfg(feature = "cli")]
pub mod cli;
pub mod diagnostics;
pub mod eval;
pub mod ir;
pub mod snapshot;
pub mod source;
pub mod syntax;

pub use check::{Checked, check, compile};
pub use diagnostics::{Code, Diagnostic, Severity};
pub use eval::{Limits, Report, RuleSet, Truth};
pub use ir::RuleGraph;
pub use snapshot::Snapshot;
pub use source::{SourceId, Sources, Span};
