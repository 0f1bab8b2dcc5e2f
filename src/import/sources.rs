//! The compose files `import` reads, before Compose does: each a regular
//! UTF-8 file of at most 8 MiB that parses as one YAML mapping, indexed
//! with the model's own position index (`SourceFile`) so every service and
//! every key the model cannot hold is cited at its file and line. The files
//! they make Compose read — `include`d files, `extends.file`, `env_file` —
//! are found here too and must lie inside the project directory (the
//! first file's): nothing outside it reaches the model.

use std::fs;
use std::path::{Component, Path, PathBuf};

use serde_yaml::Value;

use super::{ImportError, ImportErrorKind};
use crate::model::{SourceFile, YamlPath, MAX_FILE_BYTES};

/// Where something was written: a compose file as the user named it, and
/// a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Cite {
    pub file: String,
    pub line: usize,
}

impl std::fmt::Display for Cite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One file read: how it is shown, where it is, its position index, and
/// which of the given files brought it in (the phase its services go to).
pub struct Source {
    pub shown: String,
    pub dir: PathBuf,
    pub index: SourceFile,
    pub given: usize,
}

/// An `env_file` a service names.
#[derive(Debug, Clone)]
pub struct EnvFileRef {
    pub service: String,
    pub path: PathBuf,
    pub shown: String,
    pub cite: Cite,
}

/// Everything read before Compose runs.
pub struct Sources {
    pub files: Vec<Source>,
    /// The given files, absolute, for `docker compose -f`.
    pub given: Vec<PathBuf>,
    /// The given files as the user named them.
    pub shown: Vec<String>,
    /// The project directory (the first file's), absolute.
    pub project_dir: PathBuf,
    /// The same, every link resolved: what "inside" is measured against.
    root: PathBuf,
    pub env_files: Vec<EnvFileRef>,
}

/// At most this many files (given and brought in) are read.
const MAX_FILES: usize = 64;

/// Reads `files` and every file they bring in.
pub fn read(files: &[PathBuf]) -> Result<Sources, ImportError> {
    let io = |path: &Path, e: std::io::Error| ImportError::io(path, e);
    let first = files
        .first()
        .ok_or_else(|| ImportError::new(ImportErrorKind::NoFiles))?;
    let absolute = |p: &Path| std::path::absolute(p).map_err(|e| io(p, e));
    let project_dir = absolute(first)?
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let root = fs::canonicalize(&project_dir).map_err(|e| io(&project_dir, e))?;
    let mut sources = Sources {
        files: Vec::new(),
        given: Vec::new(),
        shown: Vec::new(),
        project_dir,
        root,
        env_files: Vec::new(),
    };
    let mut seen = Vec::new();
    for (i, file) in files.iter().enumerate() {
        sources.given.push(absolute(file)?);
        let shown = file.display().to_string();
        sources.shown.push(shown.clone());
        sources.add(&absolute(file)?, shown, i, &mut seen)?;
    }
    Ok(sources)
}

impl Sources {
    /// Reads one file, then the files it brings in.
    fn add(
        &mut self,
        path: &Path,
        shown: String,
        given: usize,
        seen: &mut Vec<PathBuf>,
    ) -> Result<(), ImportError> {
        let canonical = fs::canonicalize(path).map_err(|e| ImportError::io(path, e))?;
        // A file brought in twice (or including itself: Compose names
        // the cycle) is read once.
        if seen.contains(&canonical) {
            return Ok(());
        }
        if seen.len() >= MAX_FILES {
            return Err(ImportError::new(ImportErrorKind::TooManyFiles {
                limit: MAX_FILES,
            }));
        }
        seen.push(canonical);
        let (index, value) = parse(read_limited(path, &shown)?, &shown)?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        self.files.push(Source {
            shown: shown.clone(),
            dir: dir.clone(),
            index,
            given,
        });
        let source = self.files.len() - 1;
        for r in referenced_files(&value) {
            let target = self.inside(source, &r.key, &r.path)?;
            if r.optional && !target.exists() {
                continue;
            }
            let shown_target = shown_beside(&shown, &r.path);
            match r.kind {
                Referenced::Compose => self.add(&target, shown_target, given, seen)?,
                Referenced::ServiceEnv(service) => {
                    let cite = self.cite_in(source, &r.key);
                    self.env_files.push(EnvFileRef {
                        service,
                        path: target,
                        shown: shown_target,
                        cite,
                    });
                }
                Referenced::InterpolationEnv => {}
            }
        }
        Ok(())
    }

