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
use crate::pipeline::{self, batch, Candidate, DirOutcome, DirYield};
use crate::reporter::{self, DeliveryLine, DirectoryLine, Line, Reporter};
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
    let opts = super::harvest_options(
        args.origin.as_deref(),
        &args.overrides,
        several,
        args.assume_finished,
    )
    .map_err(CmdError::Usage)?;
    let mut summary = Summary::default();

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
    batch::run(candidates, &opts, jobs, &stop, &prepare, |_, outcome| {
        r.step(&outcome.dir().display().to_string());
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
                for o in d.push(y, validated) {
                    verdict = verdict.and(report_outcome(r, &o, &mut summary));
                }
            }
        }
    });
    if let Some(d) = deliverer.take() {
        for o in d.finish() {
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
        results: y.results.clone(),
        ..DirectoryLine::default()
    }
}

fn print_dir(r: &Reporter, o: &DirOutcome) {
    r.emit(&Line::Directory(directory_line(o)));
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
