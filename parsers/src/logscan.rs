//! One streaming pass over a log, fanned out to several line consumers.
//!
//! The pass reads the bytes in large chunks and splits them on `\n`. Each
//! [`LineSink`] receives the complete lines of a chunk in one call
//! ([`LineSink::lines`]); the default implementation splits them, strips a
//! trailing `\r` and calls [`LineSink::line`] once per line (as raw bytes:
//! logs are not always valid UTF-8) with its 1-based number. A sink that
//! only cares about a few lines can override `lines` and skip the rest at
//! memory speed. Memory stays bounded: a line longer than [`MAX_LINE`] is
//! cut to that length for [`LineSink::line`]; the bytes cut off are shown to
//! [`LineSink::overflow`] so that exact counters stay exact.

use std::any::Any;
use std::io::Read;
use std::ops::{Deref, Range};
use std::sync::{Arc, OnceLock};

use crate::ParseError;

/// A chunk as read, shared with the threads that need it, not copied
/// ([`scan_read_ahead`]'s tap, [`Detached`]).
pub type Chunk = Arc<ChunkBuf>;

/// What a sink may want to know of a chunk before it reads it, worked out
/// on another thread ([`scan_read_ahead`]'s `annotate`): the sink
/// downcasts it to the type it asked for.
pub type Annex = Box<dyn Any + Send + Sync>;

/// The bytes of a [`Chunk`] (all of the buffer; the bytes read are a
/// prefix) and the [`Annex`] worked out from the bytes read, if any. An
/// annex describes exactly these bytes: a chunk's bytes never change while
/// it is shared, and a buffer taken again starts without one.
#[derive(Default)]
pub struct ChunkBuf {
    bytes: Vec<u8>,
    annex: OnceLock<Annex>,
}

impl ChunkBuf {
    /// `bytes` without an annex.
    pub fn new(bytes: Vec<u8>) -> Self {
        ChunkBuf {
            bytes,
            annex: OnceLock::new(),
        }
    }

    /// These bytes with `annex`, which must describe them.
    pub fn with_annex(self, annex: Annex) -> Self {
        let _ = self.annex.set(annex);
        self
    }

    /// The annex of the bytes read, if one was worked out.
    pub fn annex(&self) -> Option<&Annex> {
        self.annex.get()
    }
}

impl Deref for ChunkBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

/// Buffers of [`CHUNK`] bytes to read into, handed back once no other
/// thread holds them; as many as the queues to the other threads can hold.
#[derive(Default)]
struct Pool(Vec<Chunk>);

/// Buffers kept by a [`Pool`]: more than the queues to other threads
/// ([`READ_AHEAD`], [`DETACHED_QUEUE`] per detached sink) hold at once.
const POOL: usize = 32;

impl Pool {
    /// A buffer of our own: a free one, or a new one.
    fn take(&mut self) -> Chunk {
        // the last one freed: the one most likely still in the cache
        match self.0.iter().rposition(|c| Arc::strong_count(c) == 1) {
            Some(i) => {
                let mut c = self.0.remove(i);
                if let Some(buf) = Arc::get_mut(&mut c) {
                    buf.annex = OnceLock::new();
                }
                c
            }
            None => Arc::new(ChunkBuf::new(vec![0u8; CHUNK])),
        }
    }

    /// Remember `chunk`, now shared, to take it again when it is free.
    fn keep(&mut self, chunk: &Chunk) {
        if self.0.len() < POOL {
            self.0.push(Arc::clone(chunk));
        }
    }
}

/// Lines longer than this are truncated before they reach the sinks.
pub const MAX_LINE: usize = 1 << 20;

/// Read size. Must not exceed [`MAX_LINE`]: a line that fits in one chunk
/// is then never longer than `MAX_LINE`, so [`LineSink::lines`] only ever
/// sees lines of at most `MAX_LINE` bytes.
const CHUNK: usize = 256 * 1024;
const _: () = assert!(CHUNK <= MAX_LINE);

