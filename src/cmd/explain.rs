//! `kcidb-harvest explain DIR`: every inferred field, its value and its
//! source, from one pass of the pipeline (detect → collect → report), with
//! the ids a harvest with the same `--origin` delivers.

use serde_json::json;

use super::{print, CmdError};
use crate::cli::ExplainArgs;
use crate::exit_code::Verdict;
use crate::output::{escape, shown};
use crate::pipeline::{self, Candidate, DirYield};
use kcidb_harvest_parsers::diag::DiagReport;

/// Values longer than this are cut in the table (`--json` has them whole).
const SHOWN_VALUE: usize = 160;

pub fn run(args: &ExplainArgs) -> Result<Verdict, CmdError> {
    let opts = super::harvest_options(args.origin.as_deref(), &args.overrides, false, true)
        .map_err(CmdError::Usage)?;
    type Stages = (Option<String>, Option<DiagReport>, DirYield);
    let stages = || -> Result<Stages, pipeline::HarvestError> {
        let collected = pipeline::collect::collect(
            pipeline::detect(Candidate::named(args.dir.clone()))?,
            &opts.overrides,
        )?;
        // what a harvest would do with it now
        let in_progress = pipeline::in_progress(&collected, opts.now);
        let diag = collected.facts.diag.as_ref().map(|(_, d)| d.clone());
        Ok((in_progress, diag, pipeline::report(collected, &opts)?))
    };
    let (in_progress, diag, y) = match stages() {
        Ok(r) => r,
        Err(e) if e.is_missing() => return Err(CmdError::Usage(e.to_string())),
        Err(e) => {
            crate::reporter::get().error(None, &e.to_string());
            return Ok(Verdict {
                some_failed: true,
                ..Verdict::default()
            });
        }
    };
    if args.json {
        let v = json!({
            "dir": y.dir.display().to_string(),
            "layout": y.layout.id,
            "in_progress": in_progress,
            "status_reason": y.status_reason,
            "results": y.results,
            "warnings": y.warnings,
            "fields": y.provenance,
            "diagnostics": diag.as_ref().map(|d| &d.diagnostics),
            "report": y.report,
        });
        print(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"))?;
        return Ok(Verdict::default());
    }
    let mut text = table(&y, in_progress.as_deref());
    if let Some(d) = diag.as_ref().filter(|d| !d.diagnostics.is_empty()) {
        text.push_str("\ndiagnostics (distinct, in log order per kind):\n");
        text.push_str(&super::diagnostics::grouped(d));
    }
    print(&text)?;
    Ok(Verdict::default())
}

/// The human table.
fn table(y: &DirYield, in_progress: Option<&str>) -> String {
    let mut s = String::new();
    if let Some(reason) = in_progress {
        s.push_str(&format!(
            "in progress: {}\n(a harvest would not submit it now; the fields below are as if it had finished)\n\n",
            escape(reason)
        ));
    }
    s.push_str(&format!(
        "{}: layout {}\n{}\nstatus: {} ({})\n\n",
        shown(&y.dir),
        y.layout.id,
        escape(&y.line),
        y.status.as_str(),
        escape(&y.status_reason)
    ));
    if !y.results.is_empty() {
        s.push_str("builds and tests of the run (each from its own part of the log):\n");
        for r in &y.results {
            let status = r.status.map_or("-", |s| s.as_str());
            s.push_str(&format!(
                "  {}: {status} ({})\n    {}\n",
                escape(&r.what),
                escape(&r.reason),
                escape(&r.id)
            ));
        }
        s.push('\n');
    }
    if !y.warnings.is_empty() {
        s.push_str("warnings:\n");
        for w in &y.warnings {
            s.push_str(&format!("  {}\n", escape(w)));
        }
        s.push('\n');
    }
    let width = y
        .provenance
        .iter()
        .map(|f| f.object.len() + f.field.len() + 1 + f.of.as_ref().map_or(0, |o| o.len() + 2))
        .max()
        .unwrap_or(10);
    for f in &y.provenance {
        let name = match &f.of {
            Some(of) => format!("{}[{of}].{}", f.object, f.field),
            None => format!("{}.{}", f.object, f.field),
        };
        let mut value = f.value.to_string();
        let n = value.chars().count();
        if n > SHOWN_VALUE {
            value = value.chars().take(SHOWN_VALUE).collect::<String>()
                + &format!("… ({n} characters; --json shows it whole)");
        }
        s.push_str(&format!(
            "{name:<width$}  {}\n{:<width$}    from {}\n",
            escape(&value),
            "",
            escape(&f.source)
        ));
        for d in &f.disagreements {
            s.push_str(&format!("{:<width$}    but {}\n", "", escape(d)));
        }
    }
    s
}
