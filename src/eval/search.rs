//! Deciding one rule: a search for items that satisfy its condition, in three-valued logic,
//! then an explanation of the best assignment found.
//!
//! A condition with bindings holds when *some* choice of items for its bindings makes it hold
//! (events are tried most recent first). Conditions are goals on a stack; a question that
//! binds a name tries its items one by one, and the goals after it are decided under each
//! choice. A later goal that does not read the name cannot change with the choice, so then
//! only the first item is tried. The search counts its steps and stops at the limit.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use super::Truth;
use super::report::{Evidence, Need, VerdictKind};
use super::session::{Got, Item, Session};
use super::value::{Val, compare};
use crate::ast::CmpOp;
use crate::ir::{CompareOp, Expr, ExprId, PredId, SlotId, Value};

/// What a binding slot holds during the search.
#[derive(Debug, Clone, Default)]
pub(crate) enum Slot {
    #[default]
    Unbound,
    /// An item, and the question that matched it.
    Item(Item, PredId),
    /// The question could not be answered.
    Unknown(Need),
}

/// The binding slots of one rule or one named condition.
#[derive(Debug, Clone, Default)]
pub(crate) struct Env {
    slots: Vec<Slot>,
}

impl Env {
    pub(crate) fn new(slots: usize) -> Env {
        Env {
            slots: vec![Slot::Unbound; slots],
        }
    }

    pub(crate) fn get(&self, slot: SlotId) -> &Slot {
        static UNBOUND: Slot = Slot::Unbound;
        self.slots.get(slot.index()).unwrap_or(&UNBOUND)
    }

    pub(crate) fn set_slot(&mut self, slot: SlotId, value: Slot) {
        if let Some(s) = self.slots.get_mut(slot.index()) {
            *s = value;
        }
    }

    fn is_unbound(&self, slot: SlotId) -> bool {
        matches!(self.get(slot), Slot::Unbound)
    }
}

/// The best result of a search, and the assignment that gave it.
#[derive(Debug, Default)]
pub(crate) struct Search {
    pub(crate) best: Option<Truth>,
    pub(crate) witness: Option<Env>,
}

/// A node of an explained condition: its value and what it rests on.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Explained {
    /// The condition, as the rules write it.
    pub condition: String,
    /// Its value: `true`, `false` or `unknown`.
    pub value: Truth,
    /// What matched, for a condition that holds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    /// What the snapshot holds instead, for a condition that does not hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<String>,
    /// What must be collected, for a condition that cannot be decided.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<Need>,
    /// The conditions it is made of.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Explained>,
}

/// Decides rules against one session.
pub(crate) struct Evaluator<'s, 'a> {
    pub(crate) session: &'s Session<'a>,
    /// The verdicts of rules decided so far, by rule index.
    pub(crate) verdicts: RefCell<Vec<Option<VerdictKind>>>,
    /// Named conditions with their own bindings are closed: decided once.
    scopes: RefCell<HashMap<ExprId, (Truth, Env)>>,
    steps: Cell<u64>,
    limit_hit: Cell<bool>,
    /// Names of the current rule's bindings, for describing conditions.
    pub(crate) names: RefCell<Vec<String>>,
    /// What each rule decided so far needs, for rules that read its verdict.
    pub(crate) needs: RefCell<Vec<Vec<Need>>>,
    /// The named conditions, by the node they compiled to.
    pub(crate) conditions: HashMap<ExprId, &'a str>,
    /// The names a named condition with bindings of its own binds, by its scope's node.
    pub(crate) scope_names: HashMap<ExprId, Vec<String>>,
    /// A condition whose value is taken as its negation (its bindings left unbound): how
    /// `kbrules test --necessity` asks whether a rule still fires without it.
    pub(crate) flipped: Option<ExprId>,
}

