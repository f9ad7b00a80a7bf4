//! The formatter: rule text in its one canonical layout, comments kept where they were.
//!
//! A file is parsed with the grammar first; text that does not parse is refused (with the same
//! diagnostics as `kbrules check`), so nothing is ever written from a guess. Each item is then
//! laid out from its parse tree as a [`doc::Doc`] and printed in [`WIDTH`] columns.
//!
//! The layout is the one the rule library is written in: clauses four columns in, the header
//! clauses' values aligned (`title    "…"`), the conditions of a `when` one per line with the
//! operators right-aligned under it, long conditions broken before their filters, strings
//! joined over several lines kept on those lines and aligned. One empty line is kept where the
//! text had one or more between clauses or items.
//!
//! Comments are tokens the grammar skips; they are taken from the token stream and put back by
//! position: a comment that ends a line of code stays at the end of the line after the same
//! token, a comment on its own line stays on its own line before the same token.

mod doc;

use pest::Parser as _;
use pest::iterators::Pair;

use crate::diagnostics::Diagnostic;
use crate::source::{SourceId, Sources, Span};
use crate::syntax::lexer::{self, Token};
use crate::syntax::{KbrParser, Rule, is_item};
use doc::Doc;

/// The width the formatter fills; longer lines are left long only where they cannot break
/// (a long string).
pub const WIDTH: usize = 100;

/// Formats rule text. Text that does not parse is refused with its syntax errors, whose
/// spans are in a [`Sources`] holding the text alone (see [`format_source`]).
pub fn format(text: &str) -> Result<String, Vec<Diagnostic>> {
    let mut sources = Sources::new();
    let id = sources.add("<text>", text.to_string());
    format_source(&sources, id)
}

/// Formats one file of `sources`. A file that does not parse is refused with its syntax
/// errors, and so is one whose comments the layout could not all keep.
pub fn format_source(sources: &Sources, id: SourceId) -> Result<String, Vec<Diagnostic>> {
    let Some(text) = sources.get(id).map(|f| f.text()) else {
        return Err(vec![Diagnostic::internal(None, "a file id with no file")]);
    };
    let parsed = crate::syntax::with_stack(|| crate::syntax::parse_file(sources, id));
    let Some((_, diagnostics)) = parsed else {
        return Err(vec![Diagnostic::internal(
            None,
            "the parser ran out of stack",
        )]);
    };
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    let built = crate::syntax::with_stack(|| Builder::new(text).file())
        .unwrap_or_else(|| Err("the formatter ran out of stack".to_string()));
    built.map_err(|message| {
        let span = Span::new(id, 0, 0);
        vec![Diagnostic::internal(Some(span), message)]
    })
}

/// A comment and where it is.
#[derive(Debug, Clone)]
struct Comment {
    start: usize,
    end: usize,
    /// Whether code comes before it on its line.
    trailing: bool,
    /// Whether an empty line comes before it.
    blank_before: bool,
}

struct Builder<'t> {
    text: &'t str,
    comments: Vec<Comment>,
    /// The next comment not yet placed.
    next_comment: usize,
    /// The end of the last token placed.
    last_end: usize,
    /// Where the item being laid out starts: pest's offsets are relative to it.
    base: usize,
}

/// Joins docs.
fn cat(docs: impl IntoIterator<Item = Doc>) -> Doc {
    Doc::Concat(docs.into_iter().collect())
}

fn text(s: impl Into<String>) -> Doc {
    Doc::text(s)
}

/// The children of a pair.
fn kids<'i>(pair: &Pair<'i, Rule>) -> Vec<Pair<'i, Rule>> {
    pair.clone().into_inner().collect()
}

