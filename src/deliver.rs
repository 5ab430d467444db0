//! Stages deliver and journal: uploads → batched submission (or spool) →
//! journal. (`kcidb-harvest send` delivers the spool: `crate::cmd::send`.)
//!
//! [`Deliverer`] takes one [`DirYield`] at a time with its report already
//! validated, URLs included ([`Deliverer::push`]; the URLs are
//! deterministic, [`Deliverer::url_base`], so the journal's content hash is
//! checked before any upload). It skips builds the journal knows, uploads
//! the artifacts, and buffers the report into a submission of at most `--max-objects` builds
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
use crate::journal::{content_hash, now_rfc3339, Entry, Journal};
use crate::kcidb::{validate_report, Report, Validated, Violation};
use crate::pipeline::DirYield;
use crate::settings::{ConfigError, LogUrls, Settings};
use crate::spool::Spool;
use crate::submit::{IngestStatus, RestClient, SubmitError};

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
    pub fn prepare(&self, h: &mut DirYield) {
        if !self.upload
            || !h.compressed.is_empty()
            || (!h.commit_known && !self.allow_unknown_commit)
            || self.delivered.contains(&crate::journal::key(h.build_id()))
        {
            return;
        }
        let mut done = Vec::with_capacity(h.artifacts.len());
        for a in &h.artifacts {
            match artifacts::compress_artifact(a) {
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

impl OutcomeKind {
    /// What to do about it, said once per run however many directories
    /// it concerns (the summary's hints).
    pub fn hint(&self) -> Option<String> {
        match self {
            OutcomeKind::Spooled { file, .. } => Some(format!(
                "send the spooled reports later with `kcidb-harvest send {}`",
                file.parent().unwrap_or(Path::new(".")).display()
            )),
            OutcomeKind::Refused { .. } => Some(
                "a checkout whose base commit (or the patchset_hash of an applied queue) is unknown is not \
                 delivered: pass --git-commit-hash (and --git-branch) or --patchset-hash, or \
                 --allow-unknown-commit to send it anyway (the dashboard ignores checkouts without a \
                 commit, and the database keeps the first value written)"
                    .into(),
            ),
            _ => None,
        }
    }
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
    validated: Validated,
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
        for n in settings.notes.iter().chain(&settings.storage_notes) {
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

    /// The same deliverer on another clock for its retries and polls
    /// (tests: a [`crate::clock::FakeClock`]).
    pub fn with_clock(mut self, clock: std::sync::Arc<dyn crate::clock::Clock>) -> Deliverer {
        self.rest = self.rest.map(|r| r.with_clock(clock.clone()));
        self.uploader = self.uploader.map(|u| u.with_clock(clock));
        self
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

    /// Where the artifacts' URLs point, when logs get URLs: the storage
    /// uploaded to, or `--log-url-base`. The URLs are deterministic, so
    /// they are put into the report before it is validated
    /// ([`artifacts::plan_urls`]).
    pub fn url_base(&self) -> Option<String> {
        match (&self.settings.log_urls, &self.uploader) {
            (LogUrls::Upload, Some(u)) => Some(u.base()),
            (LogUrls::Base(b), _) => Some(b.clone()),
            _ => None,
        }
    }

    /// Take one directory's yield and its validated report (URLs from
    /// [`Deliverer::url_base`] in it). Returns the outcomes known now: this
    /// directory's if it was settled at once (refused, already delivered,
    /// upload failed), and those of a submission that filled up.
    pub fn push(&mut self, h: DirYield, validated: Validated) -> Vec<Outcome> {
        let mut out = Vec::new();
        let dir = h.dir.clone();
        let build_id = h.build_id().to_string();
        let settle = |kind| Outcome {
            dir: dir.clone(),
            build_id: build_id.clone(),
            kind,
            ingest: None,
        };
        if !h.commit_known && !self.opts.allow_unknown_commit {
            out.push(settle(OutcomeKind::Refused {
                reason: "the checkout's base commit (or its queue's patchset_hash) is unknown"
                    .into(),
            }));
            return out;
        }
        let key_dir = artifacts::storage_dir(&self.opts.origin, h.build_local_id());
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
                    _ => artifacts::compress_artifact(a).map(std::sync::Arc::new),
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
                    // submission can add them). A report changed: checked again.
                    let mut bare = validated.report().clone();
                    artifacts::clear_urls(&mut bare);
                    let kind = match validate_report(bare) {
                        Ok(v) => match self.spool.write(&v) {
                            Ok(file) => OutcomeKind::Spooled {
                                file,
                                reason: format!(
                                    "log upload failed ({e}); spooled without log URLs"
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
            validated,
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
        let validated = Validated::union(items.iter().map(|i| &i.validated));
        let Some(rest) = &self.rest else {
            let reason = "no KCIDB REST endpoint configured".to_string();
            return spool_items(&self.spool, &items, &validated, reason, false);
        };
        if let Some(why) = &self.broken {
            return spool_items(&self.spool, &items, &validated, why.clone(), true);
        }

        // Check, submit and record under the journal lock, so a concurrent
        // run never sends the same build too.
        let mut lock = match self.journal.lock() {
            Ok(l) => l,
            Err(e) => {
                let reason = format!(
                    "cannot write the journal `{}` ({e}), so a delivery could not be recorded",
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
                let v = Validated::union(todo.iter().map(|i| &i.validated));
                (todo, v)
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
                    let st = rest.wait(&id, self.settings.retry.total, &mut |p| {
                        crate::reporter::get().waiting(p)
                    });
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
                out.extend(spool_items(
                    &self.spool,
                    &items,
                    &validated,
                    e.to_string(),
                    true,
                ));
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

pub(crate) fn log_ingest(id: &str, st: &IngestStatus) {
    match st {
        IngestStatus::Processed => tracing::info!("submission {id}: {st}"),
        _ => tracing::warn!("submission {id}: {st}"),
    }
}
