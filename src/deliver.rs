//! Delivery of harvested reports: URLs → validation → uploads → batched
//! submission (or spool) → journal; and `kcidb-harvest send`.
//!
//! [`Deliverer`] takes one [`Harvested`] at a time ([`Deliverer::push`]).
//! It computes the artifact URLs (deterministic, so the journal's content
//! hash can be checked before any upload), validates the report with the
//! URLs in it, skips builds the journal knows, uploads the artifacts, and
//! buffers the report into a submission of at most `--max-objects` builds
//! and `--max-bytes` bytes; a full submission is sent at once, the last one
//! by [`Deliverer::finish`]. Memory is bounded by one submission, whatever
//! the number of directories.
//!
//! Every report ends delivered (and journaled), or in the spool: with no
//! endpoint configured (the default), or when the server refused it or was
//! unreachable for the whole retry budget. Nothing invalid is ever spooled
//! or sent.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::artifacts::{self, Uploader};
use crate::cli::{Format, SendArgs};
use crate::exit_code;
use crate::harvest::Harvested;
use crate::journal::{content_hash, now_rfc3339, Entry, Journal};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::kcidb::validate::stream;
use crate::kcidb::{validate_report, Build, Checkout, Report, Validated, Violation};
use crate::settings::{self, ConfigError, LogUrls, Settings};
use crate::spool::Spool;
use crate::submit::{request_stop, stop_requested, IngestStatus, RestClient, SubmitError};

/// Choices that come from the harvest command line.
#[derive(Clone, Debug, Default)]
pub struct DeliverOptions {
    /// Deliver again what the journal says was delivered.
    pub force: bool,
    /// Deliver checkouts whose base commit is unknown.
    pub allow_unknown_commit: bool,
    /// The KCIDB origin (first part of the storage path).
    pub origin: String,
}

/// Work a batch worker does before delivery: compress the artifacts of
/// builds that will be uploaded (not already delivered, not refused).
#[derive(Clone, Debug, Default)]
pub struct PreparePlan {
    upload: bool,
    /// [`journal::key`]s of the builds already delivered.
    delivered: HashSet<u128>,
    allow_unknown_commit: bool,
}

impl PreparePlan {
    /// Compress `h`'s artifacts now when they will be uploaded. A failure
    /// is left for `push`, which compresses again and reports it.
    pub fn prepare(&self, h: &mut Harvested) {
        if !self.upload
            || !h.compressed.is_empty()
            || (!h.commit_known && !self.allow_unknown_commit)
            || self.delivered.contains(&crate::journal::key(h.build_id()))
        {
            return;
        }
        let mut done = Vec::with_capacity(h.artifacts.len());
        for a in &h.artifacts {
            match artifacts::compress(&a.file, &a.upload_name) {
                Ok(c) => done.push(std::sync::Arc::new(c)),
                Err(_) => return,
            }
        }
        h.compressed = done;
    }
}

/// What became of one directory's report.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub dir: PathBuf,
    pub build_id: String,
    pub kind: OutcomeKind,
    /// The ingester's verdict, with `--wait`.
    pub ingest: Option<IngestStatus>,
}

#[derive(Clone, Debug)]
pub enum OutcomeKind {
    /// The receiver answered 200 with this submission id.
    Delivered { submission_id: String },
    /// Written to the spool. `failed` is false when no endpoint is
    /// configured (the default) and true when delivery failed; `reason`
    /// says why and how to send it later.
    Spooled {
        file: PathBuf,
        reason: String,
        failed: bool,
    },
    /// The journal says it was delivered (use `--force` to send again).
    AlreadyDelivered { submission_id: String },
    /// Not delivered by choice (unknown commit without
    /// `--allow-unknown-commit`).
    Refused { reason: String },
    /// The report failed validation; nothing was sent or spooled.
    Invalid { violations: Vec<Violation> },
    /// Neither sent nor spooled (an artifact could not be uploaded, or the
    /// spool could not be written); the directory is untouched, run again.
    Failed { reason: String },
}

