//! `kcidb-harvest validate FILE…|-`: check KCIDB JSON files against v5.3.
//!
//! Valid: one line `<file>: valid KCIDB v5.3 (…counts…)` on stdout.
//! Invalid: one line `<file>: <path>: <message>` per violation on stderr
//! (exit 3); a file that is not JSON, or is over a size limit, is one such
//! line. Unreadable: exit 2. Each file is checked; the exit code ranks
//! them all ([`Verdict`]).

use std::io;

use super::{print, CmdError};
use crate::exit_code::{self, Verdict};
use crate::kcidb::validate::check_input;

pub fn run(files: &[String]) -> Result<Verdict, CmdError> {
    let mut verdict = Verdict::default();
    for file in files {
        let mut out = Vec::new();
        let code = if file == "-" {
            check_input(
                "<stdin>",
                io::stdin().lock(),
                &mut out,
                &mut io::stderr().lock(),
            )
        } else {
            match std::fs::File::open(file) {
                Ok(f) => check_input(file, f, &mut out, &mut io::stderr().lock()),
                Err(e) => {
                    // validate's own dialect: `<file>: <problem>`, like a violation
                    eprintln!("{file}: cannot read: {e}");
                    exit_code::USAGE
                }
            }
        };
        print(&String::from_utf8_lossy(&out))?;
        verdict.invalid |= code == exit_code::INVALID;
        verdict.usage |= code == exit_code::USAGE;
    }
    Ok(verdict)
}
