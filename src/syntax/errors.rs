//! pest's parse errors in a user's words.
//!
//! pest says what it expected as grammar rule names (`kw_when`, `version_spec`); this module
//! turns them into what a rule author knows ("a version, like `5.5 sp3`"), names the token that
//! was found, and adds help for the common slips.

use std::collections::BTreeSet;

use pest::error::{ErrorVariant, InputLocation};

use super::Rule;
use super::lexer::{self, Token};
use crate::diagnostics::{Code, Diagnostic};
use crate::source::{SourceId, Span};

/// What a grammar rule is, in words; `None` for rules that say nothing useful.
fn describe(rule: Rule) -> Option<&'static str> {
    use Rule::*;
    Some(match rule {
        EOI => "end of file",
        item_only | rule_item | condition_item | warning_item | fact_item | product_item
        | os_item => "an item (`rule`, `condition`, `warning`, `fact`, `product` or `os`)",
        title_clause | applies_clause | severity_clause | tags_clause | supersedes_clause
        | when_clause | diagnose_clause | step_clause | warn_clause | see_clause | fix_clause
        | kw_title | kw_applies | kw_severity | kw_tags | kw_supersedes | kw_when | kw_diagnose
        | kw_step | kw_warn | kw_see | kw_fix => {
            "a clause (`title`, `applies`, `severity`, `when`, `diagnose`, `step`, `fix`, …)"
        }
        expr | conj | unary | seq | paren | quantifier | count_cmp | comparison | bound
        | cond_ref | not_op | event_pred | registry_pred | service_pred | product_pred
        | os_pred | hotfix_pred | file_pred | component_pred | rule_ref => "a condition",
        fact_ref | to_number | path | version_lit | boolean => "a value",
        ident | dotted | word | article | tag => "a name",
        string | string_part => "a string",
        integer => "a number",
        version | dotted_number | sp_level | version_spec => "a version, like `5.5 sp3`",
        duration => "a duration, like `15m`",
        cmp_op => "a comparison (`==`, `!=`, `<`, `<=`, `>`, `>=`)",
        match_op => "a match (`~`, `contains`, `like`)",
        range_op => "a range (`..` or `..=`)",
        ev_source | ev_id | ev_level | ev_message | ev_data | ev_binary => {
            "an event filter (`source`, `id`, `level`, `message`, `data`, `binary`)"
        }
        event_log => "a log name",
        id_item => "an event id",
        reg_value => "`value`",
        reg_type => "a value type, like `dword`",
        reg_test | reg_count => "a value test (`missing`, `count`, `==`, …)",
        svc_start | svc_account | svc_depends | svc_image | svc_state => {
            "a service test (`running`, `stopped`, `start`, `account`, `depends on`, …)"
        }
        fix_install | fix_hotfix | fix_reg_set | fix_reg_delete | fix_restart_service
        | fix_restart_computer | fix_reinstall | fix_run => {
            "a fix (`install`, `hotfix`, `registry`, `restart`, `reinstall`, `run`)"
        }
        within => "`within`",
        followed_by => "`followed by`",
        aka => "`aka`",
        quantity => "`any`, `all` or a number",
        file_version => "`version`",
        kw_and => "`and`",
        kw_or => "`or`",
        kw_not => "`not`",
        kw_as => "`as`",
        kw_rule => "`rule`",
        kw_of => "`of`",
        kw_by => "`by`",
        kw_on => "`on`",
        kw_to => "`to`",
        kw_set => "`set`",
        kw_delete => "`delete`",
        kw_value => "`value`",
        kw_verify => "`verify`",
        kw_within => "`within`",
        kw_service => "`service`",
        kw_computer => "`computer`",
        kw_exists => "`exists`",
        kw_missing => "`missing`",
        kw_present => "`present`",
        kw_absent => "`absent`",
        kw_version => "`version`",
        _ => return None,
    })
}

/// The first token of `rest` that is not a comment or line break.
fn first_token(rest: &str) -> Option<lexer::Spanned> {
    lexer::tokens(rest).into_iter().find(|t| {
        !matches!(
            t.token,
            Some(Token::Newline | Token::LineComment | Token::BlockComment(_))
        )
    })
}

