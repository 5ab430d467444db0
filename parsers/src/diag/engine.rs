//! The streaming engine: one pass, bounded memory.
//!
//! Per line: the raw counter ([`raw_hits`]), then, only for lines that can
//! matter (a `:` in them, or inside a diagnostic's block), the rule table.
//! [`Engine::lines`] skips the other lines at memory speed.
//!
//! Scopes. The runs and steps of a ktest log come from the one framing
//! parser, [`Framer`] (docs/inputs.md#ktest-log-framing), fed the lines
//! this engine reads. Distinct diagnostics describe the last run only:
//! compiler, linker and every other non-Kconfig kind come from the run's
//! last build step, from its command line through its status line (the
//! framer's build-step rule, docs/inputs.md#the-build-step), Kconfig
//! diagnostics from every line of the run. A run without a build step
//! counts its lines outside steps and its other steps (where a config step
//! died); a log without ktest framing is one step.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::Arc;

use memchr::memmem;

use super::excerpt::{
    excerpt_line, render, render_tail, BlockStore, Region, StoredBlock, Stores, TailWindow,
    MAX_BLOCK_LINES, MAX_EXCERPT_LINE,
};
use super::normalize::{
    display, is_temp_file, is_temp_object, key_hash, message_key, raw_hits, scan_line, strip_ansi,
    strip_timestamp, LineScan, Roots,
};
use super::patterns::{
    hit, is_progress, plausible, severity_word, Classifier, Hit, Outcome, Role, Sev,
};
use super::Segment;
use super::{DiagReport, Diagnostic, Excerpts, Kind, Severity};
use crate::ktest_framing::{FrameEvent, Framer};
use crate::ktest_log::FramingFacts;
use crate::logscan::{Annex, Chunk, LineSink, ScanStats};
use crate::Facts;

/// Distinct diagnostics listed in the report (the counts go on).
const MAX_LISTED: usize = 10_000;
/// Environment-failure and make-failure lines kept.
const MAX_FAILURE_LINES: usize = 100;
/// Context lines kept before a head.
const MAX_CONTEXT: usize = 16;
/// Context older than this many lines is not attached to a head.
const CONTEXT_REACH: u64 = 40;
/// Progress lines after which an open block is closed.
const BLOCK_PROGRESS_LIMIT: u32 = 8;
/// Bytes of the log kept before the current line: where the cause of a
/// make failure that no diagnostic explains is looked for.
const WINDOW: usize = 8 * 1024;
/// Lines looked at, and kept at most, before the first make failure.
const CAUSE_REACH: usize = 40;
const CAUSE_LINES: usize = 20;

/// Distinct diagnostics remembered at most per family, so memory stays
/// bounded on a log of millions of different lines (about 16 MiB). Counts
/// are exact up to here; past it every further diagnostic counts as new
/// (an upper bound), and the report says so.
pub const MAX_DISTINCT_TRACKED: usize = 500_000;

/// Distinct diagnostics of one kind family, keyed by hash.
#[derive(Default)]
struct Distinct {
    index: HashMap<u64, u32>,
    /// Diagnostics counted past [`MAX_DISTINCT_TRACKED`] without being
    /// remembered.
    untracked: u64,
    list: Vec<Diagnostic>,
    warnings: [u64; Kind::COUNT],
    errors: [u64; Kind::COUNT],
}

impl Distinct {
    /// Count one occurrence; true if the key is new.
    fn insert(&mut self, key: u64, make: impl FnOnce() -> Diagnostic) -> bool {
        if let Some(&i) = self.index.get(&key) {
            if let Some(d) = self.list.get_mut(i as usize) {
                d.occurrences += 1;
            }
            return false;
        }
        let d = make();
        match d.severity {
            Severity::Warning => self.warnings[d.kind.index()] += 1,
            Severity::Error => self.errors[d.kind.index()] += 1,
        }
        let i = if self.list.len() < MAX_LISTED {
            self.list.push(d);
            (self.list.len() - 1) as u32
        } else {
            u32::MAX
        };
        if self.index.len() < MAX_DISTINCT_TRACKED {
            self.index.insert(key, i);
        } else {
            self.untracked += 1;
        }
        true
    }

    fn errors(&self) -> u64 {
        self.errors.iter().sum()
    }

    fn clear(&mut self) {
        self.index.clear();
        self.untracked = 0;
        self.list.clear();
        self.warnings = [0; Kind::COUNT];
        self.errors = [0; Kind::COUNT];
    }
}

/// Lines kept once each, in order, up to a cap.
#[derive(Default)]
struct LineSet {
    seen: HashSet<u64>,
    lines: Vec<(u64, String)>,
}

impl LineSet {
    fn add(&mut self, lineno: u64, key: u64, text: impl FnOnce() -> String) -> bool {
        if self.lines.len() >= MAX_FAILURE_LINES || !self.seen.insert(key) {
            return false;
        }
        self.lines.push((lineno, text()));
        true
    }

    fn clear(&mut self) {
        self.seen.clear();
        self.lines.clear();
    }
}

/// A `make: *** [...] Error N` line.
struct Recipe {
    lineno: u64,
    target: String,
    /// `Error 2` from a sub-make is a consequence of a failure below.
    submake: bool,
    env: bool,
    text: String,
}

/// What one step (or run, for Kconfig) produced.
#[derive(Default)]
struct Scope {
    diags: Distinct,
    make_errors: Distinct,
    make_error_lines: LineSet,
    recipes: Vec<Recipe>,
    recipe_keys: HashSet<u64>,
    env: LineSet,
    stores: Stores,
    region: Region,
    /// The lines printed just before the first make failure (its cause
    /// when it is free text: a `*** ...` block, a traceback).
    pre_failure: Option<Vec<String>>,
    /// A step of this scope was seen in the current run.
    used: bool,
    /// Environment lines that name a cause (not a make recipe status).
    env_causes: u32,
}

impl Scope {
    /// Empty, keeping allocations (a log can hold thousands of runs).
    fn reset(&mut self) {
        let Scope {
            diags,
            make_errors,
            make_error_lines,
            recipes,
            recipe_keys,
            env,
            stores,
            region,
            pre_failure,
            used,
            env_causes,
        } = self;
        diags.clear();
        make_errors.clear();
        make_error_lines.clear();
        recipes.clear();
        recipe_keys.clear();
        env.clear();
        *stores = Stores::default();
        *region = Region::default();
        *pre_failure = None;
        *used = false;
        *env_causes = 0;
    }
}

/// A diagnostic whose location comes later (rustc's ` --> `).
struct Deferred {
    severity: Severity,
    message: String,
    code: bool,
    lineno: u64,
}

/// The diagnostic being printed: its head and the lines that belong to it.
struct Block {
    kind: Kind,
    severity: Severity,
    head_line: u64,
    /// C-family head: the next line may be a raw source echo.
    c_like: bool,
    lld: bool,
    kconfig_unmet: bool,
    rust: bool,
    /// The next line may be a raw source echo (older gcc prints one after
    /// a head and after each of its notes, without a `NNN |` gutter).
    echo_next: bool,
    progress_run: u32,
    /// Keep the text (first occurrence and budget left).
    store: bool,
    lines: Vec<String>,
    deferred: Option<Deferred>,
    rust_loc: Option<(String, Option<u32>, Option<u32>)>,
}

