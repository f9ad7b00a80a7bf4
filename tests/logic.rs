//! Property tests of the evaluator's three-valued logic.
//!
//! Random condition trees (`and`, `or`, `not`, `any of`, `all of`, `N of`) over leaves that ask
//! about services and registry values, some binding a name and comparing it, are evaluated
//! against random snapshots in which each leaf's data is present, missing from collected data,
//! or not collected. The properties:
//!
//! - the verdict is what a Kleene evaluation computed here, independently, gives;
//! - `not not X` and `X`, `not (A and B)` and `not A or not B`, `not (A or B)` and
//!   `not A and not B`, `any of (A, B)` and `A or B` get the same verdict;
//! - refinement: a rule that fired or did not fire keeps its verdict when the data that was not
//!   collected is collected, whatever it holds;
//! - every verdict explains itself (a failed condition, or what to collect), and nothing panics.
//!
//! The rule text uses other letter cases than the snapshot (`Svc0` and `SVC0`, `HKLM\Software`
//! and `HKEY_LOCAL_MACHINE\SOFTWARE`), as Windows names compare without case.
//!
//! The runs are deterministic: a fixed seed, and no failure files.

// Test helpers fail loudly on a broken fixture, as the tests themselves may (clippy.toml).
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fmt::Write as _;

use kbrules::eval::VerdictKind;
use kbrules::{Report, RuleSet, Snapshot, Sources};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

/// How many services and registry keys a world has.
const SERVICES: usize = 3;
const KEYS: usize = 3;

/// Kleene truth, kept apart from the crate's own so that the reference is independent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum K {
    F,
    U,
    T,
}

impl K {
    fn from(b: bool) -> K {
        if b { K::T } else { K::F }
    }

    fn not(self) -> K {
        match self {
            K::F => K::T,
            K::U => K::U,
            K::T => K::F,
        }
    }

    fn and(self, other: K) -> K {
        match (self, other) {
            (K::F, _) | (_, K::F) => K::F,
            (K::T, K::T) => K::T,
            _ => K::U,
        }
    }

    fn or(self, other: K) -> K {
        self.not().and(other.not()).not()
    }

    fn verdict(self) -> VerdictKind {
        match self {
            K::T => VerdictKind::Fired,
            K::F => VerdictKind::NotFired,
            K::U => VerdictKind::NotEvaluable,
        }
    }
}

/// A service as the snapshot gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Svc {
    /// Not in the list.
    Unlisted,
    /// Listed; running, stopped, or with no state given.
    Listed(Option<bool>),
}

