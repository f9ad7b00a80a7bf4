//! Which of a rule's conditions a snapshot shows to matter: the rule is decided again with each
//! condition's value negated, one at a time, and the verdicts are compared. What
//! `kbrules test --necessity` reads; it answers no question about the system itself.

use serde::Serialize;

use super::RuleSet;
use super::report::VerdictKind;
use super::search::Evaluator;
use super::session::Session;
use crate::diagnostics::Diagnostic;
use crate::ir::{Expr, ExprId, Rule, RuleGraph, RuleId};
use crate::snapshot::Snapshot;

/// One of a rule's conditions, and the verdict the rule gets when its value is negated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Negated {
    /// The condition, as the rules write it.
    pub condition: String,
    /// The rule's verdict with the condition's value negated (and what it would bind left
    /// unbound).
    pub verdict: VerdictKind,
}

/// The conditions of a rule that are not junctions (`and`, `or`, `not`, `N of`), in the order
/// written, each once; named conditions are looked into.
fn leaves(graph: &RuleGraph, rule: &Rule) -> Vec<ExprId> {
    fn walk(graph: &RuleGraph, id: ExprId, out: &mut Vec<ExprId>) {
        match graph.expr(id) {
            Some(Expr::And(items) | Expr::Or(items) | Expr::AtLeast { items, .. }) => {
                items.iter().for_each(|i| walk(graph, *i, out));
            }
            Some(Expr::Not(inner) | Expr::Scope { expr: inner, .. }) => walk(graph, *inner, out),
            Some(_) if !out.contains(&id) => out.push(id),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(applies) = rule.applies {
        walk(graph, applies, &mut out);
    }
    walk(graph, rule.when, &mut out);
    out
}

/// The rules `rule` reads the verdicts of, directly or not, in the graph's (topological) order.
fn dependencies(graph: &RuleGraph, rule: &Rule) -> Vec<RuleId> {
    let mut wanted: Vec<RuleId> = rule.depends_on.clone();
    let mut i = 0;
    while let Some(r) = wanted.get(i).copied() {
        if let Some(dep) = graph.rule(r) {
            for d in &dep.depends_on {
                if !wanted.contains(d) {
                    wanted.push(*d);
                }
            }
        }
        i += 1;
    }
    wanted.sort_by_key(|r| r.index());
    wanted
}

impl RuleSet {
    /// Decides `rule` once for each of its conditions that is not a junction, with that
    /// condition's value negated, and gives the verdict each time: a condition whose negation
    /// leaves a fired rule fired is one this snapshot does not show to matter. `Err` (E0405)
    /// when there is no such rule.
    ///
    /// ```
    /// # let mut sources = kbrules::Sources::new();
    /// # sources.add("r.kbr", r#"rule Q1 { title "t" when service "SNMP" present or service "MacFile" present diagnose "x" }"#);
    /// # let rules = kbrules::RuleSet::compile(&sources).expect("compiles");
    /// let snapshot = kbrules::Snapshot::from_json(
    ///     r#"{ "kbrules_snapshot": 1, "services": [ { "name": "SNMP" }, { "name": "MacFile" } ] }"#,
    ///     "case.json",
    /// ).expect("a valid snapshot");
    /// // Either service makes Q1 fire, so neither alone is shown to matter here.
    /// let negated = rules.negating_each_condition("Q1", &snapshot).expect("Q1 exists");
    /// assert_eq!(negated.len(), 2);
    /// assert!(negated.iter().all(|n| n.verdict == kbrules::eval::VerdictKind::Fired));
    /// ```
    pub fn negating_each_condition(
        &self,
        rule: &str,
        snapshot: &Snapshot,
    ) -> Result<Vec<Negated>, Diagnostic> {
        let graph = &self.inner.graph;
        let Some((_, target)) = graph.rule_by_name(rule) else {
            return Err(super::no_such_rule(graph, rule));
        };
        let run = || {
            let session = Session::new(graph, &self.inner.prepared, snapshot, &self.inner.limits);
            let dependencies = dependencies(graph, target);
            leaves(graph, target)
                .into_iter()
                .map(|leaf| {
                    let mut evaluator = Evaluator::new(&session, graph.rules().len());
                    evaluator.flipped = Some(leaf);
                    for id in &dependencies {
                        if let Some(dep) = graph.rule(*id) {
                            let kind = evaluator.decide(dep).verdict.verdict;
                            if let Some(v) = evaluator.verdicts.borrow_mut().get_mut(id.index()) {
                                *v = Some(kind);
                            }
                        }
                    }
                    let verdict = evaluator.decide(target).verdict.verdict;
                    Negated {
                        condition: evaluator.describe(leaf),
                        verdict,
                    }
                })
                .collect()
        };
        Ok(crate::syntax::with_stack(run).unwrap_or_else(run))
    }
}
