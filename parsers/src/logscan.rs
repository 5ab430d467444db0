//! One streaming pass over a log, fanned out to several line consumers.
//!
//! The pass reads the bytes in large chunks, splits them on `\n`, strips a
//! trailing `\r`, and hands every line (as raw bytes: logs are not always
//! valid UTF-8) with its 1-based number to each [`LineSink`]. Memory stays
//! bounded: a line longer than [`MAX_LINE`] is cut to that length for the
//! sinks (the rest of it is skipped).

use std::io::Read;

use crate::ParseError;

/// Lines longer than this are truncated before they reach the sinks.
pub const MAX_LINE: usize = 1 << 20;

/// A consumer of log lines.
pub trait LineSink {
    /// One line, without its `\n` (and without a trailing `\r`).
    fn line(&mut self, lineno: u64, line: &[u8]);
    /// Called once after the last line.
    fn finish(&mut self) {}
}

/// Totals of a pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanStats {
    pub bytes: u64,
    pub lines: u64,
}

/// Read `r` to the end and feed every line to every sink. `name` is the
/// file name used in errors. Fails on read errors (e.g. truncated gzip) and
/// on binary content (NUL bytes in the first 64 KiB).
pub fn scan(
    name: &str,
    mut r: impl Read,
    sinks: &mut [&mut dyn LineSink],
) -> Result<ScanStats, ParseError> {
    let mut stats = ScanStats::default();
    let mut buf = vec![0u8; 256 * 1024];
    let mut carry: Vec<u8> = Vec::new();
    let mut carry_truncated = false;
    let mut checked_binary = false;
    let mut lineno = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ParseError::io(name, e)),
        };
        let chunk = &buf[..n];
        if !checked_binary {
            checked_binary = true;
            let head = &chunk[..chunk.len().min(64 * 1024)];
            if let Some(pos) = memchr::memchr(0, head) {
                return Err(ParseError::Binary {
                    file: name.to_string(),
                    reason: format!("NUL byte at offset {pos}"),
                });
            }
        }
        stats.bytes += n as u64;
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', chunk) {
            let piece = &chunk[start..nl];
            lineno += 1;
            if carry.is_empty() && !carry_truncated {
                emit(sinks, lineno, piece);
            } else {
                append_capped(&mut carry, piece, &mut carry_truncated);
                emit(sinks, lineno, &carry);
                carry.clear();
                carry_truncated = false;
            }
            start = nl + 1;
        }
        if start < chunk.len() {
            append_capped(&mut carry, &chunk[start..], &mut carry_truncated);
        }
    }
    if !carry.is_empty() || carry_truncated {
        lineno += 1;
        emit(sinks, lineno, &carry);
    }
    stats.lines = lineno;
    for s in sinks.iter_mut() {
        s.finish();
    }
    Ok(stats)
}

fn append_capped(carry: &mut Vec<u8>, piece: &[u8], truncated: &mut bool) {
    let room = MAX_LINE.saturating_sub(carry.len());
    if piece.len() > room {
        *truncated = true;
    }
    carry.extend_from_slice(&piece[..piece.len().min(room)]);
}

#[inline]
fn emit(sinks: &mut [&mut dyn LineSink], lineno: u64, line: &[u8]) {
    let line = if line.len() > MAX_LINE {
        &line[..MAX_LINE]
    } else {
        line
    };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    for s in sinks.iter_mut() {
        s.line(lineno, line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect(Vec<(u64, Vec<u8>)>);
    impl LineSink for Collect {
        fn line(&mut self, n: u64, l: &[u8]) {
            self.0.push((n, l.to_vec()));
        }
    }

    #[test]
    fn splits_lines_and_keeps_last_unterminated_line() {
        let mut c = Collect::default();
        let st = scan("x", &b"a\r\nb\n\nc"[..], &mut [&mut c]).unwrap();
        assert_eq!(st.lines, 4);
        assert_eq!(
            c.0,
            vec![
                (1, b"a".to_vec()),
                (2, b"b".to_vec()),
                (3, b"".to_vec()),
                (4, b"c".to_vec())
            ]
        );
    }

    #[test]
    fn rejects_nul_bytes() {
        let mut c = Collect::default();
        let e = scan("linux/log", &b"ab\0cd\n"[..], &mut [&mut c]).unwrap_err();
        assert!(e.to_string().contains("linux/log"));
    }
}
