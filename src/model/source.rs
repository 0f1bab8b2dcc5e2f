//! One model file as read from disk, with the position of every node.
//!
//! serde_yaml deserializes the typed model but its values carry no
//! positions. `saphyr-parser` (a maintained, YAML 1.2 event parser) walks the
//! same text once more and records where each node starts, keyed by its path
//! (`services.cache.ports[0].host`). Validation speaks in paths; this
//! index turns them into `file:line:col`. The same walk finds duplicate keys,
//! which serde would otherwise let overwrite each other silently.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::OnceLock;

use saphyr_parser::{Event, Marker, Parser};

use crate::diagnostic::{Diagnostic, Kind, Location};
use crate::regular_file::{self, Follow};

/// One step into a YAML tree: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A path from the document root to a node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct YamlPath(pub Vec<Seg>);

impl YamlPath {
    pub fn root() -> Self {
        YamlPath(Vec::new())
    }

    pub fn key(&self, key: impl Into<String>) -> Self {
        self.with(Seg::Key(key.into()))
    }

    pub fn index(&self, index: usize) -> Self {
        self.with(Seg::Index(index))
    }

    /// This path and `seg`, in a Vec of exactly that length. Memory: the
    /// merged model keeps one path per definition (10,000 services), where
    /// a clone and a push would round each Vec up to four segments.
    fn with(&self, seg: Seg) -> Self {
        let mut segs = Vec::with_capacity(self.0.len() + 1);
        segs.extend(self.0.iter().cloned());
        segs.push(seg);
        YamlPath(segs)
    }
}

impl fmt::Display for YamlPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Where a node's key and value start (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct NodePos {
    key: Option<(usize, usize)>,
    value: (usize, usize),
}

/// Nodes nested deeper than this are not indexed (a lookup finds their
/// nearest indexed ancestor): each entry's key holds its whole path, so
/// indexing 20,000 nested levels would take gigabytes. serde_yaml refuses
/// to read past 128 levels, so no typed error is about a deeper node.
const INDEXED_DEPTH: usize = 256;

/// Node positions by [`encode_key`]/[`encode_index`]-encoded path.
type Positions = HashMap<String, NodePos>;

/// A model file: its path as shown to users, its text and its node index.
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    /// The file's text: held from reading until [`SourceFile::release_text`],
    /// then read again on the first lookup that needs it. `None`: read
    /// again, it was no longer the text loaded (see [`SourceFile::text`]).
    text: OnceLock<Option<String>>,
    /// The loaded text's length and hash, once it is released.
    released: Option<Fingerprint>,
    /// Speed: built on the first lookup, i.e. only for a file that has a
    /// diagnostic; loading a valid model only walks the events for
    /// duplicate keys. Keys are flat encoded strings (one allocation per
    /// node, where a `YamlPath` key cost one per segment, twice): indexing
    /// eagerly took twice as long as the YAML parse itself on large models.
    positions: OnceLock<Positions>,
    /// Byte offset where each line starts, built on the first diagnostic,
    /// so showing a line costs a lookup, not a scan of the file.
    line_starts: OnceLock<Vec<usize>>,
}

/// What identifies a released text when it is read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    len: usize,
    hash: u64,
}

impl Fingerprint {
    fn of(text: &str) -> Fingerprint {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut hasher);
        Fingerprint {
            len: text.len(),
            hash: hasher.finish(),
        }
    }
}

/// Appends one segment to an encoded path. Keys are length-prefixed
/// (`K<len>:<key>`), indices terminated (`I<n>;`), so the encoding of a
/// whole path is unambiguous whatever a key contains.
fn encode_key(path: &mut String, key: &str) {
    use std::fmt::Write;
    let _ = write!(path, "K{}:{key}", key.len());
}

fn encode_index(path: &mut String, index: usize) {
    use std::fmt::Write;
    let _ = write!(path, "I{index};");
}

fn line_col(marker: &Marker) -> (usize, usize) {
    (marker.line(), marker.col() + 1)
}