impl fmt::Display for OutcomeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutcomeKind::Delivered { submission_id } => write!(f, "delivered as {submission_id}"),
            OutcomeKind::Spooled { file, reason, .. } => {
                write!(f, "spooled to {} ({reason})", file.display())
            }
            OutcomeKind::AlreadyDelivered { submission_id } => {
                write!(
                    f,
                    "already delivered as {submission_id} (--force to send again)"
                )
            }
            OutcomeKind::Refused { reason } => write!(f, "not delivered: {reason}"),
            OutcomeKind::Invalid { violations } => {
                write!(f, "invalid report:")?;
                for v in violations {
                    write!(f, " {v};")?;
                }
                Ok(())
            }
            OutcomeKind::Failed { reason } => write!(f, "failed: {reason}"),
        }
    }
}

/// One report waiting in the current submission.
struct Item {
    dirs: Vec<PathBuf>,
    build_id: String,
    checkout_id: String,
    report: Report,
    hash: String,
}

/// Delivers harvested reports (see the module docs).
pub struct Deliverer {
    settings: Settings,
    opts: DeliverOptions,
    rest: Option<RestClient>,
    uploader: Option<Uploader>,
    journal: Journal,
    spool: Spool,
    batch: Vec<Item>,
    batch_bytes: usize,
    /// Set once the endpoint failed in a way that will not change during
    /// this run (bad token, server down for the whole retry budget): later
    /// submissions go straight to the spool with this reason.
    broken: Option<String>,
}

impl Deliverer {
    pub fn new(settings: &Settings, opts: DeliverOptions) -> Result<Deliverer, ConfigError> {
        let rest = match &settings.rest {
            Some(ep) => Some(RestClient::new(ep, settings)?),
            None => None,
        };
        let uploader = match (&settings.log_urls, &settings.storage) {
            (LogUrls::Upload, Some(ep)) => Some(Uploader::new(ep, settings)?),
            _ => None,
        };
        let journal = Journal::open(&settings.journal).map_err(|source| ConfigError::Read {
            path: settings.journal.clone(),
            source,
        })?;
        for n in &settings.notes {
            tracing::warn!("{n}");
        }
        Ok(Deliverer {
            settings: settings.clone(),
            opts,
            rest,
            uploader,
            journal,
            spool: Spool::new(&settings.spool),
            batch: Vec::new(),
            batch_bytes: 0,
            broken: None,
        })
    }

    /// What the batch workers may do ahead of [`Deliverer::push`]
    /// (compress artifacts on every core) without touching the network.
    pub fn prepare_plan(&self) -> PreparePlan {
        PreparePlan {
            upload: self.uploader.is_some(),
            delivered: if self.opts.force {
                HashSet::new()
            } else {
                self.journal.keys()
            },
            allow_unknown_commit: self.opts.allow_unknown_commit,
        }
    }

