//! The output of `time` around the build (docs/inputs.md#time-output-formats): how long it
//! took and, for GNU time, its exit status and peak memory.
//!
//! Files looked at, relative to the result directory, in this order
//! ([`TIME_FILES`]; each may also be `<name>.gz`): `time`, `time.log`,
//! `time.txt`, `time-v.txt`. Every file present is parsed and every
//! timing block found is emitted in file order, so a consumer taking the
//! last value gets the most detailed source (`time-v.txt`) and, within a
//! file, the last run. Layouts that know other names call [`parse_time_file`].
//!
//! Formats recognised, anywhere in the file (a timing may close a longer
//! log), with the [`keys::TIME_FORMAT`] value each gets:
//!
//! | format | elapsed line | extra |
//! |---|---|---|
//! | `bash` | `real\t3m18.323s` (minutes are never rolled into hours) | — |
//! | `posix` | `real 1.21` (`time -p`) | — |
//! | `gnu` | `0.00user 0.00system 0:01.20elapsed 0%CPU (0avgtext+0avgdata 1696maxresident)k` | `Command exited with non-zero status N` before it; its absence means exit status 0 |
//! | `gnu-verbose` | `\tElapsed (wall clock) time (h:mm:ss or m:ss): 0:01.20` | `Exit status: N`, `Maximum resident set size (kbytes): N` |
//!
//! GNU elapsed values are `m:ss.cc` below an hour and `h:mm:ss` above; they
//! are told apart by counting colons. bash prints the locale's decimal
//! separator, so `0m1,207s` is accepted too.
//!
//! When GNU time says `Command terminated by signal N` (or `stopped by`),
//! [`keys::TIME_SIGNAL`] is emitted and no exit status: GNU time then
//! prints the signal number in `Exit status:`, which is not an exit code.
//!
//! Emits [`keys::TIME_FORMAT`], [`keys::TIME_ELAPSED`] (float seconds),
//! [`keys::TIME_EXIT`], [`keys::TIME_MAX_RSS`] (kB), [`keys::TIME_SIGNAL`];
//! a file with no timing in it gives a note.

use nom::bytes::complete::tag;
use nom::character::complete::{char, digit1, one_of, space0, space1};
use nom::combinator::{all_consuming, map_res, opt};
use nom::sequence::preceded;
use nom::{IResult, Parser as _};

use crate::logscan::{scan, LineSink};
use crate::{keys, Facts, Input, ParseError, Parser};

/// Files that may hold `time` output, in the order they are parsed.
pub const TIME_FILES: &[&str] = &["time", "time.log", "time.txt", "time-v.txt"];

/// `time` output parser.
pub struct TimeOutput;

impl Parser for TimeOutput {
    fn id(&self) -> &'static str {
        "time-output"
    }
    fn description(&self) -> &'static str {
        "time output (bash time, time -p, GNU time default and -v) in time, time.log, time.txt, time-v.txt: elapsed seconds, exit status, max RSS"
    }
    fn inputs(&self) -> &'static [&'static str] {
        TIME_FILES
    }
    fn parse(&self, input: &Input, facts: &mut Facts) -> Result<(), ParseError> {
        for rel in TIME_FILES {
            parse_time_file(input, rel, facts)?;
        }
        Ok(())
    }
}

/// Parse one file (`rel` or `rel.gz`) for `time` output. A missing file or
/// a directory of that name gives nothing; binary content gives a note.
pub fn parse_time_file(input: &Input, rel: &str, facts: &mut Facts) -> Result<(), ParseError> {
    if !input.exists(rel) {
        return Ok(());
    }
    let Some(opened) = input.open(rel)? else {
        return Ok(());
    };
    let mut sink = TimeSink::new();
    match scan(&opened.name, opened.reader, &mut [&mut sink]) {
        Ok(_) => {}
        Err(ParseError::Binary { reason, .. }) => {
            facts.note(
                &opened.name,
                None,
                format!("not a text file ({reason}); ignored"),
            );
            return Ok(());
        }
        Err(e) => return Err(e),
    }
    sink.emit(&opened.name, facts);
    Ok(())
}