/// An open mapping or sequence. `len` is the length of its encoded path,
/// a prefix of the walk's path buffer while it is open.
enum Frame {
    Map {
        len: usize,
        /// Where the key just read starts; its segment is already in the
        /// path buffer.
        pending_key: Option<(usize, usize)>,
        seen: HashSet<String>,
    },
    Seq {
        len: usize,
        next: usize,
    },
}

impl SourceFile {
    /// Checks `text`. Returns the diagnostics the walk itself finds
    /// (duplicate keys, syntax errors, several documents); an unparsable file
    /// still yields a `SourceFile`, indexed up to the error.
    pub fn new(path: PathBuf, text: String) -> (SourceFile, Vec<Diagnostic>) {
        let file = SourceFile {
            path,
            text: OnceLock::from(Some(text)),
            released: None,
            positions: OnceLock::new(),
            line_starts: OnceLock::new(),
        };
        let diagnostics = file.walk(None);
        (file, diagnostics)
    }

    /// Drops the text of a file that loaded without a diagnostic; a
    /// diagnostic found later reads it again. Memory: at 10,000 services
    /// the texts are 7.7 MB, held through loading and validation only for
    /// positions that a valid model never asks for (issue 25).
    pub fn release_text(&mut self) {
        if let Some(Some(text)) = self.text.take() {
            self.released = Some(Fingerprint::of(&text));
        }
    }

    /// The file's text. Once released, it is read again from `path` and
    /// used only if it is the text loaded (same length and hash): `None`
    /// when the file changed or cannot be read since, so a position is
    /// never taken from other text (the diagnostic then points at the
    /// file's start, without its line).
    pub fn text(&self) -> Option<&str> {
        let text = self.text.get_or_init(|| {
            let released = self.released?;
            // As loaded: a regular file only (a FIFO there now would block).
            let opened = regular_file::open(&self.path, Follow::Links).ok()?;
            let text = super::read_text(&self.path, opened.file).ok()?.ok()?;
            (Fingerprint::of(&text) == released).then_some(text)
        });
        text.as_deref()
    }

    /// A position inside the text: the parser reports errors at the end of
    /// a file without a final newline one line past it.
    fn clamp(&self, (line, col): (usize, usize)) -> (usize, usize) {
        let text = self.text().unwrap_or_default();
        // After a final newline an empty last line exists (editors show it).
        let lines = text.matches('\n').count() + 1;
        if line <= lines {
            return (line, col);
        }
        let last = text.rsplit('\n').next().unwrap_or("");
        (lines, last.chars().count() + 1)
    }

    pub fn location(&self, line: usize, col: usize) -> Location {
        Location {
            file: self.path.clone(),
            line,
            col,
            line_text: self.line_text(line).map(str::to_string),
        }
    }

