//! Stage 6: compress logs and artifacts, upload them to kernelci-storage
//! (docs/kcidb.md#log-storage), and put their URLs in the report.
//!
//! Each artifact is gzip-compressed as a stream (level 6, flate2 with the
//! zlib-rs backend) into a temporary file while its sha256 is computed, so
//! memory stays bounded whatever the log size; a source that already is
//! gzip (`log.gz`) is uploaded as is once it decodes cleanly. The file goes
//! to `POST <storage>/v1/file` as multipart (`path` first, then `file0` with
//! the file name) under `<origin>/<build id local part>/`. The server answers
//! an empty 200, so the public URL is computed (`<storage>/<path>/<name>`)
//! and read back to compare its sha256 when the storage serves downloads.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use gzp::deflate::Gzip;
use gzp::par::compress::{ParCompress, ParCompressBuilder};
use gzp::ZWriter;
use kcidb_harvest_parsers::digest::hex;
use reqwest::blocking::multipart::{Form, Part};
use reqwest::blocking::Client;
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{StatusCode, Url};
use sha2::{Digest, Sha256};

use crate::kcidb::{Report, Resource};
use crate::layout::Layout;
use crate::pipeline::{Artifact, ArtifactKind};
use crate::settings::{ConfigError, Endpoint, RetryPolicy, Settings};
use crate::submit::{
    bearer, describe, one_line, read_text, retry_after, retryable_status, transient, with_retries,
    Attempt, Retried,
};
use kcidb_harvest_parsers::input::GatedFile;

/// The deflate level of every artifact. zlib-rs at 5 writes what `gzip -6`
/// (the script's, and gzip's default) writes, within 1 %: a 512 MiB build
/// log 67.08 MB against gzip's 67.40 MB; our 24 real logs (fixtures/logs)
/// from 3.6 % smaller to 0.3 % larger. Level 6 saves 0.4 % more on the big
/// log for 38 % more time.
pub const GZIP_LEVEL: u32 = 5;

const BUF: usize = 256 * 1024;

/// The blocks a parallel [`Gz`] deflates apart: each starts with an
/// empty window, which at 1 MiB costs less than the difference between
/// zlib-rs and `gzip -6` (a 512 MiB build log: 66.8 MB against gzip's
/// 67.4 MB; 128 KiB blocks gave 68.2 MB).
const GZIP_BLOCK: usize = 1 << 20;

/// Sources smaller than this are deflated on the calling thread: threads
/// would cost more than they save (and a batch compresses thousands of
/// small `.config`s).
const PARALLEL_FROM: u64 = 4 * GZIP_BLOCK as u64;

/// Compression threads running now, over every [`Gz`] of the process (the
/// batch workers compress at the same time).
static GZIP_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Compression threads held by one [`Gz`]: as many as it wants of those
/// free when it starts (one per core over the process), and at least one.
struct Lease(usize);

impl Lease {
    fn take(wanted: usize) -> Lease {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let mut busy = GZIP_THREADS.load(Ordering::Relaxed);
        loop {
            let n = wanted.min(cores.saturating_sub(busy)).max(1);
            match GZIP_THREADS.compare_exchange_weak(
                busy,
                busy + n,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Lease(n),
                Err(now) => busy = now,
            }
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        GZIP_THREADS.fetch_sub(self.0, Ordering::AcqRel);
    }
}

/// A gzip writer at [`GZIP_LEVEL`]. For a source of `source_len` bytes
/// from [`PARALLEL_FROM`] on it is pigz's scheme (by gzp): one gzip member
/// whose [`GZIP_BLOCK`]s are deflated on the free cores while the caller
/// goes on reading; the bytes do not depend on how many cores that is.
/// Smaller sources are one zlib-rs stream on the calling thread.
enum Gz<W: Write + Send + 'static> {
    One(GzEncoder<W>),
    Par {
        enc: ParCompress<'static, Gzip, W>,
        _lease: Lease,
        /// A write failed: gzp has stopped its threads, and `finish`
        /// would panic.
        failed: Option<io::Error>,
    },
}

