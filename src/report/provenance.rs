//! Where each field's value came from: the candidates of a field in
//! precedence order ([`Tracker::pick`] takes the first and records the
//! others that disagree), for `explain` and for the warnings about
//! identity fields.

use serde_json::Value;

use kcidb_harvest_parsers::{keys, Facts};

/// What one field's value is and where it came from.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FieldSource {
    pub object: &'static str,
    pub field: &'static str,
    pub value: Value,
    pub source: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disagreements: Vec<String>,
    /// Which of several objects of its kind (`test 2`, `test 4 patch 1`)
    /// in a run of several ktest tests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub of: Option<String>,
}

/// Fields whose value goes into an id (see `Merged::warnings`).
pub const IDENTITY_FIELDS: &[(&str, &str)] = &[
    ("checkout", "git_commit_hash"),
    ("checkout", "patchset_hash"),
    ("checkout", "git_repository_url"),
    ("checkout", "git_repository_branch"),
    ("build", "architecture"),
    ("build", "config_name"),
];

/// One warning per identity field whose chosen source (not an override)
/// has disagreeing sources.
pub fn identity_warnings(sources: &[FieldSource]) -> Vec<String> {
    sources
        .iter()
        .filter(|f| IDENTITY_FIELDS.contains(&(f.object, f.field)))
        .filter(|f| !f.disagreements.is_empty() && !f.source.starts_with("--"))
        .map(|f| {
            format!(
                "{}.{}: using {} from {}, but {}",
                f.object,
                f.field,
                f.value,
                f.source,
                f.disagreements.join("; ")
            )
        })
        .collect()
}

/// Collects field values with their sources.
#[derive(Default)]
pub struct Tracker {
    pub sources: Vec<FieldSource>,
}

/// One candidate value for a field.
#[derive(Clone)]
pub struct Cand<T> {
    pub value: T,
    pub source: String,
}

impl<T> Cand<T> {
    /// The same source with its value mapped by `f`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Cand<U> {
        Cand {
            value: f(self.value),
            source: self.source,
        }
    }
}

impl Cand<String> {
    /// A candidate computed from this one: `f` of its value, with `note`
    /// appended to its source.
    pub fn derive<U>(self, f: impl FnOnce(String) -> Option<U>, note: &str) -> Option<Cand<U>> {
        let source = format!("{}{note}", self.source);
        f(self.value).map(|value| Cand { value, source })
    }
}

/// A candidate from a rule (or anything with a fixed source text).
pub fn cand<T>(value: Option<T>, source: impl Into<String>) -> Option<Cand<T>> {
    value.map(|value| Cand {
        value,
        source: source.into(),
    })
}

impl Tracker {
    /// Take the first candidate; record the others that disagree.
    pub fn pick<T: Clone + PartialEq + serde::Serialize>(
        &mut self,
        object: &'static str,
        field: &'static str,
        cands: Vec<Option<Cand<T>>>,
    ) -> Option<T> {
        let mut cands = cands.into_iter().flatten();
        let first = cands.next()?;
        let first_json = serde_json::to_value(&first.value).unwrap_or(Value::Null);
        let disagreements = cands
            .filter(|c| {
                !same_value(
                    &first_json,
                    &serde_json::to_value(&c.value).unwrap_or(Value::Null),
                )
            })
            .map(|c| {
                format!(
                    "{} says {}",
                    c.source,
                    serde_json::to_string(&c.value).unwrap_or_default()
                )
            })
            .collect();
        self.sources.push(FieldSource {
            object,
            field,
            value: serde_json::to_value(&first.value).unwrap_or(Value::Null),
            source: first.source,
            disagreements,
            of: None,
        });
        Some(first.value)
    }

    /// Record a value decided by a rule (no candidates to disagree).
    pub fn set<T: serde::Serialize>(
        &mut self,
        object: &'static str,
        field: &'static str,
        value: &T,
        source: impl Into<String>,
    ) {
        self.sources.push(FieldSource {
            object,
            field,
            value: serde_json::to_value(value).unwrap_or(Value::Null),
            source: source.into(),
            disagreements: Vec::new(),
            of: None,
        });
    }

    /// Record a field source as it is.
    pub fn push(&mut self, source: FieldSource) {
        self.sources.push(source);
    }
}

