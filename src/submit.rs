//! Stage 7: submit a validated report to a KCIDB REST receiver
//! (kcidb-restd-rs, docs/kcidb.md#rest-receiver), with retries, and poll `/status`.
//!
//! Retry schedule (shared with the log uploads in [`crate::artifacts`]):
//! connection errors, timeouts, a reset mid-body, 408, 429 and 5xx are
//! retried; the first retry waits `first_delay` (1 s by default), each next
//! one twice as long, capped at `max_delay` (60 s), each delay drawn
//! uniformly from its upper half (jitter). A `Retry-After` (seconds or HTTP
//! date) replaces the computed delay. Once the next attempt would start
//! after `total` (5 min by default, `--retry-for`), the request gives up and
//! the caller spools the report. 400, 401, 403, 404, 405 and 413 are never
//! retried: they will not change, and the error names the likely fix.

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::blocking::{Body, Client, Response};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{StatusCode, Url};

use crate::clock::{Clock, SystemClock};
use crate::settings::{ConfigError, Endpoint, RetryPolicy, Secret, Settings};

static STOP: AtomicBool = AtomicBool::new(false);

/// Ask every retry loop to give up at its next wait (Ctrl-C). In-flight
/// requests finish; what was not delivered is spooled.
pub fn request_stop() {
    STOP.store(true, Ordering::SeqCst);
}

/// True once [`request_stop`] was called.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// What one attempt of a retried operation concluded.
pub(crate) enum Attempt<T, E> {
    Done(T),
    /// Transient failure: try again (after `after` if the server said so).
    Retry {
        why: String,
        after: Option<Duration>,
    },
    /// Permanent failure: stop now.
    Fail(E),
}

/// Why a retried operation did not succeed.
#[derive(Debug)]
pub(crate) enum Retried<E> {
    Failed(E),
    GaveUp {
        attempts: u32,
        elapsed: Duration,
        last: String,
    },
    Interrupted {
        last: String,
    },
}

/// Run `attempt` until it is done, fails for good, or the policy's time
/// budget is spent.
pub(crate) fn with_retries<T, E>(
    policy: &RetryPolicy,
    clock: &dyn Clock,
    what: &str,
    mut attempt: impl FnMut(u32) -> Attempt<T, E>,
) -> Result<T, Retried<E>> {
    let start = clock.now();
    let mut jitter = Jitter::new();
    let mut n: u32 = 0;
    loop {
        n += 1;
        let (why, after) = match attempt(n) {
            Attempt::Done(v) => return Ok(v),
            Attempt::Fail(e) => return Err(Retried::Failed(e)),
            Attempt::Retry { why, after } => (why, after),
        };
        let backoff = policy
            .first_delay
            .saturating_mul(1u32 << (n - 1).min(20))
            .min(policy.max_delay);
        let delay = match after {
            Some(a) => a,
            None => jitter.upper_half(backoff),
        };
        let elapsed = clock.now() - start;
        if elapsed + delay > policy.total {
            let last = match after {
                Some(a) if a > policy.total => format!(
                    "{why}; the server asked to wait {}s, beyond the retry budget",
                    a.as_secs()
                ),
                _ => why,
            };
            return Err(Retried::GaveUp {
                attempts: n,
                elapsed,
                last,
            });
        }
        tracing::warn!(
            "{what}: {why}; retrying in {:.1}s (attempt {} failed)",
            delay.as_secs_f64(),
            n
        );
        if !clock.sleep(delay, &stop_requested) {
            return Err(Retried::Interrupted { last: why });
        }
    }
}

/// A tiny xorshift generator for jitter (no need for cryptographic
/// randomness, only for runs not to retry in lockstep).
struct Jitter(u64);

impl Jitter {
    fn new() -> Jitter {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9_7f4a_7c15);
        Jitter(nanos ^ (u64::from(std::process::id()) << 32) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    /// Uniform in `[d/2, d]`.
    fn upper_half(&mut self, d: Duration) -> Duration {
        let ms = d.as_millis() as u64;
        if ms < 2 {
            return d;
        }
        let half = ms / 2;
        Duration::from_millis(half + self.next() % (ms - half + 1))
    }
}

/// The HTTP client used for KCIDB and storage: rustls with certificate
/// verification, no redirects (a redirect would silently change where a
/// token goes), the per-request timeout.
pub(crate) fn http_client(timeout: Duration) -> Result<Client, ConfigError> {
    Client::builder()
        .user_agent(concat!("kcidb-harvest/", env!("CARGO_PKG_VERSION")))
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(30)))
        .redirect(reqwest::redirect::Policy::none())
        .use_rustls_tls()
        .build()
        .map_err(|e| {
            ConfigError::Invalid(format!("cannot set up the HTTP client: {}", describe(&e)))
        })
}