/// A consumer of log lines.
pub trait LineSink {
    /// One line, without its `\n` (and without a trailing `\r`).
    fn line(&mut self, lineno: u64, line: &[u8]);

    /// Several complete lines at once: `text` is a run of whole lines, each
    /// terminated by `\n` (a `\r` before it is still there), the first one
    /// being line `first_lineno`; no line in it is longer than
    /// [`MAX_LINE`]. Returns the number of lines in `text` (its `\n`
    /// count), which saves [`scan`] counting them again. The default splits
    /// `text` and calls [`LineSink::line`] for each line; an override must
    /// behave as if it did.
    fn lines(&mut self, first_lineno: u64, text: &[u8]) -> u64 {
        let mut start = 0;
        let mut n = 0;
        for nl in memchr::memchr_iter(b'\n', text) {
            let l = &text[start..nl];
            self.line(first_lineno + n, l.strip_suffix(b"\r").unwrap_or(l));
            n += 1;
            start = nl + 1;
        }
        n
    }

    /// [`LineSink::lines`] of `&chunk[range]`, for a sink that can keep
    /// the chunk instead of copying the text ([`Detached`]); the default
    /// calls `lines`.
    fn chunk_lines(&mut self, first_lineno: u64, chunk: &Chunk, range: Range<usize>) -> u64 {
        self.lines(first_lineno, &chunk[range])
    }

    /// [`LineSink::chunk_lines`] when the scan already knows that
    /// `&chunk[range]` holds `n` lines (another sink counted them): a sink
    /// that counts them only to return the count may skip that. The
    /// default calls `chunk_lines`.
    fn known_lines(&mut self, first_lineno: u64, chunk: &Chunk, range: Range<usize>, n: u64) {
        let counted = self.chunk_lines(first_lineno, chunk, range);
        debug_assert_eq!(counted, n, "sinks disagree on line count");
    }

    /// Bytes of line `lineno` past [`MAX_LINE`], which `line` will not see.
    /// Called (possibly several times, in order) before `line(lineno, ..)`.
    fn overflow(&mut self, _lineno: u64, _dropped: &[u8]) {}

    /// The totals of the pass, given once after the last line.
    fn totals(&mut self, _stats: &ScanStats) {}

    /// Called once after the last line (after [`LineSink::totals`]).
    fn finish(&mut self) {}
}

/// Totals of a pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanStats {
    pub bytes: u64,
    pub lines: u64,
    /// NUL bytes dropped (ktest console logs can hold a few).
    pub nul_bytes: u64,
}

/// How much of a log's head may be binary (NULs and control bytes other
/// than tab, CR, LF, FF, BS and ESC) before the log is refused as not text.
pub const MAX_BINARY_PERCENT: usize = 10;

/// Bytes of the head judged by [`MAX_BINARY_PERCENT`].
const HEAD: usize = 64 * 1024;

/// `Some(reason)` when `head` is mostly binary.
fn mostly_binary(head: &[u8]) -> Option<String> {
    let binary = head
        .iter()
        .filter(|&&b| {
            (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c | 0x08 | 0x1b)) || b == 0x7f
        })
        .count();
    (binary * 100 > head.len() * MAX_BINARY_PERCENT).then(|| {
        format!(
            "{}% of its first {} bytes are NULs or control bytes",
            binary * 100 / head.len().max(1),
            head.len()
        )
    })
}

/// Drop the NUL bytes of `chunk` in place; returns the new length.
fn drop_nuls(chunk: &mut [u8]) -> usize {
    let mut w = 0;
    for r in 0..chunk.len() {
        let b = chunk[r];
        if b != 0 {
            chunk[w] = b;
            w += 1;
        }
    }
    w
}

