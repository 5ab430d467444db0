//! `kcidb-harvest validate FILE|-`: check a KCIDB JSON file against v5.3.

use std::io::{self, Read, Write};

use serde_json::Value;

use super::validate_value;
use crate::exit_code;

/// Check `file` (`-` for standard input) and report on stdout/stderr.
///
/// Valid: one line `<file>: valid KCIDB v5.3 (…counts…)` on stdout, exit 0.
/// Invalid: one line `<file>: <path>: <message>` per violation on stderr,
/// exit [`exit_code::INVALID`]; a file that is not JSON is one such line
/// with the parser's position. Unreadable: exit [`exit_code::USAGE`].
pub fn cmd_validate(file: &str) -> i32 {
    let (name, read) = if file == "-" {
        let mut buf = Vec::new();
        let r = io::stdin().lock().read_to_end(&mut buf).map(|_| buf);
        ("<stdin>".to_owned(), r)
    } else {
        (file.to_owned(), std::fs::read(file))
    };
    let stdout = io::stdout();
    let stderr = io::stderr();
    match read {
        Ok(bytes) => check_bytes(&name, &bytes, &mut stdout.lock(), &mut stderr.lock()),
        Err(e) => {
            let _ = writeln!(stderr.lock(), "{name}: cannot read: {e}");
            exit_code::USAGE
        }
    }
}

/// Validate `bytes` (the content of `name`) and report; returns the exit
/// code. Write errors (e.g. a closed pipe) are ignored: the exit code
/// still tells the verdict.
pub(super) fn check_bytes(
    name: &str,
    bytes: &[u8],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        let _ = writeln!(err, "{name}: empty file, not a KCIDB document");
        return exit_code::INVALID;
    }
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            let _ = writeln!(
                err,
                "{name}: not valid JSON: {e}{}",
                non_json_hint(bytes, &e)
            );
            return exit_code::INVALID;
        }
    };
    let violations = validate_value(&value);
    if violations.is_empty() {
        let _ = writeln!(out, "{name}: valid KCIDB v5.3 ({})", summary(&value));
        exit_code::OK
    } else {
        for v in &violations {
            let _ = writeln!(err, "{name}: {v}");
        }
        exit_code::INVALID
    }
}

/// A hint when the parser stopped on `NaN` or `Infinity`, which some JSON
/// writers emit (Python's `json` by default) but JSON does not allow.
fn non_json_hint(bytes: &[u8], e: &serde_json::Error) -> &'static str {
    let Some(line) = bytes.split(|&b| b == b'\n').nth(e.line().saturating_sub(1)) else {
        return "";
    };
    let at = &line[e.column().saturating_sub(1).min(line.len())..];
    let at = at.strip_prefix(b"-").unwrap_or(at);
    if at.starts_with(b"NaN") || at.starts_with(b"Infinity") {
        " (NaN and Infinity are not JSON; leave the field out)"
    } else {
        ""
    }
}

/// "1 checkout, 2 builds, 0 tests, 0 issues, 0 incidents".
fn summary(doc: &Value) -> String {
    [
        ("checkouts", "checkout"),
        ("builds", "build"),
        ("tests", "test"),
        ("issues", "issue"),
        ("incidents", "incident"),
    ]
    .iter()
    .map(|(key, one)| {
        let n = doc.get(key).and_then(Value::as_array).map_or(0, Vec::len);
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {key}")
        }
    })
    .collect::<Vec<_>>()
    .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(bytes: &[u8]) -> (i32, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = check_bytes("r.json", bytes, &mut out, &mut err);
        (
            code,
            String::from_utf8_lossy(&out).into_owned(),
            String::from_utf8_lossy(&err).into_owned(),
        )
    }

    #[test]
    fn valid_document_summary() {
        let doc = br#"{"version":{"major":5,"minor":3},
            "checkouts":[{"id":"o:c","origin":"o"}],
            "builds":[{"id":"o:b1","origin":"o","checkout_id":"o:c"},
                      {"id":"o:b2","origin":"o","checkout_id":"o:c"}]}"#;
        let (code, out, err) = run(doc);
        assert_eq!(code, exit_code::OK);
        assert_eq!(
            out,
            "r.json: valid KCIDB v5.3 (1 checkout, 2 builds, 0 tests, 0 issues, 0 incidents)\n"
        );
        assert_eq!(err, "");
    }

    #[test]
    fn one_line_per_violation() {
        let doc = br#"{"version":{"major":5},
            "builds":[{"id":"o:b","origin":"O","checkout_id":"o:c","valid":true}]}"#;
        let (code, out, err) = run(doc);
        assert_eq!(code, exit_code::INVALID);
        assert_eq!(out, "");
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 2, "{err}");
        assert!(lines[0].starts_with("r.json: /builds/0/origin: \"O\" is not a valid origin"));
        assert!(lines[1].starts_with("r.json: /builds/0/valid: builds have no \"valid\""));
    }

    #[test]
    fn not_json_names_position() {
        let (code, out, err) = run(b"{\"version\": {\"major\": 5},\n  oops}");
        assert_eq!(code, exit_code::INVALID);
        assert_eq!(out, "");
        assert_eq!(err.lines().count(), 1);
        assert!(err.starts_with("r.json: not valid JSON: "), "{err}");
        assert!(err.contains("line 2 column 3"), "{err}");
    }

    #[test]
    fn empty_and_nan_are_not_documents() {
        assert_eq!(run(b"").0, exit_code::INVALID);
        assert_eq!(run(b" \n").2, "r.json: empty file, not a KCIDB document\n");
        let (code, _, err) = run(
            br#"{"version":{"major":5},"builds":[{"id":"o:b","origin":"o","checkout_id":"o:c","duration":NaN}]}"#,
        );
        assert_eq!(code, exit_code::INVALID);
        assert!(err.contains("not valid JSON"), "{err}");
        assert!(err.contains("(NaN and Infinity are not JSON"), "{err}");
        let (_, _, err) = run(b"{\"version\": {\"major\": -Infinity}}");
        assert!(err.contains("(NaN and Infinity are not JSON"), "{err}");
    }
}