impl<W: Write + Send + 'static> Gz<W> {
    fn new(w: W, source_len: u64) -> Gz<W> {
        if source_len < PARALLEL_FROM {
            return Gz::One(GzEncoder::new(w, Compression::new(GZIP_LEVEL)));
        }
        let blocks = usize::try_from(source_len / GZIP_BLOCK as u64).unwrap_or(usize::MAX);
        let lease = Lease::take(blocks);
        let enc = ParCompressBuilder::<Gzip>::new()
            .compression_level(Compression::new(GZIP_LEVEL))
            .buffer_size(GZIP_BLOCK)
            .expect("GZIP_BLOCK is above gzp's 32 KiB minimum")
            .num_threads(lease.0)
            .expect("a lease is at least one thread")
            .from_writer(w);
        Gz::Par {
            enc,
            _lease: lease,
            failed: None,
        }
    }

    /// Complete the stream; `w` back. After a failed write, that error
    /// (gzp is not asked to finish then: it would panic).
    fn finish(self) -> io::Result<W> {
        match self {
            Gz::One(enc) => enc.finish(),
            // A failed write has taken gzp's pipeline down, so its Drop
            // (which finishes a pipeline still running) does nothing.
            Gz::Par {
                failed: Some(e), ..
            } => Err(e),
            Gz::Par { mut enc, .. } => enc.finish().map_err(|e| match e {
                gzp::GzpError::Io(e) => e,
                e => io::Error::other(e),
            }),
        }
    }
}

impl<W: Write + Send + 'static> Write for Gz<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Gz::One(enc) => enc.write(buf),
            Gz::Par { enc, failed, .. } => remembered(failed, || enc.write(buf)),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Gz::One(enc) => enc.flush(),
            Gz::Par { enc, failed, .. } => remembered(failed, || enc.flush()),
        }
    }
}

/// `op` on a parallel encoder, unless one failed before (that failure,
/// again); a new failure is remembered.
fn remembered<T>(
    failed: &mut Option<io::Error>,
    op: impl FnOnce() -> io::Result<T>,
) -> io::Result<T> {
    let again = |e: &io::Error| io::Error::new(e.kind(), e.to_string());
    if let Some(e) = failed {
        return Err(again(e));
    }
    op().inspect_err(|e| *failed = Some(again(e)))
}

/// Why an artifact could not be published.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write a temporary file for `{}`: {source}", path.display())]
    Temp {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("upload of `{name}` refused: HTTP {status}: {message}; {hint}")]
    Refused {
        name: String,
        status: u16,
        message: String,
        hint: String,
    },
    #[error("upload of `{name}` failed after {attempts} attempts over {secs:.0}s (last: {last})")]
    GaveUp {
        name: String,
        attempts: u32,
        secs: f64,
        last: String,
    },
    #[error("upload of `{name}` interrupted (last: {last})")]
    Interrupted { name: String, last: String },
}

/// The storage directory for a build: `<origin>/<build id local part>`,
/// made of characters that are safe both as a storage key and in a URL.
pub fn storage_dir(origin: &str, build_local_id: &str) -> String {
    format!("{}/{}", key_segment(origin), key_segment(build_local_id))
}

/// Keep `[A-Za-z0-9._-]`, replace anything else with `_`, and never leave
/// `..` (kernelci-storage refuses any key containing it).
fn key_segment(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    while out.contains("..") {
        out = out.replace("..", "._");
    }
    if out.is_empty() {
        out.push('_');
    }
    out
}

/// `<base>/<dir>/<name>`.
pub fn public_url(base: &str, dir: &str, name: &str) -> String {
    format!("{}/{dir}/{}", base.trim_end_matches('/'), key_segment(name))
}

/// Remove every URL [`fill_urls`] sets (a report spooled when its logs
/// could not be uploaded).
pub fn clear_urls(report: &mut Report) {
    for b in &mut report.builds {
        b.log_url = None;
        b.config_url = None;
        b.output_files = None;
    }
    for t in &mut report.tests {
        t.log_url = None;
    }
    for c in &mut report.checkouts {
        c.log_url = None;
    }
}

