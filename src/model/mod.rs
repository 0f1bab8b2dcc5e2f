//! Reading a model directory: files → [`SourceFile`]s (text + node
//! positions) and [`raw::Fragment`]s (typed, unchecked).
//!
//! Invariants: every file is read once; every problem found while reading
//! (I/O aside) is a [`Diagnostic`] with a location, and all of them are
//! returned together rather than stopping at the first.

pub mod raw;
mod raw_build;
mod raw_env;
mod raw_hosts;
mod raw_mounts;
mod raw_swarm;
pub mod source;
mod typed;

use std::fs;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

pub use source::{SourceFile, YamlPath};

use crate::diagnostic::{Diagnostic, Kind, Location, Rule};
use crate::parallel;
use crate::regular_file::{self, Follow, ReadError};

/// Model files larger than this are refused before parsing.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// Every file of a model with its typed content; `fragments[i]` came from
/// `files[i]`.
#[derive(Debug)]
pub struct LoadedModel {
    pub files: Vec<SourceFile>,
    pub fragments: Vec<raw::Fragment>,
}

/// Why a model could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// The directory or a file could not be read at all (exit code 2).
    Io { path: PathBuf, error: io::Error },
    /// The files were read but are not a well-formed model (exit code 1).
    Invalid(Vec<Diagnostic>),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Io { path, error } => {
                write!(f, "cannot read model at {}: {error}", path.display())
            }
            LoadError::Invalid(diagnostics) => {
                for d in diagnostics {
                    writeln!(f, "{d}")?;
                }
                Ok(())
            }
        }
    }
}

/// What the walk of the model directory found: the model files, sorted by
/// path so the merge order never depends on the file system, and the
/// links (to a file or a directory) whose target is outside the model
/// directory, with that target.
struct Found {
    files: Vec<PathBuf>,
    outside: Vec<(PathBuf, PathBuf)>,
}

/// Lists the model files under `dir`: every `*.yaml` / `*.yml`,
/// recursively, following links inside the model directory (but not
/// loops). A link whose target lies outside it is not followed or read:
/// diagnostics quote the files they are about, and only the model's own
/// files may be quoted (a link to a private key would otherwise be
/// printed, in CI logs and pull-request annotations too).
fn model_files(dir: &Path) -> Result<Found, LoadError> {
    let io_err = |path: &Path, error| LoadError::Io {
        path: path.to_path_buf(),
        error,
    };
    let meta = fs::metadata(dir).map_err(|e| io_err(dir, e))?;
    if !meta.is_dir() {
        return Err(io_err(
            dir,
            io::Error::new(io::ErrorKind::InvalidInput, "not a directory"),
        ));
    }
    let root = fs::canonicalize(dir).map_err(|e| io_err(dir, e))?;
    let mut found = Found {
        files: Vec::new(),
        outside: Vec::new(),
    };
    let mut pending = vec![dir.to_path_buf()];
    let mut visited = std::collections::HashSet::new();
    while let Some(current) = pending.pop() {
        // Following links is allowed, but a link loop must not spin forever.
        let canonical = fs::canonicalize(&current).map_err(|e| io_err(&current, e))?;
        if !visited.insert(canonical) {
            continue;
        }
        for entry in fs::read_dir(&current).map_err(|e| io_err(&current, e))? {
            let entry = entry.map_err(|e| io_err(&current, e))?;
            let path = entry.path();
            let is_dir = fs::metadata(&path).map(|m| m.is_dir()).unwrap_or(false);
            let named_like_model = matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            );
            if !is_dir && !named_like_model {
                continue;
            }
            // A dangling link or a loop is the file reader's to report.
            if let Ok(target) = fs::canonicalize(&path) {
                if !target.starts_with(&root) {
                    found.outside.push((path, target));
                    continue;
                }
            }
            match is_dir && !named_like_model {
                true => pending.push(path),
                false => found.files.push(path),
            }
        }
    }
    found.files.sort();
    found.outside.sort();
    if found.files.is_empty() && found.outside.is_empty() {
        return Err(io_err(
            dir,
            io::Error::new(
                io::ErrorKind::NotFound,
                "no *.yaml or *.yml model files in this directory",
            ),
        ));
    }
    Ok(found)
}

