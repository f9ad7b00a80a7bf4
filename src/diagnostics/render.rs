//! Renders diagnostics for people, with miette: the code, the message, the source lines with
//! labels under the spans, and the help.

use std::fmt::Write as _;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};

use super::{Diagnostic, Severity};
use crate::source::Sources;

/// How to render.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    /// Use colours and Unicode box drawing.
    pub color: bool,
    /// Wrap at this many columns.
    pub width: usize,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            color: false,
            width: 100,
        }
    }
}

/// One diagnostic joined to its source text, as miette wants it.
struct Joined<'a> {
    diagnostic: &'a Diagnostic,
    source: Option<NamedSource<std::sync::Arc<str>>>,
    labels: Vec<LabeledSpan>,
    help: Option<String>,
}

impl std::fmt::Debug for Joined<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.diagnostic, f)
    }
}

impl std::fmt::Display for Joined<'_> {
    // The header line is written by `render`, in the form `error[E0101]: message`.
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Ok(())
    }
}

impl std::error::Error for Joined<'_> {}

impl miette::Diagnostic for Joined<'_> {
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
}

fn source_span(start: u32, end: u32) -> SourceSpan {
    SourceSpan::new((start as usize).into(), end.saturating_sub(start) as usize)
}

/// Renders one diagnostic.
pub fn render(diagnostic: &Diagnostic, sources: &Sources, options: RenderOptions) -> String {
    let mut help = diagnostic.help.clone();
    let mut labels = Vec::new();
    let mut source = None;
    if let Some(span) = diagnostic.span
        && let Some(file) = sources.get(span.source)
    {
        source = Some(NamedSource::new(file.name(), file.shared_text()));
        labels.push(LabeledSpan::new_primary_with_span(
            diagnostic.label.clone(),
            source_span(span.start, span.end),
        ));
        for label in &diagnostic.labels {
            if label.span.source == span.source {
                labels.push(LabeledSpan::new_with_span(
                    Some(label.message.clone()),
                    source_span(label.span.start, label.span.end),
                ));
            } else if let Some(other) = sources.get(label.span.source) {
                // miette draws one file per diagnostic: a label in another file becomes a note.
                let at = other.line_col(label.span.start);
                let note = format!(
                    "{} at {}:{}:{}",
                    label.message,
                    other.name(),
                    at.line,
                    at.column
                );
                help = Some(match help {
                    Some(h) => format!("{note}\n{h}"),
                    None => note,
                });
            }
        }
    }
    let joined = Joined {
        diagnostic,
        source,
        labels,
        help,
    };
    let theme = if options.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(options.width)
        .with_links(false);
    let mut body = String::new();
    if handler.render_report(&mut body, &joined).is_err() {
        body.clear();
    }
    // miette's first line is the severity mark with the (empty) message: replace it with the
    // header, as rustc writes it.
    let body = body.split_once('\n').map_or("", |(_, rest)| rest);
    let header = format!(
        "{}[{}]: {}",
        diagnostic.severity.as_str(),
        diagnostic.code,
        diagnostic.message
    );
    let mut out = if options.color {
        let colour = match diagnostic.severity {
            Severity::Error => "\x1b[1;31m",
            Severity::Warning => "\x1b[1;33m",
        };
        format!(
            "{colour}{}[{}]\x1b[0m\x1b[1m: {}\x1b[0m\n",
            diagnostic.severity.as_str(),
            diagnostic.code,
            diagnostic.message
        )
    } else {
        format!("{header}\n")
    };
    out.push_str(body);
    if diagnostic.span.is_none()
        && let Some(file) = &diagnostic.file
    {
        let (line, column) = diagnostic.position.unwrap_or((1, 1));
        let _ = writeln!(out, "  --> {file}:{line}:{column}");
    }
    out
}

/// Renders many diagnostics, separated by blank lines.
pub fn render_all(diagnostics: &[Diagnostic], sources: &Sources, options: RenderOptions) -> String {
    diagnostics
        .iter()
        .map(|d| render(d, sources, options))
        .collect::<Vec<_>>()
        .join("\n")
}
