//! The streaming writer behind [`super::apply`]: files arrive one at a
//! time (as `render::render_to` finishes them) and are compared and staged
//! in bounded batches, so the whole output is never held in memory; the
//! writer keeps only each file's path, flags and (for the up-to-date
//! stamp) digest.
//!
//! The crash invariant is `apply`'s: nothing is renamed before every
//! changed file is staged and durable. Files are staged as their batch
//! fills, then [`Writer::prepare`] stages the manifest and syncs, and
//! [`Prepared::commit`] renames (the manifest first, then by path), deletes
//! and fixes modes. A failure before the renames (or a writer dropped
//! unfinished: rendering failed) removes what was staged and the
//! directories this run created, leaving the output as it was.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::compare::{self, Found};
use super::jail::{self, Dirs, Jail};
pub use super::streamed::FileStream;
use super::{
    at, manifest, parallel, rename_all, stage, sync_staged, ApplyError, OutputFile, Staged,
    Summary, WriteError, MANIFEST, STAGING_THREADS,
};
use crate::output::{self, PUBLIC_MODE};

/// A batch is compared and staged once it holds this many files or bytes.
const BATCH_FILES: usize = 1024;
const BATCH_BYTES: usize = 4 << 20;

/// What the writer keeps of a file once it is handed on.
struct Kept {
    secret: bool,
    mounted: bool,
    mode: u32,
    digest: Option<[u8; 32]>,
}

/// One output as the up-to-date stamp records it.
pub struct Recorded {
    pub path: Arc<Path>,
    pub mounted: bool,
    /// SHA-256 of the bytes written.
    pub digest: [u8; 32],
}

/// Writes an output directory from files handed to it one at a time.
pub struct Writer {
    out_dir: PathBuf,
    jail: Jail,
    dirs: Dirs,
    previous: manifest::Previous,
    /// Every output taken so far (sorted by path in [`Writer::prepare`]).
    /// A path is shared with the file's staged copy.
    kept: Vec<(Arc<Path>, Kept)>,
    batch: Vec<(Arc<Path>, OutputFile)>,
    batch_bytes: usize,
    staged: Vec<Staged>,
    /// Unchanged secret-bearing files whose mode is no longer theirs.
    loose: Vec<PathBuf>,
    /// How many of the directories opened so far (`Dirs`' log) had their
    /// leftover temporary files removed (or were created by this run).
    cleaned: usize,
    /// Whether each file's digest is kept (for the stamp).
    digests: bool,
    /// What the last stamp recorded of each output: a file it vouches
    /// for is not read (see [`super::Known`]).
    known: Option<super::Known>,
}

fn opened(out_dir: &Path, e: WriteError) -> ApplyError {
    let mut e = ApplyError::from(e);
    e.out_dir = out_dir.to_path_buf();
    e
}

impl Writer {
    /// Opens (creating) the output directory `out_dir`; `digests`: keep
    /// each file's SHA-256 for [`Prepared::recorded`].
    pub fn open(out_dir: &Path, digests: bool) -> Result<Writer, ApplyError> {
        let Some(jail) = Jail::open(out_dir, true).map_err(|e| opened(out_dir, e))? else {
            return Err(opened(
                out_dir,
                at(out_dir)(std::io::ErrorKind::NotFound.into()),
            ));
        };
        let previous = manifest::previous_files(&jail).map_err(|e| opened(out_dir, e))?;
        let writer = Writer {
            out_dir: out_dir.to_path_buf(),
            jail,
            dirs: Dirs::default(),
            previous,
            kept: Vec::new(),
            batch: Vec::new(),
            batch_bytes: 0,
            staged: Vec::new(),
            loose: Vec::new(),
            cleaned: 0,
            digests,
            known: None,
        };
        stage::remove_leftovers_in(writer.jail.root());
        Ok(writer)
    }

    /// Trusts `known` (the last stamp's record of the output) for files
    /// whose `lstat` it vouches for, instead of reading them.
    pub fn with_known(mut self, known: Option<super::Known>) -> Writer {
        self.known = known;
        self
    }

    fn out_dir(&self) -> PathBuf {
        self.out_dir.clone()
    }

    /// Takes one output file (the manifest is the writer's own: one
    /// handed in is ignored).
    pub fn put(&mut self, path: PathBuf, file: OutputFile) -> Result<(), ApplyError> {
        if path == Path::new(MANIFEST) {
            return Ok(());
        }
        self.batch_bytes += file.text.len();
        self.batch.push((Arc::from(path), file));
        if self.batch.len() >= BATCH_FILES || self.batch_bytes >= BATCH_BYTES {
            self.flush().map_err(|mut e| {
                e.out_dir = self.out_dir();
                e
            })?;
        }
        Ok(())
    }

