//! The `misc` objects we emit, typed: every key we write is a field here
//! (README "Where every field comes from" describes them). They serialise
//! to the same JSON objects KCIDB stores as `misc`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Map, Value};

use kcidb_harvest_parsers::diag::DiagReport;
use kcidb_harvest_parsers::{keys, Facts};

use super::provenance::{fstr, tux, FieldSource, Tracker};
use super::MergeContext;

/// `checkout.misc`.
#[derive(Debug, Default, Serialize)]
pub struct CheckoutMisc {
    /// HEAD after the queue was committed, when it is not the base.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patched_commit: Option<String>,
    /// Patches in the queue's series, and how many applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patches: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patches_applied: Option<usize>,
    /// Where the queue was read from (`stable_queue.tar.gz`, `linux/patches`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_source: Option<String>,
}

/// `build.misc`.
#[derive(Debug, Default, Serialize)]
pub struct BuildMisc {
    /// Distinct warnings and errors (our diagnostics).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<u64>,
    /// The script's own grep counts (the mail's W: and E:).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings_raw: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors_raw: Option<i64>,
    /// NUL bytes dropped from the log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_nul_bytes: Option<u64>,
    /// The distinct counts are an upper bound (too many to compare).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distinct_upper_bound: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings_by_kind: Option<BTreeMap<String, u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors_by_kind: Option<BTreeMap<String, u64>>,
    /// `KTEST_RUN = N` of output_log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ktest_exit: Option<i64>,
    /// ktest's own verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ktest_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial_patchset: Option<bool>,
    /// ktest's `WARNINGS_FOUND` count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ktest_warning_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_release: Option<String>,
    /// ktest's MACHINE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub builder: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    pub source_layout: &'static str,
    pub harvester: Harvester,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cc_wrapper: Option<&'static str>,
}

/// Which program wrote the report.
#[derive(Debug, Serialize)]
pub struct Harvester {
    pub name: &'static str,
    pub version: &'static str,
}

impl Default for Harvester {
    fn default() -> Self {
        Harvester {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// A typed misc as the JSON object KCIDB stores (`None` when empty).
pub fn to_map(misc: &impl Serialize) -> Option<Map<String, Value>> {
    match serde_json::to_value(misc) {
        Ok(Value::Object(m)) if !m.is_empty() => Some(m),
        _ => None,
    }
}

/// What the build's misc records, and the sources of the raw counts.
#[allow(clippy::too_many_arguments)]
pub fn build_misc(
    facts: &Facts,
    ctx: &MergeContext<'_>,
    diag: Option<&DiagReport>,
    diag_file: &str,
    ktest_status: Option<&str>,
    partial_patchset: bool,
    run_id: &str,
    make_cmd: Option<&str>,
    t: &mut Tracker,
) -> BuildMisc {
    let mut misc = BuildMisc {
        source_layout: ctx.layout.id,
        ..BuildMisc::default()
    };
    if let Some(d) = diag {
        misc.warnings = Some(d.warnings);
        misc.errors = Some(d.errors);
        // the script's own grep: case-insensitive since 2018, sensitive before
        let sensitive = facts.str(keys::RUN_COUNT_CASE).map(|(c, _)| c) == Some("sensitive");
        let (w_raw, e_raw) = if sensitive {
            (
                facts
                    .int(keys::LOG_WARNINGS_RAW_CS)
                    .map(|x| x.0 as u64)
                    .unwrap_or(0),
                facts
                    .int(keys::LOG_ERRORS_RAW_CS)
                    .map(|x| x.0 as u64)
                    .unwrap_or(0),
            )
        } else {
            (d.warnings_raw, d.errors_raw)
        };
        misc.warnings_raw = Some(w_raw as i64);
        misc.errors_raw = Some(e_raw as i64);
        misc.log_nul_bytes = (d.nul_bytes > 0).then_some(d.nul_bytes);
        // the distinct counts are an upper bound (see DiagReport)
        misc.distinct_upper_bound = (d.distinct_untracked > 0).then_some(true);
        misc.warnings_by_kind = Some(d.warnings_by_kind.clone());
        misc.errors_by_kind = Some(d.errors_by_kind.clone());
        for (field, reported, raw) in [
            ("misc.warnings_raw", keys::WARNINGS_REPORTED, w_raw),
            ("misc.errors_raw", keys::ERRORS_REPORTED, e_raw),
        ] {
            let mut disagreements = Vec::new();
            let mut agree = String::new();
            if let Some((n, loc)) = facts.int(reported) {
                if n as u64 != raw {
                    disagreements.push(format!("{loc} says {n}"));
                } else {
                    agree = format!("; {loc} says {n} too");
                }
            }
            t.sources.push(FieldSource {
                object: "build",
                field,
                value: json!(raw),
                source: format!(
                    "{diag_file} (grep -c{} compatible recount{agree})",
                    if sensitive { "" } else { " -i" }
                ),
                disagreements,
            });
        }
    } else {
        // no build log: the script's own counts from output_log
        misc.warnings_raw = facts.int(keys::WARNINGS_REPORTED).map(|(n, _)| n);
        misc.errors_raw = facts.int(keys::ERRORS_REPORTED).map(|(n, _)| n);
    }
    misc.ktest_exit = facts.int(keys::KTEST_EXIT).map(|(n, _)| n);
    misc.ktest_status = ktest_status.map(String::from);
    misc.partial_patchset = partial_patchset.then_some(true);
    misc.ktest_warning_count = facts.int(keys::KTEST_WARNINGS_FOUND).map(|(n, _)| n);
    misc.kernel_release = fstr(facts, keys::KERNEL_RELEASE)
        .or_else(|| tux(facts, "kernelrelease"))
        .map(|r| r.value);
    misc.builder = fstr(facts, &format!("{}MACHINE", keys::KTEST_OPT_PREFIX))
        .or_else(|| fstr(facts, &format!("{}MACHINE", keys::KTEST_CONF_PREFIX)))
        .map(|m| m.value);
    misc.run_id = (!run_id.is_empty()).then(|| run_id.to_string());
    misc.cc_wrapper = make_cmd.filter(|c| c.contains("ccache")).map(|_| "ccache");
    misc
}
