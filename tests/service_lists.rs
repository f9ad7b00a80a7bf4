//! The service-list reader against hand-made examples of what Windows tools write
//! (`tests/fixtures/services/`): every field of several services, states and start types as
//! numbers and names, dependencies, `sc qc` merged into `sc queryex`, and no truncation or
//! mutation of them makes the reader panic.

// Test helpers fail loudly on a broken fixture, as the tests themselves may (clippy.toml).
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

use kbrules::Code;
use kbrules::ir::{ServiceState, StartType};
use kbrules::snapshot::services::{ServiceFormat, detect_service_list, read_service_list};
use kbrules::snapshot::{Service, Skipped};

const FIXTURES: &[&str] = &[
    "get-service-one-utf16.json",
    "get-service-ps5.csv",
    "get-service-ps5.json",
    "get-service-ps7.csv",
    "get-service-ps7.json",
    "get-service-semicolon.csv",
    "sc-query-one.txt",
    "sc-queryex-and-qc.txt",
    "sc-queryex.txt",
    "win32-service-cim.json",
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/services")
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap()
}

fn load(name: &str) -> (Vec<Service>, Vec<Skipped>) {
    read_service_list(&bytes(name), name)
        .unwrap_or_else(|d| panic!("{name}: {}: {} at {:?}", d.code, d.message, d.position))
}

/// The services of a fixture that must skip nothing.
fn clean(name: &str) -> Vec<Service> {
    let (services, skipped) = load(name);
    assert!(skipped.is_empty(), "{name}: {skipped:?}");
    services
}

fn strings(items: &[&str]) -> Option<Vec<String>> {
    Some(items.iter().map(|s| (*s).to_string()).collect())
}

/// A service, one argument per field in the order `Service` declares them.
fn service(
    name: &str,
    display_name: Option<&str>,
    state: Option<ServiceState>,
    start_type: Option<StartType>,
    account: Option<&str>,
    image_path: Option<&str>,
    depends_on: Option<Vec<String>>,
) -> Service {
    Service {
        name: name.into(),
        display_name: display_name.map(Into::into),
        state,
        start_type,
        account: account.map(Into::into),
        image_path: image_path.map(Into::into),
        depends_on,
    }
}

#[test]
fn every_fixture_is_detected_as_its_format() {
    for name in FIXTURES {
        let expected = match name.rsplit('.').next() {
            Some("json") => ServiceFormat::PowerShellJson,
            Some("csv") => ServiceFormat::PowerShellCsv,
            _ => ServiceFormat::ScText,
        };
        assert_eq!(detect_service_list(&bytes(name)), Some(expected), "{name}");
    }
    // The files in the folder are the files listed.
    let mut on_disk: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, FIXTURES);
}

#[test]
fn powershell_5_json_with_numbers_and_nested_dependencies() {
    use ServiceState::*;
    use StartType::*;
    let services = clean("get-service-ps5.json");
    assert_eq!(
        services,
        [
            service(
                "LanmanServer",
                Some("Server"),
                Some(Running),
                Some(Automatic),
                None,
                None,
                strings(&["SamSS", "Srv2"])
            ),
            service(
                "MSExchangeIMC",
                Some("Microsoft Exchange Internet Mail Connector"),
                Some(Stopped),
                Some(Automatic),
                None,
                None,
                strings(&["MSExchangeMTA"])
            ),
            // The depth limit flattened its dependencies to a type name: unknown, not none.
            service(
                "RemoteRegistry",
                Some("Remote Registry"),
                Some(Stopped),
                Some(Disabled),
                None,
                None,
                None
            ),
            service(
                "Spooler",
                Some("Print Spooler"),
                Some(Paused),
                Some(Manual),
                None,
                None,
                strings(&["RPCSS", "http"])
            ),
            service(
                "W32Time",
                Some("Windows Time"),
                Some(StartPending),
                Some(Manual),
                None,
                None,
                Some(vec![])
            ),
        ]
    );
}

