//! `start_time.txt`: when the build started, written by a modified
//! `run_test.sh` (docs/inputs.md#start-time-files). No public specification of the
//! file exists, so every common way of writing "now" with `date` is
//! accepted:
//!
//! | writer | example |
//! |---|---|
//! | `date +%s` (and `date +%s.%N`) | `1795908841`, `1795908841.250` |
//! | RFC 3339 | `2026-11-28T23:34:01Z`, `2026-11-28T23:34:01+01:00` |
//! | `date -u +%Y-%m-%dT%H:%M:%S%z` | `2026-11-28T23:34:01+0000` |
//! | `date -R` (RFC 2822) | `Sat, 28 Nov 2026 23:34:01 +0000` |
//! | `date` in the C locale | `Sat Nov 28 23:34:01 UTC 2026` |
//!
//! The C-locale form carries a zone *abbreviation*; only `UTC`, `GMT`, `UT`,
//! `Z` and numeric zones (`+03`, `+0330`) are accepted, since abbreviations
//! such as `CST` or `IST` name several offsets. A value without any offset is
//! refused rather than guessed.
//!
//! Output: [`keys::START_TIME`], always in UTC with a `Z` suffix, whole
//! seconds unless the input had a fraction (then 3, 6 or 9 digits):
//! `2026-11-28T23:34:01Z`. This is the form of the corpus `truth.json`
//! `start_time.rfc3339`.
//!
//! `start_time.epoch` (plain `date +%s`) is read only when `start_time.txt`
//! is absent. The file is a user-facing input: blank lines and surrounding
//! whitespace are tolerated, anything else is a [`ParseError`] naming the
//! file and line.

use chrono::{DateTime, FixedOffset, NaiveDateTime, SecondsFormat, Utc};

use crate::commit_txt::{shorten, trim_line};
use crate::{keys, Facts, Input, ParseError, Parser};

/// Files read, in order of preference; the first present one is used.
pub const START_TIME_FILES: &[&str] = &["start_time.txt", "start_time.epoch"];

/// Bytes read at most; a longer file cannot be a single timestamp.
const LIMIT: u64 = 64 * 1024;

/// Largest accepted epoch: 9999-12-31T23:59:59Z. A larger number is more
/// likely milliseconds (`date +%s%3N`) than a date.
const MAX_EPOCH: i64 = 253_402_300_799;

/// `start_time.txt` / `start_time.epoch` parser.
pub struct StartTime;

impl Parser for StartTime {
    fn id(&self) -> &'static str {
        "start-time"
    }
    fn description(&self) -> &'static str {
        "start_time.txt (epoch, RFC 3339, date -R or C-locale date) or start_time.epoch: the build start, as RFC 3339 UTC"
    }
    fn inputs(&self) -> &'static [&'static str] {
        START_TIME_FILES
    }
    fn parse(&self, input: &Input, facts: &mut Facts) -> Result<(), ParseError> {
        for rel in START_TIME_FILES {
            let Some((name, text)) = input.read_small(rel, LIMIT)? else {
                continue;
            };
            if text.len() as u64 >= LIMIT {
                return Err(ParseError::syntax(
                    &name,
                    None,
                    format!("larger than {LIMIT} bytes; expected one timestamp"),
                ));
            }
            let (line, dt) = parse_start_time(&text)
                .map_err(|(line, msg)| ParseError::syntax(&name, line, msg))?;
            facts.push(keys::START_TIME, to_rfc3339_utc(&dt), &name, Some(line));
            return Ok(());
        }
        Ok(())
    }
}

/// Parse the text of a start-time file: exactly one non-blank line holding
/// a timestamp. Returns its 1-based line number and the instant, or the line
/// (if any) and a message.
pub fn parse_start_time(text: &str) -> Result<(u64, DateTime<FixedOffset>), (Option<u64>, String)> {
    let mut found = None;
    for (idx, raw) in text.lines().enumerate() {
        let lineno = idx as u64 + 1;
        let line = trim_line(raw);
        if line.is_empty() {
            continue;
        }
        if found.is_some() {
            return Err((
                Some(lineno),
                format!(
                    "unexpected second value `{}`; expected one timestamp",
                    shorten(line)
                ),
            ));
        }
        let dt = parse_timestamp(line).map_err(|m| (Some(lineno), m))?;
        found = Some((lineno, dt));
    }
    found.ok_or((
        None,
        "empty; expected a timestamp (`date +%s` or RFC 3339)".to_string(),
    ))
}

