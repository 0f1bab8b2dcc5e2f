//! One model file as read from disk, with the position of every node.
//!
//! serde_yaml deserializes the typed model but its values carry no
//! positions. `saphyr-parser` (a maintained, YAML 1.2 event parser) walks the
//! same text once more and records where each node starts, keyed by its path
//! (`services.lucid-redis.ports[0].host`). Validation speaks in paths; this
//! index turns them into `file:line:col`. The same walk finds duplicate keys,
//! which serde would otherwise let overwrite each other silently.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;

use saphyr_parser::{Event, Marker, Parser};

use crate::diagnostic::{Diagnostic, Location, Rule};

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
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.into()));
        YamlPath(segs)
    }

    pub fn index(&self, index: usize) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
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

/// A model file: its path as shown to users, its text and its node index.
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    positions: HashMap<YamlPath, NodePos>,
}

fn line_col(marker: &Marker) -> (usize, usize) {
    (marker.line(), marker.col() + 1)
}

enum Frame {
    Map {
        path: YamlPath,
        pending_key: Option<(String, (usize, usize))>,
        seen: HashSet<String>,
    },
    Seq {
        path: YamlPath,
        next: usize,
    },
}

impl SourceFile {
    /// Indexes `text`. Returns the diagnostics the walk itself finds
    /// (duplicate keys, syntax errors, several documents); an unparsable file
    /// still yields a `SourceFile` with whatever was indexed before the error.
    pub fn new(path: PathBuf, text: String) -> (SourceFile, Vec<Diagnostic>) {
        let mut file = SourceFile {
            path,
            text,
            positions: HashMap::new(),
        };
        let diagnostics = file.index();
        (file, diagnostics)
    }

    pub fn location(&self, line: usize, col: usize) -> Location {
        Location {
            file: self.path.clone(),
            line,
            col,
        }
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

    fn find(&self, path: &YamlPath) -> Option<NodePos> {
        let mut segs = path.0.clone();
        loop {
            if let Some(pos) = self.positions.get(&YamlPath(segs.clone())) {
                return Some(*pos);
            }
            segs.pop()?;
        }
    }

    fn index(&mut self) -> Vec<Diagnostic> {
        let mut diagnostics = Vec::new();
        let mut stack: Vec<Frame> = Vec::new();
        let mut documents = 0;
        let text = self.text.clone();
        for item in Parser::new_from_str(&text) {
            let (event, span) = match item {
                Ok(pair) => pair,
                Err(err) => {
                    let (line, col) = line_col(err.marker());
                    diagnostics.push(
                        Diagnostic::error(Rule::YamlSyntax, format!("invalid YAML: {}", err.info()))
                            .at(Some(self.location(line, col)))
                            .help("fix the YAML syntax at this position (indentation, quotes, a missing `:`)"),
                    );
                    break;
                }
            };
            let start = line_col(&span.start);
            match event {
                Event::DocumentStart(_) => {
                    documents += 1;
                    if documents > 1 {
                        diagnostics.push(
                            Diagnostic::error(Rule::YamlSyntax, "a model file holds exactly one YAML document")
                                .at(Some(self.location(start.0, start.1)))
                                .help("remove the `---` separator, or move the second document into a file of its own"),
                        );
                        break;
                    }
                }
                Event::Scalar(value, ..) => {
                    self.node(&mut stack, start, Some(value.as_ref()), &mut diagnostics);
                }
                Event::Alias(_) => {
                    self.node(&mut stack, start, None, &mut diagnostics);
                }
                Event::MappingStart(..) => {
                    if let Some(path) = self.node(&mut stack, start, None, &mut diagnostics) {
                        stack.push(Frame::Map {
                            path,
                            pending_key: None,
                            seen: HashSet::new(),
                        });
                    }
                }
                Event::SequenceStart(..) => {
                    if let Some(path) = self.node(&mut stack, start, None, &mut diagnostics) {
                        stack.push(Frame::Seq { path, next: 0 });
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

    /// Records one node; returns its path when it is a value (not a key).
    fn node(
        &mut self,
        stack: &mut [Frame],
        start: (usize, usize),
        scalar: Option<&str>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<YamlPath> {
        let (path, key) = match stack.last_mut() {
            None => (YamlPath::root(), None),
            Some(Frame::Seq { path, next }) => {
                let p = path.index(*next);
                *next += 1;
                (p, None)
            }
            Some(Frame::Map {
                path,
                pending_key,
                seen,
            }) => match pending_key.take() {
                None => {
                    // This node is a key.
                    let name = scalar.unwrap_or("<complex key>").to_string();
                    if !seen.insert(name.clone()) {
                        let location = self.location(start.0, start.1);
                        diagnostics.push(
                            Diagnostic::error(
                                Rule::DuplicateKey,
                                format!("key `{name}` appears twice in `{}`", display_parent(path)),
                            )
                            .at(Some(location))
                            .help("YAML would silently keep only the last one; remove or rename one of them"),
                        );
                    }
                    *pending_key = Some((name, start));
                    return None;
                }
                Some((name, key_pos)) => (path.key(name), Some(key_pos)),
            },
        };
        self.positions
            .entry(path.clone())
            .or_insert(NodePos { key, value: start });
        Some(path)
    }
}

fn display_parent(path: &YamlPath) -> String {
    if path.0.is_empty() {
        "the top level".to_string()
    } else {
        path.to_string()
    }
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
        assert_eq!(diags[0].rule, Rule::DuplicateKey);
        assert_eq!(diags[0].location.as_ref().unwrap().line, 4);
        assert!(diags[0].message.contains("`c`"), "{}", diags[0].message);
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let (_, diags) = SourceFile::new("m.yaml".into(), "a: [1, 2\nb: 3\n".into());
        assert_eq!(diags[0].rule, Rule::YamlSyntax);
    }
}