    /// `rel`, named at `key` of file `source`, resolved against that file's
    /// directory: refused when it contains a variable or leaves the
    /// project directory.
    fn inside(&self, source: usize, key: &YamlPath, rel: &str) -> Result<PathBuf, ImportError> {
        let at = Some(self.cite_in(source, key));
        if rel.contains('$') {
            return Err(ImportError::at(
                at,
                ImportErrorKind::VariablePath {
                    key: key.to_string(),
                    path: rel.to_string(),
                },
            ));
        }
        let joined = normalize(&self.files[source].dir.join(rel));
        let resolved = fs::canonicalize(&joined).unwrap_or_else(|_| joined.clone());
        if !resolved.starts_with(&self.root) {
            return Err(ImportError::at(
                at,
                ImportErrorKind::PathOutside {
                    key: key.to_string(),
                    path: rel.to_string(),
                    root: self.project_dir.display().to_string(),
                },
            ));
        }
        Ok(joined)
    }

    fn cite_in(&self, source: usize, key: &YamlPath) -> Cite {
        let file = &self.files[source];
        Cite {
            file: file.shown.clone(),
            line: file.index.key_location(key).line,
        }
    }

    /// The first file (given ones first, in order) holding exactly `key`.
    pub fn cite(&self, key: &YamlPath) -> Option<Cite> {
        self.files.iter().find_map(|f| {
            f.index.line_of(key).map(|line| Cite {
                file: f.shown.clone(),
                line,
            })
        })
    }

    /// `key`, or its nearest ancestor that one of the files holds.
    pub fn cite_near(&self, key: &YamlPath) -> Option<Cite> {
        let mut path = key.clone();
        loop {
            if let Some(c) = self.cite(&path) {
                return Some(c);
            }
            path.0.pop()?;
        }
    }

    /// `services` in the order the files write them (Compose prints them
    /// sorted): by the first file holding each, then its line; a service
    /// no file spells out last.
    pub fn in_written_order<'a>(
        &self,
        services: impl Iterator<Item = &'a String>,
    ) -> Vec<&'a String> {
        let mut keyed: Vec<((usize, usize), &String)> = services
            .map(|name| {
                let key = YamlPath::root().key("services").key(name.as_str());
                let at = (self.files.iter().enumerate())
                    .find_map(|(i, f)| f.index.line_of(&key).map(|line| (i, line)));
                (at.unwrap_or((usize::MAX, 0)), name)
            })
            .collect();
        keyed.sort();
        keyed.into_iter().map(|(_, name)| name).collect()
    }

    /// Which given file first defines `service` (0 when none does, as for
    /// a service only an `extends` file spells out).
    pub fn phase_of(&self, service: &str) -> usize {
        let key = YamlPath::root().key("services").key(service);
        (self.files.iter())
            .find(|f| f.index.line_of(&key).is_some())
            .map_or(0, |f| f.given)
    }
}

/// What a referenced file is to Compose.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Referenced {
    /// Compose YAML (`include`, `extends.file`): read and indexed too.
    Compose,
    /// A service's `env_file`: its variables reach that service.
    ServiceEnv(String),
    /// An `include` entry's `env_file`: only for interpolation.
    InterpolationEnv,
}

/// A file a compose file makes Compose read, at the key naming it.
#[derive(Debug)]
struct Reference {
    key: YamlPath,
    path: String,
    kind: Referenced,
    /// `required: false`: skipped when missing, as Compose skips it.
    optional: bool,
}

/// Every file a compose file makes Compose read: `include` entries (and
/// their env files), `services.*.extends.file`, `services.*.env_file`.
fn referenced_files(doc: &Value) -> Vec<Reference> {
    let mut out = Vec::new();
    let top = YamlPath::root();
    if let Some(Value::Sequence(items)) = doc.get("include") {
        for (i, item) in items.iter().enumerate() {
            let at = top.key("include").index(i);
            match item {
                Value::String(p) => out.push(Reference {
                    key: at,
                    path: p.clone(),
                    kind: Referenced::Compose,
                    optional: false,
                }),
                Value::Mapping(_) => {
                    paths(
                        item.get("path"),
                        &at.key("path"),
                        Referenced::Compose,
                        &mut out,
                    );
                    let env = Referenced::InterpolationEnv;
                    paths(item.get("env_file"), &at.key("env_file"), env, &mut out);
                }
                _ => {}
            }
        }
    }
    if let Some(Value::Mapping(services)) = doc.get("services") {
        for (name, service) in services {
            let Some(name) = name.as_str() else { continue };
            let at = top.key("services").key(name);
            if let Some(Value::String(f)) = service.get("extends").and_then(|e| e.get("file")) {
                out.push(Reference {
                    key: at.key("extends").key("file"),
                    path: f.clone(),
                    kind: Referenced::Compose,
                    optional: false,
                });
            }
            let env = Referenced::ServiceEnv(name.to_string());
            paths(service.get("env_file"), &at.key("env_file"), env, &mut out);
        }
    }
    out
}

