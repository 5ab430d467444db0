//! ktest.pl log framing, parsed once: runs, the options dump, command
//! steps and their statuses, the build step, endings and banners
//! (docs/inputs.md#ktest-log-framing).
//!
//! [`Framer`] reads lines and reports [`FrameEvent`]s; it keeps only what
//! the framing itself needs (the options of the current run, the running
//! step). Two consumers read the events: [`crate::ktest_log::Framing`]
//! turns them into `ktest.*` facts, and [`crate::diag::Engine`] uses them
//! to know which lines belong to which run and step, so both agree by
//! construction on where runs start and where the build step starts and
//! ends. In the build log both are fed from one framer
//! ([`crate::diag::Engine::with_framing`]).
//!
//! What is recognised (docs/inputs.md#ktest-log-framing):
//!
//! - a run starts at `STARTING AUTOMATED TESTS` (the log is appended to,
//!   so a log can hold several runs; consumers describe the last one).
//!   Nothing is recognised before the first run;
//! - the options dump, `DEFAULT OPTIONS:` up to `RUNNING TEST`, as
//!   `KEY = value` and `KEY[n] = value` lines;
//! - a command step: `<command> ... ` printed without a newline, the
//!   command's first output line glued to it, its other output lines, then
//!   the status `[N seconds] SUCCESS` / `[1 second] FAILED!` (2010 ktest:
//!   a bare `SUCCESS` / `FAILED!` line), glued to the last output line
//!   when that had no newline;
//! - the build step (docs/inputs.md#the-build-step), decided when the step
//!   starts: a step whose command is `<MAKE_CMD> O=<OUTPUT_DIR>
//!   <BUILD_OPTIONS>` (from the options dump, per-test options of the test
//!   that runs taking precedence); while no such step was seen in the run,
//!   any `make` step that is not mrproper/clean/distclean, a `*config` or
//!   `*install` target or `kernelversion` ([`is_build_like`]). The last
//!   build step of a run is "the build";
//! - endings: `Build time:`, `*** WARNINGS found in build: N ***`, the
//!   success and failure banners, `CRITICAL FAILURE...`, `N of M tests were
//!   successful`, `Caught Sig Int`, `Hit timeout of N`.
//!
//! Cost: a build log is multi-GB. [`Framer::next_line`] finds, with one
//! multi-literal search, the next line that can matter in the current
//! state; every other line would be a no-op in [`Framer::line`], so a
//! consumer may skip it (only in the states where
//! [`Framer::needs_every_line`] is false). Nothing is allocated per
//! ordinary line. Memory is bounded: at most [`MAX_OPTIONS`] option lines
//! are kept, texts are capped.

use std::sync::LazyLock;

use memchr::memmem;
use serde_json::{json, Map, Value};

use crate::keys;

pub(crate) const STARTING: &[u8] = b"STARTING AUTOMATED TESTS";
/// Longest command string kept (a glued line can be up to 1 MiB).
const MAX_COMMAND: usize = 8 * 1024;
/// Longest text value kept for a last line, a reason or a banner.
pub(crate) const MAX_TEXT: usize = 4 * 1024;
/// Continuation lines kept for a multi-line `Failed:` reason.
const MAX_REASON_LINES: u8 = 8;
/// Options-dump lines kept per run (a real dump has a few hundred).
pub const MAX_OPTIONS: usize = 4096;

/// Result of a ktest command step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepResult {
    Success,
    Failed,
}

impl StepResult {
    pub fn as_str(self) -> &'static str {
        match self {
            StepResult::Success => "SUCCESS",
            StepResult::Failed => "FAILED",
        }
    }
}

/// One `KEY = value` / `KEY[n] = value` line of the options dump.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptLine {
    pub key: String,
    /// `n` of `KEY[n]` (an option of test `n` only).
    pub test: Option<u64>,
    pub value: String,
    pub line: u64,
}

