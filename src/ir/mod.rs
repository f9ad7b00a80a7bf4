//! The checked rule graph: what the checker produces and the evaluator reads.
//!
//! Arenas indexed by typed ids, with no name left to look up: a rule reference is a [`RuleId`],
//! a fact a [`FactId`], a product a [`ProductId`]. Identical predicates and condition trees are
//! one node (hash-consing), so a snapshot is asked each question once however many rules ask
//! it. Rules are stored in topological order: a rule comes after every rule it depends on.
//! Children are created before their parents, so the expression arena is topological too.

mod dot;

use std::collections::HashMap;

use crate::ast::{CmpOp, MatchOp};
use crate::source::Span;

pub(crate) use dot::{compare_op, value_named};
pub use dot::{describe, duration, to_dot};

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub(crate) u32);

        impl $name {
            /// The index in its arena.
            pub fn index(self) -> usize {
                self.0 as usize
            }

            pub(crate) fn from_index(index: usize) -> Self {
                $name(u32::try_from(index).unwrap_or(u32::MAX))
            }
        }
    )*};
}

id_type! {
    /// A rule in [`RuleGraph::rules`].
    RuleId;
    /// A node in the expression arena.
    ExprId;
    /// A question about the system in the predicate arena.
    PredId;
    /// A declared fact.
    FactId;
    /// A product in the catalogue.
    ProductId;
    /// An operating system in the catalogue.
    OsId;
    /// A compiled regular expression.
    RegexId;
    /// A binding slot, local to one rule or one condition.
    SlotId;
}

/// The compiled rule library.
#[derive(Debug, Clone, Default)]
pub struct RuleGraph {
    pub(crate) rules: Vec<Rule>,
    pub(crate) exprs: Vec<Expr>,
    pub(crate) preds: Vec<Predicate>,
    pub(crate) regexes: Vec<Regex>,
    pub(crate) facts: Vec<Fact>,
    pub(crate) products: Vec<CatalogueEntry>,
    pub(crate) oses: Vec<CatalogueEntry>,
    pub(crate) conditions: Vec<NamedCondition>,
}

impl RuleGraph {
    /// The rules, in topological order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// A rule by id.
    pub fn rule(&self, id: RuleId) -> Option<&Rule> {
        self.rules.get(id.index())
    }

    /// A rule by its id as written (case-sensitive).
    pub fn rule_by_name(&self, name: &str) -> Option<(RuleId, &Rule)> {
        self.rules
            .iter()
            .enumerate()
            .find(|(_, r)| r.id == name)
            .map(|(i, r)| (RuleId::from_index(i), r))
    }

    /// The expression arena.
    pub fn exprs(&self) -> &[Expr] {
        &self.exprs
    }

    /// An expression by id.
    pub fn expr(&self, id: ExprId) -> Option<&Expr> {
        self.exprs.get(id.index())
    }

    /// The predicate arena: every distinct question the rules ask.
    pub fn predicates(&self) -> &[Predicate] {
        &self.preds
    }

    /// A predicate by id.
    pub fn predicate(&self, id: PredId) -> Option<&Predicate> {
        self.preds.get(id.index())
    }

    /// A compiled regular expression by id.
    pub fn regex(&self, id: RegexId) -> Option<&Regex> {
        self.regexes.get(id.index())
    }

    /// The declared facts.
    pub fn facts(&self) -> &[Fact] {
        &self.facts
    }

    /// The product catalogue.
    pub fn products(&self) -> &[CatalogueEntry] {
        &self.products
    }

    /// The operating-system catalogue.
    pub fn operating_systems(&self) -> &[CatalogueEntry] {
        &self.oses
    }

    /// The named conditions, each with the node it compiled to.
    pub fn conditions(&self) -> &[NamedCondition] {
        &self.conditions
    }
}