    /// Take one harvested directory. Returns the outcomes known now: this
    /// directory's if it was settled at once (refused, invalid, already
    /// delivered, upload failed), and those of a submission that filled up.
    pub fn push(&mut self, h: Harvested) -> Vec<Outcome> {
        let mut out = Vec::new();
        let dir = h.dir.clone();
        let build_id = h.build_id().to_string();
        let settle = |kind| Outcome {
            dir: dir.clone(),
            build_id: build_id.clone(),
            kind,
            ingest: None,
        };
        if h.report.builds.len() != 1 || h.report.checkouts.len() != 1 {
            out.push(settle(OutcomeKind::Failed {
                reason: format!(
                    "internal error: a harvested report must hold one checkout and one build, not {} and {}",
                    h.report.checkouts.len(),
                    h.report.builds.len()
                ),
            }));
            return out;
        }
        if !h.commit_known && !self.opts.allow_unknown_commit {
            out.push(settle(OutcomeKind::Refused {
                reason: "the checkout is not fully known (base commit, or the patchset_hash of a queue \
                         that was applied): pass --git-commit-hash (and --git-branch) or --patchset-hash, \
                         or --allow-unknown-commit to send it anyway (the dashboard ignores checkouts \
                         without a commit, and the database keeps the first value written)"
                    .into(),
            }));
            return out;
        }

        // URLs first: they are deterministic, so the report can be validated
        // and checked against the journal before anything is uploaded.
        let key_dir = artifacts::storage_dir(&self.opts.origin, h.build_local_id());
        let base = match (&self.settings.log_urls, &self.uploader) {
            (LogUrls::Upload, Some(u)) => Some(u.base()),
            (LogUrls::Base(b), _) => Some(b.clone()),
            _ => None,
        };
        let mut report = h.report;
        if let Some(base) = &base {
            let urls: Vec<String> = h
                .artifacts
                .iter()
                .map(|a| artifacts::public_url(base, &key_dir, &a.upload_name))
                .collect();
            artifacts::fill_urls(&mut report, &h.artifacts, &urls);
        }
        let validated = match validate_report(report) {
            Ok(v) => v,
            Err(violations) => {
                out.push(settle(OutcomeKind::Invalid { violations }));
                return out;
            }
        };
        let checkout_id = validated
            .report()
            .checkouts
            .first()
            .map(|c| c.id.clone())
            .unwrap_or_default();
        let hash = match validated.report().builds.first() {
            Some(b) => content_hash(validated.report().checkouts.first(), b),
            None => String::new(),
        };
        if !self.opts.force {
            if let Some(rec) = self.journal.lookup(&build_id) {
                if rec.sha256 != hash && !rec.sha256.is_empty() {
                    tracing::warn!(
                        "{}: {build_id} was delivered on {} with different content; the database keeps \
                         the first value of each field, so --force could only fill fields still empty there",
                        dir.display(),
                        rec.time
                    );
                }
                out.push(settle(OutcomeKind::AlreadyDelivered {
                    submission_id: rec.submission_id.clone(),
                }));
                return out;
            }
        }
        // Same build twice in this submission (a copy of a directory).
        if let Some(item) = self.batch.iter_mut().find(|i| i.build_id == build_id) {
            if item.hash == hash {
                item.dirs.push(dir);
            } else {
                out.push(settle(OutcomeKind::Failed {
                    reason: format!(
                        "another directory of this run has build id {build_id} with different content \
                         (an id given with --build-id/--build-run-id for several directories?); not sent"
                    ),
                }));
            }
            return out;
        }

        if let Some(up) = &self.uploader {
            for (i, a) in h.artifacts.iter().enumerate() {
                let span = tracing::info_span!("upload", file = %a.file.path().display());
                let _g = span.enter();
                let compressed = match h.compressed.get(i) {
                    Some(c) if h.compressed.len() == h.artifacts.len() => Ok(c.clone()),
                    _ => artifacts::compress(&a.file, &a.upload_name).map(std::sync::Arc::new),
                };
                let result = compressed.and_then(|c| {
                    tracing::debug!(
                        "{} → {} bytes gzip (sha256 {})",
                        a.file.path().display(),
                        c.len,
                        c.sha256_hex()
                    );
                    up.upload(&key_dir, &a.upload_name, &c)
                });
                if let Err(e) = result {
                    // Nothing accepted is lost: spool the report without log
                    // URLs (KCIDB fills still-empty fields later, so a later
                    // submission can add them).
                    let mut bare = validated.report().clone();
                    artifacts::clear_urls(&mut bare);
                    let kind = match validate_report(bare) {
                        Ok(v) => match self.spool.write(&v) {
                            Ok(file) => OutcomeKind::Spooled {
                                file,
                                reason: format!(
                                    "log upload failed ({e}); spooled without log URLs; send it later with \
                                     `kcidb-harvest send {}`",
                                    self.spool.dir().display()
                                ),
                                failed: true,
                            },
                            Err(se) => OutcomeKind::Failed {
                                reason: format!("{e}; and the spool could not be written: {se}"),
                            },
                        },
                        Err(violations) => OutcomeKind::Invalid { violations },
                    };
                    out.push(settle(kind));
                    return out;
                }
            }
        }

        let bytes = validated.json().len();
        if !self.batch.is_empty()
            && (self.batch.len() + 1 > self.settings.max_objects
                || self.batch_bytes + bytes > self.settings.max_bytes)
        {
            out.extend(self.flush());
        }
        self.batch_bytes += bytes;
        self.batch.push(Item {
            dirs: vec![dir],
            build_id,
            checkout_id,
            report: validated.into_report(),
            hash,
        });
        out
    }

    /// Send (or spool) what is still buffered; the remaining outcomes.
    pub fn finish(mut self) -> Vec<Outcome> {
        self.flush()
    }

