//! `kbrules snapshot`: any mix of inputs converted and merged into one JSON snapshot, and a
//! summary of what it holds; and the progress bar every command that loads inputs shows.

use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{EXIT_OK, EXIT_USAGE};
use crate::snapshot::{Progress, Snapshot};

/// Inputs smaller than this in all load too fast for a bar to help.
const BAR_FROM: u64 = 16 << 20;

/// A progress bar on stderr, drawn only when stderr is a terminal and the inputs are large.
pub(super) struct Bar {
    bar: Option<ProgressBar>,
}

impl Bar {
    pub(super) fn new() -> Bar {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "reading {bar:30} {binary_bytes}/{binary_total_bytes} ({eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Bar { bar }
    }

    /// Takes the bar off the screen, before anything else is written.
    pub(super) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Progress for Bar {
    fn start(&self, total: u64) {
        if let Some(bar) = &self.bar {
            if total < BAR_FROM {
                bar.set_draw_target(ProgressDrawTarget::hidden());
            }
            bar.set_length(total);
        }
    }

    fn advance(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }
}

pub(super) fn run(inputs: &[PathBuf], output: Option<&Path>, summary: bool, color: bool) -> u8 {
    let bar = Bar::new();
    let loaded = Snapshot::load_merged(inputs, Some(&bar));
    bar.finish();
    let snapshot = match loaded {
        Ok(s) => s,
        Err(d) => {
            super::eval::print_errors(&[d], &crate::Sources::new(), color);
            return EXIT_USAGE;
        }
    };
    let mut out = std::io::stdout().lock();
    match output {
        Some(path) if path != Path::new("-") => {
            if let Err(d) = super::write_atomically(path, &(snapshot.to_json() + "\n")) {
                super::eval::print_errors(&[d], &crate::Sources::new(), color);
                return EXIT_USAGE;
            }
        }
        // `--summary` alone prints only the summary.
        None if summary => {}
        _ => {
            let _ = out.write_all((snapshot.to_json() + "\n").as_bytes());
        }
    }
    if summary {
        let text = snapshot.summary().to_string();
        // With the snapshot on standard output, the summary goes beside it, to stderr.
        if output == Some(Path::new("-")) {
            let _ = std::io::stderr().write_all(text.as_bytes());
        } else {
            let _ = out.write_all(text.as_bytes());
        }
    }
    let _ = out.flush();
    EXIT_OK
}
