//! Validation of KCIDB v5.3 documents, identical in verdict to kcidb-io
//! (`Draft7Validator` with its format checker on `kcidb_io.schema.V5_3`).
//!
//! [`Validated`] can only be built by [`validate_report`]: everything that
//! is printed, spooled or submitted is a `Validated`.
//!
//! The schema is data ([`schema`]); the string rules are in [`formats`].
//! Known corner cases where kcidb-io accepts something surprising are
//! mirrored on purpose so both always agree: a value with one trailing
//! `"\n"` passes every `…$` pattern and format (Python's `$`), `message_id`
//! only needs an `@` (and has no NUL rule), and an integer field accepts a
//! float with no fraction (`5.0`), as Draft 7 does.

mod cmd;
mod formats;
mod schema;
pub mod stream;

use serde::Serialize;
use serde_json::{Number, Value};

use super::model::Report;
use schema::{Obj, Str, Ty, MAX_EXCERPT_CHARS, STATUSES};

pub use cmd::check_input;

/// One rule broken, with the JSON path of the offending value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// JSON pointer-like path, e.g. `/builds/0/architecture`.
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}",
            if self.path.is_empty() {
                "/"
            } else {
                &self.path
            },
            self.message
        )
    }
}

/// A report that passed validation. The JSON text is fixed at validation
/// time so what is sent is exactly what was checked.
#[derive(Clone, Debug)]
pub struct Validated {
    report: Report,
    json: String,
}

impl Validated {
    pub fn report(&self) -> &Report {
        &self.report
    }
    /// Pretty JSON text of the validated report (ends with a newline).
    pub fn json(&self) -> &str {
        &self.json
    }
    pub fn into_report(self) -> Report {
        self.report
    }

    /// Several validated reports as one document (a checkout or an issue
    /// they share is carried once: the same error in two builds is one
    /// issue with an incident in each). Not checked again: every object in them was
    /// validated, the top level is fixed, and the v5.3 rules are per object
    /// (none relates two objects), so their union is valid.
    pub fn union<'a>(parts: impl IntoIterator<Item = &'a Validated>) -> Validated {
        let mut report = Report::default();
        let mut seen = std::collections::HashSet::new();
        let mut seen_issues = std::collections::HashSet::new();
        for p in parts {
            let r = &p.report;
            for c in &r.checkouts {
                if seen.insert(c.id.clone()) {
                    report.checkouts.push(c.clone());
                }
            }
            report.builds.extend(r.builds.iter().cloned());
            report.tests.extend(r.tests.iter().cloned());
            for i in &r.issues {
                if seen_issues.insert((i.id.clone(), i.version)) {
                    report.issues.push(i.clone());
                }
            }
            report.incidents.extend(r.incidents.iter().cloned());
        }
        let mut json = serde_json::to_string_pretty(&report).unwrap_or_default();
        json.push('\n');
        Validated { report, json }
    }
}

/// Validate a report built by the harvester.
///
/// The report is serialised first and the text is parsed back and checked,
/// so the bytes in [`Validated::json`] are exactly the bytes validated.
pub fn validate_report(report: Report) -> Result<Validated, Vec<Violation>> {
    let whole = |message: String| {
        vec![Violation {
            path: String::new(),
            message,
        }]
    };
    let mut json = serde_json::to_string_pretty(&report)
        .map_err(|e| whole(format!("cannot serialise report: {e}")))?;
    json.push('\n');
    let value: Value = serde_json::from_str(&json)
        .map_err(|e| whole(format!("serialised report is not JSON: {e}")))?;
    let v = validate_value(&value);
    if !v.is_empty() {
        return Err(v);
    }
    Ok(Validated { report, json })
}

/// Check any JSON value against every v5.3 rule; empty when valid.
pub fn validate_value(value: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    if value.is_object() {
        check_object(&schema::DOCUMENT, value, "", &mut out);
    } else {
        out.push(Violation {
            path: String::new(),
            message: format!(
                "a KCIDB document must be a JSON object, found {}",
                kind(value)
            ),
        });
    }
    out
}

fn push(out: &mut Vec<Violation>, path: &str, message: String) {
    out.push(Violation {
        path: path.to_owned(),
        message,
    });
}

/// `key` as a JSON-pointer segment (RFC 6901: `~` → `~0`, `/` → `~1`).
fn pointer_segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// What a value is, for "expected X, found Y".
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A string for a message: quoted, escaped, cut after 100 characters.
fn quote(s: &str) -> String {
    const MAX: usize = 100;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}… ({} characters)", &s[..cut], s.chars().count()),
        None => format!("{s:?}"),
    }
}

