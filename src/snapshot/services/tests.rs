//! Unit tests of the service-list readers: one per decision, on small texts.

use super::*;

fn list(text: &str) -> (Vec<Service>, Vec<Skipped>) {
    match read(text.as_bytes(), "t") {
        Ok(list) => list,
        Err(d) => panic!("{}: {} at {:?}", d.code, d.message, d.position),
    }
}

fn services(text: &str) -> Vec<Service> {
    let (services, skipped) = list(text);
    assert!(skipped.is_empty(), "{skipped:?}");
    services
}

fn one(text: &str) -> Service {
    let mut all = services(text);
    assert_eq!(all.len(), 1, "{all:?}");
    all.remove(0)
}

fn reasons(text: &str) -> Vec<(String, u64)> {
    list(text)
        .1
        .into_iter()
        .map(|s| (s.reason, s.count))
        .collect()
}

fn error(bytes: &[u8]) -> Diagnostic {
    match read(bytes, "t") {
        Ok((services, _)) => panic!("read {} services", services.len()),
        Err(d) => d,
    }
}

#[test]
fn states_as_numbers_and_names() {
    use ServiceState::*;
    let expected = [
        Stopped,
        StartPending,
        StopPending,
        Running,
        ContinuePending,
        PausePending,
        Paused,
    ];
    for (i, state) in expected.into_iter().enumerate() {
        let json = format!(r#"{{"Name": "s", "Status": {}}}"#, i + 1);
        assert_eq!(one(&json).state, Some(state), "{json}");
    }
    for (name, state) in [
        ("Running", Running),
        ("StartPending", StartPending),
        ("Start Pending", StartPending),
        ("STOP_PENDING", StopPending),
        ("paused", Paused),
        ("ContinuePending", ContinuePending),
    ] {
        let json = format!(r#"{{"Name": "s", "Status": "{name}"}}"#);
        assert_eq!(one(&json).state, Some(state), "{json}");
    }
    assert_eq!(one(r#"{"Name": "s", "Status": null}"#).state, None);
    assert_eq!(one(r#"{"Name": "s", "State": "Unknown"}"#).state, None);
}

#[test]
fn start_types_as_numbers_and_names() {
    use StartType::*;
    for (n, start) in [
        (0, Boot),
        (1, System),
        (2, Automatic),
        (3, Manual),
        (4, Disabled),
    ] {
        let json = format!(r#"{{"Name": "s", "Status": 1, "StartType": {n}}}"#);
        assert_eq!(one(&json).start_type, Some(start), "{json}");
    }
    for (name, start) in [
        ("Automatic", Automatic),
        ("AutomaticDelayedStart", Automatic),
        ("Manual", Manual),
        ("Disabled", Disabled),
        ("Boot", Boot),
        ("System", System),
    ] {
        let json = format!(r#"{{"Name": "s", "Status": 1, "StartType": "{name}"}}"#);
        assert_eq!(one(&json).start_type, Some(start), "{json}");
    }
    // PowerShell 7's StartupType, read when StartType is not there.
    let s = one(r#"{"Name": "s", "Status": 1, "StartupType": "AutomaticDelayedStart"}"#);
    assert_eq!(s.start_type, Some(Automatic));
}

#[test]
fn a_value_no_tool_writes_skips_the_entry() {
    let text = r#"[{"Name": "a", "Status": 9}, {"Name": "b", "Status": "Sleeping"},
                   {"Name": "c", "Status": 4, "StartType": 7}, {"Name": "d", "Status": 4}]"#;
    let (services, skipped) = list(text);
    assert_eq!(services.len(), 1);
    assert_eq!(services[0].name, "d");
    let reasons: Vec<_> = skipped
        .iter()
        .map(|s| (s.reason.as_str(), s.count))
        .collect();
    assert_eq!(
        reasons,
        [
            ("entry with a state no tool writes (first at entry 1)", 2),
            (
                "entry with a start type no tool writes (first at entry 3)",
                1
            )
        ]
    );
}

#[test]
fn win32_service_takes_state_not_status() {
    let s = one(
        r#"{"Name": "Fax", "Status": "OK", "State": "Stopped", "StartMode": "Auto",
            "StartName": "LocalSystem", "PathName": "C:\\fax.exe", "DisplayName": "Fax"}"#,
    );
    assert_eq!(s.state, Some(ServiceState::Stopped));
    assert_eq!(s.start_type, Some(StartType::Automatic));
    assert_eq!(s.account.as_deref(), Some("LocalSystem"));
    assert_eq!(s.image_path.as_deref(), Some("C:\\fax.exe"));
    assert_eq!(s.display_name.as_deref(), Some("Fax"));
    assert_eq!(s.depends_on, None);
}

#[test]
fn property_names_ignore_case() {
    let s = one(r#"{"name": "s", "STATUS": 4, "displayname": "S"}"#);
    assert_eq!(s.state, Some(ServiceState::Running));
    assert_eq!(s.display_name.as_deref(), Some("S"));
}

#[test]
fn dependencies_as_strings_objects_or_flattened() {
    let deps = |value: &str| {
        one(&format!(
            r#"{{"Name": "s", "Status": 4, "ServicesDependedOn": {value}}}"#
        ))
        .depends_on
    };
    assert_eq!(
        deps(r#"["RpcSs", "http"]"#),
        Some(vec!["RpcSs".into(), "http".into()])
    );
    assert_eq!(
        deps(r#"[{"Name": "RpcSs", "ServicesDependedOn": [{"Name": "x"}]}]"#),
        Some(vec!["RpcSs".into()])
    );
    assert_eq!(deps("[]"), Some(vec![]));
    assert_eq!(deps("null"), None);
    assert_eq!(deps(r#""System.ServiceProcess.ServiceController[]""#), None);
    assert_eq!(deps(r#"["System.ServiceProcess.ServiceController"]"#), None);
    // RequiredServices, the alias, when ServicesDependedOn is not there.
    let s = one(r#"{"Name": "s", "Status": 4, "RequiredServices": [{"Name": "a"}]}"#);
    assert_eq!(s.depends_on, Some(vec!["a".into()]));
}

#[test]
fn json_shapes() {
    assert_eq!(services(r#"[{"Name": "a", "Status": 4}]"#).len(), 1);
    assert_eq!(
        services(
            r#"{"value": [{"Name": "a", "Status": 4}, {"Name": "b", "Status": 1}], "Count": 2}"#
        )
        .len(),
        2
    );
    assert_eq!(
        reasons(r#"[{"Name": "a", "Status": 4}, 3, {"Status": 1}]"#),
        [
            (
                "entry that is not an object (first at entry 2)".to_string(),
                1
            ),
            ("entry without a `Name` (first at entry 3)".to_string(), 1)
        ]
    );
}

#[test]
fn detection_by_content() {
    assert_eq!(
        detect(br#"[{"Name": "a", "Status": 4}]"#),
        Some(ServiceFormat::PowerShellJson)
    );
    assert_eq!(
        detect(br#"{"Name": "a", "ServiceName": "a"}"#),
        Some(ServiceFormat::PowerShellJson)
    );
    assert_eq!(detect(br#"{"kbrules_snapshot": 1, "services": []}"#), None);
    assert_eq!(detect(br#"{"Name": "a"}"#), None);
    assert_eq!(detect(b"[]"), None);
    assert_eq!(detect(br#"[1, 2]"#), None);
    assert_eq!(
        detect(b"\"Name\",\"Status\"\r\n\"a\",\"Running\"\r\n"),
        Some(ServiceFormat::PowerShellCsv)
    );
    assert_eq!(detect(b"\"Path\",\"Length\"\r\n"), None);
    assert_eq!(
        detect(b"\r\nSERVICE_NAME: a\r\n"),
        Some(ServiceFormat::ScText)
    );
    assert_eq!(detect(b"REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\K]\n"), None);
    assert_eq!(detect(b""), None);
}

#[test]
fn errors_say_why_with_e0410() {
    let d = error(br#"{"kbrules_snapshot": 1}"#);
    assert_eq!(d.code, Code::InvalidServiceList);
    assert!(d.message.contains("kbrules snapshot"), "{}", d.message);
    let d = error(b"[{\"Name\": \"a\",\n \"Status\": ");
    assert_eq!(d.code, Code::InvalidServiceList);
    assert_eq!(d.position.map(|p| p.0), Some(2));
    assert_eq!(error(b"  \n").message, "`t` is empty");
    assert_eq!(error(b"hello").message, "`t` is not a service list");
    assert!(error(b"hello").help.is_some());
}

#[test]
fn utf16_with_and_without_a_mark() {
    let text = r#"[{"Name": "Café", "Status": 4}]"#;
    let units: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut marked = vec![0xff, 0xfe];
    marked.extend(&units);
    for bytes in [marked, units] {
        let (services, _) = read(&bytes, "t").unwrap_or_default();
        assert_eq!(services.first().map(|s| s.name.as_str()), Some("Café"));
    }
}

#[test]
fn windows_1252_when_not_utf8() {
    let s = one_bytes(b"SERVICE_NAME: a\r\nDISPLAY_NAME: Caf\xe9 \x80\r\n");
    assert_eq!(s.display_name.as_deref(), Some("Café €"));
}

fn one_bytes(bytes: &[u8]) -> Service {
    let (mut services, skipped) = read(bytes, "t").unwrap_or_default();
    assert!(skipped.is_empty(), "{skipped:?}");
    assert_eq!(services.len(), 1);
    services.remove(0)
}

#[test]
fn csv_quotes_newlines_and_widths() {
    let text = "#TYPE System.ServiceProcess.ServiceController\r\n\
                \"Name\",\"DisplayName\",\"Status\",\"StartType\"\r\n\
                \"a\",\"say \"\"hi\"\"\r\nagain\",\"Running\",\"Manual\"\r\n\
                \"b\",\"B\",\"Stopped\"\r\n\
                \"c\",,,\r\n\
                \"d\",\"D\",\"Running\",\"Auto";
    let (services, skipped) = list(text);
    let names: Vec<_> = services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["a", "c"]);
    assert_eq!(
        services[0].display_name.as_deref(),
        Some("say \"hi\"\r\nagain")
    );
    assert_eq!(services[0].start_type, Some(StartType::Manual));
    assert_eq!(services[1].display_name, None);
    assert_eq!(services[1].state, None);
    let reasons: Vec<_> = skipped
        .iter()
        .map(|s| (s.reason.as_str(), s.count))
        .collect();
    assert_eq!(
        reasons,
        [
            (
                "row with more or fewer fields than the header (first at line 5)",
                1
            ),
            ("row cut off inside a quoted field (first at line 7)", 1)
        ]
    );
}

#[test]
fn csv_with_another_delimiter() {
    let s = one("\"Name\";\"Status\";\"StartType\"\n\"a\";\"4\";\"2\"\n");
    assert_eq!(s.state, Some(ServiceState::Running));
    assert_eq!(s.start_type, Some(StartType::Automatic));
}

#[test]
fn sc_dependencies_continue_over_lines() {
    let s = one(
        "SERVICE_NAME: a\n        START_TYPE         : 4   DISABLED\n        \
         DEPENDENCIES       : b\n                           : c\n\
         \x20       SERVICE_START_NAME : LocalSystem\n",
    );
    assert_eq!(s.depends_on, Some(vec!["b".into(), "c".into()]));
    assert_eq!(s.start_type, Some(StartType::Disabled));
    assert_eq!(s.account.as_deref(), Some("LocalSystem"));
    // No DEPENDENCIES line: unknown; an empty one: none.
    assert_eq!(one("SERVICE_NAME: a\n").depends_on, None);
    assert_eq!(
        one("SERVICE_NAME: a\n        DEPENDENCIES       :\n").depends_on,
        Some(vec![])
    );
}

#[test]
fn sc_blocks_merge_by_name_first_value_kept() {
    let all = services(
        "SERVICE_NAME: a\n        STATE              : 4  RUNNING\n\n\
         SERVICE_NAME: A\n        STATE              : 1  STOPPED\n        \
         START_TYPE         : 3   DEMAND_START\n",
    );
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].name, "a");
    assert_eq!(all[0].state, Some(ServiceState::Running));
    assert_eq!(all[0].start_type, Some(StartType::Manual));
}

#[test]
fn sc_failures_and_stray_lines_are_counted() {
    let text = "C:\\>sc qc nope\n[SC] OpenService FAILED 1060:\n\nThe specified service does not \
                exist as an installed service.\n\nSERVICE_NAME: a\n        STATE              : \
                9  ASLEEP\nSERVICE_NAME:\n";
    assert_eq!(
        reasons(text),
        [
            (
                "line outside any `SERVICE_NAME:` block (first at line 1)".to_string(),
                1
            ),
            ("`[SC] … FAILED` report (first at line 2)".to_string(), 1),
            (
                "service with a `STATE` sc does not write (first at line 6)".to_string(),
                1
            ),
            (
                "`SERVICE_NAME:` with no name (first at line 8)".to_string(),
                1
            ),
        ]
    );
}
