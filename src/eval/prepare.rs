//! What a rule set prepares once, for every snapshot it evaluates: event questions in a form
//! the scan tests quickly, text matchers, and which conditions bind or read which names.
//!
//! Identical text matches share one matcher, so that a pattern used by many rules (the same
//! `message contains "…"` on events of many sources) is compiled once and its regex cache is
//! shared.

use std::collections::HashMap;
use std::sync::Arc;

use super::Truth;
use super::report::Need;
use super::value::{Matcher, Val, test_const};
use crate::ir::{
    BinaryTest, CompareOp, DataTest, Expr, ExprId, Level, PredId, Predicate, Property, RegexId,
    RuleGraph, ServiceTest, SlotId, TextMatch, ValueTest,
};
use crate::snapshot::Event;

/// An event question, ready for the scan.
#[derive(Debug)]
pub(crate) struct EventQuery {
    pub(crate) pred: PredId,
    pub(crate) log: Option<String>,
    pub(crate) source: Option<String>,
    pub(crate) ids: Vec<(u16, u16)>,
    level: Option<Level>,
    pub(crate) message: Option<Arc<Matcher>>,
    data: Vec<(DataTest, Option<Arc<Matcher>>)>,
    binary: Vec<BinaryTest>,
}

impl EventQuery {
    /// How many ids the question names.
    pub(crate) fn id_count(&self) -> u32 {
        self.ids
            .iter()
            .map(|(a, b)| u32::from(*b).saturating_sub(u32::from(*a)) + 1)
            .sum()
    }

    /// Whether an event (already of the right log and source) matches: unknown when it would
    /// match but its message, level or a data field was not recorded.
    pub(crate) fn test(&self, graph: &RuleGraph, event: &Event) -> Truth {
        if !self.ids.is_empty() && !self.ids.iter().any(|(a, b)| (*a..=*b).contains(&event.id)) {
            return Truth::False;
        }
        let mut truth = Truth::True;
        for (test, matcher) in &self.data {
            let value = match &test.field {
                Property::Data(n) => event.data_at(*n),
                Property::DataNamed(name) => event.data_named(name),
                _ => None,
            };
            let Some(value) = value else {
                if data_known(event, &test.field) {
                    return Truth::False;
                }
                truth = Truth::Unknown;
                continue;
            };
            if !test_const(
                graph,
                matcher.as_deref(),
                &Val::Text(value.to_string()),
                &test.op,
                &test.value,
            ) {
                return Truth::False;
            }
        }
        for b in &self.binary {
            if !binary_holds(event.binary.as_deref(), b) {
                return Truth::False;
            }
        }
        if let Some(want) = self.level {
            match event.level {
                Some(level) if level == want => {}
                Some(_) => return Truth::False,
                None => truth = Truth::Unknown,
            }
        }
        if let Some(matcher) = &self.message {
            match &event.message {
                Some(text) if matcher.is_match(graph, text) => {}
                Some(_) => return Truth::False,
                None => truth = Truth::Unknown,
            }
        }
        truth
    }

    /// What an event that [`EventQuery::test`] found unknown lacks.
    pub(crate) fn unknown_need(&self, event: &Event, log: String) -> Need {
        if self.message.is_some() && event.message.is_none() {
            Need::EventMessages { log }
        } else if self
            .data
            .iter()
            .any(|(test, _)| !data_known(event, &test.field))
        {
            Need::EventData {
                log,
                by_name: event.data_known.positions(),
            }
        } else {
            Need::EventLevels { log }
        }
    }
}

/// Whether the export an event came from carried the data field a property reads, so that
/// its absence means the event has none.
pub(crate) fn data_known(event: &Event, field: &Property) -> bool {
    match field {
        Property::Data(_) => event.data_known.positions(),
        Property::DataNamed(_) => event.data_known.names(),
        _ => true,
    }
}

/// A little-endian number read from binary data, compared.
fn binary_holds(data: Option<&[u8]>, test: &BinaryTest) -> bool {
    let Some(data) = data else {
        return false;
    };
    let Ok(start) = usize::try_from(test.offset) else {
        return false;
    };
    let Some(bytes) = data.get(start..start.saturating_add(usize::from(test.width))) else {
        return false;
    };
    let value = bytes
        .iter()
        .rev()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    super::value::compare(&Val::Number(value), test.op, &Val::Number(test.value), true)
}

/// Prepared once per rule set.
#[derive(Debug, Default)]
pub(crate) struct Prepared {
    pub(crate) event_queries: Vec<EventQuery>,
    /// The index in `event_queries` of each event question, by question.
    query_of_pred: Vec<Option<u32>>,
    /// The text matcher of each non-event question that has one.
    pred_matchers: Vec<Option<Arc<Matcher>>>,
    /// The message regex of each event question that has one (for captures).
    message_regexes: Vec<Option<RegexId>>,
    /// The text matcher of each comparison that matches text.
    expr_matchers: Vec<Option<Arc<Matcher>>>,
    /// Whether a condition binds names for the conditions beside it.
    binds: Vec<bool>,
    /// The slots each condition reads (not looking inside named conditions' scopes).
    reads: Vec<Vec<SlotId>>,
}

