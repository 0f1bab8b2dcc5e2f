//! Reading a file's text into a [`raw::Fragment`] with errors classified by
//! their structure, never by their English text.
//!
//! serde_yaml still parses and types the scalars (so `tag: 1.10` stays the
//! string `1.10`), but a thin adapter sits between it and the raw types: the
//! raw types' visitors see this module's [`Error`], whose `unknown_field`,
//! `missing_field`, `invalid_type`, ... record a [`Problem`], and the adapter
//! records the [`YamlPath`] of the node being read. serde_yaml's own error
//! type cannot carry an [`Error`], so while serde_yaml unwinds, the error
//! waits in a thread-local slot and the adapter one level up takes it back.
//! Errors serde_yaml makes itself (a mapping where a number belongs) are
//! recognised because they ask the visitor what it expected.

use std::cell::RefCell;
use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Unexpected,
    VariantAccess, Visitor,
};

use super::raw;
use super::source::{Seg, YamlPath};

/// What is wrong with the node at [`Error::path`].
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// A key the mapping does not have; `expected` lists those it has.
    UnknownField {
        field: String,
        expected: &'static [&'static str],
    },
    MissingField {
        field: &'static str,
    },
    DuplicateField {
        field: &'static str,
    },
    /// A value of the wrong YAML type, or not one of the allowed values.
    WrongType {
        message: String,
    },
    /// Its scalars, aliases expanded, hold more text than [`MAX_TEXT_BYTES`].
    TooMuchText {
        limit: u64,
    },
    /// Anything else serde or serde_yaml refused.
    Other {
        message: String,
    },
}

/// The most scalar text (keys and values, every alias expanded) one file
/// may hold: twice the largest file the loader reads. serde_yaml bounds
/// how often an alias is replayed, not how large what it replays is, so
/// one long anchored string aliased ten thousand times would otherwise
/// become gigabytes of `String`s; this stops the read at the alias that
/// crosses the line.
pub const MAX_TEXT_BYTES: u64 = 16 << 20;

/// A problem and the node it is about.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    pub problem: Problem,
    /// The failing node; for an unknown or missing key, its mapping.
    pub path: YamlPath,
    /// serde_yaml's message already names the path.
    path_in_message: bool,
}

/// `a`, `a` or `b`, one of `a`, `b`, `c` — serde's wording.
struct OneOf(&'static [&'static str]);

