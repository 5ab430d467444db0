//! `kcidb-harvest send [SPOOL]`: deliver spooled reports oldest first,
//! removing each only after a 200 (and after recording it in the journal).
//! Each file is streamed: validated, rewritten without the builds the
//! journal lists, and POSTed from disk, in bounded memory.

use std::collections::HashSet;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::CmdError;
use crate::cli::SendArgs;
use crate::exit_code::{self, Verdict};
use crate::journal::{now_rfc3339, Entry, Journal};
use crate::kcidb::validate::stream;
use crate::kcidb::{Build, Checkout};
use crate::reporter::{self, Line, SendSummary, SpoolFileLine};
use crate::settings::{self, Settings};
use crate::spool::Spool;
use crate::submit::{request_stop, stop_requested, IngestStatus, RestClient};

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

pub fn run(args: &SendArgs) -> Result<Verdict, CmdError> {
    let r = reporter::get();
    let mut delivery = args.delivery.clone();
    if let Some(s) = &args.spool {
        if delivery.spool.as_ref().is_some_and(|d| d != s) {
            return Err(CmdError::Usage(
                "give the spool once (SPOOL or --spool), not two different ones".into(),
            ));
        }
        delivery.spool = Some(s.clone());
    }
    let settings = settings::resolve(&delivery)?;
    if delivery.show_config {
        super::print(&settings.show())?;
        return Ok(Verdict::default());
    }
    // `send` uploads no logs (the spooled reports carry their URLs): the
    // notes about log storage do not concern it.
    for n in &settings.notes {
        r.warning(None, n);
    }
    let Some(ep) = &settings.rest else {
        return Err(CmdError::Usage(
            "no KCIDB REST endpoint configured; set KCIDB_REST=https://TOKEN@db.kernelci.org, \
             or --kcidb-rest-url with --kcidb-token-file, or kcidb_rest_url + kcidb_token in kci-dev.toml"
                .into(),
        ));
    };
    let rest = RestClient::new(ep, &settings)?;
    let spool = Spool::new(&settings.spool);
    let json = r.is_json();
    // Ctrl-C: finish the submission in flight (no new retries), keep the
    // rest in the spool; a second Ctrl-C quits at once.
    let _ = ctrlc::set_handler(|| {
        if stop_requested() {
            std::process::exit(exit_code::INTERRUPTED);
        }
        request_stop();
        reporter::get().warning(
            None,
            "interrupted: finishing the report in flight (Ctrl-C again to quit now)",
        );
    });
    let spool_name = spool.dir().display().to_string();
    if !spool.dir().is_dir() {
        // A spool named on the command line must exist (a typo would
        // otherwise look like an empty spool); the default may not.
        if delivery.spool.is_some() {
            return Err(CmdError::Usage(format!(
                "spool `{spool_name}` does not exist (or is not a directory)"
            )));
        }
        r.emit(&Line::SendSummary(SendSummary {
            spool: spool_name.clone(),
            text: format!("kcidb-harvest: spool `{spool_name}` does not exist: nothing to send"),
            ..SendSummary::default()
        }));
        return Ok(Verdict::default());
    }
    let fail = |message: String| {
        r.error(None, &message);
        Ok(Verdict {
            spooled_after_failure: true,
            ..Verdict::default()
        })
    };
    let _spool_lock = match spool.lock() {
        Ok(l) => l,
        Err(e) => return fail(format!("cannot lock the spool `{spool_name}`: {e}")),
    };
    let mut journal = match Journal::open(&settings.journal) {
        Ok(j) => j,
        Err(e) => {
            return fail(format!(
                "cannot read the journal `{}`: {e}",
                settings.journal.display()
            ))
        }
    };
    let files = match spool.list() {
        Ok(f) => f,
        Err(e) => return fail(format!("cannot list the spool `{spool_name}`: {e}")),
    };
    let mut sum = SendSummary {
        spool: spool_name.clone(),
        ..SendSummary::default()
    };
    // an existing history learns which spooled builds were delivered
    let mut history =
        args.history.path().filter(|p| p.exists()).and_then(
            |p| match crate::history::History::open(&p) {
                Ok(h) => Some(h),
                Err(e) => {
                    r.warning(None, &e.to_string());
                    None
                }
            },
        );
    let mut stopped = false;
    for file in &files {
        if stop_requested() || stopped {
            break;
        }
        let result = send_one(
            file,
            &spool,
            &mut journal,
            &rest,
            &settings,
            json || history.is_some(),
        );
        let name = file.display().to_string();
        let line = match result {
            SendResult::Gone => continue,
            SendResult::Sent {
                id,
                builds,
                skipped,
                ingest,
            } => {
                sum.sent += 1;
                if let Some(h) = history.as_mut() {
                    if let Err(e) = h.mark_delivered(&builds.1) {
                        r.warning(None, &e.to_string());
                    }
                }
                let builds = if json { builds } else { (builds.0, Vec::new()) };
                let mut text = format!(
                    "{name}: sent as {id} ({} build{}",
                    builds.0,
                    if builds.0 == 1 { "" } else { "s" }
                );
                if skipped > 0 {
                    text.push_str(&format!(", {skipped} already delivered left out"));
                }
                text.push(')');
                if let Some(st) = &ingest {
                    text.push_str(&format!("; ingest: {st}"));
                }
                SpoolFileLine {
                    file: name,
                    result: "sent",
                    submission_id: Some(id),
                    builds: builds.1,
                    already_delivered: skipped,
                    ingest: ingest.as_ref().map(|s| s.as_str().to_string()),
                    text,
                    ..SpoolFileLine::default()
                }
            }
            SendResult::AllDelivered { builds } => {
                sum.already_delivered += 1;
                SpoolFileLine {
                    text: format!(
                        "{name}: all {builds} builds already delivered (journal); removed"
                    ),
                    file: name,
                    result: "already_delivered",
                    already_delivered: builds,
                    ..SpoolFileLine::default()
                }
            }
            SendResult::Invalid(why) => {
                sum.invalid += 1;
                SpoolFileLine {
                    text: format!("{name}: not sent, left in the spool: {why}"),
                    file: name,
                    result: "invalid",
                    error: Some(why),
                    ..SpoolFileLine::default()
                }
            }
            SendResult::Failed { error, broken } => {
                sum.failed += 1;
                stopped = broken;
                SpoolFileLine {
                    text: format!("{name}: not sent, left in the spool: {error}"),
                    file: name,
                    result: "failed",
                    error: Some(error),
                    ..SpoolFileLine::default()
                }
            }
        };
        r.emit(&Line::SpoolFile(line));
    }
    sum.remaining = spool.list().map(|l| l.len()).unwrap_or(0);
    sum.text = if files.is_empty() {
        format!("kcidb-harvest: spool `{spool_name}` is empty: nothing to send")
    } else {
        format!(
            "kcidb-harvest: sent {}, already delivered {}, invalid {}, failed {}; {} left in `{spool_name}`",
            sum.sent, sum.already_delivered, sum.invalid, sum.failed, sum.remaining
        )
    };
    let verdict = Verdict {
        interrupted: stop_requested(),
        spooled_after_failure: sum.failed > 0,
        invalid: sum.invalid > 0,
        ..Verdict::default()
    };
    r.emit(&Line::SendSummary(sum));
    Ok(verdict)
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
                let st = rest.wait(&id, settings.retry.total, &mut |p| {
                    crate::reporter::get().waiting(p)
                });
                crate::deliver::log_ingest(&id, &st);
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
            sha256: kcidb_harvest_parsers::digest::hex(&h.finalize()),
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