fn wrong_type(out: &mut Vec<Violation>, path: &str, expected: &str, v: &Value) {
    let message = match v {
        Value::Null => "null is not allowed; leave the field out when it is unknown".to_owned(),
        Value::Number(n) => format!("expected {expected}, found the number {n}"),
        _ => format!("expected {expected}, found {}", kind(v)),
    };
    push(out, path, message);
}

fn check(ty: &Ty, v: &Value, path: &str, out: &mut Vec<Violation>) {
    match ty {
        Ty::Str(rule) => match v {
            Value::String(s) => check_str(*rule, s, path, out),
            _ => wrong_type(out, path, "a string", v),
        },
        Ty::Bool => {
            if !v.is_boolean() {
                wrong_type(out, path, "a boolean (true or false)", v);
            }
        }
        Ty::Number => {
            if !v.is_number() {
                wrong_type(out, path, "a number", v);
            }
        }
        Ty::Int { min, max } => match v.as_number().and_then(as_integer) {
            Some(n) => {
                if n < *min as f64 {
                    push(out, path, format!("{v} is less than the minimum {min}"));
                } else if let Some(max) = max.filter(|m| n > *m as f64) {
                    push(out, path, format!("{v} is more than the maximum {max}"));
                }
            }
            None => wrong_type(out, path, "an integer", v),
        },
        Ty::ConstInt(c) => match v.as_number().and_then(as_integer) {
            Some(n) if n == *c as f64 => {}
            Some(_) => push(
                out,
                path,
                format!("{v} is not supported: this validator checks KCIDB v{c}.x documents"),
            ),
            None => wrong_type(out, path, "an integer", v),
        },
        Ty::Object(obj) => check_object(obj, v, path, out),
        Ty::ArrayOf(item) => match v {
            Value::Array(items) => {
                for (i, it) in items.iter().enumerate() {
                    check(item, it, &format!("{path}/{i}"), out);
                }
            }
            _ => wrong_type(out, path, "an array", v),
        },
        Ty::AnyObject => {
            if !v.is_object() {
                wrong_type(out, path, "an object", v);
            }
        }
    }
}

/// The value of an integer-typed number: JSON integers, and floats with no
/// fraction (Draft 7 counts `5.0` as an integer). Exact for every integer
/// these checks compare (bounds 0..=5).
fn as_integer(n: &Number) -> Option<f64> {
    if let Some(i) = n.as_i64() {
        // Clamp: only the comparison with small bounds matters.
        return Some(i.clamp(-(1 << 52), 1 << 52) as f64);
    }
    if n.is_u64() {
        return Some((1u64 << 52) as f64);
    }
    n.as_f64().filter(|f| f.is_finite() && f.fract() == 0.0)
}

fn check_object(obj: &Obj, v: &Value, path: &str, out: &mut Vec<Violation>) {
    let Value::Object(map) = v else {
        wrong_type(out, path, &format!("an object ({})", obj.what), v);
        return;
    };
    for req in obj.required {
        if !map.contains_key(*req) {
            push(
                out,
                path,
                format!("missing required field \"{req}\" in {}", obj.what),
            );
        }
    }
    for (key, val) in map {
        let child = format!("{path}/{}", pointer_segment(key));
        match obj.field(key) {
            Some(ty) => check(ty, val, &child, out),
            None => push(out, &child, unknown_field(obj, key)),
        }
    }
}

fn unknown_field(obj: &Obj, key: &str) -> String {
    let shown = quote(key);
    if std::ptr::eq(obj, &schema::BUILD) && key == "valid" {
        return "builds have no \"valid\" in KCIDB v5: it was replaced by \"status\" \
                (PASS, FAIL, ERROR, MISS, DONE, SKIP)"
            .to_owned();
    }
    if key.starts_with('_') {
        let where_ = if obj.field("_timestamp").is_some() {
            "only \"_timestamp\" is accepted here"
        } else {
            "no metadata field is accepted here"
        };
        return format!("unknown metadata field {shown}: {where_}");
    }
    let allowed = if obj.field("misc").is_some() {
        "put extra data under \"misc\"".to_owned()
    } else {
        let names: Vec<&str> = obj.fields.iter().map(|(n, _)| *n).collect();
        format!("allowed: {}", names.join(", "))
    };
    format!("unknown field {shown} in {} ({allowed})", obj.what)
}

const NUL_MESSAGE: &str =
    "contains a NUL character (\\u0000), which KCIDB forbids outside \"misc\"";

