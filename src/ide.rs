//! What an editor asks of a workspace of rule files, without the protocol: the names each file
//! declares (rules, conditions, warnings, facts, products and systems) and every place a name is
//! used, so that a position can be resolved to its definition, its references, its hover text
//! and the completions that fit there. The language server (`kbrules lsp`) speaks LSP around it.

use std::collections::HashMap;

use crate::ast::{self, Clause, ExprKind, Item, OperandKind, Predicate, WarnRef};
use crate::source::{SourceId, Sources, Span};

/// What a name names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SymbolKind {
    /// `rule ID`
    Rule,
    /// `condition NAME`
    Condition,
    /// `warning NAME`
    Warning,
    /// `fact NAME`
    Fact,
    /// `product "NAME"`
    Product,
    /// `os "NAME"`
    Os,
}

impl SymbolKind {
    /// The keyword that declares it.
    pub fn keyword(self) -> &'static str {
        match self {
            SymbolKind::Rule => "rule",
            SymbolKind::Condition => "condition",
            SymbolKind::Warning => "warning",
            SymbolKind::Fact => "fact",
            SymbolKind::Product => "product",
            SymbolKind::Os => "os",
        }
    }
}

/// A declared name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// What it names.
    pub kind: SymbolKind,
    /// The name as declared.
    pub name: String,
    /// Where the name is written in its declaration.
    pub span: Span,
    /// The whole item.
    pub item: Span,
    /// What it is, for a hover: a rule's title, a condition's text, a warning's text, a fact's
    /// type and description, a product's other names.
    pub detail: String,
}

/// A use of a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reference {
    /// What it names.
    pub kind: SymbolKind,
    /// Where it is written.
    pub span: Span,
}

/// The names of a workspace and their uses.
#[derive(Debug, Default)]
pub struct Index {
    symbols: Vec<Symbol>,
    by_name: HashMap<(SymbolKind, String), usize>,
    references: Vec<(Reference, String)>,
}

/// How names compare: rules, conditions, warnings and facts exactly; products and systems
/// without case.
fn key(kind: SymbolKind, name: &str) -> (SymbolKind, String) {
    match kind {
        SymbolKind::Product | SymbolKind::Os => (kind, name.to_lowercase()),
        _ => (kind, name.to_string()),
    }
}

impl Index {
    /// Parses every file of `sources` and indexes it. Files that do not parse contribute the
    /// items that do.
    pub fn build(sources: &Sources) -> Index {
        let mut files = Vec::new();
        for (id, _) in sources.iter() {
            let parsed = crate::syntax::with_stack(|| crate::syntax::parse_file(sources, id));
            if let Some((file, _)) = parsed {
                files.push(file);
            }
        }
        Index::from_files(sources, &files)
    }

    /// Indexes files already parsed (the [`crate::Checked::files`] of a check).
    pub fn from_files(sources: &Sources, files: &[ast::File]) -> Index {
        let mut index = Index::default();
        for file in files {
            for item in &file.items {
                index.declare(sources, item);
            }
        }
        for file in files {
            for item in &file.items {
                index.uses(item);
            }
        }
        index
    }

    fn declare(&mut self, sources: &Sources, item: &Item) {
        let text = |span: Span| {
            sources
                .get(span.source)
                .map(|f| f.slice(span).to_string())
                .unwrap_or_default()
        };
        let (kind, name, span, item_span, detail) = match item {
            Item::Rule(r) => {
                let title = r.clauses.iter().find_map(|c| match &c.node {
                    Clause::Title(t) => Some(t.node.clone()),
                    _ => None,
                });
                let detail = match title {
                    Some(t) => format!("**{}**: {t}", r.id.node),
                    None => format!("**{}**", r.id.node),
                };
                (SymbolKind::Rule, &r.id, r.id.span, r.span, detail)
            }
            Item::Condition(c) => {
                let detail = format!("```kbr\n{}\n```", text(c.span));
                (SymbolKind::Condition, &c.name, c.name.span, c.span, detail)
            }
            Item::Warning(w) => {
                let detail = format!("warning `{}`: {}", w.name.node, w.text.node);
                (SymbolKind::Warning, &w.name, w.name.span, w.span, detail)
            }
            Item::Fact(f) => {
                let mut detail = format!("fact `{}`: {}", f.name.node, f.ty.node);
                if let Some(d) = &f.description {
                    detail.push_str("\n\n");
                    detail.push_str(&d.node);
                }
                (SymbolKind::Fact, &f.name, f.name.span, f.span, detail)
            }
            Item::Product(p) | Item::Os(p) => {
                let kind = if matches!(item, Item::Product(_)) {
                    SymbolKind::Product
                } else {
                    SymbolKind::Os
                };
                let mut detail = format!("{} \"{}\"", kind.keyword(), p.name.node);
                if !p.aliases.is_empty() {
                    let aka: Vec<&str> = p.aliases.iter().map(|a| a.node.as_str()).collect();
                    detail.push_str(&format!(", also named {}", aka.join(", ")));
                }
                (kind, &p.name, p.name.span, p.span, detail)
            }
        };
        let k = key(kind, &name.node);
        if self.by_name.contains_key(&k) {
            return; // a duplicate is the checker's error; the first is the definition
        }
        self.by_name.insert(k, self.symbols.len());
        self.symbols.push(Symbol {
            kind,
            name: name.node.clone(),
            span,
            item: item_span,
            detail,
        });
    }

