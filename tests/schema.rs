//! The JSON Schemas in `schemas/` describe what kbrules reads and prints:
//!
//! - every sample snapshot (`examples/snapshots/*.json`) and every snapshot shown in the book
//!   (`book/src/snapshots.md`, `book/src/report.md`) matches `snapshot.schema.json` and loads;
//! - the report for every sample, and `explain` for every rule on every sample, match
//!   `report.schema.json`, as do the reports and explanations shown in `book/src/report.md`;
//! - the example report and explanation in `book/src/report.md` are what kbrules prints;
//! - the schemas are not vacuous: documents of the wrong shape are refused, and on a table of
//!   edge cases the snapshot schema and the loader agree;
//! - every property in both schemas has a description.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use boon::{Compiler, SchemaIndex, Schemas};
use kbrules::{RuleSet, Snapshot, Sources};
use serde_json::{Value, json};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A compiled schema, or the part of one that a JSON pointer (`#/$defs/…`) names.
struct Schema {
    schemas: Schemas,
    index: SchemaIndex,
    name: String,
}

impl Schema {
    fn load(file: &str, pointer: &str) -> Schema {
        let path = root().join("schemas").join(file);
        let location = format!("{}{pointer}", path.display());
        let mut schemas = Schemas::new();
        let mut compiler = Compiler::new();
        let index = compiler
            .compile(&location, &mut schemas)
            .unwrap_or_else(|e| panic!("{location} does not compile: {e:#}"));
        Schema {
            schemas,
            index,
            name: format!("{file}{pointer}"),
        }
    }

    fn snapshot() -> Schema {
        Schema::load("snapshot.schema.json", "")
    }

    fn report() -> Schema {
        Schema::load("report.schema.json", "")
    }

    fn explanation() -> Schema {
        Schema::load("report.schema.json", "#/$defs/explanation")
    }

    fn errors(&self, value: &Value) -> Option<String> {
        self.schemas
            .validate(value, self.index)
            .err()
            .map(|e| format!("{e:#}"))
    }

    fn assert_valid(&self, value: &Value, what: &str) {
        if let Some(e) = self.errors(value) {
            panic!("{what} does not match {}:\n{e}", self.name);
        }
    }

    fn assert_invalid(&self, value: &Value, what: &str) {
        assert!(
            self.errors(value).is_some(),
            "{} accepts {what}: {value}",
            self.name
        );
    }
}

fn sample_paths() -> Vec<PathBuf> {
    let dir = root().join("examples/snapshots");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples/snapshots")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
}