/// A registry key `HKLM\Software\Kb\KeyN` and its value `V`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    /// Not listed, outside every collected subtree.
    NotCollected,
    /// Not listed, inside a collected subtree: it does not exist.
    Absent,
    /// Listed, without the value `V`.
    NoValue,
    /// Listed, with `V` a dword.
    Value(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct World {
    services_collected: bool,
    services: Vec<Svc>,
    keys: Vec<Key>,
}

#[derive(Debug, Clone)]
enum Leaf {
    Present(usize),
    Absent(usize),
    Running(usize),
    /// `(service "SvcN" as b and b == "running")`
    BoundRunning(usize),
    ValueEq(usize, u32),
    ValueMissing(usize),
    /// `(registry "…KeyN" value "V" dword as b and b > M)`
    BoundValueGt(usize, u32),
    /// `(registry "…KeyN" value "V" dword as a and registry "…KeyM" value "V" dword as b
    /// and a == b)`: two bindings compared with each other.
    SameValue(usize, usize),
}

#[derive(Debug, Clone)]
enum Cond {
    Leaf(Leaf),
    Not(Box<Cond>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    AnyOf(Vec<Cond>),
    AllOf(Vec<Cond>),
    AtLeast(u32, Vec<Cond>),
}

// The reference evaluation.

fn running(w: &World, i: usize) -> K {
    match w.services[i] {
        Svc::Listed(Some(r)) => K::from(r),
        Svc::Listed(None) => K::U,
        Svc::Unlisted if w.services_collected => K::F,
        Svc::Unlisted => K::U,
    }
}

fn leaf(w: &World, l: &Leaf) -> K {
    let listed = |i: usize| match w.services[i] {
        Svc::Listed(_) => K::T,
        Svc::Unlisted if w.services_collected => K::F,
        Svc::Unlisted => K::U,
    };
    let value = |k: usize, test: &dyn Fn(u32) -> bool, missing: bool| match w.keys[k] {
        Key::NotCollected => K::U,
        Key::Absent | Key::NoValue => K::from(missing),
        Key::Value(n) => K::from(test(n)),
    };
    match *l {
        Leaf::Present(i) => listed(i),
        Leaf::Absent(i) => listed(i).not(),
        Leaf::Running(i) | Leaf::BoundRunning(i) => running(w, i),
        Leaf::ValueEq(k, n) => value(k, &|v| v == n, false),
        Leaf::ValueMissing(k) => value(k, &|_| false, true),
        Leaf::BoundValueGt(k, n) => value(k, &|v| v > n, false),
        Leaf::SameValue(a, b) => match (w.keys[a], w.keys[b]) {
            (Key::Value(x), Key::Value(y)) => K::from(x == y),
            (Key::Absent | Key::NoValue, _) | (_, Key::Absent | Key::NoValue) => K::F,
            _ => K::U,
        },
    }
}

fn eval(w: &World, c: &Cond) -> K {
    match c {
        Cond::Leaf(l) => leaf(w, l),
        Cond::Not(inner) => eval(w, inner).not(),
        Cond::And(items) | Cond::AllOf(items) => {
            items.iter().fold(K::T, |acc, i| acc.and(eval(w, i)))
        }
        Cond::Or(items) | Cond::AnyOf(items) => {
            items.iter().fold(K::F, |acc, i| acc.or(eval(w, i)))
        }
        Cond::AtLeast(n, items) => {
            let values: Vec<K> = items.iter().map(|i| eval(w, i)).collect();
            let yes = values.iter().filter(|v| **v == K::T).count();
            let maybe = values.iter().filter(|v| **v == K::U).count();
            let n = *n as usize;
            if yes >= n {
                K::T
            } else if yes + maybe >= n {
                K::U
            } else {
                K::F
            }
        }
    }
}

// Rules and snapshots as text.

fn key_in_rule(k: usize) -> String {
    format!("HKLM\\Software\\Kb\\Key{k}")
}

/// A condition as rule text; every composite part is parenthesised, and each binding gets a
/// fresh name (a name is bound once per rule).
fn render(c: &Cond, names: &mut u32) -> String {
    let mut fresh = || {
        *names += 1;
        format!("b{names}")
    };
    let list = |items: &[Cond], names: &mut u32| {
        items
            .iter()
            .map(|i| render(i, names))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let joined = |items: &[Cond], op: &str, names: &mut u32| {
        items
            .iter()
            .map(|i| format!("({})", render(i, names)))
            .collect::<Vec<_>>()
            .join(op)
    };
    match c {
        Cond::Leaf(l) => match *l {
            Leaf::Present(i) => format!("service \"Svc{i}\" present"),
            Leaf::Absent(i) => format!("service \"svc{i}\" absent"),
            Leaf::Running(i) => format!("service \"Svc{i}\" running"),
            Leaf::BoundRunning(i) => {
                let b = fresh();
                format!("(service \"Svc{i}\" as {b} and {b} == \"running\")")
            }
            Leaf::ValueEq(k, n) => {
                format!("registry \"{}\" value \"V\" dword == {n}", key_in_rule(k))
            }
            Leaf::ValueMissing(k) => format!("registry \"{}\" value \"v\" missing", key_in_rule(k)),
            Leaf::BoundValueGt(k, n) => {
                let b = fresh();
                format!(
                    "(registry \"{}\" value \"V\" dword as {b} and {b} > {n})",
                    key_in_rule(k)
                )
            }
            Leaf::SameValue(a, b) => {
                let (x, y) = (fresh(), fresh());
                format!(
                    "(registry \"{}\" value \"V\" dword as {x} and registry \"{}\" value \"V\" \
                     dword as {y} and {x} == {y})",
                    key_in_rule(a),
                    key_in_rule(b)
                )
            }
        },
        Cond::Not(inner) => format!("not ({})", render(inner, names)),
        Cond::And(items) => joined(items, " and ", names),
        Cond::Or(items) => joined(items, " or ", names),
        Cond::AnyOf(items) => format!("any of ({})", list(items, names)),
        Cond::AllOf(items) => format!("all of ({})", list(items, names)),
        Cond::AtLeast(n, items) => format!("{n} of ({})", list(items, names)),
    }
}

/// Rules `R0`, `R1`, … with these conditions.
fn rules(conditions: &[Cond]) -> RuleSet {
    let mut text = String::new();
    for (i, c) in conditions.iter().enumerate() {
        let mut names = 0;
        let _ = writeln!(
            text,
            "rule R{i} {{\n    title \"generated\"\n    when {}\n    diagnose \"held\"\n}}\n",
            render(c, &mut names)
        );
    }
    let mut sources = Sources::new();
    sources.add("generated.kbr", text.clone());
    RuleSet::compile(&sources).unwrap_or_else(|diagnostics| {
        let codes: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
        panic!(
            "generated rules do not compile:\n{text}\n{}",
            codes.join("\n")
        )
    })
}

/// The world as a JSON snapshot, in other letter cases than the rules use.
fn snapshot_json(w: &World) -> String {
    let services: Vec<String> = w
        .services
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            Svc::Unlisted => None,
            Svc::Listed(None) => Some(format!("{{ \"name\": \"SVC{i}\" }}")),
            Svc::Listed(Some(r)) => Some(format!(
                "{{ \"name\": \"SVC{i}\", \"state\": \"{}\" }}",
                if *r { "running" } else { "stopped" }
            )),
        })
        .collect();
    let mut keys = Vec::new();
    let mut collected = Vec::new();
    for (k, key) in w.keys.iter().enumerate() {
        let path = format!("HKEY_LOCAL_MACHINE\\\\SOFTWARE\\\\KB\\\\KEY{k}");
        match key {
            Key::NotCollected => {}
            Key::Absent => collected.push(format!("\"{path}\"")),
            Key::NoValue => keys.push(format!(
                "\"{path}\": {{ \"Other\": {{ \"type\": \"REG_SZ\", \"data\": \"x\" }} }}"
            )),
            Key::Value(n) => keys.push(format!(
                "\"{path}\": {{ \"v\": {{ \"type\": \"REG_DWORD\", \"data\": {n} }} }}"
            )),
        }
    }
    format!(
        "{{\n  \"kbrules_snapshot\": 1,\n  \"services\": [{}],\n  \"registry\": {{ {} }},\n  \
         \"collected\": {{ \"services\": {}, \"registry\": [{}] }}\n}}",
        services.join(", "),
        keys.join(", "),
        w.services_collected,
        collected.join(", ")
    )
}

fn evaluate(rules: &RuleSet, w: &World) -> Report {
    let json = snapshot_json(w);
    let snapshot = Snapshot::from_json(&json, "generated.json")
        .unwrap_or_else(|d| panic!("generated snapshot does not load: {d}\n{json}"));
    rules.evaluate(&snapshot)
}

fn verdict(report: &Report, rule: usize) -> VerdictKind {
    report
        .verdict(&format!("R{rule}"))
        .unwrap_or_else(|| panic!("no verdict for R{rule}"))
        .verdict
}

/// Every verdict says why: what failed, or what to collect.
fn check_explained(report: &Report) -> Result<(), TestCaseError> {
    for v in &report.verdicts {
        match v.verdict {
            VerdictKind::Fired => prop_assert_eq!(v.diagnosis.as_deref(), Some("held")),
            VerdictKind::NotFired => {
                prop_assert!(
                    v.failed.is_some(),
                    "{} did not fire, but no condition failed",
                    v.rule
                );
            }
            VerdictKind::NotEvaluable => {
                prop_assert!(
                    !v.needs.is_empty(),
                    "{} is not evaluable, but needs nothing",
                    v.rule
                );
            }
            other => prop_assert!(false, "{} is {other:?}", v.rule),
        }
    }
    Ok(())
}

// Generators.

fn svc() -> impl Strategy<Value = Svc> {
    prop_oneof![
        Just(Svc::Unlisted),
        Just(Svc::Listed(None)),
        Just(Svc::Listed(Some(true))),
        Just(Svc::Listed(Some(false))),
    ]
}

fn key() -> impl Strategy<Value = Key> {
    prop_oneof![
        Just(Key::NotCollected),
        Just(Key::Absent),
        Just(Key::NoValue),
        (0u32..3).prop_map(Key::Value),
    ]
}

fn world() -> impl Strategy<Value = World> {
    (
        any::<bool>(),
        prop::collection::vec(svc(), SERVICES),
        prop::collection::vec(key(), KEYS),
    )
        .prop_map(|(services_collected, services, keys)| World {
            services_collected,
            services,
            keys,
        })
}

fn leaf_strategy() -> impl Strategy<Value = Leaf> {
    let s = 0..SERVICES;
    let k = 0..KEYS;
    prop_oneof![
        s.clone().prop_map(Leaf::Present),
        s.clone().prop_map(Leaf::Absent),
        s.clone().prop_map(Leaf::Running),
        s.prop_map(Leaf::BoundRunning),
        (k.clone(), 0u32..3).prop_map(|(k, n)| Leaf::ValueEq(k, n)),
        k.clone().prop_map(Leaf::ValueMissing),
        (k.clone(), 0u32..3).prop_map(|(k, n)| Leaf::BoundValueGt(k, n)),
        (k.clone(), k).prop_map(|(a, b)| Leaf::SameValue(a, b)),
    ]
}

fn cond() -> impl Strategy<Value = Cond> {
    leaf_strategy()
        .prop_map(Cond::Leaf)
        .prop_recursive(3, 24, 3, |inner| {
            let items = prop::collection::vec(inner.clone(), 2..=3);
            prop_oneof![
                inner.prop_map(|c| Cond::Not(Box::new(c))),
                items.clone().prop_map(Cond::And),
                items.clone().prop_map(Cond::Or),
                items.clone().prop_map(Cond::AnyOf),
                items.clone().prop_map(Cond::AllOf),
                items.prop_flat_map(|items| {
                    let len = u32::try_from(items.len()).unwrap();
                    (1..=len).prop_map(move |n| Cond::AtLeast(n, items.clone()))
                }),
            ]
        })
}

/// A world with what was not collected filled in: `fill` gives the choices, used only where
/// the original world has none.
fn refine(w: &World, fill: &World) -> World {
    let services = w
        .services
        .iter()
        .zip(&fill.services)
        .map(|(s, f)| match (s, w.services_collected) {
            // Listed without a state: the state is collected now.
            (Svc::Listed(None), _) => match f {
                Svc::Listed(Some(r)) => Svc::Listed(Some(*r)),
                _ => Svc::Listed(Some(false)),
            },
            // Not listed, and the list was partial: now we know whether it is there.
            (Svc::Unlisted, false) => match f {
                Svc::Listed(_) => Svc::Listed(Some(matches!(f, Svc::Listed(Some(true))))),
                Svc::Unlisted => Svc::Unlisted,
            },
            (s, _) => *s,
        })
        .collect();
    let keys = w
        .keys
        .iter()
        .zip(&fill.keys)
        .map(|(k, f)| match (k, f) {
            (Key::NotCollected, Key::NotCollected) => Key::Absent,
            (Key::NotCollected, f) => *f,
            (k, _) => *k,
        })
        .collect();
    World {
        services_collected: true,
        services,
        keys,
    }
}

/// A fixed seed and no failure files, so that every run tries the same cases.
fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0x6b62_7275_6c65_7301),
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config(160))]

    /// The verdict is the Kleene value of the condition, and it explains itself.
    #[test]
    fn verdicts_follow_kleene_logic(
        conditions in prop::collection::vec(cond(), 1..=4),
        w in world(),
    ) {
        let rules = rules(&conditions);
        let report = evaluate(&rules, &w);
        check_explained(&report)?;
        for (i, c) in conditions.iter().enumerate() {
            let mut names = 0;
            prop_assert_eq!(
                verdict(&report, i),
                eval(&w, c).verdict(),
                "R{}: {}\n{}",
                i,
                render(c, &mut names),
                snapshot_json(&w)
            );
        }
    }

    /// A decided verdict stays decided when more is collected.
    #[test]
    fn collecting_more_never_changes_a_decided_verdict(
        conditions in prop::collection::vec(cond(), 1..=4),
        w in world(),
        fill in world(),
    ) {
        let rules = rules(&conditions);
        let before = evaluate(&rules, &w);
        let refined = refine(&w, &fill);
        let after = evaluate(&rules, &refined);
        check_explained(&after)?;
        for (i, c) in conditions.iter().enumerate() {
            let (b, a) = (verdict(&before, i), verdict(&after, i));
            // Once everything is collected, nothing is unknown.
            prop_assert_ne!(a, VerdictKind::NotEvaluable, "R{} after refinement", i);
            if b != VerdictKind::NotEvaluable {
                let mut names = 0;
                prop_assert_eq!(
                    b,
                    a,
                    "R{}: {}\nbefore:\n{}\nafter:\n{}",
                    i,
                    render(c, &mut names),
                    snapshot_json(&w),
                    snapshot_json(&refined)
                );
            }
        }
    }
}

