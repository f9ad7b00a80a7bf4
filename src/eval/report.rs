//! The report: a verdict for every rule, with evidence, and what could not be checked.
//!
//! The JSON form (`kbrules_report: 1`) is a contract, described by `schemas/report.schema.json`.

use std::fmt;

use serde::Serialize;

use crate::snapshot::Skipped;

/// The report format version.
pub const REPORT_VERSION: u32 = 1;

/// Every rule's verdict on one snapshot.
///
/// ```
/// # let mut sources = kbrules::Sources::new();
/// # sources.add("r.kbr", r#"rule Q1 { title "SNMP is installed" when service "SNMP" present diagnose "x" }"#);
/// # let rules = kbrules::RuleSet::compile(&sources).expect("compiles");
/// // A snapshot that did not list services: the rule cannot be decided.
/// let snapshot = kbrules::Snapshot::from_json(r#"{ "kbrules_snapshot": 1 }"#, "empty.json")
///     .expect("a valid snapshot");
/// let report = rules.evaluate(&snapshot);
/// assert_eq!(report.summary.not_evaluable, 1);
/// let verdict = report.verdict("Q1").expect("a verdict");
/// assert_eq!(verdict.needs[0].to_string(), "the list of services");
/// let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("JSON");
/// assert_eq!(json["verdicts"][0]["verdict"], "not_evaluable");
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The report format version, [`REPORT_VERSION`].
    pub kbrules_report: u32,
    /// The rule library evaluated.
    pub rules: RulesSummary,
    /// The snapshot evaluated.
    pub snapshot: SnapshotSummary,
    /// How many rules got each verdict.
    pub summary: Summary,
    /// One verdict per rule, ordered by rule id.
    pub verdicts: Vec<Verdict>,
}

impl Report {
    /// The rules that fired, most severe first, then by id.
    pub fn fired(&self) -> impl Iterator<Item = &Verdict> {
        let mut fired: Vec<&Verdict> = self
            .verdicts
            .iter()
            .filter(|v| v.verdict == VerdictKind::Fired)
            .collect();
        fired.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.rule.cmp(&b.rule))
        });
        fired.into_iter()
    }

    /// A rule's verdict.
    pub fn verdict(&self, rule: &str) -> Option<&Verdict> {
        self.verdicts.iter().find(|v| v.rule == rule)
    }

    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// The rule library, identified.
#[derive(Debug, Clone, Serialize)]
pub struct RulesSummary {
    /// The number of rules.
    pub count: usize,
    /// A fingerprint of the rule files' names and text (64-bit, FNV-1a over 8-byte words, hex).
    pub hash: String,
}

/// The snapshot, identified.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotSummary {
    /// Where it came from.
    pub source: String,
    /// A fingerprint of its bytes (64-bit, FNV-1a over 8-byte words, hex).
    pub hash: String,
    /// The number of event records.
    pub events: usize,
    /// What loading skipped, and why.
    pub skipped: Vec<Skipped>,
}

/// Counts per verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Rules that fired.
    pub fired: usize,
    /// Rules whose symptoms are not all present.
    pub not_fired: usize,
    /// Rules about other products or systems.
    pub not_applicable: usize,
    /// Rules that need data the snapshot lacks.
    pub not_evaluable: usize,
    /// Rules that fired but a more specific rule that fired supersedes.
    pub superseded: usize,
}

impl Summary {
    pub(crate) fn add(&mut self, kind: VerdictKind) {
        match kind {
            VerdictKind::Fired => self.fired += 1,
            VerdictKind::NotFired => self.not_fired += 1,
            VerdictKind::NotApplicable => self.not_applicable += 1,
            VerdictKind::NotEvaluable => self.not_evaluable += 1,
            VerdictKind::Superseded => self.superseded += 1,
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} fired, {} not fired, {} not applicable, {} not evaluable, {} superseded",
            self.fired, self.not_fired, self.not_applicable, self.not_evaluable, self.superseded
        )
    }
}

