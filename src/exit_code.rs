//! Named exit codes (documented in `--help` and the README).

/// Every directory was harvested and delivered (or printed with `--dry-run`).
pub const OK: i32 = 0;
/// Some directories failed (bad input, unknown layout); the rest went on.
pub const SOME_FAILED: i32 = 1;
/// Usage or configuration error: nothing was done.
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
  2    usage or configuration error
  3    a report failed KCIDB v5.3 validation (it was not sent)
  4    delivery failed after retries; the reports wait in the spool
  130  interrupted; in-flight work was finished or spooled";