    fn flush(&mut self) -> Vec<Outcome> {
        let items = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        if items.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let validated = match validate_report(merge(items.iter().map(|i| &i.report))) {
            Ok(v) => v,
            Err(violations) => {
                return outcomes(&items, |_| OutcomeKind::Invalid {
                    violations: violations.clone(),
                })
            }
        };
        let spool_hint = format!(
            "send it later with `kcidb-harvest send {}`",
            self.spool.dir().display()
        );
        let Some(rest) = &self.rest else {
            let reason = format!("no KCIDB REST endpoint configured; {spool_hint}");
            return spool_items(&self.spool, &items, &validated, reason, false);
        };
        if let Some(why) = &self.broken {
            let reason = format!("{why}; {spool_hint}");
            return spool_items(&self.spool, &items, &validated, reason, true);
        }

        // Check, submit and record under the journal lock, so a concurrent
        // run never sends the same build too.
        let mut lock = match self.journal.lock() {
            Ok(l) => l,
            Err(e) => {
                let reason = format!(
                    "cannot write the journal `{}` ({e}), so a delivery could not be recorded; {spool_hint}",
                    self.settings.journal.display()
                );
                return spool_items(&self.spool, &items, &validated, reason, true);
            }
        };
        let (items, validated) = if self.opts.force {
            (items, validated)
        } else {
            let (done, todo): (Vec<Item>, Vec<Item>) =
                items.into_iter().partition(|i| lock.contains(&i.build_id));
            for i in &done {
                let sub = lock
                    .lookup(&i.build_id)
                    .map(|r| r.submission_id.clone())
                    .unwrap_or_default();
                out.extend(outcomes(std::slice::from_ref(i), |_| {
                    OutcomeKind::AlreadyDelivered {
                        submission_id: sub.clone(),
                    }
                }));
            }
            if todo.is_empty() {
                return out;
            }
            if done.is_empty() {
                (todo, validated)
            } else {
                match validate_report(merge(todo.iter().map(|i| &i.report))) {
                    Ok(v) => (todo, v),
                    Err(violations) => {
                        out.extend(outcomes(&todo, |_| OutcomeKind::Invalid {
                            violations: violations.clone(),
                        }));
                        return out;
                    }
                }
            }
        };
        let n = items.len();
        match rest.submit(validated.json()) {
            Ok(id) => {
                tracing::info!(
                    "submitted {n} build(s), {} bytes, as {id}",
                    validated.json().len()
                );
                let time = now_rfc3339();
                let entries: Vec<Entry> = items
                    .iter()
                    .flat_map(|i| {
                        i.dirs.iter().map(|d| Entry {
                            time: time.clone(),
                            build_id: i.build_id.clone(),
                            checkout_id: i.checkout_id.clone(),
                            submission_id: id.clone(),
                            dir: Some(display_abs(d)),
                            spool_file: None,
                            sha256: i.hash.clone(),
                        })
                    })
                    .collect();
                if let Err(e) = lock.append(&entries) {
                    tracing::error!(
                        "delivered as {id} but could not record it in `{}` ({e}): a re-run will send it again",
                        self.settings.journal.display()
                    );
                }
                drop(lock);
                let ingest = if self.settings.wait {
                    let st = rest.wait(&id, self.settings.retry.total);
                    log_ingest(&id, &st);
                    Some(st)
                } else {
                    None
                };
                for o in outcomes(&items, |_| OutcomeKind::Delivered {
                    submission_id: id.clone(),
                }) {
                    out.push(Outcome {
                        ingest: ingest.clone(),
                        ..o
                    });
                }
                out
            }
            Err(e) => {
                drop(lock);
                if e.endpoint_broken() {
                    self.broken = Some(match &e {
                        SubmitError::GaveUp { .. } => {
                            format!("not tried: the KCIDB server was unavailable earlier in this run ({e})")
                        }
                        _ => e.to_string(),
                    });
                }
                let reason = format!("{e}; {spool_hint}");
                out.extend(spool_items(&self.spool, &items, &validated, reason, true));
                out
            }
        }
    }
}

fn spool_items(
    spool: &Spool,
    items: &[Item],
    validated: &Validated,
    reason: String,
    failed: bool,
) -> Vec<Outcome> {
    match spool.write(validated) {
        Ok(file) => outcomes(items, |_| OutcomeKind::Spooled {
            file: file.clone(),
            reason: reason.clone(),
            failed,
        }),
        Err(e) => outcomes(items, |_| {
            OutcomeKind::Failed {
                reason: format!(
                    "{reason}; but the spool `{}` could not be written either ({e}): nothing was saved, run again",
                    spool.dir().display()
                ),
            }
        }),
    }
}

