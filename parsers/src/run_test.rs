//! `run_test.sh`, the script test_stable_ssh generates for the builder
//! (docs/inputs.md#the-run-script): `KERNEL_VERSION="<V>"`,
//! `STABLE_GIT="<path>"`, the `git clone … --branch <b> <src> linux` line,
//! how the queue is applied and the `<REMOTE>:` mail subject prefix.
//!
//! The script is read as shell, not by regex: each line is split into words
//! (quotes, escapes, `${VAR}`/`$VAR`/`${VAR:-default}` resolved from the
//! script's own plain assignments, `$(…)` and backticks kept literally),
//! commands are split on `;`, `&&`, `||`, `|`, `&`, and comments (a word
//! starting with `#`, so commented-out lines) are ignored. So the clone
//! options may come in any order (`-q -s`, `-b`, `--branch=`), and
//! `git clone … ${STABLE_GIT} linux` resolves to the mirror path.
//!
//! Apply method ([`keys::RUN_APPLY_METHOD`], one fact per active command, in
//! order): `git quiltimport` -> `quiltimport` (2017-12 on), `quilt push` ->
//! `quilt` (2012-2017, docker variant), `git pull <tree> <branch>` ->
//! `git-pull` plus [`keys::RUN_PULL`] (2018 `tt`/`pt` variants).

use std::collections::HashMap;

use crate::keys;
use crate::{Facts, Input, ParseError, Parser};

/// A run_test.sh larger than this is not a generated run_test.sh.
const MAX_SIZE: u64 = 1 << 20;

/// The generated builder script.
pub struct RunTest;

impl Parser for RunTest {
    fn id(&self) -> &'static str {
        "run-test-sh"
    }
    fn description(&self) -> &'static str {
        "run_test.sh: KERNEL_VERSION, STABLE_GIT, git clone branch and source, patch apply method (quiltimport, quilt, git pull), mail subject REMOTE prefix"
    }
    fn inputs(&self) -> &'static [&'static str] {
        &["run_test.sh"]
    }
    fn parse(&self, input: &Input, facts: &mut Facts) -> Result<(), ParseError> {
        let Some((name, text)) = input.read_text_file("run_test.sh", MAX_SIZE, facts)? else {
            return Ok(());
        };
        parse_text(&name, &text, facts);
        Ok(())
    }
}

/// A word or a command separator.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Word(String),
    Sep,
}

/// Parse the text of a run_test.sh named `file` into `facts`.
pub fn parse_text(file: &str, text: &str, facts: &mut Facts) {
    count_case(file, text, facts);
    let mut vars: HashMap<String, String> = HashMap::new();
    let mut remote_seen = false;
    for (i, raw) in text.split('\n').enumerate() {
        let n = i as u64 + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim_start().starts_with('#') {
            continue;
        }
        let toks = split_words(line, &vars);
        for cmd in toks.split(|t| *t == Tok::Sep) {
            let words: Vec<&str> = cmd
                .iter()
                .filter_map(|t| match t {
                    Tok::Word(w) => Some(w.as_str()),
                    Tok::Sep => None,
                })
                .collect();
            command(file, n, &words, &mut vars, &mut remote_seen, facts);
        }
    }
}