/// A rule's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictKind {
    /// Every condition holds.
    Fired,
    /// Some condition does not hold.
    NotFired,
    /// The `applies` guard does not hold.
    NotApplicable,
    /// The answer depends on data the snapshot did not collect.
    NotEvaluable,
    /// It fired, but a rule that supersedes it fired too.
    Superseded,
}

impl VerdictKind {
    /// As the report writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictKind::Fired => "fired",
            VerdictKind::NotFired => "not_fired",
            VerdictKind::NotApplicable => "not_applicable",
            VerdictKind::NotEvaluable => "not_evaluable",
            VerdictKind::Superseded => "superseded",
        }
    }
}

/// One rule's verdict, with what explains it.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// The rule's id.
    pub rule: String,
    /// Its title.
    pub title: String,
    /// Its severity: `info`, `warning` or `error`.
    pub severity: Severity,
    /// Its tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The verdict.
    pub verdict: VerdictKind,
    /// The diagnosis, with its placeholders filled in (fired rules).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<String>,
    /// The evidence for each condition (fired rules).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    /// The warnings to heed before the steps (fired rules).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The steps that fix it, in order (fired rules).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<String>,
    /// Structured fixes (fired rules).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fixes: Vec<FixReport>,
    /// Related articles (fired rules).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub see: Vec<String>,
    /// The first condition that does not hold, and what was there instead (rules that did not
    /// fire, and rules that do not apply).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<Failure>,
    /// What must be collected to decide (rules that could not be evaluated).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<Need>,
    /// The rule that supersedes this one (superseded rules).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<String>,
}

impl Verdict {
    /// The severity as a word.
    pub fn severity_word(&self) -> &'static str {
        match self.severity {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A rule's severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational.
    Info,
    /// Worth a look.
    Warning,
    /// Something is broken.
    Error,
}

/// A condition that does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// The condition, as the rules write it.
    pub condition: String,
    /// What the snapshot holds instead, when there is something to say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<String>,
}

/// A structured fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FixReport {
    /// `install`, `hotfix`, `registry_set`, `registry_delete`, `restart_service`,
    /// `restart_computer`, `reinstall` or `run`.
    pub kind: &'static str,
    /// What it acts on, as one line.
    pub what: String,
    /// The condition that holds once the fix has worked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<String>,
}

