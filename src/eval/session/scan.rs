//! The scan: every event question of a rule set answered in one pass over a snapshot's events.
//!
//! Each event is offered only to the questions that could match it, found through tables built
//! once per scan: the questions that name its source and its id (one hash lookup of the
//! `(source, id)` pair), those that name its id and no source, its source and no id, its log and
//! neither, and those with no such filter. A question is tested on an event only after its log
//! and source compare equal, so the cost grows with the events and the matches, not with
//! events × questions. The same lookup counts the events of each source and id, for near misses.
//!
//! This module reads the snapshot and the prepared questions; the outcomes are the session's.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::super::Truth;
use super::super::prepare::EventQuery;
use crate::ir::RuleGraph;
use crate::snapshot::Snapshot;

/// Event ids per source (each id once, in order, with its number of events), and events per
/// log.
pub(super) type Histogram = (Vec<Vec<(u16, usize)>>, Vec<usize>);

/// What one pass over the events found.
pub(super) struct Scan {
    /// The events each question matched, by question, in the order given.
    pub(super) matches: Vec<Vec<u32>>,
    /// The first event each question would match but for a part it does not record (its
    /// message or level), by question.
    pub(super) unknown: Vec<Option<u32>>,
    /// Which sources have events in a collected log.
    pub(super) seen: Vec<bool>,
    pub(super) histogram: Histogram,
}

/// Where the scan offers events to an event question: the question's index, and the log and
/// source it names as the snapshot's symbols ([`ANY`] when it names none), compared before the
/// question is tested.
#[derive(Debug, Clone, Copy)]
struct Route {
    query: u32,
    log: u32,
    source: u32,
}

/// No log or no source named.
const ANY: u32 = u32::MAX;

/// Routes grouped by a key (an event id, a source, a log), in one allocation.
struct Routes {
    /// Where each key's routes start in `routes`; one more entry than keys.
    starts: Vec<u32>,
    routes: Vec<Route>,
}

impl Routes {
    /// Groups `(key, route)` pairs whose keys are below `keys`; others are dropped.
    fn new(keys: usize, mut entries: Vec<(usize, Route)>) -> Routes {
        entries.retain(|(k, _)| *k < keys);
        entries.sort_by_key(|(k, _)| *k);
        let mut starts = vec![0u32; keys + 1];
        for (key, _) in &entries {
            if let Some(n) = starts.get_mut(key + 1) {
                *n += 1;
            }
        }
        for k in 0..keys {
            let before = starts.get(k).copied().unwrap_or(0);
            if let Some(n) = starts.get_mut(k + 1) {
                *n += before;
            }
        }
        Routes {
            starts,
            routes: entries.into_iter().map(|(_, r)| r).collect(),
        }
    }

    /// The routes of a key.
    fn get(&self, key: usize) -> &[Route] {
        let (Some(&start), Some(&end)) = (self.starts.get(key), self.starts.get(key + 1)) else {
            return &[];
        };
        self.routes.get(start as usize..end as usize).unwrap_or(&[])
    }
}

/// A (source, id) pair packed in a number, the source in the high bits.
fn pair(source: u32, id: u16) -> u64 {
    (u64::from(source) << 16) | u64::from(id)
}

/// What the scan keeps for one (source, id) pair.
#[derive(Debug, Clone, Copy, Default)]
struct PairEntry {
    /// The events with this source and id.
    events: usize,
    /// The routes of the questions that name exactly this source and id, as a range of
    /// `exact`.
    routes: (u32, u32),
}

/// A hash for (source, id) pairs packed in a number: one multiplication and a fold of the high
/// bits into the low ones, which pick the bucket. Looking up a million events with it takes a
/// fraction of what the default (DoS-resistant) hash takes; the keys are symbols of the
/// snapshot, not text an attacker chooses.
#[derive(Default)]
struct PairHasher(u64);

