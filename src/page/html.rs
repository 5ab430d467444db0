//! The page itself: one HTML document with everything inline.
//!
//! Every build is in the document (one `<tbody class="build">` each, its
//! diagnostics in a second, hidden row). The first [`PAGE`] builds of a
//! table are shown and the rest are `hidden` from the start, so a page of
//! 10,000 builds lays out as fast as one of 100; the script pages through
//! them and opens a build's diagnostics on a click. Without the script a
//! `<noscript>` style shows everything. Text from the history is
//! escaped; a log URL becomes a link only when it is `http(s)://`.

use std::fmt::Write as _;

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use super::{chart, BuildRow, Model, Section};
use crate::history::DiagRow;

/// Builds per page of a builds table.
pub const PAGE: usize = 100;
/// Rows of the recurring diagnostics table: this many shown, up to
/// [`RECURRING_ROWS`] behind a "more".
pub const RECURRING_SHOWN: usize = 15;
pub const RECURRING_ROWS: usize = 500;

const STYLE: &str = r#"
:root { --fg: #1d1d1f; --muted: #666; --line: #ddd; --pass: #2e7d32; --fail: #c62828; --error: #d98c00; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); margin: 0 auto; padding: 16px 24px 48px; max-width: 1400px; }
h1 { font-size: 22px; margin: 8px 0 4px; }
h2 { font-size: 18px; margin: 32px 0 4px; border-top: 2px solid var(--line); padding-top: 16px; }
h3 { font-size: 15px; margin: 20px 0 6px; }
p.meta, p.note { color: var(--muted); margin: 2px 0 8px; }
nav ul { margin: 4px 0; padding-left: 20px; }
figure.chart { margin: 8px 0; }
figure.chart svg { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 12px; }
details.recurring summary { cursor: pointer; color: #1a55b0; margin: 4px 0; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f6f6f6; position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font: 12px ui-monospace, "SFMono-Regular", Menlo, monospace; }
td.msg { min-width: 320px; overflow-wrap: anywhere; }
div.idcell { display: flex; gap: 2px; align-items: flex-start; }
code.id { font-size: 11px; word-break: break-all; max-width: 240px; }
td.dir code { word-break: break-all; }
.status { font-weight: 600; }
.status.PASS { color: var(--pass); }
.status.FAIL { color: var(--fail); }
.status.ERROR { color: var(--error); }
.newcount { color: var(--fail); font-weight: 600; }
tr.row { cursor: pointer; }
tr.row:hover { background: #fafafa; }
button.toggle { border: 0; background: none; cursor: pointer; font-size: 12px; width: 18px; padding: 0; }
tr.diags td { background: #fbfbfb; }
ul.diags { margin: 4px 0; padding-left: 18px; }
li.diag { overflow-wrap: anywhere; }
li.diag.new { color: var(--fail); }
.badge { display: inline-block; font-size: 11px; font-weight: 700; color: #fff; background: var(--fail); border-radius: 3px; padding: 0 4px; margin-right: 4px; }
.sev-error { color: var(--fail); font-weight: 600; }
.sev-warning { color: var(--error); font-weight: 600; }
div.pager { margin: 6px 0; }
div.pager button { margin-right: 6px; }
#page-errors { color: var(--fail); }
"#;

/// Catches what goes wrong in the page (the browser test reads it).
const EARLY_SCRIPT: &str = r#"
window.pageErrors = [];
window.addEventListener("error", function (e) {
  window.pageErrors.push(String(e.message));
  var p = document.getElementById("page-errors");
  if (p) { p.hidden = false; p.textContent = window.pageErrors.join("\n"); }
});
"#;

const SCRIPT: &str = r#"
(function () {
  "use strict";
  var PAGE = __PAGE__;
  function paginate(table) {
    var bodies = Array.prototype.slice.call(table.tBodies);
    var pages = Math.ceil(bodies.length / PAGE);
    var pager = document.querySelector('div.pager[data-for="' + table.id + '"]');
    if (!pager || pages <= 1) { return; }
    var current = 0;
    var info = document.createElement("span");
    var newer = document.createElement("button");
    var older = document.createElement("button");
    newer.type = older.type = "button";
    newer.textContent = "\u2190 newer";
    older.textContent = "older \u2192";
    function show(p) {
      current = Math.max(0, Math.min(pages - 1, p));
      bodies.forEach(function (b, i) {
        b.hidden = Math.floor(i / PAGE) !== current;
      });
      info.textContent = "builds " + (current * PAGE + 1) + "\u2013" +
        Math.min(bodies.length, (current + 1) * PAGE) + " of " + bodies.length +
        " (page " + (current + 1) + " of " + pages + ")";
      newer.disabled = current === 0;
      older.disabled = current === pages - 1;
    }
    newer.addEventListener("click", function () { show(current - 1); });
    older.addEventListener("click", function () { show(current + 1); });
    pager.appendChild(newer);
    pager.appendChild(older);
    pager.appendChild(info);
    // the page came with the first page shown: only link its buttons
    current = 0;
    info.textContent = "builds 1\u2013" + Math.min(bodies.length, PAGE) + " of " +
      bodies.length + " (page 1 of " + pages + ")";
    newer.disabled = true;
    // a link to a build on another page opens its page
    table.showBuild = function (body) { show(Math.floor(bodies.indexOf(body) / PAGE)); };
  }
  function toggle(body, open) {
    var diags = body.querySelector("tr.diags");
    var button = body.querySelector("button.toggle");
    if (!diags || !button) { return; }
    diags.hidden = !open;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    button.textContent = open ? "\u25be" : "\u25b8";
  }
  document.querySelectorAll("table.builds").forEach(function (table) {
    table.addEventListener("click", function (e) {
      if (e.target.closest("a")) { return; }
      var row = e.target.closest("tr.row");
      if (!row) { return; }
      var body = row.parentNode;
      toggle(body, body.querySelector("tr.diags").hidden);
    });
    paginate(table);
  });
  function follow() {
    var id = decodeURIComponent(location.hash.slice(1));
    var body = id && document.getElementById(id);
    if (!body || !body.matches("tbody.build")) { return; }
    var table = body.closest("table");
    if (table.showBuild) { table.showBuild(body); }
    toggle(body, true);
    body.scrollIntoView();
  }
  window.addEventListener("hashchange", follow);
  follow();
  document.body.setAttribute("data-ready", "1");
})();
"#;

/// Where the page came from, for its header.
pub struct Origin<'a> {
    pub history: &'a str,
    /// RFC 3339; injected so that the page of one history is one page.
    pub written_at: &'a str,
    pub filters: &'a str,
}

pub fn page(model: &Model, origin: &Origin) -> String {
    let mut o = String::with_capacity(64 * 1024 + model.builds * 900);
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    o.push_str("<title>kcidb-harvest report</title>\n");
    let _ = write!(
        o,
        "<script>{EARLY_SCRIPT}</script>\n<style>{STYLE}</style>\n"
    );
    // without the script, every build and its diagnostics are shown
    o.push_str("<noscript><style>tbody.build[hidden] { display: table-row-group; } tr.diags[hidden] { display: table-row; } button.toggle { display: none; }</style></noscript>\n");
    o.push_str("</head>\n<body>\n<pre id=\"page-errors\" hidden></pre>\n");
    o.push_str("<h1>Builds in the history</h1>\n");
    let _ = writeln!(
        o,
        "<p class=\"meta\">{} build{} in {} tree and branch section{}, from <code>{}</code>{}; written {} by kcidb-harvest {}.</p>",
        model.builds,
        plural(model.builds),
        model.sections.len(),
        plural(model.sections.len()),
        text(origin.history),
        if origin.filters.is_empty() {
            String::new()
        } else {
            format!(" ({})", text(origin.filters))
        },
        text(origin.written_at),
        env!("CARGO_PKG_VERSION"),
    );
    if model.sections.is_empty() {
        o.push_str("<p class=\"note\">No build in the history matches: harvest or backfill result directories first.</p>\n");
    }
    if model.sections.len() > 1 {
        o.push_str("<nav><ul>\n");
        for (i, s) in model.sections.iter().enumerate() {
            let _ = writeln!(
                o,
                "<li><a href=\"#s{i}\">{}</a> ({} builds)</li>",
                text(&title(s)),
                s.builds.len()
            );
        }
        o.push_str("</ul></nav>\n");
    }
    for (i, s) in model.sections.iter().enumerate() {
        section(&mut o, i, s);
    }
    let _ = write!(
        o,
        "<script>{}</script>\n</body>\n</html>\n",
        SCRIPT.replace("__PAGE__", &PAGE.to_string())
    );
    o
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn title(s: &Section) -> String {
    let tree = if s.tree.is_empty() {
        "(unknown tree)"
    } else {
        &s.tree
    };
    let branch = if s.branch.is_empty() {
        "(unknown branch)"
    } else {
        &s.branch
    };
    format!("{tree} · {branch}")
}

fn section(o: &mut String, i: usize, s: &Section) {
    let _ = writeln!(
        o,
        "<section class=\"tree\" id=\"s{i}\" data-tree=\"{}\" data-branch=\"{}\">",
        attr(&s.tree),
        attr(&s.branch)
    );
    let _ = writeln!(o, "<h2>{}</h2>", text(&title(s)));
    let mut by_status = std::collections::BTreeMap::<&str, usize>::new();
    for b in &s.builds {
        *by_status
            .entry(b.rec.status.as_deref().unwrap_or("no status"))
            .or_default() += 1;
    }
    let statuses: Vec<String> = by_status.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let _ = writeln!(
        o,
        "<p class=\"meta\">{} build{}: {}.</p>",
        s.builds.len(),
        plural(s.builds.len()),
        text(&statuses.join(", "))
    );

    // ---- charts ----
    match chart::counts(&s.builds) {
        Some(svg) => {
            let _ = writeln!(
                o,
                "<figure class=\"chart counts\">{svg}<figcaption>Warnings and errors per build: distinct (ours) and raw (the script's grep counts){}.</figcaption></figure>",
                if s.builds.iter().filter(|b| b.time.is_some()).count() > chart::MAX_POINTS {
                    format!(", the maximum per time bucket ({} buckets)", chart::MAX_POINTS)
                } else {
                    String::new()
                }
            );
        }
        None => o.push_str(
            "<p class=\"note\">No build here has a start time: nothing to draw over time.</p>\n",
        ),
    }
    if let Some(svg) = chart::statuses(&s.builds) {
        let _ = writeln!(
            o,
            "<figure class=\"chart statuses\">{svg}<figcaption>Status timeline: a mark where builds with that status started.</figcaption></figure>"
        );
    }
    let untimed = s.builds.iter().filter(|b| b.time.is_none()).count();
    if untimed > 0 && untimed < s.builds.len() {
        let _ = writeln!(
            o,
            "<p class=\"note\">{untimed} build{} without a start time {} not drawn (they are in the table).</p>",
            plural(untimed),
            if untimed == 1 { "is" } else { "are" }
        );
    }

    // ---- recurring diagnostics ----
    o.push_str("<h3>Recurring diagnostics</h3>\n");
    if s.recurring.is_empty() {
        o.push_str("<p class=\"note\">No diagnostic in these builds.</p>\n");
    } else {
        let shown = s.recurring.len().min(RECURRING_ROWS);
        let (top, rest) = s.recurring[..shown].split_at(shown.min(RECURRING_SHOWN));
        recurring_table(o, s, top);
        if !rest.is_empty() {
            let _ = write!(
                o,
                "<details class=\"recurring\"><summary>{} more</summary>",
                rest.len()
            );
            recurring_table(o, s, rest);
            o.push_str("</details>\n");
        }
        if s.recurring.len() > RECURRING_ROWS {
            let _ = writeln!(
                o,
                "<p class=\"note\">and {} more, each in as many builds or fewer.</p>",
                s.recurring.len() - RECURRING_ROWS
            );
        }
    }

    // ---- builds, newest first ----
    o.push_str("<h3>Builds</h3>\n");
    let _ = writeln!(o, "<div class=\"pager\" data-for=\"t{i}\"></div>");
    let _ = writeln!(
        o,
        "<table class=\"builds\" id=\"t{i}\"><thead><tr><th>build</th><th>directory</th><th>version</th><th>config</th><th>arch</th><th>compiler</th><th>status</th><th class=\"num\">W:</th><th class=\"num\">E:</th><th class=\"num\">warnings</th><th class=\"num\">errors</th><th>new</th><th>log</th></tr></thead>"
    );
    for (n, b) in s.builds.iter().rev().enumerate() {
        build(o, b, n >= PAGE);
    }
    o.push_str("</table>\n</section>\n");
}

/// A link to a build's row: its release (or its id, shortened), the whole
/// id in the tooltip.
fn recurring_table(o: &mut String, s: &Section, rows: &[super::Recurring]) {
    o.push_str("<table class=\"recurring\"><thead><tr><th>severity</th><th>kind</th><th>file</th><th>message</th><th class=\"num\">builds</th><th>first</th><th>last</th></tr></thead><tbody>\n");
    for r in rows {
        let _ = writeln!(
            o,
            "<tr><td class=\"sev-{sev}\">{sev}</td><td>{}</td><td><code>{}</code></td><td class=\"msg\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            text(&r.kind),
            text(r.file.as_deref().unwrap_or("")),
            text(&r.message),
            r.builds,
            build_link(&s.builds[r.first]),
            build_link(&s.builds[r.last]),
            sev = attr(&r.severity),
        );
    }
    o.push_str("</tbody></table>\n");
}

fn build_link(b: &BuildRow) -> String {
    let id = &b.rec.build_id;
    let shown = match b.rec.kernel_version.as_deref() {
        Some(v) => v.to_string(),
        None => short_id(id),
    };
    format!(
        "<a href=\"#{}\" title=\"{}\">{}</a>",
        attr(id),
        attr(id),
        text(&shown)
    )
}

/// `gregkh:b-0123456789ab…`: the origin, the kind and 12 hex digits.
fn short_id(id: &str) -> String {
    let cut = id
        .find(':')
        .and_then(|c| id[c..].find('-').map(|d| c + d + 13))
        .unwrap_or(usize::MAX);
    match id.char_indices().nth(cut) {
        Some((at, _)) => format!("{}…", &id[..at]),
        None => id.to_string(),
    }
}

fn num(v: Option<u64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "–".into())
}

/// One build: its row, and its diagnostics folded (the page starts with
/// the first [`PAGE`] builds of each table shown, the others `hidden`).
fn build(o: &mut String, b: &BuildRow, hidden: bool) {
    let r = &b.rec;
    let status = r.status.as_deref().unwrap_or("");
    let new = if b.previous.is_some() || !b.new.is_empty() {
        if b.new.is_empty() {
            "0".to_string()
        } else {
            format!("<span class=\"newcount\">{} new</span>", b.new.len())
        }
    } else {
        "<span title=\"no previous build\">–</span>".to_string()
    };
    let log = match r.log_url.as_deref() {
        Some(u) if u.starts_with("https://") || u.starts_with("http://") => {
            format!("<a href=\"{}\">log</a>", attr(u))
        }
        _ => String::new(),
    };
    let _ = writeln!(
        o,
        "<tbody class=\"build\" id=\"{id}\" data-build-id=\"{id}\" data-new=\"{}\"{}>",
        b.new.len(),
        if hidden { " hidden" } else { "" },
        id = attr(&r.build_id),
    );
    let _ = writeln!(
        o,
        "<tr class=\"row\"><td><div class=\"idcell\"><button class=\"toggle\" type=\"button\" aria-expanded=\"false\">▸</button><code class=\"id\">{}</code></div></td><td class=\"dir\"><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"status {}\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{new}</td><td>{log}</td></tr>",
        text(&r.build_id),
        text(&r.dir),
        text(r.kernel_version.as_deref().unwrap_or("")),
        text(&r.group.config),
        text(&r.group.arch),
        text(&r.group.compiler),
        attr(status),
        text(status),
        num(r.counts[0]),
        num(r.counts[1]),
        num(r.counts[2]),
        num(r.counts[3]),
    );
    o.push_str("<tr class=\"diags\" hidden><td colspan=\"13\">");
    if r.diags.is_empty() {
        o.push_str("<span class=\"note\">no warning or error</span>");
    } else {
        o.push_str("<ul class=\"diags\">");
        for (i, d) in r.diags.iter().enumerate() {
            diag(o, d, b.new.contains(&i));
        }
        o.push_str("</ul>");
    }
    o.push_str("</td></tr>\n</tbody>\n");
}

fn diag(o: &mut String, d: &DiagRow, new: bool) {
    let mut at = d.file.clone().unwrap_or_default();
    if let Some(l) = d.line {
        let _ = write!(at, ":{l}");
        if let Some(c) = d.column {
            let _ = write!(at, ":{c}");
        }
    }
    let _ = write!(
        o,
        "<li class=\"diag{}\">{}<code>{}</code> <span class=\"sev-{sev}\">{sev}</span>: {} <span class=\"note\">({}{}, log line {})</span></li>",
        if new { " new" } else { "" },
        if new { "<span class=\"badge\">new</span>" } else { "" },
        text(&at),
        text(&d.message),
        text(&d.kind),
        if d.occurrences > 1 {
            format!(", ×{}", d.occurrences)
        } else {
            String::new()
        },
        d.log_line,
        sev = attr(&d.severity),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Group, Record};

    #[test]
    fn text_from_the_history_is_escaped_and_only_http_logs_are_links() {
        let evil = "<script>alert(1)</script>";
        let rec = |id: &str, log: &str| Record {
            build_id: format!("o:b-{id}\"><img src=x>"),
            checkout_id: "o:ck".into(),
            origin: "o".into(),
            dir: evil.into(),
            group: Group {
                tree: evil.into(),
                branch: "b".into(),
                arch: evil.into(),
                config: "c".into(),
                compiler: "gcc".into(),
            },
            kernel_version: Some(evil.into()),
            start_time: Some("2026-01-01T00:00:00Z".into()),
            status: Some(evil.into()),
            counts: [Some(1), None, Some(1), None],
            log_url: Some(log.into()),
            sort_key: format!("2026-01-01T00:00:00.000000Z|{id}"),
            diags: vec![crate::history::DiagRow {
                signature: "s".into(),
                signature_text: "s".into(),
                severity: "warning".into(),
                kind: "compiler".into(),
                file: Some(evil.into()),
                line: Some(1),
                column: Some(2),
                message: evil.into(),
                occurrences: 2,
                log_line: 9,
            }],
        };
        let model = super::super::model(vec![
            rec("1", "javascript:alert(1)"),
            rec("2", "https://storage.example/log.gz?a=1&b=\"2\""),
        ]);
        let page = page(
            &model,
            &Origin {
                history: evil,
                written_at: "now",
                filters: evil,
            },
        );
        assert!(!page.contains("<script>alert"), "unescaped text");
        assert!(!page.contains("<img src=x>"), "unescaped attribute");
        assert!(!page.contains("javascript:alert"), "a javascript: link");
        assert!(
            page.contains("href=\"https://storage.example/log.gz?a=1&amp;b=&quot;2&quot;\""),
            "the https log link"
        );
        // the page's own two scripts, no more
        assert_eq!(page.matches("<script>").count(), 2);
    }
}
