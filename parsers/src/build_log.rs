//! The primary build log in one streaming pass: ktest framing
//! ([`crate::ktest_framing`], read once for both the `ktest.*` facts of
//! [`crate::ktest_log`] and the steps the diagnostics count),
//! script-compatible raw counts and distinct diagnostics
//! ([`crate::diag`]), and the sha256 of the log's bytes (the
//! default run id, so build ids follow the content, not the file's name or
//! time stamps).

use sha2::{Digest, Sha256};

use crate::diag::{self, Engine};
use crate::digest::hex;
use crate::keys;
use crate::logscan::{scan_read_ahead, Chunk, Detached, LineSink};
use crate::{Facts, Input, ParseError, Parser};
use std::ops::Range;

/// The build log parser (ktest LOG_FILE, tuxmake build.log, bare logs).
pub struct BuildLog;

impl Parser for BuildLog {
    fn id(&self) -> &'static str {
        "build-log"
    }
    fn description(&self) -> &'static str {
        "primary build log in one pass: ktest framing (steps, banners, CRITICAL FAILURE), grep-compatible raw counts, distinct diagnostics, excerpt, content hash"
    }
    fn inputs(&self) -> &'static [&'static str] {
        &["linux/log", "log", "build.log", "*.log", "*.gz"]
    }
    fn parse(&self, input: &Input, facts: &mut Facts) -> Result<(), ParseError> {
        let Some(rel) = input.log.as_deref() else {
            return Ok(());
        };
        let Some(opened) = input.open(rel)? else {
            return Ok(());
        };
        let mut engine = Engine::with_framing(&opened.name);
        // The log is read on a thread of its own, which hashes it too. A
        // big log's end markers (a few searches of every chunk) get
        // another, and so does the search of its chunks for the engine's
        // trigger lines and their classification (`diag::annotate`):
        // beside the engine they cost less wall time. A small log keeps
        // both here: a thread would cost more.
        let big = opened.size >= DETACH_FROM;
        let (bytes, digest, ends) = std::thread::scope(|sc| {
            let mut ends = if big {
                Detached::spawn(sc, EndMarkers::default())
            } else {
                Detached::here(EndMarkers::default())
            };
            let mut h = Sha256::new();
            let mut annotate = diag::annotator();
            let scanned = scan_read_ahead(
                &opened.name,
                opened.reader,
                &mut [&mut engine, &mut ends],
                &mut |chunk: Chunk, n| h.update(&chunk[..n]),
                if big { Some(&mut annotate) } else { None },
            );
            // joined before the scan's error is reported: a thread left
            // unjoined after a panic would make the scope panic too
            let ends = ends.join().ok_or_else(|| {
                ParseError::syntax(
                    &opened.name,
                    None,
                    "internal error: the end markers thread failed",
                )
            });
            scanned.and_then(|st| Ok((st.bytes, h.finalize(), ends?)))
        })?;
        if bytes == 0 {
            return Err(ParseError::syntax(
                &opened.name,
                None,
                "the build log is empty",
            ));
        }
        let (report, framing) = engine.finish_with_framing();
        facts.extend(framing);
        ends.emit(
            &opened.name,
            (report.warnings_raw_cs, report.errors_raw_cs),
            facts,
        );
        facts.push(keys::LOG_SHA256, hex(&digest), &opened.name, None);
        facts.push(keys::LOG_BYTES, bytes, &opened.name, None);
        facts.diag = Some((opened.name, report));
        Ok(())
    }
}

/// Markers of how a plain (non-ktest) build log ended: kbuild's
/// `Kernel: … is ready` or the last boot image step, the first top-level make failure, and the
/// command lines tuxmake echoes at the top of its `build.log`.
#[derive(Default)]
struct EndMarkers {
    kernel_ready: Option<(u64, String)>,
    image_built: Option<(u64, String)>,
    make_failed: Option<(u64, String)>,
    tuxmake_cmd: Option<(u64, String)>,
    make_cmd: Option<(u64, String)>,
    /// The parts of the build the log shows built, and the first line
    /// that shows each.
    parts: Parts,
    /// The echoed make command running now (tuxmake's silent steps) and
    /// whether it failed yet.
    segment: Option<Segment>,
    /// The log's last non-blank line so far, when it is the outermost
    /// make's `Leaving directory` (the line number is set in `emit`).
    make_finished: Option<String>,
}

/// A part of what a build produces: docs/status.md#what-was-built.
#[derive(Clone, Copy)]
enum Part {
    Kernel,
    Modules,
    Dtbs,
}