proptest! {
    // Fourteen rules a case, each over two random trees: fewer cases.
    #![proptest_config(config(48))]

    /// Double negation, De Morgan, and `any of` / `all of` as `or` / `and`.
    #[test]
    fn equivalent_conditions_agree(a in cond(), b in cond(), w in world()) {
        let not = |c: Cond| Cond::Not(Box::new(c));
        let pairs = [
            (a.clone(), not(not(a.clone()))),
            (
                not(Cond::And(vec![a.clone(), b.clone()])),
                Cond::Or(vec![not(a.clone()), not(b.clone())]),
            ),
            (
                not(Cond::Or(vec![a.clone(), b.clone()])),
                Cond::And(vec![not(a.clone()), not(b.clone())]),
            ),
            (Cond::AnyOf(vec![a.clone(), b.clone()]), Cond::Or(vec![a.clone(), b.clone()])),
            (Cond::AllOf(vec![a.clone(), b.clone()]), Cond::And(vec![b.clone(), a.clone()])),
            (Cond::AtLeast(2, vec![a.clone(), b.clone()]), Cond::And(vec![a.clone(), b.clone()])),
            (Cond::AtLeast(1, vec![a.clone(), b.clone()]), Cond::Or(vec![b, a])),
        ];
        let conditions: Vec<Cond> = pairs.iter().flat_map(|(x, y)| [x.clone(), y.clone()]).collect();
        let rules = rules(&conditions);
        let report = evaluate(&rules, &w);
        check_explained(&report)?;
        for (p, pair) in pairs.iter().enumerate() {
            let (x, y) = (2 * p, 2 * p + 1);
            prop_assert_eq!(
                verdict(&report, x),
                verdict(&report, y),
                "R{} and R{} differ: {:?}\n{}",
                x,
                y,
                pair,
                snapshot_json(&w)
            );
        }
    }
}