/// The fenced blocks of a book page whose info string is `info`, with their line numbers.
fn fenced(page: &str, info: &str) -> Vec<(usize, String)> {
    let path = root().join("book/src").join(page);
    let text = std::fs::read_to_string(&path).expect("the book page");
    let opening = format!("```{info}");
    let mut out = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match &mut open {
            None if line.trim_end() == opening => open = Some((i + 1, String::new())),
            Some(_) if line.trim_end() == "```" => out.extend(open.take()),
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    out
}

/// The ```json blocks of a book page that are a document with `FIELD` first (`{"FIELD"`,
/// `{ "FIELD"`, `{\n  "FIELD"`), with their line numbers.
fn book_blocks(page: &str, field: &str) -> Vec<(usize, String)> {
    let first = format!("\"{field}\"");
    fenced(page, "json")
        .into_iter()
        .filter(|(_, body)| {
            body.strip_prefix('{')
                .is_some_and(|rest| rest.trim_start().starts_with(&first))
        })
        .collect()
}

fn shipped_rules() -> RuleSet {
    let (sources, errors) = Sources::load_paths(&[root().join("rules")]);
    assert!(errors.is_empty(), "{errors:?}");
    RuleSet::compile(&sources).expect("the shipped rules compile")
}

fn parse(text: &str, what: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{what} is not JSON: {e}"))
}

fn load(text: &str, what: &str) -> Snapshot {
    Snapshot::from_json(text, what).unwrap_or_else(|d| panic!("{what} does not load: {d:?}"))
}

#[test]
fn sample_snapshots_match_the_schema_and_load() {
    let schema = Schema::snapshot();
    for path in sample_paths() {
        let what = path.display().to_string();
        let text = std::fs::read_to_string(&path).expect("a readable sample");
        schema.assert_valid(&parse(&text, &what), &what);
        load(&text, &what);
    }
}

#[test]
fn book_snapshots_match_the_schema_and_load() {
    let schema = Schema::snapshot();
    for (page, least) in [("snapshots.md", 5), ("report.md", 1)] {
        let blocks = book_blocks(page, "kbrules_snapshot");
        assert!(
            blocks.len() >= least,
            "book/src/{page} shows {} snapshots",
            blocks.len()
        );
        for (line, text) in blocks {
            let what = format!("book/src/{page}:{line}");
            schema.assert_valid(&parse(&text, &what), &what);
            load(&text, &what);
        }
    }
}

#[test]
fn reports_and_explanations_match_the_schema() {
    let report_schema = Schema::report();
    let explanation_schema = Schema::explanation();
    let rules = shipped_rules();
    let samples = sample_paths();
    assert!(!samples.is_empty(), "no sample snapshots");
    for path in samples {
        let what = path.display().to_string();
        let snapshot = Snapshot::load(&path).unwrap_or_else(|d| panic!("{what}: {d:?}"));
        let report = rules.evaluate(&snapshot);
        let value = serde_json::to_value(&report).expect("a report serializes");
        report_schema.assert_valid(&value, &format!("the report on {what}"));
        // What the command line prints is the same document.
        assert_eq!(parse(&report.to_json(), &what), value);
        for rule in rules.graph().rules() {
            let explanation = rules.explain(&rule.id, &snapshot).expect("an explanation");
            let value = serde_json::to_value(&explanation).expect("it serializes");
            explanation_schema.assert_valid(&value, &format!("explain {} {what}", rule.id));
        }
    }
}

/// Every kind of evidence and need the evaluator writes appears in some evaluation fixture.
#[test]
fn reports_on_the_evaluation_fixtures_match_the_schema() {
    let schema = Schema::report();
    let dir = root().join("tests/fixtures/eval");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/fixtures/eval") {
        let rules_path = entry.expect("entry").path();
        let snapshot_path = rules_path.with_extension("json");
        if rules_path.extension().is_none_or(|e| e != "kbr") || !snapshot_path.exists() {
            continue;
        }
        let what = rules_path.display().to_string();
        let (sources, errors) = Sources::load_paths(std::slice::from_ref(&rules_path));
        assert!(errors.is_empty(), "{what}: {errors:?}");
        let rules = RuleSet::compile(&sources).unwrap_or_else(|d| panic!("{what}: {d:?}"));
        let snapshot = Snapshot::load(&snapshot_path).unwrap_or_else(|d| panic!("{what}: {d:?}"));
        let value = serde_json::to_value(rules.evaluate(&snapshot)).expect("a report serializes");
        schema.assert_valid(&value, &format!("the report on {what}"));
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} evaluation fixtures");
}

#[test]
fn book_reports_match_the_schema() {
    let schema = Schema::report();
    let blocks = book_blocks("report.md", "kbrules_report");
    assert!(!blocks.is_empty(), "book/src/report.md shows no report");
    for (line, text) in blocks {
        let what = format!("book/src/report.md:{line}");
        schema.assert_valid(&parse(&text, &what), &what);
    }
    let schema = Schema::explanation();
    let blocks = book_blocks("report.md", "verdict");
    assert!(
        !blocks.is_empty(),
        "book/src/report.md shows no explanation"
    );
    for (line, text) in blocks {
        let what = format!("book/src/report.md:{line}");
        schema.assert_valid(&parse(&text, &what), &what);
    }
}

/// The example in `book/src/report.md` is what kbrules prints: its rule library evaluated on its
/// snapshot gives its report, and on the snapshot without its event, its explanation.
#[test]
fn the_book_example_report_is_what_kbrules_prints() {
    let page = "report.md";
    let (_, library) = fenced(page, "kbr")
        .into_iter()
        .next()
        .expect("a rule library");
    let (_, case) = book_blocks(page, "kbrules_snapshot")
        .into_iter()
        .next()
        .expect("a snapshot");
    let (line, shown) = book_blocks(page, "kbrules_report")
        .into_iter()
        .next()
        .expect("a report");
    let mut sources = Sources::new();
    sources.add("imc.kbr", library.as_str());
    let rules = RuleSet::compile(&sources).expect("the example library compiles");

    let snapshot = load(&case, "case.json");
    let report = serde_json::to_value(rules.evaluate(&snapshot)).unwrap();
    assert_eq!(
        report,
        parse(&shown, page),
        "book/src/{page}:{line} is not what kbrules prints:\n{}",
        serde_json::to_string_pretty(&report).unwrap()
    );

    let (line, shown) = book_blocks(page, "verdict")
        .into_iter()
        .next()
        .expect("an explanation");
    let mut without_event = parse(&case, page);
    without_event["events"] = json!([]);
    let snapshot = load(&without_event.to_string(), "case.json");
    let explanation = rules.explain("Q298565", &snapshot).expect("an explanation");
    let explanation = serde_json::to_value(explanation).unwrap();
    assert_eq!(
        explanation,
        parse(&shown, page),
        "book/src/{page}:{line} is not what kbrules prints:\n{}",
        serde_json::to_string_pretty(&explanation).unwrap()
    );
}