    /// The text of 1-based line `line`, without its line ending.
    fn line_text(&self, line: usize) -> Option<&str> {
        let all = self.text()?;
        let starts = self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(all.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        });
        let start = *starts.get(line.checked_sub(1)?)?;
        let end = starts.get(line).map_or(all.len(), |next| next - 1);
        let text = all.get(start..end)?;
        Some(text.strip_suffix('\r').unwrap_or(text))
    }

    /// Where the value at `path` starts, or the nearest ancestor that exists.
    pub fn value_location(&self, path: &YamlPath) -> Location {
        let (line, col) = self.find(path).map(|p| p.value).unwrap_or((1, 1));
        self.location(line, col)
    }

    /// Where the key of the entry at `path` starts (its value for sequence
    /// items), or the nearest ancestor that exists.
    pub fn key_location(&self, path: &YamlPath) -> Location {
        let (line, col) = self
            .find(path)
            .map(|p| p.key.unwrap_or(p.value))
            .unwrap_or((1, 1));
        self.location(line, col)
    }

    /// The 1-based line where the entry at `path` starts (its key; a
    /// sequence item's value), only when that very node exists: no
    /// fallback to an ancestor.
    pub fn line_of(&self, path: &YamlPath) -> Option<usize> {
        let mut encoded = String::new();
        for seg in &path.0 {
            match seg {
                Seg::Key(k) => encode_key(&mut encoded, k),
                Seg::Index(n) => encode_index(&mut encoded, *n),
            }
        }
        (self.positions().get(&encoded)).map(|p| p.key.unwrap_or(p.value).0)
    }

    fn positions(&self) -> &Positions {
        self.positions.get_or_init(|| {
            let mut positions = Positions::new();
            self.walk(Some(&mut positions));
            positions
        })
    }

    fn find(&self, path: &YamlPath) -> Option<NodePos> {
        let positions = self.positions();
        // The encoded path and where each ancestor's encoding ends: the
        // path itself first, then each ancestor up to the root.
        let mut encoded = String::new();
        let mut ends = vec![0];
        for seg in &path.0 {
            match seg {
                Seg::Key(k) => encode_key(&mut encoded, k),
                Seg::Index(n) => encode_index(&mut encoded, *n),
            }
            ends.push(encoded.len());
        }
        ends.iter()
            .rev()
            .find_map(|end| positions.get(&encoded[..*end]).copied())
    }

    /// Walks the events of the text: reports duplicate keys and syntax
    /// errors, and records every node's position into `positions` if given.
    fn walk(&self, mut positions: Option<&mut Positions>) -> Vec<Diagnostic> {
        let mut diagnostics = Vec::new();
        let mut stack: Vec<Frame> = Vec::new();
        // The encoded path of the node being read.
        let mut path = String::new();
        let mut documents = 0;
        let Some(text) = self.text() else {
            return diagnostics;
        };
        for item in Parser::new_from_str(text) {
            let (event, span) = match item {
                Ok(pair) => pair,
                Err(err) => {
                    let (line, col) = self.clamp(line_col(err.marker()));
                    diagnostics.push(
                        Diagnostic::new(Kind::YamlSyntax {
                            info: err.info().to_string(),
                        })
                        .at(Some(self.location(line, col))),
                    );
                    break;
                }
            };
            let start = line_col(&span.start);
            let mut node = |scalar, stack: &mut Vec<Frame>| {
                let value = self.node(stack, &mut path, start, scalar, &mut diagnostics);
                if let (Some(pos), Some(positions), true) = (
                    value,
                    positions.as_deref_mut(),
                    stack.len() <= INDEXED_DEPTH,
                ) {
                    positions.entry(path.clone()).or_insert(pos);
                }
                value.is_some().then_some(path.len())
            };
            match event {
                Event::DocumentStart(_) => {
                    documents += 1;
                    if documents > 1 {
                        diagnostics.push(
                            Diagnostic::new(Kind::SecondDocument {})
                                .at(Some(self.location(start.0, start.1))),
                        );
                        break;
                    }
                }
                Event::Scalar(value, ..) => {
                    node(Some(value), &mut stack);
                }
                Event::Alias(_) => {
                    node(None, &mut stack);
                }
                Event::MappingStart(..) => {
                    if let Some(len) = node(None, &mut stack) {
                        stack.push(Frame::Map {
                            len,
                            pending_key: None,
                            seen: HashSet::new(),
                        });
                    }
                }
                Event::SequenceStart(..) => {
                    if let Some(len) = node(None, &mut stack) {
                        stack.push(Frame::Seq { len, next: 0 });
                    }
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                }
                _ => {}
            }
        }
        diagnostics
    }

    /// Reads one node: leaves its encoded path in `path` and returns its
    /// position when it is a value (not a key).
    fn node(
        &self,
        stack: &mut [Frame],
        path: &mut String,
        start: (usize, usize),
        scalar: Option<Cow<'_, str>>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<NodePos> {
        let key = match stack.last_mut() {
            None => {
                path.clear();
                None
            }
            Some(Frame::Seq { len, next }) => {
                path.truncate(*len);
                encode_index(path, *next);
                *next += 1;
                None
            }
            Some(Frame::Map {
                len,
                pending_key,
                seen,
            }) => match pending_key.take() {
                None => {
                    // This node is a key.
                    let name = scalar.map_or_else(|| "<complex key>".to_string(), Cow::into_owned);
                    path.truncate(*len);
                    encode_key(path, &name);
                    if !seen.insert(name) {
                        let name = &path[*len..];
                        let name = &name[name.find(':').map_or(0, |i| i + 1)..];
                        let location = self.location(start.0, start.1);
                        diagnostics.push(
                            Diagnostic::new(Kind::DuplicateKey {
                                key: name.to_string(),
                                parent: display_parent(&path[..*len]).to_string(),
                            })
                            .at(Some(location)),
                        );
                    }
                    *pending_key = Some(start);
                    return None;
                }
                // The key put this entry's path in `path` just before.
                Some(key_pos) => Some(key_pos),
            },
        };
        Some(NodePos { key, value: start })
    }
}

