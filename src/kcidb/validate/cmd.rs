//! The check behind `kcidb-harvest validate FILE…|-` (`crate::cmd`): a
//! KCIDB JSON input against v5.3, streamed in bounded memory (see
//! [`super::stream`] for the limits).

use std::io::{Read, Write};

use super::stream::{check_reader, Failure, SECTIONS};
use crate::exit_code;

/// Validate what `input` (the content of `name`) holds and report; returns
/// the exit code. Write errors (e.g. a closed pipe) are ignored: the exit
/// code still tells the verdict.
pub fn check_input(name: &str, input: impl Read, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let checked = match check_reader(input, &mut |_, _, _, _| Ok(())) {
        Ok(c) => c,
        Err(Failure::Read(e)) => {
            let _ = writeln!(err, "{name}: cannot read: {e}");
            return exit_code::USAGE;
        }
        Err(f) => {
            let _ = writeln!(err, "{name}: {f}");
            return exit_code::INVALID;
        }
    };
    if checked.is_valid() {
        let _ = writeln!(
            out,
            "{name}: valid KCIDB v5.3 ({})",
            summary(&checked.counts)
        );
        return exit_code::OK;
    }
    for v in &checked.violations {
        let _ = writeln!(err, "{name}: {v}");
    }
    if checked.omitted > 0 {
        let _ = writeln!(
            err,
            "{name}: … and {} more violations (only the first {} are shown)",
            checked.omitted,
            checked.violations.len()
        );
    }
    exit_code::INVALID
}

#[cfg(test)]
fn check_bytes(name: &str, bytes: &[u8], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    check_input(name, bytes, out, err)
}

