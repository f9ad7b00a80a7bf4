//! A rule's verdict from its search, and the explanation behind it: the condition tree with a
//! value, evidence, observations and needs at every node.

use super::Truth;
use super::report::{Evidence, Failure, FixReport, Need, Severity, Verdict, VerdictKind};
use super::search::{Env, Evaluator, Explained, Search, Slot, bound_event, candidates};
use super::session::Got;
use crate::ir::{self, Expr, ExprId, Fix, Rule, RuleSeverity, Template, TemplatePart};

/// A decided rule: its verdict, and the explained `applies` and `when` conditions.
#[derive(Debug, Clone)]
pub(crate) struct Decided {
    pub(crate) verdict: Verdict,
    pub(crate) applies: Option<Explained>,
    pub(crate) when: Explained,
}

impl Evaluator<'_, '_> {
    /// Decides a rule.
    pub(crate) fn decide(&self, rule: &Rule) -> Decided {
        self.start_rule();
        *self.names.borrow_mut() = rule.bindings.iter().map(|b| b.name.clone()).collect();
        let slots = rule.bindings.len();

        // The guard alone says whether the rule applies at all.
        let applies_value = match rule.applies {
            Some(applies) => {
                let mut search = Search::default();
                self.solve(
                    &mut vec![applies],
                    &mut Env::new(slots),
                    Truth::True,
                    &mut search,
                )
            }
            None => Truth::True,
        };

        // Then the guard and the symptoms together: the guard may bind names the symptoms use.
        let mut goals = vec![rule.when];
        goals.extend(rule.applies);
        let mut search = Search::default();
        let value = if applies_value == Truth::False {
            Truth::False
        } else {
            self.solve(&mut goals, &mut Env::new(slots), Truth::True, &mut search)
        };
        let limit_hit = self.limit_hit();
        let mut env = search.witness.unwrap_or_else(|| Env::new(slots));

        let applies = rule.applies.map(|a| self.explain(a, &mut env));
        let when = self.explain(rule.when, &mut env);

        let kind = match (applies_value, value) {
            (Truth::False, _) => VerdictKind::NotApplicable,
            (_, Truth::True) => VerdictKind::Fired,
            (_, Truth::False) => VerdictKind::NotFired,
            (_, Truth::Unknown) => VerdictKind::NotEvaluable,
        };
        let mut verdict = Verdict {
            rule: rule.id.clone(),
            title: rule.title.clone(),
            severity: match rule.severity {
                RuleSeverity::Info => Severity::Info,
                RuleSeverity::Warning => Severity::Warning,
                RuleSeverity::Error => Severity::Error,
            },
            tags: rule.tags.clone(),
            verdict: kind,
            diagnosis: None,
            evidence: Vec::new(),
            warnings: Vec::new(),
            steps: Vec::new(),
            fixes: Vec::new(),
            see: Vec::new(),
            failed: None,
            needs: Vec::new(),
            superseded_by: None,
        };
        match kind {
            VerdictKind::Fired => {
                verdict.diagnosis = rule.diagnose.as_ref().map(|t| self.render(t, &env));
                if let Some(a) = &applies {
                    collect_evidence(a, &mut verdict.evidence);
                }
                collect_evidence(&when, &mut verdict.evidence);
                verdict.warnings = rule.warnings.iter().map(|t| self.render(t, &env)).collect();
                verdict.steps = rule.steps.iter().map(|t| self.render(t, &env)).collect();
                verdict.fixes = rule
                    .fixes
                    .iter()
                    .map(|f| fix_report(self, &f.fix, f.verify))
                    .collect();
                verdict.see = rule.see.clone();
            }
            VerdictKind::NotFired => verdict.failed = first_failure(&when),
            VerdictKind::NotApplicable => verdict.failed = applies.as_ref().and_then(first_failure),
            VerdictKind::NotEvaluable => {
                if let Some(a) = &applies {
                    collect_needs(a, &mut verdict.needs);
                }
                collect_needs(&when, &mut verdict.needs);
                if limit_hit {
                    verdict.needs.push(Need::Limit {
                        limit: format!("search step limit ({})", self.session.limits.max_steps),
                    });
                }
                verdict.needs.sort();
                verdict.needs.dedup();
            }
            VerdictKind::Superseded => {}
        }
        Decided {
            verdict,
            applies,
            when,
        }
    }

