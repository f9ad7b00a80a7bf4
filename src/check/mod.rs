//! Syntax trees to the checked rule graph, collecting every diagnostic on the way.
//!
//! The checker resolves every name across all the files given (rules, conditions, warnings,
//! facts, products, operating systems, bindings and placeholders), rejects duplicates and
//! cycles, types every comparison, validates words and literals, and runs the lints. It never
//! stops at the first problem: it returns the graph only when there is no error, and every
//! diagnostic it found either way. It reads the AST and writes the IR; it never sees pest.
//!
//! - `mod.rs`: declarations, rules and the order of the phases
//! - `expr.rs`: conditions, values and templates
//! - `preds.rs`: predicates, the questions asked of a snapshot
//! - `values.rs`: words and literals with fixed meanings
//! - `order.rs`: rule dependencies, cycles and topological order
//! - `lints.rs`: warnings, and `allow(…)` comments that silence them

mod expr;
mod lints;
mod order;
mod preds;
mod values;

use std::collections::{HashMap, HashSet};

use crate::ast::{self, Clause, Item, Node};
use crate::diagnostics::{self, Code, Diagnostic, did_you_mean};
use crate::ir::{
    self, CatalogueEntry, Fact, FactId, Interner, OsId, ProductId, RuleGraph, RuleId, RuleSeverity,
};
use crate::source::{SourceId, Sources, Span};

pub(crate) use expr::Ctx;
pub use expr::MAX_REGEX_SIZE;
pub use values::hotfix_key;

/// The catalogue used when the rules declare no product or operating system: a copy of the
/// shipped library's `rules/catalogue.kbr`.
pub const BUILTIN_CATALOGUE: &str = include_str!("../../rules/catalogue.kbr");

/// The result of checking: the graph if there was no error, and every diagnostic.
#[derive(Debug)]
pub struct Checked {
    /// The rule graph, present when no error was found (warnings allowed).
    pub graph: Option<RuleGraph>,
    /// Every error and warning, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// The syntax trees of the files.
    pub files: Vec<ast::File>,
}

impl Checked {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Compiles rule files to a graph; on error, every diagnostic (warnings included).
pub fn compile(sources: &Sources) -> Result<RuleGraph, Vec<Diagnostic>> {
    let checked = check(sources);
    match checked.graph {
        Some(graph) => Ok(graph),
        None => Err(checked.diagnostics),
    }
}

/// Parses and checks every file in `sources`.
pub fn check(sources: &Sources) -> Checked {
    crate::syntax::with_stack(|| check_here(sources)).unwrap_or_else(|| Checked {
        graph: None,
        diagnostics: vec![Diagnostic::internal(
            None,
            "the compiler thread could not run",
        )],
        files: Vec::new(),
    })
}

/// Checks the files of `sources` as [`check`] does, reusing the parse of each file `cache`
/// holds and adding the others to it. A caller that changes a file's text must remove its entry
/// first (the language server keeps the parses of the files that did not change).
pub fn check_cached(sources: &Sources, cache: &mut HashMap<SourceId, Parsed>) -> Checked {
    let run = || {
        for (id, _) in sources.iter() {
            cache
                .entry(id)
                .or_insert_with(|| crate::syntax::parse_file(sources, id));
        }
        check_parsed(sources, |id| cache.get(&id).cloned())
    };
    crate::syntax::with_stack(run).unwrap_or_else(|| Checked {
        graph: None,
        diagnostics: vec![Diagnostic::internal(
            None,
            "the compiler thread could not run",
        )],
        files: Vec::new(),
    })
}

/// A file's syntax tree and syntax errors.
pub type Parsed = (ast::File, Vec<Diagnostic>);

fn check_here(sources: &Sources) -> Checked {
    check_parsed(sources, |id| Some(crate::syntax::parse_file(sources, id)))
}

fn check_parsed(sources: &Sources, parse: impl Fn(SourceId) -> Option<Parsed>) -> Checked {
    let mut diagnostics = Vec::new();
    let mut files = Vec::new();
    for (id, _) in sources.iter() {
        let Some((file, mut errors)) = parse(id) else {
            continue;
        };
        diagnostics.append(&mut errors);
        files.push(file);
    }
    let mut checker = Checker::new(sources);
    checker.declare(&files);
    checker.lower_all();
    let graph = checker.finish();
    diagnostics.append(&mut checker.diagnostics);
    lints::apply_allow_comments(sources, &mut diagnostics);
    diagnostics::sort(&mut diagnostics);
    let has_errors = diagnostics.iter().any(Diagnostic::is_error);
    Checked {
        graph: if has_errors { None } else { graph },
        diagnostics,
        files,
    }
}

/// Named conditions may refer to each other this deep; deeper is an error, not a stack overflow.
pub const MAX_CONDITION_DEPTH: usize = 64;

/// The state of a named condition while the rules are lowered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CondState {
    Pending,
    InProgress,
    Done(Option<ir::ExprId>),
}

