//! Delivery end to end through the library API, against test servers that
//! speak the real protocols over loopback (no mock of our own client).

use crate::common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};
use std::time::Duration;

use kcidb_harvest::clock::FakeClock;

use common::http::Fault;
use common::rest::RestServer;
use common::storage::StorageServer;
use kcidb_harvest::deliver::{DeliverOptions, Deliverer, Outcome, OutcomeKind};
use kcidb_harvest::pipeline::DirYield as Harvested;
use kcidb_harvest::settings::Settings;
use serde_json::Value;

const ORIGIN: &str = "gregkh";

/// Everything our code logs, at TRACE, from every test in this binary.
static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static INIT: Once = Once::new();

struct LogWriter;
impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    INIT.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(|| LogWriter)
            .try_init();
    });
}

struct World {
    tmp: tempfile::TempDir,
    rest: RestServer,
    storage: StorageServer,
    rest_token: String,
    storage_token: String,
    /// The deliverers' clock: retries and polls wait on it (instantly)
    clock: FakeClock,
}

fn world() -> World {
    capture_logs();
    World {
        clock: FakeClock::new(),
        tmp: tempfile::tempdir().expect("tempdir"),
        rest: RestServer::start(),
        storage: StorageServer::start(),
        rest_token: RestServer::token(ORIGIN),
        storage_token: StorageServer::token("builder@example.org"),
    }
}

impl World {
    fn root(&self) -> &Path {
        self.tmp.path()
    }
    fn spool(&self) -> PathBuf {
        self.root().join("spool")
    }
    fn dir(&self, name: &str) -> Harvested {
        common::harvested(
            &self.root().join("results"),
            name,
            ORIGIN,
            "ck-6.1.120",
            200_000,
        )
    }
    fn args(&self, retry_for: &str) -> kcidb_harvest::cli::DeliveryArgs {
        common::args(
            Some((&self.rest.url(), &self.rest_token)),
            Some((&self.storage.url(), &self.storage_token)),
            &self.spool(),
            retry_for,
        )
    }
    fn settings(&self) -> Settings {
        common::settings(&self.args("5s"), self.root())
    }
    fn deliverer(&self, s: &Settings) -> Deliverer {
        Deliverer::new(s, opts())
            .expect("deliverer")
            .with_clock(std::sync::Arc::new(self.clock.clone()))
    }
    fn journal(&self) -> Vec<Value> {
        std::fs::read_to_string(self.spool().join("journal.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("journal line is JSON"))
            .collect()
    }
    fn spooled(&self) -> Vec<PathBuf> {
        kcidb_harvest::spool::Spool::new(self.spool())
            .list()
            .expect("list")
    }
}

fn opts() -> DeliverOptions {
    DeliverOptions {
        force: false,
        allow_unknown_commit: false,
        origin: ORIGIN.into(),
    }
}

/// Push every directory and finish: all outcomes.
fn run(d: Deliverer, hs: Vec<Harvested>) -> Vec<Outcome> {
    let mut d = d;
    let mut out = Vec::new();
    let base = d.url_base();
    for h in hs {
        let (h, v) = kcidb_harvest::pipeline::validate(h, ORIGIN, base.as_deref())
            .unwrap_or_else(|(_, v)| panic!("invalid report: {v:?}"));
        out.extend(d.push(h, v));
    }
    out.extend(d.finish());
    out
}

fn one(mut out: Vec<Outcome>) -> OutcomeKind {
    assert_eq!(out.len(), 1, "{out:#?}");
    out.remove(0).kind
}

fn local(h: &Harvested) -> String {
    h.build_local_id().to_string()
}

/// The report with the URLs delivery must add, written out by hand.
fn expected_with_urls(h: &Harvested, base: &str) -> Value {
    let dir = format!("{base}/{ORIGIN}/{}", local(h));
    let mut v = serde_json::to_value(&h.report).expect("json");
    let b = &mut v["builds"][0];
    b["log_url"] = format!("{dir}/build.log.gz").into();
    b["config_url"] = format!("{dir}/config.gz").into();
    b["output_files"] = serde_json::json!([
        {"name": "build_log", "url": format!("{dir}/build.log.gz")},
        {"name": "output_log", "url": format!("{dir}/output_log.gz")},
        {"name": "config", "url": format!("{dir}/config.gz")},
    ]);
    v["checkouts"][0]["log_url"] = format!("{dir}/output_log.gz").into();
    v
}

fn delivered_id(k: &OutcomeKind) -> String {
    match k {
        OutcomeKind::Delivered { submission_id } => submission_id.clone(),
        other => panic!("expected Delivered, got {other:?}"),
    }
}

fn spooled(k: &OutcomeKind) -> (PathBuf, String, bool) {
    match k {
        OutcomeKind::Spooled {
            file,
            reason,
            failed,
        } => (file.clone(), reason.clone(), *failed),
        other => panic!("expected Spooled, got {other:?}"),
    }
}

#[test]
fn delivers_logs_and_report_then_skips_the_rerun() {
    let w = world();
    let h = w.dir("stable_test_6.1_daCG4");
    let s = w.settings();
    let id = delivered_id(&one(run(w.deliverer(&s), vec![h.clone()])));

    // The submission is the report plus the URLs, sent once, with our token.
    let subs = w.rest.submissions();
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0].id, id);
    assert_eq!(id.len(), 32);
    assert_eq!(subs[0].json(), expected_with_urls(&h, &w.storage.url()));
    assert_eq!(subs[0].origin_claim, ORIGIN);
    let req = &w.rest.submit_requests()[0];
    assert_eq!(
        req.authorization.as_deref(),
        Some(format!("Bearer {}", w.rest_token).as_str())
    );
    assert_eq!(req.content_type.as_deref(), Some("application/json"));

