//! start_time.txt: epoch seconds or RFC 3339 start of the build

use crate::{Facts, Input, ParseError, Parser};

/// start_time.txt: epoch seconds or RFC 3339 start of the build
pub struct StartTime;

impl Parser for StartTime {
    fn id(&self) -> &'static str {
        "start-time"
    }
    fn description(&self) -> &'static str {
        "start_time.txt: epoch seconds or RFC 3339 start of the build"
    }
    fn inputs(&self) -> &'static [&'static str] {
        &["start_time.txt", "start_time.epoch"]
    }
    fn parse(&self, _input: &Input, _facts: &mut Facts) -> Result<(), ParseError> {
        Ok(())
    }
}
