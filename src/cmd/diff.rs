//! `kcidb-harvest diff A [B]`: the distinct diagnostics that are new in B
//! (not in A) and gone from it (in A, not in B), compared by signature
//! (README "History"). A and B are result directories (harvested now, as
//! `--dry-run` would: nothing is written) or build ids in the history.
//! With one argument, B is that build and A its previous build in the
//! history. On stdout: human lines, or JSON Lines of
//! `{"type":"diagnostic","change":"new"|"gone",…}` (the fields of the
//! `diagnostics` listing), then one `{"type":"diff",…}` line.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::diagnostics::Shown;
use super::{print, CmdError};
use crate::cli::{DiffArgs, Format};
use crate::exit_code::Verdict;
use crate::history::{self, Count, DiagRow, History, Record};
use crate::output::{escape, shown};
use crate::pipeline::{self, Candidate};

#[derive(Serialize)]
struct ChangeLine<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    change: &'static str,
    dir: &'a str,
    build_id: &'a str,
    #[serde(flatten)]
    row: &'a DiagRow,
}

#[derive(Serialize)]
struct DiffLine<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    old_build_id: &'a str,
    old_dir: &'a str,
    new_build_id: &'a str,
    new_dir: &'a str,
    new: Count,
    gone: Count,
}

pub fn run(args: &DiffArgs) -> Result<Verdict, CmdError> {
    let history = match args.history.path() {
        Some(p) => History::open_read_only(&p).map_err(|e| CmdError::Usage(e.to_string()))?,
        None => None,
    };
    let newer_arg = args.b.as_deref().unwrap_or(&args.a);
    let newer = resolve(newer_arg, args, history.as_ref())?;
    let older = match &args.b {
        Some(_) => resolve(&args.a, args, history.as_ref())?,
        None => previous(&newer, history.as_ref())?,
    };
    let (new, gone) = history::compare(&newer.diags, &older.diags);
    let text = match args.format {
        Format::Json => json(&older, &newer, &new, &gone),
        Format::Human => human(&older, &newer, &new, &gone),
    };
    print(&text)?;
    Ok(Verdict::default())
}

/// A directory (harvested now) or a build id (from the history).
fn resolve(what: &str, args: &DiffArgs, history: Option<&History>) -> Result<Record, CmdError> {
    let path = Path::new(what);
    if path.is_dir() {
        return harvest(path, args);
    }
    let Some(h) = history else {
        return Err(CmdError::Usage(format!(
            "`{what}`: not a directory, and there is no history to find a build id in"
        )));
    };
    h.build(what)
        .map_err(|e| CmdError::Usage(e.to_string()))?
        .ok_or_else(|| {
            CmdError::Usage(format!(
                "`{what}`: not a directory, and not a build id in the history `{}`",
                h.path().display()
            ))
        })
}

/// The one build of a directory, as the history would record it.
fn harvest(dir: &Path, args: &DiffArgs) -> Result<Record, CmdError> {
    let opts = super::options::listing_options(args.origin.as_deref())?;
    let y = pipeline::collect::collect(
        pipeline::detect(Candidate::named(dir.to_path_buf())).map_err(usage)?,
        &opts.overrides,
    )
    .and_then(|c| pipeline::report(c, &opts))
    .map_err(usage)?;
    let mut records = history::records_of(&y);
    match records.len() {
        1 => Ok(records.remove(0)),
        0 => Err(CmdError::Usage(format!(
            "`{}`: no build with a status to compare",
            dir.display()
        ))),
        n => Err(CmdError::Usage(format!(
            "`{}` holds {n} builds (a ktest run of several tests): name one by its build id ({})",
            dir.display(),
            records
                .iter()
                .map(|r| r.build_id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn usage(e: pipeline::HarvestError) -> CmdError {
    CmdError::Usage(e.to_string())
}

/// The previous build of `rec` in the history.
fn previous(rec: &Record, history: Option<&History>) -> Result<Record, CmdError> {
    let Some(h) = history else {
        return Err(CmdError::Usage(format!(
            "`{}`: no history to find its previous build in (give two builds)",
            rec.build_id
        )));
    };
    let err = |e: history::HistoryError| CmdError::Usage(e.to_string());
    let found = h.previous(rec).map_err(err)?.ok_or_else(|| {
        let g = &rec.group;
        CmdError::Usage(format!(
            "`{}`: no earlier build in the history `{}` with tree `{}`, branch `{}`, architecture `{}`, config `{}`, compiler `{}`",
            rec.build_id,
            h.path().display(),
            g.tree,
            g.branch,
            g.arch,
            g.config,
            g.compiler
        ))
    })?;
    h.build(&found.build_id)
        .map_err(err)?
        .ok_or_else(|| CmdError::Usage(format!("`{}`: vanished from the history", found.build_id)))
}

fn json(older: &Record, newer: &Record, new: &[&DiagRow], gone: &[&DiagRow]) -> String {
    let mut out = String::new();
    let lines = new
        .iter()
        .map(|row| ChangeLine {
            ty: "diagnostic",
            change: "new",
            dir: &newer.dir,
            build_id: &newer.build_id,
            row,
        })
        .chain(gone.iter().map(|row| ChangeLine {
            ty: "diagnostic",
            change: "gone",
            dir: &older.dir,
            build_id: &older.build_id,
            row,
        }));
    for l in lines {
        if let Ok(s) = serde_json::to_string(&l) {
            out.push_str(&s);
            out.push('\n');
        }
    }
    let summary = DiffLine {
        ty: "diff",
        old_build_id: &older.build_id,
        old_dir: &older.dir,
        new_build_id: &newer.build_id,
        new_dir: &newer.dir,
        new: history::count(new),
        gone: history::count(gone),
    };
    if let Ok(s) = serde_json::to_string(&summary) {
        out.push_str(&s);
        out.push('\n');
    }
    out
}

fn human(older: &Record, newer: &Record, new: &[&DiagRow], gone: &[&DiagRow]) -> String {
    let name = |r: &Record| {
        format!(
            "{} ({}{})",
            escape(&r.build_id),
            shown(Path::new(&r.dir)),
            r.kernel_version
                .as_deref()
                .map(|v| format!(", {}", escape(v)))
                .unwrap_or_default()
        )
    };
    let mut s = format!(
        "{} -> {}: {} new, {} gone\n",
        name(older),
        name(newer),
        new.len(),
        gone.len()
    );
    for (what, rows) in [("new ", new), ("gone", gone)] {
        for d in rows {
            let _ = writeln!(
                s,
                "  {what}  {}  ({})",
                Shown {
                    file: d.file.as_deref(),
                    line: d.line,
                    column: d.column,
                    severity: &d.severity,
                    message: &d.message,
                    occurrences: d.occurrences,
                },
                d.kind
            );
        }
    }
    s
}
