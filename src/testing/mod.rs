//! Rule tests: files beside the rules (`NAME.tests.json`) whose cases each give a snapshot, a
//! rule, the verdict the rule must reach on it and what it must cite; and the runner behind
//! `kbrules test`, with the necessity check (each condition of a rule must matter to some
//! firing case) and coverage (which rules and conditions no case exercises).
//!
//! Owns the test file format and the comparison of expected with actual; evaluation is the
//! evaluator's ([`RuleSet::explain`], [`RuleSet::negating_each_condition`]).

mod file;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::diagnostics::{Code, Diagnostic};
use crate::eval::{Explained, RuleSet, Truth, VerdictKind};
use crate::snapshot::Snapshot;

pub use file::{Fixture, SUPPORTED_VERSIONS, TestCase, TestFile, parse_test_file};

/// The suffix that makes a file a rule test file.
pub const TEST_FILE_SUFFIX: &str = ".tests.json";

/// The test files under some paths: a directory is searched recursively (sorted, hidden
/// entries left out) for names ending in [`TEST_FILE_SUFFIX`]; a file given by name is one.
/// Each file is read and parsed; a problem is a diagnostic (E0007, E0501, E0502).
pub fn load_test_files<P: AsRef<Path>>(paths: &[P]) -> (Vec<TestFile>, Vec<Diagnostic>) {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        collect(path.as_ref(), true, &mut found, &mut errors);
    }
    // A file named on its own and found again in a directory given too is read once.
    let mut seen = BTreeSet::new();
    found.retain(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    let mut files = Vec::new();
    for path in found {
        let name = path.display().to_string();
        match std::fs::read(&path) {
            Ok(bytes) => match parse_test_file(&bytes, &name) {
                Ok(file) => files.push(file),
                Err(d) => errors.push(d),
            },
            Err(err) => errors.push(
                Diagnostic::global(Code::Io, format!("cannot read `{name}`: {err}"))
                    .with_file(name),
            ),
        }
    }
    (files, errors)
}

/// The test files at `path`: itself, or those below it; `explicit` when the user named it.
pub(crate) fn collect(
    path: &Path,
    explicit: bool,
    out: &mut Vec<PathBuf>,
    errors: &mut Vec<Diagnostic>,
) {
    let is_test = |p: &Path| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(TEST_FILE_SUFFIX))
    };
    if path.is_dir() {
        let entries = match std::fs::read_dir(path) {
            Ok(entries) => entries,
            Err(err) => {
                let name = path.display().to_string();
                errors.push(
                    Diagnostic::global(Code::Io, format!("cannot read `{name}`: {err}"))
                        .with_file(name),
                );
                return;
            }
        };
        let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for entry in entries {
            let hidden = entry
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if !hidden {
                collect(&entry, false, out, errors);
            }
        }
    } else if is_test(path) || (explicit && !path.exists()) {
        out.push(path.to_path_buf());
    }
}

/// What one case came to.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// The test file.
    pub file: String,
    /// The line of the case in it.
    pub line: usize,
    /// The case's name.
    pub name: String,
    /// The rule it tests.
    pub rule: String,
    /// The verdict it expects.
    pub expected: VerdictKind,
    /// The verdict the rule reached; `None` when the case could not run.
    pub actual: Option<VerdictKind>,
    /// Why it failed: empty when it passed.
    pub problems: Vec<String>,
    /// Why it could not run (E0503, E0504).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "diagnostic_text"
    )]
    pub error: Option<Diagnostic>,
}

/// A diagnostic as `{ "code", "message" }`.
fn diagnostic_text<S: serde::Serializer>(
    d: &Option<Diagnostic>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    d.as_ref()
        .map(|d| serde_json::json!({ "code": d.code.as_str(), "message": d.message }))
        .serialize(serializer)
}

impl CaseResult {
    /// Whether the case passed.
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.problems.is_empty()
    }
}

/// A condition no firing case shows to matter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Unproven {
    /// The rule.
    pub rule: String,
    /// The condition, as the rules write it; `None` when the rule has no firing case at all.
    pub condition: Option<String>,
}

/// Which rules and conditions the cases exercise.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Coverage {
    /// The rules in the library.
    pub rules: usize,
    /// The rules no case tests.
    pub untested: Vec<String>,
    /// The conditions of tested rules (those that are not `and`, `or`, `not`, `N of`).
    pub conditions: usize,
    /// Conditions no case saw hold, as `(rule, condition)`.
    pub never_true: Vec<(String, String)>,
    /// Conditions no case saw fail, as `(rule, condition)`.
    pub never_false: Vec<(String, String)>,
}