/// Read `r` to the end and feed every line to every sink. `name` is the
/// file name used in errors. Fails on read errors (e.g. truncated gzip) and
/// on a mostly binary head (see [`MAX_BINARY_PERCENT`]); NUL bytes of a
/// text log are dropped and counted ([`ScanStats::nul_bytes`]).
pub fn scan(
    name: &str,
    mut r: impl Read,
    sinks: &mut [&mut dyn LineSink],
) -> Result<ScanStats, ParseError> {
    let mut pool = Pool::default();
    scan_chunks(name, &mut || read_chunk(&mut r, &mut pool), sinks)
}

/// [`scan_read_ahead`]'s `annotate`: the [`Annex`] of a chunk's bytes.
pub type Annotate<'a> = dyn FnMut(&[u8]) -> Annex + Send + 'a;

/// [`scan`], with the reading (and a gzipped log's inflating) on a thread
/// of its own, [`READ_AHEAD`] chunks ahead of the sinks, which takes the
/// copy out of the kernel off the sinks' core. That thread shows `tap`
/// every chunk as read, NULs included, before the sinks see its lines:
/// `tap(chunk, n)` for the bytes `chunk[..n]` (the sha256 of a log,
/// without a copy; a refused head is tapped before the scan refuses it).
///
/// With `annotate`, a second thread between the reader and the sinks
/// gives every chunk read its [`Annex`], `annotate(&chunk[..n])`, before
/// the sinks see it: work a sink would do on its own core done beside it.
/// A chunk the sinks get a copy of (NULs dropped) has none.
pub fn scan_read_ahead(
    name: &str,
    mut r: impl Read + Send,
    sinks: &mut [&mut dyn LineSink],
    tap: &mut (dyn FnMut(Chunk, usize) + Send),
    annotate: Option<&mut Annotate<'_>>,
) -> Result<ScanStats, ParseError> {
    std::thread::scope(|sc| {
        let (tx, rx) = std::sync::mpsc::sync_channel(READ_AHEAD);
        let reader = sc.spawn(move || {
            let mut pool = Pool::default();
            loop {
                let next = read_chunk(&mut r, &mut pool);
                if let Ok(Some((chunk, n))) = &next {
                    tap(Arc::clone(chunk), *n);
                }
                let last = !matches!(next, Ok(Some(_)));
                // a closed channel: the scan stopped (an error), so do we
                if tx.send(next).is_err() || last {
                    return;
                }
            }
        });
        let (rx, annotator) = match annotate {
            None => (rx, None),
            Some(annotate) => {
                let (tx2, rx2) = std::sync::mpsc::sync_channel(READ_AHEAD);
                let stage = sc.spawn(move || {
                    for next in rx {
                        if let Ok(Some((chunk, n))) = &next {
                            let annex = annotate(&chunk[..*n]);
                            // a fresh chunk from the reader has no annex yet
                            let _ = chunk.annex.set(annex);
                        }
                        if tx2.send(next).is_err() {
                            return;
                        }
                    }
                });
                (rx2, Some(stage))
            }
        };
        let scanned = scan_chunks(
            name,
            // a closed channel here means the reader is gone: join says why
            &mut || rx.recv().unwrap_or(Ok(None)),
            sinks,
        );
        drop(rx);
        let joined = [Some(reader), annotator]
            .into_iter()
            .flatten()
            .map(|t| t.join())
            .collect::<Vec<_>>();
        let stats = scanned?;
        if joined.iter().any(Result::is_err) {
            return Err(ParseError::syntax(
                name,
                None,
                "internal error: the read-ahead thread failed",
            ));
        }
        Ok(stats)
    })
}

/// Chunks read ahead by [`scan_read_ahead`].
const READ_AHEAD: usize = 4;

