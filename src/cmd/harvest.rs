//! `kcidb-harvest [OPTIONS] DIR...`: the pipeline over every directory
//! named (or found with `-r`), in input order:
//! discover → harvest (parallel: detect, collect, report, compress) →
//! print → URLs → validate → `-o`/`--dry-run` document → deliver → summary.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::CmdError;
use crate::cli::HarvestArgs;
use crate::deliver::{DeliverOptions, Deliverer, Outcome, OutcomeKind, PreparePlan};
use crate::discover::{self, DiscoverOptions};
use crate::document::DocWriter;
use crate::exit_code::{self, Verdict};
use crate::history::{self, History};
use crate::pipeline::{self, batch, Candidate, DirOutcome, DirYield};
use crate::reporter::{self, DeliveryLine, DirectoryLine, Line, Reporter};
use crate::settings;
use crate::summary::{Failure, Summary};
use std::collections::{HashMap, HashSet};

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
        reporter::get().warning(
            None,
            "interrupted: finishing what is in flight (Ctrl-C again to quit now)",
        );
    });
    flag
}

/// Entry point of the harvest command.
pub fn run(args: &HarvestArgs) -> Result<Verdict, CmdError> {
    let started = std::time::Instant::now();
    let r = reporter::get();
    if args.delivery.show_config {
        super::print(&settings::resolve(&args.delivery)?.show())?;
        return Ok(Verdict::default());
    }
    let several = args.recursive || args.dirs.len() > 1;
    let mut opts = super::harvest_options(
        args.origin.as_deref(),
        &args.overrides,
        several,
        args.assume_finished,
    )
    .map_err(CmdError::Usage)?;
    opts.issues = args.issues;
    let mut summary = Summary::default();
    let mut history = open_history(args)?;

    // ---- discover ----
    let candidates = if args.recursive {
        let found = discover::discover(
            &args.dirs,
            &DiscoverOptions {
                max_depth: args.max_depth,
                exclude: args.exclude.clone(),
            },
        )
        .map_err(CmdError::Usage)?;
        for (p, why) in found.skipped {
            if why != "excluded" {
                r.warning(Some(&p), &format!("skipped: {why}"));
            }
            summary.skipped_paths.push(Failure {
                dir: p,
                reason: why,
            });
        }
        found.candidates
    } else {
        args.dirs.iter().cloned().map(Candidate::named).collect()
    };
    summary.directories = candidates.len();
    let many = candidates.len() > 1 || args.recursive;

    // ---- the deliverer (streaming: one submission buffered at most) ----
    let mut deliverer = if args.dry_run {
        None
    } else {
        let settings = settings::resolve(&args.delivery)?;
        let d = Deliverer::new(
            &settings,
            DeliverOptions {
                force: args.force,
                allow_unknown_commit: args.allow_unknown_commit,
                origin: opts.origin.clone(),
            },
        )?;
        Some(d)
    };
    let url_base = deliverer.as_ref().and_then(|d| d.url_base());
    let plan: PreparePlan = deliverer
        .as_ref()
        .map(|d| d.prepare_plan())
        .unwrap_or_default();
    let prepare = |o: &mut DirOutcome| {
        if let DirOutcome::Yielded(y) = o {
            plan.prepare(y);
        }
    };

    // --dry-run prints the document; -o also writes it (the reports as
    // validated, with the URLs they are delivered with)
    let output_name = args
        .output
        .as_deref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "standard output".into());
    let mut doc = if args.dry_run || args.output.is_some() {
        Some(
            DocWriter::new(args.output.as_deref(), args.dry_run).map_err(|source| {
                CmdError::Output {
                    target: output_name.clone(),
                    source,
                }
            })?,
        )
    } else {
        None
    };

    let stop = install_interrupt_handler();
    let jobs = args.jobs.unwrap_or_else(batch::default_jobs);
    if !r.quiet() && !r.is_json() && std::io::stderr().is_terminal() && candidates.len() > 1 {
        r.start_bar(candidates.len() as u64);
    }

    // ---- harvest, print, validate, deliver, in input order ----
    let mut verdict = Verdict::default();
    let mut write_error: Option<std::io::Error> = None;
    batch::run(
        candidates,
        &opts,
        jobs,
        &stop,
        &prepare,
        |_, mut outcome| {
            r.step(&outcome.dir().display().to_string());
            // ---- what is new since each build's previous build ----
            if let (Some(h), DirOutcome::Yielded(y)) = (history.as_ref(), &mut outcome) {
                match h.changes(&history::records_of(y)) {
                    Ok(c) => y.changes = c,
                    Err(e) => r.warning(Some(&y.dir), &e.to_string()),
                }
            }
            count(&mut summary, &outcome);
            print_dir(r, &outcome);
            let DirOutcome::Yielded(y) = outcome else {
                return;
            };
            for w in &y.warnings {
                r.warning(Some(&y.dir), w);
            }
            // ---- artifacts' URLs, then validate, once ----
            let (y, validated) = match pipeline::validate(*y, &opts.origin, url_base.as_deref()) {
                Ok(v) => v,
                Err((dir, violations)) => {
                    verdict.invalid = true;
                    for v in &violations {
                        r.error(
                            Some(&dir),
                            &format!("report fails KCIDB v5.3 validation: {v}"),
                        );
                    }
                    summary.count_outcome("invalid");
                    return;
                }
            };
            summary.count_objects(validated.report());
            if let Some(d) = doc.as_mut() {
                if let Err(e) = d.push(&validated) {
                    write_error.get_or_insert(e);
                }
            }
            match deliverer.as_mut() {
                None => summary.count_outcome("printed"),
                Some(_) if stop.load(Ordering::SeqCst) => {
                    // interrupted: deliver nothing new; the next run takes it
                    summary.count_outcome("not_sent_interrupted");
                }
                Some(d) => {
                    if let Some(h) = history.as_mut() {
                        h.stage(history::records_of(&y));
                    }
                    let outcomes = d.push(y, validated);
                    settle(history.as_mut(), &outcomes, r);
                    for o in outcomes {
                        verdict = verdict.and(report_outcome(r, &o, &mut summary));
                    }
                }
            }
        },
    );
    if let Some(d) = deliverer.take() {
        let outcomes = d.finish();
        settle(history.as_mut(), &outcomes, r);
        for o in outcomes {
            verdict = verdict.and(report_outcome(r, &o, &mut summary));
        }
    }
    r.finish_bar();
    summary.interrupted = stop.load(Ordering::SeqCst);

    if let Some(d) = doc {
        if let Err(e) = d.finish() {
            write_error.get_or_insert(e);
        }
    }
    if let Some(source) = write_error {
        r.error(
            None,
            &CmdError::Output {
                target: output_name,
                source,
            }
            .to_string(),
        );
        verdict.usage = true;
    }
    verdict.some_failed |= !summary.failed.is_empty();
    verdict.interrupted = summary.interrupted;
    summary.elapsed_seconds = started.elapsed().as_secs_f64();
    if r.is_json() || many {
        r.emit(&Line::Summary(Box::new(summary)));
    } else {
        for h in &summary.hints {
            r.emit(&Line::Hint { message: h.clone() });
        }
    }
    Ok(verdict)
}

