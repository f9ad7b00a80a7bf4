//! The `kbrules` command: parses arguments, runs the subcommand, maps the outcome to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    kbrules::cli::run(std::env::args_os())
}