/// A rule, checked.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The id as written, usually the KB article id.
    pub id: String,
    /// The title.
    pub title: String,
    /// How serious a finding is.
    pub severity: RuleSeverity,
    /// Free-form tags.
    pub tags: Vec<String>,
    /// Which systems the rule is about; `None` means every system.
    pub applies: Option<ExprId>,
    /// The symptoms.
    pub when: ExprId,
    /// The cause, with placeholders.
    pub diagnose: Option<Template>,
    /// The steps that fix it, in order.
    pub steps: Vec<Template>,
    /// Warnings to show with the steps.
    pub warnings: Vec<Template>,
    /// Related KB articles.
    pub see: Vec<String>,
    /// Structured fixes.
    pub fixes: Vec<FixAction>,
    /// Rules this one supersedes: when it fires, they are reported as superseded.
    pub supersedes: Vec<RuleId>,
    /// Rules whose verdicts this one reads, directly or through named conditions.
    pub depends_on: Vec<RuleId>,
    /// The rule references written in this rule (`rule Q…`, `supersedes Q…`), with where.
    pub references: Vec<(RuleId, Span)>,
    /// The rule's binding slots, by slot index.
    pub bindings: Vec<Binding>,
    /// Where the rule is written.
    pub span: Span,
    /// Where its id is written.
    pub id_span: Span,
}

/// A rule's severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleSeverity {
    /// Informational.
    Info,
    /// Worth a look.
    Warning,
    /// Something is broken.
    Error,
}

impl RuleSeverity {
    /// As written.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleSeverity::Info => "info",
            RuleSeverity::Warning => "warning",
            RuleSeverity::Error => "error",
        }
    }
}

/// A named binding (`as NAME`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The name.
    pub name: String,
    /// What it binds.
    pub kind: BindingKind,
    /// Where it is bound.
    pub span: Span,
}

/// What a binding holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BindingKind {
    /// An event record.
    Event,
    /// A registry key.
    RegistryKey,
    /// A registry value, with its declared type if any.
    RegistryValue(Option<RegType>),
    /// A service.
    Service,
    /// An installed product.
    Product,
    /// The operating system.
    Os,
    /// A hotfix.
    Hotfix,
    /// A file.
    File,
    /// A component.
    Component,
    /// Another rule's verdict.
    Rule,
}

/// A named condition and the node it compiled to.
#[derive(Debug, Clone)]
pub struct NamedCondition {
    /// Its name.
    pub name: String,
    /// Its node.
    pub expr: ExprId,
    /// The names it binds for itself, by slot index.
    pub bindings: Vec<Binding>,
    /// Where it is declared.
    pub span: Span,
}

/// A node of a condition tree.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Expr {
    /// A question about the system, its match bound to a slot if named with `as`.
    Pred {
        /// The question.
        pred: PredId,
        /// The slot the matching item is bound to.
        bind: Option<SlotId>,
    },
    /// All hold.
    And(Vec<ExprId>),
    /// At least one holds.
    Or(Vec<ExprId>),
    /// Does not hold.
    Not(ExprId),
    /// At least `n` of the items hold.
    AtLeast {
        /// How many.
        n: u32,
        /// The conditions.
        items: Vec<ExprId>,
    },
    /// An event matching `first`, then one matching `then`, within `within` milliseconds.
    FollowedBy {
        /// The earlier event.
        first: PredId,
        /// Its slot.
        first_bind: Option<SlotId>,
        /// The later event.
        then: PredId,
        /// Its slot.
        then_bind: Option<SlotId>,
        /// The window in milliseconds.
        within: Option<u64>,
    },
    /// The number of events matching `pred` (in some window of `within` milliseconds) compared.
    Count {
        /// The events.
        pred: PredId,
        /// The comparison.
        op: CmpOp,
        /// The number.
        n: u64,
        /// The window in milliseconds.
        within: Option<u64>,
    },
    /// Two values compared.
    Compare {
        /// The left side.
        left: Value,
        /// The operator.
        op: CompareOp,
        /// The right side.
        right: Value,
    },
    /// Another rule fired.
    RuleFired(RuleId),
    /// A named condition's own bindings: evaluate `expr` with `slots` fresh slots.
    Scope {
        /// The condition.
        expr: ExprId,
        /// How many slots it binds.
        slots: u32,
    },
}

