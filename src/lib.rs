//! kcidb-harvest: Linux kernel build result directories → KCIDB v5.3.
//!
//! The pipeline, one stage per module:
//! discover → layout ([`layout`]) → parsers (the `kcidb-harvest-parsers`
//! crate) → merge ([`merge`]) → validate ([`kcidb::validate`]) → artifacts
//! → submit (or spool) → journal. [`run`] wires them for the CLI.

pub mod cli;
pub mod commands;
pub mod exit_code;
pub mod harvest;
pub mod kcidb;
pub mod layout;
pub mod merge;
pub mod output;

use std::time::SystemTime;

pub use cli::Cli;
use cli::Command;

/// Run the command line; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    let (verbose, quiet) = (cli.harvest.verbose, cli.harvest.quiet);
    output::init_tracing(verbose, quiet);
    match cli.command {
        Some(Command::Parsers) => commands::parsers(),
        Some(Command::Validate { file }) => commands::validate_file(&file),
        Some(Command::Explain(args)) => commands::explain(&args),
        Some(Command::Completions { shell }) => commands::completions(shell),
        Some(Command::Man) => commands::man(),
        Some(Command::Send(_)) => {
            output::error("send: delivery is not available in this build");
            exit_code::USAGE
        }
        None => harvest_command(&cli.harvest),
    }
}

fn harvest_command(args: &cli::HarvestArgs) -> i32 {
    let origin = match commands::check_origin(args.origin.as_deref()) {
        Ok(o) => o,
        Err(e) => {
            output::error(&e);
            return exit_code::USAGE;
        }
    };
    if let Some(s) = &args.overrides.status {
        if let Err(e) = s.parse::<kcidb::Status>() {
            output::error(&e);
            return exit_code::USAGE;
        }
    }
    let opts = harvest::HarvestOptions {
        origin,
        overrides: args.overrides.clone(),
        assume_finished: args.assume_finished,
        now: SystemTime::now(),
    };
    let dirs = commands::expand_dirs(args);
    if args.dry_run {
        return commands::dry_run(args, &opts, &dirs);
    }
    output::error("delivery is not available in this build; use --dry-run");
    exit_code::USAGE
}
