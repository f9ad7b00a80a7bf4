//! Lints on conjunctions and disjunctions, and the `allow(…)` comments that silence lints.
//!
//! A lint is a warning with a code and a slug. `// allow(never-true)` (or `// allow(W0003)`,
//! several separated by commas) silences those lints on its own line and on the line after it.

use std::collections::{HashMap, HashSet};

use super::Checker;
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::ir::{self, Expr, ExprId, Predicate, ServiceTest};
use crate::source::{SourceId, Sources, Span};
use crate::syntax::lexer::{self, Token};

impl Checker<'_> {
    /// Warns about a condition repeated in one `and`/`or`, and an `and` that can never hold.
    pub(crate) fn lint_junction(&mut self, children: &[(ExprId, Span)], is_and: bool) {
        let mut seen: HashMap<ExprId, Span> = HashMap::new();
        for &(id, span) in children {
            if let Some(&first) = seen.get(&id) {
                self.error(
                    Diagnostic::new(Code::RepeatedCondition, span, "this condition is repeated")
                        .with_label("the same as an earlier condition")
                        .with_secondary(first, "first here")
                        .with_help(format!(
                            "remove the copy; a repeated condition changes nothing in an `{}`",
                            if is_and { "and" } else { "or" }
                        )),
                );
            } else {
                seen.insert(id, span);
            }
        }
        if !is_and {
            return;
        }
        // Only conditions about the same thing can contradict each other: compare within
        // groups, so a long `and` costs linear time, not quadratic.
        let mut groups: HashMap<String, Vec<(ExprId, Span)>> = HashMap::new();
        for &(id, span) in children {
            groups.entry(self.subject(id)).or_default().push((id, span));
        }
        let mut keys: Vec<&String> = groups.keys().collect();
        keys.sort();
        for key in keys {
            let Some(group) = groups.get(key) else {
                continue;
            };
            for (i, &(a, a_span)) in group.iter().enumerate() {
                for &(b, b_span) in group.iter().skip(i + 1) {
                    let Some(why) = self.contradiction(a, b) else {
                        continue;
                    };
                    self.error(
                        Diagnostic::new(
                            Code::NeverTrue,
                            b_span,
                            "this condition can never be true",
                        )
                        .with_label(why)
                        .with_secondary(a_span, "contradicted by this")
                        .with_help(
                            "one of the two conditions is wrong; an `and` of them never holds",
                        ),
                    );
                    return;
                }
            }
        }
    }

    /// What a condition is about, for grouping: a negation is about what it negates.
    fn subject(&self, id: ExprId) -> String {
        let inner = match self.interner.expr_at(id) {
            Some(Expr::Not(inner)) => *inner,
            _ => id,
        };
        match self.interner.expr_at(inner) {
            Some(Expr::Pred { pred, .. }) => match self.interner.preds.get(pred.index()) {
                Some(Predicate::Service { name, .. }) => format!("service {}", name.to_lowercase()),
                Some(Predicate::RegistryKey { key, .. } | Predicate::RegistryValue { key, .. }) => {
                    format!("registry {:?} {}", key.hive, key.path.to_lowercase())
                }
                Some(Predicate::Component { name, .. }) => {
                    format!("component {}", name.to_lowercase())
                }
                Some(Predicate::File { path, .. }) => format!("file {}", path.to_lowercase()),
                _ => format!("expr {}", inner.index()),
            },
            _ => format!("expr {}", inner.index()),
        }
    }

    /// Why two conditions cannot both hold, if they cannot.
    fn contradiction(&self, a: ExprId, b: ExprId) -> Option<String> {
        let ea = self.interner.expr_at(a)?;
        let eb = self.interner.expr_at(b)?;
        if *ea == Expr::Not(b) || *eb == Expr::Not(a) {
            return Some("it is the negation of the other".to_string());
        }
        let (Expr::Pred { pred: pa, .. }, Expr::Pred { pred: pb, .. }) = (ea, eb) else {
            return None;
        };
        let pa = self.interner.preds.get(pa.index())?;
        let pb = self.interner.preds.get(pb.index())?;
        predicate_conflict(pa, pb).or_else(|| predicate_conflict(pb, pa))
    }
}

