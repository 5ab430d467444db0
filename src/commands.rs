//! The subcommands: each takes parsed arguments and returns an exit code.

use std::path::PathBuf;

use std::time::SystemTime;

use clap::CommandFactory;
use serde_json::json;

use crate::cli::{Cli, ExplainArgs, Format};
use crate::exit_code;
use crate::harvest::{self, HarvestOptions, Harvested, Outcome};
use crate::layout::LAYOUTS;
use crate::output;

/// Check `--origin`: required, `[a-z0-9_]+`.
pub fn check_origin(origin: Option<&str>) -> Result<String, String> {
    let o = origin.ok_or_else(|| {
        "--origin NAME is required (the KCIDB origin, e.g. --origin gregkh; or set KCIDB_HARVEST_ORIGIN)".to_string()
    })?;
    if o.is_empty()
        || !o
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(format!(
            "invalid origin `{o}`: KCIDB origins are lower-case letters, digits and `_` only"
        ));
    }
    Ok(o.to_string())
}

/// Per-directory result, for printing and the exit code.
pub enum DirResult {
    Harvested(Box<Harvested>, String),
    InProgress(PathBuf, String),
    Failed(PathBuf, String),
}

/// Print the per-directory line (human or JSON) on stderr.
pub fn print_dir(format: Format, r: &DirResult, extra: Option<serde_json::Value>) {
    match (format, r) {
        (Format::Human, DirResult::Harvested(h, _)) => {
            let status = h.report.builds[0].status.map(|s| s.as_str()).unwrap_or("?");
            output::stderr_line(&format!(
                "{}: {} -> {status} {}",
                h.dir.display(),
                h.line,
                h.build_id()
            ));
        }
        (Format::Human, DirResult::InProgress(d, why)) => output::stderr_line(&format!(
            "{}: in progress, not submitted: {why}",
            d.display()
        )),
        (Format::Human, DirResult::Failed(_, e)) => output::error(e),
        (Format::Json, r) => {
            let mut v = dir_json(r);
            if let (Some(obj), Some(serde_json::Value::Object(x))) = (v.as_object_mut(), extra) {
                obj.extend(x);
            }
            output::stderr_line(&v.to_string());
        }
    }
}

/// The JSON message for one directory (README: "--format json").
pub fn dir_json(r: &DirResult) -> serde_json::Value {
    match r {
        DirResult::Harvested(h, reason) => {
            let b = &h.report.builds[0];
            let misc = b.misc.clone().unwrap_or_default();
            json!({
                "type": "directory",
                "dir": h.dir.display().to_string(),
                "outcome": "harvested",
                "layout": h.layout,
                "status": b.status.map(|s| s.as_str()),
                "status_reason": reason,
                "checkout_id": h.checkout_id(),
                "build_id": h.build_id(),
                "summary": h.line,
                "warnings": misc.get("warnings"),
                "errors": misc.get("errors"),
                "warnings_raw": misc.get("warnings_raw"),
                "errors_raw": misc.get("errors_raw"),
            })
        }
        DirResult::InProgress(d, why) => json!({
            "type": "directory", "dir": d.display().to_string(), "outcome": "in_progress", "reason": why,
        }),
        DirResult::Failed(d, e) => json!({
            "type": "directory", "dir": d.display().to_string(), "outcome": "failed", "error": e,
        }),
    }
}

/// `kcidb-harvest parsers`.
pub fn parsers() -> i32 {
    let mut s = String::from("Layouts (detected in this order):\n");
    for l in LAYOUTS {
        s.push_str(&format!("  {:<24} {}\n", l.id, l.description));
        s.push_str(&format!("  {:<24} parsers: {}\n", "", l.parsers.join(", ")));
    }
    s.push_str("\nParsers:\n");
    for p in kcidb_harvest_parsers::PARSERS {
        s.push_str(&format!("  {:<16} {}\n", p.id(), p.description()));
        s.push_str(&format!("  {:<16} reads: {}\n", "", p.inputs().join(", ")));
    }
    output::stdout(&s);
    exit_code::OK
}

/// `kcidb-harvest explain DIR`.
pub fn explain(args: &ExplainArgs) -> i32 {
    let origin = match check_origin(Some(&args.origin)) {
        Ok(o) => o,
        Err(e) => {
            output::error(&e);
            return exit_code::USAGE;
        }
    };
    let opts = HarvestOptions {
        origin,
        overrides: args.overrides.clone(),
        assume_finished: true,
        now: SystemTime::now(),
    };
    let (h, m) = match harvest::harvest_dir(&args.dir, &opts) {
        Ok(Outcome::Harvested(h, m)) => (h, m),
        Ok(Outcome::InProgress { dir, reason }) => {
            // not reached: explain harvests with assume_finished
            output::stderr_line(&format!("{}: in progress: {reason}", dir.display()));
            return exit_code::OK;
        }
        Err(e) => {
            output::error(&e.to_string());
            return exit_code::SOME_FAILED;
        }
    };
    if args.json {
        let v = json!({
            "dir": h.dir.display().to_string(),
            "layout": h.layout,
            "status_reason": m.status_reason,
            "fields": m.sources,
            "report": h.report,
        });
        output::stdout(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"));
        return exit_code::OK;
    }
    let mut s = format!(
        "{}: layout {}\n{}\nstatus: {} ({})\n\n",
        h.dir.display(),
        h.layout,
        h.line,
        m.status.as_str(),
        m.status_reason
    );
    let width = m
        .sources
        .iter()
        .map(|f| f.object.len() + f.field.len() + 1)
        .max()
        .unwrap_or(10);
    for f in &m.sources {
        let name = format!("{}.{}", f.object, f.field);
        let mut value = f.value.to_string();
        if value.chars().count() > 72 {
            value = value.chars().take(69).collect::<String>() + "...";
        }
        s.push_str(&format!(
            "{name:<width$}  {value}\n{:<width$}    from {}\n",
            "", f.source
        ));
        for d in &f.disagreements {
            s.push_str(&format!("{:<width$}    but {d}\n", ""));
        }
    }
    output::stdout(&s);
    exit_code::OK
}

/// `kcidb-harvest completions SHELL`.
pub fn completions(shell: clap_complete::Shell) -> i32 {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "kcidb-harvest", &mut buf);
    output::stdout(&String::from_utf8_lossy(&buf));
    exit_code::OK
}

/// `kcidb-harvest man`.
pub fn man() -> i32 {
    let cmd = Cli::command();
    let mut buf = Vec::new();
    if let Err(e) = clap_mangen::Man::new(cmd).render(&mut buf) {
        output::error(&format!("cannot render the man page: {e}"));
        return exit_code::USAGE;
    }
    // One section per subcommand, so every subcommand is documented.
    for sub in Cli::command().get_subcommands() {
        let name: &'static str =
            Box::leak(format!("kcidb-harvest-{}", sub.get_name()).into_boxed_str());
        let sub = sub.clone().name(name);
        let _ = clap_mangen::Man::new(sub).render(&mut buf);
    }
    output::stdout(&String::from_utf8_lossy(&buf));
    exit_code::OK
}
