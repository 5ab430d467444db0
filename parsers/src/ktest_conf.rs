//! `ktest.conf` as written by test_stable_ssh (docs/inputs.md#the-generated-ktest-configuration), read
//! with ktest.pl's own rules: `KEY = value` (any spacing, also `TMP_DIR= …`),
//! `TEST_START` and `DEFAULTS` sections, values trimmed, `${VAR}` left
//! unexpanded (ktest expands `${PWD}` at run time; the effective values are
//! in the options dump of linux/log, see [`crate::ktest_log`]).
//!
//! Emitted keys (`ktest_conf.<KEY>`, see [`keys::KTEST_CONF_PREFIX`]):
//! options of DEFAULTS sections (and of the lines before any section, which
//! ktest treats as defaults) in file order, then the options of the first
//! test (the first `TEST_START` section, or an explicit `KEY[1] = …`),
//! which override the defaults for that test exactly as in ktest. Options
//! of later tests keep ktest's per-test name: `ktest_conf.<KEY>[n]` (test
//! numbers count `ITERATE` repeats as ktest does).
//!
//! Like ktest, a line containing `#` anywhere is a comment (ktest ignores
//! the whole line, so `KEY = v # note` sets nothing: a note says so).
//! Sections with `SKIP` are ignored; `IF`/`ELSE` sections cannot be
//! evaluated without ktest's variables and are skipped with a note;
//! `INCLUDE` is not followed (note); `KEY := value` config variables and
//! `KEY =~ …` evaluations are not options and are not emitted.

use crate::keys;
use crate::{Facts, Input, ParseError, Parser};

/// ktest.conf larger than this is not a ktest.conf.
const MAX_SIZE: u64 = 1 << 20;

/// The generated ktest configuration file.
pub struct KtestConf;

impl Parser for KtestConf {
    fn id(&self) -> &'static str {
        "ktest-conf"
    }
    fn description(&self) -> &'static str {
        "ktest.conf: KEY = value options of DEFAULTS and the first TEST_START section (BUILD_TYPE, MAKE_CMD, MACHINE, TMP_DIR, ...), as written"
    }
    fn inputs(&self) -> &'static [&'static str] {
        &["ktest.conf"]
    }
    fn parse(&self, input: &Input, facts: &mut Facts) -> Result<(), ParseError> {
        let Some((name, text)) = input.read_text_file("ktest.conf", MAX_SIZE, facts)? else {
            return Ok(());
        };
        parse_text(&name, &text, facts);
        Ok(())
    }
}

/// One option line.
struct Opt {
    key: String,
    /// `None`: a default; `Some(n)`: test n.
    test: Option<u64>,
    value: String,
    line: u64,
}

/// The section being read.
struct Section {
    default: bool,
    test: u64,
    skip: bool,
    over: bool,
}