/// A comparison operator, with its compiled regular expression for `~`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// An ordering comparison.
    Cmp(CmpOp),
    /// A text match.
    Match(TextMatch),
}

/// A value in a comparison.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    /// A constant.
    Const(Const),
    /// A fact from the snapshot.
    Fact(FactId),
    /// What a binding holds.
    Binding {
        /// The slot.
        slot: SlotId,
        /// Which part of it.
        property: Property,
    },
    /// Text read as a decimal or `0x` hexadecimal number.
    Number(Box<Value>),
}

/// A constant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Const {
    /// Text.
    Text(String),
    /// A whole number.
    Number(u64),
    /// A version.
    Version(Version),
    /// A boolean.
    Bool(bool),
    /// A duration in milliseconds.
    Duration(u64),
}

/// The types values have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Type {
    /// Text.
    Text,
    /// A whole number.
    Number,
    /// A version.
    Version,
    /// A boolean.
    Bool,
    /// A duration.
    Duration,
    /// A point in time.
    Time,
    /// Known only from the snapshot (an undeclared registry value, an event data field).
    Any,
}

impl Type {
    /// The type's name, as the language writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Type::Text => "text",
            Type::Number => "number",
            Type::Version => "version",
            Type::Bool => "bool",
            Type::Duration => "duration",
            Type::Time => "time",
            Type::Any => "any",
        }
    }
}

/// A part of a bound item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Property {
    /// The item itself, as its main value (an event's message, a registry value's data, a
    /// service's state, a file's or product's version).
    Main,
    /// A named field, such as `time`, `record_id`, `state`.
    Field(&'static str),
    /// An event data field by position (from 1).
    Data(u32),
    /// An event data field by name.
    DataNamed(String),
    /// A capture group of the message match, by number (from 1).
    Capture(u32),
    /// A named capture group of the message match.
    CaptureNamed(String),
}

/// A text match, compiled.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TextMatch {
    /// Equal, ignoring case.
    Equals(String),
    /// Contains, ignoring case.
    Contains(String),
    /// A wildcard pattern (`*`, `?`), ignoring case.
    Like(String),
    /// A regular expression, ignoring case.
    Regex(RegexId),
}

impl TextMatch {
    /// The operator, as written.
    pub fn op(&self) -> MatchOp {
        match self {
            TextMatch::Equals(_) | TextMatch::Contains(_) => MatchOp::Contains,
            TextMatch::Like(_) => MatchOp::Like,
            TextMatch::Regex(_) => MatchOp::Regex,
        }
    }
}

/// A compiled regular expression, case-insensitive.
#[derive(Debug, Clone)]
pub struct Regex {
    /// The pattern as written.
    pub pattern: String,
    /// The compiled form.
    pub regex: regex::Regex,
}

/// A version: numeric parts, and a service-pack level when one is named.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version {
    /// `[5, 5]` for `5.5`; empty for a bare `sp3`.
    pub parts: Vec<u64>,
    /// The service-pack level.
    pub sp: Option<u64>,
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.parts.iter().map(u64::to_string).collect();
        f.write_str(&parts.join("."))?;
        match (self.sp, self.parts.is_empty()) {
            (Some(sp), true) => write!(f, "sp{sp}"),
            (Some(sp), false) => write!(f, " sp{sp}"),
            (None, _) => Ok(()),
        }
    }
}

/// A set of versions: between an optional lower and an optional upper bound.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VersionRange {
    /// The lower bound, and whether it is included.
    pub lower: Option<(Version, bool)>,
    /// The upper bound, and whether it is included.
    pub upper: Option<(Version, bool)>,
    /// Versions excluded (from `!=`).
    pub except: Option<Version>,
}

impl VersionRange {
    /// Every version.
    pub fn any() -> VersionRange {
        VersionRange {
            lower: None,
            upper: None,
            except: None,
        }
    }
}