/// The results of a test run.
#[derive(Debug, Clone, Serialize)]
pub struct TestRun {
    /// Every case, in file order.
    pub cases: Vec<CaseResult>,
    /// The conditions no firing case shows to matter, when the check ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub necessity: Option<Vec<Unproven>>,
    /// What the cases exercise.
    pub coverage: Coverage,
}

impl TestRun {
    /// The cases that passed.
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.passed()).count()
    }

    /// Whether every case passed and, when it ran, the necessity check found nothing.
    pub fn ok(&self) -> bool {
        self.passed() == self.cases.len() && self.necessity.as_ref().is_none_or(Vec::is_empty)
    }
}

/// Whether an actual value (from the report) has every field an expected one names: text
/// compared without case, other values exactly.
fn matches(expected: &Map<String, Value>, actual: &Value) -> bool {
    expected
        .iter()
        .all(|(key, want)| match (want, actual.get(key)) {
            (Value::String(w), Some(Value::String(a))) => crate::snapshot::eq_fold(w, a),
            (w, Some(a)) => w == a,
            (_, None) => false,
        })
}

fn show(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// For each expected item that no actual item matches, the problem: `what: ITEM SAID: LIST`.
fn unmatched<T: Serialize + std::fmt::Display>(
    expected: &[Map<String, Value>],
    actual: &[T],
    what: &str,
    said: &str,
) -> Vec<String> {
    let values: Vec<Value> = actual
        .iter()
        .filter_map(|a| serde_json::to_value(a).ok())
        .collect();
    let listed = || {
        if actual.is_empty() {
            " nothing".to_string()
        } else {
            actual.iter().map(|a| format!("\n    - {a}")).collect()
        }
    };
    expected
        .iter()
        .filter(|want| !values.iter().any(|v| matches(want, v)))
        .map(|want| format!("{what}: {} {said}:{}", show(want), listed()))
        .collect()
}

/// The leaves of an explained condition tree, with their values.
fn leaves<'a>(node: &'a Explained, out: &mut Vec<(&'a str, Truth)>) {
    if node.children.is_empty() {
        out.push((&node.condition, node.value));
    }
    for child in &node.children {
        leaves(child, out);
    }
}

/// Reads a case's snapshot.
fn fixture(case: &TestCase, file: &str) -> Result<Snapshot, Diagnostic> {
    let (loaded, origin) = match &case.snapshot {
        Fixture::Inline { text, .. } => (
            Snapshot::from_json(text, &format!("{file}:{}", case.line)),
            format!("{file}:{}", case.line),
        ),
        Fixture::Path { path, .. } => (Snapshot::load(path), path.display().to_string()),
    };
    loaded.map_err(|inner| {
        let mut d = Diagnostic::global(
            Code::TestSnapshot,
            format!(
                "the snapshot of test `{}` cannot be read: {} ({}: {})",
                case.name,
                inner.message,
                inner.code.as_str(),
                origin
            ),
        )
        .with_file(file.to_string());
        if let Fixture::Inline { line, column, .. } = &case.snapshot {
            let (l, c) = inner.position.unwrap_or((1, 1));
            let c = if l == 1 { c + column - 1 } else { c };
            d = d.with_position(line + l - 1, c);
        } else {
            d = d.with_position(case.line, 1);
        }
        match inner.help {
            Some(help) => d.with_help(help),
            None => d,
        }
    })
}

/// Runs every case of `files` against `rules`; with `necessity`, also negates each condition of
/// each rule on each of its firing cases.
pub fn run(rules: &RuleSet, files: &[TestFile], necessity: bool) -> TestRun {
    let graph = rules.graph();
    let mut cases = Vec::new();
    // Per rule: each condition, and whether some case saw it true, false.
    let mut seen: BTreeMap<String, BTreeMap<String, (bool, bool)>> = BTreeMap::new();
    // Per rule: each condition, and whether some firing case showed it to matter.
    let mut shown: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
    let mut tested: BTreeSet<String> = BTreeSet::new();
    for file in files {
        for case in &file.cases {
            let mut result = CaseResult {
                file: file.path.clone(),
                line: case.line,
                name: case.name.clone(),
                rule: case.rule.clone(),
                expected: case.verdict,
                actual: None,
                problems: Vec::new(),
                error: None,
            };
            if graph.rule_by_name(&case.rule).is_none() {
                let names = graph.rules().iter().map(|r| r.id.as_str());
                let mut d = Diagnostic::global(
                    Code::TestUnknownRule,
                    format!(
                        "test `{}` is of rule `{}`, which the library does not have",
                        case.name, case.rule
                    ),
                )
                .with_file(file.path.clone())
                .with_position(case.line, 1);
                if let Some(near) = crate::diagnostics::did_you_mean(&case.rule, names) {
                    d = d.with_help(format!("did you mean `{near}`?"));
                }
                result.error = Some(d);
                cases.push(result);
                continue;
            }
            tested.insert(case.rule.clone());
            let snapshot = match fixture(case, &file.path) {
                Ok(s) => s,
                Err(d) => {
                    result.error = Some(d);
                    cases.push(result);
                    continue;
                }
            };
            let explanation = match rules.explain(&case.rule, &snapshot) {
                Ok(e) => e,
                Err(d) => {
                    result.error = Some(d);
                    cases.push(result);
                    continue;
                }
            };
            let verdict = &explanation.verdict;
            result.actual = Some(verdict.verdict);
            if verdict.verdict != case.verdict {
                let mut problem = format!(
                    "verdict: expected {}, got {}",
                    case.verdict.as_str(),
                    verdict.verdict.as_str()
                );
                if let Some(f) = &verdict.failed {
                    problem.push_str(&format!(
                        "\n  first condition that does not hold: {}",
                        f.condition
                    ));
                    if let Some(o) = &f.observed {
                        problem.push_str(&format!("\n  observed: {o}"));
                    }
                }
                for need in &verdict.needs {
                    problem.push_str(&format!("\n  needs {need}"));
                }
                if let Some(by) = &verdict.superseded_by {
                    problem.push_str(&format!("\n  superseded by {by}"));
                }
                result.problems.push(problem);
            }
            result.problems.extend(unmatched(
                &case.evidence,
                &verdict.evidence,
                "evidence",
                "is not cited; cited",
            ));
            result.problems.extend(unmatched(
                &case.needs,
                &verdict.needs,
                "needs",
                "is not needed; needed",
            ));
            // Coverage: the value of every leaf under this case.
            let mut values = Vec::new();
            if let Some(a) = &explanation.applies {
                leaves(a, &mut values);
            }
            leaves(&explanation.when, &mut values);
            let rule_seen = seen.entry(case.rule.clone()).or_default();
            for (condition, value) in values {
                let entry = rule_seen.entry(condition.to_string()).or_default();
                entry.0 |= value == Truth::True;
                entry.1 |= value == Truth::False;
            }
            // Necessity: on a firing case, each condition negated must change the verdict.
            if necessity && verdict.verdict == VerdictKind::Fired && result.problems.is_empty() {
                let rule_shown = shown.entry(case.rule.clone()).or_default();
                for negated in rules
                    .negating_each_condition(&case.rule, &snapshot)
                    .unwrap_or_default()
                {
                    *rule_shown.entry(negated.condition).or_default() |=
                        negated.verdict != VerdictKind::Fired;
                }
            }
            cases.push(result);
        }
    }
    let necessity = necessity.then(|| {
        let mut unproven = Vec::new();
        for rule in &tested {
            match shown.get(rule) {
                None => unproven.push(Unproven {
                    rule: rule.clone(),
                    condition: None,
                }),
                Some(conditions) => {
                    unproven.extend(conditions.iter().filter(|(_, s)| !**s).map(|(c, _)| {
                        Unproven {
                            rule: rule.clone(),
                            condition: Some(c.clone()),
                        }
                    }))
                }
            }
        }
        unproven
    });
    let mut coverage = Coverage {
        rules: graph.rules().len(),
        untested: graph
            .rules()
            .iter()
            .filter(|r| !tested.contains(&r.id))
            .map(|r| r.id.clone())
            .collect(),
        ..Coverage::default()
    };
    coverage.untested.sort();
    for (rule, conditions) in &seen {
        for (condition, (t, f)) in conditions {
            coverage.conditions += 1;
            if !t {
                coverage.never_true.push((rule.clone(), condition.clone()));
            }
            if !f {
                coverage.never_false.push((rule.clone(), condition.clone()));
            }
        }
    }
    TestRun {
        cases,
        necessity,
        coverage,
    }
}
