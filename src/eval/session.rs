//! One evaluation: a rule set's questions asked of one snapshot, each once.
//!
//! Event questions are answered together in one pass over the events (the [`scan`]), each
//! event offered only to the questions that could match it: those with its source and id,
//! those with its id and no source, its source and no id, its log and neither, and those with
//! no such filter. Other questions are answered on first use and kept; the lists they name an
//! item of (services, components, hotfixes) are indexed on first use.

mod scan;

use std::cell::OnceCell;
use std::collections::HashMap;
use std::fmt::Write as _;

use super::prepare::{EventQuery, Prepared};
use super::report::Need;
use super::value::{CaptureRef, Val, capture, in_range};
use super::{Limits, Truth};
use crate::ir::{
    FileTest, PredId, Predicate, Property, RegKey, RuleGraph, ServiceTest, Value, ValueTest,
};
use crate::snapshot::{Coverage, Event, Expanded, FactValue, KeyAt, Snapshot, eq_fold, time};

/// An item of the snapshot a question matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Item {
    Event(u32),
    RegKey(u32),
    /// A key that exists because a key below it is listed (see [`KeyAt::Implied`]).
    ImpliedKey(u32),
    RegValue(u32, u32),
    Service(u32),
    Product(u32),
    Os,
    Hotfix(u32),
    File(u32),
    Component(u32),
}

/// The answer to one question.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outcome {
    pub(crate) truth: Truth,
    /// The items that match (events in time order).
    pub(crate) items: Vec<Item>,
    /// What must be collected, when the answer is unknown.
    pub(crate) needs: Vec<Need>,
    /// What the snapshot holds instead, when the answer is no.
    pub(crate) observed: Option<String>,
    /// Whether more items may match than were seen (part of the data was not collected).
    pub(crate) open: bool,
}

impl Outcome {
    fn yes(items: Vec<Item>) -> Outcome {
        Outcome {
            truth: Truth::True,
            items,
            ..Outcome::default()
        }
    }

    fn no(observed: impl Into<String>) -> Outcome {
        Outcome {
            truth: Truth::False,
            observed: Some(observed.into()),
            ..Outcome::default()
        }
    }

    fn unknown(need: Need) -> Outcome {
        Outcome {
            truth: Truth::Unknown,
            needs: vec![need],
            ..Outcome::default()
        }
    }

    /// An answer from a test; `observed` says what the snapshot holds, kept also when the
    /// answer is yes without an item to show (a value that is missing, a service that is not
    /// installed), as the evidence of that answer.
    fn from_bool(holds: bool, item: Option<Item>, observed: impl FnOnce() -> String) -> Outcome {
        if holds {
            match item {
                Some(item) => Outcome::yes(vec![item]),
                None => Outcome {
                    truth: Truth::True,
                    observed: Some(observed()),
                    ..Outcome::default()
                },
            }
        } else {
            Outcome::no(observed())
        }
    }
}

/// A value looked up: known, absent from collected data, or not collected.
#[derive(Debug, Clone)]
pub(crate) enum Got {
    Value(Val),
    Absent(String),
    Unknown(Need),
}

/// Lookup tables over the lists of a snapshot that questions name an item of, each built on
/// first use. Each maps a name, folded the way the questions compare it, to the first item
/// with that name. (Registry keys and files are looked up through the snapshot's own index.)
#[derive(Default)]
struct Lookups {
    /// Services, by [`fold`].
    services: OnceCell<HashMap<String, usize>>,
    /// Components, by [`fold`].
    components: OnceCell<HashMap<String, usize>>,
    /// Hotfixes, by ASCII lowercase.
    hotfixes: OnceCell<HashMap<String, usize>>,
}

/// The first index of each key.
fn first_index(keys: impl Iterator<Item = String>) -> HashMap<String, usize> {
    let mut map = HashMap::new();
    for (i, key) in keys.enumerate() {
        map.entry(key).or_insert(i);
    }
    map
}

/// Text folded so that two texts are equal when [`eq_fold`] says they are.
fn fold(text: &str) -> String {
    text.chars().flat_map(char::to_lowercase).collect()
}

pub(crate) struct Session<'a> {
    pub(crate) graph: &'a RuleGraph,
    pub(crate) prepared: &'a Prepared,
    pub(crate) snapshot: &'a Snapshot,
    pub(crate) limits: &'a Limits,
    outcomes: Vec<OnceCell<Outcome>>,
    /// Event ids per source and event counts per log, for near misses; built when needed.
    histogram: OnceCell<scan::Histogram>,
    lookups: Lookups,
}

