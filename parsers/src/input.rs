//! The files of one result directory, as parsers see them.
//!
//! Reading is allowed (it is what parsers do); the layout (main crate) says
//! where the primary build log, the kbuild output directory and the git
//! directory are, so parsers do not guess per layout.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::ParseError;

/// A result directory plus the layout's choices of where things are.
#[derive(Clone, Debug)]
pub struct Input {
    root: PathBuf,
    /// Primary build log, relative to `root` (e.g. `linux/log`, `build.log`, `log.gz`).
    pub log: Option<String>,
    /// kbuild `O=` directory relative to `root` (e.g. `linux/output`).
    pub output_dir: Option<String>,
    /// git directory relative to `root` (e.g. `linux/.git`).
    pub git_dir: Option<String>,
}

/// An opened file: the relative name actually opened and a buffered reader
/// over its (decompressed) bytes.
pub struct Opened {
    pub name: String,
    pub reader: Box<dyn BufRead + Send>,
}

impl Input {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Input {
            root: root.into(),
            log: None,
            output_dir: None,
            git_dir: None,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// True if `rel` (or `rel.gz`) is a regular file.
    pub fn exists(&self, rel: &str) -> bool {
        self.path(rel).is_file() || self.path(&format!("{rel}.gz")).is_file()
    }

    /// Open `rel`, or `rel.gz` when only that exists. Gzip content (by magic
    /// bytes) is decompressed transparently. `Ok(None)` when neither exists.
    pub fn open(&self, rel: &str) -> Result<Option<Opened>, ParseError> {
        for name in [rel.to_string(), format!("{rel}.gz")] {
            let p = self.path(&name);
            // Check the type before opening: opening a FIFO would block.
            match std::fs::metadata(&p) {
                Ok(m) if !m.is_file() => {
                    return Err(ParseError::io(
                        &name,
                        io::Error::other("not a regular file"),
                    ));
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(ParseError::io(&name, e)),
            }
            match File::open(&p) {
                Ok(f) => {
                    return Ok(Some(Opened {
                        reader: maybe_gunzip(f).map_err(|e| ParseError::io(&name, e))?,
                        name,
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

    /// Names of the entries of directory `rel` (sorted); empty if absent.
    pub fn list(&self, rel: &str) -> Vec<String> {
        let mut v: Vec<String> = match std::fs::read_dir(self.path(rel)) {
            Ok(rd) => rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        };
        v.sort();
        v
    }
}

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
