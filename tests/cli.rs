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