/// The next chunk of `r` in a buffer of `pool`: `(chunk, n)` for the bytes
/// `chunk[..n]`, or `None` at the end.
fn read_chunk(r: &mut impl Read, pool: &mut Pool) -> std::io::Result<Option<(Chunk, usize)>> {
    let mut chunk = pool.take();
    let buf = &mut Arc::get_mut(&mut chunk)
        .expect("a pool buffer no one else holds")
        .bytes;
    let n = loop {
        match r.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => break other?,
        }
    };
    if n == 0 {
        return Ok(None);
    }
    pool.keep(&chunk);
    Ok(Some((chunk, n)))
}

/// The pass itself, over the chunks `next` gives.
fn scan_chunks(
    name: &str,
    next: &mut dyn FnMut() -> std::io::Result<Option<(Chunk, usize)>>,
    sinks: &mut [&mut dyn LineSink],
) -> Result<ScanStats, ParseError> {
    let mut stats = ScanStats::default();
    // The start of a line that continues in the next chunk.
    let mut carry = Carry::default();
    let mut checked_binary = false;
    let mut lineno = 0u64;
    while let Some((mut shared, n)) = next().map_err(|e| ParseError::io(name, e))? {
        if !checked_binary {
            checked_binary = true;
            if let Some(reason) = mostly_binary(&shared[..n.min(HEAD)]) {
                return Err(ParseError::Binary {
                    file: name.to_string(),
                    reason,
                });
            }
        }
        stats.bytes += n as u64;
        let n = if memchr::memchr(0, &shared[..n]).is_some() {
            // A tap (and the pool) may still hold the bytes as read: the
            // sinks get a copy without the NULs.
            let mut text = shared[..n].to_vec();
            let kept = drop_nuls(&mut text);
            text.truncate(kept);
            stats.nul_bytes += (n - kept) as u64;
            shared = Arc::new(ChunkBuf::new(text));
            kept
        } else {
            n
        };
        if n == 0 {
            continue;
        }
        let chunk = &shared[..n];
        let (Some(first_nl), Some(last_nl)) =
            (memchr::memchr(b'\n', chunk), memchr::memrchr(b'\n', chunk))
        else {
            carry.append(chunk, lineno + 1, sinks);
            continue;
        };
        let mut start = 0;
        if carry.pending() {
            // The first line of this chunk ends the carried one.
            carry.append(&chunk[..first_nl], lineno + 1, sinks);
            lineno += 1;
            emit(sinks, lineno, &carry.buf);
            carry.clear();
            start = first_nl + 1;
        }
        if start <= last_nl {
            let block = start..last_nl + 1;
            // the first sink counts the lines for the scan and the others
            let n = match sinks.split_first_mut() {
                Some((first, others)) => {
                    let n = first.chunk_lines(lineno + 1, &shared, block.clone());
                    for s in others {
                        s.known_lines(lineno + 1, &shared, block.clone(), n);
                    }
                    n
                }
                None => memchr::memchr_iter(b'\n', &chunk[block]).count() as u64,
            };
            lineno += n;
        }
        if last_nl + 1 < chunk.len() {
            carry.append(&chunk[last_nl + 1..], lineno + 1, sinks);
        }
    }
    if carry.pending() {
        lineno += 1;
        emit(sinks, lineno, &carry.buf);
    }
    stats.lines = lineno;
    for s in sinks.iter_mut() {
        s.totals(&stats);
        s.finish();
    }
    Ok(stats)
}

/// A line being assembled across chunks, capped at [`MAX_LINE`].
#[derive(Default)]
struct Carry {
    buf: Vec<u8>,
    truncated: bool,
}

impl Carry {
    fn pending(&self) -> bool {
        !self.buf.is_empty() || self.truncated
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.truncated = false;
    }

    /// Append `piece` of line `lineno`; what does not fit goes to the
    /// sinks' `overflow`.
    fn append(&mut self, piece: &[u8], lineno: u64, sinks: &mut [&mut dyn LineSink]) {
        let room = MAX_LINE.saturating_sub(self.buf.len());
        let keep = piece.len().min(room);
        self.buf.extend_from_slice(&piece[..keep]);
        if keep < piece.len() {
            self.truncated = true;
            for s in sinks.iter_mut() {
                s.overflow(lineno, &piece[keep..]);
            }
        }
    }
}