/// Byte-level state for a line longer than [`crate::logscan::MAX_LINE`].
#[derive(Default)]
struct Overflow {
    lineno: u64,
    head: Vec<u8>,
    tail: Vec<u8>,
    warning: bool,
    error: bool,
}

/// What the framer said about one line, as far as the engine cares.
#[derive(Default)]
struct LineFrame {
    run_start: bool,
    /// A step starts: where its output starts in the line, and whether it
    /// is a build step.
    step: Option<(usize, bool)>,
    /// The running step ended on this line (its status line).
    step_end: bool,
    /// The running step ended before this line, status unknown.
    step_lost: bool,
    /// A test or a patch starts on this line.
    segment: bool,
}

/// The streaming diagnostics engine.
pub struct Engine {
    report: DiagReport,
    classifier: Classifier,
    // Run and step state.
    framer: Framer,
    /// The `ktest.*` facts built from the same framer's events
    /// ([`Engine::with_framing`]).
    framing: Option<FramingFacts>,
    /// The current run's last build step: its command line and status line.
    build_step: Option<(u64, Option<u64>)>,
    roots: Roots,
    pre: Scope,
    build: Option<Scope>,
    in_build: bool,
    kconfig: Scope,
    // Line context.
    /// Raw context lines waiting for the next head.
    context: Vec<Vec<u8>>,
    context_last: u64,
    asm_file: Option<(u64, String)>,
    ld_object: Option<(u64, String)>,
    block: Option<Block>,
    /// The last [`WINDOW`] bytes before the current line or chunk.
    window: Vec<u8>,
    /// The first make failure of the scope was just seen: collect the
    /// lines before it from the window.
    want_cause: bool,
    tail: TailWindow,
    overflow: Overflow,
    /// The tests (and patches) of the current run.
    seg: Segments,
    /// The chunk being read, while it has [`ClassHints`] (in
    /// [`LineSink::chunk_lines`]).
    hinted: Option<Hinted>,
}

/// The segments of the current run: its tests, and the patches of a
/// patchcheck (see [`DiagReport::segments`]).
#[derive(Default)]
struct Segments {
    /// Segments started in this run.
    count: u32,
    start_line: u64,
    /// A build step was seen in the current segment.
    build_seen: bool,
    /// Raw counts when the current segment started.
    at_start: (u64, u64),
    done: Vec<Segment>,
}

impl Segments {
    fn begin(&mut self, lineno: u64, whole: &DiagReport) {
        self.count += 1;
        self.start_line = lineno;
        self.build_seen = false;
        self.at_start = (whole.warnings_raw, whole.errors_raw);
    }

    /// The current segment ends with report `r` (of its scopes): it gets
    /// its own raw counts (the whole report's so far, minus those when it
    /// started). Its size is not counted (lines, bytes and NULs are
    /// counted a chunk at a time): 0.
    fn close(&mut self, whole: &DiagReport, mut r: DiagReport) {
        r.warnings_raw = whole.warnings_raw - self.at_start.0;
        r.errors_raw = whole.errors_raw - self.at_start.1;
        r.lines = 0;
        r.bytes = 0;
        r.nul_bytes = 0;
        self.done.push(Segment {
            start_line: self.start_line,
            report: r,
        });
    }
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

impl Engine {
    pub fn new() -> Self {
        Engine {
            report: DiagReport::default(),
            classifier: Classifier::default(),
            framer: Framer::new(),
            framing: None,
            build_step: None,
            roots: Roots::default(),
            pre: Scope::default(),
            build: None,
            in_build: false,
            kconfig: Scope::default(),
            context: Vec::new(),
            context_last: 0,
            asm_file: None,
            ld_object: None,
            block: None,
            window: Vec::new(),
            want_cause: false,
            tail: TailWindow::default(),
            overflow: Overflow::default(),
            seg: Segments::default(),
            hinted: None,
        }
    }

    /// An engine that also builds the `ktest.*` facts of the log (for
    /// `file`) from the events of its framer, so the framing is parsed
    /// once; [`Engine::finish_with_framing`] gives both.
    pub fn with_framing(file: &str) -> Self {
        Engine {
            framing: Some(FramingFacts::new(file)),
            ..Engine::new()
        }
    }

    /// The report and the `ktest.*` facts ([`crate::ktest_log::Framing`]'s
    /// facts of the same log; empty unless made by [`Engine::with_framing`]).
    pub fn finish_with_framing(mut self) -> (DiagReport, Facts) {
        let facts = match self.framing.take() {
            Some(f) => f.into_facts(&self.framer),
            None => Facts::new(),
        };
        (self.finish(), facts)
    }

    fn scope(&mut self) -> &mut Scope {
        match &mut self.build {
            Some(b) if self.in_build => b,
            _ => &mut self.pre,
        }
    }

    fn scope_ref(&self) -> &Scope {
        match &self.build {
            Some(b) if self.in_build => b,
            _ => &self.pre,
        }
    }

    /// Lines that [`Engine::lines`] cannot skip even without a trigger.
    #[inline]
    fn needs_every_line(&self) -> bool {
        self.framer.needs_every_line() || self.block.is_some() || self.scope_ref().region.is_open()
    }

    /// One line with its raw-count verdict: the framer first (a run or a
    /// step may start or end here), then the diagnostics.
    /// `framed`: whether the framer is to see the line (false only for a
    /// line [`Framer::next_line`] passed over, which it would ignore).
    fn process(&mut self, lineno: u64, raw: &[u8], extra: (bool, bool), framed: bool) {
        let scanned = scan_line(raw);
        self.report.warnings_raw += u64::from(scanned.warning || extra.0);
        self.report.warnings_raw_cs += u64::from(scanned.warning_cs);
        self.report.errors_raw_cs += u64::from(scanned.error_cs);
        self.report.errors_raw += u64::from(scanned.error || extra.1);
        if !framed {
            self.handle(lineno, raw, scanned);
            return;
        }
        let mut fr = LineFrame::default();
        let dump = {
            let (framing, roots) = (&mut self.framing, &mut self.roots);
            self.framer.line(lineno, raw, &mut |ev| {
                if let Some(f) = framing.as_mut() {
                    f.event(&ev);
                }
                match ev {
                    FrameEvent::RunStart { .. } => fr.run_start = true,
                    FrameEvent::Option(o) if o.key == "BUILD_DIR" || o.key == "OUTPUT_DIR" => {
                        roots.add(o.value.as_bytes());
                    }
                    FrameEvent::StepStart {
                        output_at, build, ..
                    } => fr.step = Some((output_at, build)),
                    FrameEvent::StepEnd { .. } => fr.step_end = true,
                    FrameEvent::StepLost { .. } => fr.step_lost = true,
                    FrameEvent::Fact {
                        key: crate::keys::KTEST_RUNNING_TEST,
                        ..
                    }
                    | FrameEvent::Commit { .. } => fr.segment = true,
                    _ => {}
                }
            })
        };
        if fr.run_start {
            self.new_run();
        }
        if fr.segment {
            self.next_segment(lineno);
        }
        if fr.step_lost {
            self.leave_step(None);
        }
        if dump {
            // The options dump: values, not diagnostics.
            return;
        }
        match fr.step {
            Some((at, build)) => {
                // `<command> ... ` glued to the command's first output line.
                self.enter_step(lineno, build);
                let rest = raw.get(at..).unwrap_or_default();
                if !rest.is_empty() {
                    self.handle(lineno, rest, scan_line(rest));
                }
            }
            None => self.handle(lineno, raw, scanned),
        }
        if fr.step_end {
            self.leave_step(Some(lineno));
        }
    }

