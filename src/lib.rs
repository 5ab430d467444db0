//! kcidb-harvest: Linux kernel build result directories → KCIDB v5.3.
//!
//! The pipeline ([`pipeline`] has the map): discover ([`discover`]) →
//! detect ([`layout`]) → collect (the `kcidb-harvest-parsers` crate) →
//! report ([`merge`]) → artifacts ([`artifacts`]) → validate
//! ([`kcidb::validate`]) → deliver ([`deliver`]: [`submit`] or [`spool`]) →
//! journal ([`journal`]). [`cmd`] has one file per subcommand; everything
//! said on stderr goes through [`reporter`].

pub mod artifacts;
pub mod cli;
pub mod clock;
pub mod cmd;
pub mod deliver;
pub mod discover;
pub mod document;
pub mod exit_code;
pub mod history;
pub mod journal;
pub mod kcidb;
pub mod layout;
pub mod output;
pub mod page;
pub mod pipeline;
pub mod report;
pub mod reporter;
pub mod settings;
pub mod spool;
pub mod submit;
pub mod summary;

pub use cli::Cli;

/// Run the command line; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    cmd::run(cli)
}
