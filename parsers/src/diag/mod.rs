//! Build-log diagnostics: script-compatible raw counts, distinct
//! diagnostics by kind, and the log excerpt, in one streaming pass.
//!
//! [`Engine`] is a [`LineSink`](crate::logscan::LineSink);
//! [`Engine::finish`] gives a [`DiagReport`]. The parts:
//!
//! - [`patterns`]: the table of line shapes (gcc/clang, GNU ld, ld.lld,
//!   assembler, make/kbuild, Kconfig, modpost, objtool, dtc, rustc, sparse,
//!   environment failures, summaries and tool chatter);
//! - [`normalize`]: the raw counter and what makes two printings of one
//!   diagnostic equal (paths, quotes, option suffixes, offsets);
//! - [`engine`]: the pass itself, ktest steps and runs, blocks and context;
//! - [`excerpt`]: bounded excerpt material and its rendering.
//!
//! Counting conventions (docs/diagnostics.md): `warnings_raw`/`errors_raw` are
//! `grep -c -i 'warning:'`/`'error:'` over the whole file; the distinct
//! counts describe the last ktest run (compiler and other build kinds from
//! its last build step, Kconfig from all its steps); summaries and context
//! lines never count; a make `*** [...] Error N` (or make's own error)
//! counts, as kind `make`, only when no other error and no environment
//! failure explains the failure.

use std::collections::BTreeMap;

use serde::Serialize;

mod engine;
mod excerpt;
mod normalize;
mod patterns;
pub mod signature;

pub use engine::Engine;
pub use excerpt::LIMIT as EXCERPT_LIMIT;

/// The work an [`Engine`] can have done on another thread before it reads
/// a chunk: its trigger lines found and classified. Give this to
/// [`crate::logscan::scan_read_ahead`] as `annotate`: the engine then
/// uses the annex of each chunk it is given whole (same report, less work
/// on its own core).
pub fn annotator() -> impl FnMut(&[u8]) -> crate::logscan::Annex + Send {
    let mut classifier = patterns::Classifier::default();
    move |bytes| engine::annotate(&mut classifier, bytes)
}

/// Severity of a diagnostic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// Kind of a diagnostic (docs/diagnostics.md#kinds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Compiler,
    Linker,
    Assembler,
    Modpost,
    Objtool,
    Kconfig,
    Make,
    Rust,
    Dtc,
    /// The toolchain itself is missing or unusable (a compiler or tool
    /// not found, not supported, an unknown target): the build
    /// environment, not the code.
    Toolchain,
    Other,
}

impl Kind {
    /// Number of kinds.
    pub const COUNT: usize = 11;

    /// Every kind, in report order.
    pub const ALL: [Kind; Kind::COUNT] = [
        Kind::Compiler,
        Kind::Linker,
        Kind::Assembler,
        Kind::Modpost,
        Kind::Objtool,
        Kind::Kconfig,
        Kind::Make,
        Kind::Rust,
        Kind::Dtc,
        Kind::Toolchain,
        Kind::Other,
    ];

    /// Position in [`Kind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The name used in `warnings_by_kind` / `errors_by_kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Compiler => "compiler",
            Kind::Linker => "linker",
            Kind::Assembler => "assembler",
            Kind::Modpost => "modpost",
            Kind::Objtool => "objtool",
            Kind::Kconfig => "kconfig",
            Kind::Make => "make",
            Kind::Rust => "rust",
            Kind::Dtc => "dtc",
            Kind::Toolchain => "toolchain",
            Kind::Other => "other",
        }
    }
}

/// One distinct diagnostic.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnostic {
    pub kind: Kind,
    pub severity: Severity,
    /// Normalised source path (no `../`, no build or source-root prefix).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// Message as printed (lossy UTF-8).
    pub message: String,
    /// How many times it was printed.
    pub occurrences: u64,
    /// Line number (in the log) of its first occurrence.
    pub first_line: u64,
}

/// Which excerpt to build (chosen from the build status by the caller).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExcerptKind {
    /// The first error's block with context through the make failure lines.
    Fail,
    /// The distinct warnings.
    Warnings,
    /// The last lines showing what broke.
    Tail,
}

