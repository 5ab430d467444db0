//! run_test.sh: KERNEL_VERSION, STABLE_GIT, cloned branch, how the queue is applied

use crate::{Facts, Input, ParseError, Parser};

/// run_test.sh: KERNEL_VERSION, STABLE_GIT, cloned branch, how the queue is applied
pub struct RunTest;

impl Parser for RunTest {
    fn id(&self) -> &'static str {
        "run-test-sh"
    }
    fn description(&self) -> &'static str {
        "run_test.sh: KERNEL_VERSION, STABLE_GIT, cloned branch, how the queue is applied"
    }
    fn inputs(&self) -> &'static [&'static str] {
        &["run_test.sh"]
    }
    fn parse(&self, _input: &Input, _facts: &mut Facts) -> Result<(), ParseError> {
        Ok(())
    }
}
