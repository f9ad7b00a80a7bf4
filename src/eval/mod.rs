//! The evaluator: a compiled rule set asked of a snapshot, with a verdict and the evidence for
//! every rule.
//!
//! ```text
//! RuleSet (compiled once) ──evaluate(&Snapshot)──▶ Report
//! ```
//!
//! A [`RuleSet`] is immutable, `Send + Sync` and cheap to clone: compile it once and evaluate
//! as many snapshots as needed, from as many threads. Evaluation never panics and is bounded:
//! each rule's search for items that satisfy it stops at [`Limits::max_steps`].

mod decide;
mod necessity;
mod needs;
mod prepare;
mod report;
mod search;
mod session;
mod value;

use std::sync::Arc;

use serde::Serialize;

use crate::diagnostics::{Code, Diagnostic};
use crate::ir::RuleGraph;
use crate::snapshot::Snapshot;
use crate::source::Sources;

pub use necessity::Negated;
pub use needs::{FactNeed, KeyNeeds, LogNeeds, Needs, SourceNeeds, needs};
pub use report::{
    Evidence, Failure, FixReport, Need, REPORT_VERSION, Report, RulesSummary, Severity,
    SnapshotSummary, Summary, Verdict, VerdictKind,
};
pub use search::Explained;
pub(crate) use value::parse_number;

/// A value in three-valued (Kleene) logic: `false and unknown` is false, `true or unknown` is
/// true, `not unknown` is unknown.
///
/// ```
/// use kbrules::Truth;
/// assert_eq!(Truth::False.and(Truth::Unknown), Truth::False);
/// assert_eq!(Truth::True.or(Truth::Unknown), Truth::True);
/// assert_eq!(Truth::Unknown.not(), Truth::Unknown);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Truth {
    /// Does not hold.
    False,
    /// Cannot be decided from what was collected.
    #[default]
    Unknown,
    /// Holds.
    True,
}

impl Truth {
    /// Both hold.
    #[must_use]
    pub fn and(self, other: Truth) -> Truth {
        self.min(other)
    }

    /// Either holds.
    #[must_use]
    pub fn or(self, other: Truth) -> Truth {
        self.max(other)
    }

    /// The opposite; unknown stays unknown.
    #[must_use]
    #[expect(
        clippy::should_implement_trait,
        reason = "reads as the logic it implements"
    )]
    pub fn not(self) -> Truth {
        match self {
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
            Truth::True => Truth::False,
        }
    }

    /// As the report writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Truth::False => "false",
            Truth::Unknown => "unknown",
            Truth::True => "true",
        }
    }
}

impl From<bool> for Truth {
    fn from(b: bool) -> Truth {
        if b { Truth::True } else { Truth::False }
    }
}

/// Bounds on one evaluation.
///
/// ```
/// # let mut sources = kbrules::Sources::new();
/// # sources.add("r.kbr", r#"rule Q1 { title "t" when service "SNMP" present diagnose "x" }"#);
/// let rules = kbrules::RuleSet::compile(&sources).expect("compiles");
/// let strict = rules.with_limits(kbrules::Limits { max_steps: 10_000 });
/// # let _ = strict;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most choices of items one rule's search tries before it gives up; a rule that
    /// reaches it without firing is not evaluable, and says so.
    pub max_steps: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_steps: 1_000_000,
        }
    }
}

/// A compiled rule library, ready to evaluate snapshots.
///
/// ```
/// let mut sources = kbrules::Sources::new();
/// sources.add("imc.kbr", r#"
///     rule Q1 {
///         title "The Internet Mail Connector is stopped"
///         when service "MSExchangeIMC" stopped as imc
///         diagnose "{imc.name} is {imc}."
///     }
/// "#);
/// let rules = kbrules::RuleSet::compile(&sources).expect("the rules compile");
/// let snapshot = kbrules::Snapshot::from_json(r#"{
///     "kbrules_snapshot": 1,
///     "services": [ { "name": "MSExchangeIMC", "state": "stopped" } ]
/// }"#, "example.json").expect("a valid snapshot");
///
/// let report = rules.evaluate(&snapshot);
/// let fired: Vec<_> = report.fired().collect();
/// assert_eq!(fired.len(), 1);
/// assert_eq!(fired[0].diagnosis.as_deref(), Some("MSExchangeIMC is stopped."));
/// ```
#[derive(Debug, Clone)]
pub struct RuleSet {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    graph: RuleGraph,
    prepared: prepare::Prepared,
    hash: u64,
    limits: Limits,
}

