//! Seed result directories, read once at startup: the real corpus runs
//! (`*.tar.gz`, each unpacking to one REMOTE_DIR), the example directory,
//! the per-parser fixture cases, and a few layouts built from the corpus
//! (ktest, tuxmake, bare log, partial copy). Kept in memory as a map of
//! relative path → bytes; directories are implied by the paths.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

/// One seed tree: relative path → file bytes.
#[derive(Clone, Debug)]
pub struct Seed {
    pub name: String,
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Seed {
    /// Write the tree under `dir` (which must not exist yet).
    pub fn write(files: &BTreeMap<String, Vec<u8>>, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        for (rel, bytes) in files {
            let p = dir.join(rel);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&p, bytes)?;
        }
        Ok(())
    }
}

/// Files no parser and no layout reads (kernel source top level, the
/// ktest script): dropped so each case writes less.
fn irrelevant(rel: &str) -> bool {
    if rel == "ktest.pl" || rel == "expected.json" || rel.ends_with("/expected.json") {
        return true;
    }
    let rel = rel.replace("/dot-git/", "/.git/");
    if rel.starts_with("linux/.git/hooks/")
        || rel.starts_with("linux/.git/info/")
        || rel == "linux/.git/description"
    {
        return true;
    }
    if let Some(rest) = rel.as_str().strip_prefix("linux/") {
        if !rest.contains('/') {
            return !matches!(rest, "log" | "log.gz" | "Makefile");
        }
    }
    false
}

fn fix_rel(rel: &str) -> String {
    // fixtures store `.git` as `dot-git`
    rel.split('/')
        .map(|c| if c == "dot-git" { ".git" } else { c })
        .collect::<Vec<_>>()
        .join("/")
}

fn read_tarball(path: &Path) -> std::io::Result<Vec<Seed>> {
    let f = std::fs::File::open(path)?;
    let mut ar = tar::Archive::new(MultiGzDecoder::new(f));
    let mut by_top: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
    for e in ar.entries()? {
        let mut e = e?;
        if !e.header().entry_type().is_file() {
            continue;
        }
        let p = e.path()?.to_string_lossy().into_owned();
        let p = p.trim_start_matches("./").to_string();
        let Some((top, rel)) = p.split_once('/') else {
            continue;
        };
        if irrelevant(rel) {
            continue;
        }
        let mut buf = Vec::new();
        e.read_to_end(&mut buf)?;
        by_top
            .entry(top.to_string())
            .or_default()
            .insert(fix_rel(rel), buf);
    }
    Ok(by_top
        .into_iter()
        .map(|(top, files)| Seed { name: top, files })
        .collect())
}

fn read_dir_tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for e in walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(|e| e.ok())
    {
        if !e.file_type().is_file() {
            continue;
        }
        let Ok(rel) = e.path().strip_prefix(root) else {
            continue;
        };
        let rel = rel.to_string_lossy().into_owned();
        if irrelevant(&rel) {
            continue;
        }
        if let Ok(b) = std::fs::read(e.path()) {
            files.insert(fix_rel(&rel), b);
        }
    }
    files
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("gzip to memory");
    enc.finish().expect("gzip to memory")
}

