//! kbuild output tree: .config header and CC version, compile.h, kernel.release, utsrelease.h, utsversion.h

use crate::{Facts, Input, ParseError, Parser};

/// kbuild output tree: .config header and CC version, compile.h, kernel.release, utsrelease.h, utsversion.h
pub struct KbuildOutput;

impl Parser for KbuildOutput {
    fn id(&self) -> &'static str {
        "kbuild-output"
    }
    fn description(&self) -> &'static str {
        "kbuild output tree: .config header and CC version, compile.h, kernel.release, utsrelease.h, utsversion.h"
    }
    fn inputs(&self) -> &'static [&'static str] {
        &[
            "linux/output/.config",
            "linux/output/include/generated/compile.h",
            "linux/output/include/config/kernel.release",
        ]
    }
    fn parse(&self, _input: &Input, _facts: &mut Facts) -> Result<(), ParseError> {
        Ok(())
    }
}
