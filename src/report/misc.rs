//! The `misc` objects we emit, typed: every key we write is a field here
//! (README "Where every field comes from" describes them). They serialise
//! to the same JSON objects KCIDB stores as `misc`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Map, Value};

use kcidb_harvest_parsers::diag::DiagReport;
use kcidb_harvest_parsers::{keys, Facts};

use super::names::is_sha1;
use super::patches::Patches;
use super::provenance::{fstr, ktest_option, tux, FieldSource};

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

impl CheckoutMisc {
    pub fn of(facts: &Facts, commit: Option<&str>, patches: &Patches) -> CheckoutMisc {
        let queue = !patches.series.is_empty();
        CheckoutMisc {
            patched_commit: facts
                .str(keys::GIT_HEAD_COMMIT)
                .map(|(head, _)| head)
                .filter(|head| Some(*head) != commit && is_sha1(head))
                .map(String::from),
            patches: queue.then_some(patches.series.len()),
            patches_applied: queue.then(|| patches.applied()),
            queue_source: facts.str(keys::QUEUE_SOURCE).map(|(s, _)| s.to_string()),
        }
    }
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
    /// What a build that did not pass built before it stopped (`kernel`,
    /// `modules`, `dtbs`; docs/status.md#what-was-built); logs without
    /// ktest framing only (ktest's own steps say what a ktest run did).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parts_built: Option<Vec<String>>,
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
    /// The ktest test (`RUNNING TEST n`) of a run of several tests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ktest_test: Option<u64>,
    /// Its TEST_NAME.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ktest_test_name: Option<String>,
    /// The patch of a patchcheck (1 = the first checked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ktest_patch: Option<u64>,
    /// The commit patchcheck built (`Processing commit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
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

/// What the rest of the report decided that `build.misc` repeats.
pub struct BuildFacts<'a> {
    /// The layout's display name.
    pub source_layout: &'static str,
    pub run_id: &'a str,
    pub ktest_status: Option<&'a str>,
    pub partial_patchset: bool,
    /// The build's status is PASS (a build that did not pass says which
    /// parts it built before it failed).
    pub passed: bool,
}

impl BuildMisc {
    /// The misc of a build, and the provenance of its raw counts.
    pub fn of(facts: &Facts, b: &BuildFacts<'_>) -> (BuildMisc, Vec<FieldSource>) {
        let mut misc = BuildMisc {
            ktest_exit: facts.int(keys::KTEST_EXIT).map(|(n, _)| n),
            ktest_status: b.ktest_status.map(String::from),
            partial_patchset: b.partial_patchset.then_some(true),
            parts_built: facts
                .last(keys::LOG_PARTS_BUILT)
                .filter(|_| !b.passed && !super::status::is_ktest_run(facts))
                .and_then(|f| serde_json::from_value(f.value.clone()).ok()),
            ktest_warning_count: facts.int(keys::KTEST_WARNINGS_FOUND).map(|(n, _)| n),
            kernel_release: fstr(facts, keys::KERNEL_RELEASE)
                .or_else(|| tux(facts, "kernelrelease"))
                .map(|r| r.value),
            builder: ktest_option(facts, "MACHINE").map(|m| m.value),
            run_id: (!b.run_id.is_empty()).then(|| b.run_id.to_string()),
            source_layout: b.source_layout,
            cc_wrapper: ktest_option(facts, "MAKE_CMD")
                .filter(|c| c.value.contains("ccache"))
                .map(|_| "ccache"),
            ..BuildMisc::default()
        };
        let sources = match &facts.diag {
            Some((file, d)) => misc.add_diagnostics(facts, file, d),
            None => {
                // no build log: the script's own counts from output_log
                misc.warnings_raw = facts.int(keys::WARNINGS_REPORTED).map(|(n, _)| n);
                misc.errors_raw = facts.int(keys::ERRORS_REPORTED).map(|(n, _)| n);
                Vec::new()
            }
        };
        (misc, sources)
    }