/// A registry hive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Hive {
    /// HKEY_LOCAL_MACHINE
    LocalMachine,
    /// HKEY_CURRENT_USER
    CurrentUser,
    /// HKEY_USERS
    Users,
    /// HKEY_CLASSES_ROOT
    ClassesRoot,
    /// HKEY_CURRENT_CONFIG
    CurrentConfig,
}

impl Hive {
    /// Every name of every hive, lowercase: the abbreviation and the full name.
    pub const NAMES: &[(&str, Hive)] = &[
        ("hklm", Hive::LocalMachine),
        ("hkey_local_machine", Hive::LocalMachine),
        ("hkcu", Hive::CurrentUser),
        ("hkey_current_user", Hive::CurrentUser),
        ("hku", Hive::Users),
        ("hkey_users", Hive::Users),
        ("hkcr", Hive::ClassesRoot),
        ("hkey_classes_root", Hive::ClassesRoot),
        ("hkcc", Hive::CurrentConfig),
        ("hkey_current_config", Hive::CurrentConfig),
    ];

    /// A hive by its abbreviation or full name, ignoring case.
    pub fn parse(word: &str) -> Option<Hive> {
        Hive::NAMES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(word))
            .map(|(_, hive)| *hive)
    }

    /// The short name, `HKLM`.
    pub fn short(self) -> &'static str {
        match self {
            Hive::LocalMachine => "HKLM",
            Hive::CurrentUser => "HKCU",
            Hive::Users => "HKU",
            Hive::ClassesRoot => "HKCR",
            Hive::CurrentConfig => "HKCC",
        }
    }
}

/// A registry key: hive and path below it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegKey {
    /// The hive.
    pub hive: Hive,
    /// The path below the hive, as written, without leading or trailing backslashes.
    pub path: String,
}

impl RegKey {
    /// Parses `HIVE\\PATH`, with the hive abbreviated or in full; `None` when the first part is
    /// not a hive. Empty parts (doubled or trailing backslashes) are dropped.
    pub fn parse(text: &str) -> Option<RegKey> {
        let trimmed = text.trim().trim_matches('\\');
        let (hive, rest) = trimmed.split_once('\\').unwrap_or((trimmed, ""));
        let hive = Hive::parse(hive)?;
        let path = rest
            .split('\\')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("\\");
        Some(RegKey { hive, path })
    }

    /// The key as one lowercase string, `hklm\\system\\…`: keys compare without case.
    pub fn folded(&self) -> String {
        self.to_string().to_lowercase()
    }

    /// Whether a part of the path holds a placeholder, `<adapter>`, which stands for any text in
    /// a key name: the key is a pattern that names every key it matches.
    pub fn is_pattern(&self) -> bool {
        self.path.split('\\').any(has_placeholder)
    }

    /// The key above the first part with a placeholder (the key itself when it is not a
    /// pattern): every key the pattern matches is below it.
    pub fn fixed_prefix(&self) -> RegKey {
        let parts: Vec<&str> = self
            .path
            .split('\\')
            .take_while(|part| !has_placeholder(part))
            .collect();
        RegKey {
            hive: self.hive,
            path: parts.join("\\"),
        }
    }
}

/// One piece of a key name in a pattern: literal text, or a placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NamePiece<'a> {
    /// Text the name must hold, as written.
    Text(&'a str),
    /// A placeholder, `<adapter>`: one or more characters.
    Any,
}

/// A key name split into text and placeholders. A placeholder is a name between angle brackets
/// (`<adapter>`, `<TP NAME>`) with no bracket inside; other brackets (`<>`, an unclosed `<`) are
/// text. (`*` is text too: `HKCR\\*` is a real key.)
pub(crate) fn name_pieces(part: &str) -> Vec<NamePiece<'_>> {
    let mut pieces = Vec::new();
    let mut text_start = 0;
    let mut rest = part;
    let mut offset = 0;
    while let Some(open) = rest.find('<') {
        let after = rest.get(open + 1..).unwrap_or("");
        let close = after.find(['<', '>']);
        match close {
            Some(close) if close > 0 && after.get(close..close + 1) == Some(">") => {
                if offset + open > text_start {
                    pieces.push(NamePiece::Text(
                        part.get(text_start..offset + open).unwrap_or(""),
                    ));
                }
                pieces.push(NamePiece::Any);
                let consumed = open + 1 + close + 1;
                offset += consumed;
                text_start = offset;
                rest = rest.get(consumed..).unwrap_or("");
            }
            _ => {
                offset += open + 1;
                rest = after;
            }
        }
    }
    if text_start < part.len() {
        pieces.push(NamePiece::Text(part.get(text_start..).unwrap_or("")));
    }
    pieces
}

