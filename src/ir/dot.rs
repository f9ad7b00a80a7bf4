//! The rule graph as Graphviz DOT: rules, the condition nodes they share, and the predicates.

use std::fmt::Write as _;

use super::{CompareOp, Const, Expr, FileTest, Predicate, RuleGraph, ServiceTest, TextMatch, Value, ValueTest, VersionRange};

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
        TextMatch::Regex(id) => format!("~ \"{}\"", graph.regex(*id).map_or("?", |r| r.pattern.as_str())),
    }
}

fn constant(c: &Const) -> String {
    match c {
        Const::Text(t) => format!("\"{t}\""),
        Const::Number(n) => n.to_string(),
        Const::Version(v) => v.to_string(),
        Const::Bool(b) => b.to_string(),
        Const::Duration(d) => format!("{d}ms"),
    }
}

fn compare_op(graph: &RuleGraph, op: &CompareOp) -> String {
    match op {
        CompareOp::Cmp(c) => c.as_str().to_string(),
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
                    .map(|(a, b)| if a == b { a.to_string() } else { format!("{a}..={b}") })
                    .collect();
                let _ = write!(s, " id {}", ids.join(", "));
            }
            if let Some(level) = f.level {
                let _ = write!(s, " level {level:?}");
            }
            if let Some(m) = &f.message {
                let _ = write!(s, " message {}", text_match(graph, m));
            }
            for d in &f.data {
                let _ = write!(s, " data[{:?}] {} {}", d.field, compare_op(graph, &d.op), constant(&d.value));
            }
            for b in &f.binary {
                let _ = write!(s, " binary[{}] {}-byte {} {:#x}", b.offset, b.width, b.op.as_str(), b.value);
            }
            s
        }
        Predicate::RegistryKey { key, exists } => {
            format!("registry \"{key}\" {}", if *exists { "exists" } else { "missing" })
        }
        Predicate::RegistryValue { key, name, ty, test } => {
            let ty = ty.map(|t| format!(" {}", t.as_str())).unwrap_or_default();
            let test = match test {
                ValueTest::Exists => String::new(),
                ValueTest::Missing => " missing".to_string(),
                ValueTest::Count(op, n) => format!(" count {} {n}", op.as_str()),
                ValueTest::Compare(op, c) => format!(" {} {}", compare_op(graph, op), constant(c)),
            };
            format!("registry \"{key}\" value \"{name}\"{ty}{test}")
        }
        Predicate::Service { name, test } => {
            let test = match test {
                ServiceTest::Present => "present".to_string(),
                ServiceTest::Absent => "absent".to_string(),
                ServiceTest::State(s) => format!("{s:?}").to_lowercase(),
                ServiceTest::Start(s) => format!("start {s:?}").to_lowercase(),
                ServiceTest::Account(t) => format!("account {}{}", if t.negated { "not " } else { "" }, text_match(graph, &t.matches)),
                ServiceTest::Image(t) => format!("image {}{}", if t.negated { "not " } else { "" }, text_match(graph, &t.matches)),
                ServiceTest::DependsOn(d) => format!("depends on \"{d}\""),
            };
            format!("service \"{name}\" {test}")
        }
        Predicate::Product { product, versions } => format!(
            "product \"{}\"{}",
            graph.products.get(product.index()).map_or("?", |p| p.name.as_str()),
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
            format!("component \"{name}\" {}", if *present { "present" } else { "absent" })
        }
    }
}

fn value(graph: &RuleGraph, v: &Value) -> String {
    match v {
        Value::Const(c) => constant(c),
        Value::Fact(f) => format!("fact {}", graph.facts.get(f.index()).map_or("?", |f| f.name.as_str())),
        Value::Binding { slot, property } => format!("${}.{property:?}", slot.0),
        Value::Number(inner) => format!("number({})", value(graph, inner)),
    }
}

/// The graph as DOT, deterministic for a given graph.
pub fn to_dot(graph: &RuleGraph) -> String {
    let mut out = String::from("digraph kbrules {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n");
    for (i, rule) in graph.rules.iter().enumerate() {
        let _ = writeln!(
            out,
            "  r{i} [shape=box, style=bold, label=\"{}\\n{}\"];",
            escape(&rule.id),
            escape(&rule.title)
        );
        if let Some(a) = rule.applies {
            let _ = writeln!(out, "  r{i} -> e{} [label=\"applies\"];", a.0);
        }
        let _ = writeln!(out, "  r{i} -> e{} [label=\"when\"];", rule.when.0);
        for s in &rule.supersedes {
            let _ = writeln!(out, "  r{i} -> r{} [label=\"supersedes\", style=dashed];", s.0);
        }
    }
    for (i, expr) in graph.exprs.iter().enumerate() {
        let (label, children): (String, Vec<String>) = match expr {
            Expr::Pred { pred, bind } => (
                bind.map_or_else(|| "?".to_string(), |b| format!("? as ${}", b.0)),
                vec![format!("p{}", pred.0)],
            ),
            Expr::And(items) => ("and".into(), items.iter().map(|e| format!("e{}", e.0)).collect()),
            Expr::Or(items) => ("or".into(), items.iter().map(|e| format!("e{}", e.0)).collect()),
            Expr::Not(e) => ("not".into(), vec![format!("e{}", e.0)]),
            Expr::AtLeast { n, items } => (format!("{n} of"), items.iter().map(|e| format!("e{}", e.0)).collect()),
            Expr::FollowedBy { first, then, within, .. } => (
                match within {
                    Some(ms) => format!("followed by within {ms}ms"),
                    None => "followed by".into(),
                },
                vec![format!("p{}", first.0), format!("p{}", then.0)],
            ),
            Expr::Count { pred, op, n, within } => (
                format!(
                    "count {} {n}{}",
                    op.as_str(),
                    within.map(|w| format!(" within {w}ms")).unwrap_or_default()
                ),
                vec![format!("p{}", pred.0)],
            ),
            Expr::Compare { left, op, right } => (
                format!("{} {} {}", value(graph, left), compare_op(graph, op), value(graph, right)),
                vec![],
            ),
            Expr::RuleFired(r) => ("fired".into(), vec![format!("r{}", r.0)]),
            Expr::Scope { expr, slots } => (format!("scope ({slots} bindings)"), vec![format!("e{}", expr.0)]),
        };
        let _ = writeln!(out, "  e{i} [shape=ellipse, label=\"{}\"];", escape(&label));
        for c in children {
            let _ = writeln!(out, "  e{i} -> {c};");
        }
    }
    for (i, pred) in graph.preds.iter().enumerate() {
        let _ = writeln!(out, "  p{i} [shape=note, label=\"{}\"];", escape(&describe(graph, pred)));
    }
    out.push_str("}\n");
    out
}
