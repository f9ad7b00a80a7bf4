//! What a rule library reads: the event logs, sources and ids, registry keys and values,
//! services, files, facts and products a collector must gather for every rule to be decidable.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use crate::ir::{Expr, Predicate, RuleGraph, Template, TemplatePart, Value};

/// What the rules read, grouped and sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Needs {
    /// Event logs, with the sources and ids asked about in each.
    pub events: Vec<LogNeeds>,
    /// Registry keys, with the values read in each (none when only the key's existence is).
    pub registry: Vec<KeyNeeds>,
    /// Services.
    pub services: Vec<String>,
    /// Products, by catalogue name.
    pub products: Vec<String>,
    /// Operating systems, by catalogue name.
    pub operating_systems: Vec<String>,
    /// Hotfixes.
    pub hotfixes: Vec<String>,
    /// Files.
    pub files: Vec<String>,
    /// Components.
    pub components: Vec<String>,
    /// Facts, with their types.
    pub facts: Vec<FactNeed>,
}

/// The events of one log that rules ask about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LogNeeds {
    /// The log; none for questions that name no log.
    pub log: Option<String>,
    /// The sources asked about.
    pub sources: Vec<SourceNeeds>,
}

/// The events of one source that rules ask about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourceNeeds {
    /// The source; none for questions that name no source.
    pub source: Option<String>,
    /// The ids (`4086`, `2000..=2010`); empty when any id.
    pub ids: Vec<String>,
    /// Whether a question reads the rendered message text.
    pub messages: bool,
}

/// A registry key and the values read in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KeyNeeds {
    /// The key.
    pub key: String,
    /// The values (empty name: the default value).
    pub values: Vec<String>,
}

/// A fact the rules read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FactNeed {
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub ty: &'static str,
    /// What it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What the rules of a graph read.
///
/// ```
/// let mut sources = kbrules::Sources::new();
/// sources.add("r.kbr", r#"
///     rule Q1 {
///         title "IMC stopped after event 4086"
///         when event Application source "MSExchangeIMC" id 4086
///          and service "msexchangeimc" stopped
///          and service "MSExchangeIMC" start automatic
///         diagnose "x"
///     }
/// "#);
/// let rules = kbrules::RuleSet::compile(&sources).expect("compiles");
/// let needs = kbrules::eval::needs(rules.graph());
/// assert_eq!(needs.events[0].log.as_deref(), Some("Application"));
/// assert_eq!(needs.events[0].sources[0].ids, ["4086"]);
/// // Service names compare without case: one service, in its first spelling.
/// assert_eq!(needs.services, ["msexchangeimc"]);
/// ```
pub fn needs(graph: &RuleGraph) -> Needs {
    // Keyed by lowercase names (Windows compares them without case); the first spelling shows.
    type Sources = BTreeMap<String, (Option<String>, BTreeSet<(u16, u16)>, bool, bool)>;
    let mut logs: BTreeMap<String, (Option<String>, Sources)> = BTreeMap::new();
    let mut keys: BTreeMap<String, (String, BTreeMap<String, String>)> = BTreeMap::new();
    let mut services = BTreeMap::new();
    let mut products = BTreeSet::new();
    let mut oses = BTreeSet::new();
    let mut hotfixes = BTreeSet::new();
    let mut files = BTreeMap::new();
    let mut components = BTreeMap::new();
    let fold = |s: &str| s.to_lowercase();
    for pred in graph.predicates() {
        match pred {
            Predicate::Event(f) => {
                let log_key = f.log.as_deref().map(fold).unwrap_or_default();
                let (_, sources) = logs
                    .entry(log_key)
                    .or_insert_with(|| (f.log.clone(), BTreeMap::new()));
                let source_key = f.source.as_deref().map(fold).unwrap_or_default();
                let entry = sources
                    .entry(source_key)
                    .or_insert_with(|| (f.source.clone(), BTreeSet::new(), false, false));
                if f.ids.is_empty() {
                    entry.3 = true;
                }
                entry.1.extend(f.ids.iter().copied());
                entry.2 |= f.message.is_some();
            }
            Predicate::RegistryKey { key, .. } => {
                keys.entry(key.folded())
                    .or_insert_with(|| (key.to_string(), BTreeMap::new()));
            }
            Predicate::RegistryValue { key, name, .. } => {
                keys.entry(key.folded())
                    .or_insert_with(|| (key.to_string(), BTreeMap::new()))
                    .1
                    .entry(fold(name))
                    .or_insert_with(|| name.clone());
            }
            Predicate::Service { name, test } => {
                services.entry(fold(name)).or_insert_with(|| name.clone());
                if let crate::ir::ServiceTest::DependsOn(other) = test {
                    services.entry(fold(other)).or_insert_with(|| other.clone());
                }
            }
            Predicate::Product { product, .. } => {
                if let Some(p) = graph.products().get(product.index()) {
                    products.insert(p.name.clone());
                }
            }
            Predicate::Os { os, .. } => {
                if let Some(o) = graph.operating_systems().get(os.index()) {
                    oses.insert(o.name.clone());
                }
            }
            Predicate::Hotfix(id) => {
                hotfixes.insert(crate::check::hotfix_key(id));
            }
            Predicate::File { path, .. } => {
                files.entry(fold(path)).or_insert_with(|| path.clone());
            }
            Predicate::Component { name, .. } => {
                components.entry(fold(name)).or_insert_with(|| name.clone());
            }
        }
    }

    // Facts read in conditions and in the rules' text.
    let mut facts = BTreeSet::new();
    let mut value_facts = |v: &Value| {
        let mut v = v;
        while let Value::Number(inner) = v {
            v = inner;
        }
        if let Value::Fact(id) = v {
            facts.insert(id.index());
        }
    };
    for expr in graph.exprs() {
        if let Expr::Compare { left, right, .. } = expr {
            value_facts(left);
            value_facts(right);
        }
    }
    let templates = graph.rules().iter().flat_map(|r| {
        r.diagnose
            .iter()
            .chain(&r.steps)
            .chain(&r.warnings)
            .collect::<Vec<&Template>>()
    });
    for t in templates {
        for part in &t.parts {
            if let TemplatePart::Value(v) = part {
                value_facts(v);
            }
        }
    }

    Needs {
        events: logs
            .into_values()
            .map(|(log, sources)| LogNeeds {
                log,
                sources: sources
                    .into_values()
                    .map(|(source, ids, messages, any_id)| SourceNeeds {
                        source,
                        ids: if any_id {
                            Vec::new()
                        } else {
                            ids.into_iter()
                                .map(|(a, b)| {
                                    if a == b {
                                        a.to_string()
                                    } else {
                                        format!("{a}..={b}")
                                    }
                                })
                                .collect()
                        },
                        messages,
                    })
                    .collect(),
            })
            .collect(),
        registry: keys
            .into_values()
            .map(|(key, values)| KeyNeeds {
                key,
                values: values.into_values().collect(),
            })
            .collect(),
        services: services.into_values().collect(),
        products: products.into_iter().collect(),
        operating_systems: oses.into_iter().collect(),
        hotfixes: hotfixes.into_iter().collect(),
        files: files.into_values().collect(),
        components: components.into_values().collect(),
        facts: facts
            .into_iter()
            .filter_map(|i| graph.facts().get(i))
            .map(|f| FactNeed {
                name: f.name.clone(),
                ty: f.ty.as_str(),
                description: f.description.clone(),
            })
            .collect(),
    }
}

