//! kcidb-harvest: Linux kernel build result directories → KCIDB v5.3.
//!
//! The pipeline, one stage per module:
//! discover → layout ([`layout`]) → parsers (the `kcidb-harvest-parsers`
//! crate) → merge ([`merge`]) → validate ([`kcidb::validate`]) → artifacts
//! ([`artifacts`]) → submit ([`submit`], or [`spool`]) → journal
//! ([`journal`]). [`run`] wires them for the CLI.

pub mod artifacts;
pub mod batch;
pub mod cli;
pub mod commands;
pub mod deliver;
pub mod discover;
pub mod document;
pub mod exit_code;
pub mod harvest;
pub mod harvest_cmd;
pub mod journal;
pub mod kcidb;
pub mod layout;
pub mod merge;
pub mod output;
pub mod settings;
pub mod spool;
pub mod submit;
pub mod summary;

pub use cli::Cli;
use cli::Command;

/// Run the command line; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    let (verbose, quiet) = (cli.harvest.verbose, cli.harvest.quiet);
    output::init_tracing(verbose, quiet);
    match cli.command {
        Some(Command::Parsers) => commands::parsers(),
        Some(Command::Validate { files }) => kcidb::validate::cmd_validate(&files),
        Some(Command::Explain(args)) => commands::explain(&args),
        Some(Command::Completions { shell }) => commands::completions(shell),
        Some(Command::Man) => commands::man(),
        Some(Command::Send(args)) => deliver::cmd_send(&args),
        None => harvest_command(&cli.harvest),
    }
}

fn harvest_command(args: &cli::HarvestArgs) -> i32 {
    harvest_cmd::run(args)
}
