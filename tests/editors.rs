//! The editor support in `editors/` agrees with the language: the VS Code extension's TextMate
//! grammar highlights every keyword of `grammar/kbrules.pest` and no other word, the server's
//! completion offers the same keywords, and the extension is wired to `kbrules lsp`.

// Tests fail loudly on a broken file (clippy.toml).
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// The keywords of the grammar: its `kw_NAME = @{ "NAME" ~ !ident_char }` rules.
fn grammar_keywords() -> BTreeSet<String> {
    let grammar = read("grammar/kbrules.pest");
    let rule = regex::Regex::new(r#"(?m)^kw_(\w+)\s*=\s*@\{\s*"(\w+)""#).unwrap();
    let words: BTreeSet<String> = rule
        .captures_iter(&grammar)
        .map(|c| c[2].to_string())
        .collect();
    assert!(words.len() > 60, "only {} keywords found", words.len());
    words
}

#[test]
fn the_textmate_grammar_highlights_exactly_the_keywords() {
    let grammar: Value =
        serde_json::from_str(&read("editors/vscode/syntaxes/kbrules.tmLanguage.json")).unwrap();
    let alternation = regex::Regex::new(r"^\\b\(([a-z|]+)\)\\b$").unwrap();
    let mut highlighted = BTreeSet::new();
    for pattern in grammar["repository"]["keywords"]["patterns"]
        .as_array()
        .unwrap()
    {
        let m = pattern["match"].as_str().unwrap();
        if let Some(c) = alternation.captures(m) {
            highlighted.extend(c[1].split('|').map(str::to_string));
        }
    }
    assert_eq!(highlighted, grammar_keywords());
}

#[test]
fn completion_offers_exactly_the_keywords() {
    let offered: BTreeSet<String> = kbrules::ide::KEYWORDS
        .iter()
        .map(|k| k.to_string())
        .collect();
    assert_eq!(offered, grammar_keywords());
}

#[test]
fn the_extension_starts_the_language_server_for_rule_and_test_files() {
    let package: Value = serde_json::from_str(&read("editors/vscode/package.json")).unwrap();
    let language = &package["contributes"]["languages"][0];
    assert_eq!(language["id"], "kbrules");
    assert_eq!(language["extensions"], serde_json::json!([".kbr"]));
    let grammar = &package["contributes"]["grammars"][0];
    assert_eq!(grammar["scopeName"], "source.kbrules");
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("editors/vscode")
            .join(grammar["path"].as_str().unwrap())
            .exists()
    );
    let main = read(&format!(
        "editors/vscode/{}",
        package["main"].as_str().unwrap()
    ));
    assert!(main.contains(r#"args: ["lsp"]"#), "{main}");
    assert!(main.contains(r#"language: "kbrules""#), "{main}");
    assert!(main.contains(r#"pattern: "**/*.tests.json""#), "{main}");
}
