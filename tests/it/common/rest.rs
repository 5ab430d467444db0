//! A KCIDB REST receiver speaking kcidb-restd-rs's protocol
//! (docs/kcidb.md#rest-receiver): `POST /submit` with HS256 JWT (`exp` and `origin`
//! claims), body limit (413 before auth), well-formed JSON only, 200 with a
//! 32-character alphanumeric id, and `GET /status?id=`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{json, Value};

use super::http::{Conn, Fault, Flow, Head, Server};
use super::jwt;

pub const SECRET: &str = "kcidb-test-secret";

/// One accepted submission.
#[derive(Clone, Debug)]
pub struct Submission {
    pub id: String,
    pub body: String,
    pub origin_claim: String,
}

impl Submission {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("stored body is JSON")
    }
    /// Build ids in this submission.
    pub fn build_ids(&self) -> Vec<String> {
        self.json()["builds"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|b| b["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// Status answered; 0 when the connection was cut or stalled.
    pub status: u16,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub at: Instant,
}

#[derive(Default)]
pub struct State {
    pub submissions: Vec<Submission>,
    pub seen: Vec<Seen>,
    pub faults: VecDeque<Fault>,
    /// Faults applied to every request from now on (after `faults`).
    pub always: Option<Fault>,
    pub limit: usize,
    /// What `/status` says once a submission was polled once.
    pub ingest: Option<String>,
    pub polled: HashMap<String, usize>,
    seq: u64,
}

pub struct RestServer {
    server: Server,
    pub state: Arc<Mutex<State>>,
}

fn new_id(seq: u64) -> String {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x = seq
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(jwt::now() as u64)
        | 1;
    (0..32)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ALNUM[(x % ALNUM.len() as u64) as usize] as char
        })
        .collect()
}

fn reply(conn: &mut Conn, status: u16, id: &str, st: &str, message: &str) -> u16 {
    let body = json!({"id": id, "status": st, "message": message}).to_string();
    let _ = conn.respond(
        status,
        &[("content-type", "text/plain; charset=utf-8")],
        body.as_bytes(),
        false,
    );
    status
}

/// kcidb-restd-rs's JWT check: the claims' `origin`, or the 401 message.
fn authenticate(head: &Head) -> Result<String, String> {
    let Some(auth) = head.header("authorization") else {
        return Err("JWT is required".into());
    };
    let words: Vec<&str> = auth.split(' ').collect();
    let Some(token) = words.get(1) else {
        return Err("Missing or invalid JWT (Bearer)".into());
    };
    jwt::decode_rest(SECRET, token)
}

impl RestServer {
    pub fn start() -> RestServer {
        let state = Arc::new(Mutex::new(State {
            limit: 512 << 20,
            ..Default::default()
        }));
        let st = state.clone();
        let server = Server::start(Arc::new(move |conn: &mut Conn, head: Head| {
            // every request is in `seen` before its client hears back
            conn.hold();
            let flow = handle(&st, conn, head);
            let _ = conn.release();
            flow
        }));
        RestServer { server, state }
    }

    /// `http://127.0.0.1:PORT/submit`.
    pub fn url(&self) -> String {
        format!("{}/submit", self.server.base())
    }

    pub fn base(&self) -> String {
        self.server.base()
    }

    /// `http://TOKEN@127.0.0.1:PORT` for `KCIDB_REST`.
    pub fn kcidb_rest(&self, token: &str) -> String {
        format!("http://{token}@{}", self.server.addr())
    }

    /// A valid token for `origin`, expiring in an hour.
    pub fn token(origin: &str) -> String {
        jwt::encode(
            SECRET,
            &json!({"origin": origin, "gendate": "2026-01-01", "exp": jwt::now() + 3600}),
        )
    }

    pub fn expired_token(origin: &str) -> String {
        jwt::encode(SECRET, &json!({"origin": origin, "exp": jwt::now() - 3600}))
    }

    pub fn token_without_origin() -> String {
        jwt::encode(SECRET, &json!({"exp": jwt::now() + 3600}))
    }

    pub fn push_fault(&self, f: Fault) {
        self.lock().faults.push_back(f);
    }

    pub fn set_always(&self, f: Option<Fault>) {
        self.lock().always = f;
    }

    pub fn set_limit(&self, n: usize) {
        self.lock().limit = n;
    }

    pub fn set_ingest(&self, s: &str) {
        self.lock().ingest = Some(s.to_string());
    }

    pub fn submissions(&self) -> Vec<Submission> {
        self.lock().submissions.clone()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    /// Requests to `/submit`.
    pub fn submit_requests(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.path == "/submit")
            .collect()
    }