fn outcomes(items: &[Item], kind: impl Fn(&Item) -> OutcomeKind) -> Vec<Outcome> {
    items
        .iter()
        .flat_map(|i| {
            let k = kind(i);
            i.dirs.iter().map(move |d| Outcome {
                dir: d.clone(),
                build_id: i.build_id.clone(),
                kind: k.clone(),
                ingest: None,
            })
        })
        .collect()
}

/// One document from several reports; a checkout shared by several builds
/// is carried once (the first copy; they share a content-derived id).
pub fn merge<'a>(reports: impl IntoIterator<Item = &'a Report>) -> Report {
    let mut out = Report::default();
    let mut seen = HashSet::new();
    for r in reports {
        for c in &r.checkouts {
            if seen.insert(c.id.clone()) {
                out.checkouts.push(c.clone());
            }
        }
        out.builds.extend(r.builds.iter().cloned());
        out.tests.extend(r.tests.iter().cloned());
        out.issues.extend(r.issues.iter().cloned());
        out.incidents.extend(r.incidents.iter().cloned());
    }
    out
}

fn display_abs(p: &Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

fn log_ingest(id: &str, st: &IngestStatus) {
    match st {
        IngestStatus::Processed => tracing::info!("submission {id}: {st}"),
        _ => tracing::warn!("submission {id}: {st}"),
    }
}

// ---------------------------------------------------------------------------
// kcidb-harvest send

/// What happened to one spool file.
enum SendResult {
    Sent {
        id: String,
        /// How many, and their ids with `--format json`.
        builds: (usize, Vec<String>),
        skipped: usize,
        ingest: Option<IngestStatus>,
    },
    AllDelivered {
        builds: usize,
    },
    Gone,
    Invalid(String),
    Failed {
        error: String,
        broken: bool,
    },
}

/// `kcidb-harvest send [SPOOL]`: deliver spooled reports oldest first,
/// removing each only after a 200 (and after recording it in the journal).
pub fn cmd_send(args: &SendArgs) -> i32 {
    let mut delivery = args.delivery.clone();
    if let Some(s) = &args.spool {
        if delivery.spool.as_ref().is_some_and(|d| d != s) {
            eprintln!("kcidb-harvest: error: give the spool once (SPOOL or --spool), not two different ones");
            return exit_code::USAGE;
        }
        delivery.spool = Some(s.clone());
    }
    let settings = match settings::resolve(&delivery) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kcidb-harvest: error: {e}");
            return exit_code::USAGE;
        }
    };
    if delivery.show_config {
        print!("{}", settings.show());
        return exit_code::OK;
    }
    for n in &settings.notes {
        eprintln!("kcidb-harvest: warning: {n}");
    }
    let Some(ep) = &settings.rest else {
        eprintln!(
            "kcidb-harvest: error: no KCIDB REST endpoint configured; set KCIDB_REST=https://TOKEN@db.kernelci.org, \
             or --kcidb-rest-url with --kcidb-token-file, or kcidb_rest_url + kcidb_token in kci-dev.toml"
        );
        return exit_code::USAGE;
    };
    let rest = match RestClient::new(ep, &settings) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kcidb-harvest: error: {e}");
            return exit_code::USAGE;
        }
    };
    let spool = Spool::new(&settings.spool);
    let json = args.format == Format::Json;
    // Ctrl-C: finish the submission in flight (no new retries), keep the
    // rest in the spool; a second Ctrl-C quits at once.
    let _ = ctrlc::set_handler(|| {
        if stop_requested() {
            std::process::exit(exit_code::INTERRUPTED);
        }
        request_stop();
        eprintln!(
            "kcidb-harvest: interrupted: finishing the report in flight (Ctrl-C again to quit now)"
        );
    });
    if !spool.dir().is_dir() {
        // A spool named on the command line must exist (a typo would
        // otherwise look like an empty spool); the default may not.
        if delivery.spool.is_some() {
            eprintln!(
                "kcidb-harvest: error: spool `{}` does not exist (or is not a directory)",
                spool.dir().display()
            );
            return exit_code::USAGE;
        }
        eprintln!(
            "kcidb-harvest: spool `{}` does not exist: nothing to send",
            spool.dir().display()
        );
        return exit_code::OK;
    }
    let _spool_lock = match spool.lock() {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "kcidb-harvest: error: cannot lock the spool `{}`: {e}",
                spool.dir().display()
            );
            return exit_code::SPOOLED;
        }
    };
    let mut journal = match Journal::open(&settings.journal) {
        Ok(j) => j,
        Err(e) => {
            eprintln!(
                "kcidb-harvest: error: cannot read the journal `{}`: {e}",
                settings.journal.display()
            );
            return exit_code::SPOOLED;
        }
    };
    let files = match spool.list() {
        Ok(f) => f,
        Err(e) => {
            eprintln!(
                "kcidb-harvest: error: cannot list the spool `{}`: {e}",
                spool.dir().display()
            );
            return exit_code::SPOOLED;
        }
    };
    let (mut sent, mut already, mut invalid, mut failed) = (0usize, 0usize, 0usize, 0usize);
    let mut stopped = false;
    for file in &files {
        if stop_requested() || stopped {
            break;
        }
        let result = send_one(file, &spool, &mut journal, &rest, &settings, json);
        let name = file.display().to_string();
        match &result {
            SendResult::Sent {
                id,
                builds,
                skipped,
                ingest,
            } => {
                sent += 1;
                if json {
                    let v = serde_json::json!({
                        "file": name, "result": "sent", "submission_id": id,
                        "builds": builds.1, "already_delivered": skipped,
                        "ingest": ingest.as_ref().map(|s| s.as_str()),
                    });
                    eprintln!("{v}");
                } else {
                    let mut line = format!(
                        "{name}: sent as {id} ({} build{}",
                        builds.0,
                        if builds.0 == 1 { "" } else { "s" }
                    );
                    if *skipped > 0 {
                        line.push_str(&format!(", {skipped} already delivered left out"));
                    }
                    line.push(')');
                    if let Some(st) = ingest {
                        line.push_str(&format!("; ingest: {st}"));
                    }
                    eprintln!("{line}");
                }
            }
            SendResult::AllDelivered { builds } => {
                already += 1;
                if json {
                    eprintln!(
                        "{}",
                        serde_json::json!({"file": name, "result": "already_delivered", "builds": builds})
                    );
                } else {
                    eprintln!("{name}: all {builds} builds already delivered (journal); removed");
                }
            }
            SendResult::Gone => {}
            SendResult::Invalid(why) => {
                invalid += 1;
                if json {
                    eprintln!(
                        "{}",
                        serde_json::json!({"file": name, "result": "invalid", "error": why})
                    );
                } else {
                    eprintln!("{name}: not sent, left in the spool: {why}");
                }
            }
            SendResult::Failed { error, broken } => {
                failed += 1;
                if json {
                    eprintln!(
                        "{}",
                        serde_json::json!({"file": name, "result": "failed", "error": error})
                    );
                } else {
                    eprintln!("{name}: not sent, left in the spool: {error}");
                }
                stopped = *broken;
            }
        }
    }
    let remaining = spool.list().map(|l| l.len()).unwrap_or(0);
    if json {
        eprintln!(
            "{}",
            serde_json::json!({"summary": {"sent": sent, "already_delivered": already,
                "invalid": invalid, "failed": failed, "remaining": remaining,
                "spool": spool.dir().display().to_string()}})
        );
    } else if files.is_empty() {
        eprintln!(
            "kcidb-harvest: spool `{}` is empty: nothing to send",
            spool.dir().display()
        );
    } else {
        eprintln!(
            "kcidb-harvest: sent {sent}, already delivered {already}, invalid {invalid}, failed {failed}; {remaining} left in `{}`",
            spool.dir().display()
        );
    }
    if stop_requested() {
        exit_code::INTERRUPTED
    } else if failed > 0 {
        exit_code::SPOOLED
    } else if invalid > 0 {
        exit_code::INVALID
    } else {
        exit_code::OK
    }
}