    /// Fills a rule's text in from the assignment.
    fn render(&self, template: &Template, env: &Env) -> String {
        template
            .parts
            .iter()
            .map(|part| match part {
                TemplatePart::Text(t) => t.clone(),
                TemplatePart::Value(v) => match self.session.value(v, env) {
                    // The text shows a version's numbers; `{p.sp}` shows its service pack.
                    Got::Value(super::value::Val::Version(v)) => v
                        .parts
                        .iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join("."),
                    Got::Value(v) => v.display(),
                    Got::Absent(why) => format!("({why})"),
                    Got::Unknown(need) => format!("(unknown: {need})"),
                },
            })
            .collect()
    }

    /// Describes a condition as the rules write it.
    pub(crate) fn describe(&self, id: ExprId) -> String {
        let graph = self.session.graph;
        let names = self.names.borrow();
        if let Some(name) = self.conditions.get(&id) {
            return format!("condition {name}");
        }
        let pred = |p: ir::PredId| {
            graph
                .predicate(p)
                .map(|p| ir::describe(graph, p))
                .unwrap_or_default()
        };
        let bound = |s: Option<ir::SlotId>| match s.and_then(|s| names.get(s.index())) {
            Some(name) => format!(" as {name}"),
            None => String::new(),
        };
        match graph.expr(id) {
            Some(Expr::Pred { pred: p, bind }) => format!("{}{}", pred(*p), bound(*bind)),
            Some(Expr::And(_)) => "all of".into(),
            Some(Expr::Or(_)) => "any of".into(),
            Some(Expr::Not(_)) => "not".into(),
            Some(Expr::AtLeast { n, .. }) => format!("{n} of"),
            Some(Expr::FollowedBy {
                first,
                first_bind,
                then,
                then_bind,
                within,
            }) => {
                let mut s = format!(
                    "{}{} followed by {}{}",
                    pred(*first),
                    bound(*first_bind),
                    pred(*then),
                    bound(*then_bind)
                );
                if let Some(w) = within {
                    s.push_str(&format!(" within {}", ir::duration(*w)));
                }
                s
            }
            Some(Expr::Count {
                pred: p,
                op,
                n,
                within,
            }) => {
                let mut s = format!("count({}) {} {n}", pred(*p), op.as_str());
                if let Some(w) = within {
                    s.push_str(&format!(" within {}", ir::duration(*w)));
                }
                s
            }
            Some(Expr::Compare { left, op, right }) => {
                let l = ir::value_named(graph, left, &names);
                match op {
                    ir::CompareOp::Cmp(c) => {
                        format!(
                            "{l} {} {}",
                            c.as_str(),
                            ir::value_named(graph, right, &names)
                        )
                    }
                    ir::CompareOp::Match(_) => format!("{l} {}", ir::compare_op(graph, op)),
                }
            }
            Some(Expr::RuleFired(r)) => {
                format!("rule {}", graph.rule(*r).map_or("?", |r| r.id.as_str()))
            }
            Some(Expr::Scope { .. }) | None => "condition".into(),
        }
    }

