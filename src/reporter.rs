//! Everything a run says on stderr goes through one [`Reporter`]: the
//! per-directory lines, delivery outcomes, warnings (including those
//! logged with `tracing` from worker threads), `send`'s per-file lines,
//! the progress bar and the closing summary.
//!
//! Human output is one line per message (data escaped, see
//! [`crate::output::escape`]); `--format json` is JSON Lines where every
//! line is one [`Line`], tagged by `"type"` (README "Output formats").
//! While the progress bar is shown, every line is printed above it, so a
//! warning from a worker never tears it.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::cli::Format;
use crate::output::{escape, use_color_stderr};

/// One message of the JSON Lines dialect (`"type"` is the variant name in
/// snake_case). Every field that is not always present is optional and
/// left out when absent.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Line {
    /// One directory: harvested, in progress or failed.
    Directory(Box<DirectoryLine>),
    /// What became of one directory's report.
    Delivery(DeliveryLine),
    /// Something changed a value or was skipped, without failing.
    Warning {
        #[serde(skip_serializing_if = "Option::is_none")]
        dir: Option<String>,
        message: String,
    },
    /// Something failed (the run goes on with the next directory or file).
    Error {
        #[serde(skip_serializing_if = "Option::is_none")]
        dir: Option<String>,
        message: String,
    },
    /// What to do next (said once per run).
    Hint { message: String },
    /// `-v` detail (info, debug, trace).
    Log { level: String, message: String },
    /// `--wait`: the receiver has not processed a submission yet.
    Waiting {
        submission_id: String,
        status: String,
        polls: u32,
        next_poll_seconds: f64,
    },
    /// `send`: one spool file.
    SpoolFile(SpoolFileLine),
    /// The last line of a harvest run.
    Summary(Box<crate::summary::Summary>),
    /// The last line of `send`.
    SendSummary(SendSummary),
}

/// `{"type":"directory",…}`.
#[derive(Debug, Default, Serialize)]
pub struct DirectoryLine {
    pub dir: String,
    /// `harvested`, `in_progress` or `failed`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layout: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkout_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
    /// The maintainer's mail line, verbatim (`Build of 6.1 was good (W:4 E:0 42 seconds)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Distinct warnings and errors found by our diagnostics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<u64>,
    /// The script's own `grep -c` counts (the mail's W: and E:).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings_raw: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors_raw: Option<u64>,
    /// `in_progress`: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `failed`: the error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A run of several ktest tests: each build and test.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<crate::report::ktest::ResultLine>,
    /// What changed since the build's previous build in the history:
    /// `previous_build_id`, `new` and `gone` (`{"warnings":3,"errors":0}`).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub changes: Option<crate::history::Changes>,
}

/// `{"type":"delivery",…}`.
#[derive(Debug, Default, Serialize)]
pub struct DeliveryLine {
    pub dir: String,
    pub build_id: String,
    /// `delivered`, `spooled`, `already_delivered`, `refused`, `invalid`, `failed`.
    pub delivery: &'static str,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submission_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spool_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingest: Option<String>,
}

/// `{"type":"spool_file",…}` (`send`).
#[derive(Debug, Default, Serialize)]
pub struct SpoolFileLine {
    pub file: String,
    /// `sent`, `already_delivered`, `invalid` or `failed`.
    pub result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submission_id: Option<String>,
    /// Ids of the builds sent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub builds: Vec<String>,
    /// Builds of the file the journal already lists (left out, or all of
    /// them for `already_delivered`).
    pub already_delivered: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Human text of the line.
    #[serde(skip)]
    pub text: String,
}

/// `{"type":"send_summary",…}`.
#[derive(Debug, Default, Serialize)]
pub struct SendSummary {
    pub sent: usize,
    pub already_delivered: usize,
    pub invalid: usize,
    pub failed: usize,
    pub remaining: usize,
    pub spool: String,
    /// Human text of the line.
    #[serde(skip)]
    pub text: String,
}

/// The process's reporter (see the module docs).
pub struct Reporter {
    format: Format,
    quiet: bool,
    bar: Mutex<Option<ProgressBar>>,
}

static REPORTER: OnceLock<Reporter> = OnceLock::new();

/// The reporter; human and not quiet until [`init`] is called (tests of
/// library functions print through it too).
pub fn get() -> &'static Reporter {
    REPORTER.get_or_init(|| Reporter {
        format: Format::Human,
        quiet: false,
        bar: Mutex::new(None),
    })
}

