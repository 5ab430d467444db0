//! ktest.conf as written: BUILD_TYPE, MAKE_CMD (CC=), MACHINE, TMP_DIR, MIN_CONFIG

use crate::{Facts, Input, ParseError, Parser};

/// ktest.conf as written: BUILD_TYPE, MAKE_CMD (CC=), MACHINE, TMP_DIR, MIN_CONFIG
pub struct KtestConf;

impl Parser for KtestConf {
    fn id(&self) -> &'static str {
        "ktest-conf"
    }
    fn description(&self) -> &'static str {
        "ktest.conf as written: BUILD_TYPE, MAKE_CMD (CC=), MACHINE, TMP_DIR, MIN_CONFIG"
    }
    fn inputs(&self) -> &'static [&'static str] {
        &["ktest.conf"]
    }
    fn parse(&self, _input: &Input, _facts: &mut Facts) -> Result<(), ParseError> {
        Ok(())
    }
}
