//! A kernelci-storage server speaking its protocol (docs/kcidb.md#upload):
//! `POST /v1/file` (alias `/upload`) with a Bearer (or bare) HS256 JWT
//! carrying an `email` claim, multipart fields `path` and `file0` (with a
//! filename), 409 while a key is held, files served back on `GET /<key>`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::json;

use super::http::{Conn, Fault, Flow, Head, Server};
use super::jwt;

pub const SECRET: &str = "storage-test-secret";

/// One upload request as the server saw it.
#[derive(Clone, Debug)]
pub struct Upload {
    pub status: u16,
    pub key: Option<String>,
    pub path_field: Option<String>,
    pub filename: Option<String>,
    /// Multipart field names in the order they came.
    pub field_order: Vec<String>,
    pub file_content_type: Option<String>,
    pub authorization: Option<String>,
}

#[derive(Default)]
pub struct State {
    pub files: BTreeMap<String, Vec<u8>>,
    pub uploads: Vec<Upload>,
    /// Keys answering 409 for that many more uploads.
    pub held: HashMap<String, usize>,
    pub faults: VecDeque<Fault>,
    pub always: Option<Fault>,
    pub gets: Vec<(String, u16)>,
    /// Serve this many next downloads with altered bytes.
    pub corrupt_gets: usize,
    /// Answer 403 to downloads (a storage that does not serve them to us).
    pub no_downloads: bool,
}

pub struct StorageServer {
    server: Server,
    pub state: Arc<Mutex<State>>,
}

/// A multipart part.
struct Part {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    data: Vec<u8>,
}

fn boundary(head: &Head) -> Option<String> {
    let ct = head.header("content-type")?;
    if !ct.to_ascii_lowercase().starts_with("multipart/form-data") {
        return None;
    }
    ct.split(';').find_map(|p| {
        let p = p.trim();
        p.strip_prefix("boundary=")
            .map(|b| b.trim_matches('"').to_string())
    })
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    (from..=hay.len() - needle.len()).find(|&i| &hay[i..i + needle.len()] == needle)
}

fn parse_multipart(body: &[u8], boundary: &str) -> Option<Vec<Part>> {
    let delim = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut pos = find(body, delim.as_bytes(), 0)? + delim.len();
    loop {
        if body.get(pos..pos + 2) == Some(b"--") {
            return Some(parts);
        }
        pos += 2; // CRLF after the delimiter
        let head_end = find(body, b"\r\n\r\n", pos)?;
        let head = String::from_utf8_lossy(&body[pos..head_end]).into_owned();
        let data_start = head_end + 4;
        let next = find(body, format!("\r\n{delim}").as_bytes(), data_start)?;
        let mut name = String::new();
        let mut filename = None;
        let mut content_type = None;
        for line in head.split("\r\n") {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("content-disposition:") {
                for attr in line.split(';').skip(1) {
                    let attr = attr.trim();
                    if let Some(v) = attr.strip_prefix("name=") {
                        name = v.trim_matches('"').to_string();
                    } else if let Some(v) = attr.strip_prefix("filename=") {
                        filename = Some(v.trim_matches('"').to_string());
                    }
                }
            } else if lower.starts_with("content-type:") {
                content_type = Some(line["content-type:".len()..].trim().to_string());
            }
        }
        parts.push(Part {
            name,
            filename,
            content_type,
            data: body[data_start..next].to_vec(),
        });
        pos = next + 2 + delim.len();
    }
}

fn authenticate(head: &Head) -> Result<String, ()> {
    let auth = head.header("authorization").ok_or(())?;
    let token = auth.strip_prefix("Bearer ").unwrap_or(auth).trim();
    jwt::decode_storage(SECRET, token).map_err(|_| ())
}

impl StorageServer {
    pub fn start() -> StorageServer {
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        let server = Server::start(Arc::new(move |conn: &mut Conn, head: Head| {
            handle(&st, conn, head)
        }));
        StorageServer { server, state }
    }

