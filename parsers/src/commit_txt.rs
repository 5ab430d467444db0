//! commit.txt: the base commit recorded right after the clone

use crate::{Facts, Input, ParseError, Parser};

/// commit.txt: the base commit recorded right after the clone
pub struct CommitTxt;

impl Parser for CommitTxt {
    fn id(&self) -> &'static str {
        "commit-txt"
    }
    fn description(&self) -> &'static str {
        "commit.txt: the base commit recorded right after the clone"
    }
    fn inputs(&self) -> &'static [&'static str] {
        &["commit.txt"]
    }
    fn parse(&self, _input: &Input, _facts: &mut Facts) -> Result<(), ParseError> {
        Ok(())
    }
}
