//! Delivery through the binary: harvest a corpus directory and deliver it,
//! `send` the spool, exit codes, configuration, and the token never shown.

use crate::common;
use common::text;

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Waiting for a child process to reach a point: this many polls of
/// [`POLL`] at most (a bound on the test, not an assertion about time).
const MAX_POLLS: u32 = 2000;
const POLL: Duration = Duration::from_millis(10);

use common::http::Fault;
use common::rest::RestServer;
use common::storage::StorageServer;
use kcidb_harvest::journal::{Entry, Journal};
use serde_json::Value;

const ORIGIN: &str = "gregkh";

struct World {
    tmp: tempfile::TempDir,
    /// Token files live outside `tmp`, which is searched for leaks.
    secrets: tempfile::TempDir,
    rest: RestServer,
    storage: StorageServer,
    rest_token: String,
    storage_token: String,
}

fn world() -> World {
    World {
        tmp: tempfile::tempdir().expect("tempdir"),
        secrets: tempfile::tempdir().expect("tempdir"),
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
    fn token_file(&self, token: &str) -> PathBuf {
        let p = self.secrets.path().join("kcidb-token");
        std::fs::write(&p, format!("{token}\n")).expect("token file");
        p
    }
    /// Delivery flags: REST with a token file, storage, spool, fast retries.
    /// `kcidb-harvest DIRS…` delivering to this world's servers.
    fn harvest(&self, dirs: &[PathBuf], token: &str, retry_for: &str) -> std::process::Output {
        common::bin(self.root())
            .args(harvest_args(dirs))
            .args(self.delivery(token, retry_for))
            .output()
            .expect("run")
    }
    fn delivery(&self, token: &str, retry_for: &str) -> Vec<String> {
        self.delivery_timeout(token, retry_for, "1s")
    }
    fn delivery_timeout(&self, token: &str, retry_for: &str, timeout: &str) -> Vec<String> {
        vec![
            "--kcidb-rest-url".into(),
            self.rest.url(),
            "--kcidb-token-file".into(),
            self.token_file(token).display().to_string(),
            "--storage-url".into(),
            self.storage.url(),
            "--storage-token".into(),
            self.storage_token.clone(),
            "--spool".into(),
            self.spool().display().to_string(),
            "--timeout".into(),
            timeout.into(),
            "--retry-delay".into(),
            "50ms".into(),
            "--retry-for".into(),
            retry_for.into(),
        ]
    }
    fn journal(&self) -> Vec<Value> {
        std::fs::read_to_string(self.spool().join("journal.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("journal line"))
            .collect()
    }
    fn spooled(&self) -> Vec<PathBuf> {
        kcidb_harvest::spool::Spool::new(self.spool())
            .list()
            .expect("list")
    }
    fn results(&self) -> PathBuf {
        self.root().join("results")
    }
}

fn harvest_args(dirs: &[PathBuf]) -> Vec<String> {
    let mut a: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    a.extend(
        [
            "--origin",
            ORIGIN,
            "--assume-finished",
            "--git-branch",
            "linux-6.1.y",
        ]
        .map(String::from),
    );
    a
}

/// Remove the fields delivery adds (URLs), to compare with `--dry-run`.
fn without_urls(mut v: Value) -> Value {
    for b in v["builds"].as_array_mut().into_iter().flatten() {
        if let Some(o) = b.as_object_mut() {
            o.remove("log_url");
            o.remove("config_url");
            o.remove("output_files");
        }
    }
    for c in v["checkouts"].as_array_mut().into_iter().flatten() {
        if let Some(o) = c.as_object_mut() {
            o.remove("log_url");
        }
    }
    v
}

fn by_id(v: &Value, key: &str) -> std::collections::BTreeMap<String, Value> {
    v[key]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| (o["id"].as_str().unwrap_or("").to_string(), o.clone()))
        .collect()
}

fn url_key<'a>(url: &'a str, base: &str) -> &'a str {
    url.strip_prefix(base)
        .and_then(|u| u.strip_prefix('/'))
        .unwrap_or_else(|| panic!("{url} is not under {base}"))
}

