//! The stable queue that was applied on top of the base commit, and its
//! KCIDB `patchset_hash` (docs/inputs.md#patchset_hash).
//!
//! Sources, first present wins:
//!
//! 1. `stable_queue.tar.gz`, the queue as shipped (docs/inputs.md#patchset_hash: hash
//!    the files as shipped), streamed with `tar` + `flate2`, never unpacked to disk: the
//!    `series` member (at the top, or the shallowest `<dir>/series`) and
//!    the patches next to it;
//! 2. `linux/patches/series` with the patches beside it (what `tar -zxvf`
//!    unpacked and `git quiltimport` / quilt applied; the only source when
//!    a copy of the directory lacks the tarball).
//!
//! When both exist `linux/patches/` is hashed too and a note is left if it
//! disagrees (in a normal run they are the same bytes; the corpus copies
//! had addresses rewritten in `linux/patches/` only). An unreadable tarball
//! falls back to `linux/patches/` with a note. With neither, but with the
//! clone present (the layout's git directory, into which the queue would
//! have been unpacked), there was no queue: the hash is `""` and the series
//! empty (facts located at `linux/patches`). With neither and no clone (a
//! partial copy of the directory) nothing is emitted: the queue is unknown,
//! which the merge stage decides about.
//!
//! Series lines: blank lines and `#` comments are skipped; the first
//! whitespace-separated token is the patch (quilt allows options such as
//! `-p1` after it). A series entry whose patch is missing is a
//! [`ParseError`] naming the series line: the hash would be wrong otherwise.
//! Patch names that leave the queue directory (`..`, absolute paths) are
//! refused.
//!
//! `patchset_hash` = SHA-256 over, for each patch in series order, the
//! lower-case hex SHA-256 of its exact bytes followed by `\n`; `""` for no
//! patches. Series order, not the schema example's glob order. A patch
//! stored only as `<name>.gz` (an archived copy) is hashed decompressed,
//! which gives back the original bytes.
//!
//! Emits [`keys::QUEUE_SOURCE`], [`keys::QUEUE_SERIES`],
//! [`keys::QUEUE_PATCHSET_HASH`].

use std::collections::HashMap;
use std::io::Read;

use sha2::{Digest, Sha256};

use crate::commit_txt::shorten;
use crate::digest::{hex, sha256_reader};
use crate::{keys, Facts, Input, ParseError, Parser};

/// The unpacked queue's series file.
pub const SERIES_FILE: &str = "linux/patches/series";
/// Folder of the unpacked queue.
pub const PATCH_DIR: &str = "linux/patches";
/// The queue as shipped by `test_stable_ssh`.
pub const TARBALL: &str = "stable_queue.tar.gz";

/// A series file larger than this is refused (stable queues have a few
/// hundred lines).
const SERIES_LIMIT: u64 = 4 << 20;

/// Queue parser.
pub struct Queue;

/// quilt's list of applied patches (quilt-era runs).
pub const QUILT_APPLIED_FILE: &str = "linux/.pc/applied-patches";

/// A queue read from one source.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueInfo {
    /// `linux/patches` or `stable_queue.tar.gz`.
    pub source: &'static str,
    /// File the facts point at (the series file or the tarball).
    pub file: String,
    /// Patch names in series order.
    pub series: Vec<String>,
    /// Lower-case hex SHA-256 of each patch, in series order.
    pub patch_sha256: Vec<String>,
    /// [`patchset_hash`] of `patch_sha256`.
    pub patchset_hash: String,
}