/// Whether a part of a key path holds a placeholder (see [`name_pieces`]).
pub(crate) fn has_placeholder(part: &str) -> bool {
    name_pieces(part).contains(&NamePiece::Any)
}

/// Whether a folded key path (`hklm\\…`) is matched by a folded pattern: as many parts, each
/// matched by the pattern's part (see [`name_matches`]).
pub(crate) fn path_matches(pattern: &str, path: &str) -> bool {
    let mut want = pattern.split('\\');
    let mut have = path.split('\\');
    loop {
        match (want.next(), have.next()) {
            (None, None) => return true,
            (Some(w), Some(h)) if w == h || name_matches(w, h) => {}
            _ => return false,
        }
    }
}

/// Whether a key name is matched by a part of a pattern, each placeholder standing for one or
/// more characters: `snadlc<n>` matches `snadlc1` but not `snadlc`. Greedy matching with
/// backtracking to the last placeholder only, so the time is at most the product of the lengths.
pub(crate) fn name_matches(pattern: &str, name: &str) -> bool {
    // A placeholder is one character followed by any number: `?*` in glob terms.
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Char(char),
        One,
        Star,
    }
    let mut toks = Vec::new();
    for piece in name_pieces(pattern) {
        match piece {
            NamePiece::Text(text) => toks.extend(text.chars().map(Tok::Char)),
            NamePiece::Any => toks.extend([Tok::One, Tok::Star]),
        }
    }
    let name: Vec<char> = name.chars().collect();
    let (mut p, mut n) = (0, 0);
    // Where the last `Star` was, and the position in the name it currently swallows up to.
    let mut star: Option<(usize, usize)> = None;
    while let Some(&c) = name.get(n) {
        match toks.get(p) {
            Some(Tok::Char(t)) if *t == c => {
                p += 1;
                n += 1;
            }
            Some(Tok::One) => {
                p += 1;
                n += 1;
            }
            Some(Tok::Star) => {
                star = Some((p, n));
                p += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    toks.get(p..)
        .is_some_and(|rest| rest.iter().all(|t| *t == Tok::Star))
}

impl std::fmt::Display for RegKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(self.hive.short())
        } else {
            write!(f, "{}\\{}", self.hive.short(), self.path)
        }
    }
}

/// A registry value type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegType {
    /// REG_SZ
    Sz,
    /// REG_EXPAND_SZ
    ExpandSz,
    /// REG_MULTI_SZ
    MultiSz,
    /// REG_DWORD
    Dword,
    /// REG_QWORD
    Qword,
    /// REG_BINARY
    Binary,
}

impl RegType {
    /// As Windows names it.
    pub fn as_str(self) -> &'static str {
        match self {
            RegType::Sz => "REG_SZ",
            RegType::ExpandSz => "REG_EXPAND_SZ",
            RegType::MultiSz => "REG_MULTI_SZ",
            RegType::Dword => "REG_DWORD",
            RegType::Qword => "REG_QWORD",
            RegType::Binary => "REG_BINARY",
        }
    }

    /// The type of the value's data in comparisons.
    pub fn value_type(self) -> Type {
        match self {
            RegType::Sz | RegType::ExpandSz | RegType::MultiSz | RegType::Binary => Type::Text,
            RegType::Dword | RegType::Qword => Type::Number,
        }
    }
}