    // Each artifact: uploaded as multipart (`path` first), gzip, read back.
    let files = w.storage.files();
    let key = |n: &str| format!("{ORIGIN}/{}/{n}", local(&h));
    assert_eq!(files.len(), 3, "{:?}", files.keys());
    assert_eq!(
        common::gunzip(&files[&key("build.log.gz")]),
        std::fs::read(h.dir.join("linux/log")).expect("log")
    );
    assert_eq!(
        common::gunzip(&files[&key("output_log.gz")]),
        std::fs::read(h.dir.join("output_log")).expect("output_log")
    );
    assert_eq!(
        common::gunzip(&files[&key("config.gz")]),
        std::fs::read(h.dir.join("linux/.config")).expect("config")
    );
    for up in w.storage.uploads() {
        assert_eq!(up.status, 200);
        assert_eq!(up.field_order, vec!["path", "file0"]);
        assert_eq!(
            up.path_field.as_deref(),
            Some(format!("{ORIGIN}/{}", local(&h)).as_str())
        );
        assert_eq!(up.file_content_type.as_deref(), Some("application/gzip"));
        assert_eq!(
            up.authorization.as_deref(),
            Some(format!("Bearer {}", w.storage_token).as_str())
        );
    }
    let gets = w.storage.lock().gets.clone();
    for n in ["build.log.gz", "output_log.gz", "config.gz"] {
        assert!(gets.contains(&(key(n), 200)), "{n} read back: {gets:?}");
    }

