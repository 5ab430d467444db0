//! Stage collect: run the layout's parsers through the directory's gate.

use kcidb_harvest_parsers::{keys, Facts};

use super::{Collected, Detected, HarvestError};
use crate::cli::Overrides;

/// The override that supplies what parser `id` would have read, if given:
/// then a damaged source for it is a warning, not a refusal.
fn rescued_by(id: &str, ov: &Overrides) -> Option<&'static str> {
    match id {
        "commit-txt" => ov.git_commit_hash.as_ref().map(|_| "--git-commit-hash"),
        "start-time" => ov.build_start_time.as_ref().map(|_| "--build-start-time"),
        "time-output" => ov.duration.as_ref().map(|_| "--duration"),
        _ => None,
    }
}

/// Run `d`'s parsers in the layout's order; a parser that fails refuses
/// the directory unless an override gives its value. Refused links become
/// warnings, facts cut by their bounds become notes, and the fix-ups that
/// need several parsers' facts are applied.
pub fn collect(d: Detected, overrides: &Overrides) -> Result<Collected, HarvestError> {
    let Detected { dir, layout, input } = d;
    let mut facts = Facts::new();
    for id in layout.parsers {
        let Some(parser) = kcidb_harvest_parsers::parser(id) else {
            continue;
        };
        let _span = tracing::debug_span!("parser", id).entered();
        if let Err(source) = parser.parse(&input, &mut facts) {
            let Some(flag) = rescued_by(id, overrides) else {
                return Err(HarvestError::Parse { dir, source });
            };
            facts.warn(
                "",
                None,
                format!("{source} (not used: {flag} gives the value)"),
            );
        }
    }
    for r in input.refusals() {
        facts.warn(&r.name, None, r.reason);
    }
    for n in facts.bound_notes() {
        facts.note("", None, n);
    }
    promote_output_log_framing(&mut facts);
    if !facts.has(kcidb_harvest_parsers::keys::LOG_SHA256) {
        // no build log: the run id follows output_log's bytes instead
        if let Some(sha) = sha256_file(&input, "output_log") {
            facts.push(
                kcidb_harvest_parsers::keys::LOG_SHA256,
                sha,
                "output_log",
                None,
            );
        }
    }
    for n in &facts.notes {
        tracing::info!("{}: {n}", dir.display());
    }
    Ok(Collected {
        dir,
        layout,
        input,
        facts,
    })
}

/// sha256 hex of a (maybe gzip-compressed) file of the directory.
fn sha256_file(input: &kcidb_harvest_parsers::Input, rel: &str) -> Option<String> {
    use sha2::Digest;
    let mut opened = input.open(rel).ok()??;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = std::io::Read::read(&mut opened.reader, &mut buf).ok()?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Some(kcidb_harvest_parsers::hex(&h.finalize()))
}

/// ktest prints its framing both into the log and on stdout (into
/// `output_log`, as `output_log.ktest.*` facts). When the build log has no
/// framing (a partial copy with only `output_log`), the stdout copy stands
/// in; `Caught Sig Int` only ever reaches stderr, so it is always taken
/// from `output_log`.
fn promote_output_log_framing(facts: &mut Facts) {
    let log_has_framing = facts.has(keys::KTEST_RUNS);
    let promoted: Vec<kcidb_harvest_parsers::Fact> = facts
        .items()
        .iter()
        .filter_map(|f| {
            let rest = f.key.strip_prefix(keys::OUTPUT_KTEST_PREFIX)?;
            let key = format!("ktest.{rest}");
            let take = !log_has_framing || (key == keys::KTEST_INTERRUPTED && !facts.has(&key));
            take.then(|| kcidb_harvest_parsers::Fact {
                key,
                value: f.value.clone(),
                loc: f.loc.clone(),
            })
        })
        .collect();
    for f in promoted {
        facts.add(f);
    }
}