    /// Explains a condition under an assignment. Names the assignment leaves unbound (the
    /// search found no way to make the condition hold) are bound to their first item, so that
    /// the comparisons that read them can show values.
    pub(crate) fn explain(&self, id: ExprId, env: &mut Env) -> Explained {
        let condition = self.describe(id);
        let Some(expr) = self.session.graph.expr(id) else {
            return Explained::leaf_unknown(condition);
        };
        match expr {
            Expr::Pred { pred, bind } => {
                let outcome = self.session.outcome(*pred);
                if let Some(slot) = bind
                    && matches!(env.get(*slot), Slot::Unbound)
                    && let Some(item) = candidates(&outcome.items).first()
                {
                    env.set_slot(*slot, Slot::Item(*item, *pred));
                }
                let mut node = Explained::new(condition, outcome.truth);
                let more = outcome.items.len().saturating_sub(1);
                match bind.map(|s| env.get(s).clone()) {
                    Some(Slot::Item(item, p)) => {
                        node.value = Truth::True;
                        node.evidence.push(self.session.evidence(item, p, more));
                    }
                    Some(Slot::Unknown(need)) => {
                        node.value = Truth::Unknown;
                        node.needs.push(need);
                    }
                    _ => match outcome.truth {
                        Truth::True => match candidates(&outcome.items).first() {
                            Some(item) => {
                                node.evidence
                                    .push(self.session.evidence(*item, *pred, more));
                            }
                            // A question answered yes by what is not there.
                            None => node.evidence.extend(
                                outcome
                                    .observed
                                    .iter()
                                    .map(|what| Evidence::Absent { what: what.clone() }),
                            ),
                        },
                        Truth::False => node.observed = self.session.observed(*pred),
                        Truth::Unknown => node.needs = outcome.needs.clone(),
                    },
                }
                node
            }
            Expr::And(items) | Expr::Or(items) | Expr::AtLeast { items, .. } => {
                // Bind first, so that comparisons see the items; show in written order.
                let prepared = self.session.prepared;
                let mut explained: Vec<(usize, Explained)> = Vec::new();
                let order = items
                    .iter()
                    .enumerate()
                    .filter(|(_, i)| prepared.binds(**i))
                    .chain(
                        items
                            .iter()
                            .enumerate()
                            .filter(|(_, i)| !prepared.binds(**i)),
                    );
                for (at, item) in order {
                    explained.push((at, self.explain(*item, env)));
                }
                explained.sort_by_key(|(at, _)| *at);
                let children: Vec<Explained> = explained.into_iter().map(|(_, e)| e).collect();
                let values: Vec<Truth> = children.iter().map(|c| c.value).collect();
                let value = match expr {
                    Expr::And(_) => values.iter().fold(Truth::True, |a, v| a.and(*v)),
                    Expr::Or(_) => values.iter().fold(Truth::False, |a, v| a.or(*v)),
                    Expr::AtLeast { n, .. } => super::search::at_least(*n, &values),
                    _ => Truth::Unknown,
                };
                let mut node = Explained::new(condition, value);
                node.children = children;
                node
            }
            Expr::Not(inner) => {
                let child = self.explain(*inner, env);
                let mut node = Explained::new(condition, child.value.not());
                if node.value == Truth::True {
                    node.evidence.push(Evidence::Absent {
                        what: match &child.observed {
                            // A comparison's observation is its two values: say which.
                            Some(o)
                                if matches!(
                                    self.session.graph.expr(*inner),
                                    Some(Expr::Compare { .. })
                                ) =>
                            {
                                format!("{} does not hold: {o}", child.condition)
                            }
                            Some(o) => o.clone(),
                            None => format!("{} does not hold", child.condition),
                        },
                    });
                }
                node.children.push(child);
                node
            }
            Expr::FollowedBy {
                first,
                first_bind,
                then,
                then_bind,
                within,
            } => {
                let value = self.value(id, env);
                let mut node = Explained::new(condition, value);
                let bound = |s: &Option<ir::SlotId>| bound_event(env, *s).flatten();
                let pair = match (bound(first_bind), bound(then_bind)) {
                    (Some(a), Some(b)) => Some((a, b)),
                    _ => self.pairs(*first, *then, *within).first().copied(),
                };
                // Names the search left unbound take the first pair, so that the comparisons
                // that read them show values.
                if let Some((a, b)) = pair {
                    for (slot, e, p) in [(first_bind, a, first), (then_bind, b, then)] {
                        if let Some(s) = slot
                            && matches!(env.get(*s), Slot::Unbound)
                        {
                            env.set_slot(*s, Slot::Item(super::session::Item::Event(e), *p));
                        }
                    }
                }
                match (value, pair) {
                    (Truth::True, Some((a, b))) => {
                        for (e, p) in [(a, *first), (b, *then)] {
                            node.evidence.push(self.session.evidence(
                                super::session::Item::Event(e),
                                p,
                                0,
                            ));
                        }
                    }
                    (Truth::False, _) => {
                        let a = self.session.outcome(*first).items.len();
                        let b = self.session.outcome(*then).items.len();
                        let window = if within.is_some() {
                            " within the window"
                        } else {
                            ""
                        };
                        node.observed = Some(match (a, b) {
                            (0, _) => "no event matched the first condition".to_string(),
                            (_, 0) => "no event matched the second condition".to_string(),
                            _ => format!(
                                "{} matched the first condition and {b} the second, but none in that order{window}",
                                plural(a as u64, "event"),
                            ),
                        });
                    }
                    (Truth::Unknown, _) => {
                        for p in [first, then] {
                            node.needs
                                .extend(self.session.outcome(*p).needs.iter().cloned());
                        }
                    }
                    _ => {}
                }
                node
            }
            Expr::Count {
                pred,
                op,
                n,
                within,
            } => {
                let (count, open) = self.count(*pred, *within);
                let value = super::search::count_truth(count, open, *op, *n);
                let mut node = Explained::new(condition.clone(), value);
                match value {
                    Truth::True => node.evidence.push(Evidence::Count { condition, count }),
                    Truth::False => {
                        node.observed = Some(match within {
                            Some(_) => format!("at most {count} matching events in any window"),
                            None => plural(count, "matching event"),
                        });
                    }
                    Truth::Unknown => node.needs = self.session.outcome(*pred).needs.clone(),
                }
                node
            }
            Expr::Compare { left, op, right } => {
                let (value, l, r) = self.compare(id, left, op, right, env);
                let mut node = Explained::new(condition.clone(), value);
                let show = |g: &Got| match g {
                    Got::Value(v) => v.display(),
                    Got::Absent(why) => format!("({why})"),
                    Got::Unknown(need) => format!("(unknown: {need})"),
                };
                match value {
                    Truth::True => node.evidence.push(Evidence::Comparison {
                        condition,
                        left: show(&l),
                        right: show(&r),
                    }),
                    Truth::False => {
                        node.observed = Some(format!("{} vs {}", show(&l), show(&r)));
                    }
                    Truth::Unknown => {
                        for g in [&l, &r] {
                            if let Got::Unknown(need) = g {
                                node.needs.push(need.clone());
                            }
                        }
                    }
                }
                node
            }
            Expr::RuleFired(rule) => {
                let value = self.value(id, env);
                let mut node = Explained::new(condition, value);
                let verdict = self.verdicts.borrow().get(rule.index()).copied().flatten();
                let name = self
                    .session
                    .graph
                    .rule(*rule)
                    .map(|r| r.id.clone())
                    .unwrap_or_default();
                match (value, verdict) {
                    (Truth::True, Some(v)) => node.evidence.push(Evidence::Rule {
                        rule: name,
                        verdict: v,
                    }),
                    (Truth::False, Some(v)) => {
                        node.observed = Some(format!("rule {name} is {}", v.as_str()))
                    }
                    _ => {
                        node.needs = self
                            .needs
                            .borrow()
                            .get(rule.index())
                            .cloned()
                            .unwrap_or_default()
                    }
                }
                node
            }
            Expr::Scope { expr, slots } => {
                let (value, mut inner_env) = self.scope(*expr, *slots);
                let inner_names = self.scope_names.get(expr).cloned().unwrap_or_default();
                let outer = std::mem::replace(&mut *self.names.borrow_mut(), inner_names);
                let child = self.explain(*expr, &mut inner_env);
                *self.names.borrow_mut() = outer;
                let mut node = Explained::new(condition, value);
                node.children.push(child);
                node
            }
        }
    }
}