/// One `time` report.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timing {
    /// `bash`, `posix`, `gnu` or `gnu-verbose`.
    pub format: &'static str,
    /// Line where the report starts.
    pub line: u64,
    pub elapsed: Option<(f64, u64)>,
    pub exit: Option<(i64, u64)>,
    pub max_rss_kb: Option<(i64, u64)>,
    pub signal: Option<(i64, u64)>,
}

/// Line consumer collecting [`Timing`]s and notes.
#[derive(Default)]
pub struct TimeSink {
    pub timings: Vec<Timing>,
    /// `(line, message)` of oddities.
    pub notes: Vec<(u64, String)>,
    cur: Option<Timing>,
    /// `Command exited with non-zero status N` seen, for the next report.
    pending_exit: Option<(i64, u64)>,
    /// `Command terminated by signal N` seen, for the next report.
    pending_signal: Option<(i64, u64)>,
    /// `Exit status: N` of the current verbose report.
    verbose_exit: Option<(i64, u64)>,
}

impl TimeSink {
    pub fn new() -> Self {
        Self::default()
    }

    fn start(&mut self, format: &'static str, line: u64) {
        self.close();
        self.cur = Some(Timing {
            format,
            line,
            exit: self.pending_exit.take(),
            signal: self.pending_signal.take(),
            ..Timing::default()
        });
    }

    fn close(&mut self) {
        let Some(mut t) = self.cur.take() else {
            return;
        };
        if let Some((code, line)) = self.verbose_exit.take() {
            if t.signal.is_some() {
                self.notes.push((
                    line,
                    format!("`Exit status: {code}` is the signal number here; not an exit status"),
                ));
            } else {
                if let Some((prev, _)) = t.exit {
                    if prev != code {
                        self.notes.push((
                            line,
                            format!("`Exit status: {code}` disagrees with `Command exited with non-zero status {prev}`"),
                        ));
                    }
                }
                t.exit = Some((code, line));
            }
        }
        if t.format == "gnu" && t.exit.is_none() && t.signal.is_none() {
            // GNU time prints the status line only for a non-zero status.
            t.exit = t.elapsed.map(|(_, l)| (0, l));
        }
        if t.elapsed.is_some() {
            self.timings.push(t);
        } else {
            self.notes.push((
                t.line,
                "GNU time -v report without an `Elapsed (wall clock) time` line; ignored".into(),
            ));
        }
    }

    /// Emit the facts of every report, in order.
    pub fn emit(mut self, file: &str, facts: &mut Facts) {
        self.close();
        if let Some((_, line)) = self.pending_exit.take().or(self.pending_signal.take()) {
            self.notes.push((
                line,
                "GNU time status line not followed by a timing report".into(),
            ));
        }
        for t in &self.timings {
            facts.push(keys::TIME_FORMAT, t.format, file, Some(t.line));
            if let Some((v, l)) = t.elapsed {
                facts.push(keys::TIME_ELAPSED, v, file, Some(l));
            }
            if let Some((v, l)) = t.exit {
                facts.push(keys::TIME_EXIT, v, file, Some(l));
            }
            if let Some((v, l)) = t.max_rss_kb {
                facts.push(keys::TIME_MAX_RSS, v, file, Some(l));
            }
            if let Some((v, l)) = t.signal {
                facts.push(keys::TIME_SIGNAL, v, file, Some(l));
            }
        }
        if self.timings.is_empty() {
            facts.note(file, None, "no `time` output recognised");
        }
        for (line, msg) in self.notes {
            facts.note(file, Some(line), msg);
        }
    }

    fn in_verbose(&self) -> bool {
        self.cur.as_ref().is_some_and(|t| t.format == "gnu-verbose")
    }
}

