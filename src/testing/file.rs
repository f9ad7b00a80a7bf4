//! The rule test file format (`NAME.tests.json`, version 1): reading one, with every error at
//! its line and column.
//!
//! ```json
//! {
//!   "kbrules_tests": 1,
//!   "cases": [
//!     {
//!       "name": "fires on event 4086 with a stale SiteDN",
//!       "rule": "Q298565",
//!       "snapshot": "fixtures/Q298565-fires.json",
//!       "verdict": "fired",
//!       "evidence": [ { "kind": "event", "id": 4086 } ]
//!     }
//!   ]
//! }
//! ```
//!
//! `snapshot` is a path (relative to the test file; a JSON snapshot, any export, or a directory
//! read as a bundle) or a JSON snapshot written in place. Unknown fields are errors, so that a
//! misspelt expectation cannot pass unchecked.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::diagnostics::{Code, Diagnostic};
use crate::eval::VerdictKind;

/// The versions of the test file format this build reads.
pub const SUPPORTED_VERSIONS: &[u64] = &[1];

/// A test file, read.
#[derive(Debug, Clone)]
pub struct TestFile {
    /// Its path, as given.
    pub path: String,
    /// Its cases, in order.
    pub cases: Vec<TestCase>,
}

/// One test case.
#[derive(Debug, Clone)]
pub struct TestCase {
    /// What it checks, in words.
    pub name: String,
    /// The rule's id.
    pub rule: String,
    /// The snapshot the rule is evaluated on.
    pub snapshot: Fixture,
    /// The verdict the rule must reach.
    pub verdict: VerdictKind,
    /// Evidence the verdict must cite: each object's fields must all be those of one cited
    /// item (text compared without case), as the report writes evidence.
    pub evidence: Vec<Map<String, Value>>,
    /// Needs the verdict must list, matched the same way.
    pub needs: Vec<Map<String, Value>>,
    /// The line the case starts on.
    pub line: usize,
    /// Where the rule's id is in the file's bytes, quotes included.
    pub rule_at: std::ops::Range<usize>,
    /// Where the snapshot (its path or its JSON) is in the file's bytes.
    pub snapshot_at: std::ops::Range<usize>,
}

/// Where a case's snapshot is.
#[derive(Debug, Clone)]
pub enum Fixture {
    /// Written in the test file: its JSON text, and the line and column it starts at.
    Inline {
        /// The snapshot's JSON text.
        text: String,
        /// The line it starts on.
        line: usize,
        /// The column it starts at.
        column: usize,
    },
    /// A file or a directory.
    Path {
        /// As written.
        written: String,
        /// Resolved against the test file's directory.
        path: PathBuf,
    },
}

#[derive(Deserialize)]
struct VersionOnly {
    #[serde(default)]
    kbrules_tests: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileJson<'a> {
    #[serde(rename = "kbrules_tests")]
    _version: u64,
    #[serde(borrow)]
    cases: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseJson<'a> {
    name: String,
    #[serde(borrow)]
    rule: &'a RawValue,
    #[serde(borrow)]
    snapshot: &'a RawValue,
    verdict: String,
    #[serde(default)]
    evidence: Vec<Map<String, Value>>,
    #[serde(default)]
    needs: Vec<Map<String, Value>>,
}

const VERDICTS: [VerdictKind; 5] = [
    VerdictKind::Fired,
    VerdictKind::NotFired,
    VerdictKind::NotApplicable,
    VerdictKind::NotEvaluable,
    VerdictKind::Superseded,
];

/// The line and column (from 1) of a byte offset.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(1, |l| l.chars().count() + 1);
    (line, column)
}

/// The byte offset of `part`, a slice of `text`, in it.
fn offset_in(text: &str, part: &str) -> usize {
    (part.as_ptr() as usize)
        .checked_sub(text.as_ptr() as usize)
        .filter(|o| *o <= text.len())
        .unwrap_or(0)
}

fn invalid(origin: &str, message: String, at: (usize, usize)) -> Diagnostic {
    Diagnostic::global(Code::TestFileInvalid, message)
        .with_file(origin.to_string())
        .with_position(at.0, at.1)
        .with_help(
            "a test file is `{ \"kbrules_tests\": 1, \"cases\": [ { \"name\", \"rule\", \
             \"snapshot\", \"verdict\", \"evidence\", \"needs\" } ] }`; see the book's page on \
             rule tests",
        )
}