    // Journal: one line, no spool file.
    let j = w.journal();
    assert_eq!(j.len(), 1);
    assert_eq!(j[0]["build_id"], h.build_id());
    assert_eq!(j[0]["checkout_id"], h.checkout_id());
    assert_eq!(j[0]["submission_id"], id.as_str());
    assert_eq!(
        j[0]["dir"],
        std::path::absolute(&h.dir)
            .expect("abs")
            .display()
            .to_string()
    );
    assert_eq!(j[0]["sha256"].as_str().map(str::len), Some(64));
    assert!(j[0]["time"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert!(w.spooled().is_empty());

    // A re-run skips it: no upload, no submission.
    let uploads = w.storage.uploads().len();
    match one(run(w.deliverer(&s), vec![h.clone()])) {
        OutcomeKind::AlreadyDelivered { submission_id } => assert_eq!(submission_id, id),
        other => panic!("{other:?}"),
    }
    assert_eq!(w.rest.submissions().len(), 1);
    assert_eq!(w.storage.uploads().len(), uploads);

    // --force sends it again.
    let d = Deliverer::new(
        &s,
        DeliverOptions {
            force: true,
            ..opts()
        },
    )
    .expect("deliverer");
    let id2 = delivered_id(&one(run(d, vec![h])));
    assert_ne!(id, id2);
    assert_eq!(w.rest.submissions().len(), 2);
    assert_eq!(w.journal().len(), 2);
}

#[test]
fn large_runs_are_split_and_checkouts_sent_once_per_submission() {
    let w = world();
    let mut a = w.args("5s");
    a.max_objects = 2;
    let s = common::settings(&a, w.root());
    let hs: Vec<Harvested> = (0..5).map(|i| w.dir(&format!("run{i}"))).collect();
    let out = run(w.deliverer(&s), hs.clone());
    assert_eq!(out.len(), 5);
    for o in &out {
        delivered_id(&o.kind);
    }
    let subs = w.rest.submissions();
    let sizes: Vec<usize> = subs.iter().map(|s| s.build_ids().len()).collect();
    assert_eq!(sizes, vec![2, 2, 1]);
    for sub in &subs {
        let v = sub.json();
        assert_eq!(
            v["checkouts"].as_array().map(Vec::len),
            Some(1),
            "checkout carried once"
        );
    }
    let mut ids = w.rest.delivered_build_ids();
    ids.sort();
    let mut want: Vec<String> = hs.iter().map(|h| h.build_id().to_string()).collect();
    want.sort();
    assert_eq!(ids, want);
    assert_eq!(w.journal().len(), 5);

    // By bytes: no submission of several builds exceeds --max-bytes.
    let w = world();
    let mut a = w.args("5s");
    a.max_bytes = 5000;
    let s = common::settings(&a, w.root());
    let hs: Vec<Harvested> = (0..6).map(|i| w.dir(&format!("run{i}"))).collect();
    let out = run(w.deliverer(&s), hs);
    assert_eq!(out.len(), 6);
    let subs = w.rest.submissions();
    assert!(subs.len() > 1, "split by size");
    for sub in subs {
        assert!(
            sub.body.len() <= 5000 || sub.build_ids().len() == 1,
            "{}",
            sub.body.len()
        );
    }
    assert_eq!(w.rest.delivered_build_ids().len(), 6);
}

/// A fault on the first submission attempt(s); the report must be delivered
/// exactly once.
fn delivered_once_despite(faults: Vec<Fault>) -> (World, Harvested, Vec<Duration>) {
    let w = world();
    for f in faults {
        w.rest.push_fault(f);
    }
    let h = w.dir("faulty");
    let id = delivered_id(&one(run(w.deliverer(&w.settings()), vec![h.clone()])));
    let subs = w.rest.submissions();
    assert_eq!(subs.len(), 1, "delivered exactly once");
    assert_eq!(subs[0].id, id);
    assert_eq!(subs[0].json(), expected_with_urls(&h, &w.storage.url()));
    assert_eq!(w.journal().len(), 1);
    assert!(w.spooled().is_empty());
    let sleeps = w.clock.sleeps();
    (w, h, sleeps)
}

#[test]
fn server_errors_are_retried_with_backoff() {
    let (w, _, sleeps) = delivered_once_despite(vec![
        Fault::Status(503),
        Fault::Status(502),
        Fault::Status(500),
    ]);
    let statuses: Vec<u16> = w.rest.submit_requests().iter().map(|s| s.status).collect();
    assert_eq!(statuses, vec![503, 502, 500, 200]);
    // 50 ms, 100 ms, 200 ms nominal, each jittered into its upper half.
    assert_eq!(sleeps.len(), 3, "{sleeps:?}");
    for (d, nominal) in sleeps.iter().zip([50u128, 100, 200]) {
        let ms = d.as_millis();
        assert!(ms >= nominal / 2 && ms <= nominal, "{sleeps:?}");
    }
}

#[test]
fn a_connection_reset_mid_body_is_retried() {
    let (w, _, _) = delivered_once_despite(vec![Fault::ResetMidBody, Fault::ResetMidBody]);
    assert_eq!(w.rest.submit_requests().len(), 3);
}

#[test]
fn a_response_slower_than_the_timeout_is_retried() {
    let (w, _, sleeps) =
        delivered_once_despite(vec![Fault::StallBeforeBody(Duration::from_secs(3))]);
    // the 1 s request timeout ended the first attempt; one backoff, then
    // the second attempt went through
    assert_eq!(w.rest.submit_requests().len(), 2);
    assert_eq!(sleeps.len(), 1, "{sleeps:?}");
}

#[test]
fn retry_after_is_honoured() {
    let (w, _, sleeps) = delivered_once_despite(vec![Fault::TooManyRequests("2".into())]);
    let seen = w.rest.submit_requests();
    assert_eq!(
        seen.iter().map(|s| s.status).collect::<Vec<_>>(),
        vec![429, 200]
    );
    assert_eq!(
        sleeps,
        [Duration::from_secs(2)],
        "the 2 s asked, not the backoff"
    );
}

#[test]
fn an_ambiguous_timeout_resends_the_identical_report() {
    // The server stored the body but answered after our timeout: we cannot
    // know it arrived, so we send it again. Ids are deterministic, so the
    // second copy is the same objects (docs/kcidb.md#resubmission); the journal
    // records one delivery.
    let w = world();
    w.rest
        .push_fault(Fault::StallAfterStore(Duration::from_secs(3)));
    let h = w.dir("ambiguous");
    let id = delivered_id(&one(run(w.deliverer(&w.settings()), vec![h.clone()])));
    let subs = w.rest.submissions();
    assert_eq!(subs.len(), 2);
    assert_eq!(subs[0].body, subs[1].body);
    assert_eq!(subs[1].id, id);
    let j = w.journal();
    assert_eq!(j.len(), 1);
    assert_eq!(j[0]["submission_id"], id.as_str());
}

#[test]
fn a_server_down_for_good_means_spooled_not_lost() {
    let w = world();
    w.rest.set_always(Some(Fault::Status(503)));
    let h = w.dir("down");
    let mut a = w.args("600ms");
    a.max_objects = 1;
    let s = common::settings(&a, w.root());
    let h2 = w.dir("down2");
    let out = run(w.deliverer(&s), vec![h.clone(), h2.clone()]);
    assert_eq!(out.len(), 2);
    let (file, reason, failed) = spooled(&out[0].kind);
    assert!(failed);
    assert!(
        reason.contains("unavailable") && reason.contains("HTTP 503"),
        "{reason}"
    );
    let hint = out[0].kind.hint().unwrap_or_default();
    assert!(hint.contains("kcidb-harvest send"), "{hint}");
    let tried = w.rest.submit_requests().len();
    assert!(tried >= 3, "retried: {tried}");
    // The second submission is not retried for another budget: spooled at once.
    let (file2, reason2, _) = spooled(&out[1].kind);
    assert!(reason2.contains("earlier in this run"), "{reason2}");
    assert_eq!(w.rest.submit_requests().len(), tried);
    assert!(w.rest.submissions().is_empty());
    assert!(w.journal().is_empty());
    assert_eq!(w.spooled(), vec![file.clone(), file2]);
    let spooled_json: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("spool file")).expect("json");
    assert_eq!(spooled_json, expected_with_urls(&h, &w.storage.url()));

    // The server is back: `send` drains the spool.
    w.rest.set_always(None);
    let send = kcidb_harvest::cli::SendArgs {
        spool: None,
        delivery: w.args("5s"),
        history: kcidb_harvest::cli::HistoryArgs {
            history: None,
            no_history: true,
        },
        format: kcidb_harvest::cli::Format::Human,
    };
    assert_eq!(
        kcidb_harvest::cmd::send::run(&send).map(|v| v.code()).ok(),
        Some(0)
    );
    assert!(w.spooled().is_empty());
    let subs = w.rest.submissions();
    assert_eq!(subs.len(), 2);
    assert_eq!(subs[0].json(), expected_with_urls(&h, &w.storage.url()));
    assert_eq!(subs[1].json(), expected_with_urls(&h2, &w.storage.url()));
    let j = w.journal();
    assert_eq!(j.len(), 2);
    assert!(j.iter().all(|e| e["spool_file"].is_string()));
}

#[test]
fn an_expired_token_is_not_retried_and_named() {
    let w = world();
    let h = w.dir("expired");
    let mut a = common::args(
        Some((&w.rest.url(), &RestServer::expired_token(ORIGIN))),
        Some((&w.storage.url(), &w.storage_token)),
        &w.spool(),
        "5s",
    );
    a.max_objects = 1;
    let s = common::settings(&a, w.root());
    let out = run(w.deliverer(&s), vec![h, w.dir("expired2")]);
    let (_, reason, failed) = spooled(&out[0].kind);
    assert!(failed);
    assert!(
        reason.contains("HTTP 401") && reason.contains("ExpiredSignature"),
        "{reason}"
    );
    assert!(reason.contains("token has expired"), "{reason}");
    // One request in all: no retry, and the next submission is not tried.
    assert_eq!(w.rest.submit_requests().len(), 1);
    let (_, reason2, _) = spooled(&out[1].kind);
    assert!(reason2.contains("ExpiredSignature"), "{reason2}");
    assert_eq!(w.spooled().len(), 2);
}

#[test]
fn a_token_without_origin_is_named() {
    let w = world();
    let a = common::args(
        Some((&w.rest.url(), &RestServer::token_without_origin())),
        None,
        &w.spool(),
        "5s",
    );
    let s = common::settings(&a, w.root());
    let (_, reason, _) = spooled(&one(run(w.deliverer(&s), vec![w.dir("noorigin")])));
    assert!(reason.contains("missing field `origin`"), "{reason}");
    assert!(reason.contains("token issued for your origin"), "{reason}");
    assert_eq!(w.rest.submit_requests().len(), 1);
}

#[test]
fn too_large_is_not_retried_and_names_max_bytes() {
    let w = world();
    w.rest.set_limit(1000);
    let (_, reason, failed) = spooled(&one(run(w.deliverer(&w.settings()), vec![w.dir("big")])));
    assert!(failed);
    assert!(
        reason.contains("HTTP 413") && reason.contains("length limit exceeded"),
        "{reason}"
    );
    assert!(reason.contains("--max-bytes"), "{reason}");
    assert_eq!(w.rest.submit_requests().len(), 1);
}

#[test]
fn a_200_that_is_not_kcidb_is_not_taken_for_delivery() {
    let w = world();
    w.rest.push_fault(Fault::Html200);
    let (_, reason, failed) = spooled(&one(run(w.deliverer(&w.settings()), vec![w.dir("portal")])));
    assert!(failed);
    assert!(reason.contains("not like a KCIDB receiver"), "{reason}");
    assert!(w.journal().is_empty());
}

#[test]
fn no_endpoint_spools_by_default_with_uploaded_logs() {
    let w = world();
    let a = common::args(
        None,
        Some((&w.storage.url(), &w.storage_token)),
        &w.spool(),
        "5s",
    );
    let s = common::settings(&a, w.root());
    let h = w.dir("default");
    let kind = one(run(w.deliverer(&s), vec![h.clone()]));
    let hint = kind.hint().unwrap_or_default();
    let (file, reason, failed) = spooled(&kind);
    assert!(!failed);
    assert!(
        reason.contains("no KCIDB REST endpoint configured"),
        "{reason}"
    );
    assert!(
        hint.contains(&format!("kcidb-harvest send {}", w.spool().display())),
        "{hint}"
    );
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(file).expect("read")).expect("json");
    assert_eq!(v, expected_with_urls(&h, &w.storage.url()));
    assert_eq!(w.storage.files().len(), 3);
    assert!(w.rest.seen().is_empty());
}