/// At most this many violations are shown for an invalid spooled file.
const SHOWN_VIOLATIONS: usize = 10;

/// Journal entries written at once after a delivery.
const JOURNAL_CHUNK: usize = 10_000;

/// Send one spooled file in bounded memory: it is validated as a stream
/// (see [`stream`]), builds the journal lists are left out (the file is
/// rewritten without them, again as a stream), the file's bytes are the
/// request body read from disk, and the journal entries are computed by a
/// last pass over it. `want_ids`: keep the build ids for the JSON output.
fn send_one(
    file: &Path,
    spool: &Spool,
    journal: &mut Journal,
    rest: &RestClient,
    settings: &Settings,
    want_ids: bool,
) -> SendResult {
    match std::fs::metadata(file) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return SendResult::Gone,
        Err(e) => return SendResult::Invalid(format!("cannot read it: {e}")),
    }
    let mut lock = match journal.lock() {
        Ok(l) => l,
        Err(e) => {
            return SendResult::Failed {
                error: format!(
                    "cannot write the journal `{}`: {e}",
                    settings.journal.display()
                ),
                broken: true,
            }
        }
    };
    // Another send may have delivered and removed it while we waited.
    if !file.exists() {
        return SendResult::Gone;
    }

    // Pass 1: valid? Which builds does the journal list, and which
    // checkouts do the others need?
    let (mut total, mut delivered) = (0usize, 0usize);
    let mut needed: HashSet<String> = HashSet::new();
    let checked = read_spooled(file, &mut |section, i, v, ok| {
        if !ok {
            return Ok(());
        }
        match section {
            "builds" => {
                let b = Build::deserialize(v)
                    .map_err(|e| format!("not a KCIDB v5 report: /builds/{i}: {e}"))?;
                total += 1;
                if lock.contains(&b.id) {
                    delivered += 1;
                } else if !needed.contains(&b.checkout_id) {
                    needed.insert(b.checkout_id);
                }
            }
            "checkouts" => {
                Checkout::deserialize(v)
                    .map_err(|e| format!("not a KCIDB v5 report: /checkouts/{i}: {e}"))?;
            }
            _ => {}
        }
        Ok(())
    });
    if let Err(why) = checked {
        return SendResult::Invalid(why);
    }

    if delivered > 0 && delivered == total {
        if let Err(e) = spool.remove(file) {
            return SendResult::Failed {
                error: format!("cannot remove it: {e}"),
                broken: true,
            };
        }
        return SendResult::AllDelivered { builds: total };
    }
    if delivered > 0 {
        if let Err(e) = rewrite_without_delivered(file, spool, &lock, &needed) {
            return SendResult::Failed {
                error: format!("cannot rewrite it without the delivered builds: {e}"),
                broken: true,
            };
        }
    }
    drop(needed);

    let len = match std::fs::metadata(file) {
        Ok(m) => m.len(),
        Err(e) => return SendResult::Invalid(format!("cannot read it: {e}")),
    };
    match rest.submit_file(file, len) {
        Ok(id) => {
            let builds = match journal_delivery(file, &mut lock, &id, want_ids) {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(
                        "delivered as {id} but could not record it in `{}` ({e})",
                        settings.journal.display()
                    );
                    Vec::new()
                }
            };
            // Only after the 200 and the journal lines: a crash before this
            // leaves a file whose builds the journal knows (not resent).
            if let Err(e) = spool.remove(file) {
                tracing::error!(
                    "delivered as {id} but could not remove `{}`: {e}",
                    file.display()
                );
            }
            drop(lock);
            let ingest = if settings.wait {
                let st = rest.wait(&id, settings.retry.total);
                log_ingest(&id, &st);
                Some(st)
            } else {
                None
            };
            SendResult::Sent {
                id,
                builds: (total - delivered, builds),
                skipped: delivered,
                ingest,
            }
        }
        Err(e) => SendResult::Failed {
            broken: e.endpoint_broken(),
            error: e.to_string(),
        },
    }
}