/// An event level, as Windows names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// Critical (1).
    Critical,
    /// Error (2).
    Error,
    /// Warning (3).
    Warning,
    /// Information (4, or 0 for classic events).
    Information,
    /// Verbose (5).
    Verbose,
    /// Audit success.
    AuditSuccess,
    /// Audit failure.
    AuditFailure,
}

impl Level {
    /// As the language writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Critical => "critical",
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Information => "information",
            Level::Verbose => "verbose",
            Level::AuditSuccess => "audit_success",
            Level::AuditFailure => "audit_failure",
        }
    }
}

/// A service state, as the service control manager names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceState {
    /// SERVICE_STOPPED
    Stopped,
    /// SERVICE_START_PENDING
    StartPending,
    /// SERVICE_STOP_PENDING
    StopPending,
    /// SERVICE_RUNNING
    Running,
    /// SERVICE_CONTINUE_PENDING
    ContinuePending,
    /// SERVICE_PAUSE_PENDING
    PausePending,
    /// SERVICE_PAUSED
    Paused,
}

impl ServiceState {
    /// As the language writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceState::Stopped => "stopped",
            ServiceState::StartPending => "start_pending",
            ServiceState::StopPending => "stop_pending",
            ServiceState::Running => "running",
            ServiceState::ContinuePending => "continue_pending",
            ServiceState::PausePending => "pause_pending",
            ServiceState::Paused => "paused",
        }
    }
}

/// A service start type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StartType {
    /// Loaded by the boot loader.
    Boot,
    /// Loaded by the kernel.
    System,
    /// Started at boot by the service control manager.
    Automatic,
    /// Started on demand.
    Manual,
    /// Cannot be started.
    Disabled,
}

impl StartType {
    /// As the language writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            StartType::Boot => "boot",
            StartType::System => "system",
            StartType::Automatic => "automatic",
            StartType::Manual => "manual",
            StartType::Disabled => "disabled",
        }
    }
}

/// A question about the system.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Predicate {
    /// An event matching every filter.
    Event(EventFilter),
    /// A registry key exists (or not).
    RegistryKey {
        /// The key.
        key: RegKey,
        /// Whether it must exist.
        exists: bool,
    },
    /// A registry value.
    RegistryValue {
        /// The key.
        key: RegKey,
        /// The value's name.
        name: String,
        /// The declared type.
        ty: Option<RegType>,
        /// What is asked of it.
        test: ValueTest,
    },
    /// A service.
    Service {
        /// The service's name.
        name: String,
        /// What is asked of it.
        test: ServiceTest,
    },
    /// An installed product in a version range.
    Product {
        /// Which product.
        product: ProductId,
        /// Which versions.
        versions: VersionRange,
    },
    /// The operating system in a version range.
    Os {
        /// Which system.
        os: OsId,
        /// Which versions.
        versions: VersionRange,
    },
    /// A hotfix is installed.
    Hotfix(String),
    /// A file.
    File {
        /// The path.
        path: String,
        /// What is asked of it.
        test: FileTest,
    },
    /// A component is installed (or not).
    Component {
        /// The component.
        name: String,
        /// Whether it must be installed.
        present: bool,
    },
}

impl Predicate {
    /// The predicate with every case-insensitive name lowercased: equal keys ask one question.
    fn case_folded(&self) -> Predicate {
        let fold = |s: &String| s.to_lowercase();
        let mut p = self.clone();
        match &mut p {
            Predicate::Event(f) => {
                f.log = f.log.as_ref().map(fold);
                f.source = f.source.as_ref().map(fold);
            }
            Predicate::RegistryKey { key, .. } => key.path = fold(&key.path),
            Predicate::RegistryValue { key, name, .. } => {
                key.path = fold(&key.path);
                *name = fold(name);
            }
            Predicate::Service { name, test } => {
                *name = fold(name);
                if let ServiceTest::DependsOn(d) = test {
                    *d = fold(d);
                }
            }
            Predicate::File { path, .. } => *path = fold(path),
            Predicate::Component { name, .. } => *name = fold(name),
            Predicate::Product { .. } | Predicate::Os { .. } | Predicate::Hotfix(_) => {}
        }
        p
    }
}