impl<'s, 'a> Evaluator<'s, 'a> {
    pub(crate) fn new(session: &'s Session<'a>, rules: usize) -> Evaluator<'s, 'a> {
        Evaluator {
            session,
            verdicts: RefCell::new(vec![None; rules]),
            scopes: RefCell::new(HashMap::new()),
            steps: Cell::new(0),
            limit_hit: Cell::new(false),
            names: RefCell::new(Vec::new()),
            needs: RefCell::new(vec![Vec::new(); rules]),
            conditions: session
                .graph
                .conditions()
                .iter()
                .map(|c| (c.expr, c.name.as_str()))
                .collect(),
            scope_names: session
                .graph
                .conditions()
                .iter()
                .filter_map(|c| match session.graph.expr(c.expr) {
                    Some(Expr::Scope { expr, .. }) => {
                        Some((*expr, c.bindings.iter().map(|b| b.name.clone()).collect()))
                    }
                    _ => None,
                })
                .collect(),
            flipped: None,
        }
    }

    fn expr(&self, id: ExprId) -> Option<&'a Expr> {
        self.session.graph.expr(id)
    }

    /// Starts a rule: resets the step count.
    pub(crate) fn start_rule(&self) {
        self.steps.set(0);
        self.limit_hit.set(false);
    }

    pub(crate) fn limit_hit(&self) -> bool {
        self.limit_hit.get()
    }

    fn step(&self) -> bool {
        let n = self.steps.get() + 1;
        self.steps.set(n);
        if n > self.session.limits.max_steps {
            self.limit_hit.set(true);
        }
        !self.limit_hit.get()
    }

    /// Decides a conjunction of goals under `env`: the best value over every choice of items
    /// for the bindings, recording the assignment that gave it. `goals` is left as it was.
    pub(crate) fn solve(
        &self,
        goals: &mut Vec<ExprId>,
        env: &mut Env,
        mut acc: Truth,
        search: &mut Search,
    ) -> Truth {
        // Goals that bind nothing are decided in this loop, not by recursion, so that a wide
        // conjunction takes no stack; only choices recurse.
        let mut decided: Vec<ExprId> = Vec::new();
        let result = loop {
            if acc == Truth::False {
                break Truth::False;
            }
            if !self.step() {
                break acc.and(Truth::Unknown);
            }
            let Some(goal) = goals.pop() else {
                if search.best.is_none_or(|b| acc > b) {
                    search.best = Some(acc);
                    search.witness = Some(env.clone());
                }
                break acc;
            };
            if self.chooses(goal, env) {
                let result = self.solve_goal(goal, goals, env, acc, search);
                goals.push(goal);
                break result;
            }
            acc = acc.and(self.value(goal, env));
            decided.push(goal);
        };
        goals.extend(decided.into_iter().rev());
        result
    }

    /// Whether a goal makes choices for the goals after it (binds names, or is a junction whose
    /// goals go on the stack), rather than having one value.
    fn chooses(&self, goal: ExprId, env: &Env) -> bool {
        if self.flipped == Some(goal) {
            return false;
        }
        let prepared = self.session.prepared;
        match self.expr(goal) {
            Some(Expr::And(_)) => true,
            Some(Expr::AtLeast { n, items }) => *n as usize == items.len(),
            Some(Expr::Or(_)) => prepared.binds(goal),
            Some(Expr::Pred {
                bind: Some(slot), ..
            }) => env.is_unbound(*slot),
            Some(Expr::FollowedBy {
                first_bind,
                then_bind,
                ..
            }) => {
                first_bind.is_some_and(|s| env.is_unbound(s))
                    || then_bind.is_some_and(|s| env.is_unbound(s))
            }
            _ => false,
        }
    }

    fn solve_goal(
        &self,
        goal: ExprId,
        goals: &mut Vec<ExprId>,
        env: &mut Env,
        acc: Truth,
        search: &mut Search,
    ) -> Truth {
        let prepared = self.session.prepared;
        match self.expr(goal) {
            Some(Expr::And(items)) => self.solve_all(items, goals, env, acc, search),
            Some(Expr::AtLeast { n, items }) if *n as usize == items.len() => {
                self.solve_all(items, goals, env, acc, search)
            }
            Some(Expr::Or(items)) if prepared.binds(goal) => {
                let mut best = Truth::False;
                for &item in items {
                    goals.push(item);
                    best = best.or(self.solve(goals, env, acc, search));
                    goals.pop();
                    if best == Truth::True || self.limit_hit.get() {
                        break;
                    }
                }
                best
            }
            Some(Expr::Pred {
                pred,
                bind: Some(slot),
            }) if env.is_unbound(*slot) => {
                let outcome = self.session.outcome(*pred);
                let needed = goals.iter().any(|g| prepared.reads(*g, *slot));
                let mut best = Truth::False;
                for item in candidates(&outcome.items) {
                    env.set_slot(*slot, Slot::Item(item, *pred));
                    best = best.or(self.solve(goals, env, acc, search));
                    if best == Truth::True || !needed || self.limit_hit.get() {
                        break;
                    }
                }
                // It holds with nothing to bind (a value that is missing from a key that is not
                // there): the goals that do not read the name are decided without it.
                if outcome.items.is_empty() && outcome.truth == Truth::True && !needed {
                    best = best.or(self.solve(goals, env, acc, search));
                }
                if outcome.items.is_empty() && outcome.truth == Truth::Unknown {
                    let need = outcome.needs.first().cloned().unwrap_or(Need::Limit {
                        limit: "binding".into(),
                    });
                    env.set_slot(*slot, Slot::Unknown(need));
                    best = best.or(self.solve(goals, env, acc.and(Truth::Unknown), search));
                }
                env.set_slot(*slot, Slot::Unbound);
                best
            }
            Some(Expr::FollowedBy {
                first,
                first_bind,
                then,
                then_bind,
                within,
            }) if first_bind.is_some_and(|s| env.is_unbound(s))
                || then_bind.is_some_and(|s| env.is_unbound(s)) =>
            {
                let pairs = self.pairs(*first, *then, *within);
                let needed = goals.iter().any(|g| {
                    first_bind.is_some_and(|s| prepared.reads(*g, s))
                        || then_bind.is_some_and(|s| prepared.reads(*g, s))
                });
                let mut best = Truth::False;
                for (a, b) in pairs {
                    if let Some(s) = first_bind {
                        env.set_slot(*s, Slot::Item(Item::Event(a), *first));
                    }
                    if let Some(s) = then_bind {
                        env.set_slot(*s, Slot::Item(Item::Event(b), *then));
                    }
                    best = best.or(self.solve(goals, env, acc, search));
                    if best == Truth::True || !needed || self.limit_hit.get() {
                        break;
                    }
                }
                if best != Truth::True
                    && self.followed_truth(*first, *then, *within) == Truth::Unknown
                {
                    let need = self.first_need(&[*first, *then]);
                    for s in [first_bind, then_bind].into_iter().flatten() {
                        env.set_slot(*s, Slot::Unknown(need.clone()));
                    }
                    best = best.or(self.solve(goals, env, acc.and(Truth::Unknown), search));
                }
                for s in [first_bind, then_bind].into_iter().flatten() {
                    env.set_slot(*s, Slot::Unbound);
                }
                best
            }
            _ => {
                let value = self.value(goal, env);
                self.solve(goals, env, acc.and(value), search)
            }
        }
    }

    /// Pushes a conjunction's goals in the order they are decided: the conditions that bind
    /// names in written order, each followed by the conditions that read only names bound by
    /// then, so that a choice that cannot work is dropped before the next name is bound.
    /// Conditions that read no unbound name come first.
    fn solve_all(
        &self,
        items: &[ExprId],
        goals: &mut Vec<ExprId>,
        env: &mut Env,
        acc: Truth,
        search: &mut Search,
    ) -> Truth {
        let mark = goals.len();
        let prepared = self.session.prepared;
        let mut bound: Vec<SlotId> = Vec::new();
        let mut order: Vec<ExprId> = Vec::with_capacity(items.len());
        let mut waiting: Vec<ExprId> = items
            .iter()
            .copied()
            .filter(|i| !prepared.binds(*i))
            .collect();
        let ready = |i: &ExprId, bound: &[SlotId]| {
            prepared
                .reads_of(*i)
                .iter()
                .all(|s| !env.is_unbound(*s) || bound.contains(s))
        };
        let take_ready = |bound: &[SlotId], order: &mut Vec<ExprId>, waiting: &mut Vec<ExprId>| {
            waiting.retain(|i| {
                let r = ready(i, bound);
                if r {
                    order.push(*i);
                }
                !r
            });
        };
        take_ready(&bound, &mut order, &mut waiting);
        for item in items.iter().filter(|i| prepared.binds(**i)) {
            order.push(*item);
            self.bound_slots(*item, &mut bound);
            take_ready(&bound, &mut order, &mut waiting);
        }
        order.append(&mut waiting);
        // The stack pops from the end.
        goals.extend(order.iter().rev());
        let result = self.solve(goals, env, acc, search);
        goals.truncate(mark);
        result
    }

    /// The slots a condition binds for the conditions beside it.
    fn bound_slots(&self, id: ExprId, out: &mut Vec<SlotId>) {
        match self.expr(id) {
            Some(Expr::Pred { bind: Some(s), .. }) => out.push(*s),
            Some(Expr::FollowedBy {
                first_bind,
                then_bind,
                ..
            }) => out.extend(first_bind.iter().chain(then_bind)),
            Some(Expr::And(items)) => items.iter().for_each(|i| self.bound_slots(*i, out)),
            Some(Expr::AtLeast { n, items }) if *n as usize == items.len() => {
                items.iter().for_each(|i| self.bound_slots(*i, out));
            }
            _ => {}
        }
    }

    /// The value of a condition under `env`, its own bindings kept inside it.
    pub(crate) fn value(&self, id: ExprId, env: &Env) -> Truth {
        if self.flipped == Some(id) {
            return self.value_of(id, env).not();
        }
        self.value_of(id, env)
    }

    fn value_of(&self, id: ExprId, env: &Env) -> Truth {
        let Some(expr) = self.expr(id) else {
            return Truth::Unknown;
        };
        match expr {
            Expr::Pred { pred, bind } => match bind.map(|s| env.get(s)) {
                Some(Slot::Item(..)) => Truth::True,
                Some(Slot::Unknown(_)) => Truth::Unknown,
                _ => self.session.outcome(*pred).truth,
            },
            Expr::Not(inner) => self.value(*inner, env).not(),
            // A conjunction shares its names among its conditions: search.
            Expr::And(_) if self.session.prepared.binds(id) => self.closed(id, env),
            Expr::AtLeast { n, items }
                if *n as usize == items.len() && self.session.prepared.binds(id) =>
            {
                self.closed(id, env)
            }
            Expr::And(items) => items
                .iter()
                .try_fold(Truth::True, |acc, i| {
                    let v = acc.and(self.value(*i, env));
                    if v == Truth::False { Err(v) } else { Ok(v) }
                })
                .unwrap_or_else(|v| v),
            // The conditions of `or` and `N of` keep their names to themselves.
            Expr::Or(items) => items
                .iter()
                .try_fold(Truth::False, |acc, i| {
                    let v = acc.or(self.value(*i, env));
                    if v == Truth::True { Err(v) } else { Ok(v) }
                })
                .unwrap_or_else(|v| v),
            Expr::AtLeast { n, items } => {
                let values: Vec<Truth> = items.iter().map(|i| self.value(*i, env)).collect();
                at_least(*n, &values)
            }
            Expr::FollowedBy {
                first,
                first_bind,
                then,
                then_bind,
                within,
            } => match (bound_event(env, *first_bind), bound_event(env, *then_bind)) {
                (None, _) | (_, None) => Truth::Unknown,
                (Some(None), Some(None)) => self.followed_truth(*first, *then, *within),
                (Some(a), Some(b)) => Truth::from(
                    self.pairs(*first, *then, *within)
                        .iter()
                        .any(|(x, y)| a.is_none_or(|a| a == *x) && b.is_none_or(|b| b == *y)),
                ),
            },
            Expr::Count {
                pred,
                op,
                n,
                within,
            } => {
                let (count, open) = self.count(*pred, *within);
                count_truth(count, open, *op, *n)
            }
            Expr::Compare { left, op, right } => self.compare(id, left, op, right, env).0,
            Expr::RuleFired(rule) => {
                match self.verdicts.borrow().get(rule.index()).copied().flatten() {
                    Some(VerdictKind::Fired | VerdictKind::Superseded) => Truth::True,
                    Some(VerdictKind::NotEvaluable) | None => Truth::Unknown,
                    Some(_) => Truth::False,
                }
            }
            Expr::Scope { expr, slots } => self.scope(*expr, *slots).0,
        }
    }

    /// A condition whose names are its own, searched under a copy of `env`.
    fn closed(&self, id: ExprId, env: &Env) -> Truth {
        let mut search = Search::default();
        self.solve(&mut vec![id], &mut env.clone(), Truth::True, &mut search)
    }

    /// A named condition with its own bindings: decided once, with the assignment.
    pub(crate) fn scope(&self, expr: ExprId, slots: u32) -> (Truth, Env) {
        if let Some(found) = self.scopes.borrow().get(&expr) {
            return found.clone();
        }
        let mut search = Search::default();
        let mut env = Env::new(slots as usize);
        let truth = self.solve(&mut vec![expr], &mut env, Truth::True, &mut search);
        let result = (truth, search.witness.unwrap_or(env));
        self.scopes.borrow_mut().insert(expr, result.clone());
        result
    }

    /// Compares two values; also returns them for the explanation.
    pub(crate) fn compare(
        &self,
        id: ExprId,
        left: &Value,
        op: &CompareOp,
        right: &Value,
        env: &Env,
    ) -> (Truth, Got, Got) {
        let l = self.session.value(left, env);
        let r = self.session.value(right, env);
        let truth = match (&l, &r) {
            (Got::Unknown(_), _) | (_, Got::Unknown(_)) => Truth::Unknown,
            (Got::Absent(_), _) | (_, Got::Absent(_)) => Truth::False,
            (Got::Value(a), Got::Value(b)) => Truth::from(match op {
                CompareOp::Cmp(op) => match (left, right) {
                    (Value::Const(_), Value::Const(_)) | (_, Value::Const(_)) => {
                        compare(a, *op, b, true)
                    }
                    (Value::Const(_), _) => compare(b, flip(*op), a, true),
                    _ => compare(a, *op, b, false),
                },
                CompareOp::Match(_) => self
                    .session
                    .prepared
                    .expr_matcher(id)
                    .is_some_and(|m| m.value_matches(self.session.graph, a)),
            }),
        };
        (truth, l, r)
    }

    /// The number of events matching `pred` (in the busiest window of `within`), and whether
    /// more may exist that were not collected.
    pub(crate) fn count(&self, pred: PredId, within: Option<u64>) -> (u64, bool) {
        let outcome = self.session.outcome(pred);
        let open = outcome.truth == Truth::Unknown || outcome.open;
        let Some(window) = within else {
            return (outcome.items.len() as u64, open);
        };
        let times: Vec<i64> = outcome
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Event(e) => self.session.snapshot.events().get(*e as usize)?.time,
                _ => None,
            })
            .collect();
        let window = i64::try_from(window).unwrap_or(i64::MAX);
        let mut best = 0usize;
        let mut start = 0usize;
        for (end, t) in times.iter().enumerate() {
            while times
                .get(start)
                .is_some_and(|s| t.saturating_sub(*s) > window)
            {
                start += 1;
            }
            best = best.max(end + 1 - start);
        }
        (best as u64, open)
    }

    /// The events matching a question that have a time, as `(time, index)` in time order.
    fn timed(&self, pred: PredId) -> Vec<(i64, u32)> {
        let events = self.session.snapshot.events();
        event_items(&self.session.outcome(pred).items)
            .filter_map(|e| events.get(e as usize)?.time.map(|t| (t, e)))
            .collect()
    }

    /// Pairs of events (index of the first, index of the then) in order, within the window.
    pub(crate) fn pairs(
        &self,
        first: PredId,
        then: PredId,
        within: Option<u64>,
    ) -> Vec<(u32, u32)> {
        let thens = self.timed(then);
        let window = window(within);
        let mut pairs = Vec::new();
        // Most recent first event first, as for single events.
        for (ta, a) in self.timed(first).into_iter().rev() {
            // Strictly after: a later time, or the same time and a later record.
            let start = thens.partition_point(|&(tb, b)| (tb, b) <= (ta, a));
            for &(tb, b) in thens.iter().skip(start) {
                if tb.saturating_sub(ta) > window {
                    break;
                }
                pairs.push((a, b));
                if pairs.len() as u64 >= self.session.limits.max_steps {
                    return pairs;
                }
            }
        }
        pairs
    }

    pub(crate) fn followed_truth(&self, first: PredId, then: PredId, within: Option<u64>) -> Truth {
        if self.pairs_exist(first, then, within) {
            return Truth::True;
        }
        // A pair may exist among events not collected only if each side may match.
        let a = self.session.outcome(first);
        let b = self.session.outcome(then);
        let possible = |o: &super::session::Outcome| o.truth != Truth::False || o.open;
        let open = |o: &super::session::Outcome| o.truth == Truth::Unknown || o.open;
        if possible(a) && possible(b) && (open(a) || open(b)) {
            Truth::Unknown
        } else {
            Truth::False
        }
    }

    fn pairs_exist(&self, first: PredId, then: PredId, within: Option<u64>) -> bool {
        let thens = self.timed(then);
        let window = window(within);
        self.timed(first).into_iter().any(|(ta, a)| {
            let start = thens.partition_point(|&(tb, b)| (tb, b) <= (ta, a));
            thens
                .get(start)
                .is_some_and(|&(tb, _)| tb.saturating_sub(ta) <= window)
        })
    }

    fn first_need(&self, preds: &[PredId]) -> Need {
        preds
            .iter()
            .flat_map(|p| self.session.outcome(*p).needs.first().cloned())
            .next()
            .unwrap_or(Need::Limit {
                limit: "binding".into(),
            })
    }
}

