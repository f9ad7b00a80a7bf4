//! Rule text to syntax tree: the only module that sees pest's `Pair` and `Rule`.
//!
//! A file is first cut into top-level items by a logos token stream (`lexer.rs`); each item is
//! checked for lexical errors and nesting depth, then parsed alone with the pest grammar in
//! `grammar/kbrules.pest` and converted to the tree in [`crate::ast`] (`cst2ast.rs`). A broken
//! item yields one syntax error and the items around it still parse, so a file with three broken
//! rules gets three errors in one run. Pest's rule names are mapped to words a user knows
//! (`errors.rs`).

mod cst2ast;
mod errors;
pub mod lexer;

use pest::Parser as _;

use crate::ast;
use crate::diagnostics::{Code, Diagnostic};
use crate::source::{SourceId, Sources, Span};

/// Parentheses may nest this deep; deeper input is an error, not a stack overflow.
pub const MAX_NESTING: usize = 32;

mod grammar {
    #[derive(pest_derive::Parser)]
    #[grammar = "../grammar/kbrules.pest"]
    pub struct KbrParser;
}

pub(crate) use grammar::{KbrParser, Rule};

/// The stack the compiler runs on. The grammar's recursion is bounded by [`MAX_NESTING`], but
/// a debug build of the generated parser needs far more stack per level than a release build;
/// running on a thread of known stack size makes the bound hold on any caller's thread. The
/// memory is reserved, not committed: only what is used is touched.
pub const STACK_SIZE: usize = 64 << 20;

/// Runs `f` on a thread with [`STACK_SIZE`] of stack (or on this thread if none can be made).
pub(crate) fn with_stack<T: Send>(f: impl FnOnce() -> T + Send) -> Option<T> {
    std::thread::scope(|scope| {
        let builder = std::thread::Builder::new()
            .name("kbrules-compile".to_string())
            .stack_size(STACK_SIZE);
        match builder.spawn_scoped(scope, f) {
            Ok(handle) => handle.join().ok(),
            Err(_) => None,
        }
    })
}

/// Parses one file: the items that parsed, and a diagnostic for each that did not. Call it on a
/// thread with enough stack (see [`STACK_SIZE`]); [`crate::check`] and [`parse_str`] do.
pub fn parse_file(sources: &Sources, source: SourceId) -> (ast::File, Vec<Diagnostic>) {
    let mut file = ast::File {
        source,
        items: Vec::new(),
        broken: Vec::new(),
    };
    let mut diagnostics = Vec::new();
    let Some(text) = sources.get(source).map(|f| f.text()) else {
        diagnostics.push(Diagnostic::internal(None, "a file id with no file"));
        return (file, diagnostics);
    };
    pest::set_error_detail(true);
    let tokens = lexer::tokens(text);
    let mut bounds = lexer::item_starts(text, &tokens);
    if bounds.first() != Some(&0) {
        bounds.insert(0, 0);
    }
    bounds.push(text.len());
    for pair in bounds.windows(2) {
        let [start, end] = pair else { continue };
        let (start, end) = (*start, *end);
        let chunk_tokens: Vec<&lexer::Spanned> = tokens
            .iter()
            .filter(|t| t.start >= start && t.start < end)
            .collect();
        let lexical = lexical_errors(text, source, &chunk_tokens);
        if !lexical.is_empty() {
            diagnostics.extend(lexical);
            file.broken
                .extend(declared_name(text, source, &chunk_tokens));
            continue;
        }
        let Some(chunk) = text.get(start..end) else {
            diagnostics.push(Diagnostic::internal(
                Some(Span::new(source, start, end)),
                "an item boundary inside a character",
            ));
            continue;
        };
        match KbrParser::parse(Rule::item_only, chunk) {
            Ok(pairs) => {
                let mut convert = cst2ast::Converter::new(source, start);
                for pair in pairs.flatten().filter(|p| is_item(p.as_rule())) {
                    match convert.item(pair) {
                        // A number that overflowed was reported; the item is not checked on
                        // with a made-up value.
                        Ok(_) if !convert.diagnostics.is_empty() => {
                            file.broken
                                .extend(declared_name(text, source, &chunk_tokens));
                        }
                        Ok(item) => file.items.push(item),
                        Err(err) => diagnostics.push(err),
                    }
                }
                diagnostics.append(&mut convert.diagnostics);
            }
            Err(err) => {
                diagnostics.push(errors::syntax_error(text, source, start, chunk, &err));
                file.broken
                    .extend(declared_name(text, source, &chunk_tokens));
            }
        }
    }
    (file, diagnostics)
}