/// A snapshot with one more top-level section.
fn with(section: &str, value: Value) -> Value {
    let mut doc = json!({ "kbrules_snapshot": 1 });
    doc[section] = value;
    doc
}

fn event(extra: Value) -> Value {
    let mut e = json!({ "log": "Application", "source": "MSExchangeIMC", "id": 4086 });
    for (k, v) in extra.as_object().unwrap() {
        e[k] = v.clone();
    }
    with("events", json!([e]))
}

fn reg(ty: Value, data: Value) -> Value {
    with(
        "registry",
        json!({ "HKLM\\System\\X": { "V": { "type": ty, "data": data } } }),
    )
}

#[test]
fn the_snapshot_schema_refuses_what_the_loader_refuses() {
    let schema = Schema::snapshot();
    let refused = [
        (
            "an event id written as a string",
            event(json!({ "id": "4086" })),
        ),
        (
            "an event id out of range",
            event(json!({ "id": 4_294_967_296_u64 })),
        ),
        ("a negative event id", event(json!({ "id": -1 }))),
        (
            "an event without a source",
            with("events", json!([{ "log": "System", "id": 1 }])),
        ),
        ("an unknown level", event(json!({ "level": "fatal" }))),
        ("a level out of range", event(json!({ "level": 6 }))),
        (
            "a time without seconds",
            event(json!({ "time": "2002-08-06T10:15Z" })),
        ),
        (
            "a time with junk",
            event(json!({ "time": "2002-08-06T10:15:00Zjunk" })),
        ),
        ("a month 13", event(json!({ "time": "2002-13-01" }))),
        (
            "an offset without a colon",
            event(json!({ "time": "2002-08-06T10:15:00+0200" })),
        ),
        (
            "data with a nested object",
            event(json!({ "data": [{ "a": "b" }] })),
        ),
        ("data as a string", event(json!({ "data": "text" }))),
        (
            "binary with an odd number of digits",
            event(json!({ "binary": "0a 0" })),
        ),
        (
            "binary that is not hexadecimal",
            event(json!({ "binary": "zz" })),
        ),
        ("an unknown registry type", reg(json!("REG_FOO"), json!(1))),
        ("a type without REG_", reg(json!("SZ"), json!("x"))),
        (
            "REG_SZ data that is a number",
            reg(json!("REG_SZ"), json!(1)),
        ),
        (
            "REG_MULTI_SZ data that is a string",
            reg(json!("REG_MULTI_SZ"), json!("a")),
        ),
        (
            "REG_MULTI_SZ data with a number",
            reg(json!("REG_MULTI_SZ"), json!(["a", 1])),
        ),
        (
            "REG_DWORD data over 32 bits",
            reg(json!("REG_DWORD"), json!(4_294_967_296_u64)),
        ),
        (
            "negative REG_DWORD data",
            reg(json!("REG_DWORD"), json!(-1)),
        ),
        (
            "REG_DWORD data as a word",
            reg(json!("REG_DWORD"), json!("five")),
        ),
        (
            "REG_BINARY bytes over 255",
            reg(json!("REG_BINARY"), json!([1, 256])),
        ),
        (
            "REG_BINARY data as a number",
            reg(json!("REG_BINARY"), json!(1)),
        ),
        (
            "a registry value without data",
            with(
                "registry",
                json!({ "HKLM\\X": { "V": { "type": "REG_SZ" } } }),
            ),
        ),
        (
            "a key without a hive",
            with("registry", json!({ "System\\X": {} })),
        ),
        (
            "a key with forward slashes",
            with("registry", json!({ "HKLM/System": {} })),
        ),
        (
            "a service without a name",
            with("services", json!([{ "state": "running" }])),
        ),
        (
            "an unknown service state",
            with("services", json!([{ "name": "S", "state": "up" }])),
        ),
        (
            "an unknown start type",
            with("services", json!([{ "name": "S", "start_type": "later" }])),
        ),
        (
            "a version with a fraction",
            with("os", json!({ "name": "NT", "version": 5.1 })),
        ),
        (
            "a version that is a word",
            with("os", json!({ "name": "NT", "version": "four" })),
        ),
        (
            "a negative service pack",
            with("os", json!({ "name": "NT", "service_pack": -1 })),
        ),
        (
            "a service pack that is a word",
            with("os", json!({ "name": "NT", "service_pack": "latest" })),
        ),
        ("a hotfix without a number", with("hotfixes", json!(["KB"]))),
        (
            "a hotfix written as a number",
            with("hotfixes", json!([329_115])),
        ),
        (
            "a component as a string",
            with("components", json!(["AppleTalk"])),
        ),
        ("a negative fact", with("facts", json!({ "n": -1 }))),
        ("a fact with a fraction", with("facts", json!({ "n": 1.5 }))),
        ("a null fact", with("facts", json!({ "n": null }))),
        ("a fact that is a list", with("facts", json!({ "n": [1] }))),
        (
            "collected services as a list",
            with("collected", json!({ "services": ["S"] })),
        ),
        (
            "collected events as a string",
            with("collected", json!({ "events": "System" })),
        ),
        (
            "collected events with a number",
            with("collected", json!({ "events": [1] })),
        ),
        (
            "products as an object",
            with("products", json!({ "name": "Exchange" })),
        ),
        ("no version", json!({ "host": { "name": "EXCH01" } })),
        ("version 2", json!({ "kbrules_snapshot": 2 })),
        (
            "the version as a string",
            json!({ "kbrules_snapshot": "1" }),
        ),
    ];
    for (what, doc) in &refused {
        schema.assert_invalid(doc, what);
        assert!(
            Snapshot::from_json(&doc.to_string(), what).is_err(),
            "the loader accepts {what}: {doc}"
        );
    }

    let accepted = [
        ("the smallest snapshot", json!({ "kbrules_snapshot": 1 })),
        (
            "an unknown field",
            json!({ "kbrules_snapshot": 1, "collector": { "name": "x" } }),
        ),
        (
            "null sections",
            json!({ "kbrules_snapshot": 1, "events": null, "os": null, "collected": null }),
        ),
        (
            "an id with qualifier bits",
            event(json!({ "id": 3_221_229_558_u64 })),
        ),
        ("a numbered level", event(json!({ "level": 2 }))),
        (
            "a level in words",
            event(json!({ "level": "Audit Success" })),
        ),
        (
            "a time with an offset",
            event(json!({ "time": "2002-08-06 12:15:00.5+02:00" })),
        ),
        ("a date alone", event(json!({ "time": "2002-08-06" }))),
        (
            "named data",
            event(json!({ "data": { "Site": "Europe", "Count": 3, "On": true, "None": null } })),
        ),
        (
            "binary with separators",
            event(json!({ "binary": "0A-00, ff\t01" })),
        ),
        (
            "REG_DWORD in hexadecimal",
            reg(json!("reg_dword"), json!("0xFFFFFFFF")),
        ),
        (
            "REG_QWORD as a number",
            reg(json!(" REG_QWORD "), json!(18_446_744_073_709_551_615_u64)),
        ),
        (
            "REG_BINARY as numbers",
            reg(json!("REG_BINARY"), json!([0, 255])),
        ),
        ("REG_NONE without data", reg(json!("REG_NONE"), json!(null))),
        (
            "REG_EXPAND_SZ",
            reg(json!("REG_EXPAND_SZ"), json!("%SystemRoot%")),
        ),
        (
            "a key in full, in any case",
            with("registry", json!({ "\\hkey_local_machine\\System\\": {} })),
        ),
        ("a hive alone", with("registry", json!({ "HKCU": {} }))),
        (
            "service words as Windows writes them",
            with(
                "services",
                json!([
                    { "name": "S", "state": "Start Pending", "start_type": "AUTO_START", "depends_on": [] },
                    { "name": "T", "state": "StopPending", "start_type": "demand start" }
                ]),
            ),
        ),
        (
            "a service pack in words",
            with(
                "os",
                json!({ "name": "NT", "version": "4.0.1381", "service_pack": "Service Pack 6" }),
            ),
        ),
        (
            "no service pack",
            with("os", json!({ "name": "NT", "service_pack": "None" })),
        ),
        (
            "a null service pack",
            with("os", json!({ "name": "NT", "service_pack": null })),
        ),
        (
            "a version with a build label",
            with(
                "files",
                json!([{ "path": "C:\\x.dll", "version": "5.0.2195.6717 (srv03_rtm.030324-2048)" }]),
            ),
        ),
        (
            "a version as a whole number",
            with("products", json!([{ "name": "P", "version": 6 }])),
        ),
        (
            "hotfixes in several spellings",
            with("hotfixes", json!(["Q329115", "kb123", "456"])),
        ),
        (
            "facts of each kind",
            with("facts", json!({ "a": "text", "b": 7, "c": false })),
        ),
        (
            "coverage of each kind",
            with(
                "collected",
                json!({ "events": true, "registry": false, "files": ["C:\\WINNT"], "facts": [], "os": null }),
            ),
        ),
    ];
    for (what, doc) in &accepted {
        schema.assert_valid(doc, what);
        load(&doc.to_string(), what);
    }
}

