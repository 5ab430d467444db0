//! the stable queue: linux/patches/series or stable_queue.tar.gz, patchset_hash in series order

use crate::{Facts, Input, ParseError, Parser};

/// the stable queue: linux/patches/series or stable_queue.tar.gz, patchset_hash in series order
pub struct Queue;

impl Parser for Queue {
    fn id(&self) -> &'static str {
        "queue"
    }
    fn description(&self) -> &'static str {
        "the stable queue: linux/patches/series or stable_queue.tar.gz, patchset_hash in series order"
    }
    fn inputs(&self) -> &'static [&'static str] {
        &["linux/patches/series", "stable_queue.tar.gz"]
    }
    fn parse(&self, _input: &Input, _facts: &mut Facts) -> Result<(), ParseError> {
        Ok(())
    }
}