#[test]
fn unknown_commit_is_refused_unless_allowed() {
    let w = world();
    let mut h = w.dir("nocommit");
    h.commit_known = false;
    let kind = one(run(w.deliverer(&w.settings()), vec![h.clone()]));
    match &kind {
        OutcomeKind::Refused { reason } => assert!(reason.contains("unknown"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // what to do is said once per run, as the hint
    let hint = kind.hint().unwrap_or_default();
    assert!(
        hint.contains("--git-commit-hash") && hint.contains("--allow-unknown-commit"),
        "{hint}"
    );
    assert!(w.storage.uploads().is_empty() && w.rest.seen().is_empty());
    let d = Deliverer::new(
        &w.settings(),
        DeliverOptions {
            allow_unknown_commit: true,
            ..opts()
        },
    )
    .expect("deliverer");
    delivered_id(&one(run(d, vec![h])));
}

#[test]
fn storage_faults_are_retried() {
    let w = world();
    let h = w.dir("storagefaults");
    w.storage.push_fault(Fault::Status(503));
    w.storage.push_fault(Fault::ResetMidBody);
    w.storage
        .hold(&format!("{ORIGIN}/{}/output_log.gz", local(&h)), 2);
    w.storage.lock().corrupt_gets = 1;
    delivered_id(&one(run(w.deliverer(&w.settings()), vec![h.clone()])));
    let statuses: Vec<u16> = w.storage.uploads().iter().map(|u| u.status).collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 503).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 409).count(),
        2,
        "{statuses:?}"
    );
    assert!(statuses.contains(&0), "the reset: {statuses:?}");
    // The corrupted read-back made us upload build.log.gz again.
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        4,
        "{statuses:?}"
    );
    let files = w.storage.files();
    assert_eq!(
        common::gunzip(&files[&format!("{ORIGIN}/{}/build.log.gz", local(&h))]),
        std::fs::read(h.dir.join("linux/log")).expect("log")
    );
    assert_eq!(w.rest.submissions().len(), 1);
}