/// Parse the text of a ktest.conf named `file` into `facts`.
pub fn parse_text(file: &str, text: &str, facts: &mut Facts) {
    let mut opts: Vec<Opt> = Vec::new();
    let mut test_num: u64 = 0;
    let mut repeat: u64 = 1;
    let mut sec = Section {
        default: true,
        test: 0,
        skip: false,
        over: false,
    };
    for (i, raw) in text.split('\n').enumerate() {
        let n = i as u64 + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if line.contains('#') {
            if !t.starts_with('#') && option_parts(t).is_some() {
                facts.note(
                    file,
                    Some(n),
                    "ktest ignores this whole line because it contains `#`",
                );
            }
            continue;
        }
        if let Some((kind, rest)) = section_header(t) {
            let mut skip = false;
            let mut words = rest.split_whitespace().peekable();
            let mut iterate: Option<u64> = None;
            let mut over = false;
            while let Some(w) = words.next() {
                match w {
                    "SKIP" => skip = true,
                    "OVERRIDE" if kind == "DEFAULTS" => over = true,
                    "ITERATE" if kind == "TEST_START" => {
                        iterate = words.next().and_then(|x| x.parse().ok());
                        if iterate.is_none() {
                            facts.note(file, Some(n), "ITERATE without a count");
                        }
                    }
                    "IF" | "ELSE" => {
                        facts.note(
                            file,
                            Some(n),
                            "conditional section (IF/ELSE) not evaluated: its options are skipped",
                        );
                        skip = true;
                        break;
                    }
                    other => {
                        facts.note(
                            file,
                            Some(n),
                            format!("unexpected `{other}` after {kind} (ktest refuses this)"),
                        );
                    }
                }
            }
            if kind == "TEST_START" {
                if !skip {
                    test_num = test_num.saturating_add(repeat);
                    repeat = iterate.filter(|r| *r > 0).unwrap_or(1);
                }
                sec = Section {
                    default: false,
                    test: test_num.max(1),
                    skip,
                    over: false,
                };
            } else {
                sec = Section {
                    default: true,
                    test: 0,
                    skip,
                    over,
                };
            }
            continue;
        }
        if t == "ELSE" || t.starts_with("ELSE ") {
            facts.note(
                file,
                Some(n),
                "conditional section (ELSE) not evaluated: its options are skipped",
            );
            sec.skip = true;
            continue;
        }
        if let Some(rest) = t.strip_prefix("INCLUDE") {
            if rest.starts_with(char::is_whitespace) {
                facts.note(
                    file,
                    Some(n),
                    format!("INCLUDE {} not followed", rest.trim()),
                );
                continue;
            }
        }
        let Some((key, op, value)) = option_parts(t) else {
            facts.note(file, Some(n), "not a ktest.conf line (ktest refuses this)");
            continue;
        };
        if op != "=" || sec.skip {
            // `:=` config variables and `=~` evaluations are not options.
            continue;
        }
        let (name, index) = split_index(key);
        let test = match index {
            Some(idx) => Some(idx),
            None if sec.default => None,
            None => Some(sec.test),
        };
        let dup = opts.iter().any(|o| o.key == name && o.test == test);
        if dup && !(sec.default && sec.over) {
            facts.note(
                file,
                Some(n),
                format!("option {key} defined more than once (ktest refuses this); the last value is kept"),
            );
        }
        opts.push(Opt {
            key: name.to_string(),
            test,
            value: value.to_string(),
            line: n,
        });
    }
    for o in opts.iter().filter(|o| o.test.is_none()) {
        facts.push(
            format!("{}{}", keys::KTEST_CONF_PREFIX, o.key),
            o.value.as_str(),
            file,
            Some(o.line),
        );
    }
    for o in &opts {
        let key = match o.test {
            None => continue,
            Some(1) => format!("{}{}", keys::KTEST_CONF_PREFIX, o.key),
            Some(t) => format!("{}{}[{t}]", keys::KTEST_CONF_PREFIX, o.key),
        };
        facts.push(key, o.value.as_str(), file, Some(o.line));
    }
}

/// `TEST_START …` / `DEFAULTS …` (word boundary after the keyword).
fn section_header(t: &str) -> Option<(&'static str, &str)> {
    for kind in ["TEST_START", "DEFAULTS"] {
        if let Some(rest) = t.strip_prefix(kind) {
            if rest.is_empty() || rest.starts_with(char::is_whitespace) {
                return Some((kind, rest));
            }
        }
    }
    None
}

/// `KEY = value`, `KEY := value`, `KEY =~ value` (ktest's `[A-Z_\[\]\d]+`
/// key, any spacing): `(key, operator, trimmed value)`.
fn option_parts(t: &str) -> Option<(&str, &'static str, &str)> {
    let end = t
        .find(|c: char| {
            !(c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '_' | '[' | ']'))
        })
        .unwrap_or(t.len());
    if end == 0 {
        return None;
    }
    let key = &t[..end];
    let rest = t[end..].trim_start();
    for op in ["=~", ":=", "="] {
        if let Some(v) = rest.strip_prefix(op) {
            return Some((key, op, v.trim()));
        }
    }
    None
}

