//! `kcidb-harvest [OPTIONS] DIR...`: discover → harvest (in parallel) →
//! print → validate → deliver or print the document → summary.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use indicatif::{ProgressBar, ProgressStyle};

use crate::batch;
use crate::cli::{Format, HarvestArgs};
use crate::commands::{self, DirResult};
use crate::discover::{self, DiscoverOptions};
use crate::exit_code;
use crate::harvest::{HarvestOptions, Harvested};
use crate::kcidb;
use crate::output;
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
        output::stderr_line(
            "kcidb-harvest: interrupted: finishing what is in flight (Ctrl-C again to quit now)",
        );
    });
    flag
}

/// Entry point of the harvest command.
pub fn run(args: &HarvestArgs) -> i32 {
    let started = Instant::now();
    let origin = match commands::check_origin(args.origin.as_deref()) {
        Ok(o) => o,
        Err(e) => {
            output::error(&e);
            return exit_code::USAGE;
        }
    };
    if let Some(s) = &args.overrides.status {
        if let Err(e) = s.parse::<kcidb::Status>() {
            output::error(&e);
            return exit_code::USAGE;
        }
    }
    let opts = HarvestOptions {
        origin,
        overrides: args.overrides.clone(),
        assume_finished: args.assume_finished,
        now: SystemTime::now(),
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

    // ---- harvest ----
    let mut harvested: Vec<Harvested> = Vec::new();
    let mut invalid = 0usize;
    batch::run(&dirs, &opts, jobs, &stop, |_, r| {
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
        if let DirResult::Harvested(h, _) = r {
            if args.dry_run {
                // each directory's report must validate on its own too
                if let Err(v) = kcidb::validate_report(h.report.clone()) {
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
                summary.count_outcome("printed");
                harvested.push(*h);
            } else {
                harvested.push(*h);
            }
        }
    });
    if let Some(pb) = &bar {
        pb.finish_and_clear();
    }
    summary.interrupted = stop.load(Ordering::SeqCst);

    let mut code = if args.dry_run {
        print_document(args, &harvested)
    } else {
        deliver(args, &opts, harvested, &mut summary)
    };
    if invalid > 0 && code == exit_code::OK {
        code = exit_code::INVALID;
    }
    if code == exit_code::OK && !summary.failed.is_empty() {
        code = exit_code::SOME_FAILED;
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

fn print_document(args: &HarvestArgs, harvested: &[Harvested]) -> i32 {
    let items: Vec<&Harvested> = harvested.iter().collect();
    let report = commands::combine(&items);
    let validated = match kcidb::validate_report(report) {
        Ok(v) => v,
        Err(violations) => {
            for v in &violations {
                output::error(&format!("report fails KCIDB v5.3 validation: {v}"));
            }
            return exit_code::INVALID;
        }
    };
    if let Some(path) = &args.output {
        if let Err(e) = std::fs::write(path, validated.json()) {
            output::error(&format!("cannot write `{}`: {e}", path.display()));
            return exit_code::USAGE;
        }
    }
    output::stdout(validated.json());
    exit_code::OK
}

fn deliver(
    _args: &HarvestArgs,
    _opts: &HarvestOptions,
    _items: Vec<Harvested>,
    _summary: &mut Summary,
) -> i32 {
    output::error("delivery is not available in this build; use --dry-run");
    exit_code::USAGE
}
