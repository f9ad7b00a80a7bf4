//! The command line as a user runs it: exit codes, output formats, paths.

// Test helpers fail loudly on a broken fixture, as the tests themselves may (clippy.toml).
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

use assert_cmd::Command;

fn kbrules() -> Command {
    let mut cmd = Command::cargo_bin("kbrules").expect("the binary is built");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create dir");
    }
    std::fs::write(&path, text).expect("write");
    path
}

/// Writes `text` as `name` in a fresh directory and runs `kbrules ARGS… FILE` on it.
fn run_on(name: &str, text: &str, args: &[&str]) -> (std::process::Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), name, text);
    let out = kbrules().args(args).arg(&file).output().expect("runs");
    (out, dir)
}

const THREE_BROKEN: &str = r#"rule Q1 {
    title "one"
    when event id 4086 and
    diagnose "x"
}

rule Q2 {
    title "fine"
    when event source "MSExchangeIMC" id 4087
    diagnose "y"
}

rule Q3 {
    title "two"
    when event id 7000 level = error
    diagnose "z"
}

rule Q4 {
    titel "three"
    when service "SNMP" running
    diagnose "w"
}
"#;

const WARNING_ONLY: &str = r#"condition snmp = service "SNMP" present

rule Q1 {
    title "no diagnosis"
    when event id 4087
}
"#;

