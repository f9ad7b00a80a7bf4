//! Diagnostics in the four output formats of `kbrules check`.

use serde::Serialize;
use serde_sarif::sarif;

use super::Format;
use crate::diagnostics::{self, Code, Diagnostic, RenderOptions, Severity};
use crate::source::Sources;

/// Renders diagnostics in a format.
pub fn render(
    format: Format,
    diagnostics: &[Diagnostic],
    sources: &Sources,
    color: bool,
) -> String {
    match format {
        Format::Human => {
            let mut out =
                diagnostics::render_all(diagnostics, sources, RenderOptions { color, width: 100 });
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out
        }
        Format::Short => short(diagnostics, sources),
        Format::Json => json(diagnostics, sources),
        Format::Sarif => sarif(diagnostics, sources),
    }
}

/// `file:line:col: severity[CODE]: message`, one line each.
pub fn short(diagnostics: &[Diagnostic], sources: &Sources) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let at = d.location(sources);
        out.push_str(&format!(
            "{}:{}:{}: {}[{}]: {}\n",
            at.file.as_deref().unwrap_or("<input>"),
            at.start.line,
            at.start.column,
            d.severity.as_str(),
            d.code,
            d.message
        ));
    }
    out
}

#[derive(Serialize)]
struct JsonReport<'a> {
    kbrules_check: u32,
    files: usize,
    errors: usize,
    warnings: usize,
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    file: Option<String>,
    line: u32,
    column: u32,
    end_line: u32,
    end_column: u32,
    code: &'static str,
    slug: &'static str,
    severity: Severity,
    message: &'a str,
    label: Option<&'a str>,
    help: Option<&'a str>,
    labels: Vec<JsonLabel<'a>>,
    suggestion: Option<JsonSuggestion<'a>>,
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    file: Option<String>,
    line: u32,
    column: u32,
    end_line: u32,
    end_column: u32,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonSuggestion<'a> {
    line: u32,
    column: u32,
    end_line: u32,
    end_column: u32,
    replacement: &'a str,
}

fn json(diagnostics: &[Diagnostic], sources: &Sources) -> String {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let report = JsonReport {
        kbrules_check: 1,
        files: sources.len(),
        errors,
        warnings: diagnostics.len() - errors,
        diagnostics: diagnostics
            .iter()
            .map(|d| {
                let at = d.location(sources);
                JsonDiagnostic {
                    file: at.file,
                    line: at.start.line,
                    column: at.start.column,
                    end_line: at.end.line,
                    end_column: at.end.column,
                    code: d.code.as_str(),
                    slug: d.code.slug(),
                    severity: d.severity,
                    message: &d.message,
                    label: d.label.as_deref(),
                    help: d.help.as_deref(),
                    labels: d
                        .labels
                        .iter()
                        .filter_map(|l| {
                            let file = sources.get(l.span.source)?;
                            let (s, e) = (file.line_col(l.span.start), file.line_col(l.span.end));
                            Some(JsonLabel {
                                file: Some(file.name().to_string()),
                                line: s.line,
                                column: s.column,
                                end_line: e.line,
                                end_column: e.column,
                                message: &l.message,
                            })
                        })
                        .collect(),
                    suggestion: d.suggestion.as_ref().and_then(|s| {
                        let file = sources.get(s.span.source)?;
                        let (a, b) = (file.line_col(s.span.start), file.line_col(s.span.end));
                        Some(JsonSuggestion {
                            line: a.line,
                            column: a.column,
                            end_line: b.line,
                            end_column: b.column,
                            replacement: &s.replacement,
                        })
                    }),
                }
            })
            .collect(),
    };
    let mut text =
        serde_json::to_string_pretty(&report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

fn sarif(diagnostics: &[Diagnostic], sources: &Sources) -> String {
    let mut codes: Vec<Code> = diagnostics.iter().map(|d| d.code).collect();
    codes.sort();
    codes.dedup();
    let rules: Vec<sarif::ReportingDescriptor> = codes
        .iter()
        .map(|c| {
            sarif::ReportingDescriptor::builder()
                .id(c.as_str().to_string())
                .name(c.slug().to_string())
                .short_description(
                    sarif::MultiformatMessageString::builder()
                        .text(c.title().to_string())
                        .build(),
                )
                .build()
        })
        .collect();
    let results: Vec<sarif::Result> = diagnostics
        .iter()
        .map(|d| {
            let at = d.location(sources);
            let region = sarif::Region::builder()
                .start_line(i64::from(at.start.line))
                .start_column(i64::from(at.start.column))
                .end_line(i64::from(at.end.line))
                .end_column(i64::from(at.end.column))
                .build();
            let location = sarif::Location::builder()
                .physical_location(
                    sarif::PhysicalLocation::builder()
                        .artifact_location(
                            sarif::ArtifactLocation::builder()
                                .uri(at.file.unwrap_or_default().replace('\\', "/"))
                                .build(),
                        )
                        .region(region)
                        .build(),
                )
                .build();
            let text = match &d.help {
                Some(help) => format!("{}\nhelp: {help}", d.message),
                None => d.message.clone(),
            };
            sarif::Result::builder()
                .rule_id(d.code.as_str().to_string())
                .rule_index(
                    i64::try_from(codes.iter().position(|c| *c == d.code).unwrap_or(0))
                        .unwrap_or(0),
                )
                .level(match d.severity {
                    Severity::Error => sarif::ResultLevel::Error,
                    Severity::Warning => sarif::ResultLevel::Warning,
                })
                .message(sarif::Message::builder().text(text).build())
                .locations(vec![location])
                .build()
        })
        .collect();
    let driver = sarif::ToolComponent::builder()
        .name("kbrules".to_string())
        .version(env!("CARGO_PKG_VERSION").to_string())
        .rules(rules)
        .build();
    let run = sarif::Run::builder()
        .tool(sarif::Tool::builder().driver(driver).build())
        .results(results)
        .build();
    let log = sarif::Sarif::builder()
        .schema("https://json.schemastore.org/sarif-2.1.0.json".to_string())
        .version(serde_json::Value::String("2.1.0".to_string()))
        .runs(vec![run])
        .build();
    let mut text =
        serde_json::to_string_pretty(&log).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}
