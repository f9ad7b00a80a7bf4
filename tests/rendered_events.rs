//! Rendered event exports, which carry the message text: `wevtutil qe /f:RenderedXml` (with and
//! without a root element) and `Get-WinEvent | ConvertTo-Json` (PowerShell 5 and 7, an array or
//! one object, with `Select-Object`, with too small a `-Depth`), read from the hand-written
//! examples in `tests/fixtures/events/`; and rules over them, beside the same events from an
//! .evtx, which has no message.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

use kbrules::snapshot::{Coverage, DataKnown, Event};
use kbrules::{RuleSet, Snapshot, Sources};

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/events/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn load(name: &str) -> Snapshot {
    Snapshot::load(fixture(name)).unwrap_or_else(|d| panic!("{name}: {d}"))
}

/// Each event as `log/source/id level time record message-start | data`.
fn lines(s: &Snapshot) -> Vec<String> {
    s.events().iter().map(|e| line(s, e)).collect()
}

fn line(s: &Snapshot, e: &Event) -> String {
    let data: Vec<String> = e
        .data
        .iter()
        .map(|d| match &d.name {
            Some(n) => format!("{n}={}", d.value),
            None => d.value.clone(),
        })
        .collect();
    format!(
        "{}/{}/{} {} {} #{} {:?} | {}",
        s.log_name(e),
        s.source_name(e),
        e.id,
        e.level.map_or("-", |l| l.as_str()),
        e.time.map_or("-".into(), kbrules::snapshot::time::format),
        e.record_id.map_or("-".into(), |r| r.to_string()),
        e.message
            .as_deref()
            .map(|m| m.chars().take(40).collect::<String>()),
        data.join(", ")
    )
}

