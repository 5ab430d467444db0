//! Run a layout's parsers over one directory and apply the fix-ups that
//! need the facts of several parsers: the one entry point from an
//! [`Input`] to the [`Facts`] the merge reads.
//!
//! In order:
//!
//! 1. each parser id of the layout, in the layout's order (an id that is
//!    not a parser of [`crate::PARSERS`] is skipped); a parser that fails
//!    stops the collection with a [`CollectError`], unless `rescued` names
//!    the override that gives what the parser would have read: then the
//!    error becomes a warning and the other parsers go on;
//! 2. every link the directory's gate refused becomes a warning;
//! 3. what the bounds of [`Facts`] dropped becomes notes;
//! 4. ktest framing seen only on ktest's stdout stands in for the build
//!    log's ([`promote_output_log_framing`]);
//! 5. without a build log hash, `output_log`'s bytes give
//!    [`keys::LOG_SHA256`] ([`hash_output_log`]).

use crate::digest::sha256_reader;
use crate::{keys, Fact, Facts, Input, ParseError};

/// A parser failed and no override stands in for it.
#[derive(Debug, thiserror::Error)]
#[error("{source}")]
pub struct CollectError {
    /// The id of the parser that failed (`commit-txt`).
    pub parser: &'static str,
    #[source]
    pub source: ParseError,
}

/// Run `parser_ids` over `input` in order and apply the fix-ups (see the
/// module documentation). `rescued(id)` is the override flag (e.g.
/// `--git-commit-hash`) that gives the value parser `id` would have read,
/// if the user gave it.
pub fn collect(
    parser_ids: &[&str],
    input: &Input,
    rescued: &dyn Fn(&str) -> Option<&'static str>,
) -> Result<Facts, CollectError> {
    let mut facts = Facts::new();
    for id in parser_ids {
        let Some(parser) = crate::parser(id) else {
            continue;
        };
        if let Err(source) = parser.parse(input, &mut facts) {
            let Some(flag) = rescued(parser.id()) else {
                return Err(CollectError {
                    parser: parser.id(),
                    source,
                });
            };
            facts.warn(
                "",
                None,
                format!("{source} (not used: {flag} gives the value)"),
            );
        }
    }
    finish(input, &mut facts);
    Ok(facts)
}

/// Steps 2 to 5, once every parser ran.
fn finish(input: &Input, facts: &mut Facts) {
    for r in input.refusals() {
        facts.warn(&r.name, None, r.reason);
    }
    for n in facts.bound_notes() {
        facts.note("", None, n);
    }
    promote_output_log_framing(facts);
    hash_output_log(input, facts);
}

