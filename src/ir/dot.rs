//! The rule graph as Graphviz DOT: rules, the condition nodes they share, and the predicates.

use std::fmt::Write as _;

use super::{
    CompareOp, Const, Expr, ExprId, FileTest, Predicate, Property, RuleGraph, ServiceTest,
    TextMatch, Value, ValueTest, VersionRange,
};

fn join_label(what: &str, bind: Option<String>) -> String {
    match bind {
        Some(b) => format!("{what} {b}"),
        None => what.to_string(),
    }
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

fn range(r: &VersionRange) -> String {
    let mut parts = Vec::new();
    if let (Some((lo, true)), Some((hi, true))) = (&r.lower, &r.upper)
        && lo == hi
    {
        return format!(" {lo}");
    }
    if let Some((lo, inc)) = &r.lower {
        parts.push(format!("{} {lo}", if *inc { ">=" } else { ">" }));
    }
    if let Some((hi, inc)) = &r.upper {
        parts.push(format!("{} {hi}", if *inc { "<=" } else { "<" }));
    }
    if let Some(ex) = &r.except {
        parts.push(format!("!= {ex}"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" {}", parts.join(", "))
    }
}

fn text_match(graph: &RuleGraph, m: &TextMatch) -> String {
    match m {
        TextMatch::Equals(t) => format!("== \"{t}\""),
        TextMatch::Contains(t) => format!("contains \"{t}\""),
        TextMatch::Like(t) => format!("like \"{t}\""),
        TextMatch::Regex(id) => format!(
            "~ \"{}\"",
            graph.regex(*id).map_or("?", |r| r.pattern.as_str())
        ),
    }
}

fn constant(c: &Const) -> String {
    match c {
        Const::Text(t) => format!("\"{t}\""),
        Const::Number(n) => n.to_string(),
        Const::Version(v) => v.to_string(),
        Const::Bool(b) => b.to_string(),
        Const::Duration(d) => duration(*d),
    }
}

pub(crate) fn compare_op(graph: &RuleGraph, op: &CompareOp) -> String {
    match op {
        CompareOp::Cmp(c) => c.as_str().to_string(),
        CompareOp::Match(m) => text_match(graph, m),
    }
}

/// An operator and its operand: a match carries its own pattern.
fn compared(graph: &RuleGraph, op: &CompareOp, c: &Const) -> String {
    match op {
        CompareOp::Cmp(cmp) => format!("{} {}", cmp.as_str(), constant(c)),
        CompareOp::Match(m) => text_match(graph, m),
    }
}

/// A predicate in words close to how it is written.
pub fn describe(graph: &RuleGraph, pred: &Predicate) -> String {
    match pred {
        Predicate::Event(f) => {
            let mut s = String::from("event");
            if let Some(log) = &f.log {
                let _ = write!(s, " {log}");
            }
            if let Some(src) = &f.source {
                let _ = write!(s, " source \"{src}\"");
            }
            if !f.ids.is_empty() {
                let ids: Vec<String> = f
                    .ids
                    .iter()
                    .map(|(a, b)| {
                        if a == b {
                            a.to_string()
                        } else {
                            format!("{a}..={b}")
                        }
                    })
                    .collect();
                let _ = write!(s, " id {}", ids.join(", "));
            }
            if let Some(level) = f.level {
                let _ = write!(s, " level {}", level.as_str());
            }
            if let Some(m) = &f.message {
                let _ = write!(s, " message {}", text_match(graph, m));
            }
            for d in &f.data {
                let field = match &d.field {
                    Property::Data(n) => n.to_string(),
                    Property::DataNamed(n) => format!("\"{n}\""),
                    other => property_suffix(other),
                };
                let _ = write!(s, " data[{field}] {}", compared(graph, &d.op, &d.value));
            }
            for b in &f.binary {
                let _ = write!(
                    s,
                    " binary[{}] {}-byte {} {:#x}",
                    b.offset,
                    b.width,
                    b.op.as_str(),
                    b.value
                );
            }
            s
        }
        Predicate::RegistryKey { key, exists } => {
            format!(
                "registry \"{key}\" {}",
                if *exists { "exists" } else { "missing" }
            )
        }
        Predicate::RegistryValue {
            key,
            name,
            ty,
            test,
        } => {
            let ty = ty.map(|t| format!(" {}", t.as_str())).unwrap_or_default();
            let test = match test {
                ValueTest::Exists => String::new(),
                ValueTest::Missing => " missing".to_string(),
                ValueTest::Count(op, n) => format!(" count {} {n}", op.as_str()),
                ValueTest::Compare(op, c) => format!(" {}", compared(graph, op, c)),
            };
            format!("registry \"{key}\" value \"{name}\"{ty}{test}")
        }
        Predicate::Service { name, test } => {
            let test = match test {
                ServiceTest::Present => "present".to_string(),
                ServiceTest::Absent => "absent".to_string(),
                ServiceTest::State(s) => format!("{s:?}").to_lowercase(),
                ServiceTest::Start(s) => format!("start {s:?}").to_lowercase(),
                ServiceTest::Account(t) => format!(
                    "account {}{}",
                    if t.negated { "not " } else { "" },
                    text_match(graph, &t.matches)
                ),
                ServiceTest::Image(t) => format!(
                    "image {}{}",
                    if t.negated { "not " } else { "" },
                    text_match(graph, &t.matches)
                ),
                ServiceTest::DependsOn(d) => format!("depends on \"{d}\""),
            };
            format!("service \"{name}\" {test}")
        }
        Predicate::Product { product, versions } => format!(
            "product \"{}\"{}",
            graph
                .products
                .get(product.index())
                .map_or("?", |p| p.name.as_str()),
            range(versions)
        ),
        Predicate::Os { os, versions } => format!(
            "os \"{}\"{}",
            graph.oses.get(os.index()).map_or("?", |p| p.name.as_str()),
            range(versions)
        ),
        Predicate::Hotfix(h) => format!("hotfix {h}"),
        Predicate::File { path, test } => match test {
            FileTest::Exists => format!("file \"{path}\" exists"),
            FileTest::Missing => format!("file \"{path}\" missing"),
            FileTest::Version(r) => format!("file \"{path}\" version{}", range(r)),
        },
        Predicate::Component { name, present } => {
            format!(
                "component \"{name}\" {}",
                if *present { "present" } else { "absent" }
            )
        }
    }
}

fn value(graph: &RuleGraph, v: &Value) -> String {
    value_named(graph, v, &[])
}

/// A value as the rules write it, with binding slots named from `names` (by slot index).
pub(crate) fn value_named(graph: &RuleGraph, v: &Value, names: &[String]) -> String {
    match v {
        Value::Const(c) => constant(c),
        Value::Fact(f) => format!(
            "fact {}",
            graph.facts.get(f.index()).map_or("?", |f| f.name.as_str())
        ),
        Value::Binding { slot, property } => match names.get(slot.index()) {
            Some(name) => format!("{name}{}", property_suffix(property)),
            None => format!("${}{}", slot.0, property_suffix(property)),
        },
        Value::Number(inner) => format!("number({})", value_named(graph, inner, names)),
    }
}

/// A duration in milliseconds, in the largest unit that divides it (`10m`, `1h`).
pub fn duration(ms: u64) -> String {
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms >= size && ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// The expressions reachable from the rules (flattening can leave nodes no rule uses).
fn reachable(graph: &RuleGraph) -> Vec<bool> {
    let mut seen = vec![false; graph.exprs.len()];
    let mut stack: Vec<ExprId> = Vec::new();
    for rule in &graph.rules {
        stack.push(rule.when);
        stack.extend(rule.applies);
        stack.extend(rule.fixes.iter().filter_map(|f| f.verify));
    }
    while let Some(id) = stack.pop() {
        let Some(flag) = seen.get_mut(id.index()) else {
            continue;
        };
        if *flag {
            continue;
        }
        *flag = true;
        match graph.exprs.get(id.index()) {
            Some(Expr::And(items) | Expr::Or(items) | Expr::AtLeast { items, .. }) => {
                stack.extend(items)
            }
            Some(Expr::Not(e) | Expr::Scope { expr: e, .. }) => stack.push(*e),
            _ => {}
        }
    }
    seen
}

fn property_suffix(p: &Property) -> String {
    match p {
        Property::Main => String::new(),
        Property::Field(f) => format!(".{f}"),
        Property::Data(n) => format!(".data.{n}"),
        Property::DataNamed(n) => format!(".data.{n}"),
        Property::Capture(n) => format!(".{n}"),
        Property::CaptureNamed(n) => format!(".{n}"),
    }
}

/// The DOT id an edge to `id` points at: a predicate reference is drawn as an edge straight to
/// the predicate, labelled with its binding.
fn target(graph: &RuleGraph, id: ExprId) -> (String, Option<String>) {
    match graph.exprs.get(id.index()) {
        Some(Expr::Pred { pred, bind }) => {
            (format!("p{}", pred.0), bind.map(|b| format!("as ${}", b.0)))
        }
        _ => (format!("e{}", id.0), None),
    }
}

fn edge(out: &mut String, from: &str, to: &str, label: Option<&str>, style: &str) {
    let mut attrs = Vec::new();
    if let Some(l) = label {
        attrs.push(format!("label=\"{}\"", escape(l)));
    }
    if !style.is_empty() {
        attrs.push(style.to_string());
    }
    if attrs.is_empty() {
        let _ = writeln!(out, "  {from} -> {to};");
    } else {
        let _ = writeln!(out, "  {from} -> {to} [{}];", attrs.join(", "));
    }
}

/// The graph as DOT, deterministic for a given graph.
pub fn to_dot(graph: &RuleGraph) -> String {
    let mut out = String::from(
        "digraph kbrules {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n",
    );
    for (i, rule) in graph.rules.iter().enumerate() {
        let _ = writeln!(
            out,
            "  r{i} [shape=box, style=bold, label=\"{}\\n{}\"];",
            escape(&rule.id),
            escape(&rule.title)
        );
        let from = format!("r{i}");
        if let Some(a) = rule.applies {
            let (to, bind) = target(graph, a);
            edge(&mut out, &from, &to, Some(&join_label("applies", bind)), "");
        }
        let (to, bind) = target(graph, rule.when);
        edge(&mut out, &from, &to, Some(&join_label("when", bind)), "");
        for fix in &rule.fixes {
            if let Some(v) = fix.verify {
                let (to, bind) = target(graph, v);
                edge(
                    &mut out,
                    &from,
                    &to,
                    Some(&join_label("verify", bind)),
                    "style=dotted",
                );
            }
        }
        for s in &rule.supersedes {
            edge(
                &mut out,
                &from,
                &format!("r{}", s.0),
                Some("supersedes"),
                "style=dashed",
            );
        }
    }
    let live = reachable(graph);
    for (i, expr) in graph.exprs.iter().enumerate() {
        if !live.get(i).copied().unwrap_or(false) {
            continue;
        }
        let exprs = |items: &[ExprId]| items.iter().map(|&e| target(graph, e)).collect::<Vec<_>>();
        let slot = |b: &Option<super::SlotId>| b.map(|b| format!("as ${}", b.0));
        let (label, children): (String, Vec<(String, Option<String>)>) = match expr {
            Expr::Pred { .. } => continue,
            Expr::And(items) => ("and".into(), exprs(items)),
            Expr::Or(items) => ("or".into(), exprs(items)),
            Expr::Not(e) => ("not".into(), exprs(&[*e])),
            Expr::AtLeast { n, items } => (format!("{n} of"), exprs(items)),
            Expr::FollowedBy {
                first,
                first_bind,
                then,
                then_bind,
                within,
            } => (
                match within {
                    Some(ms) => format!("followed by within {}", duration(*ms)),
                    None => "followed by".into(),
                },
                vec![
                    (format!("p{}", first.0), slot(first_bind)),
                    (format!("p{}", then.0), slot(then_bind)),
                ],
            ),
            Expr::Count {
                pred,
                op,
                n,
                within,
            } => (
                format!(
                    "count {} {n}{}",
                    op.as_str(),
                    within
                        .map(|w| format!(" within {}", duration(w)))
                        .unwrap_or_default()
                ),
                vec![(format!("p{}", pred.0), None)],
            ),
            Expr::Compare { left, op, right } => (
                match op {
                    // A match carries its own pattern.
                    CompareOp::Match(_) => {
                        format!("{} {}", value(graph, left), compare_op(graph, op))
                    }
                    CompareOp::Cmp(_) => format!(
                        "{} {} {}",
                        value(graph, left),
                        compare_op(graph, op),
                        value(graph, right)
                    ),
                },
                vec![],
            ),
            Expr::RuleFired(r) => ("fired".into(), vec![(format!("r{}", r.0), None)]),
            Expr::Scope { expr, slots } => (
                format!(
                    "scope ({slots} binding{})",
                    if *slots == 1 { "" } else { "s" }
                ),
                exprs(&[*expr]),
            ),
        };
        let _ = writeln!(out, "  e{i} [shape=ellipse, label=\"{}\"];", escape(&label));
        for (to, bind) in children {
            edge(&mut out, &format!("e{i}"), &to, bind.as_deref(), "");
        }
    }
    for (i, pred) in graph.preds.iter().enumerate() {
        let _ = writeln!(
            out,
            "  p{i} [shape=note, label=\"{}\"];",
            escape(&describe(graph, pred))
        );
    }
    out.push_str("}\n");
    out
}