/// Stream `file` through the validator, `sink` seeing each element; the
/// reason it cannot be sent as an `Err`.
fn read_spooled(file: &Path, sink: &mut stream::Sink<'_>) -> Result<(), String> {
    let f = std::fs::File::open(file).map_err(|e| format!("cannot read it: {e}"))?;
    let checked = match stream::check_reader(f, sink) {
        Ok(c) => c,
        Err(stream::Failure::Read(e)) => return Err(format!("cannot read it: {e}")),
        Err(stream::Failure::Stopped(why)) => return Err(why),
        Err(f) => return Err(format!("not a KCIDB v5 report: {f}")),
    };
    if !checked.is_valid() {
        let n = checked.violations.len() + checked.omitted;
        let mut shown: Vec<String> = checked
            .violations
            .iter()
            .take(SHOWN_VIOLATIONS)
            .map(ToString::to_string)
            .collect();
        if n > shown.len() {
            shown.push(format!(
                "… {} more (`kcidb-harvest validate {}` lists them)",
                n - shown.len(),
                file.display()
            ));
        }
        return Err(format!("fails KCIDB v5.3 validation: {}", shown.join("; ")));
    }
    if checked.duplicate_key {
        return Err("not a KCIDB v5 report: a top-level key appears twice".into());
    }
    Ok(())
}

