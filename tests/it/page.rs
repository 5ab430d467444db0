//! `kcidb-harvest report` (README "The report"): the page of a history of
//! the corpus cases and our own fixtures, rendered by a real headless
//! Chromium; the assertions are on the DOM after its script ran, and the
//! test writes a screenshot (`UPDATE_SCREENSHOT=1` copies it to
//! `docs/report.png`, the README's picture).
//!
//! Chromium: `$KCIDB_HARVEST_CHROMIUM`, else `chromium` or
//! `chromium-browser` on `PATH`. Without one the browser test says so on
//! stderr and is skipped, unless `KCIDB_HARVEST_REQUIRE_BROWSER=1` (CI
//! installs Chromium and sets it), where a missing browser fails it.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common;
use common::text;
use kcidb_harvest::history::{Filter, History};

const ORIGIN: &str = "gregkh";

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KCIDB_HARVEST_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
        .find(|p| p.is_file())
}

/// A history of the 5 corpus cases (pass-tiny harvested before warn) and
/// our own fixtures: real ktest runs and real build logs.
fn history_of_fixtures(root: &Path) -> PathBuf {
    let history = root.join("history.sqlite");
    let runs = root.join("runs");
    std::fs::create_dir_all(&runs).unwrap();
    let mut dirs: Vec<PathBuf> = [
        "pass-tiny",
        "warn",
        "pass-queue",
        "fail-compile",
        "fail-patch",
    ]
    .iter()
    .map(|c| common::unpack_case(c, &runs))
    .collect();
    for sub in ["fixtures/ktest", "fixtures/logs"] {
        let mut more: Vec<PathBuf> = std::fs::read_dir(common::repo().join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        more.sort();
        dirs.extend(more);
    }
    let out = common::bin(root)
        .args(&dirs)
        .args([
            "--origin",
            ORIGIN,
            "--assume-finished",
            "--issues",
            "all",
            "--allow-unknown-commit",
        ])
        .args(["--spool", "spool", "--history"])
        .arg(&history)
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
    history
}

fn report(root: &Path, history: &Path, extra: &[&str]) -> (Output, PathBuf) {
    let page = root.join("report.html");
    let out = common::bin(root)
        .arg("report")
        .arg("--history")
        .arg(history)
        .arg("-o")
        .arg(&page)
        .args(extra)
        .env("SOURCE_DATE_EPOCH", "1795910400")
        .output()
        .unwrap();
    (out, page)
}

/// The flags a root Chromium needs here: no sandbox, no GPU, and none of
/// its own network traffic (the machine has none to give).
fn headless(chrome: &Path, profile: &Path) -> Command {
    let mut c = Command::new(chrome);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=10000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

fn file_url(p: &Path) -> String {
    format!("file://{}", p.display())
}

/// `<tbody class="build" id="…" …>…</tbody>` of one build, from the DOM.
fn build_body<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom
        .find(&format!("<tbody class=\"build\" id=\"{id}\""))
        .unwrap_or_else(|| panic!("{id} has no row"));
    let end = dom[start..].find("</tbody>").unwrap() + start;
    &dom[start..end]
}

/// Chromium, or None when the test is to be skipped (it says so).
fn browser_for(test: &str) -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        assert!(
            std::env::var_os("KCIDB_HARVEST_REQUIRE_BROWSER").is_none(),
            "KCIDB_HARVEST_REQUIRE_BROWSER is set but no chromium was found"
        );
        eprintln!(
            "SKIPPED page::{test}: no chromium (apt-get install chromium, or set KCIDB_HARVEST_CHROMIUM)"
        );
    }
    found
}