impl<'a> Session<'a> {
    pub(crate) fn new(
        graph: &'a RuleGraph,
        prepared: &'a Prepared,
        snapshot: &'a Snapshot,
        limits: &'a Limits,
    ) -> Session<'a> {
        let mut session = Session {
            graph,
            prepared,
            snapshot,
            limits,
            outcomes: (0..graph.predicates().len())
                .map(|_| OnceCell::new())
                .collect(),
            histogram: OnceCell::new(),
            lookups: Lookups::default(),
        };
        session.scan_events();
        session
    }

    /// The answer to a question.
    pub(crate) fn outcome(&self, pred: PredId) -> &Outcome {
        static NONE: Outcome = Outcome {
            truth: Truth::Unknown,
            items: Vec::new(),
            needs: Vec::new(),
            observed: None,
            open: true,
        };
        match self.outcomes.get(pred.index()) {
            Some(cell) => cell.get_or_init(|| self.answer(pred)),
            None => &NONE,
        }
    }

    /// Answers every event question in one pass over the events.
    fn scan_events(&mut self) {
        let snapshot = self.snapshot;
        let queries = &self.prepared.event_queries;
        if queries.is_empty() {
            return;
        }
        let scan::Scan {
            mut matches,
            unknown,
            seen,
            histogram,
        } = scan::scan(self.graph, snapshot, queries);
        let _ = self.histogram.set(histogram);
        for (qi, q) in queries.iter().enumerate() {
            let mut found = std::mem::take(matches.get_mut(qi).unwrap_or(&mut Vec::new()));
            // Time order, then the order given: windows and `followed by` read it so. Events
            // are usually given in time order, and each key is an event read at random.
            let key = |ei: &u32| (snapshot.events.get(*ei as usize).and_then(|e| e.time), *ei);
            if !found.is_sorted_by_key(key) {
                found.sort_by_cached_key(key);
            }
            let outcome = self.event_outcome(q, found, unknown.get(qi).copied().flatten(), &seen);
            if let Some(cell) = self.outcomes.get(q.pred.index()) {
                let _ = cell.set(outcome);
            }
        }
    }

    fn event_outcome(
        &self,
        q: &EventQuery,
        found: Vec<u32>,
        unknown: Option<u32>,
        seen: &[bool],
    ) -> Outcome {
        let events = &self.snapshot.collected.events;
        // Why more events may match than were seen, if they may.
        let gap = if let Some(event) = unknown.and_then(|ei| self.snapshot.events.get(ei as usize))
        {
            Some(q.unknown_need(event, self.snapshot.log_name(event).to_string()))
        } else {
            match &q.log {
                Some(log) if !events.covers_name(log) => Some(Need::EventLog { log: log.clone() }),
                // With no log named, the answer is known when every log was collected, or the
                // source's events were seen in a collected log (a source writes to one log).
                None if *events != Coverage::Everything => {
                    let source = q
                        .source
                        .as_deref()
                        .and_then(|s| self.snapshot.sources.lookup(s));
                    let known =
                        source.is_some_and(|s| seen.get(s as usize).copied().unwrap_or(false));
                    (!known).then(|| Need::AllEventLogs {
                        source: q.source.clone(),
                    })
                }
                _ => None,
            }
        };
        match (found.is_empty(), gap) {
            (false, gap) => Outcome {
                open: gap.is_some(),
                needs: gap.into_iter().collect(),
                ..Outcome::yes(found.into_iter().map(Item::Event).collect())
            },
            (true, Some(need)) => Outcome {
                open: true,
                ..Outcome::unknown(need)
            },
            (true, None) => Outcome {
                truth: Truth::False,
                ..Outcome::default()
            },
        }
    }

    /// What the snapshot holds instead, for a question whose answer is no.
    pub(crate) fn observed(&self, pred: PredId) -> Option<String> {
        let outcome = self.outcome(pred);
        if outcome.observed.is_some() {
            return outcome.observed.clone();
        }
        let query = self.prepared.event_query(pred)?;
        Some(self.event_near_miss(query))
    }

    /// What the snapshot holds near an event question that matched nothing.
    fn event_near_miss(&self, q: &EventQuery) -> String {
        let snapshot = self.snapshot;
        let histogram = self.histogram.get_or_init(|| scan::histogram(snapshot));
        let source = q.source.as_deref().and_then(|s| snapshot.sources.lookup(s));
        let log = q.log.as_deref().and_then(|l| snapshot.logs.lookup(l));
        if let Some(ids) = source.and_then(|s| histogram.0.get(s as usize)) {
            let total: usize = ids.iter().map(|(_, n)| n).sum();
            let mut text = format!(
                "no event matched; {total} event{} from source \"{}\" (id ",
                if total == 1 { "" } else { "s" },
                source.map_or("", |s| snapshot.sources.get(s)),
            );
            for (i, (id, n)) in ids.iter().take(8).enumerate() {
                let comma = if i == 0 { "" } else { ", " };
                let _ = if *n == 1 {
                    write!(text, "{comma}{id}")
                } else {
                    write!(text, "{comma}{id} ({n}×)")
                };
            }
            text.push_str(if ids.len() > 8 { ", …)" } else { ")" });
            return text;
        }
        if let Some(name) = &q.source {
            return format!("no event from source \"{name}\" in the snapshot");
        }
        if let Some(l) = log {
            let n = histogram.1.get(l as usize).copied().unwrap_or(0);
            return format!(
                "no event matched among the {} of log {}",
                super::decide::plural(n as u64, "event"),
                snapshot.logs.get(l)
            );
        }
        match &q.log {
            Some(name) => format!("no event from log {name} in the snapshot"),
            None => format!(
                "no event matched among {}",
                super::decide::plural(snapshot.events.len() as u64, "event")
            ),
        }
    }

    /// Answers a question that is not about events.
    fn answer(&self, pred: PredId) -> Outcome {
        let snapshot = self.snapshot;
        let collected = &snapshot.collected;
        let Some(predicate) = self.graph.predicate(pred) else {
            return Outcome::default();
        };
        match predicate {
            // Answered by the scan; reached only when the snapshot has no event queries.
            Predicate::Event(_) => Outcome::default(),
            Predicate::RegistryKey { key, exists } if key.is_pattern() => {
                self.registry_key_pattern(key, *exists)
            }
            Predicate::RegistryKey { key, exists } => {
                let present = snapshot.registry.key_exists(key);
                if !present && !self.key_collected(key) {
                    return Outcome::unknown(Need::RegistryKey {
                        key: key.to_string(),
                    });
                }
                let item = snapshot.registry.find(key).map(key_item);
                Outcome::from_bool(present == *exists, item.filter(|_| *exists), || {
                    if present {
                        format!("the key {key} exists")
                    } else {
                        format!("the key {key} does not exist")
                    }
                })
            }
            Predicate::RegistryValue {
                key,
                name,
                ty,
                test,
            } => self.registry_value(pred, key, name, *ty, test),
            Predicate::Service { name, test } => self.service(pred, name, test),
            Predicate::Product { product, versions } => {
                let Some(entry) = self.graph.products().get(product.index()) else {
                    return Outcome::default();
                };
                let named: Vec<(usize, &crate::snapshot::Installed)> = snapshot
                    .products
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| names_entry(&entry.name, &entry.aliases, &p.name))
                    .collect();
                if named.is_empty() {
                    // A list that was not said to be whole may lack the product.
                    return if collected.products {
                        Outcome::no(format!("{} is not installed", entry.name))
                    } else {
                        Outcome::unknown(Need::Products)
                    };
                }
                let mut items = Vec::new();
                let mut unknown_version = false;
                for (i, p) in &named {
                    match &p.version {
                        Some(v) if in_range(v, p.service_pack, versions) => {
                            items.push(Item::Product(index(*i)));
                        }
                        Some(_) => {}
                        // Without a version, a range that names no version numbers still decides.
                        None if numbers_free(versions) => {
                            if in_range(&no_version(), p.service_pack, versions) {
                                items.push(Item::Product(index(*i)));
                            }
                        }
                        None => unknown_version = true,
                    }
                }
                if !items.is_empty() {
                    Outcome::yes(items)
                } else if unknown_version {
                    Outcome::unknown(Need::ProductVersion {
                        product: entry.name.clone(),
                    })
                } else {
                    Outcome::no(format!(
                        "installed: {}",
                        named
                            .iter()
                            .map(|(_, p)| p.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                }
            }
            Predicate::Os { os, versions } => {
                let Some(entry) = self.graph.operating_systems().get(os.index()) else {
                    return Outcome::default();
                };
                let Some(installed) = snapshot.os.as_ref() else {
                    return if collected.os {
                        Outcome::no("the snapshot records no operating system")
                    } else {
                        Outcome::unknown(Need::Os)
                    };
                };
                if !names_entry(&entry.name, &entry.aliases, &installed.name) {
                    return Outcome::no(format!("the system runs {}", installed));
                }
                match &installed.version {
                    Some(v) if in_range(v, installed.service_pack, versions) => {
                        Outcome::yes(vec![Item::Os])
                    }
                    Some(_) => Outcome::no(format!("the system runs {}", installed)),
                    // A name without a version: a range with no bound on numbers still decides.
                    None if numbers_free(versions) => {
                        let v = no_version();
                        Outcome::from_bool(
                            in_range(&v, installed.service_pack, versions),
                            Some(Item::Os),
                            || format!("the system runs {}", installed),
                        )
                    }
                    None => Outcome::unknown(Need::Os),
                }
            }
            Predicate::Hotfix(id) => {
                let key = crate::check::hotfix_key(id);
                match self.hotfix_index(&key) {
                    Some(i) => Outcome::yes(vec![Item::Hotfix(index(i))]),
                    None if collected.hotfixes => Outcome::no(format!(
                        "{key} is not among the {} installed hotfixes",
                        snapshot.hotfixes.len()
                    )),
                    None => Outcome::unknown(Need::Hotfixes),
                }
            }
            Predicate::File { path, test } => {
                // `%NAME%` in the path is expanded with the snapshot's environment; a snapshot
                // without one may still list the path as the rule writes it.
                let expanded = match snapshot.expand(path) {
                    Expanded::Path(p) => p,
                    Expanded::Unknown(variable) => {
                        if snapshot.file_index(path).is_none() {
                            // With no file collected, the file is what is missing first.
                            return Outcome::unknown(if collected.files.any() {
                                Need::Environment { variable }
                            } else {
                                Need::File { path: path.clone() }
                            });
                        }
                        path.clone()
                    }
                    Expanded::NoSuchVariable(variable) => {
                        return Outcome::from_bool(*test == FileTest::Missing, None, || {
                            format!("{path}: the environment has no variable {variable}")
                        });
                    }
                };
                // Observations name the path as the rule writes it, and as expanded.
                let shown = if expanded == *path {
                    path.clone()
                } else {
                    format!("{path} ({expanded})")
                };
                let found = snapshot.file_index(&expanded);
                let Some(i) = found else {
                    if !snapshot.files_cover(&expanded) && !collected.files.covers_path(path) {
                        return Outcome::unknown(Need::File { path: path.clone() });
                    }
                    return Outcome::from_bool(*test == FileTest::Missing, None, || {
                        format!("{shown} does not exist")
                    });
                };
                let file = snapshot.files.get(i);
                let item = Some(Item::File(index(i)));
                match test {
                    FileTest::Exists => Outcome::yes(item.into_iter().collect()),
                    FileTest::Missing => Outcome::no(format!("{shown} exists")),
                    FileTest::Version(range) => match file.and_then(|f| f.version.as_ref()) {
                        Some(v) => Outcome::from_bool(in_range(v, 0, range), item, || {
                            format!("{shown} is version {v}")
                        }),
                        None => Outcome::no(format!("{shown} has no version")),
                    },
                }
            }
            Predicate::Component { name, present } => match self.component_index(name) {
                Some(i) if *present => Outcome::yes(vec![Item::Component(index(i))]),
                Some(_) => Outcome::no(format!("{name} is installed")),
                None if !collected.components => Outcome::unknown(Need::Components),
                None => Outcome::from_bool(!present, None, || format!("{name} is not installed")),
            },
        }
    }

    /// The first service with this name, ignoring case.
    fn service_index(&self, name: &str) -> Option<usize> {
        let services = &self.snapshot.services;
        self.lookups
            .services
            .get_or_init(|| first_index(services.iter().map(|s| fold(&s.name))))
            .get(&fold(name))
            .copied()
    }

    /// The first component with this name, ignoring case.
    fn component_index(&self, name: &str) -> Option<usize> {
        let components = &self.snapshot.components;
        self.lookups
            .components
            .get_or_init(|| first_index(components.iter().map(|c| fold(c))))
            .get(&fold(name))
            .copied()
    }

    /// The first hotfix with this id, ignoring ASCII case.
    fn hotfix_index(&self, id: &str) -> Option<usize> {
        let hotfixes = &self.snapshot.hotfixes;
        self.lookups
            .hotfixes
            .get_or_init(|| first_index(hotfixes.iter().map(|h| h.to_ascii_lowercase())))
            .get(&id.to_ascii_lowercase())
            .copied()
    }

    fn key_collected(&self, key: &RegKey) -> bool {
        self.snapshot.registry.key(key).is_some()
            || self
                .snapshot
                .collected
                .registry
                .covers_path(&key.to_string())
    }

    fn registry_value(
        &self,
        pred: PredId,
        key: &RegKey,
        name: &str,
        ty: Option<crate::ir::RegType>,
        test: &ValueTest,
    ) -> Outcome {
        let registry = &self.snapshot.registry;
        // `(Default)` is how Registry Editor shows the key's unnamed value.
        let name = if name.eq_ignore_ascii_case("(default)") {
            ""
        } else {
            name
        };
        if key.is_pattern() {
            return self.registry_value_pattern(pred, key, name, ty, test);
        }
        let at = registry.find(key);
        if !matches!(at, Some(KeyAt::Listed(_))) && !self.key_collected(key) {
            return Outcome::unknown(Need::RegistryKey {
                key: key.to_string(),
            });
        }
        self.value_in(pred, key, at, name, ty, test)
    }

    /// Whether every key a pattern may match was collected: the key above its first
    /// placeholder was.
    fn pattern_collected(&self, pattern: &RegKey) -> bool {
        self.snapshot
            .collected
            .registry
            .covers_path(&pattern.fixed_prefix().to_string())
    }

    /// `registry "A\*\B" exists` holds when some key matches; `missing` when none does.
    fn registry_key_pattern(&self, pattern: &RegKey, exists: bool) -> Outcome {
        let found = self.snapshot.registry.matching(pattern);
        if found.is_empty() && !self.pattern_collected(pattern) {
            return Outcome::unknown(Need::RegistryTree {
                key: pattern.fixed_prefix().to_string(),
            });
        }
        let observed = || {
            let count = match found.len() {
                0 => return format!("no key matches {pattern}"),
                1 => "1 key matches".to_string(),
                n => format!("{n} keys match"),
            };
            format!("{count} {pattern}: {}", self.key_list(&found))
        };
        if found.is_empty() == exists {
            return Outcome::no(observed());
        }
        if exists {
            Outcome::yes(found.into_iter().map(key_item).collect())
        } else {
            Outcome::from_bool(true, None, observed)
        }
    }

    /// Up to four keys by path, for what the snapshot holds instead.
    fn key_list(&self, found: &[KeyAt]) -> String {
        let registry = &self.snapshot.registry;
        let mut text = found
            .iter()
            .take(4)
            .filter_map(|&at| registry.key_at(at))
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        if found.len() > 4 {
            let _ = write!(text, " and {} more", found.len() - 4);
        }
        text
    }

    /// A value test on every key a pattern matches: it holds when it holds in some key.
    fn registry_value_pattern(
        &self,
        pred: PredId,
        pattern: &RegKey,
        name: &str,
        ty: Option<crate::ir::RegType>,
        test: &ValueTest,
    ) -> Outcome {
        let registry = &self.snapshot.registry;
        let prefix = pattern.fixed_prefix();
        let mut items = Vec::new();
        let mut observed = Vec::new();
        for at in registry.matching(pattern) {
            let Some(key) = registry.key_at(at) else {
                continue;
            };
            // A key implied by one below it has values only where the registry was collected.
            if matches!(at, KeyAt::Implied(_)) && !self.key_collected(key) {
                continue;
            }
            let outcome = self.value_in(pred, key, Some(at), name, ty, test);
            match outcome.truth {
                Truth::True if outcome.items.is_empty() => items.push(key_item(at)),
                Truth::True => items.extend(outcome.items),
                _ => {
                    // Each key by its path below the pattern's fixed part, `E100B1: …`.
                    let below = key
                        .path
                        .get(prefix.path.len()..)
                        .unwrap_or(&key.path)
                        .trim_start_matches('\\');
                    let listed = match at {
                        KeyAt::Listed(ki) => registry.keys.get(ki),
                        KeyAt::Implied(_) => None,
                    };
                    let what = match listed.and_then(|entry| entry.value(name)) {
                        Some(_) => outcome.observed.unwrap_or_default(),
                        None if name.is_empty() => "no value (Default)".to_string(),
                        None => format!("no value {name}"),
                    };
                    observed.push(format!("{below}: {what}"));
                }
            }
        }
        if !items.is_empty() {
            return Outcome::yes(items);
        }
        if !self.pattern_collected(pattern) {
            return Outcome::unknown(Need::RegistryTree {
                key: pattern.fixed_prefix().to_string(),
            });
        }
        if observed.is_empty() {
            return Outcome::no(format!("no key matches {pattern}"));
        }
        let more = observed.len().saturating_sub(4);
        observed.truncate(4);
        let mut text = format!("under {prefix}: {}", observed.join("; "));
        if more > 0 {
            let _ = write!(text, "; and {more} more keys");
        }
        Outcome::no(text)
    }

    /// A value test in one key, `at` where it is when it exists.
    fn value_in(
        &self,
        pred: PredId,
        key: &RegKey,
        at: Option<KeyAt>,
        name: &str,
        ty: Option<crate::ir::RegType>,
        test: &ValueTest,
    ) -> Outcome {
        let registry = &self.snapshot.registry;
        let display_name = if name.is_empty() { "(Default)" } else { name };
        let value = at.and_then(|at| {
            let KeyAt::Listed(ki) = at else {
                return None;
            };
            let k = registry.keys.get(ki)?;
            let vi = k.values.iter().position(|v| eq_fold(&v.name, name))?;
            Some((ki, vi, k.values.get(vi)?))
        });
        let Some((ki, vi, value)) = value else {
            let why = if registry.key_exists(key) {
                format!("the key {key} has no value {display_name}")
            } else {
                format!("the key {key} does not exist")
            };
            if *test == ValueTest::Missing
                && let Some(at) = at
            {
                // The key that lacks the value, for a binding; the evidence says what is missing.
                return Outcome {
                    truth: Truth::True,
                    items: vec![key_item(at)],
                    observed: Some(why),
                    ..Outcome::default()
                };
            }
            return Outcome::from_bool(*test == ValueTest::Missing, None, || why);
        };
        let item = Some(Item::RegValue(index(ki), index(vi)));
        let shown = || {
            format!(
                "{display_name} is {} ({})",
                value.data.display(),
                value.data.type_name()
            )
        };
        // A value declared with a type is that type: `sz` and `expand_sz` are both strings.
        if let Some(want) = ty {
            use crate::ir::RegType as T;
            use crate::snapshot::RegData as D;
            let fits = matches!(
                (want, &value.data),
                (T::Sz | T::ExpandSz, D::Sz(_) | D::ExpandSz(_))
                    | (T::MultiSz, D::MultiSz(_))
                    | (T::Dword, D::Dword(_))
                    | (T::Qword, D::Qword(_))
                    | (T::Binary, D::Binary(_))
            );
            if !fits {
                return Outcome::from_bool(*test == ValueTest::Missing, None, || {
                    format!("{}, not {}", shown(), want.as_str())
                });
            }
        }
        match test {
            ValueTest::Exists => Outcome::yes(item.into_iter().collect()),
            ValueTest::Missing => Outcome::no(shown()),
            ValueTest::Count(op, n) => {
                let count = match &value.data {
                    crate::snapshot::RegData::MultiSz(items) => items.len() as u64,
                    _ => 1,
                };
                let holds = super::value::compare(&Val::Number(count), *op, &Val::Number(*n), true);
                Outcome::from_bool(holds, item, || {
                    format!("{display_name} holds {count} strings")
                })
            }
            ValueTest::Compare(op, constant) => {
                let val = Val::from_reg(&value.data);
                let matcher = self.prepared.pred_matcher(pred);
                let holds = super::value::test_const(self.graph, matcher, &val, op, constant);
                Outcome::from_bool(holds, item, shown)
            }
        }
    }

    fn service(&self, pred: PredId, name: &str, test: &ServiceTest) -> Outcome {
        let snapshot = self.snapshot;
        let found = self.service_index(name);
        let Some(i) = found else {
            if !snapshot.collected.services {
                return Outcome::unknown(Need::Services);
            }
            return Outcome::from_bool(*test == ServiceTest::Absent, None, || {
                format!("service {name} is not installed")
            });
        };
        let Some(service) = snapshot.services.get(i) else {
            return Outcome::default();
        };
        let item = Some(Item::Service(index(i)));
        let detail = |field: &'static str| {
            Outcome::unknown(Need::ServiceDetail {
                service: service.name.clone(),
                field,
            })
        };
        match test {
            ServiceTest::Present => Outcome::yes(item.into_iter().collect()),
            ServiceTest::Absent => Outcome::no(format!("service {} is installed", service.name)),
            ServiceTest::State(want) => match service.state {
                Some(state) => Outcome::from_bool(state == *want, item, || {
                    format!("service {} is {}", service.name, state.as_str())
                }),
                None => detail("state"),
            },
            ServiceTest::Start(want) => match service.start_type {
                Some(start) => Outcome::from_bool(start == *want, item, || {
                    format!("service {} starts {}", service.name, start.as_str())
                }),
                None => detail("start_type"),
            },
            ServiceTest::Account(t) | ServiceTest::Image(t) => {
                let (field, value) = match test {
                    ServiceTest::Account(_) => ("account", &service.account),
                    _ => ("image_path", &service.image_path),
                };
                let Some(value) = value else {
                    return detail(field);
                };
                let matched = self
                    .prepared
                    .pred_matcher(pred)
                    .is_some_and(|m| m.is_match(self.graph, value));
                Outcome::from_bool(matched != t.negated, item, || {
                    format!(
                        "the {} of service {} is {value}",
                        field.replace('_', " "),
                        service.name
                    )
                })
            }
            ServiceTest::DependsOn(other) => match &service.depends_on {
                Some(deps) => {
                    Outcome::from_bool(deps.iter().any(|d| eq_fold(d, other)), item, || {
                        if deps.is_empty() {
                            format!("service {} depends on no service", service.name)
                        } else {
                            format!("service {} depends on {}", service.name, deps.join(", "))
                        }
                    })
                }
                None => detail("depends_on"),
            },
        }
    }

    /// A value in a comparison or a rule's text.
    pub(crate) fn value(&self, value: &Value, env: &super::search::Env) -> Got {
        match value {
            Value::Const(c) => Got::Value(Val::from_const(c)),
            Value::Fact(id) => self.fact(*id),
            Value::Number(inner) => match self.value(inner, env) {
                Got::Value(Val::Number(n)) => Got::Value(Val::Number(n)),
                Got::Value(v) => match super::value::parse_number(&v.display()) {
                    Some(n) => Got::Value(Val::Number(n)),
                    None => Got::Absent(format!("`{}` is not a number", v.display())),
                },
                other => other,
            },
            Value::Binding { slot, property } => match env.get(*slot) {
                super::search::Slot::Item(item, pred) => self.property(*item, *pred, property),
                super::search::Slot::Unknown(need) => Got::Unknown(need.clone()),
                super::search::Slot::Unbound => Got::Unknown(Need::Limit {
                    limit: "binding".into(),
                }),
            },
        }
    }

    fn fact(&self, id: crate::ir::FactId) -> Got {
        let Some(fact) = self.graph.facts().get(id.index()) else {
            return Got::Absent("unknown fact".into());
        };
        match self.snapshot.fact(&fact.name) {
            Some(FactValue::Text(t)) => Got::Value(match fact.ty {
                crate::ir::Type::Version => match crate::snapshot::parse_version_text(t) {
                    Some(v) => Val::Version(v),
                    None => Val::Text(t.clone()),
                },
                crate::ir::Type::Number => match super::value::parse_number(t) {
                    Some(n) => Val::Number(n),
                    None => Val::Text(t.clone()),
                },
                _ => Val::Text(t.clone()),
            }),
            Some(FactValue::Number(n)) => Got::Value(match fact.ty {
                crate::ir::Type::Text => Val::Text(n.to_string()),
                _ => Val::Number(*n),
            }),
            Some(FactValue::Bool(b)) => Got::Value(Val::Bool(*b)),
            None if self.snapshot.collected.facts.covers_name(&fact.name) => {
                Got::Absent(format!("fact {} is not set", fact.name))
            }
            None => Got::Unknown(Need::Fact {
                name: fact.name.clone(),
            }),
        }
    }

    /// The path of a key item, listed or implied.
    fn key_of(&self, item: Item) -> Option<&RegKey> {
        let registry = &self.snapshot.registry;
        match item {
            Item::RegKey(i) => registry.key_at(KeyAt::Listed(i as usize)),
            Item::ImpliedKey(i) => registry.key_at(KeyAt::Implied(i as usize)),
            _ => None,
        }
    }

    /// The name of a key a question matched: the part its pattern's last placeholder matched
    /// (`SnaDlc1` for `Services\\SnaDlc<n>\\Parameters`), else the last part of its path.
    fn key_name<'k>(&self, key: &'k RegKey, pred: PredId) -> &'k str {
        let pattern = match self.graph.predicate(pred) {
            Some(Predicate::RegistryKey { key, .. } | Predicate::RegistryValue { key, .. }) => {
                Some(key)
            }
            _ => None,
        };
        let part = pattern.and_then(|pattern| {
            let parts: Vec<&str> = pattern.path.split('\\').collect();
            parts
                .iter()
                .rposition(|part| crate::ir::has_placeholder(part))
        });
        match part {
            Some(at) => key.path.split('\\').nth(at).unwrap_or_default(),
            None => key.path.rsplit('\\').next().unwrap_or_default(),
        }
    }

    /// A property of a matched item.
    pub(crate) fn property(&self, item: Item, pred: PredId, property: &Property) -> Got {
        let snapshot = self.snapshot;
        let absent = |what: String| Got::Absent(what);
        let text = |t: &Option<String>, what: &str| match t {
            Some(t) => Got::Value(Val::Text(t.clone())),
            None => absent(format!("no {what} recorded")),
        };
        let field = match property {
            Property::Main => None,
            Property::Field(f) => Some(*f),
            _ => None,
        };
        match item {
            Item::Event(ei) => {
                let Some(event) = snapshot.events.get(ei as usize) else {
                    return absent("no such event".into());
                };
                self.event_property(event, pred, property)
            }
            Item::RegValue(ki, vi) => {
                let Some((key, value)) = snapshot
                    .registry
                    .keys
                    .get(ki as usize)
                    .and_then(|k| Some((&k.key, k.values.get(vi as usize)?)))
                else {
                    return absent("no such value".into());
                };
                match field {
                    None | Some("data") => Got::Value(Val::from_reg(&value.data)),
                    Some("key") => Got::Value(Val::Text(key.to_string())),
                    Some("name") => Got::Value(Val::Text(value.name.clone())),
                    Some("type") => Got::Value(Val::Text(value.data.type_name())),
                    Some("count") => Got::Value(Val::Number(match &value.data {
                        crate::snapshot::RegData::MultiSz(items) => items.len() as u64,
                        _ => 1,
                    })),
                    Some(other) => absent(format!("registry values have no {other}")),
                }
            }
            Item::RegKey(_) | Item::ImpliedKey(_) => match self.key_of(item) {
                Some(k) if field == Some("name") => {
                    Got::Value(Val::Text(self.key_name(k, pred).to_string()))
                }
                Some(k) => Got::Value(Val::Text(k.to_string())),
                None => absent("no such key".into()),
            },
            Item::Service(si) => {
                let Some(s) = snapshot.services.get(si as usize) else {
                    return absent("no such service".into());
                };
                match field {
                    None | Some("state") => match s.state {
                        Some(state) => Got::Value(Val::Text(state.as_str().into())),
                        None => Got::Unknown(Need::ServiceDetail {
                            service: s.name.clone(),
                            field: "state",
                        }),
                    },
                    Some("name") => Got::Value(Val::Text(s.name.clone())),
                    Some("display_name") => text(&s.display_name, "display name"),
                    Some("start") => match s.start_type {
                        Some(start) => Got::Value(Val::Text(start.as_str().into())),
                        None => Got::Unknown(Need::ServiceDetail {
                            service: s.name.clone(),
                            field: "start_type",
                        }),
                    },
                    Some(field @ ("account" | "image")) => {
                        let value = if field == "account" {
                            &s.account
                        } else {
                            &s.image_path
                        };
                        match value {
                            Some(v) => Got::Value(Val::Text(v.clone())),
                            None => Got::Unknown(Need::ServiceDetail {
                                service: s.name.clone(),
                                field: if field == "account" {
                                    "account"
                                } else {
                                    "image_path"
                                },
                            }),
                        }
                    }
                    Some(other) => absent(format!("services have no {other}")),
                }
            }
            Item::Product(_) | Item::Os => {
                let installed = match item {
                    Item::Product(pi) => snapshot.products.get(pi as usize),
                    _ => snapshot.os.as_ref(),
                };
                let Some(p) = installed else {
                    return absent("not installed".into());
                };
                match field {
                    None | Some("version") => match &p.version {
                        Some(v) => Got::Value(Val::Version(crate::ir::Version {
                            parts: v.parts.clone(),
                            sp: Some(p.service_pack),
                        })),
                        None => Got::Unknown(if item == Item::Os {
                            Need::Os
                        } else {
                            Need::ProductVersion {
                                product: p.name.clone(),
                            }
                        }),
                    },
                    Some("name") => Got::Value(Val::Text(p.name.clone())),
                    Some("sp") => Got::Value(Val::Number(p.service_pack)),
                    Some(other) => absent(format!("products have no {other}")),
                }
            }
            Item::Hotfix(hi) => match snapshot.hotfixes.get(hi as usize) {
                Some(h) => Got::Value(Val::Text(h.clone())),
                None => absent("no such hotfix".into()),
            },
            Item::File(fi) => {
                let Some(f) = snapshot.files.get(fi as usize) else {
                    return absent("no such file".into());
                };
                match field {
                    None | Some("version") => match &f.version {
                        Some(v) => Got::Value(Val::Version(v.clone())),
                        None => absent(format!("{} has no version", f.path)),
                    },
                    Some("path") => Got::Value(Val::Text(f.path.clone())),
                    Some(other) => absent(format!("files have no {other}")),
                }
            }
            Item::Component(ci) => match snapshot.components.get(ci as usize) {
                Some(c) => Got::Value(Val::Text(c.clone())),
                None => absent("no such component".into()),
            },
        }
    }

    fn event_property(&self, event: &Event, pred: PredId, property: &Property) -> Got {
        let snapshot = self.snapshot;
        let log = || snapshot.log_name(event).to_string();
        let message = || match &event.message {
            Some(m) => Ok(m.as_str()),
            None => Err(Need::EventMessages { log: log() }),
        };
        match property {
            Property::Main | Property::Field("message") => match &event.message {
                Some(m) => Got::Value(Val::Text(m.clone())),
                None => Got::Unknown(Need::EventMessages { log: log() }),
            },
            Property::Field("time") => match event.time {
                Some(t) => Got::Value(Val::Time(t)),
                None => Got::Absent("the event has no time".into()),
            },
            Property::Field("record_id") => match event.record_id {
                Some(r) => Got::Value(Val::Number(r)),
                None => Got::Absent("the event has no record id".into()),
            },
            Property::Field("id") => Got::Value(Val::Number(u64::from(event.id))),
            Property::Field("source") => Got::Value(Val::Text(snapshot.source_name(event).into())),
            Property::Field("log") => Got::Value(Val::Text(log())),
            Property::Field("level") => match event.level {
                Some(l) => Got::Value(Val::Text(l.as_str().into())),
                None => Got::Unknown(Need::EventLevels { log: log() }),
            },
            Property::Field("computer") => match &event.computer {
                Some(c) => Got::Value(Val::Text(c.clone())),
                None => Got::Absent("the event names no computer".into()),
            },
            Property::Field(other) => Got::Absent(format!("events have no {other}")),
            Property::Data(n) => match event.data_at(*n) {
                Some(d) => Got::Value(Val::Text(d.to_string())),
                None if !event.data_known.positions() => Got::Unknown(Need::EventData {
                    log: log(),
                    by_name: false,
                }),
                None => Got::Absent(format!("the event has no data field {n}")),
            },
            Property::DataNamed(name) => match event.data_named(name) {
                Some(d) => Got::Value(Val::Text(d.to_string())),
                None if !event.data_known.names() => Got::Unknown(Need::EventData {
                    log: log(),
                    by_name: event.data_known.positions(),
                }),
                None => Got::Absent(format!("the event has no data field {name}")),
            },
            Property::Capture(_) | Property::CaptureNamed(_) => {
                let Some(regex) = self.prepared.message_regex(pred) else {
                    return Got::Absent("the condition captures nothing".into());
                };
                let text = match message() {
                    Ok(t) => t,
                    Err(need) => return Got::Unknown(need),
                };
                let group = match property {
                    Property::Capture(n) => CaptureRef::Index(*n),
                    Property::CaptureNamed(name) => CaptureRef::Name(name),
                    _ => CaptureRef::Index(0),
                };
                match capture(self.graph, regex, text, group) {
                    Some(t) => Got::Value(Val::Text(t)),
                    None => Got::Absent("the group captured nothing".into()),
                }
            }
        }
    }

    /// The evidence an item gives.
    pub(crate) fn evidence(
        &self,
        item: Item,
        pred: PredId,
        more: usize,
    ) -> super::report::Evidence {
        use super::report::Evidence;
        let snapshot = self.snapshot;
        match item {
            Item::Event(ei) => match snapshot.events.get(ei as usize) {
                Some(e) => Evidence::Event {
                    log: snapshot.log_name(e).to_string(),
                    source: snapshot.source_name(e).to_string(),
                    id: e.id,
                    level: e.level.map(|l| l.as_str()),
                    record_id: e.record_id,
                    time: e.time.map(time::format),
                    message: e.message.clone(),
                    more,
                },
                None => Evidence::Absent {
                    what: "event".into(),
                },
            },
            Item::RegValue(ki, vi) => {
                let key = snapshot.registry.keys.get(ki as usize);
                match key.and_then(|k| k.values.get(vi as usize).map(|v| (k, v))) {
                    Some((k, v)) => Evidence::RegistryValue {
                        key: k.key.to_string(),
                        value: v.name.clone(),
                        ty: v.data.type_name(),
                        data: v.data.display(),
                    },
                    None => Evidence::Absent {
                        what: "registry value".into(),
                    },
                }
            }
            Item::RegKey(_) | Item::ImpliedKey(_) => {
                let key = self
                    .key_of(item)
                    .map(ToString::to_string)
                    .unwrap_or_default();
                match self.graph.predicate(pred) {
                    // The key of a value that is missing: the evidence is what it lacks.
                    Some(Predicate::RegistryValue {
                        name,
                        test: ValueTest::Missing,
                        ..
                    }) => {
                        let name = if name.is_empty() { "(Default)" } else { name };
                        Evidence::Absent {
                            what: format!("the key {key} has no value {name}"),
                        }
                    }
                    _ => Evidence::RegistryKey { key },
                }
            }
            Item::Service(si) => match snapshot.services.get(si as usize) {
                Some(s) => Evidence::Service {
                    name: s.name.clone(),
                    state: s.state.map(crate::ir::ServiceState::as_str),
                    start_type: s.start_type.map(crate::ir::StartType::as_str),
                    account: s.account.clone(),
                    image_path: s.image_path.clone(),
                },
                None => Evidence::Absent {
                    what: "service".into(),
                },
            },
            Item::Product(_) | Item::Os => {
                let installed = match item {
                    Item::Product(pi) => snapshot.products.get(pi as usize),
                    _ => snapshot.os.as_ref(),
                };
                let wanted = match self.graph.predicate(pred) {
                    Some(p @ (Predicate::Product { .. } | Predicate::Os { .. })) => {
                        crate::ir::describe(self.graph, p)
                    }
                    _ => String::new(),
                };
                match installed {
                    Some(p) => Evidence::Installed {
                        what: if item == Item::Os { "os" } else { "product" },
                        name: p.name.clone(),
                        version: p.version.as_ref().map(ToString::to_string),
                        service_pack: p.service_pack,
                        wanted,
                    },
                    None => Evidence::Absent { what: wanted },
                }
            }
            Item::Hotfix(hi) => Evidence::Hotfix {
                id: snapshot
                    .hotfixes
                    .get(hi as usize)
                    .cloned()
                    .unwrap_or_default(),
            },
            Item::File(fi) => match snapshot.files.get(fi as usize) {
                Some(f) => Evidence::File {
                    path: f.path.clone(),
                    version: f.version.as_ref().map(ToString::to_string),
                },
                None => Evidence::Absent {
                    what: "file".into(),
                },
            },
            Item::Component(ci) => Evidence::Component {
                name: snapshot
                    .components
                    .get(ci as usize)
                    .cloned()
                    .unwrap_or_default(),
            },
        }
    }
}