impl Part {
    const ALL: [Part; 3] = [Part::Kernel, Part::Modules, Part::Dtbs];

    fn name(self) -> &'static str {
        match self {
            Part::Kernel => "kernel",
            Part::Modules => "modules",
            Part::Dtbs => "dtbs",
        }
    }
}

/// The first line that shows each part built.
#[derive(Default)]
struct Parts([Option<u64>; 3]);

impl Parts {
    fn mark(&mut self, part: Part, line: u64) {
        self.0[part as usize].get_or_insert(line);
    }

    fn has(&self, part: Part) -> bool {
        self.0[part as usize].is_some()
    }

    fn names(&self) -> Vec<&'static str> {
        Part::ALL
            .into_iter()
            .filter(|p| self.has(*p))
            .map(Part::name)
            .collect()
    }

    fn first_line(&self) -> Option<u64> {
        self.0.iter().flatten().min().copied()
    }
}

/// One echoed `make ... <goals>` command (tuxmake prints each before it
/// runs it, with `--silent`): its goals count as built when the next
/// command starts (or the log ends) without a top-level make failure.
struct Segment {
    line: u64,
    /// The parts its goals build, by [`Part`].
    goals: [bool; 3],
    failed: bool,
}

impl Segment {
    fn of(lineno: u64, cmd: &[u8]) -> Segment {
        let goals: Vec<&[u8]> = cmd
            .split(|b| b.is_ascii_whitespace())
            .skip(1)
            .filter(|t| {
                !t.is_empty()
                    && !t.starts_with(b"-")
                    && !t.iter().any(|b| matches!(b, b'=' | b'\'' | b'"' | b'/'))
            })
            .collect();
        let any = |f: fn(&[u8]) -> bool| goals.iter().any(|g| f(g));
        let all = goals.is_empty() || any(|g| g == b"all");
        Segment {
            line: lineno,
            goals: [
                all || any(is_image_name),
                all || any(|g| g == b"modules"),
                any(|g| g == b"dtbs"),
            ],
            failed: false,
        }
    }
}

/// A kernel image's file name, on any architecture: `Image`, `Image.gz`,
/// `zImage`, `bzImage`, `uImage`, `xipImage`, `vmlinux`, `vmlinux.bin`,
/// `vmlinux.efi`, `vmlinuz`, `vmlinuz.efi`, ...
fn is_image_name(name: &[u8]) -> bool {
    memchr::memmem::find(name, b"Image").is_some() || name.starts_with(b"vmlinu")
}

/// Only the head of the log is searched for echoed command lines.
const HEAD_LINES: u64 = 200;

impl EndMarkers {
    /// The facts, with the case-sensitive raw counts (`grep "warning:"`,
    /// `grep "error:"`) that the engine counts on the lines it reads.
    fn emit(mut self, file: &str, counts_cs: (u64, u64), facts: &mut Facts) {
        // A command still running at the end counts only in tuxmake's
        // log, which ends after its last command; a bare log may have
        // been cut.
        if self.tuxmake_cmd.is_some() {
            self.end_segment();
        }
        if let Some(text) = self.make_finished.take() {
            facts.push(keys::LOG_MAKE_FINISHED, text, file, None);
        }
        if let Some(line) = self.parts.first_line() {
            facts.push(keys::LOG_PARTS_BUILT, self.parts.names(), file, Some(line));
        }
        facts.push(keys::LOG_WARNINGS_RAW_CS, counts_cs.0, file, None);
        facts.push(keys::LOG_ERRORS_RAW_CS, counts_cs.1, file, None);
        for (key, v) in [
            (keys::LOG_KERNEL_READY, self.kernel_ready),
            (keys::LOG_IMAGE_BUILT, self.image_built),
            (keys::LOG_MAKE_FAILED, self.make_failed),
            (keys::LOG_TUXMAKE_CMD, self.tuxmake_cmd),
            (keys::LOG_MAKE_CMD, self.make_cmd),
        ] {
            if let Some((line, text)) = v {
                facts.push(key, text, file, Some(line));
            }
        }
    }
}

/// `HH:MM:SS ` (CI runners prefix every line with the time).
fn strip_timestamp(line: &[u8]) -> &[u8] {
    match line {
        [a, b, b':', c, d, b':', e, f, b' ', rest @ ..]
            if [a, b, c, d, e, f].iter().all(|x| x.is_ascii_digit()) =>
        {
            rest
        }
        _ => line,
    }
}