/// `Bearer <token>`, marked sensitive so it is never printed in debug output.
pub(crate) fn bearer(token: &Secret) -> Result<HeaderValue, String> {
    let mut v = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
        .map_err(|_| "the token contains characters not allowed in an HTTP header".to_string())?;
    v.set_sensitive(true);
    Ok(v)
}

/// A reqwest error with its causes (`… : connection refused`). URLs never
/// carry credentials here, so this is safe to print.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        src = s.source();
    }
    out
}

/// Whether a transport error is worth retrying: connection problems,
/// timeouts, a body cut short. A request that could not even be built is not.
pub(crate) fn transient(e: &reqwest::Error) -> bool {
    !(e.is_builder() || e.is_redirect())
}

/// Statuses that may change on their own.
pub(crate) fn retryable_status(s: StatusCode) -> bool {
    s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS || s == StatusCode::REQUEST_TIMEOUT
}

/// `Retry-After: <seconds>` or an HTTP date.
pub(crate) fn retry_after(resp: &Response) -> Option<Duration> {
    let v = resp.headers().get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let now = chrono::Utc::now();
    let secs = (when.with_timezone(&chrono::Utc) - now).num_seconds();
    Some(Duration::from_secs(secs.max(0) as u64))
}

/// Read at most `limit` bytes of a response body as text (lossy).
pub(crate) fn read_text(resp: Response, limit: u64) -> String {
    let mut buf = Vec::new();
    // An error mid-body leaves what was read; the caller judges the content.
    let _ = resp.take(limit).read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Server text made safe for one line of a terminal.
pub(crate) fn one_line(s: &str) -> String {
    let t: String = s
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    if t.is_empty() {
        "(empty body)".into()
    } else {
        t
    }
}

/// The receiver's reply body, `{"id","status","message"}` served as
/// text/plain.
#[derive(Debug, Default, serde::Deserialize)]
struct Reply {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// The ingester's verdict on a submission (`GET /status?id=`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IngestStatus {
    /// Validated and loaded by the ingester.
    Processed,
    /// Rejected by the ingester (schema error, …): a bug on our side.
    Failed,
    /// Still waiting when we stopped polling; the last status seen.
    Pending(String),
    /// The status could not be learned; why.
    Unknown(String),
}

impl IngestStatus {
    /// Short word for journals and JSON output.
    pub fn as_str(&self) -> &str {
        match self {
            IngestStatus::Processed => "processed",
            IngestStatus::Failed => "failed",
            IngestStatus::Pending(_) => "pending",
            IngestStatus::Unknown(_) => "unknown",
        }
    }
}

impl fmt::Display for IngestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IngestStatus::Processed => f.write_str("processed (validated and loaded by the ingester)"),
            IngestStatus::Failed => f.write_str(
                "failed: the KCIDB ingester rejected the report (please report this bug with the spooled JSON)",
            ),
            IngestStatus::Pending(s) => write!(f, "still `{s}` when polling stopped"),
            IngestStatus::Unknown(why) => write!(f, "unknown ({why})"),
        }
    }
}

/// Why a submission did not go through.
#[derive(Debug)]
pub enum SubmitError {
    /// The server refused it and will refuse it again (400, 401, 413, …).
    Rejected {
        status: u16,
        message: String,
        hint: String,
    },
    /// Transient failures until the retry budget ran out.
    GaveUp {
        attempts: u32,
        elapsed: Duration,
        last: String,
    },
    /// Ctrl-C during the retries.
    Interrupted { last: String },
    /// A 200 that is not a KCIDB receiver's answer (wrong URL, a proxy page).
    Protocol(String),
}

impl SubmitError {
    /// True when sending again later cannot help without a change by the
    /// user (token, size, URL): stop trying for the rest of the run.
    pub fn endpoint_broken(&self) -> bool {
        match self {
            SubmitError::Rejected { status, .. } => *status != 413,
            SubmitError::GaveUp { .. } | SubmitError::Interrupted { .. } => true,
            SubmitError::Protocol(_) => true,
        }
    }
}

