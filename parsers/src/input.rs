//! The files of one result directory, as parsers see them: the one gate
//! through which every file of a directory is opened.
//!
//! A result directory is copied off a build machine, so every byte and
//! every symlink in it is controlled by that machine. [`Input`] follows a
//! link only when it resolves inside the directory's root (the root itself
//! may be a link: the user named it); a link that leads outside, a
//! dangling link and a link loop are refused, recorded as a [`Refusal`]
//! (the harvest prints it as a warning) and treated as absent, so the field
//! it would have fed is unknown or comes from the next source. Special
//! files (FIFOs, devices, sockets) are never opened. Files to publish are
//! [`GatedFile`]s, which only this gate can make.
//!
//! The layout (main crate) says where the primary build log, the kbuild
//! output directory and the git directory are, so parsers do not guess per
//! layout.

use std::fs::{File, Metadata};
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use flate2::read::MultiGzDecoder;

use crate::ParseError;

/// A link of the directory that was not followed, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The name asked for, relative to the root (`linux/output/.config`).
    pub name: String,
    /// `a link to `/etc/passwd`, outside the directory`, …
    pub reason: String,
}

/// A result directory plus the layout's choices of where things are.
#[derive(Clone, Debug)]
pub struct Input {
    root: PathBuf,
    /// `root` with every link resolved: what "inside" means.
    real_root: PathBuf,
    /// Primary build log, relative to `root` (e.g. `linux/log`, `build.log`, `log.gz`).
    pub log: Option<String>,
    /// kbuild `O=` directory relative to `root` (e.g. `linux/output`).
    pub output_dir: Option<String>,
    /// git directory relative to `root` (e.g. `linux/.git`).
    pub git_dir: Option<String>,
    /// Links refused so far (shared by clones: a layout's probes and the
    /// parsers see one directory).
    refusals: Arc<Mutex<Vec<Refusal>>>,
}

/// An opened file: the relative name actually opened and a buffered reader
/// over its (decompressed) bytes.
pub struct Opened {
    pub name: String,
    pub reader: Box<dyn BufRead + Send>,
    /// The file's size on disk (compressed, for a `.gz`) when it was
    /// opened: a hint (for how to read it), not a limit.
    pub size: u64,
}

/// A regular file inside the directory that passed the gate. Only
/// [`Input::file`] makes one, so whatever is uploaded has passed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatedFile {
    name: String,
    real: PathBuf,
}

impl GatedFile {
    /// The name relative to the result directory (`linux/log.gz`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where it is (every link resolved, inside the directory).
    pub fn path(&self) -> &Path {
        &self.real
    }

    /// Open it again: never through a link, never a special file.
    pub fn open(&self) -> io::Result<File> {
        open_regular(&self.real).map(|(f, _)| f)
    }

    /// [`GatedFile::open`], and the file's size as opened.
    pub fn open_sized(&self) -> io::Result<(File, u64)> {
        open_regular(&self.real)
    }
}

/// Open a path that has no links left in it: `O_NOFOLLOW` refuses a link
/// swapped in since, `O_NONBLOCK` keeps a FIFO swapped in from blocking,
/// and the opened file must be a regular file; its size as opened.
fn open_regular(path: &Path) -> io::Result<(File, u64)> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    let m = f.metadata()?;
    if !m.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    Ok((f, m.len()))
}

