//! `commit.txt`: the base commit, written by a modified `run_test.sh` right
//! after the clone (`git rev-parse HEAD > commit.txt`).
//!
//! The file is a user-facing input: it exists because someone wanted to
//! state the commit, so anything but one 40-hex SHA-1 (surrounding
//! whitespace and blank lines tolerated, upper case normalised) is a
//! [`ParseError`] naming the file and line rather than a silent skip.
//!
//! Emits [`keys::COMMIT_TXT`].

use crate::{keys, Facts, Input, ParseError, Parser};

/// The file this parser reads, relative to the result directory.
pub const COMMIT_TXT_FILE: &str = "commit.txt";

/// Bytes read at most; a longer file cannot be a single hash.
const LIMIT: u64 = 64 * 1024;

/// `commit.txt` parser.
pub struct CommitTxt;

impl Parser for CommitTxt {
    fn id(&self) -> &'static str {
        "commit-txt"
    }
    fn description(&self) -> &'static str {
        "commit.txt: the base commit recorded right after the clone (one 40-hex SHA-1)"
    }
    fn inputs(&self) -> &'static [&'static str] {
        &[COMMIT_TXT_FILE]
    }
    fn parse(&self, input: &Input, facts: &mut Facts) -> Result<(), ParseError> {
        let Some((name, text)) = input.read_small(COMMIT_TXT_FILE, LIMIT)? else {
            return Ok(());
        };
        if text.len() as u64 >= LIMIT {
            return Err(ParseError::syntax(
                &name,
                None,
                format!("larger than {LIMIT} bytes; expected one 40-hex commit hash"),
            ));
        }
        let (line, sha) =
            parse_commit(&text).map_err(|(line, msg)| ParseError::syntax(&name, line, msg))?;
        facts.push(keys::COMMIT_TXT, sha, &name, Some(line));
        Ok(())
    }
}

/// Parse the text of `commit.txt`: exactly one non-blank line holding a
/// 40-hex SHA-1. Returns its 1-based line number and the lower-case hash,
/// or the line (if any) and a message.
pub fn parse_commit(text: &str) -> Result<(u64, String), (Option<u64>, String)> {
    let mut found: Option<(u64, String)> = None;
    for (idx, raw) in text.lines().enumerate() {
        let lineno = idx as u64 + 1;
        let line = trim_line(raw);
        if line.is_empty() {
            continue;
        }
        if found.is_some() {
            return Err((
                Some(lineno),
                format!(
                    "unexpected second value `{}`; expected only one commit hash",
                    shorten(line)
                ),
            ));
        }
        match normalize_sha1(line) {
            Some(sha) if sha.bytes().all(|b| b == b'0') => {
                return Err((
                    Some(lineno),
                    "a hash of all zeros is not a commit".to_string(),
                ))
            }
            Some(sha) => found = Some((lineno, sha)),
            None => {
                return Err((
                    Some(lineno),
                    format!(
                        "expected a 40-hex-digit commit hash, found `{}`",
                        shorten(line)
                    ),
                ))
            }
        }
    }
    found.ok_or((
        None,
        "empty; expected a 40-hex-digit commit hash".to_string(),
    ))
}

/// Trim whitespace and a leading byte-order mark (editors on other systems
/// add one).
pub(crate) fn trim_line(s: &str) -> &str {
    s.trim_start_matches('\u{feff}').trim()
}

/// A full SHA-1 in lower case, or `None` when `s` is not exactly 40 hex
/// digits. Upper-case digits are accepted and normalised.
pub(crate) fn normalize_sha1(s: &str) -> Option<String> {
    if s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Some(s.to_ascii_lowercase())
    } else {
        None
    }
}

/// Quote a possibly long or unprintable value in a message: at most 80
/// characters, control characters escaped.
pub(crate) fn shorten(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == 80 {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::check_fixtures;
    use proptest::prelude::*;

    const SHA: &str = "19463f7e3ad6bee028585a29c8f9bd10fc6bcab6";

    #[test]
    fn accepted_forms() {
        let upper = SHA.to_ascii_uppercase();
        let cases: &[(&str, u64)] = &[
            ("19463f7e3ad6bee028585a29c8f9bd10fc6bcab6\n", 1),
            ("19463f7e3ad6bee028585a29c8f9bd10fc6bcab6", 1),
            ("  19463f7e3ad6bee028585a29c8f9bd10fc6bcab6  \r\n", 1),
            ("\n\n19463f7e3ad6bee028585a29c8f9bd10fc6bcab6\n\n", 3),
            ("\u{feff}19463f7e3ad6bee028585a29c8f9bd10fc6bcab6\r\n", 1),
            (&upper, 1),
        ];
        for (text, line) in cases {
            assert_eq!(
                parse_commit(text),
                Ok((*line, SHA.to_string())),
                "input {text:?}"
            );
        }
    }

    #[test]
    fn rejected_forms_name_the_line() {
        let cases: &[(&str, Option<u64>, &str)] = &[
            ("", None, "empty"),
            (" \n\t\n", None, "empty"),
            ("19463f7e3ad6\n", Some(1), "40-hex"),
            ("\nv6.1.192\n", Some(2), "found `v6.1.192`"),
            (
                "19463f7e3ad6bee028585a29c8f9bd10fc6bcab6 HEAD\n",
                Some(1),
                "40-hex",
            ),
            (
                "19463f7e3ad6bee028585a29c8f9bd10fc6bcab6\n19463f7e3ad6bee028585a29c8f9bd10fc6bcab6\n",
                Some(2),
                "second value",
            ),
            (
                "19463f7e3ad6bee028585a29c8f9bd10fc6bcabg\n",
                Some(1),
                "40-hex",
            ),
        ];
        for (text, line, needle) in cases {
            let (l, msg) = parse_commit(text).expect_err(text);
            assert_eq!(l, *line, "input {text:?}");
            assert!(msg.contains(needle), "{msg:?} lacks {needle:?}");
        }
    }

    #[test]
    fn error_names_file_and_line() {
        let dir = crate::testutil::fixtures_root().join("commit-txt/bad-short");
        let input = crate::testutil::fixture_input(&dir);
        let err = CommitTxt
            .parse(&input, &mut Facts::new())
            .expect_err("short hash is an error");
        assert!(err.to_string().starts_with("`commit.txt`:1:"), "{err}");
    }

    #[test]
    fn missing_file_gives_no_facts() {
        let input = Input::new(crate::testutil::fixtures_root().join("does-not-exist"));
        let mut facts = Facts::new();
        CommitTxt
            .parse(&input, &mut facts)
            .expect("no file is fine");
        assert!(facts.items().is_empty());
    }

    #[test]
    fn shorten_escapes_and_cuts() {
        assert_eq!(shorten("a\tb"), "a\\tb");
        assert_eq!(shorten(&"x".repeat(100)).chars().count(), 81);
    }

    #[test]
    fn fixtures() {
        assert!(check_fixtures(&CommitTxt) >= 4);
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = parse_commit(&text);
        }

        #[test]
        fn any_sha_round_trips(sha in "[0-9a-fA-F]{40}", pad in "[ \t\r\n]{0,4}") {
            let text = format!("{pad}{sha}{pad}\n");
            let (_, got) = parse_commit(&text).expect("valid sha parses");
            prop_assert_eq!(got, sha.to_ascii_lowercase());
        }
    }
}
