//! Normalisation: what makes two printings of one diagnostic equal.
//!
//! - line prefixes that are not part of the tool's output: `HH:MM:SS `
//!   timestamps and ANSI colour codes;
//! - paths: `./`, `../`, the build's source and output directories and
//!   other absolute source prefixes are stripped, so `../include/x.h`,
//!   `./include/x.h` and `/builds/linux/include/x.h` are one file;
//! - messages: gcc's typographic quotes (and their mojibake) fold to `'`,
//!   the `[-W...]` option suffix and `+0x...` offsets are dropped.
//!
//! Also the script-compatible raw counter ([`raw_hits`]).

use std::borrow::Cow;
use std::hash::{Hash, Hasher};

/// Whether `line` contains `warning:` / `error:` (ASCII case-insensitive),
/// exactly like `grep -c -i` decides per line.
#[inline]
pub(crate) fn raw_hits(line: &[u8]) -> (bool, bool) {
    let (mut w, mut e) = (false, false);
    for p in memchr::memchr_iter(b':', line) {
        if !w && p >= 7 && line[p - 7..p].eq_ignore_ascii_case(b"warning") {
            w = true;
        }
        if !e && p >= 5 && line[p - 5..p].eq_ignore_ascii_case(b"error") {
            e = true;
        }
        if w && e {
            break;
        }
    }
    (w, e)
}

/// What one scan of a line tells: the raw-count verdicts (`grep -i`, and
/// `grep` without `-i`), where the first `:` is, whether there is an
/// escape character (ANSI colours).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LineScan {
    pub warning: bool,
    pub error: bool,
    pub warning_cs: bool,
    pub error_cs: bool,
    pub colon: Option<usize>,
    pub escape: bool,
}

/// [`raw_hits`] plus the position of the first `:` and the presence of an
/// escape character, in one pass.
#[inline]
pub(crate) fn scan_line(line: &[u8]) -> LineScan {
    let mut out = LineScan::default();
    for p in memchr::memchr2_iter(b':', 0x1b, line) {
        if line[p] == 0x1b {
            out.escape = true;
            continue;
        }
        out.colon.get_or_insert(p);
        if !out.warning && p >= 7 && line[p - 7..p].eq_ignore_ascii_case(b"warning") {
            out.warning = true;
        }
        if !out.error && p >= 5 && line[p - 5..p].eq_ignore_ascii_case(b"error") {
            out.error = true;
        }
        out.warning_cs |= p >= 7 && line[p - 7..p] == *b"warning";
        out.error_cs |= p >= 5 && line[p - 5..p] == *b"error";
    }
    out
}

/// [`raw_hits`] plus the position of the first `:`.
#[cfg(test)]
fn raw_hits_colon(line: &[u8]) -> (bool, bool, Option<usize>) {
    let (mut w, mut e, mut first) = (false, false, None);
    for p in memchr::memchr_iter(b':', line) {
        first.get_or_insert(p);
        if !w && p >= 7 && line[p - 7..p].eq_ignore_ascii_case(b"warning") {
            w = true;
        }
        if !e && p >= 5 && line[p - 5..p].eq_ignore_ascii_case(b"error") {
            e = true;
        }
        if w && e {
            break;
        }
    }
    (w, e, first)
}

/// The line without a leading `HH:MM:SS ` timestamp (KernelCI logs).
#[inline]
pub(crate) fn strip_timestamp(line: &[u8]) -> &[u8] {
    if line.len() >= 9
        && line[2] == b':'
        && line[5] == b':'
        && line[8] == b' '
        && [0, 1, 3, 4, 6, 7].iter().all(|&i| line[i].is_ascii_digit())
    {
        &line[9..]
    } else {
        line
    }
}

/// The line without ANSI escape sequences (`ESC [ ... letter`).
pub(crate) fn strip_ansi(line: &[u8]) -> Cow<'_, [u8]> {
    if memchr::memchr(0x1b, line).is_none() {
        return Cow::Borrowed(line);
    }
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        if line[i] == 0x1b {
            i += 1;
            if i < line.len() && line[i] == b'[' {
                i += 1;
                while i < line.len() && !line[i].is_ascii_alphabetic() {
                    i += 1;
                }
                i += 1;
            }
            continue;
        }
        out.push(line[i]);
        i += 1;
    }
    Cow::Owned(out)
}

