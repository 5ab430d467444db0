//! The subcommands, one file each. Each returns what it found as a
//! [`Verdict`] (or a [`CmdError`] that stopped it); [`run`] prints the
//! error and turns the verdict into the exit code, in one place.

pub mod diagnostics;
mod diff;
mod explain;
pub mod harvest;
mod info;
pub mod options;
mod report;
pub mod send;
mod validate;

use crate::cli::{Cli, Command, Format};
use crate::exit_code::Verdict;
use crate::reporter;
use crate::settings::ConfigError;

pub use options::{check_origin, check_overrides, harvest_options};

/// What stops a command before it could do its work (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum CmdError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// stdout or `-o` could not be written (a closed pipe is not an error).
    #[error("cannot write `{target}`: {source}")]
    Output {
        target: String,
        #[source]
        source: std::io::Error,
    },
}

impl CmdError {
    pub fn stdout(source: std::io::Error) -> CmdError {
        CmdError::Output {
            target: "standard output".into(),
            source,
        }
    }
}

/// Write `text` on stdout: a closed pipe ends quietly, any other error is
/// a [`CmdError::Output`].
pub fn print(text: &str) -> Result<(), CmdError> {
    crate::output::stdout(text)
        .map(|_| ())
        .map_err(CmdError::stdout)
}

/// Run the command line; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    let format = match &cli.command {
        None => cli.harvest.format,
        Some(Command::Send(a)) => a.format,
        Some(_) => Format::Human,
    };
    reporter::init(format, cli.harvest.verbose, cli.harvest.quiet);
    let result = match cli.command {
        Some(Command::Parsers) => info::parsers(),
        Some(Command::Validate { files }) => validate::run(&files),
        Some(Command::Explain(args)) => explain::run(&args),
        Some(Command::Report(args)) => report::run(&args),
        Some(Command::Diagnostics(args)) => diagnostics::run(&args),
        Some(Command::Diff(args)) => diff::run(&args),
        Some(Command::Completions { shell }) => info::completions(shell),
        Some(Command::Man { page, dir }) => info::man(page.as_deref(), dir.as_deref()),
        Some(Command::Send(args)) => send::run(&args),
        None => harvest::run(&cli.harvest),
    };
    let verdict = result.unwrap_or_else(|e| {
        reporter::get().error(None, &e.to_string());
        Verdict::usage()
    });
    verdict.code()
}