/// The result of the pass.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DiagReport {
    /// Lines matching `grep -i "warning:"` over the whole file.
    pub warnings_raw: u64,
    /// Lines matching `grep -i "error:"` over the whole file.
    pub errors_raw: u64,
    /// Lines matching `grep "warning:"` and `grep "error:"` (no `-i`: the
    /// 2016-2018 script's counts) in the first [`crate::logscan::MAX_LINE`]
    /// bytes of each line, over the whole file (not per segment).
    #[serde(skip)]
    pub warnings_raw_cs: u64,
    #[serde(skip)]
    pub errors_raw_cs: u64,
    /// Distinct warnings / errors, every kind (Kconfig included).
    pub warnings: u64,
    pub errors: u64,
    /// Distinct counts per kind name (only kinds with a non-zero count).
    pub warnings_by_kind: BTreeMap<String, u64>,
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Distinct diagnostics in order of first appearance (at most 10,000; the
    /// counts above include those beyond).
    pub diagnostics: Vec<Diagnostic>,
    /// Lines that point at the environment rather than the code
    /// (`No space left on device`, `command not found`/`Error 127`,
    /// `Killed`, `Error 137`, `Segmentation fault` of a tool), distinct,
    /// from the same step as the distinct counts. Never counted as errors.
    pub environment_failures: Vec<String>,
    /// make recipe-failure lines (`make[N]: *** [...] Error N`) of the build.
    pub make_failures: Vec<String>,
    pub lines: u64,
    pub bytes: u64,
    /// NUL bytes dropped from the log before it was read as text.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub nul_bytes: u64,
    /// Diagnostics counted as distinct past the engine's memory bound
    /// without being compared (0 on any real log): the distinct counts are
    /// then an upper bound.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub distinct_untracked: u64,
    /// One report per test of a ktest run that holds more than one test
    /// (or patch of a patchcheck) and built in it, in order: each from its
    /// own lines only (docs/ktest.md#the-tests-of-a-run). Empty for a
    /// single test, a plain log or a single build: then this report is the
    /// build's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<Segment>,
    #[serde(skip)]
    excerpts: Excerpts,
    /// The ktest build step whose lines gave the distinct counts.
    #[serde(skip)]
    build_step: Option<(u64, Option<u64>)>,
}

/// The diagnostics of one test (or patch) of a ktest run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Segment {
    /// Line of its `RUNNING TEST n of m` or `Processing commit` line.
    pub start_line: u64,
    pub report: DiagReport,
}

#[derive(Clone, Debug, Default)]
struct Excerpts {
    fail: Option<String>,
    warnings: Option<String>,
    tail: Option<String>,
}

impl DiagReport {
    /// The excerpt of the requested kind: at most [`EXCERPT_LIMIT`]
    /// characters, no NUL, cut on line boundaries, most relevant first;
    /// `None` when there is nothing to show.
    ///
    /// - `Fail`: the first error's block with its context through the make
    ///   failure lines, then the other distinct errors (falls back to
    ///   `Tail` when the log shows no error at all);
    /// - `Warnings`: each distinct warning with its context and caret lines;
    /// - `Tail`: environment failures, then the last lines of the log.
    pub fn excerpt(&self, kind: ExcerptKind) -> Option<String> {
        match kind {
            ExcerptKind::Fail => self
                .excerpts
                .fail
                .clone()
                .or_else(|| self.excerpts.tail.clone()),
            ExcerptKind::Warnings => self.excerpts.warnings.clone(),
            ExcerptKind::Tail => self.excerpts.tail.clone(),
        }
    }
}

impl DiagReport {
    /// Distinct errors that blame the code: every error but the
    /// toolchain's own (a missing or unsupported compiler or tool).
    pub fn code_errors(&self) -> u64 {
        self.errors
            - self
                .errors_by_kind
                .get(Kind::Toolchain.as_str())
                .copied()
                .unwrap_or(0)
                .min(self.errors)
    }
}

impl DiagReport {
    /// The ktest build step whose lines gave the distinct counts (Kconfig
    /// aside): the line of its command and the line of its status (`None`
    /// when it has none: killed, or its status was not recognised). `None`
    /// when the last run has no build step or the log has no ktest framing
    /// (then the whole log, or the run, counts). The same step as the
    /// `ktest.build_command` fact: both come from one
    /// [`crate::ktest_framing::Framer`].
    pub fn build_step(&self) -> Option<(u64, Option<u64>)> {
        self.build_step
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
