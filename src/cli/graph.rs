//! `kbrules graph`: the checked rule graph as DOT.

use std::io::Write as _;
use std::path::PathBuf;

use super::{EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, Format, format};
use crate::source::Sources;

pub(super) fn run(paths: &[PathBuf]) -> u8 {
    let (sources, io_errors) = Sources::load_paths(paths);
    if !io_errors.is_empty() {
        eprint!(
            "{}",
            format::render(Format::Human, &io_errors, &sources, false)
        );
        return EXIT_USAGE;
    }
    let checked = crate::check(&sources);
    match checked.graph {
        Some(graph) => {
            let _ = std::io::stdout().write_all(crate::ir::to_dot(&graph).as_bytes());
            EXIT_OK
        }
        None => {
            eprint!(
                "{}",
                format::render(Format::Human, &checked.diagnostics, &sources, false)
            );
            EXIT_FINDINGS
        }
    }
}
