//! Byte-level mutations of one file's content. Every mutation keeps the
//! result at most [`MAX_LEN`] bytes so a case stays fast.

use std::io::Write;

use fastrand::Rng;

/// Upper bound of a mutated file (4 MiB).
pub const MAX_LEN: usize = 4 << 20;

/// Lines worth splicing and repeating, gathered from every seed file.
pub struct Pool {
    pub lines: Vec<Vec<u8>>,
    /// Lines that drive parsers (ktest framing, diagnostics, git refs, …).
    pub markers: Vec<Vec<u8>>,
}

const MARKER_WORDS: &[&str] = &[
    "KTEST RESULT",
    "STARTING AUTOMATED TESTS",
    "CRITICAL FAILURE",
    "Build time",
    "Caught Sig",
    "RUNNING TEST",
    "BUILD_TYPE",
    "MAKE_CMD",
    "warning:",
    "error:",
    "Error ",
    "make",
    "Applying",
    "quilt",
    "ref:",
    "CONFIG_",
    "#define",
    "real",
    "user",
    "Elapsed",
    "KTEST_RUN",
    "git ",
    "patch",
    "tests were successful",
    "%%%%",
];

/// Tokens inserted as they are: numbers at the edges, odd time formats,
/// separators parsers split on.
const TOKENS: &[&str] = &[
    "0",
    "-1",
    "18446744073709551616",
    "99999999999999999999999999",
    "1e309",
    "NaN",
    "inf",
    "real\t0m0.000s\n",
    "real\t99999999999m59.999s\n",
    "real 1:2:3:4\n",
    "Elapsed (wall clock) time (h:mm:ss or m:ss): 99:99:99\n",
    "1970-01-01T00:00:00Z\n",
    "9999-99-99T99:99:99+99:99\n",
    "-9223372036854775808\n",
    "ref: refs/heads/\n",
    "ref: ../../../../etc/passwd\n",
    "0000000000000000000000000000000000000000\n",
    "KTEST RESULT: TEST 1 SUCCESS!!!!\n",
    "KTEST RESULT: TEST 99999999999999999999 Failed: x\n",
    "    0 of 0 tests were successful\n",
    "CRITICAL FAILURE... \n",
    "Build time: 99999999999999999 minutes 99 seconds\n",
    ":0:0: warning: \n",
    "a.c:4294967296:4294967296: error: x\n",
    "=",
    ":",
    "\"",
    "\\",
    "${",
    "%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%\n",
    "\r",
    "\r\n",
    "\t",
    "\u{feff}",
    "\u{202e}",
];

const BAD_UTF8: &[&[u8]] = &[
    b"\xff",
    b"\xfe\xff",
    b"\xc0\x80",
    b"\xed\xa0\x80",
    b"\x80",
    b"\xe2\x82",
    b"\xf4\x90\x80\x80",
    b"\xf0\x9f\x98",
];

const CONTROL: &[&[u8]] = &[
    b"\0",
    b"\0\0\0\0",
    b"\x1b[31m",
    b"\x1b]0;x\x07",
    b"\x08\x08",
    b"\x0c",
    b"\x7f",
    b"\r",
    b"\x1a",
];

impl Pool {
    pub fn new<'a>(files: impl Iterator<Item = &'a [u8]>) -> Pool {
        let mut lines = Vec::new();
        let mut markers = Vec::new();
        for f in files {
            for l in f.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                if l.len() > 4096 {
                    continue;
                }
                let s = String::from_utf8_lossy(l);
                if MARKER_WORDS.iter().any(|w| s.contains(w)) && markers.len() < 20_000 {
                    markers.push(l.to_vec());
                } else if lines.len() < 50_000 {
                    lines.push(l.to_vec());
                }
            }
        }
        if lines.is_empty() {
            lines.push(b"x".to_vec());
        }
        if markers.is_empty() {
            markers.push(b"KTEST RESULT: TEST 1 SUCCESS".to_vec());
        }
        Pool { lines, markers }
    }
}