/// One simple command.
fn command(
    file: &str,
    n: u64,
    words: &[&str],
    vars: &mut HashMap<String, String>,
    remote_seen: &mut bool,
    facts: &mut Facts,
) {
    let mut w = words;
    // Shell keywords that can start a command on the same line.
    while let Some((first, rest)) = w.split_first() {
        if matches!(
            *first,
            "then" | "else" | "do" | "{" | "!" | "export" | "local" | "readonly"
        ) {
            w = rest;
        } else {
            break;
        }
    }
    let assigns = w.iter().take_while(|x| assignment(x).is_some()).count();
    let (env, rest) = w.split_at(assigns);
    if rest.is_empty() {
        // Plain assignments: shell variables.
        for a in env {
            if let Some((name, value)) = assignment(a) {
                match name {
                    "KERNEL_VERSION" => facts.push(keys::RUN_KERNEL_VERSION, value, file, Some(n)),
                    "STABLE_GIT" => facts.push(keys::RUN_STABLE_GIT, value, file, Some(n)),
                    "SUBJECT" if !*remote_seen => {
                        if let Some(remote) = subject_remote(value) {
                            *remote_seen = true;
                            facts.push(keys::RUN_REMOTE, remote, file, Some(n));
                        }
                    }
                    _ => {}
                }
                vars.insert(name.to_string(), value.to_string());
            }
        }
        return;
    }
    let rest = strip_redirections(rest);
    let Some((&prog, args)) = rest.split_first() else {
        return;
    };
    let prog = prog.rsplit('/').next().unwrap_or(prog);
    match prog {
        "git" => git(file, n, args, facts),
        "quilt" if args.first() == Some(&"push") => {
            facts.push(keys::RUN_APPLY_METHOD, "quilt", file, Some(n));
        }
        "mutt" | "mail" if !*remote_seen => {
            let subject = args
                .iter()
                .position(|a| *a == "-s")
                .and_then(|p| args.get(p + 1));
            if let Some(remote) = subject.and_then(|s| subject_remote(s)) {
                *remote_seen = true;
                facts.push(keys::RUN_REMOTE, remote, file, Some(n));
            }
        }
        _ => {}
    }
}

/// How the script's `grep --count … "warning:"` treats case: `-i` (or
/// `--ignore-case`, or `-ci`) since 2018, none in the 2016-2018 scripts.
fn count_case(file: &str, text: &str, facts: &mut Facts) {
    for (i, line) in text.lines().enumerate() {
        let code = line.split('#').next().unwrap_or("");
        if !code.contains("grep") || !code.contains("warning:") {
            continue;
        }
        let words: Vec<&str> = code.split_whitespace().collect();
        let insensitive = words.iter().any(|w| {
            *w == "-i"
                || *w == "--ignore-case"
                || (w.starts_with('-') && !w.starts_with("--") && w.contains('i'))
        });
        let case = if insensitive {
            "insensitive"
        } else {
            "sensitive"
        };
        facts.push(keys::RUN_COUNT_CASE, case, file, Some(i as u64 + 1));
        return;
    }
}

/// `git [global options] <subcommand> …`.
fn git(file: &str, n: u64, args: &[&str], facts: &mut Facts) {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        match *a {
            "-C" | "-c" | "--git-dir" | "--work-tree" | "--namespace" => i += 2,
            x if x.starts_with('-') => i += 1,
            _ => break,
        }
    }
    let Some(sub) = args.get(i) else {
        return;
    };
    let rest = &args[i + 1..];
    match *sub {
        "clone" => clone(file, n, rest, facts),
        "quiltimport" => facts.push(keys::RUN_APPLY_METHOD, "quiltimport", file, Some(n)),
        "pull" => {
            facts.push(keys::RUN_APPLY_METHOD, "git-pull", file, Some(n));
            let what: Vec<&str> = rest
                .iter()
                .copied()
                .filter(|a| !a.starts_with('-'))
                .collect();
            if !what.is_empty() {
                facts.push(keys::RUN_PULL, what.join(" "), file, Some(n));
            }
        }
        _ => {}
    }
}

/// `git clone` options that take the next word as their value.
const CLONE_ARG_OPTS: &[&str] = &[
    "-o",
    "--origin",
    "-c",
    "--config",
    "--depth",
    "--reference",
    "--reference-if-able",
    "-u",
    "--upload-pack",
    "--template",
    "--separate-git-dir",
    "-j",
    "--jobs",
    "--shallow-since",
    "--shallow-exclude",
    "--filter",
    "--server-option",
    "--bundle-uri",
    "--ref-format",
];