/// What one line meant to the framing. Line numbers are the log's.
#[derive(Clone, Debug, PartialEq)]
pub enum FrameEvent<'a> {
    /// `STARTING AUTOMATED TESTS`: a new run; everything before is an
    /// earlier run.
    RunStart { line: u64 },
    /// An option of the dump (kept ones only, see [`MAX_OPTIONS`]).
    Option(&'a OptLine),
    /// A marker of the run recorded as a fact under `key` (a `ktest.*` key
    /// of [`crate::keys`]).
    Fact {
        line: u64,
        key: &'static str,
        value: Value,
    },
    /// A command step starts on this line; its output starts at byte
    /// `output_at` of the line (the output glued after ` ... `). `build`:
    /// it is a build step (the last one of the run is the build).
    StepStart {
        line: u64,
        command: &'a str,
        output_at: usize,
        build: bool,
    },
    /// The running step hit ktest's timeout (a `ktest.timeout` fact follows).
    StepTimeout { line: u64 },
    /// The running step's status: the step ends on this line (the line may
    /// start with the step's last output).
    StepEnd {
        line: u64,
        result: StepResult,
        seconds: Option<u64>,
    },
    /// A line ktest prints only after a command ended (`Build time:`, a
    /// banner, the summary) came while the step started at `step_line`
    /// still looked running: it ended before this line, status unknown.
    StepLost { line: u64, step_line: u64 },
    /// `KTEST RESULT: TEST n Failed: <reason>`.
    FailedBanner { line: u64, reason: String },
    /// A continuation line of the last failed banner's reason.
    FailedReason { line: u64, text: String },
    /// `Processing commit "<sha> <subject>"`: patchcheck starts the next
    /// patch of the running test.
    Commit { line: u64, item: String },
    /// A line outside any command step while the running test watches the
    /// target's console (a boot or test type, a patchcheck, bisect of one):
    /// console output and ktest's monitor messages. Only in that state,
    /// where every line goes through the framer.
    Idle { line: u64, text: &'a [u8] },
    /// An output line of the TEST command of a test-type test (ktest
    /// runs it after `run test <TEST>`), without a status glued to it.
    StepOutput { line: u64, text: &'a [u8] },
    /// A recoverable oddity of the framing.
    Note { line: u64, message: String },
}

/// The running step.
#[derive(Clone, Copy, Debug)]
struct Pending {
    line: u64,
}

/// State of the current run.
#[derive(Debug, Default)]
struct Run {
    in_options: bool,
    options: Vec<OptLine>,
    /// `n` of the last `RUNNING TEST n of m`.
    last_test: Option<u64>,
    pending: Option<Pending>,
    /// A `[N seconds]` status was seen: this ktest prints timings, so bare
    /// `SUCCESS` lines are command output, not statuses.
    timed: bool,
    /// A failed banner is collecting its reason (continuation lines so far).
    failed_open: Option<u8>,
    /// A step equal to the options dump's build command was seen: from
    /// then on only such steps are build steps.
    exact_seen: bool,
    /// `<MAKE_CMD> O=<OUTPUT_DIR> <BUILD_OPTIONS>` for the current test
    /// (`Some(None)`: the dump does not give it), cached until an option or
    /// `RUNNING TEST` changes it.
    build_want: Option<Option<String>>,
    /// The running test watches the console ([`FrameEvent::Idle`]).
    monitor: bool,
    /// The last idle line was `run test <TEST>`: the next step is the TEST.
    run_test_next: bool,
    /// The running step is the TEST command: its output is reported
    /// ([`FrameEvent::StepOutput`]).
    capturing: bool,
}

/// The one ktest framing parser (see the module documentation).
#[derive(Debug, Default)]
pub struct Framer {
    runs: u64,
    run: Option<Run>,
}

impl Framer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs started so far.
    pub fn runs(&self) -> u64 {
        self.runs
    }

    /// The options dump of the current run, in order (empty before a run).
    pub fn options(&self) -> &[OptLine] {
        self.run.as_ref().map_or(&[], |r| r.options.as_slice())
    }

    /// `n` of the current run's last `RUNNING TEST n of m`.
    pub fn last_test(&self) -> Option<u64> {
        self.run.as_ref().and_then(|r| r.last_test)
    }

    /// A state in which every line can matter: the options dump, the
    /// continuation lines of a `Failed:` reason and, in a test that watches
    /// the console, every line outside a command. Otherwise only the lines
    /// [`Framer::next_line`] finds can.
    pub fn needs_every_line(&self) -> bool {
        self.run.as_ref().is_some_and(|r| {
            r.in_options
                || r.failed_open.is_some()
                || (r.monitor && (r.pending.is_none() || r.capturing))
        })
    }

    /// Start of the first line of `text` at or after `from` (a line start)
    /// that can matter in the current state, if any (when
    /// [`Framer::needs_every_line`] is false; otherwise every line can).
    pub fn next_line(&self, text: &[u8], from: usize) -> Option<usize> {
        let hit = self.active_needles().find_at(text, from)?.start();
        Some(memchr::memrchr(b'\n', &text[from..hit]).map_or(from, |i| from + i + 1))
    }

    /// Identifies the needle set [`Framer::next_line`] searches with: a
    /// search result stays valid while this does not change and the lines
    /// fed in between held none of its needles.
    pub fn search_state(&self) -> u8 {
        match &self.run {
            None => 0,
            Some(run) if run.pending.is_some() => 1,
            Some(_) => 2,
        }
    }

    fn active_needles(&self) -> &'static regex::bytes::Regex {
        let sets = &*NEEDLE_SETS;
        match self.search_state() {
            0 => &sets.no_run,
            1 => &sets.pending,
            _ => &sets.idle,
        }
    }

    /// One line (without `\n` and trailing `\r`); `out` receives what it
    /// meant, in order. Returns true when the line belongs to the options
    /// dump (its header, an option, a blank or `TEST n OPTIONS` line in it).
    pub fn line(&mut self, n: u64, line: &[u8], out: &mut dyn FnMut(FrameEvent<'_>)) -> bool {
        let Some(&first) = line.first() else {
            return self.run.as_ref().is_some_and(|r| r.in_options);
        };
        if first == b'S' && trim_end(line) == STARTING {
            self.runs += 1;
            self.run = Some(Run::default());
            out(FrameEvent::RunStart { line: n });
            return false;
        }
        match self.run.as_mut() {
            Some(run) => run.line(n, line, first, out),
            None => false,
        }
    }
}

impl Run {
    fn line(
        &mut self,
        n: u64,
        line: &[u8],
        first: u8,
        out: &mut dyn FnMut(FrameEvent<'_>),
    ) -> bool {
        if let Some(extra) = self.failed_open {
            if first == b'%' || extra >= MAX_REASON_LINES {
                self.failed_open = None;
            } else {
                if !is_blank(line) {
                    out(FrameEvent::FailedReason {
                        line: n,
                        text: text(trim_end(line), MAX_TEXT),
                    });
                    self.failed_open = Some(extra + 1);
                }
                return false;
            }
        }
        if self.in_options {
            if first == b'R' && line.starts_with(b"RUNNING TEST ") {
                self.in_options = false;
            } else if is_blank(line)
                || (line.starts_with(b"TEST ") && memmem::find(line, b" OPTIONS").is_some())
            {
                return true;
            } else if let Some(opt) = parse_option(line, n) {
                if self.options.len() <= MAX_OPTIONS {
                    if self.options.len() == MAX_OPTIONS {
                        out(FrameEvent::Note {
                            line: n,
                            message: format!(
                                "more than {MAX_OPTIONS} option lines: the rest are ignored"
                            ),
                        });
                    }
                    self.options.push(opt);
                    self.build_want = None;
                    if let Some(o) = self.options.last() {
                        out(FrameEvent::Option(o));
                    }
                }
                return true;
            } else {
                self.in_options = false;
            }
        }
        if matches!(first, b'R' | b'T' | b'I') {
            if let Some((key, rest)) = other_time(line) {
                self.lose_step(n, out);
                if let Some(s) = parse_duration_words(&text(rest, 256)) {
                    fact(out, n, key, s);
                }
                return false;
            }
        }
        match first {
            b'C' => {
                if let Some(rest) = line.strip_prefix(b"CRITICAL FAILURE...") {
                    let reason = strip_test_tag(trim(rest));
                    fact(out, n, keys::KTEST_CRITICAL, text(reason, MAX_TEXT));
                    return false;
                }
                if line.starts_with(b"Caught Sig Int") {
                    fact(
                        out,
                        n,
                        keys::KTEST_INTERRUPTED,
                        text(trim_end(line), MAX_TEXT),
                    );
                    return false;
                }
            }
            b'K' => {
                if let Some(rest) = line.strip_prefix(b"KTEST RESULT: TEST ") {
                    if self.result_banner(n, line, rest, out) {
                        return false;
                    }
                }
            }
            b'B' => {
                if let Some(rest) = line.strip_prefix(b"Build time:") {
                    self.lose_step(n, out);
                    match parse_duration_words(&text(rest, 256)) {
                        Some(s) => fact(out, n, keys::KTEST_BUILD_TIME, s),
                        None => out(FrameEvent::Note {
                            line: n,
                            message: "`Build time:` value not understood".into(),
                        }),
                    }
                    return false;
                }
            }
            b'P' => {
                if let Some(item) = line
                    .strip_prefix(b"Processing commit \"")
                    .and_then(|r| trim_end(r).strip_suffix(b"\""))
                {
                    // ktest prints it between commands; a command still
                    // open here had no status (`git rev-list … ... <sha>`)
                    self.lose_step(n, out);
                    out(FrameEvent::Commit {
                        line: n,
                        item: text(item, MAX_TEXT),
                    });
                    return false;
                }
            }
            b'*' => {
                if let Some(count) = parse_warnings_found(line) {
                    fact(out, n, keys::KTEST_WARNINGS_FOUND, count);
                    return false;
                }
            }
            b' ' if line.starts_with(b"    ") => {
                if let Some((ok, total)) = parse_summary(trim(line)) {
                    self.lose_step(n, out);
                    fact(
                        out,
                        n,
                        keys::KTEST_SUMMARY,
                        json!({"ok": ok, "total": total}),
                    );
                    return false;
                }
            }
            b'H' if line.starts_with(b"Hit timeout of ") => {
                self.hit_timeout(n, trim_end(line), out);
                return false;
            }
            b'S' | b'F' if self.pending.is_some() && !self.timed => {
                if let Some(st) = status_tail(line) {
                    if !st.timed && st.start == 0 {
                        self.close(n, st, out);
                        return false;
                    }
                }
            }
            b'R' if self.pending.is_none() => {
                if let Some(rest) = line.strip_prefix(b"RUNNING TEST ") {
                    if let Some(v) = parse_running_test(trim_end(rest)) {
                        self.last_test = v.get("n").and_then(Value::as_u64);
                        self.build_want = None;
                        self.monitor = v
                            .get("option")
                            .and_then(Value::as_str)
                            .is_some_and(watches_console);
                        fact(out, n, keys::KTEST_RUNNING_TEST, v);
                        return false;
                    }
                }
            }
            b'D' if self.pending.is_none() && trim_end(line) == b"DEFAULT OPTIONS:" => {
                self.in_options = true;
                return true;
            }
            _ => {}
        }
        if self.pending.is_some() {
            // Hot path: output of a running command. Only a line ending in
            // `SUCCESS`, `FAILED!` or `killing process` can matter.
            let t = trim_end(line);
            let st = match t.last() {
                Some(b'S') | Some(b'!') => status_tail(t).filter(|st| st.timed),
                _ => None,
            };
            if self.capturing {
                let shown = st.map_or(t, |st| &t[..st.start]);
                if !shown.is_empty() {
                    out(FrameEvent::StepOutput {
                        line: n,
                        text: shown,
                    });
                }
            }
            match t.last() {
                Some(b'S') | Some(b'!') => {
                    if let Some(st) = st {
                        self.close(n, st, out);
                    }
                }
                Some(b's') if t.ends_with(b", killing process") => {
                    if let Some(p) = memmem::find(t, b"Hit timeout of ") {
                        self.hit_timeout(n, &t[p..], out);
                    }
                }
                _ => {}
            }
            return false;
        }
        if !self.command_start(n, line, out) && self.monitor {
            // ktest prints `run test <TEST>` and then runs it as a command:
            // its output is the test's.
            self.run_test_next = line.starts_with(b"run test ");
            out(FrameEvent::Idle {
                line: n,
                text: line,
            });
        }
        false
    }

    /// A line outside any command: `<command> ... <rest>` starts a step
    /// (true).
    fn command_start(&mut self, n: u64, line: &[u8], out: &mut dyn FnMut(FrameEvent<'_>)) -> bool {
        let (cmd, rest, output_at) = match COMMAND_DOTS.find(line) {
            Some(p) => (&line[..p], &line[p + 5..], p + 5),
            None => {
                let t = trim_end(line);
                match t.strip_suffix(b" ...") {
                    Some(c) => (c, &b""[..], line.len()),
                    None => return false,
                }
            }
        };
        if is_blank(cmd) {
            return false;
        }
        let command = text(cmd, MAX_COMMAND);
        let build = self.is_build_step(&command);
        self.pending = Some(Pending { line: n });
        self.capturing = std::mem::take(&mut self.run_test_next);
        out(FrameEvent::StepStart {
            line: n,
            command: &command,
            output_at,
            build,
        });
        if self.capturing {
            let shown = status_tail(rest).map_or(rest, |st| &rest[..st.start]);
            if !trim_end(shown).is_empty() {
                out(FrameEvent::StepOutput {
                    line: n,
                    text: trim_end(shown),
                });
            }
        }
        if let Some(st) = status_tail(rest) {
            // A command without output: the status is on the command line.
            // A bare status counts only before timings were seen and only
            // when it is all that follows ` ... ` (2010 ktest).
            if st.timed || (!self.timed && st.start == 0) {
                self.close(n, st, out);
            }
        }
        true
    }

    /// The build-step rule (docs/inputs.md#the-build-step), decided as the
    /// step starts: the dump's build command exactly, else (while no exact
    /// step was seen in this run) any build-like `make`.
    fn is_build_step(&mut self, command: &str) -> bool {
        if self.build_want.is_none() {
            self.build_want = Some(self.wanted_build_command());
        }
        if let Some(Some(want)) = &self.build_want {
            if command.trim() == want {
                self.exact_seen = true;
                return true;
            }
        }
        !self.exact_seen && is_build_like(command)
    }

    /// ktest's build command, `<MAKE_CMD> O=<OUTPUT_DIR> <BUILD_OPTIONS>`,
    /// when the dump gives MAKE_CMD and OUTPUT_DIR.
    fn wanted_build_command(&self) -> Option<String> {
        let make = self.opt("MAKE_CMD")?;
        let out = self.opt("OUTPUT_DIR")?;
        let opts = self.opt("BUILD_OPTIONS").unwrap_or("");
        Some(format!("{make} O={out} {opts}").trim().to_string())
    }

    /// Effective option value for the test that runs (its `KEY[n]` first).
    fn opt(&self, key: &str) -> Option<&str> {
        let target = self.last_test.unwrap_or(1);
        let per_test = self
            .options
            .iter()
            .rev()
            .find(|o| o.key == key && o.test == Some(target));
        per_test
            .or_else(|| {
                self.options
                    .iter()
                    .rev()
                    .find(|o| o.key == key && o.test.is_none())
            })
            .map(|o| o.value.as_str())
    }

    fn close(&mut self, n: u64, st: StatusTail, out: &mut dyn FnMut(FrameEvent<'_>)) {
        self.capturing = false;
        if self.pending.take().is_some() {
            out(FrameEvent::StepEnd {
                line: n,
                result: st.result,
                seconds: st.seconds,
            });
        }
        if st.timed {
            self.timed = true;
        }
    }

    /// A line that ktest prints only after a command ended arrived while a
    /// command still looked running: its status was not recognised.
    fn lose_step(&mut self, n: u64, out: &mut dyn FnMut(FrameEvent<'_>)) {
        self.capturing = false;
        if let Some(p) = self.pending.take() {
            out(FrameEvent::StepLost {
                line: n,
                step_line: p.line,
            });
            out(FrameEvent::Note {
                line: n,
                message: format!("no status recognised for the command at line {}", p.line),
            });
        }
    }

    fn hit_timeout(&mut self, n: u64, t: &[u8], out: &mut dyn FnMut(FrameEvent<'_>)) {
        if self.pending.is_some() {
            out(FrameEvent::StepTimeout { line: n });
        }
        fact(out, n, keys::KTEST_TIMEOUT, text(t, MAX_TEXT));
    }

    /// `KTEST RESULT: TEST <rest>`: success or `%` failure banner.
    fn result_banner(
        &mut self,
        n: u64,
        line: &[u8],
        rest: &[u8],
        out: &mut dyn FnMut(FrameEvent<'_>),
    ) -> bool {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return false;
        }
        let mut after = &rest[digits..];
        if after.starts_with(b" (") {
            // `(<TEST_NAME>)`: the name ends at the last `)` before the verdict.
            let close = match (
                memmem::rfind(after, b") SUCCESS"),
                memmem::rfind(after, b") Failed:"),
            ) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            match close {
                Some(c) => after = &after[c + 1..],
                None => return false,
            }
        }
        if after.starts_with(b" SUCCESS") {
            self.lose_step(n, out);
            fact(
                out,
                n,
                keys::KTEST_SUCCESS_BANNER,
                text(trim_end(line), MAX_TEXT),
            );
            return true;
        }
        if let Some(reason) = after.strip_prefix(b" Failed:") {
            self.lose_step(n, out);
            out(FrameEvent::FailedBanner {
                line: n,
                reason: text(trim(reason), MAX_TEXT),
            });
            self.failed_open = Some(0);
            return true;
        }
        false
    }
}

fn fact(
    out: &mut dyn FnMut(FrameEvent<'_>),
    line: u64,
    key: &'static str,
    value: impl Into<Value>,
) {
    out(FrameEvent::Fact {
        line,
        key,
        value: value.into(),
    });
}

/// Substrings of which one is in every line [`Framer::line`] can act on
/// outside the states that need every line, grouped by the state in which
/// they can matter (the bit sets below). Each group was checked against
/// `Run::line`: a prefix, a suffix or a substring test there needs the
/// needle in the line.
const NEEDLES: [&[u8]; 17] = [
    // 0: always (a new run).
    STARTING,
    // 1..=7: inside a run.
    b"CRITICAL FAILURE...",
    b"Caught Sig Int",
    b"KTEST RESULT: TEST ",
    b"Build time:",
    b"*** WARNING",
    b" tests were successful",
    b"Hit timeout of ",
    // 8, 9: inside a run while a command runs (status, bare or timed).
    b"SUCCESS",
    b"FAILED!",
    // 10..=12: inside a run while no command runs.
    b" ...",
    b"RUNNING TEST ",
    b"DEFAULT OPTIONS:",
    // 13..=16: inside a run (ktest's other times, patchcheck's next patch).
    b"Reboot time:",
    b"Test time:",
    b"Install time:",
    b"Processing commit \"",
];

/// Bit sets over [`NEEDLES`].
const NEEDLES_NO_RUN: u32 = 1;
const NEEDLES_RUN: u32 = 0xff | 1 << 13 | 1 << 14 | 1 << 15 | 1 << 16;
const NEEDLES_PENDING: u32 = NEEDLES_RUN | 1 << 8 | 1 << 9;
const NEEDLES_IDLE: u32 = NEEDLES_RUN | 1 << 10 | 1 << 11 | 1 << 12;

/// One multi-literal searcher per needle set (a single pass finds the
/// earliest match of any needle of the set).
struct NeedleSets {
    no_run: regex::bytes::Regex,
    pending: regex::bytes::Regex,
    idle: regex::bytes::Regex,
}

/// ` ... `, which ends a command's echo: searched on every line outside a
/// command, so the searcher is built once (`memmem::find` builds one per
/// call, which costs more than the search on a short line).
static COMMAND_DOTS: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b" ... "));

static NEEDLE_SETS: LazyLock<NeedleSets> = LazyLock::new(|| {
    let build = |set: u32| {
        let alts: Vec<String> = NEEDLES
            .iter()
            .enumerate()
            .filter(|(i, _)| set & (1 << i) != 0)
            .map(|(_, n)| regex::escape(&String::from_utf8_lossy(n)))
            .collect();
        // Escaped ASCII literals always compile.
        regex::bytes::Regex::new(&alts.join("|")).expect("needle alternation compiles")
    };
    NeedleSets {
        no_run: build(NEEDLES_NO_RUN),
        pending: build(NEEDLES_PENDING),
        idle: build(NEEDLES_IDLE),
    }
});

/// Heuristic for logs whose options dump does not give the build command:
/// a `make` invocation whose last word is not mrproper/clean/distclean, a
/// `*config` target, an install target or `kernelversion`.
pub fn is_build_like(cmd: &str) -> bool {
    let mut has_make = false;
    let mut last = "";
    for t in cmd.split_whitespace() {
        if t == "make" || t.ends_with("/make") {
            has_make = true;
        }
        last = t;
    }
    has_make
        && !matches!(
            last,
            "make" | "mrproper" | "clean" | "distclean" | "kernelversion"
        )
        && !last.ends_with("config")
        && !last.ends_with("install")
}

/// A status at the end of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct StatusTail {
    result: StepResult,
    seconds: Option<u64>,
    /// `[N seconds]` form (else bare `SUCCESS`/`FAILED!`).
    timed: bool,
    /// Byte offset where the status starts (0: the line is only the status).
    start: usize,
}

/// Recognise `[N seconds] SUCCESS`, `[1 second] FAILED!` (possibly glued to
/// preceding output) or a bare `SUCCESS` / `FAILED!` at the end of `line`.
fn status_tail(line: &[u8]) -> Option<StatusTail> {
    let line = trim_end(line);
    let (rest, result) = if let Some(r) = line.strip_suffix(b"SUCCESS") {
        (r, StepResult::Success)
    } else if let Some(r) = line.strip_suffix(b"FAILED!") {
        (r, StepResult::Failed)
    } else {
        return None;
    };
    if let Some(inner) = rest.strip_suffix(b"] ") {
        let num = inner
            .strip_suffix(b" seconds")
            .or_else(|| inner.strip_suffix(b" second"));
        if let Some(num) = num {
            let digits = num.iter().rev().take_while(|b| b.is_ascii_digit()).count();
            let open = num.len() - digits;
            if digits > 0 && open > 0 && num[open - 1] == b'[' {
                return Some(StatusTail {
                    result,
                    seconds: parse_u64(&num[open..]),
                    timed: true,
                    start: open - 1,
                });
            }
        }
    }
    let start = rest.len();
    Some(StatusTail {
        result,
        seconds: None,
        timed: false,
        start,
    })
}

/// `KEY = value` or `KEY[n] = value` of the options dump.
fn parse_option(line: &[u8], n: u64) -> Option<OptLine> {
    let eq = memchr::memchr(b'=', line)?;
    let key = trim(&line[..eq]);
    let value = trim(&line[eq + 1..]);
    let (name, test) = match key.iter().position(|&b| b == b'[') {
        Some(p) => {
            let idx = key[p + 1..].strip_suffix(b"]")?;
            (&key[..p], Some(parse_u64(idx)?))
        }
        None => (key, None),
    };
    if name.is_empty()
        || !name
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
    {
        return None;
    }
    Some(OptLine {
        key: text(name, 256),
        test,
        value: text(value, MAX_TEXT),
        line: n,
    })
}

/// `n of m[ (name)] with option <rest>` (after `RUNNING TEST `).
fn parse_running_test(rest: &[u8]) -> Option<Value> {
    let s = String::from_utf8_lossy(rest);
    let (n, rest) = s.split_once(" of ")?;
    let n: u64 = n.trim().parse().ok()?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let total: u64 = rest.get(..digits)?.parse().ok()?;
    let rest = rest.get(digits..)?;
    let (name, option) = match rest.strip_prefix(" (") {
        Some(r) => {
            let (name, opt) = r.rsplit_once(") with option")?;
            (Some(name), opt)
        }
        None => (None, rest.strip_prefix(" with option")?),
    };
    let mut m = Map::new();
    m.insert("n".into(), Value::from(n));
    m.insert("total".into(), Value::from(total));
    m.insert("option".into(), Value::from(cap(option.trim(), MAX_TEXT)));
    if let Some(name) = name {
        m.insert("name".into(), Value::from(cap(name, MAX_TEXT)));
    }
    Some(Value::Object(m))
}

/// The test of a `RUNNING TEST … with option <type> <run type>` watches
/// the target's console: a boot or test, or a patchcheck / bisect /
/// config_bisect whose run type boots.
pub fn watches_console(option: &str) -> bool {
    let mut words = option.split_whitespace();
    let kind = words.next().unwrap_or("");
    let run = words.next().unwrap_or("");
    match kind {
        "boot" | "test" => true,
        "patchcheck" | "bisect" | "config_bisect" => matches!(run, "boot" | "test"),
        _ => false,
    }
}

/// `Reboot time:`, `Test time:`, `Install time:` (ktest's print_times):
/// the fact key and the duration words.
fn other_time(line: &[u8]) -> Option<(&'static str, &[u8])> {
    if let Some(r) = line.strip_prefix(b"Reboot time:") {
        Some((keys::KTEST_REBOOT_TIME, r))
    } else if let Some(r) = line.strip_prefix(b"Test time:") {
        Some((keys::KTEST_TEST_TIME, r))
    } else {
        line.strip_prefix(b"Install time:")
            .map(|r| (keys::KTEST_INSTALL_TIME, r))
    }
}

/// `*** WARNING found in build: 1 ***` / `*** WARNINGS found in build: N ***`.
fn parse_warnings_found(line: &[u8]) -> Option<u64> {
    let rest = line.strip_prefix(b"*** WARNING")?;
    let rest = rest.strip_prefix(b"S").unwrap_or(rest);
    let rest = rest.strip_prefix(b" found in build: ")?;
    let rest = trim_end(rest).strip_suffix(b"***")?;
    parse_u64(trim(rest))
}

/// `N of M tests were successful` (already trimmed).
fn parse_summary(t: &[u8]) -> Option<(u64, u64)> {
    let t = t.strip_suffix(b" tests were successful")?;
    let p = memmem::find(t, b" of ")?;
    Some((parse_u64(&t[..p])?, parse_u64(&t[p + 4..])?))
}

/// `[H hour[s] ][M minute[s] ]S second[s]` (ktest's show_time,
/// docs/inputs.md#build-time-grammar), in
/// any order; `None` unless every word pair is understood.
pub(crate) fn parse_duration_words(s: &str) -> Option<u64> {
    let words: Vec<&str> = s.split_whitespace().collect();
    if words.is_empty() || !words.len().is_multiple_of(2) {
        return None;
    }
    let mut total: u64 = 0;
    for pair in words.chunks(2) {
        let n: u64 = pair[0].parse().ok()?;
        let unit = match pair[1] {
            "hour" | "hours" => 3600,
            "minute" | "minutes" => 60,
            "second" | "seconds" => 1,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    Some(total)
}

/// `[TEST n] reason` -> `reason` (the 2010 form has no tag).
fn strip_test_tag(s: &[u8]) -> &[u8] {
    if let Some(rest) = s.strip_prefix(b"[TEST ") {
        if let Some(p) = memchr::memchr(b']', rest) {
            if rest[..p].iter().all(u8::is_ascii_digit) {
                return trim(&rest[p + 1..]);
            }
        }
    }
    s
}

// ---- small byte helpers shared with output_log ----

pub(crate) fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

pub(crate) fn trim_end(s: &[u8]) -> &[u8] {
    let n = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |p| p + 1);
    &s[..n]
}

pub(crate) fn trim(s: &[u8]) -> &[u8] {
    let s = trim_end(s);
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    &s[start..]
}

/// Decimal digits only (no sign, no blanks), without overflow.
pub(crate) fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &b| {
        acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// Lossy UTF-8, at most `max` bytes (cut on a character boundary).
pub(crate) fn text(s: &[u8], max: usize) -> String {
    let s = &s[..s.len().min(max + 4)];
    cap(&String::from_utf8_lossy(s), max)
}

/// At most `max` bytes of `s`, cut on a character boundary.
pub(crate) fn cap(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}
