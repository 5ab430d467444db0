//! `kcidb-harvest diagnostics DIR...`: every distinct warning and error of
//! each directory's build (the last ktest run's build step, or the whole
//! bare log), in log order, from one pass of the pipeline (detect →
//! collect → report). On stdout: human lines grouped by kind, or JSON
//! Lines, one `{"type":"diagnostic",…}` object per diagnostic.

use std::fmt::Write as _;

use serde::Serialize;

use super::{print, CmdError};
use crate::cli::{DiagnosticsArgs, Format};
use crate::exit_code::Verdict;
use crate::output::{escape, shown};
use crate::pipeline::{self, Candidate};
use kcidb_harvest_parsers::diag::{DiagReport, Diagnostic, Kind, Severity};

/// One JSON line. Unknown values are `null` (this is our own output, not
/// KCIDB).
#[derive(Serialize)]
struct DiagnosticLine<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    dir: String,
    build_id: &'a str,
    severity: &'static str,
    kind: &'static str,
    file: Option<&'a str>,
    line: Option<u32>,
    column: Option<u32>,
    message: &'a str,
    occurrences: u64,
    log_line: u64,
}

pub fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Warning => "warning",
        Severity::Error => "error",
    }
}

pub fn run(args: &DiagnosticsArgs) -> Result<Verdict, CmdError> {
    let opts = super::options::listing_options(args.origin.as_deref())?;
    let r = crate::reporter::get();
    let mut verdict = Verdict::default();
    for dir in &args.dirs {
        let stages =
            || -> Result<(Option<(String, DiagReport)>, String), pipeline::HarvestError> {
                let collected = pipeline::collect::collect(
                    pipeline::detect(Candidate::named(dir.clone()))?,
                    &opts.overrides,
                )?;
                let diag = collected.facts.diag.clone();
                let y = pipeline::report(collected, &opts)?;
                Ok((diag, y.build_id().to_string()))
            };
        let (diag, build_id) = match stages() {
            Ok(v) => v,
            Err(e) if e.is_missing() => return Err(CmdError::Usage(e.to_string())),
            Err(e) => {
                r.error(None, &e.to_string());
                verdict.some_failed = true;
                continue;
            }
        };
        let text = match args.format {
            Format::Json => json_lines(dir, &build_id, diag.as_ref().map(|d| &d.1)),
            Format::Human => human(dir, &build_id, diag.as_ref()),
        };
        print(&text)?;
    }
    Ok(verdict)
}

fn json_lines(dir: &std::path::Path, build_id: &str, diag: Option<&DiagReport>) -> String {
    let mut out = String::new();
    for d in diag.map(|d| d.diagnostics.as_slice()).unwrap_or_default() {
        let line = DiagnosticLine {
            ty: "diagnostic",
            dir: dir.display().to_string(),
            build_id,
            severity: severity(d.severity),
            kind: d.kind.as_str(),
            file: d.file.as_deref(),
            line: d.line,
            column: d.column,
            message: &d.message,
            occurrences: d.occurrences,
            log_line: d.first_line,
        };
        if let Ok(s) = serde_json::to_string(&line) {
            out.push_str(&s);
            out.push('\n');
        }
    }
    out
}

/// `file:line:col: severity: message [×N]`.
pub fn human_line(d: &Diagnostic) -> String {
    Shown {
        file: d.file.as_deref(),
        line: d.line,
        column: d.column,
        severity: severity(d.severity),
        message: &d.message,
        occurrences: d.occurrences,
    }
    .to_string()
}

/// A diagnostic as one human line (here and in `diff`).
pub struct Shown<'a> {
    pub file: Option<&'a str>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub severity: &'a str,
    pub message: &'a str,
    pub occurrences: u64,
}

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(file) = self.file {
            f.write_str(&escape(file))?;
            for n in [self.line, self.column].into_iter().flatten() {
                write!(f, ":{n}")?;
            }
            f.write_str(": ")?;
        }
        write!(f, "{}: {}", self.severity, escape(self.message))?;
        if self.occurrences > 1 {
            write!(f, " [×{}]", self.occurrences)?;
        }
        Ok(())
    }
}

/// The list grouped by kind (each group in log order).
pub fn grouped(diag: &DiagReport) -> String {
    let mut s = String::new();
    for kind in Kind::ALL {
        let of: Vec<&Diagnostic> = diag.diagnostics.iter().filter(|d| d.kind == kind).collect();
        if of.is_empty() {
            continue;
        }
        let _ = writeln!(s, "  {}:", kind.as_str());
        for d in of {
            let _ = writeln!(s, "    {}", human_line(d));
        }
    }
    let listed = diag.diagnostics.len() as u64;
    let total = diag.warnings + diag.errors;
    if total > listed {
        let _ = writeln!(
            s,
            "  … and {} more distinct diagnostics (counted, not kept)",
            total - listed
        );
    }
    s
}

fn human(dir: &std::path::Path, build_id: &str, diag: Option<&(String, DiagReport)>) -> String {
    let Some((file, d)) = diag else {
        return format!("{}: {build_id}: no build log\n", shown(dir));
    };
    let mut s = format!(
        "{}: {build_id}: {} distinct warning{}, {} distinct error{} in {}\n",
        shown(dir),
        d.warnings,
        if d.warnings == 1 { "" } else { "s" },
        d.errors,
        if d.errors == 1 { "" } else { "s" },
        escape(file)
    );
    s.push_str(&grouped(d));
    s
}
