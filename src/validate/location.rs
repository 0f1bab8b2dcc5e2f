//! Where a problem is: a definition and its place in a model file, and
//! the helpers that turn a place into a located diagnostic.

use crate::diagnostic::{Diagnostic, Kind, Location};
use crate::model::YamlPath;

use super::Validator;

/// A definition and where it was written.
pub(super) struct Def<'a, T> {
    pub(super) file: usize,
    pub(super) path: YamlPath,
    pub(super) def: &'a T,
}

impl<T> Def<'_, T> {
    pub(super) fn at(&self, sub: &YamlPath) -> At {
        let mut path = self.path.clone();
        path.0.extend(sub.0.iter().cloned());
        At {
            file: self.file,
            path,
        }
    }

    pub(super) fn here(&self) -> At {
        At {
            file: self.file,
            path: self.path.clone(),
        }
    }
}

/// A place in a model file.
#[derive(Clone)]
pub(super) struct At {
    pub(super) file: usize,
    pub(super) path: YamlPath,
}

impl At {
    /// The place of key `k` under this one, in the same file.
    pub(super) fn key(&self, k: &str) -> At {
        At {
            file: self.file,
            path: self.path.key(k),
        }
    }
}

pub(super) fn p() -> YamlPath {
    YamlPath::root()
}
impl<'a> Validator<'a> {
    pub(super) fn key_loc(&self, at: &At) -> Location {
        self.files[at.file].key_location(&at.path)
    }

    pub(super) fn value_loc(&self, at: &At) -> Location {
        self.files[at.file].value_location(&at.path)
    }

    /// A diagnostic pointing at the value at `at`.
    pub(super) fn report(&mut self, at: &At, kind: Kind) {
        let d = Diagnostic::new(kind).at(Some(self.value_loc(at)));
        self.diagnostics.push(d);
    }

    /// A diagnostic pointing at the key of the entry at `at`.
    pub(super) fn report_at_key(&mut self, at: &At, kind: Kind) {
        let d = Diagnostic::new(kind).at(Some(self.key_loc(at)));
        self.diagnostics.push(d);
    }
}
