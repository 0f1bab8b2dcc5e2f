//! The generation pipeline as library functions — what `lucid-gen check`,
//! `all`, `all --check` and `secrets rotate` do, for the binary, the tests
//! and the bench alike: [`load_valid`] (model → `System`, every problem at
//! once), [`check`] (plus the secret-hygiene warnings), and [`all`], which
//! owns the crash-safety order: lock → resolve secrets → render → stage
//! the new store → write the output → commit the store.
//!
//! Nothing here prints: results and failures are returned for `main` to
//! show.

use std::path::Path;

use crate::diagnostic::{self, Diagnostic};
use crate::failure::Failure;
use crate::model::{self, LoadError};
use crate::render;
use crate::secrets::{self, SecretSource, WhenMissing};
use crate::system::{Supplied, System};
use crate::workspace::Paths;
use crate::write::{self, RunLock, Stale};
use crate::{hygiene, validate};

/// A valid model and its warnings.
pub struct Validated {
    pub system: System,
    pub warnings: Vec<Diagnostic>,
}

/// Loads and validates the model: the `System`, or every diagnostic
/// (sorted by location) in [`Failure::InvalidModel`].
pub fn load_valid(model_dir: &Path) -> Result<Validated, Failure> {
    let loaded = match model::load_dir(model_dir) {
        Ok(loaded) => loaded,
        Err(LoadError::Io { path, error }) => {
            let is_root = path == model_dir;
            return Err(Failure::ModelUnreadable {
                path,
                error,
                is_root,
            });
        }
        Err(LoadError::Invalid(mut diagnostics)) => {
            diagnostic::sort(&mut diagnostics);
            return Err(Failure::InvalidModel { diagnostics });
        }
    };
    let validated = validate::validate(loaded);
    // The raw model and its text are dropped: give their pages back before
    // rendering allocates (issue 25: peak memory at 10,000 services).
    crate::allocator::release_free_memory();
    match validated {
        Ok(valid) => Ok(Validated {
            system: valid.system,
            warnings: valid.warnings,
        }),
        Err(diagnostics) => Err(Failure::InvalidModel { diagnostics }),
    }
}

/// What `check` found in a valid model.
pub struct CheckReport {
    pub system: System,
    /// The model's warnings, then the secret-hygiene ones.
    pub warnings: Vec<Diagnostic>,
}

impl CheckReport {
    /// `DIR/ is valid: N services in …`, the line `check` ends with.
    pub fn summary(&self, model_dir: &Path) -> String {
        let system = &self.system;
        let published = (system.services.iter().flat_map(|s| &s.ports))
            .filter(|p| p.host.is_some())
            .count();
        let dir = model_dir.display().to_string();
        format!(
            "{}/ is valid: {} in {}, {} on {}, {}, {}",
            dir.trim_end_matches('/'),
            counted(system.services.len(), "service"),
            counted(system.phases.len(), "phase"),
            counted(system.networks.len(), "network"),
            counted(system.planes.len(), "plane"),
            counted(published, "published port"),
            counted(system.secrets.len(), "secret"),
        )
    }
}

/// `1 service`, `2 services`: a count and its noun, plural when not one.
pub fn counted(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        _ => format!("{n} {noun}s"),
    }
}

/// `lucid-gen check`: the valid model, its warnings and where its secrets
/// are kept.
pub fn check(paths: &Paths) -> Result<CheckReport, Failure> {
    let valid = load_valid(&paths.model)?;
    let mut warnings = valid.warnings;
    warnings.extend(hygiene::secret_hygiene(
        &paths.secrets,
        &paths.out,
        &valid.system,
    ));
    Ok(CheckReport {
        system: valid.system,
        warnings,
    })
}

/// What `all` is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Write the output (and the store).
    Write,
    /// Write nothing; say what is stale.
    Check,
}

/// What `all` did.
pub struct AllReport {
    /// The model's warnings.
    pub warnings: Vec<Diagnostic>,
    /// Files the model produces (the manifest included).
    pub total: usize,
    pub outcome: Outcome,
}

/// The result of `all` (written) or `all --check` (what is stale).
pub enum Outcome {
    Written {
        summary: write::Summary,
        /// Secrets generated anew (names), when kept in a store.
        generated: Vec<String>,
    },
    /// What `--check` found: the stale files (none: up to date).
    Checked {
        stale: Vec<Stale>,
        /// Why secret-bearing files were left out, when they were.
        note: Option<String>,
    },
}

/// The inputs fingerprint and stamp of a run that may skip the work
/// (`all` writing, not rotating): see `write::stamp`.
struct Stamp {
    /// The inputs fingerprint and, after a space, the store's digest.
    inputs: String,
    /// The inputs fingerprint alone.
    base: String,
    /// Where the stamps are kept (the store's directory).
    dir: std::path::PathBuf,
    /// This output's stamp, when the output directory exists.
    path: Option<std::path::PathBuf>,
}