/// Put the artifact URLs into the report: `build.log_url` (build log; on
/// every build of a ktest run of several tests, which all come from it),
/// `build.config_url` (.config), `checkout.log_url` (output_log), a test's
/// `log_url` (its console), and all but the consoles in the first build's
/// `output_files`. `urls[i]` belongs to `artifacts[i]`.
pub fn fill_urls(report: &mut Report, artifacts: &[Artifact], urls: &[String]) {
    for (a, url) in artifacts.iter().zip(urls) {
        match &a.kind {
            ArtifactKind::BuildLog => {
                for b in &mut report.builds {
                    b.log_url = Some(url.clone());
                }
            }
            ArtifactKind::Config => {
                if let Some(b) = report.builds.first_mut() {
                    b.config_url = Some(url.clone());
                }
            }
            ArtifactKind::OutputLog => {
                if let Some(c) = report.checkouts.first_mut() {
                    c.log_url = Some(url.clone());
                }
            }
            ArtifactKind::Console { test_id, .. } => {
                for t in report.tests.iter_mut().filter(|t| &t.id == test_id) {
                    t.log_url = Some(url.clone());
                }
                continue;
            }
        }
        if let Some(b) = report.builds.first_mut() {
            let files = b.output_files.get_or_insert_with(Vec::new);
            files.retain(|r| r.name != a.resource_name);
            files.push(Resource {
                name: a.resource_name.clone(),
                url: url.clone(),
            });
        }
    }
}

/// A compressed artifact in a temporary file (removed on drop).
#[derive(Debug)]
pub struct Compressed {
    path: PathBuf,
    pub len: u64,
    pub sha256: [u8; 32],
    /// Bytes read from the source.
    pub source_len: u64,
    /// The source was gzip and is uploaded unchanged.
    pub passthrough: bool,
}

impl Compressed {
    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn sha256_hex(&self) -> String {
        hex(&self.sha256)
    }
}

impl Drop for Compressed {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Writer that hashes and counts what goes through it.
struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    len: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Reader that copies what it reads into a writer.
struct Tee<R: Read, W: Write> {
    inner: R,
    copy: W,
    len: u64,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.copy.write_all(&buf[..n])?;
        self.len += n as u64;
        Ok(n)
    }
}

static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "kcidb-harvest-{}-{}-{}",
        std::process::id(),
        TEMP_SEQ.fetch_add(1, Ordering::Relaxed),
        key_segment(name)
    ))
}

fn create_temp(name: &str) -> io::Result<(PathBuf, File)> {
    let path = temp_path(name);
    let f = File::options().write(true).create_new(true).open(&path)?;
    Ok((path, f))
}

fn is_gzip(src: &GatedFile) -> io::Result<bool> {
    let mut magic = [0u8; 2];
    let mut f = src.open()?;
    let mut got = 0;
    while got < 2 {
        let n = f.read(&mut magic[got..])?;
        if n == 0 {
            return Ok(false);
        }
        got += n;
    }
    Ok(magic == [0x1f, 0x8b])
}

/// Prepare `src` for upload as `upload_name`: gzip it into a temp file (or
/// copy an intact gzip source unchanged) and hash the result. Only a file
/// that passed the directory's gate can be published.
pub fn compress(src: &GatedFile, upload_name: &str) -> Result<Compressed, ArtifactError> {
    compress_range(src, upload_name, None)
}

/// Compress an artifact: its whole file, or for a console its lines.
pub fn compress_artifact(a: &Artifact) -> Result<Compressed, ArtifactError> {
    match &a.kind {
        ArtifactKind::Console { from, to, .. } => {
            compress_range(&a.file, &a.upload_name, Some((*from, *to)))
        }
        _ => compress(&a.file, &a.upload_name),
    }
}