/// Filters on an event; every one given must match.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct EventFilter {
    /// The log.
    pub log: Option<String>,
    /// The source (provider).
    pub source: Option<String>,
    /// Event ids, as inclusive ranges.
    pub ids: Vec<(u16, u16)>,
    /// The level.
    pub level: Option<Level>,
    /// A match on the rendered message.
    pub message: Option<TextMatch>,
    /// Tests on event data fields.
    pub data: Vec<DataTest>,
    /// Tests on binary data.
    pub binary: Vec<BinaryTest>,
}

/// A test on an event data field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DataTest {
    /// Which field.
    pub field: Property,
    /// The operator.
    pub op: CompareOp,
    /// What it is compared with.
    pub value: Const,
}

/// A test on a little-endian number in an event's binary data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BinaryTest {
    /// The byte offset.
    pub offset: u64,
    /// The number of bytes: 1, 2, 4 or 8.
    pub width: u8,
    /// The comparison.
    pub op: CmpOp,
    /// The number.
    pub value: u64,
}

/// What is asked of a registry value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ValueTest {
    /// It exists.
    Exists,
    /// It does not exist.
    Missing,
    /// The number of strings in a MULTI_SZ.
    Count(CmpOp, u64),
    /// Its data compared.
    Compare(CompareOp, Const),
}

/// What is asked of a service.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServiceTest {
    /// It is installed.
    Present,
    /// It is not installed.
    Absent,
    /// It is in this state.
    State(ServiceState),
    /// It starts this way.
    Start(StartType),
    /// Its account matches.
    Account(TextTest),
    /// It depends on this service.
    DependsOn(String),
    /// Its image path matches.
    Image(TextTest),
}

/// A text match, possibly negated (`!=`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TextTest {
    /// The match.
    pub matches: TextMatch,
    /// Whether the match must fail.
    pub negated: bool,
}

/// What is asked of a file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FileTest {
    /// It exists.
    Exists,
    /// It does not exist.
    Missing,
    /// Its version is in a range.
    Version(VersionRange),
}

/// A declared fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// Its dotted name.
    pub name: String,
    /// Its type.
    pub ty: Type,
    /// What it is.
    pub description: Option<String>,
}

/// A product or operating system, with its aliases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueEntry {
    /// The canonical name.
    pub name: String,
    /// Other names.
    pub aliases: Vec<String>,
}

/// Text with placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The parts, in order.
    pub parts: Vec<TemplatePart>,
}

/// A part of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplatePart {
    /// Literal text.
    Text(String),
    /// A value to fill in.
    Value(Value),
}

/// A structured fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixAction {
    /// What to do.
    pub fix: Fix,
    /// How to tell that it worked.
    pub verify: Option<ExprId>,
}

/// What a fix does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fix {
    /// Install a service pack, update or product.
    Install(String),
    /// Apply a hotfix.
    Hotfix(String),
    /// Set a registry value.
    RegistrySet {
        /// The key.
        key: RegKey,
        /// The value.
        value: String,
        /// Its type.
        ty: Option<RegType>,
        /// The data.
        data: Const,
    },
    /// Delete a registry key or value.
    RegistryDelete {
        /// The key.
        key: RegKey,
        /// The value; none deletes the key.
        value: Option<String>,
    },
    /// Restart a service.
    RestartService(String),
    /// Restart the computer.
    RestartComputer,
    /// Reinstall something.
    Reinstall(String),
    /// Run a command.
    Run(String),
}

/// Builds arenas with hash-consing.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    pub(crate) exprs: Vec<Expr>,
    expr_ids: HashMap<Expr, ExprId>,
    pub(crate) preds: Vec<Predicate>,
    pred_ids: HashMap<Predicate, PredId>,
    pub(crate) regexes: Vec<Regex>,
    regex_ids: HashMap<String, RegexId>,
}

