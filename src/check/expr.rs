//! Conditions, predicates, values and templates: AST to IR with types and bindings.
//!
//! Bindings (`as NAME`) are collected per rule or named condition before lowering, so a
//! comparison may come before the predicate that binds its name. A name may be used where it is
//! certainly bound: by a sibling of an `and`, or by the rule's `when` for text and fixes.

use std::collections::{HashMap, HashSet};

use super::{Checker, values};
use crate::ast::{self, CmpOp, ExprKind, MatchOp, Node, Op, OperandKind, Quantity};
use crate::diagnostics::{Code, Diagnostic, did_you_mean};
use crate::ir::{
    self, BindingKind, CompareOp, Const, EventFilter, Expr, ExprId, Property, Template,
    TemplatePart, TextMatch, Type, Value,
};
use crate::source::Span;

/// The largest compiled size of a regular expression, in bytes.
pub const MAX_REGEX_SIZE: usize = 8 << 20;

/// Capture groups of an event binding's message match.
#[derive(Debug, Clone, Default)]
pub(crate) struct Captures {
    count: u32,
    names: Vec<String>,
}

/// The binding scope of one rule or named condition.
#[derive(Debug, Default)]
pub(crate) struct Ctx {
    pub(crate) slots: Vec<ir::Binding>,
    pub(crate) by_name: HashMap<String, usize>,
    pub(crate) captures: HashMap<usize, Captures>,
    pub(crate) used: HashSet<usize>,
    /// Names given to something that cannot be bound (reported once, at the `as`).
    pub(crate) unbindable: HashSet<String>,
    /// Lowering an `applies` clause: only products and systems.
    pub(crate) applies: bool,
    /// Rules referenced directly, with where.
    pub(crate) rule_refs: Vec<(ir::RuleId, Span)>,
    pub(crate) errors: usize,
}

/// The names an expression certainly binds when it holds.
pub(crate) fn binds(expr: &ast::Expr) -> HashSet<String> {
    match &expr.node {
        ExprKind::Predicate {
            binding: Some(b), ..
        } => HashSet::from([b.node.clone()]),
        ExprKind::And(items) => items.iter().flat_map(binds).collect(),
        ExprKind::Quantifier { quantity, items }
            if quantity.node == Quantity::All
                || quantity.node == Quantity::AtLeast(items.len() as u64) =>
        {
            items.iter().flat_map(binds).collect()
        }
        ExprKind::Or(items) | ExprKind::Quantifier { items, .. } => {
            let mut sets = items.iter().map(binds);
            let first = sets.next().unwrap_or_default();
            sets.fold(first, |acc, s| acc.intersection(&s).cloned().collect())
        }
        ExprKind::FollowedBy { first, then, .. } => {
            binds(first).union(&binds(then)).cloned().collect()
        }
        _ => HashSet::new(),
    }
}

fn binding_kind(pred: &ast::Predicate) -> BindingKind {
    use ast::Predicate as P;
    match pred {
        P::Event(_) => BindingKind::Event,
        P::Registry(r) => match &r.test {
            ast::RegistryTest::Value { ty, .. } => {
                BindingKind::RegistryValue(ty.as_ref().and_then(|t| values::reg_type(t).ok()))
            }
            _ => BindingKind::RegistryKey,
        },
        P::Service(_) => BindingKind::Service,
        P::Product(_) => BindingKind::Product,
        P::Os(_) => BindingKind::Os,
        P::Hotfix(_) => BindingKind::Hotfix,
        P::File(_) => BindingKind::File,
        P::Component(_) => BindingKind::Component,
        P::Rule(_) => BindingKind::Rule,
    }
}

fn message_captures(event: &ast::EventPred) -> Captures {
    let mut captures = Captures::default();
    for f in &event.filters {
        // Parsed, not compiled: the pattern is compiled once, when the condition is lowered.
        if let ast::EventFilter::Message(op, text) = &f.node
            && op.node == Op::Match(MatchOp::Regex)
            && let Ok(hir) = regex_syntax::Parser::new().parse(&text.node)
        {
            captures.count = u32::try_from(hir.properties().explicit_captures_len()).unwrap_or(0);
            captures.names.clear();
            capture_names(&hir, &mut captures.names);
        }
    }
    captures
}

/// The names of a pattern's named groups, in order.
fn capture_names(hir: &regex_syntax::hir::Hir, out: &mut Vec<String>) {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Capture(group) => {
            if let Some(name) = &group.name {
                out.push(name.to_string());
            }
            capture_names(&group.sub, out);
        }
        HirKind::Concat(items) | HirKind::Alternation(items) => {
            items.iter().for_each(|h| capture_names(h, out));
        }
        HirKind::Repetition(rep) => capture_names(&rep.sub, out),
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) | HirKind::Look(_) => {}
    }
}

impl Ctx {
    /// Collects the bindings of a rule's `when` and `fix … verify` conditions.
    pub(crate) fn collect_bindings(&mut self, checker: &mut Checker<'_>, rule: &ast::Rule) {
        for clause in &rule.clauses {
            match &clause.node {
                ast::Clause::When(e) | ast::Clause::Applies(e) => self.collect(checker, e),
                ast::Clause::Fix {
                    verify: Some(e), ..
                } => self.collect(checker, e),
                _ => {}
            }
        }
    }

