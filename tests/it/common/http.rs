//! A small HTTP/1.1 server over `std::net` for tests: one thread per
//! connection, keep-alive, Content-Length and chunked request bodies.
//! Handlers see the request head first, so they can misbehave on purpose
//! (stall, reset mid-body) the way real servers and networks do.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A request line and headers.
#[derive(Clone, Debug)]
pub struct Head {
    pub method: String,
    pub target: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// First header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn content_length(&self) -> Option<usize> {
        self.header("content-length")?.trim().parse().ok()
    }
    pub fn chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    }
    /// A query parameter (no percent-decoding needed for our ids).
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k == name).then(|| v.to_string())
        })
    }
}

/// What to do with the connection after a request.
pub enum Flow {
    KeepAlive,
    Close,
}

/// One client connection.
pub struct Conn {
    reader: BufReader<TcpStream>,
    stream: TcpStream,
    /// Responses kept back by [`Conn::hold`].
    held: Option<Vec<u8>>,
}

impl Conn {
    /// The next request head; `None` when the client closed the connection.
    pub fn read_head(&mut self) -> io::Result<Option<Head>> {
        let mut line = String::new();
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Ok(None);
            }
            if !line.trim().is_empty() {
                break;
            }
        }
        let mut parts = line.trim_end().splitn(3, ' ');
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_string(), q.to_string()),
            None => (target.clone(), String::new()),
        };
        let mut headers = Vec::new();
        let mut total = 0;
        loop {
            let mut h = String::new();
            let n = self.reader.read_line(&mut h)?;
            total += n;
            if n == 0 || total > 64 * 1024 {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "bad head"));
            }
            let h = h.trim_end_matches(['\r', '\n']);
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        Ok(Some(Head {
            method,
            target,
            path,
            query,
            headers,
        }))
    }

    /// The whole request body.
    pub fn read_body(&mut self, head: &Head) -> io::Result<Vec<u8>> {
        if head.chunked() {
            let mut body = Vec::new();
            loop {
                let mut size = String::new();
                self.reader.read_line(&mut size)?;
                let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk"))?;
                if size == 0 {
                    // Trailers, then the empty line.
                    loop {
                        let mut t = String::new();
                        if self.reader.read_line(&mut t)? == 0 || t.trim().is_empty() {
                            return Ok(body);
                        }
                    }
                }
                let start = body.len();
                body.resize(start + size, 0);
                self.reader.read_exact(&mut body[start..])?;
                let mut crlf = [0u8; 2];
                self.reader.read_exact(&mut crlf)?;
            }
        }
        let n = head.content_length().unwrap_or(0);
        let mut body = vec![0u8; n];
        self.reader.read_exact(&mut body)?;
        Ok(body)
    }

    /// Read `n` bytes of the body (or what there is), for a cut-off.
    pub fn read_some(&mut self, n: usize) -> io::Result<()> {
        let mut buf = vec![0u8; n];
        let mut got = 0;
        while got < n {
            let k = self.reader.read(&mut buf[got..])?;
            if k == 0 {
                break;
            }
            got += k;
        }
        Ok(())
    }

    /// Send a response with a Content-Length.
    pub fn respond(
        &mut self,
        status: u16,
        headers: &[(&str, &str)],
        body: &[u8],
        close: bool,
    ) -> io::Result<()> {
        let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!("content-length: {}\r\n", body.len()));
        if close {
            head.push_str("connection: close\r\n");
        }
        head.push_str("\r\n");
        if let Some(held) = &mut self.held {
            held.extend_from_slice(head.as_bytes());
            held.extend_from_slice(body);
            return Ok(());
        }
        self.stream.write_all(head.as_bytes())?;
        self.stream.write_all(body)?;
        self.stream.flush()
    }

    /// Keep the responses back until [`Conn::release`]: a handler that
    /// records a request after answering it can then release the answer
    /// once it is recorded, so a client never hears back before the test
    /// can see its request.
    pub fn hold(&mut self) {
        self.held.get_or_insert_with(Vec::new);
    }

    /// Send what [`Conn::hold`] kept back.
    pub fn release(&mut self) -> io::Result<()> {
        match self.held.take() {
            Some(bytes) if !bytes.is_empty() => {
                self.stream.write_all(&bytes)?;
                self.stream.flush()
            }
            _ => Ok(()),
        }
    }

    /// Close abruptly. Unread request bytes make the kernel send a RST.
    pub fn reset(self) {
        drop(self.reader);
        drop(self.stream);
    }

    /// Close our side for writing and reading.
    pub fn shutdown(&mut self) {
        let _ = self.release();
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

pub type Handler = dyn Fn(&mut Conn, Head) -> Flow + Send + Sync;

/// A running server on 127.0.0.1 (stops accepting when dropped).
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Server {
    pub fn start(handler: Arc<Handler>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let handler = handler.clone();
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
                    // as production servers do: no Nagle delay on small replies
                    let _ = stream.set_nodelay(true);
                    let Ok(read_half) = stream.try_clone() else {
                        return;
                    };
                    let mut conn = Conn {
                        reader: BufReader::new(read_half),
                        stream,
                        held: None,
                    };
                    while let Ok(Some(head)) = conn.read_head() {
                        match handler(&mut conn, head) {
                            Flow::KeepAlive => continue,
                            Flow::Close => break,
                        }
                    }
                });
            }
        });
        Server { addr, stop }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

/// A misbehaviour to apply to the next request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Behave normally for this request (to aim a later fault).
    Pass,
    /// Read the body, answer this status (with a JSON error body).
    Status(u16),
    /// Read the body, answer 429 with this `Retry-After` value.
    TooManyRequests(String),
    /// Read part of the body, then close (the client sees a reset).
    ResetMidBody,
    /// Read the head, wait this long, close without reading the body or
    /// answering (an overloaded server; nothing is stored).
    StallBeforeBody(Duration),
    /// Wait this long after the head, then behave normally (a slow server:
    /// a client killed meanwhile leaves nothing stored).
    SlowBeforeBody(Duration),
    /// Read and store the body, wait this long, then answer 200 (the client
    /// has timed out by then: the outcome is ambiguous for it).
    StallAfterStore(Duration),
    /// Read the body, answer 200 with an HTML page (a captive portal).
    Html200,
}