fn collected_logs(s: &Snapshot) -> Vec<String> {
    match &s.collected().events {
        Coverage::Only(logs) => logs.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn wevtutil_rendered_xml_without_a_root() {
    let s = load("wevtutil-system.xml");
    assert_eq!(
        lines(&s),
        [
            "System/Service Control Manager/7036 information 2020-09-23T16:57:41.372Z #1450 \
             Some(\"The Windows Update service entered the r\") | param1=Windows Update, \
             param2=running",
            "System/Service Control Manager/7045 information 2020-09-23T16:58:02.104Z #1451 \
             Some(\"A service was installed in the system.\\r\\n\") | ServiceName=PSEXESVC, \
             ImagePath=%SystemRoot%\\PSEXESVC.exe, ServiceType=user mode service, \
             StartType=demand start, AccountName=LocalSystem",
            "System/Service Control Manager/7000 error 2020-09-23T17:00:00Z #1452 \
             Some(\"The Microsoft Exchange Internet Mail Con\") | param1=MSExchangeIMC, \
             param2=%%1067",
        ]
    );
    let first = &s.events()[0];
    assert_eq!(
        first.binary.as_deref(),
        Some(&b"w\0u\0a\0u\0s\0v\0c\0\0\0\0\0"[..])
    );
    assert_eq!(first.computer.as_deref(), Some("WIN-HOST.contoso.com"));
    assert!(s.events().iter().all(|e| e.data_known == DataKnown::All));
    assert_eq!(collected_logs(&s), ["System"]);
    assert!(s.skipped().is_empty());
}

#[test]
fn wevtutil_rendered_xml_in_a_root_element_and_utf16() {
    let text = std::fs::read_to_string(fixture("wevtutil-wrapped.xml")).unwrap();
    let expected = [
        "Application/MSExchangeIMC/4086 error 2002-08-06T10:15:00Z #1041 \
         Some(\"Unable to start the service because the \") | o=Contoso/ou=Europe, 3",
        "Security/Microsoft-Windows-Security-Auditing/4625 audit_failure 2020-09-23T17:05:00.500Z \
         #88 Some(\"An account failed to log on.\") | TargetUserName=administrator, \
         Status=0xc000006d",
    ];
    let s = Snapshot::from_bytes(text.as_bytes(), "wrapped.xml").unwrap();
    assert_eq!(lines(&s), expected);
    assert!(
        s.events()[0]
            .message
            .as_deref()
            .unwrap()
            .ends_with("directory & restart the service.")
    );
    assert_eq!(collected_logs(&s), ["Application", "Security"]);
    // As PowerShell 5's `>` writes it: UTF-16LE with a byte-order mark.
    let mut utf16 = vec![0xff, 0xfe];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let s = Snapshot::from_bytes(&utf16, "wrapped.xml").unwrap();
    assert_eq!(lines(&s), expected);
}

#[test]
fn get_winevent_json_from_powershell_5() {
    let s = load("get-winevent-ps5.json");
    assert_eq!(
        lines(&s),
        [
            "System/Service Control Manager/7036 information 2020-09-23T16:57:41.372Z #1450 \
             Some(\"The Windows Update service entered the r\") | Windows Update, running, 77007500",
            "System/Service Control Manager/7000 error 2020-09-23T17:00:00Z #1452 \
             Some(\"The Microsoft Exchange Internet Mail Con\") | MSExchangeIMC, %%1067",
        ]
    );
    assert!(
        s.events()
            .iter()
            .all(|e| e.data_known == DataKnown::Positions)
    );
    assert_eq!(
        s.events()[0].computer.as_deref(),
        Some("WIN-HOST.contoso.com")
    );
    assert_eq!(collected_logs(&s), ["System"]);
    assert!(s.skipped().is_empty());
    // The same bytes in UTF-16LE read the same.
    let text = std::fs::read_to_string(fixture("get-winevent-ps5.json")).unwrap();
    let mut utf16 = vec![0xff, 0xfe];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    assert_eq!(
        lines(&Snapshot::from_bytes(&utf16, "x").unwrap()),
        lines(&s)
    );
}

#[test]
fn get_winevent_json_from_powershell_7_one_object() {
    let s = load("get-winevent-ps7.json");
    assert_eq!(
        lines(&s),
        [
            "Security/Microsoft-Windows-Security-Auditing/4625 audit_failure \
          2020-09-23T17:05:00.500Z #88 Some(\"An account failed to log on.\\r\\n\\r\\nSubject:\") \
          | S-1-5-18, administrator, 3221225581"
        ]
    );
}

#[test]
fn get_winevent_json_with_select_object() {
    let s = load("get-winevent-select.json");
    assert_eq!(
        lines(&s),
        [
            "Application/MSExchangeIMC/4086 error 2002-08-06T10:15:00Z #- \
             Some(\"Unable to start the service because the \") | ",
            "Application/MSExchangeMTA/9298 information 2002-08-06T10:14:12Z #- None | ",
        ]
    );
    // `Properties` was not selected: the data fields are unknown, not missing.
    assert!(
        s.events()
            .iter()
            .all(|e| e.data_known == DataKnown::Nothing)
    );
}

#[test]
fn get_winevent_json_with_flattened_properties() {
    let s = load("get-winevent-depth1.json");
    assert_eq!(s.events().len(), 1);
    assert_eq!(s.events()[0].data_known, DataKnown::Nothing);
    let skipped: Vec<_> = s
        .skipped()
        .iter()
        .map(|k| (k.reason.as_str(), k.count))
        .collect();
    assert_eq!(
        skipped,
        [(
            "event data written as type names (export with `ConvertTo-Json -Depth 3`) \
             (first: entry 1)",
            1
        )]
    );
}

#[test]
fn xml_that_holds_no_event_is_not_an_input() {
    let err = Snapshot::from_bytes(b"<?xml version='1.0'?><Services/>", "x.xml").unwrap_err();
    assert_eq!(err.code.as_str(), "E0408");
    let err = Snapshot::from_event_export(b"[1, 2]", "x.json").unwrap_err();
    assert_eq!(err.code.as_str(), "E0408");
    assert!(err.to_string().contains("not a rendered event export"));
}

/// The verdict of each rule, by id.
fn verdicts(rules: &str, snapshot: &Snapshot) -> Vec<(String, String, Vec<String>)> {
    let mut sources = Sources::new();
    sources.add("test.kbr", rules);
    let rules = RuleSet::compile(&sources).unwrap_or_else(|d| panic!("{d:?}"));
    rules
        .evaluate(snapshot)
        .verdicts
        .iter()
        .map(|v| {
            (
                v.rule.clone(),
                v.verdict.as_str().to_string(),
                v.needs.iter().map(ToString::to_string).collect(),
            )
        })
        .collect()
}

const RULES: &str = r#"
rule MESSAGE {
    title "a service failed to start"
    when event System source "Service Control Manager" id 7000
         message ~ "process terminated unexpectedly"
    diagnose "it crashed"
}
rule NAMED {
    title "PsExec was installed"
    when event System source "Service Control Manager" id 7045 data["ServiceName"] == "PSEXESVC"
    diagnose "remote execution"
}
rule POSITION {
    title "the IMC failed"
    when event System source "Service Control Manager" id 7000 data[1] == "MSExchangeIMC"
    diagnose "the IMC"
}
"#;

#[test]
fn rules_read_messages_from_rendered_exports_and_not_from_evtx() {
    let xml = load("wevtutil-system.xml");
    assert_eq!(
        verdicts(RULES, &xml),
        [
            ("MESSAGE".into(), "fired".into(), vec![]),
            ("NAMED".into(), "fired".into(), vec![]),
            ("POSITION".into(), "fired".into(), vec![]),
        ]
    );
    // Get-WinEvent gives data by position only: a field by name is unknown; the 7045 event is
    // not in this export, and the System log counts as collected, so NAMED does not fire.
    let json = load("get-winevent-ps5.json");
    assert_eq!(
        verdicts(RULES, &json),
        [
            ("MESSAGE".into(), "fired".into(), vec![]),
            ("NAMED".into(), "not_fired".into(), vec![]),
            ("POSITION".into(), "fired".into(), vec![]),
        ]
    );
    // The same 7000 event as an .evtx holds it: no message, so MESSAGE cannot be decided.
    let evtx = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/evtx/system/scm_7000_7009_7045_service_payload.evtx");
    let evtx = Snapshot::load(evtx).unwrap();
    let v = verdicts(RULES, &evtx);
    assert_eq!(v[0].1, "not_evaluable");
    assert_eq!(v[0].2, ["rendered event messages in log System"]);
}

#[test]
fn a_named_field_is_unknown_where_the_export_gives_positions_only() {
    let rules = r#"
rule NAMED {
    title "the update service ran"
    when event System source "Service Control Manager" id 7036 data["param1"] == "Windows Update"
    diagnose "ran"
}
rule SELECTED {
    title "the IMC logged 4086 with a site"
    when event Application source "MSExchangeIMC" id 4086 data[1] ~ "o="
    diagnose "site"
}
"#;
    let v = verdicts(rules, &load("get-winevent-ps5.json"));
    assert_eq!(v[0].1, "not_evaluable");
    assert_eq!(v[0].2, ["named event data fields in log System"]);
    // With `Properties` not selected, a field by position is unknown too.
    let v = verdicts(rules, &load("get-winevent-select.json"));
    assert_eq!(v[1].1, "not_evaluable");
    assert_eq!(v[1].2, ["event data fields in log Application"]);
    // The rendered XML names them: decided.
    let v = verdicts(rules, &load("wevtutil-system.xml"));
    assert_eq!(v[0].1, "fired");
}

#[test]
fn a_record_in_two_exports_of_a_bundle_is_one_event_with_what_each_carries() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["get-winevent-ps5.json", "wevtutil-system.xml"] {
        std::fs::copy(fixture(name), dir.path().join(name)).unwrap();
    }
    // Records 1450 and 1452 are in both: read first from the JSON (data by position only),
    // then filled from the XML (data by name).
    let s = Snapshot::load(dir.path()).unwrap();
    let records: Vec<_> = s.events().iter().map(|e| e.record_id).collect();
    assert_eq!(records, [Some(1450), Some(1452), Some(1451)]);
    let first = &s.events()[0];
    assert_eq!(first.data_known, DataKnown::All);
    assert_eq!(first.data_named("param1"), Some("Windows Update"));
    assert!(first.message.is_some());
    // The rule on a named field decides now.
    let v = verdicts(RULES, &s);
    assert_eq!(v[1], ("NAMED".into(), "fired".into(), vec![]));
}