/// Top-level directories of a kernel tree: an absolute path containing one
/// of them (after at least one other component) is taken as
/// `<some source root>/<dir>/...`.
const TOP_DIRS: &[&[u8]] = &[
    b"arch",
    b"block",
    b"certs",
    b"crypto",
    b"drivers",
    b"fs",
    b"include",
    b"init",
    b"io_uring",
    b"ipc",
    b"kernel",
    b"lib",
    b"mm",
    b"net",
    b"rust",
    b"samples",
    b"scripts",
    b"security",
    b"sound",
    b"tools",
    b"usr",
    b"virt",
];

/// Toolchain and system locations, never a kernel tree.
const SYSTEM_PREFIXES: &[&[u8]] = &[
    b"/usr/include/",
    b"/usr/lib/",
    b"/usr/lib64/",
    b"/usr/local/",
    b"/usr/share/",
    b"/opt/",
    b"/lib/",
    b"/lib64/",
];

/// Known source/build roots of the log (ktest's BUILD_DIR and OUTPUT_DIR,
/// make's `Entering directory`), longest first.
#[derive(Clone, Debug, Default)]
pub(crate) struct Roots {
    list: Vec<Vec<u8>>,
}

impl Roots {
    /// Remember `dir` (absolute) as a root. Bounded: a log naming many
    /// directories keeps the first 32.
    pub fn add(&mut self, dir: &[u8]) {
        let dir = dir.strip_suffix(b"/").unwrap_or(dir);
        if dir.len() < 2 || dir[0] != b'/' || self.list.len() >= 32 {
            return;
        }
        if self.list.iter().any(|d| d == dir) {
            return;
        }
        self.list.push(dir.to_vec());
        self.list.sort_by_key(|d| std::cmp::Reverse(d.len()));
    }

    pub fn clear(&mut self) {
        self.list.clear();
    }

    /// The comparable form of a path printed in a diagnostic.
    pub fn path(&self, raw: &[u8]) -> String {
        let mut p = raw;
        if p.first() == Some(&b'/') {
            p = self.strip_root(p);
        }
        loop {
            if let Some(rest) = p.strip_prefix(b"./") {
                p = rest;
            } else if let Some(rest) = p.strip_prefix(b"../") {
                p = rest;
            } else {
                break;
            }
        }
        let s = String::from_utf8_lossy(p);
        if let Some(ext) = temp_file_ext(&s) {
            return format!("/tmp/ccXXXXXX.{ext}");
        }
        if s.contains("/./") || s.contains("/../") {
            return lexical(&s);
        }
        s.into_owned()
    }

    fn strip_root<'a>(&self, p: &'a [u8]) -> &'a [u8] {
        for root in &self.list {
            if let Some(rest) = p.strip_prefix(root.as_slice()) {
                if let Some(rest) = rest.strip_prefix(b"/") {
                    return rest;
                }
            }
        }
        if SYSTEM_PREFIXES.iter().any(|s| p.starts_with(s)) || p.starts_with(b"/tmp/cc") {
            return p;
        }
        // `/builds/linux/kernel/fork.c` -> `kernel/fork.c`.
        let mut start = 1;
        let mut first = true;
        while let Some(off) = memchr::memchr(b'/', &p[start..]) {
            let comp = &p[start..start + off];
            if !first && TOP_DIRS.contains(&comp) {
                return &p[start..];
            }
            first = false;
            start += off + 1;
        }
        p
    }
}

/// `lib/../mm/vma.h` -> `mm/vma.h` (no file system access: symbolic
/// links are not followed, exactly what the compiler printed is folded).
fn lexical(p: &str) -> String {
    let abs = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !abs {
                    parts.push("..");
                }
            }
            c => parts.push(c),
        }
    }
    let joined = parts.join("/");
    if abs {
        format!("/{joined}")
    } else {
        joined
    }
}

