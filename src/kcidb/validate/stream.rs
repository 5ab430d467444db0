//! Streaming validation in bounded memory: the document is read through a
//! metering reader, and each element of the object arrays (`checkouts`,
//! `builds`, `tests`, `issues`, `incidents`) is parsed and checked alone,
//! then dropped. The verdict and the messages are those of
//! [`super::validate_value`] on the whole document.
//!
//! Limits (each ends the check with one message):
//! * [`MAX_INPUT_BYTES`] of input in all (the KCIDB REST receiver's own
//!   limit, so nothing larger could be submitted anyway);
//! * [`MAX_OBJECT_BYTES`] of JSON text and [`MAX_OBJECT_VALUES`] JSON values
//!   in one object (one element of an array, the `version`, a top-level
//!   key), so one huge string or array cannot take the memory;
//! * at most [`MAX_VIOLATIONS`] violations are kept, the rest are counted.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read};

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::schema::{self, Ty};
use super::{check, pointer_segment, unknown_field, wrong_type, Violation};

/// The most input read: 512 MiB, the KCIDB REST receiver's body limit.
pub const MAX_INPUT_BYTES: u64 = 512 << 20;
/// The most JSON text in one object (an element of an object array).
pub const MAX_OBJECT_BYTES: u64 = 16 << 20;
/// The most JSON values (strings, numbers, …, arrays, objects) in one object.
pub const MAX_OBJECT_VALUES: usize = 100_000;
/// Violations kept for the report; the others are only counted.
pub const MAX_VIOLATIONS: usize = 50_000;

/// The object arrays, in the order of the summary line.
pub const SECTIONS: [&str; 5] = ["checkouts", "builds", "tests", "issues", "incidents"];

/// A document read to its end.
#[derive(Debug, Default)]
pub struct Checked {
    /// In the order `validate_value` gives them.
    pub violations: Vec<Violation>,
    /// Violations found beyond [`MAX_VIOLATIONS`].
    pub omitted: usize,
    /// Elements of each of [`SECTIONS`] (of the last copy of a key given
    /// twice, as JSON parsers keep the last one).
    pub counts: [usize; 5],
    /// A top-level key appeared more than once.
    pub duplicate_key: bool,
}

impl Checked {
    pub fn is_valid(&self) -> bool {
        self.violations.is_empty() && self.omitted == 0
    }
}

/// Why a document could not be read to its end.
#[derive(Debug)]
pub enum Failure {
    /// Nothing but whitespace.
    Empty,
    /// Not JSON: the parser's message, with its position (and a hint).
    NotJson(String),
    /// Over one of the limits: the whole message.
    TooLarge(String),
    /// The input could not be read.
    Read(io::Error),
    /// The element callback asked to stop, with this reason.
    Stopped(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Empty => write!(f, "empty file, not a KCIDB document"),
            Failure::NotJson(m) => write!(f, "not valid JSON: {m}"),
            Failure::TooLarge(m) => write!(f, "{m}"),
            Failure::Read(e) => write!(f, "cannot read: {e}"),
            Failure::Stopped(m) => write!(f, "{m}"),
        }
    }
}

/// Called for each element of an object array once it is checked (and
/// for the `version`, as section `"version"`): section name, index, value,
/// and whether it broke no rule. An `Err`
/// stops the reading ([`Failure::Stopped`]).
pub type Sink<'s> = dyn FnMut(&'static str, usize, &Value, bool) -> Result<(), String> + 's;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Trip {
    Input,
    Bytes(String),
    Values(String),
    Stop(String),
}

const RING: usize = 32;

/// State shared by the metering reader and the visitors.
struct State {
    /// [`MAX_INPUT_BYTES`], smaller in tests.
    max_input: u64,
    consumed: Cell<u64>,
    /// Position past which the current object is too large.
    object_end: Cell<u64>,
    /// Values parsed in the current object.
    values: Cell<usize>,
    /// The JSON path of the current object, for messages.
    at: RefCell<String>,
    trip: RefCell<Option<Trip>>,
    /// A byte other than ASCII whitespace was read.
    non_space: Cell<bool>,
    /// The last [`RING`] bytes read, by position modulo [`RING`], and where
    /// the current and the previous line start (for the NaN hint).
    ring: RefCell<[u8; RING]>,
    lines: Cell<usize>,
    line_start: Cell<u64>,
    prev_line_start: Cell<u64>,
    stored: Cell<usize>,
}

