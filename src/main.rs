//! The `consentry` binary: parse arguments, set up logging to stderr, call the library, and map the
//! outcome to the documented exit code. Nothing else in the program exits the process.

use std::process::ExitCode;

use clap::Parser;
use consentry::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version are "errors" to clap that exit 0; real usage errors exit 2.
            let code = err.exit_code();
            // A closed stderr is no reason to panic.
            let _ = err.print();
            return ExitCode::from(u8::try_from(code).unwrap_or(2));
        }
    };
    cli::init_logging(&cli);
    ExitCode::from(cli::run(cli).code())
}