    pub(crate) fn collect(&mut self, checker: &mut Checker<'_>, expr: &ast::Expr) {
        match &expr.node {
            ExprKind::Predicate {
                pred,
                binding: Some(b),
            } => {
                if let Some(&first) = self.by_name.get(&b.node) {
                    let first_span = self.slots.get(first).map_or(b.span, |s| s.span);
                    checker.error(
                        Diagnostic::new(
                            Code::DuplicateBinding,
                            b.span,
                            format!("`{}` is bound twice", b.node),
                        )
                        .with_label("bound again here")
                        .with_secondary(first_span, "first bound here")
                        .with_help("give each `as` its own name"),
                    );
                    return;
                }
                if let ast::Predicate::Rule(id) = &pred.node {
                    self.unbindable.insert(b.node.clone());
                    checker.error(
                        Diagnostic::new(Code::CannotBind, b.span, format!("`as {}` binds nothing", b.node))
                            .with_label("another rule's verdict is not an item")
                            .with_secondary(id.span, "this is a rule reference")
                            .with_help(format!(
                                "remove `as {}`; to cite what that rule found, repeat its condition here",
                                b.node
                            )),
                    );
                    return;
                }
                let slot = self.slots.len();
                self.by_name.insert(b.node.clone(), slot);
                self.slots.push(ir::Binding {
                    name: b.node.clone(),
                    kind: binding_kind(&pred.node),
                    span: b.span,
                });
                if let ast::Predicate::Event(e) = &pred.node {
                    let captures = message_captures(e);
                    for name in &captures.names {
                        if properties(BindingKind::Event)
                            .iter()
                            .any(|(p, _)| p == name)
                        {
                            let span = e
                                .filters
                                .iter()
                                .find(|f| matches!(f.node, ast::EventFilter::Message(..)))
                                .map_or(b.span, |f| f.span);
                            checker.error(
                                Diagnostic::new(
                                    Code::CaptureNameTaken,
                                    span,
                                    format!(
                                        "capture group `{name}` has the name of an event property"
                                    ),
                                )
                                .with_label(format!("`{}.{name}` would be ambiguous", b.node))
                                .with_help(format!("rename the group, like `(?P<{name}_text>…)`")),
                            );
                        }
                    }
                    self.captures.insert(slot, captures);
                }
            }
            ExprKind::Or(items) | ExprKind::And(items) | ExprKind::Quantifier { items, .. } => {
                for item in items {
                    self.collect(checker, item);
                }
            }
            ExprKind::Not(inner) => self.collect(checker, inner),
            ExprKind::FollowedBy { first, then, .. } => {
                self.collect(checker, first);
                self.collect(checker, then);
            }
            _ => {}
        }
    }
}

/// The conditions of a junction, looking through nested junctions of the same kind.
fn junction_leaves<'e>(expr: &'e ast::Expr, is_and: bool, out: &mut Vec<&'e ast::Expr>) {
    match &expr.node {
        ExprKind::And(items) if is_and => {
            items.iter().for_each(|i| junction_leaves(i, is_and, out))
        }
        ExprKind::Or(items) if !is_and => {
            items.iter().for_each(|i| junction_leaves(i, is_and, out))
        }
        _ => out.push(expr),
    }
}

/// What a binding of a kind offers: `(property, type)`; the first is the item's main value.
fn properties(kind: BindingKind) -> &'static [(&'static str, Type)] {
    match kind {
        BindingKind::Event => &[
            ("message", Type::Text),
            ("time", Type::Time),
            ("record_id", Type::Number),
            ("id", Type::Number),
            ("source", Type::Text),
            ("log", Type::Text),
            ("level", Type::Text),
            ("computer", Type::Text),
            ("data", Type::Any),
        ],
        BindingKind::RegistryValue(_) => &[
            ("data", Type::Any),
            ("name", Type::Text),
            ("type", Type::Text),
            ("count", Type::Number),
            ("key", Type::Text),
        ],
        BindingKind::RegistryKey => &[("path", Type::Text), ("name", Type::Text)],
        BindingKind::Service => &[
            ("state", Type::Text),
            ("name", Type::Text),
            ("display_name", Type::Text),
            ("start", Type::Text),
            ("account", Type::Text),
            ("image", Type::Text),
        ],
        BindingKind::Product | BindingKind::Os => &[
            ("version", Type::Version),
            ("name", Type::Text),
            ("sp", Type::Number),
        ],
        BindingKind::File => &[("version", Type::Version), ("path", Type::Text)],
        BindingKind::Hotfix | BindingKind::Component => &[("name", Type::Text)],
        BindingKind::Rule => &[("verdict", Type::Text)],
    }
}

fn main_type(kind: BindingKind) -> Type {
    match kind {
        BindingKind::RegistryValue(Some(ty)) => ty.value_type(),
        other => properties(other).first().map_or(Type::Any, |p| p.1),
    }
}

pub(crate) fn const_type(c: &Const) -> Type {
    match c {
        Const::Text(_) => Type::Text,
        Const::Number(_) => Type::Number,
        Const::Version(_) => Type::Version,
        Const::Bool(_) => Type::Bool,
        Const::Duration(_) => Type::Duration,
    }
}

pub(crate) fn literal_const(lit: &ast::Literal) -> Const {
    match lit {
        ast::Literal::Text(t) => Const::Text(t.clone()),
        ast::Literal::Integer(n) => Const::Number(*n),
        ast::Literal::Version(v) => Const::Version(ir::Version {
            parts: v.parts.clone(),
            sp: v.sp,
        }),
        ast::Literal::Bool(b) => Const::Bool(*b),
        ast::Literal::Duration(d) => Const::Duration(d.millis),
    }
}

fn describe_const(c: &Const) -> String {
    match c {
        Const::Text(t) => format!("\"{t}\""),
        Const::Number(n) => n.to_string(),
        Const::Version(v) => v.to_string(),
        Const::Bool(b) => b.to_string(),
        Const::Duration(d) => format!("{d}ms"),
    }
}

