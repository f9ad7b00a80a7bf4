//! A token stream over rule text, with logos.
//!
//! The grammar itself is pest's; this lexer serves what pest cannot do alone: cutting a file
//! into top-level items so that every broken item gets its own error, measuring nesting before
//! pest recurses into it, and naming lexical errors (an unterminated string, a stray character)
//! precisely.

use logos::Logos;

/// A token. Only the distinctions that splitting and checks need are made.
///
/// Every token of unbounded length is scanned by a callback that loops, rather than by a
/// regular expression: the code generated for a repeated pattern recurses once per character in
/// an unoptimised build, and a megabyte-long string would overflow the stack.
#[derive(Logos, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    /// Spaces and tabs (skipped).
    #[regex(r"[ \t\r\x0c]", blanks)]
    Blank,
    /// A line break.
    #[token("\n")]
    Newline,
    /// `// …`
    #[token("//", line_comment)]
    LineComment,
    /// `/* … */`; `false` when the comment is never closed.
    #[token("/*", block_comment)]
    BlockComment(bool),
    /// `"…"`, with `""` for a quote inside; `false` when the string reaches the end of its line.
    #[token("\"", string)]
    String(bool),
    /// A word: a keyword or a name.
    #[regex(r"[A-Za-z_]", word)]
    Word,
    /// A number, version or duration: `4086`, `0x1F`, `5.0.2195`, `15m`.
    #[regex(r"[0-9]", number)]
    Number,
    /// `(`
    #[token("(")]
    LParen,
    /// `)`
    #[token(")")]
    RParen,
    /// `{`
    #[token("{")]
    LBrace,
    /// `}`
    #[token("}")]
    RBrace,
    /// Any other punctuation the grammar uses.
    #[regex(r"==|!=|<=|>=|\.\.=|\.\.|[\[\],.=<>~:/*]")]
    Punct,
}

/// Advances past the bytes of the remainder that satisfy `keep`.
fn bump_while(lexer: &mut logos::Lexer<'_, Token>, keep: impl Fn(u8) -> bool) {
    let n = lexer.remainder().bytes().take_while(|&b| keep(b)).count();
    lexer.bump(n);
}

fn blanks(lexer: &mut logos::Lexer<'_, Token>) -> logos::Skip {
    bump_while(lexer, |b| matches!(b, b' ' | b'\t' | b'\r' | 0x0c));
    logos::Skip
}

fn line_comment(lexer: &mut logos::Lexer<'_, Token>) {
    bump_while(lexer, |b| b != b'\n');
}

fn word(lexer: &mut logos::Lexer<'_, Token>) {
    bump_while(lexer, |b| b.is_ascii_alphanumeric() || b == b'_');
}

fn number(lexer: &mut logos::Lexer<'_, Token>) {
    bump_while(lexer, |b| b.is_ascii_alphanumeric() || b == b'_');
    loop {
        let rest = lexer.remainder().as_bytes();
        match rest {
            [b'.', d, ..] if d.is_ascii_digit() => {
                lexer.bump(1);
                bump_while(lexer, |b| b.is_ascii_digit());
            }
            _ => break,
        }
    }
}

/// Consumes a string after its opening quote; `false` if it is not closed on its line.
fn string(lexer: &mut logos::Lexer<'_, Token>) -> bool {
    let bytes = lexer.remainder().as_bytes();
    let mut i = 0;
    loop {
        match bytes.get(i) {
            Some(b'"') if bytes.get(i + 1) == Some(&b'"') => i += 2,
            Some(b'"') => {
                lexer.bump(i + 1);
                return true;
            }
            Some(b'\n') | None => {
                lexer.bump(i);
                return false;
            }
            Some(_) => i += 1,
        }
    }
}

/// Consumes a block comment up to its `*/`, or to the end of the text if there is none.
fn block_comment(lexer: &mut logos::Lexer<'_, Token>) -> bool {
    match lexer.remainder().find("*/") {
        Some(end) => {
            lexer.bump(end + 2);
            true
        }
        None => {
            lexer.bump(lexer.remainder().len());
            false
        }
    }
}

/// A token and where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spanned {
    /// The token, or `None` for a character that starts no token.
    pub token: Option<Token>,
    /// Byte offsets in the text.
    pub start: usize,
    /// One past the end.
    pub end: usize,
}

/// Every token of `text`, including those logos could not recognise (`token: None`).
pub fn tokens(text: &str) -> Vec<Spanned> {
    let mut lexer = Token::lexer(text);
    let mut out = Vec::new();
    while let Some(result) = lexer.next() {
        let span = lexer.span();
        out.push(Spanned {
            token: result.ok(),
            start: span.start,
            end: span.end,
        });
    }
    out
}

/// The words that begin a top-level item.
pub const ITEM_KEYWORDS: &[&str] = &["rule", "condition", "warning", "fact", "product", "os"];

/// Where each top-level item starts. An item starts at an item keyword in the first column of a
/// line; inside braces only `rule`, `condition`, `warning` and `fact` do (`product` and `os` may
/// begin a line of a condition), so that a rule missing its `}` does not swallow the next one.
/// `rule ID {` starts an item wherever it begins a line, since no condition can hold it. After
/// the `}` that closes an item, anything but a new item is a piece of its own, so that a stray
/// `}` is reported alone and the item before it is kept.
pub fn item_starts(text: &str, tokens: &[Spanned]) -> Vec<usize> {
    let significant: Vec<&Spanned> = tokens
        .iter()
        .filter(|t| {
            !matches!(
                t.token,
                Some(Token::Newline | Token::LineComment | Token::BlockComment(_))
            )
        })
        .collect();
    let word = |t: &Spanned| text.get(t.start..t.end).unwrap_or("");
    let first_on_line = |t: &Spanned| {
        let line_start = text
            .get(..t.start)
            .and_then(|b| b.rfind('\n'))
            .map_or(0, |p| p + 1);
        text.get(line_start..t.start)
            .is_some_and(|b| b.chars().all(|c| c == ' ' || c == '\t'))
    };
    let mut starts = Vec::new();
    let mut depth = 0usize;
    let mut just_closed = false;
    for (i, t) in significant.iter().enumerate() {
        let is_item_word = t.token == Some(Token::Word) && ITEM_KEYWORDS.contains(&word(t));
        let column_one = t.start == 0 || text.as_bytes().get(t.start - 1) == Some(&b'\n');
        let rule_header = t.token == Some(Token::Word)
            && word(t) == "rule"
            && first_on_line(t)
            && significant
                .get(i + 1)
                .is_some_and(|n| n.token == Some(Token::Word))
            && significant
                .get(i + 2)
                .is_some_and(|n| n.token == Some(Token::LBrace));
        let starts_item = (is_item_word
            && column_one
            && (depth == 0 || matches!(word(t), "rule" | "condition" | "warning" | "fact")))
            || rule_header;
        if starts_item {
            starts.push(t.start);
            depth = 0;
        } else if just_closed && depth == 0 {
            starts.push(t.start);
        }
        just_closed = false;
        match t.token {
            Some(Token::LBrace) => depth += 1,
            Some(Token::RBrace) => {
                just_closed = depth == 1;
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
    }
    starts
}