/// "1 checkout, 2 builds, 0 tests, 0 issues, 0 incidents".
fn summary(counts: &[usize; 5]) -> String {
    ["checkout", "build", "test", "issue", "incident"]
        .iter()
        .zip(SECTIONS)
        .zip(counts)
        .map(|((one, key), &n)| {
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

    /// The whole-document check this streaming one replaced: parse it all,
    /// then `validate_value`. Both must print the same.
    fn whole(bytes: &[u8]) -> (i32, String, String) {
        use crate::kcidb::validate_value;
        use serde_json::Value;
        let name = "r.json";
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return (
                exit_code::INVALID,
                String::new(),
                format!("{name}: empty file, not a KCIDB document\n"),
            );
        }
        let value: Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                let line = bytes.split(|&b| b == b'\n').nth(e.line().saturating_sub(1));
                let hint = line.is_some_and(|line| {
                    let at = &line[e.column().saturating_sub(1).min(line.len())..];
                    let at = at.strip_prefix(b"-").unwrap_or(at);
                    at.starts_with(b"NaN") || at.starts_with(b"Infinity")
                });
                let hint = if hint {
                    " (NaN and Infinity are not JSON; leave the field out)"
                } else {
                    ""
                };
                return (
                    exit_code::INVALID,
                    String::new(),
                    format!("{name}: not valid JSON: {e}{hint}\n"),
                );
            }
        };
        let violations = validate_value(&value);
        if violations.is_empty() {
            let mut counts = [0; 5];
            for (i, key) in SECTIONS.iter().enumerate() {
                counts[i] = value.get(key).and_then(Value::as_array).map_or(0, Vec::len);
            }
            let out = format!("{name}: valid KCIDB v5.3 ({})\n", summary(&counts));
            return (exit_code::OK, out, String::new());
        }
        let err: String = violations
            .iter()
            .map(|v| format!("{name}: {v}\n"))
            .collect();
        (exit_code::INVALID, String::new(), err)
    }

    fn same(bytes: &[u8]) {
        let (streamed, whole) = (run(bytes), whole(bytes));
        if streamed != whole {
            // serde_json's reader has read one byte past a number out of
            // range when it says so: the column is one more than with the
            // whole document in memory. The only difference known.
            let shift = |s: &str| s.replace("column 39", "column 38");
            if whole.2.contains("number out of range") && shift(&streamed.2) == whole.2 {
                return;
            }
        }
        assert_eq!(streamed, whole, "{}", String::from_utf8_lossy(bytes));
    }

    #[test]
    fn streaming_matches_the_whole_document_check() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut n = 0;
        for dir in [
            "ci/kcidb-check/valid",
            "ci/kcidb-check/invalid",
            "fixtures/golden",
        ] {
            for e in std::fs::read_dir(root.join(dir)).expect("corpus") {
                let p = e.expect("entry").path();
                if p.extension().is_some_and(|x| x == "json") {
                    let bytes = std::fs::read(&p).expect("read");
                    same(&bytes);
                    // Cut short anywhere: the same JSON error.
                    for cut in [1, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
                        same(&bytes[..cut]);
                    }
                    n += 1;
                }
            }
        }
        assert!(n > 50, "{n}");
        for doc in [
            &b""[..],
            b"\x0c",
            b" \x0c {",
            b"\n\n",
            b"[1,\nNaN]",
            b"[1 NaN]",
            b"[\n-\nInfinity]",
            b"[Nope]",
            b"{\"a\":-Inf}",
            b"5",
            b"-1.5",
            b"\"x\"",
            b"null",
            b"true",
            b"[]",
            b"{}",
            b"{} x",
            b"{}\n\n  ]",
            b"{\"version\":{\"major\":5}}  ",
            b"{\"version\":{\"major\":5},\"builds\":5}",
            b"{\"version\":{\"major\":5},\"builds\":null,\"tests\":\"x\",\"issues\":true,\"incidents\":-2.5}",
            b"{\"version\":{\"major\":5},\"builds\":[{\"id\":1}],\"builds\":[]}",
            b"{\"builds\":[{\"id\":1}],\"zz\":1,\"aa\":[1],\"builds\":[2,3]}",
            b"{\"version\":{\"major\":5},\"checkouts\":[{\"id\":\"o:c\",\"origin\":\"o\"}],\"checkouts\":[]}",
            b"{\"version\":5,\"a/b~\":1}",
            b"{\"version\":{\"major\":5},\"builds\":[{\"id\":\"o:b\",\"origin\":\"o\",\"checkout_id\":\"o:c\",\"misc\":{\"a\":1,\"a\":[]}}]}",
            b"{\"version\":{\"major\":5},\"builds\":[{\"s\":\"\xff\"}]}",
            b"{\"version\":{\"major\":5},\"builds\":[{\"s\":\"\\ud800\"}]}",
            b"{\"version\":{\"major\":5},\"builds\":[1e400]}",
            b"{\"version\":{\"major\":5},\"builds\":[18446744073709551616, -9223372036854775809]}",
            b"{\"version\":{\"major\":5.0, \"minor\": 3.0}}",
            b"{1:2}",
            b"\xef\xbb\xbf{}",
        ] {
            same(doc);
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        same(deep.as_bytes());
        let deep = format!(
            "{{\"version\":{{\"major\":5}},\"builds\":[{{\"misc\":{}{}}}]}}",
            "{\"a\":".repeat(130),
            "}".repeat(130)
        );
        same(deep.as_bytes());
    }

    #[test]
    fn limits_end_the_check_with_one_line() {
        let big = format!(
            "{{\"version\":{{\"major\":5}},\"builds\":[{{}},{{\"comment\":\"{}\"}}]}}",
            "x".repeat(super::super::stream::MAX_OBJECT_BYTES as usize)
        );
        let (code, out, err) = run(big.as_bytes());
        assert_eq!((code, out.as_str()), (exit_code::INVALID, ""));
        assert_eq!(
            err,
            "r.json: /builds/1: larger than 16 MiB of JSON, the most kcidb-harvest reads in one object\n"
        );
        let many = format!(
            "{{\"version\":{{\"major\":5}},\"tests\":[{{\"misc\":{{\"a\":[{}0]}}}}]}}",
            "0,".repeat(super::super::stream::MAX_OBJECT_VALUES)
        );
        let (code, _, err) = run(many.as_bytes());
        assert_eq!(code, exit_code::INVALID);
        assert_eq!(
            err,
            "r.json: /tests/0: more than 100000 JSON values, the most kcidb-harvest reads in one object\n"
        );
        let key = format!("{{\"{}\":1}}", "k".repeat(17 << 20));
        assert_eq!(
            run(key.as_bytes()).2,
            "r.json: /: larger than 16 MiB of JSON, the most kcidb-harvest reads in one object\n"
        );
        // Endless input: the input limit ends it (here 2 MiB; 512 MiB in use).
        use super::super::stream::check_limited;
        let spaces = std::io::repeat(b' ');
        let e = check_limited(spaces, &mut |_, _, _, _| Ok(()), 2 << 20).unwrap_err();
        assert_eq!(
            e.to_string(),
            "larger than 2 MiB, the most a KCIDB submission may be; not read further"
        );
        let doc = format!("{{\"version\":{{\"major\":5}}{}", " ".repeat(3 << 20));
        let e = check_limited(doc.as_bytes(), &mut |_, _, _, _| Ok(()), 2 << 20).unwrap_err();
        assert!(e.to_string().starts_with("larger than 2 MiB"), "{e}");
        let zeros = std::io::repeat(0);
        let (mut o, mut e) = (Vec::new(), Vec::new());
        assert_eq!(check_input("z", zeros, &mut o, &mut e), exit_code::INVALID);
        assert_eq!(
            String::from_utf8_lossy(&e),
            "z: not valid JSON: expected value at line 1 column 1\n"
        );
    }

    #[test]
    fn many_violations_are_counted_past_the_limit() {
        let items = vec!["1"; 50_500].join(",");
        let doc = format!("{{\"version\":{{\"major\":5}},\"builds\":[{items}]}}");
        let (code, _, err) = run(doc.as_bytes());
        assert_eq!(code, exit_code::INVALID);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 50_001);
        assert_eq!(
            lines[50_000],
            "r.json: … and 500 more violations (only the first 50000 are shown)"
        );
    }
}