/// The DOM of `page` after its script ran, and Chromium's log.
fn dom_of(chrome: &Path, profile: &Path, page: &Path) -> (String, String) {
    let dump = headless(chrome, profile)
        .arg("--dump-dom")
        .arg(file_url(page))
        .output()
        .expect("chromium runs");
    assert!(dump.status.success(), "{}", text(&dump));
    let dom = String::from_utf8_lossy(&dump.stdout).into_owned();
    let log = String::from_utf8_lossy(&dump.stderr).into_owned();
    // the script ran to its end, and nothing in the page went wrong
    assert!(
        dom.contains("data-ready=\"1\""),
        "the page's script did not finish"
    );
    assert!(
        dom.contains("<pre id=\"page-errors\" hidden=\"\"></pre>"),
        "errors in the page: {}",
        dom.lines()
            .find(|l| l.contains("page-errors"))
            .unwrap_or("")
    );
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console output: {console:#?}");
    (dom, log)
}

#[test]
fn the_page_of_the_fixtures_renders_in_chromium_with_every_build() {
    let Some(chrome) = browser_for("the_page_of_the_fixtures_renders_in_chromium_with_every_build")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let history = history_of_fixtures(root);
    let (out, page) = report(root, &history, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let html = std::fs::read_to_string(&page).unwrap();

    // what the history holds: every build must be on the page
    let h = History::open_read_only(&history).unwrap().unwrap();
    let records = h.all(&Filter::default()).unwrap();
    let ids: HashSet<String> = records.iter().map(|r| r.build_id.clone()).collect();
    assert!(ids.len() >= 30, "{} builds", ids.len());
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(
        summary.contains(&format!("{} builds in", ids.len())),
        "{summary}"
    );

    // self-contained: nothing fetched from anywhere
    for needle in ["<link", " src=\"http", "@import", "url(", "<iframe"] {
        assert!(!html.contains(needle), "the page holds `{needle}`");
    }

    let profile = root.join("chromium-profile");
    let (dom, _) = dom_of(&chrome, &profile, &page);

    // every build, once
    for id in &ids {
        assert_eq!(
            dom.matches(&format!("data-build-id=\"{id}\"")).count(),
            1,
            "{id}"
        );
    }
    assert_eq!(dom.matches("<tbody class=\"build\"").count(), ids.len());

    // the charts were drawn: a line per series, the status marks, labels
    assert!(dom.matches("<figure class=\"chart counts\"><svg").count() >= 1);
    assert!(dom.matches("<figure class=\"chart statuses\"><svg").count() >= 1);
    assert!(dom.contains("<polyline"), "no series line");
    assert!(dom.contains("distinct warnings"), "no legend");
    assert!(
        dom.contains("6.1.192 · 23:"),
        "no release and time on the x axis"
    );
    let marks = dom.matches("<rect").count();
    assert!(marks >= 4, "{marks} rects");

    // the warn case: its 3 new warnings, marked, against pass-tiny
    let warn = records
        .iter()
        .find(|r| r.dir.ends_with("/warn"))
        .expect("warn is recorded");
    let body = build_body(&dom, &warn.build_id);
    assert!(body.contains("data-new=\"3\""), "{body}");
    assert!(body.contains("3 new"), "{body}");
    assert_eq!(body.matches("<li class=\"diag new\">").count(), 3, "{body}");
    assert_eq!(body.matches("<li class=\"diag\">").count(), 1, "{body}");
    assert!(
        body.contains("unused variable ‘oldlevel’"),
        "the new warnings are listed: {body}"
    );
    // the script folded every build's diagnostics
    assert!(body.contains("<tr class=\"diags\" hidden=\"\">"), "{body}");

    // the recurring diagnostics: the Kconfig warning of the corpus runs
    assert!(dom.contains("<table class=\"recurring\">"));

    // a screenshot, from the same page
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report.png");
    let _ = std::fs::remove_file(&shot);
    let out = headless(&chrome, &profile)
        .arg("--window-size=1280,1800")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(file_url(&page))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 20_000, "an empty picture? {} bytes", png.len());
    eprintln!("screenshot: {}", shot.display());
    if std::env::var_os("UPDATE_SCREENSHOT").is_some() {
        std::fs::copy(&shot, common::repo().join("docs/report.png")).unwrap();
    }
}

#[test]
fn report_filters_and_says_what_is_wrong_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let runs = root.join("runs");
    std::fs::create_dir_all(&runs).unwrap();
    let tiny = common::unpack_case("pass-tiny", &runs);
    let bare = common::repo().join("fixtures/logs/arm64-gcc-tinyconfig-pass");
    let history = root.join("h.sqlite");
    let out = common::bin(root)
        .arg(&tiny)
        .arg(&bare)
        .args([
            "--origin",
            ORIGIN,
            "--assume-finished",
            "--allow-unknown-commit",
        ])
        .args(["--spool", "spool"])
        .arg("--history")
        .arg(&history)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));

    let count = |extra: &[&str]| -> usize {
        let (out, page) = report(root, &history, extra);
        assert!(out.status.success(), "{}", text(&out));
        std::fs::read_to_string(page)
            .unwrap()
            .matches("<tbody class=\"build\"")
            .count()
    };
    assert_eq!(count(&[]), 2);
    assert_eq!(count(&["--tree", "stable"]), 1, "the bare log has no tree");
    assert_eq!(count(&["--branch", "linux-6.1.y"]), 1);
    assert_eq!(
        count(&["--since", "2026-11-28"]),
        1,
        "the bare log has no start time"
    );
    assert_eq!(count(&["--since", "2026-11-29"]), 0);

    // the same history, the same page
    let (_, page) = report(root, &history, &[]);
    let first = std::fs::read(&page).unwrap();
    let (_, page) = report(root, &history, &[]);
    assert_eq!(first, std::fs::read(&page).unwrap());

    // to stdout
    let out = common::bin(root)
        .args(["report", "-o", "-", "--history"])
        .arg(&history)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("<!DOCTYPE html>"));

    for (args, want) in [
        (
            vec!["--since", "yesterday"],
            "--since `yesterday`: not a date",
        ),
        (vec!["--history", "/nonexistent/h.sqlite"], "no such file"),
    ] {
        let mut c = common::bin(root);
        c.arg("report");
        if args[0] != "--history" {
            c.arg("--history").arg(&history);
        }
        let out = c.args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(want), "{err}");
    }
}