fn predicate_conflict(a: &Predicate, b: &Predicate) -> Option<String> {
    use ServiceTest as S;
    match (a, b) {
        (Predicate::Service { name: n1, test: t1 }, Predicate::Service { name: n2, test: t2 })
            if n1.eq_ignore_ascii_case(n2) =>
        {
            let conflict = match (t1, t2) {
                (S::State(x), S::State(y)) => x != y,
                (S::Start(x), S::Start(y)) => x != y,
                (
                    S::Absent,
                    S::Present
                    | S::State(_)
                    | S::Start(_)
                    | S::Account(_)
                    | S::Image(_)
                    | S::DependsOn(_),
                ) => true,
                _ => false,
            };
            conflict.then(|| format!("service `{n1}` cannot be both at once"))
        }
        (
            Predicate::RegistryKey {
                key: k1,
                exists: true,
            },
            Predicate::RegistryKey {
                key: k2,
                exists: false,
            },
        ) if keys_equal(k1, k2) => Some(format!("key `{k1}` cannot both exist and be missing")),
        (
            Predicate::RegistryValue {
                key: k1,
                name: n1,
                test: ir::ValueTest::Missing,
                ..
            },
            Predicate::RegistryValue {
                key: k2,
                name: n2,
                test,
                ..
            },
        ) if keys_equal(k1, k2)
            // Under a pattern, one key may lack the value and another have it.
            && !k1.is_pattern()
            && n1.eq_ignore_ascii_case(n2)
            && *test != ir::ValueTest::Missing =>
        {
            Some(format!("value `{n1}` cannot be missing and have data"))
        }
        (
            Predicate::RegistryKey {
                key: k1,
                exists: false,
            },
            Predicate::RegistryValue {
                key: k2,
                name,
                test,
                ..
            },
        ) if keys_equal(k1, k2) && *test != ir::ValueTest::Missing => {
            Some(format!("value `{name}` cannot exist in a missing key"))
        }
        (
            Predicate::Component {
                name: n1,
                present: true,
            },
            Predicate::Component {
                name: n2,
                present: false,
            },
        ) if n1.eq_ignore_ascii_case(n2) => {
            Some(format!("component `{n1}` cannot be present and absent"))
        }
        (
            Predicate::File {
                path: p1,
                test: ir::FileTest::Missing,
            },
            Predicate::File { path: p2, test },
        ) if p1.eq_ignore_ascii_case(p2) && *test != ir::FileTest::Missing => {
            Some(format!("file `{p1}` cannot be missing and exist"))
        }
        _ => None,
    }
}

fn keys_equal(a: &ir::RegKey, b: &ir::RegKey) -> bool {
    a.hive == b.hive && a.path.eq_ignore_ascii_case(&b.path)
}

/// The lints each line silences, from `allow(…)` comments; unknown names are warned about.
fn allowed_lines(
    sources: &Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> HashMap<(SourceId, u32), HashSet<Code>> {
    let mut allowed: HashMap<(SourceId, u32), HashSet<Code>> = HashMap::new();
    for (id, file) in sources.iter() {
        let text = file.text();
        for t in lexer::tokens(text) {
            if t.token != Some(Token::LineComment) {
                continue;
            }
            let comment = text.get(t.start..t.end).unwrap_or("");
            let body = comment.trim_start_matches('/').trim();
            let Some(list) = body
                .strip_prefix("allow(")
                .and_then(|r| r.split(')').next())
            else {
                continue;
            };
            let line = file
                .line_col(u32::try_from(t.start).unwrap_or(u32::MAX))
                .line;
            for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                match Code::parse(name).filter(|c| c.severity() == Severity::Warning) {
                    Some(code) => {
                        for l in [line, line + 1] {
                            allowed.entry((id, l)).or_default().insert(code);
                        }
                    }
                    None => {
                        let offset = comment.find(name).unwrap_or(0);
                        let span = Span::new(id, t.start + offset, t.start + offset + name.len());
                        let lints: Vec<&str> = Code::ALL
                            .iter()
                            .filter(|c| c.severity() == Severity::Warning)
                            .map(|c| c.slug())
                            .collect();
                        let mut d = Diagnostic::new(
                            Code::UnknownLint,
                            span,
                            format!("`{name}` is not a lint"),
                        )
                        .with_label("unknown lint");
                        d = match crate::diagnostics::did_you_mean(name, lints.iter().copied()) {
                            Some(near) => d
                                .with_help(format!("did you mean `{near}`?"))
                                .with_suggestion(span, near),
                            None => d.with_help(format!(
                                "only warnings can be allowed; the lints are {}",
                                lints
                                    .iter()
                                    .map(|l| format!("`{l}`"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )),
                        };
                        diagnostics.push(d);
                    }
                }
            }
        }
    }
    allowed
}

/// Drops the warnings that an `allow(…)` comment silences.
pub(crate) fn apply_allow_comments(sources: &Sources, diagnostics: &mut Vec<Diagnostic>) {
    let allowed = allowed_lines(sources, diagnostics);
    if allowed.is_empty() {
        return;
    }
    diagnostics.retain(|d| {
        if d.severity != Severity::Warning {
            return true;
        }
        let Some(span) = d.span else { return true };
        let Some(file) = sources.get(span.source) else {
            return true;
        };
        let line = file.line_col(span.start).line;
        !allowed
            .get(&(span.source, line))
            .is_some_and(|codes| codes.contains(&d.code))
    });
}