    /// `scanned`: what [`scan_line`] found in `raw`.
    fn handle(&mut self, lineno: u64, raw: &[u8], scanned: LineScan) {
        let colon = scanned.colon;
        let line = strip_timestamp(raw);
        let colon = if line.len() == raw.len() {
            colon
        } else {
            memchr::memchr(b':', line)
        };
        if colon.is_none() && !self.needs_every_line() && !line.starts_with(b"*** ") {
            return;
        }
        if scanned.escape {
            let clean = strip_ansi(line);
            self.classify_line(lineno, &clean, memchr::memchr(b':', &clean));
        } else {
            self.classify_line(lineno, line, colon);
        }
    }

    fn classify_line(&mut self, lineno: u64, line: &[u8], colon: Option<usize>) {
        let progress = is_progress(line);
        if !progress && self.scope_ref().region.is_open() && !line.trim_ascii().is_empty() {
            let l = excerpt_line(line);
            self.scope().region.push(lineno, l);
        }
        if let Some(b) = &mut self.block {
            if progress {
                b.progress_run += 1;
                if b.progress_run > BLOCK_PROGRESS_LIMIT {
                    self.close_block();
                }
                return;
            }
            b.progress_run = 0;
            if continues(b, line) {
                push_block_line(b, line);
                return;
            }
        } else if progress {
            return;
        }
        if line.starts_with(b"make") {
            if let Some(dir) = make_directory(line) {
                // `make[N]: Entering directory '<dir>'`: a path prefix to
                // strip; neither a diagnostic nor the end of a block.
                if let Some(d) = dir {
                    self.roots.add(d);
                }
                return;
            }
        }
        let candidate = plausible(line, colon);
        let hit = if !candidate {
            None
        } else if let Some(outcome) = self.hint(line) {
            hit(line, outcome)
        } else {
            self.classifier.classify(line)
        };
        let Some(hit) = hit else {
            if let Some(b) = &mut self.block {
                if b.echo_next {
                    // The raw source line older gcc echoes.
                    push_block_line(b, line);
                    return;
                }
            }
            self.close_block();
            return;
        };
        match hit.rule.role {
            Role::Note => {
                if let Some(b) = &mut self.block {
                    if hit.rule.name == "rust-location" && b.rust_loc.is_none() {
                        if let Some(f) = hit.get("file") {
                            b.rust_loc = Some((
                                self.roots.path(f),
                                number(hit.get("line")),
                                number(hit.get("col")),
                            ));
                        }
                    }
                    push_block_line(b, line);
                    // gcc's notes get their own source echo.
                    b.echo_next = b.c_like && hit.rule.name == "cc-note";
                }
            }
            Role::Summary => {
                if let Some(b) = &mut self.block {
                    push_block_line(b, line);
                }
            }
            Role::Chatter => self.close_block(),
            Role::Context => {
                self.close_block();
                self.add_context(lineno, line, &hit);
            }
            Role::AsmHeader => {
                self.close_block();
                self.context.clear();
                self.add_context(lineno, line, &hit);
                if let Some(f) = hit.get("file") {
                    self.asm_file = Some((lineno, self.roots.path(f)));
                }
            }
            Role::Head | Role::HeadLocLater => {
                if let Some(b) = &mut self.block {
                    if b.echo_next && hit.rule.role == Role::HeadLocLater {
                        // `error: /* label */` echoed from the source.
                        push_block_line(b, line);
                        return;
                    }
                }
                self.close_block();
                self.head(lineno, line, &hit);
            }
            Role::MakeFailure => {
                self.close_block();
                self.make_failure(lineno, line, &hit);
            }
            Role::MakeError => {
                self.close_block();
                self.note_first_failure();
                let msg = hit.get("msg").map(display).unwrap_or_default();
                let key = key_hash(("make", message_key(&msg)));
                let d = Diagnostic {
                    kind: Kind::Make,
                    severity: Severity::Error,
                    file: None,
                    line: None,
                    column: None,
                    message: msg,
                    occurrences: 1,
                    first_line: lineno,
                };
                let scope = self.scope();
                scope.make_errors.insert(key, || d);
                scope
                    .make_error_lines
                    .add(lineno, key, || excerpt_line(line));
            }
            Role::Env => {
                self.close_block();
                let text = excerpt_line(line);
                let scope = self.scope();
                scope.env_causes += 1;
                scope.env.add(lineno, key_hash(&text), || text);
            }
        }
    }

    /// The classifier's outcome for `line` from the [`ClassHints`] of the
    /// chunk being read, when `line` is one of the chunk's lines they hold.
    fn hint(&mut self, line: &[u8]) -> Option<Outcome> {
        self.hinted.as_mut()?.outcome(line)
    }

    /// The first failure of the scope (a recipe failure or make's own
    /// error): ask for the lines before it.
    fn note_first_failure(&mut self) {
        let s = self.scope_ref();
        if s.pre_failure.is_none() && s.recipes.is_empty() && s.make_errors.list.is_empty() {
            self.want_cause = true;
        }
    }

    /// The lines before the current line become the scope's
    /// `pre_failure`: `before` is the current chunk up to the line, the
    /// window holds what came before the chunk.
    fn cause_before(&mut self, before: &[u8]) {
        self.want_cause = false;
        let lines = if before.len() >= WINDOW || self.window.is_empty() {
            cause_lines(&before[before.len().saturating_sub(WINDOW)..])
        } else {
            let w = &self.window;
            let mut joined = w[w.len().saturating_sub(WINDOW - before.len())..].to_vec();
            joined.extend_from_slice(before);
            cause_lines(&joined)
        };
        self.scope().pre_failure = Some(lines);
    }

    /// Keep the last [`WINDOW`] bytes of what was read.
    fn keep_window(&mut self, text: &[u8]) {
        if text.len() >= WINDOW {
            self.window.clear();
            self.window.extend_from_slice(&text[text.len() - WINDOW..]);
            return;
        }
        self.window.extend_from_slice(text);
        if self.window.len() > 2 * WINDOW {
            let cut = self.window.len() - WINDOW;
            self.window.drain(..cut);
        }
    }