pub(crate) struct Checker<'a> {
    sources: &'a Sources,
    pub(crate) diagnostics: Vec<Diagnostic>,
    pub(crate) interner: Interner,
    rules: Vec<&'a Node<ast::Rule>>,
    pub(crate) rule_ids: HashMap<String, RuleId>,
    pub(crate) conditions: HashMap<String, &'a Node<ast::ConditionDef>>,
    cond_order: Vec<String>,
    cond_state: HashMap<String, CondState>,
    pub(crate) used_conditions: HashSet<String>,
    warnings: HashMap<String, &'a Node<ast::WarningDef>>,
    warning_templates: HashMap<String, Option<ir::Template>>,
    warning_order: Vec<String>,
    used_warnings: HashSet<String>,
    pub(crate) facts: Vec<Fact>,
    pub(crate) fact_ids: HashMap<String, FactId>,
    pub(crate) products: Vec<CatalogueEntry>,
    pub(crate) product_names: HashMap<String, ProductId>,
    pub(crate) oses: Vec<CatalogueEntry>,
    pub(crate) os_names: HashMap<String, OsId>,
    /// Where each catalogue name was first declared, by (is a product, lowercase name).
    catalogue_spans: HashMap<(bool, String), Span>,
    lowered: Vec<Option<ir::Rule>>,
    /// Names declared by items that did not parse: references to them are not errors again.
    pub(crate) broken: HashSet<(ast::DeclKind, String)>,
    /// How many named conditions are being lowered inside each other.
    pub(crate) condition_depth: usize,
    /// The named conditions being lowered, outermost first (for cycle messages).
    pub(crate) condition_stack: Vec<String>,
    /// Whether the nesting limit for named conditions was reported (once is enough).
    pub(crate) condition_depth_reported: bool,
    named: Vec<ir::NamedCondition>,
}