/// Layout shapes other than a full REMOTE_DIR, built from a corpus run.
fn derived(from: &Seed) -> Vec<Seed> {
    let f = |rel: &str| from.files.get(rel).cloned();
    let mut v = Vec::new();
    let n = &from.name;
    if let (Some(log), Some(out)) = (f("linux/log"), f("output_log")) {
        let mut files = BTreeMap::new();
        files.insert("linux/log.gz".to_string(), gzip(&log));
        files.insert("output_log".to_string(), out);
        v.push(Seed {
            name: format!("{n}+partial"),
            files,
        });
    }
    if let Some(log) = f("linux/log") {
        let mut files = BTreeMap::new();
        files.insert("ktest.log".to_string(), log);
        if let Some(c) = f("ktest.conf") {
            files.insert("ktest.conf".to_string(), c);
        }
        if let Some(c) = f("linux/output/.config") {
            files.insert("output/.config".to_string(), c);
        }
        v.push(Seed {
            name: format!("{n}+ktest"),
            files,
        });
    }
    if let Some(blog) = f("buildlog-bob") {
        let mut files = BTreeMap::new();
        let mut log = b"tuxmake --target-arch=x86_64 --kconfig=tinyconfig --toolchain=gcc-12 config default kernel\n".to_vec();
        log.extend_from_slice(&blog);
        files.insert("build.log".to_string(), log);
        files.insert(
            "metadata.json".to_string(),
            br#"{"results": {"status": "PASS", "errors": 0, "warnings": 1, "duration": {"build": 14.2}},
 "build": {"target_arch": "x86_64", "toolchain": "gcc-12", "kconfig": "tinyconfig"},
 "compiler": {"name": "gcc", "version_full": "gcc (Debian 12.2.0-14) 12.2.0"},
 "git": {"git_url": "https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git",
         "git_branch": "linux-6.1.y", "git_commit": "19463f7e3ad6bee028585a29c8f9bd10fc6bcab6"},
 "source": {"kernelrelease": "6.1.192"}}
"#
            .to_vec(),
        );
        if let Some(c) = f("linux/output/.config") {
            files.insert("config".to_string(), c);
        }
        v.push(Seed {
            name: format!("{n}+tuxmake"),
            files,
        });

        let mut files = BTreeMap::new();
        files.insert("build.log".to_string(), blog);
        for (to, from_rel) in [
            ("time.txt", "time.txt"),
            ("commit.txt", "commit.txt"),
            ("start_time.txt", "start_time.epoch"),
            ("output/.config", "linux/output/.config"),
        ] {
            if let Some(b) = f(from_rel) {
                files.insert(to.to_string(), b);
            }
        }
        v.push(Seed {
            name: format!("{n}+bare"),
            files,
        });
    }
    v
}

/// Every seed: corpus tarballs from `corpus_dirs` (same-named tarballs
/// are read once), `fixtures/example/*`, `fixtures/parsers/<id>/<case>`,
/// and the derived layouts.
pub fn load(repo: &Path, corpus_dirs: &[PathBuf]) -> Vec<Seed> {
    let mut seeds = Vec::new();
    let mut seen_tar = std::collections::BTreeSet::new();
    let mut corpus_runs = Vec::new();
    for d in corpus_dirs {
        let Ok(rd) = std::fs::read_dir(d) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if !name.ends_with(".tar.gz") || !seen_tar.insert(name.clone()) {
                continue;
            }
            match read_tarball(&p) {
                Ok(v) => corpus_runs.extend(v),
                Err(e) => eprintln!("fuzz: skipping seed {}: {e}", p.display()),
            }
        }
    }
    for s in &corpus_runs {
        seeds.extend(derived(s));
    }
    seeds.extend(corpus_runs);
    let ex = repo.join("fixtures/example");
    if let Ok(rd) = std::fs::read_dir(&ex) {
        let mut dirs: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        dirs.sort();
        for d in dirs.into_iter().filter(|d| d.is_dir()) {
            seeds.push(Seed {
                name: format!(
                    "example/{}",
                    d.file_name().unwrap_or_default().to_string_lossy()
                ),
                files: read_dir_tree(&d),
            });
        }
    }
    let pr = repo.join("fixtures/parsers");
    for parser_dir in sorted_dirs(&pr) {
        for case in sorted_dirs(&parser_dir) {
            let files = read_dir_tree(&case);
            if files.is_empty() {
                continue;
            }
            let rel = case.strip_prefix(&pr).unwrap_or(&case);
            seeds.push(Seed {
                name: format!("parsers/{}", rel.display()),
                files,
            });
        }
    }
    seeds
}

fn sorted_dirs(d: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(d)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.is_dir());
    v.sort();
    v
}
