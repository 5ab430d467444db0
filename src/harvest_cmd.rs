//! `kcidb-harvest [OPTIONS] DIR...`: discover → harvest (in parallel) →
//! print → validate → deliver or print the document → summary.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use crate::batch;
use crate::cli::{Format, HarvestArgs};
use crate::commands::{self, DirResult};
use crate::deliver::{DeliverOptions, Deliverer, Outcome, OutcomeKind, PreparePlan};
use crate::discover::{self, DiscoverOptions};
use crate::document::DocWriter;
use crate::exit_code;
use crate::kcidb;
use crate::output;
use crate::settings;
use crate::summary::{Failure, Summary};

/// Set by the Ctrl-C handler.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn install_interrupt_handler() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    let _ = ctrlc::set_handler(move || {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            // second Ctrl-C: leave now
            std::process::exit(exit_code::INTERRUPTED);
        }
        f.store(true, Ordering::SeqCst);
        // Retry loops give up at their next wait; what is left is spooled.
        crate::submit::request_stop();
        output::stderr_line(
            "kcidb-harvest: interrupted: finishing what is in flight (Ctrl-C again to quit now)",
        );
    });
    flag
}

/// Entry point of the harvest command.
pub fn run(args: &HarvestArgs) -> i32 {
    let started = Instant::now();
    if args.delivery.show_config {
        return match settings::resolve(&args.delivery) {
            Ok(s) => {
                output::stdout(&s.show());
                exit_code::OK
            }
            Err(e) => {
                output::error(&e.to_string());
                exit_code::USAGE
            }
        };
    }
    let several = args.recursive || args.dirs.len() > 1;
    let opts = match commands::harvest_options(
        args.origin.as_deref(),
        &args.overrides,
        several,
        args.assume_finished,
    ) {
        Ok(o) => o,
        Err(e) => {
            output::error(&e);
            return exit_code::USAGE;
        }
    };
    let mut summary = Summary::default();

    // ---- discover ----
    let dirs: Vec<PathBuf> = if args.recursive {
        match discover::discover(
            &args.dirs,
            &DiscoverOptions {
                max_depth: args.max_depth,
                exclude: args.exclude.clone(),
            },
        ) {
            Ok(d) => {
                for (p, why) in d.skipped {
                    if why != "excluded" {
                        output::warning(&format!("`{}`: skipped: {why}", p.display()));
                    }
                    summary.skipped_paths.push(Failure {
                        dir: p,
                        reason: why,
                    });
                }
                d.dirs
            }
            Err(e) => {
                output::error(&e);
                return exit_code::USAGE;
            }
        }
    } else {
        args.dirs.clone()
    };
    summary.directories = dirs.len();

    let stop = install_interrupt_handler();
    let jobs = args.jobs.unwrap_or_else(batch::default_jobs);
    let show_bar = !args.quiet
        && args.format == Format::Human
        && std::io::stderr().is_terminal()
        && dirs.len() > 1;
    let bar = if show_bar {
        let pb = ProgressBar::new(dirs.len() as u64);
        pb.set_style(
            ProgressStyle::with_template(
                "{bar:30} {pos}/{len} dirs  {per_sec}  ETA {eta}  {wide_msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(pb)
    } else {
        None
    };
    let say = |line: &dyn Fn()| match &bar {
        Some(pb) => pb.suspend(line),
        None => line(),
    };

    // ---- the deliverer (streaming: one submission buffered at most) ----
    let mut deliverer = if args.dry_run {
        None
    } else {
        let settings = match settings::resolve(&args.delivery) {
            Ok(s) => s,
            Err(e) => {
                output::error(&e.to_string());
                return exit_code::USAGE;
            }
        };
        match Deliverer::new(
            &settings,
            DeliverOptions {
                force: args.force,
                allow_unknown_commit: args.allow_unknown_commit,
                origin: opts.origin.clone(),
            },
        ) {
            Ok(d) => Some(d),
            Err(e) => {
                output::error(&e.to_string());
                return exit_code::USAGE;
            }
        }
    };
    let plan: PreparePlan = deliverer
        .as_ref()
        .map(|d| d.prepare_plan())
        .unwrap_or_default();
    let prepare = |r: &mut DirResult| {
        if let DirResult::Harvested(h, _) = r {
            plan.prepare(h);
        }
    };

    // ---- harvest, print, deliver, in input order ----
    let output_name = args
        .output
        .as_deref()
        .unwrap_or(std::path::Path::new("-"))
        .display()
        .to_string();
    // --dry-run prints the document; -o also writes it (without --dry-run:
    // the reports as harvested and validated, before log URLs are added)
    let mut doc = if args.dry_run || args.output.is_some() {
        match DocWriter::new(args.output.as_deref(), args.dry_run) {
            Ok(d) => Some(d),
            Err(e) => {
                output::error(&format!("cannot write `{output_name}`: {e}"));
                return exit_code::USAGE;
            }
        }
    } else {
        None
    };
    let mut write_error: Option<String> = None;
    let mut invalid = 0usize;
    let mut code = exit_code::OK;
    batch::run(&dirs, &opts, jobs, &stop, &prepare, |_, r| {
        if let Some(pb) = &bar {
            pb.inc(1);
            if let DirResult::Harvested(h, _) = &r {
                pb.set_message(h.dir.display().to_string());
            }
        }
        match &r {
            DirResult::Harvested(h, _) => {
                let b = &h.report.builds[0];
                let st = b.status.map(|s| s.as_str()).unwrap_or("unknown");
                *summary.by_status.entry(st.to_string()).or_default() += 1;
                *summary.by_layout.entry(h.layout.to_string()).or_default() += 1;
            }
            DirResult::InProgress(..) => summary.in_progress += 1,
            DirResult::Failed(d, e) => summary.failed.push(Failure {
                dir: d.clone(),
                reason: e.clone(),
            }),
        }
        if !args.quiet || matches!(r, DirResult::Failed(..)) {
            say(&|| commands::print_dir(args.format, &r, None));
        }
        let DirResult::Harvested(h, _) = r else {
            return;
        };
        match deliverer.as_mut() {
            None => {
                // --dry-run: each directory's report is validated, then written
                let validated = match kcidb::validate_report(h.report.clone()) {
                    Ok(v) => v,
                    Err(v) => {
                        invalid += 1;
                        for v in v {
                            say(&|| {
                                output::error(&format!(
                                    "`{}`: report fails KCIDB v5.3 validation: {v}",
                                    h.dir.display()
                                ))
                            });
                        }
                        return;
                    }
                };
                summary.count_outcome("printed");
                if let Some(d) = doc.as_mut() {
                    if let Err(e) = d.push(&validated) {
                        write_error.get_or_insert(e.to_string());
                    }
                }
            }
            Some(_) if stop.load(Ordering::SeqCst) => {
                // interrupted: deliver nothing new; the next run takes it
                summary.count_outcome("not_sent_interrupted");
            }
            Some(d) => {
                if let (Some(w), Ok(v)) = (doc.as_mut(), kcidb::validate_report(h.report.clone())) {
                    if let Err(e) = w.push(&v) {
                        write_error.get_or_insert(e.to_string());
                    }
                }
                let outcomes = d.push(*h);
                for o in &outcomes {
                    code = worse(code, report_outcome(args, o, &mut summary, &bar));
                }
            }
        }
    });
    if let Some(d) = deliverer.take() {
        for o in &d.finish() {
            code = worse(code, report_outcome(args, o, &mut summary, &bar));
        }
    }
    if let Some(pb) = &bar {
        pb.finish_and_clear();
    }
    summary.interrupted = stop.load(Ordering::SeqCst);

    if let Some(d) = doc {
        if let Err(e) = d.finish() {
            write_error.get_or_insert(e.to_string());
        }
    }
    if let Some(e) = write_error {
        output::error(&format!("cannot write `{output_name}`: {e}"));
        code = worse(code, exit_code::USAGE);
    }
    if invalid > 0 {
        code = worse(code, exit_code::INVALID);
    }
    if !summary.failed.is_empty() {
        code = worse(code, exit_code::SOME_FAILED);
    }
    if summary.interrupted {
        code = exit_code::INTERRUPTED;
    }
    summary.elapsed_seconds = started.elapsed().as_secs_f64();
    match args.format {
        Format::Json => output::stderr_line(&summary.json().to_string()),
        Format::Human if !args.quiet && (dirs.len() > 1 || args.recursive) => {
            output::stderr_line(&summary.human())
        }
        Format::Human => {}
    }
    code
}

/// The more serious of two exit codes (spooled after failure > invalid >
/// some failed > ok).
fn worse(code: i32, new: i32) -> i32 {
    let rank = |c: i32| match c {
        exit_code::USAGE => 4,
        exit_code::SPOOLED => 3,
        exit_code::INVALID => 2,
        exit_code::SOME_FAILED => 1,
        _ => 0,
    };
    if rank(new) > rank(code) {
        new
    } else {
        code
    }
}

/// Print one delivery outcome, count it, and give its exit code.
fn report_outcome(
    args: &HarvestArgs,
    o: &Outcome,
    summary: &mut Summary,
    bar: &Option<ProgressBar>,
) -> i32 {
    let (what, c) = match &o.kind {
        OutcomeKind::Delivered { .. } => ("delivered", exit_code::OK),
        OutcomeKind::Spooled { failed: false, .. } => ("spooled", exit_code::OK),
        OutcomeKind::Spooled { failed: true, .. } => ("spooled", exit_code::SPOOLED),
        OutcomeKind::AlreadyDelivered { .. } => ("already_delivered", exit_code::OK),
        OutcomeKind::Refused { .. } => ("refused", exit_code::SOME_FAILED),
        OutcomeKind::Invalid { .. } => ("invalid", exit_code::INVALID),
        OutcomeKind::Failed { .. } => ("failed", exit_code::SOME_FAILED),
    };
    summary.count_outcome(what);
    if matches!(
        o.kind,
        OutcomeKind::Refused { .. } | OutcomeKind::Failed { .. }
    ) {
        summary.failed.push(Failure {
            dir: o.dir.clone(),
            reason: o.kind.to_string(),
        });
    }
    let text = match args.format {
        Format::Json => {
            let mut v = serde_json::json!({
                "type": "delivery",
                "dir": o.dir.display().to_string(),
                "build_id": o.build_id,
                "delivery": what,
                "detail": o.kind.to_string(),
            });
            match &o.kind {
                OutcomeKind::Delivered { submission_id }
                | OutcomeKind::AlreadyDelivered { submission_id } => {
                    v["submission_id"] = submission_id.clone().into();
                }
                OutcomeKind::Spooled { file, .. } => {
                    v["spool_file"] = file.display().to_string().into();
                }
                _ => {}
            }
            if let Some(st) = &o.ingest {
                v["ingest"] = st.as_str().into();
            }
            Some(v.to_string())
        }
        Format::Human if !args.quiet || c != exit_code::OK => {
            let mut line = format!("{}: {} {}", o.dir.display(), o.build_id, o.kind);
            if let Some(st) = &o.ingest {
                line.push_str(&format!("; ingest: {st}"));
            }
            Some(line)
        }
        Format::Human => None,
    };
    if let Some(t) = text {
        match bar {
            Some(pb) => pb.suspend(|| output::stderr_line(&t)),
            None => output::stderr_line(&t),
        }
    }
    c
}
