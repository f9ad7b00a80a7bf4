//! `kbrules eval`, `kbrules explain` and `kbrules needs`: the rule library asked of snapshots.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use super::{EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, format};
use crate::diagnostics::Diagnostic;
use crate::eval::{Explained, Explanation, Report, RuleSet, Verdict, VerdictKind};
use crate::snapshot::Snapshot;
use crate::source::Sources;

/// How a report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// For people
    Human,
    /// One JSON document (JSON Lines for several snapshots)
    Json,
}

/// Prints diagnostics to stderr, the way `check` prints them.
pub(super) fn print_errors(diagnostics: &[Diagnostic], sources: &Sources, color: bool) {
    let text = format::render(super::Format::Human, diagnostics, sources, color);
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}

/// Compiles the rules; on error, prints the diagnostics.
pub(super) fn load_rules(paths: &[PathBuf], color: bool) -> Option<RuleSet> {
    let (sources, io_errors) = Sources::load_paths(paths);
    if !io_errors.is_empty() {
        print_errors(&io_errors, &sources, color);
        return None;
    }
    match RuleSet::compile(&sources) {
        Ok(rules) => Some(rules),
        Err(diagnostics) => {
            let errors: Vec<Diagnostic> = diagnostics
                .into_iter()
                .filter(Diagnostic::is_error)
                .collect();
            print_errors(&errors, &sources, color);
            let _ = writeln!(
                std::io::stderr(),
                "the rules do not compile: {} error{} (run `kbrules check` on them)",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            );
            None
        }
    }
}

fn load_snapshot(path: &PathBuf, color: bool) -> Option<Snapshot> {
    let bar = super::snapshot::Bar::new();
    let loaded = Snapshot::load_each(std::slice::from_ref(path), Some(&bar))
        .into_iter()
        .next()
        .unwrap_or_else(|| Snapshot::load(path));
    bar.finish();
    match loaded {
        Ok(s) => Some(s),
        Err(d) => {
            print_errors(&[d], &Sources::new(), color);
            None
        }
    }
}

pub(super) fn run_eval(
    inputs: &[PathBuf],
    rules: &[PathBuf],
    fmt: ReportFormat,
    all: bool,
    color: bool,
) -> u8 {
    let Some(rules) = load_rules(rules, color) else {
        return EXIT_USAGE;
    };
    // Read in parallel; the first input that cannot be read stops the run.
    let bar = super::snapshot::Bar::new();
    let loaded = Snapshot::load_each(inputs, Some(&bar));
    bar.finish();
    let mut snapshots = Vec::new();
    for result in loaded {
        match result {
            Ok(s) => snapshots.push(s),
            Err(d) => {
                print_errors(&[d], &Sources::new(), color);
                return EXIT_USAGE;
            }
        }
    }
    let mut fired = false;
    let mut out = std::io::stdout().lock();
    for (i, snapshot) in snapshots.iter().enumerate() {
        let report = rules.evaluate(snapshot);
        fired |= report.summary.fired > 0;
        let text = match fmt {
            ReportFormat::Json if snapshots.len() == 1 => report.to_json() + "\n",
            ReportFormat::Json => serde_json::to_string(&report).unwrap_or_default() + "\n",
            ReportFormat::Human => {
                let mut t = human_report(&report, all);
                if i + 1 < snapshots.len() {
                    t.push('\n');
                }
                t
            }
        };
        let _ = out.write_all(text.as_bytes());
    }
    let _ = out.flush();
    if fired { EXIT_FINDINGS } else { EXIT_OK }
}