/// The kind and name an item declares, read from its first tokens (`rule Q1`, `fact a.b`).
fn declared_name(
    text: &str,
    source: SourceId,
    tokens: &[&lexer::Spanned],
) -> Option<(ast::DeclKind, ast::Ident)> {
    use lexer::Token;
    let mut words = tokens.iter().filter(|t| {
        !matches!(
            t.token,
            Some(Token::Newline | Token::LineComment | Token::BlockComment(_))
        )
    });
    let keyword = words.next()?;
    let kind = match text.get(keyword.start..keyword.end)? {
        "rule" => ast::DeclKind::Rule,
        "condition" => ast::DeclKind::Condition,
        "warning" => ast::DeclKind::Warning,
        "fact" => ast::DeclKind::Fact,
        _ => return None,
    };
    let first = words.next().filter(|t| t.token == Some(Token::Word))?;
    let mut end = first.end;
    if kind == ast::DeclKind::Fact {
        // A dotted name: `exchange.site_dn`, written without spaces.
        for t in words {
            let adjacent = t.start == end;
            let part = matches!(t.token, Some(Token::Word | Token::Number | Token::Punct));
            if !adjacent || !part || text.get(t.start..t.end) == Some(":") {
                break;
            }
            end = t.end;
        }
    }
    let name = text.get(first.start..end)?.to_string();
    Some((
        kind,
        ast::Node::new(name, Span::new(source, first.start, end)),
    ))
}

pub(crate) fn is_item(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::rule_item
            | Rule::condition_item
            | Rule::warning_item
            | Rule::fact_item
            | Rule::product_item
            | Rule::os_item
    )
}

/// What a stray character probably meant.
fn stray_help(found: &str) -> &'static str {
    match found.chars().next() {
        Some('\'') => "strings are written between double quotes: `\"text\"`",
        Some('&') => "write `and` as a word",
        Some('|') => "write `or` as a word",
        Some('!') => "write `not` as a word; `!=` compares",
        Some(';') => "no `;` is needed: a clause ends at the next keyword",
        Some('-') => {
            "names are letters, digits and `_`; text with other characters belongs in a string"
        }
        Some(c) if !c.is_ascii() => {
            "names are ASCII letters, digits and `_`; other text belongs in a string"
        }
        _ => "text belongs in a string, between double quotes",
    }
}

fn lexical_errors(text: &str, source: SourceId, tokens: &[&lexer::Spanned]) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = Vec::new();
    let mut last_stray_end = None;
    let mut depth = 0usize;
    let mut nots = 0usize;
    let mut too_deep = false;
    for t in tokens {
        let span = Span::new(source, t.start, t.end);
        let word = text.get(t.start..t.end).unwrap_or("");
        if t.token == Some(lexer::Token::Word) && word == "not" {
            nots += 1;
            if depth + nots > MAX_NESTING && !too_deep {
                too_deep = true;
                out.push(
                    Diagnostic::new(
                        Code::NestingTooDeep,
                        span,
                        format!("conditions nest more than {MAX_NESTING} deep"),
                    )
                    .with_label("this `not` is too deep")
                    .with_help(
                        "`not not x` is `x`: remove pairs of `not`, or name part of the condition",
                    ),
                );
            }
            continue;
        }
        if !matches!(
            t.token,
            Some(lexer::Token::Newline | lexer::Token::LineComment | lexer::Token::BlockComment(_))
        ) {
            nots = 0;
        }
        match t.token {
            None => {
                // A run of stray characters (`&&`) is one error.
                if last_stray_end == Some(t.start)
                    && let Some(previous) = out.last_mut()
                    && let Some(prev_span) = previous.span
                {
                    let merged = Span::new(source, prev_span.start as usize, t.end);
                    previous.span = Some(merged);
                    previous.message = format!("unexpected `{}`", text.get(merged.start as usize..t.end).unwrap_or(""));
                } else {
                    let found = text.get(t.start..t.end).unwrap_or("");
                    out.push(
                        Diagnostic::new(Code::UnexpectedCharacter, span, format!("unexpected character `{found}`"))
                            .with_label("no token starts with this character")
                            .with_help(stray_help(found)),
                    );
                }
                last_stray_end = Some(t.end);
            }
            Some(lexer::Token::String(false)) => out.push(
                Diagnostic::new(Code::UnterminatedString, span, "unterminated string")
                    .with_label("this string is not closed on its line")
                    .with_help(
                        "close the string with `\"` before the end of the line; write a quote inside a string as `\"\"`, \
                         and split long text into adjacent strings",
                    ),
            ),
            Some(lexer::Token::BlockComment(false)) => out.push(
                Diagnostic::new(Code::UnterminatedString, span, "unterminated block comment")
                    .with_label("this comment is never closed")
                    .with_help("close the comment with `*/`"),
            ),
            Some(lexer::Token::LParen) => {
                depth += 1;
                if depth > MAX_NESTING && !too_deep {
                    too_deep = true;
                    out.push(
                        Diagnostic::new(
                            Code::NestingTooDeep,
                            span,
                            format!("parentheses nest more than {MAX_NESTING} deep"),
                        )
                        .with_label("this parenthesis is too deep")
                        .with_help("name part of the condition with `condition NAME = …` and refer to it"),
                    );
                }
            }
            Some(lexer::Token::RParen) => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    out
}

/// Parses rule text given as a string, as a file named `name`: a convenience for tests and
/// embedders.
pub fn parse_str(name: &str, text: &str) -> (Sources, ast::File, Vec<Diagnostic>) {
    let mut sources = Sources::new();
    let id = sources.add(name, text);
    let (file, diagnostics) = with_stack(|| parse_file(&sources, id)).unwrap_or_else(|| {
        (
            ast::File {
                source: id,
                items: Vec::new(),
                broken: Vec::new(),
            },
            vec![Diagnostic::internal(
                None,
                "the parser thread could not run",
            )],
        )
    });
    (sources, file, diagnostics)
}