fn stamp_for(paths: &Paths, mode: Mode, rotate: &[String]) -> Option<Stamp> {
    if mode != Mode::Write || !rotate.is_empty() {
        return None;
    }
    let dir = paths.lock_path().parent()?.to_path_buf();
    let path = write::stamp::path(&dir, &paths.out);
    let key = write::stamp::Key {
        model: &paths.model,
        out: &paths.out,
        store: paths
            .insecure_secret_seed
            .is_none()
            .then_some(paths.secrets.as_path()),
        seed: paths.insecure_secret_seed,
        variant: paths.variant.as_deref(),
    };
    let base = write::stamp::inputs(&key)?;
    let inputs = format!("{base} {}", write::stamp::store(key.store));
    Some(Stamp {
        inputs,
        base,
        dir,
        path,
    })
}

/// Both run locks: one beside the store, one on the output directory.
type Locks = (RunLock, RunLock);

/// Takes both [`Locks`].
fn take_locks(paths: &Paths) -> Result<Locks, Failure> {
    let store_lock = paths.lock_path();
    // The store's directory, created (and git-ignored) when missing.
    let store_dir = store_lock.parent().unwrap_or(Path::new("."));
    secrets::create_store_dir(store_dir).map_err(|error| Failure::CreateStoreDir {
        dir: store_dir.to_path_buf(),
        error,
    })?;
    let store = take_lock(RunLock::try_acquire(&store_lock), &store_lock)?;
    let out = take_lock(RunLock::try_acquire_dir(&paths.out), &paths.out)?;
    Ok((store, out))
}

/// With a stamp whose inputs match: the locks, and the report when every
/// output is as recorded (nothing loaded, rendered or read).
fn up_to_date(
    paths: &Paths,
    stamp: Option<&Stamp>,
) -> Result<(Option<Locks>, Option<AllReport>), Failure> {
    let Some((stamp, path)) = stamp.and_then(|s| Some((s, s.path.as_ref()?))) else {
        return Ok((None, None));
    };
    if !write::stamp::may_apply(path, &stamp.inputs) {
        return Ok((None, None));
    }
    let locks = take_locks(paths)?;
    let report = write::stamp::up_to_date(path, &paths.out, &stamp.inputs).map(|total| AllReport {
        warnings: Vec::new(),
        total,
        outcome: Outcome::Written {
            summary: write::Summary {
                written: 0,
                unchanged: total,
                deleted: 0,
            },
            generated: Vec::new(),
        },
    });
    Ok((Some(locks), report))
}

/// `lucid-gen all` (and `secrets rotate`, which names the secrets to
/// replace in `rotate`).
pub fn all(paths: &Paths, mode: Mode, rotate: &[String]) -> Result<AllReport, Failure> {
    paths.check_disjoint()?;
    // Speed: the inputs are fingerprinted before anything is loaded; with
    // nothing changed since a clean run, nothing else is done.
    let stamp = stamp_for(paths, mode, rotate);
    let (locks, report) = up_to_date(paths, stamp.as_ref())?;
    if let Some(report) = report {
        return Ok(report);
    }
    let valid = load_valid(&paths.model)?;
    let system = valid.system;
    // Two runs at once would race on the store and the output files: one
    // lock beside the store, one on the output directory itself (so runs
    // with different stores cannot interleave in one output either).
    let _locks = match (mode, locks) {
        (Mode::Check, _) => None,
        (Mode::Write, Some(locks)) => Some(locks),
        (Mode::Write, None) => Some(take_locks(paths)?),
    };
    let sources: Vec<Supplied> = (system.secrets.iter())
        .filter_map(|s| s.supplied.clone())
        .collect();
    // Read before the secrets are resolved, like the inputs before loading.
    let supplied = stamp.as_ref().map(|_| write::stamp::supplied(&sources));
    let source = paths.secret_source();
    let when_missing = when_missing(&source, mode);
    let resolved = secrets::resolve_with(&system, &source, rotate, when_missing)?;
    let out = &paths.out;
    let clean = valid.warnings.is_empty();
    if mode == Mode::Check {
        let (total, outcome) = check_output(&system, &resolved.values, out, &source)?;
        return Ok(AllReport {
            warnings: valid.warnings,
            total,
            outcome,
        });
    }
    let digests = stamp.is_some() && clean;
    // The last stamp's record of each output spares reading those it
    // vouches for (`write::Known`), whatever the inputs were then.
    let known = (stamp.as_ref().and_then(|s| s.path.as_deref())).and_then(write::Known::load);
    let prepared = render_and_stage(&system, &resolved.values, out, digests, known)?;
    // Memory: the model is not needed once rendered.
    drop(system);
    // The new store is written beside the old one first and put in place
    // only once the output is: a failed run leaves the store as it was; a
    // crash in between leaves output the old store re-renders.
    let store = (resolved.stage(&source)).map_err(|e| Failure::StageStore(e.to_string()))?;
    let total = prepared.total();
    let recorded = prepared.recorded();
    let summary = (prepared.commit()).map_err(|e| Failure::Write(e.to_string()))?;
    let mut inputs = stamp.as_ref().map(|s| s.inputs.clone());
    if let Some(store) = store {
        if let Some(stamp) = &stamp {
            inputs = Some(format!("{} {}", stamp.base, store.digest()));
        }
        store.commit().map_err(|error| Failure::CommitStore {
            error,
            out: out.clone(),
        })?;
    }
    // A stamp for the next run, after a clean one (warnings are not
    // recorded, so a run with warnings always does the work and shows them).
    if let (Some(stamp), Some(inputs), Some(supplied), Some(recorded), true) =
        (&stamp, &inputs, &supplied, &recorded, clean)
    {
        if let Some(path) = write::stamp::path(&stamp.dir, out) {
            write::stamp::record(&path, out, inputs, &sources, supplied, recorded);
        }
    }
    let generated = match source {
        SecretSource::Store(_) => resolved.changed,
        SecretSource::Seeded(_) => Vec::new(),
    };
    Ok(AllReport {
        warnings: valid.warnings,
        total,
        outcome: Outcome::Written { summary, generated },
    })
}