/// `KEY[3]` -> (`KEY`, Some(3)); anything else is a plain key.
fn split_index(key: &str) -> (&str, Option<u64>) {
    if let Some(open) = key.find('[') {
        if let Some(idx) = key[open + 1..].strip_suffix(']') {
            if let Ok(n) = idx.parse::<u64>() {
                if !key[..open].is_empty() {
                    return (&key[..open], Some(n));
                }
            }
        }
    }
    (key, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::check_fixtures;

    fn parse(text: &str) -> Facts {
        let mut f = Facts::new();
        parse_text("ktest.conf", text, &mut f);
        f
    }

    fn get<'a>(f: &'a Facts, key: &str) -> Option<&'a str> {
        f.str(&format!("ktest_conf.{key}")).map(|x| x.0)
    }

    const GREG_2026: &str = "TEST_START\nTEST_TYPE = build\n\nDEFAULTS\nBUILD_TYPE = allmodconfig\n\
OUTPUT_DIR = ${PWD}/output\nLOG_FILE = ${PWD}/log\nLOCALVERSION = -test\nBUILD_OPTIONS = -j32\n\
MACHINE = bob\nBUILD_DIR = ${PWD}\nTMP_DIR= /dev/shm/stable_test_6.1_Ab3dE\nMIN_CONFIG = ../min_config\n\
MAKE_CMD = KBUILD_BUILD_TIMESTAMP='' make CC=\"ccache gcc-15\"\n";

    #[test]
    fn current_generated_file() {
        let f = parse(GREG_2026);
        assert_eq!(get(&f, "TEST_TYPE"), Some("build"));
        assert_eq!(get(&f, "BUILD_TYPE"), Some("allmodconfig"));
        assert_eq!(get(&f, "OUTPUT_DIR"), Some("${PWD}/output"));
        assert_eq!(get(&f, "TMP_DIR"), Some("/dev/shm/stable_test_6.1_Ab3dE"));
        assert_eq!(
            get(&f, "MAKE_CMD"),
            Some("KBUILD_BUILD_TIMESTAMP='' make CC=\"ccache gcc-15\"")
        );
        assert_eq!(f.items().len(), 11);
        assert!(f.notes.is_empty(), "{:?}", f.notes);
        let loc = f.last("ktest_conf.TMP_DIR").map(|x| x.loc.to_string());
        assert_eq!(loc.as_deref(), Some("ktest.conf:12"));
        // TEST_START options come after the defaults so that they win.
        assert_eq!(
            f.items().last().map(|x| x.key.as_str()),
            Some("ktest_conf.TEST_TYPE")
        );
    }

    #[test]
    fn per_test_overrides_and_iterate() {
        let f = parse(
            "DEFAULTS\nBUILD_TYPE = allmodconfig\nMACHINE=aws\n\nTEST_START ITERATE 3\n\
BUILD_TYPE = defconfig\n\nTEST_START\nBUILD_TYPE = tinyconfig\nTEST_START SKIP\nBUILD_TYPE = x\n\
DEFAULTS\nBUILD_NOCLEAN[1] = 1\nCLEAR_LOG[7] = 1\n",
        );
        assert_eq!(get(&f, "BUILD_TYPE"), Some("defconfig"));
        assert_eq!(get(&f, "BUILD_TYPE[4]"), Some("tinyconfig"));
        assert_eq!(get(&f, "MACHINE"), Some("aws"));
        assert_eq!(get(&f, "BUILD_NOCLEAN"), Some("1"));
        assert_eq!(get(&f, "CLEAR_LOG[7]"), Some("1"));
        assert!(f.all("ktest_conf.BUILD_TYPE").all(|x| x.value != "x"));
        assert!(f.notes.is_empty(), "{:?}", f.notes);
    }

    #[test]
    fn comments_variables_and_oddities() {
        let f = parse("# a comment\r\n  # indented\r\nBUILD_DIR := /x\r\nMAKE_CMD = make # not an option\r\n\
LOG_FILE =~ s/a/b/\r\nINCLUDE other.conf\r\ngarbage here\r\nTHIS_IS_OK   =   spaced value  \r\n\
MACHINE = a\r\nMACHINE = b\r\nDEFAULTS IF ${X}\r\nBUILD_TYPE = skipped\r\nDEFAULTS OVERRIDE\r\nMACHINE = c\r\n");
        assert_eq!(get(&f, "BUILD_DIR"), None);
        assert_eq!(get(&f, "MAKE_CMD"), None);
        assert_eq!(get(&f, "LOG_FILE"), None);
        assert_eq!(get(&f, "BUILD_TYPE"), None);
        assert_eq!(get(&f, "THIS_IS_OK"), Some("spaced value"));
        assert_eq!(get(&f, "MACHINE"), Some("c"));
        let notes: Vec<&str> = f.notes.iter().map(|n| n.message.as_str()).collect();
        assert_eq!(notes.len(), 5, "{notes:?}");
        assert!(notes[0].contains('#'));
        assert!(notes[1].contains("INCLUDE other.conf"));
        assert!(notes[2].contains("not a ktest.conf line"));
        assert!(notes[3].contains("more than once"));
        assert!(notes[4].contains("conditional"));
    }

    #[test]
    fn fixtures() {
        assert!(check_fixtures(&KtestConf) >= 3);
    }

    proptest::proptest! {
        // Generating the structured inputs is slow in debug builds.
        #![proptest_config(proptest::test_runner::Config::with_cases(128))]

        #[test]
        fn never_panics_on_any_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            let mut f = Facts::new();
            parse_text("ktest.conf", &String::from_utf8_lossy(&bytes), &mut f);
        }

        #[test]
        fn never_panics_on_conf_like_lines(lines in proptest::collection::vec(
            "(TEST_START|DEFAULTS)?( ITERATE| SKIP| OVERRIDE| IF| ELSE| [0-9]{1,22}){0,4}|[A-Z_\\[\\]0-9]{0,8} *(=|:=|=~)? *.{0,5}|ELSE.{0,3}|INCLUDE.{0,3}|.{0,6}",
            0..30)) {
            let mut f = Facts::new();
            parse_text("ktest.conf", &lines.join("\n"), &mut f);
        }
    }
}