#[test]
fn a_harvested_corpus_directory_is_delivered_as_dry_run_shows_plus_urls() {
    let w = world();
    let dirs: Vec<PathBuf> = ["pass-tiny", "warn"]
        .iter()
        .map(|c| common::unpack_case(c, &w.results()))
        .collect();

    let dry = common::bin(w.root())
        .args(harvest_args(&dirs))
        .arg("--dry-run")
        .output()
        .expect("run");
    assert!(dry.status.success(), "{}", text(&dry));
    let dry: Value = serde_json::from_slice(&dry.stdout).expect("dry-run JSON");

    let out = common::bin(w.root())
        .args(harvest_args(&dirs))
        .args(w.delivery(&w.rest_token, "5s"))
        .arg("-vvv")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(stderr.contains("delivered as "), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "stdout carries only --dry-run output"
    );

    // One submission (both builds), equal to the dry run plus URLs.
    let subs = w.rest.submissions();
    assert_eq!(subs.len(), 1, "{}", text(&out));
    let sent = subs[0].json();
    assert_eq!(
        by_id(&without_urls(sent.clone()), "builds"),
        by_id(&dry, "builds")
    );
    assert_eq!(
        by_id(&without_urls(sent.clone()), "checkouts"),
        by_id(&dry, "checkouts")
    );
    assert_eq!(sent["version"], dry["version"]);

    // Every URL points at a stored file; the build log gunzips to the original.
    let base = w.storage.url();
    let files = w.storage.files();
    for (id, b) in by_id(&sent, "builds") {
        let local = id.split_once(':').map(|(_, l)| l).unwrap_or(&id);
        let log_url = b["log_url"].as_str().expect("build log_url");
        assert_eq!(log_url, format!("{base}/{ORIGIN}/{local}/build.log.gz"));
        // The journal says which directory this build came from.
        let dir = w
            .journal()
            .into_iter()
            .find(|e| e["build_id"] == id.as_str())
            .and_then(|e| e["dir"].as_str().map(PathBuf::from))
            .expect("journal entry with dir");
        assert_eq!(
            common::gunzip(&files[url_key(log_url, &base)]),
            std::fs::read(dir.join("linux/log")).expect("original log"),
            "build.log.gz of {id} gunzips to {}/linux/log",
            dir.display()
        );
        for f in b["output_files"].as_array().expect("output_files") {
            let url = f["url"].as_str().expect("url");
            assert!(files.contains_key(url_key(url, &base)), "{url} stored");
        }
    }
    for (_, c) in by_id(&sent, "checkouts") {
        if let Some(u) = c["log_url"].as_str() {
            assert!(files.contains_key(url_key(u, &base)), "{u} stored");
        }
    }

    // Journal: both builds; no spool file.
    let j = w.journal();
    assert_eq!(j.len(), 2);
    assert!(j.iter().all(|e| e["submission_id"] == subs[0].id.as_str()));
    assert!(w.spooled().is_empty());

    // A re-run skips both.
    let again = w.harvest(&dirs, &w.rest_token, "5s");
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already delivered"),
        "{}",
        text(&again)
    );
    assert_eq!(w.rest.submissions().len(), 1);

    common::assert_secret_absent(
        &[&w.rest_token, &w.storage_token],
        &[
            ("stdout", &out.stdout),
            ("stderr -vvv", &out.stderr),
            ("rerun stderr", &again.stderr),
        ],
        &[&w.spool(), &w.results()],
    );
}

#[test]
fn every_transient_fault_in_a_row_still_delivers_exactly_once() {
    let w = world();
    let dir = common::unpack_case("warn", &w.results());
    for f in [
        Fault::Status(503),
        Fault::Status(502),
        Fault::ResetMidBody,
        Fault::StallBeforeBody(Duration::from_secs(3)),
        Fault::TooManyRequests("1".into()),
    ] {
        w.rest.push_fault(f);
    }
    w.storage.push_fault(Fault::Status(503));
    w.storage.push_fault(Fault::ResetMidBody);
    let out = w.harvest(std::slice::from_ref(&dir), &w.rest_token, "30s");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let statuses: Vec<u16> = w.rest.submit_requests().iter().map(|s| s.status).collect();
    assert_eq!(statuses, vec![503, 502, 0, 0, 429, 200]);
    // the schedule the program chose, as it says it (not how long it took)
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("HTTP 429") && err.contains("retrying in 1.0s (attempt 5 failed)"),
        "Retry-After: 1 honoured: {err}"
    );
    assert!(
        err.contains("timed out"),
        "the 1 s timeout ended the stalled attempt: {err}"
    );
    assert_eq!(w.rest.submissions().len(), 1, "delivered exactly once");
    assert_eq!(w.journal().len(), 1);
    assert!(w.spooled().is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("retrying in"), "{stderr}");
}

