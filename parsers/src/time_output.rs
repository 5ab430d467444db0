//! time output (bash time, time -p, GNU time default and -v): elapsed seconds, exit status

use crate::{Facts, Input, ParseError, Parser};

/// time output (bash time, time -p, GNU time default and -v): elapsed seconds, exit status
pub struct TimeOutput;

impl Parser for TimeOutput {
    fn id(&self) -> &'static str {
        "time-output"
    }
    fn description(&self) -> &'static str {
        "time output (bash time, time -p, GNU time default and -v): elapsed seconds, exit status"
    }
    fn inputs(&self) -> &'static [&'static str] {
        &["time.txt", "time-v.txt", "time.log"]
    }
    fn parse(&self, _input: &Input, _facts: &mut Facts) -> Result<(), ParseError> {
        Ok(())
    }
}