    /// The diagnostics engine's counts of the build log `file`; returns
    /// the provenance of the raw counts (with what output_log reported).
    fn add_diagnostics(&mut self, facts: &Facts, file: &str, d: &DiagReport) -> Vec<FieldSource> {
        let raw = RawCounts::of(facts, d);
        self.warnings = Some(d.warnings);
        self.errors = Some(d.errors);
        self.warnings_raw = Some(raw.warnings as i64);
        self.errors_raw = Some(raw.errors as i64);
        self.log_nul_bytes = (d.nul_bytes > 0).then_some(d.nul_bytes);
        // the distinct counts are an upper bound (see DiagReport)
        self.distinct_upper_bound = (d.distinct_untracked > 0).then_some(true);
        self.warnings_by_kind = Some(d.warnings_by_kind.clone());
        self.errors_by_kind = Some(d.errors_by_kind.clone());
        vec![
            raw.source(
                facts,
                file,
                "misc.warnings_raw",
                raw.warnings,
                keys::WARNINGS_REPORTED,
            ),
            raw.source(
                facts,
                file,
                "misc.errors_raw",
                raw.errors,
                keys::ERRORS_REPORTED,
            ),
        ]
    }
}

/// The lines test_stable_ssh's grep counts in the build log:
/// case-insensitive since 2018, case-sensitive before (`run_test.sh` says
/// which).
struct RawCounts {
    warnings: u64,
    errors: u64,
    case_sensitive: bool,
}

impl RawCounts {
    fn of(facts: &Facts, d: &DiagReport) -> RawCounts {
        let case_sensitive = facts.str(keys::RUN_COUNT_CASE).map(|(c, _)| c) == Some("sensitive");
        if !case_sensitive {
            return RawCounts {
                warnings: d.warnings_raw,
                errors: d.errors_raw,
                case_sensitive,
            };
        }
        let count = |key| facts.int(key).map(|x| x.0 as u64).unwrap_or(0);
        RawCounts {
            warnings: count(keys::LOG_WARNINGS_RAW_CS),
            errors: count(keys::LOG_ERRORS_RAW_CS),
            case_sensitive,
        }
    }

    /// Where the raw count `field` (`raw`) came from, and whether the
    /// count output_log reported (`reported`) agrees.
    fn source(
        &self,
        facts: &Facts,
        file: &str,
        field: &'static str,
        raw: u64,
        reported: &str,
    ) -> FieldSource {
        let mut disagreements = Vec::new();
        let mut agree = String::new();
        if let Some((n, loc)) = facts.int(reported) {
            if n as u64 != raw {
                disagreements.push(format!("{loc} says {n}"));
            } else {
                agree = format!("; {loc} says {n} too");
            }
        }
        FieldSource {
            object: "build",
            field,
            value: json!(raw),
            source: format!(
                "{file} (grep -c{} compatible recount{agree})",
                if self.case_sensitive { "" } else { " -i" }
            ),
            disagreements,
            of: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build_facts<'a>(run_id: &'a str) -> BuildFacts<'a> {
        BuildFacts {
            source_layout: "test_stable_ssh",
            run_id,
            ktest_status: Some("SUCCESS"),
            partial_patchset: false,
            passed: true,
        }
    }

