//! The syntax tree: rule files as written.
//!
//! Produced by `syntax` and read by `check`. Every node carries its [`Span`] in a [`Node`],
//! and spans are left out of equality so that tests can compare trees. Nothing here is
//! resolved or validated: names are strings, a service state is whatever word was written.

use serde::Serialize;

use crate::source::{SourceId, Span};

/// A value with the span it was written at; equality and serialization ignore the span.
#[derive(Debug, Clone)]
pub struct Node<T> {
    /// The value.
    pub node: T,
    /// Where it was written.
    pub span: Span,
}

impl<T: Serialize> Serialize for Node<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.node.serialize(serializer)
    }
}

impl<T> Node<T> {
    /// A node at a span.
    pub fn new(node: T, span: Span) -> Node<T> {
        Node { node, span }
    }
}

impl<T: PartialEq> PartialEq for Node<T> {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

impl<T: Eq> Eq for Node<T> {}

impl<T> std::ops::Deref for Node<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.node
    }
}

/// A name as written.
pub type Ident = Node<String>;
/// A string literal's text (quotes removed, `""` turned into `"`, adjacent strings joined).
pub type Text = Node<String>;

/// One parsed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct File {
    /// Which file.
    #[serde(skip)]
    pub source: SourceId,
    /// Its items, in order.
    pub items: Vec<Item>,
    /// Items that did not parse, by the name they declare: the error is reported once, and
    /// references to the name are not reported again.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub broken: Vec<(DeclKind, Ident)>,
}

/// The kinds of item that declare a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclKind {
    /// `rule ID`
    Rule,
    /// `condition NAME`
    Condition,
    /// `warning NAME`
    Warning,
    /// `fact NAME`
    Fact,
}

/// A top-level item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Item {
    /// `rule ID { … }`
    Rule(Node<Rule>),
    /// `condition NAME = EXPR`
    Condition(Node<ConditionDef>),
    /// `warning NAME = "TEXT"`
    Warning(Node<WarningDef>),
    /// `fact NAME: TYPE ["DESCRIPTION"]`
    Fact(Node<FactDef>),
    /// `product "NAME" [aka "ALIAS", …]`
    Product(Node<CatalogueEntry>),
    /// `os "NAME" [aka "ALIAS", …]`
    Os(Node<CatalogueEntry>),
}

/// A named condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConditionDef {
    /// Its name.
    pub name: Ident,
    /// What it says.
    pub expr: Expr,
}

/// A named warning text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WarningDef {
    /// Its name.
    pub name: Ident,
    /// The text.
    pub text: Text,
}

/// A declared fact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FactDef {
    /// The dotted name, such as `exchange.site_dn`.
    pub name: Ident,
    /// The type word as written (`text`, `number`, `version`, `bool`).
    pub ty: Ident,
    /// What the fact is, for people.
    pub description: Option<Text>,
}

/// A product or operating system in the catalogue, with its aliases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogueEntry {
    /// The canonical name.
    pub name: Text,
    /// Other names for it.
    pub aliases: Vec<Text>,
}

/// A rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// The rule's id, usually the KB article id.
    pub id: Ident,
    /// Its clauses, in the order written.
    pub clauses: Vec<Node<Clause>>,
}

/// A clause in a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Clause {
    /// `title "…"`
    Title(Text),
    /// `applies EXPR`
    Applies(Expr),
    /// `severity WORD`
    Severity(Ident),
    /// `tags A, "b"`
    Tags(Vec<Text>),
    /// `supersedes ID, …`
    Supersedes(Vec<Ident>),
    /// `when EXPR`
    When(Expr),
    /// `diagnose "…"`
    Diagnose(Text),
    /// `step "…"`
    Step(Text),
    /// `warn NAME` or `warn "…"`
    Warn(WarnRef),
    /// `see Q123, …`
    See(Vec<Ident>),
    /// `fix ACTION [verify EXPR]`
    Fix {
        /// What to do.
        action: Node<Fix>,
        /// How to tell that it worked.
        verify: Option<Expr>,
    },
}

/// The warning a `warn` clause gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WarnRef {
    /// A named warning.
    Named(Ident),
    /// Text given in place.
    Text(Text),
}