/// Whether a version range names no version numbers, only service-pack levels (or nothing).
fn numbers_free(range: &crate::ir::VersionRange) -> bool {
    range
        .lower
        .iter()
        .chain(&range.upper)
        .map(|(v, _)| v)
        .chain(&range.except)
        .all(|v| v.parts.is_empty())
}

/// The version of something whose version is not known, for ranges that name none.
fn no_version() -> crate::ir::Version {
    crate::ir::Version {
        parts: Vec::new(),
        sp: None,
    }
}

fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// The item for a registry key that exists.
fn key_item(at: KeyAt) -> Item {
    match at {
        KeyAt::Listed(i) => Item::RegKey(index(i)),
        KeyAt::Implied(i) => Item::ImpliedKey(index(i)),
    }
}

/// Whether a name a collector reports is a catalogue entry's name or one of its aliases.
fn names_entry(name: &str, aliases: &[String], reported: &str) -> bool {
    let reported = reported.trim();
    eq_fold(name, reported) || aliases.iter().any(|a| eq_fold(a, reported))
}

#[cfg(test)]
mod tests {
    use crate::{RuleSet, Snapshot, Sources};

    /// Fired rules, by name, for one rule file and one JSON snapshot.
    fn fired(rules: &str, snapshot: &str) -> Vec<String> {
        let mut sources = Sources::new();
        sources.add("test.kbr", rules);
        let rules = RuleSet::compile(&sources).expect("the rules compile");
        let snapshot = Snapshot::from_json(snapshot, "test.json").expect("a valid snapshot");
        rules
            .evaluate(&snapshot)
            .fired()
            .map(|v| v.rule.clone())
            .collect()
    }