#[test]
fn exit_codes_say_delivered_spooled_or_refused() {
    let w = world();
    let dir = common::unpack_case("pass-tiny", &w.results());

    // No endpoint: spooled, which is the default, exit 0, with the hint.
    let out = common::bin(w.root())
        .args(harvest_args(std::slice::from_ref(&dir)))
        .args(["--spool", &w.spool().display().to_string()])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("kcidb-harvest send"),
        "{}",
        text(&out)
    );
    assert_eq!(w.spooled().len(), 1);
    std::fs::remove_dir_all(w.spool()).expect("rm spool");

    // Server down for the whole retry budget: exit 4, spooled.
    w.rest.set_always(Some(Fault::Status(503)));
    let out = w.harvest(std::slice::from_ref(&dir), &w.rest_token, "500ms");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        stderr.contains("HTTP 503") && stderr.contains("kcidb-harvest send"),
        "{stderr}"
    );
    assert_eq!(w.spooled().len(), 1);
    assert!(w.rest.submissions().is_empty());

    // Back up: send drains it, exit 0.
    w.rest.set_always(None);
    let out = common::bin(w.root())
        .arg("send")
        .args(w.delivery(&w.rest_token, "5s"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(w.spooled().is_empty());
    assert_eq!(w.rest.submissions().len(), 1);

    // 401 (expired): not retried, exit 4, the cause named.
    let w2 = world();
    let expired = RestServer::expired_token(ORIGIN);
    let out = w2.harvest(std::slice::from_ref(&dir), &expired, "5s");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        stderr.contains("HTTP 401") && stderr.contains("token has expired"),
        "{stderr}"
    );
    assert_eq!(w2.rest.submit_requests().len(), 1);

    // 413: not retried, exit 4, names --max-bytes.
    let w3 = world();
    w3.rest.set_limit(100);
    let out = w3.harvest(std::slice::from_ref(&dir), &w3.rest_token, "5s");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--max-bytes"),
        "{}",
        text(&out)
    );
    assert_eq!(w3.rest.submit_requests().len(), 1);
    common::assert_secret_absent(
        &[&w.rest_token, &w.storage_token, &expired, &w3.rest_token],
        &[("stderr", &out.stderr)],
        &[w.root(), w2.root(), w3.root()],
    );
}

fn reports(w: &World, n: usize) -> Vec<kcidb_harvest::pipeline::DirYield> {
    (0..n)
        .map(|i| common::harvested(&w.results(), &format!("r{i}"), ORIGIN, "ck", 2000))
        .collect()
}

