//! Excerpt material collected during the pass, and the final rendering.
//!
//! Everything here is bounded: blocks are kept only until a character
//! budget is spent, lines are cut to [`MAX_EXCERPT_LINE`] characters, and
//! the tail is a fixed byte window. [`render`] joins lines into the final
//! excerpt: at most [`LIMIT`] characters, cut between lines, no NUL, valid
//! UTF-8.

use super::normalize::{strip_ansi, truncate_chars};
use super::Severity;

/// KCIDB's `log_excerpt` limit, in characters.
pub const LIMIT: usize = 16384;

/// Longest line kept in an excerpt, in characters.
pub(crate) const MAX_EXCERPT_LINE: usize = 1024;

/// Lines kept per diagnostic block (context + head + continuation).
pub(crate) const MAX_BLOCK_LINES: usize = 40;

/// Bytes of the end of the log kept for the tail excerpt.
const TAIL_WINDOW: usize = 32 * 1024;

/// Lines shown by the tail excerpt.
const TAIL_LINES: usize = 50;

/// A log line as it appears in an excerpt: colour codes and control
/// characters (NUL included) removed, lossy UTF-8, at most
/// [`MAX_EXCERPT_LINE`] characters.
pub(crate) fn excerpt_line(raw: &[u8]) -> String {
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    // Fast path: valid UTF-8 without control characters (most lines).
    if let Ok(s) = std::str::from_utf8(raw) {
        if !has_control(raw) {
            return truncate_chars(s, MAX_EXCERPT_LINE);
        }
    }
    let clean = strip_ansi(raw);
    let s = String::from_utf8_lossy(&clean);
    let s: String = if s.chars().any(|c| c.is_control() && c != '\t') {
        s.chars()
            .filter(|c| !c.is_control() || *c == '\t')
            .collect()
    } else {
        s.into_owned()
    };
    truncate_chars(&s, MAX_EXCERPT_LINE)
}

/// Whether UTF-8 `b` holds a control character other than tab: C0, DEL,
/// or C1 (U+0080..U+009F, encoded `C2 80`..`C2 9F`).
pub(crate) fn has_control(b: &[u8]) -> bool {
    b.iter().any(|&c| (c < 0x20 && c != b'\t') || c == 0x7f)
        || memchr::memchr_iter(0xc2, b)
            .any(|i| b.get(i + 1).is_some_and(|n| (0x80..0xa0).contains(n)))
}

/// Characters a line costs in an excerpt (with its newline).
fn cost(l: &str) -> usize {
    l.chars().count() + 1
}

/// The block of one distinct diagnostic: its context, head line and the
/// lines that belong to it.
#[derive(Clone, Debug)]
pub(crate) struct StoredBlock {
    /// Log line number of the head.
    pub head_line: u64,
    pub lines: Vec<String>,
}

/// Blocks of distinct diagnostics, in order, until `LIMIT` characters.
#[derive(Clone, Debug, Default)]
pub(crate) struct BlockStore {
    pub blocks: Vec<StoredBlock>,
    chars: usize,
}

impl BlockStore {
    pub fn has_room(&self) -> bool {
        self.chars < LIMIT
    }

    pub fn push(&mut self, b: StoredBlock) {
        if !self.has_room() || b.lines.is_empty() {
            return;
        }
        self.chars += b.lines.iter().map(|l| cost(l)).sum::<usize>();
        self.blocks.push(b);
    }

    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }
}

/// The first error's region: from its context through the first make
/// failure that follows, without kbuild progress lines.
#[derive(Clone, Debug, Default)]
pub(crate) struct Region {
    pub state: RegionState,
    pub lines: Vec<String>,
    pub first: u64,
    pub last: u64,
    chars: usize,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum RegionState {
    #[default]
    NotStarted,
    Open,
    Closed,
}

/// Lines a region may span in the log before it is closed anyway.
const REGION_MAX_SPAN: u64 = 2000;

impl Region {
    pub fn is_open(&self) -> bool {
        self.state == RegionState::Open
    }

    pub fn start(&mut self, lineno: u64, lines: Vec<String>) {
        self.state = RegionState::Open;
        self.first = lineno;
        self.last = lineno;
        self.chars = lines.iter().map(|l| cost(l)).sum();
        self.lines = lines;
    }

    /// Add a line; closes the region when it is full or too long.
    pub fn push(&mut self, lineno: u64, line: String) {
        if !self.is_open() {
            return;
        }
        self.chars += cost(&line);
        self.lines.push(line);
        self.last = lineno;
        if self.chars >= LIMIT || lineno.saturating_sub(self.first) > REGION_MAX_SPAN {
            self.state = RegionState::Closed;
        }
    }

    pub fn close(&mut self) {
        if self.is_open() {
            self.state = RegionState::Closed;
        }
    }

