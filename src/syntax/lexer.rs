//! A token stream over rule text, with logos.
//!
//! The grammar itself is pest's; this lexer serves what pest cannot do alone: cutting a file
//! into top-level items so that every broken item gets its own error, measuring nesting before
//! pest recurses into it, and naming lexical errors (an unterminated string, a stray character)
//! precisely.

use logos::Logos;

/// A token. Only the distinctions that splitting and checks need are made.
#[derive(Logos, Debug, Clone, Copy, PartialEq, Eq)]
#[logos(skip r"[ \t\r\f]+")]
pub enum Token {
    /// A line break.
    #[token("\n")]
    Newline,
    /// `// …`
    #[regex(r"//[^\n]*")]
    LineComment,
    /// `/* … */`; `false` when the comment is never closed.
    #[token("/*", block_comment)]
    BlockComment(bool),
    /// `"…"`, with `""` for a quote inside.
    #[regex(r#""([^"\n]|"")*""#)]
    String,
    /// `"…` that reaches the end of its line.
    #[regex(r#""([^"\n]|"")*"#)]
    UnterminatedString,
    /// A word: a keyword or a name.
    #[regex(r"[A-Za-z_][A-Za-z0-9_]*")]
    Word,
    /// A number, version or duration: `4086`, `0x1F`, `5.0.2195`, `15m`.
    #[regex(r"[0-9][0-9A-Za-z_]*(\.[0-9]+)*")]
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

/// Where each top-level item starts: at an item keyword in the first column of a line. Inside
/// braces only `rule`, `condition`, `warning` and `fact` start an item (`product` and `os` may
/// begin a line of a condition), so that a rule missing its `}` does not swallow the next one.
pub fn item_starts(text: &str, tokens: &[Spanned]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut depth = 0usize;
    for t in tokens {
        match t.token {
            Some(Token::LBrace) => depth += 1,
            Some(Token::RBrace) => depth = depth.saturating_sub(1),
            Some(Token::Word) => {
                let at_line_start =
                    t.start == 0 || text.as_bytes().get(t.start - 1) == Some(&b'\n');
                let word = text.get(t.start..t.end).unwrap_or("");
                if at_line_start && ITEM_KEYWORDS.contains(&word) {
                    let nested_ok = matches!(word, "rule" | "condition" | "warning" | "fact");
                    if depth == 0 || nested_ok {
                        starts.push(t.start);
                        depth = 0;
                    }
                }
            }
            _ => {}
        }
    }
    starts
}