#[test]
fn check_shipped_rules_is_clean() {
    let out = kbrules().args(["check", "rules/"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains(": 0 errors, 0 warnings"), "{text}");
}

#[test]
fn check_defaults_to_rules_directory() {
    let out = kbrules().arg("check").output().expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let explicit = kbrules().args(["check", "rules"]).output().expect("runs");
    assert_eq!(stdout(&out), stdout(&explicit));
}

#[test]
fn three_broken_rules_give_three_syntax_errors() {
    let (out, _dir) = run_on("broken.kbr", THREE_BROKEN, &["check", "--format", "short"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines.iter().all(|l| l.contains("error[E0001]")), "{text}");
    let rows: Vec<&str> = lines
        .iter()
        .map(|l| l.split(':').nth(1).unwrap_or(""))
        .collect();
    assert_eq!(rows, vec!["4", "15", "20"], "{text}");
}

#[test]
fn short_format_lines_match_the_problem_matcher_pattern() {
    let re = regex::Regex::new(r"^(.+):(\d+):(\d+): (error|warning)\[([EW]\d{4})\]: (.+)$")
        .expect("regex");
    let out = kbrules()
        .args(["check", "--format", "short", "tests/fixtures/invalid"])
        .output()
        .expect("runs");
    let text = stdout(&out);
    assert!(text.lines().count() >= 40, "{text}");
    for line in text.lines() {
        assert!(re.is_match(line), "not a problem-matcher line: {line}");
    }
}

#[test]
fn json_format_is_one_document_with_locations() {
    let (out, _dir) = run_on("broken.kbr", THREE_BROKEN, &["check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(doc["kbrules_check"], 1);
    assert_eq!(doc["errors"], 3);
    assert_eq!(doc["warnings"], 0);
    let first = &doc["diagnostics"][0];
    assert_eq!(first["code"], "E0001");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["line"], 4);
    assert_eq!(first["column"], 5);
    assert!(first["end_line"].as_u64().is_some() && first["end_column"].as_u64().is_some());
    assert!(
        first["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("broken.kbr"))
    );
    assert!(
        first["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("expected"))
    );
    assert!(
        doc["diagnostics"][2]["help"]
            .as_str()
            .is_some_and(|h| h.contains("`title`"))
    );
}

#[test]
fn json_carries_suggestions() {
    let (out, _dir) = run_on(
        "state.kbr",
        "rule Q1 {\n    title \"t\"\n    when service \"SNMP\" runing\n    diagnose \"d\"\n}\n",
        &["check", "--format", "json"],
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let d = &doc["diagnostics"][0];
    assert_eq!(d["code"], "E0207");
    assert_eq!(d["suggestion"]["replacement"], "running");
    assert_eq!(d["suggestion"]["line"], 3);
    assert_eq!(d["suggestion"]["column"], 25);
}

#[test]
fn sarif_format_is_sarif_2_1_0() {
    let out = kbrules()
        .args(["check", "--format", "sarif", "tests/fixtures/invalid"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(doc["version"], "2.1.0");
    assert!(
        doc["$schema"]
            .as_str()
            .is_some_and(|s| s.contains("sarif-2.1.0"))
    );
    let run = &doc["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "kbrules");
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let results = run["results"].as_array().expect("results");
    assert!(results.len() >= 40);
    for r in results {
        let index = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], r["ruleId"]);
        assert!(matches!(r["level"].as_str(), Some("error" | "warning")));
        let region = &r["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().is_some_and(|l| l >= 1));
        assert!(
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .is_some_and(|u| u.ends_with(".kbr"))
        );
    }
}

#[test]
fn warnings_fail_only_with_deny_warnings() {
    let (out, dir) = run_on("warn.kbr", WARNING_ONLY, &["check", "--format", "short"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("warning[W0001]") && text.contains("warning[W0002]"),
        "{text}"
    );
    let denied = kbrules()
        .args(["check", "--deny-warnings"])
        .arg(dir.path().join("warn.kbr"))
        .output()
        .expect("runs");
    assert_eq!(denied.status.code(), Some(1));
}

#[test]
fn a_missing_path_is_an_io_error() {
    let out = kbrules()
        .args(["check", "--format", "short", "no/such/dir"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    assert!(
        text.starts_with("no/such/dir:1:1: error[E0007]: cannot read `no/such/dir`"),
        "{text}"
    );
}

#[test]
fn a_file_that_is_not_utf8_names_the_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("latin1.kbr");
    std::fs::write(&path, b"rule Q1 {\n  title \"caf\xe9\"\n}\n").expect("write");
    let out = kbrules()
        .args(["check", "--format", "short"])
        .arg(&path)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains(":2:13: error[E0002]:"), "{text}");
    assert!(text.contains("invalid byte at offset 22"), "{text}");
}

#[test]
fn a_file_over_the_size_limit_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("huge.kbr");
    let line =
        "// padding padding padding padding padding padding padding padding padding padding\n";
    let text = line.repeat(kbrules::source::MAX_FILE_SIZE / line.len() + 1);
    std::fs::write(&path, text).expect("write");
    let out = kbrules()
        .args(["check", "--format", "short"])
        .arg(&path)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("error[E0006]"), "{}", stdout(&out));
}

#[test]
fn directories_are_searched_for_kbr_files_and_names_resolve_across_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "shared/conditions.kbr",
        "condition snmp_installed = service \"SNMP\" present\n",
    );
    write(
        dir.path(),
        "exchange/imc.kbr",
        "rule Q1 {\n  title \"t\"\n  when snmp_installed and event source \"MSExchangeIMC\" id 4087\n  diagnose \"d\"\n}\n",
    );
    write(dir.path(), "notes.txt", "this is not a rule file {");
    let out = kbrules()
        .args(["check"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("checked 2 files: 0 errors, 0 warnings"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn human_output_renders_source_and_help() {
    let (out, dir) = run_on(
        "imc.kbr",
        "rule Q298565 {\n    title \"IMC\"\n    when imc_instaled\n    diagnose \"d\"\n}\n\ncondition imc_installed = service \"MSExchangeIMC\" present\n",
        &["check", "--color", "never"],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out).replace(&dir.path().display().to_string(), "<dir>");
    insta::assert_snapshot!(text);
}

#[test]
fn graph_prints_dot() {
    let out = kbrules().args(["graph", "rules/"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.starts_with("digraph kbrules {"), "{text}");
    assert!(text.contains("Q298565") && text.trim_end().ends_with('}'));
}

#[test]
fn graph_of_broken_rules_fails_with_diagnostics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "broken.kbr", THREE_BROKEN);
    let out = kbrules().arg("graph").arg(&file).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("E0001"));
}

#[test]
fn usage_errors_exit_2() {
    let out = kbrules()
        .args(["check", "--format", "xml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--format"));
    let out = kbrules().arg("frobnicate").output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let help = kbrules().arg("--help").output().expect("runs");
    assert_eq!(help.status.code(), Some(0));
    assert!(stdout(&help).contains("check"));
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("UTF-8 output")
}

/// Runs `kbrules eval --all INPUT --rules FILE`, with `rules` written to a fresh file.
fn eval_all_with_rules(input: &str, rules: &str) -> std::process::Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "r.kbr", rules);
    kbrules()
        .args(["eval", "--all", input, "--rules"])
        .arg(&file)
        .output()
        .expect("runs")
}

/// Runs `kbrules ARGS…` in the project's directory.
fn run(args: &[&str]) -> std::process::Output {
    kbrules().args(args).output().expect("runs")
}

/// The seed library: the rules the sample snapshots were written for.
const SEED: [&str; 4] = [
    "rules/catalogue.kbr",
    "rules/common.kbr",
    "rules/exchange/imc.kbr",
    "rules/iis/metabase.kbr",
];

/// Runs `kbrules eval|explain|needs ARGS…` on the seed library, so that the growth of the
/// library does not change what these tests see.
fn run_seed(args: &[&str]) -> std::process::Output {
    let mut cmd = kbrules();
    cmd.args(args);
    if args.first() == Some(&"needs") {
        cmd.args(SEED);
    } else {
        for file in SEED {
            cmd.args(["--rules", file]);
        }
    }
    cmd.output().expect("runs")
}

const SAMPLE: &str = "examples/snapshots/Q298565-fires.json";

#[test]
fn eval_prints_the_fired_diagnosis_with_evidence_and_exits_1() {
    let out = run_seed(&["eval", SAMPLE]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("examples/snapshots/Q298565-fires.json: 2 events, 4 rules\n"),
        "{text}"
    );
    assert!(
        text.contains("\nerror Q298565: Internet Mail Connector does not start, event 4086\n"),
        "{text}"
    );
    assert!(text.contains("  evidence:\n"), "{text}");
    assert!(text.contains("    - registry HKLM\\System\\CurrentControlSet\\Services\\MSExchangeIMC\\Parameters\\SiteDN (REG_SZ) = o=Contoso/ou=Europe\n"), "{text}");
    assert!(text.contains("    1. Start Registry Editor"), "{text}");
    assert!(
        text.trim_end()
            .ends_with("1 fired, 0 not fired, 3 not applicable, 0 not evaluable, 0 superseded"),
        "{text}"
    );
    // Without --all, the other verdicts are only counted.
    assert!(!text.contains("not applicable:\n"), "{text}");
}

#[test]
fn eval_all_lists_every_verdict_with_its_reason() {
    let out = run_seed(&["eval", "--all", "examples/snapshots/Q182346-fires.json"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("superseded:\n  Q182346_protocols: "),
        "{text}"
    );
    assert!(text.contains("    superseded by Q182346\n"), "{text}");
    assert!(text.contains("not applicable:\n  Q298565: "), "{text}");
}

#[test]
fn eval_exits_0_when_nothing_fired_and_names_what_is_needed() {
    let out = run_seed(&[
        "eval",
        "--all",
        "examples/snapshots/Q298565-not-evaluable.json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.contains("not evaluable:\n  Q298565: Internet Mail Connector does not start, event 4086\n    needs fact exchange.site_dn\n"), "{text}");
}

#[test]
fn eval_json_is_one_report_and_deterministic() {
    let run = || {
        let out = run_seed(&["eval", "--format", "json", SAMPLE]);
        assert_eq!(out.status.code(), Some(1));
        stdout(&out)
    };
    let first = run();
    assert_eq!(first, run());
    let report: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(report["kbrules_report"], 1);
    assert_eq!(report["rules"]["count"], 4);
    assert_eq!(report["summary"]["fired"], 1);
    let ids: Vec<&str> = report["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["rule"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["Q182346", "Q182346_protocols", "Q298565", "Q303283"]);
    let q = &report["verdicts"][2];
    assert_eq!(q["verdict"], "fired");
    assert_eq!(q["evidence"][2]["kind"], "event");
    assert_eq!(q["evidence"][2]["record_id"], 1041);
}

#[test]
fn eval_of_several_snapshots_prints_json_lines() {
    let out = run_seed(&[
        "eval",
        "--format",
        "json",
        SAMPLE,
        "examples/snapshots/Q298565-not-fired.json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    for line in lines {
        let report: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(report["kbrules_report"], 1);
    }
}

#[test]
fn eval_reports_a_bad_snapshot_with_its_path_line_and_code() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "bad.json",
        "{\n  \"kbrules_snapshot\": 1,\n  \"events\": [\n    { \"log\": \"System\", \"source\": \"SRV\", \"id\": \"2000\" }\n  ]\n}\n",
    );
    let out = kbrules()
        .args(["eval", "--color", "never"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("error[E0402]: events[0].id: invalid type: string \"2000\", expected an event id (a whole number)"),
        "{err}"
    );
    assert!(err.contains("bad.json:4:"), "{err}");
    assert!(stdout(&out).is_empty());
}

#[test]
fn eval_with_broken_rules_exits_2_with_their_errors() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "r.kbr",
        "rule Q1 { title \"x\" when service \"A\" runnning diagnose \"y\" }\n",
    );
    let out = kbrules()
        .args(["eval", "--color", "never", SAMPLE, "--rules"])
        .arg(&rules)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("error[E0001]") || err.contains("error[E0207]"),
        "{err}"
    );
    assert!(err.contains("the rules do not compile: 1 error"), "{err}");
}

#[test]
fn explain_shows_the_condition_tree_with_values() {
    let out = run_seed(&[
        "explain",
        "Q298565",
        "examples/snapshots/Q298565-not-fired.json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "Q298565: Internet Mail Connector does not start, event 4086\nverdict: not fired\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("\nwhen\n  false   all of\n    true    condition imc_installed\n"),
        "{text}"
    );
    assert!(text.contains("    false   site != fact exchange.site_dn\n            observed: o=Contoso/ou=Europe vs o=Contoso/ou=Europe\n"), "{text}");
}

#[test]
fn explain_json_and_unknown_rules() {
    let out = run_seed(&[
        "explain",
        "--format",
        "json",
        "Q303283",
        "examples/snapshots/Q303283-not-evaluable.json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let e: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(e["verdict"]["verdict"], "not_evaluable");
    assert_eq!(e["when"]["value"], "unknown");
    assert_eq!(e["when"]["needs"][0]["kind"], "event_messages");

    let out = run_seed(&["explain", "--color", "never", "Q298566", SAMPLE]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("error[E0405]: there is no rule `Q298566`"),
        "{err}"
    );
    assert!(err.contains("did you mean `Q298565`?"), "{err}");
}

#[test]
fn needs_lists_what_the_rules_read() {
    let out = run_seed(&["needs"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.contains("event logs:\n  Application, id 2086 (with message text)\n  Application, source \"MSExchangeIMC\", id 4086, 4087\n"), "{text}");
    assert!(text.contains("registry:\n  HKLM\\System\\CurrentControlSet\\Services\\MSExchangeIMC\\Parameters [SiteDN]\n"), "{text}");
    assert!(
        text.contains("facts:\n  exchange.site_dn (text)\n"),
        "{text}"
    );

    let out = run_seed(&["needs", "--format", "json"]);
    let needs: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        needs["services"],
        serde_json::json!(["MacFile", "MSExchangeIMC", "SNMP"])
    );
    assert_eq!(
        needs["products"],
        serde_json::json!(["Exchange Server", "Internet Information Services"])
    );
}

#[test]
fn a_snapshot_over_the_size_limit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.json");
    // A sparse file: the size is checked before anything is read.
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(kbrules::snapshot::MAX_SNAPSHOT_SIZE + 1)
        .unwrap();
    drop(file);
    let out = kbrules()
        .args(["eval", "--color", "never"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("error[E0404]: "), "{err}");
    assert!(
        err.contains("more than the 2147483648 a snapshot may hold"),
        "{err}"
    );
}

#[test]
fn eval_reads_a_real_registry_export() {
    let export = "../shared/data/reg/atlas/win10_20H2_default_services_start.reg";
    let out = eval_all_with_rules(
        export,
        r#"rule DhcpAuto {
    title "DHCP Client starts automatically"
    when registry "HKLM\SYSTEM\CurrentControlSet\Services\Dhcp" value "Start" dword == 2 as setting
    diagnose "Start is {setting}."
}
rule Elsewhere {
    title "A key outside the export"
    when registry "HKLM\SOFTWARE\Contoso" value "X" missing
    diagnose "x"
}
"#,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("\nerror DhcpAuto: DHCP Client starts automatically\n  Start is 2.\n"),
        "{text}"
    );
    assert!(
        text.contains("    - registry HKLM\\SYSTEM\\CurrentControlSet\\Services\\Dhcp\\Start (REG_DWORD) = 2\n"),
        "{text}"
    );
    // Only the exported keys were collected.
    assert!(
        text.contains("    needs registry key HKLM\\SOFTWARE\\Contoso\n"),
        "{text}"
    );
}

#[test]
fn an_unrecognised_input_lists_what_is_read() {
    let (out, _dir) = run_on(
        "notes.txt",
        "Event 4086 at 10:15\n",
        &["eval", "--color", "never"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("error[E0408]: `"), "{err}");
    assert!(
        err.contains("notes.txt` is not an input kbrules reads"),
        "{err}"
    );
    assert!(err.contains("registry exports"), "{err}");
}

#[test]
fn eval_reads_a_real_event_log() {
    let log = "../shared/data/evtx/system/LM_Remote_Service02_7045.evtx";
    let out = eval_all_with_rules(
        log,
        r#"rule NewService {
    title "A service was installed"
    when event System source "Service Control Manager" id 7045 as installed
    diagnose "{installed.data.ServiceName} was installed from {installed.data.ImagePath}."
}
rule NeedsText {
    title "A message condition on a log without rendered text"
    when event System source "Service Control Manager" id 7045 message contains "PSEXESVC"
    diagnose "x"
}
"#,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(": 3 events, 2 rules\n"), "{text}");
    assert!(
        text.contains("\nerror NewService: A service was installed\n"),
        "{text}"
    );
    assert!(
        text.contains("    - event 7045 from Service Control Manager in System"),
        "{text}"
    );
    // An .evtx carries no message text: the condition cannot be decided, and the report says so.
    assert!(
        text.contains("not evaluable:\n  NeedsText: A message condition on a log without rendered text\n    needs rendered event messages in log System\n"),
        "{text}"
    );
}

#[test]
fn a_damaged_event_log_is_evaluated_with_what_was_skipped() {
    let log = "../shared/data/evtx/damaged/sysmon_bad-chunk.evtx";
    let out = run_seed(&["eval", log]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("sysmon_bad-chunk.evtx: 358 events, 4 rules\n"),
        "{text}"
    );
    assert!(text.contains("\nskipped 8 in "), "{text}");
}

#[test]
fn eval_reads_a_service_list() {
    let out = eval_all_with_rules(
        "tests/fixtures/services/get-service-ps5.json",
        r#"rule ImcStopped {
    title "The Internet Mail Connector is installed but not running"
    when service "MSExchangeIMC" present as imc and not service "MSExchangeIMC" running
    diagnose "{imc.name} is {imc}."
}
rule NoSnmp {
    title "SNMP is installed"
    when service "SNMP" present
    diagnose "x"
}
"#,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("\nerror ImcStopped: "), "{text}");
    assert!(text.contains("  MSExchangeIMC is stopped.\n"), "{text}");
    // The list is the whole list: a service it does not hold is not installed.
    assert!(text.contains("not fired:\n  NoSnmp: SNMP is installed\n    service \"SNMP\" present: service SNMP is not installed\n"), "{text}");
}

#[test]
fn eval_reads_a_bundle_directory_as_one_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("case-1234");
    std::fs::create_dir_all(bundle.join("logs")).unwrap();
    let copy = |from: &str, to: &str| {
        std::fs::copy(from, bundle.join(to)).unwrap();
    };
    copy(
        "../shared/data/evtx/system/LM_Remote_Service02_7045.evtx",
        "logs/System.evtx",
    );
    copy(
        "../shared/data/reg/atlas/win10_20H2_default_services_start.reg",
        "services.reg",
    );
    copy(
        "tests/fixtures/services/get-service-ps5.json",
        "services.json",
    );
    write(
        &bundle,
        "system.json",
        r#"{ "kbrules_snapshot": 1,
             "os": { "name": "Windows NT Server", "version": "4.0.1381", "service_pack": 6 },
             "products": [ { "name": "Exchange Server", "version": "5.5.2653", "service_pack": 3 } ] }"#,
    );
    write(&bundle, ".DS_Store", "ignored: hidden");
    let rules = write(
        dir.path(),
        "r.kbr",
        r#"rule Everything {
    title "Event, service, registry value and product together"
    applies product "Exchange Server" 5.5
    when event System source "Service Control Manager" id 7045 as installed
     and service "MSExchangeIMC" present
     and registry "HKLM\SYSTEM\CurrentControlSet\Services\Dhcp" value "Start" dword == 2
    diagnose "{installed.data.ServiceName} was installed."
}
rule OtherLog {
    title "A log the bundle does not hold"
    when event Application source "MSExchangeIMC" id 4086
    diagnose "x"
}
"#,
    );
    let out = kbrules()
        .args(["eval", "--all"])
        .arg(&bundle)
        .arg("--rules")
        .arg(&rules)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("case-1234: 3 events, 2 rules\n"), "{text}");
    assert!(text.contains("\nerror Everything: "), "{text}");
    assert!(text.contains("    - registry HKLM\\SYSTEM\\CurrentControlSet\\Services\\Dhcp\\Start (REG_DWORD) = 2\n"), "{text}");
    assert!(
        text.contains("    - product Exchange Server 5.5.2653 SP3"),
        "{text}"
    );
    // What the bundle holds is what was collected: only the System log.
    assert!(
        text.contains(
            "  OtherLog: A log the bundle does not hold\n    needs events in log Application\n"
        ),
        "{text}"
    );

    // A file that is no input is an error, not silently left out.
    write(&bundle, "notes.txt", "collected on Tuesday\n");
    let out = kbrules()
        .args(["eval", "--color", "never"])
        .arg(&bundle)
        .arg("--rules")
        .arg(&rules)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("notes.txt` is not an input kbrules reads"),
        "{}",
        stderr(&out)
    );
}

const SCM_7045: &str = "../shared/data/evtx/system/LM_Remote_Service02_7045.evtx";

#[test]
fn snapshot_summary_counts_an_event_log_by_source_and_id() {
    let out = run(&["snapshot", SCM_7045, "--summary"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    // The ground truth of this file: 3 records, all Service Control Manager 7045.
    assert!(
        text.starts_with(&format!(
            "{SCM_7045}\n  events: 3 in 1 log\n    System: 3\n      Service Control Manager 7045: 3\n  registry: 0 keys, 0 values\n"
        )),
        "{text}"
    );
    assert!(text.ends_with("  skipped: nothing\n"), "{text}");
    // `--summary` alone writes no snapshot.
    assert!(!text.contains("kbrules_snapshot"), "{text}");
}

#[test]
fn snapshot_merges_inputs_into_a_file_that_evaluates_as_they_do() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("case");
    std::fs::create_dir_all(&bundle).unwrap();
    std::fs::copy(SCM_7045, bundle.join("System.evtx")).unwrap();
    std::fs::copy(
        "tests/fixtures/services/sc-queryex-and-qc.txt",
        bundle.join("services.txt"),
    )
    .unwrap();
    let rules = write(
        dir.path(),
        "r.kbr",
        r#"rule Installed {
    title "a service was installed"
    when event System source "Service Control Manager" id 7045 data["ServiceName"] like "*"
    diagnose "installed"
}
rule Atlas {
    title "a boot driver"
    when registry "HKLM\SYSTEM\CurrentControlSet\Services\3ware" value "Start" == 0
    diagnose "boot"
}
"#,
    );
    let reg = "../shared/data/reg/atlas/win10_20H2_default_drivers_start.reg";
    let target = dir.path().join("case.json");
    let out = kbrules()
        .arg("snapshot")
        .arg(&bundle)
        .arg(reg)
        .arg("-o")
        .arg(&target)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(json["kbrules_snapshot"], 1);
    assert_eq!(json["collected"]["events"], serde_json::json!(["System"]));
    assert_eq!(json["collected"]["services"], true);
    // Nothing but the snapshot was left in the directory.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["case", "case.json", "r.kbr"]);
    // The merged file and the inputs themselves give the same verdicts.
    let verdicts = |input: &[&Path]| {
        let out = kbrules()
            .args(["eval", "--format", "json", "--rules"])
            .arg(&rules)
            .args(input)
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        report["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| format!("{} {}", v["rule"], v["verdict"]))
            .collect::<Vec<_>>()
    };
    let from_file = verdicts(&[&target]);
    assert_eq!(
        from_file,
        ["\"Atlas\" \"fired\"", "\"Installed\" \"fired\""]
    );
    // (`--rules` takes one path; the input after it is not taken for a rule file.)
    let merged_dir = dir.path().join("both");
    std::fs::create_dir_all(&merged_dir).unwrap();
    std::fs::copy(bundle.join("System.evtx"), merged_dir.join("System.evtx")).unwrap();
    std::fs::copy(bundle.join("services.txt"), merged_dir.join("services.txt")).unwrap();
    std::fs::copy(reg, merged_dir.join("drivers.reg")).unwrap();
    assert_eq!(verdicts(&[&merged_dir]), from_file);
}

#[test]
fn snapshot_to_standard_output_puts_the_summary_on_stderr() {
    let out = run(&["snapshot", SCM_7045, "-o", "-", "--summary"]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["events"].as_array().unwrap().len(), 3);
    assert!(stderr(&out).contains("  events: 3 in 1 log\n"));
    // Without `-o` or `--summary`, the snapshot goes to standard output.
    let out = run(&["snapshot", SCM_7045]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["collected"]["events"], serde_json::json!(["System"]));
}

#[test]
fn snapshot_writes_nothing_when_an_input_cannot_be_read() {
    let dir = tempfile::tempdir().unwrap();
    let notes = write(dir.path(), "notes.txt", "collected on Tuesday\n");
    let target = dir.path().join("out.json");
    std::fs::write(&target, "previous").unwrap();
    let out = kbrules()
        .args(["snapshot", "--color", "never", SCM_7045])
        .arg(&notes)
        .arg("-o")
        .arg(&target)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("E0408"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "previous");
    // A target that cannot be written is an error too, and leaves no temporary file.
    let out = kbrules()
        .args(["snapshot", "--color", "never", SCM_7045, "-o"])
        .arg(dir.path().join("missing/out.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot write"), "{}", stderr(&out));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn snapshot_summary_of_a_registry_export_a_service_list_and_a_mixed_bundle() {
    let reg = "../shared/data/reg/atlas/win10_20H2_default_drivers_start.reg";
    let out = run(&["snapshot", reg, "--summary"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("  events: 0 in 0 logs\n  registry: 258 keys, 258 values\n    HKLM: 258 keys, 258 values\n  services: not collected\n"),
        "{text}"
    );
    let list = "tests/fixtures/services/sc-queryex-and-qc.txt";
    let text = stdout(&run(&["snapshot", list, "--summary"]));
    assert!(text.contains("  services: 4\n"), "{text}");
    assert!(
        text.contains("  skipped:\n    1 in tests/fixtures/services/sc-queryex-and-qc.txt: "),
        "{text}"
    );
    // A bundle mixing them with a damaged event log: the skipped chunks are reported.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(reg, dir.path().join("drivers.reg")).unwrap();
    std::fs::copy(list, dir.path().join("services.txt")).unwrap();
    std::fs::copy(
        "../shared/data/evtx/damaged/sysmon_bad-chunk.evtx",
        dir.path().join("sysmon.evtx"),
    )
    .unwrap();
    let out = kbrules()
        .args(["snapshot", "--summary"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Not a terminal: no progress bar, nothing on stderr.
    assert_eq!(stderr(&out), "");
    let text = stdout(&out);
    for line in [
        "  events: 358 in 1 log\n",
        "    Microsoft-Windows-Sysmon/Operational: 358\n",
        "      Microsoft-Windows-Sysmon 1: 227\n",
        "  registry: 258 keys, 258 values\n",
        "  services: 4\n",
        "sysmon.evtx: damaged chunk skipped with its records (first: failed to parse chunk number 9",
    ] {
        assert!(text.contains(line), "{line:?} in {text}");
    }
    assert!(text.contains("    8 in "), "{text}");
}

const TESTED_RULES: &str = r#"rule Q1 {
    title "SNMP or Macintosh services with event 4087"
    when event Application source "MSExchangeIMC" id 4087
     and (service "SNMP" present or service "MacFile" present)
    diagnose "reinstall them"
}
"#;

/// A snapshot with event 4087 and the services named.
fn snapshot_with(services: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "kbrules_snapshot": 1,
        "services": services.iter().map(|s| serde_json::json!({ "name": s })).collect::<Vec<_>>(),
        "events": [ { "log": "Application", "source": "MSExchangeIMC", "id": 4087 } ]
    })
}

fn run_tests(dir: &Path, args: &[&str]) -> std::process::Output {
    kbrules()
        .args(["test", "--color", "never"])
        .args(args)
        .arg(dir)
        .output()
        .unwrap()
}

#[test]
fn test_passes_checks_necessity_and_reports_coverage() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "q1.kbr", TESTED_RULES);
    std::fs::write(
        dir.path().join("fixtures.json"),
        snapshot_with(&["SNMP"]).to_string(),
    )
    .unwrap();
    let tests = serde_json::json!({
        "kbrules_tests": 1,
        "cases": [
            { "name": "SNMP", "rule": "Q1", "snapshot": "fixtures.json", "verdict": "fired",
              "evidence": [ { "kind": "service", "name": "snmp" }, { "kind": "event", "id": 4087 } ] },
            { "name": "nothing installed", "rule": "Q1", "snapshot": snapshot_with(&[]), "verdict": "not_fired" }
        ]
    });
    write(dir.path(), "q1.tests.json", &tests.to_string());
    let out = run_tests(dir.path(), &[]);
    let text = stdout(&out);
    // MacFile is never shown to matter: no firing case has it alone.
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("  ok    Q1 — SNMP (line 1)\n"), "{text}");
    assert!(
        text.contains("  ok    Q1 — nothing installed (line 1)\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "necessity: 1 condition no firing case shows to matter (negated, the rule still fires)\n  Q1: service \"MacFile\" present\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("coverage: 1 of 1 rule tested; 3 conditions of tested rules, 1 never seen true, 1 never seen false\n"),
        "{text}"
    );
    assert!(text.ends_with("\n2 passed, 0 failed\n"), "{text}");
    // Without the check, the run passes.
    assert_eq!(
        run_tests(dir.path(), &["--no-necessity"]).status.code(),
        Some(0)
    );
    // A case with MacFile alone proves it.
    let mut tests = tests;
    tests["cases"].as_array_mut().unwrap().push(serde_json::json!(
        { "name": "MacFile", "rule": "Q1", "snapshot": snapshot_with(&["MacFile"]), "verdict": "fired" }
    ));
    write(dir.path(), "q1.tests.json", &tests.to_string());
    let out = run_tests(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out)
            .contains("necessity: every condition of every tested rule matters to a firing case\n")
    );
}

#[test]
fn test_failures_show_what_differs() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "q1.kbr", TESTED_RULES);
    let tests = serde_json::json!({
        "kbrules_tests": 1,
        "cases": [
            { "name": "expects the wrong verdict", "rule": "Q1", "snapshot": snapshot_with(&[]), "verdict": "fired" },
            { "name": "expects evidence not cited", "rule": "Q1", "snapshot": snapshot_with(&["SNMP"]), "verdict": "fired",
              "evidence": [ { "kind": "service", "name": "MacFile" } ] }
        ]
    });
    write(
        dir.path(),
        "q1.tests.json",
        &serde_json::to_string_pretty(&tests).unwrap(),
    );
    let out = run_tests(dir.path(), &["--no-necessity"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains(
            "  FAIL  Q1 — expects the wrong verdict (line 4)\n        verdict: expected fired, got not_fired\n          first condition that does not hold: any of\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "  FAIL  Q1 — expects evidence not cited (line 20)\n        evidence: {\"kind\":\"service\",\"name\":\"MacFile\"} is not cited; cited:\n            - event 4087 from MSExchangeIMC in Application\n            - service SNMP\n"
        ),
        "{text}"
    );
    assert!(text.ends_with("\n0 passed, 2 failed\n"), "{text}");
    // The same as JSON.
    let out = run_tests(dir.path(), &["--no-necessity", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["summary"],
        serde_json::json!({ "passed": 0, "failed": 2 })
    );
    assert_eq!(json["cases"][0]["actual"], "not_fired");
    assert_eq!(json["cases"][0]["expected"], "fired");
    assert!(json.get("necessity").is_none());
}

#[test]
fn test_errors_name_the_case_and_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "q1.kbr", TESTED_RULES);
    let tests = "{\n  \"kbrules_tests\": 1,\n  \"cases\": [\n{ \"name\": \"fires\", \"rule\": \"Q2\", \"snapshot\": \"missing.json\", \"verdict\": \"fired\" },\n{ \"name\": \"fires\", \"rule\": \"Q1\", \"snapshot\": \"missing.json\", \"verdict\": \"fired\" },\n{ \"name\": \"bad\", \"rule\": \"Q1\", \"verdict\": \"fired\", \"snapshot\": {\n  \"kbrules_snapshot\": 1, \"services\": 3 } }\n  ]\n}\n";
    write(dir.path(), "q1.tests.json", tests);
    let out = run_tests(dir.path(), &["--no-necessity"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    let file = dir.path().join("q1.tests.json").display().to_string();
    let missing = dir.path().join("missing.json").display().to_string();
    assert!(
        err.contains(&format!(
            "error[E0503]: test `fires` is of rule `Q2`, which the library does not have\n  help: did you mean `Q1`?\n  --> {file}:4:1\n"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "error[E0504]: the snapshot of test `fires` cannot be read: cannot read `{missing}`: No such file or directory (os error 2) (E0007: {missing})\n"
        )),
        "{err}"
    );
    // An inline snapshot's error is placed inside it.
    assert!(
        err.contains("error[E0504]: the snapshot of test `bad` cannot be read: services: "),
        "{err}"
    );
    assert!(err.contains(&format!("  --> {file}:7:")), "{err}");
    assert!(
        stdout(&out).contains("  ERROR Q1 — bad (line 6)\n"),
        "{}",
        stdout(&out)
    );
}

const UNFORMATTED: &str = "rule Q1 { title \"t\"\nwhen service \"A\" running // the cause\n  and service \"B\" stopped diagnose \"d\" }\n";

const FORMATTED: &str = r#"rule Q1 {
    title    "t"
    when service "A" running // the cause
     and service "B" stopped
    diagnose "d"
}
"#;

#[test]
fn fmt_check_shows_a_diff_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "rules/a.kbr", UNFORMATTED);
    let out = kbrules()
        .args(["fmt", "--check"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("(formatted)"), "{text}");
    assert!(text.contains("+     and service \"B\" stopped\n"), "{text}");
    assert!(text.ends_with("1 file of 1 not formatted\n"), "{text}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), UNFORMATTED);
}

#[test]
fn fmt_rewrites_a_file_and_then_finds_it_formatted() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "rules/a.kbr", UNFORMATTED);
    let out = kbrules().arg("fmt").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "formatted 1 file of 1\n");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), FORMATTED);
    // Nothing else was left in the folder (the temporary file was renamed over it).
    let names: Vec<_> = std::fs::read_dir(dir.path().join("rules"))
        .unwrap()
        .collect();
    assert_eq!(names.len(), 1);
    let out = kbrules()
        .args(["fmt", "--check"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "1 file already formatted\n");
}

#[test]
fn fmt_never_writes_a_file_that_does_not_parse() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.kbr", UNFORMATTED);
    let bad = write(dir.path(), "bad.kbr", THREE_BROKEN);
    let out = kbrules().arg("fmt").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let errors = String::from_utf8(out.stderr).unwrap();
    assert!(errors.contains("E0001"), "{errors}");
    assert_eq!(std::fs::read_to_string(&bad).unwrap(), THREE_BROKEN);
    // The file that parses is formatted all the same.
    assert_eq!(std::fs::read_to_string(&good).unwrap(), FORMATTED);
}

#[test]
fn fmt_stdin_formats_standard_input() {
    let out = kbrules()
        .args(["fmt", "--stdin"])
        .write_stdin(UNFORMATTED)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), FORMATTED);
    let out = kbrules()
        .args(["fmt", "--stdin"])
        .write_stdin(THREE_BROKEN)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        "",
        "nothing is written for text that does not parse"
    );
    assert!(String::from_utf8(out.stderr).unwrap().contains("<stdin>"));
}