/// kbuild's step line for a boot image: `  OBJCOPY arch/arm64/boot/Image`,
/// `  GZIP    arch/arm64/boot/Image.gz`, `  LD      arch/x86/boot/setup.elf`
/// does not count (not an image).
fn is_boot_image_step(t: &[u8]) -> bool {
    let Some(sp) = t.iter().position(|b| *b == b' ') else {
        return false;
    };
    let (tag, rest) = t.split_at(sp);
    if tag.is_empty()
        || !tag
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return false;
    }
    let path = trim_ascii_start(rest);
    if !path.starts_with(b"arch/") || memchr::memmem::find(path, b"/boot/").is_none() {
        return false;
    }
    let name = path.rsplit(|b| *b == b'/').next().unwrap_or(path);
    is_image_name(name) && !name.ends_with(b".lds") && !name.ends_with(b".o")
}

/// A kbuild step line (leading spaces trimmed) that shows a part built:
/// the kernel (`LD      vmlinux`, a boot image), a module (`LD [M]
/// x.ko`), a device tree blob (`DTC     x.dtb`).
fn built_part(t: &[u8]) -> Option<Part> {
    let sp = t.iter().position(|b| *b == b' ')?;
    let (tag, rest) = t.split_at(sp);
    let path = trim_ascii_start(rest);
    match tag {
        b"LD" if path == b"vmlinux" => Some(Part::Kernel),
        b"LD" if path.starts_with(b"[M]") && path.ends_with(b".ko") => Some(Part::Modules),
        b"DTC" | b"DTB" if path.ends_with(b".dtb") => Some(Part::Dtbs),
        _ if is_boot_image_step(t) => Some(Part::Kernel),
        _ => None,
    }
}

impl EndMarkers {
    /// The end and command markers of one line.
    fn markers(&mut self, lineno: u64, line: &[u8]) {
        let line = strip_timestamp(line);
        let Some(&first) = line.first() else {
            return;
        };
        if lineno <= HEAD_LINES {
            if self.tuxmake_cmd.is_none()
                && (line.starts_with(b"tuxmake ") || line.starts_with(b"# command line: tuxmake"))
            {
                self.tuxmake_cmd = Some((lineno, lossy(line)));
            } else if self.make_cmd.is_none() && line.starts_with(b"make ") {
                self.make_cmd = Some((lineno, lossy(line)));
            }
        }
        match first {
            b'm' if line.starts_with(b"make ") => {
                self.end_segment();
                self.segment = Some(Segment::of(lineno, line));
            }
            b'm' if (line.starts_with(b"make: *** ") || line.starts_with(b"make[1]: *** "))
                && memchr::memmem::find(line, b"Waiting for unfinished jobs").is_none() =>
            {
                if self.make_failed.is_none() {
                    self.make_failed = Some((lineno, lossy(line)));
                }
                if let Some(s) = &mut self.segment {
                    s.failed = true;
                }
            }
            b' ' | b'K' => {
                let t = trim_ascii_start(line);
                if t.starts_with(b"Kernel: ") && memchr::memmem::find(t, b" is ready").is_some() {
                    self.kernel_ready = Some((lineno, lossy(t)));
                    self.parts.mark(Part::Kernel, lineno);
                } else if first == b' ' {
                    if is_boot_image_step(t) {
                        self.image_built = Some((lineno, lossy(t)));
                    }
                    if let Some(part) = built_part(t) {
                        self.parts.mark(part, lineno);
                    }
                }
            }
            _ => {}
        }
    }

    /// Whether the last non-blank line read so far (in `text`) is the
    /// outermost make leaving its directory: make ran to its end.
    fn see_last_line(&mut self, text: &[u8]) {
        let trimmed = text.trim_ascii_end();
        if trimmed.is_empty() {
            return;
        }
        let start = memchr::memrchr(b'\n', trimmed).map_or(0, |i| i + 1);
        let last = strip_timestamp(&trimmed[start..]);
        self.make_finished = (last.starts_with(b"make: Leaving directory ")
            || last.starts_with(b"make[1]: Leaving directory "))
        .then(|| lossy(last));
    }

    /// The echoed command that ran ended: what it built, if it did not
    /// fail.
    fn end_segment(&mut self) {
        let Some(s) = self.segment.take() else {
            return;
        };
        if s.failed {
            return;
        }
        for (part, built) in Part::ALL.into_iter().zip(s.goals) {
            if built {
                self.parts.mark(part, s.line);
            }
        }
    }
}

