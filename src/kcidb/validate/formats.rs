//! String rules of the v5.3 schema: its `pattern`s and the `date-time`,
//! `uri` and `email` formats, with the verdicts kcidb-io gives.
//!
//! kcidb-io checks patterns with Python's `re.search` and formats with
//! jsonschema's format checker (`rfc3339-validator` for `date-time`,
//! `rfc3987` with rule `URI` for `uri`, and "contains `@`" for `email`).
//! Every one of these regular expressions ends in `$`, which in Python also
//! matches just before a final `"\n"`; so a value with one trailing newline
//! passes wherever the same value without it does. [`sans_final_newline`]
//! reproduces that, so our verdicts stay identical.

/// The text a Python `…$` anchor sees: `s` without one final `"\n"`.
///
/// Only meaningful for patterns that cannot themselves match a newline.
pub(super) fn sans_final_newline(s: &str) -> &str {
    s.strip_suffix('\n').unwrap_or(s)
}

/// `^[^\0]*$`: no NUL character.
pub(super) fn no_nul(s: &str) -> bool {
    !s.contains('\0')
}

fn is_origin_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
}

/// `^[a-z0-9_]+$`.
pub(super) fn is_origin(s: &str) -> bool {
    let s = sans_final_newline(s);
    !s.is_empty() && s.chars().all(is_origin_char)
}

/// `^[a-z0-9_]+:[^\0]*$`: `<origin>:<anything without NUL>`.
pub(super) fn is_id(s: &str) -> bool {
    match s.split_once(':') {
        Some((origin, _)) => !origin.is_empty() && origin.chars().all(is_origin_char) && no_nul(s),
        None => false,
    }
}

/// `^[a-z0-9_]*$` (build `architecture`).
pub(super) fn is_architecture(s: &str) -> bool {
    sans_final_newline(s).chars().all(is_origin_char)
}

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `^[0-9a-f]{40}$` (`git_commit_hash`).
pub(super) fn is_commit_hash(s: &str) -> bool {
    is_lower_hex(sans_final_newline(s), 40)
}

/// `^$|^[0-9a-f]{64}$` (`patchset_hash`).
pub(super) fn is_patchset_hash(s: &str) -> bool {
    let s = sans_final_newline(s);
    s.is_empty() || is_lower_hex(s, 64)
}

fn is_path_segment_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// `^([a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*)?$` (`$defs/path`: test `path`,
/// issue `categories`); `""` is the root.
pub(super) fn is_tree_path(s: &str) -> bool {
    let s = sans_final_newline(s);
    s.is_empty()
        || s.split('.')
            .all(|seg| !seg.is_empty() && seg.chars().all(is_path_segment_char))
}

/// `^[^ \0]+(,[^ \0]+)*$` (test `environment.compatible` items). The first
/// `[^ \0]+` may itself contain commas, so this is "non-empty, no space, no
/// NUL".
pub(super) fn is_compatible(s: &str) -> bool {
    !s.is_empty() && !s.contains([' ', '\0'])
}

/// `^[^/\0]+$` (resource `name`): non-empty, no slash, no NUL.
pub(super) fn is_resource_name(s: &str) -> bool {
    !s.is_empty() && !s.contains(['/', '\0'])
}

/// `^https://[^\0]*$` (`git_repository_url`, besides being a `uri`).
pub(super) fn is_https(s: &str) -> bool {
    s.starts_with("https://") && no_nul(s)
}

/// jsonschema's `email` format: the value contains `@`, nothing more.
pub(super) fn is_email(s: &str) -> bool {
    s.contains('@')
}