/// `link-outside-model` for each link leaving the model directory, at the
/// link: named, never read.
fn outside_links(outside: &[(PathBuf, PathBuf)]) -> Vec<Diagnostic> {
    let at = |path: &Path| Location {
        file: path.to_path_buf(),
        line: 1,
        col: 1,
        line_text: None,
    };
    (outside.iter())
        .map(|(link, target)| {
            let target = target.display().to_string();
            Diagnostic::new(Kind::LinkOutsideModel { target }).at(Some(at(link)))
        })
        .collect()
}

/// A link leaving the model directory, and its target.
pub type Outside = (PathBuf, PathBuf);

/// The files the loader reads under `dir` (sorted), and the links it
/// refuses to follow with their targets: what `all`'s inputs fingerprint
/// covers (`write::stamp`).
pub fn files_read(dir: &Path) -> Result<(Vec<PathBuf>, Vec<Outside>), LoadError> {
    let found = model_files(dir)?;
    Ok((found.files, found.outside))
}

/// Loads every model file under `dir`.
pub fn load_dir(dir: &Path) -> Result<LoadedModel, LoadError> {
    let Found {
        files: paths,
        outside,
    } = model_files(dir)?;
    // Speed: files are read and parsed on every core at once (parsing is
    // most of the time on large models); results are taken in path order,
    // so diagnostics and the first I/O error are those a sequential loop
    // would give.
    let results = parallel::map(&paths, |p| load_file(p));
    let mut files = Vec::new();
    let mut fragments = Vec::new();
    let mut diagnostics = outside_links(&outside);
    for result in results {
        let (parsed, mut found) = result?;
        diagnostics.append(&mut found);
        if let Some((file, fragment)) = parsed {
            files.push(file);
            fragments.push(fragment.unwrap_or_default());
        }
    }
    if diagnostics.is_empty() {
        Ok(LoadedModel { files, fragments })
    } else {
        Err(LoadError::Invalid(diagnostics))
    }
}

/// What reading one file gave: the file and its fragment (`None` when it
/// was refused before parsing), and its diagnostics.
type FileResult = (Option<(SourceFile, Option<raw::Fragment>)>, Vec<Diagnostic>);

/// Reads and parses one model file.
fn load_file(path: &Path) -> Result<FileResult, LoadError> {
    let io = |error| LoadError::Io {
        path: path.to_path_buf(),
        error,
    };
    let opened = match regular_file::open(path, Follow::Links) {
        Ok(opened) => opened,
        Err(ReadError::Directory) => return Err(io(not_a_model_file("a directory"))),
        Err(ReadError::NotRegular(kind)) => return Err(io(not_a_model_file(kind))),
        Err(e) => return Err(io(e.into())),
    };
    if opened.size > MAX_FILE_BYTES {
        let d = at_start(
            path,
            Kind::FileTooLarge {
                size: opened.size,
                limit: MAX_FILE_BYTES,
            },
        );
        return Ok((None, vec![d]));
    }
    match read_text_sized(path, opened.file, opened.size).map_err(io)? {
        Err(refused) => Ok((None, vec![refused])),
        Ok(text) => {
            let (mut file, fragment, found) = parse_file(path.to_path_buf(), text);
            if found.is_empty() {
                file.release_text();
            }
            Ok((Some((file, fragment)), found))
        }
    }
}

/// The text of model file `path`, read from `reader` (its open file):
/// refused when more than [`MAX_FILE_BYTES`] arrive (the file may have grown
/// after its size was checked) or the bytes are not UTF-8; a leading byte
/// order mark dropped.
pub fn read_text(path: &Path, reader: impl io::Read) -> io::Result<Result<String, Diagnostic>> {
    read_text_sized(path, reader, 0)
}

/// [`read_text`] into a buffer sized for the `size` bytes the file had
/// when opened (memory: no doubling past it).
fn read_text_sized(
    path: &Path,
    reader: impl io::Read,
    size: u64,
) -> io::Result<Result<String, Diagnostic>> {
    // Read at most one byte past the limit.
    let mut bytes = Vec::with_capacity(size.min(MAX_FILE_BYTES) as usize);
    reader.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        let limit = MAX_FILE_BYTES;
        return Ok(Err(at_start(path, Kind::FileGrew { limit })));
    }
    // A byte order mark is not part of the YAML: drop it so columns and
    // emptiness are judged on the text itself.
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        bytes.drain(..3);
    }
    Ok(String::from_utf8(bytes).map_err(|err| not_utf8(path, &err)))
}