/// A structured fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fix {
    /// `install "Windows 2000 Service Pack 3"`
    Install(Text),
    /// `hotfix Q329115`
    Hotfix(Ident),
    /// `registry set "KEY" value "NAME" to [TYPE] LITERAL`
    RegistrySet {
        /// The key.
        key: Text,
        /// The value name.
        value: Text,
        /// The type word, if given.
        ty: Option<Ident>,
        /// The data.
        data: Node<Literal>,
    },
    /// `registry delete "KEY" [value "NAME"]`
    RegistryDelete {
        /// The key.
        key: Text,
        /// The value name; without it the key goes.
        value: Option<Text>,
    },
    /// `restart service "NAME"`
    RestartService(Text),
    /// `restart computer`
    RestartComputer,
    /// `reinstall "WHAT"`
    Reinstall(Text),
    /// `run "COMMAND"`
    Run(Text),
}

/// A condition.
pub type Expr = Node<ExprKind>;

/// The kinds of condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExprKind {
    /// `a or b or …`
    Or(Vec<Expr>),
    /// `a and b and …`
    And(Vec<Expr>),
    /// `not a`
    Not(Box<Expr>),
    /// `any of (…)`, `all of (…)`, `N of (…)`
    Quantifier {
        /// How many must hold.
        quantity: Node<Quantity>,
        /// The conditions.
        items: Vec<Expr>,
    },
    /// `A followed by B [within D]`
    FollowedBy {
        /// What happens first.
        first: Box<Expr>,
        /// What happens after it.
        then: Box<Expr>,
        /// How soon after.
        within: Option<Node<Duration>>,
    },
    /// `count(event …) OP N [within D]`
    Count {
        /// What is counted: events (anything else is an error the checker reports).
        event: Box<Node<Predicate>>,
        /// The comparison.
        op: Node<CmpOp>,
        /// The number compared with.
        value: Node<u64>,
        /// The window the events must fall in.
        within: Option<Node<Duration>>,
    },
    /// `LEFT OP RIGHT`
    Compare {
        /// The left side.
        left: Operand,
        /// The operator.
        op: Node<Op>,
        /// The right side.
        right: Operand,
    },
    /// A question about the system, optionally bound to a name with `as`.
    Predicate {
        /// The question.
        pred: Node<Predicate>,
        /// `as NAME`
        binding: Option<Ident>,
    },
    /// A named condition (or, in a comparison-free position, a binding).
    Ref(Ident),
}

/// How many of a quantifier's conditions must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantity {
    /// `any of`
    Any,
    /// `all of`
    All,
    /// `N of`
    AtLeast(u64),
}

/// A comparison or match operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// `==`, `<`, …
    Cmp(CmpOp),
    /// `~`, `contains`, `like`
    Match(MatchOp),
}

/// An ordering comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// A text match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchOp {
    /// `~ "regex"`
    Regex,
    /// `contains "text"`
    Contains,
    /// `like "wild*card?"`
    Like,
}

impl MatchOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Regex => "~",
            MatchOp::Contains => "contains",
            MatchOp::Like => "like",
        }
    }
}

impl Op {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Cmp(op) => op.as_str(),
            Op::Match(op) => op.as_str(),
        }
    }
}

/// One side of a comparison.
pub type Operand = Node<OperandKind>;

/// The kinds of operand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OperandKind {
    /// `fact exchange.site_dn`
    Fact(Ident),
    /// `number(x)`: text read as a decimal or `0x` hexadecimal number.
    Number(Box<Operand>),
    /// A literal.
    Literal(Literal),
    /// `name` or `name.property` or `name.1`: a binding and what it holds.
    Path(Vec<Ident>),
}

/// A literal value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Literal {
    /// `"text"`
    Text(String),
    /// `42`, `0x8009030f`
    Integer(u64),
    /// `5.0.2195`, `5.5 sp3`, `sp3`
    Version(VersionLit),
    /// `true`, `false`
    Bool(bool),
    /// `15m`
    Duration(Duration),
}

/// A version as written: numeric parts and an optional service-pack level.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct VersionLit {
    /// `[5, 0, 2195]`; empty for a bare `sp3`.
    pub parts: Vec<u64>,
    /// The service-pack level.
    pub sp: Option<u64>,
}

impl std::fmt::Display for VersionLit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.parts.iter().map(u64::to_string).collect();
        f.write_str(&parts.join("."))?;
        if let Some(sp) = self.sp {
            if !self.parts.is_empty() {
                f.write_str(" ")?;
            }
            write!(f, "sp{sp}")?;
        }
        Ok(())
    }
}

/// A length of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Duration {
    /// In milliseconds.
    pub millis: u64,
}

