//! What a snapshot holds, in numbers: events per log and per (source, id), registry keys and
//! values per hive, the other sections' sizes, what was collected and what was skipped. What
//! `kbrules snapshot --summary` prints.

use std::collections::BTreeMap;
use std::fmt;

use super::{Collected, Skipped, Snapshot};

/// What a snapshot holds, in numbers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Where it came from.
    pub origin: String,
    /// The events in all.
    pub events: u64,
    /// Per log, most events first.
    pub logs: Vec<LogSummary>,
    /// Registry keys in all.
    pub keys: u64,
    /// Registry values in all.
    pub values: u64,
    /// Per hive, in the order of [`crate::ir::Hive`].
    pub hives: Vec<HiveSummary>,
    /// The services listed, when they were.
    pub services: Option<u64>,
    /// The operating system, as text (`Windows 2000 5.0.2195 SP4`), when recorded.
    pub os: Option<String>,
    /// The products listed, when they were.
    pub products: Option<u64>,
    /// The hotfixes listed, when they were.
    pub hotfixes: Option<u64>,
    /// The components listed, when they were.
    pub components: Option<u64>,
    /// The files listed.
    pub files: u64,
    /// The facts given.
    pub facts: u64,
    /// What was skipped while loading.
    pub skipped: Vec<Skipped>,
}

/// One log's events.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogSummary {
    /// The log.
    pub log: String,
    /// Its events.
    pub events: u64,
    /// Whether the log was collected (all its events are here).
    pub collected: bool,
    /// Events per source and id, most first (then by source and id).
    pub sources: Vec<SourceCount>,
}

/// The events of one source with one id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceCount {
    /// The source.
    pub source: String,
    /// The event id.
    pub id: u16,
    /// How many.
    pub events: u64,
}

/// One hive's keys and values.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HiveSummary {
    /// The hive, short (`HKLM`).
    pub hive: &'static str,
    /// Its keys.
    pub keys: u64,
    /// Their values.
    pub values: u64,
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl Snapshot {
    /// What the snapshot holds, in numbers.
    pub fn summary(&self) -> Summary {
        let c: &Collected = &self.collected;
        // Per log, then per (source, id).
        let mut logs: BTreeMap<u32, BTreeMap<(u32, u16), u64>> = BTreeMap::new();
        for e in &self.events {
            *logs
                .entry(e.log)
                .or_default()
                .entry((e.source, e.id))
                .or_insert(0) += 1;
        }
        let mut logs: Vec<LogSummary> = logs
            .into_iter()
            .map(|(log, counts)| {
                let mut sources: Vec<SourceCount> = counts
                    .into_iter()
                    .map(|((source, id), events)| SourceCount {
                        source: self.sources.get(source).to_string(),
                        id,
                        events,
                    })
                    .collect();
                sources.sort_by(|a, b| {
                    b.events
                        .cmp(&a.events)
                        .then_with(|| a.source.cmp(&b.source))
                        .then(a.id.cmp(&b.id))
                });
                let log = self.logs.get(log).to_string();
                LogSummary {
                    collected: c.events.covers_name(&log),
                    events: sources.iter().map(|s| s.events).sum(),
                    log,
                    sources,
                }
            })
            .collect();
        logs.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| a.log.cmp(&b.log)));
        let mut hives: Vec<HiveSummary> = Vec::new();
        for key in &self.registry.keys {
            let hive = key.key.hive.short();
            let values = count(key.values.len());
            match hives.iter_mut().find(|h| h.hive == hive) {
                Some(h) => {
                    h.keys += 1;
                    h.values += values;
                }
                None => hives.push(HiveSummary {
                    hive,
                    keys: 1,
                    values,
                }),
            }
        }
        hives.sort_by_key(|h| h.hive);
        let listed = |collected: bool, n: usize| (collected || n > 0).then(|| count(n));
        Summary {
            origin: self.origin.clone(),
            events: count(self.events.len()),
            logs,
            keys: count(self.registry.keys.len()),
            values: self
                .registry
                .keys
                .iter()
                .map(|k| count(k.values.len()))
                .sum(),
            hives,
            services: listed(c.services, self.services.len()),
            os: self.os.as_ref().map(ToString::to_string),
            products: listed(c.products, self.products.len()),
            hotfixes: listed(c.hotfixes, self.hotfixes.len()),
            components: listed(c.components, self.components.len()),
            files: count(self.files.len()),
            facts: count(self.facts.len()),
            skipped: self.skipped.clone(),
        }
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.origin)?;
        writeln!(
            f,
            "  events: {} in {}",
            self.events,
            plural(count(self.logs.len()), "log", "logs")
        )?;
        for log in &self.logs {
            let partial = if log.collected {
                ""
            } else {
                " (log not collected: some of its events)"
            };
            writeln!(f, "    {}: {}{partial}", log.log, log.events)?;
            for s in &log.sources {
                let source = if s.source.is_empty() { "?" } else { &s.source };
                writeln!(f, "      {source} {}: {}", s.id, s.events)?;
            }
        }
        writeln!(
            f,
            "  registry: {}, {}",
            plural(self.keys, "key", "keys"),
            plural(self.values, "value", "values")
        )?;
        for h in &self.hives {
            writeln!(
                f,
                "    {}: {}, {}",
                h.hive,
                plural(h.keys, "key", "keys"),
                plural(h.values, "value", "values")
            )?;
        }
        let listed = |n: Option<u64>| n.map_or("not collected".to_string(), |n| n.to_string());
        writeln!(f, "  services: {}", listed(self.services))?;
        writeln!(f, "  os: {}", self.os.as_deref().unwrap_or("not collected"))?;
        writeln!(f, "  products: {}", listed(self.products))?;
        writeln!(f, "  hotfixes: {}", listed(self.hotfixes))?;
        writeln!(f, "  components: {}", listed(self.components))?;
        writeln!(f, "  files: {}", self.files)?;
        writeln!(f, "  facts: {}", self.facts)?;
        if self.skipped.is_empty() {
            writeln!(f, "  skipped: nothing")?;
        } else {
            writeln!(f, "  skipped:")?;
            for s in &self.skipped {
                writeln!(f, "    {} in {}: {}", s.count, s.file, s.reason)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_log_source_and_hive() {
        let s = Snapshot::from_json(
            r#"{"kbrules_snapshot": 1,
                "events": [
                  {"log": "System", "source": "Service Control Manager", "id": 7036},
                  {"log": "System", "source": "Service Control Manager", "id": 7036},
                  {"log": "System", "source": "Service Control Manager", "id": 7000},
                  {"log": "Application", "source": "MSExchangeIMC", "id": 4086}
                ],
                "registry": {
                  "HKLM\\System\\A": {"x": {"type": "REG_DWORD", "data": 1}, "y": {"type": "REG_SZ", "data": "a"}},
                  "HKCU\\Software\\B": {}
                },
                "services": [],
                "collected": {"events": ["System"]}}"#,
            "case.json",
        )
        .unwrap_or_default();
        let summary = s.summary();
        assert_eq!(
            summary.to_string(),
            "case.json
  events: 4 in 2 logs
    System: 3
      Service Control Manager 7036: 2
      Service Control Manager 7000: 1
    Application: 1 (log not collected: some of its events)
      MSExchangeIMC 4086: 1
  registry: 2 keys, 2 values
    HKCU: 1 key, 0 values
    HKLM: 1 key, 2 values
  services: 0
  os: not collected
  products: not collected
  hotfixes: not collected
  components: not collected
  files: 0
  facts: 0
  skipped: nothing
"
        );
    }
}
