//! Bad input never panics: every fixture, truncated at every point and mutated byte by byte,
//! still yields diagnostics whose locations are inside the file, and a graph exactly when there
//! is no error. Deep nesting is an error, not a stack overflow.

// Test helpers fail loudly on a broken fixture, as the tests themselves may (clippy.toml).
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

use kbrules::diagnostics::{RenderOptions, render_all};
use kbrules::{Code, Sources};

fn fixture_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    let mut dirs = vec![root.join("tests/fixtures"), root.join("rules")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable directory") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "kbr") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 5, "too few fixtures: {files:?}");
    files
}

/// Checks one input and asserts what must hold of any result.
fn check_bytes(bytes: &[u8], render: bool) {
    let mut sources = Sources::new();
    let id = match sources.add_bytes("input.kbr", bytes) {
        Ok(id) => id,
        Err(diagnostic) => {
            assert_eq!(diagnostic.code, Code::InvalidUtf8);
            assert!(
                diagnostic.position.is_some(),
                "a UTF-8 error names its position"
            );
            return;
        }
    };
    let len = sources.get(id).map_or(0, |f| f.text().len());
    let text = sources
        .get(id)
        .map(|f| f.text().to_string())
        .unwrap_or_default();
    let checked = kbrules::check(&sources);
    for d in &checked.diagnostics {
        assert_ne!(d.code, Code::Internal, "internal error on {text:?}: {d}");
        let span = d.span.expect("every diagnostic on rule text has a span");
        assert!(
            span.start <= span.end && (span.end as usize) <= len,
            "span {span:?} outside {len} bytes"
        );
        assert!(
            text.is_char_boundary(span.start as usize) && text.is_char_boundary(span.end as usize)
        );
        for label in &d.labels {
            assert!((label.span.end as usize) <= len, "label outside the file");
        }
    }
    assert_eq!(
        checked.graph.is_some(),
        !checked.has_errors(),
        "a graph exactly when there is no error"
    );
    if render {
        let out = render_all(&checked.diagnostics, &sources, RenderOptions::default());
        assert_eq!(out.is_empty(), checked.diagnostics.is_empty());
    }
}

#[test]
fn truncations_of_every_fixture() {
    for file in fixture_files() {
        let bytes = std::fs::read(&file).expect("readable");
        let step = (bytes.len() / 64).max(1);
        for (n, cut) in (0..=bytes.len()).step_by(step).enumerate() {
            check_bytes(bytes.get(..cut).unwrap_or(&bytes), n % 16 == 0);
        }
    }
}

#[test]
fn mutations_of_every_fixture() {
    const INTERESTING: &[u8] = b"\"(){}[]\n.=~<>!,:0 9aZ_\\/*#\xff\xc3";
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for file in fixture_files() {
        let original = std::fs::read(&file).expect("readable");
        if original.is_empty() {
            continue;
        }
        for round in 0..64 {
            let mut bytes = original.clone();
            let at = (next() % bytes.len() as u64) as usize;
            match next() % 4 {
                0 => {
                    let b = INTERESTING[(next() % INTERESTING.len() as u64) as usize];
                    if let Some(slot) = bytes.get_mut(at) {
                        *slot = b;
                    }
                }
                1 => {
                    bytes.remove(at);
                }
                2 => {
                    let b = INTERESTING[(next() % INTERESTING.len() as u64) as usize];
                    bytes.insert(at, b);
                }
                _ => {
                    let end = (at + (next() % 40) as usize).min(bytes.len());
                    let copy: Vec<u8> = bytes[at..end].to_vec();
                    let to = (next() % bytes.len() as u64) as usize;
                    bytes.splice(to..to, copy);
                }
            }
            check_bytes(&bytes, round % 16 == 0);
        }
    }
}

fn codes_of(text: &str) -> Vec<Code> {
    let mut sources = Sources::new();
    sources.add("deep.kbr", text);
    kbrules::check(&sources)
        .diagnostics
        .iter()
        .map(|d| d.code)
        .collect()
}

