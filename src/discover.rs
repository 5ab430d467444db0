//! Stage 1: roots → result directories.
//!
//! Without `-r` every DIR given is a result directory. With `-r` each DIR
//! is a root: the walk goes in sorted order, stops at each directory a
//! layout recognises (never descending into its source tree), never enters
//! `.git` directories or bare kernel source trees, follows symlinks with
//! loop detection, and reports what it could not read without stopping.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::layout;
use crate::pipeline::Candidate;

/// Walk options.
#[derive(Clone, Debug, Default)]
pub struct DiscoverOptions {
    pub max_depth: Option<usize>,
    pub exclude: Vec<String>,
}

/// What the walk found.
#[derive(Debug, Default)]
pub struct Discovered {
    /// Result directories, in walk order, with the layout the walk
    /// detected (not detected again by the harvest).
    pub candidates: Vec<Candidate>,
    /// Paths skipped with the reason (symlink loop, unreadable, excluded…).
    pub skipped: Vec<(PathBuf, String)>,
}

/// Compile `--exclude` globs.
pub fn exclude_set(globs: &[String]) -> Result<GlobSet, String> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        b.add(Glob::new(g).map_err(|e| format!("invalid --exclude `{g}`: {e}"))?);
    }
    b.build().map_err(|e| format!("invalid --exclude: {e}"))
}

/// A kernel source tree that is not part of a result directory: never walked.
fn is_source_tree(dir: &Path) -> bool {
    dir.join("Kbuild").is_file() && dir.join("Kconfig").is_file() && dir.join("arch").is_dir()
}

/// Find result directories below each root.
pub fn discover(roots: &[PathBuf], opts: &DiscoverOptions) -> Result<Discovered, String> {
    let excludes = exclude_set(&opts.exclude)?;
    let mut out = Discovered::default();
    // A root that is not there is a mistake on the command line, not a
    // directory to skip: refuse before walking anything.
    for root in roots {
        match std::fs::metadata(root) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(format!("`{}`: not a directory", root.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(format!("`{}`: no such directory", root.display()))
            }
            Err(e) => return Err(format!("`{}`: {e}", root.display())),
        }
    }
    for root in roots {
        // The root may itself be a link (the user named it); links below it
        // are followed only while they stay inside it.
        let real_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.clone());
        let mut walk = walkdir::WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name();
        if let Some(d) = opts.max_depth {
            walk = walk.max_depth(d);
        }
        let mut it = walk.into_iter();
        while let Some(entry) = it.next() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let path = e
                        .path()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| root.clone());
                    let why = if e.loop_ancestor().is_some() {
                        "symlink loop".to_string()
                    } else {
                        match e.io_error() {
                            Some(io) => format!("unreadable: {io}"),
                            None => e.to_string(),
                        }
                    };
                    out.skipped.push((path, why));
                    continue;
                }
            };
            if !entry.file_type().is_dir() {
                continue;
            }
            let path = entry.path();
            if entry.path_is_symlink() {
                match std::fs::canonicalize(path) {
                    Ok(real) if real.starts_with(&real_root) => {}
                    Ok(real) => {
                        out.skipped.push((
                            path.to_path_buf(),
                            format!(
                                "a link to `{}`, outside `{}`: not followed",
                                real.display(),
                                root.display()
                            ),
                        ));
                        it.skip_current_dir();
                        continue;
                    }
                    Err(e) => {
                        out.skipped
                            .push((path.to_path_buf(), format!("unreadable: {e}")));
                        it.skip_current_dir();
                        continue;
                    }
                }
            }
            if excludes.is_match(path) {
                out.skipped.push((path.to_path_buf(), "excluded".into()));
                it.skip_current_dir();
                continue;
            }
            let name = entry.file_name().to_string_lossy();
            if name == ".git" || name == "dot-git" {
                it.skip_current_dir();
                continue;
            }
            if let Some((layout, input)) = layout::detect(path) {
                out.candidates
                    .push(Candidate::detected(path.to_path_buf(), layout, input));
                it.skip_current_dir();
                continue;
            }
            if is_source_tree(path) {
                it.skip_current_dir();
            }
        }
    }
    Ok(out)
}