/// Describes the token found where the error is.
fn found(rest: &str, first: Option<lexer::Spanned>) -> String {
    let Some(t) = first else {
        return "end of file".to_string();
    };
    let text = rest.get(t.start..t.end).unwrap_or("");
    match t.token {
        Some(Token::String(_)) => "a string".to_string(),
        Some(Token::Word) if is_keyword(text) => format!("keyword `{text}`"),
        _ => format!("`{}`", truncate(text, 30)),
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(max).collect::<String>())
    }
}

/// The words the grammar reserves.
pub(crate) const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "as",
    "rule",
    "condition",
    "warning",
    "fact",
    "product",
    "os",
    "when",
    "title",
    "applies",
    "severity",
    "tags",
    "diagnose",
    "step",
    "warn",
    "see",
    "fix",
    "verify",
    "supersedes",
    "event",
    "registry",
    "service",
    "hotfix",
    "file",
    "component",
    "count",
    "within",
    "followed",
    "any",
    "all",
    "source",
    "id",
    "level",
    "message",
    "data",
    "value",
    "missing",
    "exists",
    "present",
    "absent",
    "start",
    "account",
    "depends",
    "image",
    "version",
    "contains",
    "like",
    "true",
    "false",
    "aka",
];

fn is_keyword(word: &str) -> bool {
    KEYWORDS.contains(&word)
}