/// The reference itself: the Kleene tables, so that a wrong reference cannot pass for a right
/// evaluator.
#[test]
fn reference_tables() {
    use K::{F, T, U};
    assert_eq!(F.and(U), F);
    assert_eq!(U.and(T), U);
    assert_eq!(T.or(U), T);
    assert_eq!(F.or(U), U);
    assert_eq!(U.not(), U);
    let w = World {
        services_collected: false,
        services: vec![Svc::Listed(Some(true)), Svc::Unlisted, Svc::Listed(None)],
        keys: vec![Key::Value(2), Key::NotCollected, Key::Absent],
    };
    assert_eq!(leaf(&w, &Leaf::Present(0)), T);
    assert_eq!(leaf(&w, &Leaf::Absent(1)), U);
    assert_eq!(leaf(&w, &Leaf::Running(2)), U);
    assert_eq!(leaf(&w, &Leaf::ValueEq(0, 2)), T);
    assert_eq!(leaf(&w, &Leaf::ValueMissing(1)), U);
    assert_eq!(leaf(&w, &Leaf::ValueMissing(2)), T);
    let two_of = Cond::AtLeast(
        2,
        vec![
            Cond::Leaf(Leaf::Present(0)),
            Cond::Leaf(Leaf::Absent(1)),
            Cond::Leaf(Leaf::ValueEq(2, 0)),
        ],
    );
    assert_eq!(eval(&w, &two_of), U);
}