    /// Base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.base()
    }

    pub fn token(email: &str) -> String {
        jwt::encode(SECRET, &json!({"email": email}))
    }

    pub fn hold(&self, key: &str, times: usize) {
        self.lock().held.insert(key.to_string(), times);
    }

    pub fn push_fault(&self, f: Fault) {
        self.lock().faults.push_back(f);
    }

    pub fn set_always(&self, f: Option<Fault>) {
        self.lock().always = f;
    }

    pub fn files(&self) -> BTreeMap<String, Vec<u8>> {
        self.lock().files.clone()
    }

    pub fn uploads(&self) -> Vec<Upload> {
        self.lock().uploads.clone()
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn handle(state: &Arc<Mutex<State>>, conn: &mut Conn, head: Head) -> Flow {
    let lock = || state.lock().unwrap_or_else(|e| e.into_inner());
    let text = |conn: &mut Conn, status: u16, body: &str| {
        let _ = conn.respond(
            status,
            &[("content-type", "text/plain")],
            body.as_bytes(),
            false,
        );
        status
    };
    if head.method == "GET" {
        let _ = conn.read_body(&head);
        let key = head.path.trim_start_matches('/').to_string();
        if key == "v1/checkauth" {
            match authenticate(&head) {
                Ok(email) => text(conn, 200, &format!("Authorized: {email}")),
                Err(()) => text(conn, 401, "Unauthorized"),
            };
            return Flow::KeepAlive;
        }
        let mut st = lock();
        if st.no_downloads {
            st.gets.push((key, 403));
            drop(st);
            text(conn, 403, "Forbidden");
            return Flow::KeepAlive;
        }
        let file = st.files.get(&key).cloned();
        let corrupt = st.corrupt_gets > 0 && file.is_some();
        if corrupt {
            st.corrupt_gets -= 1;
        }
        st.gets
            .push((key.clone(), if file.is_some() { 200 } else { 404 }));
        drop(st);
        match file {
            Some(mut data) => {
                if corrupt {
                    if let Some(b) = data.last_mut() {
                        *b ^= 0xff;
                    }
                }
                let ct = if key.ends_with(".gz") {
                    "application/gzip"
                } else {
                    "application/octet-stream"
                };
                let _ = conn.respond(
                    200,
                    &[("content-type", ct), ("content-disposition", "attachment")],
                    &data,
                    false,
                );
            }
            None => {
                text(conn, 404, &format!("Not Found: {key}"));
            }
        }
        return Flow::KeepAlive;
    }
    if head.method != "POST" || (head.path != "/v1/file" && head.path != "/upload") {
        let _ = conn.read_body(&head);
        text(conn, 404, "Not Found");
        return Flow::KeepAlive;
    }
    let mut up = Upload {
        status: 0,
        key: None,
        path_field: None,
        filename: None,
        field_order: Vec::new(),
        file_content_type: None,
        authorization: head.header("authorization").map(str::to_string),
    };
    let fault = {
        let mut st = lock();
        st.faults.pop_front().or_else(|| st.always.clone())
    };
    match fault {
        Some(Fault::ResetMidBody) => {
            let half = head.content_length().unwrap_or(2) / 2;
            let _ = conn.read_some(half.max(1));
            lock().uploads.push(up);
            return Flow::Close;
        }
        Some(Fault::StallBeforeBody(d)) => {
            lock().uploads.push(up);
            std::thread::sleep(d);
            conn.shutdown();
            return Flow::Close;
        }
        Some(Fault::SlowBeforeBody(d)) => std::thread::sleep(d),
        _ => {}
    }
    let Ok(body) = conn.read_body(&head) else {
        lock().uploads.push(up);
        return Flow::Close;
    };
    if let Some(Fault::Status(code)) = fault {
        up.status = text(conn, code, "");
        lock().uploads.push(up);
        return Flow::KeepAlive;
    }
    if authenticate(&head).is_err() {
        up.status = text(conn, 401, "");
        lock().uploads.push(up);
        return Flow::KeepAlive;
    }
    let Some(b) = boundary(&head) else {
        up.status = text(
            conn,
            400,
            "Invalid `boundary` for `multipart/form-data` request",
        );
        lock().uploads.push(up);
        return Flow::KeepAlive;
    };
    let Some(parts) = parse_multipart(&body, &b) else {
        up.status = text(conn, 400, "Invalid multipart body");
        lock().uploads.push(up);
        return Flow::KeepAlive;
    };
    up.field_order = parts.iter().map(|p| p.name.clone()).collect();
    let path = parts
        .iter()
        .find(|p| p.name == "path")
        .map(|p| String::from_utf8_lossy(&p.data).into_owned())
        .unwrap_or_default();
    up.path_field = Some(path.clone());
    let Some(file) = parts.iter().find(|p| p.name == "file0") else {
        up.status = text(conn, 400, "No file0 field in upload");
        lock().uploads.push(up);
        return Flow::KeepAlive;
    };
    up.file_content_type = file.content_type.clone();
    let Some(filename) = file.filename.clone().filter(|f| !f.is_empty()) else {
        up.status = text(conn, 400, "No filename provided");
        lock().uploads.push(up);
        return Flow::KeepAlive;
    };
    up.filename = Some(filename.clone());
    let key = format!("{}/{filename}", path.trim_end_matches('/'))
        .trim_start_matches('/')
        .to_string();
    up.key = Some(key.clone());
    if key.contains("..") {
        up.status = text(conn, 400, "Path traversal detected");
        lock().uploads.push(up);
        return Flow::KeepAlive;
    }
    let mut st = lock();
    if let Some(n) = st.held.get_mut(&key) {
        if *n > 0 {
            *n -= 1;
            drop(st);
            up.status = text(conn, 409, "Timeout waiting for upload");
            lock().uploads.push(up);
            return Flow::KeepAlive;
        }
    }
    st.files.insert(key, file.data.clone());
    up.status = 200;
    st.uploads.push(up);
    drop(st);
    let _ = conn.respond(200, &[], b"", false);
    Flow::KeepAlive
}
