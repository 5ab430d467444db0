//! kcidb-harvest: Linux kernel build result directories → KCIDB v5.3.
//!
//! The pipeline, one stage per module:
//! discover ([`discover`]) → layout ([`layout`]) → parsers (the
//! `kcidb-harvest-parsers` crate) → merge ([`merge`]) → validate
//! ([`kcidb::validate`]) → artifacts ([`artifacts`]) → submit ([`submit`],
//! or [`spool`]) → journal ([`journal`]). [`run`] wires them for the CLI.

pub mod artifacts;
pub mod cli;
pub mod deliver;
pub mod exit_code;
pub mod harvest;
pub mod journal;
pub mod kcidb;
pub mod settings;
pub mod spool;
pub mod submit;

pub use cli::Cli;

/// Run the command line; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    match &cli.command {
        Some(cli::Command::Send(args)) => deliver::cmd_send(args),
        _ => exit_code::OK,
    }
}