/// gcc's temporary files (`/tmp/ccAbC123.s`, `/tmp/ccAbC123.o`): their
/// extension, or `None` for any other path.
fn temp_file_ext(p: &str) -> Option<&str> {
    let rest = p.strip_prefix("/tmp/cc")?;
    let (mid, ext) = rest.split_once('.')?;
    (mid.len() == 6 && mid.bytes().all(|b| b.is_ascii_alphanumeric()) && matches!(ext, "s" | "o"))
        .then_some(ext)
}

/// Whether a normalised path is one of gcc's temporary files.
pub(crate) fn is_temp_file(p: &str) -> bool {
    p.starts_with("/tmp/ccXXXXXX.") || p == "{standard input}"
}

/// objcopy/strip work on temporary files with random 8-character names.
pub(crate) fn is_temp_object(name: &[u8]) -> bool {
    name.len() == 8
        && name.iter().all(|b| b.is_ascii_alphanumeric())
        && name.iter().any(|b| b.is_ascii_digit())
        && name.iter().any(|b| b.is_ascii_uppercase())
}

/// Printed message as stored in a [`super::Diagnostic`]: lossy UTF-8,
/// trimmed, at most `MAX_MESSAGE` characters.
pub(crate) fn display(msg: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(msg) {
        if !super::excerpt::has_control(msg) {
            return truncate_chars(s.trim(), MAX_MESSAGE);
        }
    }
    let s = String::from_utf8_lossy(msg);
    let s = s.trim();
    if s.chars().any(char::is_control) {
        // gcc's quotes shown through Latin-1 (`â\u{80}\u{98}`) are
        // repaired; other control characters dropped.
        let clean: String = s
            .replace("\u{e2}\u{80}\u{98}", "\u{2018}")
            .replace("\u{e2}\u{80}\u{99}", "\u{2019}")
            .replace("\u{e2}\u{80}\u{9c}", "\u{201c}")
            .replace("\u{e2}\u{80}\u{9d}", "\u{201d}")
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        return truncate_chars(&clean, MAX_MESSAGE);
    }
    truncate_chars(s, MAX_MESSAGE)
}

const MAX_MESSAGE: usize = 1024;

/// `s` cut to at most `max` characters (an ellipsis marks the cut).
pub(crate) fn truncate_chars(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((i, _)) => {
            let mut t = s[..i].to_string();
            t.pop();
            t.push('…');
            t
        }
    }
}

/// The message as compared: quotes folded, option suffix and hex offsets
/// dropped, whitespace collapsed.
pub(crate) fn message_key(msg: &str) -> String {
    let mut s = fold_quick(msg).unwrap_or_else(|| fold_chars(msg));
    // trimmed and without the option suffix, in place
    let start = s.len() - s.trim_start().len();
    let end = start + drop_option_suffix(s[start..].trim_end()).len();
    s.truncate(end);
    s.drain(..start);
    strip_hex_offsets(&mut s);
    s
}