/// What a condition matched: one item of the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// An event record.
    Event {
        /// The log.
        log: String,
        /// The source.
        source: String,
        /// The event id.
        id: u16,
        /// The level.
        #[serde(skip_serializing_if = "Option::is_none")]
        level: Option<&'static str>,
        /// The record number.
        #[serde(skip_serializing_if = "Option::is_none")]
        record_id: Option<u64>,
        /// When it was logged.
        #[serde(skip_serializing_if = "Option::is_none")]
        time: Option<String>,
        /// The message.
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        /// How many other events match the same condition.
        #[serde(skip_serializing_if = "is_zero")]
        more: usize,
    },
    /// A registry value read.
    RegistryValue {
        /// The key.
        key: String,
        /// The value's name (empty for the default value).
        value: String,
        /// Its type, `REG_SZ`.
        #[serde(rename = "type")]
        ty: String,
        /// Its data as text.
        data: String,
    },
    /// A registry key that exists.
    RegistryKey {
        /// The key.
        key: String,
    },
    /// A service.
    Service {
        /// Its name.
        name: String,
        /// Its state.
        #[serde(skip_serializing_if = "Option::is_none")]
        state: Option<&'static str>,
        /// Its start type.
        #[serde(skip_serializing_if = "Option::is_none")]
        start_type: Option<&'static str>,
        /// Its account.
        #[serde(skip_serializing_if = "Option::is_none")]
        account: Option<String>,
        /// Its program.
        #[serde(skip_serializing_if = "Option::is_none")]
        image_path: Option<String>,
    },
    /// An installed product or the operating system, and the versions it was compared with.
    Installed {
        /// `product` or `os`.
        what: &'static str,
        /// The name the snapshot gives.
        name: String,
        /// The installed version.
        #[serde(skip_serializing_if = "Option::is_none")]
        version: Option<String>,
        /// The service-pack level.
        service_pack: u64,
        /// The versions the rule asks for.
        wanted: String,
    },
    /// An installed hotfix.
    Hotfix {
        /// Its id.
        id: String,
    },
    /// A file.
    File {
        /// Its path.
        path: String,
        /// Its version.
        #[serde(skip_serializing_if = "Option::is_none")]
        version: Option<String>,
    },
    /// An installed component.
    Component {
        /// Its name.
        name: String,
    },
    /// Something that is not there, as the rule requires.
    Absent {
        /// What was looked for.
        what: String,
    },
    /// A comparison, with the values compared.
    Comparison {
        /// The comparison as written.
        condition: String,
        /// The left side's value.
        left: String,
        /// The right side's value.
        right: String,
    },
    /// A count of events.
    Count {
        /// The condition as written.
        condition: String,
        /// How many matched (in the busiest window, when there is one).
        count: u64,
    },
    /// Another rule's verdict.
    Rule {
        /// Its id.
        rule: String,
        /// Its verdict.
        verdict: VerdictKind,
    },
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Data a snapshot must collect for a condition to be decided.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Need {
    /// The events of a log.
    EventLog {
        /// The log.
        log: String,
    },
    /// The events of every log (a condition that names no log, about a source the snapshot
    /// has no event from).
    AllEventLogs {
        /// The source asked about, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        source: Option<String>,
    },
    /// The rendered message text of a log's events (a bare .evtx export has none).
    EventMessages {
        /// The log.
        log: String,
    },
    /// The event data fields of a log's events, by name (an export that gives them only by
    /// position, such as `Get-WinEvent | ConvertTo-Json`) or at all.
    EventData {
        /// The log.
        log: String,
        /// Whether the events have their fields by position, and only names are missing.
        by_name: bool,
    },
    /// The levels of a log's events.
    EventLevels {
        /// The log.
        log: String,
    },
    /// A registry key and its values.
    RegistryKey {
        /// The key.
        key: String,
    },
    /// A registry key, every key below it, and their values: a key pattern's placeholder may
    /// match any of them.
    RegistryTree {
        /// The key.
        key: String,
    },
    /// The list of services.
    Services,
    /// A detail of a listed service.
    ServiceDetail {
        /// The service.
        service: String,
        /// `state`, `start_type`, `account`, `image_path` or `depends_on`.
        field: &'static str,
    },
    /// The installed products.
    Products,
    /// The installed version of a product.
    ProductVersion {
        /// The product.
        product: String,
    },
    /// The operating system and its version.
    Os,
    /// The installed hotfixes.
    Hotfixes,
    /// The installed components.
    Components,
    /// A file and its version.
    File {
        /// The path.
        path: String,
    },
    /// An environment variable, for a file path that names it (`%SystemRoot%`).
    Environment {
        /// Its name.
        variable: String,
    },
    /// A fact.
    Fact {
        /// Its name.
        name: String,
    },
    /// Evaluation stopped at a limit before it could decide.
    Limit {
        /// Which limit.
        limit: String,
    },
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Need::EventLog { log } => write!(f, "events in log {log}"),
            Need::AllEventLogs { source: Some(s) } => {
                write!(
                    f,
                    "events from every log (source \"{s}\"; the condition names no log)"
                )
            }
            Need::AllEventLogs { source: None } => {
                f.write_str("events from every log (the condition names no log)")
            }
            Need::EventMessages { log } => write!(f, "rendered event messages in log {log}"),
            Need::EventData { log, by_name } => {
                let named = if *by_name { "named " } else { "" };
                write!(f, "{named}event data fields in log {log}")
            }
            Need::EventLevels { log } => write!(f, "event levels in log {log}"),
            Need::RegistryKey { key } => write!(f, "registry key {key}"),
            Need::RegistryTree { key } => write!(f, "registry key {key} and the keys below it"),
            Need::Services => f.write_str("the list of services"),
            Need::ServiceDetail { service, field } => {
                let what = match *field {
                    "depends_on" => "dependencies",
                    "start_type" => "start type",
                    "image_path" => "image path",
                    other => other,
                };
                write!(f, "the {what} of service {service}")
            }
            Need::Products => f.write_str("the installed products"),
            Need::ProductVersion { product } => write!(f, "the version of {product}"),
            Need::Os => f.write_str("the operating system and its version"),
            Need::Hotfixes => f.write_str("the installed hotfixes"),
            Need::Components => f.write_str("the installed components"),
            Need::File { path } => write!(f, "file {path}"),
            Need::Environment { variable } => write!(f, "environment variable {variable}"),
            Need::Fact { name } => write!(f, "fact {name}"),
            Need::Limit { limit } => {
                write!(f, "a higher {limit} (evaluation stopped at the limit)")
            }
        }
    }
}