    fn refer(&mut self, kind: SymbolKind, name: &str, span: Span) {
        self.references
            .push((Reference { kind, span }, key(kind, name).1));
    }

    fn uses(&mut self, item: &Item) {
        match item {
            Item::Rule(r) => {
                for clause in &r.clauses {
                    match &clause.node {
                        Clause::Applies(e) | Clause::When(e) => self.expr(e),
                        Clause::Fix {
                            verify: Some(e), ..
                        } => self.expr(e),
                        Clause::Supersedes(ids) => {
                            for id in ids {
                                self.refer(SymbolKind::Rule, &id.node, id.span);
                            }
                        }
                        Clause::See(ids) => {
                            for id in ids {
                                if self.by_name.contains_key(&key(SymbolKind::Rule, &id.node)) {
                                    self.refer(SymbolKind::Rule, &id.node, id.span);
                                }
                            }
                        }
                        Clause::Warn(WarnRef::Named(name)) => {
                            self.refer(SymbolKind::Warning, &name.node, name.span);
                        }
                        _ => {}
                    }
                }
            }
            Item::Condition(c) => self.expr(&c.expr),
            _ => {}
        }
    }

    fn expr(&mut self, expr: &ast::Expr) {
        match &expr.node {
            ExprKind::Or(items) | ExprKind::And(items) => items.iter().for_each(|e| self.expr(e)),
            ExprKind::Not(inner) => self.expr(inner),
            ExprKind::Quantifier { items, .. } => items.iter().for_each(|e| self.expr(e)),
            ExprKind::FollowedBy { first, then, .. } => {
                self.expr(first);
                self.expr(then);
            }
            ExprKind::Count { event, .. } => self.predicate(event),
            ExprKind::Compare { left, right, .. } => {
                self.operand(left);
                self.operand(right);
            }
            ExprKind::Predicate { pred, .. } => self.predicate(pred),
            ExprKind::Ref(name) => {
                // A name in a condition's place is a named condition, unless it is a binding.
                if self
                    .by_name
                    .contains_key(&key(SymbolKind::Condition, &name.node))
                {
                    self.refer(SymbolKind::Condition, &name.node, name.span);
                }
            }
        }
    }

    fn operand(&mut self, operand: &ast::Operand) {
        match &operand.node {
            OperandKind::Fact(name) => self.refer(SymbolKind::Fact, &name.node, name.span),
            OperandKind::Number(inner) => self.operand(inner),
            OperandKind::Literal(_) | OperandKind::Path(_) => {}
        }
    }

    fn predicate(&mut self, pred: &ast::Node<Predicate>) {
        match &pred.node {
            Predicate::Rule(id) => self.refer(SymbolKind::Rule, &id.node, id.span),
            Predicate::Product(v) => {
                self.refer(SymbolKind::Product, &v.name.node, v.name.span);
            }
            Predicate::Os(v) => self.refer(SymbolKind::Os, &v.name.node, v.name.span),
            _ => {}
        }
    }

    /// Every declared name.
    pub fn symbols(&self) -> &[Symbol] {
        &self.symbols
    }

    /// The names declared in one file, in order.
    pub fn symbols_in(&self, file: SourceId) -> impl Iterator<Item = &Symbol> {
        self.symbols.iter().filter(move |s| s.span.source == file)
    }

    /// A name's declaration.
    pub fn definition(&self, kind: SymbolKind, name: &str) -> Option<&Symbol> {
        self.by_name
            .get(&key(kind, name))
            .and_then(|&i| self.symbols.get(i))
    }

    /// The name declared or used at a position: its kind and name as declared (or as written,
    /// for a name nothing declares).
    pub fn at(&self, file: SourceId, offset: u32) -> Option<(SymbolKind, String)> {
        let within =
            |span: &Span| span.source == file && span.start <= offset && offset <= span.end;
        if let Some(s) = self.symbols.iter().find(|s| within(&s.span)) {
            return Some((s.kind, s.name.clone()));
        }
        let (r, name) = self.references.iter().find(|(r, _)| within(&r.span))?;
        let declared = self
            .definition(r.kind, name)
            .map_or_else(|| name.clone(), |s| s.name.clone());
        Some((r.kind, declared))
    }

    /// Every use of a name (the declaration not included), in the order indexed.
    pub fn references(&self, kind: SymbolKind, name: &str) -> Vec<Span> {
        let (_, folded) = key(kind, name);
        self.references
            .iter()
            .filter(|(r, n)| r.kind == kind && *n == folded)
            .map(|(r, _)| r.span)
            .collect()
    }
}