    /// Every build id accepted, in order, with repeats.
    pub fn delivered_build_ids(&self) -> Vec<String> {
        self.submissions()
            .iter()
            .flat_map(Submission::build_ids)
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn handle(state: &Arc<Mutex<State>>, conn: &mut Conn, head: Head) -> Flow {
    let lock = || state.lock().unwrap_or_else(|e| e.into_inner());
    let mut seen = Seen {
        method: head.method.clone(),
        path: head.path.clone(),
        status: 0,
        authorization: head.header("authorization").map(str::to_string),
        content_type: head.header("content-type").map(str::to_string),
        at: Instant::now(),
    };
    let record = |seen: Seen| lock().seen.push(seen);

    match (head.method.as_str(), head.path.as_str()) {
        ("POST", "/submit") => {}
        ("GET", "/status") => {
            let body_ok = conn.read_body(&head).is_ok();
            if !body_ok {
                return Flow::Close;
            }
            seen.status = match authenticate(&head) {
                Err(m) => reply(conn, 401, "0", "error", &m),
                Ok(_) => match head.query_param("id") {
                    None => {
                        let _ = conn.respond(
                            400,
                            &[],
                            b"Failed to deserialize query string: missing field `id`",
                            false,
                        );
                        400
                    }
                    Some(id) if id.is_empty() => reply(conn, 400, "0", "error", "Empty id"),
                    Some(id) if !id.chars().all(|c| c.is_ascii_alphanumeric()) => {
                        reply(conn, 400, "0", "error", "Invalid id")
                    }
                    Some(id) => {
                        let mut st = lock();
                        if !st.submissions.iter().any(|s| s.id == id) {
                            drop(st);
                            reply(conn, 404, &id, "notfound", "Submission not found")
                        } else {
                            let n = {
                                let e = st.polled.entry(id.clone()).or_insert(0);
                                *e += 1;
                                *e
                            };
                            let status = match (&st.ingest, n) {
                                (Some(s), n) if n > 1 => s.clone(),
                                _ => "ready".to_string(),
                            };
                            drop(st);
                            reply(conn, 200, &id, &status, "Submission status")
                        }
                    }
                },
            };
            record(seen);
            return Flow::KeepAlive;
        }
        (_, "/submit") | (_, "/status") => {
            let _ = conn.read_body(&head);
            let _ = conn.respond(405, &[], b"", false);
            seen.status = 405;
            record(seen);
            return Flow::KeepAlive;
        }
        _ => {
            let _ = conn.read_body(&head);
            let _ = conn.respond(404, &[], b"", false);
            seen.status = 404;
            record(seen);
            return Flow::KeepAlive;
        }
    }

    let fault = {
        let mut st = lock();
        st.faults.pop_front().or_else(|| st.always.clone())
    };
    match fault {
        Some(Fault::ResetMidBody) => {
            let half = head.content_length().unwrap_or(2) / 2;
            let _ = conn.read_some(half.max(1));
            record(seen);
            return Flow::Close;
        }
        Some(Fault::StallBeforeBody(d)) => {
            record(seen);
            std::thread::sleep(d);
            conn.shutdown();
            return Flow::Close;
        }
        Some(Fault::SlowBeforeBody(d)) => std::thread::sleep(d),
        _ => {}
    }

    // The size limit applies before authentication, on Content-Length.
    let limit = lock().limit;
    if head.content_length().is_some_and(|n| n > limit) {
        let _ = conn.read_body(&head);
        let _ = conn.respond(
            413,
            &[("content-type", "text/plain; charset=utf-8")],
            b"length limit exceeded",
            false,
        );
        seen.status = 413;
        record(seen);
        return Flow::KeepAlive;
    }
    let Ok(body) = conn.read_body(&head) else {
        record(seen);
        return Flow::Close;
    };
    match fault {
        Some(Fault::Status(code)) => {
            seen.status = reply(conn, code, "0", "error", "Internal server error");
            record(seen);
            return Flow::KeepAlive;
        }
        Some(Fault::TooManyRequests(after)) => {
            let _ = conn.respond(
                429,
                &[
                    ("retry-after", after.as_str()),
                    ("content-type", "text/plain; charset=utf-8"),
                ],
                b"{\"id\":\"0\",\"status\":\"error\",\"message\":\"Too many requests\"}",
                false,
            );
            seen.status = 429;
            record(seen);
            return Flow::KeepAlive;
        }
        Some(Fault::Html200) => {
            let _ = conn.respond(
                200,
                &[("content-type", "text/html")],
                b"<html>Welcome to the hotel wifi</html>",
                false,
            );
            seen.status = 200;
            record(seen);
            return Flow::KeepAlive;
        }
        _ => {}
    }
    let origin = match authenticate(&head) {
        Ok(o) => o,
        Err(m) => {
            seen.status = reply(conn, 401, "0", "error", &m);
            record(seen);
            return Flow::KeepAlive;
        }
    };
    let Ok(text) = String::from_utf8(body.clone()) else {
        let _ = conn.respond(
            400,
            &[("content-type", "text/plain; charset=utf-8")],
            b"Request body didn't contain valid UTF-8: invalid utf-8 sequence",
            false,
        );
        seen.status = 400;
        record(seen);
        return Flow::KeepAlive;
    };
    if text.starts_with('\u{feff}') {
        seen.status = reply(conn, 400, "0", "error", "expected value at line 1 column 1");
        record(seen);
        return Flow::KeepAlive;
    }
    if let Err(e) = serde_json::from_str::<Value>(&text) {
        seen.status = reply(conn, 400, "0", "error", &e.to_string());
        record(seen);
        return Flow::KeepAlive;
    }
    let id = {
        let mut st = lock();
        st.seq += 1;
        let id = new_id(st.seq);
        st.submissions.push(Submission {
            id: id.clone(),
            body: text.clone(),
            origin_claim: origin,
        });
        id
    };
    if let Some(Fault::StallAfterStore(d)) = fault {
        std::thread::sleep(d);
    }
    seen.status = reply(
        conn,
        200,
        &id,
        "ok",
        &format!("Received submission {id} with size {} bytes", text.len()),
    );
    record(seen);
    Flow::KeepAlive
}