fn check_str(rule: Str, s: &str, path: &str, out: &mut Vec<Violation>) {
    let q = || quote(s);
    let message = match rule {
        Str::NoNul => (!formats::no_nul(s)).then(|| NUL_MESSAGE.to_owned()),
        Str::Id => (!formats::is_id(s)).then(|| {
            if formats::no_nul(s) {
                format!(
                    "{} is not a KCIDB id: must be <origin>:<local part>, \
                     the origin matching ^[a-z0-9_]+$",
                    q()
                )
            } else {
                NUL_MESSAGE.to_owned()
            }
        }),
        Str::Origin => (!formats::is_origin(s)).then(|| {
            format!(
                "{} is not a valid origin: must match ^[a-z0-9_]+$ \
                 (lower-case letters, digits and _)",
                q()
            )
        }),
        Str::CommitHash => (!formats::is_commit_hash(s)).then(|| {
            format!(
                "{} is not a full commit hash: must be 40 lower-case hex digits",
                q()
            )
        }),
        Str::PatchsetHash => (!formats::is_patchset_hash(s)).then(|| {
            format!(
                "{} is not a patchset hash: must be 64 lower-case hex digits, \
                 or \"\" when no patches were applied",
                q()
            )
        }),
        Str::Architecture => (!formats::is_architecture(s)).then(|| {
            format!(
                "{} is not a valid architecture: must match ^[a-z0-9_]*$ \
                 (e.g. x86_64, arm64, riscv)",
                q()
            )
        }),
        Str::GitRepositoryUrl => {
            if !formats::is_https(s) {
                Some(format!(
                    "{} is not an https:// URL (git://, http:// and ssh URLs are not accepted)",
                    q()
                ))
            } else {
                (!formats::is_uri(s)).then(|| uri_message(s))
            }
        }
        Str::Uri => (!formats::is_uri(s)).then(|| uri_message(s)),
        Str::DateTime => (!formats::is_date_time(s)).then(|| {
            format!(
                "{} is not an RFC 3339 date-time with a time zone \
                 (e.g. 2025-01-01T00:05:00Z or 2025-01-01T05:35:00+05:30)",
                q()
            )
        }),
        Str::Email => (!formats::is_email(s))
            .then(|| format!("{} is not an email address / Message-ID (no @)", q())),
        Str::Status => (!STATUSES.contains(&s)).then(|| {
            let hint = if STATUSES.contains(&s.to_ascii_uppercase().as_str()) {
                " (statuses are upper case)"
            } else {
                ""
            };
            format!(
                "{} is not a status: one of {}{hint}",
                q(),
                STATUSES.join(", ")
            )
        }),
        Str::TreePath => (!formats::is_tree_path(s)).then(|| {
            format!(
                "{} is not a dot-separated path of [a-zA-Z0-9_-] segments (e.g. ltp.sem01)",
                q()
            )
        }),
        Str::Compatible => (!formats::is_compatible(s)).then(|| {
            format!(
                "{} is not a compatible string: non-empty, no spaces, no NUL",
                q()
            )
        }),
        Str::ResourceName => (!formats::is_resource_name(s)).then(|| {
            format!(
                "{} is not a resource name: non-empty, no slash, no NUL",
                q()
            )
        }),
        Str::Excerpt => {
            let n = s.chars().count();
            if n > MAX_EXCERPT_CHARS {
                push(
                    out,
                    path,
                    format!(
                        "is {n} characters long; at most {MAX_EXCERPT_CHARS} are allowed \
                         (characters, not bytes)"
                    ),
                );
            }
            (!formats::no_nul(s)).then(|| NUL_MESSAGE.to_owned())
        }
        Str::NumberPrefix => (s != "metric" && s != "binary")
            .then(|| format!("{} is not a prefix: \"metric\" or \"binary\"", q())),
    };
    if let Some(m) = message {
        push(out, path, m);
    }
}

fn uri_message(s: &str) -> String {
    let why = if !s.contains(':') {
        " (a relative reference; give the full URL with its scheme)"
    } else if !s.is_ascii() {
        " (non-ASCII characters must be %-encoded)"
    } else if s.contains([' ', '"', '<', '>', '\\', '^', '`', '{', '|', '}']) {
        " (spaces and characters like \" < > \\ ^ ` { | } must be %-encoded)"
    } else {
        ""
    };
    format!("{} is not an absolute URI (RFC 3986){why}", quote(s))
}

#[cfg(test)]
mod tests;