impl fmt::Display for SubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitError::Rejected {
                status,
                message,
                hint,
            } => write!(
                f,
                "the KCIDB server refused the report: HTTP {status}: {message}; {hint}"
            ),
            SubmitError::GaveUp {
                attempts,
                elapsed,
                last,
            } => write!(
                f,
                "KCIDB server unavailable after {attempts} attempts over {:.0}s (last: {last})",
                elapsed.as_secs_f64()
            ),
            SubmitError::Interrupted { last } => {
                write!(f, "interrupted while retrying (last: {last})")
            }
            SubmitError::Protocol(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for SubmitError {}

/// The likely fix for a status that will not change.
fn hint_for(status: StatusCode, message: &str, max_bytes: usize) -> String {
    let m = message.to_ascii_lowercase();
    match status.as_u16() {
        401 if m.contains("expired") => {
            "the KCIDB token has expired: ask the KCIDB maintainers (kernelci@lists.linux.dev) for a new one".into()
        }
        401 if m.contains("origin") || m.contains("gendate") => {
            "the token lacks the claims this server needs (`origin`, and `gendate` on older servers): ask for a token issued for your origin".into()
        }
        401 if m.contains("signature") || m.contains("algorithm") || m.contains("audience") => {
            "the token was not issued for this server: check kcidb_token / KCIDB_REST / --kcidb-token-file and the URL".into()
        }
        401 | 403 => {
            "check the KCIDB token (kcidb_token in kci-dev.toml, KCIDB_REST or --kcidb-token-file)".into()
        }
        413 => format!(
            "the submission is too large for this server: lower --max-bytes (now {max_bytes}) and send the spool again"
        ),
        400 => "the server could not read the report as JSON; this is a kcidb-harvest bug: please report it with the spooled file".into(),
        404 | 405 => "wrong URL: the submission URL ends in /submit (e.g. https://db.kernelci.org/submit)".into(),
        _ => "the server will answer the same way again; check the URL and token".into(),
    }
}

/// A KCIDB REST client for one endpoint.
pub struct RestClient {
    http: Client,
    url: Url,
    status_url: Url,
    auth: HeaderValue,
    retry: RetryPolicy,
    max_bytes: usize,
    clock: Arc<dyn Clock>,
}

/// One poll of `--wait` that did not give the verdict yet.
#[derive(Clone, Debug)]
pub struct WaitProgress<'a> {
    pub submission_id: &'a str,
    /// What the receiver said (`ready`, `HTTP 503`, …).
    pub status: &'a str,
    pub polls: u32,
    /// When the next poll is.
    pub next: Duration,
}

impl RestClient {
    pub fn new(ep: &Endpoint, settings: &Settings) -> Result<RestClient, ConfigError> {
        let mut status_url = ep.url.clone();
        let path = status_url.path().trim_end_matches('/').to_string();
        let base = path.strip_suffix("/submit").unwrap_or(&path).to_string();
        status_url.set_path(&format!("{base}/status"));
        status_url.set_query(None);
        Ok(RestClient {
            http: http_client(settings.timeout)?,
            url: ep.url.clone(),
            status_url,
            auth: bearer(&ep.token).map_err(ConfigError::Invalid)?,
            retry: settings.retry,
            max_bytes: settings.max_bytes,
            clock: Arc::new(SystemClock),
        })
    }

