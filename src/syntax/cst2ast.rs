//! pest's concrete syntax tree to [`crate::ast`].
//!
//! The grammar guarantees the shape of each pair; where a pair is not the shape expected, the
//! converter reports an internal error rather than panicking. Numbers that overflow are reported
//! here, as they are found.

use pest::iterators::{Pair, Pairs};

use super::Rule;
use crate::ast::*;
use crate::diagnostics::{Code, Diagnostic};
use crate::source::{SourceId, Span};

type Result<T> = std::result::Result<T, Diagnostic>;

pub(super) struct Converter {
    source: SourceId,
    offset: usize,
    pub(super) diagnostics: Vec<Diagnostic>,
}

/// The children of a pair, taken in order.
struct Children<'i> {
    pairs: std::iter::Peekable<Pairs<'i, Rule>>,
    span: Span,
}

impl<'i> Children<'i> {
    fn next(&mut self, what: &str) -> Result<Pair<'i, Rule>> {
        self.pairs
            .next()
            .ok_or_else(|| Diagnostic::internal(Some(self.span), format!("the parser lost {what}")))
    }

    fn next_if(&mut self, rule: Rule) -> Option<Pair<'i, Rule>> {
        self.pairs.next_if(|p| p.as_rule() == rule)
    }
}

fn unexpected(span: Span, pair: &Pair<'_, Rule>) -> Diagnostic {
    Diagnostic::internal(
        Some(span),
        format!("unexpected `{:?}` in the parse tree", pair.as_rule()),
    )
}

impl Converter {
    pub(super) fn new(source: SourceId, offset: usize) -> Converter {
        Converter {
            source,
            offset,
            diagnostics: Vec::new(),
        }
    }