impl Hasher for PairHasher {
    fn finish(&self) -> u64 {
        let h = self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        h ^ (h >> 32)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type PairMap = HashMap<u64, PairEntry, BuildHasherDefault<PairHasher>>;

/// Answers every event question in one pass over the events.
pub(super) fn scan(graph: &RuleGraph, snapshot: &Snapshot, queries: &[EventQuery]) -> Scan {
    // Resolve names to the snapshot's symbols; a question naming a log or source no event
    // has can match nothing and is not offered any event.
    let mut exact = Vec::new();
    let mut by_id = Vec::new();
    let mut by_source = Vec::new();
    let mut by_log = Vec::new();
    let mut everywhere = Vec::new();
    for (qi, q) in queries.iter().enumerate() {
        let log = q.log.as_deref().map(|l| snapshot.logs.lookup(l));
        let source = q.source.as_deref().map(|s| snapshot.sources.lookup(s));
        if matches!(log, Some(None)) || matches!(source, Some(None)) {
            continue;
        }
        let (log, source) = (log.flatten(), source.flatten());
        let route = Route {
            query: u32::try_from(qi).unwrap_or(u32::MAX),
            log: log.unwrap_or(ANY),
            source: source.unwrap_or(ANY),
        };
        if !q.ids.is_empty() && q.id_count() <= 1024 {
            let mut ids: Vec<u16> = q.ids.iter().flat_map(|&(lo, hi)| lo..=hi).collect();
            // Ranges that overlap (`id 7000, 7000..=7001`) offer an event once.
            ids.sort_unstable();
            ids.dedup();
            match source {
                Some(s) => exact.extend(ids.into_iter().map(|id| (pair(s, id), route))),
                None => by_id.extend(ids.into_iter().map(|id| (usize::from(id), route))),
            }
        } else if let Some(s) = source {
            by_source.push((s as usize, route));
        } else if let Some(l) = log {
            by_log.push((l as usize, route));
        } else {
            everywhere.push(route);
        }
    }
    exact.sort_by_key(|(key, _)| *key);
    let mut pairs = PairMap::default();
    let mut start = 0;
    for run in exact.chunk_by(|a, b| a.0 == b.0) {
        if let Some((key, _)) = run.first() {
            let end = start + run.len();
            let range = (
                u32::try_from(start).unwrap_or(u32::MAX),
                u32::try_from(end).unwrap_or(u32::MAX),
            );
            pairs.insert(
                *key,
                PairEntry {
                    events: 0,
                    routes: range,
                },
            );
            start = end;
        }
    }
    let exact: Vec<Route> = exact.into_iter().map(|(_, r)| r).collect();
    let by_id = Routes::new(if by_id.is_empty() { 0 } else { 1 << 16 }, by_id);
    let by_source = Routes::new(snapshot.sources.len(), by_source);
    let by_log = Routes::new(snapshot.logs.len(), by_log);

    let log_collected: Vec<bool> = (0..snapshot.logs.len())
        .map(|l| {
            snapshot
                .collected
                .events
                .covers_name(snapshot.logs.get(u32::try_from(l).unwrap_or(u32::MAX)))
        })
        .collect();
    let mut seen = vec![false; snapshot.sources.len()];
    let mut per_log = vec![0usize; snapshot.logs.len()];
    let mut matches: Vec<Vec<u32>> = vec![Vec::new(); queries.len()];
    let mut unknown: Vec<Option<u32>> = vec![None; queries.len()];
    for (ei, event) in snapshot.events.iter().enumerate() {
        let ei = u32::try_from(ei).unwrap_or(u32::MAX);
        if log_collected
            .get(event.log as usize)
            .copied()
            .unwrap_or(false)
            && let Some(s) = seen.get_mut(event.source as usize)
        {
            *s = true;
        }
        if let Some(n) = per_log.get_mut(event.log as usize) {
            *n += 1;
        }
        let entry = pairs.entry(pair(event.source, event.id)).or_default();
        entry.events += 1;
        let (a, b) = entry.routes;
        let lists = [
            exact.get(a as usize..b as usize).unwrap_or(&[]),
            by_id.get(usize::from(event.id)),
            by_source.get(event.source as usize),
            by_log.get(event.log as usize),
            &everywhere,
        ];
        for route in lists.into_iter().flatten() {
            if (route.log != ANY && route.log != event.log)
                || (route.source != ANY && route.source != event.source)
            {
                continue;
            }
            let qi = route.query as usize;
            let Some(q) = queries.get(qi) else {
                continue;
            };
            match q.test(graph, event) {
                Truth::True => {
                    if let Some(m) = matches.get_mut(qi) {
                        m.push(ei);
                    }
                }
                Truth::Unknown => {
                    if let Some(u) = unknown.get_mut(qi) {
                        u.get_or_insert(ei);
                    }
                }
                Truth::False => {}
            }
        }
    }
    Scan {
        matches,
        unknown,
        seen,
        histogram: (by_source_and_id(pairs, snapshot.sources.len()), per_log),
    }
}

/// Counts events by source and id, for near misses when the scan did not run.
pub(super) fn histogram(snapshot: &Snapshot) -> Histogram {
    let mut pairs = PairMap::default();
    let mut per_log = vec![0usize; snapshot.logs.len()];
    for e in &snapshot.events {
        pairs.entry(pair(e.source, e.id)).or_default().events += 1;
        if let Some(n) = per_log.get_mut(e.log as usize) {
            *n += 1;
        }
    }
    (by_source_and_id(pairs, snapshot.sources.len()), per_log)
}

/// The ids of each source with their numbers of events, leaving out pairs that no event has.
fn by_source_and_id(pairs: PairMap, sources: usize) -> Vec<Vec<(u16, usize)>> {
    let mut counted: Vec<(u64, usize)> = pairs
        .into_iter()
        .filter(|(_, e)| e.events > 0)
        .map(|(key, e)| (key, e.events))
        .collect();
    counted.sort_unstable();
    let mut by_source: Vec<Vec<(u16, usize)>> = vec![Vec::new(); sources];
    for (key, n) in counted {
        let (source, id) = (key >> 16, (key & 0xFFFF) as u16);
        if let Some(ids) = usize::try_from(source)
            .ok()
            .and_then(|s| by_source.get_mut(s))
        {
            ids.push((id, n));
        }
    }
    by_source
}