impl Explained {
    fn new(condition: String, value: Truth) -> Explained {
        Explained {
            condition,
            value,
            evidence: Vec::new(),
            observed: None,
            needs: Vec::new(),
            children: Vec::new(),
        }
    }

    fn leaf_unknown(condition: String) -> Explained {
        Explained::new(condition, Truth::Unknown)
    }
}

/// The evidence of the conditions that hold, along the paths that make the whole hold.
fn collect_evidence(node: &Explained, out: &mut Vec<Evidence>) {
    if node.value != Truth::True {
        return;
    }
    out.extend(node.evidence.iter().cloned());
    for child in &node.children {
        if child.value == Truth::True || node.condition != "not" {
            collect_evidence(child, out);
        }
    }
}

/// The first condition that does not hold, in written order, as deep as it can be pinned.
fn first_failure(node: &Explained) -> Option<Failure> {
    if node.value != Truth::False {
        return None;
    }
    if (node.condition == "all of" || node.condition.starts_with("condition "))
        && let Some(found) = node.children.iter().find_map(first_failure)
    {
        return Some(found);
    }
    if node.condition == "not"
        && let [child] = node.children.as_slice()
    {
        // The condition under `not` holds: what it matched is what was observed.
        let seen: Vec<String> = child.evidence.iter().map(ToString::to_string).collect();
        return Some(Failure {
            condition: format!("not {}", child.condition),
            observed: (!seen.is_empty()).then(|| seen.join("; ")),
        });
    }
    let observed = node.observed.clone().or_else(|| {
        let seen: Vec<String> = node
            .children
            .iter()
            .filter_map(|c| c.observed.clone())
            .collect();
        (!seen.is_empty()).then(|| seen.join("; "))
    });
    Some(Failure {
        condition: node.condition.clone(),
        observed,
    })
}