impl<'t> Builder<'t> {
    fn new(text: &'t str) -> Builder<'t> {
        let comments = lexer::tokens(text)
            .into_iter()
            .filter(|t| matches!(t.token, Some(Token::LineComment | Token::BlockComment(_))))
            .map(|t| {
                let before = text.get(..t.start).unwrap_or("");
                let line = before
                    .rfind('\n')
                    .map_or(before, |p| before.get(p + 1..).unwrap_or(""));
                let trailing = !line.trim().is_empty();
                Comment {
                    start: t.start,
                    end: t.end,
                    trailing,
                    blank_before: !trailing && blank_line_before(text, t.start),
                }
            })
            .collect();
        Builder {
            text,
            comments,
            next_comment: 0,
            last_end: 0,
            base: 0,
        }
    }

    /// Where a pair starts in the text.
    fn start(&self, pair: &Pair<'_, Rule>) -> usize {
        self.base + pair.as_span().start()
    }

    /// Where a pair ends in the text.
    fn end(&self, pair: &Pair<'_, Rule>) -> usize {
        self.base + pair.as_span().end()
    }

    fn comment_text(&self, c: &Comment) -> String {
        let raw = self.text.get(c.start..c.end).unwrap_or("");
        // Line comments lose trailing blanks; block comments are kept as written.
        if raw.starts_with("//") {
            raw.trim_end().to_string()
        } else {
            raw.to_string()
        }
    }

    /// The comments before `offset` not yet placed, each on its own line (a comment that ended
    /// a line of code whose token was placed before keeps to its line).
    fn comments_before(&mut self, offset: usize) -> Doc {
        let mut docs = Vec::new();
        while let Some(c) = self.comments.get(self.next_comment).cloned() {
            if c.start >= offset {
                break;
            }
            self.next_comment += 1;
            let body = self.comment_text(&c);
            docs.push(if c.trailing {
                text(" ")
            } else if c.blank_before && self.last_end > 0 {
                Doc::BlankLine
            } else {
                Doc::HardLine
            });
            docs.push(text(body));
            // An empty line after the comment is kept.
            let next = self.next_code_or_comment(c.end);
            docs.push(if blank_line_before(self.text, next) {
                Doc::BlankLine
            } else {
                Doc::HardLine
            });
            self.last_end = c.end;
        }
        cat(docs)
    }

    /// Where the next comment or code after `from` starts.
    fn next_code_or_comment(&self, from: usize) -> usize {
        let rest = self.text.get(from..).unwrap_or("");
        let blank = rest.len() - rest.trim_start().len();
        from + blank
    }

    /// The comment that ends the line of the token that ends at `end`, if there is one.
    fn trailing_comment(&mut self, end: usize) -> Doc {
        let Some(c) = self.comments.get(self.next_comment).cloned() else {
            return cat([]);
        };
        let between = self.text.get(end..c.start).unwrap_or("x");
        if !c.trailing || between.contains('\n') || !between.trim().is_empty() {
            return cat([]);
        }
        self.next_comment += 1;
        self.last_end = c.end;
        let body = text(self.comment_text(&c));
        // A block comment with code after it on its line stays inside the line.
        let rest_of_line = self.text.get(c.end..).unwrap_or("");
        let rest_of_line = rest_of_line.split('\n').next().unwrap_or("");
        if !self.is_line_comment(&c) && !rest_of_line.trim().is_empty() {
            return cat([text(" "), body]);
        }
        cat([text(" "), body, Doc::HardLine])
    }

    fn is_line_comment(&self, c: &Comment) -> bool {
        self.text
            .get(c.start..c.end)
            .is_some_and(|t| t.starts_with("//"))
    }

    /// A token of the text at `start..end`, written as `shown`, with the comments before it
    /// and the one ending its line.
    fn token_as(&mut self, start: usize, end: usize, shown: impl Into<String>) -> Doc {
        let before = self.comments_before(start);
        self.last_end = end;
        let after = self.trailing_comment(end);
        cat([before, text(shown), after])
    }

    /// A token as written.
    fn token(&mut self, pair: &Pair<'_, Rule>) -> Doc {
        let (start, end) = (self.start(pair), self.end(pair));
        self.token_as(start, end, pair.as_str())
    }

    /// Punctuation the parse tree does not hold, found in the text from `from` on.
    fn punct(&mut self, from: usize, p: &str) -> Doc {
        match self.find_code(from, p) {
            Some(start) => self.token_as(start, start + p.len(), p),
            None => text(p),
        }
    }

    /// The first place from `from` where `p` is, outside comments.
    fn find_code(&self, from: usize, p: &str) -> Option<usize> {
        let mut at = from;
        loop {
            let found = at + self.text.get(at..)?.find(p)?;
            match self
                .comments
                .iter()
                .find(|c| c.start <= found && found < c.end)
            {
                Some(c) => at = c.end,
                None => return Some(found),
            }
        }
    }

    /// A break before the token at `offset`, with the comments before it placed first, so that
    /// a comment before an operator stays above the operator's line.
    fn break_before(&mut self, offset: usize, line: Doc) -> Doc {
        let comments = self.comments_before(offset);
        cat([comments, line])
    }

    // -----------------------------------------------------------------------------------------
    // Items

    fn file(mut self) -> Result<String, String> {
        let tokens = lexer::tokens(self.text);
        let mut bounds = lexer::item_starts(self.text, &tokens);
        if bounds.first() != Some(&0) {
            bounds.insert(0, 0);
        }
        bounds.push(self.text.len());
        let mut docs = Vec::new();
        for window in bounds.windows(2) {
            let [start, end] = window else { continue };
            let chunk = self.text.get(*start..*end).unwrap_or("");
            let pairs = KbrParser::parse(Rule::item_only, chunk)
                .map_err(|e| format!("an item that parsed before no longer parses: {e}"))?;
            self.base = *start;
            let pairs: Vec<Pair<'_, Rule>> =
                pairs.flatten().filter(|p| is_item(p.as_rule())).collect();
            for item in pairs {
                let item_start = self.start(&item);
                let separator = if docs.is_empty() {
                    cat([])
                } else if blank_line_before(self.text, self.first_at(item_start)) {
                    Doc::BlankLine
                } else {
                    Doc::HardLine
                };
                docs.push(separator);
                let comments = self.comments_before(item_start);
                docs.push(comments);
                docs.push(Doc::HardLine);
                docs.push(self.item(&item));
            }
        }
        let rest = self.comments_before(usize::MAX);
        docs.push(rest);
        if self.next_comment != self.comments.len() {
            return Err("a comment could not be placed".to_string());
        }
        let printed = doc::print(&cat(docs), WIDTH);
        Ok(if printed.trim().is_empty() {
            String::new()
        } else {
            printed
        })
    }

    fn item(&mut self, item: &Pair<'_, Rule>) -> Doc {
        match item.as_rule() {
            Rule::rule_item => self.rule_item(item),
            Rule::condition_item => self.condition_item(item),
            Rule::warning_item => self.warning_item(item),
            Rule::fact_item => self.fact_item(item),
            Rule::product_item | Rule::os_item => self.catalogue_item(item),
            _ => self.verbatim(item),
        }
    }

    /// A pair as written, for a shape the layout does not know (never, for a parsed item); the
    /// comments inside it go with it.
    fn verbatim(&mut self, pair: &Pair<'_, Rule>) -> Doc {
        let doc = self.token(pair);
        let end = self.end(pair);
        while self
            .comments
            .get(self.next_comment)
            .is_some_and(|c| c.end <= end)
        {
            self.next_comment += 1;
        }
        doc
    }

    fn rule_item(&mut self, item: &Pair<'_, Rule>) -> Doc {
        let parts = kids(item);
        let mut docs = Vec::new();
        let mut iter = parts.iter();
        if let Some(kw) = iter.next() {
            docs.push(self.token(kw));
        }
        if let Some(id) = iter.next() {
            docs.push(text(" "));
            docs.push(self.token(id));
            let brace = self.end(id);
            docs.push(text(" "));
            docs.push(self.punct(brace, "{"));
        }
        let mut body = Vec::new();
        for clause in iter {
            let start = self.start(clause);
            let line = if body.is_empty() || !blank_line_before(self.text, self.first_at(start)) {
                Doc::HardLine
            } else {
                Doc::BlankLine
            };
            body.push(self.break_before(start, line));
            body.push(self.clause(clause));
        }
        docs.push(Doc::nest(4, cat(body)));
        let close = item.as_str().trim_end().len();
        let close_at = self.start(item) + close.saturating_sub(1);
        let comments = self.comments_before(close_at);
        docs.push(Doc::nest(4, comments));
        docs.push(Doc::HardLine);
        docs.push(self.token_as(close_at, close_at + 1, "}"));
        cat(docs)
    }

    /// Where the lines before the token at `offset` begin: the first comment not yet placed
    /// on a line of its own before it, else the token. A blank line before that is kept.
    fn first_at(&self, offset: usize) -> usize {
        match self.comments.get(self.next_comment) {
            Some(c) if c.start < offset && !c.trailing => c.start,
            _ => offset,
        }
    }

    fn clause(&mut self, clause: &Pair<'_, Rule>) -> Doc {
        let parts = kids(clause);
        let Some((kw, rest)) = parts.split_first() else {
            return self.verbatim(clause);
        };
        let pad = match clause.as_rule() {
            Rule::title_clause
            | Rule::applies_clause
            | Rule::severity_clause
            | Rule::tags_clause => 9usize.saturating_sub(kw.as_str().len()),
            _ => 1,
        };
        let head = cat([self.token(kw), text(" ".repeat(pad))]);
        let body = match clause.as_rule() {
            Rule::title_clause | Rule::diagnose_clause | Rule::step_clause => {
                self.strings_or_words(rest)
            }
            Rule::warn_clause => self.strings_or_words(rest),
            Rule::applies_clause => match rest.first() {
                Some(e) => Doc::align(self.expr(e, Chain::Soft)),
                None => cat([]),
            },
            Rule::when_clause => match rest.first() {
                Some(e) => Doc::align(self.expr(e, Chain::Clause)),
                None => cat([]),
            },
            Rule::severity_clause => self.list(rest, ""),
            Rule::tags_clause | Rule::supersedes_clause | Rule::see_clause => self.list(rest, ","),
            Rule::fix_clause => self.fix(rest),
            _ => self.list(rest, ""),
        };
        cat([head, body])
    }

    /// Words or strings separated by `sep` (`,` or nothing), on one line.
    fn list(&mut self, parts: &[Pair<'_, Rule>], sep: &str) -> Doc {
        let mut docs = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                if !sep.is_empty() {
                    let from = parts.get(i - 1).map_or(0, |q| self.end(q));
                    docs.push(self.punct(from, sep));
                }
                docs.push(text(" "));
            }
            docs.push(self.atomish(p));
        }
        cat(docs)
    }