impl fmt::Display for OneOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [] => f.write_str("nothing"),
            [one] => write!(f, "`{one}`"),
            [a, b] => write!(f, "`{a}` or `{b}`"),
            all => {
                f.write_str("one of ")?;
                for (i, name) in all.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{name}`")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::UnknownField {
                field,
                expected: [],
            } => {
                write!(f, "unknown field `{field}`, there are no fields")
            }
            Problem::UnknownField { field, expected } => {
                write!(f, "unknown field `{field}`, expected {}", OneOf(expected))
            }
            Problem::MissingField { field } => write!(f, "missing field `{field}`"),
            Problem::DuplicateField { field } => write!(f, "duplicate field `{field}`"),
            Problem::WrongType { message } | Problem::Other { message } => f.write_str(message),
            Problem::TooMuchText { limit } => write!(
                f,
                "with its aliases expanded, this file holds more than {limit} bytes of text"
            ),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path_in_message && !self.path.0.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        write!(f, "{}", self.problem)
    }
}

impl std::error::Error for Error {}

impl Error {
    fn new(problem: Problem) -> Self {
        Error {
            problem,
            path: with(|c| YamlPath(c.path.clone())),
            path_in_message: false,
        }
    }
}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error::new(Problem::Other {
            message: msg.to_string(),
        })
    }
    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        let message = format!("invalid type: {unexp}, expected {exp}");
        Error::new(Problem::WrongType { message })
    }
    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        let message = format!("invalid value: {unexp}, expected {exp}");
        Error::new(Problem::WrongType { message })
    }
    fn invalid_length(len: usize, exp: &dyn de::Expected) -> Self {
        let message = format!("invalid length {len}, expected {exp}");
        Error::new(Problem::WrongType { message })
    }
    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let message = match expected {
            [] => format!("unknown variant `{variant}`, there are no variants"),
            _ => format!("unknown variant `{variant}`, expected {}", OneOf(expected)),
        };
        Error::new(Problem::WrongType { message })
    }
    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Error::new(Problem::UnknownField {
            field: field.to_string(),
            expected,
        })
    }
    fn missing_field(field: &'static str) -> Self {
        Error::new(Problem::MissingField { field })
    }
    fn duplicate_field(field: &'static str) -> Self {
        Error::new(Problem::DuplicateField { field })
    }
}

/// The adapter's state for the file being read on this thread.
#[derive(Default)]
struct Ctx {
    /// Path of the node being read.
    path: Vec<Seg>,
    /// A mapping key is being read; `key` receives its text.
    reading_key: bool,
    key: Option<String>,
    /// Our error while serde_yaml unwinds.
    pending: Option<Error>,
    /// An error serde_yaml makes now is about the node's type: a visitor
    /// was asked what it expected, or a node past the first is being read.
    type_error: bool,
    /// The document's first request was made.
    started: bool,
    /// Scalar text read so far, aliases expanded.
    text_bytes: u64,
}

thread_local! {
    static CTX: RefCell<Ctx> = RefCell::new(Ctx::default());
}

fn with<R>(f: impl FnOnce(&mut Ctx) -> R) -> R {
    CTX.with(|c| f(&mut c.borrow_mut()))
}

/// Deserializes one file's text. The caller has already refused syntax
/// errors and second documents.
pub fn from_str(text: &str) -> Result<raw::Fragment, Error> {
    with(|c| *c = Ctx::default());
    let result = Seed(std::marker::PhantomData::<raw::Fragment>)
        .deserialize(serde_yaml::Deserializer::from_str(text))
        .map_err(take_back);
    with(|c| *c = Ctx::default());
    result
}

/// Hands our error to serde_yaml to unwind with.
fn stash<E: de::Error>(err: Error) -> E {
    with(|c| c.pending = Some(err));
    E::custom("")
}

/// Takes our error back from serde_yaml's; one serde_yaml made itself is
/// classified by what was asked while making it.
fn take_back<E: de::Error>(err: E) -> Error {
    let (pending, asked) = with(|c| {
        let asked = std::mem::take(&mut c.type_error);
        (c.pending.take(), asked)
    });
    if let Some(err) = pending {
        return err;
    }
    let full = err.to_string();
    // serde_yaml appends " at line L column C"; the diagnostic locates it.
    let message = match full.rfind(" at line ") {
        Some(i) => full[..i].to_string(),
        None => full,
    };
    // serde_yaml's nesting and alias-expansion limits cannot be reached in
    // the model's types: they nest a few levels deep, and a collection
    // deeper down is refused as the wrong type where the first one opens
    // (the position walk refuses deeper nesting still as `yaml-syntax`).
    let problem = if asked {
        Problem::WrongType { message }
    } else {
        Problem::Other { message }
    };
    Error {
        path_in_message: true,
        ..Error::new(problem)
    }
}

/// Wraps a seed so the deserializer it gets is adapted.
struct Seed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(De(d)).map_err(stash)
    }
}

/// serde_yaml's deserializer, giving visitors [`Error`].
struct De<D>(D);

/// Past the document's first request, an error serde_yaml makes itself
/// is about the node asked for (`!!int abc` where a list belongs, a
/// mapping where a choice belongs); the first request also loads the
/// document and can fail on that.
macro_rules! forward_de {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, Error> {
            with(|c| c.type_error = std::mem::replace(&mut c.started, true));
            self.0.$method($($arg,)* Vis(visitor)).map_err(take_back)
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for De<D> {
    type Error = Error;
    forward_de! {
        deserialize_any(); deserialize_bool(); deserialize_i8(); deserialize_i16();
        deserialize_i32(); deserialize_i64(); deserialize_i128(); deserialize_u8();
        deserialize_u16(); deserialize_u32(); deserialize_u64(); deserialize_u128();
        deserialize_f32(); deserialize_f64(); deserialize_char(); deserialize_str();
        deserialize_string(); deserialize_bytes(); deserialize_byte_buf();
        deserialize_option(); deserialize_unit(); deserialize_seq(); deserialize_map();
        deserialize_identifier(); deserialize_ignored_any();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
    }
    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

/// A raw type's visitor, as serde_yaml sees it.
struct Vis<V>(V);

macro_rules! forward_vis {
    ($($method:ident($ty:ty);)*) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            self.0.$method::<Error>(v).map_err(stash)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Vis<V> {
    type Value = V::Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        with(|c| c.type_error = true);
        self.0.expecting(f)
    }
    forward_vis! {
        visit_bool(bool); visit_i8(i8); visit_i16(i16); visit_i32(i32); visit_i64(i64);
        visit_i128(i128); visit_u8(u8); visit_u16(u16); visit_u32(u32); visit_u64(u64);
        visit_u128(u128); visit_f32(f32); visit_f64(f64); visit_char(char);
        visit_bytes(&[u8]); visit_borrowed_bytes(&'de [u8]); visit_byte_buf(Vec<u8>);
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<V::Value, E> {
        read_text(v)?;
        self.0.visit_str::<Error>(v).map_err(stash)
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<V::Value, E> {
        read_text(v)?;
        self.0.visit_borrowed_str::<Error>(v).map_err(stash)
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<V::Value, E> {
        read_text(&v)?;
        self.0.visit_string::<Error>(v).map_err(stash)
    }
    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_none::<Error>().map_err(stash)
    }
    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_unit::<Error>().map_err(stash)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.0.visit_some(De(d)).map_err(stash)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.0.visit_newtype_struct(De(d)).map_err(stash)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.0.visit_seq(Seq { seq, next: 0 }).map_err(stash)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.0.visit_map(Map(map)).map_err(stash)
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.0.visit_enum(Enum(data)).map_err(stash)
    }
}

/// Counts a scalar's text against [`MAX_TEXT_BYTES`] and keeps the text
/// of a mapping key being read, for the path of its value.
fn read_text<E: de::Error>(text: &str) -> Result<(), E> {
    let within = with(|c| {
        c.text_bytes += text.len() as u64;
        if c.reading_key {
            c.key = Some(text.to_string());
        }
        c.text_bytes <= MAX_TEXT_BYTES
    });
    match within {
        true => Ok(()),
        false => Err(stash(Error::new(Problem::TooMuchText {
            limit: MAX_TEXT_BYTES,
        }))),
    }
}

struct Seq<A> {
    seq: A,
    next: usize,
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Seq<A> {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        let index = self.next;
        self.next += 1;
        with(|c| c.path.push(Seg::Index(index)));
        let result = self.seq.next_element_seed(Seed(seed)).map_err(take_back);
        with(|c| c.path.pop());
        result
    }
    fn size_hint(&self) -> Option<usize> {
        self.seq.size_hint()
    }
}

struct Map<A>(A);

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Map<A> {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        with(|c| {
            c.reading_key = true;
            c.key = None;
        });
        let result = self.0.next_key_seed(Seed(seed)).map_err(take_back);
        with(|c| c.reading_key = false);
        result
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        with(|c| {
            let key = c.key.take().unwrap_or_else(|| "?".to_string());
            c.path.push(Seg::Key(key));
        });
        let result = self.0.next_value_seed(Seed(seed)).map_err(take_back);
        with(|c| c.path.pop());
        result
    }
    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

struct Enum<A>(A);

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Enum<A> {
    type Error = Error;
    type Variant = Variant<A::Variant>;
    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), Error> {
        let (value, variant) = self.0.variant_seed(Seed(seed)).map_err(take_back)?;
        Ok((value, Variant(variant)))
    }
}

struct Variant<A>(A);

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Variant<A> {
    type Error = Error;
    fn unit_variant(self) -> Result<(), Error> {
        // serde_yaml checks itself that a tagged unit choice has no value.
        with(|c| c.type_error = true);
        self.0.unit_variant().map_err(take_back)
    }
    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, Error> {
        self.0.newtype_variant_seed(Seed(seed)).map_err(take_back)
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Error> {
        self.0.tuple_variant(len, Vis(visitor)).map_err(take_back)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.0
            .struct_variant(fields, Vis(visitor))
            .map_err(take_back)
    }
}