    pub fn covers(&self, lineno: u64) -> bool {
        !self.lines.is_empty() && (self.first..=self.last).contains(&lineno)
    }
}

/// The last bytes of the log.
#[derive(Clone, Debug, Default)]
pub(crate) struct TailWindow {
    buf: Vec<u8>,
    /// Bytes were dropped before `buf` (its first line may be partial).
    cut: bool,
}

impl TailWindow {
    pub fn push(&mut self, bytes: &[u8]) {
        if bytes.len() >= TAIL_WINDOW {
            self.buf.clear();
            self.buf
                .extend_from_slice(&bytes[bytes.len() - TAIL_WINDOW..]);
            self.cut = true;
            return;
        }
        self.buf.extend_from_slice(bytes);
        if self.buf.len() > 2 * TAIL_WINDOW {
            let drop = self.buf.len() - TAIL_WINDOW;
            self.buf.drain(..drop);
            self.cut = true;
        }
    }

    /// The last [`TAIL_LINES`] lines, as excerpt lines.
    pub fn lines(&self) -> Vec<String> {
        let mut text = &self.buf[..];
        if self.cut {
            match memchr::memchr(b'\n', text) {
                Some(p) => text = &text[p + 1..],
                None => return Vec::new(),
            }
        }
        // Trailing blank lines show nothing.
        let end = text
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(0, |p| p + 1);
        let text = &text[..end];
        if text.is_empty() {
            return Vec::new();
        }
        let mut out: Vec<String> = text
            .rsplit(|&b| b == b'\n')
            .take(TAIL_LINES)
            .map(excerpt_line)
            .collect();
        out.reverse();
        out
    }
}

/// Join `lines` into an excerpt of at most [`LIMIT`] characters, cut
/// between lines (a first line longer than the limit is itself cut).
/// `None` when there is nothing to show.
pub(crate) fn render<'a>(lines: impl IntoIterator<Item = &'a String>) -> Option<String> {
    let mut out = String::new();
    let mut chars = 0;
    for l in lines {
        let c = l.chars().count();
        let sep = usize::from(!out.is_empty());
        if chars + sep + c > LIMIT {
            if out.is_empty() {
                out = truncate_chars(l, LIMIT);
            }
            break;
        }
        if sep == 1 {
            out.push('\n');
        }
        out.push_str(l);
        chars += sep + c;
    }
    if out.trim().is_empty() {
        None
    } else {
        Some(out)
    }
}

/// Like [`render`], but keeps the *end* of `lines` when they do not fit.
pub(crate) fn render_tail(head: &[String], tail: &[String]) -> Option<String> {
    let budget = LIMIT.saturating_sub(head.iter().map(|l| cost(l)).sum::<usize>().min(LIMIT / 2));
    let mut kept = Vec::new();
    let mut chars = 0;
    for l in tail.iter().rev() {
        if chars + cost(l) > budget {
            break;
        }
        chars += cost(l);
        kept.push(l);
    }
    kept.reverse();
    render(head.iter().chain(kept))
}

/// Severity-specific stores of one scope.
#[derive(Clone, Debug, Default)]
pub(crate) struct Stores {
    pub errors: BlockStore,
    pub warnings: BlockStore,
}

impl Stores {
    pub fn for_severity(&mut self, s: Severity) -> &mut BlockStore {
        match s {
            Severity::Error => &mut self.errors,
            Severity::Warning => &mut self.warnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_cuts_between_lines() {
        let lines: Vec<String> = (0..3000).map(|i| format!("line {i:05} é")).collect();
        let out = render(&lines).unwrap();
        assert!(out.chars().count() <= LIMIT);
        assert!(out.ends_with('é'));
        assert!(out.starts_with("line 00000"));
    }

    #[test]
    fn render_of_one_huge_line_is_cut() {
        let lines = vec!["x".repeat(LIMIT * 2)];
        assert_eq!(render(&lines).unwrap().chars().count(), LIMIT);
        assert_eq!(render(&Vec::<String>::new()), None);
    }

    #[test]
    fn excerpt_lines_have_no_control_characters() {
        assert_eq!(excerpt_line(b"a\0b\x1b[1mc\r"), "abc");
        assert_eq!(excerpt_line(b"\xff ok"), "\u{fffd} ok");
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let mut t = TailWindow::default();
        for i in 0..10_000 {
            t.push(format!("line {i}\n").as_bytes());
        }
        let l = t.lines();
        assert_eq!(l.len(), TAIL_LINES);
        assert_eq!(l.last().unwrap(), "line 9999");
        let mut t = TailWindow::default();
        t.push(&vec![b'y'; TAIL_WINDOW * 3]);
        t.push(b"\nend");
        assert_eq!(t.lines(), vec!["end".to_string()]);
    }
}