/// The words a rule file's keywords are, for completion.
pub const KEYWORDS: &[&str] = &[
    "rule",
    "condition",
    "warning",
    "fact",
    "product",
    "os",
    "aka",
    "title",
    "applies",
    "severity",
    "tags",
    "supersedes",
    "when",
    "diagnose",
    "step",
    "warn",
    "see",
    "fix",
    "verify",
    "and",
    "or",
    "not",
    "as",
    "any",
    "all",
    "of",
    "count",
    "within",
    "followed",
    "by",
    "event",
    "registry",
    "service",
    "hotfix",
    "file",
    "component",
    "source",
    "id",
    "level",
    "message",
    "data",
    "binary",
    "value",
    "missing",
    "exists",
    "present",
    "absent",
    "start",
    "account",
    "depends",
    "on",
    "image",
    "version",
    "contains",
    "like",
    "true",
    "false",
    "install",
    "reinstall",
    "restart",
    "computer",
    "set",
    "delete",
    "to",
    "run",
    "number",
];

/// Service states, for completion after `service "NAME"`.
pub const SERVICE_STATES: &[&str] = &[
    "running",
    "stopped",
    "paused",
    "start_pending",
    "stop_pending",
    "continue_pending",
    "pause_pending",
];

/// Start types, for completion after `start`.
pub const START_TYPES: &[&str] = &["boot", "system", "automatic", "manual", "disabled"];

/// Registry hives, for completion at the start of a key.
pub const HIVES: &[&str] = &[
    "HKLM",
    "HKCU",
    "HKU",
    "HKCR",
    "HKCC",
    "HKEY_LOCAL_MACHINE",
    "HKEY_CURRENT_USER",
    "HKEY_USERS",
    "HKEY_CLASSES_ROOT",
    "HKEY_CURRENT_CONFIG",
];

/// What may be written at a position, as the text before it on its line suggests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Inside the string after `registry`: a hive.
    Hive,
    /// After `service "NAME"`: a state or a test.
    ServiceTest,
    /// After `start`: a start type.
    StartType,
    /// After `warn`: a warning's name.
    Warning,
    /// After `rule` or `supersedes` inside a rule: a rule id.
    Rule,
    /// After `fact`: a fact's name.
    Fact,
    /// Anywhere else: keywords and condition names.
    Anything,
}

/// What may be written at `offset` of `text`.
pub fn context(text: &str, offset: usize) -> Context {
    let before = text.get(..offset).unwrap_or("");
    let line = before.rsplit('\n').next().unwrap_or("");
    let quotes = line.matches('"').count();
    let last_word = |s: &str| {
        s.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
            .rfind(|w| !w.is_empty())
            .unwrap_or("")
            .to_string()
    };
    if quotes % 2 == 1 {
        let opened = line.rfind('"').map_or("", |i| line.get(..i).unwrap_or(""));
        return if last_word(opened.trim_end()) == "registry" || last_word(opened) == "set" {
            Context::Hive
        } else {
            Context::Anything
        };
    }
    // The word being typed is not part of what comes before it.
    let head = line
        .trim_end_matches(|c: char| c.is_alphanumeric() || c == '_' || c == '.')
        .trim_end();
    if head.ends_with('"') {
        let open = head.get(..head.len() - 1).and_then(|h| h.rfind('"'));
        let before_string = open.and_then(|i| head.get(..i)).unwrap_or("");
        if last_word(before_string) == "service" {
            return Context::ServiceTest;
        }
    }
    match last_word(head).as_str() {
        "start" => Context::StartType,
        "warn" => Context::Warning,
        "supersedes" | "rule" if !head.trim_start().starts_with("rule") => Context::Rule,
        "fact" if !head.trim_start().starts_with("fact") => Context::Fact,
        _ => Context::Anything,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_context_follows_the_words_before_the_cursor() {
        let at_end = |t: &str| context(t, t.len());
        assert_eq!(at_end("    when registry \"HK"), Context::Hive);
        assert_eq!(at_end("    when service \"Rdr\" "), Context::ServiceTest);
        assert_eq!(at_end("    when service \"Rdr\" run"), Context::ServiceTest);
        assert_eq!(
            at_end("     and service \"Rdr\" start au"),
            Context::StartType
        );
        assert_eq!(at_end("    warn reg"), Context::Warning);
        assert_eq!(at_end("    when rule Q1"), Context::Rule);
        assert_eq!(at_end("    supersedes "), Context::Rule);
        assert_eq!(at_end("rule Q1"), Context::Anything);
        assert_eq!(at_end("     and x != fact exch"), Context::Fact);
        assert_eq!(at_end("    when ev"), Context::Anything);
        assert_eq!(at_end("    title \"text "), Context::Anything);
    }
}
