//! The subcommands: each takes parsed arguments and returns an exit code.

use std::path::PathBuf;

use std::time::SystemTime;

use clap::CommandFactory;
use serde_json::json;

use crate::cli::{Cli, ExplainArgs, Format, Overrides};
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

/// The options of a harvest from the command line: origin and overrides
/// checked (a usage error comes back as its message).
pub fn harvest_options(
    origin: Option<&str>,
    overrides: &Overrides,
    several: bool,
    assume_finished: bool,
) -> Result<HarvestOptions, String> {
    Ok(HarvestOptions {
        origin: check_origin(origin)?,
        overrides: check_overrides(overrides, several)?,
        assume_finished,
        now: SystemTime::now(),
    })
}

/// Check and normalise the override flags once, before any work: a bad
/// value is a usage error (exit 2), never silently ignored. Overrides that
/// name one build (ids, commit, queue, times, command) are refused when
/// several directories are harvested: every build would get them.
pub fn check_overrides(ov: &Overrides, several: bool) -> Result<Overrides, String> {
    let mut ov = ov.clone();
    if several {
        let single: [(&str, bool); 8] = [
            ("--build-id", ov.build_id.is_some()),
            ("--checkout-id", ov.checkout_id.is_some()),
            ("--build-run-id", ov.build_run_id.is_some()),
            ("--git-commit-hash", ov.git_commit_hash.is_some()),
            ("--patchset-hash", ov.patchset_hash.is_some()),
            ("--build-start-time", ov.build_start_time.is_some()),
            ("--duration", ov.duration.is_some()),
            ("--command", ov.command.is_some()),
        ];
        if let Some((flag, _)) = single.iter().find(|(_, set)| *set) {
            return Err(format!(
                "{flag} describes one build: give exactly one DIR (and no -r) with it"
            ));
        }
    }
    if let Some(c) = &ov.git_commit_hash {
        let c = c.trim().to_ascii_lowercase();
        if c.len() != 40 || !c.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "--git-commit-hash `{c}`: 40 hexadecimal digits expected"
            ));
        }
        if c.bytes().all(|b| b == b'0') {
            return Err("--git-commit-hash: a hash of all zeros is not a commit".into());
        }
        ov.git_commit_hash = Some(c);
    }
    if let Some(p) = &ov.patchset_hash {
        let p = p.trim().to_ascii_lowercase();
        if !p.is_empty() && (p.len() != 64 || !p.bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err(format!(
                "--patchset-hash `{p}`: 64 hexadecimal digits or \"\" expected"
            ));
        }
        ov.patchset_hash = Some(p);
    }
    if let Some(t) = &ov.build_start_time {
        ov.build_start_time = Some(crate::merge::normalise_time(t).ok_or_else(|| {
            format!("--build-start-time `{t}`: RFC 3339 with an offset (2026-11-28T23:34:01Z) or epoch seconds expected")
        })?);
    }
    if let Some(s) = &ov.status {
        s.parse::<crate::kcidb::Status>()?;
    }
    if let Some(a) = &ov.arch {
        if !a
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(format!(
                "--arch `{a}`: KCIDB architectures are [a-z0-9_] (x86_64, arm64, i386…)"
            ));
        }
    }
    if let Some(u) = &ov.git_repo_url {
        if !u.starts_with("https://") {
            return Err(format!(
                "--git-repo-url `{u}`: KCIDB accepts only https:// repository URLs"
            ));
        }
    }
    for (flag, id) in [
        ("--checkout-id", &ov.checkout_id),
        ("--build-id", &ov.build_id),
    ] {
        if let Some(id) = id {
            let ok = id.split_once(':').is_some_and(|(o, _)| {
                !o.is_empty()
                    && o.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            }) && !id.contains('\0');
            if !ok {
                return Err(format!(
                    "{flag} `{id}`: <origin>:<anything> expected (e.g. gregkh:my-build)"
                ));
            }
        }
    }
    if let Some(d) = ov.duration {
        if !d.is_finite() || d < 0.0 {
            return Err(format!("--duration {d}: a number of seconds expected"));
        }
    }
    Ok(ov)
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
                output::shown(&h.dir),
                output::escape(&h.line),
                h.build_id()
            ));
        }
        (Format::Human, DirResult::InProgress(d, why)) => output::stderr_line(&format!(
            "{}: in progress, not submitted: {}",
            output::shown(d),
            output::escape(why)
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
    let opts = match harvest_options(Some(&args.origin), &args.overrides, false, true) {
        Ok(o) => o,
        Err(e) => {
            output::error(&e);
            return exit_code::USAGE;
        }
    };
    // what a harvest would do with it now
    let live = HarvestOptions {
        assume_finished: false,
        ..opts.clone()
    };
    let mut preface = String::new();
    if let Ok(Outcome::InProgress { reason, .. }) = harvest::harvest_dir(&args.dir, &live) {
        preface = format!(
            "in progress: {}\n(a harvest would not submit it now; the fields below are as if it had finished)\n\n",
            output::escape(&reason)
        );
    }
    let (h, m) = match harvest::harvest_dir(&args.dir, &opts) {
        Ok(Outcome::Harvested(h, m)) => (h, m),
        Ok(Outcome::InProgress { dir, reason }) => {
            // not reached: explain harvests with assume_finished
            output::stderr_line(&format!(
                "{}: in progress: {}",
                output::shown(&dir),
                output::escape(&reason)
            ));
            return exit_code::OK;
        }
        Err(e) => {
            output::error(&e.to_string());
            return match e {
                harvest::HarvestError::NotFound(_) | harvest::HarvestError::NotDir(_) => {
                    exit_code::USAGE
                }
                _ => exit_code::SOME_FAILED,
            };
        }
    };
    if args.json {
        let v = json!({
            "dir": h.dir.display().to_string(),
            "layout": h.layout,
            "status_reason": m.status_reason,
            "warnings": h.warnings,
            "fields": m.sources,
            "report": h.report,
        });
        output::stdout(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"));
        return exit_code::OK;
    }
    let mut s = preface;
    s.push_str(&format!(
        "{}: layout {}\n{}\nstatus: {} ({})\n\n",
        output::shown(&h.dir),
        h.layout,
        output::escape(&h.line),
        m.status.as_str(),
        output::escape(&m.status_reason)
    ));
    if !h.warnings.is_empty() {
        s.push_str("warnings:\n");
        for w in &h.warnings {
            s.push_str(&format!("  {}\n", output::escape(w)));
        }
        s.push('\n');
    }
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
            "",
            output::escape(&f.source)
        ));
        for d in &f.disagreements {
            s.push_str(&format!("{:<width$}    but {}\n", "", output::escape(d)));
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