impl State {
    fn new(max_input: u64) -> State {
        State {
            max_input,
            consumed: Cell::new(0),
            object_end: Cell::new(u64::MAX),
            values: Cell::new(0),
            at: RefCell::new(String::new()),
            trip: RefCell::new(None),
            non_space: Cell::new(false),
            ring: RefCell::new([0; RING]),
            lines: Cell::new(1),
            line_start: Cell::new(0),
            prev_line_start: Cell::new(0),
            stored: Cell::new(0),
        }
    }

    /// An object starts here: its limits count from now.
    fn mark(&self, path: &str) {
        self.object_end
            .set(self.consumed.get().saturating_add(MAX_OBJECT_BYTES));
        self.values.set(0);
        let mut at = self.at.borrow_mut();
        at.clear();
        at.push_str(path);
    }

    fn unmark(&self) {
        self.object_end.set(u64::MAX);
    }

    fn trip<E: de::Error>(&self, t: Trip) -> E {
        let msg = format!("{t:?}");
        self.trip.borrow_mut().get_or_insert(t);
        E::custom(msg)
    }

    fn count_value<E: de::Error>(&self) -> Result<(), E> {
        let n = self.values.get() + 1;
        self.values.set(n);
        if n > MAX_OBJECT_VALUES {
            return Err(self.trip(Trip::Values(self.at.borrow().clone())));
        }
        Ok(())
    }
}

/// Counts the bytes read and enforces the byte limits.
struct Meter<'a, R> {
    inner: R,
    st: &'a State,
}

impl<R: Read> Read for Meter<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let st = self.st;
        let pos = st.consumed.get();
        // Whitespace before the document counts towards the input limit only.
        let limit = if st.non_space.get() {
            st.max_input.min(st.object_end.get())
        } else {
            st.max_input
        };
        if pos >= limit {
            let t = if pos >= st.max_input {
                Trip::Input
            } else {
                Trip::Bytes(st.at.borrow().clone())
            };
            st.trip.borrow_mut().get_or_insert(t);
            return Err(io::Error::other("size limit reached"));
        }
        let room = usize::try_from(limit - pos).unwrap_or(usize::MAX);
        let len = buf.len().min(room);
        let n = self.inner.read(&mut buf[..len])?;
        if n > 0 {
            let got = &buf[..n];
            if !st.non_space.get() && !got.iter().all(u8::is_ascii_whitespace) {
                st.non_space.set(true);
                // An object marked before the document began starts here.
                if st.object_end.get() != u64::MAX {
                    st.object_end.set(pos.saturating_add(MAX_OBJECT_BYTES));
                }
            }
            let mut ring = st.ring.borrow_mut();
            for (i, &b) in got.iter().enumerate() {
                let at = pos + i as u64;
                ring[(at % RING as u64) as usize] = b;
                if b == b'\n' {
                    st.prev_line_start.set(st.line_start.get());
                    st.line_start.set(at + 1);
                    st.lines.set(st.lines.get() + 1);
                }
            }
            st.consumed.set(pos + n as u64);
        }
        Ok(n)
    }
}

/// Check the KCIDB document read from `input`, calling `sink` for each
/// element of the object arrays.
pub fn check_reader(input: impl Read, sink: &mut Sink<'_>) -> Result<Checked, Failure> {
    check_limited(input, sink, MAX_INPUT_BYTES)
}

/// [`check_reader`] reading at most `max_input` bytes.
pub(super) fn check_limited(
    input: impl Read,
    sink: &mut Sink<'_>,
    max_input: u64,
) -> Result<Checked, Failure> {
    let st = State::new(max_input);
    let mut meter = Meter {
        inner: io::BufReader::with_capacity(64 * 1024, input),
        st: &st,
    };
    let mut acc = Acc::default();
    let result = {
        let mut de = serde_json::Deserializer::from_reader(&mut meter);
        let root = Root {
            st: &st,
            acc: &mut acc,
            sink,
        };
        root.deserialize(&mut de).and_then(|()| de.end())
    };
    if let Err(e) = result {
        return Err(failure(e, &st, &mut meter));
    }
    Ok(acc.finish())
}

