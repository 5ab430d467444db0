//! git metadata from the plain files of the clone's git directory (the
//! layout's [`Input::git_dir`], e.g. `linux/.git`). Never runs git and never
//! reads objects: a REMOTE_DIR's clone borrows its objects from the
//! builder's mirror (docs/inputs.md#git-metadata).
//!
//! | file | facts |
//! |---|---|
//! | `HEAD` | [`keys::GIT_HEAD_BRANCH`] (`ref: refs/heads/<b>`), [`keys::GIT_HEAD_COMMIT`] (resolved, or the detached SHA) |
//! | `refs/…`, `packed-refs` | ref resolution: loose ref first, then `packed-refs` (`^<sha>` peeled lines belong to the ref above them and are skipped); symbolic refs are followed |
//! | `logs/HEAD` | the first `clone: from <src>` entry: [`keys::GIT_CLONE_COMMIT`] (its new SHA: the base commit), [`keys::GIT_CLONE_SOURCE`], [`keys::GIT_CLONE_TIME`]; every `quiltimport: <patch>` entry in order: [`keys::GIT_QUILTIMPORT`] |
//! | `refs/remotes/origin/<HEAD's branch>` | [`keys::GIT_ORIGIN_BRANCH_COMMIT`] |
//! | `config` | [`keys::GIT_REMOTE_URL`]: the first `url` of `[remote "origin"]` |
//!
//! Reflog times are RFC 3339 with the entry's own offset
//! (`1795908913 +0000` → `2026-11-28T23:35:13+00:00`).
//!
//! SHAs must be 40 hex digits; upper case is normalised to lower case. Ref
//! names must stay under `refs/` (no `..`). A URL's `user:password@` part
//! is removed before it is emitted. Anything malformed — a bad line, a
//! dangling ref, a bad time zone — becomes a note, never an error: git
//! metadata is a best-effort source with other fallbacks (commit.txt,
//! run_test.sh).

use chrono::{DateTime, FixedOffset, SecondsFormat};
use serde_json::json;

use crate::commit_txt::{normalize_sha1, shorten};
use crate::{keys, Facts, Input, ParseError, Parser};

/// HEAD, loose refs, packed-refs and config are read up to this size.
const SMALL_LIMIT: u64 = 4 << 20;
/// `logs/HEAD` is read up to this size (a long-lived clone's reflog).
const REFLOG_LIMIT: u64 = 8 << 20;
/// Symbolic refs are followed at most this deep (git uses 5 as well).
const MAX_SYMREF_DEPTH: usize = 5;

/// git metadata parser.
pub struct GitMeta;