/// `git clone [options] <src> [<dir>]`.
fn clone(file: &str, n: u64, args: &[&str], facts: &mut Facts) {
    let mut branch: Option<&str> = None;
    let mut positional: Vec<&str> = Vec::new();
    let mut i = 0;
    let mut opts_done = false;
    while let Some(a) = args.get(i).copied() {
        i += 1;
        if opts_done || !a.starts_with('-') || a == "-" {
            positional.push(a);
            continue;
        }
        if a == "--" {
            opts_done = true;
        } else if a == "-b" || a == "--branch" {
            branch = args.get(i).copied();
            i += 1;
        } else if let Some(b) = a.strip_prefix("--branch=") {
            branch = Some(b);
        } else if let Some(b) = a.strip_prefix("-b") {
            branch = Some(b);
        } else if CLONE_ARG_OPTS.contains(&a) {
            i += 1;
        }
    }
    if let Some(b) = branch {
        facts.push(keys::RUN_CLONE_BRANCH, b, file, Some(n));
        if b.contains('$') {
            facts.note(
                file,
                Some(n),
                format!("clone branch `{b}` has an unresolved variable"),
            );
        }
    }
    if let Some(src) = positional.first() {
        facts.push(keys::RUN_CLONE_SOURCE, *src, file, Some(n));
        if src.contains('$') {
            facts.note(
                file,
                Some(n),
                format!("clone source `{src}` has an unresolved variable"),
            );
        }
    }
}

/// `NAME=value` (value already expanded by [`split_words`]).
fn assignment(word: &str) -> Option<(&str, &str)> {
    let (name, value) = word.split_once('=')?;
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then_some((name, value))
}

/// `<REMOTE>: Build of …` -> `<REMOTE>` (the 2025+ subject prefix).
fn subject_remote(subject: &str) -> Option<&str> {
    let (remote, rest) = subject.split_once(": ")?;
    (rest.starts_with("Build of ") && !remote.is_empty() && !remote.contains(char::is_whitespace))
        .then_some(remote)
}

/// Drop `>`, `2>&1`, `< file`, `>/dev/null`, … and their targets.
fn strip_redirections<'a>(words: &[&'a str]) -> Vec<&'a str> {
    let mut out = Vec::with_capacity(words.len());
    let mut i = 0;
    while let Some(w) = words.get(i).copied() {
        i += 1;
        let body = w.trim_start_matches(|c: char| c.is_ascii_digit() || c == '&');
        let op_len = if body.starts_with(">>") {
            2
        } else if body.starts_with('>') || body.starts_with('<') {
            1
        } else {
            0
        };
        if op_len == 0 {
            out.push(w);
            continue;
        }
        let target = &body[op_len..];
        if target.is_empty() {
            // `> file`: the target is the next word.
            i += 1;
        }
    }
    out
}

