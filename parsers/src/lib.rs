//! Pure, pluggable parsers for Linux kernel build result directories.
//!
//! Contract for every parser (see [`Parser`]):
//! - pure: reads files of the directory it is given, never the network,
//!   never writes, never reads the clock;
//! - streaming: a log is read line by line ([`logscan`]), never whole;
//! - never panics on any bytes; a recoverable oddity becomes a
//!   [`facts::Note`], a fatal one a [`ParseError`] naming the file and line;
//! - emits [`facts::Fact`]s under the keys listed in [`keys`].
//!
//! Which parsers run on a directory is decided by the layout (main crate).

pub mod collect;
pub mod diag;
pub mod digest;
pub mod error;
pub mod facts;
pub mod input;
pub mod keys;
pub mod logscan;

pub mod build_log;
pub mod commit_txt;
pub mod git_meta;
pub mod kbuild_output;
pub mod kernel_makefile;
pub mod ktest_conf;
pub mod ktest_framing;
pub mod ktest_log;
pub mod ktest_tests;
pub mod output_log;
pub mod queue;
pub mod run_test;
pub mod start_time;
pub mod time_output;
pub mod tuxmake;

#[cfg(test)]
pub(crate) mod testutil;

pub use collect::{collect, CollectError};
pub use error::ParseError;
pub use facts::{Fact, Facts, Loc, Note};
pub use input::Input;

/// A parser: reads some files of a result directory and records facts.
pub trait Parser: Send + Sync {
    /// Stable kebab-case id (`output-log`), also the fixture folder name.
    fn id(&self) -> &'static str;
    /// One line for `kcidb-harvest parsers`.
    fn description(&self) -> &'static str;
    /// Files it reads, relative to the result directory (for listings).
    fn inputs(&self) -> &'static [&'static str];
    /// Parse. A missing input file is not an error (no facts). Must not panic.
    fn parse(&self, input: &Input, facts: &mut Facts) -> Result<(), ParseError>;
}

/// Every parser, in the order they are listed and run.
pub static PARSERS: &[&dyn Parser] = &[
    &output_log::OutputLog,
    &build_log::BuildLog,
    &ktest_conf::KtestConf,
    &run_test::RunTest,
    &git_meta::GitMeta,
    &commit_txt::CommitTxt,
    &start_time::StartTime,
    &time_output::TimeOutput,
    &kbuild_output::KbuildOutput,
    &queue::Queue,
    &kernel_makefile::KernelMakefile,
    &tuxmake::TuxmakeMetadata,
];

/// Look a parser up by id.
pub fn parser(id: &str) -> Option<&'static dyn Parser> {
    PARSERS.iter().copied().find(|p| p.id() == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_kebab_case() {
        let mut seen = std::collections::BTreeSet::new();
        for p in PARSERS {
            assert!(seen.insert(p.id()), "duplicate parser id {}", p.id());
            assert!(
                p.id()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{} is not kebab-case",
                p.id()
            );
            assert!(!p.description().is_empty());
            assert!(!p.inputs().is_empty());
        }
    }
}