impl Needs {
    /// A readable list, one section per kind of data.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mut section = |title: &str, lines: Vec<String>| {
            if lines.is_empty() {
                return;
            }
            if !out.is_empty() {
                out.push('\n');
            }
            let _ = writeln!(out, "{title}:");
            for line in lines {
                let _ = writeln!(out, "  {line}");
            }
        };
        let mut events = Vec::new();
        for log in &self.events {
            let name = log.log.as_deref().unwrap_or("(any log)");
            for s in &log.sources {
                let mut line = name.to_string();
                if let Some(source) = &s.source {
                    let _ = write!(line, ", source \"{source}\"");
                }
                if s.ids.is_empty() {
                    line.push_str(", any id");
                } else {
                    let _ = write!(line, ", id {}", s.ids.join(", "));
                }
                if s.messages {
                    line.push_str(" (with message text)");
                }
                events.push(line);
            }
        }
        section("event logs", events);
        section(
            "registry",
            self.registry
                .iter()
                .map(|k| {
                    if k.values.is_empty() {
                        k.key.clone()
                    } else {
                        let values: Vec<String> = k
                            .values
                            .iter()
                            .map(|v| {
                                if v.is_empty() {
                                    "(Default)".into()
                                } else {
                                    v.clone()
                                }
                            })
                            .collect();
                        format!("{} [{}]", k.key, values.join(", "))
                    }
                })
                .collect(),
        );
        section("services", self.services.clone());
        section("products", self.products.clone());
        section("operating systems", self.operating_systems.clone());
        section("hotfixes", self.hotfixes.clone());
        section("files", self.files.clone());
        section("components", self.components.clone());
        section(
            "facts",
            self.facts
                .iter()
                .map(|f| format!("{} ({})", f.name, f.ty))
                .collect(),
        );
        out
    }
}
