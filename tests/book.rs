//! The book is tested: every `kbr` code block in `book/src` compiles, a block marked with a
//! code fails with exactly that code, and every code has a page in the error index whose
//! example produces it.
//!
//! Blocks are fenced with an info string:
//! - `kbr`: a complete rule file; it must check with no error and no warning;
//! - `kbr,condition`: one condition, checked as the `when` of a rule; no error allowed;
//! - `kbr,E0101` (any code): a complete file whose diagnostics all have that code;
//! - `json,E0402` (an E04xx code): a snapshot that loading refuses with that code;
//! - `reg,E0407` (an E04xx code): a registry export (`.reg`) that reading refuses with that code;
//! - `json,E0501` (an E05xx code): a rule test file that reading refuses with that code.
//!
//! In the error index, the `text` block that follows a marked example must be exactly what
//! `kbrules check --format short example.kbr` prints for it (for a snapshot, the error in the same
//! one-line form, `example.json:LINE:COLUMN: …`, or `example.reg:…` for a registry export); run
//! the tests with `KBRULES_BLESS=1` to rewrite those blocks after a message changes.
//!
//! Four codes cannot come from rule text in a page: E0002 (a file that is not UTF-8), E0006 (a
//! file over the size limit) and E0007 (a path that cannot be read) are produced by the tests
//! `a_file_that_is_not_utf8_names_the_byte`, `a_file_over_the_size_limit_is_refused` and
//! `a_missing_path_is_an_io_error` in `tests/cli.rs`; E0901 is an internal error that no input
//! should produce. E0404 (a snapshot over the size limit) and E0405 (a rule a command names that
//! does not exist) come from `a_snapshot_over_the_size_limit_is_refused` and
//! `explain_json_and_unknown_rules` in `tests/cli.rs`, and E0408 (an input that is neither a
//! snapshot nor an export) from `an_unrecognised_input_lists_what_is_read`.

// Test helpers fail loudly on a broken fixture, as the tests themselves may (clippy.toml).
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

use kbrules::{Code, Sources};

const NOT_FROM_TEXT: &[&str] = &[
    "E0002", "E0006", "E0007", "E0404", "E0405", "E0408", "E0901",
    // E0409: `a_file_that_is_not_an_event_log_is_e0409` in tests/evtx_ground_truth.rs.
    "E0409",
    // E0410: `a_file_that_is_no_service_list_is_e0410` in tests/service_lists.rs.
    "E0410",
    // E0503, E0504: `test_errors_name_the_case_and_the_cause` in tests/cli.rs.
    "E0503", "E0504",
];