fn indent(text: &str, by: &str) -> String {
    text.lines()
        .map(|l| format!("{by}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn human_verdict(out: &mut String, v: &Verdict) {
    let _ = writeln!(out, "{} {}: {}", v.severity_word(), v.rule, v.title);
    if let Some(d) = &v.diagnosis {
        let _ = writeln!(out, "{}", indent(d, "  "));
    }
    if !v.evidence.is_empty() {
        let _ = writeln!(out, "  evidence:");
        for e in &v.evidence {
            let _ = writeln!(out, "    - {e}");
        }
    }
    for w in &v.warnings {
        let _ = writeln!(out, "  warning: {w}");
    }
    if !v.steps.is_empty() {
        let _ = writeln!(out, "  steps:");
        for (n, s) in v.steps.iter().enumerate() {
            let _ = writeln!(out, "    {}. {s}", n + 1);
        }
    }
    for fix in &v.fixes {
        let what = if fix.what.is_empty() {
            String::new()
        } else {
            format!(" {}", fix.what)
        };
        match &fix.verify {
            Some(verify) => {
                let _ = writeln!(
                    out,
                    "  fix: {}{what} (verify: {verify})",
                    fix.kind.replace('_', " ")
                );
            }
            None => {
                let _ = writeln!(out, "  fix: {}{what}", fix.kind.replace('_', " "));
            }
        }
    }
    if !v.see.is_empty() {
        let _ = writeln!(out, "  see: {}", v.see.join(", "));
    }
}

/// The human report: fired diagnoses by severity, then (with `all`) the other verdicts, then
/// a summary line.
pub(crate) fn human_report(report: &Report, all: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} event{}, {} rule{}",
        report.snapshot.source,
        report.snapshot.events,
        if report.snapshot.events == 1 { "" } else { "s" },
        report.rules.count,
        if report.rules.count == 1 { "" } else { "s" }
    );
    for skipped in &report.snapshot.skipped {
        let _ = writeln!(
            out,
            "skipped {} in {}: {}",
            skipped.count, skipped.file, skipped.reason
        );
    }
    for v in report.fired() {
        out.push('\n');
        human_verdict(&mut out, v);
    }
    if all {
        for kind in [
            VerdictKind::Superseded,
            VerdictKind::NotEvaluable,
            VerdictKind::NotFired,
            VerdictKind::NotApplicable,
        ] {
            let group: Vec<&Verdict> = report
                .verdicts
                .iter()
                .filter(|v| v.verdict == kind)
                .collect();
            if group.is_empty() {
                continue;
            }
            let _ = writeln!(out, "\n{}:", kind.as_str().replace('_', " "));
            for v in group {
                let _ = writeln!(out, "  {}: {}", v.rule, v.title);
                if let Some(by) = &v.superseded_by {
                    let _ = writeln!(out, "    superseded by {by}");
                }
                if let Some(f) = &v.failed {
                    match &f.observed {
                        Some(o) => {
                            let _ = writeln!(out, "    {}: {o}", f.condition);
                        }
                        None => {
                            let _ = writeln!(out, "    {} does not hold", f.condition);
                        }
                    }
                }
                for need in &v.needs {
                    let _ = writeln!(out, "    needs {need}");
                }
            }
        }
    }
    let _ = writeln!(out, "\n{}", report.summary);
    out
}

pub(super) fn run_explain(
    rule: &str,
    input: &PathBuf,
    rules: &[PathBuf],
    fmt: ReportFormat,
    color: bool,
) -> u8 {
    let Some(rules) = load_rules(rules, color) else {
        return EXIT_USAGE;
    };
    let Some(snapshot) = load_snapshot(input, color) else {
        return EXIT_USAGE;
    };
    let explanation = match rules.explain(rule, &snapshot) {
        Ok(e) => e,
        Err(d) => {
            print_errors(&[d], &Sources::new(), color);
            return EXIT_USAGE;
        }
    };
    let text = match fmt {
        ReportFormat::Json => serde_json::to_string_pretty(&explanation).unwrap_or_default() + "\n",
        ReportFormat::Human => human_explanation(&explanation),
    };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    if explanation.verdict.verdict == VerdictKind::Fired {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

fn tree(out: &mut String, node: &Explained, depth: usize) {
    let pad = "  ".repeat(depth + 1);
    let _ = writeln!(out, "{pad}{:<7} {}", node.value.as_str(), node.condition);
    let detail = format!("{pad}        ");
    for e in &node.evidence {
        let _ = writeln!(out, "{detail}{e}");
    }
    if let Some(o) = &node.observed {
        let _ = writeln!(out, "{detail}observed: {o}");
    }
    for n in &node.needs {
        let _ = writeln!(out, "{detail}needs {n}");
    }
    for child in &node.children {
        tree(out, child, depth + 1);
    }
}

fn human_explanation(e: &Explanation) -> String {
    let v = &e.verdict;
    let mut out = format!(
        "{}: {}\nverdict: {}",
        v.rule,
        v.title,
        v.verdict.as_str().replace('_', " ")
    );
    if let Some(by) = &v.superseded_by {
        let _ = write!(out, " (superseded by {by})");
    }
    out.push('\n');
    if let Some(applies) = &e.applies {
        out.push_str("\napplies\n");
        tree(&mut out, applies, 0);
    }
    out.push_str("\nwhen\n");
    tree(&mut out, &e.when, 0);
    if let Some(d) = &v.diagnosis {
        let _ = write!(out, "\ndiagnosis: {d}\n");
    }
    out
}

pub(super) fn run_needs(paths: &[PathBuf], fmt: ReportFormat, color: bool) -> u8 {
    let Some(rules) = load_rules(paths, color) else {
        return EXIT_USAGE;
    };
    let needs = crate::eval::needs(rules.graph());
    let text = match fmt {
        ReportFormat::Json => serde_json::to_string_pretty(&needs).unwrap_or_default() + "\n",
        ReportFormat::Human => needs.to_text(),
    };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    EXIT_OK
}