fn pick<'a, T>(rng: &mut Rng, v: &'a [T]) -> &'a T {
    &v[rng.usize(..v.len())]
}

/// A position at a line start (or anywhere, half the time).
fn position(rng: &mut Rng, data: &[u8]) -> usize {
    if data.is_empty() {
        return 0;
    }
    let p = rng.usize(..=data.len());
    if rng.bool() {
        return p;
    }
    match data[..p].iter().rposition(|&b| b == b'\n') {
        Some(i) => i + 1,
        None => 0,
    }
}

fn insert(data: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    let room = MAX_LEN.saturating_sub(data.len());
    let bytes = &bytes[..bytes.len().min(room)];
    data.splice(at..at, bytes.iter().copied());
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("gzip to memory");
    enc.finish().expect("gzip to memory")
}

pub fn gunzip(bytes: &[u8]) -> Option<Vec<u8>> {
    use std::io::Read;
    if bytes.len() < 2 || bytes[0] != 0x1f || bytes[1] != 0x8b {
        return None;
    }
    let mut out = Vec::new();
    let _ = flate2::read::MultiGzDecoder::new(bytes)
        .take(MAX_LEN as u64)
        .read_to_end(&mut out);
    Some(out)
}

/// Apply one random content mutation; returns its one-line description.
pub fn mutate(rng: &mut Rng, data: &mut Vec<u8>, pool: &Pool) -> String {
    // work on the plain bytes of a gzip file half the time, then recompress
    if rng.u8(..4) == 0 {
        if let Some(mut plain) = gunzip(data) {
            let d = mutate_plain(rng, &mut plain, pool);
            *data = gzip(&plain);
            return format!("inside gzip: {d}");
        }
    }
    if rng.u8(..7) == 0 {
        return mutate_gzip(rng, data);
    }
    mutate_plain(rng, data, pool)
}

fn mutate_gzip(rng: &mut Rng, data: &mut Vec<u8>) -> String {
    match rng.u8(..7) {
        0 => {
            *data = gzip(data);
            "gzip-compressed".into()
        }
        1 => {
            let gz = gzip(data);
            let cut = rng.usize(..=gz.len());
            *data = gz[..cut].to_vec();
            format!("gzip truncated at {cut} of {}", gz.len())
        }
        2 => {
            let mut gz = gzip(data);
            let n = rng.usize(2..5);
            let one = gz.clone();
            for _ in 1..n {
                gz.extend_from_slice(&one);
            }
            gz.truncate(MAX_LEN);
            *data = gz;
            format!("{n} concatenated gzip members")
        }
        3 => {
            let n = rng.usize(0..4096);
            let garbage: Vec<u8> = (0..n).map(|_| rng.u8(..)).collect();
            *data = gzip(&garbage);
            format!("gzip of {n} random bytes")
        }
        4 => {
            let mut gz = gzip(data);
            let n = rng.usize(1..64);
            gz.extend((0..n).map(|_| rng.u8(..)));
            *data = gz;
            format!("gzip with {n} trailing garbage bytes")
        }
        5 => {
            let mut v = vec![0x1f, 0x8b];
            let n = rng.usize(0..512);
            v.extend((0..n).map(|_| rng.u8(..)));
            *data = v;
            format!("gzip magic + {n} random bytes")
        }
        _ => {
            let mut gz = gzip(data);
            if gz.len() > 20 {
                let i = rng.usize(10..gz.len());
                gz[i] ^= 1 << rng.u8(..8);
            }
            *data = gz;
            "gzip with one flipped bit in the stream".into()
        }
    }
}