impl LineSink for TimeSink {
    fn line(&mut self, n: u64, raw: &[u8]) {
        // All recognised lines are short ASCII; skip anything long early.
        if raw.len() > 512 {
            return;
        }
        let text = String::from_utf8_lossy(raw);
        let l = text.trim();
        if l.is_empty() {
            return;
        }
        if let Some(code) = status_line(l, "Command exited with non-zero status ") {
            self.close();
            self.pending_exit = Some((code, n));
        } else if let Some(sig) = status_line(l, "Command terminated by signal ")
            .or_else(|| status_line(l, "Command stopped by signal "))
        {
            self.close();
            self.pending_signal = Some((sig, n));
        } else if let Some(secs) = bash_real(l) {
            self.start("bash", n);
            self.set_elapsed(secs, n);
        } else if let Some(secs) = posix_real(l) {
            self.start("posix", n);
            self.set_elapsed(secs, n);
        } else if let Some((secs, rss)) = gnu_default(l) {
            self.start("gnu", n);
            self.set_elapsed(secs, n);
            if let (Some(t), Some(rss)) = (self.cur.as_mut(), rss) {
                t.max_rss_kb = Some((rss, n));
            }
        } else if l.starts_with("Command being timed:") {
            self.start("gnu-verbose", n);
        } else if let Some(v) = l.strip_prefix("Elapsed (wall clock) time (h:mm:ss or m:ss):") {
            let needs_new =
                !self.in_verbose() || self.cur.as_ref().is_some_and(|t| t.elapsed.is_some());
            if needs_new {
                self.start("gnu-verbose", n);
            }
            match clock_seconds(v.trim()) {
                Some(secs) => self.set_elapsed(secs, n),
                None => self
                    .notes
                    .push((n, format!("unreadable elapsed time `{}`", v.trim()))),
            }
        } else if let Some(v) = l.strip_prefix("Maximum resident set size (kbytes):") {
            if let (true, Some(kb)) = (self.in_verbose(), int(v.trim())) {
                if let Some(t) = self.cur.as_mut() {
                    t.max_rss_kb = Some((kb, n));
                }
            }
        } else if let Some(v) = l.strip_prefix("Exit status:") {
            if let (true, Some(code)) = (self.in_verbose(), int(v.trim())) {
                self.verbose_exit = Some((code, n));
            }
        }
    }

    fn finish(&mut self) {
        self.close();
    }
}

impl TimeSink {
    fn set_elapsed(&mut self, secs: f64, n: u64) {
        if let Some(t) = self.cur.as_mut() {
            t.elapsed = Some((secs, n));
        }
    }
}

type Res<'a, T> = IResult<&'a str, T>;

/// `<digits>[.,<digits>]` as (integer part, fraction digits).
fn decimal(i: &str) -> Res<'_, (u64, &str)> {
    (
        map_res(digit1, str::parse::<u64>),
        opt(preceded(one_of(".,"), digit1)),
    )
        .map(|(int, frac)| (int, frac.unwrap_or("")))
        .parse(i)
}

fn uint(i: &str) -> Res<'_, u64> {
    map_res(digit1, str::parse::<u64>).parse(i)
}

/// Seconds as a float from whole seconds and fraction digits, without
/// binary rounding noise (`198` + `323` gives exactly the double of 198.323).
fn seconds(whole: u64, frac: &str) -> Option<f64> {
    if frac.is_empty() {
        format!("{whole}").parse().ok()
    } else {
        format!("{whole}.{frac}").parse().ok()
    }
}

/// bash: `real\t<M>m<S>.<mmm>s`.
fn bash_real(l: &str) -> Option<f64> {
    let (_, (m, (s, frac))) = all_consuming((
        preceded((tag("real"), space1), uint),
        preceded(char('m'), decimal),
    ))
    .parse(l.strip_suffix('s')?)
    .ok()?;
    seconds(m.checked_mul(60)?.checked_add(s)?, frac)
}

/// POSIX `time -p`: `real <S>.<cc>`.
fn posix_real(l: &str) -> Option<f64> {
    let (_, (s, frac)) = all_consuming(preceded((tag("real"), space1), decimal))
        .parse(l)
        .ok()?;
    seconds(s, frac)
}