    /// A word, a tag, or a string.
    fn atomish(&mut self, pair: &Pair<'_, Rule>) -> Doc {
        match pair.as_rule() {
            Rule::string => self.string(pair),
            Rule::tag => match kids(pair).first() {
                Some(inner) => self.atomish(inner),
                None => self.token(pair),
            },
            _ => self.token(pair),
        }
    }

    fn strings_or_words(&mut self, parts: &[Pair<'_, Rule>]) -> Doc {
        let docs: Vec<Doc> = parts.iter().map(|p| self.atomish(p)).collect();
        cat(docs)
    }

    /// A string: its parts as written, one per line, aligned under the first.
    fn string(&mut self, pair: &Pair<'_, Rule>) -> Doc {
        let parts = kids(pair);
        let mut docs = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                let line = self.break_before(self.start(part), Doc::HardLine);
                docs.push(line);
            }
            docs.push(self.token(part));
        }
        if parts.len() > 1 {
            Doc::align(cat(docs))
        } else {
            cat(docs)
        }
    }

    /// `condition NAME =`, `warning NAME =`
    fn assignment_head(&mut self, kw: &Pair<'_, Rule>, name: &Pair<'_, Rule>) -> Doc {
        let end = self.end(name);
        cat([
            self.token(kw),
            text(" "),
            self.token(name),
            text(" "),
            self.punct(end, "="),
        ])
    }

    fn condition_item(&mut self, item: &Pair<'_, Rule>) -> Doc {
        let parts = kids(item);
        let (Some(kw), Some(name), Some(expr)) = (parts.first(), parts.get(1), parts.get(2)) else {
            return self.verbatim(item);
        };
        let head = self.assignment_head(kw, name);
        let body = self.expr(expr, Chain::Soft);
        if hugs(expr) {
            // `condition x = any of (`, its conditions four columns in, `)` in column one.
            cat([head, text(" "), body])
        } else {
            Doc::group(cat([
                head,
                Doc::nest(4, cat([Doc::Line, Doc::align(body)])),
            ]))
        }
    }

    fn warning_item(&mut self, item: &Pair<'_, Rule>) -> Doc {
        let parts = kids(item);
        let (Some(kw), Some(name), Some(s)) = (parts.first(), parts.get(1), parts.get(2)) else {
            return self.verbatim(item);
        };
        let head = self.assignment_head(kw, name);
        let several = kids(s).len() > 1;
        let body = self.string(s);
        if several {
            cat([head, Doc::nest(4, cat([Doc::HardLine, body]))])
        } else {
            Doc::group(cat([head, Doc::nest(4, cat([Doc::Line, body]))]))
        }
    }

    fn fact_item(&mut self, item: &Pair<'_, Rule>) -> Doc {
        let parts = kids(item);
        let (Some(kw), Some(name), Some(ty)) = (parts.first(), parts.get(1), parts.get(2)) else {
            return self.verbatim(item);
        };
        let mut docs = vec![self.token(kw), text(" "), self.atomish(name)];
        docs.push(self.punct(self.end(name), ":"));
        docs.push(text(" "));
        docs.push(self.token(ty));
        if let Some(description) = parts.get(3) {
            let line = self.break_before(self.start(description), Doc::HardLine);
            let body = self.string(description);
            docs.push(Doc::nest(4, cat([line, body])));
        }
        cat(docs)
    }

    fn catalogue_item(&mut self, item: &Pair<'_, Rule>) -> Doc {
        let parts = kids(item);
        let (Some(kw), Some(name)) = (parts.first(), parts.get(1)) else {
            return self.verbatim(item);
        };
        let mut docs = vec![self.token(kw), text(" "), self.string(name)];
        if let Some(aka) = parts.get(2) {
            let inner = kids(aka);
            if let Some((kw, names)) = inner.split_first() {
                docs.push(text(" "));
                docs.push(self.token(kw));
                let mut fill = Vec::new();
                for (i, n) in names.iter().enumerate() {
                    let mut part = vec![self.string(n)];
                    if i + 1 < names.len() {
                        part.push(self.punct(self.end(n), ","));
                    }
                    fill.push(cat(part));
                }
                docs.push(Doc::nest(4, cat([text(" "), Doc::Fill(fill)])));
            }
        }
        cat(docs)
    }

    // -----------------------------------------------------------------------------------------
    // Fixes

    fn fix(&mut self, parts: &[Pair<'_, Rule>]) -> Doc {
        let Some(action) = parts.first() else {
            return cat([]);
        };
        let mut docs = vec![self.fix_action(action)];
        if let (Some(kw), Some(expr)) = (parts.get(1), parts.get(2)) {
            let line = self.break_before(self.start(kw), Doc::HardLine);
            let verify = cat([
                self.token(kw),
                text(" "),
                Doc::align(self.expr(expr, Chain::Soft)),
            ]);
            docs.push(Doc::nest(4, cat([line, verify])));
        }
        cat(docs)
    }

    /// A fix's action; `registry set KEY` and `value NAME to DATA` may go on two lines.
    fn fix_action(&mut self, action: &Pair<'_, Rule>) -> Doc {
        let parts = kids(action);
        let mut fill = Vec::new();
        let mut current = Vec::new();
        for p in &parts {
            if p.as_rule() == Rule::kw_value && !current.is_empty() {
                fill.push(cat(std::mem::take(&mut current)));
            } else if !current.is_empty() {
                current.push(text(" "));
            }
            let comments = self.comments_before(self.start(p));
            current.push(comments);
            current.push(match p.as_rule() {
                Rule::string => self.string(p),
                Rule::reg_type => self.token(p),
                Rule::version_lit | Rule::boolean => self.literal(p),
                _ => self.atomish(p),
            });
        }
        if !current.is_empty() {
            fill.push(cat(current));
        }
        paragraph(fill)
    }

    // -----------------------------------------------------------------------------------------
    // Conditions

    /// An `or` of `and`s. `chain` says how a chain of more than one operand is laid out.
    fn expr(&mut self, expr: &Pair<'_, Rule>, chain: Chain) -> Doc {
        // Operands and the operators between them, flattened over `or` and `and`.
        let mut items: Vec<(Option<Pair<'_, Rule>>, Pair<'_, Rule>)> = Vec::new();
        let mut pending_or: Option<Pair<'_, Rule>> = None;
        for part in kids(expr) {
            match part.as_rule() {
                Rule::kw_or => pending_or = Some(part),
                Rule::conj => {
                    let mut pending_and: Option<Pair<'_, Rule>> = pending_or.take();
                    for p in kids(&part) {
                        match p.as_rule() {
                            Rule::kw_and => pending_and = Some(p),
                            _ => items.push((pending_and.take(), p)),
                        }
                    }
                }
                _ => items.push((None, part)),
            }
        }
        let mut docs = Vec::new();
        for (op, operand) in &items {
            if let Some(op) = op {
                let line = match chain {
                    Chain::Clause => {
                        let back = -(op.as_str().len() as isize) - 1;
                        Doc::nest(back, Doc::HardLine)
                    }
                    Chain::Soft => Doc::Line,
                };
                docs.push(self.break_before(self.start(op), line));
                docs.push(self.token(op));
                docs.push(text(" "));
            }
            docs.push(self.unary(operand));
        }
        match chain {
            Chain::Soft if items.len() > 1 => Doc::group(cat(docs)),
            _ => cat(docs),
        }
    }

    fn unary(&mut self, unary: &Pair<'_, Rule>) -> Doc {
        let mut docs = Vec::new();
        for p in kids(unary) {
            match p.as_rule() {
                Rule::not_op => {
                    docs.push(self.token(&p));
                    docs.push(text(" "));
                }
                Rule::seq => docs.push(self.seq(&p)),
                _ => docs.push(self.atom(&p)),
            }
        }
        cat(docs)
    }

    fn seq(&mut self, seq: &Pair<'_, Rule>) -> Doc {
        let parts = kids(seq);
        if parts.len() == 1 {
            return match parts.first() {
                Some(atom) => self.atom(atom),
                None => cat([]),
            };
        }
        let mut docs = Vec::new();
        for p in &parts {
            match p.as_rule() {
                Rule::followed_by => {
                    docs.push(self.break_before(self.start(p), Doc::Line));
                    let words: Vec<Pair<'_, Rule>> = kids(p);
                    let list = self.list(&words, "");
                    docs.push(list);
                    docs.push(text(" "));
                }
                Rule::within => {
                    docs.push(text(" "));
                    docs.push(self.within(p));
                }
                _ => docs.push(self.atom(p)),
            }
        }
        Doc::group(Doc::align(cat(docs)))
    }

    fn within(&mut self, within: &Pair<'_, Rule>) -> Doc {
        let words = kids(within);
        self.list(&words, "")
    }

    fn atom(&mut self, atom: &Pair<'_, Rule>) -> Doc {
        match atom.as_rule() {
            Rule::paren => {
                let inner = kids(atom);
                let open = self.token_as(self.start(atom), self.start(atom) + 1, "(");
                let body = match inner.first() {
                    Some(e) => self.expr(e, Chain::Soft),
                    None => cat([]),
                };
                let close = self.close(atom, ")");
                cat([open, Doc::align(body), close])
            }
            Rule::quantifier => self.quantifier(atom),
            Rule::count_cmp => self.count_cmp(atom),
            Rule::comparison => self.spaced(&kids(atom), Builder::operand),
            Rule::bound => self.bound(atom),
            Rule::cond_ref => match kids(atom).first() {
                Some(name) => self.token(name),
                None => self.token(atom),
            },
            _ => self.operand(atom),
        }
    }

    /// A closing token at the end of a pair's text, with the comments before it.
    fn close(&mut self, pair: &Pair<'_, Rule>, p: &str) -> Doc {
        let s = pair.as_str().trim_end();
        let start = self.start(pair) + s.len().saturating_sub(p.len());
        self.token_as(start, start + p.len(), p)
    }

    fn quantifier(&mut self, atom: &Pair<'_, Rule>) -> Doc {
        let parts = kids(atom);
        let (Some(quantity), Some(of)) = (parts.first(), parts.get(1)) else {
            return self.verbatim(atom);
        };
        let head = cat([
            self.quantity(quantity),
            text(" "),
            self.token(of),
            text(" "),
            self.punct(self.end(of), "("),
        ]);
        let exprs: Vec<&Pair<'_, Rule>> = parts.iter().skip(2).collect();
        let mut inner = Vec::new();
        for (i, e) in exprs.iter().enumerate() {
            let line = if i == 0 { Doc::SoftLine } else { Doc::Line };
            inner.push(self.break_before(self.start(e), line));
            inner.push(self.expr(e, Chain::Soft));
            if i + 1 < exprs.len() {
                inner.push(self.punct(self.end(e), ","));
            } else {
                inner.push(Doc::IfBreak(","));
            }
        }
        let close = self.close(atom, ")");
        Doc::group(cat([head, Doc::nest(4, cat(inner)), Doc::SoftLine, close]))
    }

    fn quantity(&mut self, quantity: &Pair<'_, Rule>) -> Doc {
        match kids(quantity).first() {
            Some(inner) => self.token(inner),
            None => self.token(quantity),
        }
    }

    fn count_cmp(&mut self, atom: &Pair<'_, Rule>) -> Doc {
        let parts = kids(atom);
        let mut docs = Vec::new();
        let mut iter = parts.iter();
        if let Some(kw) = iter.next() {
            docs.push(self.token(kw));
            docs.push(self.punct(self.end(kw), "("));
        }
        if let Some(pred) = iter.next() {
            docs.push(self.predicate(pred));
            docs.push(self.punct(self.end(pred), ")"));
        }
        for p in iter {
            docs.push(text(" "));
            docs.push(match p.as_rule() {
                Rule::within => self.within(p),
                _ => self.token(p),
            });
        }
        cat(docs)
    }

    /// A predicate and its binding: the head, then each filter and the `as`, laid out as a
    /// paragraph (each on the line before if it fits, else on a line of its own four columns
    /// in).
    fn bound(&mut self, atom: &Pair<'_, Rule>) -> Doc {
        let parts = kids(atom);
        let mut fill = Vec::new();
        let mut binding = Vec::new();
        for p in &parts {
            match p.as_rule() {
                Rule::kw_as => {
                    let comments = self.comments_before(self.start(p));
                    binding.push(comments);
                    binding.push(self.token(p));
                }
                Rule::ident => {
                    binding.push(text(" "));
                    binding.push(self.token(p));
                }
                _ => fill = self.predicate_parts(p),
            }
        }
        if !binding.is_empty() {
            fill.push(cat(binding));
        }
        paragraph(fill)
    }

    /// A predicate alone (in `count(…)`).
    fn predicate(&mut self, pred: &Pair<'_, Rule>) -> Doc {
        let parts = self.predicate_parts(pred);
        paragraph(parts)
    }

    /// The parts of a predicate that may each begin a line: its head (the words up to the first
    /// filter), then each filter.
    fn predicate_parts(&mut self, pred: &Pair<'_, Rule>) -> Vec<Doc> {
        let parts = kids(pred);
        let mut out = Vec::new();
        let mut current = Vec::new();
        for p in &parts {
            let starts_part = matches!(
                p.as_rule(),
                Rule::ev_level
                    | Rule::ev_message
                    | Rule::ev_data
                    | Rule::ev_binary
                    | Rule::reg_value
            );
            if starts_part && !current.is_empty() {
                out.push(cat(std::mem::take(&mut current)));
            } else if !current.is_empty() {
                current.push(text(" "));
            }
            let comments = self.comments_before(self.start(p));
            current.push(comments);
            current.push(self.part(p));
        }
        if !current.is_empty() {
            out.push(cat(current));
        }
        out
    }

    /// One part of a predicate, its words separated by single spaces.
    fn part(&mut self, p: &Pair<'_, Rule>) -> Doc {
        match p.as_rule() {
            Rule::string => self.string(p),
            Rule::version | Rule::version_lit => self.literal(p),
            Rule::version_spec => self.version_spec(p),
            Rule::ev_id => self.ev_id(p),
            Rule::ev_data | Rule::ev_binary => self.indexed(p),
            Rule::event_log | Rule::tag | Rule::svc_state | Rule::reg_type => {
                match kids(p).first() {
                    Some(inner) => self.part(inner),
                    None => self.token(p),
                }
            }
            _ => {
                let inner = kids(p);
                if inner.is_empty() {
                    self.token(p)
                } else {
                    self.spaced(&inner, Builder::part)
                }
            }
        }
    }

    /// Pairs laid out one after the other, separated by single spaces.
    fn spaced(
        &mut self,
        pairs: &[Pair<'_, Rule>],
        each: fn(&mut Self, &Pair<'_, Rule>) -> Doc,
    ) -> Doc {
        let mut docs = Vec::new();
        for (i, p) in pairs.iter().enumerate() {
            if i > 0 {
                docs.push(text(" "));
            }
            docs.push(each(self, p));
        }
        cat(docs)
    }

    /// `id 1, 2 ..= 5`
    fn ev_id(&mut self, p: &Pair<'_, Rule>) -> Doc {
        let parts = kids(p);
        let mut docs = Vec::new();
        for (i, q) in parts.iter().enumerate() {
            match q.as_rule() {
                Rule::kw_id => docs.push(self.token(q)),
                _ => {
                    if i > 1 {
                        let from = parts.get(i - 1).map_or(0, |x| self.end(x));
                        docs.push(self.punct(from, ","));
                    }
                    docs.push(text(" "));
                    docs.push(self.part(q));
                }
            }
        }
        cat(docs)
    }

    /// `data[1] == "x"`, `binary[0] dword == 1`
    fn indexed(&mut self, p: &Pair<'_, Rule>) -> Doc {
        let parts = kids(p);
        let mut docs = Vec::new();
        for (i, q) in parts.iter().enumerate() {
            match i {
                0 => docs.push(self.token(q)),
                1 => {
                    docs.push(self.punct(parts.first().map_or(0, |x| self.end(x)), "["));
                    docs.push(self.part(q));
                    docs.push(self.punct(self.end(q), "]"));
                }
                _ => {
                    docs.push(text(" "));
                    docs.push(self.operand(q));
                }
            }
        }
        cat(docs)
    }

    fn version_spec(&mut self, p: &Pair<'_, Rule>) -> Doc {
        self.spaced(&kids(p), Builder::part)
    }

    /// A literal; a version's service pack written `sp4`, one space after the number.
    fn literal(&mut self, p: &Pair<'_, Rule>) -> Doc {
        match p.as_rule() {
            Rule::version_lit | Rule::boolean => match kids(p).first() {
                Some(inner) => self.literal(inner),
                None => self.token(p),
            },
            Rule::version => self.spaced(&kids(p), Builder::literal),
            Rule::sp_level => {
                let (start, end) = (self.start(p), self.end(p));
                self.token_as(start, end, p.as_str().to_ascii_lowercase())
            }
            Rule::string => self.string(p),
            _ => self.token(p),
        }
    }

    fn operand(&mut self, p: &Pair<'_, Rule>) -> Doc {
        match p.as_rule() {
            Rule::string | Rule::version_lit | Rule::boolean | Rule::version => self.literal(p),
            Rule::fact_ref => self.spaced(&kids(p), Builder::atomish),
            Rule::to_number => {
                let parts = kids(p);
                let mut docs = Vec::new();
                if let Some(kw) = parts.first() {
                    docs.push(self.token(kw));
                    docs.push(self.punct(self.end(kw), "("));
                }
                if let Some(inner) = parts.get(1) {
                    docs.push(self.operand(inner));
                    docs.push(self.punct(self.end(inner), ")"));
                }
                cat(docs)
            }
            Rule::cmp_op | Rule::match_op => match kids(p).first() {
                Some(inner) => self.token(inner),
                None => self.token(p),
            },
            _ => self.token(p),
        }
    }
}

/// How the operators of an `and`/`or` chain are laid out.
#[derive(Clone, Copy)]
enum Chain {
    /// One operand per line, the operators right-aligned before the operands (`when`).
    Clause,
    /// On one line if it fits, else one operand per line (`applies`, `verify`, parentheses).
    Soft,
}

/// Parts laid out as a paragraph, the lines after the first four columns in.
fn paragraph(parts: Vec<Doc>) -> Doc {
    if parts.len() == 1 {
        return parts.into_iter().next().unwrap_or_else(|| cat([]));
    }
    Doc::nest(4, Doc::Fill(parts))
}

/// Whether an expression is a parenthesis or a quantifier, which opens on the line before it.
fn hugs(expr: &Pair<'_, Rule>) -> bool {
    let mut pair = expr.clone();
    loop {
        let inner = kids(&pair);
        match inner.as_slice() {
            [only] => match only.as_rule() {
                Rule::paren | Rule::quantifier => return true,
                Rule::conj | Rule::unary | Rule::seq => pair = only.clone(),
                _ => return false,
            },
            _ => return false,
        }
    }
}

/// Whether an empty line comes before `offset`: the text between the last line with code or a
/// comment and `offset` holds two line breaks.
fn blank_line_before(text: &str, offset: usize) -> bool {
    let before = text.get(..offset).unwrap_or("");
    let mut newlines = 0;
    for c in before.chars().rev() {
        match c {
            '\n' => newlines += 1,
            ' ' | '\t' | '\r' => {}
            _ => break,
        }
    }
    newlines >= 2
}
