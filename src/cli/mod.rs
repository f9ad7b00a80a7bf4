//! The command line: one file per subcommand.
//!
//! Exit codes are stable: 0 clean, 1 findings (errors in rules, or warnings with
//! `--deny-warnings`; a diagnosis that fired), 2 usage or input error.

mod check;
mod eval;
mod fmt;
mod format;
mod graph;
pub mod lsp;
mod snapshot;
mod test;

use std::ffi::OsString;
use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::diagnostics::{Code, Diagnostic};

/// Exit code: nothing to report.
pub const EXIT_OK: u8 = 0;
/// Exit code: the rules have errors (or warnings, with `--deny-warnings`).
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code: bad arguments, or a file that could not be read or written.
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "kbrules",
    version,
    about = "Compile and check diagnostic rules written from knowledge-base articles"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse and check rule files, and report every error and warning
    Check(CheckArgs),
    /// Evaluate the rules against snapshots: what is wrong, why, and what to do
    Eval(EvalArgs),
    /// Show why one rule fired, did not fire, or could not be evaluated
    Explain(ExplainArgs),
    /// List what the rules read: event logs, registry keys, services, files, facts, products
    Needs(NeedsArgs),
    /// Run the rule tests (`*.tests.json`): verdicts, evidence, necessity of each condition,
    /// coverage
    Test(TestArgs),
    /// Convert and merge inputs (.evtx, .reg, rendered events, service lists, JSON) into one
    /// JSON snapshot, and summarize what it holds
    Snapshot(SnapshotArgs),
    /// Print the checked rule graph as Graphviz DOT
    Graph(GraphArgs),
    /// Format rule files in the one canonical layout, comments kept
    Fmt(FmtArgs),
    /// Run the language server over standard input and output, for editors
    Lsp,
}

/// How diagnostics are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: source lines, labels and help
    Human,
    /// One `file:line:col: severity[CODE]: message` line each, for editors' problem matchers
    Short,
    /// One JSON document
    Json,
    /// SARIF 2.1.0, for code-scanning services
    Sarif,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// When writing to a terminal
    Auto,
    /// Always
    Always,
    /// Never
    Never,
}

impl Color {
    fn enabled(self) -> bool {
        match self {
            Color::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
            Color::Always => true,
            Color::Never => false,
        }
    }

    /// Whether to colour what is written to stderr (errors of commands whose output is a
    /// report).
    fn enabled_on_stderr(self) -> bool {
        match self {
            Color::Auto => {
                std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
            Color::Always => true,
            Color::Never => false,
        }
    }
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// Rule files or directories (searched for `*.kbr`); `rules/` by default
    paths: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Exit with 1 when there are warnings, too
    #[arg(long)]
    deny_warnings: bool,
    /// When to use colour
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Debug, clap::Args)]
struct EvalArgs {
    /// Inputs: JSON snapshots, exports (.evtx, .reg, rendered events, service lists), or
    /// directories of them
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// A rule file or directory (repeat for more); `rules/` by default
    #[arg(long, value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = eval::ReportFormat::Human)]
    format: eval::ReportFormat,
    /// Also list the rules that did not fire, do not apply, or could not be evaluated
    #[arg(long)]
    all: bool,
    /// When to use colour
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Debug, clap::Args)]
struct ExplainArgs {
    /// The rule's id, such as `Q298565`
    rule: String,
    /// The input: a JSON snapshot, an export, or a directory of them
    input: PathBuf,
    /// A rule file or directory (repeat for more); `rules/` by default
    #[arg(long, value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = eval::ReportFormat::Human)]
    format: eval::ReportFormat,
    /// When to use colour
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Debug, clap::Args)]
struct NeedsArgs {
    /// Rule files or directories; `rules/` by default
    paths: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = eval::ReportFormat::Human)]
    format: eval::ReportFormat,
    /// When to use colour
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Debug, clap::Args)]
struct TestArgs {
    /// Rule files, test files (`*.tests.json`) or directories holding both; `rules/` by default
    paths: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = eval::ReportFormat::Human)]
    format: eval::ReportFormat,
    /// Skip the necessity check (negating each condition on each firing case)
    #[arg(long)]
    no_necessity: bool,
    /// When to use colour
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Debug, clap::Args)]
struct SnapshotArgs {
    /// Inputs: JSON snapshots, exports (.evtx, .reg, rendered events, service lists), or
    /// directories of them; merged into one snapshot
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Write the snapshot to this file (replaced atomically); `-` for standard output
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print what the snapshot holds: events per log and per source and id, registry keys per
    /// hive, the other sections, what was skipped
    #[arg(long)]
    summary: bool,
    /// When to use colour
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Debug, clap::Args)]
struct FmtArgs {
    /// Rule files or directories (searched for `*.kbr`); `rules/` by default
    #[arg(conflicts_with = "stdin")]
    paths: Vec<PathBuf>,
    /// Write nothing; list the files that are not formatted, with a diff, and exit with 1 if
    /// there are any
    #[arg(long)]
    check: bool,
    /// Format standard input and write it to standard output
    #[arg(long)]
    stdin: bool,
    /// When to use colour
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Debug, clap::Args)]
struct GraphArgs {
    /// Rule files or directories; `rules/` by default
    paths: Vec<PathBuf>,
}

fn default_paths(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![PathBuf::from("rules")]
    } else {
        paths
    }
}

/// Runs the command line and returns the exit code.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() {
                EXIT_USAGE
            } else {
                EXIT_OK
            });
        }
    };
    let code = match cli.command {
        Command::Check(args) => check::run(
            &default_paths(args.paths),
            args.format,
            args.deny_warnings,
            args.color.enabled(),
        ),
        Command::Eval(args) => eval::run_eval(
            &args.inputs,
            &default_paths(args.rules),
            args.format,
            args.all,
            args.color.enabled_on_stderr(),
        ),
        Command::Explain(args) => eval::run_explain(
            &args.rule,
            &args.input,
            &default_paths(args.rules),
            args.format,
            args.color.enabled_on_stderr(),
        ),
        Command::Needs(args) => eval::run_needs(
            &default_paths(args.paths),
            args.format,
            args.color.enabled_on_stderr(),
        ),
        Command::Test(args) => test::run(
            &args.paths,
            args.format,
            !args.no_necessity,
            args.color.enabled_on_stderr(),
        ),
        Command::Snapshot(args) => snapshot::run(
            &args.inputs,
            args.output.as_deref(),
            args.summary,
            args.color.enabled_on_stderr(),
        ),
        Command::Graph(args) => graph::run(&default_paths(args.paths)),
        Command::Lsp => lsp::run(),
        Command::Fmt(args) if args.stdin => {
            fmt::run_stdin(args.check, args.color.enabled_on_stderr())
        }
        Command::Fmt(args) => {
            fmt::run(&default_paths(args.paths), args.check, args.color.enabled())
        }
    };
    ExitCode::from(code)
}

/// Writes `text` to `path` through a temporary file beside it and a rename, so that an
/// interrupted run leaves the old file, or none, never half of one.
pub(crate) fn write_atomically(path: &Path, text: &str) -> Result<(), Diagnostic> {
    let name = path.display().to_string();
    let err = |e: std::io::Error| {
        Diagnostic::global(Code::Io, format!("cannot write `{name}`: {e}")).with_file(name.clone())
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .map_or_else(|| "snapshot".into(), |n| n.to_string_lossy().to_string());
    let temp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let written = std::fs::File::create(&temp).and_then(|mut f| {
        f.write_all(text.as_bytes())?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&temp, path)) {
        let _ = std::fs::remove_file(&temp);
        return Err(err(e));
    }
    Ok(())
}