/// [`compress`], or with `lines` only those lines (1-based, inclusive) of
/// the decoded file, gzip-compressed.
fn compress_range(
    src: &GatedFile,
    upload_name: &str,
    lines: Option<(u64, u64)>,
) -> Result<Compressed, ArtifactError> {
    let read_err = |source| ArtifactError::Read {
        path: src.path().to_path_buf(),
        source,
    };
    let temp_err = |source| ArtifactError::Temp {
        path: src.path().to_path_buf(),
        source,
    };
    let gz = is_gzip(src).map_err(read_err)?;
    let (path, file) = create_temp(upload_name).map_err(temp_err)?;
    // From here the temp file is removed on every path (Compressed's Drop).
    let mut out = Compressed {
        path,
        len: 0,
        sha256: [0; 32],
        source_len: 0,
        passthrough: false,
    };
    if let Some((from, to)) = lines {
        let source = src.open().map_err(read_err)?;
        let reader: Box<dyn Read> = if gz {
            Box::new(MultiGzDecoder::new(BufReader::with_capacity(BUF, source)))
        } else {
            Box::new(source)
        };
        // a console's lines: small, on this thread
        gzip_into(&mut out, file, &temp_err, 0, |enc| {
            copy_lines(BufReader::with_capacity(BUF, reader), enc, from, to).map_err(read_err)
        })?;
        return Ok(out);
    }
    if gz {
        let mut w = HashingWriter {
            inner: BufWriter::with_capacity(BUF, file),
            hasher: Sha256::new(),
            len: 0,
        };
        let source = src.open().map_err(read_err)?;
        let mut tee = Tee {
            inner: source,
            copy: &mut w,
            len: 0,
        };
        let decoded = {
            let mut dec = MultiGzDecoder::new(BufReader::with_capacity(BUF, &mut tee));
            io::copy(&mut dec, &mut io::sink())
        };
        match decoded {
            Ok(_) => {
                // Trailing bytes after the last member, if any, go along unchanged.
                io::copy(&mut tee, &mut io::sink()).map_err(read_err)?;
                let source_len = tee.len;
                w.flush().map_err(temp_err)?;
                out.len = w.len;
                out.sha256 = w.hasher.finalize().into();
                out.source_len = source_len;
                out.passthrough = true;
                return Ok(out);
            }
            Err(e) => {
                tracing::warn!(
                    "`{}` is a damaged gzip file ({e}); uploading the readable part, recompressed",
                    src.path().display()
                );
            }
        }
        // Recompress what decodes (the partial copy is flushed, then
        // truncated away).
        drop(w);
        let file = File::create(&out.path).map_err(temp_err)?;
        let (source, size) = src.open_sized().map_err(read_err)?;
        let mut dec = MultiGzDecoder::new(BufReader::with_capacity(BUF, source));
        gzip_into(&mut out, file, &temp_err, size, |enc| {
            let mut buf = vec![0u8; BUF];
            let mut n_in = 0u64;
            loop {
                match dec.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        enc.write_all(&buf[..n]).map_err(temp_err)?;
                        n_in += n as u64;
                    }
                }
            }
            Ok(n_in)
        })?;
        return Ok(out);
    }
    let (source, size) = src.open_sized().map_err(read_err)?;
    let mut reader = BufReader::with_capacity(BUF, source);
    gzip_into(&mut out, file, &temp_err, size, |enc| {
        // A failed write is the temp file's: gzip_into reports it so.
        io::copy(&mut reader, enc).map_err(read_err)
    })?;
    Ok(out)
}

/// gzip what `fill` writes (it returns the bytes it read) into `file`,
/// hashing the compressed bytes: `out` gets their length and sha256 and
/// the source's length. `source_len` (an estimate) picks the encoder
/// ([`Gz`]). When a write to `file` failed, that is the error, whatever
/// `fill` made of it.
fn gzip_into(
    out: &mut Compressed,
    file: File,
    temp_err: &dyn Fn(io::Error) -> ArtifactError,
    source_len: u64,
    fill: impl FnOnce(&mut dyn Write) -> Result<u64, ArtifactError>,
) -> Result<(), ArtifactError> {
    let w = HashingWriter {
        inner: BufWriter::with_capacity(BUF, file),
        hasher: Sha256::new(),
        len: 0,
    };
    let mut enc = Gz::new(w, source_len);
    let filled = fill(&mut enc);
    let mut w = enc.finish().map_err(temp_err)?;
    let n = filled?;
    w.flush().map_err(temp_err)?;
    out.len = w.len;
    out.sha256 = w.hasher.finalize().into();
    out.source_len = n;
    Ok(())
}

