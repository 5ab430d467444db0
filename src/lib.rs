//! kcidb-harvest: Linux kernel build result directories → KCIDB v5.3.
//!
//! The pipeline, one stage per module:
//! discover ([`discover`]) → layout ([`layout`]) → parsers (the
//! `kcidb-harvest-parsers` crate) → merge ([`merge`]) → validate
//! ([`kcidb::validate`]) → artifacts ([`artifacts`]) → submit ([`submit`],
//! or [`spool`]) → journal ([`journal`]). [`run`] wires them for the CLI.

pub mod cli;
pub mod exit_code;
pub mod harvest;
pub mod kcidb;

pub use cli::Cli;

/// Run the command line; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Some(cli::Command::Validate { file }) => kcidb::validate::cmd_validate(&file),
        _ => exit_code::OK,
    }
}
