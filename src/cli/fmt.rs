//! `kbrules fmt`: rule files in the canonical layout, written atomically, or checked.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use super::{EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, Format, format};
use crate::diagnostics::{Code, Diagnostic};
use crate::source::Sources;

pub(super) fn run(paths: &[PathBuf], check: bool, color: bool) -> u8 {
    let (sources, io_errors) = Sources::load_paths(paths);
    let mut errors = io_errors;
    let mut unformatted = Vec::new();
    let mut failed = false;
    let mut stdout = std::io::stdout().lock();
    for (id, file) in sources.iter() {
        let formatted = match crate::fmt::format_source(&sources, id) {
            Ok(text) => text,
            Err(diagnostics) => {
                // Never written: the file did not parse.
                failed = true;
                errors.extend(diagnostics);
                continue;
            }
        };
        if formatted == file.text() {
            continue;
        }
        unformatted.push(file.name().to_string());
        if check {
            let _ = stdout.write_all(diff(file.name(), file.text(), &formatted, color).as_bytes());
        } else if let Err(d) = super::write_atomically(Path::new(file.name()), &formatted) {
            errors.push(d);
        }
    }
    if !errors.is_empty() {
        let text = format::render(Format::Human, &errors, &sources, color);
        let _ = std::io::stderr().write_all(text.as_bytes());
    }
    let files = sources.len();
    let summary = match (check, unformatted.len()) {
        (_, 0) => format!("{} already formatted", plural(files, "file")),
        (true, n) => format!("{} of {} not formatted", plural(n, "file"), files),
        (false, n) => format!("formatted {} of {}", plural(n, "file"), files),
    };
    let _ = writeln!(stdout, "{summary}");
    let _ = stdout.flush();
    if errors.iter().any(|d| d.code == Code::Io) {
        EXIT_USAGE
    } else if failed || (check && !unformatted.is_empty()) {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

/// `--stdin`: standard input formatted to standard output; on an error, nothing on standard
/// output and the diagnostics on standard error. With `check`, the input is written back
/// unchanged and the exit code says whether it was formatted.
pub(super) fn run_stdin(check: bool, color: bool) -> u8 {
    let mut bytes = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut bytes) {
        let d = Diagnostic::global(Code::Io, format!("cannot read standard input: {e}"));
        let _ = writeln!(std::io::stderr(), "{}", d.message);
        return EXIT_USAGE;
    }
    let mut sources = Sources::new();
    let id = match sources.add_bytes("<stdin>".to_string(), &bytes) {
        Ok(id) => id,
        Err(d) => {
            let text = format::render(Format::Human, &[d], &sources, color);
            let _ = std::io::stderr().write_all(text.as_bytes());
            return EXIT_FINDINGS;
        }
    };
    match crate::fmt::format_source(&sources, id) {
        Ok(formatted) => {
            let original = sources.get(id).map(|f| f.text()).unwrap_or_default();
            let mut stdout = std::io::stdout().lock();
            if check {
                let _ = stdout.write_all(diff("<stdin>", original, &formatted, false).as_bytes());
                let _ = stdout.flush();
                return if formatted == original {
                    EXIT_OK
                } else {
                    EXIT_FINDINGS
                };
            }
            let _ = stdout.write_all(formatted.as_bytes());
            let _ = stdout.flush();
            EXIT_OK
        }
        Err(diagnostics) => {
            let text = format::render(Format::Human, &diagnostics, &sources, color);
            let _ = std::io::stderr().write_all(text.as_bytes());
            EXIT_FINDINGS
        }
    }
}

/// A unified diff from the file as it is to the file formatted; empty when they are equal.
fn diff(name: &str, old: &str, new: &str, color: bool) -> String {
    if old == new {
        return String::new();
    }
    let diff = similar::TextDiff::from_lines(old, new);
    let mut out = String::new();
    let header = format!("--- {name}\n+++ {name} (formatted)\n");
    out.push_str(&header);
    for hunk in diff.unified_diff().context_radius(2).iter_hunks() {
        out.push_str(&format!("{}\n", hunk.header()));
        for change in hunk.iter_changes() {
            let (sign, paint) = match change.tag() {
                similar::ChangeTag::Delete => ('-', "\x1b[31m"),
                similar::ChangeTag::Insert => ('+', "\x1b[32m"),
                similar::ChangeTag::Equal => (' ', ""),
            };
            let line = change.value();
            let newline = if line.ends_with('\n') {
                ""
            } else {
                "\n\\ No newline at end of file\n"
            };
            if color && !paint.is_empty() {
                out.push_str(&format!(
                    "{paint}{sign}{}\x1b[0m{newline}",
                    line.trim_end_matches('\n')
                ));
                if newline.is_empty() {
                    out.push('\n');
                }
            } else {
                out.push_str(&format!("{sign}{line}{newline}"));
            }
        }
    }
    out
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