#[test]
fn the_report_schema_refuses_wrong_shapes() {
    let schema = Schema::report();
    let rules = shipped_rules();
    let snapshot = Snapshot::from_json(r#"{ "kbrules_snapshot": 1 }"#, "empty.json").unwrap();
    let good = serde_json::to_value(rules.evaluate(&snapshot)).unwrap();
    schema.assert_valid(&good, "the report on an empty snapshot");
    assert!(!good["verdicts"].as_array().unwrap().is_empty());
    assert_eq!(good["verdicts"][0]["verdict"], "not_evaluable");

    let change = |f: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        f(&mut v);
        v
    };
    let refused = [
        (
            "a report without verdicts",
            change(&|v| drop(v.as_object_mut().unwrap().remove("verdicts"))),
        ),
        (
            "another report version",
            change(&|v| v["kbrules_report"] = json!(2)),
        ),
        ("an unknown field", change(&|v| v["extra"] = json!(true))),
        (
            "a hash in capitals",
            change(&|v| v["rules"]["hash"] = json!("ABCDEF0123456789")),
        ),
        (
            "an unknown verdict",
            change(&|v| v["verdicts"][0]["verdict"] = json!("maybe")),
        ),
        (
            "an unknown severity",
            change(&|v| v["verdicts"][0]["severity"] = json!("fatal")),
        ),
        (
            "a verdict without a rule",
            change(&|v| drop(v["verdicts"][0].as_object_mut().unwrap().remove("rule"))),
        ),
        (
            "a need without a kind",
            change(&|v| v["verdicts"][0]["needs"] = json!([{ "log": "System" }])),
        ),
        (
            "an unknown need",
            change(&|v| v["verdicts"][0]["needs"] = json!([{ "kind": "everything" }])),
        ),
        (
            "an empty list of needs",
            change(&|v| v["verdicts"][0]["needs"] = json!([])),
        ),
        (
            "a diagnosis on a rule that did not fire",
            change(&|v| v["verdicts"][0]["diagnosis"] = json!("x")),
        ),
        (
            "superseded without the rule that supersedes it",
            change(&|v| {
                v["verdicts"][0]["verdict"] = json!("superseded");
                drop(v["verdicts"][0].as_object_mut().unwrap().remove("needs"));
            }),
        ),
        (
            "evidence without a kind",
            change(&|v| {
                v["verdicts"][0]["verdict"] = json!("fired");
                drop(v["verdicts"][0].as_object_mut().unwrap().remove("needs"));
                v["verdicts"][0]["evidence"] = json!([{ "key": "HKLM\\X" }]);
            }),
        ),
        (
            "an event id over 16 bits",
            change(&|v| {
                v["verdicts"][0]["verdict"] = json!("fired");
                drop(v["verdicts"][0].as_object_mut().unwrap().remove("needs"));
                v["verdicts"][0]["evidence"] =
                    json!([{ "kind": "event", "log": "System", "source": "S", "id": 70000 }]);
            }),
        ),
    ];
    for (what, doc) in &refused {
        schema.assert_invalid(doc, what);
    }
}

/// Every object under `properties` in a schema has a `description`.
fn undescribed(value: &Value, at: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get("properties") {
                for (name, prop) in props {
                    if prop.get("description").is_none() {
                        out.push(format!("{at}/properties/{name}"));
                    }
                }
            }
            for (key, v) in map {
                undescribed(v, &format!("{at}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                undescribed(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_property_is_described() {
    for file in ["snapshot.schema.json", "report.schema.json"] {
        let text = std::fs::read_to_string(root().join("schemas").join(file)).unwrap();
        let schema = parse(&text, file);
        let mut missing = Vec::new();
        // The parts of a conditional (`if`, `then`, `else`) narrow properties described
        // elsewhere.
        let mut described = schema.clone();
        strip_ifs(&mut described);
        undescribed(&described, "#", &mut missing);
        assert!(missing.is_empty(), "{file}: no description at {missing:#?}");
    }
}

fn strip_ifs(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for key in ["if", "then", "else"] {
                map.remove(key);
            }
            map.values_mut().for_each(strip_ifs);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_ifs),
        _ => {}
    }
}