/// The history, unless `--no-history`: read and written by a delivering
/// harvest (a file that cannot be opened stops it before any work: say
/// `--no-history` to go on without), only read by `--dry-run` (and only
/// when it exists; a problem is a warning).
fn open_history(args: &HarvestArgs) -> Result<Option<History>, CmdError> {
    let Some(path) = args.history.path() else {
        return Ok(None);
    };
    if args.dry_run {
        return Ok(History::open_read_only(&path).unwrap_or_else(|e| {
            reporter::get().warning(None, &format!("{e}; going on without it"));
            None
        }));
    }
    History::open(&path)
        .map(Some)
        .map_err(|e| CmdError::Usage(format!("{e} (--no-history harvests without one)")))
}

/// Delivery outcomes are known: the staged history records of what was
/// spooled or delivered are committed (one transaction), the others
/// dropped. A history that cannot be written is a warning: the reports
/// themselves are safe in the spool or delivered.
fn settle(history: Option<&mut History>, outcomes: &[Outcome], r: &Reporter) {
    let Some(h) = history else { return };
    if outcomes.is_empty() {
        return;
    }
    let mut kept = HashMap::new();
    let mut dropped = HashSet::new();
    for o in outcomes {
        let dir = o.dir.display().to_string();
        match o.kind {
            OutcomeKind::Delivered { .. } | OutcomeKind::AlreadyDelivered { .. } => {
                kept.insert(dir, "delivered");
            }
            OutcomeKind::Spooled { .. } => {
                kept.insert(dir, "spooled");
            }
            _ => {
                dropped.insert(dir);
            }
        }
    }
    if let Err(e) = h.settle(&kept, &dropped) {
        r.warning(None, &e.to_string());
    }
}