    /// A stream for the public file `rel`, which is rendered into it
    /// (possibly on another thread) and handed back to
    /// [`Writer::streamed`]: for a file too large to hold whole. Its
    /// directory is created now if missing.
    pub fn stream(&mut self, rel: &Path) -> Result<FileStream, ApplyError> {
        self.stream_in(rel).map_err(|mut e| {
            e.out_dir = self.out_dir();
            e
        })
    }

    fn stream_in(&mut self, rel: &Path) -> Result<FileStream, ApplyError> {
        let (dir, name) = jail::split(rel).map_err(at(&self.jail.path(rel)))?;
        let fd = self.dirs.get(&self.jail, dir, true)?;
        let fd = fd.ok_or_else(|| at(&self.jail.path(dir))(std::io::ErrorKind::NotFound.into()))?;
        // Leftovers go before anything is staged in a new directory.
        self.clean_leftovers();
        // Speed: a file the last stamp vouches for is not read; the
        // digest of the new text decides once it is all rendered.
        let vouched = (self.known.as_ref()).and_then(|k| k.digest_of(&fd, name, rel));
        let stream = FileStream::open(&fd, name, Arc::from(rel), PUBLIC_MODE, vouched);
        Ok(stream.map_err(at(&self.jail.path(rel)))?)
    }

    /// Takes back the stream [`Writer::stream`] gave for `rel`, once the
    /// file is rendered into it: staged when it differs from the disk.
    pub fn streamed(&mut self, rel: PathBuf, stream: FileStream) -> Result<(), ApplyError> {
        let jail = &self.jail;
        let finished = stream.finish().map_err(|e| {
            let mut e = ApplyError::from(at(&jail.path(&rel))(e));
            e.out_dir = self.out_dir.clone();
            e
        })?;
        let rel = match &finished.staged {
            Some(staged) => staged.shared_path(),
            None => Arc::from(rel),
        };
        self.staged.extend(finished.staged);
        let kept = Kept {
            secret: false,
            mounted: false,
            mode: PUBLIC_MODE,
            digest: Some(finished.digest).filter(|_| self.digests),
        };
        self.kept.push((rel, kept));
        Ok(())
    }

    /// Compares the batch with the disk and stages what differs.
    fn flush(&mut self) -> Result<(), ApplyError> {
        let batch = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        let digests: Vec<Option<[u8; 32]>> = match self.digests || self.known.is_some() {
            true => parallel::map(&batch, |(_, f)| {
                Some(Sha256::digest(f.text.as_bytes()).into())
            }),
            false => vec![None; batch.len()],
        };
        let stale = self.compare(&batch, &digests)?;
        self.clean_leftovers();
        self.private_dirs(&batch)?;
        let staged = self.stage(&batch, &stale);
        // Directories opened while staging were created by it: empty.
        self.cleaned = self.dirs.opened_count();
        for ((path, file), digest) in batch.into_iter().zip(digests) {
            let kept = Kept {
                secret: file.secret,
                mounted: file.mounted,
                mode: file.mode(),
                digest: digest.filter(|_| self.digests),
            };
            self.kept.push((path, kept));
        }
        staged
    }

    /// The indices of the batch's files that differ from the disk; notes
    /// unchanged secret-bearing files with a loosened mode.
    fn compare(
        &mut self,
        batch: &[(Arc<Path>, OutputFile)],
        digests: &[Option<[u8; 32]>],
    ) -> Result<Vec<usize>, ApplyError> {
        let jail = &self.jail;
        let mut parents = Vec::with_capacity(batch.len());
        for (rel, _) in batch {
            parents.push(jail::split(rel).map_err(at(&jail.path(rel)))?.0);
        }
        self.dirs.open_existing(jail, &parents)?;
        let mut entries = Vec::with_capacity(batch.len());
        for (((rel, file), dir), digest) in batch.iter().zip(&parents).zip(digests) {
            entries.push((rel, file, self.dirs.get(jail, dir, false)?, digest));
        }
        let known = self.known.as_ref();
        let found = parallel::map(&entries, |(rel, file, dir, digest)| {
            // Speed: a file the last stamp vouches for holds the bytes it
            // recorded; their digest decides without reading it.
            let name = rel.file_name().unwrap_or_default();
            if let (Some(known), Some(dir), Some(digest)) = (known, dir, digest) {
                if known.vouches(dir, name, rel, digest) {
                    return Ok(Found::Same);
                }
            }
            compare::look(jail, rel, file, dir.as_ref())
        });
        let mut stale = Vec::new();
        for (i, ((rel, file, dir, _), found)) in entries.iter().zip(found).enumerate() {
            match found? {
                Found::Same => {
                    // Only secret-bearing files must keep their mode.
                    let name = rel.file_name().unwrap_or_default();
                    let loose = file.secret
                        && (dir.as_ref())
                            .and_then(|d| jail::mode(d, name))
                            .is_some_and(|m| m != file.mode());
                    if loose {
                        self.loose.push(rel.to_path_buf());
                    }
                }
                _ => stale.push(i),
            }
        }
        Ok(stale)
    }