#[inline]
fn emit(sinks: &mut [&mut dyn LineSink], lineno: u64, line: &[u8]) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    for s in sinks.iter_mut() {
        s.line(lineno, line);
    }
}

/// Messages from [`Detached`] to its thread: the [`LineSink`] calls.
enum Call {
    Line(u64, Vec<u8>),
    /// `first_lineno`, the chunk, the range, its line count if known.
    Lines(u64, Chunk, Range<usize>, Option<u64>),
    Overflow(u64, Vec<u8>),
    Totals(ScanStats),
    Finish,
}

/// Calls queued to a [`Detached`] sink's thread before [`scan`] waits:
/// a few chunks, so memory stays bounded.
const DETACHED_QUEUE: usize = 8;

/// A sink that runs on a thread of its own ([`Detached::spawn`]): [`scan`]
/// hands it copies of what it reads and goes on with the other sinks while
/// this one works, so independent sinks share the cores. It sees exactly
/// the calls it would see in place, in the same order; [`Detached::join`]
/// gives it back. [`Detached::here`] keeps a sink in place behind the same
/// interface, for inputs too small to be worth a thread.
pub struct Detached<'scope, S>(Place<'scope, S>);

enum Place<'scope, S> {
    Here(S),
    Away {
        tx: Option<std::sync::mpsc::SyncSender<Call>>,
        handle: std::thread::ScopedJoinHandle<'scope, S>,
    },
}

impl<'scope, S: LineSink + Send + 'scope> Detached<'scope, S> {
    /// `sink`, called in place.
    pub fn here(sink: S) -> Self {
        Detached(Place::Here(sink))
    }

    /// Start `sink`'s thread in `scope`.
    pub fn spawn<'env>(scope: &'scope std::thread::Scope<'scope, 'env>, mut sink: S) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Call>(DETACHED_QUEUE);
        let handle = scope.spawn(move || {
            for call in rx {
                match call {
                    Call::Line(n, l) => sink.line(n, &l),
                    Call::Lines(first, chunk, range, Some(n)) => {
                        sink.known_lines(first, &chunk, range, n);
                    }
                    Call::Lines(first, chunk, range, None) => {
                        sink.chunk_lines(first, &chunk, range);
                    }
                    Call::Overflow(n, d) => sink.overflow(n, &d),
                    Call::Totals(st) => sink.totals(&st),
                    Call::Finish => sink.finish(),
                }
            }
            sink
        });
        Detached(Place::Away {
            tx: Some(tx),
            handle,
        })
    }

    /// Wait until the sink has handled every call; the sink, or `None` if
    /// its thread panicked.
    pub fn join(self) -> Option<S> {
        match self.0 {
            Place::Here(sink) => Some(sink),
            Place::Away { tx, handle } => {
                drop(tx);
                handle.join().ok()
            }
        }
    }

    /// The sink in place, or nothing: the call goes to its thread.
    fn here_or_send(&mut self, call: impl FnOnce() -> Call) -> Option<&mut S> {
        match &mut self.0 {
            Place::Here(sink) => Some(sink),
            Place::Away { tx, .. } => {
                if let Some(tx) = tx {
                    // A closed channel means the thread is gone: `join` says so.
                    let _ = tx.send(call());
                }
                None
            }
        }
    }
}