/// Rewrite `file` without the builds the journal lists (and the checkouts
/// only they needed), element by element; checked again before it
/// replaces the file.
fn rewrite_without_delivered(
    file: &Path,
    spool: &Spool,
    lock: &crate::journal::JournalLock<'_>,
    needed: &HashSet<String>,
) -> std::io::Result<()> {
    use std::io::Write;
    spool.rewrite_with(
        file,
        |out| {
            let mut out = std::io::BufWriter::new(out);
            let mut current: Option<&'static str> = None;
            let mut first = true;
            let mut err: Option<std::io::Error> = None;
            let mut write = |section: &'static str, v: &Value| -> std::io::Result<()> {
                let keep = match section {
                    "builds" => v
                        .get("id")
                        .and_then(Value::as_str)
                        .is_none_or(|id| !lock.contains(id)),
                    "checkouts" => v
                        .get("id")
                        .and_then(Value::as_str)
                        .is_none_or(|id| needed.contains(id)),
                    _ => true,
                };
                if !keep {
                    return Ok(());
                }
                if current != Some(section) {
                    if current.is_some_and(|c| c != "version") {
                        out.write_all(b"]")?;
                    }
                    out.write_all(if first { b"{" } else { b",\n" })?;
                    first = false;
                    serde_json::to_writer(&mut out, section)?;
                    out.write_all(if section == "version" { b":" } else { b":[\n" })?;
                    current = Some(section);
                } else {
                    out.write_all(b",\n")?;
                }
                serde_json::to_writer(&mut out, v)?;
                Ok(())
            };
            let r = read_spooled(file, &mut |section, _, v, _| {
                write(section, v).map_err(|e| {
                    let why = e.to_string();
                    err = Some(e);
                    why
                })
            });
            if let Some(e) = err {
                return Err(e);
            }
            r.map_err(std::io::Error::other)?;
            match current {
                None => out.write_all(b"{")?,
                Some("version") => {}
                Some(_) => out.write_all(b"]")?,
            }
            out.write_all(b"}\n")?;
            out.flush()
        },
        |tmp| read_spooled(tmp, &mut |_, _, _, _| Ok(())).map_err(std::io::Error::other),
    )
}

/// Record the builds of the delivered `file` in the journal, a chunk at a
/// time; their ids when `want_ids`.
fn journal_delivery(
    file: &Path,
    lock: &mut crate::journal::JournalLock<'_>,
    id: &str,
    want_ids: bool,
) -> Result<Vec<String>, String> {
    let time = now_rfc3339();
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
    // The content hash covers the build's checkout (the first of its id):
    // the hasher fed with each checkout, cloned for each build.
    let mut checkouts: std::collections::HashMap<String, Sha256> = Default::default();
    read_spooled(file, &mut |section, _, v, _| {
        if section == "checkouts" {
            let c = Checkout::deserialize(v).map_err(|e| e.to_string())?;
            checkouts.entry(c.id.clone()).or_insert_with(|| {
                let mut h = Sha256::new();
                h.update(serde_json::to_vec(&c).unwrap_or_default());
                h
            });
        }
        Ok(())
    })?;
    let mut ids = Vec::new();
    let mut entries = Vec::new();
    let mut failed: Option<String> = None;
    read_spooled(file, &mut |section, _, v, _| {
        if section != "builds" {
            return Ok(());
        }
        let b = Build::deserialize(v).map_err(|e| e.to_string())?;
        let mut h = checkouts.get(&b.checkout_id).cloned().unwrap_or_default();
        h.update(b"\n");
        h.update(serde_json::to_vec(&b).unwrap_or_default());
        if want_ids {
            ids.push(b.id.clone());
        }
        entries.push(Entry {
            time: time.clone(),
            build_id: b.id,
            checkout_id: b.checkout_id,
            submission_id: id.to_owned(),
            dir: None,
            spool_file: name.clone(),
            sha256: kcidb_harvest_parsers::hex(&h.finalize()),
        });
        if entries.len() >= JOURNAL_CHUNK {
            if let Err(e) = lock.append(&entries) {
                failed = Some(e.to_string());
                return Err(e.to_string());
            }
            entries.clear();
        }
        Ok(())
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    lock.append(&entries).map_err(|e| e.to_string())?;
    Ok(ids)
}