/// `all --check`: how many files the model produces, and which of them
/// are stale in `out`.
fn check_output(
    system: &System,
    values: &secrets::SecretValues,
    out: &Path,
    source: &SecretSource,
) -> Result<(usize, Outcome), Failure> {
    let outputs = write::with_manifest(render::render(system, values)?);
    let mut stale =
        write::compare(out, &outputs).map_err(|e| Failure::ReadOutput(e.to_string()))?;
    let note = match source {
        SecretSource::Store(store) => write::skip_unknowable_secrets(&mut stale, store),
        SecretSource::Seeded(_) => None,
    };
    Ok((outputs.len(), Outcome::Checked { stale, note }))
}

/// Why rendering into the output stopped.
enum Stop {
    Render(render::RenderError),
    Write(write::ApplyError),
}

impl From<render::RenderError> for Stop {
    fn from(e: render::RenderError) -> Self {
        Stop::Render(e)
    }
}

/// Renders `system` straight into the output directory `out`: each file
/// is compared and, when it changed, staged as soon as it is rendered
/// (memory: the whole output is never held), then all are made durable.
/// Nothing is renamed yet; on failure nothing in `out` changed.
fn render_and_stage(
    system: &System,
    values: &secrets::SecretValues,
    out: &Path,
    digests: bool,
    known: Option<write::Known>,
) -> Result<write::Prepared, Failure> {
    let write_failure = |e: write::ApplyError| Failure::Write(e.to_string());
    let writer = write::Writer::open(out, digests).map_err(write_failure)?;
    let mut writer = writer.with_known(known);
    let rendered = render::render_to(system, values, &mut Staging(&mut writer));
    match rendered {
        Ok(()) => writer.prepare().map_err(write_failure),
        Err(Stop::Render(e)) => Err(e.into()),
        Err(Stop::Write(e)) => Err(write_failure(e)),
    }
}

/// Rendered files straight into the writer: each compared and staged
/// as it comes, a compose file as it is rendered.
struct Staging<'w>(&'w mut write::Writer);

impl render::Sink for Staging<'_> {
    type Error = Stop;
    type Stream = write::FileStream;
    fn put(&mut self, path: std::path::PathBuf, file: write::OutputFile) -> Result<(), Stop> {
        self.0.put(path, file).map_err(Stop::Write)
    }
    fn open_stream(&mut self, path: &Path) -> Result<write::FileStream, Stop> {
        self.0.stream(path).map_err(Stop::Write)
    }
    fn close_stream(
        &mut self,
        path: std::path::PathBuf,
        stream: write::FileStream,
    ) -> Result<(), Stop> {
        self.0.streamed(path, stream).map_err(Stop::Write)
    }
}

impl render::Stream for write::FileStream {
    fn failed(&self) -> bool {
        write::FileStream::failed(self)
    }
}

/// The lock `taken` at `path`, or why not.
fn take_lock(taken: std::io::Result<Option<RunLock>>, path: &Path) -> Result<RunLock, Failure> {
    match taken {
        Ok(Some(lock)) => Ok(lock),
        Ok(None) => Err(Failure::Locked {
            path: path.to_path_buf(),
        }),
        Err(error) => Err(Failure::Lock {
            path: path.to_path_buf(),
            error,
        }),
    }
}

/// Without a store (a fresh clone, CI) `--check` leaves secret-bearing
/// files unchecked, so an operator's value is not needed there either.
fn when_missing(source: &SecretSource, mode: Mode) -> WhenMissing {
    match source {
        SecretSource::Store(store) if mode == Mode::Check && !store.exists() => {
            WhenMissing::Placeholder
        }
        _ => WhenMissing::Refuse,
    }
}

/// For GitHub Actions, after `all --check` found `stale` files: appends
/// the diff (secrets hidden) to the job summary file `summary` names, and
/// returns one annotation per stale file when `annotate`.
pub fn github_report(
    out: &Path,
    stale: &[Stale],
    total: usize,
    annotate: bool,
    summary: Option<&Path>,
) -> Result<Vec<String>, Failure> {
    write::github_report(out, stale, total, annotate, summary).map_err(Failure::JobSummary)
}