/// GNU elapsed `m:ss[.cc]` or `h:mm:ss[.cc]`.
fn clock(i: &str) -> Res<'_, f64> {
    let (i, (a, b, c)) = (
        uint,
        preceded(char(':'), uint),
        opt(preceded(char(':'), decimal)),
    )
        .parse(i)?;
    let (whole, frac) = match c {
        // h:mm:ss
        Some((s, frac)) => (
            a.checked_mul(3600)
                .and_then(|h| b.checked_mul(60).and_then(|m| h.checked_add(m)))
                .and_then(|hm| hm.checked_add(s)),
            frac,
        ),
        // m:ss — the seconds may carry the fraction.
        None => {
            let (i2, frac) = opt(preceded(one_of(".,"), digit1)).parse(i)?;
            return match a
                .checked_mul(60)
                .and_then(|m| m.checked_add(b))
                .and_then(|w| seconds(w, frac.unwrap_or("")))
            {
                Some(v) => Ok((i2, v)),
                None => Err(nom::Err::Error(nom::error::Error::new(
                    i,
                    nom::error::ErrorKind::Verify,
                ))),
            };
        }
    };
    match whole.and_then(|w| seconds(w, frac)) {
        Some(v) => Ok((i, v)),
        None => Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Verify,
        ))),
    }
}

/// A whole GNU elapsed value.
fn clock_seconds(v: &str) -> Option<f64> {
    all_consuming(clock).parse(v).ok().map(|(_, s)| s)
}

/// GNU time default format, first usage line:
/// `0.00user 0.00system 0:01.20elapsed 0%CPU (0avgtext+0avgdata 1696maxresident)k`.
/// Returns elapsed seconds and max RSS (when readable).
fn gnu_default(l: &str) -> Option<(f64, Option<i64>)> {
    let (rest_of_line, (_, _, (secs, _))) = (
        (decimal, tag("user"), space1),
        (decimal, tag("system"), space1),
        (clock, tag("elapsed")),
    )
        .parse(l)
        .ok()?;
    let rss = maxresident(rest_of_line);
    Some((secs, rss))
}

/// `... (0avgtext+0avgdata 1696maxresident)k` → 1696.
fn maxresident(tail: &str) -> Option<i64> {
    let idx = tail.find("maxresident")?;
    let before = &tail[..idx];
    let digits_start = before
        .char_indices()
        .rev()
        .find(|(_, c)| !c.is_ascii_digit())
        .map_or(0, |(p, c)| p + c.len_utf8());
    int(&before[digits_start..])
}

/// `<prefix><int>` on its own.
fn status_line(l: &str, prefix: &str) -> Option<i64> {
    int(l.strip_prefix(prefix)?.trim())
}