    fn add_context(&mut self, lineno: u64, line: &[u8], hit: &Hit<'_>) {
        let chain_start = hit.rule.name == "cc-context-include" && line.starts_with(b"In file");
        let stale = lineno.saturating_sub(self.context_last) > CONTEXT_REACH;
        if chain_start || stale || hit.rule.name == "ld-context-function" {
            self.context.clear();
        }
        if hit.rule.name == "ld-context-function" {
            if let Some(f) = hit.get("file") {
                self.ld_object = Some((lineno, self.roots.path(f)));
            }
        }
        if self.context.len() < MAX_CONTEXT {
            self.context
                .push(line[..line.len().min(4 * MAX_EXCERPT_LINE)].to_vec());
        }
        self.context_last = lineno;
    }

    fn take_context(&mut self, lineno: u64) -> Vec<Vec<u8>> {
        if lineno.saturating_sub(self.context_last) > CONTEXT_REACH {
            self.context.clear();
        }
        std::mem::take(&mut self.context)
    }

    /// A diagnostic head.
    fn head(&mut self, lineno: u64, line: &[u8], hit: &Hit<'_>) {
        let rule = hit.rule;
        let severity = match rule.severity {
            Sev::Warning => Severity::Warning,
            Sev::Error | Sev::None => Severity::Error,
            Sev::Captured => hit
                .get("sev")
                .and_then(severity_word)
                .unwrap_or(Severity::Error),
        };
        let raw_msg = hit.get("msg").unwrap_or_default();
        let mut message = display(raw_msg);
        if let Some(check) = hit.get("check") {
            message = format!("{}: {message}", String::from_utf8_lossy(check));
        }
        let file = hit.get("file");
        let kind = refine_kind(rule.name, rule.kind, file, hit.get("tool"), &message);
        let mut path = file.map(|f| self.roots.path(f));
        match rule.name {
            "binutils" if file.is_some_and(is_temp_object) => path = None,
            "as-diag" if path.as_deref().is_some_and(is_temp_file) => {
                if let Some((l, f)) = &self.asm_file {
                    if lineno.saturating_sub(*l) <= CONTEXT_REACH * 10 {
                        path = Some(f.clone());
                    }
                }
            }
            "ld-located" => {
                // The object named by `ld: <object>: in function ...`
                // beats the bare source name, unless it is a temporary.
                if let Some((l, f)) = &self.ld_object {
                    if lineno.saturating_sub(*l) <= 4 && !is_temp_file(f) {
                        path = Some(f.clone());
                    }
                }
            }
            _ => {}
        }
        let line_no = number(hit.get("line"));
        let col = number(hit.get("col"));
        let context = self.take_context(lineno);
        let starts_region = severity == Severity::Error
            && self.scope_ref().region.state == super::excerpt::RegionState::NotStarted;
        let deferred = rule.role == Role::HeadLocLater;
        // a deferred head keeps its message until its location is known
        let (store, deferred_message) = if deferred {
            (true, Some(message))
        } else {
            let new = self.insert(Diagnostic {
                kind,
                severity,
                file: path,
                line: line_no,
                column: col,
                message,
                occurrences: 1,
                first_line: lineno,
            });
            (new, None)
        };
        // Text only for what is shown: a new diagnostic, the first error.
        let lines: Vec<String> = if store || starts_region {
            context
                .iter()
                .map(|l| excerpt_line(l))
                .chain(std::iter::once(excerpt_line(line)))
                .collect()
        } else {
            Vec::new()
        };
        if starts_region {
            self.scope().region.start(lineno, lines.clone());
        }
        if kind == Kind::Toolchain {
            // Counted, and the environment's fault.
            let text = excerpt_line(line);
            let scope = self.scope();
            scope.env_causes += 1;
            scope.env.add(lineno, key_hash(&text), || text);
        }
        self.block = Some(Block {
            kind,
            severity,
            head_line: lineno,
            c_like: matches!(rule.name, "cc-diag" | "as-diag"),
            lld: rule.name == "ld-lld",
            kconfig_unmet: rule.name == "kconfig-unmet",
            rust: deferred,
            echo_next: matches!(rule.name, "cc-diag" | "as-diag"),
            progress_run: 0,
            store,
            lines: if store { lines } else { Vec::new() },
            deferred: deferred_message.map(|message| Deferred {
                severity,
                message,
                code: hit.get("code").is_some(),
                lineno,
            }),
            rust_loc: None,
        });
    }

    /// Count a diagnostic in its scope; true if it is new and its block
    /// text should be kept.
    fn insert(&mut self, d: Diagnostic) -> bool {
        let mut message = message_key(&d.message);
        if d.kind == Kind::Linker {
            // `multiple definition of `x'; <other object>: first defined
            // here`: the other object is often a temporary file.
            if let Some(i) = message.find("; ") {
                message.truncate(i);
            }
        }
        let key = key_hash((d.kind, d.severity, &d.file, d.line, d.column, message));
        let severity = d.severity;
        let scope = if d.kind == Kind::Kconfig {
            &mut self.kconfig
        } else {
            self.scope()
        };
        let new = scope.diags.insert(key, || d);
        new && scope.stores.for_severity(severity).has_room()
    }

    fn close_block(&mut self) {
        let Some(mut b) = self.block.take() else {
            return;
        };
        if let Some(def) = b.deferred.take() {
            let (file, line, column) = match b.rust_loc.take() {
                Some((f, l, c)) => (Some(f), l, c),
                None => (None, None, None),
            };
            let kind = if file.is_some() || def.code {
                Kind::Rust
            } else {
                Kind::Other
            };
            b.kind = kind;
            let d = Diagnostic {
                kind,
                severity: def.severity,
                file,
                line,
                column,
                message: def.message,
                occurrences: 1,
                first_line: def.lineno,
            };
            b.store = self.insert(d);
        }
        if !b.store || b.lines.is_empty() {
            return;
        }
        let stored = StoredBlock {
            head_line: b.head_line,
            lines: b.lines,
        };
        let scope = if b.kind == Kind::Kconfig {
            &mut self.kconfig
        } else {
            self.scope()
        };
        scope.stores.for_severity(b.severity).push(stored);
    }

    fn make_failure(&mut self, lineno: u64, line: &[u8], hit: &Hit<'_>) {
        let code: Option<u32> = number(hit.get("code"));
        let what = hit.get("msg").unwrap_or_default();
        let env = match code {
            Some(c) => matches!(c, 126 | 127 | 130 | 134 | 135 | 137 | 139 | 143),
            None => !what.starts_with(b"Error"),
        };
        let target = hit.get("target").map(display).unwrap_or_default();
        let text = excerpt_line(line);
        let key = key_hash(&text);
        self.note_first_failure();
        let scope = self.scope();
        if scope.region.is_open() {
            scope.region.close();
        }
        // `Error 127` after `/bin/sh: 1: gcc-15: not found` adds nothing;
        // alone (`*** [x.o] Killed`) it is the environment failure.
        if env && scope.env_causes == 0 {
            scope.env.add(lineno, key, || text.clone());
        }
        if scope.recipes.len() < MAX_FAILURE_LINES && scope.recipe_keys.insert(key) {
            scope.recipes.push(Recipe {
                lineno,
                submake: code == Some(2),
                env,
                target,
                text,
            });
        }
    }