/// A diagnostic about the whole file, at its start.
fn at_start(path: &Path, kind: Kind) -> Diagnostic {
    Diagnostic::new(kind).at(Some(Location {
        file: path.to_path_buf(),
        line: 1,
        col: 1,
        line_text: None,
    }))
}

/// A model file must be a regular file: a FIFO would block forever, a
/// device never end, a directory named `x.yaml` (what Docker leaves for a
/// missing bind-mounted file) hide a mistake.
fn not_a_model_file(what: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("{what}, not a regular file; model files must be regular *.yaml or *.yml files"),
    )
}

/// `not-utf8`, at the first byte that is not.
fn not_utf8(path: &Path, err: &std::string::FromUtf8Error) -> Diagnostic {
    let valid = &err.as_bytes()[..err.utf8_error().valid_up_to()];
    let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
    let col = valid.iter().rev().take_while(|b| **b != b'\n').count() + 1;
    Diagnostic::new(Kind::NotUtf8 {}).at(Some(Location {
        file: path.to_path_buf(),
        line,
        col,
        line_text: None,
    }))
}

/// Memory: serde grows each list of a raw service by doubling (capacity 4
/// for three ports or dependencies), and a `PortDef` or `SecretUseDef` is
/// several words wide; shrunk like the fragment's maps.
fn shrink_service(s: &mut raw::ServiceDef) {
    s.networks.shrink_to_fit();
    s.ports.shrink_to_fit();
    s.depends_on.shrink_to_fit();
    s.environment.shrink_to_fit();
    s.secrets.shrink_to_fit();
    s.config_files.shrink_to_fit();
    s.entrypoint.shrink_to_fit();
    s.volumes.shrink_to_fit();
    s.binds.shrink_to_fit();
    s.command.shrink_to_fit();
    s.labels.shrink_to_fit();
}

/// Parses one file's text: positions first, then the typed fragment.
pub fn parse_file(
    path: PathBuf,
    text: String,
) -> (SourceFile, Option<raw::Fragment>, Vec<Diagnostic>) {
    let (file, mut diagnostics) = SourceFile::new(path, text);
    let text = file.text().unwrap_or_default();
    let has_content = text.lines().any(|line| {
        let line = line.trim();
        !line.is_empty() && !line.starts_with('#') && line != "---"
    });
    if !has_content {
        diagnostics.push(Diagnostic::new(Kind::EmptyFile {}).at(Some(file.location(1, 1))));
        return (file, None, diagnostics);
    }
    if diagnostics.iter().any(|d| d.rule() == Rule::YamlSyntax) {
        return (file, None, diagnostics);
    }
    match typed::from_str(text) {
        Ok(mut fragment) => {
            fragment.shrink_to_fit();
            (file, Some(fragment), diagnostics)
        }
        Err(err) => {
            let d = typed_diagnostic(&file, &err);
            // The position walk already reported duplicate keys, better.
            if !(d.rule() == Rule::DuplicateKey
                && diagnostics.iter().any(|x| x.rule() == Rule::DuplicateKey))
            {
                diagnostics.push(d);
            }
            (file, None, diagnostics)
        }
    }
}