    /// Removes temporary files a killed run left in every directory
    /// opened for the first time (before anything is staged in it).
    fn clean_leftovers(&mut self) {
        let fresh = self.dirs.opened_since(self.cleaned);
        parallel::map(fresh, |fd| stage::remove_leftovers_in(fd));
        self.cleaned = self.dirs.opened_count();
    }

    /// Makes (or keeps) each directory holding a mounted secret file mode
    /// 0700 before any such file is staged in it: the files are 0444 so
    /// that containers can read them, and the directory keeps everyone
    /// else out.
    fn private_dirs(&mut self, batch: &[(Arc<Path>, OutputFile)]) -> Result<(), ApplyError> {
        for (rel, _) in batch.iter().filter(|(_, f)| f.mounted) {
            let jail = &self.jail;
            let (dir, _) = jail::split(rel).map_err(at(&jail.path(rel)))?;
            if let Some(fd) = self.dirs.get(jail, dir, true)? {
                jail::private_dir(&fd).map_err(at(&jail.path(dir)))?;
            }
        }
        Ok(())
    }

    /// Stages `batch[i]` for each `i` of `stale` (creating missing
    /// directories), several threads at once (see `STAGING_THREADS`);
    /// the error reported is the first in order.
    fn stage(
        &mut self,
        batch: &[(Arc<Path>, OutputFile)],
        stale: &[usize],
    ) -> Result<(), ApplyError> {
        let jail = &self.jail;
        let mut writes = Vec::with_capacity(stale.len());
        let mut failure = None;
        for &i in stale {
            let (rel, file) = &batch[i];
            let dir = jail::split(rel)
                .map(|(d, _)| d)
                .map_err(at(&jail.path(rel)));
            match dir.and_then(|d| self.dirs.get(jail, d, true)) {
                Ok(Some(fd)) => writes.push((rel, file, fd)),
                Ok(None) => {}
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let results = parallel::map_with(STAGING_THREADS, &writes, |(rel, file, dir)| {
            Staged::create(dir, Arc::clone(rel), file.text.as_bytes(), file.mode())
                .map_err(at(&jail.path(rel)))
        });
        for result in results {
            match result {
                Ok(s) => self.staged.push(s),
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
        failure.map_or(Ok(()), |e| Err(e.into()))
    }

    /// Stages the last batch and the manifest, and makes every staged
    /// file durable: ready to rename.
    pub fn prepare(self) -> Result<Prepared, ApplyError> {
        let out_dir = self.out_dir();
        self.prepare_in().map_err(|mut e| {
            e.out_dir = out_dir;
            e
        })
    }

    fn prepare_in(mut self) -> Result<Prepared, ApplyError> {
        self.flush()?;
        // Paths are unique (validation refuses two outputs at one path);
        // a repeated one would keep its last file, as a map would.
        self.kept.sort_by(|(a, _), (b, _)| a.cmp(b));
        self.kept.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(later, kept);
            }
            same
        });
        let kept = &self.kept;
        let produced = |p: &Path| p == Path::new(MANIFEST) || find(kept, p).is_some();
        let gone = compare::gone(&self.jail, &mut self.dirs, &produced, &self.previous.files)?;
        let deletes: Vec<(PathBuf, bool)> = gone.into_iter().map(|s| (s.path, s.secret)).collect();
        let listed: Vec<(&Path, bool)> =
            (self.kept.iter()).map(|(p, k)| (&**p, k.secret)).collect();
        let manifest = output::public(manifest::text(listed.iter().copied()));
        let digest = self
            .digests
            .then(|| Sha256::digest(manifest.text.as_bytes()).into());
        let rel = Path::new(MANIFEST);
        let root = Some(self.jail.root().clone());
        if !matches!(
            compare::look(&self.jail, rel, &manifest, root.as_ref())?,
            Found::Same
        ) {
            let more: Vec<(&Path, bool)> = deletes.iter().map(|(p, s)| (p.as_path(), *s)).collect();
            let text = match more.is_empty() {
                true => manifest.text,
                false => manifest::text_of(listed.iter().copied(), &more),
            };
            let staged = Staged::create(
                self.jail.root(),
                Arc::from(rel),
                text.as_bytes(),
                PUBLIC_MODE,
            )
            .map_err(at(&self.jail.path(rel)))?;
            self.staged.push(staged);
        }
        let manifest = Kept {
            secret: false,
            mounted: false,
            mode: PUBLIC_MODE,
            digest,
        };
        let place = self.kept.partition_point(|(p, _)| **p < *rel);
        self.kept.insert(place, (Arc::from(rel), manifest));
        if let Err(e) = sync_staged(&self.staged) {
            return Err(at(&self.jail.path(Path::new("")))(e).into());
        }
        let mut staged = std::mem::take(&mut self.staged);
        fn key(s: &Staged) -> (bool, &Path) {
            (s.path() != Path::new(MANIFEST), s.path())
        }
        staged.sort_by(|a, b| key(a).cmp(&key(b)));
        let jail = self.jail.clone();
        let dirs = std::mem::take(&mut self.dirs);
        Ok(Prepared {
            out_dir: self.out_dir.clone(),
            jail,
            dirs,
            kept: std::mem::take(&mut self.kept),
            staged,
            deletes,
            loose: std::mem::take(&mut self.loose),
            committing: false,
        })
    }
}

/// What `kept` (sorted by path) keeps of the output `path`.
fn find<'k>(kept: &'k [(Arc<Path>, Kept)], path: &Path) -> Option<&'k Kept> {
    let i = kept.binary_search_by(|(p, _)| (**p).cmp(path)).ok()?;
    Some(&kept[i].1)
}