/// RFC 3339 in UTC with `Z`, sub-second digits only when there are any.
pub fn to_rfc3339_utc(dt: &DateTime<FixedOffset>) -> String {
    dt.with_timezone(&Utc)
        .to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Parse one timestamp in any of the accepted forms (see the module doc).
pub fn parse_timestamp(s: &str) -> Result<DateTime<FixedOffset>, String> {
    let s = s.trim();
    if s.starts_with(|c: char| c.is_ascii_digit()) && !s.contains(['-', ':', ' ']) {
        return parse_epoch(s);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Ok(dt);
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%z",
        "%Y-%m-%d %H:%M:%S %z",
        "%Y-%m-%d %H:%M:%S%.f %z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(s, fmt) {
            return Ok(dt);
        }
    }
    if s.contains(',') {
        return DateTime::parse_from_rfc2822(s)
            .map_err(|e| format!("`{}` is not an RFC 2822 date: {e}", shorten(s)));
    }
    if s.starts_with(|c: char| c.is_ascii_alphabetic()) && s.split_whitespace().count() == 6 {
        return parse_c_locale_date(s);
    }
    if NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").is_ok()
        || NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").is_ok()
    {
        return Err(format!(
            "`{}` has no UTC offset; write `date +%s` or `date -u +%Y-%m-%dT%H:%M:%SZ`",
            shorten(s)
        ));
    }
    Err(format!(
        "`{}` is not a timestamp (expected `date +%s`, RFC 3339, `date -R` or `date` output)",
        shorten(s)
    ))
}

/// `1795908841` or `1795908841.123456789` (`date +%s.%N`); digits beyond
/// nanoseconds are dropped.
fn parse_epoch(s: &str) -> Result<DateTime<FixedOffset>, String> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let bad = || format!("`{}` is not an epoch in seconds", shorten(s));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let mut nanos = 0u32;
    if let Some(f) = frac {
        if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        for (i, b) in f.bytes().take(9).enumerate() {
            nanos += u32::from(b - b'0') * 10u32.pow(8 - i as u32);
        }
    }
    let secs: i64 = int
        .parse()
        .ok()
        .filter(|v| *v <= MAX_EPOCH)
        .ok_or_else(|| {
            format!(
                "`{}` is out of range for epoch seconds (milliseconds?)",
                shorten(s)
            )
        })?;
    DateTime::from_timestamp(secs, nanos)
        .map(|d| d.fixed_offset())
        .ok_or_else(bad)
}

/// `Sat Nov 28 23:08:47 UTC 2026` (C-locale `date`).
fn parse_c_locale_date(s: &str) -> Result<DateTime<FixedOffset>, String> {
    let bad = |why: &str| format!("`{}` is not a `date` timestamp: {why}", shorten(s));
    let toks: Vec<&str> = s.split_whitespace().collect();
    let [dow, mon, day, hms, zone, year] = toks[..] else {
        return Err(bad("expected `Www Mmm D HH:MM:SS ZONE YYYY`"));
    };
    let offset = zone_offset(zone).ok_or_else(|| {
        bad(&format!(
            "time zone `{zone}` is ambiguous or unknown (only UTC/GMT or numeric zones are accepted)"
        ))
    })?;
    let naive = NaiveDateTime::parse_from_str(
        &format!("{dow} {mon} {day} {hms} {year}"),
        "%a %b %d %H:%M:%S %Y",
    )
    .map_err(|e| bad(&e.to_string()))?;
    naive
        .and_local_timezone(offset)
        .single()
        .ok_or_else(|| bad("not representable"))
}