/// Turns a typed-loading error into a diagnostic with the rule it breaks,
/// located through the file's node index: an unknown key at the key, any
/// other problem at the value it is about.
fn typed_diagnostic(file: &SourceFile, err: &typed::Error) -> Diagnostic {
    use typed::Problem;
    let message = err.to_string();
    let location = match &err.problem {
        Problem::UnknownField { field, .. } => file.key_location(&err.path.key(field.as_str())),
        // The key's first spelling: the other is not text the index knows
        // (an alias, say).
        Problem::DuplicateField { field } => file.key_location(&err.path.key(*field)),
        // The document as a whole failed to load.
        Problem::Other { .. } if err.path.0.is_empty() => file.location(1, 1),
        _ => file.value_location(&err.path),
    };
    let kind = match &err.problem {
        Problem::UnknownField { .. } => Kind::UnknownKey { message },
        Problem::MissingField { .. } => Kind::MissingKey { message },
        Problem::DuplicateField { .. } => Kind::DuplicateField { message },
        Problem::WrongType { .. } => Kind::WrongType { message },
        Problem::TooMuchText { limit } => Kind::AliasesTooLarge { limit: *limit },
        Problem::Other { .. } => Kind::NotAModel { message },
    };
    Diagnostic::new(kind).at(Some(location))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<Diagnostic> {
        parse_file("m.yaml".into(), text.into()).2
    }

    #[test]
    fn unknown_keys_name_the_key_and_its_place() {
        let d = parse(
            "services:\n  web:\n    phase: a\n    plane: b\n    networks: []\n    prots: []\n",
        );
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].rule(), Rule::UnknownKey);
        assert!(d[0].message().contains("prots"), "{}", d[0].message());
        assert_eq!(d[0].location.as_ref().unwrap().line, 6);
    }

    #[test]
    fn wrong_types_are_reported() {
        let d = parse("secrets:\n  A:\n    bytes: lots\n    env_files: []\n");
        assert_eq!(d[0].rule(), Rule::WrongType);
        assert_eq!(d[0].location.as_ref().unwrap().line, 3);
    }

    /// Rule, message and `line:col` of the only diagnostic for `text`.
    fn only(text: &str) -> (Rule, String, String) {
        let d = parse(text);
        assert_eq!(d.len(), 1, "{d:?}");
        let at = d[0].location.as_ref().unwrap();
        (
            d[0].rule(),
            d[0].message(),
            format!("{}:{}", at.line, at.col),
        )
    }

    const SERVICE: &str = "services:\n  web:\n    phase: a\n    plane: b\n    networks: []\n";

    #[test]
    fn an_unknown_key_in_a_flow_mapping_is_shown_at_the_key_with_the_valid_ones() {
        let (rule, message, at) = only(&format!(
            "{SERVICE}    ports: [{{container: 1, hots: 2}}]\n"
        ));
        assert_eq!(rule, Rule::UnknownKey);
        assert_eq!(at, "6:28");
        assert!(
            message.starts_with(
                "services.web.ports[0]: unknown field `hots`, expected one of `container`, `host`,"
            ),
            "{message}"
        );
    }

    #[test]
    fn a_missing_key_is_shown_at_its_mapping() {
        let (rule, message, at) = only("system:\n  name: a\n  platform: b\n");
        assert_eq!(rule, Rule::MissingKey);
        assert_eq!(message, "system: missing field `registry`");
        assert_eq!(at, "2:3");
    }

    #[test]
    fn a_collection_where_a_choice_belongs_is_a_wrong_type() {
        let (rule, message, at) = only(&format!("{SERVICE}    restart: {{a: 1}}\n"));
        assert_eq!(rule, Rule::WrongType);
        assert!(
            message.starts_with("services.web.restart: invalid type: map"),
            "{message}"
        );
        assert_eq!(at, "6:14");
    }

    #[test]
    fn a_tagged_unknown_choice_names_its_own_key_and_value() {
        let text = format!(
            "{SERVICE}    build:\n      stack: !Python x\n      context: c\n      builder: b\n      runtime: r\n"
        );
        let (rule, message, at) = only(&text);
        assert_eq!(rule, Rule::WrongType);
        assert!(
            message.starts_with(
                "services.web.build.stack: unknown variant `Python`, expected one of `python`,"
            ),
            "{message}"
        );
        assert_eq!(at, "7:14");
    }

    #[test]
    fn an_explicitly_tagged_value_of_the_wrong_kind_is_a_wrong_type() {
        let (rule, message, at) = only("secrets:\n  A:\n    bytes: !!int abc\n    env_files: []\n");
        assert_eq!(rule, Rule::WrongType);
        assert!(
            message.starts_with("secrets.A.bytes: invalid value: string \"abc\""),
            "{message}"
        );
        assert_eq!(at, "3:12");
        let text = format!("{SERVICE}    ports: [{{container: 1, protocol: !udp x}}]\n");
        assert_eq!(only(&text).0, Rule::WrongType);
        let text = format!("{SERVICE}    command: !!int abc\n");
        assert_eq!(only(&text).0, Rule::WrongType);
    }

    #[test]
    fn empty_files_are_refused() {
        assert_eq!(parse("# nothing\n\n")[0].rule(), Rule::EmptyFile);
    }
}