    #[test]
    fn keys_are_written_in_alphabetical_order_without_empty_ones() {
        let mut facts = Facts::default();
        facts.push(keys::KTEST_EXIT, 0, "output_log", Some(311));
        facts.push(
            format!("{}MACHINE", keys::KTEST_CONF_PREFIX),
            "bob",
            "ktest.conf",
            Some(4),
        );
        facts.push(
            format!("{}MAKE_CMD", keys::KTEST_CONF_PREFIX),
            "make CC=\"ccache gcc\"",
            "ktest.conf",
            Some(9),
        );
        let mut d = DiagReport::default();
        d.warnings_raw = 3;
        d.warnings = 1;
        d.warnings_by_kind = [("kconfig".to_string(), 1)].into();
        facts.diag = Some(("linux/log".into(), d));
        facts.push(keys::WARNINGS_REPORTED, 2, "output_log", Some(300));
        let (misc, sources) = BuildMisc::of(&facts, &build_facts("b93d94"));
        let text = serde_json::to_string(&to_map(&misc)).expect("serialises");
        assert_eq!(
            text,
            r#"{"builder":"bob","cc_wrapper":"ccache","errors":0,"errors_by_kind":{},"errors_raw":0,"harvester":{"name":"kcidb-harvest","version":"0.1.0"},"ktest_exit":0,"ktest_status":"SUCCESS","run_id":"b93d94","source_layout":"test_stable_ssh","warnings":1,"warnings_by_kind":{"kconfig":1},"warnings_raw":3}"#
        );
        assert_eq!(sources.len(), 2);
        assert_eq!(sources[0].field, "misc.warnings_raw");
        assert_eq!(
            sources[0].source,
            "linux/log (grep -c -i compatible recount)"
        );
        assert_eq!(sources[0].disagreements, vec!["output_log:300 says 2"]);
    }

    #[test]
    fn without_a_build_log_the_scripts_counts_are_kept() {
        let mut facts = Facts::default();
        facts.push(keys::WARNINGS_REPORTED, 25, "output_log", Some(300));
        facts.push(keys::ERRORS_REPORTED, 0, "output_log", Some(301));
        let (misc, sources) = BuildMisc::of(&facts, &build_facts(""));
        assert!(sources.is_empty());
        let m = to_map(&misc).expect("not empty");
        assert_eq!(m["warnings_raw"], json!(25));
        assert_eq!(m["errors_raw"], json!(0));
        assert!(!m.contains_key("warnings") && !m.contains_key("run_id"));
    }

    #[test]
    fn old_scripts_counted_case_sensitively() {
        let mut facts = Facts::default();
        facts.push(keys::RUN_COUNT_CASE, "sensitive", "run_test.sh", Some(80));
        facts.push(keys::LOG_WARNINGS_RAW_CS, 4, "linux/log", None);
        let mut d = DiagReport::default();
        d.warnings_raw = 6;
        facts.diag = Some(("linux/log".into(), d));
        facts.push(keys::WARNINGS_REPORTED, 4, "output_log", Some(300));
        let (misc, sources) = BuildMisc::of(&facts, &build_facts("r"));
        assert_eq!((misc.warnings_raw, misc.errors_raw), (Some(4), Some(0)));
        assert_eq!(
            sources[0].source,
            "linux/log (grep -c compatible recount; output_log:300 says 4 too)"
        );
        assert!(sources[0].disagreements.is_empty());
    }

    #[test]
    fn checkout_misc_of_a_patched_tree() {
        let base = "f4948065a9336ed79a687cabf6525821451ba553";
        let head = "19463f7e3ad6bee028585a29c8f9bd10fc6bcab6";
        let mut facts = Facts::default();
        facts.push(keys::GIT_HEAD_COMMIT, head, "linux/.git/HEAD", None);
        facts.push(
            keys::QUEUE_SOURCE,
            "stable_queue.tar.gz",
            "stable_queue.tar.gz",
            None,
        );
        facts.push(
            keys::QUEUE_SERIES,
            json!(["a.patch", "b.patch"]),
            "stable_queue.tar.gz",
            None,
        );
        facts.push(keys::QUILTIMPORT_APPLIED, "a.patch", "output_log", Some(40));
        let m = to_map(&CheckoutMisc::of(&facts, Some(base), &Patches::of(&facts)));
        assert_eq!(
            serde_json::to_string(&m).expect("serialises"),
            format!(
                r#"{{"patched_commit":"{head}","patches":2,"patches_applied":1,"queue_source":"stable_queue.tar.gz"}}"#
            )
        );
        // HEAD is the base: nothing to say
        let plain = Facts::default();
        assert_eq!(
            to_map(&CheckoutMisc::of(&plain, Some(base), &Patches::of(&plain))),
            None
        );
    }
}
