//! The primary build log in one streaming pass: ktest framing
//! ([`crate::ktest_log`]), script-compatible raw counts and distinct
//! diagnostics ([`crate::diag`]).

use crate::diag::Engine;
use crate::ktest_log::Framing;
use crate::logscan::scan;
use crate::{Facts, Input, ParseError, Parser};

/// The build log parser (ktest LOG_FILE, tuxmake build.log, bare logs).
pub struct BuildLog;

impl Parser for BuildLog {
    fn id(&self) -> &'static str {
        "build-log"
    }
    fn description(&self) -> &'static str {
        "primary build log in one pass: ktest framing (steps, banners, CRITICAL FAILURE), grep-compatible raw counts, distinct diagnostics, excerpt"
    }
    fn inputs(&self) -> &'static [&'static str] {
        &["linux/log", "log", "build.log", "*.log", "*.gz"]
    }
    fn parse(&self, input: &Input, facts: &mut Facts) -> Result<(), ParseError> {
        let Some(rel) = input.log.as_deref() else {
            return Ok(());
        };
        let Some(opened) = input.open(rel)? else {
            return Ok(());
        };
        let mut framing = Framing::new(&opened.name);
        let mut engine = Engine::new();
        scan(
            &opened.name,
            opened.reader,
            &mut [&mut framing, &mut engine],
        )?;
        facts.extend(framing.into_facts());
        facts.diag = Some((opened.name, engine.finish()));
        Ok(())
    }
}