/// A question about the system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Predicate {
    /// An event in a log.
    Event(EventPred),
    /// A registry key or value.
    Registry(RegistryPred),
    /// A service.
    Service(ServicePred),
    /// An installed product at a version.
    Product(VersionedPred),
    /// The operating system at a version.
    Os(VersionedPred),
    /// An installed hotfix.
    Hotfix(Text),
    /// A file.
    File(FilePred),
    /// An installed component.
    Component(ComponentPred),
    /// Another rule's verdict: it fired.
    Rule(Ident),
}

/// `event [LOG] FILTER…`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventPred {
    /// The log, if named.
    pub log: Option<Text>,
    /// The filters, in order.
    pub filters: Vec<Node<EventFilter>>,
}

/// One filter on events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventFilter {
    /// `source "NAME"`
    Source(Text),
    /// `id 1, 2, 10..=20`
    Id(Vec<Node<IdRange>>),
    /// `level WORD`
    Level(Ident),
    /// `message OP "TEXT"`
    Message(Node<Op>, Text),
    /// `data[N] OP LITERAL` or `data["Name"] OP LITERAL`
    Data {
        /// Which field.
        field: Node<DataField>,
        /// The operator.
        op: Node<Op>,
        /// What it is compared with.
        value: Node<Literal>,
    },
    /// `binary[OFFSET] WIDTH OP N`
    Binary {
        /// The byte offset.
        offset: Node<u64>,
        /// `byte`, `word`, `dword` or `qword`, little-endian.
        width: Ident,
        /// The comparison.
        op: Node<CmpOp>,
        /// The number.
        value: Node<u64>,
    },
}

/// An event id or a range of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdRange {
    /// The first id.
    pub start: u64,
    /// The last id, and whether it is included (`..=`) or not (`..`).
    pub end: Option<(u64, bool)>,
}

/// Which event data field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataField {
    /// By position, from 1 (as `%1` in a message).
    Index(u64),
    /// By name.
    Name(String),
}

/// `registry "KEY" …`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistryPred {
    /// The key path, hive first.
    pub key: Text,
    /// What is asked of it.
    pub test: RegistryTest,
}

/// What is asked of a registry key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistryTest {
    /// The key exists.
    KeyExists,
    /// The key does not exist.
    KeyMissing,
    /// `value "NAME" [TYPE] [TEST]`
    Value {
        /// The value's name.
        name: Text,
        /// The type word, if given.
        ty: Option<Ident>,
        /// The test; without one, the value exists.
        test: Option<Node<ValueTest>>,
    },
}

/// A test of a registry value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueTest {
    /// `missing`
    Missing,
    /// `count OP N`, on a MULTI_SZ
    Count(CmpOp, u64),
    /// `OP LITERAL`
    Compare(Node<Op>, Node<Literal>),
}

/// `service "NAME" [TEST]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServicePred {
    /// The service's name.
    pub name: Text,
    /// The test; without one, the service is present.
    pub test: Option<Node<ServiceTest>>,
}

/// What is asked of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceTest {
    /// `present`
    Present,
    /// `absent`
    Absent,
    /// A state word: `running`, `stopped`, …
    State(Ident),
    /// `start WORD`
    Start(Ident),
    /// `account OP "TEXT"`
    Account(Node<Op>, Text),
    /// `depends on "NAME"`
    DependsOn(Text),
    /// `image OP "TEXT"`
    Image(Node<Op>, Text),
}

/// `product "NAME" [VERSIONS]` or `os "NAME" [VERSIONS]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionedPred {
    /// The name as written.
    pub name: Text,
    /// Which versions.
    pub spec: Option<Node<VersionSpec>>,
}

/// Which versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionSpec {
    /// `5.5 sp3`: that version (family) exactly.
    Exact(Node<VersionLit>),
    /// `< sp3`, `>= 5.0`
    Cmp(Node<CmpOp>, Node<VersionLit>),
    /// `A .. B` (B excluded) or `A ..= B` (B included)
    Range {
        /// The lowest version.
        start: Node<VersionLit>,
        /// Whether `end` is included.
        inclusive: bool,
        /// The end.
        end: Node<VersionLit>,
    },
}

/// `file "PATH" [exists | missing | version SPEC]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FilePred {
    /// The path.
    pub path: Text,
    /// The test; without one, the file exists.
    pub test: FileTest,
}

/// What is asked of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileTest {
    /// It exists.
    Exists,
    /// It does not exist.
    Missing,
    /// Its version.
    Version(Node<VersionSpec>),
}

/// `component "NAME" [present | absent]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComponentPred {
    /// The component's name.
    pub name: Text,
    /// Whether it must be installed (`present`, the default) or not.
    pub present: bool,
}