#[test]
fn powershell_7_json_with_names_account_and_program() {
    use ServiceState::*;
    use StartType::*;
    let services = clean("get-service-ps7.json");
    assert_eq!(
        services,
        [
            service(
                "wuauserv",
                Some("Windows Update"),
                Some(StopPending),
                Some(Automatic),
                Some("LocalSystem"),
                Some("C:\\WINDOWS\\system32\\svchost.exe -k netsvcs -p"),
                strings(&["rpcss"])
            ),
            service(
                "Audiosrv",
                Some("Windows Audio"),
                Some(Running),
                Some(Automatic),
                Some("NT AUTHORITY\\LocalService"),
                Some("C:\\WINDOWS\\System32\\svchost.exe -k LocalServiceNetworkRestricted -p"),
                strings(&["AudioEndpointBuilder", "RpcSs"])
            ),
            service(
                "disk",
                Some("Disk Driver"),
                Some(Running),
                Some(Boot),
                None,
                Some("\\SystemRoot\\System32\\drivers\\disk.sys"),
                Some(vec![])
            ),
        ]
    );
}

#[test]
fn one_service_as_an_object_in_utf16() {
    let services = clean("get-service-one-utf16.json");
    assert_eq!(
        services,
        [service(
            "Spooler",
            Some("Print Spooler"),
            Some(ServiceState::Running),
            Some(StartType::Automatic),
            None,
            None,
            strings(&["RPCSS", "http"])
        )]
    );
}

#[test]
fn win32_service_objects() {
    use ServiceState::*;
    use StartType::*;
    let services = clean("win32-service-cim.json");
    assert_eq!(
        services,
        [
            service(
                "Dnscache",
                Some("DNS Client"),
                Some(Running),
                Some(Automatic),
                Some("NT AUTHORITY\\NetworkService"),
                Some("C:\\WINDOWS\\system32\\svchost.exe -k NetworkService -p"),
                None
            ),
            service(
                "Fax",
                Some("Fax"),
                Some(Stopped),
                Some(Disabled),
                Some("NT AUTHORITY\\NetworkService"),
                Some("C:\\WINDOWS\\system32\\fxssvc.exe"),
                None
            ),
            service(
                "msiserver",
                Some("Windows Installer"),
                Some(StartPending),
                Some(Manual),
                Some("LocalSystem"),
                Some("C:\\WINDOWS\\system32\\msiexec.exe /V"),
                None
            ),
        ]
    );
}

#[test]
fn export_csv_from_powershell_5_and_7() {
    use ServiceState::*;
    use StartType::*;
    assert_eq!(
        clean("get-service-ps5.csv"),
        [
            service(
                "AJRouter",
                Some("AllJoyn Router Service"),
                Some(Stopped),
                Some(Manual),
                None,
                None,
                None
            ),
            service(
                "Dhcp",
                Some("DHCP Client"),
                Some(Running),
                Some(Automatic),
                None,
                None,
                None
            ),
            service(
                "MSExchangeIMC",
                Some("Microsoft Exchange \"Internet\" Mail Connector"),
                Some(Stopped),
                Some(Disabled),
                None,
                None,
                None
            ),
        ]
    );
    assert_eq!(
        clean("get-service-ps7.csv"),
        [
            service(
                "Spooler",
                Some("Print Spooler"),
                Some(Running),
                Some(Automatic),
                Some("LocalSystem"),
                Some("C:\\WINDOWS\\System32\\spoolsv.exe"),
                None
            ),
            service(
                "W32Time",
                Some("Windows Time"),
                Some(Paused),
                Some(Manual),
                Some("NT AUTHORITY\\LocalService"),
                Some("C:\\WINDOWS\\system32\\svchost.exe -k LocalService"),
                None
            ),
        ]
    );
    assert_eq!(
        clean("get-service-semicolon.csv"),
        [
            service(
                "Browser",
                Some("Computer Browser"),
                Some(Stopped),
                Some(Disabled),
                None,
                None,
                None
            ),
            service(
                "Netlogon",
                Some("Netlogon"),
                Some(StartPending),
                Some(Manual),
                None,
                None,
                None
            ),
        ]
    );
}