/// Copy lines `from..=to` (1-based) of `r` to `w`; the bytes copied.
fn copy_lines(mut r: impl io::BufRead, w: &mut dyn Write, from: u64, to: u64) -> io::Result<u64> {
    let mut line = Vec::new();
    let (mut n, mut copied) = (0u64, 0u64);
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        n += 1;
        if n > to {
            break;
        }
        if n >= from {
            w.write_all(&line)?;
            copied += line.len() as u64;
        }
    }
    Ok(copied)
}

/// Uploads to one kernelci-storage server.
pub struct Uploader {
    http: Client,
    base: Url,
    auth: HeaderValue,
    retry: RetryPolicy,
    timeout: Duration,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
}

/// What reading an upload back showed.
enum Verify {
    Same,
    /// The storage does not serve downloads to us (401/403/405/501).
    NotServed,
    /// Missing, different or unreadable: upload again.
    Differs(String),
}

/// The per-request timeout, plus one second per MiB (a 1 MiB/s floor) so a
/// big log is not cut off on a slow link.
fn transfer_timeout(timeout: Duration, len: u64) -> Duration {
    timeout + Duration::from_secs(len >> 20)
}

fn storage_hint(status: StatusCode) -> String {
    match status.as_u16() {
        401 => "the storage token was refused: check storage_token / KCI_STORAGE_TOKEN / --storage-token".into(),
        403 => "the token may not write under this path: ask the storage operators which prefix your token may use".into(),
        413 => "the file is larger than the storage accepts".into(),
        404 | 405 => "wrong storage URL: give the server's base URL (e.g. https://files.kernelci.org)".into(),
        _ => "the storage will answer the same way again".into(),
    }
}

impl Uploader {
    pub fn new(ep: &Endpoint, settings: &Settings) -> Result<Uploader, ConfigError> {
        Ok(Uploader {
            // Each request sets its own timeout (scaled by size).
            http: crate::submit::http_client(Duration::from_secs(24 * 3600))?,
            base: ep.url.clone(),
            auth: bearer(&ep.token).map_err(ConfigError::Invalid)?,
            retry: settings.retry,
            timeout: settings.timeout,
            clock: std::sync::Arc::new(crate::clock::SystemClock),
        })
    }

    /// The same uploader on another clock (tests).
    pub fn with_clock(mut self, clock: std::sync::Arc<dyn crate::clock::Clock>) -> Uploader {
        self.clock = clock;
        self
    }

    /// Base URL without a trailing slash.
    pub fn base(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_string()
    }

    /// Upload `file` as `<dir>/<name>` and verify it; the public URL.
    pub fn upload(
        &self,
        dir: &str,
        name: &str,
        file: &Compressed,
    ) -> Result<String, ArtifactError> {
        let name = key_segment(name);
        let url = public_url(&self.base(), dir, &name);
        let mut endpoint = self.base.clone();
        let p = format!("{}/v1/file", endpoint.path().trim_end_matches('/'));
        endpoint.set_path(&p);
        let what = format!("upload {dir}/{name}");
        let timeout = transfer_timeout(self.timeout, file.len);
        let r = with_retries(&self.retry, self.clock.as_ref(), &what, |_| {
            let f = match File::open(file.path()) {
                Ok(f) => f,
                Err(e) => {
                    return Attempt::Fail(ArtifactError::Temp {
                        path: file.path().to_path_buf(),
                        source: e,
                    })
                }
            };
            let part = match Part::reader_with_length(f, file.len)
                .file_name(name.clone())
                .mime_str("application/gzip")
            {
                Ok(p) => p,
                Err(e) => {
                    return Attempt::Fail(ArtifactError::Refused {
                        name: name.clone(),
                        status: 0,
                        message: describe(&e),
                        hint: "internal error building the upload".into(),
                    })
                }
            };
            // `path` first: servers that stream the file need the
            // destination before the content.
            let form = Form::new()
                .text("path", dir.to_string())
                .part("file0", part);
            let resp = self
                .http
                .post(endpoint.clone())
                .header(AUTHORIZATION, self.auth.clone())
                .timeout(timeout)
                .multipart(form)
                .send();
            let resp = match resp {
                Ok(r) => r,
                Err(e) if transient(&e) => {
                    return Attempt::Retry {
                        why: describe(&e),
                        after: None,
                    }
                }
                Err(e) => {
                    return Attempt::Fail(ArtifactError::Refused {
                        name: name.clone(),
                        status: 0,
                        message: describe(&e),
                        hint: "check the storage URL".into(),
                    })
                }
            };
            let status = resp.status();
            let after = retry_after(&resp);
            let text = read_text(resp, 16 * 1024);
            if status == StatusCode::OK {
                return match self.verify(&url, file, timeout) {
                    Verify::Same | Verify::NotServed => Attempt::Done(()),
                    Verify::Differs(why) => Attempt::Retry { why, after: None },
                };
            }
            if retryable_status(status) || status == StatusCode::CONFLICT {
                return Attempt::Retry {
                    why: format!("HTTP {}: {}", status.as_u16(), one_line(&text)),
                    after,
                };
            }
            Attempt::Fail(ArtifactError::Refused {
                name: name.clone(),
                status: status.as_u16(),
                message: one_line(&text),
                hint: storage_hint(status),
            })
        });
        match r {
            Ok(()) => Ok(url),
            Err(Retried::Failed(e)) => Err(e),
            Err(Retried::GaveUp {
                attempts,
                elapsed,
                last,
            }) => Err(ArtifactError::GaveUp {
                name,
                attempts,
                secs: elapsed.as_secs_f64(),
                last,
            }),
            Err(Retried::Interrupted { last }) => Err(ArtifactError::Interrupted { name, last }),
        }
    }