    /// A step starts on line `lineno`: a build step (the last one of the
    /// run is the build) or another one.
    fn enter_step(&mut self, lineno: u64, build: bool) {
        self.close_block();
        self.context.clear();
        self.scope().region.close();
        if build {
            self.seg.build_seen = true;
            match &mut self.build {
                Some(b) => b.reset(),
                None => self.build = Some(Scope::default()),
            }
            if let Some(b) = &mut self.build {
                b.used = true;
            }
            self.build_step = Some((lineno, None));
        }
        self.in_build = build;
    }

    /// The running step ended: on its status line `end`, or (`None`)
    /// before this line without a status. Lines after the build step are
    /// outside it.
    fn leave_step(&mut self, end: Option<u64>) {
        if !self.in_build {
            return;
        }
        self.close_block();
        self.context.clear();
        self.scope().region.close();
        self.in_build = false;
        if let (Some(step), Some(_)) = (&mut self.build_step, end) {
            step.1 = end;
        }
    }

    /// A new ktest run: distinct results describe the last run.
    fn new_run(&mut self) {
        self.block = None;
        self.roots.clear();
        self.pre.reset();
        if let Some(b) = &mut self.build {
            b.reset();
        }
        self.in_build = false;
        self.build_step = None;
        self.kconfig.reset();
        self.context.clear();
        self.asm_file = None;
        self.ld_object = None;
        self.want_cause = false;
        self.seg = Segments::default();
    }

    /// The result of the pass.
    pub fn finish(mut self) -> DiagReport {
        self.close_block();
        let mut report = self.summarize();
        if self.seg.count > 1 {
            // The run's last test (or patch): the same lines as the whole
            // report, which describes the last build step of the run.
            if self.seg.build_seen {
                self.seg.close(&self.report, report.clone());
            }
            report.segments = std::mem::take(&mut self.seg.done);
        }
        report
    }

    /// The counts, listing and excerpts of the current scopes: the last
    /// build step's (else the lines outside steps) and Kconfig's.
    fn summarize(&self) -> DiagReport {
        let kconfig = &self.kconfig;
        let counted = match &self.build {
            Some(b) if b.used => b,
            _ => &self.pre,
        };
        let mut report = DiagReport {
            excerpts: Excerpts::default(),
            build_step: None,
            diagnostics: Vec::new(),
            segments: Vec::new(),
            ..self.report.clone()
        };

        // Make's own errors count only when nothing else explains the
        // failure (docs/diagnostics.md#make-failures).
        let explained =
            counted.diags.errors() + kconfig.diags.errors() > 0 || !counted.env.lines.is_empty();
        let make = if explained {
            Distinct::default()
        } else {
            make_diagnostics(counted)
        };

        let mut listed: Vec<Diagnostic> = Vec::new();
        for set in [&counted.diags, &kconfig.diags, &make] {
            for k in Kind::ALL {
                let (w, e) = (set.warnings[k.index()], set.errors[k.index()]);
                report.warnings += w;
                report.errors += e;
                if w > 0 {
                    *report
                        .warnings_by_kind
                        .entry(k.as_str().into())
                        .or_default() += w;
                }
                if e > 0 {
                    *report.errors_by_kind.entry(k.as_str().into()).or_default() += e;
                }
            }
            listed.extend(set.list.iter().cloned());
            report.distinct_untracked += set.untracked;
        }
        listed.sort_by_key(|d| d.first_line);
        listed.truncate(MAX_LISTED);
        report.diagnostics = listed;
        report.environment_failures = counted.env.lines.iter().map(|(_, l)| l.clone()).collect();
        report.make_failures = counted.recipes.iter().map(|r| r.text.clone()).collect();
        report.excerpts = excerpts(counted, kconfig, &self.tail);
        report.build_step = self.build_step;
        report
    }