/// Whether `pos` starts a line of `text`, or follows the line's
/// `HH:MM:SS ` time stamp.
fn starts_line(text: &[u8], pos: usize) -> bool {
    let at_start = |p: usize| p == 0 || text[p - 1] == b'\n';
    at_start(pos)
        || (pos >= 9 && at_start(pos - 9) && strip_timestamp(&text[pos - 9..pos + 1]).len() == 1)
}

/// The start and end (without `\r\n`) of the line holding byte `pos`.
fn line_around(text: &[u8], pos: usize) -> (usize, usize) {
    let start = memchr::memrchr(b'\n', &text[..pos]).map_or(0, |i| i + 1);
    let mut end = memchr::memchr(b'\n', &text[pos..]).map_or(text.len(), |i| pos + i);
    if end > start && text[end - 1] == b'\r' {
        end -= 1;
    }
    (start, end)
}

impl LineSink for EndMarkers {
    fn line(&mut self, lineno: u64, line: &[u8]) {
        self.markers(lineno, line);
        self.see_last_line(line);
    }

    fn lines(&mut self, first_lineno: u64, text: &[u8]) -> u64 {
        self.bulk(first_lineno, text);
        memchr::memchr_iter(b'\n', text).count() as u64
    }

    /// The lines need not be counted: only [`EndMarkers::bulk`].
    fn known_lines(&mut self, first_lineno: u64, chunk: &Chunk, range: Range<usize>, _n: u64) {
        self.bulk(first_lineno, &chunk[range]);
    }
}