impl Checker<'_> {
    fn count_error(&mut self, ctx: &mut Ctx, d: Diagnostic) {
        ctx.errors += 1;
        self.error(d);
    }

    /// Lowers a condition; `None` when it has errors (already reported).
    /// A time window in milliseconds; an empty window is an error.
    fn window(
        &mut self,
        within: Option<&Node<ast::Duration>>,
        ctx: &mut Ctx,
    ) -> Result<Option<u64>, ()> {
        match within {
            Some(d) if d.millis == 0 => {
                let e = Diagnostic::new(Code::NumberOutOfRange, d.span, "a window of no time holds nothing")
                    .with_label("this window is empty")
                    .with_help("give the window a length, like `within 10m`, or leave `within` out for no limit");
                self.count_error(ctx, e);
                Err(())
            }
            other => Ok(other.map(|d| d.millis)),
        }
    }

    pub(crate) fn expr(
        &mut self,
        expr: &ast::Expr,
        ctx: &mut Ctx,
        scope: &HashSet<String>,
    ) -> Option<ExprId> {
        match &expr.node {
            ExprKind::And(items) | ExprKind::Or(items) => {
                let is_and = matches!(expr.node, ExprKind::And(_));
                let mut inner_scope = scope.clone();
                if is_and {
                    inner_scope.extend(binds(expr));
                }
                // Nested `and`s (and `or`s) are one junction: lowered and linted once, each
                // condition with its own span, so equal conditions are one node.
                let mut leaves = Vec::new();
                for item in items {
                    junction_leaves(item, is_and, &mut leaves);
                }
                let mut children = Vec::new();
                let mut failed = false;
                for item in leaves {
                    match self.expr(item, ctx, &inner_scope) {
                        Some(id) => {
                            // Flatten nested `and`s (and `or`s), so equal conditions are one node.
                            match self.interner.expr_at(id) {
                                Some(Expr::And(grand)) if is_and => {
                                    children
                                        .extend(grand.clone().into_iter().map(|g| (g, item.span)));
                                }
                                Some(Expr::Or(grand)) if !is_and => {
                                    children
                                        .extend(grand.clone().into_iter().map(|g| (g, item.span)));
                                }
                                _ => children.push((id, item.span)),
                            }
                        }
                        None => failed = true,
                    }
                }
                if failed {
                    return None;
                }
                self.lint_junction(&children, is_and);
                let ids = children.into_iter().map(|(id, _)| id).collect();
                Some(self.interner.expr(if is_and {
                    Expr::And(ids)
                } else {
                    Expr::Or(ids)
                }))
            }
            ExprKind::Not(inner) => {
                let id = self.expr(inner, ctx, scope)?;
                Some(self.interner.expr(Expr::Not(id)))
            }
            ExprKind::Quantifier { quantity, items } => {
                let len = items.len() as u64;
                let n = match quantity.node {
                    Quantity::Any => 1,
                    Quantity::All => len,
                    Quantity::AtLeast(n) => {
                        if n == 0 || n > len {
                            let d = Diagnostic::new(
                                Code::QuantityOutOfRange,
                                quantity.span,
                                format!("`{n} of` needs between 1 and {len} conditions to hold"),
                            )
                            .with_label(if n == 0 {
                                "`0 of` always holds".to_string()
                            } else {
                                format!("only {len} conditions are listed")
                            })
                            .with_help("use a number from 1 to the number of conditions, or `any of` / `all of`");
                            self.count_error(ctx, d);
                            return None;
                        }
                        n
                    }
                };
                let mut inner_scope = scope.clone();
                if n == len {
                    inner_scope.extend(binds(expr));
                }
                let mut ids = Vec::new();
                let mut failed = false;
                for item in items {
                    match self.expr(item, ctx, &inner_scope) {
                        Some(id) => ids.push(id),
                        None => failed = true,
                    }
                }
                if failed {
                    return None;
                }
                Some(self.interner.expr(match n {
                    1 => Expr::Or(ids),
                    n if n == len => Expr::And(ids),
                    n => Expr::AtLeast {
                        n: u32::try_from(n).unwrap_or(u32::MAX),
                        items: ids,
                    },
                }))
            }
            ExprKind::FollowedBy {
                first,
                then,
                within,
            } => {
                if ctx.applies {
                    self.not_in_applies(ctx, expr.span, "a sequence of events");
                    return None;
                }
                let window = self.window(within.as_ref(), ctx);
                let a = self.event_operand(first, ctx);
                let b = self.event_operand(then, ctx);
                let ((first, first_bind), (then, then_bind)) = (a?, b?);
                Some(self.interner.expr(Expr::FollowedBy {
                    first,
                    first_bind,
                    then,
                    then_bind,
                    within: window.ok()?,
                }))
            }
            ExprKind::Count {
                event,
                op,
                value,
                within,
            } => {
                if ctx.applies {
                    self.not_in_applies(ctx, expr.span, "an event count");
                    return None;
                }
                let ast::Predicate::Event(counted) = &event.node else {
                    let d = Diagnostic::new(Code::NotAnEvent, event.span, "`count(…)` counts events")
                        .with_label("this is not an event")
                        .with_help("count events, like `count(event System source \"Service Control Manager\" id 7031) >= 3`");
                    self.count_error(ctx, d);
                    return None;
                };
                let count_window = self.window(within.as_ref(), ctx).ok()?;
                let filter = self.event_filter(&Node::new(counted.clone(), event.span), ctx)?;
                let pred = self.interner.pred(ir::Predicate::Event(filter));
                Some(self.interner.expr(Expr::Count {
                    pred,
                    op: op.node,
                    n: value.node,
                    within: count_window,
                }))
            }
            ExprKind::Compare { left, op, right } => {
                if ctx.applies {
                    self.not_in_applies(ctx, expr.span, "a comparison");
                    // The names compared were meant as uses: no "never used" on top.
                    for operand in [left, right] {
                        if let OperandKind::Path(parts) = &operand.node
                            && let Some(&slot) =
                                parts.first().and_then(|h| ctx.by_name.get(&h.node))
                        {
                            ctx.used.insert(slot);
                        }
                    }
                    return None;
                }
                self.compare(left, op, right, ctx, scope)
            }
            ExprKind::Predicate { pred, binding } => {
                if let ast::Predicate::Rule(rule) = &pred.node {
                    if ctx.applies {
                        self.not_in_applies(ctx, pred.span, "a rule's verdict");
                        return None;
                    }
                    let Some(rid) = self.rule_ref(rule) else {
                        ctx.errors += 1;
                        return None;
                    };
                    ctx.rule_refs.push((rid, rule.span));
                    return Some(self.interner.expr(Expr::RuleFired(rid)));
                }
                let id = self.predicate(pred, ctx)?;
                let bind = binding
                    .as_ref()
                    .and_then(|b| ctx.by_name.get(&b.node))
                    .map(|&i| ir::SlotId::from_index(i));
                if let Some(ir::Predicate::Product { .. } | ir::Predicate::Os { .. }) =
                    self.interner.preds.get(id.index())
                {
                } else if ctx.applies {
                    self.not_in_applies(ctx, pred.span, "this condition");
                    return None;
                }
                Some(self.interner.expr(Expr::Pred { pred: id, bind }))
            }
            ExprKind::Ref(name) => self.reference(name, ctx),
        }
    }

    fn not_in_applies(&mut self, ctx: &mut Ctx, span: Span, what: &str) {
        let d = Diagnostic::new(
            Code::NotAllowedInApplies,
            span,
            format!("{what} cannot be part of `applies`"),
        )
        .with_label("not about a product or operating system")
        .with_help(
            "`applies` says which products and systems a rule is for; move symptoms to `when`",
        );
        self.count_error(ctx, d);
    }

    fn reference(&mut self, name: &ast::Ident, ctx: &mut Ctx) -> Option<ExprId> {
        if self.conditions.contains_key(&name.node) {
            self.used_conditions.insert(name.node.clone());
            if self.condition_in_progress(&name.node) {
                let start = self
                    .condition_stack
                    .iter()
                    .position(|c| *c == name.node)
                    .unwrap_or(0);
                let cycle: Vec<String> = self
                    .condition_stack
                    .iter()
                    .skip(start)
                    .chain(std::iter::once(&name.node))
                    .map(|c| format!("`{c}`"))
                    .collect();
                let message = if cycle.len() <= 2 {
                    format!("condition `{}` refers to itself", name.node)
                } else {
                    format!(
                        "conditions refer to each other in a cycle: {}",
                        cycle.join(" → ")
                    )
                };
                let d = Diagnostic::new(Code::ConditionCycle, name.span, message)
                .with_label("this reference closes a cycle")
                .with_help("a condition cannot depend on itself, directly or through others; break the cycle");
                self.count_error(ctx, d);
                return None;
            }
            if self.condition_depth >= super::MAX_CONDITION_DEPTH {
                if !self.condition_depth_reported {
                    self.condition_depth_reported = true;
                    let d = Diagnostic::new(
                        Code::NestingTooDeep,
                        name.span,
                        format!(
                            "named conditions refer to each other more than {} deep",
                            super::MAX_CONDITION_DEPTH
                        ),
                    )
                    .with_label("this reference is too deep")
                    .with_help(
                        "a chain of conditions this long is a mistake; refer to the condition at its end directly",
                    );
                    self.count_error(ctx, d);
                } else {
                    ctx.errors += 1;
                }
                return None;
            }
            let id = self.condition(&name.node)?;
            if ctx.applies && !self.applies_safe(id) {
                self.not_in_applies(ctx, name.span, &format!("condition `{}`", name.node));
                return None;
            }
            return Some(id);
        }
        if self.is_broken(ast::DeclKind::Condition, &name.node) {
            ctx.errors += 1;
            return None;
        }
        let d = if ctx.by_name.contains_key(&name.node) {
            Diagnostic::new(
                Code::UnknownCondition,
                name.span,
                format!("`{}` is a binding, not a condition", name.node),
            )
            .with_label("a binding holds an item, not a truth value")
            .with_help(format!(
                "compare it with a value, like `{}.data == \"…\"`",
                name.node
            ))
        } else {
            let near = did_you_mean(&name.node, self.conditions.keys().map(String::as_str))
                .map(str::to_string);
            // The condition probably meant is not reported as unused as well.
            self.used_conditions.extend(near);
            let names: Vec<&str> = self.conditions.keys().map(String::as_str).collect();
            self.unknown(Code::UnknownCondition, "condition", name, &names)
        };
        self.count_error(ctx, d);
        None
    }

    /// Whether a compiled condition asks only about products and systems.
    fn applies_safe(&self, id: ExprId) -> bool {
        match self.interner.expr_at(id) {
            Some(Expr::Pred { pred, .. }) => matches!(
                self.interner.preds.get(pred.index()),
                Some(ir::Predicate::Product { .. } | ir::Predicate::Os { .. })
            ),
            Some(Expr::And(items) | Expr::Or(items) | Expr::AtLeast { items, .. }) => {
                items.iter().all(|&i| self.applies_safe(i))
            }
            Some(Expr::Not(inner) | Expr::Scope { expr: inner, .. }) => self.applies_safe(*inner),
            _ => false,
        }
    }

    fn event_operand(
        &mut self,
        expr: &ast::Expr,
        ctx: &mut Ctx,
    ) -> Option<(ir::PredId, Option<ir::SlotId>)> {
        if let ExprKind::Predicate { pred, binding } = &expr.node
            && let ast::Predicate::Event(event) = &pred.node
        {
            let filter = self.event_filter(&Node::new(event.clone(), pred.span), ctx)?;
            let bind = binding
                .as_ref()
                .and_then(|b| ctx.by_name.get(&b.node))
                .map(|&i| ir::SlotId::from_index(i));
            return Some((self.interner.pred(ir::Predicate::Event(filter)), bind));
        }
        let d = Diagnostic::new(
            Code::NotAnEvent,
            expr.span,
            "`followed by` joins two events",
        )
        .with_label("this is not an event")
        .with_help(
            "write `event … followed by event … within 10m`; for other conditions use `and`",
        );
        self.count_error(ctx, d);
        None
    }

    pub(crate) fn text_match(
        &mut self,
        op: MatchOp,
        text: &ast::Text,
        ctx: &mut Ctx,
    ) -> Option<TextMatch> {
        match op {
            MatchOp::Contains => Some(TextMatch::Contains(text.node.clone())),
            MatchOp::Like => Some(TextMatch::Like(text.node.clone())),
            MatchOp::Regex => {
                if let Some(id) = self.interner.regex_id(&text.node) {
                    return Some(TextMatch::Regex(id));
                }
                let built = build_regex(&text.node);
                match built {
                    Ok(regex) => {
                        let id = self.interner.add_regex(ir::Regex {
                            pattern: text.node.clone(),
                            regex,
                        });
                        Some(TextMatch::Regex(id))
                    }
                    Err(regex::Error::CompiledTooBig(limit)) => {
                        let d = Diagnostic::new(
                            Code::RegexTooLarge,
                            text.span,
                            "regular expression is too large",
                        )
                        .with_label(format!("compiles to more than {limit} bytes"))
                        .with_help(
                            "bound repetitions less (`+` in place of `{1,500}`), use ASCII classes such as \
                             `[A-Za-z0-9_]` in place of `\\w`, or use `contains` for plain text",
                        );
                        self.count_error(ctx, d);
                        None
                    }
                    Err(err) => {
                        let message = err.to_string();
                        let reason = message
                            .lines()
                            .rev()
                            .find_map(|l| l.trim().strip_prefix("error: "))
                            .unwrap_or("it does not parse")
                            .to_string();
                        let d = Diagnostic::new(Code::InvalidRegex, text.span, format!("invalid regular expression: {reason}"))
                            .with_label(reason)
                            .with_help(
                                "the pattern uses Rust regex syntax; to match text as written, use `contains` or `like`",
                            );
                        self.count_error(ctx, d);
                        None
                    }
                }
            }
        }
    }

    fn compare_op(
        &mut self,
        op: &Node<Op>,
        right: &Const,
        right_span: Span,
        ctx: &mut Ctx,
    ) -> Option<CompareOp> {
        match op.node {
            Op::Cmp(c) => Some(CompareOp::Cmp(c)),
            Op::Match(m) => match right {
                Const::Text(t) => self
                    .text_match(m, &Node::new(t.clone(), right_span), ctx)
                    .map(CompareOp::Match),
                other => {
                    let d = Diagnostic::new(
                        Code::TypeMismatch,
                        right_span,
                        format!(
                            "`{}` matches text, but `{}` is a {}",
                            m.as_str(),
                            describe_const(other),
                            const_type(other).as_str()
                        ),
                    )
                    .with_label("expected a string")
                    .with_help("write the pattern as a string");
                    self.count_error(ctx, d);
                    None
                }
            },
        }
    }

    /// Checks that an operator suits a type.
    pub(crate) fn check_op_for(
        &mut self,
        op: &Node<Op>,
        ty: Type,
        what: &str,
        ctx: &mut Ctx,
    ) -> bool {
        let ok = match (op.node, ty) {
            (_, Type::Any) => true,
            (Op::Match(_), Type::Text) => true,
            (Op::Match(_), _) => false,
            (Op::Cmp(CmpOp::Eq | CmpOp::Ne), _) => true,
            (Op::Cmp(_), Type::Text | Type::Bool) => false,
            (Op::Cmp(_), _) => true,
        };
        if !ok {
            let hint = match op.node {
                Op::Match(_) => format!(
                    "`{}` matches text; compare a {} with `==`, `<`, …",
                    op.node.as_str(),
                    ty.as_str()
                ),
                Op::Cmp(_) => format!(
                    "a {} has no order; use `==`, `!=`{}",
                    ty.as_str(),
                    if ty == Type::Text {
                        ", `~`, `contains` or `like`, or `number(…)` to compare as a number"
                    } else {
                        ""
                    }
                ),
            };
            let d = Diagnostic::new(
                Code::InvalidOperator,
                op.span,
                format!(
                    "`{}` cannot be applied to {what}, a {}",
                    op.node.as_str(),
                    ty.as_str()
                ),
            )
            .with_label("not supported here")
            .with_help(hint);
            self.count_error(ctx, d);
        }
        ok
    }

    fn compare(
        &mut self,
        left: &ast::Operand,
        op: &Node<Op>,
        right: &ast::Operand,
        ctx: &mut Ctx,
        scope: &HashSet<String>,
    ) -> Option<ExprId> {
        let l = self.operand(left, ctx, scope);
        let r = self.operand(right, ctx, scope);
        let ((lv, lt), (rv, rt)) = (l?, r?);
        if lt != rt && lt != Type::Any && rt != Type::Any {
            let d = Diagnostic::new(
                Code::TypeMismatch,
                op.span,
                format!("cannot compare a {} with a {}", lt.as_str(), rt.as_str()),
            )
            .with_label(format!(
                "this compares a {} with a {}",
                lt.as_str(),
                rt.as_str()
            ))
            .with_secondary(left.span, format!("this is a {}", lt.as_str()))
            .with_secondary(right.span, format!("this is a {}", rt.as_str()))
            .with_help(if lt == Type::Text && rt == Type::Number {
                "read the text as a number with `number(…)`".to_string()
            } else {
                "compare values of the same type".to_string()
            });
            self.count_error(ctx, d);
            return None;
        }
        let ty = if lt == Type::Any { rt } else { lt };
        if !self.check_op_for(op, ty, "these values", ctx) {
            return None;
        }
        let cop = match (&op.node, &rv) {
            (Op::Match(_), Value::Const(c)) => self.compare_op(op, c, right.span, ctx)?,
            (Op::Match(_), _) => {
                let d = Diagnostic::new(
                    Code::InvalidOperator,
                    right.span,
                    format!(
                        "the pattern of `{}` must be a string written in the rule",
                        op.node.as_str()
                    ),
                )
                .with_label("not a string literal")
                .with_help("patterns are compiled with the rules; to compare two values, use `==`");
                self.count_error(ctx, d);
                return None;
            }
            (Op::Cmp(c), _) => CompareOp::Cmp(*c),
        };
        Some(self.interner.expr(Expr::Compare {
            left: lv,
            op: cop,
            right: rv,
        }))
    }

    /// A value and its type.
    fn operand(
        &mut self,
        operand: &ast::Operand,
        ctx: &mut Ctx,
        scope: &HashSet<String>,
    ) -> Option<(Value, Type)> {
        match &operand.node {
            OperandKind::Literal(lit) => {
                let c = literal_const(lit);
                let ty = const_type(&c);
                Some((Value::Const(c), ty))
            }
            OperandKind::Fact(name) => {
                let (id, ty) = self.fact(name, ctx)?;
                Some((Value::Fact(id), ty))
            }
            OperandKind::Number(inner) => {
                let (v, ty) = self.operand(inner, ctx, scope)?;
                if !matches!(ty, Type::Text | Type::Any | Type::Number) {
                    let d = Diagnostic::new(
                        Code::TypeMismatch,
                        inner.span,
                        format!("`number(…)` reads text, but this is a {}", ty.as_str()),
                    )
                    .with_label(format!("a {}", ty.as_str()))
                    .with_help("`number(…)` turns captured text such as `0x80004005` or `1067` into a number");
                    self.count_error(ctx, d);
                    return None;
                }
                Some((Value::Number(Box::new(v)), Type::Number))
            }
            OperandKind::Path(parts) => self.path(parts, ctx, scope),
        }
    }

    pub(crate) fn fact(&mut self, name: &ast::Ident, ctx: &mut Ctx) -> Option<(ir::FactId, Type)> {
        if let Some(&id) = self.fact_ids.get(&name.node) {
            let ty = self.facts.get(id.index()).map_or(Type::Any, |f| f.ty);
            return Some((id, ty));
        }
        if self.is_broken(ast::DeclKind::Fact, &name.node) {
            ctx.errors += 1;
            return None;
        }
        let names: Vec<&str> = self.fact_ids.keys().map(String::as_str).collect();
        let d = self
            .unknown(Code::UnknownFact, "fact", name, &names)
            .with_help(match did_you_mean(&name.node, names.iter().copied()) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!(
                    "declare it with `fact {}: text` (or `number`, `version`, `bool`)",
                    name.node
                ),
            });
        self.count_error(ctx, d);
        None
    }

    fn path(
        &mut self,
        parts: &[ast::Ident],
        ctx: &mut Ctx,
        scope: &HashSet<String>,
    ) -> Option<(Value, Type)> {
        let (head, rest) = parts.split_first()?;
        let Some(&slot) = ctx.by_name.get(&head.node) else {
            if ctx.unbindable.contains(&head.node) {
                ctx.errors += 1;
                return None;
            }
            let dotted = parts
                .iter()
                .map(|p| p.node.as_str())
                .collect::<Vec<_>>()
                .join(".");
            let d = if self.fact_ids.contains_key(&dotted) {
                let span = head.span.to(parts.last().map_or(head.span, |p| p.span));
                Diagnostic::new(
                    Code::UnknownBinding,
                    head.span,
                    format!("`{dotted}` is a fact, not a binding"),
                )
                .with_label("facts are read with `fact`")
                .with_help(format!("write `fact {dotted}`"))
                .with_suggestion(span, format!("fact {dotted}"))
            } else if self.conditions.contains_key(&head.node) {
                Diagnostic::new(
                    Code::UnknownBinding,
                    head.span,
                    format!("`{}` is a condition, not a value", head.node),
                )
                .with_label("conditions are true or false, not compared")
                .with_help(format!("use `{}` on its own, joined with `and`", head.node))
            } else {
                let names: Vec<&str> = ctx.slots.iter().map(|s| s.name.as_str()).collect();
                // The binding probably meant is not reported as unused as well.
                if let Some(near) = did_you_mean(&head.node, names.iter().copied())
                    && let Some(&slot) = ctx.by_name.get(near)
                {
                    ctx.used.insert(slot);
                }
                let mut d = self.unknown(Code::UnknownBinding, "binding", head, &names);
                if did_you_mean(&head.node, names.iter().copied()).is_none() {
                    d = d.with_help(format!(
                        "bind an item with `as {}`, like `event … as {}`; to compare text, write it in quotes",
                        head.node, head.node
                    ));
                }
                d
            };
            self.count_error(ctx, d);
            return None;
        };
        // A rejected use is still a use: no "never used" on top of the error.
        ctx.used.insert(slot);
        if !scope.contains(&head.node) {
            let bound_at = ctx.slots.get(slot).map(|s| s.span);
            let mut d = Diagnostic::new(
                Code::MaybeUnbound,
                head.span,
                format!("`{}` may not be bound here", head.node),
            )
            .with_label("used where its binding may not have matched")
            .with_help("a name bound under `or` or `not` is bound only on some paths; bind it in an `and` beside its use");
            if let Some(at) = bound_at {
                d = d.with_secondary(at, "bound here");
            }
            self.count_error(ctx, d);
            return None;
        }
        ctx.used.insert(slot);
        let slot_id = ir::SlotId::from_index(slot);
        let kind = ctx.slots.get(slot).map(|s| s.kind)?;
        let captures = ctx.captures.get(&slot).cloned().unwrap_or_default();
        let (property, ty) = match rest {
            [] => (Property::Main, main_type(kind)),
            [prop] => {
                let name = prop.node.as_str();
                if let Ok(n) = name.parse::<u32>()
                    && kind == BindingKind::Event
                {
                    if n == 0 || n > captures.count {
                        let d = Diagnostic::new(
                            Code::UnknownProperty,
                            prop.span,
                            format!("`{}` has no capture group {n}", head.node),
                        )
                        .with_label(match captures.count {
                            0 => "its message pattern has no groups".to_string(),
                            1 => "its message pattern has 1 group".to_string(),
                            n => format!("its message pattern has {n} groups"),
                        })
                        .with_help("number the groups of the `message ~` pattern from 1, or name them with `(?P<name>…)`");
                        self.count_error(ctx, d);
                        return None;
                    }
                    (Property::Capture(n), Type::Text)
                } else if kind == BindingKind::Event && captures.names.iter().any(|c| c == name) {
                    (Property::CaptureNamed(name.to_string()), Type::Text)
                } else if kind == BindingKind::Event && name == "data" {
                    let d = Diagnostic::new(
                        Code::UnknownProperty,
                        prop.span,
                        format!("`{}.data` needs a field", head.node),
                    )
                    .with_label("which insertion string?")
                    .with_help(format!(
                        "name the field by position, `{0}.data.1` (as `%1` in the message), or by name, `{0}.data.Status`",
                        head.node
                    ));
                    self.count_error(ctx, d);
                    return None;
                } else if let Some((p, t)) = properties(kind).iter().find(|(p, _)| *p == name) {
                    let t = if *p == "data" { main_type(kind) } else { *t };
                    (Property::Field(p), t)
                } else {
                    return self.unknown_property(head, prop, kind, &captures, ctx);
                }
            }
            [data, field] if kind == BindingKind::Event && data.node == "data" => match field
                .node
                .parse::<u32>(
            ) {
                Ok(0) => {
                    let d = Diagnostic::new(
                        Code::InvalidDataIndex,
                        field.span,
                        "event data fields count from 1",
                    )
                    .with_label("there is no field 0")
                    .with_help("`data.1` is the first insertion string, as `%1` in the message");
                    self.count_error(ctx, d);
                    return None;
                }
                Ok(n) => (Property::Data(n), Type::Any),
                Err(_) => (Property::DataNamed(field.node.clone()), Type::Any),
            },
            [_, extra, ..] => {
                let d = Diagnostic::new(
                    Code::UnknownProperty,
                    extra.span,
                    format!("`{}` has no property `{}`", parts.iter().take(2).map(|p| p.node.as_str()).collect::<Vec<_>>().join("."), extra.node),
                )
                .with_label("nothing to look up here")
                .with_help("a binding's property is one name deep, except `data.N` and `data.Name` on events");
                self.count_error(ctx, d);
                return None;
            }
        };
        Some((
            Value::Binding {
                slot: slot_id,
                property,
            },
            ty,
        ))
    }

    fn unknown_property(
        &mut self,
        head: &ast::Ident,
        prop: &ast::Ident,
        kind: BindingKind,
        captures: &Captures,
        ctx: &mut Ctx,
    ) -> Option<(Value, Type)> {
        let mut known: Vec<&str> = properties(kind).iter().map(|(p, _)| *p).collect();
        known.extend(captures.names.iter().map(String::as_str));
        let list = known
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut d = Diagnostic::new(
            Code::UnknownProperty,
            prop.span,
            format!("`{}` has no property `{}`", head.node, prop.node),
        )
        .with_label("unknown property");
        d = match did_you_mean(&prop.node, known.iter().copied()) {
            Some(near) => d
                .with_help(format!("did you mean `{near}`? `{}` has {list}", head.node))
                .with_suggestion(prop.span, near),
            None => d.with_help(format!("`{}` has {list}", head.node)),
        };
        self.count_error(ctx, d);
        None
    }

    /// Parses `{placeholders}` in text and resolves them.
    pub(crate) fn template(
        &mut self,
        text: &ast::Text,
        ctx: &mut Ctx,
        scope: &HashSet<String>,
    ) -> Option<Template> {
        let raw = self.source_text(text.span).to_string();
        let locate = |needle: &str| -> Span {
            match raw.find(needle) {
                Some(at) => Span {
                    source: text.span.source,
                    start: text
                        .span
                        .start
                        .saturating_add(u32::try_from(at).unwrap_or(0)),
                    end: text
                        .span
                        .start
                        .saturating_add(u32::try_from(at + needle.len()).unwrap_or(0)),
                },
                None => text.span,
            }
        };
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.node.char_indices().peekable();
        let mut failed = false;
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|p| p.1) == Some('{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().map(|p| p.1) == Some('}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let rest = text.node.get(i + 1..).unwrap_or("");
                    let Some(close) = rest.find('}') else {
                        let d = Diagnostic::new(
                            Code::InvalidPlaceholder,
                            locate(text.node.get(i..).unwrap_or("{")),
                            "unclosed `{` in text",
                        )
                        .with_label("this placeholder is not closed")
                        .with_help("close it with `}`, or write `{{` for a literal brace");
                        self.count_error(ctx, d);
                        // The names in the broken placeholder were meant as uses.
                        for (slot, binding) in ctx.slots.iter().enumerate() {
                            if rest.contains(binding.name.as_str()) {
                                ctx.used.insert(slot);
                            }
                        }
                        return None;
                    };
                    let inner = rest.get(..close).unwrap_or("");
                    for _ in 0..inner.chars().count() + 1 {
                        chars.next();
                    }
                    let span = locate(&format!("{{{inner}}}"));
                    match self.placeholder(inner, span, ctx, scope) {
                        Some(value) => {
                            if !literal.is_empty() {
                                parts.push(TemplatePart::Text(std::mem::take(&mut literal)));
                            }
                            parts.push(TemplatePart::Value(value));
                        }
                        None => failed = true,
                    }
                }
                '}' => {
                    let d = Diagnostic::new(
                        Code::InvalidPlaceholder,
                        locate("}"),
                        "unmatched `}` in text",
                    )
                    .with_label("no `{` opens this")
                    .with_help("write `}}` for a literal brace");
                    self.count_error(ctx, d);
                    failed = true;
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(TemplatePart::Text(literal));
        }
        (!failed).then_some(Template { parts })
    }

    fn placeholder(
        &mut self,
        inner: &str,
        span: Span,
        ctx: &mut Ctx,
        scope: &HashSet<String>,
    ) -> Option<Value> {
        let trimmed = inner.trim();
        if trimmed.is_empty() {
            let d = Diagnostic::new(Code::InvalidPlaceholder, span, "empty placeholder `{}`")
                .with_label("names nothing")
                .with_help("name a binding (`{site}`, `{failure.time}`) or a fact (`{fact exchange.site_dn}`)");
            self.count_error(ctx, d);
            return None;
        }
        if let Some(fact) = trimmed.strip_prefix("fact ") {
            let ident = Node::new(fact.trim().to_string(), span);
            return self.fact(&ident, ctx).map(|(id, _)| Value::Fact(id));
        }
        let valid = trimmed
            .split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        if !valid {
            let d = Diagnostic::new(
                Code::InvalidPlaceholder,
                span,
                format!("`{{{inner}}}` is not a placeholder"),
            )
            .with_label("expected a name, like `{site}` or `{failure.time}`")
            .with_help("write `{{` and `}}` for literal braces");
            self.count_error(ctx, d);
            return None;
        }
        // When the placeholder was found in the source, each name gets its own span, so that a
        // suggestion replaces the name and not the braces.
        let exact = span.len() == inner.len() + 2;
        let mut offset =
            span.start + 1 + u32::try_from(inner.len() - inner.trim_start().len()).unwrap_or(0);
        let parts: Vec<ast::Ident> = trimmed
            .split('.')
            .map(|p| {
                let len = u32::try_from(p.len()).unwrap_or(0);
                let part_span = if exact {
                    Span {
                        source: span.source,
                        start: offset,
                        end: offset + len,
                    }
                } else {
                    span
                };
                offset += len + 1;
                Node::new(p.to_string(), part_span)
            })
            .collect();
        self.path(&parts, ctx, scope).map(|(v, _)| v)
    }

    /// A literal for a registry value of an optional declared type.
    pub(crate) fn registry_literal(
        &mut self,
        lit: &Node<ast::Literal>,
        ty: Option<ir::RegType>,
        value_name: &ast::Text,
        for_fix: bool,
    ) -> Option<Const> {
        let c = literal_const(&lit.node);
        let Some(ty) = ty else {
            // Registry data is text or a number; a version is compared with text data.
            let ok = match c {
                Const::Text(_) | Const::Number(_) => true,
                Const::Version(_) => !for_fix,
                Const::Bool(_) | Const::Duration(_) => false,
            };
            if !ok {
                self.error(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        lit.span,
                        format!(
                            "registry data is text or a number, not a {}",
                            const_type(&c).as_str()
                        ),
                    )
                    .with_label("cannot be stored in the registry")
                    .with_help("write text in quotes, or a number such as `1` or `0x400`"),
                );
                return None;
            }
            return Some(c);
        };
        let want = ty.value_type();
        let got = const_type(&c);
        if want != got {
            self.error(
                Diagnostic::new(
                    Code::TypeMismatch,
                    lit.span,
                    format!(
                        "`{}` is a {}, but `{}` is a {}",
                        value_name.node,
                        ty.as_str(),
                        describe_const(&c),
                        got.as_str()
                    ),
                )
                .with_label(format!("expected a {}", want.as_str()))
                .with_help(if want == Type::Number {
                    "write the number without quotes, like `4` or `0x4`"
                } else {
                    "write the text in quotes"
                }),
            );
            return None;
        }
        if let (ir::RegType::Dword, Const::Number(n)) = (ty, &c)
            && *n > u64::from(u32::MAX)
        {
            self.error(
                Diagnostic::new(
                    Code::NumberOutOfRange,
                    lit.span,
                    format!("{n} does not fit in a DWORD"),
                )
                .with_label("a DWORD holds 0 to 4294967295 (0xffffffff)")
                .with_help("declare the value `qword` if it is a 64-bit number"),
            );
            return None;
        }
        Some(c)
    }

    pub(crate) fn event_filter(
        &mut self,
        event: &Node<ast::EventPred>,
        ctx: &mut Ctx,
    ) -> Option<EventFilter> {
        let mut filter = EventFilter {
            log: event.log.as_ref().map(|l| l.node.clone()),
            ..EventFilter::default()
        };
        let mut seen: HashMap<&'static str, Span> = HashMap::new();
        let mut ok = true;
        for f in &event.filters {
            let name = match &f.node {
                ast::EventFilter::Source(_) => "source",
                ast::EventFilter::Id(_) => "id",
                ast::EventFilter::Level(_) => "level",
                ast::EventFilter::Message(..) => "message",
                ast::EventFilter::Data { .. } | ast::EventFilter::Binary { .. } => "",
            };
            if !name.is_empty() {
                if let Some(&first) = seen.get(name) {
                    let d = Diagnostic::new(
                        Code::DuplicateClause,
                        f.span,
                        format!("`{name}` is given twice for one event"),
                    )
                    .with_label("second one here")
                    .with_secondary(first, "first one here")
                    .with_help(if name == "id" {
                        "list several ids in one filter: `id 7000, 7009`".to_string()
                    } else {
                        format!("an event has one {name}; to accept several, join events with `or`")
                    });
                    self.count_error(ctx, d);
                    ok = false;
                    continue;
                }
                seen.insert(name, f.span);
            }
            match &f.node {
                ast::EventFilter::Source(s) => filter.source = Some(s.node.clone()),
                ast::EventFilter::Id(ranges) => {
                    for r in ranges {
                        match self.id_range(r) {
                            Some(range) => filter.ids.push(range),
                            None => {
                                ctx.errors += 1;
                                ok = false;
                            }
                        }
                    }
                }
                ast::EventFilter::Level(l) => match values::level(l) {
                    Ok(level) => filter.level = Some(level),
                    Err(d) => {
                        self.count_error(ctx, d);
                        ok = false;
                    }
                },
                ast::EventFilter::Message(op, text) => {
                    let matched = match op.node {
                        Op::Match(m) => self.text_match(m, text, ctx),
                        Op::Cmp(CmpOp::Eq) => Some(TextMatch::Equals(text.node.clone())),
                        Op::Cmp(other) => {
                            let d = Diagnostic::new(
                                Code::InvalidOperator,
                                op.span,
                                format!("`{}` cannot be applied to an event's message", other.as_str()),
                            )
                            .with_label("not supported on message text")
                            .with_help(
                                "match the message with `==`, `~`, `contains` or `like`; for events whose message \
                                 does not match, write `not event … message …`",
                            );
                            self.count_error(ctx, d);
                            None
                        }
                    };
                    match matched {
                        Some(m) => filter.message = Some(m),
                        None => ok = false,
                    }
                }
                ast::EventFilter::Data { field, op, value } => {
                    let property = match &field.node {
                        ast::DataField::Index(0) => {
                            let d = Diagnostic::new(
                                Code::InvalidDataIndex,
                                field.span,
                                "event data fields count from 1",
                            )
                            .with_label("there is no field 0")
                            .with_help(
                                "`data[1]` is the first insertion string, as `%1` in the message",
                            );
                            self.count_error(ctx, d);
                            ok = false;
                            continue;
                        }
                        ast::DataField::Index(n) => {
                            Property::Data(u32::try_from(*n).unwrap_or(u32::MAX))
                        }
                        ast::DataField::Name(n) => Property::DataNamed(n.clone()),
                    };
                    let c = literal_const(&value.node);
                    let ty = const_type(&c);
                    if !self.check_op_for(op, ty, "this value", ctx) {
                        ok = false;
                        continue;
                    }
                    match self.compare_op(op, &c, value.span, ctx) {
                        Some(op) => filter.data.push(ir::DataTest {
                            field: property,
                            op,
                            value: c,
                        }),
                        None => ok = false,
                    }
                }
                ast::EventFilter::Binary {
                    offset,
                    width,
                    op,
                    value,
                } => {
                    let w = match values::width(width) {
                        Ok(w) => w,
                        Err(d) => {
                            self.count_error(ctx, d);
                            ok = false;
                            continue;
                        }
                    };
                    let max = if w >= 8 {
                        u64::MAX
                    } else {
                        (1u64 << (u32::from(w) * 8)) - 1
                    };
                    if value.node > max {
                        let d = Diagnostic::new(
                            Code::NumberOutOfRange,
                            value.span,
                            format!("{:#x} does not fit in a {}", value.node, width.node),
                        )
                        .with_label(format!("a {} holds 0 to {max:#x}", width.node))
                        .with_help({
                            let wider: Vec<&str> = [("word", 2u8), ("dword", 4), ("qword", 8)]
                                .iter()
                                .filter(|(_, bytes)| *bytes > w)
                                .map(|(name, _)| *name)
                                .collect();
                            format!(
                                "read a wider number at that offset: `{}`",
                                wider.join("`, `")
                            )
                        });
                        self.count_error(ctx, d);
                        ok = false;
                        continue;
                    }
                    filter.binary.push(ir::BinaryTest {
                        offset: offset.node,
                        width: w,
                        op: op.node,
                        value: value.node,
                    });
                }
            }
        }
        ok.then_some(filter)
    }

    fn id_range(&mut self, r: &Node<ast::IdRange>) -> Option<(u16, u16)> {
        let start = self.ok(values::event_id(r.start, r.span))?;
        let Some((end, inclusive)) = r.end else {
            return Some((start, start));
        };
        let end_id = self.ok(values::event_id(end, r.span))?;
        let last = if inclusive {
            Some(end_id)
        } else {
            end_id.checked_sub(1)
        };
        match last {
            Some(last) if last >= start => Some((start, last)),
            _ => {
                self.error(
                    Diagnostic::new(
                        Code::EmptyIdRange,
                        r.span,
                        "this event id range holds no id",
                    )
                    .with_label(format!(
                        "{} {} {} is empty",
                        r.start,
                        if inclusive { "..=" } else { ".." },
                        end
                    ))
                    .with_help(
                        "put the lower id first; `a .. b` leaves out `b`, `a ..= b` includes it",
                    ),
                );
                None
            }
        }
    }
}

/// Compiles a rule's regular expression (case-insensitive, size-limited), through a cache for
/// the life of the process: a language server or test runner checks the same library again and
/// again, and compiling its patterns is most of the work of a check. A compiled `Regex` is
/// shared, not copied, by a clone.
fn build_regex(pattern: &str) -> Result<regex::Regex, regex::Error> {
    use std::sync::{Mutex, OnceLock};
    /// Patterns kept; the cache is emptied when it would grow past this.
    const CACHED: usize = 4096;
    static CACHE: OnceLock<Mutex<HashMap<String, Result<regex::Regex, regex::Error>>>> =
        OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(pattern).cloned()) {
        return hit;
    }
    let built = regex::RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(MAX_REGEX_SIZE)
        .build();
    if let Ok(mut c) = cache.lock() {
        if c.len() >= CACHED {
            c.clear();
        }
        c.insert(pattern.to_string(), built.clone());
    }
    built
}