fn mutate_plain(rng: &mut Rng, data: &mut Vec<u8>, pool: &Pool) -> String {
    match rng.u8(..14) {
        0 => {
            let n = rng.usize(1..32);
            for _ in 0..n {
                if data.is_empty() {
                    break;
                }
                let i = rng.usize(..data.len());
                data[i] ^= 1 << rng.u8(..8);
            }
            format!("{n} bit flips")
        }
        1 => {
            let cut = rng.usize(..=data.len());
            data.truncate(cut);
            format!("truncated at {cut}")
        }
        2 => {
            let n = rng.usize(1..20);
            for _ in 0..n {
                let l = pick(rng, &pool.lines).clone();
                let at = position(rng, data);
                let mut l2 = l;
                l2.push(b'\n');
                insert(data, at, &l2);
            }
            format!("{n} lines spliced from other files")
        }
        3 => {
            let line = if rng.bool() || data.is_empty() {
                pick(rng, &pool.markers).clone()
            } else {
                let at = position(rng, data);
                let end = data[at..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(data.len(), |e| at + e);
                data[at..end].to_vec()
            };
            let times = if rng.bool() {
                rng.usize(2..50)
            } else {
                rng.usize(50..200_000)
            };
            let mut block = Vec::with_capacity(((line.len() + 1) * times).min(MAX_LEN));
            for _ in 0..times {
                if block.len() + line.len() + 1 > MAX_LEN {
                    break;
                }
                block.extend_from_slice(&line);
                block.push(b'\n');
            }
            let at = position(rng, data);
            insert(data, at, &block);
            format!(
                "line {:?} repeated {times} times",
                String::from_utf8_lossy(&line[..line.len().min(60)])
            )
        }
        4 => {
            let n = rng.usize(1..10);
            for _ in 0..n {
                let at = position(rng, data);
                let b = *pick(rng, BAD_UTF8);
                insert(data, at, b);
            }
            format!("{n} invalid UTF-8 sequences")
        }
        5 => {
            let n = rng.usize(1..10);
            for _ in 0..n {
                let at = position(rng, data);
                let b = *pick(rng, CONTROL);
                insert(data, at, b);
            }
            format!("{n} NUL/control sequences")
        }
        6 => {
            let len = if rng.bool() {
                rng.usize(4096..70_000)
            } else {
                rng.usize(70_000..MAX_LEN)
            };
            let fill = *pick(rng, &[b'a', b' ', b'%', b'0', b':', b'\0', 0xff]);
            let mut l = vec![fill; len];
            l.push(b'\n');
            let at = position(rng, data);
            insert(data, at, &l);
            format!("{len}-byte line of {fill:#04x}")
        }
        7 => {
            let n = rng.usize(1..8);
            for _ in 0..n {
                let at = position(rng, data);
                insert(data, at, pick(rng, TOKENS).as_bytes());
            }
            format!("{n} dictionary tokens")
        }
        8 => {
            if data.is_empty() {
                return "delete range (empty)".into();
            }
            let a = position(rng, data);
            let b = (a + rng.usize(..=4096)).min(data.len());
            data.drain(a..b);
            format!("deleted bytes {a}..{b}")
        }
        9 => {
            let mut out = Vec::with_capacity(data.len() + data.len() / 20);
            for &b in data.iter() {
                if b == b'\n' {
                    out.push(b'\r');
                }
                out.push(b);
            }
            out.truncate(MAX_LEN);
            *data = out;
            "LF → CRLF".into()
        }
        10 => {
            data.clear();
            "emptied".into()
        }
        11 => {
            // lines shuffled (a few swaps)
            let mut lines: Vec<Vec<u8>> = data.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
            let n = rng.usize(1..10);
            for _ in 0..n {
                let (i, j) = (rng.usize(..lines.len()), rng.usize(..lines.len()));
                lines.swap(i, j);
            }
            *data = lines.join(&b'\n');
            format!("{n} line swaps")
        }
        12 => {
            // strip the final newline / add many blank lines
            if rng.bool() {
                while data.last() == Some(&b'\n') {
                    data.pop();
                }
                "final newline removed".into()
            } else {
                let n = rng.usize(1..100_000);
                let at = position(rng, data);
                insert(data, at, &vec![b'\n'; n]);
                format!("{n} blank lines")
            }
        }
        _ => {
            let n = rng.usize(1..4096);
            let at = position(rng, data);
            let junk: Vec<u8> = (0..n).map(|_| rng.u8(..)).collect();
            insert(data, at, &junk);
            format!("{n} random bytes inserted")
        }
    }
}