impl<'scope, S: LineSink + Send + 'scope> LineSink for Detached<'scope, S> {
    fn line(&mut self, lineno: u64, line: &[u8]) {
        if let Some(s) = self.here_or_send(|| Call::Line(lineno, line.to_vec())) {
            s.line(lineno, line);
        }
    }

    /// Text not in a shared chunk (not from [`scan`]): a copy goes.
    fn lines(&mut self, first_lineno: u64, text: &[u8]) -> u64 {
        let chunk = Arc::new(ChunkBuf::new(text.to_vec()));
        self.chunk_lines(first_lineno, &chunk, 0..text.len())
    }

    fn chunk_lines(&mut self, first_lineno: u64, chunk: &Chunk, range: Range<usize>) -> u64 {
        let call = || Call::Lines(first_lineno, Arc::clone(chunk), range.clone(), None);
        match self.here_or_send(call) {
            Some(s) => s.chunk_lines(first_lineno, chunk, range),
            None => memchr::memchr_iter(b'\n', &chunk[range]).count() as u64,
        }
    }

    /// Sent on without counting the lines here (nor on the sink's thread,
    /// if the sink need not).
    fn known_lines(&mut self, first_lineno: u64, chunk: &Chunk, range: Range<usize>, n: u64) {
        let call = || Call::Lines(first_lineno, Arc::clone(chunk), range.clone(), Some(n));
        if let Some(s) = self.here_or_send(call) {
            s.known_lines(first_lineno, chunk, range, n);
        }
    }

    fn overflow(&mut self, lineno: u64, dropped: &[u8]) {
        if let Some(s) = self.here_or_send(|| Call::Overflow(lineno, dropped.to_vec())) {
            s.overflow(lineno, dropped);
        }
    }

    fn totals(&mut self, stats: &ScanStats) {
        if let Some(s) = self.here_or_send(|| Call::Totals(*stats)) {
            s.totals(stats);
        }
    }

    fn finish(&mut self) {
        if let Some(s) = self.here_or_send(|| Call::Finish) {
            s.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect(Vec<(u64, Vec<u8>)>, Vec<(u64, usize)>);
    impl LineSink for Collect {
        fn line(&mut self, n: u64, l: &[u8]) {
            self.0.push((n, l.to_vec()));
        }
        fn overflow(&mut self, n: u64, d: &[u8]) {
            self.1.push((n, d.len()));
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
    fn refuses_a_mostly_binary_head() {
        let mut c = Collect::default();
        let e = scan("linux/log", &b"ab\0cd\n"[..], &mut [&mut c]).unwrap_err();
        assert!(e.to_string().contains("linux/log"), "{e}");
        let mut bin = vec![0u8; 10_000];
        bin.extend_from_slice(b"warning: text after\n");
        let e = scan("linux/log", &bin[..], &mut [&mut Collect::default()]).unwrap_err();
        assert!(e.to_string().contains("NULs or control bytes"), "{e}");
    }

    #[test]
    fn drops_and_counts_a_few_nuls() {
        let mut text = Vec::new();
        for i in 0..10_000 {
            text.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        text.insert(3, 0);
        text.extend_from_slice(b"\0\0tail\0\n");
        let mut c = Collect::default();
        let st = scan("x", &text[..], &mut [&mut c]).unwrap();
        assert_eq!(st.nul_bytes, 4);
        assert_eq!(st.lines, 10_001);
        assert_eq!(c.0[0].1, b"line 0".to_vec());
        assert_eq!(c.0[10_000].1, b"tail".to_vec());
        // a later run of NULs (a sparse tail past the judged head) is
        // dropped too, not refused
        let mut sparse = text.clone();
        sparse.extend(std::iter::repeat_n(0u8, 1 << 20));
        let st = scan("x", &sparse[..], &mut [&mut Collect::default()]).unwrap();
        assert_eq!(st.nul_bytes, 4 + (1 << 20));
    }

    /// A reader that returns at most `step` bytes per call, to exercise
    /// lines split across reads.
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(self.1).min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn lines_split_across_reads_are_joined() {
        let text = b"first line\r\nsecond\nthird line here\nlast";
        for step in 1..text.len() {
            let mut c = Collect::default();
            let st = scan("x", Trickle(text, step), &mut [&mut c]).unwrap();
            assert_eq!(st.lines, 4, "step {step}");
            assert_eq!(st.bytes, text.len() as u64);
            let got: Vec<&[u8]> = c.0.iter().map(|(_, l)| l.as_slice()).collect();
            assert_eq!(
                got,
                vec![&b"first line"[..], b"second", b"third line here", b"last"],
                "step {step}"
            );
        }
    }

    /// A line over [`MAX_LINE`], `n` numbered CRLF lines, then `last`.
    fn overlong_then_numbered(n: usize, last: &[u8]) -> Vec<u8> {
        let mut text = vec![b'y'; MAX_LINE + 10];
        text.extend_from_slice(b"\n");
        for i in 0..n {
            text.extend_from_slice(format!("line {i}\r\n").as_bytes());
        }
        text.extend_from_slice(last);
        text
    }

    #[test]
    fn a_detached_sink_sees_what_it_would_see_in_place() {
        let text = overlong_then_numbered(50_000, b"last");
        let mut here = Collect::default();
        let st_here = scan("x", Trickle(&text, 100_003), &mut [&mut here]).unwrap();
        let (st, there) = std::thread::scope(|sc| {
            let mut d = Detached::spawn(sc, Collect::default());
            let mut beside = Collect::default();
            let st = scan("x", Trickle(&text, 100_003), &mut [&mut beside, &mut d]).unwrap();
            let there = d.join().expect("sink thread");
            assert_eq!(beside.0, there.0);
            (st, there)
        });
        assert_eq!(st, st_here);
        assert_eq!(there.0, here.0);
        assert_eq!(there.1, here.1);
        assert_eq!(there.0.len(), 50_002);
    }

    #[test]
    fn the_tap_sees_every_byte_as_read_and_no_held_chunk_changes() {
        let mut text = Vec::new();
        for i in 0..200_000 {
            text.extend_from_slice(format!("line {i}\n").as_bytes());
            if i % 50_000 == 7 {
                text.extend_from_slice(b"a NUL\0 here\n");
            }
        }
        let mut here = Collect::default();
        scan("x", &text[..], &mut [&mut here]).unwrap();
        for step in [CHUNK, 100_003, 4096] {
            // the tap holds the last few chunks, as a slow thread would,
            // and checks none of them was written to while it held it
            let mut held: std::collections::VecDeque<(Chunk, usize, Vec<u8>)> = Default::default();
            let mut seen = Vec::new();
            let mut tap = |chunk: Chunk, n: usize| {
                let now = chunk[..n].to_vec();
                seen.extend_from_slice(&now);
                held.push_back((chunk, n, now));
                if held.len() > 5 {
                    let (c, n, then) = held.pop_front().unwrap();
                    assert_eq!(c[..n], then[..], "a held chunk changed");
                }
            };
            let mut c = Collect::default();
            let st =
                scan_read_ahead("x", Trickle(&text, step), &mut [&mut c], &mut tap, None).unwrap();
            assert_eq!(seen, text, "step {step}");
            assert_eq!(st.nul_bytes, 4);
            assert_eq!(c.0, here.0, "step {step}");
        }
    }

    /// A reader that fails after `ok` bytes.
    struct Failing<'a>(&'a [u8], usize);
    impl Read for Failing<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.1 == 0 {
                return Err(std::io::Error::other("unexpected end of gzip stream"));
            }
            let n = self.0.len().min(self.1).min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            self.1 -= n;
            Ok(n)
        }
    }

    #[test]
    fn reading_ahead_on_a_thread_changes_nothing() {
        let text = overlong_then_numbered(300_000, b"a NUL\0\nlast");
        for step in [CHUNK, 100_003] {
            let mut here = Collect::default();
            let st_here = scan("x", Trickle(&text, step), &mut [&mut here]).unwrap();
            let mut ahead = Collect::default();
            let mut tapped = Vec::new();
            let st = scan_read_ahead(
                "x",
                Trickle(&text, step),
                &mut [&mut ahead],
                &mut |c, n| tapped.extend_from_slice(&c[..n]),
                None,
            )
            .unwrap();
            assert_eq!(st, st_here);
            assert_eq!(ahead.0, here.0);
            assert_eq!(ahead.1, here.1);
            assert_eq!(tapped, text);
        }
        // a read error mid-way is the scan's error, with the file's name
        let e = scan_read_ahead(
            "linux/log.gz",
            Failing(&text, 3 * CHUNK + 5),
            &mut [&mut Collect::default()],
            &mut |_, _| {},
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("linux/log.gz"), "{e}");
        assert!(
            e.to_string().contains("unexpected end of gzip stream"),
            "{e}"
        );
        // a refused head stops the scan while the reader is still reading
        let mut bin = vec![0u8; 64 * 1024];
        bin.extend(std::iter::repeat_n(b'x', 8 * CHUNK));
        let e = scan_read_ahead(
            "b",
            &bin[..],
            &mut [&mut Collect::default()],
            &mut |_, _| {},
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("NULs or control bytes"), "{e}");
    }

    /// Checks that each chunk's annex is the copy of its bytes that the
    /// test's `annotate` makes, and counts the chunks with and without.
    #[derive(Default)]
    struct AnnexCheck {
        lines: Collect,
        annexed: usize,
        bare: usize,
    }
    impl LineSink for AnnexCheck {
        fn line(&mut self, n: u64, l: &[u8]) {
            self.lines.line(n, l);
        }
        fn chunk_lines(&mut self, first: u64, chunk: &Chunk, range: Range<usize>) -> u64 {
            match chunk.annex() {
                Some(a) => {
                    let bytes = a.downcast_ref::<Vec<u8>>().expect("the test's annex");
                    assert!(
                        bytes[range.clone()] == chunk[range.clone()],
                        "a stale annex"
                    );
                    self.annexed += 1;
                }
                None => self.bare += 1,
            }
            self.lines.lines(first, &chunk[range])
        }
    }

    #[test]
    fn every_chunk_read_ahead_gets_the_annex_of_its_own_bytes() {
        let text = overlong_then_numbered(300_000, b"a NUL\0\nlast");
        let mut here = Collect::default();
        scan("x", &text[..], &mut [&mut here]).unwrap();
        for step in [CHUNK, 100_003, 4096] {
            // a slow tap keeps buffers busy, so that the pool reuses them
            // in another order than read
            let mut held = std::collections::VecDeque::new();
            let mut tap = |c: Chunk, _| {
                held.push_back(c);
                if held.len() > 7 {
                    held.pop_front();
                }
            };
            let mut annotate = |b: &[u8]| -> Annex { Box::new(b.to_vec()) };
            let mut sink = AnnexCheck::default();
            scan_read_ahead(
                "x",
                Trickle(&text, step),
                &mut [&mut sink],
                &mut tap,
                Some(&mut annotate),
            )
            .unwrap();
            assert_eq!(sink.lines.0, here.0, "step {step}");
            assert!(sink.annexed >= 10, "step {step}: {}", sink.annexed);
            // the chunk with the NUL is copied without it, and without annex
            assert_eq!(sink.bare, 1, "step {step}");
        }
    }

    #[test]
    fn overlong_line_is_cut_and_the_rest_reported() {
        let mut text = vec![b'x'; MAX_LINE + CHUNK + 10];
        text.extend_from_slice(b"\nnext\n");
        let mut c = Collect::default();
        let st = scan("x", &text[..], &mut [&mut c]).unwrap();
        assert_eq!(st.lines, 2);
        assert_eq!(c.0[0].1.len(), MAX_LINE);
        assert_eq!(c.0[1], (2, b"next".to_vec()));
        let dropped: usize = c.1.iter().map(|(_, n)| n).sum();
        assert_eq!(dropped, CHUNK + 10);
        assert!(c.1.iter().all(|(n, _)| *n == 1));
    }
}