fn join_or(items: &[String]) -> String {
    match items {
        [] => "something else".to_string(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// A syntax error for an item that did not parse.
pub(super) fn syntax_error(
    text: &str,
    source: SourceId,
    offset: usize,
    chunk: &str,
    err: &pest::error::Error<Rule>,
) -> Diagnostic {
    let mut pos = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    // Literal punctuation pest tried at its furthest position (`{`, `=`, `)`); words come
    // through rules. Attempts inside lookaheads (the keyword check) show no punctuation.
    let (max_position, punctuation) = match err.parse_attempts() {
        Some(attempts) => (
            attempts.max_position,
            attempts
                .expected_tokens()
                .iter()
                .map(ToString::to_string)
                .filter(|t| {
                    !t.is_empty() && t.len() <= 3 && t.chars().all(|c| "{}()[]=,:<>!~.".contains(c))
                })
                .map(|t| format!("`{t}`"))
                .collect::<BTreeSet<String>>(),
        ),
        None => (pos, BTreeSet::new()),
    };
    // pest places the error at the furthest *rule* it tried; a literal token tried further on
    // is the better place, and what it expected there the better list.
    let mut expected: BTreeSet<&'static str> = BTreeSet::new();
    let tokens = if max_position > pos && !punctuation.is_empty() {
        pos = max_position;
        punctuation
    } else {
        if let ErrorVariant::ParsingError { positives, .. } = &err.variant {
            expected.extend(positives.iter().filter_map(|r| describe(*r)));
        }
        if max_position == pos {
            punctuation
        } else {
            BTreeSet::new()
        }
    };
    // A token already named in a description ("a match (`~`, …)") is not listed again.
    let mut list: Vec<String> = tokens
        .into_iter()
        .filter(|t| !expected.iter().any(|d| d.contains(t.as_str())))
        .collect();
    // What the user most likely meant to write comes first: a clause, then a condition.
    let (first, rest): (Vec<&str>, Vec<&str>) = expected
        .iter()
        .copied()
        .partition(|s| s.starts_with("a clause") || *s == "a condition");
    list.splice(0..0, first.iter().map(|s| s.to_string()));
    list.extend(rest.iter().map(|s| s.to_string()));
    if list.len() > 1 {
        list.retain(|s| s != "end of file");
    }
    if list.iter().any(|s| s == "a condition") {
        list.retain(|s| s != "`(`");
    }
    let rest = chunk.get(pos..).unwrap_or("");
    let first = first_token(rest);
    // The item ends where the next begins: say so, rather than "end of file".
    let next_item = first.is_none() && offset + chunk.len() < text.len();
    let found_text = if next_item {
        "the start of the next item".to_string()
    } else {
        found(rest, first)
    };
    let (start, end) = first.map_or((pos, pos), |t| (pos + t.start, pos + t.end));
    let diagnostic = build(
        text,
        source,
        offset + start,
        offset + end,
        &list,
        &found_text,
    );
    if next_item && list.iter().any(|l| l == "`}`") {
        return diagnostic
            .with_help("is a `}` missing? the item is not closed before the next one begins");
    }
    diagnostic
}

fn build(
    text: &str,
    source: SourceId,
    start: usize,
    end: usize,
    list: &[String],
    found_text: &str,
) -> Diagnostic {
    let expected = join_or(list);
    let span = Span::new(source, start, end);
    let mut diagnostic = Diagnostic::new(
        Code::SyntaxError,
        span,
        format!("expected {expected}, found {found_text}"),
    )
    .with_label(format!("expected {}", short(list)));
    let word = text.get(start..end).unwrap_or("");
    if let Some(help) = help_for(list, found_text, word) {
        diagnostic = diagnostic.with_help(help);
    }
    diagnostic
}

/// The label under the error: the first few expectations.
fn short(list: &[String]) -> String {
    if list.len() <= 3 {
        join_or(list)
    } else {
        let mut head: Vec<String> = list.iter().take(3).cloned().collect();
        head.push("…".to_string());
        head.join(", ")
    }
}

fn help_for(list: &[String], found_text: &str, word: &str) -> Option<String> {
    let expects = |s: &str| list.iter().any(|l| l == s);
    if found_text.starts_with("keyword") && super::lexer::ITEM_KEYWORDS.contains(&word) {
        return Some(format!(
            "an item starts at the beginning of a line: write `{word}` in the first column; a line of a condition \
             that starts with `product` or `os` must be indented"
        ));
    }
    if found_text == "end of file" && expects("`}`") {
        return Some("is a `}` missing? the file ends before the item is closed".to_string());
    }
    if expects("`)`") && !expects("a condition") {
        return Some("is a `)` missing? every `(` needs its `)`".to_string());
    }
    if expects("a name") && word.starts_with(|c: char| c.is_ascii_digit()) {
        return Some(
            "a name starts with a letter: a KB article is written `Q256986` or `KB256986`, a version goes after a name"
                .to_string(),
        );
    }
    if expects("a name") && found_text.starts_with("keyword") {
        return Some(format!(
            "`{word}` is a keyword and cannot be used as a name; choose another name"
        ));
    }
    if word == "=" && list.iter().any(|l| l.contains("`==`")) {
        return Some(
            "compare with `==`; a single `=` only names a condition or warning".to_string(),
        );
    }
    if word.starts_with('\'') {
        return Some("strings are written between double quotes: `\"text\"`".to_string());
    }
    if expects("a condition")
        && (word == "}" || word.is_empty() || found_text.starts_with("keyword"))
    {
        return Some(
            "a condition is missing here; remove the dangling `and`, `or` or `not`, or complete it"
                .to_string(),
        );
    }
    if (word == "&&" || word == "||" || word == "!") && expects("a condition") {
        return Some("write `and`, `or` and `not` as words".to_string());
    }
    if word.starts_with(|c: char| c.is_ascii_alphabetic())
        && list.iter().any(|l| l.starts_with("a clause"))
    {
        const CLAUSES: &[&str] = &[
            "title",
            "applies",
            "severity",
            "tags",
            "supersedes",
            "when",
            "diagnose",
            "step",
            "warn",
            "see",
            "fix",
        ];
        if let Some(near) = crate::diagnostics::did_you_mean(word, CLAUSES.iter().copied()) {
            return Some(format!("did you mean `{near}`?"));
        }
        return Some(format!(
            "`{word}` does not begin a clause; a rule holds `title`, `applies`, `severity`, `tags`, `supersedes`, \
             `when`, `diagnose`, `step`, `warn`, `see` and `fix` clauses"
        ));
    }
    None
}