/// Reads a test file's bytes (UTF-8, with or without a byte-order mark); `origin` is its path,
/// which `snapshot` paths are relative to.
pub fn parse_test_file(bytes: &[u8], origin: &str) -> Result<TestFile, Diagnostic> {
    let (bytes, bom) = match bytes.strip_prefix(b"\xef\xbb\xbf") {
        Some(rest) => (rest, 3),
        None => (bytes, 0),
    };
    // A byte range of `text` as one of the file's bytes.
    let range_of = |text: &str, part: &str| {
        let start = offset_in(text, part) + bom;
        start..start + part.len()
    };
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let (line, column) = position(
            std::str::from_utf8(bytes.get(..e.valid_up_to()).unwrap_or(&[])).unwrap_or(""),
            e.valid_up_to(),
        );
        invalid(origin, format!("`{origin}` is not UTF-8"), (line, column))
    })?;
    // The version first, whatever else the file holds.
    match serde_json::from_str::<VersionOnly>(text) {
        Ok(VersionOnly {
            kbrules_tests: Some(Value::Number(n)),
        }) if n.as_u64().is_some_and(|v| SUPPORTED_VERSIONS.contains(&v)) => {}
        Ok(VersionOnly { kbrules_tests }) => {
            let found = match kbrules_tests {
                None => "no `kbrules_tests` field".to_string(),
                Some(v) => format!("`kbrules_tests` is {v}"),
            };
            return Err(Diagnostic::global(
                Code::TestFileVersion,
                format!("`{origin}` is not a rule test file this build reads: {found}"),
            )
            .with_file(origin.to_string())
            .with_help("a rule test file starts `{ \"kbrules_tests\": 1, \"cases\": [ … ] }`"));
        }
        Err(err) => {
            return Err(invalid(
                origin,
                format!("`{origin}` is not valid JSON: {err}"),
                (err.line().max(1), err.column().max(1)),
            ));
        }
    }
    let de = &mut serde_json::Deserializer::from_str(text);
    let file: FileJson = serde_path_to_error::deserialize(de).map_err(|err| {
        let inner = err.inner();
        invalid(
            origin,
            format!("{}: {inner}", err.path()),
            (inner.line().max(1), inner.column().max(1)),
        )
    })?;
    let base = Path::new(origin).parent().unwrap_or(Path::new(""));
    let mut cases = Vec::with_capacity(file.cases.len());
    for (i, raw) in file.cases.iter().enumerate() {
        let start = offset_in(text, raw.get());
        let (line, column) = position(text, start);
        let at = |l: usize, c: usize| (line + l - 1, if l == 1 { column + c - 1 } else { c });
        let de = &mut serde_json::Deserializer::from_str(raw.get());
        let case: CaseJson = serde_path_to_error::deserialize(de).map_err(|err| {
            let inner = err.inner();
            invalid(
                origin,
                format!("cases[{i}].{}: {inner}", err.path()),
                at(inner.line().max(1), inner.column().max(1)),
            )
        })?;
        let verdict = VERDICTS
            .iter()
            .find(|v| v.as_str() == case.verdict)
            .copied()
            .ok_or_else(|| {
                invalid(
                    origin,
                    format!(
                        "cases[{i}].verdict: `{}` is not a verdict: expected fired, not_fired, \
                         not_applicable, not_evaluable or superseded",
                        case.verdict
                    ),
                    (line, column),
                )
            })?;
        let rule_text = case.rule.get();
        let Ok(rule) = serde_json::from_str::<String>(rule_text) else {
            return Err(invalid(
                origin,
                format!("cases[{i}].rule: expected a rule's id, a string"),
                position(text, offset_in(text, rule_text)),
            ));
        };
        let snapshot_text = case.snapshot.get();
        let snapshot = match serde_json::from_str::<Value>(snapshot_text) {
            Ok(Value::String(written)) => Fixture::Path {
                path: base.join(&written),
                written,
            },
            Ok(Value::Object(_)) => {
                let (l, c) = position(text, offset_in(text, snapshot_text));
                Fixture::Inline {
                    text: snapshot_text.to_string(),
                    line: l,
                    column: c,
                }
            }
            _ => {
                return Err(invalid(
                    origin,
                    format!("cases[{i}].snapshot: expected a path or a JSON snapshot (an object)"),
                    position(text, offset_in(text, snapshot_text)),
                ));
            }
        };
        cases.push(TestCase {
            name: case.name,
            rule,
            snapshot,
            verdict,
            evidence: case.evidence,
            needs: case.needs,
            line,
            rule_at: range_of(text, rule_text),
            snapshot_at: range_of(text, snapshot_text),
        });
    }
    Ok(TestFile {
        path: origin.to_string(),
        cases,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cases_with_paths_and_inline_snapshots() {
        let text = r#"{
  "kbrules_tests": 1,
  "cases": [
    { "name": "a", "rule": "Q1", "snapshot": "fx/a.json", "verdict": "fired",
      "evidence": [ { "kind": "service", "name": "SNMP" } ] },
    { "name": "b", "rule": "Q1", "verdict": "not_evaluable",
      "snapshot": { "kbrules_snapshot": 1 }, "needs": [ { "kind": "services" } ] }
  ]
}"#;
        let file = parse_test_file(text.as_bytes(), "rules/x.tests.json").unwrap_or_else(|d| {
            unreachable!("{d}");
        });
        assert_eq!(file.cases.len(), 2);
        let [a, b] = &file.cases[..] else {
            unreachable!()
        };
        assert_eq!((a.line, b.line), (4, 6));
        assert!(
            matches!(&a.snapshot, Fixture::Path { path, .. } if path == Path::new("rules/fx/a.json"))
        );
        assert!(matches!(
            &b.snapshot,
            Fixture::Inline { text, line: 7, column: 19 } if text == r#"{ "kbrules_snapshot": 1 }"#
        ));
        assert_eq!(b.verdict, VerdictKind::NotEvaluable);
        assert_eq!(&text[a.rule_at.clone()], r#""Q1""#);
        assert_eq!(&text[a.snapshot_at.clone()], r#""fx/a.json""#);
        assert_eq!(&text[b.snapshot_at.clone()], r#"{ "kbrules_snapshot": 1 }"#);
        // Offsets are in the file's bytes, a byte-order mark included.
        let with_bom = format!("\u{feff}{text}");
        let file = parse_test_file(with_bom.as_bytes(), "x.tests.json").unwrap_or_else(|d| {
            unreachable!("{d}");
        });
        assert_eq!(&with_bom[file.cases[0].rule_at.clone()], r#""Q1""#);
    }

    #[test]
    fn errors_are_placed_where_they_are() {
        let text = "{\n  \"kbrules_tests\": 1,\n  \"cases\": [\n    { \"name\": \"a\", \"rule\": \"Q1\", \"snapshot\": \"x\", \"verdict\": \"fird\" },\n    { \"name\": \"b\", \"rule\": \"Q1\", \"snapshot\": \"x\", \"verdict\": \"fired\", \"evidance\": [] }\n  ]\n}";
        let err = parse_test_file(text.as_bytes(), "t.tests.json").err();
        let err = err.map(|d| (d.code, d.position, d.message));
        assert_eq!(
            err,
            Some((
                Code::TestFileInvalid,
                Some((4, 5)),
                "cases[0].verdict: `fird` is not a verdict: expected fired, not_fired, \
                 not_applicable, not_evaluable or superseded"
                    .to_string()
            ))
        );
        // An unknown field is placed at its name (serde points at its closing quote).
        let fixed = text.replace("fird", "fired");
        let err = parse_test_file(fixed.as_bytes(), "t.tests.json").err();
        let err = err.map(|d| (d.code, d.position, d.message));
        assert!(
            err.as_ref().is_some_and(|(code, position, message)| {
                *code == Code::TestFileInvalid
                    && *position == Some((5, 80))
                    && message.starts_with("cases[1].evidance: unknown field `evidance`")
            }),
            "{err:?}"
        );
        let err = parse_test_file(br#"{"cases": []}"#, "t.tests.json").err();
        assert_eq!(err.map(|d| d.code), Some(Code::TestFileVersion));
    }
}