/// Equal values, where two timestamps are equal when they name the same
/// instant (`…Z` and `…+00:00`).
pub fn same_value(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match (a.as_str(), b.as_str()) {
        (Some(x), Some(y)) => matches!(
            (
                chrono::DateTime::parse_from_rfc3339(x),
                chrono::DateTime::parse_from_rfc3339(y)
            ),
            (Ok(p), Ok(q)) if p == q
        ),
        _ => false,
    }
}

/// The string fact `key`, sourced at its location.
pub fn fstr(facts: &Facts, key: &str) -> Option<Cand<String>> {
    facts.str(key).map(|(v, loc)| Cand {
        value: v.to_string(),
        source: loc.to_string(),
    })
}

/// The tuxmake metadata fact `tuxmake.<name>`.
pub fn tux(facts: &Facts, name: &str) -> Option<Cand<String>> {
    fstr(facts, &format!("{}{name}", keys::TUXMAKE_PREFIX))
}

/// A ktest option: the value ktest printed (`ktest.opt.*`), else the one
/// in ktest.conf (`ktest_conf.*`).
pub fn ktest_option(facts: &Facts, name: &str) -> Option<Cand<String>> {
    fstr(facts, &format!("{}{name}", keys::KTEST_OPT_PREFIX))
        .or_else(|| fstr(facts, &format!("{}{name}", keys::KTEST_CONF_PREFIX)))
}

/// The integer fact `key`, sourced at its location.
pub fn fint(facts: &Facts, key: &str) -> Option<Cand<i64>> {
    facts.int(key).map(|(v, loc)| Cand {
        value: v,
        source: loc.to_string(),
    })
}

/// The number fact `key`, sourced at its location.
pub fn ffloat(facts: &Facts, key: &str) -> Option<Cand<f64>> {
    facts.float(key).map(|(v, loc)| Cand {
        value: v,
        source: loc.to_string(),
    })
}

/// A candidate from the command-line override `--<name>`.
pub fn flag<T>(value: &Option<T>, name: &str) -> Option<Cand<T>>
where
    T: Clone,
{
    value.clone().map(|v| Cand {
        value: v,
        source: format!("--{name}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(value: &str, source: &str) -> Option<Cand<String>> {
        cand(Some(value.to_string()), source)
    }

    #[test]
    fn the_first_candidate_wins_and_others_that_disagree_are_recorded() {
        let mut t = Tracker::default();
        let v = t.pick(
            "build",
            "architecture",
            vec![
                None,
                c("x86_64", "linux/output/.config:12"),
                c("x86_64", "linux/output/include/generated/compile.h:3"),
                c("arm64", "ktest.conf:7 (ARCH= of MAKE_CMD)"),
            ],
        );
        assert_eq!(v.as_deref(), Some("x86_64"));
        let f = &t.sources[0];
        assert_eq!(f.source, "linux/output/.config:12");
        assert_eq!(
            f.disagreements,
            vec![r#"ktest.conf:7 (ARCH= of MAKE_CMD) says "arm64""#]
        );
        assert_eq!(
            identity_warnings(&t.sources),
            vec![
                r#"build.architecture: using "x86_64" from linux/output/.config:12, but ktest.conf:7 (ARCH= of MAKE_CMD) says "arm64""#
            ]
        );
    }

    #[test]
    fn the_same_instant_in_two_spellings_agrees() {
        let mut t = Tracker::default();
        t.pick(
            "build",
            "start_time",
            vec![
                c("2024-10-03T09:12:44Z", "start_time.txt:1"),
                c("2024-10-03T11:12:44+02:00", "linux/.git/logs/HEAD:1"),
            ],
        );
        assert!(t.sources[0].disagreements.is_empty());
    }

    #[test]
    fn no_warning_for_overrides_or_fields_outside_ids() {
        let mut t = Tracker::default();
        t.pick(
            "build",
            "config_name",
            vec![
                c("tinyconfig", "--config-name"),
                c("defconfig", "ktest.conf:3"),
            ],
        );
        t.pick(
            "build",
            "compiler",
            vec![
                c("gcc (Debian 12.2.0-14) 12.2.0", ".config:5"),
                c("gcc", "MAKE_CMD"),
            ],
        );
        assert_eq!(t.sources.len(), 2);
        assert!(t.sources.iter().all(|f| !f.disagreements.is_empty()));
        assert!(identity_warnings(&t.sources).is_empty());
    }

    #[test]
    fn nothing_picked_from_no_candidates() {
        let mut t = Tracker::default();
        assert_eq!(
            t.pick::<String>("checkout", "tree_name", vec![None, None]),
            None
        );
        assert!(t.sources.is_empty());
    }
}