impl Drop for Writer {
    /// Unfinished (a failure, or rendering stopped): the staged files go,
    /// then the directories this run created, children before parents.
    fn drop(&mut self) {
        self.staged.clear();
        self.dirs.remove_created(&self.jail);
    }
}

/// Every changed file staged and durable, waiting for [`Prepared::commit`].
pub struct Prepared {
    out_dir: PathBuf,
    jail: Jail,
    dirs: Dirs,
    /// Sorted by path.
    kept: Vec<(Arc<Path>, Kept)>,
    staged: Vec<Staged>,
    deletes: Vec<(PathBuf, bool)>,
    loose: Vec<PathBuf>,
    /// The renames began: what was created stays.
    committing: bool,
}

impl Drop for Prepared {
    /// Never committed (a later step failed): as [`Writer`]'s.
    fn drop(&mut self) {
        if !self.committing {
            self.staged.clear();
            self.dirs.remove_created(&self.jail);
        }
    }
}

impl Prepared {
    /// How many files the model produces (the manifest included).
    pub fn total(&self) -> usize {
        self.kept.len()
    }

    /// Renames every staged file into place (the manifest first), deletes
    /// the files no longer produced and gives unchanged secret-bearing
    /// files their mode back.
    pub fn commit(mut self) -> Result<Summary, ApplyError> {
        let out_dir = self.out_dir.clone();
        self.commit_in().map_err(|mut e| {
            e.out_dir = out_dir;
            e
        })
    }

    fn commit_in(&mut self) -> Result<Summary, ApplyError> {
        self.committing = true;
        let staged = std::mem::take(&mut self.staged);
        let written = rename_all(&self.jail, staged)?;
        let mut summary = Summary {
            written: written.len(),
            unchanged: self.kept.len() - written.len(),
            deleted: 0,
        };
        if !self.deletes.is_empty() {
            let listed: Vec<(&Path, bool)> =
                (self.kept.iter()).map(|(p, k)| (&**p, k.secret)).collect();
            let deletes: Vec<(&Path, bool)> = (self.deletes.iter())
                .map(|(p, s)| (p.as_path(), *s))
                .collect();
            summary.deleted =
                super::delete_stale(&self.jail, &mut self.dirs, &listed, &deletes, &written)?;
        }
        for rel in &self.loose {
            let (dir, name) = jail::split(rel).map_err(at(&self.jail.path(rel)))?;
            if let Some(dir) = self.dirs.get(&self.jail, dir, false)? {
                let Some(mode) = find(&self.kept, rel).map(|k| k.mode) else {
                    continue;
                };
                jail::set_mode(&dir, name, mode).map_err(at(&self.jail.path(rel)))?;
            }
        }
        Ok(summary)
    }

    /// Each output's path, whether it is mounted and its digest, for the
    /// up-to-date stamp (`None` unless the writer kept digests).
    pub fn recorded(&self) -> Option<Vec<Recorded>> {
        (self.kept.iter())
            .map(|(path, k)| {
                Some(Recorded {
                    path: Arc::clone(path),
                    mounted: k.mounted,
                    digest: k.digest?,
                })
            })
            .collect()
    }
}