impl fmt::Display for Evidence {
    /// One line, as the human report shows it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Evidence::Event {
                log,
                source,
                id,
                level,
                record_id,
                time,
                message,
                more,
            } => {
                write!(f, "event {id} from {source} in {log}")?;
                if let Some(level) = level {
                    write!(f, " ({level})")?;
                }
                if let Some(r) = record_id {
                    write!(f, ", record {r}")?;
                }
                if let Some(t) = time {
                    write!(f, ", at {t}")?;
                }
                if *more > 0 {
                    write!(f, " (and {more} more)")?;
                }
                if let Some(m) = message {
                    let first = m.lines().next().unwrap_or_default();
                    let cut: String = first.chars().take(160).collect();
                    let ellipsis = if cut.len() < m.len() { "…" } else { "" };
                    write!(f, ": \"{cut}{ellipsis}\"")?;
                }
                Ok(())
            }
            Evidence::RegistryValue {
                key,
                value,
                ty,
                data,
            } => {
                let name = if value.is_empty() { "(Default)" } else { value };
                write!(f, "registry {key}\\{name} ({ty}) = {data}")
            }
            Evidence::RegistryKey { key } => write!(f, "registry key {key} exists"),
            Evidence::Service {
                name,
                state,
                start_type,
                ..
            } => {
                write!(f, "service {name}")?;
                let details: Vec<&str> = state.iter().chain(start_type).copied().collect();
                if !details.is_empty() {
                    write!(f, " ({})", details.join(", "))?;
                }
                Ok(())
            }
            Evidence::Installed {
                what,
                name,
                version,
                service_pack,
                wanted,
            } => {
                write!(
                    f,
                    "{} {name}",
                    if *what == "os" { "system" } else { "product" }
                )?;
                if let Some(v) = version {
                    write!(f, " {v}")?;
                }
                if *service_pack > 0 {
                    write!(f, " SP{service_pack}")?;
                }
                write!(f, " (rule asks: {wanted})")
            }
            Evidence::Hotfix { id } => write!(f, "hotfix {id} is installed"),
            Evidence::File { path, version } => match version {
                Some(v) => write!(f, "file {path}, version {v}"),
                None => write!(f, "file {path}"),
            },
            Evidence::Component { name } => write!(f, "component {name} is installed"),
            Evidence::Absent { what } => f.write_str(what),
            Evidence::Comparison {
                condition,
                left,
                right,
            } => write!(f, "{condition}: {left} vs {right}"),
            Evidence::Count { condition, count } => write!(f, "{condition}: {count} events"),
            Evidence::Rule { rule, verdict } => write!(f, "rule {rule} {}", verdict.as_str()),
        }
    }
}