/// A window in milliseconds as a time difference; none is unbounded.
fn window(within: Option<u64>) -> i64 {
    within.map_or(i64::MAX, |w| i64::try_from(w).unwrap_or(i64::MAX))
}

/// The event a slot holds: `Some(Some(e))`, `Some(None)` when unbound, `None` when unknown.
pub(crate) fn bound_event(env: &Env, slot: Option<SlotId>) -> Option<Option<u32>> {
    match slot.map(|s| env.get(s)) {
        Some(Slot::Item(Item::Event(e), _)) => Some(Some(*e)),
        Some(Slot::Unknown(_)) => None,
        _ => Some(None),
    }
}

fn event_items(items: &[Item]) -> impl Iterator<Item = u32> + '_ {
    items.iter().filter_map(|i| match i {
        Item::Event(e) => Some(*e),
        _ => None,
    })
}

/// The order in which a binding tries items: events most recent first, others as listed.
pub(crate) fn candidates(items: &[Item]) -> Vec<Item> {
    if matches!(items.first(), Some(Item::Event(_))) {
        items.iter().rev().copied().collect()
    } else {
        items.to_vec()
    }
}

/// `a OP b` is `b FLIP(OP) a`.
fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        other => other,
    }
}

/// At least `n` of the values hold: known when enough hold, or too few could.
pub(crate) fn at_least(n: u32, values: &[Truth]) -> Truth {
    let yes = values.iter().filter(|v| **v == Truth::True).count();
    let maybe = values.iter().filter(|v| **v == Truth::Unknown).count();
    let n = n as usize;
    if yes >= n {
        Truth::True
    } else if yes + maybe >= n {
        Truth::Unknown
    } else {
        Truth::False
    }
}

/// A count compared, when the true count is `count`, or at least `count` if `open`.
pub(crate) fn count_truth(count: u64, open: bool, op: CmpOp, n: u64) -> Truth {
    let holds = |c: u64| compare(&Val::Number(c), op, &Val::Number(n), true);
    if !open {
        return Truth::from(holds(count));
    }
    // The count is somewhere in count..; decide if every such count agrees.
    let at_low = holds(count);
    let always = match op {
        CmpOp::Ge | CmpOp::Gt => at_low,
        CmpOp::Ne => count > n && at_low,
        _ => false,
    };
    let never = match op {
        CmpOp::Lt => count >= n,
        CmpOp::Le | CmpOp::Eq => count > n,
        _ => false,
    };
    if always {
        Truth::True
    } else if never {
        Truth::False
    } else {
        Truth::Unknown
    }
}