impl Prepared {
    pub(crate) fn new(graph: &RuleGraph) -> Prepared {
        let mut prepared = Prepared::default();
        let mut matchers = Matchers::default();
        for (i, pred) in graph.predicates().iter().enumerate() {
            let id = PredId::from_index(i);
            let mut matcher = None;
            let mut regex = None;
            let mut query = None;
            match pred {
                Predicate::Event(f) => {
                    if let Some(TextMatch::Regex(r)) = &f.message {
                        regex = Some(*r);
                    }
                    query = u32::try_from(prepared.event_queries.len()).ok();
                    prepared.event_queries.push(EventQuery {
                        pred: id,
                        log: f.log.clone(),
                        source: f.source.clone(),
                        ids: f.ids.clone(),
                        level: f.level,
                        message: f.message.as_ref().map(|m| matchers.get(m)),
                        data: f
                            .data
                            .iter()
                            .map(|d| {
                                let m = match &d.op {
                                    CompareOp::Match(m) => Some(matchers.get(m)),
                                    CompareOp::Cmp(_) => None,
                                };
                                (d.clone(), m)
                            })
                            .collect(),
                        binary: f.binary.clone(),
                    });
                }
                Predicate::RegistryValue {
                    test: ValueTest::Compare(CompareOp::Match(m), _),
                    ..
                } => matcher = Some(matchers.get(m)),
                Predicate::Service {
                    test: ServiceTest::Account(t) | ServiceTest::Image(t),
                    ..
                } => matcher = Some(matchers.get(&t.matches)),
                _ => {}
            }
            prepared.pred_matchers.push(matcher);
            prepared.message_regexes.push(regex);
            prepared.query_of_pred.push(query);
        }
        for expr in graph.exprs() {
            prepared.expr_matchers.push(match expr {
                Expr::Compare {
                    op: CompareOp::Match(m),
                    ..
                } => Some(matchers.get(m)),
                _ => None,
            });
        }
        // Children come before parents in the arena, so one pass in order sees them first.
        for expr in graph.exprs() {
            let (binds, reads) = match expr {
                Expr::Pred { bind, .. } => (bind.is_some(), Vec::new()),
                Expr::FollowedBy {
                    first_bind,
                    then_bind,
                    ..
                } => (first_bind.is_some() || then_bind.is_some(), Vec::new()),
                Expr::And(items) | Expr::Or(items) => (
                    items.iter().any(|i| prepared.binds(*i)),
                    prepared.union(items),
                ),
                Expr::AtLeast { items, .. } => (
                    items.iter().any(|i| prepared.binds(*i)),
                    prepared.union(items),
                ),
                Expr::Not(inner) => (false, prepared.union(&[*inner])),
                Expr::Compare { left, right, .. } => {
                    let mut slots = Vec::new();
                    slots_of(left, &mut slots);
                    slots_of(right, &mut slots);
                    (false, slots)
                }
                Expr::Count { .. } | Expr::RuleFired(_) | Expr::Scope { .. } => (false, Vec::new()),
            };
            prepared.binds.push(binds);
            prepared.reads.push(reads);
        }
        prepared
    }

    fn union(&self, items: &[ExprId]) -> Vec<SlotId> {
        let mut slots: Vec<SlotId> = items
            .iter()
            .flat_map(|i| self.reads.get(i.index()).into_iter().flatten().copied())
            .collect();
        slots.sort();
        slots.dedup();
        slots
    }

    pub(crate) fn binds(&self, expr: ExprId) -> bool {
        self.binds.get(expr.index()).copied().unwrap_or(false)
    }

    /// The slots a condition reads.
    pub(crate) fn reads_of(&self, expr: ExprId) -> &[SlotId] {
        self.reads.get(expr.index()).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn reads(&self, expr: ExprId, slot: SlotId) -> bool {
        self.reads
            .get(expr.index())
            .is_some_and(|slots| slots.contains(&slot))
    }

    pub(crate) fn pred_matcher(&self, pred: PredId) -> Option<&Matcher> {
        self.pred_matchers.get(pred.index())?.as_deref()
    }

    pub(crate) fn expr_matcher(&self, expr: ExprId) -> Option<&Matcher> {
        self.expr_matchers.get(expr.index())?.as_deref()
    }

    /// The prepared form of an event question.
    pub(crate) fn event_query(&self, pred: PredId) -> Option<&EventQuery> {
        let index = (*self.query_of_pred.get(pred.index())?)?;
        self.event_queries.get(index as usize)
    }

    pub(crate) fn message_regex(&self, pred: PredId) -> Option<RegexId> {
        *self.message_regexes.get(pred.index())?
    }
}

/// One matcher for each distinct text match.
#[derive(Default)]
struct Matchers(HashMap<TextMatch, Arc<Matcher>>);

impl Matchers {
    fn get(&mut self, matches: &TextMatch) -> Arc<Matcher> {
        self.0
            .entry(matches.clone())
            .or_insert_with(|| Arc::new(Matcher::new(matches.clone())))
            .clone()
    }
}

fn slots_of(value: &crate::ir::Value, out: &mut Vec<SlotId>) {
    match value {
        crate::ir::Value::Binding { slot, .. } => out.push(*slot),
        crate::ir::Value::Number(inner) => slots_of(inner, out),
        _ => {}
    }
}
