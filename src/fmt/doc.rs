//! A document of text and line breaks, printed to fit a width: the layout engine of the
//! formatter.
//!
//! A [`Doc::Group`] is printed on one line when it fits in what is left of the line, and with
//! each of its [`Doc::Line`]s broken otherwise (the classic algorithm of Wadler's "prettier
//! printer", in the imperative form Prettier uses). A [`Doc::HardLine`] always breaks, and a
//! group that holds one never prints flat: that is how a `//` comment ends its line.
//!
//! Indentation is written lazily, with the first text of a line, so no line ends in blanks and
//! two breaks in a row make one line break ([`Doc::BlankLine`] asks for an empty line).

/// A document.
#[derive(Debug, Clone)]
pub(crate) enum Doc {
    /// Text without line breaks.
    Text(String),
    /// A space, or a line break when the enclosing group breaks.
    Line,
    /// Nothing, or a line break when the enclosing group breaks.
    SoftLine,
    /// Always a line break.
    HardLine,
    /// A line break and one empty line, however many are asked for in a row.
    BlankLine,
    /// The inner document with the indentation moved by this many columns.
    Nest(isize, Box<Doc>),
    /// The inner document indented to the column where it starts.
    Align(Box<Doc>),
    /// Flat if it fits, broken otherwise.
    Group(Box<Doc>),
    /// One after the other.
    Concat(Vec<Doc>),
    /// The parts separated by spaces, with a line break before each part that would not fit on
    /// the line (a paragraph of words).
    Fill(Vec<Doc>),
    /// Text written only when the enclosing group breaks (a trailing comma).
    IfBreak(&'static str),
}

impl Doc {
    pub(crate) fn text(s: impl Into<String>) -> Doc {
        Doc::Text(s.into())
    }

    pub(crate) fn nest(by: isize, doc: Doc) -> Doc {
        Doc::Nest(by, Box::new(doc))
    }

    pub(crate) fn align(doc: Doc) -> Doc {
        Doc::Align(Box::new(doc))
    }