    /// A test of the run (`RUNNING TEST n`) or a patch of a patchcheck
    /// (`Processing commit`) starts on line `lineno`: the one before it,
    /// if it built, becomes a [`Segment`], and the new one starts empty.
    ///
    /// The whole report stays the run's (its last build step's, which a
    /// segment's build step resets as any build step does); only Kconfig's
    /// scope, which is not a step's, starts over per segment. The tail
    /// window is fed a chunk at a time, ahead of its lines: a segment's
    /// tail excerpt is the log's tail when it ends.
    fn next_segment(&mut self, lineno: u64) {
        self.close_block();
        if self.seg.build_seen {
            let r = self.summarize();
            self.seg.close(&self.report, r);
        }
        if self.seg.count > 0 {
            self.kconfig.reset();
        }
        self.seg.begin(lineno, &self.report);
    }
}

/// The make-kind errors of a failure nothing else explains: make's own
/// errors (`No rule to make target`, `*** ... Stop.`) if any, else the
/// innermost recipe failures.
fn make_diagnostics(scope: &Scope) -> Distinct {
    if scope.make_errors.errors() > 0 {
        let mut d = Distinct {
            list: scope.make_errors.list.clone(),
            ..Distinct::default()
        };
        d.errors[Kind::Make.index()] = scope.make_errors.errors();
        return d;
    }
    let roots: Vec<&Recipe> = scope
        .recipes
        .iter()
        .filter(|r| !r.submake && !r.env)
        .collect();
    let chosen: Vec<&Recipe> = if roots.is_empty() {
        scope.recipes.iter().filter(|r| !r.env).take(1).collect()
    } else {
        roots
    };
    let mut d = Distinct::default();
    for r in chosen {
        let message = r
            .text
            .split_once("*** ")
            .map(|(_, m)| m.to_string())
            .unwrap_or_else(|| r.text.clone());
        d.insert(key_hash(("recipe", &r.target)), || Diagnostic {
            kind: Kind::Make,
            severity: Severity::Error,
            file: None,
            line: None,
            column: None,
            message,
            occurrences: 1,
            first_line: r.lineno,
        });
    }
    d
}

/// Build the three excerpts.
fn excerpts(counted: &Scope, kconfig: &Scope, tail: &TailWindow) -> Excerpts {
    let env: Vec<String> = counted.env.lines.iter().map(|(_, l)| l.clone()).collect();
    let mut fail: Vec<String> = Vec::new();
    let region = &counted.region;
    let make_lines = || {
        let mut v: Vec<(u64, &String)> = counted
            .make_error_lines
            .lines
            .iter()
            .map(|(n, l)| (*n, l))
            .chain(counted.recipes.iter().map(|r| (r.lineno, &r.text)))
            .collect();
        v.sort_by_key(|(n, _)| *n);
        v
    };
    if !region.lines.is_empty() {
        fail.extend(region.lines.iter().cloned());
        for b in &counted.stores.errors.blocks {
            if !region.covers(b.head_line) {
                fail.extend(b.lines.iter().cloned());
            }
        }
        for (n, l) in make_lines() {
            if n > region.last {
                fail.push(l.clone());
            }
        }
    } else if !counted.stores.errors.is_empty() || !kconfig.stores.errors.is_empty() {
        for b in counted
            .stores
            .errors
            .blocks
            .iter()
            .chain(&kconfig.stores.errors.blocks)
        {
            fail.extend(b.lines.iter().cloned());
        }
        fail.extend(make_lines().into_iter().map(|(_, l)| l.clone()));
    } else if !counted.recipes.is_empty()
        || !env.is_empty()
        || !counted.make_error_lines.lines.is_empty()
    {
        if let Some(pre) = &counted.pre_failure {
            fail.extend(pre.iter().cloned());
        }
        fail.extend(make_lines().into_iter().map(|(_, l)| l.clone()));
    }
    for l in &env {
        if !fail.contains(l) {
            fail.push(l.clone());
        }
    }
    let warnings = blocks_text(&[&counted.stores.warnings, &kconfig.stores.warnings]);
    let tail_lines = tail.lines();
    let head: Vec<String> = env
        .iter()
        .filter(|l| !tail_lines.contains(l))
        .cloned()
        .collect();
    Excerpts {
        fail: render(&fail),
        warnings: render(&warnings),
        tail: render_tail(&head, &tail_lines),
    }
}

/// The lines just before a make failure (`bytes` ends where the failure
/// line starts), oldest first: at most [`CAUSE_LINES`] of the last
/// [`CAUSE_REACH`] lines, without kbuild progress lines, make's directory
/// and job lines, and blank lines; a progress or blank line after the
/// first kept line, or an echoed command (`make ...`, `# make ...`,
/// `+ ...`, `$ ...`), ends them, so only the text printed with the failure
/// is shown, not the log's preamble or the output of earlier commands.
fn cause_lines(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let mut kept: Vec<String> = Vec::new();
    for raw in bytes.rsplit(|&b| b == b'\n').take(CAUSE_REACH) {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let line = strip_timestamp(raw);
        let line = strip_ansi(line).into_owned();
        let t = line.trim_ascii();
        let blank = t.is_empty() || t == b"#";
        let command = [&b"make "[..], b"# make ", b"+ ", b"$ "]
            .iter()
            .any(|p| line.starts_with(p));
        if command {
            // The command that failed was echoed here: what came before
            // belongs to other commands.
            break;
        }
        let noise = make_directory(&line).is_some()
            || memmem::find(&line, b"*** Waiting for unfinished jobs").is_some();
        if is_progress(&line) || blank {
            if kept.is_empty() {
                continue;
            }
            break;
        }
        if noise {
            continue;
        }
        kept.push(excerpt_line(&line));
        if kept.len() == CAUSE_LINES {
            break;
        }
    }
    kept.reverse();
    kept
}

fn blocks_text(stores: &[&BlockStore]) -> Vec<String> {
    stores
        .iter()
        .flat_map(|s| s.blocks.iter())
        .flat_map(|b| b.lines.iter().cloned())
        .collect()
}

/// Does `line` continue the open block without being a diagnostic itself?
fn continues(b: &Block, line: &[u8]) -> bool {
    let t = line.trim_ascii_start();
    if t.first() == Some(&b'|') {
        return true;
    }
    let digits = t.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits > 0 && t[digits..].trim_ascii_start().first() == Some(&b'|') {
        return true;
    }
    if (b.c_like || b.rust) && (t.starts_with(b"^") || t.starts_with(b"~")) {
        return true;
    }
    if b.c_like && t.is_empty() && !line.is_empty() {
        return true;
    }
    if b.lld && line.starts_with(b">>> ") {
        return true;
    }
    if b.kconfig_unmet
        && (line.starts_with(b"  Depends on")
            || line.starts_with(b"  Selected by")
            || line.starts_with(b"  Implied by")
            || line.starts_with(b"  Visible if")
            || line.starts_with(b"  - "))
    {
        return true;
    }
    b.rust && (t.starts_with(b"= ") || t.starts_with(b"::: ") || t == b"...")
}

/// The next trigger line of `text` ([`Engine::lines`]): the start of the
/// first line holding a trigger at or after `search`, where `pos` (at most
/// `search`) starts the line `search` is in; and where to search from
/// next time (`text.len()` when there is none). Triggers are `:` (those of
/// a leading `HH:MM:SS ` time stamp do not count: `handle` strips the
/// stamp first) and `*** ` at the start of a line or after its stamp.
fn next_trigger(text: &[u8], pos: usize, mut search: usize) -> (Option<usize>, usize) {
    while let Some(i) = memchr::memchr2(b':', b'*', &text[search..]) {
        let t = search + i;
        if let Some(after) = timestamp_end(text, t) {
            if text[after..].starts_with(b"*** ") {
                return (Some(after - TIMESTAMP_LEN), search);
            }
            search = after;
            continue;
        }
        if text[t] == b'*' {
            let at_start = t == 0 || text[t - 1] == b'\n';
            if !(at_start && text[t..].starts_with(b"*** ")) {
                // Not a trigger: skip this run of stars.
                search = t + text[t..].iter().take_while(|&&b| b == b'*').count();
                continue;
            }
        }
        let start = memchr::memrchr(b'\n', &text[pos..t]).map_or(pos, |i| pos + i + 1);
        return (Some(start), search);
    }
    (None, text.len())
}

/// A chunk's trigger lines ([`next_trigger`]) and what the classifier says
/// of them, worked out beside the engine ([`annotate`]): offsets in the
/// chunk, each list in order.
pub(crate) struct ClassHints {
    /// The start of every whole line holding a trigger.
    lines: Vec<u32>,
    /// `(start, length, outcome)` of each line (after its time stamp) that
    /// [`Engine::handle`] would classify.
    outcomes: Vec<(u32, u32, Outcome)>,
}

/// The [`ClassHints`] of a chunk's bytes, with `classifier` (a
/// [`crate::logscan::scan_read_ahead`] annex): the engine then neither
/// searches the chunk for triggers nor classifies the lines the hints
/// hold. Which lines get an outcome does not change what the engine finds,
/// only where the work is done; lines with ANSI escapes (classified
/// cleaned) get none.
pub(crate) fn annotate(classifier: &mut Classifier, bytes: &[u8]) -> Annex {
    if u32::try_from(bytes.len()).is_err() {
        // no hints: the engine does it all
        return Box::new(());
    }
    let mut hints = ClassHints {
        lines: Vec::new(),
        outcomes: Vec::new(),
    };
    let (mut pos, mut search) = (0, 0);
    while let (Some(start), s) = next_trigger(bytes, pos, search.max(pos)) {
        search = s;
        let Some(end) = memchr::memchr(b'\n', &bytes[start..]).map(|i| start + i) else {
            // the last line goes on in the next chunk
            break;
        };
        pos = end + 1;
        hints.lines.push(start as u32);
        let raw = &bytes[start..end];
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let line = strip_timestamp(raw);
        let colon = memchr::memchr(b':', line);
        if (colon.is_none() && !line.starts_with(b"*** "))
            || !plausible(line, colon)
            || memchr::memchr(0x1b, line).is_some()
        {
            continue;
        }
        let at = start + (raw.len() - line.len());
        hints
            .outcomes
            .push((at as u32, line.len() as u32, classifier.outcome(line)));
    }
    Box::new(hints)
}

/// The [`ClassHints`] of the chunk the engine reads, and where it is in
/// them.
struct Hinted {
    chunk: Chunk,
    /// Where the text the engine reads starts in the chunk.
    base: usize,
    /// The next of the hints' lines and outcomes not yet passed.
    line: usize,
    outcome: usize,
}

impl Hinted {
    fn hints(chunk: &Chunk) -> &ClassHints {
        chunk
            .annex()
            .and_then(|a| a.downcast_ref::<ClassHints>())
            .expect("a hinted chunk has hints")
    }