impl Interner {
    pub(crate) fn expr(&mut self, expr: Expr) -> ExprId {
        if let Some(&id) = self.expr_ids.get(&expr) {
            return id;
        }
        let id = ExprId::from_index(self.exprs.len());
        self.exprs.push(expr.clone());
        self.expr_ids.insert(expr, id);
        id
    }

    /// Interns a predicate. Names that Windows compares without case (logs, sources, services,
    /// keys, values, files, components) are compared so here too: the first spelling is kept.
    pub(crate) fn pred(&mut self, pred: Predicate) -> PredId {
        let key = pred.case_folded();
        if let Some(&id) = self.pred_ids.get(&key) {
            return id;
        }
        let id = PredId::from_index(self.preds.len());
        self.preds.push(pred);
        self.pred_ids.insert(key, id);
        id
    }

    /// A regex already compiled under this pattern, if any.
    pub(crate) fn regex_id(&self, pattern: &str) -> Option<RegexId> {
        self.regex_ids.get(pattern).copied()
    }

    pub(crate) fn add_regex(&mut self, regex: Regex) -> RegexId {
        let id = RegexId::from_index(self.regexes.len());
        self.regex_ids.insert(regex.pattern.clone(), id);
        self.regexes.push(regex);
        id
    }

    pub(crate) fn expr_at(&self, id: ExprId) -> Option<&Expr> {
        self.exprs.get(id.index())
    }
}

#[cfg(test)]
mod tests {
    use super::{NamePiece, has_placeholder, name_matches, name_pieces, path_matches};

    #[test]
    fn placeholders_are_names_between_brackets() {
        use NamePiece::{Any, Text};
        assert_eq!(name_pieces("<adapter>"), [Any]);
        assert_eq!(name_pieces("SnaDlc<n>"), [Text("SnaDlc"), Any]);
        assert_eq!(name_pieces("a<x>b<y>"), [Text("a"), Any, Text("b"), Any]);
        assert_eq!(name_pieces("<TP NAME>"), [Any]);
        assert_eq!(name_pieces("<>"), [Text("<>")]);
        assert_eq!(name_pieces("<adapter"), [Text("<adapter")]);
        assert_eq!(name_pieces("<a<b>"), [Text("<a"), Any]);
        assert_eq!(name_pieces("x>y"), [Text("x>y")]);
        assert_eq!(name_pieces("*"), [Text("*")]);
        assert!(!has_placeholder("<>"));
        assert!(has_placeholder("SnaDlc<n>"));
    }

    #[test]
    fn a_placeholder_is_one_or_more_characters_of_one_name() {
        assert!(name_matches("snadlc<n>", "snadlc1"));
        assert!(name_matches("snadlc<n>", "snadlc12"));
        assert!(!name_matches("snadlc<n>", "snadlc"));
        assert!(!name_matches("snadlc<n>", "snaservr"));
        assert!(name_matches("<a>dlc<b>", "snadlc1"));
        assert!(!name_matches("<a>dlc<b>", "dlc1"));
        assert!(name_matches("<a>-<b>", "x-y-z"));
        assert!(name_matches("a<x>a", "aaa"));
        assert!(!name_matches("a<x>a", "aa"));
        assert!(name_matches("<>", "<>"));
        assert!(!name_matches("<>", "x"));
        assert!(path_matches(
            "hklm\\services\\snadlc<n>\\parameters",
            "hklm\\services\\snadlc2\\parameters"
        ));
        assert!(!path_matches("hklm\\services\\<s>", "hklm\\services\\a\\b"));
        assert!(!path_matches(
            "hklm\\services\\<s>\\parameters",
            "hklm\\services\\parameters"
        ));
    }

    #[test]
    fn many_placeholders_against_a_long_name() {
        // Many placeholders against a long name that fails at its end: greedy matching with one
        // backtracking point does not explode.
        let pattern = "<a>".repeat(200) + "x";
        let name = "y".repeat(2_000);
        assert!(!name_matches(&pattern, &name));
        assert!(name_matches(&pattern, &(name.clone() + "x")));
    }
}
