//! Build-log diagnostics: script-compatible raw counts, distinct
//! diagnostics by kind, and the log excerpt, in one streaming pass.
//!
//! [`Engine`] is a [`LineSink`]; [`Engine::finish`] gives a [`DiagReport`].

use std::collections::BTreeMap;

use serde::Serialize;

use crate::logscan::LineSink;

/// Severity of a diagnostic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// Kind of a diagnostic (harvest.md §4 names).
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
    Other,
}

impl Kind {
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
    /// Distinct warnings / errors, every kind (Kconfig included).
    pub warnings: u64,
    pub errors: u64,
    pub warnings_by_kind: BTreeMap<String, u64>,
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Distinct diagnostics in order of first appearance (capped).
    pub diagnostics: Vec<Diagnostic>,
    /// Lines that point at the environment rather than the code
    /// (`No space left on device`, `command not found`/`Error 127`,
    /// `Killed`, `Error 137`, `Segmentation fault` of a tool).
    pub environment_failures: Vec<String>,
    /// make recipe-failure lines (`make[N]: *** [...] Error N`) of the build.
    pub make_failures: Vec<String>,
    pub lines: u64,
    pub bytes: u64,
    #[serde(skip)]
    excerpts: Excerpts,
}

#[derive(Clone, Debug, Default)]
struct Excerpts {
    tail: Vec<String>,
}

impl DiagReport {
    /// The excerpt of the requested kind: at most 16384 characters, no NUL,
    /// cut on line boundaries; `None` when there is nothing to show.
    pub fn excerpt(&self, kind: ExcerptKind) -> Option<String> {
        let text = match kind {
            ExcerptKind::Fail | ExcerptKind::Warnings | ExcerptKind::Tail => {
                self.excerpts.tail.join("\n")
            }
        };
        if text.is_empty() {
            None
        } else {
            Some(text.chars().filter(|c| *c != '\0').take(16384).collect())
        }
    }
}

/// The streaming diagnostics engine.
#[derive(Default)]
pub struct Engine {
    report: DiagReport,
}

impl Engine {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn finish(self) -> DiagReport {
        self.report
    }
}

fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

impl LineSink for Engine {
    fn line(&mut self, lineno: u64, line: &[u8]) {
        self.report.lines = lineno;
        self.report.bytes += line.len() as u64 + 1;
        if contains_ci(line, b"warning:") {
            self.report.warnings_raw += 1;
        }
        if contains_ci(line, b"error:") {
            self.report.errors_raw += 1;
        }
        let t = &mut self.report.excerpts.tail;
        t.push(String::from_utf8_lossy(line).into_owned());
        if t.len() > 40 {
            t.remove(0);
        }
    }
}
