//! Event log files (`.evtx`) read as the ground truth in `../shared/data/evtx/ground_truth.json`
//! says: every file's record count and its full (provider, event id) histogram, and for a
//! damaged file the chunks and records skipped (the ground truth's `errors`). A few records are
//! checked field by field.

// Test helpers fail loudly on a broken fixture, as the tests themselves may (clippy.toml).
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use kbrules::Code;
use kbrules::ir::Level;
use kbrules::snapshot::evtx::{read_evtx_events, read_evtx_summary};

const DATA: &str = "../shared/data/evtx";

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(DATA)
}

fn read(rel: &str) -> Vec<u8> {
    let path = data_dir().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[test]
fn every_file_matches_the_ground_truth() {
    let text = std::fs::read_to_string(data_dir().join("ground_truth.json")).expect("ground truth");
    let truth: serde_json::Value = serde_json::from_str(&text).expect("ground truth is JSON");
    let files = truth.as_array().expect("a list of files");
    assert_eq!(files.len(), 26);
    let mut failures = Vec::new();
    for file in files {
        let rel = file["file"].as_str().unwrap().trim_start_matches("evtx/");
        let bytes = read(rel);
        let start = Instant::now();
        let summary = read_evtx_summary(&bytes, rel).unwrap_or_else(|d| panic!("{rel}: {d}"));
        eprintln!(
            "{rel}: {} records, {} skipped, {:?}",
            summary.records,
            summary.skipped,
            start.elapsed()
        );
        if summary.records != file["records"].as_u64().unwrap() {
            failures.push(format!(
                "{rel}: {} records, expected {}",
                summary.records, file["records"]
            ));
        }
        if summary.skipped != file["errors"].as_u64().unwrap() {
            failures.push(format!(
                "{rel}: {} skipped, expected {}",
                summary.skipped, file["errors"]
            ));
        }
        let expected: BTreeMap<(String, u16), u64> = file["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let id = p["event_id"].as_str().unwrap().parse().unwrap();
                (
                    (p["provider"].as_str().unwrap().to_string(), id),
                    p["count"].as_u64().unwrap(),
                )
            })
            .collect();
        if summary.histogram != expected {
            failures.push(format!(
                "{rel}: histogram differs: {:?} vs {expected:?}",
                summary.histogram
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn damaged_files_say_what_was_skipped() {
    let summary = read_evtx_summary(&read("damaged/sysmon_bad-chunk.evtx"), "sysmon.evtx").unwrap();
    assert_eq!(summary.skipped_reasons.len(), 1);
    let skipped = &summary.skipped_reasons[0];
    assert_eq!(skipped.file, "sysmon.evtx");
    assert_eq!(skipped.count, 8);
    assert!(
        skipped.reason.starts_with(
            "damaged chunk skipped with its records (first: failed to parse chunk number 9"
        ),
        "{}",
        skipped.reason
    );

    let summary = read_evtx_summary(
        &read("damaged/TerminalServices-RCM_vss_bad-records.evtx"),
        "ts.evtx",
    )
    .unwrap();
    let reasons: Vec<_> = summary
        .skipped_reasons
        .iter()
        .map(|s| (s.reason.as_str(), s.count))
        .collect();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(
        reasons[0]
            .0
            .starts_with("unreadable record skipped (first: failed to parse record number 463011"),
        "{reasons:?}"
    );
    assert_eq!(reasons[0].1, 2);
}

#[test]
fn a_service_installation_has_its_named_fields() {
    let (events, skipped) =
        read_evtx_events(&read("system/LM_Remote_Service02_7045.evtx"), "x").unwrap();
    assert!(skipped.is_empty());
    assert_eq!(events.len(), 3);
    let (log, source, event) = &events[0];
    assert_eq!(log, "System");
    assert_eq!(source, "Service Control Manager");
    assert_eq!(event.id, 7045);
    assert_eq!(event.level, Some(Level::Information));
    assert_eq!(event.message, None);
    assert!(event.time.is_some());
    assert!(event.record_id.is_some());
    assert_eq!(
        event.computer.as_deref(),
        Some("WIN-77LTAPHIQ1R.example.corp")
    );
    let names: Vec<_> = event
        .data
        .iter()
        .map(|f| f.name.as_deref().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "ServiceName",
            "ImagePath",
            "ServiceType",
            "StartType",
            "AccountName"
        ]
    );
    assert!(
        event
            .data_named("servicename")
            .is_some_and(|s| !s.is_empty())
    );
    assert!(event.data_named("ImagePath").is_some_and(|s| !s.is_empty()));
    assert_eq!(event.data_at(1), event.data_named("ServiceName"));
}

#[test]
fn a_classic_event_id_has_its_qualifiers_masked() {
    let (events, _) = read_evtx_events(
        &read("system/DE_WinEventLogSvc_Crash_System_7036.evtx"),
        "x",
    )
    .unwrap();
    assert_eq!(events.len(), 6);
    let (log, source, event) = &events[0];
    assert_eq!(
        (log.as_str(), source.as_str(), event.id),
        ("System", "Service Control Manager", 7036)
    );
    assert_eq!(event.time, Some(1_600_880_261_372)); // 2020-09-23T16:57:41.3726306Z
    // Named insertion strings (param1, param2), readable by position too, and the binary data
    // (`WerSvc/4` in UTF-16LE).
    assert_eq!(
        event.data_named("param1"),
        Some("Windows Error Reporting Service")
    );
    assert_eq!(event.data_at(2), Some("running"));
    let binary = event.binary.as_deref().unwrap();
    assert_eq!(binary.get(..6), Some(&b"W\0e\0r\0"[..]));

    // Unnamed insertion strings (a classic event whose data has no names), by position.
    let (events, _) =
        read_evtx_events(&read("application/rogue_msi_url_1040_1042.evtx"), "x").unwrap();
    let (_, source, event) = &events[0];
    assert_eq!((source.as_str(), event.id), ("MsiInstaller", 1040));
    assert!(event.data.iter().all(|f| f.name.is_none()));
    assert!(
        event
            .data_at(1)
            .is_some_and(|d| d.ends_with("GoogleUpdateHelper.msi"))
    );
}

#[test]
fn a_log_clear_reads_its_user_data_and_audit_level() {
    let (events, _) =
        read_evtx_events(&read("system/eventlog_cleared_104_1102.evtx"), "x").unwrap();
    let (log, _, event) = events.iter().find(|(_, _, e)| e.id == 1102).unwrap();
    assert_eq!(log, "Security");
    assert_eq!(event.level, Some(Level::AuditSuccess));
    assert_eq!(event.data_named("SubjectUserName"), Some("admmig"));
    let (_, _, event) = events.iter().find(|(_, _, e)| e.id == 104).unwrap();
    assert_eq!(event.level, Some(Level::Information));
    assert_eq!(event.data_named("Channel"), Some("System"));
}

#[test]
fn a_file_that_is_not_an_event_log_is_e0409() {
    let err = read_evtx_summary(b"not a log", "notes.evtx").unwrap_err();
    assert_eq!(err.code, Code::NotAnEventLog);
    let mut cut = read("system/LM_Remote_Service02_7045.evtx");
    cut.truncate(100);
    assert_eq!(
        read_evtx_summary(&cut, "cut.evtx").unwrap_err().code,
        Code::NotAnEventLog
    );
}