fn failure<R: Read>(e: serde_json::Error, st: &State, meter: &mut Meter<'_, R>) -> Failure {
    match st.trip.borrow_mut().take() {
        Some(Trip::Input) => {
            return Failure::TooLarge(format!(
                "larger than {} MiB, the most a KCIDB submission may be; not read further",
                st.max_input >> 20
            ))
        }
        Some(Trip::Bytes(at)) => {
            return Failure::TooLarge(format!(
                "{}: larger than {} MiB of JSON, the most kcidb-harvest reads in one object",
                shown(&at),
                MAX_OBJECT_BYTES >> 20
            ))
        }
        Some(Trip::Values(at)) => {
            return Failure::TooLarge(format!(
                "{}: more than {MAX_OBJECT_VALUES} JSON values, the most kcidb-harvest reads in one object",
                shown(&at)
            ))
        }
        Some(Trip::Stop(why)) => return Failure::Stopped(why),
        None => {}
    }
    if e.is_io() {
        return Failure::Read(io::Error::other(e.to_string()));
    }
    // Only whitespace so far: the rest decides whether the file is empty
    // (as ASCII whitespace, form feeds included, it is not a document).
    if !st.non_space.get() {
        let mut buf = [0u8; 8192];
        loop {
            match meter.read(&mut buf) {
                Ok(0) => return Failure::Empty,
                Ok(_) if st.non_space.get() => break,
                Ok(_) => {}
                Err(_) if st.trip.borrow().is_some() => {
                    return Failure::TooLarge(format!(
                        "larger than {} MiB, the most a KCIDB submission may be; not read further",
                        st.max_input >> 20
                    ))
                }
                Err(_) => break,
            }
        }
        return Failure::NotJson(e.to_string());
    }
    // NaN or Infinity where the parser stopped? (Some JSON writers emit
    // them.) The error's line and column give the byte; the bytes around
    // it are in the ring and what follows in the input.
    let start = if e.line() == st.lines.get() {
        Some(st.line_start.get())
    } else if e.line() + 1 == st.lines.get() {
        Some(st.prev_line_start.get())
    } else {
        None
    };
    let consumed = st.consumed.get();
    let mut at = Vec::new();
    if let Some(start) = start {
        let from = start + (e.column() as u64).saturating_sub(1);
        if from <= consumed && consumed - from <= RING as u64 {
            let ring = st.ring.borrow();
            at.extend((from..consumed).map(|p| ring[(p % RING as u64) as usize]));
            let mut more = [0u8; 10];
            if let Ok(n) = meter.inner.read(&mut more) {
                at.extend_from_slice(&more[..n]);
            }
        }
    }
    let at = at.strip_prefix(b"-").unwrap_or(&at);
    let hint = if at.starts_with(b"NaN") || at.starts_with(b"Infinity") {
        " (NaN and Infinity are not JSON; leave the field out)"
    } else {
        ""
    };
    Failure::NotJson(format!("{e}{hint}"))
}

fn shown(path: &str) -> &str {
    if path.is_empty() {
        "/"
    } else {
        path
    }
}

/// What a top-level key brought.
#[derive(Default)]
struct Part {
    violations: Vec<Violation>,
    omitted: usize,
    count: usize,
}

#[derive(Default)]
struct Acc {
    /// By key: the order of a `serde_json::Map` (sorted), the last copy of
    /// a repeated key.
    parts: BTreeMap<String, Part>,
    /// The document was not an object: this violation only.
    not_object: Option<Violation>,
    duplicate_key: bool,
}

impl Acc {
    fn finish(mut self) -> Checked {
        let mut out = Checked {
            duplicate_key: self.duplicate_key,
            ..Checked::default()
        };
        if let Some(v) = self.not_object.take() {
            out.violations.push(v);
            return out;
        }
        for req in schema::DOCUMENT.required {
            if !self.parts.contains_key(*req) {
                out.violations.push(Violation {
                    path: String::new(),
                    message: format!(
                        "missing required field \"{req}\" in {}",
                        schema::DOCUMENT.what
                    ),
                });
            }
        }
        for (key, part) in self.parts {
            if let Some(i) = SECTIONS.iter().position(|s| *s == key) {
                out.counts[i] = part.count;
            }
            out.violations.extend(part.violations);
            out.omitted += part.omitted;
        }
        out
    }
}

/// Keep `found` in `part`, within [`MAX_VIOLATIONS`] in all.
fn keep(st: &State, part: &mut Part, found: Vec<Violation>) {
    for v in found {
        if st.stored.get() < MAX_VIOLATIONS {
            st.stored.set(st.stored.get() + 1);
            part.violations.push(v);
        } else {
            part.omitted += 1;
        }
    }
}

struct Root<'a, 's> {
    st: &'a State,
    acc: &'a mut Acc,
    sink: &'a mut Sink<'s>,
}

impl<'de> DeserializeSeed<'de> for Root<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.st.mark("");
        d.deserialize_any(self)
    }
}

impl Root<'_, '_> {
    fn not_object<E>(self, v: Value) -> Result<(), E> {
        self.acc.not_object = Some(Violation {
            path: String::new(),
            message: format!(
                "a KCIDB document must be a JSON object, found {}",
                super::kind(&v)
            ),
        });
        Ok(())
    }
}