/// One rule's verdict with its whole explanation, for `kbrules explain`.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The verdict, as in the report.
    pub verdict: Verdict,
    /// The `applies` guard, explained.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applies: Option<Explained>,
    /// The `when` condition, explained.
    pub when: Explained,
}

impl RuleSet {
    /// Compiles rule files; on error, every diagnostic (warnings included).
    pub fn compile(sources: &Sources) -> Result<RuleSet, Vec<Diagnostic>> {
        let graph = crate::check::compile(sources)?;
        let mut text = Vec::new();
        for (_, file) in sources.iter() {
            text.extend_from_slice(file.name().as_bytes());
            text.push(0);
            text.extend_from_slice(file.text().as_bytes());
            text.push(0);
        }
        Ok(RuleSet::from_graph(
            graph,
            crate::snapshot::fingerprint(&text),
        ))
    }

    /// Wraps a checked graph; `hash` identifies the library in reports.
    pub fn from_graph(graph: RuleGraph, hash: u64) -> RuleSet {
        let prepared = prepare::Prepared::new(&graph);
        RuleSet {
            inner: Arc::new(Inner {
                graph,
                prepared,
                hash,
                limits: Limits::default(),
            }),
        }
    }

    /// The same rules with other limits.
    #[must_use]
    pub fn with_limits(&self, limits: Limits) -> RuleSet {
        RuleSet {
            inner: Arc::new(Inner {
                graph: self.inner.graph.clone(),
                prepared: prepare::Prepared::new(&self.inner.graph),
                hash: self.inner.hash,
                limits,
            }),
        }
    }

    /// The checked rule graph.
    pub fn graph(&self) -> &RuleGraph {
        &self.inner.graph
    }

    /// Evaluates every rule against a snapshot.
    pub fn evaluate(&self, snapshot: &Snapshot) -> Report {
        self.run(snapshot, None).0
    }

    /// Evaluates the rules and explains one of them; `Err` (E0405) when there is no such rule.
    ///
    /// ```
    /// # let mut sources = kbrules::Sources::new();
    /// # sources.add("r.kbr", r#"rule Q1 { title "t" when service "SNMP" present and service "MacFile" running diagnose "x" }"#);
    /// # let rules = kbrules::RuleSet::compile(&sources).expect("compiles");
    /// let snapshot = kbrules::Snapshot::from_json(
    ///     r#"{ "kbrules_snapshot": 1, "services": [ { "name": "SNMP", "state": "running" } ] }"#,
    ///     "case.json",
    /// ).expect("a valid snapshot");
    /// let explanation = rules.explain("Q1", &snapshot).expect("Q1 exists");
    /// let [snmp, macfile] = &explanation.when.children[..] else { panic!() };
    /// assert_eq!(snmp.value, kbrules::Truth::True);
    /// assert_eq!(macfile.value, kbrules::Truth::False);
    /// assert_eq!(macfile.observed.as_deref(), Some("service MacFile is not installed"));
    /// assert_eq!(rules.explain("Q2", &snapshot).unwrap_err().code, kbrules::Code::NoSuchRule);
    /// ```
    pub fn explain(&self, rule: &str, snapshot: &Snapshot) -> Result<Explanation, Diagnostic> {
        let Some((id, _)) = self.inner.graph.rule_by_name(rule) else {
            return Err(no_such_rule(&self.inner.graph, rule));
        };
        let (report, explained) = self.run(snapshot, Some(id.index()));
        let Some((applies, when)) = explained else {
            return Err(Diagnostic::internal(
                None,
                format!("rule {rule} was not explained"),
            ));
        };
        let verdict = report
            .verdicts
            .into_iter()
            .find(|v| v.rule == rule)
            .ok_or_else(|| Diagnostic::internal(None, format!("rule {rule} has no verdict")))?;
        Ok(Explanation {
            verdict,
            applies,
            when,
        })
    }