/// Set the output dialect and install the `tracing` subscriber that sends
/// log events through the reporter. `KCIDB_HARVEST_LOG` (EnvFilter
/// syntax) overrides the level chosen by `-v`/`-q`. Call once, first.
pub fn init(format: Format, verbose: u8, quiet: bool) {
    let _ = REPORTER.set(Reporter {
        format,
        quiet,
        bar: Mutex::new(None),
    });
    let level = if quiet {
        "error"
    } else {
        match verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("KCIDB_HARVEST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(ReporterLayer)
        .try_init();
}

impl Reporter {
    pub fn format(&self) -> Format {
        self.format
    }

    pub fn is_json(&self) -> bool {
        self.format == Format::Json
    }

    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// Print one message: its JSON line, or its human text (nothing for a
    /// human line that has none).
    pub fn emit(&self, line: &Line) {
        let text = match self.format {
            Format::Json => serde_json::to_string(line).ok(),
            Format::Human => self.human(line),
        };
        if let Some(t) = text {
            self.print(&t);
        }
    }

    /// A warning about `dir` (or the run).
    pub fn warning(&self, dir: Option<&Path>, message: &str) {
        self.emit(&Line::Warning {
            dir: dir.map(|d| d.display().to_string()),
            message: message.to_string(),
        });
    }

    /// An error about `dir` (or the run).
    pub fn error(&self, dir: Option<&Path>, message: &str) {
        self.emit(&Line::Error {
            dir: dir.map(|d| d.display().to_string()),
            message: message.to_string(),
        });
    }

    /// `--wait`: one poll that did not bring the verdict yet.
    pub fn waiting(&self, p: &crate::submit::WaitProgress<'_>) {
        self.emit(&Line::Waiting {
            submission_id: p.submission_id.to_string(),
            status: p.status.to_string(),
            polls: p.polls,
            next_poll_seconds: p.next.as_secs_f64(),
        });
    }

    /// Show a progress bar of `len` steps (human output on a terminal only;
    /// the caller decides).
    pub fn start_bar(&self, len: u64) {
        let pb = ProgressBar::new(len);
        pb.set_style(
            ProgressStyle::with_template(
                "{bar:30} {pos}/{len} dirs  {per_sec}  ETA {eta}  {wide_msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        *self.lock_bar() = Some(pb);
    }

    /// One step done; `message` is shown beside the bar.
    pub fn step(&self, message: &str) {
        if let Some(pb) = self.lock_bar().as_ref() {
            pb.inc(1);
            pb.set_message(escape(message).into_owned());
        }
    }

    pub fn finish_bar(&self) {
        if let Some(pb) = self.lock_bar().take() {
            pb.finish_and_clear();
        }
    }

    /// Run `f` (a write on stdout) with the bar hidden, so a terminal
    /// showing both never gets them mixed.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        let bar = self.lock_bar();
        match bar.as_ref() {
            Some(pb) => pb.suspend(f),
            None => f(),
        }
    }

    fn lock_bar(&self) -> std::sync::MutexGuard<'_, Option<ProgressBar>> {
        self.bar.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Write one line on stderr, above the bar when it is shown.
    fn print(&self, text: &str) {
        let bar = self.lock_bar();
        match bar.as_ref() {
            Some(pb) => pb.suspend(|| raw_stderr_line(text)),
            None => raw_stderr_line(text),
        }
    }

    /// The human text of `line` (escaped data, one line unless the line
    /// is the multi-line summary).
    fn human(&self, line: &Line) -> Option<String> {
        let label = |word: &str, colour: &str| {
            if use_color_stderr() {
                format!("kcidb-harvest: \x1b[{colour}m{word}\x1b[0m: ")
            } else {
                format!("kcidb-harvest: {word}: ")
            }
        };
        let with_dir = |dir: &Option<String>, message: &str| match dir {
            Some(d) => format!("{}: {}", escape(d), escape(message)),
            None => escape(message).into_owned(),
        };
        Some(match line {
            Line::Directory(d) => human_directory(d, self.quiet)?,
            Line::Delivery(d) => {
                let quiet_ok = matches!(d.delivery, "delivered" | "already_delivered")
                    || (d.delivery == "spooled" && d.detail.starts_with("no KCIDB"));
                if self.quiet && quiet_ok {
                    return None;
                }
                let mut s = format!(
                    "{}: {} {}",
                    escape(&d.dir),
                    escape(&d.build_id),
                    escape(&d.detail)
                );
                if let Some(st) = &d.ingest {
                    let _ = write!(s, "; ingest: {st}");
                }
                s
            }
            Line::Warning { dir, message } => {
                if self.quiet {
                    return None;
                }
                label("warning", "33") + &with_dir(dir, message)
            }
            Line::Error { dir, message } => label("error", "31") + &with_dir(dir, message),
            Line::Hint { message } => {
                if self.quiet {
                    return None;
                }
                label("hint", "36") + &escape(message)
            }
            Line::Log { level, message } => format!("{level:>5} {}", escape(message)),
            Line::Waiting {
                submission_id,
                status,
                polls,
                next_poll_seconds,
            } => {
                if self.quiet {
                    return None;
                }
                format!(
                    "kcidb-harvest: waiting for the receiver to process {}: {} after {polls} poll{}, next in {next_poll_seconds:.1}s",
                    escape(submission_id),
                    escape(status),
                    if *polls == 1 { "" } else { "s" }
                )
            }
            Line::SpoolFile(f) => {
                if self.quiet && f.result != "failed" && f.result != "invalid" {
                    return None;
                }
                escape(&f.text).into_owned()
            }
            Line::Summary(s) => {
                if self.quiet {
                    return None;
                }
                crate::output::escape_lines(&s.human()).into_owned()
            }
            Line::SendSummary(s) => {
                if self.quiet {
                    return None;
                }
                escape(&s.text).into_owned()
            }
        })
    }
}

/// `<dir>: Build of 6.1 was good (W:4 E:0 42 seconds) -> PASS, 4 distinct warnings  <build id>`
fn human_directory(d: &DirectoryLine, quiet: bool) -> Option<String> {
    let dir = escape(&d.dir);
    match d.outcome {
        "harvested" => {
            if quiet {
                return None;
            }
            let status = d.status.unwrap_or("?");
            let mut s = format!(
                "{dir}: {} -> {status}",
                escape(d.summary.as_deref().unwrap_or(""))
            );
            if status != "PASS" {
                if let Some(r) = &d.status_reason {
                    let _ = write!(s, " ({})", escape(&short_reason(r)));
                }
            }
            for (n, raw, what) in [
                (d.warnings, d.warnings_raw, "warning"),
                (d.errors, d.errors_raw, "error"),
            ] {
                let Some(n) = n else { continue };
                let gone = d.changes.as_ref().map_or(0, |c| {
                    if what == "error" {
                        c.gone.errors
                    } else {
                        c.gone.warnings
                    }
                });
                // nothing found, counted or gone: nothing to say
                if n == 0 && raw.is_none_or(|r| r == 0) && gone == 0 {
                    continue;
                }
                let _ = write!(s, ", {n} distinct {what}{}", if n == 1 { "" } else { "s" });
                if let Some(c) = &d.changes {
                    let (new, gone) = if what == "error" {
                        (c.new.errors, c.gone.errors)
                    } else {
                        (c.new.warnings, c.gone.warnings)
                    };
                    let _ = write!(s, " ({})", new_and_gone(new, gone));
                }
                // the mail's count is the script's grep: say so when ours
                // finds what it missed
                if let Some(r) = raw {
                    if n > r {
                        let letter = if what == "error" { "E" } else { "W" };
                        let _ = write!(s, " (the script's grep counted {letter}:{r})");
                    }
                }
            }
            if d.results.is_empty() {
                let _ = write!(s, "  {}", escape(d.build_id.as_deref().unwrap_or("")));
            }
            for r in &d.results {
                let status = r.status.map_or("-", |s| s.as_str());
                let _ = write!(s, "\n  {}: {status}", escape(&r.what));
                if !r.counts.is_empty() {
                    let _ = write!(s, " ({})", escape(&r.counts));
                }
                if let Some(c) = &r.changes {
                    let (new, gone) = (
                        c.new.warnings + c.new.errors,
                        c.gone.warnings + c.gone.errors,
                    );
                    let _ = write!(s, " ({} since the previous build)", new_and_gone(new, gone));
                }
                if r.status.is_some_and(|s| s.as_str() != "PASS") {
                    let _ = write!(s, " ({})", escape(&short_reason(&r.reason)));
                }
                let _ = write!(s, "  {}", escape(&r.id));
            }
            Some(s)
        }
        "in_progress" => {
            if quiet {
                return None;
            }
            Some(format!(
                "{dir}: in progress, not submitted: {}",
                escape(d.reason.as_deref().unwrap_or(""))
            ))
        }
        _ => Some(format!(
            "kcidb-harvest: error: {}",
            escape(d.error.as_deref().unwrap_or(""))
        )),
    }
}

/// `3 new`, `3 new, 1 gone`.
fn new_and_gone(new: u64, gone: u64) -> String {
    if gone == 0 {
        format!("{new} new")
    } else {
        format!("{new} new, {gone} gone")
    }
}

/// The status reason cut to a short clause for the one-line summary (the
/// whole reason is in `explain` and the JSON line).
pub fn short_reason(reason: &str) -> String {
    const MAX: usize = 80;
    let first = reason.split(['\n', ';']).next().unwrap_or(reason).trim();
    if first.chars().count() <= MAX {
        first.to_string()
    } else {
        first.chars().take(MAX - 1).collect::<String>() + "…"
    }
}

fn raw_stderr_line(text: &str) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// Sends `tracing` events through the reporter: warnings and errors as
/// [`Line::Warning`]/[`Line::Error`], lower levels as [`Line::Log`].
struct ReporterLayer;

#[derive(Default)]
struct MessageVisitor {
    message: String,
    fields: String,
}

impl Visit for MessageVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

impl<S> Layer<S> for ReporterLayer
where
    S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut v = MessageVisitor::default();
        event.record(&mut v);
        let mut message = v.message;
        message.push_str(&v.fields);
        let r = get();
        match *event.metadata().level() {
            Level::ERROR => r.error(None, &message),
            Level::WARN => r.warning(None, &message),
            level => {
                // the spans give the context (`build_dir{path=…}: parser{id=…}`)
                let mut scope = String::new();
                if let Some(s) = ctx.event_scope(event) {
                    for span in s.from_root() {
                        let _ = write!(scope, "{}: ", span.name());
                    }
                }
                r.emit(&Line::Log {
                    level: level.as_str().to_ascii_lowercase(),
                    message: scope + &message,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn harvested(
        warnings: u64,
        raw: u64,
        errors: u64,
        eraw: u64,
        status: &'static str,
    ) -> DirectoryLine {
        DirectoryLine {
            dir: "remote_dir".into(),
            outcome: "harvested",
            status: Some(status),
            status_reason: Some(
                "error diagnostics in linux/log: drivers/x.c:1:2: error: y; and more".into(),
            ),
            build_id: Some("gregkh:b-1".into()),
            summary: Some(format!(
                "Build of 6.1 {} (W:{raw} E:{eraw} 42 seconds)",
                if status == "PASS" {
                    "was good"
                } else {
                    "FAILED!"
                }
            )),
            warnings: Some(warnings),
            warnings_raw: Some(raw),
            errors: Some(errors),
            errors_raw: Some(eraw),
            ..Default::default()
        }
    }

    #[test]
    fn the_mail_line_is_kept_verbatim_and_our_counts_follow() {
        let s = human_directory(&harvested(4, 4, 0, 0, "PASS"), false).unwrap();
        assert_eq!(
            s,
            "remote_dir: Build of 6.1 was good (W:4 E:0 42 seconds) -> PASS, 4 distinct warnings  gregkh:b-1"
        );
    }

    #[test]
    fn a_failure_says_why_and_what_grep_missed() {
        let s = human_directory(&harvested(1, 1, 1, 0, "FAIL"), false).unwrap();
        assert_eq!(
            s,
            "remote_dir: Build of 6.1 FAILED! (W:1 E:0 42 seconds) -> FAIL (error diagnostics in linux/log: drivers/x.c:1:2: error: y), \
             1 distinct warning, 1 distinct error (the script's grep counted E:0)  gregkh:b-1"
        );
    }

    #[test]
    fn json_lines_are_tagged() {
        let l = Line::Warning {
            dir: None,
            message: "m".into(),
        };
        assert_eq!(
            serde_json::to_string(&l).unwrap(),
            r#"{"type":"warning","message":"m"}"#
        );
    }

    #[test]
    fn short_reason_cuts_at_a_clause_or_80_characters() {
        assert_eq!(short_reason("a; b"), "a");
        let long = "x".repeat(200);
        assert_eq!(short_reason(&long).chars().count(), 80);
    }
}