    pub(crate) fn group(doc: Doc) -> Doc {
        Doc::Group(Box::new(doc))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Flat,
    Break,
}

/// What is left to print: a document, or the rest of a fill after one of its parts.
#[derive(Clone, Copy)]
enum Cmd<'d> {
    Doc(&'d Doc),
    /// A separator, then these parts.
    FillRest(&'d [Doc]),
}

/// Prints a document in `width` columns.
pub(crate) fn print(doc: &Doc, width: usize) -> String {
    let mut printer = Printer {
        out: String::new(),
        column: 0,
        pending: None,
        blank: false,
        width,
    };
    let mut stack: Vec<(usize, Mode, Cmd<'_>)> = vec![(0, Mode::Break, Cmd::Doc(doc))];
    while let Some((indent, mode, cmd)) = stack.pop() {
        let doc = match cmd {
            Cmd::Doc(doc) => doc,
            Cmd::FillRest(parts) => {
                let Some((first, rest)) = parts.split_first() else {
                    continue;
                };
                let room = printer.width.saturating_sub(printer.next_column() + 1);
                match flat_width(first) {
                    Some(w) if w <= room => printer.write(" "),
                    _ => printer.newline(indent),
                }
                if !rest.is_empty() {
                    stack.push((indent, mode, Cmd::FillRest(rest)));
                }
                stack.push((indent, Mode::Flat, Cmd::Doc(first)));
                continue;
            }
        };
        match doc {
            Doc::Text(s) => printer.write(s),
            Doc::IfBreak(s) if mode == Mode::Break => printer.write(s),
            Doc::IfBreak(_) => {}
            Doc::Line if mode == Mode::Flat => printer.write(" "),
            Doc::SoftLine if mode == Mode::Flat => {}
            Doc::Line | Doc::SoftLine | Doc::HardLine => printer.newline(indent),
            Doc::BlankLine => {
                printer.newline(indent);
                printer.blank = !printer.out.is_empty();
            }
            Doc::Nest(by, inner) => {
                stack.push((indent.saturating_add_signed(*by), mode, Cmd::Doc(inner)));
            }
            Doc::Align(inner) => {
                let column = printer.next_column();
                stack.push((column, mode, Cmd::Doc(inner)));
            }
            Doc::Group(inner) => {
                let flat = mode == Mode::Flat || {
                    let room = printer.width.saturating_sub(printer.next_column());
                    fits(inner, room, &stack)
                };
                let mode = if flat { Mode::Flat } else { Mode::Break };
                stack.push((indent, mode, Cmd::Doc(inner)));
            }
            Doc::Concat(docs) => {
                for d in docs.iter().rev() {
                    stack.push((indent, mode, Cmd::Doc(d)));
                }
            }
            Doc::Fill(parts) => {
                if let Some((first, rest)) = parts.split_first() {
                    if !rest.is_empty() {
                        stack.push((indent, mode, Cmd::FillRest(rest)));
                    }
                    stack.push((indent, Mode::Flat, Cmd::Doc(first)));
                }
            }
        }
    }
    printer.out.push('\n');
    printer.out
}

/// The width of a document printed flat; `None` when it holds a hard line break.
fn flat_width(doc: &Doc) -> Option<usize> {
    match doc {
        Doc::Text(s) => Some(s.chars().count()),
        Doc::Line => Some(1),
        Doc::SoftLine | Doc::IfBreak(_) => Some(0),
        Doc::HardLine | Doc::BlankLine => None,
        Doc::Nest(_, inner) | Doc::Align(inner) | Doc::Group(inner) => flat_width(inner),
        Doc::Concat(docs) => docs.iter().map(flat_width).sum(),
        Doc::Fill(docs) => {
            let words: Option<usize> = docs.iter().map(flat_width).sum();
            Some(words? + docs.len().saturating_sub(1))
        }
    }
}

struct Printer {
    out: String,
    /// The column after the last text written.
    column: usize,
    /// The indentation of a line that was begun but has no text yet.
    pending: Option<usize>,
    /// Whether an empty line goes before the next text.
    blank: bool,
    width: usize,
}

impl Printer {
    fn write(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        if let Some(indent) = self.pending.take() {
            if !self.out.is_empty() {
                self.out.push('\n');
                if std::mem::take(&mut self.blank) {
                    self.out.push('\n');
                }
            }
            self.out.extend(std::iter::repeat_n(' ', indent));
            self.column = indent;
        }
        self.out.push_str(s);
        self.column += s.chars().count();
    }

    fn newline(&mut self, indent: usize) {
        self.pending = Some(indent);
    }

    /// The column the next text starts at.
    fn next_column(&self) -> usize {
        self.pending.unwrap_or(self.column)
    }
}

/// Whether `doc`, printed flat, fits in `room` columns before the rest of the line (the
/// documents still on the stack, up to their first line break) runs out of it.
fn fits(doc: &Doc, room: usize, rest: &[(usize, Mode, Cmd<'_>)]) -> bool {
    let mut left = room as isize;
    let mut todo: Vec<(Mode, &Doc)> = vec![(Mode::Flat, doc)];
    let mut rest = rest.iter().rev();
    loop {
        let Some((mode, doc)) = todo.pop() else {
            // The group itself fits; so must the text after it on the same line.
            match rest.next() {
                Some((_, mode, Cmd::Doc(doc))) => {
                    todo.push((*mode, doc));
                    continue;
                }
                // A fill may break before its next part.
                Some((_, _, Cmd::FillRest(_))) | None => return true,
            }
        };
        match doc {
            Doc::Text(s) => {
                left -= s.chars().count() as isize;
                if left < 0 {
                    return false;
                }
            }
            Doc::IfBreak(s) if mode == Mode::Break => left -= s.len() as isize,
            Doc::IfBreak(_) => {}
            Doc::Line if mode == Mode::Flat => left -= 1,
            Doc::SoftLine if mode == Mode::Flat => {}
            // A break in the rest ends the line: what came before fits.
            Doc::Line | Doc::SoftLine | Doc::BlankLine => return true,
            // A group that must break never prints flat; after it, a new line begins.
            Doc::HardLine => return mode == Mode::Break,
            Doc::Nest(_, inner) | Doc::Align(inner) | Doc::Group(inner) => {
                todo.push((mode, inner));
            }
            Doc::Concat(docs) | Doc::Fill(docs) => {
                todo.extend(docs.iter().rev().map(|d| (mode, d)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(n: usize) -> Doc {
        let mut parts = Vec::new();
        for i in 0..n {
            if i > 0 {
                parts.push(Doc::Line);
            }
            parts.push(Doc::text(format!("w{i}")));
        }
        Doc::group(Doc::Concat(parts))
    }

    #[test]
    fn a_group_prints_flat_when_it_fits_and_broken_when_not() {
        assert_eq!(print(&words(3), 20), "w0 w1 w2\n");
        assert_eq!(print(&words(3), 7), "w0\nw1\nw2\n");
    }

    #[test]
    fn a_hard_line_breaks_its_group() {
        let doc = Doc::group(Doc::Concat(vec![
            Doc::text("a"),
            Doc::Line,
            Doc::text("b // c"),
            Doc::HardLine,
            Doc::Line,
            Doc::text("d"),
        ]));
        assert_eq!(print(&doc, 80), "a\nb // c\nd\n");
    }

    #[test]
    fn align_and_nest_set_the_indentation() {
        let doc = Doc::Concat(vec![
            Doc::text("    when "),
            Doc::align(Doc::Concat(vec![
                Doc::text("a"),
                Doc::nest(-4, Doc::HardLine),
                Doc::text("and b"),
            ])),
        ]);
        assert_eq!(print(&doc, 80), "    when a\n     and b\n");
    }

    #[test]
    fn a_fill_breaks_before_the_part_that_does_not_fit() {
        let doc = Doc::Fill(["aaa,", "bbb,", "ccc,", "ddd"].map(Doc::text).to_vec());
        assert_eq!(print(&doc, 10), "aaa, bbb,\nccc, ddd\n");
    }

    #[test]
    fn if_break_text_shows_only_in_a_broken_group() {
        let doc = |w| {
            let d = Doc::group(Doc::Concat(vec![
                Doc::text("(a,"),
                Doc::Line,
                Doc::text("b"),
                Doc::IfBreak(","),
                Doc::text(")"),
            ]));
            print(&d, w)
        };
        assert_eq!(doc(20), "(a, b)\n");
        assert_eq!(doc(4), "(a,\nb,)\n");
    }

    #[test]
    fn blank_lines_collapse_and_never_trail() {
        let doc = Doc::Concat(vec![
            Doc::text("a"),
            Doc::BlankLine,
            Doc::BlankLine,
            Doc::HardLine,
            Doc::text("b"),
            Doc::BlankLine,
        ]);
        assert_eq!(print(&doc, 80), "a\n\nb\n");
    }
}
