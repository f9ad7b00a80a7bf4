//! Writing snapshots as JSON (`Snapshot::to_json`, what `kbrules snapshot` writes): for every
//! kind of input — the sample and fixture JSON snapshots, real .evtx files (a damaged one
//! too), real .reg exports, service lists, rendered event exports, a bundle — the written
//! document matches the schema and reads back as the same snapshot, and writing is a fixpoint.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use boon::{Compiler, Schemas};
use kbrules::Snapshot;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Everything a snapshot holds, with names resolved, as text to compare.
fn model(s: &Snapshot) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "host {:?}\nos {:?}", s.host(), s.os());
    let _ = writeln!(out, "products {:?}", s.products());
    let _ = writeln!(out, "hotfixes {:?}", s.hotfixes());
    let _ = writeln!(out, "components {:?}", s.components());
    for service in s.services() {
        let _ = writeln!(out, "service {service:?}");
    }
    // Keys and values are compared as sets: their order means nothing to Windows, and a JSON
    // snapshot's reader does not keep it.
    let mut keys: Vec<String> = s
        .registry()
        .keys()
        .iter()
        .map(|k| {
            let mut values: Vec<String> = k.values.iter().map(|v| format!("{v:?}")).collect();
            values.sort();
            format!("key {} {values:?}", k.key)
        })
        .collect();
    keys.sort();
    for k in keys {
        let _ = writeln!(out, "{k}");
    }
    for e in s.events() {
        let _ = writeln!(
            out,
            "event {} {} {} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            s.log_name(e),
            s.source_name(e),
            e.id,
            e.level,
            e.time,
            e.record_id,
            e.computer,
            e.message,
            e.data,
            e.data_known,
            e.binary
        );
    }
    for f in s.files() {
        let _ = writeln!(out, "file {f:?}");
    }
    let _ = writeln!(out, "facts {:?}", s.facts());
    let _ = writeln!(out, "environment {:?}", s.environment());
    let _ = writeln!(out, "collected {:?}", s.collected());
    let _ = writeln!(out, "skipped {:?}", s.skipped());
    out
}

fn inputs() -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for dir in [
        "examples/snapshots",
        "tests/fixtures/eval",
        "tests/fixtures/events",
    ] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with(".json") || name.ends_with(".xml") {
                paths.push(path);
            }
        }
    }
    for entry in std::fs::read_dir(root().join("tests/fixtures/services")).unwrap() {
        paths.push(entry.unwrap().path());
    }
    let shared = root().join("../shared/data");
    for file in [
        "evtx/system/LM_Remote_Service02_7045.evtx",
        "evtx/damaged/sysmon_bad-chunk.evtx",
        "evtx/other/Security_short_selected.evtx",
        "reg/atlas/win10_20H2_default_services_start.reg",
        "reg/atlas/AtlasOS_software_export_utf16.reg",
    ] {
        paths.push(shared.join(file));
    }
    paths.sort();
    paths
}

#[test]
fn every_input_written_as_json_reads_back_the_same() {
    let schema_path = root().join("schemas/snapshot.schema.json");
    let mut schemas = Schemas::new();
    let index = Compiler::new()
        .compile(&schema_path.display().to_string(), &mut schemas)
        .unwrap();
    let mut checked = 0;
    for path in inputs() {
        let name = path.display().to_string();
        let Ok(original) = Snapshot::load(&path) else {
            // Fixtures of errors are not inputs.
            continue;
        };
        let written = original.to_json();
        let value: serde_json::Value = serde_json::from_str(&written).unwrap();
        if let Err(e) = schemas.validate(&value, index) {
            panic!("{name}: the written snapshot does not match the schema: {e:#}\n{written}");
        }
        let read = Snapshot::from_json(&written, &name).unwrap_or_else(|d| panic!("{name}: {d}"));
        assert_eq!(model(&read), model(&original), "{name}");
        // Once read back (which orders a key's values by name), writing is a fixpoint.
        let again = read.to_json();
        let reread = Snapshot::from_json(&again, &name).unwrap();
        assert_eq!(reread.to_json(), again, "{name}: writing is not a fixpoint");
        checked += 1;
    }
    assert!(checked >= 60, "only {checked} inputs checked");
}

#[test]
fn a_bundle_written_as_json_keeps_what_each_part_collected() {
    let dir = tempfile::tempdir().unwrap();
    let shared = root().join("../shared/data");
    std::fs::copy(
        shared.join("evtx/system/LM_Remote_Service02_7045.evtx"),
        dir.path().join("System.evtx"),
    )
    .unwrap();
    std::fs::copy(
        root().join("tests/fixtures/events/get-winevent-select.json"),
        dir.path().join("Application.json"),
    )
    .unwrap();
    std::fs::copy(
        root().join("tests/fixtures/services/sc-queryex-and-qc.txt"),
        dir.path().join("services.txt"),
    )
    .unwrap();
    let bundle = Snapshot::load(dir.path()).unwrap();
    let written = bundle.to_json();
    let read = Snapshot::from_json(&written, "bundle.json").unwrap();
    assert_eq!(model(&read), model(&bundle));
    let value: serde_json::Value = serde_json::from_str(&written).unwrap();
    assert_eq!(
        value["collected"],
        serde_json::json!({
            "events": ["Application", "System"],
            "registry": false,
            "services": true,
            "products": false,
            "os": false,
            "hotfixes": false,
            "components": false,
            "files": false,
            "facts": false,
            "environment": false
        })
    );
    // Sections not collected are not written, so they read back as not collected.
    assert!(value.get("registry").is_none() && value.get("products").is_none());
    // `Get-WinEvent … | Select-Object` without `Properties`: the data is unknown, and says so.
    let app = value["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["log"] == "Application")
        .unwrap();
    assert_eq!(app["data_known"], "nothing");
}

#[test]
fn data_fields_are_written_by_name_where_every_field_has_one() {
    let s = Snapshot::from_json(
        r#"{"kbrules_snapshot": 1, "events": [
            {"log": "A", "source": "s", "id": 1, "data": {"x": "1", "y": "2"}},
            {"log": "A", "source": "s", "id": 2, "data": ["1", {"name": "y", "value": "2"}]},
            {"log": "A", "source": "s", "id": 3, "data": [{"name": "x", "value": "1"}, {"name": "X", "value": "2"}]}
        ]}"#,
        "data.json",
    )
    .unwrap();
    let value: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
    let data: Vec<&serde_json::Value> = value["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["data"])
        .collect();
    assert_eq!(data[0], &serde_json::json!({"x": "1", "y": "2"}));
    assert_eq!(
        data[1],
        &serde_json::json!(["1", {"name": "y", "value": "2"}])
    );
    // Two fields named alike (names are compared without case) cannot be an object.
    assert_eq!(
        data[2],
        &serde_json::json!([{"name": "x", "value": "1"}, {"name": "X", "value": "2"}])
    );
}