/// A path, a list of paths, or a list of `{path, required}`.
fn paths(value: Option<&Value>, at: &YamlPath, kind: Referenced, out: &mut Vec<Reference>) {
    let mut push = |key: YamlPath, path: &str, optional: bool| {
        out.push(Reference {
            key,
            path: path.to_string(),
            kind: kind.clone(),
            optional,
        })
    };
    match value {
        Some(Value::String(p)) => push(at.clone(), p, false),
        Some(Value::Sequence(items)) => {
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::String(p) => push(at.index(i), p, false),
                    Value::Mapping(_) => {
                        let optional = item.get("required") == Some(&Value::Bool(false));
                        if let Some(Value::String(p)) = item.get("path") {
                            push(at.index(i), p, optional);
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// A compose file's text, indexed, and as a YAML value: one mapping.
fn parse(text: String, shown: &str) -> Result<(SourceFile, Value), ImportError> {
    let not_yaml = |line: Option<usize>, problem: String| {
        let at = line.map(|line| Cite {
            file: shown.to_string(),
            line,
        });
        let file = shown.to_string();
        ImportError::at(at, ImportErrorKind::NotYaml { file, problem })
    };
    let (index, diagnostics) = SourceFile::new(PathBuf::from(shown), text);
    if let Some(d) = diagnostics.first() {
        return Err(not_yaml(d.location.as_ref().map(|l| l.line), d.message()));
    }
    let value: Value = serde_yaml::from_str(index.text().unwrap_or_default())
        .map_err(|e| not_yaml(e.location().map(|l| l.line()), e.to_string()))?;
    if !value.is_mapping() {
        return Err(ImportError::new(ImportErrorKind::NotCompose {
            file: shown.to_string(),
            problem: "its top level is not a mapping of Compose keys".into(),
        }));
    }
    Ok((index, value))
}

/// How a file named `rel` inside `shown`'s file is shown: beside it.
fn shown_beside(shown: &str, rel: &str) -> String {
    if Path::new(rel).is_absolute() {
        return rel.to_string();
    }
    let dir = Path::new(shown).parent().unwrap_or(Path::new(""));
    normalize(&dir.join(rel)).display().to_string()
}

/// `.` and `..` resolved without touching the disk.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// A compose file's text: a regular file (a FIFO would block, a device
/// never end), at most [`MAX_FILE_BYTES`] even if it grows while read,
/// UTF-8, a leading byte order mark dropped.
fn read_limited(path: &Path, shown: &str) -> Result<String, ImportError> {
    use crate::regular_file::{self, Follow, ReadError};
    let file = shown.to_string();
    let mut bytes = match regular_file::read(path, Follow::Links, MAX_FILE_BYTES) {
        Ok(bytes) => bytes,
        Err(ReadError::TooLarge { size, limit }) => {
            return Err(ImportError::new(ImportErrorKind::TooLarge {
                file,
                size,
                limit,
            }));
        }
        Err(ReadError::Directory | ReadError::NotRegular(_)) => {
            return Err(ImportError::new(ImportErrorKind::NotAFile { file }));
        }
        Err(e) => return Err(ImportError::io(path, e.into())),
    };
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        bytes.drain(..3);
    }
    String::from_utf8(bytes).map_err(|_| {
        ImportError::new(ImportErrorKind::NotUtf8 {
            file: shown.to_string(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referenced_files_are_found_in_every_form() {
        let doc: Value = serde_yaml::from_str(
            "include: [a.yaml, {path: [b.yaml], env_file: b.env}]\n\
             services:\n  s:\n    extends: {file: base.yaml, service: x}\n    \
             env_file: [one.env, {path: two.env}]\n  t:\n    env_file: three.env\n",
        )
        .unwrap();
        let found: Vec<String> = referenced_files(&doc)
            .into_iter()
            .map(|r| format!("{}={}", r.key, r.path))
            .collect();
        assert_eq!(
            found,
            [
                "include[0]=a.yaml",
                "include[1].path[0]=b.yaml",
                "include[1].env_file=b.env",
                "services.s.extends.file=base.yaml",
                "services.s.env_file[0]=one.env",
                "services.s.env_file[1]=two.env",
                "services.t.env_file=three.env",
            ]
        );
    }

    #[test]
    fn paths_normalize_lexically() {
        assert_eq!(
            normalize(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
        assert_eq!(shown_beside("x/compose.yaml", "../y.env"), "y.env");
    }
}