impl Parser for GitMeta {
    fn id(&self) -> &'static str {
        "git-meta"
    }
    fn description(&self) -> &'static str {
        "git metadata from plain files (HEAD, refs, packed-refs, logs/HEAD, config): base commit, branch, clone time, applied patches"
    }
    fn inputs(&self) -> &'static [&'static str] {
        &[
            "linux/.git/HEAD",
            "linux/.git/packed-refs",
            "linux/.git/refs/",
            "linux/.git/logs/HEAD",
            "linux/.git/config",
        ]
    }
    fn parse(&self, input: &Input, facts: &mut Facts) -> Result<(), ParseError> {
        let Some(gd) = input.git_dir.as_deref() else {
            return Ok(());
        };
        let gd = gd.trim_end_matches('/');
        if !input.is_dir(gd) {
            if input.is_file(gd) {
                facts.note(
                    gd,
                    None,
                    "a `gitdir:` link, not a git directory; not followed",
                );
            }
            return Ok(());
        }
        let repo = Repo::load(input, gd, facts)?;

        let mut head_branch = None;
        if let Some((head_name, text)) = read(input, &format!("{gd}/HEAD"), SMALL_LIMIT)? {
            match parse_ref_content(&text) {
                RefContent::Symbolic(target) => {
                    if let Some(b) = target.strip_prefix("refs/heads/") {
                        facts.push(keys::GIT_HEAD_BRANCH, b, &head_name, Some(1));
                        head_branch = Some(b.to_string());
                    } else {
                        facts.note(
                            &head_name,
                            Some(1),
                            format!("HEAD points to `{}`, not a branch", shorten(&target)),
                        );
                    }
                    match repo.resolve(input, &target, facts)? {
                        Some((sha, file, line)) => {
                            facts.push(keys::GIT_HEAD_COMMIT, sha, &file, line)
                        }
                        None => facts.note(
                            &head_name,
                            Some(1),
                            format!("HEAD's `{}` does not resolve to a commit", shorten(&target)),
                        ),
                    }
                }
                RefContent::Sha(sha) => {
                    facts.push(keys::GIT_HEAD_COMMIT, sha, &head_name, Some(1));
                    facts.note(&head_name, Some(1), "detached HEAD: no branch");
                }
                RefContent::Malformed(what) => {
                    facts.note(&head_name, Some(1), format!("malformed HEAD: {what}"))
                }
            }
        }

        if let Some((name, text)) = read(input, &format!("{gd}/logs/HEAD"), REFLOG_LIMIT)? {
            parse_reflog(&name, &text, facts);
        }

        if let Some(b) = head_branch {
            if let Some((sha, file, line)) =
                repo.resolve(input, &format!("refs/remotes/origin/{b}"), facts)?
            {
                facts.push(keys::GIT_ORIGIN_BRANCH_COMMIT, sha, &file, line);
            }
        }

        if let Some((name, text)) = read(input, &format!("{gd}/config"), SMALL_LIMIT)? {
            let (entries, problems) = parse_git_config(&text);
            for (line, msg) in problems {
                facts.note(&name, Some(line), msg);
            }
            let mut urls = entries.iter().filter(|e| {
                e.section == "remote" && e.subsection.as_deref() == Some("origin") && e.key == "url"
            });
            if let Some(first) = urls.next() {
                let (url, stripped) = strip_credentials(&first.value);
                if stripped {
                    facts.note(
                        &name,
                        Some(first.line),
                        "credentials removed from the remote URL",
                    );
                }
                facts.push(keys::GIT_REMOTE_URL, url, &name, Some(first.line));
                if let Some(more) = urls.next() {
                    facts.note(
                        &name,
                        Some(more.line),
                        "several `url`s for remote origin; the first is the fetch URL",
                    );
                }
            }
        }
        Ok(())
    }
}

/// Read a small file if it is there (or `.gz`); `None` when absent.
fn read(input: &Input, rel: &str, limit: u64) -> Result<Option<(String, String)>, ParseError> {
    if !input.exists(rel) {
        return Ok(None);
    }
    input.read_small(rel, limit)
}

/// What a ref file (or HEAD) holds.
#[derive(Debug, PartialEq)]
pub enum RefContent {
    /// `ref: <name>` (a safe name under `refs/`).
    Symbolic(String),
    /// A commit, lower case.
    Sha(String),
    /// Anything else, described.
    Malformed(String),
}

/// Parse the first line of HEAD or a loose ref.
pub fn parse_ref_content(text: &str) -> RefContent {
    let first = text.lines().next().unwrap_or("").trim();
    if let Some(target) = first.strip_prefix("ref:") {
        let target = target.trim();
        return if valid_refname(target) {
            RefContent::Symbolic(target.to_string())
        } else {
            RefContent::Malformed(format!("unsafe or invalid ref name `{}`", shorten(target)))
        };
    }
    match normalize_sha1(first) {
        Some(sha) => RefContent::Sha(sha),
        None if first.is_empty() => RefContent::Malformed("empty".into()),
        None => RefContent::Malformed(format!(
            "`{}` is neither `ref: …` nor a SHA",
            shorten(first)
        )),
    }
}

/// A ref name this parser will look up as a file: `refs/…`, no empty,
/// `.`-leading or `..` components, no control characters or backslashes.
fn valid_refname(name: &str) -> bool {
    name.starts_with("refs/")
        && !name.ends_with('/')
        && !name.contains(['\\', '\0'])
        && !name.chars().any(char::is_control)
        && name
            .split('/')
            .all(|c| !c.is_empty() && !c.starts_with('.'))
}

/// Refs from `packed-refs`, in file order: `(name, sha, line)`.
#[derive(Debug, Default)]
struct Repo {
    git_dir: String,
    packed_name: String,
    packed: Vec<PackedRef>,
}