/// [`fold_chars`] of a message that is ASCII but for gcc's UTF-8 quotes
/// (most are), byte by byte; `None` for any other message.
fn fold_quick(msg: &str) -> Option<String> {
    let b = msg.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        // a run of bytes kept as they are, copied at once
        let run = b[i..]
            .iter()
            .position(|&c| !(c.is_ascii_graphic() && c != b'`'))
            .map_or(b.len(), |p| i + p);
        out.extend_from_slice(&b[i..run]);
        i = run;
        let Some(&c) = b.get(i) else {
            break;
        };
        match c {
            b'`' => out.push(b'\''),
            // char::is_whitespace of an ASCII byte
            b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' => {
                if out.last() != Some(&b' ') {
                    out.push(b' ');
                }
            }
            c if c.is_ascii() => out.push(c),
            0xe2 if b.get(i + 1) == Some(&0x80) => {
                // ‘ ’ (U+2018, U+2019) and “ ” (U+201C, U+201D)
                out.push(match b.get(i + 2) {
                    Some(0x98 | 0x99) => b'\'',
                    Some(0x9c | 0x9d) => b'"',
                    _ => return None,
                });
                i += 2;
            }
            _ => return None,
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Quotes folded to ASCII ones and runs of white space to one space.
fn fold_chars(msg: &str) -> String {
    let mut s = String::with_capacity(msg.len());
    let mut chars = msg.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{2018}' | '\u{2019}' | '`' | '\u{b4}' => s.push('\''),
            '\u{201c}' | '\u{201d}' => s.push('"'),
            // UTF-8 quotes shown through Latin-1 (`â\u{80}\u{98}`).
            'â' if chars.peek() == Some(&'\u{80}') => {
                chars.next();
                if matches!(chars.peek(), Some('\u{98}' | '\u{99}')) {
                    chars.next();
                }
                s.push('\'');
            }
            c if c.is_whitespace() => {
                if !s.ends_with(' ') {
                    s.push(' ');
                }
            }
            c => s.push(c),
        }
    }
    s
}

/// `msg [-Wfoo]` -> `msg` (also `[-Werror=foo]`, `[-Werror,-Wfoo]`,
/// `[enabled by default]`).
fn drop_option_suffix(s: &str) -> &str {
    if let Some(open) = s.rfind(" [") {
        let tail = &s[open + 2..];
        if tail.ends_with(']') && (tail.starts_with("-W") || tail.starts_with("enabled by default"))
        {
            return s[..open].trim_end();
        }
    }
    s
}

/// `func+0x1b/0x40` -> `func`; `(.text+0x9a)` -> `(.text)`.
fn strip_hex_offsets(s: &mut String) {
    if !s.contains("+0x") {
        return;
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut last = 0;
    while i + 3 <= b.len() {
        if &b[i..i + 3] == b"+0x" {
            let mut j = i + 3;
            let hex = |j: usize| j < b.len() && b[j].is_ascii_hexdigit();
            if hex(j) {
                while hex(j) {
                    j += 1;
                }
                if j + 2 < b.len() && b[j] == b'/' && b[j + 1] == b'0' && b[j + 2] == b'x' {
                    j += 3;
                    while hex(j) {
                        j += 1;
                    }
                }
                out.push_str(&s[last..i]);
                last = j;
                i = j;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&s[last..]);
    *s = out;
}

/// 64-bit key of a distinct diagnostic (a fast, well-mixed hash: keys are
/// compared by hash only, so it must spread well, not resist attacks).
pub(crate) fn key_hash(parts: impl Hash) -> u64 {
    let mut h = KeyHasher(0x9e37_79b9_7f4a_7c15);
    parts.hash(&mut h);
    h.finish()
}

/// FxHash-style accumulation with a splitmix64 finish.
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_hits_follow_grep_semantics() {
        assert_eq!(raw_hits(b"a.c:1:2: warning: x"), (true, false));
        assert_eq!(raw_hits(b"a.c:1:2: error: x [-Werror=y]"), (false, true));
        assert_eq!(raw_hits(b"WARNING: modpost: x"), (true, false));
        assert_eq!(
            raw_hits(b"cc1: some warnings being treated as errors"),
            (false, false)
        );
        assert_eq!(raw_hits(b"x: SyntaxWarning: y error: z"), (true, true));
        assert_eq!(raw_hits(b"EMAIL_ON_ERROR = 1"), (false, false));
        assert_eq!(raw_hits(b"error[E0425]: x"), (false, false));
        assert_eq!(raw_hits(b"rror:"), (false, false));
        assert_eq!(raw_hits(b"ERROR:"), (false, true));
    }

    #[test]
    fn one_scan_tells_all() {
        for l in [
            &b"a.c:1:2: warning: x error: y"[..],
            b"\x1b[1mWARNING: z",
            b"no colon",
            b"ERROR:",
            b"x:\x1b",
        ] {
            let s = scan_line(l);
            assert_eq!((s.warning, s.error), raw_hits(l));
            assert_eq!((s.warning, s.error, s.colon), raw_hits_colon(l));
            assert_eq!(s.escape, l.contains(&0x1b));
        }
    }

    #[test]
    fn timestamps_and_colours_are_removed() {
        assert_eq!(
            strip_timestamp(b"00:00:14 ./a.h:1:2: error: x"),
            b"./a.h:1:2: error: x"
        );
        assert_eq!(strip_timestamp(b"0:00:14 x"), b"0:00:14 x");
        assert_eq!(
            &*strip_ansi(b"\x1b[0;33mWarning\x1b[0m: Kernel ABI"),
            b"Warning: Kernel ABI"
        );
    }

    #[test]
    fn paths_fold_to_one_form() {
        let mut r = Roots::default();
        r.add(b"/dev/shm/stable_test_6.1_daCG4/linux/output");
        r.add(b"/dev/shm/stable_test_6.1_daCG4/linux");
        for p in [
            &b"../include/linux/utsname.h"[..],
            b"./include/linux/utsname.h",
            b"include/linux/utsname.h",
            b"/dev/shm/stable_test_6.1_daCG4/linux/include/linux/utsname.h",
            b"/builds/linux/include/linux/utsname.h",
        ] {
            assert_eq!(r.path(p), "include/linux/utsname.h");
        }
        assert_eq!(
            r.path(b"/dev/shm/stable_test_6.1_daCG4/linux/output/tools/objtool/x.o"),
            "tools/objtool/x.o"
        );
        assert_eq!(r.path(b"/usr/include/stdio.h"), "/usr/include/stdio.h");
        assert_eq!(r.path(b"/tmp/cclji32d.s"), "/tmp/ccXXXXXX.s");
        assert_eq!(r.path(b"/tmp/ccwy4rq7.o"), "/tmp/ccXXXXXX.o");
        assert_eq!(r.path(b"/tmp/ccwy4rq7.c"), "/tmp/ccwy4rq7.c");
        assert_eq!(r.path(b"<stdin>"), "<stdin>");
        assert_eq!(r.path(b"/builds/linux/lib/../mm/vma.h"), "mm/vma.h");
        assert_eq!(r.path(b"../arch/x86/../../include/x.h"), "include/x.h");
        assert_eq!(r.path(b"/a/./b/../c.h"), "/a/c.h");
    }

    #[test]
    fn messages_fold_quotes_and_drop_volatile_parts() {
        assert_eq!(
            message_key("‘utsname_debug_hook’ defined but not used [-Wunused-function]"),
            "'utsname_debug_hook' defined but not used"
        );
        assert_eq!(
            message_key("'utsname_debug_hook' defined but not used"),
            "'utsname_debug_hook' defined but not used"
        );
        assert_eq!(
            message_key("no previous prototype for \u{e2}\u{80}\u{98}f\u{e2}\u{80}\u{99} [-Werror=missing-prototypes]"),
            "no previous prototype for 'f'"
        );
        assert_eq!(
            message_key("x is uninitialized [-Werror,-Wuninitialized]"),
            "x is uninitialized"
        );
        assert_eq!(
            message_key("revert_lock_pc()+0xbd: can't find jump dest instruction at .text+0xd7fc"),
            "revert_lock_pc(): can't find jump dest instruction at .text"
        );
        assert_eq!(message_key("a+0x76/0x1f0 b"), "a b");
        assert_eq!(message_key("a  \t`b´  “c” \u{2028} d"), "a 'b' \"c\" d");
        assert_eq!(message_key("  ‘x’ unused  [-Wunused]  "), "'x' unused");
        assert_eq!(message_key(" \u{2028}x [enabled by default]"), "x");
        assert_eq!(message_key("array [3] is [fine]"), "array [3] is [fine]");
    }

    proptest::proptest! {
        #[test]
        fn the_quick_fold_is_the_char_fold(
            msg in "[a-z `\t\n\r\u{b}\u{c}‘’“”´â\u{80}\u{98}\u{2028}\u{a0}é+\\[\\]-]{0,40}"
        ) {
            if let Some(quick) = fold_quick(&msg) {
                proptest::prop_assert_eq!(quick, fold_chars(&msg));
            }
        }
    }

    #[test]
    fn display_repairs_mojibake_quotes() {
        assert_eq!(
            display("  no prototype for \u{e2}\u{80}\u{98}f\u{e2}\u{80}\u{99}\u{1} ".as_bytes()),
            "no prototype for \u{2018}f\u{2019}"
        );
    }

    #[test]
    fn truncation_counts_chars() {
        assert_eq!(truncate_chars("ééé", 2), "é…");
        assert_eq!(truncate_chars("abc", 3), "abc");
    }
}