    #[test]
    fn an_event_in_overlapping_id_ranges_counts_once() {
        let rules = r#"
            rule Twice {
                title "two events"
                when count(event System source "S" id 7000, 7000..=7001) >= 2
                diagnose "twice"
            }
            rule Once {
                title "one event"
                when count(event System source "S" id 7000, 7000..=7001) == 1
                diagnose "once"
            }
        "#;
        let snapshot = r#"{ "kbrules_snapshot": 1, "events": [
            { "log": "System", "source": "S", "id": 7000, "time": "2024-01-01T00:00:00Z" }
        ] }"#;
        assert_eq!(fired(rules, snapshot), ["Once"]);
    }

    #[test]
    fn services_components_and_hotfixes_are_found_ignoring_case() {
        let rules = r#"
            rule Found {
                title "found"
                when service "msexchangeimc" stopped and component "appletalk protocol"
                 and hotfix q329115
                diagnose "found"
            }
        "#;
        let snapshot = r#"{ "kbrules_snapshot": 1,
            "services": [ { "name": "MSExchangeIMC", "state": "stopped" } ],
            "components": [ { "name": "AppleTalk Protocol" } ],
            "hotfixes": [ "Q329115" ] }"#;
        assert_eq!(fired(rules, snapshot), ["Found"]);
    }
}