    /// The first trigger line starting at `pos` of the text or after.
    fn next_line(&mut self, pos: usize) -> Option<usize> {
        let at = self.base + pos;
        let (mut i, lines) = (self.line, &Self::hints(&self.chunk).lines);
        while lines.get(i).is_some_and(|&s| (s as usize) < at) {
            i += 1;
        }
        self.line = i;
        lines.get(i).map(|&s| s as usize - self.base)
    }

    /// The outcome for `line`, if it is one of the lines with an outcome.
    /// Lines are asked for in order; one asked for out of order gets none.
    fn outcome(&mut self, line: &[u8]) -> Option<Outcome> {
        let at = (line.as_ptr() as usize).checked_sub(self.chunk.as_ptr() as usize)?;
        if at.checked_add(line.len())? > self.chunk.len() {
            return None;
        }
        let (mut i, outcomes) = (self.outcome, &Self::hints(&self.chunk).outcomes);
        while outcomes.get(i).is_some_and(|&(s, _, _)| (s as usize) < at) {
            i += 1;
        }
        self.outcome = i;
        match outcomes.get(i) {
            Some(&(s, l, o)) if s as usize == at && l as usize == line.len() => Some(o),
            _ => None,
        }
    }
}

/// The length of a `HH:MM:SS ` time stamp ([`strip_timestamp`]).
const TIMESTAMP_LEN: usize = 9;

/// When the `:` at `colon` is the first colon of a time stamp that starts
/// a line of `text`, where the stamp ends (what [`strip_timestamp`] keeps
/// of the line starts there).
#[inline]
fn timestamp_end(text: &[u8], colon: usize) -> Option<usize> {
    let start = colon.checked_sub(2)?;
    if text[colon] != b':' || (start > 0 && text[start - 1] != b'\n') {
        return None;
    }
    let end = start + TIMESTAMP_LEN;
    let stamp = text.get(start..end)?;
    strip_timestamp(stamp).is_empty().then_some(end)
}

/// `make[N]: Entering directory '<dir>'` gives `Some(Some(dir))`,
/// `Leaving directory` gives `Some(None)`, other lines `None`.
fn make_directory(line: &[u8]) -> Option<Option<&[u8]>> {
    let rest = line.strip_prefix(b"make")?;
    let rest = match rest.strip_prefix(b"[") {
        Some(r) => {
            let digits = r.iter().take_while(|b| b.is_ascii_digit()).count();
            r[digits..].strip_prefix(b"]")?
        }
        None => rest,
    };
    let rest = rest.strip_prefix(b": ")?;
    if let Some(r) = rest.strip_prefix(b"Entering directory ") {
        let r = r.strip_prefix(b"'").or_else(|| r.strip_prefix(b"`"))?;
        let end = memchr::memchr(b'\'', r)?;
        return Some(Some(&r[..end]));
    }
    rest.starts_with(b"Leaving directory ").then_some(None)
}

fn push_block_line(b: &mut Block, line: &[u8]) {
    b.echo_next = false;
    if b.store && b.lines.len() < MAX_BLOCK_LINES {
        b.lines.push(excerpt_line(line));
    }
}

fn number(b: Option<&[u8]>) -> Option<u32> {
    let b = b?;
    if b.is_empty() || b.len() > 9 {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// The kind of a diagnostic, from its rule and what the line names.
fn refine_kind(
    rule: &str,
    kind: Kind,
    file: Option<&[u8]>,
    tool: Option<&[u8]>,
    message: &str,
) -> Kind {
    match rule {
        "cc-diag" => {
            let f = file.unwrap_or_default();
            if f.ends_with(b".S") || f.ends_with(b".s") {
                Kind::Assembler
            } else if f.ends_with(b".rs") {
                Kind::Rust
            } else if f.ends_with(b".dts") || f.ends_with(b".dtsi") {
                Kind::Dtc
            } else if f.ends_with(b".py") || f.ends_with(b".sh") || f.ends_with(b".pl") {
                Kind::Other
            } else {
                kind
            }
        }
        "binutils" | "tool-diag" => {
            let t = tool.unwrap_or_default();
            let base = t.rsplit(|&b| b == b'/').next().unwrap_or(t);
            if base.ends_with(b"as") && rule == "binutils" {
                Kind::Assembler
            } else if rule == "binutils" {
                Kind::Linker
            } else if memmem::find(base, b"modpost").is_some() {
                Kind::Modpost
            } else if memmem::find(base, b"objtool").is_some() {
                Kind::Objtool
            } else if base == b"dtc" {
                Kind::Dtc
            } else if base == b"rustc" || base == b"clippy-driver" {
                Kind::Rust
            } else {
                kind
            }
        }
        "upper-diag" => {
            let m = message.to_ascii_lowercase();
            if m.contains("modpost") || m.contains("section mismatch") {
                Kind::Modpost
            } else if m.contains("objtool") {
                Kind::Objtool
            } else {
                kind
            }
        }
        _ => kind,
    }
}

impl LineSink for Engine {
    fn line(&mut self, lineno: u64, line: &[u8]) {
        self.report.lines = lineno;
        self.report.bytes += line.len() as u64 + 1;
        self.tail.push(line);
        self.tail.push(b"\n");
        let mut extra = (false, false);
        if self.overflow.lineno == lineno && lineno != 0 {
            let o = std::mem::take(&mut self.overflow);
            let mut joined = line[line.len().saturating_sub(8)..].to_vec();
            joined.extend_from_slice(&o.head);
            let (w, e) = raw_hits(&joined);
            extra = (o.warning || w, o.error || e);
        }
        if let Some(f) = &mut self.framing {
            f.see_line(lineno, line);
        }
        self.process(lineno, line, extra, true);
        if self.want_cause {
            self.cause_before(&[]);
        }
        self.keep_window(line);
        self.keep_window(b"\n");
    }

    /// The fast path: only lines with a `:` (every diagnostic shape; the
    /// colons of a leading `HH:MM:SS ` stamp do not count) or starting,
    /// after such a stamp or not, with `*** `, and the lines the framer can
    /// act on ([`Framer::next_line`]; only those go to the framer), are looked at,
    /// unless a block, the options
    /// dump, an open `Failed:` reason or the failure region needs every
    /// line. [`Engine::handle`] and the framer ignore exactly the lines
    /// skipped here, so the result equals feeding every line to `line`.
    /// In a chunk with [`ClassHints`] ([`LineSink::chunk_lines`]), the
    /// trigger lines are the hints' (the same search, [`next_trigger`],
    /// made on another thread), and so are their classes.
    fn lines(&mut self, first_lineno: u64, text: &[u8]) -> u64 {
        self.report.bytes += text.len() as u64;
        self.tail.push(text);
        // `pos`: start of the next line not yet accounted for (its number
        // is `lineno`). Both searches are remembered while they stay
        // valid, so that neither rescans the text when the other's lines
        // are frequent: the engine's next trigger line (searched from
        // `search`; triggers do not depend on state), and the framer's
        // next line in its search state (valid while that state holds).
        let mut pos = 0;
        let mut search = 0;
        let mut engine_next: Option<usize> = None;
        let mut framer_next: Option<(u8, Option<usize>)> = None;
        let mut lineno = first_lineno;
        while pos < text.len() {
            if self.needs_every_line() {
                let end = memchr::memchr(b'\n', &text[pos..]).map_or(text.len(), |i| pos + i);
                let l = &text[pos..end];
                self.process(
                    lineno,
                    l.strip_suffix(b"\r").unwrap_or(l),
                    (false, false),
                    true,
                );
                if self.want_cause {
                    self.cause_before(&text[..pos]);
                }
                lineno += 1;
                pos = end + 1;
                continue;
            }
            if engine_next.is_none_or(|e| e < pos) {
                (engine_next, search) = match &mut self.hinted {
                    Some(h) => (h.next_line(pos), search),
                    None => next_trigger(text, pos, search.max(pos)),
                };
            }
            let state = self.framer.search_state();
            let framer_hit = match framer_next {
                Some((st, hit)) if st == state && hit.is_none_or(|h| h >= pos) => hit,
                _ => {
                    let hit = self.framer.next_line(text, pos);
                    framer_next = Some((state, hit));
                    hit
                }
            };
            let start = match (engine_next, framer_hit) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(s) => s,
                    None => {
                        lineno += memchr::memchr_iter(b'\n', &text[pos..]).count() as u64;
                        break;
                    }
                },
            };
            lineno += memchr::memchr_iter(b'\n', &text[pos..start]).count() as u64;
            let end = memchr::memchr(b'\n', &text[start..]).map_or(text.len(), |i| start + i);
            let l = &text[start..end];
            // the framer ignores the lines before its next one
            let framed = framer_hit == Some(start);
            self.process(
                lineno,
                l.strip_suffix(b"\r").unwrap_or(l),
                (false, false),
                framed,
            );
            if self.want_cause {
                self.cause_before(&text[..start]);
            }
            lineno += 1;
            pos = end + 1;
        }
        self.keep_window(text);
        self.report.lines = lineno.saturating_sub(1).max(self.report.lines);
        let n = lineno - first_lineno;
        if let Some(f) = &mut self.framing {
            f.see_lines(first_lineno, n, text);
        }
        n
    }

    /// [`LineSink::lines`], with the chunk's [`ClassHints`] if it has them.
    fn chunk_lines(&mut self, first_lineno: u64, chunk: &Chunk, range: Range<usize>) -> u64 {
        if chunk.annex().is_some_and(|a| a.is::<ClassHints>()) {
            self.hinted = Some(Hinted {
                chunk: Arc::clone(chunk),
                base: range.start,
                line: 0,
                outcome: 0,
            });
        }
        let n = self.lines(first_lineno, &chunk[range]);
        self.hinted = None;
        n
    }

    fn overflow(&mut self, lineno: u64, dropped: &[u8]) {
        if self.overflow.lineno != lineno {
            self.overflow = Overflow {
                lineno,
                ..Overflow::default()
            };
        }
        let o = &mut self.overflow;
        if o.head.len() < 8 {
            let take = (8 - o.head.len()).min(dropped.len());
            o.head.extend_from_slice(&dropped[..take]);
        }
        // Needles may straddle two pieces: check the seam, then the piece.
        let mut seam = std::mem::take(&mut o.tail);
        seam.extend_from_slice(&dropped[..dropped.len().min(8)]);
        let (w1, e1) = raw_hits(&seam);
        let (w2, e2) = raw_hits(dropped);
        o.warning |= w1 || w2;
        o.error |= e1 || e2;
        if dropped.len() >= 8 {
            seam.clear();
            seam.extend_from_slice(&dropped[dropped.len() - 8..]);
        } else {
            let keep = seam.len().saturating_sub(8);
            seam.drain(..keep);
        }
        o.tail = seam;
    }

    fn totals(&mut self, stats: &ScanStats) {
        self.report.bytes = stats.bytes;
        self.report.lines = stats.lines;
        self.report.nul_bytes = stats.nul_bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logscan::ChunkBuf;

    /// `text` as a chunk with `annex`, through [`LineSink::chunk_lines`].
    fn report(text: &[u8], annex: Option<Annex>) -> DiagReport {
        let mut chunk = ChunkBuf::new(text.to_vec());
        if let Some(a) = annex {
            chunk = chunk.with_annex(a);
        }
        let mut e = Engine::new();
        e.chunk_lines(1, &Arc::new(chunk), 0..text.len());
        e.finish()
    }

    #[test]
    fn the_engine_takes_the_hints_it_is_given() {
        let text = b"  CC      a.o\na.c:1:2: warning: w\n00:00:01 b.c:3:4: error: e\n";
        let alone = report(text, None);
        assert_eq!((alone.warnings, alone.errors), (1, 1));
        let hinted = report(text, Some(annotate(&mut Classifier::default(), text)));
        assert_eq!(
            serde_json::to_value(&hinted).unwrap(),
            serde_json::to_value(&alone).unwrap()
        );
        // the hints' outcomes are used as they are: a wrong one is believed
        let mut wrong = annotate(&mut Classifier::default(), text);
        let hints = wrong.downcast_mut::<ClassHints>().unwrap();
        assert_eq!(hints.lines, [14, 34]);
        assert_eq!(hints.outcomes.len(), 2);
        hints.outcomes[1].2 = None;
        let r = report(text, Some(wrong));
        assert_eq!((r.warnings, r.errors), (1, 0));
        // and so are their lines: one left out is not looked at
        let mut fewer = annotate(&mut Classifier::default(), text);
        fewer.downcast_mut::<ClassHints>().unwrap().lines.remove(0);
        let r = report(text, Some(fewer));
        assert_eq!((r.warnings, r.errors), (0, 1));
        // an annex of another kind is no hint
        let r = report(text, Some(Box::new(())));
        assert_eq!((r.warnings, r.errors), (1, 1));
    }
}
