//! `kbrules check`: parse and check rule files, print every diagnostic.

use std::io::Write as _;
use std::path::PathBuf;

use super::{EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, Format, format};
use crate::diagnostics::{Code, Severity};
use crate::source::Sources;

pub(super) fn run(paths: &[PathBuf], fmt: Format, deny_warnings: bool, color: bool) -> u8 {
    let (sources, io_errors) = Sources::load_paths(paths);
    let checked = crate::check(&sources);
    let mut diagnostics = io_errors.clone();
    diagnostics.extend(checked.diagnostics);
    let text = format::render(fmt, &diagnostics, &sources, color);
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    if fmt == Format::Human {
        if !text.is_empty() {
            let _ = writeln!(stdout);
        }
        let errors = diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        let warnings = diagnostics.len() - errors;
        let _ = writeln!(
            stdout,
            "checked {} file{}: {errors} error{}, {warnings} warning{}",
            sources.len(),
            if sources.len() == 1 { "" } else { "s" },
            if errors == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" },
        );
    }
    let _ = stdout.flush();
    let usage_problem = io_errors.iter().any(|d| matches!(d.code, Code::Io));
    if usage_problem {
        EXIT_USAGE
    } else if diagnostics
        .iter()
        .any(|d| d.severity == Severity::Error || deny_warnings)
    {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}