#[test]
fn deep_parentheses_are_an_error_not_a_stack_overflow() {
    let depth = 100_000;
    let text = format!(
        "rule Q1 {{\n  title \"deep\"\n  when {}event id 1{}\n  diagnose \"x\"\n}}\n",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    assert_eq!(codes_of(&text), vec![Code::NestingTooDeep]);
    let nested_quantifiers = format!(
        "rule Q1 {{\n  title \"deep\"\n  when {}event id 1{}\n  diagnose \"x\"\n}}\n",
        "any of (".repeat(depth),
        ")".repeat(depth)
    );
    assert_eq!(codes_of(&nested_quantifiers), vec![Code::NestingTooDeep]);
}

#[test]
fn nesting_at_the_limit_is_accepted() {
    let depth = kbrules::syntax::MAX_NESTING;
    let text = format!(
        "rule Q1 {{\n  title \"deep\"\n  when {}event id 1{}\n  diagnose \"x\"\n}}\n",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    assert_eq!(codes_of(&text), vec![]);
}

#[test]
fn long_chains_and_many_nots_do_not_recurse() {
    let nots = format!(
        "rule Q1 {{\n  title \"nots\"\n  when {}event id 1\n  diagnose \"x\"\n}}\n",
        "not ".repeat(100_000)
    );
    assert_eq!(codes_of(&nots), vec![Code::NestingTooDeep]);
    let few_nots = format!(
        "rule Q1 {{\n  title \"nots\"\n  when {}event id 1\n  diagnose \"x\"\n}}\n",
        "not ".repeat(kbrules::syntax::MAX_NESTING)
    );
    assert_eq!(codes_of(&few_nots), vec![]);
    let chain = (0..5_000)
        .map(|i| format!("event id {}", i % 65_536))
        .collect::<Vec<_>>()
        .join(" and ");
    let text = format!("rule Q1 {{\n  title \"chain\"\n  when {chain}\n  diagnose \"x\"\n}}\n");
    assert_eq!(codes_of(&text), vec![]);
}

#[test]
fn megabyte_tokens_do_not_overflow_the_stack() {
    let big = 2_000_000;
    let string = format!("warning w = \"{}\"\n", "a".repeat(big));
    assert_eq!(codes_of(&string), vec![Code::UnusedWarning]);
    let comment = format!("//{}\n", "x".repeat(big));
    assert_eq!(codes_of(&comment), vec![]);
    let blanks = format!(
        "{}rule Q1 {{\n title \"t\"\n when event id 1\n diagnose \"d\"\n}}\n",
        " ".repeat(big)
    );
    assert_eq!(codes_of(&blanks), vec![]);
    let word = format!("condition c{} = event id 1\n", "x".repeat(big));
    assert_eq!(codes_of(&word), vec![Code::UnusedCondition]);
    let number = format!(
        "rule Q1 {{\n title \"t\"\n when event id 1{}\n diagnose \"d\"\n}}\n",
        "0".repeat(big)
    );
    assert_eq!(codes_of(&number), vec![Code::NumberOutOfRange]);
}

#[test]
fn long_chains_of_named_conditions_are_an_error_not_a_stack_overflow() {
    let mut text: String = (0..9_000)
        .map(|i| format!("condition c{i} = c{}\n", i + 1))
        .collect();
    text.push_str(
        "condition c9000 = event id 1\nrule Q1 {\n title \"t\"\n when c0\n diagnose \"d\"\n}\n",
    );
    assert_eq!(codes_of(&text), vec![Code::NestingTooDeep]);
    let mut ok: String = (0..60)
        .map(|i| format!("condition c{i} = c{}\n", i + 1))
        .collect();
    ok.push_str(
        "condition c60 = event id 1\nrule Q1 {\n title \"t\"\n when c0\n diagnose \"d\"\n}\n",
    );
    assert_eq!(codes_of(&ok), vec![]);
}