/// Count one directory in the summary.
fn count(summary: &mut Summary, o: &DirOutcome) {
    match o {
        DirOutcome::Yielded(y) => {
            *summary
                .by_status
                .entry(y.status.as_str().to_string())
                .or_default() += 1;
            *summary
                .by_layout
                .entry(y.layout.id.to_string())
                .or_default() += 1;
        }
        DirOutcome::InProgress { .. } => summary.in_progress += 1,
        DirOutcome::Failed { dir, error } => summary.failed.push(Failure {
            dir: dir.clone(),
            reason: error.to_string(),
        }),
    }
}

/// The `directory` line of one outcome.
pub fn directory_line(o: &DirOutcome) -> DirectoryLine {
    match o {
        DirOutcome::Yielded(y) => yielded_line(y),
        DirOutcome::InProgress { dir, reason } => DirectoryLine {
            dir: dir.display().to_string(),
            outcome: "in_progress",
            reason: Some(reason.clone()),
            ..DirectoryLine::default()
        },
        DirOutcome::Failed { dir, error } => DirectoryLine {
            dir: dir.display().to_string(),
            outcome: "failed",
            error: Some(error.to_string()),
            ..DirectoryLine::default()
        },
    }
}

fn yielded_line(y: &DirYield) -> DirectoryLine {
    DirectoryLine {
        dir: y.dir.display().to_string(),
        outcome: "harvested",
        layout: Some(y.layout.id),
        status: Some(y.status.as_str()),
        status_reason: Some(y.status_reason.clone()),
        checkout_id: Some(y.checkout_id().to_string()),
        build_id: Some(y.build_id().to_string()),
        summary: Some(y.line.clone()),
        warnings: y.misc_count("warnings"),
        errors: y.misc_count("errors"),
        warnings_raw: y.misc_count("warnings_raw"),
        errors_raw: y.misc_count("errors_raw"),
        results: y
            .results
            .iter()
            .map(|r| crate::report::ktest::ResultLine {
                changes: y.changes.iter().find(|c| c.build_id == r.id).cloned(),
                ..r.clone()
            })
            .collect(),
        changes: y
            .results
            .is_empty()
            .then(|| {
                y.changes
                    .iter()
                    .find(|c| c.build_id == y.build_id())
                    .cloned()
            })
            .flatten(),
        ..DirectoryLine::default()
    }
}

fn print_dir(r: &Reporter, o: &DirOutcome) {
    r.emit(&Line::Directory(Box::new(directory_line(o))));
}

/// Print one delivery outcome, count it, and say what it means for the
/// exit code.
fn report_outcome(r: &Reporter, o: &Outcome, summary: &mut Summary) -> Verdict {
    let mut v = Verdict::default();
    let what = match &o.kind {
        OutcomeKind::Delivered { .. } => "delivered",
        OutcomeKind::Spooled { failed, .. } => {
            v.spooled_after_failure = *failed;
            "spooled"
        }
        OutcomeKind::AlreadyDelivered { .. } => "already_delivered",
        OutcomeKind::Refused { .. } => "refused",
        OutcomeKind::Invalid { .. } => {
            v.invalid = true;
            "invalid"
        }
        OutcomeKind::Failed { .. } => "failed",
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
    if let Some(h) = o.kind.hint() {
        summary.hints.insert(h);
    }
    let mut line = DeliveryLine {
        dir: o.dir.display().to_string(),
        build_id: o.build_id.clone(),
        delivery: what,
        detail: o.kind.to_string(),
        ingest: o.ingest.as_ref().map(|s| s.as_str().to_string()),
        ..DeliveryLine::default()
    };
    match &o.kind {
        OutcomeKind::Delivered { submission_id }
        | OutcomeKind::AlreadyDelivered { submission_id } => {
            line.submission_id = Some(submission_id.clone());
        }
        OutcomeKind::Spooled { file, .. } => {
            line.spool_file = Some(file.display().to_string());
        }
        _ => {}
    }
    r.emit(&Line::Delivery(line));
    v
}
