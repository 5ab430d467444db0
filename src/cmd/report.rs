//! `kcidb-harvest report`: the history → one HTML page (`src/page/`).

use std::path::Path;

use super::{print, CmdError};
use crate::cli::ReportArgs;
use crate::exit_code::Verdict;
use crate::history::{Filter, History};
use crate::page;
use crate::reporter;

pub fn run(args: &ReportArgs) -> Result<Verdict, CmdError> {
    let path = args
        .history
        .clone()
        .or_else(crate::history::default_path)
        .ok_or_else(|| {
            CmdError::Usage("no history: give --history FILE (there is no home directory)".into())
        })?;
    let history = History::open_read_only(&path)
        .map_err(|e| CmdError::Usage(e.to_string()))?
        .ok_or_else(|| {
            CmdError::Usage(format!(
                "history `{}`: no such file (harvest or backfill result directories first, or give --history FILE)",
                path.display()
            ))
        })?;
    let filter = Filter {
        tree: args.tree.clone(),
        branch: args.branch.clone(),
        since: args.since.as_deref().map(since).transpose()?,
    };
    let records = history
        .all(&filter)
        .map_err(|e| CmdError::Usage(e.to_string()))?;
    let model = page::model(records);
    let filters = [
        args.tree.as_ref().map(|t| format!("tree {t}")),
        args.branch.as_ref().map(|b| format!("branch {b}")),
        args.since.as_ref().map(|s| format!("since {s}")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    let written_at = written_at();
    let html = page::html::page(
        &model,
        &page::html::Origin {
            history: &path.display().to_string(),
            written_at: &written_at,
            filters: &filters,
        },
    );
    if args.output == "-" {
        print(&html)?;
        return Ok(Verdict::default());
    }
    write_atomically(Path::new(&args.output), html.as_bytes()).map_err(|source| {
        CmdError::Output {
            target: args.output.clone(),
            source,
        }
    })?;
    if !reporter::get().quiet() {
        eprintln!(
            "{}: {} build{} in {} section{}, {} KB",
            args.output,
            model.builds,
            if model.builds == 1 { "" } else { "s" },
            model.sections.len(),
            if model.sections.len() == 1 { "" } else { "s" },
            html.len().div_ceil(1024)
        );
    }
    Ok(Verdict::default())
}

/// `--since`: a date or an RFC 3339 time → the history's sort key form.
fn since(s: &str) -> Result<String, CmdError> {
    let t = if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        d.and_hms_opt(0, 0, 0).map(|t| t.and_utc())
    } else {
        chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc))
    };
    t.map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        .ok_or_else(|| {
            CmdError::Usage(format!(
                "--since `{s}`: not a date (2024-01-31) or an RFC 3339 time (2024-01-31T12:00:00Z)"
            ))
        })
}

/// Now, or `SOURCE_DATE_EPOCH` (reproducible pages, and tests).
fn written_at() -> String {
    let fixed = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0));
    fixed
        .unwrap_or_else(chrono::Utc::now)
        .format("%Y-%m-%d %H:%M UTC")
        .to_string()
}

/// The page appears whole or not at all.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report.html".into());
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_date_or_a_time_and_names_what_is_wrong() {
        assert_eq!(since("2024-01-31").unwrap(), "2024-01-31T00:00:00.000000Z");
        assert_eq!(
            since("2024-01-31T14:00:00+02:00").unwrap(),
            "2024-01-31T12:00:00.000000Z"
        );
        let e = since("last week").unwrap_err().to_string();
        assert!(e.contains("--since `last week`"), "{e}");
    }
}