/// Past 100 builds a table is paged: the page comes with the first 100
/// shown, the script adds the buttons and says where one is.
#[test]
fn a_long_history_is_paged_in_chromium() {
    let Some(chrome) = browser_for("a_long_history_is_paged_in_chromium") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let tree = root.join("tree");
    let st = Command::new("python3")
        .arg(common::repo().join("scripts/gen-backfill-tree.py"))
        .arg(common::repo())
        .arg(&tree)
        .arg("300")
        .env("GEN_SPREAD", "1")
        .status()
        .expect("python3 runs the generator");
    assert!(st.success());
    let history = root.join("history.sqlite");
    let out = common::bin(root)
        .arg("-r")
        .arg(&tree)
        .args(["--origin", ORIGIN, "--allow-unknown-commit", "-q"])
        .args(["--spool", "spool", "--history"])
        .arg(&history)
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
    let (out, page) = report(root, &history, &["--tree", "stable"]);
    assert!(out.status.success(), "{}", text(&out));
    let h = History::open_read_only(&history).unwrap().unwrap();
    let n = h
        .all(&Filter {
            tree: Some("stable".into()),
            ..Filter::default()
        })
        .unwrap()
        .len();
    assert!(n > 200, "{n} builds");

    let (dom, _) = dom_of(&chrome, &root.join("profile"), &page);
    let bodies = dom.matches("<tbody class=\"build\"").count();
    let hidden = dom
        .match_indices("<tbody class=\"build\"")
        .filter(|(at, _)| {
            let tag = &dom[*at..*at + dom[*at..].find('>').unwrap()];
            tag.contains(" hidden=")
        })
        .count();
    assert_eq!(bodies, n);
    assert_eq!(bodies - hidden, 100, "one page shown");
    let pages = n.div_ceil(100);
    assert!(
        dom.contains(&format!("builds 1–100 of {n} (page 1 of {pages})")),
        "the pager says where it is"
    );
    assert!(dom.contains("← newer</button>") && dom.contains("older →</button>"));
    assert!(dom.contains("<polyline"));

    // a link to the oldest build (the last page) opens its page and its row
    let oldest = &h
        .all(&Filter {
            tree: Some("stable".into()),
            ..Filter::default()
        })
        .unwrap()
        .into_iter()
        .min_by(|a, b| a.sort_key.cmp(&b.sort_key))
        .unwrap()
        .build_id;
    let linked = root.join("linked.html");
    std::fs::copy(&page, &linked).unwrap();
    let url = format!("{}#{oldest}", file_url(&linked));
    let dump = headless(&chrome, &root.join("profile2"))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dump.stdout);
    assert!(
        dom.contains(&format!("(page {pages} of {pages})")),
        "the last page is shown"
    );
    let body = build_body(&dom, oldest);
    let tag = &body[..body.find('>').unwrap()];
    assert!(!tag.contains(" hidden="), "{tag}");
    assert!(body.contains("aria-expanded=\"true\""), "its row is open");
    assert!(
        body.contains("<tr class=\"diags\">"),
        "its diagnostics are shown"
    );
}