impl EndMarkers {
    /// Whole lines: the markers only on the few lines that can hold one,
    /// found by searching the chunk (the head of the log line by line).
    fn bulk(&mut self, first_lineno: u64, text: &[u8]) {
        if first_lineno <= HEAD_LINES {
            let mut start = 0;
            for (n, nl) in (0..).zip(memchr::memchr_iter(b'\n', text)) {
                let line = &text[start..nl];
                self.line(first_lineno + n, line.strip_suffix(b"\r").unwrap_or(line));
                start = nl + 1;
            }
            return;
        }
        self.see_last_line(text);
        let mut candidates: Vec<usize> = Vec::new();
        let needles: [(&[u8], bool); 5] = [
            (b"Kernel: ", true),
            (b"/boot/", true),
            (b"  LD      vmlinux", !self.parts.has(Part::Kernel)),
            (b"  LD [M]  ", !self.parts.has(Part::Modules)),
            (b"  DTC     ", !self.parts.has(Part::Dtbs)),
        ];
        for (needle, wanted) in needles {
            if !wanted {
                continue;
            }
            let mut last_line_end = 0;
            for pos in memchr::memmem::find_iter(text, needle) {
                if pos >= last_line_end {
                    let (s, e) = line_around(text, pos);
                    candidates.push(s);
                    last_line_end = e;
                }
            }
        }
        // The echoed make commands and the top-level make failures, in
        // one search: `make` where a line (or its time stamp) ends.
        let mut last_line_end = 0;
        for pos in memchr::memmem::find_iter(text, b"make") {
            if pos >= last_line_end && starts_line(text, pos) {
                let (s, e) = line_around(text, pos);
                candidates.push(s);
                last_line_end = e;
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut counted_to = 0usize;
        let mut lineno = first_lineno;
        for s in candidates {
            lineno += memchr::memchr_iter(b'\n', &text[counted_to..s]).count() as u64;
            counted_to = s;
            let (_, e) = line_around(text, s);
            self.markers(lineno, &text[s..e]);
        }
    }
}

fn trim_ascii_start(mut b: &[u8]) -> &[u8] {
    while let [x, rest @ ..] = b {
        if x.is_ascii_whitespace() {
            b = rest;
        } else {
            break;
        }
    }
    b
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Logs from this size on (on disk) get a thread for their end markers.
const DETACH_FROM: u64 = 16 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_markers() {
        let mut m = EndMarkers::default();
        for (i, l) in [
            "make --silent ARCH=arm64 CC=clang defconfig",
            "  LD      arch/x86/boot/setup.elf",
            "  OBJCOPY arch/arm64/boot/Image",
            "00:12:32 make: *** [Makefile:1618: targz-pkg] Error 2",
        ]
        .iter()
        .enumerate()
        {
            m.line(i as u64 + 1, l.as_bytes());
        }
        assert_eq!(m.make_cmd.as_ref().map(|x| x.0), Some(1));
        assert_eq!(
            m.image_built.as_ref().map(|x| x.1.as_str()),
            Some("OBJCOPY arch/arm64/boot/Image")
        );
        assert_eq!(m.make_failed.as_ref().map(|x| x.0), Some(4));
        assert!(!is_boot_image_step(b"CC      arch/x86/boot/main.o"));
        assert!(is_boot_image_step(b"GZIP    arch/arm64/boot/Image.gz"));
        assert!(is_boot_image_step(b"BUILD   arch/x86/boot/bzImage"));
    }

    fn facts_of(m: EndMarkers) -> Vec<(String, serde_json::Value, Option<u64>)> {
        let mut f = Facts::new();
        m.emit("log", (0, 0), &mut f);
        f.into_items()
            .into_iter()
            .map(|x| (x.key, x.value, x.loc.line))
            .collect()
    }

    /// A big log's end markers run on their own thread, a small one's in
    /// place: the same log, plain (big on disk) and gzipped (small), gives
    /// the same facts.
    #[test]
    fn end_markers_on_a_thread_equal_in_place() {
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("kcidb-harvest-detach-{}", std::process::id()));
        let (plain, gz) = (dir.join("plain"), dir.join("gz"));
        std::fs::create_dir_all(&plain).unwrap();
        std::fs::create_dir_all(&gz).unwrap();
        let mut text = String::from("make --silent ARCH=x86_64 allmodconfig\n");
        let mut i = 0;
        while (text.len() as u64) < DETACH_FROM + (1 << 20) {
            text.push_str(&format!("  CC [M]  drivers/net/x{i}.o\n"));
            if i % 1000 == 0 {
                text.push_str(&format!(
                    "drivers/net/x{i}.c:3:5: warning: unused variable 'v' [-Wunused-variable]\n"
                ));
            }
            if i == 300_000 {
                text.push_str("  LD      vmlinux\n  LD [M]  drivers/net/x1.ko\n");
            }
            i += 1;
        }
        text.push_str(
            "Kernel: arch/x86/boot/bzImage is ready  (#1)\nmake[1]: *** [Makefile:2: y] Error 2\n",
        );
        std::fs::write(plain.join("build.log"), &text).unwrap();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(text.as_bytes()).unwrap();
        let packed = enc.finish().unwrap();
        assert!((packed.len() as u64) < DETACH_FROM);
        std::fs::write(gz.join("build.log.gz"), packed).unwrap();
        let facts = |d: &std::path::Path| {
            let mut input = Input::new(d);
            input.log = Some("build.log".into());
            let mut f = Facts::new();
            BuildLog.parse(&input, &mut f).expect("parse");
            let mut items: Vec<(String, serde_json::Value, Option<u64>)> = f
                .into_items()
                .into_iter()
                .map(|x| (x.key, x.value, x.loc.line))
                .collect();
            items.sort_by(|a, b| a.0.cmp(&b.0));
            items
        };
        let (away, here) = (facts(&plain), facts(&gz));
        std::fs::remove_dir_all(&dir).ok();
        // the end markers' facts are there (and the same both ways)
        for key in [
            keys::LOG_KERNEL_READY,
            keys::LOG_MAKE_CMD,
            keys::LOG_MAKE_FAILED,
            keys::LOG_PARTS_BUILT,
            keys::LOG_WARNINGS_RAW_CS,
        ] {
            assert!(away.iter().any(|(k, _, _)| k == key), "{key} missing");
        }
        assert_eq!(away, here);
    }

    #[test]
    fn bulk_lines_equal_line_by_line() {
        let mut text = String::new();
        for i in 0..400 {
            text.push_str(&format!("  CC      drivers/x{i}.o\n"));
            if i % 97 == 0 {
                text.push_str("../a.c:1:2: warning: x error: y\r\n");
            }
        }
        text.push_str("  OBJCOPY arch/arm64/boot/Image\nmake[1]: *** [Makefile:1: x] Error 2\n");
        text.push_str(
            "make: *** [Makefile:2: y] Error 2\nKernel: arch/x86/boot/bzImage is ready  (#1)\n",
        );
        let (mut a, mut b) = (EndMarkers::default(), EndMarkers::default());
        for (n, l) in (1..).zip(text.split_inclusive('\n')) {
            let l = l.trim_end_matches('\n');
            a.line(n, l.trim_end_matches('\r').as_bytes());
        }
        // first chunk (head) then the rest in bulk
        let bytes = text.as_bytes();
        let cut = bytes
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == b'\n')
            .nth(249)
            .map(|x| x.0 + 1)
            .unwrap();
        let got = b.lines(1, &bytes[..cut]);
        b.lines(1 + got, &bytes[cut..]);
        assert_eq!(facts_of(a), facts_of(b));
    }
}