/// Offset of a zone as `date` prints it: UTC-like names or `+HH` / `+HHMM`.
fn zone_offset(zone: &str) -> Option<FixedOffset> {
    if ["UTC", "GMT", "UT", "Z"]
        .iter()
        .any(|z| z.eq_ignore_ascii_case(zone))
    {
        return FixedOffset::east_opt(0);
    }
    let (sign, digits) = match zone.as_bytes().first() {
        Some(b'+') => (1, &zone[1..]),
        Some(b'-') => (-1, &zone[1..]),
        _ => return None,
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i32>().ok()?, 0),
        4 => (digits[..2].parse::<i32>().ok()?, digits[2..].parse().ok()?),
        _ => return None,
    };
    if m >= 60 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::check_fixtures;
    use proptest::prelude::*;

    fn utc(s: &str) -> Result<String, String> {
        parse_timestamp(s).map(|d| to_rfc3339_utc(&d))
    }

    #[test]
    fn accepted_forms() {
        let z = "2026-11-28T23:34:01Z";
        let cases: &[(&str, &str)] = &[
            ("1795908841", z),
            ("1795908841.5", "2026-11-28T23:34:01.500Z"),
            ("1795908841.123456789123", "2026-11-28T23:34:01.123456789Z"),
            ("1795908841.000", z),
            ("2026-11-28T23:34:01Z", z),
            ("2026-11-28T23:34:01+00:00", z),
            ("2026-11-29T00:34:01+01:00", z),
            ("2026-11-28t23:34:01z", z),
            ("2026-11-28T23:34:01.25Z", "2026-11-28T23:34:01.250Z"),
            ("2026-11-28T23:34:01+0000", z),
            ("2026-11-28T18:34:01-0500", z),
            ("2026-11-28T23:34:01.5+0000", "2026-11-28T23:34:01.500Z"),
            ("2026-11-28 23:34:01+0000", z),
            ("2026-11-28 23:34:01 +0000", z),
            ("Sat, 28 Nov 2026 23:34:01 +0000", z),
            ("Sun, 29 Nov 2026 00:34:01 +0100", z),
            ("Sat Nov 28 23:34:01 UTC 2026", z),
            ("Sat Nov 28 23:34:01 GMT 2026", z),
            ("Sun Nov 29 02:34:01 +03 2026", z),
            ("Sat Nov 28 18:04:01 -0530 2026", z),
            ("Sun Nov  1 10:00:00 UTC 2026", "2026-11-01T10:00:00Z"),
        ];
        for (input, want) in cases {
            assert_eq!(utc(input).as_deref(), Ok(*want), "input {input:?}");
        }
    }

    #[test]
    fn rejected_forms() {
        let cases: &[(&str, &str)] = &[
            ("yesterday", "not a timestamp"),
            ("1795908841000", "milliseconds"),
            ("99999999999999999999999", "out of range"),
            ("1795908841.", "not an epoch"),
            ("17959x8841", "not an epoch"),
            ("2026-11-28T23:34:01", "no UTC offset"),
            ("2026-11-28 23:34:01", "no UTC offset"),
            ("Sat Nov 28 23:34:01 CET 2026", "`CET` is ambiguous"),
            ("Sat Nov 28 23:34:01 2026", "not a timestamp"),
            ("Fri Nov 28 23:34:01 UTC 2026", "not a `date`"),
            ("Sat, 31 Nov 2026 23:34:01 +0000", "RFC 2822"),
            ("2026-13-28T23:34:01Z", "not a timestamp"),
            ("-1", "not a timestamp"),
        ];
        for (input, needle) in cases {
            let err = utc(input).expect_err(input);
            assert!(err.contains(needle), "{input:?}: {err:?} lacks {needle:?}");
        }
    }

    #[test]
    fn file_level_rules() {
        assert_eq!(
            parse_start_time("\n 1795908841 \r\n\n").map(|(l, d)| (l, to_rfc3339_utc(&d))),
            Ok((2, "2026-11-28T23:34:01Z".to_string()))
        );
        assert_eq!(parse_start_time(" \n").unwrap_err().0, None);
        assert_eq!(
            parse_start_time("1795908841\n1795908842\n").unwrap_err().0,
            Some(2)
        );
        assert_eq!(parse_start_time("x\n").unwrap_err().0, Some(1));
    }

    #[test]
    fn error_names_the_file() {
        let dir = crate::testutil::fixtures_root().join("start-time/bad-garbage");
        let input = crate::testutil::fixture_input(&dir);
        let err = StartTime
            .parse(&input, &mut Facts::new())
            .expect_err("garbage is an error");
        assert!(err.to_string().starts_with("`start_time.txt`:1:"), "{err}");
    }

    #[test]
    fn fixtures() {
        assert!(check_fixtures(&StartTime) >= 5);
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = parse_start_time(&text);
        }

        #[test]
        fn never_panics_on_datelike_text(s in "[A-Za-z0-9 ,:+.TZ-]{0,40}") {
            let _ = parse_start_time(&s);
        }

        /// Every form `date` can write round-trips to the same instant.
        #[test]
        fn date_forms_round_trip(secs in 0i64..=MAX_EPOCH, off_min in -840i32..=840i32) {
            let Some(dt) = DateTime::from_timestamp(secs, 0) else {
                return Err(TestCaseError::fail("in range"));
            };
            let Some(off) = FixedOffset::east_opt(off_min * 60) else {
                return Err(TestCaseError::fail("offset in range"));
            };
            let local = dt.with_timezone(&off);
            let want = to_rfc3339_utc(&dt.fixed_offset());
            let forms = [
                secs.to_string(),
                local.to_rfc3339(),
                local.format("%Y-%m-%dT%H:%M:%S%z").to_string(),
                local.to_rfc2822(),
                dt.format("%a %b %e %H:%M:%S UTC %Y").to_string(),
                local.format("%a %b %e %H:%M:%S %z %Y").to_string(),
            ];
            for f in forms {
                // RFC 2822 has four-digit years only.
                if f.contains(", ") && dt.format("%Y").to_string().len() != 4 {
                    continue;
                }
                let got = utc(&f);
                prop_assert_eq!(got.as_deref(), Ok(want.as_str()), "form {}", f);
            }
        }
    }
}