/// `date-time` as jsonschema checks it: `rfc3339-validator` on the
/// upper-cased value. RFC 3339 with a mandatory offset (`Z` or `±hh:mm`),
/// `T` separator (either case), optional fraction, no leap second, a real
/// calendar day, year ≥ 1.
pub(super) fn is_date_time(s: &str) -> bool {
    let b = sans_final_newline(s).as_bytes();
    // YYYY-MM-DDTHH:MM:SS is 19 bytes; then fraction and offset.
    if b.len() < 20 {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let num = |r: std::ops::Range<usize>| {
        b[r].iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
    };
    if !(digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10].eq_ignore_ascii_case(&b'T')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19))
    {
        return false;
    }
    let (year, month, day) = (num(0..4), num(5..7), num(8..10));
    if year == 0 || !(1..=12).contains(&month) || num(11..13) > 23 {
        return false;
    }
    if num(14..16) > 59 || num(17..19) > 59 {
        return false;
    }
    if day < 1 || day > days_in_month(year, month) {
        return false;
    }
    let mut rest = &b[19..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    match rest {
        [z] => z.eq_ignore_ascii_case(&b'Z'),
        [sign, h1, h2, b':', m1, m2] => {
            (*sign == b'+' || *sign == b'-')
                && [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit())
                && (h1 - b'0') * 10 + (h2 - b'0') <= 23
                && (m1 - b'0') <= 5
        }
        _ => false,
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

// ---------------------------------------------------------------------------
// `uri`: RFC 3986 `URI` (absolute, optional fragment), ASCII only, as the
// `rfc3987` package's `URI` rule matches it.

fn is_unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')
}

fn is_sub_delim(c: u8) -> bool {
    matches!(
        c,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

/// True when every byte of `s` is allowed by `allowed` or starts a
/// `%HH` escape.
fn all_chars(s: &[u8], allowed: impl Fn(u8) -> bool) -> bool {
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c == b'%' {
            if i + 2 < s.len() && s[i + 1].is_ascii_hexdigit() && s[i + 2].is_ascii_hexdigit() {
                i += 3;
                continue;
            }
            return false;
        }
        if !allowed(c) {
            return false;
        }
        i += 1;
    }
    true
}

fn is_pchar(c: u8) -> bool {
    is_unreserved(c) || is_sub_delim(c) || c == b':' || c == b'@'
}

fn is_path_char(c: u8) -> bool {
    is_pchar(c) || c == b'/'
}

fn is_query_char(c: u8) -> bool {
    is_pchar(c) || c == b'/' || c == b'?'
}

/// Absolute URI (`scheme ":" hier-part ["?" query] ["#" fragment]`).
pub(super) fn is_uri(s: &str) -> bool {
    let s = sans_final_newline(s).as_bytes();
    // The scheme cannot hold ':', so it ends at the first one.
    let Some(colon) = s.iter().position(|&c| c == b':') else {
        return false;
    };
    let scheme = &s[..colon];
    let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return false;
    }
    let rest = &s[colon + 1..];
    // Nothing before the fragment may hold '#'; the fragment itself not either.
    let (rest, fragment) = match rest.iter().position(|&c| c == b'#') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    if let Some(f) = fragment {
        if !all_chars(f, is_query_char) {
            return false;
        }
    }
    // The hier-part cannot hold '?'; the query may.
    let (hier, query) = match rest.iter().position(|&c| c == b'?') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    if let Some(q) = query {
        if !all_chars(q, is_query_char) {
            return false;
        }
    }
    match hier.strip_prefix(b"//") {
        Some(after) => {
            // "//" authority path-abempty; the authority ends at the next '/'.
            let end = after.iter().position(|&c| c == b'/').unwrap_or(after.len());
            is_authority(&after[..end]) && all_chars(&after[end..], is_path_char)
        }
        // path-absolute / path-rootless / path-empty: any run of pchar and
        // '/' that does not start with "//" (excluded above).
        None => all_chars(hier, is_path_char),
    }
}

/// `[ userinfo "@" ] host [ ":" port ]`.
fn is_authority(a: &[u8]) -> bool {
    // Neither host nor port may hold '@', so a userinfo ends at the first.
    let host_port = match a.iter().position(|&c| c == b'@') {
        Some(i) => {
            if !all_chars(&a[..i], |c| {
                is_unreserved(c) || is_sub_delim(c) || c == b':'
            }) {
                return false;
            }
            &a[i + 1..]
        }
        None => a,
    };
    let (host_ok, after_host) = if let Some(inner) = host_port.strip_prefix(b"[") {
        match inner.iter().position(|&c| c == b']') {
            Some(close) => {
                let lit = &inner[..close];
                (is_ipv6(lit) || is_ipvfuture(lit), &inner[close + 1..])
            }
            None => (false, &[][..]),
        }
    } else {
        // reg-name (IPv4 addresses are a special case of it) up to ':'.
        let end = host_port
            .iter()
            .position(|&c| c == b':')
            .unwrap_or(host_port.len());
        (
            all_chars(&host_port[..end], |c| is_unreserved(c) || is_sub_delim(c)),
            &host_port[end..],
        )
    };
    host_ok
        && match after_host.strip_prefix(b":") {
            Some(port) => port.iter().all(u8::is_ascii_digit),
            None => after_host.is_empty(),
        }
}

/// `"v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )` (lower-case `v`
/// only, as the rfc3987 expression has it).
fn is_ipvfuture(s: &[u8]) -> bool {
    let Some(rest) = s.strip_prefix(b"v") else {
        return false;
    };
    let Some(dot) = rest.iter().position(|&c| c == b'.') else {
        return false;
    };
    let (ver, tail) = (&rest[..dot], &rest[dot + 1..]);
    !ver.is_empty()
        && ver.iter().all(u8::is_ascii_hexdigit)
        && !tail.is_empty()
        && tail
            .iter()
            .all(|&c| is_unreserved(c) || is_sub_delim(c) || c == b':')
}

fn is_h16(s: &[u8]) -> bool {
    (1..=4).contains(&s.len()) && s.iter().all(u8::is_ascii_hexdigit)
}

/// `dec-octet "." dec-octet "." dec-octet "." dec-octet`; an octet is one
/// to three digits worth at most 255 (leading zeros allowed, as in the
/// rfc3987 expression).
fn is_ipv4(s: &[u8]) -> bool {
    let parts: Vec<&[u8]> = s.split(|&c| c == b'.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            (1..=3).contains(&p.len())
                && p.iter().all(u8::is_ascii_digit)
                && p.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')) <= 255
        })
}