impl<'de> Visitor<'de> for Root<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a KCIDB document")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let st = self.st;
        loop {
            st.mark("");
            let Some(key) = map.next_key::<String>()? else {
                break;
            };
            let path = format!("/{}", pointer_segment(&key));
            let mut part = Part::default();
            match schema::DOCUMENT.field(&key) {
                Some(Ty::ArrayOf(item)) => {
                    let name = SECTIONS
                        .iter()
                        .copied()
                        .find(|s| *s == key)
                        .unwrap_or("unknown");
                    st.mark(&path);
                    map.next_value_seed(Section {
                        st,
                        name,
                        path: &path,
                        item,
                        part: &mut part,
                        sink: &mut *self.sink,
                    })?;
                }
                Some(ty) => {
                    st.mark(&path);
                    let v = map.next_value_seed(Budget { st })?;
                    let mut found = Vec::new();
                    check(ty, &v, &path, &mut found);
                    let ok = found.is_empty();
                    keep(st, &mut part, found);
                    if let Err(why) = (self.sink)("version", 0, &v, ok) {
                        return Err(st.trip(Trip::Stop(why)));
                    }
                }
                None => {
                    st.mark(&path);
                    map.next_value_seed(Budget { st })?;
                    let v = Violation {
                        path: path.clone(),
                        message: unknown_field(&schema::DOCUMENT, &key),
                    };
                    keep(st, &mut part, vec![v]);
                }
            }
            st.unmark();
            if let Some(old) = self.acc.parts.insert(key, part) {
                self.acc.duplicate_key = true;
                st.stored
                    .set(st.stored.get().saturating_sub(old.violations.len()));
            }
        }
        st.unmark();
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // Parsed, not kept: the same errors (the depth limit) as a whole parse.
        for i in 0.. {
            self.st.mark(&format!("/{i}"));
            if seq.next_element_seed(Budget { st: self.st })?.is_none() {
                break;
            }
        }
        self.st.unmark();
        self.not_object(Value::Array(Vec::new()))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.not_object(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.not_object(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.not_object(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.not_object(Value::from(v))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.not_object(Value::String(String::new()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.not_object(Value::Null)
    }
}

/// The value of an object-array key: each element checked alone.
struct Section<'a, 's> {
    st: &'a State,
    name: &'static str,
    path: &'a str,
    item: &'static Ty,
    part: &'a mut Part,
    sink: &'a mut Sink<'s>,
}

impl<'de> DeserializeSeed<'de> for Section<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Section<'_, '_> {
    fn not_array<E>(self, v: Value) -> Result<(), E> {
        let mut found = Vec::new();
        wrong_type(&mut found, self.path, "an array", &v);
        keep(self.st, self.part, found);
        Ok(())
    }
}

impl<'de> Visitor<'de> for Section<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let st = self.st;
        let mut i = 0usize;
        loop {
            let path = format!("{}/{i}", self.path);
            st.mark(&path);
            let Some(v) = seq.next_element_seed(Budget { st })? else {
                break;
            };
            st.unmark();
            let mut found = Vec::new();
            check(self.item, &v, &path, &mut found);
            let ok = found.is_empty();
            keep(st, self.part, found);
            if let Err(why) = (self.sink)(self.name, i, &v, ok) {
                return Err(st.trip(Trip::Stop(why)));
            }
            i += 1;
        }
        st.unmark();
        self.part.count = i;
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Parsed, not kept: the same errors (the depth limit) as a whole parse.
        while let Some(key) = map.next_key::<String>()? {
            let path = format!("{}/{}", self.path, pointer_segment(&key));
            self.st.mark(&path);
            map.next_value_seed(Budget { st: self.st })?;
        }
        self.st.unmark();
        self.not_array(Value::Object(Map::new()))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.not_array(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.not_array(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.not_array(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.not_array(Value::from(v))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.not_array(Value::String(String::new()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.not_array(Value::Null)
    }
}

/// A `serde_json::Value` of at most [`MAX_OBJECT_VALUES`] values.
#[derive(Clone, Copy)]
struct Budget<'a> {
    st: &'a State,
}

impl<'de> DeserializeSeed<'de> for Budget<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Budget<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.st.count_value()?;
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.st.count_value()?;
        Ok(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.st.count_value()?;
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.st.count_value()?;
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.st.count_value()?;
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.st.count_value()?;
        Ok(Value::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.st.count_value()?;
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.st.count_value()?;
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.st.count_value()?;
        let mut m = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            self.st.count_value()?;
            let v = map.next_value_seed(self)?;
            m.insert(k, v);
        }
        Ok(Value::Object(m))
    }
}