#[test]
fn sc_query_and_queryex() {
    use ServiceState::*;
    assert_eq!(
        clean("sc-query-one.txt"),
        [service(
            "Spooler",
            None,
            Some(Paused),
            None,
            None,
            None,
            None
        )]
    );
    assert_eq!(
        clean("sc-queryex.txt"),
        [
            service(
                "LanmanServer",
                Some("Server"),
                Some(Running),
                None,
                None,
                None,
                None
            ),
            service(
                "MSExchangeIMC",
                Some("Microsoft Exchange Internet Mail Connector"),
                Some(Stopped),
                None,
                None,
                None,
                None
            ),
            service(
                "TermService",
                Some("Remote Desktop Services"),
                Some(StopPending),
                None,
                None,
                None,
                None
            ),
        ]
    );
}

#[test]
fn sc_qc_merges_into_sc_queryex() {
    use ServiceState::*;
    use StartType::*;
    let (services, skipped) = load("sc-queryex-and-qc.txt");
    assert_eq!(
        services,
        [
            service(
                "LanmanServer",
                Some("Server"),
                Some(Running),
                Some(Automatic),
                Some("LocalSystem"),
                Some("C:\\WINDOWS\\system32\\svchost.exe -k netsvcs -p"),
                strings(&["SamSS", "Srv2"])
            ),
            service(
                "MSExchangeIMC",
                Some("Microsoft Exchange Internet Mail Connector"),
                Some(Stopped),
                Some(Automatic),
                Some("LocalSystem"),
                Some("C:\\exchsrvr\\connect\\msexcimc\\bin\\msexcimc.exe"),
                strings(&["MSExchangeMTA"])
            ),
            service(
                "TermService",
                Some("Remote Desktop Services"),
                Some(StopPending),
                Some(Manual),
                Some("NT Authority\\NetworkService"),
                Some("C:\\WINDOWS\\System32\\svchost.exe -k NetworkService"),
                strings(&["RPCSS"])
            ),
            // Only in `sc qc`: no state; its empty DEPENDENCIES line says it has none.
            service(
                "Beep",
                Some("Beep"),
                None,
                Some(System),
                None,
                None,
                Some(vec![])
            ),
        ]
    );
    let skipped: Vec<_> = skipped
        .iter()
        .map(|s| (s.reason.as_str(), s.count))
        .collect();
    assert_eq!(skipped, [("`[SC] … FAILED` report (first at line 73)", 1)]);
}

#[test]
fn a_file_that_is_no_service_list_is_e0410() {
    for (text, message) in [
        (
            &b"just some notes\n"[..],
            "`notes.txt` is not a service list",
        ),
        (b"", "`notes.txt` is empty"),
        (
            b"{\"kbrules_snapshot\": 1}",
            "`notes.txt` is a kbrules snapshot, not a service list",
        ),
    ] {
        let d = read_service_list(text, "notes.txt").unwrap_err();
        assert_eq!(d.code, Code::InvalidServiceList);
        assert_eq!(d.message, message);
        assert_eq!(d.file.as_deref(), Some("notes.txt"));
        assert!(d.help.is_some());
    }
}

/// Every prefix of every fixture either reads or is E0410; a prefix never panics.
#[test]
fn truncations_never_panic() {
    for name in FIXTURES {
        let all = bytes(name);
        for end in 0..all.len() {
            if let Err(d) = read_service_list(&all[..end], name) {
                assert_eq!(d.code, Code::InvalidServiceList, "{name} cut at {end}");
            }
        }
    }
}

/// Every byte of every fixture replaced by a few others: no panic, and errors carry E0410.
#[test]
fn mutations_never_panic() {
    for name in FIXTURES {
        let all = bytes(name);
        for i in 0..all.len() {
            for b in [0u8, b'"', b':', b'\n', b',', b'[', 0xff] {
                let mut mutated = all.clone();
                mutated[i] = b;
                if let Err(d) = read_service_list(&mutated, name) {
                    assert_eq!(d.code, Code::InvalidServiceList, "{name}: byte {i} as {b}");
                }
            }
        }
    }
}