    /// GET the public URL and compare the bytes' sha256 with what was sent.
    fn verify(&self, url: &str, file: &Compressed, timeout: Duration) -> Verify {
        let resp = match self.http.get(url).timeout(timeout).send() {
            Ok(r) => r,
            Err(e) => return Verify::Differs(format!("reading back {url}: {}", describe(&e))),
        };
        match resp.status().as_u16() {
            200 => {}
            401 | 403 | 405 | 501 => {
                tracing::debug!("{url}: the storage does not serve downloads to us; not verified");
                return Verify::NotServed;
            }
            code => {
                return Verify::Differs(format!(
                    "reading back {url}: HTTP {code}: {}",
                    one_line(&read_text(resp, 1024))
                ))
            }
        }
        let mut hasher = HashingWriter {
            inner: io::sink(),
            hasher: Sha256::new(),
            len: 0,
        };
        let mut resp = resp;
        if let Err(e) = io::copy(&mut resp, &mut hasher) {
            return Verify::Differs(format!("reading back {url}: {e}"));
        }
        let got: [u8; 32] = hasher.hasher.finalize().into();
        if got == file.sha256 && hasher.len == file.len {
            Verify::Same
        } else {
            Verify::Differs(format!(
                "reading back {url}: {} bytes with sha256 {}, sent {} bytes with sha256 {}",
                hasher.len,
                hex(&got),
                file.len,
                file.sha256_hex()
            ))
        }
    }
}

/// The files of a directory to upload: the build log the diagnostics
/// read, `output_log`, and the build's `.config`. Only files the gate
/// hands out (inside the directory, regular files), and for the build log
/// exactly the file the parser read.
pub fn select(
    layout: &Layout,
    input: &kcidb_harvest_parsers::Input,
    facts: &kcidb_harvest_parsers::Facts,
    consoles: &[(String, u64, u64)],
) -> Vec<Artifact> {
    let gated = |rel: &str| input.file(rel).filter(|f| f.name() == rel);
    let mut out = Vec::new();
    let mut add = |kind, file, upload: &str, resource: &str| {
        out.push(Artifact {
            kind,
            file,
            upload_name: upload.into(),
            resource_name: resource.into(),
        })
    };
    let log = facts.diag.as_ref().and_then(|(file, _)| gated(file));
    if let Some(file) = log.clone() {
        add(ArtifactKind::BuildLog, file, "build.log.gz", "build_log");
    }
    if let Some(file) = input.file("output_log").filter(|_| layout.has_output_log()) {
        add(ArtifactKind::OutputLog, file, "output_log.gz", "output_log");
    }
    let config = layout.config_file(input).and_then(|rel| gated(&rel));
    if let Some(file) = config {
        add(ArtifactKind::Config, file, "config.gz", "config");
    }
    if let Some(file) = log {
        for (test_id, from, to) in consoles {
            let local = test_id.split_once(':').map_or(test_id.as_str(), |(_, l)| l);
            let short: String = local.chars().take(18).collect();
            out.push(Artifact {
                kind: ArtifactKind::Console {
                    test_id: test_id.clone(),
                    from: *from,
                    to: *to,
                },
                file: file.clone(),
                upload_name: format!("console-{short}.log.gz"),
                resource_name: format!("console-{short}"),
            });
        }
    }
    out
}