impl Input {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let real_root = std::fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
        Input {
            root,
            real_root,
            log: None,
            output_dir: None,
            git_dir: None,
            refusals: Arc::default(),
        }
    }

    /// The directory as named by the user.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The links refused so far, in the order met, each once.
    pub fn refusals(&self) -> Vec<Refusal> {
        self.refusals.lock().map(|r| r.clone()).unwrap_or_default()
    }

    fn refuse(&self, name: &str, reason: String) {
        if let Ok(mut r) = self.refusals.lock() {
            let refusal = Refusal {
                name: name.to_string(),
                reason,
            };
            if !r.contains(&refusal) {
                r.push(refusal);
            }
        }
    }

    /// Resolve `rel` through the gate: `Ok(None)` when there is no such
    /// entry or the gate refused it (then recorded).
    fn resolve(&self, rel: &str) -> io::Result<Option<(PathBuf, Metadata)>> {
        let p = self.root.join(rel);
        let link = match std::fs::symlink_metadata(&p) {
            Ok(m) => m.file_type().is_symlink(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            // e.g. a path through a file (`log/x`): nothing there
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => return Ok(None),
            Err(e) => return Err(e),
        };
        let target = || {
            std::fs::read_link(&p)
                .map(|t| t.display().to_string())
                .unwrap_or_else(|_| "?".into())
        };
        let real = match std::fs::canonicalize(&p) {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.refuse(
                    rel,
                    format!("a link to `{}`, which does not exist", target()),
                );
                return Ok(None);
            }
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                self.refuse(rel, "a link loop".into());
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        if !real.starts_with(&self.real_root) {
            let to = if link {
                target()
            } else {
                real.display().to_string()
            };
            self.refuse(
                rel,
                format!("a link to `{to}`, outside the directory: not followed"),
            );
            return Ok(None);
        }
        let meta = std::fs::metadata(&real)?;
        Ok(Some((real, meta)))
    }

    /// True if an entry of that name exists at all (even a refused link).
    pub fn entry_exists(&self, rel: &str) -> bool {
        std::fs::symlink_metadata(self.root.join(rel)).is_ok()
    }

    /// True if `rel` is a regular file inside the directory.
    pub fn is_file(&self, rel: &str) -> bool {
        matches!(self.resolve(rel), Ok(Some((_, m))) if m.is_file())
    }

    /// True if `rel` is a directory inside the directory.
    pub fn is_dir(&self, rel: &str) -> bool {
        matches!(self.resolve(rel), Ok(Some((_, m))) if m.is_dir())
    }

    /// True if `rel` (or `rel.gz`) is a regular file.
    pub fn exists(&self, rel: &str) -> bool {
        self.is_file(rel) || self.is_file(&format!("{rel}.gz"))
    }

    /// `rel`, or `rel.gz` when only that exists, as a file that may be
    /// published. `None` when absent, refused or not a regular file.
    pub fn file(&self, rel: &str) -> Option<GatedFile> {
        [rel.to_string(), format!("{rel}.gz")]
            .into_iter()
            .find_map(|name| match self.resolve(&name) {
                Ok(Some((real, m))) if m.is_file() => Some(GatedFile { name, real }),
                _ => None,
            })
    }

    /// Last modification time of `rel` (gated), if known.
    pub fn modified(&self, rel: &str) -> Option<SystemTime> {
        match self.resolve(rel) {
            Ok(Some((_, m))) => m.modified().ok(),
            _ => None,
        }
    }

    /// Open `rel`, or `rel.gz` when only that exists. Gzip content (by magic
    /// bytes) is decompressed transparently. `Ok(None)` when neither exists
    /// (or the gate refused them).
    pub fn open(&self, rel: &str) -> Result<Option<Opened>, ParseError> {
        for name in [rel.to_string(), format!("{rel}.gz")] {
            // Check the type before opening: opening a FIFO would block.
            let real = match self.resolve(&name) {
                Ok(Some((_, m))) if !m.is_file() => {
                    return Err(ParseError::io(
                        &name,
                        io::Error::other("not a regular file"),
                    ));
                }
                Ok(Some((real, _))) => real,
                Ok(None) => continue,
                Err(e) => return Err(ParseError::io(&name, e)),
            };
            match open_regular(&real) {
                Ok((f, size)) => {
                    return Ok(Some(Opened {
                        reader: maybe_gunzip(f).map_err(|e| ParseError::io(&name, e))?,
                        name,
                        size,
                    }));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(ParseError::io(&name, e)),
            }
        }
        Ok(None)
    }

    /// Read a small file whole (at most `limit` bytes) as lossy UTF-8.
    pub fn read_small(
        &self,
        rel: &str,
        limit: u64,
    ) -> Result<Option<(String, String)>, ParseError> {
        let Some(mut o) = self.open(rel)? else {
            return Ok(None);
        };
        let mut buf = Vec::new();
        (&mut o.reader)
            .take(limit)
            .read_to_end(&mut buf)
            .map_err(|e| ParseError::io(&o.name, e))?;
        Ok(Some((o.name, String::from_utf8_lossy(&buf).into_owned())))
    }

    /// [`Input::read_small`] for a whole text file that should fit in
    /// `limit` bytes: a larger one is cut there, with a note saying so.
    pub fn read_text_file(
        &self,
        rel: &str,
        limit: u64,
        facts: &mut crate::Facts,
    ) -> Result<Option<(String, String)>, ParseError> {
        let got = self.read_small(rel, limit)?;
        if let Some((name, text)) = &got {
            if text.len() as u64 >= limit {
                facts.note(
                    name,
                    None,
                    format!("file larger than {limit} bytes: only its start was read"),
                );
            }
        }
        Ok(got)
    }

    /// Names of the entries of directory `rel` (sorted, at most
    /// [`MAX_LIST`]); empty if absent or refused. `""` is the root.
    pub fn list(&self, rel: &str) -> Vec<String> {
        let real = match self.resolve(rel) {
            Ok(Some((real, m))) if m.is_dir() => real,
            _ => return Vec::new(),
        };
        let mut v: Vec<String> = match std::fs::read_dir(real) {
            Ok(rd) => rd
                .filter_map(|e| e.ok())
                .take(MAX_LIST)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        };
        v.sort();
        v
    }
}

/// Entries of one directory listed at most (a result directory has a few
/// dozen; a hostile one must not grow memory without bound).
pub const MAX_LIST: usize = 100_000;

/// Wrap a reader so gzip data (magic `1f 8b`) is decompressed.
pub fn maybe_gunzip<R: Read + Send + 'static>(r: R) -> io::Result<Box<dyn BufRead + Send>> {
    let mut br = BufReader::with_capacity(256 * 1024, r);
    let head = br.fill_buf()?;
    if head.len() >= 2 && head[0] == 0x1f && head[1] == 0x8b {
        Ok(Box::new(BufReader::with_capacity(
            256 * 1024,
            MultiGzDecoder::new(br),
        )))
    } else {
        Ok(Box::new(br))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> (tempfile::TempDir, Input) {
        let t = tempfile::tempdir().expect("tempdir");
        let root = t.path().join("run");
        std::fs::create_dir_all(root.join("linux/output")).expect("mkdir");
        std::fs::write(root.join("output_log"), "inside\n").expect("write");
        std::fs::write(t.path().join("secret"), "outside\n").expect("write");
        let input = Input::new(&root);
        (t, input)
    }

    fn read(input: &Input, rel: &str) -> Option<String> {
        input
            .read_small(rel, 1024)
            .expect("no error")
            .map(|(_, s)| s)
    }

    #[test]
    fn links_inside_are_followed() {
        let (_t, input) = tree();
        symlink(
            "../../output_log",
            input.root().join("linux/output/.config"),
        )
        .expect("ln");
        assert_eq!(
            read(&input, "linux/output/.config").as_deref(),
            Some("inside\n")
        );
        assert!(input.file("linux/output/.config").is_some());
        assert!(input.refusals().is_empty());
    }

    #[test]
    fn links_outside_dangling_and_looping_are_refused_once_each() {
        let (t, input) = tree();
        let root = input.root().to_path_buf();
        symlink(t.path().join("secret"), root.join("linux/log")).expect("ln");
        symlink("/nonexistent/x", root.join("commit.txt")).expect("ln");
        symlink("loop2", root.join("loop1")).expect("ln");
        symlink("loop1", root.join("loop2")).expect("ln");
        symlink(t.path(), root.join("up")).expect("ln");
        for rel in ["linux/log", "commit.txt", "loop1", "up/secret", "../secret"] {
            assert_eq!(read(&input, rel), None, "{rel}");
            assert!(input.file(rel).is_none(), "{rel}");
            assert!(!input.exists(rel), "{rel}");
        }
        assert!(input.list("up").is_empty());
        let r = input.refusals();
        let names: Vec<&str> = r.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "linux/log",
                "commit.txt",
                "loop1",
                "up/secret",
                "../secret",
                "up"
            ],
            "{r:?}"
        );
        assert!(r[0].reason.contains("outside the directory"), "{r:?}");
        assert!(r[0].reason.contains("secret"), "{r:?}");
        assert!(r[1].reason.contains("does not exist"), "{r:?}");
        assert!(r[2].reason.contains("loop"), "{r:?}");
    }

    #[test]
    fn special_files_are_not_opened() {
        let (_t, input) = tree();
        let fifo = input.root().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).expect("path");
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a node.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(input.open("fifo").is_err());
        assert!(input.file("fifo").is_none());
        assert!(!input.is_file("fifo"));
    }
}