#[test]
fn send_drains_the_spool_oldest_first() {
    let w = world();
    let hs = reports(&w, 4);
    let files = common::fill_spool(&w.spool(), &hs);
    let out = common::bin(w.root())
        .arg("send")
        .arg(w.spool())
        .args(w.delivery(&w.rest_token, "5s"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let got = w.rest.delivered_build_ids();
    let want: Vec<String> = hs.iter().map(|h| h.build_id().to_string()).collect();
    assert_eq!(got, want, "oldest first, each once");
    assert!(w.spooled().is_empty());
    let j = w.journal();
    assert_eq!(j.len(), 4);
    for (e, f) in j.iter().zip(&files) {
        assert_eq!(
            e["spool_file"],
            f.file_name().and_then(|n| n.to_str()).expect("name")
        );
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("sent 4, already delivered 0, invalid 0, failed 0; 0 left"),
        "{stderr}"
    );

    // Nothing left: exit 0.
    let out = common::bin(w.root())
        .arg("send")
        .arg(w.spool())
        .args(w.delivery(&w.rest_token, "5s"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(w.rest.submissions().len(), 4);
}

#[test]
fn send_stops_on_a_refusal_and_keeps_the_rest() {
    let w = world();
    common::fill_spool(&w.spool(), &reports(&w, 3));
    let expired = RestServer::expired_token(ORIGIN);
    let out = common::bin(w.root())
        .arg("send")
        .args(w.delivery(&expired, "5s"))
        .args(["--format", "json"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert_eq!(
        w.rest.submit_requests().len(),
        1,
        "401 is not retried, and the rest is not tried"
    );
    assert_eq!(w.spooled().len(), 3);
    let last: Value = String::from_utf8_lossy(&out.stderr)
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .expect("summary line");
    assert_eq!(last["type"], "send_summary");
    assert_eq!(last["failed"], 1);
    assert_eq!(last["remaining"], 3);
}

#[test]
fn an_interrupted_send_resumes_without_duplicates() {
    // Crash after the journal line, before the file was removed: the file
    // is dropped, not sent again.
    let w = world();
    let hs = reports(&w, 3);
    let files = common::fill_spool(&w.spool(), &hs);
    {
        let mut j = Journal::open(&w.spool().join("journal.jsonl")).expect("journal");
        let mut l = j.lock().expect("lock");
        l.append(&[Entry {
            time: "2026-01-01T00:00:00Z".into(),
            build_id: hs[0].build_id().into(),
            checkout_id: hs[0].checkout_id().into(),
            submission_id: "EarlierRun000000000000000000000A".into(),
            dir: None,
            spool_file: files[0]
                .file_name()
                .map(|n| n.to_string_lossy().into_owned()),
            sha256: String::new(),
        }])
        .expect("append");
    }
    let out = common::bin(w.root())
        .arg("send")
        .args(w.delivery(&w.rest_token, "5s"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already delivered (journal); removed"),
        "{}",
        text(&out)
    );
    assert_eq!(
        w.rest.delivered_build_ids(),
        vec![hs[1].build_id().to_string(), hs[2].build_id().to_string()]
    );

    // Killed while waiting for the server: the rerun sends what is left once.
    let w = world();
    let hs = reports(&w, 3);
    common::fill_spool(&w.spool(), &hs);
    // The first submission goes through; the second hangs until we kill.
    w.rest.push_fault(Fault::Pass);
    w.rest
        .push_fault(Fault::StallBeforeBody(Duration::from_secs(30)));
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("kcidb-harvest"))
        .arg("send")
        .args(w.delivery_timeout(&w.rest_token, "60s", "60s"))
        .env("HOME", w.root())
        .current_dir(w.root())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let mut polls = 0;
    while w.rest.submit_requests().len() < 2 {
        polls += 1;
        assert!(polls < MAX_POLLS, "second submission never came");
        std::thread::sleep(POLL);
    }
    child.kill().expect("kill");
    let _ = child.wait();
    assert_eq!(
        w.rest.delivered_build_ids(),
        vec![hs[0].build_id().to_string()]
    );
    assert_eq!(w.spooled().len(), 2, "the first was removed after its 200");
    w.rest.state.lock().expect("state").faults.clear();
    let out = common::bin(w.root())
        .arg("send")
        .args(w.delivery(&w.rest_token, "5s"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let mut got = w.rest.delivered_build_ids();
    let n = got.len();
    got.sort();
    got.dedup();
    assert_eq!(n, got.len(), "no build delivered twice: {got:?}");
    assert_eq!(got.len(), 3);
    assert!(w.spooled().is_empty());
    assert_eq!(w.journal().len(), 3);
}

#[test]
fn ctrl_c_during_send_keeps_the_rest_and_exits_130() {
    let w = world();
    let hs = reports(&w, 3);
    common::fill_spool(&w.spool(), &hs);
    // The first submission stalls, then the connection drops: without the
    // interrupt it would be retried for a minute.
    w.rest
        .push_fault(Fault::StallBeforeBody(Duration::from_millis(1500)));
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("kcidb-harvest"))
        .arg("send")
        .args(w.delivery_timeout(&w.rest_token, "60s", "30s"))
        .env("HOME", w.root())
        .current_dir(w.root())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut polls = 0;
    while w.rest.submit_requests().is_empty() {
        polls += 1;
        assert!(polls < MAX_POLLS, "no submission came");
        std::thread::sleep(POLL);
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    // it stopped retrying: the stalled attempt was the only one
    assert_eq!(w.rest.submit_requests().len(), 1, "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("interrupted"),
        "{}",
        text(&out)
    );
    assert_eq!(w.spooled().len(), 3, "nothing lost");
    assert!(w.rest.submissions().is_empty());
    // And a later send delivers all three once.
    let out = common::bin(w.root())
        .arg("send")
        .args(w.delivery(&w.rest_token, "5s"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(w.rest.delivered_build_ids().len(), 3);
}

#[test]
fn two_concurrent_sends_never_double_send() {
    let w = world();
    let hs = reports(&w, 8);
    common::fill_spool(&w.spool(), &hs);
    // Slow the server a little so the two runs overlap.
    for _ in 0..4 {
        w.rest.push_fault(Fault::Status(503));
    }
    let spawn = || {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("kcidb-harvest"))
            .arg("send")
            .args(w.delivery(&w.rest_token, "10s"))
            .env("HOME", w.root())
            .current_dir(w.root())
            .output()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(spawn);
        let b = s.spawn(spawn);
        (
            a.join().expect("thread").expect("run"),
            b.join().expect("thread").expect("run"),
        )
    });
    assert_eq!(a.status.code(), Some(0), "{}", text(&a));
    assert_eq!(b.status.code(), Some(0), "{}", text(&b));
    let mut got = w.rest.delivered_build_ids();
    assert_eq!(got.len(), 8, "each build sent once");
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 8);
    assert!(w.spooled().is_empty());
    assert_eq!(w.journal().len(), 8);
}

#[test]
fn show_config_redacts_tokens_and_names_sources() {
    let w = world();
    let file_token = RestServer::token("from_file");
    std::fs::write(
        w.root().join(".kci-dev.toml"),
        format!(
            "default_instance = \"local\"\n[local]\napi = \"https://x\"\nkcidb_rest_url = \"https://db.example.org/submit\"\nkcidb_token = \"{file_token}\"\nstorage_url = \"https://files.example.org\"\nstorage_token = \"{}\"\n",
            w.storage_token
        ),
    )
    .expect("toml");
    let env_token = RestServer::token("from_env");
    let out = common::bin(w.root())
        .arg("--show-config")
        .env(
            "KCIDB_REST",
            format!("https://{env_token}@db.example.org/api"),
        )
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        stdout.contains("https://db.example.org/api/submit  (env KCIDB_REST)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("kcidb_token     ***  (env KCIDB_REST)"),
        "{stdout}"
    );
    assert!(stdout.contains("storage_token   ***"), "{stdout}");
    assert!(
        stdout.contains("instance [local] (default_instance)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("spool           ./kcidb-spool  (default)"),
        "{stdout}"
    );

    let out2 = common::bin(w.root())
        .args([
            "send",
            "--show-config",
            "--kcidb-rest-url",
            "https://db.example.org/submit",
        ])
        .arg("--kcidb-token-file")
        .arg(w.token_file(&w.rest_token))
        .output()
        .expect("run");
    assert_eq!(out2.status.code(), Some(0), "{}", text(&out2));
    assert!(
        String::from_utf8_lossy(&out2.stdout).contains("(--kcidb-token-file"),
        "{}",
        text(&out2)
    );
    common::assert_secret_absent(
        &[&file_token, &env_token, &w.storage_token, &w.rest_token],
        &[
            ("stdout", &out.stdout),
            ("stderr", &out.stderr),
            ("send stdout", &out2.stdout),
            ("send stderr", &out2.stderr),
        ],
        &[],
    );
}

#[test]
fn configuration_errors_exit_2_and_say_where() {
    let w = world();
    let bad = w.root().join("bad.toml");
    std::fs::write(
        &bad,
        "default_instance = \"x\"\n[x]\nkcidb_token = \"unterminated\n",
    )
    .expect("write");
    let out = common::bin(w.root())
        .args(["send", "--settings"])
        .arg(&bad)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("`{}`:3:", bad.display())),
        "{}",
        text(&out)
    );

    let secret = RestServer::token(ORIGIN);
    let out = common::bin(w.root())
        .arg("send")
        .env("KCIDB_REST", format!("http://{secret}@db.example.org"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        stderr.contains("refusing to send a token over plain http")
            && stderr.contains("--allow-insecure"),
        "{stderr}"
    );
    assert!(!stderr.contains(&secret));

    let out = common::bin(w.root()).arg("send").output().expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no KCIDB REST endpoint configured"),
        "{}",
        text(&out)
    );
}

#[test]
fn send_leaves_out_builds_the_journal_lists_and_records_the_rest() {
    let w = world();
    let hs = reports(&w, 3);
    let merged = kcidb_harvest::deliver::merge(hs.iter().map(|h| &h.report));
    let v = kcidb_harvest::kcidb::validate_report(merged).expect("valid");
    let file = kcidb_harvest::spool::Spool::new(w.spool())
        .write(&v)
        .expect("spool write");
    {
        let mut j = Journal::open(&w.spool().join("journal.jsonl")).expect("journal");
        let mut l = j.lock().expect("lock");
        l.append(&[Entry {
            time: "2026-01-01T00:00:00Z".into(),
            build_id: hs[1].build_id().into(),
            checkout_id: hs[1].checkout_id().into(),
            submission_id: "EarlierRun000000000000000000000A".into(),
            dir: None,
            spool_file: None,
            sha256: String::new(),
        }])
        .expect("append");
    }
    let out = common::bin(w.root())
        .arg("send")
        .args(w.delivery(&w.rest_token, "5s"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("(2 builds, 1 already delivered left out)"),
        "{}",
        text(&out)
    );
    assert_eq!(
        w.rest.delivered_build_ids(),
        vec![hs[0].build_id().to_string(), hs[2].build_id().to_string()]
    );
    assert!(w.spooled().is_empty());
    let j = w.journal();
    assert_eq!(j.len(), 3);
    let name = file.file_name().and_then(|n| n.to_str()).expect("name");
    for (e, h) in j[1..].iter().zip([&hs[0], &hs[2]]) {
        assert_eq!(e["build_id"], h.build_id());
        assert_eq!(e["spool_file"], name);
        let want = kcidb_harvest::journal::content_hash(
            h.report.checkouts.first(),
            h.report.builds.first().expect("build"),
        );
        assert_eq!(
            e["sha256"],
            want.as_str(),
            "the hash a harvest would record"
        );
    }
}

#[test]
fn send_keeps_an_oversized_or_invalid_file_in_the_spool() {
    let w = world();
    std::fs::create_dir_all(w.spool()).expect("mkdir");
    let big = w.spool().join("20260101T000000.000000000Z-1-000000.json");
    let doc = format!(
        "{{\"version\":{{\"major\":5,\"minor\":3}},\"builds\":[{{\"id\":\"gregkh:b\",\"origin\":\"gregkh\",\"checkout_id\":\"gregkh:c\",\"comment\":\"{}\"}}]}}",
        "x".repeat(17 << 20)
    );
    std::fs::write(&big, doc).expect("write");
    let bad = w.spool().join("20260101T000001.000000000Z-1-000000.json");
    std::fs::write(&bad, r#"{"version":{"major":5},"builds":[{"id":"b"}]}"#).expect("write");
    let out = common::bin(w.root())
        .arg("send")
        .args(w.delivery(&w.rest_token, "5s"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}: not sent, left in the spool: not a KCIDB v5 report: /builds/0: larger than 16 MiB of JSON",
            big.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{}: not sent, left in the spool: fails KCIDB v5.3 validation: /builds/0: missing required field \"checkout_id\" in a build",
            bad.display()
        )),
        "{stderr}"
    );
    assert!(w.rest.submit_requests().is_empty());
    assert_eq!(w.spooled(), vec![big, bad]);
}

#[test]
fn send_of_a_spool_that_does_not_exist_is_a_usage_error() {
    let w = world();
    let missing = w.root().join("no-such-spool");
    let mut args = w.delivery(&w.rest_token, "5s");
    let at = args.iter().position(|a| a == "--spool").expect("--spool");
    args.drain(at..at + 2);
    for how in [
        vec![missing.display().to_string()],
        vec!["--spool".into(), missing.display().to_string()],
    ] {
        let out = common::bin(w.root())
            .arg("send")
            .args(&how)
            .args(&args)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!(
                "kcidb-harvest: error: spool `{}` does not exist (or is not a directory)\n",
                missing.display()
            )
        );
        assert!(!missing.exists());
    }
    // No spool named and none in the working directory: nothing to send.
    let out = common::bin(w.root())
        .arg("send")
        .args(&args)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to send"));
}

/// Every stderr line of `--format json` is one JSON object whose `"type"`
/// is one of the documented ones, with that type's fields.
fn assert_typed_json_lines(stderr: &[u8]) -> Vec<Value> {
    let text = String::from_utf8_lossy(stderr);
    let mut lines = Vec::new();
    for l in text.lines() {
        let v: Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{text}"));
        let ty = v["type"].as_str().unwrap_or_else(|| panic!("no type: {l}"));
        let needs: &[&str] = match ty {
            "directory" => &["dir", "outcome"],
            "delivery" => &["dir", "build_id", "delivery", "detail"],
            "warning" | "error" => &["message"],
            "hint" => &["message"],
            "log" => &["level", "message"],
            "waiting" => &["submission_id", "status", "polls", "next_poll_seconds"],
            "spool_file" => &["file", "result", "already_delivered"],
            "summary" => &["directories", "outcomes", "failed", "hints"],
            "send_summary" => &[
                "sent",
                "already_delivered",
                "invalid",
                "failed",
                "remaining",
                "spool",
            ],
            other => panic!("undocumented type `{other}`: {l}"),
        };
        for k in needs {
            assert!(v.get(*k).is_some(), "`{ty}` line without `{k}`: {l}");
        }
        lines.push(v);
    }
    lines
}

fn types(lines: &[Value]) -> Vec<&str> {
    lines.iter().filter_map(|v| v["type"].as_str()).collect()
}

#[test]
fn every_json_line_of_harvest_and_send_is_typed() {
    let w = world();
    let dirs: Vec<PathBuf> = ["pass-tiny", "warn"]
        .iter()
        .map(|c| common::unpack_case(c, &w.results()))
        .collect();
    // delivered, with -v detail and a warning (no repository URL known)
    let out = common::bin(w.root())
        .args(harvest_args(&dirs))
        .args(w.delivery(&w.rest_token, "5s"))
        .args(["--format", "json", "-v", "--wait"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let lines = assert_typed_json_lines(&out.stderr);
    let t = types(&lines);
    assert_eq!(t.iter().filter(|t| **t == "directory").count(), 2, "{t:?}");
    assert_eq!(t.iter().filter(|t| **t == "delivery").count(), 2, "{t:?}");
    assert!(t.contains(&"log"), "{t:?}");
    assert_eq!(t.last(), Some(&"summary"), "{t:?}");

    // spooled by a server that is down, then sent with `send --format json`
    let dir = common::unpack_case("fail-patch", &w.results());
    w.rest.set_always(Some(Fault::Status(503)));
    let out = common::bin(w.root())
        .args(harvest_args(std::slice::from_ref(&dir)))
        .args(w.delivery(&w.rest_token, "200ms"))
        .args(["--format", "json"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let lines = assert_typed_json_lines(&out.stderr);
    let summary = lines.last().expect("summary");
    assert_eq!(summary["type"], "summary");
    assert!(
        summary["hints"][0]
            .as_str()
            .is_some_and(|h| h.contains("kcidb-harvest send")),
        "{summary}"
    );
    w.rest.set_always(None);
    let out = common::bin(w.root())
        .arg("send")
        .args(w.delivery(&w.rest_token, "5s"))
        .args(["--format", "json"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let lines = assert_typed_json_lines(&out.stderr);
    assert_eq!(
        types(&lines),
        ["spool_file", "send_summary"],
        "{}",
        text(&out)
    );
    assert_eq!(lines[0]["result"], "sent");
    assert_eq!(lines[1]["sent"], 1);
}

#[test]
fn send_says_nothing_of_log_storage_it_does_not_use() {
    let w = world();
    let hs = reports(&w, 1);
    common::fill_spool(&w.spool(), &hs);
    // a REST endpoint and no storage: harvest would warn that logs get no
    // URLs; send uploads no logs, so it must not
    let out = common::bin(w.root())
        .arg("send")
        .arg(w.spool())
        .args(["--kcidb-rest-url", &w.rest.url(), "--kcidb-token-file"])
        .arg(w.token_file(&w.rest_token))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("storage"), "{err}");
    assert!(err.contains("sent as "), "{err}");
}

#[test]
fn a_ktest_run_is_delivered_in_one_submission_with_each_boot_console_uploaded() {
    let w = world();
    let dir = w.results().join("builds-middle-fails");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let src = common::repo().join("fixtures/ktest/builds-middle-fails");
    for e in std::fs::read_dir(&src).expect("fixture") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), dir.join(e.file_name())).expect("copy");
    }
    let out = common::bin(w.root())
        .args(harvest_args(std::slice::from_ref(&dir)))
        .arg("--allow-unknown-commit")
        .args(w.delivery(&w.rest_token, "5s"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "delivered: {}", text(&out));
    let subs = w.rest.submissions();
    assert_eq!(subs.len(), 1, "{}", text(&out));
    let sent = subs[0].json();
    assert_eq!(sent["builds"].as_array().map(Vec::len), Some(3));
    let tests = sent["tests"].as_array().expect("tests");
    assert_eq!(tests.len(), 1);
    let url = tests[0]["log_url"].as_str().expect("the boot's log_url");
    let base = w.storage.url();
    let console = common::gunzip(&w.storage.files()[url_key(url, &base)]);
    let lines = tests[0]["misc"]["console_lines"].as_array().expect("lines");
    let (from, to) = (
        lines[0].as_u64().unwrap() as usize,
        lines[1].as_u64().unwrap() as usize,
    );
    let log = std::fs::read_to_string(dir.join("log")).expect("log");
    let want: String = log
        .split_inclusive('\n')
        .skip(from - 1)
        .take(to - from + 1)
        .collect();
    assert_eq!(String::from_utf8_lossy(&console), want);
    assert!(want.starts_with("Linux version 6.1.172-harvest"), "{want}");
    assert!(want.contains("harvest-boot: login:"));
    // every build points at the whole ktest log
    for b in sent["builds"].as_array().unwrap() {
        assert!(b["log_url"]
            .as_str()
            .unwrap_or("")
            .ends_with("/build.log.gz"));
    }
}

#[test]
fn issues_and_incidents_reach_the_server_in_the_submission_of_their_builds() {
    let w = world();
    let dirs: Vec<PathBuf> = ["fail-compile", "warn"]
        .iter()
        .map(|c| common::unpack_case(c, &w.results()))
        .collect();
    let out = common::bin(w.root())
        .args(harvest_args(&dirs))
        .args(["--issues", "all"])
        .args(w.delivery(&w.rest_token, "5s"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "delivered: {}", text(&out));
    let subs = w.rest.submissions();
    assert_eq!(subs.len(), 1, "{}", text(&out));
    let sent = subs[0].json();
    let builds: Vec<&str> = sent["builds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(builds.len(), 2);
    let issues = sent["issues"].as_array().expect("issues");
    let incidents = sent["incidents"].as_array().expect("incidents");
    // fail-compile: 1 error and a Kconfig warning; warn: the same Kconfig
    // warning and 3 gcc warnings. The shared one is one issue, with an
    // incident in each build.
    assert_eq!(issues.len(), 5, "{issues:?}");
    assert_eq!(incidents.len(), 6);
    let kconfig: Vec<&Value> = incidents
        .iter()
        .filter(|i| {
            issues
                .iter()
                .any(|x| x["id"] == i["issue_id"] && x["categories"][0] == "build.warning.kconfig")
        })
        .collect();
    assert_eq!(kconfig.len(), 2);
    assert_ne!(kconfig[0]["build_id"], kconfig[1]["build_id"]);
    for i in incidents {
        assert!(builds.contains(&i["build_id"].as_str().unwrap()), "{i}");
        assert!(issues.iter().any(|x| x["id"] == i["issue_id"]), "{i}");
        assert_eq!(i["present"], true);
    }
    // counted in the summary
    let err = String::from_utf8_lossy(&out.stderr);
    let row = |k: &str| {
        err.lines()
            .find(|l| l.trim_start().starts_with(k))
            .map(|l| l.split_whitespace().last().unwrap_or("").to_string())
    };
    assert_eq!(row("issues").as_deref(), Some("5"), "{err}");
    assert_eq!(row("incidents").as_deref(), Some("6"), "{err}");
}