/// Count the 16-bit pieces of a ':'-separated run of `h16`, the last of
/// which may be an IPv4 address (two pieces) when `allow_v4_tail`.
fn ipv6_pieces(s: &[u8], allow_v4_tail: bool) -> Option<usize> {
    if s.is_empty() {
        return Some(0);
    }
    let groups: Vec<&[u8]> = s.split(|&c| c == b':').collect();
    let last = groups.len() - 1;
    let mut n = 0;
    for (i, g) in groups.iter().enumerate() {
        if is_h16(g) {
            n += 1;
        } else if i == last && allow_v4_tail && is_ipv4(g) {
            n += 2;
        } else {
            return None;
        }
    }
    Some(n)
}

/// RFC 3986 `IPv6address`: eight pieces, or fewer around one `::`.
fn is_ipv6(s: &[u8]) -> bool {
    match s.windows(2).position(|w| w == b"::") {
        Some(i) => {
            let (left, right) = (&s[..i], &s[i + 2..]);
            match (ipv6_pieces(left, false), ipv6_pieces(right, true)) {
                (Some(l), Some(r)) => l + r <= 7,
                _ => false,
            }
        }
        None => ipv6_pieces(s, true) == Some(8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_time_table() {
        let cases: &[(&str, bool)] = &[
            ("2025-01-01T00:05:00Z", true),
            ("2025-01-01T00:05:00+00:00", true),
            ("2025-01-01T00:05:00.123456+05:30", true),
            ("2025-01-01t00:05:00z", true),
            ("2025-01-01T00:05:00-23:59", true),
            ("2024-02-29T12:00:00Z", true),
            ("2000-02-29T12:00:00Z", true),
            ("2025-01-01T00:05:00Z\n", true),
            ("2025-01-01T00:05:00", false),
            ("2025-01-01 00:05:00Z", false),
            ("2025-01-01T00:05:00Z\n\n", false),
            ("2025-01-01T00:05:00.Z", false),
            ("2025-01-01T00:05:60Z", false),
            ("2025-01-01T24:00:00Z", false),
            ("2025-01-01T00:60:00Z", false),
            ("2025-13-01T00:00:00Z", false),
            ("2025-00-01T00:00:00Z", false),
            ("2025-01-00T00:00:00Z", false),
            ("2025-04-31T00:00:00Z", false),
            ("2025-02-29T00:00:00Z", false),
            ("1900-02-29T00:00:00Z", false),
            ("0000-01-01T00:00:00Z", false),
            ("2025-01-01T00:00:00+24:00", false),
            ("2025-01-01T00:00:00+00:60", false),
            ("2025-01-01T00:00:00+0000", false),
            ("2025-01-01T00:00:00 Z", false),
            ("2025-1-01T00:00:00Z", false),
            ("２025-01-01T00:00:00Z", false),
            ("", false),
            ("1735689900", false),
        ];
        for (s, want) in cases {
            assert_eq!(is_date_time(s), *want, "{s:?}");
        }
    }

    #[test]
    fn uri_table() {
        let cases: &[(&str, bool)] = &[
            ("https://x", true),
            ("https:", true),
            ("a:b", true),
            ("a://", true),
            ("mailto:a@b", true),
            ("urn:isbn:1", true),
            ("https:///x", true),
            ("https:////x", true),
            ("x-y+z.w://h", true),
            (
                "https://files.example.org/a/b/build.log?x=1&y=2#frag/?",
                true,
            ),
            ("https://user:pw@host:8080/p", true),
            ("https://x/%2f%2F", true),
            ("https://[::1]:8080/a", true),
            ("https://[v1.a:b]/", true),
            ("https://[1:2:3:4:5:6:1.2.3.4]/", true),
            ("https://[::]/", true),
            ("https://[1:2:3:4:5:6:7::]/", true),
            ("https://[::2:3:4:5:6:7:8]/", true),
            ("https://[::01.001.1.1]/", true),
            ("https://192.168.0.1/", true),
            ("https://999.1.1.1/", true),
            ("https://x/a\n", true),
            ("build.log", false),
            ("/path/build.log", false),
            ("//host/path", false),
            ("", false),
            ("1a://h", false),
            ("https://user@host@x/", false),
            ("https://[::1]x", false),
            ("https://h:80:90/", false),
            ("https://h:abc/", false),
            ("https://x/%zz", false),
            ("https://x/%2", false),
            ("https://x/a b", false),
            ("https://x/#a#b", false),
            ("https://x/é", false),
            ("https://x/a\\b", false),
            ("https://h/a|b", false),
            ("https://[V1.x]/", false),
            ("https://[::1.2.3.4:5]/", false),
            ("https://[1::2::3]/", false),
            ("https://[1:2:3:4:5:6:7:8::]/", false),
            ("https://[::1:2:3:4:5:6:7:8]/", false),
            ("https://[1:2:3:4:5:6:7]/", false),
            ("https://[12345::]/", false),
            ("https://[::256.1.1.1]/", false),
            ("https://[::1.2.3]/", false),
            ("https://[::1", false),
            ("https://x/a\n\n", false),
            ("https://x/\0", false),
        ];
        for (s, want) in cases {
            assert_eq!(is_uri(s), *want, "{s:?}");
        }
    }

    #[test]
    fn pattern_tables() {
        assert!(is_origin("gregkh") && is_origin("a_1") && is_origin("gregkh\n"));
        assert!(!is_origin("") && !is_origin("Gregkh") && !is_origin("greg-kh"));
        assert!(is_id("x:") && is_id("a:b:c d/é") && !is_id(":x") && !is_id("X:y"));
        assert!(!is_id("a:b\0") && !is_id("ab"));
        assert!(is_architecture("") && is_architecture("x86_64") && !is_architecture("x86-64"));
        let h40 = "0123456789abcdef0123456789abcdef01234567";
        assert!(is_commit_hash(h40) && !is_commit_hash(&h40[1..]));
        assert!(!is_commit_hash(&h40.to_uppercase()));
        assert!(
            is_patchset_hash("") && is_patchset_hash("\n") && is_patchset_hash(&"a".repeat(64))
        );
        assert!(!is_patchset_hash(&"A".repeat(64)) && !is_patchset_hash(&"a".repeat(63)));
        assert!(is_tree_path("") && is_tree_path("ltp.sem-01_x") && !is_tree_path("ltp."));
        assert!(!is_tree_path("a b") && !is_tree_path(".a") && !is_tree_path("a..b"));
        assert!(is_compatible("ti,am625") && is_compatible(",") && !is_compatible("a b"));
        assert!(!is_compatible(""));
        assert!(is_resource_name("build.log") && !is_resource_name("a/b") && !is_resource_name(""));
        assert!(is_https("https://x") && !is_https("http://x") && !is_https("HTTPS://x"));
        assert!(is_email("<a@b>") && !is_email("no-at-sign"));
    }
}
