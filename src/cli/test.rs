//! `kbrules test`: the rule tests beside the rules, run, with the necessity check and coverage.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use super::eval::{ReportFormat, load_rules, print_errors};
use super::{EXIT_FINDINGS, EXIT_OK, EXIT_USAGE};
use crate::source::Sources;
use crate::testing::{self, TEST_FILE_SUFFIX, TestRun};

fn human(run: &TestRun) -> String {
    let mut out = String::new();
    let mut file = None;
    for case in &run.cases {
        if file != Some(&case.file) {
            let _ = writeln!(out, "{}", case.file);
            file = Some(&case.file);
        }
        let status = if case.error.is_some() {
            "ERROR"
        } else if case.passed() {
            "ok"
        } else {
            "FAIL"
        };
        let _ = writeln!(
            out,
            "  {status:<5} {} — {} (line {})",
            case.rule, case.name, case.line
        );
        for problem in &case.problems {
            for line in problem.lines() {
                let _ = writeln!(out, "        {line}");
            }
        }
        if let Some(d) = &case.error {
            let _ = writeln!(out, "        {}: {}", d.code.as_str(), d.message);
        }
    }
    if let Some(unproven) = &run.necessity {
        if unproven.is_empty() {
            let _ = writeln!(
                out,
                "\nnecessity: every condition of every tested rule matters to a firing case"
            );
        } else {
            let _ = writeln!(
                out,
                "\nnecessity: {} no firing case shows to matter (negated, the rule still fires)",
                plural(unproven.len(), "condition", "conditions")
            );
            for u in unproven {
                match &u.condition {
                    Some(c) => {
                        let _ = writeln!(out, "  {}: {c}", u.rule);
                    }
                    None => {
                        let _ = writeln!(out, "  {}: no firing case", u.rule);
                    }
                }
            }
        }
    }
    let c = &run.coverage;
    let _ = writeln!(
        out,
        "\ncoverage: {} of {} tested; {} of tested rules, {} never seen true, {} never seen false",
        c.rules - c.untested.len(),
        plural(c.rules, "rule", "rules"),
        plural(c.conditions, "condition", "conditions"),
        c.never_true.len(),
        c.never_false.len()
    );
    if !c.untested.is_empty() {
        let _ = writeln!(out, "  untested: {}", c.untested.join(", "));
    }
    for (rule, condition) in &c.never_true {
        let _ = writeln!(out, "  never true:  {rule}: {condition}");
    }
    for (rule, condition) in &c.never_false {
        let _ = writeln!(out, "  never false: {rule}: {condition}");
    }
    let failed = run.cases.len() - run.passed();
    let _ = writeln!(out, "\n{} passed, {} failed", run.passed(), failed);
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub(super) fn run(paths: &[PathBuf], fmt: ReportFormat, necessity: bool, color: bool) -> u8 {
    // A test file named on its own is only a test file; directories hold both.
    let (test_only, both): (Vec<&PathBuf>, Vec<&PathBuf>) = paths.iter().partition(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(TEST_FILE_SUFFIX))
    });
    let rule_paths: Vec<PathBuf> = if both.is_empty() {
        vec![PathBuf::from("rules")]
    } else {
        both.iter().map(|p| (*p).clone()).collect()
    };
    let Some(rules) = load_rules(&rule_paths, color) else {
        return EXIT_USAGE;
    };
    let test_paths: Vec<&PathBuf> = test_only.into_iter().chain(both).collect();
    let test_paths: Vec<PathBuf> = if test_paths.is_empty() {
        rule_paths.clone()
    } else {
        test_paths.into_iter().cloned().collect()
    };
    let (files, errors) = testing::load_test_files(&test_paths);
    if !errors.is_empty() {
        print_errors(&errors, &Sources::new(), color);
        return EXIT_USAGE;
    }
    let run = testing::run(&rules, &files, necessity);
    let case_errors: Vec<_> = run.cases.iter().filter_map(|c| c.error.clone()).collect();
    print_errors(&case_errors, &Sources::new(), color);
    let text = match fmt {
        ReportFormat::Human => human(&run),
        ReportFormat::Json => {
            let summary = serde_json::json!({
                "passed": run.passed(),
                "failed": run.cases.len() - run.passed(),
            });
            let mut value = serde_json::to_value(&run).unwrap_or_default();
            if let Some(map) = value.as_object_mut() {
                map.insert("summary".into(), summary);
            }
            serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
        }
    };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    if !case_errors.is_empty() {
        EXIT_USAGE
    } else if run.ok() {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    }
}