/// What must be collected for the undecided conditions to be decided.
fn collect_needs(node: &Explained, out: &mut Vec<Need>) {
    if node.value != Truth::Unknown {
        return;
    }
    out.extend(node.needs.iter().cloned());
    for child in &node.children {
        collect_needs(child, out);
    }
}

/// `1 event`, `2 events`.
pub(crate) fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn fix_report(ev: &Evaluator<'_, '_>, fix: &Fix, verify: Option<ExprId>) -> FixReport {
    let (kind, what) = match fix {
        Fix::Install(what) => ("install", what.clone()),
        Fix::Hotfix(id) => ("hotfix", id.clone()),
        Fix::RegistrySet {
            key,
            value,
            ty,
            data,
        } => (
            "registry_set",
            format!(
                "{key}\\{value}{} = {}",
                ty.map(|t| format!(" ({})", t.as_str())).unwrap_or_default(),
                super::value::Val::from_const(data).display()
            ),
        ),
        Fix::RegistryDelete { key, value } => (
            "registry_delete",
            match value {
                Some(v) => format!("{key}\\{v}"),
                None => key.to_string(),
            },
        ),
        Fix::RestartService(name) => ("restart_service", name.clone()),
        Fix::RestartComputer => ("restart_computer", String::new()),
        Fix::Reinstall(what) => ("reinstall", what.clone()),
        Fix::Run(command) => ("run", command.clone()),
    };
    FixReport {
        kind,
        what,
        verify: verify.map(|v| ev.describe_tree(v)),
    }
}

impl Evaluator<'_, '_> {
    /// A whole condition on one line, for a fix's `verify`.
    fn describe_tree(&self, id: ExprId) -> String {
        let head = self.describe(id);
        let children: Vec<ExprId> = match self.session.graph.expr(id) {
            Some(Expr::And(items) | Expr::Or(items) | Expr::AtLeast { items, .. }) => items.clone(),
            Some(Expr::Not(inner)) => vec![*inner],
            _ => return head,
        };
        if head.starts_with("condition ") {
            return head;
        }
        let parts: Vec<String> = children.iter().map(|c| self.describe_tree(*c)).collect();
        match self.session.graph.expr(id) {
            Some(Expr::And(_)) => parts.join(" and "),
            Some(Expr::Or(_)) => format!("({})", parts.join(" or ")),
            Some(Expr::Not(_)) => format!("not ({})", parts.join("")),
            _ => format!("{head} ({})", parts.join(", ")),
        }
    }
}