/// Stage artifacts, before validation: put the URLs the artifacts will
/// have under `base` into the report (deterministic: `<base>/<origin>/<build
/// id local part>/<upload name>`), so what is validated, journaled and
/// sent is the same report.
pub fn plan_urls(y: &mut crate::pipeline::DirYield, origin: &str, base: &str) {
    let key_dir = storage_dir(origin, y.build_local_id());
    let urls: Vec<String> = y
        .artifacts
        .iter()
        .map(|a| public_url(base, &key_dir, &a.upload_name))
        .collect();
    fill_urls(&mut y.report, &y.artifacts, &urls);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "kcidb-harvest-art-{tag}-{}-{}",
            std::process::id(),
            TEMP_SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&d).expect("mkdir");
        d
    }

    fn gunzip(path: &Path) -> Vec<u8> {
        let mut out = Vec::new();
        MultiGzDecoder::new(File::open(path).expect("open"))
            .read_to_end(&mut out)
            .expect("gunzip");
        out
    }

    #[test]
    fn compresses_plain_and_round_trips() {
        let d = tmpdir("plain");
        let src = d.join("log");
        // several GZIP_BLOCKs, deflated on several threads
        let text: Vec<u8> = (0..200_000)
            .flat_map(|i| format!("  CC      drivers/x/y{i}.o\n").into_bytes())
            .collect();
        assert!(text.len() > 4 * GZIP_BLOCK);
        std::fs::write(&src, &text).expect("write");
        let c = compress(&gated(&src), "build.log.gz").expect("compress");
        assert!(!c.passthrough);
        assert_eq!(c.source_len, text.len() as u64);
        assert!(c.len < text.len() as u64 / 5, "{} vs {}", c.len, text.len());
        assert_eq!(gunzip(c.path()), text);
        let bytes = std::fs::read(c.path()).expect("read");
        assert_eq!(c.sha256_hex(), hex(&Sha256::digest(&bytes)));
        // one gzip member, as gzip writes it: a single-member reader sees it all
        let mut one = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut one)
            .expect("gunzip");
        assert_eq!(one, text);
        // the same bytes every time (the upload's sha256 is checked)
        let again = compress(&gated(&src), "build.log.gz").expect("compress");
        assert_eq!(std::fs::read(again.path()).expect("read"), bytes);
        let p = c.path().to_path_buf();
        drop(c);
        assert!(!p.exists(), "temp file removed on drop");
    }

    /// Takes `ok` writes, then fails (a disk that fills up).
    struct FillsUp {
        ok: usize,
    }

    impl Write for FillsUp {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.ok == 0 {
                return Err(io::Error::other("No space left on device"));
            }
            self.ok -= 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_source_and_a_disk_failing_together_are_errors_not_a_panic() {
        // the header is written, the block is not; the source fails first
        let mut enc = Gz::new(FillsUp { ok: 1 }, PARALLEL_FROM);
        enc.write_all(b"the first lines of a log\n")
            .expect("buffered");
        let e = enc.finish().err().expect("the write failed");
        assert!(e.to_string().contains("No space left"), "{e}");
    }

    #[test]
    fn a_disk_filling_up_mid_stream_is_an_error_not_a_panic() {
        let mut enc = Gz::new(FillsUp { ok: 1 }, PARALLEL_FROM);
        let block = vec![b'x'; GZIP_BLOCK];
        let failed = (0..256).find_map(|_| enc.write_all(&block).err());
        let e = failed.expect("a write fails once the disk is full");
        assert!(e.to_string().contains("No space left"), "{e}");
        // and again on every later write, and from finish
        assert!(enc.write_all(b"more").is_err());
        let e = enc.finish().err().expect("finish reports it");
        assert!(e.to_string().contains("No space left"), "{e}");
    }

    #[test]
    fn the_bytes_do_not_depend_on_the_cores_free() {
        let text: Vec<u8> = (0..300_000)
            .flat_map(|i| format!("  CC [M]  drivers/net/x{i}.o\n").into_bytes())
            .collect();
        assert!(text.len() as u64 > PARALLEL_FROM + GZIP_BLOCK as u64);
        let gz = |text: &[u8]| {
            let mut enc = Gz::new(Vec::new(), text.len() as u64);
            assert!(matches!(enc, Gz::Par { .. }));
            enc.write_all(text).expect("write");
            enc.finish().expect("finish")
        };
        let free = gz(&text);
        // every core taken (by other compressions): a lease of one thread
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        GZIP_THREADS.fetch_add(cores, Ordering::AcqRel);
        assert_eq!(Lease::take(8).0, 1);
        let busy = gz(&text);
        GZIP_THREADS.fetch_sub(cores, Ordering::AcqRel);
        assert_eq!(free, busy);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&busy[..])
            .read_to_end(&mut back)
            .expect("gunzip");
        assert_eq!(back, text);
        // a small source stays on this thread
        assert!(matches!(Gz::new(Vec::new(), 4096), Gz::One(_)));
    }

    #[test]
    fn gzip_source_goes_as_is() {
        let d = tmpdir("gz");
        let src = d.join("log.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), Compression::new(9));
        enc.write_all(b"hello kernel\n").expect("gz");
        let gz = enc.finish().expect("gz");
        std::fs::write(&src, &gz).expect("write");
        let c = compress(&gated(&src), "build.log.gz").expect("compress");
        assert!(c.passthrough);
        assert_eq!(std::fs::read(c.path()).expect("read"), gz);
    }

    #[test]
    fn damaged_gzip_is_recompressed() {
        let d = tmpdir("bad");
        let src = d.join("log.gz");
        let text: Vec<u8> = (0..20_000)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), Compression::new(6));
        enc.write_all(&text).expect("gz");
        let gz = enc.finish().expect("gz");
        std::fs::write(&src, &gz[..gz.len() / 2]).expect("write");
        let c = compress(&gated(&src), "build.log.gz").expect("compress");
        assert!(!c.passthrough);
        let back = gunzip(c.path());
        assert!(
            !back.is_empty() && text.starts_with(&back),
            "a prefix of the original"
        );
    }

    /// The file as the directory's gate hands it out.
    fn gated(path: &Path) -> GatedFile {
        let dir = path.parent().expect("parent");
        let name = path.file_name().expect("name").to_string_lossy();
        kcidb_harvest_parsers::Input::new(dir)
            .file(&name)
            .expect("a regular file inside")
    }

    #[test]
    fn a_file_gone_since_the_gate_names_the_file() {
        let d = tmpdir("gone");
        let src = d.join("log");
        std::fs::write(&src, "x").expect("write");
        let g = gated(&src);
        std::fs::remove_file(&src).expect("rm");
        let e = compress(&g, "build.log.gz").expect_err("missing");
        assert!(e.to_string().contains(&*src.to_string_lossy()), "{e}");
    }

    #[test]
    fn a_link_swapped_in_since_the_gate_is_not_followed() {
        let d = tmpdir("swap");
        let src = d.join("log");
        std::fs::write(&src, "x").expect("write");
        let g = gated(&src);
        let outside = tmpdir("swap-outside").join("secret");
        std::fs::write(&outside, "secret").expect("write");
        std::fs::remove_file(&src).expect("rm");
        std::os::unix::fs::symlink(&outside, &src).expect("symlink");
        assert!(compress(&g, "build.log.gz").is_err());
    }

    #[test]
    fn keys_are_safe() {
        assert_eq!(storage_dir("gregkh", "b-0123abc"), "gregkh/b-0123abc");
        assert_eq!(storage_dir("o", "my build/../x"), "o/my_build_.__x");
        assert_eq!(
            public_url("https://files.example.org/", "o/b-1", "build.log.gz"),
            "https://files.example.org/o/b-1/build.log.gz"
        );
    }
}
