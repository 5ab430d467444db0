//! Exit codes (documented in `--help` and the README) and the one place
//! that turns what a run found into one: [`Verdict::code`].

/// Every directory was harvested and delivered (or printed with `--dry-run`).
pub const OK: i32 = 0;
/// Some directories failed (bad input, unknown layout); the rest went on.
pub const SOME_FAILED: i32 = 1;
/// Usage or configuration error, or the output could not be written.
pub const USAGE: i32 = 2;
/// A report failed validation (nothing invalid is ever sent or spooled).
pub const INVALID: i32 = 3;
/// Delivery failed for good; the reports wait in the spool.
pub const SPOOLED: i32 = 4;
/// Interrupted (Ctrl-C); what was in flight was finished or spooled.
pub const INTERRUPTED: i32 = 130;

/// Text for `--help` and the README.
pub const HELP: &str = "\
Exit codes:
  0    all directories harvested and delivered (or printed with --dry-run)
  1    some directories failed (bad input, unknown layout); the others went on
  2    usage or configuration error, or the output (stdout, -o) could not be written
  3    a report failed KCIDB v5.3 validation (it was not sent)
  4    delivery failed after retries; the reports wait in the spool
  130  interrupted; in-flight work was finished or spooled
  When several apply, the first of 130, 2, 4, 3, 1 wins.";

/// What went wrong in a run, as it went; [`Verdict::code`] ranks it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// A directory (or spool file) failed; the others went on.
    pub some_failed: bool,
    /// A report (or spool file) failed validation.
    pub invalid: bool,
    /// Delivery failed for good; reports wait in the spool.
    pub spooled_after_failure: bool,
    /// A usage or configuration error, or stdout / `-o` could not be written.
    pub usage: bool,
    pub interrupted: bool,
}

impl Verdict {
    /// A verdict of usage error alone.
    pub fn usage() -> Verdict {
        Verdict {
            usage: true,
            ..Verdict::default()
        }
    }

    /// The exit code: interrupted, then usage/output, then delivery
    /// failure, then invalid, then some failed, else 0.
    pub fn code(&self) -> i32 {
        if self.interrupted {
            INTERRUPTED
        } else if self.usage {
            USAGE
        } else if self.spooled_after_failure {
            SPOOLED
        } else if self.invalid {
            INVALID
        } else if self.some_failed {
            SOME_FAILED
        } else {
            OK
        }
    }

    /// Both verdicts together.
    pub fn and(self, o: Verdict) -> Verdict {
        Verdict {
            some_failed: self.some_failed || o.some_failed,
            invalid: self.invalid || o.invalid,
            spooled_after_failure: self.spooled_after_failure || o.spooled_after_failure,
            usage: self.usage || o.usage,
            interrupted: self.interrupted || o.interrupted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ranking_is_the_documented_one() {
        let all = Verdict {
            some_failed: true,
            invalid: true,
            spooled_after_failure: true,
            usage: true,
            interrupted: true,
        };
        assert_eq!(all.code(), INTERRUPTED);
        let v = Verdict {
            interrupted: false,
            ..all
        };
        assert_eq!(v.code(), USAGE);
        let v = Verdict { usage: false, ..v };
        assert_eq!(v.code(), SPOOLED);
        let v = Verdict {
            spooled_after_failure: false,
            ..v
        };
        assert_eq!(v.code(), INVALID);
        let v = Verdict {
            invalid: false,
            ..v
        };
        assert_eq!(v.code(), SOME_FAILED);
        assert_eq!(Verdict::default().code(), OK);
        assert!(HELP.contains("130, 2, 4, 3, 1 wins"));
    }
}