    /// The span of a pair, without the trailing white space that pest's implicit whitespace
    /// leaves at the end of a rule whose last element is optional.
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        let trimmed = pair.as_str().trim_end().len();
        Span::new(
            self.source,
            self.offset + s.start(),
            self.offset + s.start() + trimmed,
        )
    }

    fn children<'i>(&self, pair: &Pair<'i, Rule>) -> Children<'i> {
        Children {
            pairs: pair.clone().into_inner().peekable(),
            span: self.span(pair),
        }
    }

    fn ident(&self, pair: &Pair<'_, Rule>) -> Ident {
        Node::new(pair.as_str().to_string(), self.span(pair))
    }

    pub(super) fn item(&mut self, pair: Pair<'_, Rule>) -> Result<Item> {
        let span = self.span(&pair);
        let mut c = self.children(&pair);
        Ok(match pair.as_rule() {
            Rule::rule_item => {
                c.next("`rule`")?;
                let id = self.ident(&c.next("the rule id")?);
                let mut clauses = Vec::new();
                for p in c.pairs.by_ref() {
                    clauses.push(self.clause(p)?);
                }
                Item::Rule(Node::new(Rule_ { id, clauses }, span))
            }
            Rule::condition_item => {
                c.next("`condition`")?;
                let name = self.ident(&c.next("the condition's name")?);
                let expr = self.expr(c.next("the condition")?)?;
                Item::Condition(Node::new(ConditionDef { name, expr }, span))
            }
            Rule::warning_item => {
                c.next("`warning`")?;
                let name = self.ident(&c.next("the warning's name")?);
                let text = self.string(&c.next("the warning's text")?);
                Item::Warning(Node::new(WarningDef { name, text }, span))
            }
            Rule::fact_item => {
                c.next("`fact`")?;
                let name = c.next("the fact's name")?;
                let name = if name.as_rule() == Rule::string {
                    self.string(&name)
                } else {
                    self.ident(&name)
                };
                let ty = self.ident(&c.next("the fact's type")?);
                let description = c.next_if(Rule::string).map(|p| self.string(&p));
                Item::Fact(Node::new(
                    FactDef {
                        name,
                        ty,
                        description,
                    },
                    span,
                ))
            }
            Rule::product_item | Rule::os_item => {
                let is_product = pair.as_rule() == Rule::product_item;
                c.next("the keyword")?;
                let name = self.string(&c.next("the name")?);
                let aliases = match c.next_if(Rule::aka) {
                    Some(aka) => aka
                        .into_inner()
                        .filter(|p| p.as_rule() == Rule::string)
                        .map(|p| self.string(&p))
                        .collect(),
                    None => Vec::new(),
                };
                let entry = Node::new(CatalogueEntry { name, aliases }, span);
                if is_product {
                    Item::Product(entry)
                } else {
                    Item::Os(entry)
                }
            }
            _ => return Err(unexpected(span, &pair)),
        })
    }

    fn clause(&mut self, pair: Pair<'_, Rule>) -> Result<Node<Clause>> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut c = self.children(&pair);
        c.next("the clause keyword")?;
        let clause = match rule {
            Rule::title_clause => Clause::Title(self.string(&c.next("the title")?)),
            Rule::applies_clause => Clause::Applies(self.expr(c.next("the condition")?)?),
            Rule::severity_clause => Clause::Severity(self.ident(&c.next("the severity")?)),
            Rule::tags_clause => Clause::Tags(
                c.pairs
                    .map(|tag| {
                        let span = self.span(&tag);
                        match tag.into_inner().next() {
                            Some(inner) if inner.as_rule() == Rule::string => self.string(&inner),
                            Some(inner) => self.ident(&inner),
                            None => Node::new(String::new(), span),
                        }
                    })
                    .collect(),
            ),
            Rule::supersedes_clause => {
                Clause::Supersedes(c.pairs.map(|p| self.ident(&p)).collect())
            }
            Rule::when_clause => Clause::When(self.expr(c.next("the condition")?)?),
            Rule::diagnose_clause => Clause::Diagnose(self.string(&c.next("the diagnosis")?)),
            Rule::step_clause => Clause::Step(self.string(&c.next("the step")?)),
            Rule::warn_clause => {
                let p = c.next("the warning")?;
                Clause::Warn(if p.as_rule() == Rule::string {
                    WarnRef::Text(self.string(&p))
                } else {
                    WarnRef::Named(self.ident(&p))
                })
            }
            Rule::see_clause => Clause::See(c.pairs.map(|p| self.ident(&p)).collect()),
            Rule::fix_clause => {
                let action = self.fix(c.next("the fix")?)?;
                let verify = match c.next_if(Rule::kw_verify) {
                    Some(_) => Some(self.expr(c.next("the verifying condition")?)?),
                    None => None,
                };
                Clause::Fix { action, verify }
            }
            _ => return Err(unexpected(span, &pair)),
        };
        Ok(Node::new(clause, span))
    }

    fn fix(&mut self, pair: Pair<'_, Rule>) -> Result<Node<Fix>> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut c = self.children(&pair);
        c.next("the fix keyword")?;
        let fix = match rule {
            Rule::fix_install => Fix::Install(self.string(&c.next("what to install")?)),
            Rule::fix_hotfix => Fix::Hotfix(self.ident(&c.next("the hotfix")?)),
            Rule::fix_reg_set => {
                c.next("`set`")?;
                let key = self.string(&c.next("the key")?);
                c.next("`value`")?;
                let value = self.string(&c.next("the value name")?);
                c.next("`to`")?;
                let ty = c.next_if(Rule::reg_type).map(|p| self.first_ident(&p));
                let data = self.literal(c.next("the data")?)?;
                Fix::RegistrySet {
                    key,
                    value,
                    ty,
                    data,
                }
            }
            Rule::fix_reg_delete => {
                c.next("`delete`")?;
                let key = self.string(&c.next("the key")?);
                let value = match c.next_if(Rule::kw_value) {
                    Some(_) => Some(self.string(&c.next("the value name")?)),
                    None => None,
                };
                Fix::RegistryDelete { key, value }
            }
            Rule::fix_restart_service => {
                c.next("`service`")?;
                Fix::RestartService(self.string(&c.next("the service")?))
            }
            Rule::fix_restart_computer => Fix::RestartComputer,
            Rule::fix_reinstall => Fix::Reinstall(self.string(&c.next("what to reinstall")?)),
            Rule::fix_run => Fix::Run(self.string(&c.next("the command")?)),
            _ => return Err(unexpected(span, &pair)),
        };
        Ok(Node::new(fix, span))
    }

    fn first_ident(&self, pair: &Pair<'_, Rule>) -> Ident {
        match pair.clone().into_inner().next() {
            Some(inner) => self.ident(&inner),
            None => self.ident(pair),
        }
    }

    /// A string's text: quotes removed, `""` made `"`, adjacent parts joined.
    fn string(&self, pair: &Pair<'_, Rule>) -> Text {
        let mut text = String::new();
        let parts: Vec<Pair<'_, Rule>> = if pair.as_rule() == Rule::string {
            pair.clone().into_inner().collect()
        } else {
            vec![pair.clone()]
        };
        for part in parts {
            let raw = part.as_str();
            let inner = raw
                .strip_prefix('"')
                .and_then(|r| r.strip_suffix('"'))
                .unwrap_or(raw);
            text.push_str(&inner.replace("\"\"", "\""));
        }
        Node::new(text, self.span(pair))
    }

    fn number(&mut self, pair: &Pair<'_, Rule>) -> u64 {
        let text = pair.as_str();
        let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => text.parse::<u64>(),
        };
        parsed.unwrap_or_else(|_| {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::NumberOutOfRange,
                    self.span(pair),
                    format!("`{text}` is too large"),
                )
                .with_label("does not fit in 64 bits")
                .with_help("numbers go up to 18446744073709551615 (0xffffffffffffffff)"),
            );
            0
        })
    }

    // --- conditions ------------------------------------------------------------------------------

    fn expr(&mut self, pair: Pair<'_, Rule>) -> Result<Expr> {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::expr | Rule::conj => {
                let is_or = pair.as_rule() == Rule::expr;
                let mut items = Vec::new();
                for p in pair.into_inner() {
                    if matches!(p.as_rule(), Rule::kw_or | Rule::kw_and) {
                        continue;
                    }
                    items.push(self.expr(p)?);
                }
                if items.len() == 1
                    && let Some(only) = items.pop()
                {
                    return Ok(only);
                }
                Ok(Node::new(
                    if is_or {
                        ExprKind::Or(items)
                    } else {
                        ExprKind::And(items)
                    },
                    span,
                ))
            }
            Rule::unary => {
                let mut nots = Vec::new();
                let mut inner = None;
                for p in pair.into_inner() {
                    if p.as_rule() == Rule::not_op {
                        nots.push(self.span(&p));
                    } else {
                        inner = Some(self.expr(p)?);
                    }
                }
                let mut expr = inner
                    .ok_or_else(|| Diagnostic::internal(Some(span), "`not` with no operand"))?;
                for not_span in nots.into_iter().rev() {
                    let span = not_span.to(expr.span);
                    expr = Node::new(ExprKind::Not(Box::new(expr)), span);
                }
                Ok(expr)
            }
            Rule::seq => {
                let mut c = self.children(&pair);
                let first = self.expr(c.next("the condition")?)?;
                if c.next_if(Rule::followed_by).is_none() {
                    return Ok(first);
                }
                let then = self.expr(c.next("the second event")?)?;
                let within = match c.next_if(Rule::within) {
                    Some(w) => Some(self.within(&w)?),
                    None => None,
                };
                Ok(Node::new(
                    ExprKind::FollowedBy {
                        first: Box::new(first),
                        then: Box::new(then),
                        within,
                    },
                    span,
                ))
            }
            Rule::paren => {
                let mut c = self.children(&pair);
                let inner = self.expr(c.next("the parenthesised condition")?)?;
                Ok(Node::new(inner.node, span))
            }
            Rule::quantifier => {
                let mut c = self.children(&pair);
                let q = c.next("the quantity")?;
                let q_span = self.span(&q);
                let quantity = match q.into_inner().next() {
                    Some(k) if k.as_rule() == Rule::kw_any => Quantity::Any,
                    Some(k) if k.as_rule() == Rule::kw_all => Quantity::All,
                    Some(n) => Quantity::AtLeast(self.number(&n)),
                    None => return Err(Diagnostic::internal(Some(q_span), "an empty quantity")),
                };
                c.next("`of`")?;
                let mut items = Vec::new();
                for p in c.pairs.by_ref() {
                    items.push(self.expr(p)?);
                }
                Ok(Node::new(
                    ExprKind::Quantifier {
                        quantity: Node::new(quantity, q_span),
                        items,
                    },
                    span,
                ))
            }
            Rule::count_cmp => {
                let mut c = self.children(&pair);
                c.next("`count`")?;
                let counted = c.next("the counted condition")?;
                let event = Box::new(self.predicate(counted)?);
                let op = self.cmp_op(&c.next("the comparison")?)?;
                let n = c.next("the count")?;
                let value = Node::new(self.number(&n), self.span(&n));
                let within = match c.next_if(Rule::within) {
                    Some(w) => Some(self.within(&w)?),
                    None => None,
                };
                Ok(Node::new(
                    ExprKind::Count {
                        event,
                        op,
                        value,
                        within,
                    },
                    span,
                ))
            }
            Rule::comparison => {
                let mut c = self.children(&pair);
                let left = self.operand(c.next("the left side")?)?;
                let op = self.op(&c.next("the operator")?)?;
                let right = self.operand(c.next("the right side")?)?;
                Ok(Node::new(ExprKind::Compare { left, op, right }, span))
            }
            Rule::bound => {
                let mut c = self.children(&pair);
                let pred = self.predicate(c.next("the condition")?)?;
                let binding = match c.next_if(Rule::kw_as) {
                    Some(_) => Some(self.ident(&c.next("the binding name")?)),
                    None => None,
                };
                Ok(Node::new(ExprKind::Predicate { pred, binding }, span))
            }
            Rule::cond_ref => {
                let mut c = self.children(&pair);
                Ok(Node::new(
                    ExprKind::Ref(self.ident(&c.next("the name")?)),
                    span,
                ))
            }
            _ => Err(unexpected(span, &pair)),
        }
    }

    fn within(&mut self, pair: &Pair<'_, Rule>) -> Result<Node<Duration>> {
        let mut c = self.children(pair);
        c.next("`within`")?;
        let d = c.next("the duration")?;
        Ok(Node::new(self.duration(&d), self.span(&d)))
    }

    fn duration(&mut self, pair: &Pair<'_, Rule>) -> Duration {
        let text = pair.as_str();
        let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
        let unit = text.get(digits.len()..).unwrap_or("");
        let scale: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => 86_400_000,
        };
        let millis = digits
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(scale));
        Duration {
            millis: millis.unwrap_or_else(|| {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::NumberOutOfRange,
                        self.span(pair),
                        format!("`{text}` is too long"),
                    )
                    .with_label("this duration overflows")
                    .with_help("write a duration of at most a few years, like `30d`"),
                );
                0
            }),
        }
    }

    fn cmp_op(&self, pair: &Pair<'_, Rule>) -> Result<Node<CmpOp>> {
        let span = self.span(pair);
        let op = match pair.as_str() {
            "==" => CmpOp::Eq,
            "!=" => CmpOp::Ne,
            "<" => CmpOp::Lt,
            "<=" => CmpOp::Le,
            ">" => CmpOp::Gt,
            ">=" => CmpOp::Ge,
            _ => return Err(unexpected(span, pair)),
        };
        Ok(Node::new(op, span))
    }

    fn match_op(&self, pair: &Pair<'_, Rule>) -> Result<Node<MatchOp>> {
        let span = self.span(pair);
        let op = match pair.as_str() {
            "~" => MatchOp::Regex,
            "contains" => MatchOp::Contains,
            "like" => MatchOp::Like,
            _ => return Err(unexpected(span, pair)),
        };
        Ok(Node::new(op, span))
    }

    fn op(&self, pair: &Pair<'_, Rule>) -> Result<Node<Op>> {
        if pair.as_rule() == Rule::cmp_op {
            let op = self.cmp_op(pair)?;
            Ok(Node::new(Op::Cmp(op.node), op.span))
        } else {
            let op = self.match_op(pair)?;
            Ok(Node::new(Op::Match(op.node), op.span))
        }
    }

    fn operand(&mut self, pair: Pair<'_, Rule>) -> Result<Operand> {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::fact_ref => {
                let mut c = self.children(&pair);
                c.next("`fact`")?;
                let name = c.next("the fact's name")?;
                OperandKind::Fact(if name.as_rule() == Rule::string {
                    self.string(&name)
                } else {
                    self.ident(&name)
                })
            }
            Rule::to_number => {
                let mut c = self.children(&pair);
                c.next("`number`")?;
                OperandKind::Number(Box::new(self.operand(c.next("the operand")?)?))
            }
            Rule::path => {
                OperandKind::Path(pair.clone().into_inner().map(|p| self.ident(&p)).collect())
            }
            _ => OperandKind::Literal(self.literal(pair)?.node),
        };
        Ok(Node::new(kind, span))
    }

    fn literal(&mut self, pair: Pair<'_, Rule>) -> Result<Node<Literal>> {
        let span = self.span(&pair);
        let lit = match pair.as_rule() {
            Rule::string => Literal::Text(self.string(&pair).node),
            Rule::boolean => Literal::Bool(pair.as_str() == "true"),
            Rule::duration => Literal::Duration(self.duration(&pair)),
            Rule::version_lit => {
                let mut c = self.children(&pair);
                let v = self.version(&c.next("the version")?)?;
                match v {
                    VersionLit {
                        ref parts,
                        sp: None,
                    } if parts.len() == 1 && !pair.as_str().contains('.') => {
                        Literal::Integer(parts.first().copied().unwrap_or(0))
                    }
                    v => Literal::Version(v),
                }
            }
            _ => return Err(unexpected(span, &pair)),
        };
        Ok(Node::new(lit, span))
    }

    fn version(&mut self, pair: &Pair<'_, Rule>) -> Result<VersionLit> {
        let mut parts = Vec::new();
        let mut sp = None;
        for p in pair.clone().into_inner() {
            match p.as_rule() {
                Rule::dotted_number => {
                    for part in p.as_str().split('.') {
                        parts.push(part.parse::<u64>().unwrap_or_else(|_| {
                            self.diagnostics.push(
                                Diagnostic::new(
                                    Code::NumberOutOfRange,
                                    self.span(&p),
                                    format!("version component `{part}` is too large"),
                                )
                                .with_label("does not fit in 64 bits")
                                .with_help(
                                    "a version is numbers separated by dots, like `5.0.2195.6717`",
                                ),
                            );
                            0
                        }));
                    }
                }
                Rule::integer => parts.push(self.number(&p)),
                Rule::sp_level => {
                    let digits = p.as_str().get(2..).unwrap_or("");
                    sp = Some(digits.parse::<u64>().unwrap_or_else(|_| {
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::NumberOutOfRange,
                                self.span(&p),
                                "service pack level is too large",
                            )
                            .with_label("does not fit in 64 bits")
                            .with_help("service-pack levels go from 0 to 15, like `sp3`"),
                        );
                        0
                    }));
                }
                _ => return Err(unexpected(self.span(&p), &p)),
            }
        }
        Ok(VersionLit { parts, sp })
    }

    fn version_spec(&mut self, pair: Pair<'_, Rule>) -> Result<Node<VersionSpec>> {
        let span = self.span(&pair);
        let mut c = self.children(&pair);
        let first = c.next("the version")?;
        let spec = if first.as_rule() == Rule::cmp_op {
            let op = self.cmp_op(&first)?;
            let v = c.next("the version")?;
            let v_span = self.span(&v);
            VersionSpec::Cmp(op, Node::new(self.version(&v)?, v_span))
        } else {
            let start = Node::new(self.version(&first)?, self.span(&first));
            match c.next_if(Rule::range_op) {
                Some(op) => {
                    let end = c.next("the end of the range")?;
                    let end_span = self.span(&end);
                    VersionSpec::Range {
                        start,
                        inclusive: op.as_str() == "..=",
                        end: Node::new(self.version(&end)?, end_span),
                    }
                }
                None => VersionSpec::Exact(start),
            }
        };
        Ok(Node::new(spec, span))
    }

    // --- predicates ------------------------------------------------------------------------------

    fn predicate(&mut self, pair: Pair<'_, Rule>) -> Result<Node<Predicate>> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let pred = match rule {
            Rule::event_pred => Predicate::Event(self.event(pair)?),
            Rule::registry_pred => Predicate::Registry(self.registry(pair)?),
            Rule::service_pred => Predicate::Service(self.service(pair)?),
            Rule::product_pred | Rule::os_pred => {
                let mut c = self.children(&pair);
                c.next("the keyword")?;
                let name = self.string(&c.next("the name")?);
                let spec = match c.next_if(Rule::version_spec) {
                    Some(s) => Some(self.version_spec(s)?),
                    None => None,
                };
                let v = VersionedPred { name, spec };
                if rule == Rule::product_pred {
                    Predicate::Product(v)
                } else {
                    Predicate::Os(v)
                }
            }
            Rule::hotfix_pred => {
                let mut c = self.children(&pair);
                c.next("`hotfix`")?;
                let p = c.next("the hotfix")?;
                Predicate::Hotfix(if p.as_rule() == Rule::string {
                    self.string(&p)
                } else {
                    self.ident(&p)
                })
            }
            Rule::file_pred => {
                let mut c = self.children(&pair);
                c.next("`file`")?;
                let path = self.string(&c.next("the path")?);
                let test = match c.pairs.next() {
                    None => FileTest::Exists,
                    Some(p) if p.as_rule() == Rule::kw_exists => FileTest::Exists,
                    Some(p) if p.as_rule() == Rule::kw_missing => FileTest::Missing,
                    Some(p) => {
                        let mut fc = self.children(&p);
                        fc.next("`version`")?;
                        FileTest::Version(self.version_spec(fc.next("the versions")?)?)
                    }
                };
                Predicate::File(FilePred { path, test })
            }
            Rule::component_pred => {
                let mut c = self.children(&pair);
                c.next("`component`")?;
                let name = self.string(&c.next("the component")?);
                let present = c.next_if(Rule::kw_absent).is_none();
                Predicate::Component(ComponentPred { name, present })
            }
            Rule::rule_ref => {
                let mut c = self.children(&pair);
                c.next("`rule`")?;
                Predicate::Rule(self.ident(&c.next("the rule id")?))
            }
            _ => return Err(unexpected(span, &pair)),
        };
        Ok(Node::new(pred, span))
    }

    fn event(&mut self, pair: Pair<'_, Rule>) -> Result<EventPred> {
        let mut c = self.children(&pair);
        c.next("`event`")?;
        let log = match c.next_if(Rule::event_log) {
            Some(l) => match l.clone().into_inner().next() {
                Some(inner) if inner.as_rule() == Rule::string => Some(self.string(&inner)),
                Some(inner) => Some(self.ident(&inner)),
                None => None,
            },
            None => None,
        };
        let mut filters = Vec::new();
        for f in c.pairs.by_ref() {
            let span = self.span(&f);
            let rule = f.as_rule();
            let mut fc = self.children(&f);
            fc.next("the filter keyword")?;
            let filter = match rule {
                Rule::ev_source => EventFilter::Source(self.string(&fc.next("the source")?)),
                Rule::ev_id => {
                    let mut ids = Vec::new();
                    for item in fc.pairs {
                        let item_span = self.span(&item);
                        let mut ic = self.children(&item);
                        let start = self.number(&ic.next("the id")?);
                        let end = match ic.next_if(Rule::range_op) {
                            Some(op) => {
                                Some((self.number(&ic.next("the last id")?), op.as_str() == "..="))
                            }
                            None => None,
                        };
                        ids.push(Node::new(IdRange { start, end }, item_span));
                    }
                    EventFilter::Id(ids)
                }
                Rule::ev_level => EventFilter::Level(self.ident(&fc.next("the level")?)),
                Rule::ev_message => {
                    let op = self.op(&fc.next("the match")?)?;
                    EventFilter::Message(op, self.string(&fc.next("the text")?))
                }
                Rule::ev_data => {
                    let f = fc.next("the field")?;
                    let f_span = self.span(&f);
                    let field = if f.as_rule() == Rule::string {
                        DataField::Name(self.string(&f).node)
                    } else {
                        DataField::Index(self.number(&f))
                    };
                    let op = self.op(&fc.next("the operator")?)?;
                    let value = self.literal(fc.next("the value")?)?;
                    EventFilter::Data {
                        field: Node::new(field, f_span),
                        op,
                        value,
                    }
                }
                Rule::ev_binary => {
                    let o = fc.next("the offset")?;
                    let offset = Node::new(self.number(&o), self.span(&o));
                    let width = self.ident(&fc.next("the width")?);
                    let op = self.cmp_op(&fc.next("the comparison")?)?;
                    let v = fc.next("the number")?;
                    let value = Node::new(self.number(&v), self.span(&v));
                    EventFilter::Binary {
                        offset,
                        width,
                        op,
                        value,
                    }
                }
                _ => return Err(unexpected(span, &f)),
            };
            filters.push(Node::new(filter, span));
        }
        Ok(EventPred { log, filters })
    }

    fn registry(&mut self, pair: Pair<'_, Rule>) -> Result<RegistryPred> {
        let mut c = self.children(&pair);
        c.next("`registry`")?;
        let key = self.string(&c.next("the key")?);
        let test = match c.pairs.next() {
            None => RegistryTest::KeyExists,
            Some(p) if p.as_rule() == Rule::kw_exists => RegistryTest::KeyExists,
            Some(p) if p.as_rule() == Rule::kw_missing => RegistryTest::KeyMissing,
            Some(p) => {
                let mut vc = self.children(&p);
                vc.next("`value`")?;
                let name = self.string(&vc.next("the value name")?);
                let ty = vc.next_if(Rule::reg_type).map(|t| self.first_ident(&t));
                let test = match vc.next_if(Rule::reg_test) {
                    Some(t) => Some(self.value_test(t)?),
                    None => None,
                };
                RegistryTest::Value { name, ty, test }
            }
        };
        Ok(RegistryPred { key, test })
    }

    fn value_test(&mut self, pair: Pair<'_, Rule>) -> Result<Node<ValueTest>> {
        let span = self.span(&pair);
        let mut c = self.children(&pair);
        let first = c.next("the test")?;
        let test = match first.as_rule() {
            Rule::kw_missing => ValueTest::Missing,
            Rule::reg_count => {
                let mut cc = self.children(&first);
                cc.next("`count`")?;
                let op = self.cmp_op(&cc.next("the comparison")?)?;
                let n = cc.next("the count")?;
                ValueTest::Count(op.node, self.number(&n))
            }
            _ => {
                let op = self.op(&first)?;
                ValueTest::Compare(op, self.literal(c.next("the value")?)?)
            }
        };
        Ok(Node::new(test, span))
    }

    fn service(&mut self, pair: Pair<'_, Rule>) -> Result<ServicePred> {
        let mut c = self.children(&pair);
        c.next("`service`")?;
        let name = self.string(&c.next("the service name")?);
        let test = match c.pairs.next() {
            None => None,
            Some(p) => {
                let span = self.span(&p);
                let rule = p.as_rule();
                let mut tc = self.children(&p);
                let test = match rule {
                    Rule::kw_present => ServiceTest::Present,
                    Rule::kw_absent => ServiceTest::Absent,
                    Rule::svc_state => ServiceTest::State(self.ident(&tc.next("the state")?)),
                    Rule::svc_start => {
                        tc.next("`start`")?;
                        ServiceTest::Start(self.ident(&tc.next("the start type")?))
                    }
                    Rule::svc_account | Rule::svc_image => {
                        tc.next("the keyword")?;
                        let op = self.op(&tc.next("the operator")?)?;
                        let text = self.string(&tc.next("the text")?);
                        if rule == Rule::svc_account {
                            ServiceTest::Account(op, text)
                        } else {
                            ServiceTest::Image(op, text)
                        }
                    }
                    Rule::svc_depends => {
                        tc.next("`depends`")?;
                        tc.next("`on`")?;
                        ServiceTest::DependsOn(self.string(&tc.next("the service")?))
                    }
                    _ => return Err(unexpected(span, &p)),
                };
                Some(Node::new(test, span))
            }
        };
        Ok(ServicePred { name, test })
    }
}

/// `ast::Rule` under another name, since `Rule` here is pest's.
type Rule_ = crate::ast::Rule;