fn int(s: &str) -> Option<i64> {
    let r: Res<'_, i64> =
        all_consuming(preceded(space0, map_res(digit1, str::parse::<i64>))).parse(s);
    r.ok().map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::check_fixtures;
    use proptest::prelude::*;
    use serde_json::json;

    fn run(text: &str) -> Facts {
        let mut sink = TimeSink::new();
        scan("t", text.as_bytes(), &mut [&mut sink]).expect("scan");
        let mut facts = Facts::new();
        sink.emit("t", &mut facts);
        facts
    }

    fn summary(text: &str) -> Vec<(String, serde_json::Value)> {
        run(text)
            .into_items()
            .into_iter()
            .map(|f| (f.key, f.value))
            .collect()
    }

    fn kv(pairs: &[(&str, serde_json::Value)]) -> Vec<(String, serde_json::Value)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn durations() {
        assert_eq!(bash_real("real\t0m1.207s"), Some(1.207));
        assert_eq!(bash_real("real\t3m18.323s"), Some(198.323));
        assert_eq!(bash_real("real\t120m3.123s"), Some(7203.123));
        assert_eq!(bash_real("real\t0m1,207s"), Some(1.207));
        assert_eq!(bash_real("real    0m1.207s"), Some(1.207));
        assert_eq!(bash_real("real\t0m1.207"), None);
        assert_eq!(bash_real("real\t1.207s"), None);
        assert_eq!(posix_real("real 1.21"), Some(1.21));
        assert_eq!(posix_real("real 7203"), Some(7203.0));
        assert_eq!(posix_real("real 1.21 x"), None);
        assert_eq!(clock_seconds("0:01.20"), Some(1.2));
        assert_eq!(clock_seconds("0:22.72"), Some(22.72));
        assert_eq!(clock_seconds("59:59.99"), Some(3599.99));
        assert_eq!(clock_seconds("1:02:03"), Some(3723.0));
        assert_eq!(clock_seconds("1:02:03.5"), Some(3723.5));
        assert_eq!(clock_seconds("1:02:03:04"), None);
        assert_eq!(clock_seconds("99999999999999999999:00"), None);
        assert_eq!(clock_seconds("1"), None);
    }

    #[test]
    fn bash_time_block() {
        assert_eq!(
            summary("\nreal\t3m18.323s\nuser\t4m59.800s\nsys\t1m25.923s\n"),
            kv(&[
                (keys::TIME_FORMAT, json!("bash")),
                (keys::TIME_ELAPSED, json!(198.323)),
            ])
        );
    }

    #[test]
    fn posix_block_with_crlf() {
        assert_eq!(
            summary("real 1.21\r\nuser 0.00\r\nsys 0.00\r\n"),
            kv(&[
                (keys::TIME_FORMAT, json!("posix")),
                (keys::TIME_ELAPSED, json!(1.21)),
            ])
        );
    }

    #[test]
    fn gnu_default_success_and_failure() {
        let ok = "0.00user 0.00system 0:01.20elapsed 0%CPU (0avgtext+0avgdata 1696maxresident)k\n0inputs+0outputs (0major+95minor)pagefaults 0swaps\n";
        assert_eq!(
            summary(ok),
            kv(&[
                (keys::TIME_FORMAT, json!("gnu")),
                (keys::TIME_ELAPSED, json!(1.2)),
                (keys::TIME_EXIT, json!(0)),
                (keys::TIME_MAX_RSS, json!(1696)),
            ])
        );
        let fail = format!(
            "Command exited with non-zero status 2\n{}",
            ok.replace("0:01.20", "1:02:03")
        );
        assert_eq!(
            summary(&fail),
            kv(&[
                (keys::TIME_FORMAT, json!("gnu")),
                (keys::TIME_ELAPSED, json!(3723.0)),
                (keys::TIME_EXIT, json!(2)),
                (keys::TIME_MAX_RSS, json!(1696)),
            ])
        );
        let cpu_unknown =
            "0.00user 0.00system 0:00.00elapsed ?%CPU (0avgtext+0avgdata 1024maxresident)k\n";
        assert_eq!(summary(cpu_unknown).len(), 4);
    }

    #[test]
    fn gnu_verbose_block() {
        let text = "Command exited with non-zero status 255\n\tCommand being timed: \"../ktest.pl ../ktest.conf\"\n\tUser time (seconds): 32.07\n\tElapsed (wall clock) time (h:mm:ss or m:ss): 0:22.72\n\tMaximum resident set size (kbytes): 80088\n\tExit status: 255\n";
        let f = run(text);
        assert_eq!(
            f.items()
                .iter()
                .map(|f| (f.key.as_str(), f.value.clone(), f.loc.line))
                .collect::<Vec<_>>(),
            vec![
                (keys::TIME_FORMAT, json!("gnu-verbose"), Some(2)),
                (keys::TIME_ELAPSED, json!(22.72), Some(4)),
                (keys::TIME_EXIT, json!(255), Some(6)),
                (keys::TIME_MAX_RSS, json!(80088), Some(5)),
            ]
        );
        assert!(f.notes.is_empty(), "{:?}", f.notes);
    }

    #[test]
    fn signal_suppresses_exit_status() {
        let text = "Command terminated by signal 9\n\tCommand being timed: \"make\"\n\tElapsed (wall clock) time (h:mm:ss or m:ss): 1:00:00\n\tExit status: 9\n";
        let f = run(text);
        assert_eq!(f.int(keys::TIME_SIGNAL).map(|v| v.0), Some(9));
        assert!(!f.has(keys::TIME_EXIT));
        assert_eq!(f.float(keys::TIME_ELAPSED).map(|v| v.0), Some(3600.0));
        assert_eq!(f.notes.len(), 1);
        let gnu = "Command terminated by signal 15\n0.00user 0.00system 0:01.20elapsed 0%CPU (0avgtext+0avgdata 1696maxresident)k\n";
        let f = run(gnu);
        assert!(!f.has(keys::TIME_EXIT));
        assert_eq!(f.int(keys::TIME_SIGNAL).map(|v| v.0), Some(15));
    }

    #[test]
    fn timing_at_the_end_of_a_log_and_repeated_runs() {
        let text = "  CC init/main.o\nreal\t0m1.000s\nuser\t0m0.5s\nsys\t0m0.1s\nmake again\n\nreal\t0m2.500s\n";
        let f = run(text);
        let el: Vec<f64> = f
            .all(keys::TIME_ELAPSED)
            .filter_map(|x| x.value.as_f64())
            .collect();
        assert_eq!(el, vec![1.0, 2.5]);
        assert_eq!(f.float(keys::TIME_ELAPSED).map(|v| v.1.line), Some(Some(7)));
    }

    #[test]
    fn maxresident_after_multibyte_text() {
        assert_eq!(
            maxresident(" (0avgtext+0avgdataé1696maxresident)k"),
            Some(1696)
        );
        assert_eq!(maxresident(" é maxresident"), None);
        assert_eq!(maxresident("1696maxresident"), Some(1696));
    }

    #[test]
    fn nothing_recognised_is_a_note() {
        let f = run("0.308\n");
        assert!(f.items().is_empty());
        assert_eq!(f.notes.len(), 1);
        let f = run("\tCommand being timed: \"x\"\n\tExit status: 0\n");
        assert!(f.items().is_empty());
        assert_eq!(f.notes.len(), 2);
    }

    #[test]
    fn long_lines_and_invalid_utf8_around_a_timing() {
        let mut text = "x".repeat(70_000).into_bytes();
        text.extend_from_slice(b"\n\xff\xfe real\n\nreal\t0m2.000s\n");
        let mut sink = TimeSink::new();
        scan("t", &text[..], &mut [&mut sink]).expect("scan");
        let mut facts = Facts::new();
        sink.emit("t", &mut facts);
        assert_eq!(
            facts.float(keys::TIME_ELAPSED).map(|v| (v.0, v.1.line)),
            Some((2.0, Some(4)))
        );
    }

    #[test]
    fn fixtures() {
        assert!(check_fixtures(&TimeOutput) >= 6);
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut sink = TimeSink::new();
            let _ = scan("t", &bytes[..], &mut [&mut sink]);
            sink.emit("t", &mut Facts::new());
        }

        #[test]
        fn never_panics_on_timelike_text(s in "(real|user|sys|Exit status:|Command exited with non-zero status|[0-9:.,ms é]|elapsed|maxresident|\t|\n){0,40}") {
            let _ = run(&s);
        }

        /// What bash, `time -p` and GNU time print round-trips.
        #[test]
        fn round_trips(ms in 0u64..(100 * 3600 * 1000)) {
            let secs = ms / 1000;
            let frac = ms % 1000;
            let want = seconds(secs, &format!("{frac:03}")).unwrap_or(-1.0);
            let bash = format!("\nreal\t{}m{}.{:03}s\nuser\t0m0.000s\nsys\t0m0.000s\n", secs / 60, secs % 60, frac);
            prop_assert_eq!(run(&bash).float(keys::TIME_ELAPSED).map(|v| v.0), Some(want));
            let cs = frac / 10;
            let want_cs = seconds(secs, &format!("{cs:02}")).unwrap_or(-1.0);
            let posix = format!("real {secs}.{cs:02}\nuser 0.00\nsys 0.00\n");
            prop_assert_eq!(run(&posix).float(keys::TIME_ELAPSED).map(|v| v.0), Some(want_cs));
            let (clock, want_gnu) = if secs >= 3600 {
                (format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60), secs as f64)
            } else {
                (format!("{}:{:02}.{cs:02}", secs / 60, secs % 60), want_cs)
            };
            let gnu = format!("0.00user 0.00system {clock}elapsed 0%CPU (0avgtext+0avgdata 1maxresident)k\n");
            prop_assert_eq!(run(&gnu).float(keys::TIME_ELAPSED).map(|v| v.0), Some(want_gnu));
            let verbose = format!("\tElapsed (wall clock) time (h:mm:ss or m:ss): {clock}\n\tExit status: 0\n");
            prop_assert_eq!(run(&verbose).float(keys::TIME_ELAPSED).map(|v| v.0), Some(want_gnu));
        }
    }
}