impl Repo {
    fn load(input: &Input, gd: &str, facts: &mut Facts) -> Result<Self, ParseError> {
        let mut repo = Repo {
            git_dir: gd.to_string(),
            packed_name: format!("{gd}/packed-refs"),
            packed: Vec::new(),
        };
        if let Some((name, text)) = read(input, &repo.packed_name.clone(), SMALL_LIMIT)? {
            let (refs, problems) = parse_packed_refs(&text);
            for (line, msg) in problems {
                facts.note(&name, Some(line), msg);
            }
            repo.packed = refs;
            repo.packed_name = name;
        }
        Ok(repo)
    }

    /// Resolve a ref to a commit: loose file first, then packed-refs,
    /// following `ref:` links. Returns the SHA and where it was read.
    fn resolve(
        &self,
        input: &Input,
        name: &str,
        facts: &mut Facts,
    ) -> Result<Option<(String, String, Option<u64>)>, ParseError> {
        let mut name = name.to_string();
        for _ in 0..=MAX_SYMREF_DEPTH {
            if !valid_refname(&name) {
                return Ok(None);
            }
            let rel = format!("{}/{name}", self.git_dir);
            if input.is_dir(&rel) {
                return Ok(None);
            }
            if let Some((file, text)) = read(input, &rel, SMALL_LIMIT)? {
                match parse_ref_content(&text) {
                    RefContent::Sha(sha) => return Ok(Some((sha, file, Some(1)))),
                    RefContent::Symbolic(next) => {
                        name = next;
                        continue;
                    }
                    RefContent::Malformed(what) => {
                        facts.note(&file, Some(1), format!("malformed ref: {what}"));
                        return Ok(None);
                    }
                }
            }
            return Ok(self
                .packed
                .iter()
                .find(|(n, _, _)| *n == name)
                .map(|(_, sha, line)| (sha.clone(), self.packed_name.clone(), Some(*line))));
        }
        facts.note(
            &format!("{}/{name}", self.git_dir),
            None,
            "symbolic refs nested too deeply (a loop?)",
        );
        Ok(None)
    }
}

/// A `packed-refs` entry: `(ref name, sha, line)`.
pub type PackedRef = (String, String, u64);

/// `(line, problem)` pairs of lines a reader skipped.
pub type Problems = Vec<(u64, String)>;

/// `packed-refs`: `<sha> <refname>` lines; `#` header; `^<sha>` peeled
/// lines (the tag's target, skipped). Returns refs in file order and the
/// problems met.
pub fn parse_packed_refs(text: &str) -> (Vec<PackedRef>, Problems) {
    let mut refs: Vec<PackedRef> = Vec::new();
    let mut problems = Vec::new();
    let mut last_was_ref = false;
    for (idx, raw) in text.lines().enumerate() {
        let n = idx as u64 + 1;
        let l = raw.trim_end();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        if let Some(peeled) = l.strip_prefix('^') {
            if normalize_sha1(peeled.trim()).is_none() {
                problems.push((n, format!("malformed peeled line `{}`", shorten(l))));
            } else if !last_was_ref {
                problems.push((n, "peeled line without a ref above it".into()));
            }
            last_was_ref = false;
            continue;
        }
        let parsed = l
            .split_once(' ')
            .and_then(|(sha, name)| Some((normalize_sha1(sha)?, name.trim())))
            .filter(|(_, name)| valid_refname(name));
        match parsed {
            Some((sha, name)) => {
                if refs.iter().any(|(n2, _, _)| n2 == name) {
                    problems.push((
                        n,
                        format!("duplicate ref `{}`; the first is used", shorten(name)),
                    ));
                } else {
                    refs.push((name.to_string(), sha, n));
                }
                last_was_ref = true;
            }
            None => {
                problems.push((n, format!("malformed line `{}`", shorten(l))));
                last_was_ref = false;
            }
        }
    }
    (refs, problems)
}

/// One reflog line.
#[derive(Debug, PartialEq)]
pub struct ReflogEntry {
    pub old: String,
    pub new: String,
    /// RFC 3339 with the entry's offset; `None` if the time is unreadable.
    pub time: Option<String>,
    pub message: String,
}