    /// The same client on another clock (tests: a [`crate::clock::FakeClock`]).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> RestClient {
        self.clock = clock;
        self
    }

    /// The submit URL (no credentials in it).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// POST one KCIDB document; the submission id on a 200.
    pub fn submit(&self, body: &str) -> Result<String, SubmitError> {
        self.submit_body(|| Ok(Body::from(body.to_string())))
    }

    /// POST the KCIDB document in `file` (`len` bytes) as it is on disk,
    /// read as it is sent (not held in memory).
    pub fn submit_file(&self, file: &Path, len: u64) -> Result<String, SubmitError> {
        self.submit_body(|| {
            let f = std::fs::File::open(file)
                .map_err(|e| format!("cannot read `{}`: {e}", file.display()))?;
            Ok(Body::sized(f, len))
        })
    }

    fn submit_body(&self, body: impl Fn() -> Result<Body, String>) -> Result<String, SubmitError> {
        let what = format!("submit to {}", self.url);
        let r = with_retries(&self.retry, self.clock.as_ref(), &what, |_| {
            let body = match body() {
                Ok(b) => b,
                Err(e) => return Attempt::Fail(SubmitError::Protocol(e)),
            };
            let resp = self
                .http
                .post(self.url.clone())
                .header(AUTHORIZATION, self.auth.clone())
                .header(CONTENT_TYPE, "application/json")
                .body(body)
                .send();
            let resp = match resp {
                Ok(r) => r,
                Err(e) if transient(&e) => {
                    return Attempt::Retry {
                        why: describe(&e),
                        after: None,
                    }
                }
                Err(e) => return Attempt::Fail(SubmitError::Protocol(describe(&e))),
            };
            let status = resp.status();
            let after = retry_after(&resp);
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let text = read_text(resp, 64 * 1024);
            let reply: Option<Reply> = serde_json::from_str(&text).ok();
            let message = reply
                .as_ref()
                .and_then(|r| r.message.clone())
                .unwrap_or_else(|| text.clone());
            if status == StatusCode::OK {
                return match reply {
                    Some(Reply {
                        id: Some(id),
                        status: st,
                        ..
                    }) if valid_submission_id(&id) && st.as_deref().is_none_or(|s| s == "ok") => {
                        Attempt::Done(id)
                    }
                    _ => Attempt::Fail(SubmitError::Protocol(format!(
                        "{} answered 200 but not like a KCIDB receiver (expected {{\"id\",\"status\":\"ok\"}}, got: {}); is the URL right?",
                        self.url,
                        one_line(&text)
                    ))),
                };
            }
            if retryable_status(status) {
                return Attempt::Retry {
                    why: format!("HTTP {}: {}", status.as_u16(), one_line(&message)),
                    after,
                };
            }
            if status.is_redirection() {
                return Attempt::Fail(SubmitError::Rejected {
                    status: status.as_u16(),
                    message: format!("redirected to {}", location.as_deref().unwrap_or("?")),
                    hint: "use the final URL as the submission URL (redirects are not followed so the token never goes elsewhere)".into(),
                });
            }
            Attempt::Fail(SubmitError::Rejected {
                status: status.as_u16(),
                message: one_line(&message),
                hint: hint_for(status, &message, self.max_bytes),
            })
        });
        r.map_err(|e| match e {
            Retried::Failed(e) => e,
            Retried::GaveUp {
                attempts,
                elapsed,
                last,
            } => SubmitError::GaveUp {
                attempts,
                elapsed,
                last,
            },
            Retried::Interrupted { last } => SubmitError::Interrupted { last },
        })
    }

    /// Poll `GET /status?id=` until `processed` or `failed`, for at most
    /// `limit`; `progress` hears of every poll that did not decide (so a
    /// receiver that never processes is not minutes of silence).
    pub fn wait(
        &self,
        id: &str,
        limit: Duration,
        progress: &mut dyn FnMut(&WaitProgress<'_>),
    ) -> IngestStatus {
        let start = self.clock.now();
        let mut delay = Duration::from_millis(500);
        let mut last = String::from("ready");
        let mut notfound = 0;
        let mut polls: u32 = 0;
        loop {
            polls += 1;
            let mut url = self.status_url.clone();
            url.query_pairs_mut().append_pair("id", id);
            match self
                .http
                .get(url)
                .header(AUTHORIZATION, self.auth.clone())
                .send()
            {
                Ok(resp) => {
                    let code = resp.status();
                    let text = read_text(resp, 64 * 1024);
                    let st = serde_json::from_str::<Reply>(&text)
                        .ok()
                        .and_then(|r| r.status);
                    match (code.as_u16(), st.as_deref()) {
                        (200, Some("processed")) => return IngestStatus::Processed,
                        (200, Some("failed")) => return IngestStatus::Failed,
                        (200, Some(s)) => last = s.to_string(),
                        (404, _) => {
                            notfound += 1;
                            if notfound >= 3 {
                                return IngestStatus::Unknown(
                                    "the server does not know this id: aged out, or a server without /status".into(),
                                );
                            }
                        }
                        (c, _) if c == 401 || c == 403 || c == 400 || c == 405 => {
                            return IngestStatus::Unknown(format!(
                                "HTTP {c} from /status: {}",
                                one_line(&text)
                            ))
                        }
                        (c, _) => last = format!("HTTP {c}"),
                    }
                }
                Err(e) => last = describe(&e),
            }
            if self.clock.now() - start + delay > limit {
                return IngestStatus::Pending(last);
            }
            progress(&WaitProgress {
                submission_id: id,
                status: &last,
                polls,
                next: delay,
            });
            if !self.clock.sleep(delay, &stop_requested) {
                return IngestStatus::Pending(last);
            }
            delay = (delay * 2).min(Duration::from_secs(30));
        }
    }
}

