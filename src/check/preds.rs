//! Predicates: the questions a rule asks of a snapshot, validated and interned.

use super::expr::Ctx;
use super::{Checker, values};
use crate::ast::{self, MatchOp, Node, Op};
use crate::diagnostics::{Code, Diagnostic};
use crate::ir::{self, CompareOp, PredId, Predicate, ServiceTest, ValueTest, VersionRange};

impl Checker<'_> {
    pub(crate) fn predicate(
        &mut self,
        pred: &Node<ast::Predicate>,
        ctx: &mut Ctx,
    ) -> Option<PredId> {
        use ast::Predicate as P;
        let lowered = match &pred.node {
            P::Event(e) => {
                if ctx.applies {
                    return self.reject_in_applies(pred.span, ctx);
                }
                Predicate::Event(self.event_filter(&Node::new(e.clone(), pred.span), ctx)?)
            }
            P::Registry(r) => self.registry(r, ctx)?,
            P::Service(s) => Predicate::Service {
                name: s.name.node.clone(),
                test: self.service_test(s, ctx)?,
            },
            P::Product(v) => {
                let product = self.catalogue_lookup(&v.name, true, ctx)?;
                let versions = self.versions(v.spec.as_ref(), true, ctx)?;
                Predicate::Product {
                    product: ir::ProductId::from_index(product),
                    versions,
                }
            }
            P::Os(v) => {
                let os = self.catalogue_lookup(&v.name, false, ctx)?;
                let versions = self.versions(v.spec.as_ref(), true, ctx)?;
                Predicate::Os {
                    os: ir::OsId::from_index(os),
                    versions,
                }
            }
            P::Hotfix(id) => {
                let article = values::article(id).map_err(|d| {
                    d.with_help("name the hotfix by its KB article, like `hotfix Q329115`")
                });
                Predicate::Hotfix(values::hotfix_key(&self.counted(article, ctx)?))
            }
            P::File(f) => Predicate::File {
                path: f.path.node.clone(),
                test: match &f.test {
                    ast::FileTest::Exists => ir::FileTest::Exists,
                    ast::FileTest::Missing => ir::FileTest::Missing,
                    ast::FileTest::Version(spec) => {
                        ir::FileTest::Version(self.versions(Some(spec), false, ctx)?)
                    }
                },
            },
            P::Component(c) => Predicate::Component {
                name: c.name.node.clone(),
                present: c.present,
            },
            P::Rule(_) => {
                ctx.errors += 1;
                self.error(Diagnostic::internal(
                    Some(pred.span),
                    "a rule reference reached the predicate table",
                ));
                return None;
            }
        };
        Some(self.interner.pred(lowered))
    }

    fn reject_in_applies(&mut self, span: crate::source::Span, ctx: &mut Ctx) -> Option<PredId> {
        ctx.errors += 1;
        self.error(
            Diagnostic::new(
                Code::NotAllowedInApplies,
                span,
                "this condition cannot be part of `applies`",
            )
            .with_label("not about a product or operating system")
            .with_help(
                "`applies` says which products and systems a rule is for; move symptoms to `when`",
            ),
        );
        None
    }

    fn counted<T>(&mut self, result: Result<T, Diagnostic>, ctx: &mut Ctx) -> Option<T> {
        if result.is_err() {
            ctx.errors += 1;
        }
        self.ok(result)
    }

    fn versions(
        &mut self,
        spec: Option<&Node<ast::VersionSpec>>,
        sp_allowed: bool,
        ctx: &mut Ctx,
    ) -> Option<VersionRange> {
        match spec {
            None => Some(VersionRange::any()),
            Some(spec) => {
                let range = values::version_range(spec, sp_allowed);
                self.counted(range, ctx)
            }
        }
    }

    fn catalogue_lookup(
        &mut self,
        name: &ast::Text,
        product: bool,
        ctx: &mut Ctx,
    ) -> Option<usize> {
        let key = name.node.to_lowercase();
        let found = if product {
            self.product_names.get(&key).map(|id| id.index())
        } else {
            self.os_names.get(&key).map(|id| id.index())
        };
        if found.is_some() {
            return found;
        }
        let (code, what) = if product {
            (Code::UnknownProduct, "product")
        } else {
            (Code::UnknownOs, "operating system")
        };
        let entries = if product { &self.products } else { &self.oses };
        let names: Vec<&str> = entries
            .iter()
            .flat_map(|e| {
                std::iter::once(e.name.as_str()).chain(e.aliases.iter().map(String::as_str))
            })
            .collect();
        // "Windows NT Server SP4" or "Exchange Server 5.5": the version belongs after the name.
        let version_inside = split_version(&name.node).filter(|(base, _)| {
            let key = base.to_lowercase();
            if product {
                self.product_names.contains_key(&key)
            } else {
                self.os_names.contains_key(&key)
            }
        });
        if let Some((base, version)) = version_inside {
            let d = Diagnostic::new(code, name.span, format!("unknown {what} `{}`", name.node))
                .with_label("the version is inside the name")
                .with_help(format!(
                    "write the version after the name: `{} \"{base}\" {version}`",
                    if product { "product" } else { "os" }
                ));
            ctx.errors += 1;
            self.error(d);
            return None;
        }
        let d = self.unknown(code, what, name, &names).with_help(
            match crate::diagnostics::did_you_mean(&name.node, names.iter().copied()) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!(
                    "add it to the catalogue with `{} \"{}\" aka \"…\"`",
                    if product { "product" } else { "os" },
                    name.node
                ),
            },
        );
        ctx.errors += 1;
        self.error(d);
        None
    }

    fn registry(&mut self, r: &ast::RegistryPred, ctx: &mut Ctx) -> Option<Predicate> {
        let key = self.registry_key(&r.key);
        let key = self.counted(key, ctx)?;
        Some(match &r.test {
            ast::RegistryTest::KeyExists => Predicate::RegistryKey { key, exists: true },
            ast::RegistryTest::KeyMissing => Predicate::RegistryKey { key, exists: false },
            ast::RegistryTest::Value { name, ty, test } => {
                let ty = match ty {
                    Some(t) => {
                        let t = values::reg_type(t);
                        Some(self.counted(t, ctx)?)
                    }
                    None => None,
                };
                let test = match test {
                    None => ValueTest::Exists,
                    Some(t) => match &t.node {
                        ast::ValueTest::Missing => ValueTest::Missing,
                        ast::ValueTest::Count(op, n) => {
                            if ty.is_some_and(|t| t != ir::RegType::MultiSz) {
                                ctx.errors += 1;
                                self.error(
                                    Diagnostic::new(
                                        Code::InvalidOperator,
                                        t.span,
                                        format!("`count` applies to REG_MULTI_SZ values, and `{}` is declared otherwise", name.node),
                                    )
                                    .with_label("counts the strings of a multi-string value")
                                    .with_help("declare the value `multi_sz`, or compare its data"),
                                );
                                return None;
                            }
                            ValueTest::Count(*op, *n)
                        }
                        ast::ValueTest::Compare(op, lit) => {
                            let Some(c) = self.registry_literal(lit, ty, name, false) else {
                                ctx.errors += 1;
                                return None;
                            };
                            let data_ty =
                                ty.map_or_else(|| super::expr::const_type(&c), |t| t.value_type());
                            if !self.check_op_for(op, data_ty, &format!("`{}`", name.node), ctx) {
                                return None;
                            }
                            let cop = match op.node {
                                Op::Cmp(c) => CompareOp::Cmp(c),
                                Op::Match(m) => CompareOp::Match(self.match_text(m, lit, ctx)?),
                            };
                            ValueTest::Compare(cop, c)
                        }
                    },
                };
                Predicate::RegistryValue {
                    key,
                    name: name.node.clone(),
                    ty,
                    test,
                }
            }
        })
    }

    fn match_text(
        &mut self,
        m: MatchOp,
        lit: &Node<ast::Literal>,
        ctx: &mut Ctx,
    ) -> Option<ir::TextMatch> {
        match &lit.node {
            ast::Literal::Text(t) => self.text_match(m, &Node::new(t.clone(), lit.span), ctx),
            _ => {
                ctx.errors += 1;
                self.error(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        lit.span,
                        format!("`{}` needs a string pattern", m.as_str()),
                    )
                    .with_label("expected a string")
                    .with_help("write the pattern in quotes"),
                );
                None
            }
        }
    }

    fn service_test(&mut self, s: &ast::ServicePred, ctx: &mut Ctx) -> Option<ServiceTest> {
        let Some(test) = &s.test else {
            return Some(ServiceTest::Present);
        };
        Some(match &test.node {
            ast::ServiceTest::Present => ServiceTest::Present,
            ast::ServiceTest::Absent => ServiceTest::Absent,
            ast::ServiceTest::State(w) => {
                let state = values::service_state(w);
                ServiceTest::State(self.counted(state, ctx)?)
            }
            ast::ServiceTest::Start(w) => {
                let start = values::start_type(w);
                ServiceTest::Start(self.counted(start, ctx)?)
            }
            ast::ServiceTest::Account(op, text) | ast::ServiceTest::Image(op, text) => {
                let text_test = match op.node {
                    Op::Cmp(ast::CmpOp::Eq) => ir::TextTest {
                        matches: ir::TextMatch::Equals(text.node.clone()),
                        negated: false,
                    },
                    Op::Cmp(ast::CmpOp::Ne) => ir::TextTest {
                        matches: ir::TextMatch::Equals(text.node.clone()),
                        negated: true,
                    },
                    Op::Cmp(_) => {
                        ctx.errors += 1;
                        self.error(
                            Diagnostic::new(
                                Code::InvalidOperator,
                                op.span,
                                format!("`{}` cannot be applied to text", op.node.as_str()),
                            )
                            .with_label("text has no order")
                            .with_help("use `==`, `!=`, `~`, `contains` or `like`"),
                        );
                        return None;
                    }
                    Op::Match(m) => ir::TextTest {
                        matches: self.text_match(m, text, ctx)?,
                        negated: false,
                    },
                };
                if matches!(test.node, ast::ServiceTest::Account(..)) {
                    ServiceTest::Account(text_test)
                } else {
                    ServiceTest::Image(text_test)
                }
            }
            ast::ServiceTest::DependsOn(name) => ServiceTest::DependsOn(name.node.clone()),
        })
    }
}

/// Splits a trailing version off a name: `Windows NT Server SP4` is `Windows NT Server` and
/// `sp4`; `Exchange Server 5.5 SP3` is `Exchange Server` and `5.5 sp3`.
fn split_version(name: &str) -> Option<(String, String)> {
    let words: Vec<&str> = name.split_whitespace().collect();
    let is_version = |w: &str| {
        let lower = w.to_ascii_lowercase();
        let sp = lower
            .strip_prefix("sp")
            .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()));
        let number = !w.is_empty()
            && w.chars().all(|c| c.is_ascii_digit() || c == '.')
            && w.starts_with(|c: char| c.is_ascii_digit());
        sp || number
    };
    let keep = words.iter().rposition(|w| !is_version(w))? + 1;
    if keep == words.len() {
        return None;
    }
    let version = words
        .get(keep..)?
        .iter()
        .map(|w| w.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(" ");
    Some((words.get(..keep)?.join(" "), version))
}
