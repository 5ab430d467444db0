//! test_stable_ssh output_log: KTEST_RUN, Took N seconds, Warnings/Errors, quiltimport lines and failures

use crate::{Facts, Input, ParseError, Parser};

/// test_stable_ssh output_log: KTEST_RUN, Took N seconds, Warnings/Errors, quiltimport lines and failures
pub struct OutputLog;

impl Parser for OutputLog {
    fn id(&self) -> &'static str {
        "output-log"
    }
    fn description(&self) -> &'static str {
        "test_stable_ssh output_log: KTEST_RUN, Took N seconds, Warnings/Errors, quiltimport lines and failures"
    }
    fn inputs(&self) -> &'static [&'static str] {
        &["output_log"]
    }
    fn parse(&self, _input: &Input, _facts: &mut Facts) -> Result<(), ParseError> {
        Ok(())
    }
}
