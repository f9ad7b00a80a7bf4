//! The formatter, by its properties, over every rule file of the repository that parses (the
//! library, the valid, evaluation and invalid fixtures): formatting is idempotent; the
//! formatted text parses to the same tree (spans aside); every comment is kept, in order, in
//! the same item; the checker says the same of both. Then the layout itself, snapshotted on
//! `tests/fixtures/fmt/*.kbr`, and text that does not parse, refused.

// Test helpers fail loudly on a broken fixture, as the tests themselves may (clippy.toml).
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

use kbrules::syntax::lexer::{self, Token};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.kbr` file under a folder of the repository.
fn kbr_files(dir: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("a folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "kbr") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join(dir), &mut out);
    out.sort();
    out
}

/// Every rule file that parses, with its text.
fn parsing_files() -> Vec<(String, String)> {
    let mut files = Vec::new();
    for dir in [
        "rules",
        "tests/fixtures/valid",
        "tests/fixtures/eval",
        "tests/fixtures/invalid",
        "tests/fixtures/fmt",
    ] {
        for path in kbr_files(dir) {
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue; // the file that is not UTF-8
            };
            let (_, _, diagnostics) = kbrules::syntax::parse_str("x.kbr", &text);
            if diagnostics.is_empty() {
                let name = path.strip_prefix(root()).unwrap().display().to_string();
                files.push((name, text));
            }
        }
    }
    assert!(files.len() > 300, "only {} files parse", files.len());
    files
}

fn format(name: &str, text: &str) -> String {
    kbrules::fmt::format(text).unwrap_or_else(|d| panic!("{name} does not format: {d:?}"))
}

/// The syntax tree (its equality ignores spans).
fn tree(text: &str) -> Vec<kbrules::ast::Item> {
    let (_, file, diagnostics) = kbrules::syntax::parse_str("x.kbr", text);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    file.items
}

/// Each comment's text, with the number of the item it is in or before.
fn comments(text: &str) -> Vec<(usize, String)> {
    let tokens = lexer::tokens(text);
    let starts = lexer::item_starts(text, &tokens);
    tokens
        .iter()
        .filter(|t| matches!(t.token, Some(Token::LineComment | Token::BlockComment(_))))
        .map(|t| {
            let item = starts.iter().filter(|&&s| s <= t.start).count();
            (item, text[t.start..t.end].trim_end().to_string())
        })
        .collect()
}

/// What the checker says of a text: each diagnostic's code and message.
fn verdict(text: &str) -> Vec<String> {
    let mut sources = kbrules::Sources::new();
    sources.add("x.kbr", text);
    let mut out: Vec<String> = kbrules::check(&sources)
        .diagnostics
        .iter()
        .map(|d| format!("{} {}", d.code.as_str(), d.message))
        .collect();
    out.sort();
    out
}

#[test]
fn formatting_is_idempotent() {
    for (name, text) in parsing_files() {
        let once = format(&name, &text);
        let twice = format(&name, &once);
        assert_eq!(
            once, twice,
            "{name}: formatting the formatted text changes it"
        );
    }
}

#[test]
fn the_formatted_text_has_the_same_tree() {
    for (name, text) in parsing_files() {
        let formatted = format(&name, &text);
        assert_eq!(tree(&text), tree(&formatted), "{name}: the tree changed");
    }
}

#[test]
fn every_comment_stays_in_its_item_in_order() {
    let mut seen = 0;
    for (name, text) in parsing_files() {
        let formatted = format(&name, &text);
        let before = comments(&text);
        seen += before.len();
        assert_eq!(
            before,
            comments(&formatted),
            "{name}: comments moved or dropped"
        );
    }
    assert!(seen > 500, "only {seen} comments");
}

#[test]
fn the_checker_says_the_same_of_the_formatted_text() {
    // Line-based `allow(…)` comments included: a warning silenced before is silenced after.
    for (name, text) in parsing_files() {
        let formatted = format(&name, &text);
        assert_eq!(verdict(&text), verdict(&formatted), "{name}");
    }
}

#[test]
fn the_rule_library_is_formatted() {
    for path in kbr_files("rules") {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.display().to_string();
        assert_eq!(
            format(&name, &text),
            text,
            "{name} is not formatted: run `kbrules fmt rules/`"
        );
    }
}

#[test]
fn layouts() {
    insta::glob!("fixtures/fmt/*.kbr", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        insta::assert_snapshot!(format(&path.display().to_string(), &text));
    });
}

#[test]
fn text_that_does_not_parse_is_refused_with_its_errors() {
    let errors = kbrules::fmt::format("rule Q1 {\n    when event id 1 and\n}\n").unwrap_err();
    assert_eq!(
        errors.iter().map(|d| d.code.as_str()).collect::<Vec<_>>(),
        ["E0001"]
    );
}

#[test]
fn the_book_example_of_the_layout_is_formatted() {
    let page = std::fs::read_to_string(root().join("book/src/commands/fmt.md")).unwrap();
    let start = page.find("```kbr\n").expect("a kbr block") + "```kbr\n".len();
    let block = &page[start..start + page[start..].find("```").unwrap()];
    assert_eq!(format("fmt.md", block), block);
}