struct Block {
    file: PathBuf,
    line: usize,
    info: String,
    text: String,
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("book directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            markdown_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

fn blocks(file: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(file).expect("readable page");
    let mut out = Vec::new();
    let mut open: Option<(usize, usize, String, String)> = None; // fence length, line, info, text
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let fence = trimmed.chars().take_while(|&c| c == '`').count();
        match &mut open {
            None if fence >= 3 => {
                let info = trimmed[fence..].trim().to_string();
                open = Some((fence, i + 1, info, String::new()));
            }
            Some((len, _, _, _)) if fence >= *len && trimmed[fence..].trim().is_empty() => {
                if let Some((_, start, info, body)) = open.take() {
                    out.push(Block {
                        file: file.to_path_buf(),
                        line: start,
                        info,
                        text: body,
                    });
                }
            }
            Some((_, _, _, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    out
}

fn book_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src")
}

fn all_blocks() -> Vec<Block> {
    let mut files = Vec::new();
    markdown_files(&book_src(), &mut files);
    files.sort();
    files.iter().flat_map(|f| blocks(f)).collect()
}

fn diagnostics_of(text: &str) -> Vec<kbrules::Diagnostic> {
    let mut sources = Sources::new();
    sources.add("example.kbr", text);
    kbrules::check(&sources).diagnostics
}

fn marked_code(info: &str) -> Option<&str> {
    info.split(',')
        .map(str::trim)
        .find(|a| Code::parse(a).is_some() && a.len() == 5)
}

#[test]
fn every_kbr_block_in_the_book_compiles() {
    let mut failures = Vec::new();
    let mut count = 0;
    for block in all_blocks() {
        let mut attrs = block.info.split(',').map(str::trim);
        if attrs.next() != Some("kbr") {
            continue;
        }
        count += 1;
        let rest: Vec<&str> = attrs.collect();
        let at = format!(
            "{}:{}",
            block
                .file
                .strip_prefix(book_src())
                .unwrap_or(&block.file)
                .display(),
            block.line
        );
        if let Some(code) = marked_code(&block.info) {
            let found: Vec<&str> = diagnostics_of(&block.text)
                .iter()
                .map(|d| d.code.as_str())
                .collect();
            if found.is_empty() || found.iter().any(|c| *c != code) {
                failures.push(format!("{at}: marked {code}, produced {found:?}"));
            }
        } else if rest == ["condition"] {
            let wrapped = format!(
                "rule Example {{\n    title \"example\"\n    when {}\n    diagnose \"example\"\n}}\n",
                block.text
            );
            let errors: Vec<String> = diagnostics_of(&wrapped)
                .iter()
                .filter(|d| d.is_error())
                .map(|d| format!("{}: {}", d.code, d.message))
                .collect();
            if !errors.is_empty() {
                failures.push(format!("{at}: condition does not compile: {errors:?}"));
            }
        } else if rest.is_empty() {
            let found: Vec<String> = diagnostics_of(&block.text)
                .iter()
                .map(|d| format!("{}: {}", d.code, d.message))
                .collect();
            if !found.is_empty() {
                failures.push(format!("{at}: expected no diagnostic, got {found:?}"));
            }
        } else {
            failures.push(format!("{at}: unknown block attributes `{}`", block.info));
        }
    }
    assert!(count >= 20, "only {count} kbr blocks in the book");
    assert!(
        failures.is_empty(),
        "{} failing blocks:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// What `kbrules check --format short example.kbr` prints for a file.
fn short_output(text: &str) -> String {
    let mut sources = Sources::new();
    sources.add("example.kbr", text);
    let checked = kbrules::check(&sources);
    checked
        .diagnostics
        .iter()
        .map(|d| {
            let at = d.location(&sources);
            format!(
                "example.kbr:{}:{}: {}[{}]: {}\n",
                at.start.line,
                at.start.column,
                d.severity.as_str(),
                d.code,
                d.message
            )
        })
        .collect()
}

/// Loads a block as the kind of input its info string names (`json`, a snapshot; `reg`, a
/// registry export): the file name it gets, and what loading gives.
fn load_input(info: &str, text: &str) -> Option<(&'static str, Result<(), kbrules::Diagnostic>)> {
    if info.starts_with("json,E05") {
        Some((
            "example.tests.json",
            kbrules::testing::parse_test_file(text.as_bytes(), "example.tests.json").map(drop),
        ))
    } else if info.starts_with("json") {
        Some((
            "example.json",
            kbrules::Snapshot::from_json(text, "example.json").map(drop),
        ))
    } else if info.starts_with("reg") {
        Some((
            "example.reg",
            kbrules::Snapshot::from_reg(text.as_bytes(), "example.reg").map(drop),
        ))
    } else {
        None
    }
}

/// The one-line form of the error loading an input block gives (`example.json:L:C: …`), or an
/// empty string.
fn input_short_output(name: &str, result: &Result<(), kbrules::Diagnostic>) -> String {
    match result {
        Ok(()) => String::new(),
        Err(d) => {
            let (line, column) = d.position.unwrap_or((1, 1));
            format!(
                "{name}:{line}:{column}: {}[{}]: {}\n",
                d.severity.as_str(),
                d.code,
                d.message
            )
        }
    }
}

#[test]
fn every_input_example_marked_with_a_code_is_refused_with_it() {
    let mut count = 0;
    let mut failures = Vec::new();
    for block in all_blocks() {
        let (Some(code), Some((_, result))) = (
            marked_code(&block.info),
            load_input(&block.info, &block.text),
        ) else {
            continue;
        };
        count += 1;
        match result {
            Ok(()) => failures.push(format!("{}:{}: loads", block.file.display(), block.line)),
            Err(d) if d.code.as_str() != code => failures.push(format!(
                "{}:{}: marked {code}, refused with {}",
                block.file.display(),
                block.line,
                d.code
            )),
            Err(_) => {}
        }
    }
    assert!(count >= 8, "only {count} marked input blocks");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn error_examples_show_what_kbrules_prints() {
    let bless = std::env::var_os("KBRULES_BLESS").is_some();
    let mut failures = Vec::new();
    for code in Code::ALL {
        let page = book_src().join(format!("errors/{}.md", code.as_str()));
        let Ok(text) = std::fs::read_to_string(&page) else {
            continue;
        };
        let found = blocks(&page);
        let mut new_text = text.clone();
        for pair in found.windows(2) {
            let (example, output) = (&pair[0], &pair[1]);
            if marked_code(&example.info).is_none() || output.info != "text" {
                continue;
            }
            let actual = if let Some((name, result)) = load_input(&example.info, &example.text) {
                if !output
                    .text
                    .lines()
                    .all(|l| l.starts_with(&format!("{name}:")))
                {
                    continue;
                }
                input_short_output(name, &result)
            } else {
                if !output.text.lines().all(|l| l.starts_with("example.kbr:")) {
                    continue;
                }
                short_output(&example.text)
            };
            if actual != output.text {
                if bless {
                    new_text = new_text.replacen(
                        &format!("```text\n{}```", output.text),
                        &format!("```text\n{actual}```"),
                        1,
                    );
                } else {
                    failures.push(format!(
                        "{}:{}: the page shows\n{}but kbrules prints\n{}",
                        code.as_str(),
                        output.line,
                        output.text,
                        actual
                    ));
                }
            }
        }
        if bless && new_text != text {
            std::fs::write(&page, new_text).expect("write page");
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n(run with KBRULES_BLESS=1 to update)",
        failures.join("\n")
    );
}

#[test]
fn every_code_has_a_page_whose_example_produces_it() {
    let summary = std::fs::read_to_string(book_src().join("SUMMARY.md")).expect("SUMMARY.md");
    let index =
        std::fs::read_to_string(book_src().join("errors/README.md")).expect("errors/README.md");
    let mut failures = Vec::new();
    for code in Code::ALL {
        let name = code.as_str();
        let page = book_src().join(format!("errors/{name}.md"));
        let Ok(text) = std::fs::read_to_string(&page) else {
            failures.push(format!("{name}: no page"));
            continue;
        };
        if !text.starts_with(&format!("# {name}")) {
            failures.push(format!("{name}: the page does not start with `# {name}`"));
        }
        if !summary.contains(&format!("errors/{name}.md")) {
            failures.push(format!("{name}: not in SUMMARY.md"));
        }
        if !index.contains(name) {
            failures.push(format!("{name}: not in the error index"));
        }
        let marked: Vec<Block> = blocks(&page)
            .into_iter()
            .filter(|b| {
                (b.info.starts_with("kbr")
                    || b.info.starts_with("json")
                    || b.info.starts_with("reg"))
                    && marked_code(&b.info).is_some()
            })
            .collect();
        for block in &marked {
            if marked_code(&block.info) != Some(name) {
                failures.push(format!(
                    "{name}: block at line {} is marked `{}`",
                    block.line, block.info
                ));
            }
        }
        if NOT_FROM_TEXT.contains(&name) {
            if !marked.is_empty() {
                failures.push(format!(
                    "{name}: cannot be shown by rule text, yet has a marked block"
                ));
            }
        } else if marked.is_empty() {
            failures.push(format!("{name}: no example block marked `kbr,{name}`"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The example test file of the rule tests page runs, as if it were beside the Exchange rules,
/// and passes against the shipped library.
#[test]
fn the_rule_tests_example_passes() {
    let page = book_src().join("testing.md");
    let example = blocks(&page)
        .into_iter()
        .find(|b| b.info == "json" && b.text.contains("\"kbrules_tests\""))
        .expect("an example test file");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let origin = root.join("rules/exchange/example.tests.json");
    let file =
        kbrules::testing::parse_test_file(example.text.as_bytes(), &origin.display().to_string())
            .unwrap_or_else(|d| panic!("testing.md:{}: {d}", example.line));
    let (sources, errors) = Sources::load_paths(&[root.join("rules")]);
    assert!(errors.is_empty());
    let rules = kbrules::RuleSet::compile(&sources).expect("the shipped rules compile");
    let run = kbrules::testing::run(&rules, &[file], false);
    let failed: Vec<_> = run
        .cases
        .iter()
        .filter(|c| !c.passed())
        .map(|c| format!("{}: {:?} {:?}", c.name, c.problems, c.error))
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(run.cases.len(), 3);
}
