//! The primary build log in one streaming pass: ktest framing
//! ([`crate::ktest_log`]), script-compatible raw counts and distinct
//! diagnostics ([`crate::diag`]), and the sha256 of the log's bytes (the
//! default run id, so build ids follow the content, not the file's name or
//! time stamps).

use std::io::Read;

use sha2::{Digest, Sha256};

use crate::diag::Engine;
use crate::keys;
use crate::ktest_log::Framing;
use crate::logscan::{scan, LineSink};
use crate::{Facts, Input, ParseError, Parser};

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
        let mut framing = Framing::new(&opened.name);
        let mut engine = Engine::new();
        let mut ends = EndMarkers::default();
        let mut hashing = HashingReader {
            inner: opened.reader,
            hasher: Sha256::new(),
            bytes: 0,
        };
        scan(
            &opened.name,
            &mut hashing,
            &mut [&mut framing, &mut engine, &mut ends],
        )?;
        if hashing.bytes == 0 {
            return Err(ParseError::syntax(
                &opened.name,
                None,
                "the build log is empty",
            ));
        }
        facts.extend(framing.into_facts());
        ends.emit(&opened.name, facts);
        let digest = hex(&hashing.hasher.finalize());
        facts.push(keys::LOG_SHA256, digest, &opened.name, None);
        facts.push(keys::LOG_BYTES, hashing.bytes, &opened.name, None);
        facts.diag = Some((opened.name, engine.finish()));
        Ok(())
    }
}

/// Markers of how a plain (non-ktest) build log ended: kbuild's
/// `Kernel: … is ready` or the last boot image step, the first top-level make failure, and the
/// command lines tuxmake echoes at the top of its `build.log`.
#[derive(Default)]
struct EndMarkers {
    warnings_cs: u64,
    errors_cs: u64,
    kernel_ready: Option<(u64, String)>,
    image_built: Option<(u64, String)>,
    make_failed: Option<(u64, String)>,
    tuxmake_cmd: Option<(u64, String)>,
    make_cmd: Option<(u64, String)>,
}

/// Only the head of the log is searched for echoed command lines.
const HEAD_LINES: u64 = 200;

impl EndMarkers {
    fn emit(self, file: &str, facts: &mut Facts) {
        facts.push(keys::LOG_WARNINGS_RAW_CS, self.warnings_cs, file, None);
        facts.push(keys::LOG_ERRORS_RAW_CS, self.errors_cs, file, None);
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
    memchr::memmem::find(name, b"Image").is_some() || name == b"vmlinux" || name == b"vmlinux.bin"
}

impl LineSink for EndMarkers {
    fn line(&mut self, lineno: u64, line: &[u8]) {
        // the 2016-2018 script's case-sensitive grep counts (whole lines, as grep)
        if memchr::memchr(b':', line).is_some() {
            if memchr::memmem::find(line, b"warning:").is_some() {
                self.warnings_cs += 1;
            }
            if memchr::memmem::find(line, b"error:").is_some() {
                self.errors_cs += 1;
            }
        }
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
            b'm' if self.make_failed.is_none()
                && (line.starts_with(b"make: *** ") || line.starts_with(b"make[1]: *** "))
                && memchr::memmem::find(line, b"Waiting for unfinished jobs").is_none() =>
            {
                self.make_failed = Some((lineno, lossy(line)));
            }
            b' ' | b'K' => {
                let t = trim_ascii_start(line);
                if t.starts_with(b"Kernel: ") && memchr::memmem::find(t, b" is ready").is_some() {
                    self.kernel_ready = Some((lineno, lossy(t)));
                } else if first == b' ' && is_boot_image_step(t) {
                    self.image_built = Some((lineno, lossy(t)));
                }
            }
            _ => {}
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

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

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
}