impl Parser for Queue {
    fn id(&self) -> &'static str {
        "queue"
    }
    fn description(&self) -> &'static str {
        "the stable queue: linux/patches/series or stable_queue.tar.gz, patchset_hash in series order"
    }
    fn inputs(&self) -> &'static [&'static str] {
        &[SERIES_FILE, "linux/patches/*", TARBALL]
    }
    fn parse(&self, input: &Input, facts: &mut Facts) -> Result<(), ParseError> {
        // quilt-era runs (`quilt push -aq`) leave no commits: quilt's own
        // record of what it applied is the evidence
        if let Some((name, text)) = input.read_small(QUILT_APPLIED_FILE, 1 << 20)? {
            let applied: Vec<String> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect();
            facts.push(keys::QUEUE_QUILT_APPLIED, applied, &name, None);
        }
        let have_dir = input.exists(SERIES_FILE);
        if input.exists(TARBALL) {
            match from_tarball(input) {
                Ok(Some(q)) => {
                    if have_dir {
                        match from_patch_dir(input) {
                            Ok(d) if d.patchset_hash != q.patchset_hash => facts.note(
                                &d.file,
                                None,
                                format!(
                                    "{PATCH_DIR}/ hashes to {} but the shipped {TARBALL} to {}; using the tarball",
                                    d.patchset_hash, q.patchset_hash
                                ),
                            ),
                            Ok(_) => {}
                            Err(e) => facts.note(SERIES_FILE, None, format!("not cross-checked: {e}")),
                        }
                    }
                    emit(&q, facts);
                    return Ok(());
                }
                Ok(None) if have_dir => facts.warn(
                    TARBALL,
                    None,
                    format!("not readable; the queue is taken from {PATCH_DIR}/ instead"),
                ),
                Ok(None) => {}
                Err(e) if have_dir => {
                    // another source gives another patchset_hash (and ids)
                    facts.warn(
                        TARBALL,
                        None,
                        format!("{e}; the queue is taken from {PATCH_DIR}/ instead"),
                    );
                }
                Err(e) => return Err(e),
            }
        }
        if have_dir {
            let q = from_patch_dir(input)?;
            emit(&q, facts);
            return Ok(());
        }
        if input.is_dir(PATCH_DIR) {
            facts.note(
                PATCH_DIR,
                None,
                "folder without a `series` file: its patches are not a queue",
            );
        }
        // The queue is unpacked into the clone right after `git clone`, so a
        // clone without it had no queue. Without the clone (a partial copy
        // of the directory) the queue is unknown, not empty.
        match input.git_dir.as_deref().filter(|g| input.is_dir(g)) {
            Some(_) => {
                facts.push(
                    keys::QUEUE_SERIES,
                    serde_json::Value::Array(Vec::new()),
                    PATCH_DIR,
                    None,
                );
                facts.push(keys::QUEUE_PATCHSET_HASH, "", PATCH_DIR, None);
            }
            None => facts.note(
                TARBALL,
                None,
                format!("no {TARBALL}, no {SERIES_FILE} and no clone: the queue is unknown"),
            ),
        }
        Ok(())
    }
}

fn emit(q: &QueueInfo, facts: &mut Facts) {
    facts.push(keys::QUEUE_SOURCE, q.source, &q.file, None);
    facts.push(keys::QUEUE_SERIES, q.series.clone(), &q.file, None);
    facts.push(
        keys::QUEUE_PATCHSET_HASH,
        q.patchset_hash.clone(),
        &q.file,
        None,
    );
}

/// KCIDB `patchset_hash` over per-patch hex digests, in the given order;
/// `""` when there are none.
pub fn patchset_hash<S: AsRef<str>>(patch_sha256: &[S]) -> String {
    if patch_sha256.is_empty() {
        return String::new();
    }
    let mut h = Sha256::new();
    for p in patch_sha256 {
        h.update(p.as_ref().as_bytes());
        h.update(b"\n");
    }
    hex(&h.finalize())
}

/// Series entries `(line, name)` in order. Errors carry the line.
pub fn parse_series(text: &str) -> Result<Vec<(u64, String)>, (u64, String)> {
    let mut out = Vec::new();
    for (idx, raw) in text.lines().enumerate() {
        let line = idx as u64 + 1;
        let l = raw.trim_start_matches('\u{feff}').trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let name = l.split_whitespace().next().unwrap_or(l);
        if normalize_rel(name).is_none() {
            return Err((
                line,
                format!("patch name `{}` leaves the queue directory", shorten(name)),
            ));
        }
        out.push((line, name.to_string()));
    }
    Ok(out)
}

/// A relative path without `.` / empty components; `None` for absolute
/// paths, `..` components, NUL bytes, or nothing left.
fn normalize_rel(p: &str) -> Option<String> {
    if p.starts_with('/') || p.contains('\0') {
        return None;
    }
    member_path(p)
}

