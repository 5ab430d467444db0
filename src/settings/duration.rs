//! Durations of the delivery flags (`--timeout`, `--retry-for`,
//! `--retry-delay`): read with humantime, shown compactly.

use std::time::Duration;

/// The longest duration accepted (about 31 years): a deadline further out
/// (`Instant + d`) could overflow.
const LONGEST: Duration = Duration::from_secs(1_000_000_000);

/// `1m30s`-style text for a duration.
pub fn show_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let s = d.as_secs();
    if s >= 3600 && s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s >= 60 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// Parse a duration as humantime reads it (`500ms`, `30s`, `2m`, `1h`,
/// `1m30s`, `1.5s`, `1h 30m`, `2days`), or a bare number of seconds (`5`,
/// `0.5`), which humantime does not take.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    let d = match t.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs >= 0.0 => {
            if secs > LONGEST.as_secs_f64() {
                return Err(format!("`{t}` is too long"));
            }
            Duration::from_secs_f64(secs)
        }
        Ok(_) => return Err(format!("`{t}` is not a duration (e.g. 30s, 2m)")),
        Err(_) => humantime::parse_duration(t)
            .map_err(|e| format!("`{t}` is not a duration ({e}; e.g. 30s, 2m)"))?,
    };
    if d > LONGEST {
        return Err(format!("`{t}` is too long"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-1").is_err());
        assert_eq!(show_duration(Duration::from_secs(300)), "5m");
        assert_eq!(show_duration(Duration::from_millis(1500)), "1500ms");
    }

    #[test]
    fn what_the_old_parser_took_still_parses() {
        for (text, want) in [
            (" 30s ", Duration::from_secs(30)),
            ("1h", Duration::from_secs(3600)),
            ("10sec", Duration::from_secs(10)),
            ("3min", Duration::from_secs(180)),
            ("1.5s", Duration::from_millis(1500)),
            ("0.5m", Duration::from_secs(30)),
            ("1h2m3s", Duration::from_secs(3723)),
            ("0", Duration::ZERO),
            ("0.25", Duration::from_millis(250)),
            ("1e3", Duration::from_secs(1000)),
        ] {
            assert_eq!(parse_duration(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn humantime_adds_spaces_and_longer_units() {
        assert_eq!(parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2days"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse_duration("90 seconds"), Ok(Duration::from_secs(90)));
    }

    #[test]
    fn nonsense_and_overflow_are_refused_with_the_text() {
        for text in ["5x", "s", "1h30", "inf", "NaN", "-2s", "1.s"] {
            let e = parse_duration(text).expect_err(text);
            assert!(e.contains(&format!("`{text}`")), "{text}: {e}");
        }
        assert!(parse_duration("1000000001")
            .expect_err("too long")
            .contains("too long"));
        assert!(parse_duration("40years")
            .expect_err("too long")
            .contains("too long"));
        assert!(parse_duration("99999999999999999999h").is_err());
    }
}
