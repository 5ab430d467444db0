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
use crate::logscan::scan;
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
        let mut hashing = HashingReader {
            inner: opened.reader,
            hasher: Sha256::new(),
            bytes: 0,
        };
        scan(&opened.name, &mut hashing, &mut [&mut framing, &mut engine])?;
        if hashing.bytes == 0 {
            return Err(ParseError::syntax(
                &opened.name,
                None,
                "the build log is empty",
            ));
        }
        facts.extend(framing.into_facts());
        let digest = hex(&hashing.hasher.finalize());
        facts.push(keys::LOG_SHA256, digest, &opened.name, None);
        facts.push(keys::LOG_BYTES, hashing.bytes, &opened.name, None);
        facts.diag = Some((opened.name, engine.finish()));
        Ok(())
    }
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