/// Tar member path normalised the way `tar -x` places it: leading `/` and
/// `./`, empty and `.` components dropped; `None` for `..` or nothing left.
fn member_path(p: &str) -> Option<String> {
    let mut parts = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => return None,
            c => parts.push(c),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

fn check_series_size(name: &str, text: &str) -> Result<(), ParseError> {
    if text.len() as u64 >= SERIES_LIMIT {
        return Err(ParseError::syntax(
            name,
            None,
            format!("larger than {SERIES_LIMIT} bytes; not a quilt series"),
        ));
    }
    Ok(())
}

/// The unpacked queue: `linux/patches/series` and its patches.
pub fn from_patch_dir(input: &Input) -> Result<QueueInfo, ParseError> {
    let Some((series_name, text)) = input.read_small(SERIES_FILE, SERIES_LIMIT)? else {
        return Err(ParseError::syntax(
            SERIES_FILE,
            None,
            "vanished while reading",
        ));
    };
    check_series_size(&series_name, &text)?;
    let entries =
        parse_series(&text).map_err(|(l, m)| ParseError::syntax(&series_name, Some(l), m))?;
    let mut series = Vec::with_capacity(entries.len());
    let mut sums = Vec::with_capacity(entries.len());
    for (line, name) in entries {
        let rel = format!("{PATCH_DIR}/{name}");
        let sum = if let Some(plain) = input.file(&rel).filter(|f| f.name() == rel) {
            // as it is on disk, even if it is gzip data (the hash is of the bytes)
            let f = plain.open().map_err(|e| ParseError::io(&rel, e))?;
            sha256_reader(f).map_err(|e| ParseError::io(&rel, e))?
        } else if input.exists(&rel) {
            let Some(o) = input.open(&rel)? else {
                return Err(missing(&series_name, line, &name, &rel));
            };
            let opened_name = o.name;
            sha256_reader(o.reader).map_err(|e| ParseError::io(&opened_name, e))?
        } else {
            return Err(missing(&series_name, line, &name, &rel));
        };
        series.push(name);
        sums.push(sum);
    }
    Ok(QueueInfo {
        source: PATCH_DIR,
        file: series_name,
        patchset_hash: patchset_hash(&sums),
        series,
        patch_sha256: sums,
    })
}

fn missing(series: &str, line: u64, name: &str, rel: &str) -> ParseError {
    ParseError::syntax(
        series,
        Some(line),
        format!(
            "patch `{}` is listed but `{}` does not exist (the patchset_hash would be wrong)",
            shorten(name),
            shorten(rel)
        ),
    )
}

/// The queue as shipped: `stable_queue.tar.gz`. `Ok(None)` if it vanished.
pub fn from_tarball(input: &Input) -> Result<Option<QueueInfo>, ParseError> {
    let Some(opened) = input.open(TARBALL)? else {
        return Ok(None);
    };
    read_tar_queue(&opened.name, opened.reader).map(Some)
}

/// Read a (decompressed) tar stream holding a quilt queue in one pass:
/// every regular member is hashed as it streams by, the series is kept,
/// and the patches are then taken in series order.
pub fn read_tar_queue(name: &str, reader: impl Read) -> Result<QueueInfo, ParseError> {
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(|e| ParseError::io(name, e))?;
    let mut sums: HashMap<String, String> = HashMap::new();
    // (member path, text)
    let mut series_members: Vec<(String, String)> = Vec::new();
    for entry in entries {
        let mut entry = entry.map_err(|e| ParseError::io(name, e))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let raw_path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(path) = member_path(&raw_path) else {
            continue;
        };
        if path == "series" || path.ends_with("/series") {
            let mut buf = Vec::new();
            (&mut entry)
                .take(SERIES_LIMIT)
                .read_to_end(&mut buf)
                .map_err(|e| ParseError::io(name, e))?;
            let text = String::from_utf8_lossy(&buf).into_owned();
            check_series_size(&format!("{name}: {raw_path}"), &text)?;
            series_members.retain(|(p, _)| *p != path);
            series_members.push((path, text));
        } else {
            let sum = sha256_reader(&mut entry).map_err(|e| ParseError::io(name, e))?;
            sums.insert(path, sum);
        }
    }
    let depth = |p: &str| p.matches('/').count();
    let Some(min_depth) = series_members.iter().map(|(p, _)| depth(p)).min() else {
        return Err(ParseError::syntax(
            name,
            None,
            "no `series` member: cannot tell the order the patches apply in",
        ));
    };
    let mut top: Vec<&(String, String)> = series_members
        .iter()
        .filter(|(p, _)| depth(p) == min_depth)
        .collect();
    if top.len() > 1 {
        top.sort();
        return Err(ParseError::syntax(
            name,
            None,
            format!(
                "several `series` members ({}, {}): which queue is meant is unclear",
                top[0].0, top[1].0
            ),
        ));
    }
    let (series_path, text) = top[0];
    let base = series_path
        .rsplit_once('/')
        .map(|(dir, _)| format!("{dir}/"))
        .unwrap_or_default();
    let entries = parse_series(text).map_err(|(l, m)| {
        ParseError::syntax(name, None, format!("member `{series_path}` line {l}: {m}"))
    })?;
    let mut series = Vec::with_capacity(entries.len());
    let mut patch_sums = Vec::with_capacity(entries.len());
    for (line, patch) in entries {
        let key = normalize_rel(&patch)
            .map(|p| format!("{base}{p}"))
            .unwrap_or_default();
        let Some(sum) = sums.get(&key) else {
            return Err(ParseError::syntax(
                name,
                None,
                format!(
                    "member `{series_path}` line {line} lists `{}`, which is not in the archive (the patchset_hash would be wrong)",
                    shorten(&patch)
                ),
            ));
        };
        patch_sums.push(sum.clone());
        series.push(patch);
    }
    Ok(QueueInfo {
        source: TARBALL,
        file: name.to_string(),
        patchset_hash: patchset_hash(&patch_sums),
        series,
        patch_sha256: patch_sums,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::maybe_gunzip;
    use crate::testutil::{check_fixtures, fixture_input, fixtures_root};
    use proptest::prelude::*;

    const VECTOR_SERIES: &str = "ed81c1f09568a57e5ccddb6ba9b5d6598053439eba23b60c9c284536a6a22796";
    const VECTOR_GLOB: &str = "0c01bd6b3fb696bee2d05a541fb3de3f26366abf61749118d8dc95a6107b9f33";

    /// Build an uncompressed tar in memory.
    fn tar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, data) in members {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, path, *data).expect("append");
        }
        b.into_inner().expect("finish")
    }

    #[test]
    fn empty_patchset_is_empty_string() {
        assert_eq!(patchset_hash::<&str>(&[]), "");
    }

    #[test]
    fn section_9_test_vector_series_and_glob_order() {
        let path = fixtures_root().join("queue/test-vector-tarball/stable_queue.tar.gz");
        let f = std::fs::File::open(&path).expect("test vector fixture");
        let q = read_tar_queue(TARBALL, maybe_gunzip(f).expect("gunzip")).expect("queue");
        assert_eq!(
            q.series,
            [
                "init-add-a-counter-for-boot-statistics.patch",
                "utsname-add-a-debug-hook.patch",
                "sys-allow-offsetting-getpid-results.patch"
            ]
        );
        assert_eq!(q.patchset_hash, VECTOR_SERIES);
        let mut by_name: Vec<(&String, &String)> =
            q.series.iter().zip(q.patch_sha256.iter()).collect();
        by_name.sort();
        let glob: Vec<&String> = by_name.into_iter().map(|(_, s)| s).collect();
        assert_eq!(patchset_hash(&glob), VECTOR_GLOB);
    }

    #[test]
    fn corpus_hashes_match_truth() {
        let truth_dir = fixtures_root().join("../corpus");
        let mut checked = 0;
        for case in [
            "pass-queue",
            "warn",
            "fail-compile",
            "fail-patch",
            "pass-tiny",
        ] {
            let text = std::fs::read_to_string(truth_dir.join(format!("{case}.truth.json")))
                .expect("truth.json");
            let truth: serde_json::Value = serde_json::from_str(&text).expect("json");
            let want = truth["checkout"]["patchset"]["kcidb_patchset_hash"]
                .as_str()
                .unwrap_or("");
            let want_series: Vec<String> = truth["checkout"]["patchset"]["series"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            let mut facts = Facts::new();
            Queue
                .parse(
                    &fixture_input(&fixtures_root().join(format!("queue/corpus-{case}"))),
                    &mut facts,
                )
                .expect("corpus queue parses");
            assert_eq!(
                facts.str(keys::QUEUE_PATCHSET_HASH).map(|v| v.0),
                Some(want),
                "{case}"
            );
            let got_series: Vec<String> = facts
                .last(keys::QUEUE_SERIES)
                .and_then(|f| serde_json::from_value(f.value.clone()).ok())
                .unwrap_or_default();
            assert_eq!(got_series, want_series, "{case}");
            checked += 1;
        }
        assert_eq!(checked, 5);
    }

    #[test]
    fn series_lines() {
        let text = "# queue\r\n\r\nfoo.patch -p1\r\n  bar.patch # why\r\n\tsub/baz.patch\r\n";
        assert_eq!(
            parse_series(text),
            Ok(vec![
                (3, "foo.patch".to_string()),
                (4, "bar.patch".to_string()),
                (5, "sub/baz.patch".to_string())
            ])
        );
        assert_eq!(
            parse_series("a.patch\n../../etc/passwd\n").unwrap_err().0,
            2
        );
        assert_eq!(parse_series("/etc/passwd\n").unwrap_err().0, 1);
        assert_eq!(parse_series("# only comments\n\n"), Ok(vec![]));
    }

    #[test]
    fn tar_in_a_subdirectory_and_odd_member_names() {
        let data = tar_of(&[
            ("queue-6.1/b.patch", b"B"),
            ("queue-6.1/series", b"b.patch\na.patch\n"),
            ("queue-6.1/./a.patch", b"A"),
            ("queue-6.1/old/series", b"a.patch\n"),
        ]);
        let q = read_tar_queue(TARBALL, &data[..]).expect("queue");
        assert_eq!(q.series, ["b.patch", "a.patch"]);
        let sums: Vec<String> = [b"B", b"A"]
            .iter()
            .map(|d| sha256_reader(&d[..]).expect("hash"))
            .collect();
        assert_eq!(q.patch_sha256, sums);
        assert_eq!(q.patchset_hash, patchset_hash(&sums));
    }

    #[test]
    fn tar_errors_name_the_problem() {
        let no_series = tar_of(&[("./a.patch", b"A")]);
        let e = read_tar_queue(TARBALL, &no_series[..])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("stable_queue.tar.gz") && e.contains("no `series`"),
            "{e}"
        );

        let missing = tar_of(&[("./series", b"a.patch\nb.patch\n"), ("./a.patch", b"A")]);
        let e = read_tar_queue(TARBALL, &missing[..])
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("`b.patch`"), "{e}");

        let two = tar_of(&[("x/series", b""), ("y/series", b"")]);
        let e = read_tar_queue(TARBALL, &two[..]).unwrap_err().to_string();
        assert!(e.contains("several"), "{e}");

        let e = read_tar_queue(TARBALL, &b"not a tar at all, just some text\n"[..])
            .unwrap_err()
            .to_string();
        assert!(e.contains("stable_queue.tar.gz"), "{e}");
    }

    #[test]
    fn empty_series_in_tar_means_no_patches() {
        let data = tar_of(&[("./series", b"# nothing queued\n")]);
        let q = read_tar_queue(TARBALL, &data[..]).expect("queue");
        assert!(q.series.is_empty());
        assert_eq!(q.patchset_hash, "");
    }

    #[test]
    fn member_paths() {
        assert_eq!(member_path("./series").as_deref(), Some("series"));
        assert_eq!(member_path("/a//./b").as_deref(), Some("a/b"));
        assert_eq!(member_path("a/../b"), None);
        assert_eq!(member_path("./"), None);
    }

    #[test]
    fn long_series_line() {
        let long = format!("{}.patch", "p".repeat(70_000));
        let data = tar_of(&[
            ("./series", format!("{long} -p1\n").as_bytes()),
            (long.as_str(), b"x"),
        ]);
        let q = read_tar_queue(TARBALL, &data[..]).expect("queue");
        assert_eq!(q.series, [long]);
    }

    #[test]
    fn fixtures() {
        assert!(check_fixtures(&Queue) >= 10);
    }

    proptest! {
        #[test]
        fn never_panics_on_tar_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = read_tar_queue(TARBALL, &bytes[..]);
        }

        #[test]
        fn never_panics_on_mangled_tar(
            cut in 0usize..4096,
            flip in proptest::collection::vec((0usize..4096, any::<u8>()), 0..8),
        ) {
            let mut data = tar_of(&[("./series", b"a.patch\n"), ("./a.patch", b"A\n")]);
            for (at, v) in flip {
                if let Some(b) = data.get_mut(at) {
                    *b = v;
                }
            }
            data.truncate(cut);
            let _ = read_tar_queue(TARBALL, &data[..]);
        }

        #[test]
        fn never_panics_on_series_text(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = parse_series(&text);
        }

        /// The hash only depends on the patch bytes in series order.
        #[test]
        fn hash_follows_series_order(patches in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 1..5)) {
            let names: Vec<String> = (0..patches.len()).map(|i| format!("p{i}.patch")).collect();
            let series: String = names.iter().rev().map(|n| format!("{n}\n")).collect();
            let mut members: Vec<(&str, &[u8])> = vec![("./series", series.as_bytes())];
            for (n, p) in names.iter().zip(&patches) {
                members.push((n.as_str(), p.as_slice()));
            }
            let q = read_tar_queue(TARBALL, &tar_of(&members)[..]).expect("queue");
            let want: Vec<String> = patches.iter().rev().map(|p| sha256_reader(&p[..]).unwrap_or_default()).collect();
            prop_assert_eq!(q.patchset_hash, patchset_hash(&want));
        }
    }
}