impl<'a> Checker<'a> {
    fn new(sources: &'a Sources) -> Checker<'a> {
        Checker {
            sources,
            diagnostics: Vec::new(),
            interner: Interner::default(),
            rules: Vec::new(),
            rule_ids: HashMap::new(),
            conditions: HashMap::new(),
            cond_order: Vec::new(),
            cond_state: HashMap::new(),
            used_conditions: HashSet::new(),
            warnings: HashMap::new(),
            warning_templates: HashMap::new(),
            warning_order: Vec::new(),
            used_warnings: HashSet::new(),
            facts: Vec::new(),
            fact_ids: HashMap::new(),
            products: Vec::new(),
            product_names: HashMap::new(),
            oses: Vec::new(),
            os_names: HashMap::new(),
            catalogue_spans: HashMap::new(),
            lowered: Vec::new(),
            broken: HashSet::new(),
            condition_depth: 0,
            condition_stack: Vec::new(),
            condition_depth_reported: false,
            named: Vec::new(),
        }
    }

    pub(crate) fn error(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn duplicate(&mut self, code: Code, what: &str, name: &ast::Ident, first: Span) {
        self.error(
            Diagnostic::new(
                code,
                name.span,
                format!("{what} `{}` is declared twice", name.node),
            )
            .with_label("declared again here")
            .with_secondary(first, "first declared here")
            .with_help(format!(
                "rename one of them, or remove the copy; {what} names are shared by every file"
            )),
        );
    }

    /// Collects every declaration, reporting duplicates.
    fn declare(&mut self, files: &'a [ast::File]) {
        let mut first_rule: HashMap<String, Span> = HashMap::new();
        let mut first_fact: HashMap<String, Span> = HashMap::new();
        let mut catalogue_seen = false;
        for (kind, name) in files.iter().flat_map(|f| &f.broken) {
            self.broken.insert((*kind, name.node.clone()));
        }
        for item in files.iter().flat_map(|f| &f.items) {
            match item {
                Item::Rule(rule) => {
                    if let Some(&first) = first_rule.get(&rule.id.node) {
                        self.duplicate(Code::DuplicateRule, "rule", &rule.id, first);
                        continue;
                    }
                    first_rule.insert(rule.id.node.clone(), rule.id.span);
                    self.rule_ids
                        .insert(rule.id.node.clone(), RuleId::from_index(self.rules.len()));
                    self.rules.push(rule);
                }
                Item::Condition(c) => {
                    if let Some(first) = self.conditions.get(&c.name.node).map(|f| f.name.span) {
                        self.duplicate(Code::DuplicateCondition, "condition", &c.name, first);
                        continue;
                    }
                    self.conditions.insert(c.name.node.clone(), c);
                    self.cond_order.push(c.name.node.clone());
                    self.cond_state
                        .insert(c.name.node.clone(), CondState::Pending);
                }
                Item::Warning(w) => {
                    if let Some(first) = self.warnings.get(&w.name.node).map(|f| f.name.span) {
                        self.duplicate(Code::DuplicateWarning, "warning", &w.name, first);
                        continue;
                    }
                    self.warnings.insert(w.name.node.clone(), w);
                    self.warning_order.push(w.name.node.clone());
                }
                Item::Fact(f) => {
                    if let Some(&first) = first_fact.get(&f.name.node) {
                        self.duplicate(Code::DuplicateFact, "fact", &f.name, first);
                        continue;
                    }
                    let ty = match values::fact_type(&f.ty) {
                        Ok(ty) => ty,
                        Err(d) => {
                            self.error(d);
                            ir::Type::Any
                        }
                    };
                    first_fact.insert(f.name.node.clone(), f.name.span);
                    self.fact_ids
                        .insert(f.name.node.clone(), FactId::from_index(self.facts.len()));
                    self.facts.push(Fact {
                        name: f.name.node.clone(),
                        ty,
                        description: f.description.as_ref().map(|d| d.node.clone()),
                    });
                }
                Item::Product(entry) => {
                    catalogue_seen = true;
                    self.catalogue_entry(entry, true);
                }
                Item::Os(entry) => {
                    catalogue_seen = true;
                    self.catalogue_entry(entry, false);
                }
            }
        }
        if !catalogue_seen {
            self.builtin_catalogue();
        }
    }

    fn catalogue_entry(&mut self, entry: &Node<ast::CatalogueEntry>, product: bool) {
        let index = if product {
            self.products.len()
        } else {
            self.oses.len()
        };
        for name in std::iter::once(&entry.name).chain(&entry.aliases) {
            let key = name.node.to_lowercase();
            let taken = if product {
                self.product_names.contains_key(&key)
            } else {
                self.os_names.contains_key(&key)
            };
            if taken {
                let mut d = Diagnostic::new(
                    Code::DuplicateCatalogueName,
                    name.span,
                    format!(
                        "`{}` already names {}",
                        name.node,
                        if product {
                            "a product"
                        } else {
                            "an operating system"
                        }
                    ),
                )
                .with_label("declared again here")
                .with_help(
                    "each name or alias may stand for one entry of the catalogue; remove this one",
                );
                if let Some(&first) = self.catalogue_spans.get(&(product, key.clone())) {
                    d = d.with_secondary(first, "first declared here");
                }
                self.error(d);
                continue;
            }
            self.catalogue_spans
                .insert((product, key.clone()), name.span);
            if product {
                self.product_names.insert(key, ProductId::from_index(index));
            } else {
                self.os_names.insert(key, OsId::from_index(index));
            }
        }
        let entry = CatalogueEntry {
            name: entry.name.node.clone(),
            aliases: entry.aliases.iter().map(|a| a.node.clone()).collect(),
        };
        if product {
            self.products.push(entry);
        } else {
            self.oses.push(entry);
        }
    }

    fn builtin_catalogue(&mut self) {
        let (_, file, _) = crate::syntax::parse_str("catalogue.kbr", BUILTIN_CATALOGUE);
        for item in &file.items {
            match item {
                Item::Product(entry) => self.catalogue_entry(entry, true),
                Item::Os(entry) => self.catalogue_entry(entry, false),
                _ => {}
            }
        }
    }

    /// Lowers every condition and rule.
    fn lower_all(&mut self) {
        for name in self.cond_order.clone() {
            self.condition(&name);
        }
        for name in self.warning_order.clone() {
            if let Some(w) = self.warnings.get(&name).copied() {
                let mut ctx = Ctx::default();
                let template = self.template(&w.text, &mut ctx, &HashSet::new());
                self.warning_templates.insert(name, template);
            }
        }
        for rule in self.rules.clone() {
            let lowered = self.rule(rule);
            self.lowered.push(lowered);
        }
    }

    /// The node a named condition compiled to, lowering it on first use.
    pub(crate) fn condition(&mut self, name: &str) -> Option<ir::ExprId> {
        match self.cond_state.get(name).copied() {
            Some(CondState::Done(id)) => id,
            Some(CondState::InProgress) => None,
            Some(CondState::Pending) => {
                let def = self.conditions.get(name).copied()?;
                self.cond_state
                    .insert(name.to_string(), CondState::InProgress);
                self.condition_depth += 1;
                self.condition_stack.push(name.to_string());
                let mut ctx = Ctx::default();
                ctx.collect(self, &def.expr);
                let scope = expr::binds(&def.expr);
                let id = self.expr(&def.expr, &mut ctx, &scope);
                self.condition_depth -= 1;
                self.condition_stack.pop();
                self.unused_bindings(&ctx);
                let id = id.map(|inner| {
                    if ctx.slots.is_empty() {
                        inner
                    } else {
                        self.interner.expr(ir::Expr::Scope {
                            expr: inner,
                            slots: u32::try_from(ctx.slots.len()).unwrap_or(u32::MAX),
                        })
                    }
                });
                self.cond_state
                    .insert(name.to_string(), CondState::Done(id));
                if let Some(id) = id {
                    self.named.push(ir::NamedCondition {
                        name: name.to_string(),
                        expr: id,
                        bindings: ctx.slots.clone(),
                        span: def.name.span,
                    });
                }
                id
            }
            None => None,
        }
    }

    /// Whether a condition is being lowered (a reference to it now is a cycle).
    pub(crate) fn condition_in_progress(&self, name: &str) -> bool {
        self.cond_state.get(name) == Some(&CondState::InProgress)
    }

    fn unused_bindings(&mut self, ctx: &Ctx) {
        for (i, binding) in ctx.slots.iter().enumerate() {
            if !ctx.used.contains(&i) {
                self.error(
                    Diagnostic::new(
                        Code::UnusedBinding,
                        binding.span,
                        format!("binding `{}` is never used", binding.name),
                    )
                    .with_label("bound here")
                    .with_help(format!(
                        "use it in a comparison or as `{{{}}}` in the diagnosis, or remove `as {}`",
                        binding.name, binding.name
                    )),
                );
            }
        }
    }

    fn rule(&mut self, rule: &'a Node<ast::Rule>) -> Option<ir::Rule> {
        let mut once: HashMap<&'static str, Span> = HashMap::new();
        let mut ok = true;
        for clause in &rule.clauses {
            let name = match &clause.node {
                Clause::Title(_) => "title",
                Clause::Applies(_) => "applies",
                Clause::Severity(_) => "severity",
                Clause::When(_) => "when",
                Clause::Diagnose(_) => "diagnose",
                _ => continue,
            };
            if let Some(&first) = once.get(name) {
                ok = false;
                self.error(
                    Diagnostic::new(
                        Code::DuplicateClause,
                        clause.span,
                        format!("rule `{}` has two `{name}` clauses", rule.id.node),
                    )
                    .with_label("second one here")
                    .with_secondary(first, "first one here")
                    .with_help(format!("a rule has one `{name}`; join them or remove one")),
                );
            } else {
                once.insert(name, clause.span);
            }
        }
        for required in ["title", "when"] {
            if !once.contains_key(required) {
                ok = false;
                let example = if required == "title" {
                    "title \"What the article is called\""
                } else {
                    "when event System source \"Service Control Manager\" id 7000"
                };
                self.error(
                    Diagnostic::new(
                        Code::MissingClause,
                        rule.id.span,
                        format!("rule `{}` has no `{required}` clause", rule.id.node),
                    )
                    .with_label(format!("this rule needs a `{required}`"))
                    .with_help(format!("add a clause such as `{example}`")),
                );
            }
        }

        let mut ctx = Ctx::default();
        ctx.collect_bindings(self, rule);
        let mut title = String::new();
        let mut severity = RuleSeverity::Error;
        let mut tags = Vec::new();
        let mut applies = None;
        let mut when = None;
        let mut when_scope = HashSet::new();
        let mut diagnose_text = None;
        let mut steps = Vec::new();
        let mut warnings = Vec::new();
        let mut see = Vec::new();
        let mut fixes = Vec::new();
        let mut supersedes = Vec::new();
        // Names bound by `applies` (the installed product, say) may be used in text and fixes
        // too, so the scope of the rule's text is what `applies` and `when` both bind.
        // `applies` is decided first: what it binds is bound in `when` too.
        let applies_scope: HashSet<String> = rule
            .clauses
            .iter()
            .filter_map(|c| match &c.node {
                Clause::Applies(e) => Some(expr::binds(e)),
                _ => None,
            })
            .flatten()
            .collect();
        when_scope.extend(applies_scope.iter().cloned());
        for clause in &rule.clauses {
            match &clause.node {
                Clause::Applies(e) => {
                    ctx.applies = true;
                    applies = self.expr(e, &mut ctx, &applies_scope);
                    ctx.applies = false;
                    ok &= applies.is_some();
                }
                Clause::When(e) => {
                    let mut scope = applies_scope.clone();
                    scope.extend(expr::binds(e));
                    when_scope.extend(expr::binds(e));
                    when = self.expr(e, &mut ctx, &scope);
                    ok &= when.is_some();
                }
                _ => {}
            }
        }
        for clause in &rule.clauses {
            match &clause.node {
                Clause::Title(t) => title = t.node.clone(),
                Clause::Severity(s) => match values::severity(s) {
                    Ok(s) => severity = s,
                    Err(d) => {
                        ok = false;
                        self.error(d);
                    }
                },
                Clause::Tags(t) => tags.extend(t.iter().map(|t| t.node.clone())),
                Clause::Applies(_) | Clause::When(_) => {}
                Clause::Diagnose(text) => diagnose_text = Some(text),
                Clause::Step(text) => steps.push(text),
                Clause::Warn(w) => match w {
                    ast::WarnRef::Text(text) => {
                        warnings.push(self.template(text, &mut ctx, &when_scope))
                    }
                    ast::WarnRef::Named(name) => match self.warnings.get(&name.node).copied() {
                        Some(_) => {
                            self.used_warnings.insert(name.node.clone());
                            // Lowered once with the declaration; its errors were reported there.
                            let template =
                                self.warning_templates.get(&name.node).cloned().flatten();
                            ok &= template.is_some();
                            warnings.push(template);
                        }
                        None if self.is_broken(ast::DeclKind::Warning, &name.node) => ok = false,
                        None => {
                            ok = false;
                            let near = {
                                let names = self.warnings.keys().map(String::as_str);
                                did_you_mean(&name.node, names).map(str::to_string)
                            };
                            // The warning probably meant is not reported as unused as well.
                            self.used_warnings.extend(near);
                            let names: Vec<&str> =
                                self.warnings.keys().map(String::as_str).collect();
                            let d = self.unknown(Code::UnknownWarning, "warning", name, &names);
                            self.error(d);
                        }
                    },
                },
                Clause::See(articles) => {
                    for a in articles {
                        match values::article(a) {
                            Ok(a) => see.push(a),
                            Err(d) => {
                                ok = false;
                                self.error(d);
                            }
                        }
                    }
                }
                Clause::Fix { action, verify } => {
                    match self.fix(action, verify.as_ref(), &mut ctx, &when_scope) {
                        Some(fix) => fixes.push(fix),
                        None => ok = false,
                    }
                }
                Clause::Supersedes(ids) => {
                    for id in ids {
                        match self.rule_ref(id) {
                            Some(rid) => {
                                supersedes.push(rid);
                                ctx.rule_refs.push((rid, id.span));
                            }
                            None => ok = false,
                        }
                    }
                }
            }
        }
        let diagnose = diagnose_text.map(|t| self.template(t, &mut ctx, &when_scope));
        let steps: Vec<Option<ir::Template>> = steps
            .into_iter()
            .map(|t| self.template(t, &mut ctx, &when_scope))
            .collect();
        if diagnose.is_none() {
            self.error(
                Diagnostic::new(
                    Code::NoDiagnosis,
                    rule.id.span,
                    format!("rule `{}` has no diagnosis", rule.id.node),
                )
                .with_label("this rule says nothing when it fires")
                .with_help("add `diagnose \"…\"` with the cause the article gives"),
            );
        }
        self.unused_bindings(&ctx);
        let templates_ok = ctx.errors == 0;
        let when = when?;
        if !ok || !templates_ok {
            return None;
        }
        Some(ir::Rule {
            id: rule.id.node.clone(),
            title,
            severity,
            tags,
            applies,
            when,
            diagnose: diagnose.flatten(),
            steps: steps.into_iter().flatten().collect(),
            warnings: warnings.into_iter().flatten().collect(),
            see,
            fixes,
            supersedes,
            depends_on: Vec::new(),
            references: ctx.rule_refs,
            bindings: ctx.slots,
            span: rule.span,
            id_span: rule.id.span,
        })
    }

    fn fix(
        &mut self,
        action: &Node<ast::Fix>,
        verify: Option<&ast::Expr>,
        ctx: &mut Ctx,
        scope: &HashSet<String>,
    ) -> Option<ir::FixAction> {
        use ast::Fix as F;
        let fix = match &action.node {
            F::Install(t) => ir::Fix::Install(t.node.clone()),
            F::Hotfix(id) => ir::Fix::Hotfix(values::hotfix_key(&self.ok(values::article(id))?)),
            F::RegistrySet {
                key,
                value,
                ty,
                data,
            } => {
                let key = self.registry_key(key);
                let key = self.ok(key);
                let ty = match ty {
                    Some(t) => Some(self.ok(values::reg_type(t))?),
                    None => None,
                };
                let data_const = self.registry_literal(data, ty, value, true)?;
                ir::Fix::RegistrySet {
                    key: key?,
                    value: value.node.clone(),
                    ty,
                    data: data_const,
                }
            }
            F::RegistryDelete { key, value } => ir::Fix::RegistryDelete {
                key: {
                    let key = self.registry_key(key);
                    self.ok(key)?
                },
                value: value.as_ref().map(|v| v.node.clone()),
            },
            F::RestartService(name) => ir::Fix::RestartService(name.node.clone()),
            F::RestartComputer => ir::Fix::RestartComputer,
            F::Reinstall(t) => ir::Fix::Reinstall(t.node.clone()),
            F::Run(t) => ir::Fix::Run(t.node.clone()),
        };
        let verify = match verify {
            Some(e) => {
                let mut inner = scope.clone();
                inner.extend(expr::binds(e));
                Some(self.expr(e, ctx, &inner)?)
            }
            None => None,
        };
        Some(ir::FixAction { fix, verify })
    }

    /// Reports the error of a result, if any, and turns it into an option.
    /// A registry key from its text, with a warning for each part that holds an angle bracket
    /// outside a placeholder (`<>`, `<adapter`): such a bracket is read as part of the key name.
    pub(crate) fn registry_key(&mut self, text: &ast::Text) -> Result<ir::RegKey, Diagnostic> {
        let key = values::reg_key(text)?;
        let written = self.sources.slice(text.span);
        let mut warnings = Vec::new();
        for part in key.path.split('\\') {
            let stray = ir::name_pieces(part).iter().any(
                |piece| matches!(piece, ir::NamePiece::Text(text) if text.contains(['<', '>'])),
            );
            if !stray {
                continue;
            }
            // The part as written, for a span on it alone (the whole key when the part holds a
            // quote, which the source doubles).
            let span = written.find(part).map_or(text.span, |at| {
                let start = text.span.start as usize + at;
                Span::new(text.span.source, start, start + part.len())
            });
            warnings.push(
                Diagnostic::new(
                    Code::MalformedPlaceholder,
                    span,
                    format!("`{part}` holds an angle bracket that is not a placeholder"),
                )
                .with_label("read as part of the key name")
                .with_help(
                    "a placeholder is a name between `<` and `>`, as in `Services\\<service>`: \
                     close it, or give it a name",
                ),
            );
        }
        for warning in warnings {
            self.error(warning);
        }
        Ok(key)
    }

    pub(crate) fn ok<T>(&mut self, result: Result<T, Diagnostic>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(d) => {
                self.error(d);
                None
            }
        }
    }

    /// Resolves a rule reference.
    pub(crate) fn rule_ref(&mut self, id: &ast::Ident) -> Option<RuleId> {
        if let Some(&rid) = self.rule_ids.get(&id.node) {
            return Some(rid);
        }
        if self.is_broken(ast::DeclKind::Rule, &id.node) {
            return None;
        }
        let names: Vec<&str> = self.rule_ids.keys().map(String::as_str).collect();
        let d = self.unknown(Code::UnknownRule, "rule", id, &names);
        self.error(d);
        None
    }

    /// Whether a name was declared by an item that did not parse (and was reported).
    pub(crate) fn is_broken(&self, kind: ast::DeclKind, name: &str) -> bool {
        self.broken.contains(&(kind, name.to_string()))
    }

    /// "unknown X `name`", with the nearest known name as a suggestion.
    pub(crate) fn unknown(
        &self,
        code: Code,
        what: &str,
        name: &ast::Ident,
        known: &[&str],
    ) -> Diagnostic {
        let d = Diagnostic::new(code, name.span, format!("unknown {what} `{}`", name.node))
            .with_label(format!("no {what} has this name"));
        match did_you_mean(&name.node, known.iter().copied()) {
            Some(near) => d
                .with_help(format!("did you mean `{near}`?"))
                .with_suggestion(name.span, near),
            None => d.with_help(format!("declare the {what}, or check the spelling")),
        }
    }

    /// Builds the graph, in topological order, with the unused-declaration lints.
    fn finish(&mut self) -> Option<RuleGraph> {
        for name in &self.cond_order {
            if !self.used_conditions.contains(name)
                && let Some(def) = self.conditions.get(name)
            {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::UnusedCondition,
                        def.name.span,
                        format!("condition `{name}` is never used"),
                    )
                    .with_label("declared here")
                    .with_help("use it in a rule's `when`, or remove it"),
                );
            }
        }
        for name in &self.warning_order {
            if !self.used_warnings.contains(name)
                && let Some(def) = self.warnings.get(name)
            {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::UnusedWarning,
                        def.name.span,
                        format!("warning `{name}` is never used"),
                    )
                    .with_label("declared here")
                    .with_help(format!(
                        "add `warn {name}` to the rules it concerns, or remove it"
                    )),
                );
            }
        }
        let lowered: Vec<ir::Rule> = std::mem::take(&mut self.lowered)
            .into_iter()
            .collect::<Option<_>>()?;
        let rules = match order::topological(lowered, &self.interner.exprs) {
            Ok(rules) => rules,
            Err(mut errors) => {
                self.diagnostics.append(&mut errors);
                return None;
            }
        };
        let interner = std::mem::take(&mut self.interner);
        let mut graph = RuleGraph {
            rules: rules.rules,
            exprs: interner.exprs,
            preds: interner.preds,
            regexes: interner.regexes,
            facts: std::mem::take(&mut self.facts),
            products: std::mem::take(&mut self.products),
            oses: std::mem::take(&mut self.oses),
            conditions: std::mem::take(&mut self.named),
        };
        order::renumber(&mut graph, &rules.permutation);
        Some(graph)
    }

    pub(crate) fn source_text(&self, span: Span) -> &str {
        self.sources.slice(span)
    }
}
