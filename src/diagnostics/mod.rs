//! Every error and warning kbrules reports, in one type.
//!
//! A [`Diagnostic`] has a [`Code`] from the catalogue (`codes.rs`), a message in the user's
//! words, a primary span with an optional label, secondary labels, a `help` that says how to fix
//! it and, where one exists, a machine-applicable [`Suggestion`]. Rendering for people (miette)
//! lives in `render.rs`; machine formats live with the command line. This module knows nothing
//! of the grammar or the checker.

mod codes;
#[cfg(feature = "fancy")]
mod render;

pub use codes::{Code, Severity};
#[cfg(feature = "fancy")]
pub use render::{RenderOptions, render, render_all};

use crate::source::{LineCol, Sources, Span};

/// A labelled span that explains part of a diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What to say there.
    pub message: String,
}

/// A replacement that fixes the problem: put `replacement` where `span` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// The text to replace.
    pub span: Span,
    /// The new text.
    pub replacement: String,
}

/// One error or warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The catalogue entry.
    pub code: Code,
    /// Error or warning (a lint's severity is that of its code).
    pub severity: Severity,
    /// What is wrong, lowercase, without a final period.
    pub message: String,
    /// Where, when the problem is in rule text.
    pub span: Option<Span>,
    /// What to say at the primary span.
    pub label: Option<String>,
    /// Other places that explain the problem.
    pub labels: Vec<Label>,
    /// How to fix it.
    pub help: Option<String>,
    /// A replacement that fixes it.
    pub suggestion: Option<Suggestion>,
    /// The file, for problems with a file as a whole (I/O, encoding).
    pub file: Option<String>,
    /// Line and column (from 1), for problems found before the text could be loaded.
    pub position: Option<(usize, usize)>,
}

impl Diagnostic {
    /// A diagnostic at a span.
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            span: Some(span),
            ..Diagnostic::global(code, message)
        }
    }

    /// A diagnostic with no span (a file that could not be read, say).
    pub fn global(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            span: None,
            label: None,
            labels: Vec::new(),
            help: None,
            suggestion: None,
            file: None,
            position: None,
        }
    }

    /// An internal error: an invariant broke. Never a panic.
    pub fn internal(span: Option<Span>, what: impl std::fmt::Display) -> Diagnostic {
        Diagnostic {
            span,
            ..Diagnostic::global(Code::Internal, format!("internal error: {what}"))
        }
        .with_help("this is a bug in kbrules; please report it with the rule file that caused it")
    }

    /// Sets the label at the primary span.
    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into());
        self
    }

    /// Adds a secondary label.
    #[must_use]
    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// Sets the help text.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Sets a replacement that fixes the problem, and says so in the help.
    #[must_use]
    pub fn with_suggestion(mut self, span: Span, replacement: impl Into<String>) -> Diagnostic {
        self.suggestion = Some(Suggestion {
            span,
            replacement: replacement.into(),
        });
        self
    }

    /// Names the file of a file-level diagnostic.
    #[must_use]
    pub fn with_file(mut self, file: impl Into<String>) -> Diagnostic {
        self.file = Some(file.into());
        self
    }

    /// Sets the line and column of a file-level diagnostic.
    #[must_use]
    pub fn with_position(mut self, line: usize, column: usize) -> Diagnostic {
        self.position = Some((line, column));
        self
    }

    /// Whether this is an error (not a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The file name, start and end of the diagnostic, resolved against the sources.
    pub fn location(&self, sources: &Sources) -> Location {
        if let Some(span) = self.span
            && let Some(file) = sources.get(span.source)
        {
            return Location {
                file: Some(file.name().to_string()),
                start: file.line_col(span.start),
                end: file.line_col(span.end),
                offset: Some((span.start, span.end)),
            };
        }
        let (line, column) = self.position.unwrap_or((1, 1));
        let at = LineCol {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        };
        Location {
            file: self.file.clone(),
            start: at,
            end: at,
            offset: None,
        }
    }
}

/// Where a diagnostic is, in lines and columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file's name, if the diagnostic is about a file.
    pub file: Option<String>,
    /// The first character.
    pub start: LineCol,
    /// One past the last character.
    pub end: LineCol,
    /// The byte range, when the diagnostic has a span.
    pub offset: Option<(u32, u32)>,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}[{}]: {}",
            self.severity.as_str(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for Diagnostic {}

/// Sorts diagnostics by file, position and code, so output is deterministic.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by_key(|d| {
        (
            d.span.map(|s| (s.source, s.start, s.end)),
            d.file.clone(),
            d.code,
            d.message.clone(),
        )
    });
}

/// "did you mean `x`?", for the candidate nearest to `name`, if any is near enough.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = name.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_lowercase()), c))
        .filter(|&(d, c)| d <= (name.chars().count().max(c.chars().count()) / 3).max(1))
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
        .map(|(_, c)| c)
}