/// Split one line of shell into words and separators, expanding variables
/// known from earlier assignments. A word starting with `#` ends the line.
fn split_words(line: &str, vars: &HashMap<String, String>) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    macro_rules! end_word {
        () => {
            if in_word {
                out.push(Tok::Word(std::mem::take(&mut word)));
                in_word = false;
            }
        };
    }
    while let Some(&c) = chars.get(i) {
        match c {
            c if c.is_whitespace() => {
                end_word!();
                i += 1;
            }
            '#' if !in_word => break,
            '\'' => {
                in_word = true;
                i += 1;
                while let Some(&d) = chars.get(i) {
                    i += 1;
                    if d == '\'' {
                        break;
                    }
                    word.push(d);
                }
            }
            '"' => {
                in_word = true;
                i += 1;
                while let Some(&d) = chars.get(i) {
                    match d {
                        '"' => {
                            i += 1;
                            break;
                        }
                        '\\' => {
                            match chars.get(i + 1) {
                                Some(&e) if matches!(e, '"' | '\\' | '$' | '`') => word.push(e),
                                Some(&e) => {
                                    word.push('\\');
                                    word.push(e);
                                }
                                None => word.push('\\'),
                            }
                            i += 2;
                        }
                        '$' => i = expand(&chars, i, vars, &mut word),
                        '`' => i = literal_until(&chars, i, '`', &mut word),
                        _ => {
                            word.push(d);
                            i += 1;
                        }
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(&e) = chars.get(i + 1) {
                    word.push(e);
                }
                i += 2;
            }
            '$' => {
                in_word = true;
                i = expand(&chars, i, vars, &mut word);
            }
            '`' => {
                in_word = true;
                i = literal_until(&chars, i, '`', &mut word);
            }
            '&' if word.ends_with('>') || word.ends_with('<') => {
                word.push('&');
                i += 1;
            }
            ';' | '&' | '|' => {
                end_word!();
                out.push(Tok::Sep);
                i += 1;
                while matches!(chars.get(i), Some('&' | '|' | ';')) {
                    i += 1;
                }
            }
            _ => {
                in_word = true;
                word.push(c);
                i += 1;
            }
        }
    }
    if in_word {
        out.push(Tok::Word(word));
    }
    out
}

/// Copy from `chars[i]` (an opening `open`) to its closing `open`, literally.
fn literal_until(chars: &[char], i: usize, open: char, word: &mut String) -> usize {
    word.push(open);
    let mut j = i + 1;
    while let Some(&d) = chars.get(j) {
        word.push(d);
        j += 1;
        if d == open {
            break;
        }
    }
    j
}

/// Expand the `$…` at `chars[i]` into `word`; returns the next index.
fn expand(chars: &[char], i: usize, vars: &HashMap<String, String>, word: &mut String) -> usize {
    match chars.get(i + 1) {
        Some('{') => {
            let mut j = i + 2;
            let mut inner = String::new();
            while let Some(&d) = chars.get(j) {
                if d == '}' {
                    break;
                }
                inner.push(d);
                j += 1;
            }
            if chars.get(j) != Some(&'}') {
                // Unterminated: keep literally.
                word.push('$');
                return i + 1;
            }
            let (name, default) = match inner.find(":-").or_else(|| inner.find('-')) {
                Some(p) if p > 0 => {
                    let skip = if inner[p..].starts_with(":-") { 2 } else { 1 };
                    (&inner[..p], Some(&inner[p + skip..]))
                }
                _ => (inner.as_str(), None),
            };
            match (vars.get(name), default) {
                (Some(v), _) => word.push_str(v),
                (None, Some(d)) if is_name(name) => word.push_str(d),
                _ => {
                    word.push_str("${");
                    word.push_str(&inner);
                    word.push('}');
                }
            }
            j + 1
        }
        Some('(') => {
            // `$( … )`, kept literally (with nesting).
            let mut depth = 0usize;
            let mut j = i + 1;
            word.push('$');
            while let Some(&d) = chars.get(j) {
                word.push(d);
                j += 1;
                if d == '(' {
                    depth += 1;
                } else if d == ')' {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                }
            }
            j
        }
        Some(&c) if c.is_ascii_alphabetic() || c == '_' => {
            let mut j = i + 1;
            let mut name = String::new();
            while let Some(&d) = chars.get(j) {
                if d.is_ascii_alphanumeric() || d == '_' {
                    name.push(d);
                    j += 1;
                } else {
                    break;
                }
            }
            match vars.get(&name) {
                Some(v) => word.push_str(v),
                None => {
                    word.push('$');
                    word.push_str(&name);
                }
            }
            j
        }
        _ => {
            word.push('$');
            i + 1
        }
    }
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod count_case_tests {
    use super::*;

    #[test]
    fn grep_flavours() {
        for (text, want) in [
            (
                "WARNINGS=$(grep --count -i \"warning:\" linux/log)\n",
                Some("insensitive"),
            ),
            (
                "WARNINGS=`grep -ci warning: linux/log`\n",
                Some("insensitive"),
            ),
            (
                "WARNINGS=$(grep --count warning: linux/log)\n",
                Some("sensitive"),
            ),
            ("# grep -i warning: commented\necho hi\n", None),
        ] {
            let mut f = Facts::new();
            count_case("run_test.sh", text, &mut f);
            assert_eq!(f.str(keys::RUN_COUNT_CASE).map(|x| x.0), want, "{text}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::check_fixtures;

    fn parse(text: &str) -> Facts {
        let mut f = Facts::new();
        parse_text("run_test.sh", text, &mut f);
        f
    }

    fn get<'a>(f: &'a Facts, key: &str) -> Option<&'a str> {
        f.str(key).map(|x| x.0)
    }

    #[test]
    fn current_script() {
        let f = parse("#!/bin/bash\n# Test script for the 6.1-stable kernel\nSTABLE_GIT=\"/home/bob/linux/stable/\"\n\
KERNEL_VERSION=\"6.1\"\nPATCHES=\"stable_queue.tar.gz\"\n\necho \"update the git tree at ${STABLE_GIT}\"\n\
cd ${STABLE_GIT}\ngit fetch --all\n\ngit clone -q -s --branch linux-6.1.y /home/bob/linux/stable/ linux\n\
if [ -f /dev/shm/x/${PATCHES} ] ; then\n\tmkdir patches\n\ttar -zxvf /dev/shm/x/${PATCHES}\n\
\tgit config user.email \"build_test@kroah.org\"\n\tgit quiltimport --patches patches\n\
\t#QUILT_PATCHES=patches QUILT_SERIES=patches/series quilt push -aq --quiltrc\nfi\n\
if [ \"${KTEST_RUN}\" = \"0\" ]; then\n\tSUBJECT=\"bob: Build of 6.1 was good (W:${WARNINGS} E:${ERRORS} ${TIME} seconds)\"\n\
else\n\tSUBJECT=\"bob: Build of 6.1 FAILED! (W:${WARNINGS} E:${ERRORS} ${TIME} seconds)\"\nfi\n\
mutt -s \"${SUBJECT}\" -a linux/log -- gregkh@kernel.org < output_log\n");
        assert_eq!(get(&f, keys::RUN_KERNEL_VERSION), Some("6.1"));
        assert_eq!(
            get(&f, keys::RUN_STABLE_GIT),
            Some("/home/bob/linux/stable/")
        );
        assert_eq!(get(&f, keys::RUN_CLONE_BRANCH), Some("linux-6.1.y"));
        assert_eq!(
            get(&f, keys::RUN_CLONE_SOURCE),
            Some("/home/bob/linux/stable/")
        );
        assert_eq!(f.all(keys::RUN_APPLY_METHOD).count(), 1);
        assert_eq!(get(&f, keys::RUN_APPLY_METHOD), Some("quiltimport"));
        assert_eq!(get(&f, keys::RUN_REMOTE), Some("bob"));
        assert_eq!(f.all(keys::RUN_REMOTE).count(), 1);
        assert!(f.notes.is_empty(), "{:?}", f.notes);
        let loc = f.last(keys::RUN_CLONE_BRANCH).map(|x| x.loc.to_string());
        assert_eq!(loc.as_deref(), Some("run_test.sh:11"));
    }

    #[test]
    fn clone_option_orders_and_variables() {
        for (line, branch, src) in [
            (
                "git clone -q -s --branch linux-5.4.y /s linux",
                "linux-5.4.y",
                "/s",
            ),
            (
                "git clone --branch=linux-5.4.y -s -q /s linux",
                "linux-5.4.y",
                "/s",
            ),
            ("git clone /s -b linux-5.4.y linux", "linux-5.4.y", "/s"),
            (
                "git clone -blinux-5.4.y --depth 1 /s linux >/dev/null 2>&1",
                "linux-5.4.y",
                "/s",
            ),
            (
                "git clone -q -s --branch linux-${KERNEL_VERSION}.y ${STABLE_GIT} linux",
                "linux-4.19.y",
                "/m/",
            ),
            (
                "git clone -q -s --branch \"linux-$KERNEL_VERSION.y\" \"$STABLE_GIT\" linux",
                "linux-4.19.y",
                "/m/",
            ),
            (
                "cd /w && /usr/bin/git -C /w clone --shared --branch b '/s p' linux",
                "b",
                "/s p",
            ),
        ] {
            let f = parse(&format!(
                "STABLE_GIT=\"/m/\"\nKERNEL_VERSION=4.19\n{line}\n"
            ));
            assert_eq!(get(&f, keys::RUN_CLONE_BRANCH), Some(branch), "{line}");
            assert_eq!(get(&f, keys::RUN_CLONE_SOURCE), Some(src), "{line}");
            assert!(f.notes.is_empty(), "{line}: {:?}", f.notes);
        }
        let f = parse("git clone --branch linux-${V}.y ${NOWHERE} linux\n");
        assert_eq!(get(&f, keys::RUN_CLONE_BRANCH), Some("linux-${V}.y"));
        assert_eq!(f.notes.len(), 2);
        let f = parse("# git clone --branch nope /x linux\n  #git quiltimport\n");
        assert!(f.items().is_empty());
    }

    #[test]
    fn apply_methods_of_each_generation() {
        let f = parse("if [ -f x ] ; then\n\tQUILT_PATCHES=patches QUILT_SERIES=patches/series quilt push -aq --quiltrc\nfi\n");
        assert_eq!(get(&f, keys::RUN_APPLY_METHOD), Some("quilt"));
        let f = parse("GIT_TREE=\"git://git.kernel.org/x.git\"\nGIT_BRANCH=\"pull_tests\"\n#KERNEL_VERSION=\"\"\n\
git clone -q -s --branch master /s linux\ncd linux\ngit pull ${GIT_TREE} ${GIT_BRANCH}\n\
#\tgit quiltimport --patches patches\n");
        assert_eq!(f.all(keys::RUN_APPLY_METHOD).count(), 1);
        assert_eq!(get(&f, keys::RUN_APPLY_METHOD), Some("git-pull"));
        assert_eq!(
            get(&f, keys::RUN_PULL),
            Some("git://git.kernel.org/x.git pull_tests")
        );
        assert_eq!(get(&f, keys::RUN_CLONE_BRANCH), Some("master"));
        assert!(!f.has(keys::RUN_KERNEL_VERSION));
    }

    #[test]
    fn subject_without_prefix_and_mutt_subject() {
        let f = parse(
            "SUBJECT=\"Build of 6.1 was good (W:${WARNINGS} E:${ERRORS} ${TIME} seconds)\"\n",
        );
        assert!(!f.has(keys::RUN_REMOTE));
        let f = parse(
            "mutt -s \"rack: Build of 6.6 FAILED! (1 seconds)\" -a linux/log -- a@b < output_log\n",
        );
        assert_eq!(get(&f, keys::RUN_REMOTE), Some("rack"));
    }

    #[test]
    fn words_quotes_and_crlf() {
        let v = HashMap::from([("A".to_string(), "x y".to_string())]);
        let w = |l: &str| -> Vec<Tok> { split_words(l, &v) };
        assert_eq!(
            w("echo 'a b' \"$A\" ${A:-d} ${B:-d} $B \\$A # c"),
            ["echo", "a b", "x y", "x y", "d", "$B", "$A"]
                .map(|s| Tok::Word(s.into()))
                .to_vec()
        );
        assert_eq!(
            w("a&&b;c|d 2>&1 $(date +%s) `x y` \"\""),
            vec![
                Tok::Word("a".into()),
                Tok::Sep,
                Tok::Word("b".into()),
                Tok::Sep,
                Tok::Word("c".into()),
                Tok::Sep,
                Tok::Word("d".into()),
                Tok::Word("2>&1".into()),
                Tok::Word("$(date +%s)".into()),
                Tok::Word("`x y`".into()),
                Tok::Word("".into()),
            ]
        );
        let f = parse("KERNEL_VERSION=\"6.6\"\r\ngit clone -b linux-6.6.y /s linux\r\n");
        assert_eq!(get(&f, keys::RUN_KERNEL_VERSION), Some("6.6"));
        assert_eq!(get(&f, keys::RUN_CLONE_SOURCE), Some("/s"));
    }

    #[test]
    fn fixtures() {
        assert!(check_fixtures(&RunTest) >= 3);
    }

    proptest::proptest! {
        // Generating the structured inputs is slow in debug builds.
        #![proptest_config(proptest::test_runner::Config::with_cases(128))]

        #[test]
        fn never_panics_on_any_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            let mut f = Facts::new();
            parse_text("run_test.sh", &String::from_utf8_lossy(&bytes), &mut f);
        }

        #[test]
        fn never_panics_on_shell_like_lines(lines in proptest::collection::vec(
            "([A-Z_]{1,4}=)?(git|quilt|mutt)? ?(clone|pull|quiltimport|push|-s|-b|--branch=?|-C|>|2>&1|<|\\$\\{?[A-Z]{0,2}(:-)?\\}?|\\$\\(|`|'|\"|\\\\|#|;|&|\\||[a-z/]{1,3}| ){0,10}",
            0..12)) {
            let mut f = Facts::new();
            parse_text("run_test.sh", &lines.join("\n"), &mut f);
        }
    }
}