/// Parse a reflog line: `<old> <new> <name> <<email>> <epoch> <tz>\t<msg>`.
/// `Err` describes what is wrong; a bad time alone is not an error.
pub fn parse_reflog_line(line: &str) -> Result<ReflogEntry, String> {
    let (head, message) = line.split_once('\t').unwrap_or((line, ""));
    let mut it = head.splitn(3, ' ');
    let (Some(old), Some(new), Some(rest)) = (it.next(), it.next(), it.next()) else {
        return Err("too few fields".into());
    };
    let old = normalize_sha1(old).ok_or("old SHA is not 40 hex digits")?;
    let new = normalize_sha1(new).ok_or("new SHA is not 40 hex digits")?;
    let mut back = rest.trim_end().rsplitn(3, ' ');
    let (tz, epoch) = (back.next().unwrap_or(""), back.next().unwrap_or(""));
    if back.next().is_none() {
        return Err("no identity and time".into());
    }
    Ok(ReflogEntry {
        old,
        new,
        time: git_time(epoch, tz),
        message: message.to_string(),
    })
}

/// `1795908913` + `+0000` → `2026-11-28T23:35:13+00:00`.
pub fn git_time(epoch: &str, tz: &str) -> Option<String> {
    if epoch.is_empty() || !epoch.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: i64 = epoch.parse().ok()?;
    let b = tz.as_bytes();
    if b.len() != 5 || !b[1..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sign = match b[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let h: i32 = tz[1..3].parse().ok()?;
    let m: i32 = tz[3..5].parse().ok()?;
    if m >= 60 {
        return None;
    }
    let off = FixedOffset::east_opt(sign * (h * 3600 + m * 60))?;
    let dt = DateTime::from_timestamp(secs, 0)?.with_timezone(&off);
    Some(dt.to_rfc3339_opts(SecondsFormat::Secs, false))
}

/// Emit the clone and quiltimport facts of `logs/HEAD`.
pub fn parse_reflog(file: &str, text: &str, facts: &mut Facts) {
    let mut clone_seen = false;
    for (idx, raw) in text.lines().enumerate() {
        let n = Some(idx as u64 + 1);
        if raw.trim().is_empty() {
            continue;
        }
        let e = match parse_reflog_line(raw) {
            Ok(e) => e,
            Err(why) => {
                facts.note(file, n, format!("malformed reflog entry: {why}"));
                continue;
            }
        };
        if e.time.is_none() {
            facts.note(file, n, "unreadable time in reflog entry");
        }
        if let Some(src) = e.message.strip_prefix("clone: from ") {
            if clone_seen {
                facts.note(file, n, "another `clone:` entry; the first is the base");
                continue;
            }
            clone_seen = true;
            let (src, stripped) = strip_credentials(src.trim());
            if stripped {
                facts.note(file, n, "credentials removed from the clone source");
            }
            facts.push(keys::GIT_CLONE_COMMIT, e.new, file, n);
            facts.push(keys::GIT_CLONE_SOURCE, src, file, n);
            if let Some(t) = e.time {
                facts.push(keys::GIT_CLONE_TIME, t, file, n);
            }
        } else if let Some(patch) = e.message.strip_prefix("quiltimport: ") {
            let mut v = json!({ "patch": patch.trim(), "commit": e.new });
            if let Some(t) = e.time {
                v["time"] = json!(t);
            }
            facts.push(keys::GIT_QUILTIMPORT, v, file, n);
        }
    }
}

/// `https://user:token@host/x` → `https://host/x` (and whether anything
/// was removed). Only `scheme://` URLs carry userinfo this way; scp-like
/// `user@host:path` names an ssh login, not a secret, and is kept.
pub fn strip_credentials(url: &str) -> (String, bool) {
    let Some(scheme_end) = url.find("://") else {
        return (url.to_string(), false);
    };
    let auth_start = scheme_end + 3;
    let auth_end = url[auth_start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |p| auth_start + p);
    match url[auth_start..auth_end].rfind('@') {
        Some(at) => (
            format!("{}{}", &url[..auth_start], &url[auth_start + at + 1..]),
            true,
        ),
        None => (url.to_string(), false),
    }
}

/// One `key = value` of a git config file.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigEntry {
    /// Section name, lower case.
    pub section: String,
    /// `[section "sub"]` (case kept) or old `[section.sub]` (lower case).
    pub subsection: Option<String>,
    /// Key, lower case.
    pub key: String,
    pub value: String,
    pub line: u64,
}

/// A small git-config reader: sections, quoted subsections, `#`/`;`
/// comments, quoted values with `\"`, `\\`, `\n`, `\t`, `\b` escapes,
/// backslash-newline continuations, key-only booleans (`true`), CRLF.
/// Returns entries in order and `(line, problem)`s for lines it skipped.
pub fn parse_git_config(text: &str) -> (Vec<ConfigEntry>, Problems) {
    let mut p = ConfigParser {
        chars: text.chars().collect(),
        pos: 0,
        line: 1,
        section: None,
        entries: Vec::new(),
        problems: Vec::new(),
    };
    p.run();
    (p.entries, p.problems)
}

struct ConfigParser {
    chars: Vec<char>,
    pos: usize,
    line: u64,
    section: Option<(String, Option<String>)>,
    entries: Vec<ConfigEntry>,
    problems: Problems,
}

impl ConfigParser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\r')) {
            self.pos += 1;
        }
    }

    fn skip_line(&mut self) {
        while let Some(c) = self.bump() {
            if c == '\n' {
                break;
            }
        }
    }

    /// Record a problem and skip the rest of the current line (problems
    /// are always detected before its newline is consumed).
    fn problem(&mut self, line: u64, msg: impl Into<String>) {
        self.problems.push((line, msg.into()));
        self.skip_line();
    }

    fn run(&mut self) {
        loop {
            while matches!(self.peek(), Some(' ' | '\t' | '\r' | '\n' | '\u{feff}')) {
                self.bump();
            }
            match self.peek() {
                None => break,
                Some('#' | ';') => self.skip_line(),
                Some('[') => self.section_header(),
                Some(c) if c.is_ascii_alphabetic() => self.key_value(),
                Some(_) => {
                    let l = self.line;
                    self.problem(l, "line is neither a section, a key nor a comment; skipped");
                }
            }
        }
    }

    fn section_header(&mut self) {
        let start_line = self.line;
        self.bump(); // '['
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                name.push(c);
                self.pos += 1;
            } else {
                break;
            }
        }
        let mut sub = None;
        self.skip_blanks();
        if self.peek() == Some('"') {
            self.pos += 1;
            let mut s = String::new();
            loop {
                match self.peek() {
                    Some('"') => {
                        self.pos += 1;
                        break;
                    }
                    Some('\\') => {
                        self.pos += 1;
                        match self.peek() {
                            Some('\n') | None => {
                                return self.problem(start_line, "unterminated section header");
                            }
                            Some(c) => {
                                s.push(c);
                                self.pos += 1;
                            }
                        }
                    }
                    Some('\n') | None => {
                        return self.problem(start_line, "unterminated section header");
                    }
                    Some(c) => {
                        s.push(c);
                        self.pos += 1;
                    }
                }
            }
            sub = Some(s);
        }
        if self.peek() != Some(']') || name.is_empty() {
            self.section = None;
            return self.problem(start_line, "malformed section header; its keys are ignored");
        }
        self.pos += 1;
        let mut section = name.to_ascii_lowercase();
        if sub.is_none() {
            if let Some((s, rest)) = section.split_once('.') {
                sub = Some(rest.to_string());
                section = s.to_string();
            }
        }
        self.section = Some((section, sub));
        // A key may follow on the same line; the main loop handles it.
    }

    fn key_value(&mut self) {
        let line = self.line;
        let mut key = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '-' {
                key.push(c.to_ascii_lowercase());
                self.pos += 1;
            } else {
                break;
            }
        }
        self.skip_blanks();
        let value = match self.peek() {
            None | Some('\n') => "true".to_string(),
            Some('#' | ';') => {
                self.skip_line();
                "true".to_string()
            }
            Some('=') => {
                self.pos += 1;
                match self.value(line) {
                    Some(v) => v,
                    None => return,
                }
            }
            Some(_) => return self.problem(line, format!("malformed key `{}`", shorten(&key))),
        };
        match &self.section {
            Some((section, subsection)) => self.entries.push(ConfigEntry {
                section: section.clone(),
                subsection: subsection.clone(),
                key,
                value,
                line,
            }),
            None => self.problems.push((
                line,
                format!("key `{}` outside any section; ignored", shorten(&key)),
            )),
        }
    }

    /// The value after `=`, up to the end of the (continued) line.
    fn value(&mut self, line: u64) -> Option<String> {
        self.skip_blanks();
        let mut out = String::new();
        let mut pending_ws = String::new();
        let mut quoted = false;
        while let Some(c) = self.peek() {
            match c {
                '\n' => {
                    if quoted {
                        self.problem(line, "newline inside a quoted value; ignored");
                        return None;
                    }
                    self.bump();
                    break;
                }
                '\r' if self.chars.get(self.pos + 1) == Some(&'\n') => {
                    self.pos += 1;
                }
                '\\' => {
                    self.pos += 1;
                    let esc = match self.peek() {
                        Some('\r') if self.chars.get(self.pos + 1) == Some(&'\n') => {
                            self.pos += 1;
                            self.bump();
                            continue;
                        }
                        Some('\n') => {
                            self.bump();
                            continue;
                        }
                        Some('n') => '\n',
                        Some('t') => '\t',
                        Some('b') => '\u{8}',
                        Some('"') => '"',
                        Some('\\') => '\\',
                        _ => {
                            self.problem(line, "invalid escape in value; ignored");
                            return None;
                        }
                    };
                    self.pos += 1;
                    out.push_str(&std::mem::take(&mut pending_ws));
                    out.push(esc);
                }
                '"' => {
                    self.pos += 1;
                    quoted = !quoted;
                    out.push_str(&std::mem::take(&mut pending_ws));
                }
                '#' | ';' if !quoted => {
                    self.skip_line();
                    break;
                }
                ' ' | '\t' if !quoted => {
                    // Like git: unquoted blanks count as spaces, trailing ones are dropped.
                    self.pos += 1;
                    pending_ws.push(' ');
                }
                c => {
                    self.pos += 1;
                    out.push_str(&std::mem::take(&mut pending_ws));
                    out.push(c);
                }
            }
        }
        if quoted {
            self.problems
                .push((line, "unterminated quote in value; ignored".into()));
            return None;
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::check_fixtures;
    use proptest::prelude::*;

    const A: &str = "19463f7e3ad6bee028585a29c8f9bd10fc6bcab6";
    const B: &str = "f4948065a9336ed79a687cabf6525821451ba553";

    #[test]
    fn ref_contents() {
        assert_eq!(
            parse_ref_content("ref: refs/heads/linux-6.1.y\n"),
            RefContent::Symbolic("refs/heads/linux-6.1.y".into())
        );
        assert_eq!(
            parse_ref_content("ref:refs/heads/x\r\n"),
            RefContent::Symbolic("refs/heads/x".into())
        );
        assert_eq!(
            parse_ref_content(&format!("{}\n", A.to_uppercase())),
            RefContent::Sha(A.into())
        );
        for bad in [
            "",
            "ref: ../../etc/passwd",
            "ref: refs/heads/../../x",
            "ref: HEAD",
            "abc\n",
            "ref: refs/heads/",
        ] {
            assert!(
                matches!(parse_ref_content(bad), RefContent::Malformed(_)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn packed_refs_with_peeled_lines() {
        let text = format!(
            "# pack-refs with: peeled fully-peeled sorted \n{A} refs/remotes/origin/linux-6.1.y\n{B} refs/tags/v6.1.192\n^{A}\n^{B}\nnonsense\n{} refs/heads/UP\r\n{B} refs/tags/v6.1.192\n",
            A.to_uppercase()
        );
        let (refs, problems) = parse_packed_refs(&text);
        assert_eq!(
            refs,
            vec![
                (
                    "refs/remotes/origin/linux-6.1.y".to_string(),
                    A.to_string(),
                    2
                ),
                ("refs/tags/v6.1.192".to_string(), B.to_string(), 3),
                ("refs/heads/UP".to_string(), A.to_string(), 7),
            ]
        );
        let lines: Vec<u64> = problems.iter().map(|p| p.0).collect();
        assert_eq!(lines, vec![5, 6, 8], "{problems:?}");
    }

    #[test]
    fn reflog_lines() {
        let e = parse_reflog_line(&format!(
            "0000000000000000000000000000000000000000 {A} bob <bob@example.org> 1795908913 +0000\tclone: from /home/bob/linux/stable"
        ))
        .expect("valid");
        assert_eq!(e.new, A);
        assert_eq!(e.time.as_deref(), Some("2026-11-28T23:35:13+00:00"));
        assert_eq!(e.message, "clone: from /home/bob/linux/stable");
        let e = parse_reflog_line(&format!("{A} {B} A U Thor <a@b> 1795908913 -0530"))
            .expect("no message");
        assert_eq!(e.time.as_deref(), Some("2026-11-28T18:05:13-05:30"));
        assert_eq!(e.message, "");
        let e = parse_reflog_line(&format!("{A} {B} x <y> 1795908913 +99\tm"))
            .expect("bad tz is not fatal");
        assert_eq!(e.time, None);
        assert!(parse_reflog_line(&format!("{A} {B}")).is_err());
        assert!(parse_reflog_line(&format!("{A} xyz n <e> 1 +0000\tm")).is_err());
        assert!(parse_reflog_line(&format!("{A} {B} 1795908913\tm")).is_err());
    }

    #[test]
    fn git_times() {
        assert_eq!(
            git_time("0", "+0000").as_deref(),
            Some("1970-01-01T00:00:00+00:00")
        );
        assert_eq!(
            git_time("1795908913", "+0100").as_deref(),
            Some("2026-11-29T00:35:13+01:00")
        );
        for (e, tz) in [
            ("", "+0000"),
            ("-1", "+0000"),
            ("1", "0000"),
            ("1", "+0060"),
            ("1", "+2500"),
            ("99999999999999999999", "+0000"),
            ("1", "+00:00"),
        ] {
            assert_eq!(git_time(e, tz), None, "{e} {tz}");
        }
    }

    #[test]
    fn reflog_facts() {
        let text = format!(
            "0000000000000000000000000000000000000000 {A} bob <bob@example.org> 1795908913 +0000\tclone: from https://u:secret@example.org/linux.git\r\n\
             {A} {B} Stable Build Test <build_test@kroah.org> 1795908921 +0000\tquiltimport: a.patch\r\n\
             garbage\r\n\
             {B} {A} x <y> 1795908922 +0000\tcheckout: moving from a to b\r\n\
             {A} {B} x <y> 1795908923 +0000\tclone: from /other\r\n"
        );
        let mut facts = Facts::new();
        parse_reflog("logs/HEAD", &text, &mut facts);
        assert_eq!(facts.str(keys::GIT_CLONE_COMMIT).map(|v| v.0), Some(A));
        assert_eq!(
            facts.str(keys::GIT_CLONE_SOURCE).map(|v| v.0),
            Some("https://example.org/linux.git")
        );
        assert_eq!(
            facts.str(keys::GIT_CLONE_TIME).map(|v| v.0),
            Some("2026-11-28T23:35:13+00:00")
        );
        let q: Vec<_> = facts.all(keys::GIT_QUILTIMPORT).collect();
        assert_eq!(q.len(), 1);
        assert_eq!(
            q[0].value,
            json!({"patch": "a.patch", "commit": B, "time": "2026-11-28T23:35:21+00:00"})
        );
        assert_eq!(q[0].loc.line, Some(2));
        let note_lines: Vec<Option<u64>> = facts.notes.iter().map(|n| n.loc.line).collect();
        assert_eq!(
            note_lines,
            vec![Some(1), Some(3), Some(5)],
            "{:?}",
            facts.notes
        );
    }

    #[test]
    fn credentials() {
        assert_eq!(
            strip_credentials("/home/bob/linux/stable"),
            ("/home/bob/linux/stable".into(), false)
        );
        assert_eq!(
            strip_credentials("git@github.com:x/y.git"),
            ("git@github.com:x/y.git".into(), false)
        );
        assert_eq!(
            strip_credentials("https://tok@host/a@b"),
            ("https://host/a@b".into(), true)
        );
        assert_eq!(
            strip_credentials("https://u:p@host"),
            ("https://host".into(), true)
        );
        assert_eq!(
            strip_credentials("https://host/x"),
            ("https://host/x".into(), false)
        );
    }

    #[test]
    fn git_config_reader() {
        let text = "[core]\n\trepositoryformatversion = 0\n\tbare\n[remote \"origin\"]\r\n\turl = /home/bob/linux/stable # where\r\n\tFetch = +refs/heads/*:refs/remotes/origin/*\n[Remote \"Other\"] url = \"a \\\"b\\\" ; c\"  ; comment\n[branch.linux-6.1.y]\n\tremote = origin\n\tmerge = refs/heads/\\\n  linux-6.1.y\n[bad\nstray = 1\n[x] = y\n";
        let (entries, problems) = parse_git_config(text);
        let got: Vec<(String, Option<String>, String, String, u64)> = entries
            .into_iter()
            .map(|e| (e.section, e.subsection, e.key, e.value, e.line))
            .collect();
        let s = |v: &str| v.to_string();
        assert_eq!(
            got,
            vec![
                (s("core"), None, s("repositoryformatversion"), s("0"), 2),
                (s("core"), None, s("bare"), s("true"), 3),
                (
                    s("remote"),
                    Some(s("origin")),
                    s("url"),
                    s("/home/bob/linux/stable"),
                    5
                ),
                (
                    s("remote"),
                    Some(s("origin")),
                    s("fetch"),
                    s("+refs/heads/*:refs/remotes/origin/*"),
                    6
                ),
                (s("remote"), Some(s("Other")), s("url"), s("a \"b\" ; c"), 7),
                (
                    s("branch"),
                    Some(s("linux-6.1.y")),
                    s("remote"),
                    s("origin"),
                    9
                ),
                (
                    s("branch"),
                    Some(s("linux-6.1.y")),
                    s("merge"),
                    s("refs/heads/  linux-6.1.y"),
                    10
                ),
            ]
        );
        let lines: Vec<u64> = problems.iter().map(|p| p.0).collect();
        assert_eq!(lines, vec![12, 13, 14], "{problems:?}");
    }

    #[test]
    fn long_lines_and_invalid_utf8() {
        let long = "p".repeat(70_000);
        let text = format!("{A} {B} n\u{fffd} <e> 1795908913 +0000\tquiltimport: {long}\n");
        let mut facts = Facts::new();
        parse_reflog("logs/HEAD", &text, &mut facts);
        let q = facts.last(keys::GIT_QUILTIMPORT).expect("entry");
        assert_eq!(q.value["patch"].as_str().map(str::len), Some(70_000));
        let (entries, _) = parse_git_config(&format!("[remote \"origin\"]\n\turl = {long}\n"));
        assert_eq!(entries[0].value.len(), 70_000);
    }

    #[test]
    fn fixtures() {
        assert!(check_fixtures(&GitMeta) >= 8);
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = parse_ref_content(&text);
            let _ = parse_packed_refs(&text);
            let _ = parse_git_config(&text);
            let _ = strip_credentials(&text);
            parse_reflog("logs/HEAD", &text, &mut Facts::new());
        }

        #[test]
        fn never_panics_on_configlike_text(s in "(\\[|\\]|\"|\\\\|=|#|;| |\t|\r|\n|[a-z.]|url|remote){0,80}") {
            let _ = parse_git_config(&s);
        }

        #[test]
        fn never_panics_on_reflog_like_lines(
            old in "[0-9a-f]{40}", new in "[0-9a-fA-F]{38,41}",
            epoch in "[0-9-]{0,22}", tz in "[+-]?[0-9]{0,5}", msg in "(clone: from |quiltimport: )?[ -~]{0,20}",
        ) {
            let line = format!("{old} {new} n <e> {epoch} {tz}\t{msg}");
            parse_reflog("logs/HEAD", &line, &mut Facts::new());
        }
    }
}