/// The encoded path `path` as users read it (`services.web.ports[0]`).
fn display_parent(path: &str) -> String {
    if path.is_empty() {
        return "the top level".to_string();
    }
    let mut out = String::new();
    let mut rest = path;
    let mut first = true;
    while let Some(tag) = rest.chars().next() {
        rest = &rest[1..];
        if tag == 'K' {
            let colon = rest.find(':').unwrap_or(rest.len());
            let len: usize = rest[..colon].parse().unwrap_or(0);
            let key = &rest[colon + 1..colon + 1 + len];
            if !first {
                out.push('.');
            }
            out.push_str(key);
            rest = &rest[colon + 1 + len..];
        } else {
            let semi = rest.find(';').unwrap_or(rest.len());
            out.push('[');
            out.push_str(&rest[..semi]);
            out.push(']');
            rest = &rest[semi + 1..];
        }
        first = false;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_of_nested_nodes() {
        let text = "services:\n  web:\n    ports:\n      - container: 80\n        host: 8080\n";
        let (file, diags) = SourceFile::new("m.yaml".into(), text.into());
        assert!(diags.is_empty());
        let p = YamlPath::root()
            .key("services")
            .key("web")
            .key("ports")
            .index(0)
            .key("host");
        assert_eq!(file.value_location(&p).to_string(), "m.yaml:5:15");
        assert_eq!(file.key_location(&p).to_string(), "m.yaml:5:9");
        // A path that does not exist falls back to its nearest ancestor.
        let missing = YamlPath::root().key("services").key("web").key("health");
        assert_eq!(file.key_location(&missing).to_string(), "m.yaml:2:3");
    }

    #[test]
    fn duplicate_keys_are_reported_at_the_second_one() {
        let text = "a: 1\nb:\n  c: 1\n  c: 2\n";
        let (_, diags) = SourceFile::new("m.yaml".into(), text.into());
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].rule(), crate::diagnostic::Rule::DuplicateKey);
        assert_eq!(diags[0].location.as_ref().unwrap().line, 4);
        assert!(diags[0].message().contains("`c`"), "{}", diags[0].message());
    }

    #[test]
    fn odd_keys_keep_their_own_positions() {
        // Keys that look like path syntax must not collide in the index.
        let text = "a:\n  b: 1\n\"a.b\": 2\n\"K1:a\": 3\n\"\":\n  - x: 4\n";
        let (file, diags) = SourceFile::new("m.yaml".into(), text.into());
        assert!(diags.is_empty(), "{diags:?}");
        let at = |p: YamlPath| file.value_location(&p).to_string();
        assert_eq!(at(YamlPath::root().key("a").key("b")), "m.yaml:2:6");
        assert_eq!(at(YamlPath::root().key("a.b")), "m.yaml:3:8");
        assert_eq!(at(YamlPath::root().key("K1:a")), "m.yaml:4:9");
        assert_eq!(at(YamlPath::root().key("").index(0).key("x")), "m.yaml:6:8");
    }

    #[test]
    fn encoded_paths_display_like_yaml_paths() {
        let paths = [
            YamlPath::root(),
            YamlPath::root()
                .key("services")
                .key("web")
                .key("ports")
                .index(0)
                .key("host"),
            YamlPath::root().index(2).key("a.b[0]"),
            YamlPath::root().key("").key("x"),
        ];
        for path in paths {
            let mut encoded = String::new();
            for seg in &path.0 {
                match seg {
                    Seg::Key(k) => encode_key(&mut encoded, k),
                    Seg::Index(n) => encode_index(&mut encoded, *n),
                }
            }
            let shown = if path.0.is_empty() {
                "the top level".to_string()
            } else {
                path.to_string()
            };
            assert_eq!(display_parent(&encoded), shown);
        }
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let (_, diags) = SourceFile::new("m.yaml".into(), "a: [1, 2\nb: 3\n".into());
        assert_eq!(diags[0].rule(), crate::diagnostic::Rule::YamlSyntax);
    }

    #[test]
    fn locations_carry_their_line() {
        let (file, _) = SourceFile::new("x.yaml".into(), "a: 1\r\nb: 2\nc: 3".into());
        assert_eq!(file.location(1, 1).line_text.as_deref(), Some("a: 1"));
        assert_eq!(file.location(2, 4).line_text.as_deref(), Some("b: 2"));
        assert_eq!(file.location(3, 1).line_text.as_deref(), Some("c: 3"));
        assert_eq!(file.location(4, 1).line_text, None);
        assert_eq!(file.location(0, 1).line_text, None);
    }

    /// A file loaded from disk (its byte order mark dropped, as
    /// `read_text` does), its text released as `load_dir` does.
    fn released(dir: &std::path::Path, on_disk: &str) -> SourceFile {
        let path = dir.join("m.yaml");
        std::fs::write(&path, on_disk).unwrap();
        let loaded = on_disk.strip_prefix('\u{feff}').unwrap_or(on_disk);
        let (mut file, diags) = SourceFile::new(path, loaded.into());
        assert!(diags.is_empty(), "{diags:?}");
        file.release_text();
        file
    }

    #[test]
    fn a_released_text_is_read_again_for_a_position() {
        let dir = tempfile::tempdir().unwrap();
        // Read again, the byte order mark is dropped as it was when loaded.
        let file = released(dir.path(), "\u{feff}a: 1\nb:\n  c: 2\n");
        let c = YamlPath::root().key("b").key("c");
        let at = file.value_location(&c);
        assert_eq!((at.line, at.col), (3, 6));
        assert_eq!(at.line_text.as_deref(), Some("  c: 2"));
    }

    #[test]
    fn a_file_changed_after_loading_gives_no_position_from_its_new_text() {
        let dir = tempfile::tempdir().unwrap();
        let file = released(dir.path(), "a: 1\nb:\n  c: 2\n");
        // Same length, other text: `c` is now on line 2.
        std::fs::write(&file.path, "a: 1\nc: 2\nb: {}\n").unwrap();
        let at = file.value_location(&YamlPath::root().key("b").key("c"));
        assert_eq!((at.line, at.col, at.line_text), (1, 1, None));
        assert_eq!(file.text(), None);
    }

    #[test]
    fn a_file_removed_after_loading_still_locates_at_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let file = released(dir.path(), "a: 1\n");
        std::fs::remove_file(&file.path).unwrap();
        let at = file.key_location(&YamlPath::root().key("a"));
        assert_eq!((at.line, at.col, at.line_text), (1, 1, None));
        assert_eq!(at.file, file.path);
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_in_place_of_a_loaded_file_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = released(dir.path(), "a: 1\n");
        std::fs::remove_file(&file.path).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &file.path,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        // Would block forever if opened for reading.
        let at = file.key_location(&YamlPath::root().key("a"));
        assert_eq!((at.line, at.col, at.line_text), (1, 1, None));
    }
}