/// Submission ids are kept in the journal: accept only plain tokens.
fn valid_submission_id(id: &str) -> bool {
    !id.is_empty()
        && id != "0"
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;

    fn policy(total_ms: u64) -> RetryPolicy {
        RetryPolicy {
            first_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            total: Duration::from_millis(total_ms),
        }
    }

    #[test]
    fn retries_until_done() {
        let r: Result<u32, Retried<()>> =
            with_retries(&policy(5_000), &FakeClock::new(), "t", |n| {
                if n < 4 {
                    Attempt::Retry {
                        why: "503".into(),
                        after: None,
                    }
                } else {
                    Attempt::Done(n)
                }
            });
        assert_eq!(r.ok(), Some(4));
    }

    #[test]
    fn permanent_failure_stops_at_once() {
        let mut calls = 0;
        let r: Result<(), Retried<&str>> =
            with_retries(&policy(5_000), &FakeClock::new(), "t", |_| {
                calls += 1;
                Attempt::Fail("401")
            });
        assert!(matches!(r, Err(Retried::Failed("401"))));
        assert_eq!(calls, 1);
    }

    #[test]
    fn gives_up_within_budget() {
        let clock = FakeClock::new();
        let r: Result<(), Retried<()>> =
            with_retries(&policy(200), &clock, "t", |_| Attempt::Retry {
                why: "down".into(),
                after: None,
            });
        match r {
            Err(Retried::GaveUp { attempts, last, .. }) => {
                assert!(attempts >= 4, "{attempts}");
                assert_eq!(last, "down");
            }
            _ => panic!("expected GaveUp"),
        }
        // the waits: doubling from 10 ms, capped at 40 ms, each in its upper
        // half, and never past the budget
        let sleeps = clock.sleeps();
        let caps = [10u64, 20, 40, 40, 40, 40, 40, 40, 40, 40];
        for (d, cap) in sleeps.iter().zip(caps) {
            let ms = d.as_millis() as u64;
            assert!(ms >= cap / 2 && ms <= cap, "{sleeps:?}");
        }
        let waited: Duration = sleeps.iter().sum();
        assert!(waited <= Duration::from_millis(200), "{sleeps:?}");
    }

    #[test]
    fn retry_after_replaces_the_backoff() {
        let clock = FakeClock::new();
        let mut n = 0;
        let r: Result<(), Retried<()>> = with_retries(&policy(5_000), &clock, "t", |_| {
            n += 1;
            if n == 1 {
                Attempt::Retry {
                    why: "HTTP 429".into(),
                    after: Some(Duration::from_secs(2)),
                }
            } else {
                Attempt::Done(())
            }
        });
        assert!(r.is_ok());
        assert_eq!(clock.sleeps(), [Duration::from_secs(2)]);
    }

    #[test]
    fn retry_after_beyond_budget_gives_up_now() {
        let r: Result<(), Retried<()>> =
            with_retries(&policy(1_000), &FakeClock::new(), "t", |_| Attempt::Retry {
                why: "HTTP 429".into(),
                after: Some(Duration::from_secs(3600)),
            });
        match r {
            Err(Retried::GaveUp { attempts, last, .. }) => {
                assert_eq!(attempts, 1);
                assert!(last.contains("3600s"), "{last}");
            }
            _ => panic!("expected GaveUp"),
        }
    }

    #[test]
    fn jitter_stays_in_upper_half() {
        let mut j = Jitter::new();
        for _ in 0..1000 {
            let d = j.upper_half(Duration::from_millis(1000));
            assert!(d >= Duration::from_millis(500) && d <= Duration::from_millis(1000));
        }
    }

    #[test]
    fn hints_name_the_cause() {
        assert!(hint_for(StatusCode::UNAUTHORIZED, "ExpiredSignature", 1).contains("expired"));
        assert!(hint_for(
            StatusCode::UNAUTHORIZED,
            "JSON error: missing field `origin` at line 1 column 32",
            1
        )
        .contains("origin"));
        assert!(
            hint_for(StatusCode::PAYLOAD_TOO_LARGE, "length limit exceeded", 77)
                .contains("--max-bytes (now 77)")
        );
    }

    #[test]
    fn submission_ids() {
        assert!(valid_submission_id("aZ09aZ09aZ09aZ09aZ09aZ09aZ09aZ09"));
        assert!(!valid_submission_id("0"));
        assert!(!valid_submission_id(""));
        assert!(!valid_submission_id("a b"));
        assert!(!valid_submission_id("../x"));
    }
}
