//! Rule dependencies: cycles are errors, and the rules are put in topological order.
//!
//! A rule depends on every rule whose verdict its conditions read (`rule Q…`, directly or
//! through named conditions) and on every rule it supersedes.

use std::collections::BTreeSet;

use crate::diagnostics::{Code, Diagnostic};
use crate::ir::{Expr, ExprId, RuleGraph, RuleId};

pub(crate) struct Ordered {
    pub(crate) rules: Vec<crate::ir::Rule>,
    /// `permutation[old] = new`.
    pub(crate) permutation: Vec<usize>,
}

/// The rules a rule's conditions read, found by walking its condition graph.
fn reads(exprs: &[Expr], roots: &[ExprId]) -> BTreeSet<RuleId> {
    let mut out = BTreeSet::new();
    let mut stack: Vec<ExprId> = roots.to_vec();
    let mut seen = vec![false; exprs.len()];
    while let Some(id) = stack.pop() {
        let Some(flag) = seen.get_mut(id.index()) else {
            continue;
        };
        if *flag {
            continue;
        }
        *flag = true;
        match exprs.get(id.index()) {
            Some(Expr::RuleFired(r)) => {
                out.insert(*r);
            }
            Some(Expr::And(items) | Expr::Or(items) | Expr::AtLeast { items, .. }) => {
                stack.extend(items)
            }
            Some(Expr::Not(inner) | Expr::Scope { expr: inner, .. }) => stack.push(*inner),
            _ => {}
        }
    }
    out
}

/// Orders rules so that each comes after those it depends on; cycles are errors.
pub(crate) fn topological(
    mut rules: Vec<crate::ir::Rule>,
    exprs: &[Expr],
) -> Result<Ordered, Vec<Diagnostic>> {
    let n = rules.len();
    let mut deps: Vec<BTreeSet<usize>> = Vec::with_capacity(n);
    for rule in &mut rules {
        let mut roots = vec![rule.when];
        roots.extend(rule.applies);
        roots.extend(rule.fixes.iter().filter_map(|f| f.verify));
        let read = reads(exprs, &roots);
        rule.depends_on = read.iter().copied().collect();
        let mut d: BTreeSet<usize> = read.iter().map(|r| r.index()).collect();
        d.extend(rule.supersedes.iter().map(|r| r.index()));
        deps.push(d);
    }
    // Depth-first search, in declaration order, so the order is deterministic.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut marks = vec![Mark::New; n];
    let mut order = Vec::with_capacity(n);
    let mut errors = Vec::new();
    for start in 0..n {
        if marks.get(start) != Some(&Mark::New) {
            continue;
        }
        // Iterative DFS: (node, next dependency index).
        let mut stack: Vec<(usize, Vec<usize>)> = vec![(
            start,
            deps.get(start)
                .map(|d| d.iter().rev().copied().collect())
                .unwrap_or_default(),
        )];
        if let Some(m) = marks.get_mut(start) {
            *m = Mark::Active;
        }
        while let Some((node, pending)) = stack.last_mut() {
            let node = *node;
            match pending.pop() {
                Some(next) => match marks.get(next).copied() {
                    Some(Mark::New) => {
                        if let Some(m) = marks.get_mut(next) {
                            *m = Mark::Active;
                        }
                        let next_deps = deps
                            .get(next)
                            .map(|d| d.iter().rev().copied().collect())
                            .unwrap_or_default();
                        stack.push((next, next_deps));
                    }
                    Some(Mark::Active) => {
                        let cycle_start = stack.iter().position(|(r, _)| *r == next).unwrap_or(0);
                        let names: Vec<String> = stack
                            .iter()
                            .skip(cycle_start)
                            .filter_map(|(r, _)| rules.get(*r).map(|x| format!("`{}`", x.id)))
                            .collect();
                        if let Some(rule) = rules.get(node) {
                            let path = format!(
                                "{} → `{}`",
                                names.join(" → "),
                                rules.get(next).map_or("?", |r| r.id.as_str())
                            );
                            let reference = rule
                                .references
                                .iter()
                                .find(|(r, _)| r.index() == next)
                                .map(|(_, span)| *span);
                            let mut d = Diagnostic::new(
                                Code::RuleCycle,
                                reference.unwrap_or(rule.id_span),
                                format!("rules depend on each other in a cycle: {path}"),
                            )
                            .with_label(if next == node {
                                "this rule depends on itself".to_string()
                            } else {
                                "this reference closes the cycle".to_string()
                            })
                            .with_help(
                                "a rule cannot depend on its own verdict, through `rule …` references or `supersedes`; \
                                 remove one link",
                            );
                            if let Some(other) = rules.get(next)
                                && next != node
                            {
                                d = d.with_secondary(
                                    other.id_span,
                                    format!("`{}` is here", other.id),
                                );
                            }
                            errors.push(d);
                        }
                    }
                    _ => {}
                },
                None => {
                    if let Some(m) = marks.get_mut(node) {
                        *m = Mark::Done;
                    }
                    order.push(node);
                    stack.pop();
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut permutation = vec![0; n];
    for (new, &old) in order.iter().enumerate() {
        if let Some(p) = permutation.get_mut(old) {
            *p = new;
        }
    }
    let mut slots: Vec<Option<crate::ir::Rule>> = rules.into_iter().map(Some).collect();
    let rules = order
        .iter()
        .filter_map(|&old| slots.get_mut(old).and_then(Option::take))
        .collect();
    Ok(Ordered { rules, permutation })
}

/// Rewrites rule ids after reordering.
pub(crate) fn renumber(graph: &mut RuleGraph, permutation: &[usize]) {
    let map =
        |id: RuleId| RuleId::from_index(permutation.get(id.index()).copied().unwrap_or(id.index()));
    for expr in &mut graph.exprs {
        if let Expr::RuleFired(r) = expr {
            *r = map(*r);
        }
    }
    for rule in &mut graph.rules {
        for r in rule.supersedes.iter_mut().chain(rule.depends_on.iter_mut()) {
            *r = map(*r);
        }
        for (r, _) in &mut rule.references {
            *r = map(*r);
        }
    }
}