    fn run(
        &self,
        snapshot: &Snapshot,
        keep: Option<usize>,
    ) -> (Report, Option<(Option<Explained>, Explained)>) {
        // The search recurses once per name it binds; a thread with a large stack keeps a rule
        // with thousands of names from exhausting a small one (the current thread's, if no
        // thread can be started).
        match crate::syntax::with_stack(|| self.run_here(snapshot, keep)) {
            Some(result) => result,
            None => self.run_here(snapshot, keep),
        }
    }

    fn run_here(
        &self,
        snapshot: &Snapshot,
        keep: Option<usize>,
    ) -> (Report, Option<(Option<Explained>, Explained)>) {
        let inner = &*self.inner;
        let graph = &inner.graph;
        let session = session::Session::new(graph, &inner.prepared, snapshot, &inner.limits);
        let evaluator = search::Evaluator::new(&session, graph.rules().len());
        let mut verdicts = Vec::with_capacity(graph.rules().len());
        let mut kept = None;
        for (i, rule) in graph.rules().iter().enumerate() {
            let decided = evaluator.decide(rule);
            if let Some(v) = evaluator.verdicts.borrow_mut().get_mut(i) {
                *v = Some(decided.verdict.verdict);
            }
            if let Some(n) = evaluator.needs.borrow_mut().get_mut(i) {
                n.clone_from(&decided.verdict.needs);
            }
            if keep == Some(i) {
                kept = Some((decided.applies, decided.when));
            }
            verdicts.push(decided.verdict);
        }
        // A rule that fired reports the rules it supersedes as superseded.
        for i in 0..verdicts.len() {
            let fired = verdicts
                .get(i)
                .is_some_and(|v| v.verdict == VerdictKind::Fired);
            let (Some(rule), true) = (graph.rules().get(i), fired) else {
                continue;
            };
            for s in &rule.supersedes {
                if let Some(v) = verdicts.get_mut(s.index())
                    && v.verdict == VerdictKind::Fired
                {
                    v.verdict = VerdictKind::Superseded;
                    v.superseded_by = Some(rule.id.clone());
                    v.diagnosis = None;
                    v.evidence.clear();
                    v.warnings.clear();
                    v.steps.clear();
                    v.fixes.clear();
                    v.see.clear();
                }
            }
        }
        verdicts.sort_by(|a, b| a.rule.cmp(&b.rule));
        let mut summary = Summary::default();
        for v in &verdicts {
            summary.add(v.verdict);
        }
        let report = Report {
            kbrules_report: REPORT_VERSION,
            rules: RulesSummary {
                count: graph.rules().len(),
                hash: format!("{:016x}", inner.hash),
            },
            snapshot: SnapshotSummary {
                source: snapshot.origin().to_string(),
                hash: format!("{:016x}", snapshot.hash()),
                events: snapshot.events().len(),
                skipped: snapshot.skipped().to_vec(),
            },
            summary,
            verdicts,
        };
        (report, kept)
    }
}

/// E0405, with the nearest rule id when one is near.
pub(crate) fn no_such_rule(graph: &RuleGraph, rule: &str) -> Diagnostic {
    let names = graph.rules().iter().map(|r| r.id.as_str());
    let d = Diagnostic::global(Code::NoSuchRule, format!("there is no rule `{rule}`"));
    match crate::diagnostics::did_you_mean(rule, names) {
        Some(near) => d.with_help(format!("did you mean `{near}`?")),
        None => d.with_help("`kbrules check` lists the rules' files; rule ids are case-sensitive"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_sets_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<RuleSet>();
        assert_send_sync::<Snapshot>();
        assert_send_sync::<Report>();
    }

    #[test]
    fn kleene_tables() {
        use Truth::*;
        let all = [False, Unknown, True];
        for a in all {
            for b in all {
                assert_eq!(a.and(b), b.and(a));
                assert_eq!(a.or(b), b.or(a));
                // De Morgan holds in Kleene logic.
                assert_eq!(a.and(b).not(), a.not().or(b.not()));
            }
        }
        assert_eq!(False.and(Unknown), False);
        assert_eq!(True.or(Unknown), True);
        assert_eq!(True.and(Unknown), Unknown);
        assert_eq!(Unknown.not(), Unknown);
    }
}