#[test]
fn a_storage_without_downloads_is_not_verified() {
    let w = world();
    w.storage.lock().no_downloads = true;
    delivered_id(&one(run(w.deliverer(&w.settings()), vec![w.dir("nodl")])));
    assert_eq!(w.storage.uploads().len(), 3);
}

#[test]
fn a_refused_upload_spools_the_report_without_log_urls() {
    let w = world();
    let a = common::args(
        Some((&w.rest.url(), &w.rest_token)),
        Some((&w.storage.url(), "not-a-valid-jwt")),
        &w.spool(),
        "5s",
    );
    let s = common::settings(&a, w.root());
    match one(run(w.deliverer(&s), vec![w.dir("badstorage")])) {
        OutcomeKind::Spooled { reason, failed, .. } => {
            assert!(failed);
            assert!(
                reason.contains("HTTP 401") && reason.contains("storage token"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(w.storage.uploads().len(), 1, "401 is not retried");
    assert!(w.rest.seen().is_empty(), "nothing was submitted");
    assert!(w.journal().is_empty());
    // nothing lost: the report waits in the spool, without any log URL
    let spooled = w.spooled();
    assert_eq!(spooled.len(), 1);
    let text = std::fs::read_to_string(&spooled[0]).unwrap();
    assert!(
        !text.contains("log_url") && !text.contains("output_files"),
        "{text}"
    );
}

#[test]
fn log_url_base_and_no_upload() {
    let w = world();
    let mut a = common::args(Some((&w.rest.url(), &w.rest_token)), None, &w.spool(), "5s");
    a.log_url_base = Some("https://logs.example.org/builds/".into());
    let s = common::settings(&a, w.root());
    let h = w.dir("elsewhere");
    delivered_id(&one(run(w.deliverer(&s), vec![h.clone()])));
    assert_eq!(
        w.rest.submissions()[0].json(),
        expected_with_urls(&h, "https://logs.example.org/builds")
    );
    assert!(w.storage.uploads().is_empty());

    let w = world();
    let mut a = w.args("5s");
    a.no_upload = true;
    let s = common::settings(&a, w.root());
    let h = w.dir("nourls");
    delivered_id(&one(run(w.deliverer(&s), vec![h.clone()])));
    assert_eq!(
        w.rest.submissions()[0].json(),
        serde_json::to_value(&h.report).expect("json")
    );
    assert!(w.storage.uploads().is_empty());
}

#[test]
fn a_gzip_source_is_uploaded_as_is() {
    let w = world();
    let mut h = w.dir("gzipped");
    let gz = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(9));
        e.write_all(&common::log_text("old", 50_000)).expect("gz");
        e.finish().expect("gz")
    };
    let p = h.dir.join("linux/log.gz");
    std::fs::write(&p, &gz).expect("write");
    h.artifacts[0].file = kcidb_harvest_parsers::Input::new(&h.dir)
        .file("linux/log.gz")
        .expect("inside");
    delivered_id(&one(run(w.deliverer(&w.settings()), vec![h.clone()])));
    assert_eq!(
        w.storage.files()[&format!("{ORIGIN}/{}/build.log.gz", local(&h))],
        gz
    );
}

#[test]
fn concurrent_runs_never_send_a_build_twice() {
    let w = world();
    let h = w.dir("shared");
    let s = w.settings();
    // Slow the first submission so both runs overlap in the lock.
    w.rest.push_fault(Fault::Status(503));
    let outs: Vec<Vec<Outcome>> = std::thread::scope(|sc| {
        let hs = [h.clone(), h.clone()];
        let handles: Vec<_> = hs
            .into_iter()
            .map(|h| {
                let s = s.clone();
                sc.spawn(move || run(Deliverer::new(&s, opts()).expect("deliverer"), vec![h]))
            })
            .collect();
        handles
            .into_iter()
            .map(|t| t.join().expect("thread"))
            .collect()
    });
    let kinds: Vec<OutcomeKind> = outs.into_iter().flatten().map(|o| o.kind).collect();
    assert_eq!(kinds.len(), 2);
    let delivered = kinds
        .iter()
        .filter(|k| matches!(k, OutcomeKind::Delivered { .. }))
        .count();
    let already = kinds
        .iter()
        .filter(|k| matches!(k, OutcomeKind::AlreadyDelivered { .. }))
        .count();
    assert_eq!((delivered, already), (1, 1), "{kinds:?}");
    assert_eq!(w.rest.delivered_build_ids(), vec![h.build_id().to_string()]);
    assert_eq!(w.journal().len(), 1);
}

#[test]
fn a_damaged_journal_line_is_skipped_not_fatal() {
    let w = world();
    let h = w.dir("journal");
    let s = w.settings();
    delivered_id(&one(run(w.deliverer(&s), vec![h.clone()])));
    let jp = w.spool().join("journal.jsonl");
    let good = std::fs::read_to_string(&jp).expect("journal");
    std::fs::write(&jp, format!("garbage {{\n{good}\u{0}\u{1}binary\n")).expect("write");
    match one(run(w.deliverer(&s), vec![h])) {
        OutcomeKind::AlreadyDelivered { .. } => {}
        other => panic!("{other:?}"),
    }
    let log = String::from_utf8_lossy(&LOG.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
    assert!(
        log.contains(&format!(
            "`{}`:1: damaged journal line skipped",
            jp.display()
        )),
        "journal warning missing"
    );
}

#[test]
fn wait_reports_the_ingest_verdict() {
    let w = world();
    w.rest.set_ingest("processed");
    let mut a = w.args("10s");
    a.wait = true;
    let s = common::settings(&a, w.root());
    let out = run(w.deliverer(&s), vec![w.dir("waited")]);
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].ingest,
        Some(kcidb_harvest::submit::IngestStatus::Processed)
    );
    let polls = w.rest.seen().iter().filter(|s| s.path == "/status").count();
    assert_eq!(polls, 2, "ready, then processed");

    let w = world();
    w.rest.set_ingest("failed");
    let mut a = w.args("10s");
    a.wait = true;
    let s = common::settings(&a, w.root());
    let out = run(w.deliverer(&s), vec![w.dir("rejected")]);
    assert_eq!(
        out[0].ingest,
        Some(kcidb_harvest::submit::IngestStatus::Failed)
    );
}

#[test]
fn wait_on_a_receiver_that_never_processes_says_so_and_stops_at_the_budget() {
    let w = world();
    let mut a = w.args("10s");
    a.wait = true;
    let s = common::settings(&a, w.root());
    let out = run(w.deliverer(&s), vec![w.dir("never")]);
    assert_eq!(
        out[0].ingest,
        Some(kcidb_harvest::submit::IngestStatus::Pending("ready".into()))
    );
    // polls after 0.5, 1, 2, 4 s; the next (8 s) would pass the 10 s budget
    let polls = w.rest.seen().iter().filter(|s| s.path == "/status").count();
    assert_eq!(polls, 5);
    assert_eq!(
        w.clock.sleeps(),
        [500, 1000, 2000, 4000].map(Duration::from_millis)
    );
}

#[test]
fn tokens_never_appear_in_spool_journal_logs_or_debug() {
    let w = world();
    // Delivered, then a failing token (spooled), then a spooled default.
    let s = w.settings();
    let out1 = run(w.deliverer(&s), vec![w.dir("t1")]);
    let expired = RestServer::expired_token(ORIGIN);
    let a = common::args(
        Some((&w.rest.url(), &expired)),
        Some((&w.storage.url(), &w.storage_token)),
        &w.spool(),
        "5s",
    );
    let s2 = common::settings(&a, w.root());
    let out2 = run(w.deliverer(&s2), vec![w.dir("t2")]);
    let debug = format!("{s:?}{s2:?}{out1:?}{out2:?}{}{}", s.show(), s2.show());
    let log = LOG.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert!(!log.is_empty(), "logs were captured");
    common::assert_secret_absent(
        &[&w.rest_token, &w.storage_token, &expired],
        &[("debug output", debug.as_bytes()), ("trace logs", &log)],
        &[w.root()],
    );
}

/// A client for the world's receiver, on the world's fake clock.
fn rest_client(w: &World, s: &Settings) -> kcidb_harvest::submit::RestClient {
    kcidb_harvest::submit::RestClient::new(s.rest.as_ref().expect("rest configured"), s)
        .expect("client")
        .with_clock(std::sync::Arc::new(w.clock.clone()))
}

/// What `--wait` heard per undecided poll: (id, status, polls, next).
type Heard = Vec<(String, String, u32, Duration)>;

fn wait_and_listen(
    rest: &kcidb_harvest::submit::RestClient,
    id: &str,
    limit: Duration,
) -> (kcidb_harvest::submit::IngestStatus, Heard) {
    let mut heard = Vec::new();
    let st = rest.wait(id, limit, &mut |p| {
        heard.push((
            p.submission_id.to_string(),
            p.status.to_string(),
            p.polls,
            p.next,
        ))
    });
    (st, heard)
}

#[test]
fn wait_reports_every_undecided_poll_and_when_the_next_one_is() {
    let w = world();
    let s = w.settings();
    let rest = rest_client(&w, &s);
    let h = w.dir("polled");
    let id = rest
        .submit(&serde_json::to_string(&h.report).expect("report JSON"))
        .expect("submitted");
    let (st, heard) = wait_and_listen(&rest, &id, Duration::from_secs(10));
    assert_eq!(
        st,
        kcidb_harvest::submit::IngestStatus::Pending("ready".into())
    );
    let want: Heard = [500, 1000, 2000, 4000]
        .iter()
        .zip(1u32..)
        .map(|(ms, n)| (id.clone(), "ready".into(), n, Duration::from_millis(*ms)))
        .collect();
    assert_eq!(heard, want, "one report per poll before each sleep");
    // each announced delay is the sleep that followed, and no more
    let announced: Vec<Duration> = heard.iter().map(|h| h.3).collect();
    assert_eq!(w.clock.sleeps(), announced);

    // a verdict on the second poll: one report (the first poll), then done
    let w = world();
    w.rest.set_ingest("processed");
    let s = w.settings();
    let rest = rest_client(&w, &s);
    let id = rest
        .submit(&serde_json::to_string(&w.dir("done").report).expect("report JSON"))
        .expect("submitted");
    let (st, heard) = wait_and_listen(&rest, &id, Duration::from_secs(10));
    assert_eq!(st, kcidb_harvest::submit::IngestStatus::Processed);
    assert_eq!(
        heard,
        vec![(id, "ready".to_string(), 1, Duration::from_millis(500))]
    );
    assert_eq!(w.clock.sleeps(), [Duration::from_millis(500)]);
}

#[test]
fn wait_on_the_default_budget_is_four_and_a_half_minutes_of_reported_polls() {
    // A receiver that never processes, the default 5 min --retry-for: the
    // poller waits 0.5, 1, 2, 4, 8, 16 s, then 30 s eight times (271.5 s in
    // all), and says so before every wait instead of going silent.
    let w = world();
    let s = w.settings();
    let rest = rest_client(&w, &s);
    let id = rest
        .submit(&serde_json::to_string(&w.dir("silent").report).expect("report JSON"))
        .expect("submitted");
    let (st, heard) = wait_and_listen(&rest, &id, Duration::from_secs(300));
    assert_eq!(
        st,
        kcidb_harvest::submit::IngestStatus::Pending("ready".into())
    );
    let mut want_ms = vec![500u64, 1000, 2000, 4000, 8000, 16000];
    want_ms.extend([30_000; 8]);
    let want: Vec<Duration> = want_ms.into_iter().map(Duration::from_millis).collect();
    assert_eq!(w.clock.sleeps(), want);
    assert_eq!(w.clock.elapsed(), Duration::from_millis(271_500));
    assert_eq!(heard.len(), want.len(), "a report before every wait");
    for (i, (hid, status, polls, next)) in heard.iter().enumerate() {
        assert_eq!((hid, status.as_str()), (&id, "ready"));
        assert_eq!(*polls as usize, i + 1);
        assert_eq!(*next, want[i]);
    }
    let polls = w.rest.seen().iter().filter(|s| s.path == "/status").count();
    assert_eq!(polls, want.len() + 1, "the last poll, then the budget ends");
}