/// ktest prints its framing both into the log and on stdout (into
/// `output_log`, as `output_log.ktest.*` facts). When the build log has no
/// framing (a partial copy with only `output_log`), the stdout copy stands
/// in as `ktest.*`; `Caught Sig Int` only ever reaches stderr, so
/// `ktest.interrupted` is taken from `output_log` whenever the log lacks it.
pub fn promote_output_log_framing(facts: &mut Facts) {
    let log_has_framing = facts.has(keys::KTEST_RUNS);
    let promoted: Vec<Fact> = facts
        .items()
        .iter()
        .filter_map(|f| {
            let rest = f.key.strip_prefix(keys::OUTPUT_KTEST_PREFIX)?;
            let key = format!("ktest.{rest}");
            let take = !log_has_framing || (key == keys::KTEST_INTERRUPTED && !facts.has(&key));
            take.then(|| Fact {
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

/// No build log hash (no build log): the run id follows `output_log`'s
/// (decompressed) bytes instead. An unreadable `output_log` gives none.
pub fn hash_output_log(input: &Input, facts: &mut Facts) {
    if facts.has(keys::LOG_SHA256) {
        return;
    }
    let Ok(Some(opened)) = input.open("output_log") else {
        return;
    };
    if let Ok(sha) = sha256_reader(opened.reader) {
        facts.push(keys::LOG_SHA256, sha, "output_log", None);
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    use super::*;
    use crate::digest::sha256_hex;

    const GOOD_COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

    fn dir() -> tempfile::TempDir {
        tempfile::tempdir().expect("tempdir")
    }

    fn write(root: &Path, rel: &str, bytes: &[u8]) {
        let p = root.join(rel);
        if let Some(d) = p.parent() {
            fs::create_dir_all(d).expect("mkdir");
        }
        fs::write(p, bytes).expect("write");
    }

    fn none(_: &str) -> Option<&'static str> {
        None
    }

    const KTEST_STDOUT: &str = "Starting to test kernel version 6.1\n\n\
STARTING AUTOMATED TESTS\n\nDEFAULT OPTIONS:\nMAKE_CMD = make\nOUTPUT_DIR = /o\nBUILD_OPTIONS = -j2\n\n\
RUNNING TEST 1 of 1 with option build tinyconfig\n\n\
make O=/o mrproper ... [1 second] SUCCESS\nmake O=/o -j2 ... [9 seconds] FAILED!\n\
CRITICAL FAILURE... [TEST 1] failed build\n See /x/linux/log for more info.\nfailed build\nKTEST_RUN = 255\n";

    #[test]
    fn parsers_run_in_the_given_order_and_unknown_ids_are_skipped() {
        let d = dir();
        write(
            d.path(),
            "commit.txt",
            format!("{GOOD_COMMIT}\n").as_bytes(),
        );
        write(d.path(), "output_log", KTEST_STDOUT.as_bytes());
        let input = Input::new(d.path());
        let facts = collect(
            &["output-log", "no-such-parser", "commit-txt"],
            &input,
            &none,
        )
        .expect("collect");
        let first_output = facts
            .items()
            .iter()
            .position(|f| f.loc.file == "output_log");
        let first_commit = facts
            .items()
            .iter()
            .position(|f| f.loc.file == "commit.txt");
        assert!(first_output.is_some() && first_commit.is_some());
        assert!(first_output < first_commit, "output-log ran first");
        assert!(facts.warnings.is_empty(), "{:?}", facts.warnings);
    }

    #[test]
    fn a_failing_parser_is_an_error_naming_it_unless_rescued() {
        let d = dir();
        write(d.path(), "commit.txt", b"19463f7e3ad6\n");
        write(d.path(), "output_log", KTEST_STDOUT.as_bytes());
        let input = Input::new(d.path());
        let err = collect(&["output-log", "commit-txt"], &input, &none).expect_err("refused");
        assert_eq!(err.parser, "commit-txt");
        assert!(matches!(err.source, ParseError::Syntax { .. }));
        assert!(err.to_string().contains("commit.txt"), "{err}");

        let rescue = |id: &str| (id == "commit-txt").then_some("--git-commit-hash");
        let facts = collect(&["commit-txt", "output-log"], &input, &rescue).expect("rescued");
        assert_eq!(facts.warnings.len(), 1, "{:?}", facts.warnings);
        let w = facts.warnings[0].to_string();
        assert!(
            w.starts_with("`commit.txt`:1: ")
                && w.ends_with("(not used: --git-commit-hash gives the value)"),
            "{w}"
        );
        // the parsers after the rescued one still ran
        assert!(facts.has(keys::KTEST_EXIT));
    }

    #[test]
    fn refused_links_become_warnings() {
        let d = dir();
        std::os::unix::fs::symlink("/etc/hostname", d.path().join("output_log")).expect("link");
        let input = Input::new(d.path());
        let facts = collect(&["output-log"], &input, &none).expect("collect");
        assert_eq!(facts.warnings.len(), 1, "{:?}", facts.warnings);
        assert_eq!(facts.warnings[0].loc.file, "output_log");
        assert!(
            !facts.has(keys::LOG_SHA256),
            "a refused output_log is not hashed"
        );
    }

    #[test]
    fn output_log_framing_stands_in_when_the_log_has_none() {
        let d = dir();
        write(d.path(), "output_log", KTEST_STDOUT.as_bytes());
        let input = Input::new(d.path());
        let facts = collect(&["output-log"], &input, &none).expect("collect");
        assert!(facts.has("output_log.ktest.runs"));
        assert_eq!(facts.int(keys::KTEST_RUNS).map(|x| x.0), Some(1));
        assert_eq!(
            facts
                .str(keys::KTEST_CRITICAL)
                .map(|(v, l)| (v, l.file.as_str())),
            Some(("failed build", "output_log"))
        );
        assert_eq!(
            facts.str(keys::KTEST_BUILD_COMMAND).map(|x| x.0),
            Some("make O=/o -j2")
        );
    }

    #[test]
    fn only_sig_int_is_promoted_over_the_logs_framing() {
        let mut facts = Facts::new();
        facts.push(keys::KTEST_RUNS, 1, "linux/log", Some(3));
        facts.push(keys::KTEST_CRITICAL, "failed build", "linux/log", Some(9));
        facts.push("output_log.ktest.runs", 1, "output_log", Some(3));
        facts.push("output_log.ktest.critical", "other", "output_log", Some(20));
        facts.push(
            "output_log.ktest.interrupted",
            "Caught Sig Int, test interrupted",
            "output_log",
            Some(21),
        );
        promote_output_log_framing(&mut facts);
        assert_eq!(facts.count(keys::KTEST_RUNS), 1);
        assert_eq!(
            facts.str(keys::KTEST_CRITICAL).map(|x| x.0),
            Some("failed build")
        );
        assert_eq!(
            facts
                .str(keys::KTEST_INTERRUPTED)
                .map(|(v, l)| (v, l.to_string())),
            Some((
                "Caught Sig Int, test interrupted",
                "output_log:21".to_string()
            ))
        );
        // the log's own interruption wins
        let mut facts = Facts::new();
        facts.push(keys::KTEST_RUNS, 1, "linux/log", Some(3));
        facts.push(
            keys::KTEST_INTERRUPTED,
            "from the log",
            "linux/log",
            Some(5),
        );
        facts.push(
            "output_log.ktest.interrupted",
            "from stdout",
            "output_log",
            Some(5),
        );
        promote_output_log_framing(&mut facts);
        assert_eq!(facts.count(keys::KTEST_INTERRUPTED), 1);
    }

    #[test]
    fn log_sha256_comes_from_the_build_log_else_from_output_log() {
        let d = dir();
        write(d.path(), "output_log", KTEST_STDOUT.as_bytes());
        let mut input = Input::new(d.path());
        let facts = collect(&["build-log", "output-log"], &input, &none).expect("collect");
        assert_eq!(
            facts
                .str(keys::LOG_SHA256)
                .map(|(v, l)| (v.to_string(), l.to_string())),
            Some((
                sha256_hex(KTEST_STDOUT.as_bytes()),
                "output_log".to_string()
            ))
        );

        let log = "STARTING AUTOMATED TESTS\nmake O=/o -j2 ... [9 seconds] SUCCESS\n";
        write(d.path(), "linux/log", log.as_bytes());
        input.log = Some("linux/log".into());
        let facts = collect(&["build-log", "output-log"], &input, &none).expect("collect");
        assert_eq!(facts.count(keys::LOG_SHA256), 1);
        assert_eq!(
            facts
                .str(keys::LOG_SHA256)
                .map(|(v, l)| (v.to_string(), l.file.clone())),
            Some((sha256_hex(log.as_bytes()), "linux/log".to_string()))
        );
    }

    #[test]
    fn a_gzip_output_log_is_hashed_decompressed() {
        use std::io::Write;
        let d = dir();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(KTEST_STDOUT.as_bytes()).expect("gzip");
        write(d.path(), "output_log.gz", &gz.finish().expect("gzip"));
        let input = Input::new(d.path());
        let mut facts = Facts::new();
        hash_output_log(&input, &mut facts);
        assert_eq!(
            facts.str(keys::LOG_SHA256).map(|x| x.0.to_string()),
            Some(sha256_hex(KTEST_STDOUT.as_bytes()))
        );
    }

    #[test]
    fn bound_notes_are_added_as_notes() {
        let d = dir();
        let input = Input::new(d.path());
        // No parser: no facts, no notes, no hash.
        let facts = collect(&[], &input, &none).expect("collect");
        assert!(facts.items().is_empty() && facts.notes.is_empty());
        // Facts that overflowed the key bound get the note.
        let mut f = Facts::new();
        for i in 0..=crate::facts::MAX_KEYS {
            f.push(format!("k{i}"), 1, "x", None);
        }
        let want = f.bound_notes();
        assert_eq!(want.len(), 1);
        finish(&input, &mut f);
        let got: Vec<String> = f.notes.iter().map(|n| n.to_string()).collect();
        assert_eq!(got, want);
    }
}
