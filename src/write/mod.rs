//! Putting rendered files on disk: atomically, only when their bytes
//! changed, removing files an earlier run wrote that the model no longer
//! produces; or, with `--check`, comparing without writing.
//!
//! Invariants: the output directory is a jail (`jail.rs`): everything in
//! it is reached by descriptor, never through a link or a non-directory,
//! and nothing outside it is written or deleted; every file is replaced by
//! rename from a synced temporary file in the same directory, so a crash
//! leaves it wholly old or wholly new; an existing entry is only ever read
//! when it is a regular file, and at most a bounded number of bytes;
//! secret-bearing files are created with mode 0600; a diff never shows the
//! contents of a secret-bearing file; a failure says which files were
//! replaced and which were not.

mod compare;
mod diff;
mod jail;
mod known;
mod lock;
mod manifest;
mod stage;
pub mod stamp;
mod stream;
mod streamed;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::output::PUBLIC_MODE;
pub use crate::output::{OutputFile, Outputs};
use crate::parallel;
pub use compare::compare;
pub use diff::{github_report, render_diff, skip_unknowable_secrets};
use jail::{DirFd, Dirs, Jail};
pub use known::Known;
pub use lock::RunLock;
pub use manifest::{with_manifest, MANIFEST};
pub use stage::Staged;
pub use stream::{FileStream, Prepared, Recorded, Writer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Create,
    Update,
    Delete,
}

/// A file whose bytes on disk differ from what the model produces.
#[derive(Debug)]
pub struct Stale {
    pub path: PathBuf,
    pub change: Change,
    pub secret: bool,
    old: Option<String>,
    new: Option<String>,
    /// Why the old contents are not shown (not a regular file, too large).
    note: Option<String>,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub written: usize,
    pub unchanged: usize,
    pub deleted: usize,
}

impl std::fmt::Display for Summary {
    /// `N written, M unchanged[, K deleted]`, as `all` reports it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} written, {} unchanged", self.written, self.unchanged)?;
        match self.deleted {
            0 => Ok(()),
            n => write!(f, ", {n} deleted"),
        }
    }
}

pub use crate::output::TMP_PREFIX;

/// An I/O failure and the path it happened at.
#[derive(Debug)]
pub struct WriteError {
    pub path: PathBuf,
    pub error: io::Error,
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.error)
    }
}

fn at(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |error| WriteError {
        path: path.to_path_buf(),
        error,
    }
}

/// Why `apply` stopped, and what it had done by then.
#[derive(Debug)]
pub struct ApplyError {
    /// What failed: "write", "replace" or "delete".
    pub verb: &'static str,
    pub failure: WriteError,
    pub out_dir: PathBuf,
    /// What was done by then (boxed: errors stay small).
    pub progress: Box<Progress>,
}

/// What `apply` had done when it stopped.
#[derive(Debug, Default)]
pub struct Progress {
    /// Files renamed into place before the failure (they hold the new
    /// contents).
    pub replaced: Vec<PathBuf>,
    /// Files that should have been replaced and were not (old contents).
    pub not_replaced: Vec<PathBuf>,
    /// Stale files that could not be deleted; they stay in the manifest.
    pub not_deleted: Vec<PathBuf>,
}

impl From<WriteError> for ApplyError {
    fn from(failure: WriteError) -> Self {
        ApplyError {
            verb: "write",
            failure,
            out_dir: PathBuf::new(),
            progress: Box::default(),
        }
    }
}

/// Up to ten paths, then how many more.
fn list(paths: &[PathBuf]) -> String {
    let mut shown: Vec<String> = paths
        .iter()
        .take(10)
        .map(|p| p.display().to_string())
        .collect();
    if paths.len() > 10 {
        shown.push(format!("and {} more", paths.len() - 10));
    }
    shown.join(", ")
}

impl std::fmt::Display for ApplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot {} {}", self.verb, self.failure)?;
        let out = self.out_dir.display();
        if self.progress.replaced.is_empty() && self.progress.not_deleted.is_empty() {
            return write!(f, "\n  note: nothing in {out} was changed");
        }
        if !self.progress.replaced.is_empty() {
            write!(
                f,
                "\n  replaced in {out} (new contents): {}",
                list(&self.progress.replaced)
            )?;
        }
        if !self.progress.not_replaced.is_empty() {
            write!(
                f,
                "\n  not replaced (old contents): {}",
                list(&self.progress.not_replaced)
            )?;
        }
        if !self.progress.not_deleted.is_empty() {
            write!(
                f,
                "\n  not deleted (kept in {MANIFEST}, so `lucid-gen all --check` still reports them): {}",
                list(&self.progress.not_deleted)
            )?;
        }
        write!(f, "\n  help: fix the path and run `lucid-gen all` again")
    }
}

/// Opens the directory holding `path` (the user's path: links allowed)
/// and stages `bytes` for it; `commit` renames it into place.
pub fn stage_beside(path: &Path, bytes: &[u8], private: bool) -> io::Result<Staged> {
    let dir = parent_dir(path);
    let flags =
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC;
    let fd = rustix::fs::open(dir, flags, rustix::fs::Mode::empty())?;
    let mode = if private { 0o600 } else { PUBLIC_MODE };
    Staged::create(&Arc::new(fd), Arc::from(path), bytes, mode)
}

/// Writes `bytes` to `path` through a synced temporary file and a rename,
/// so a crash leaves the old or the new file, never a part.
pub fn atomic_write(path: &Path, bytes: &[u8], private: bool) -> io::Result<()> {
    stage_beside(path, bytes, private)?.commit()
}

/// Reads the regular file at `path` (at most `limit` bytes; `None` when
/// missing) without following a link at its last component and without
/// opening a FIFO or device.
pub fn read_regular(path: &Path, limit: u64) -> io::Result<Option<Vec<u8>>> {
    use crate::regular_file::{read, Follow, ReadError};
    match read(path, Follow::NotLast, limit) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(ReadError::Missing) => Ok(None),
        Err(ReadError::TooLarge { size, .. }) => Err(io::Error::other(format!(
            "is {size} bytes, more than the {limit} allowed here"
        ))),
        Err(ReadError::NotRegular(kind)) => Err(io::Error::other(format!(
            "is {kind}, not a regular file; lucid-gen never follows links or reads devices here\n  \
             help: replace it with the regular file it should be"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Makes `dir`'s entries durable (`fsync` of the directory): a rename
/// into it survives a crash.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    let flags =
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC;
    let fd = rustix::fs::open(dir, flags, rustix::fs::Mode::empty())?;
    Ok(rustix::fs::fsync(&fd)?)
}

/// Removes temporary files a killed run left in `dir` (they may hold
/// secrets).
pub fn remove_leftovers(dir: &Path) {
    let flags =
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC;
    if let Ok(fd) = rustix::fs::open(dir, flags, rustix::fs::Mode::empty()) {
        stage::remove_leftovers_in(&fd);
    }
}

/// Threads that stage or sync files at once. Both wait on the disk
/// (`mkdir`, `fsync`), not on a core, so more threads than cores overlap
/// the waits: on a 2-core VM, staging 10,000 new files with a `fsync` each
/// took 5.2 s one at a time and about 1 s with 16 threads. (With one
/// `syncfs` instead, 2 to 16 threads measured within noise.)
const STAGING_THREADS: usize = 16;

/// The permission bits of a file, if it exists.
#[cfg(unix)]
pub fn mode_of(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

#[cfg(not(unix))]
pub fn mode_of(_: &Path) -> Option<u32> {
    None
}

/// Writes every file whose bytes changed and deletes files an earlier run
/// wrote that are no longer produced.
///
/// All or nothing, as far as the file system allows: every new file is
/// first staged (written beside its target); only when all are staged and
/// durable are they renamed into place. A failure while staging removes
/// the staged files and the directories it created, leaving the output as
/// it was; a later failure names what was replaced and what was not.
pub fn apply(out_dir: &Path, outputs: &Outputs) -> Result<Summary, ApplyError> {
    let mut writer = Writer::open(out_dir, false)?;
    for (path, file) in outputs {
        writer.put(path.clone(), file.clone())?;
    }
    writer.prepare()?.commit()
}

/// Makes every staged file durable before any rename: one `syncfs` per
/// file system where the platform has it, else one `fsync` per file
/// (several threads at once).
fn sync_staged(staged: &[Staged]) -> io::Result<()> {
    if stage::sync_file_systems(staged.iter().map(|s| &**s.dir())) {
        return Ok(());
    }
    parallel::map_with(STAGING_THREADS, staged, Staged::sync)
        .into_iter()
        .collect()
}

/// Renames every staged file into place, then makes the renames durable
/// (one `syncfs` per file system, else one `fsync` per directory).
/// Returns the files replaced; on failure, says which were and which not.
fn rename_all(jail: &Jail, staged: Vec<Staged>) -> Result<Vec<PathBuf>, ApplyError> {
    let mut replaced = Vec::with_capacity(staged.len());
    let mut into: Vec<DirFd> = Vec::new();
    let mut failure = None;
    let mut rest = staged.into_iter();
    for s in rest.by_ref() {
        let rel = s.path().to_path_buf();
        let dir = s.dir().clone();
        match s.persist() {
            Ok(()) => {
                if !into.last().is_some_and(|d| Arc::ptr_eq(d, &dir)) {
                    into.push(dir);
                }
                replaced.push(rel);
            }
            Err(error) => {
                let path = jail.path(&rel);
                failure = Some((rel, WriteError { path, error }));
                break;
            }
        }
    }
    // The files not renamed are removed as `rest` drops.
    let not_replaced: Vec<PathBuf> = rest.map(|s| s.path().to_path_buf()).collect();
    if !stage::sync_file_systems(into.iter().map(|d| &**d)) {
        parallel::map_with(STAGING_THREADS, &into, |d| rustix::fs::fsync(&**d));
    }
    match failure {
        None => Ok(replaced),
        Some((rel, failure)) => {
            let mut not_replaced = not_replaced;
            not_replaced.insert(0, rel);
            Err(ApplyError {
                verb: "replace",
                failure,
                out_dir: PathBuf::new(),
                progress: Box::new(Progress {
                    replaced,
                    not_replaced,
                    not_deleted: Vec::new(),
                }),
            })
        }
    }
}

/// Deletes the files the model no longer produces (a link itself, never
/// its target), then rewrites the manifest to list exactly the outputs
/// and any file that could not be deleted, so `--check` keeps reporting
/// it. Returns how many were deleted.
fn delete_stale(
    jail: &Jail,
    dirs: &mut Dirs,
    listed: &[(&Path, bool)],
    deletes: &[(&Path, bool)],
    written: &[PathBuf],
) -> Result<usize, ApplyError> {
    let mut failures = Vec::new();
    for (rel, secret) in deletes {
        let path = jail.path(rel);
        let removed = jail::split(rel).map_err(at(&path)).and_then(|(dir, name)| {
            match dirs.get(jail, dir, false)? {
                Some(dir) => jail::remove(&dir, name).map_err(at(&path)),
                None => Ok(()),
            }
        });
        if let Err(e) = removed {
            failures.push(((*rel, *secret), e));
        }
    }
    let still: Vec<(&Path, bool)> = failures.iter().map(|(f, _)| *f).collect();
    let kept: Vec<PathBuf> = still.iter().map(|(p, _)| p.to_path_buf()).collect();
    let text = manifest::text_of(listed.iter().copied(), &still);
    let manifest_path = jail.path(Path::new(MANIFEST));
    Staged::create(
        jail.root(),
        Arc::from(Path::new(MANIFEST)),
        text.as_bytes(),
        PUBLIC_MODE,
    )
    .and_then(Staged::commit)
    .map_err(at(&manifest_path))?;
    let deleted = deletes.len() - failures.len();
    match failures.into_iter().next() {
        None => Ok(deleted),
        Some((_, failure)) => Err(ApplyError {
            verb: "delete",
            failure,
            out_dir: PathBuf::new(),
            progress: Box::new(Progress {
                replaced: written.to_vec(),
                not_replaced: Vec::new(),
                not_deleted: kept,
            }),
        }),
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn outputs(files: &[(&str, &str, bool)]) -> Outputs {
        files
            .iter()
            .map(|(p, t, s)| {
                (
                    PathBuf::from(p),
                    OutputFile {
                        text: t.to_string(),
                        secret: *s,
                        mounted: false,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn writes_only_changes_and_deletes_what_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let first = with_manifest(outputs(&[
            ("a/x.yml", "x\n", false),
            ("b/.env", "S='1'\n", true),
        ]));
        assert_eq!(apply(dir.path(), &first).unwrap().written, 3);
        assert_eq!(mode_of(&dir.path().join("b/.env")), Some(0o600));
        let again = apply(dir.path(), &first).unwrap();
        assert_eq!((again.written, again.unchanged), (0, 3));
        let second = with_manifest(outputs(&[("a/x.yml", "y\n", false)]));
        let stale = compare(dir.path(), &second).unwrap();
        let diff = render_diff(dir.path(), &stale);
        assert!(diff.contains("-x") && diff.contains("+y"), "{diff}");
        assert!(diff.contains(".env: would be deleted"), "{diff}");
        let s = apply(dir.path(), &second).unwrap();
        assert_eq!((s.written, s.deleted), (2, 1));
        assert!(!dir.path().join("b/.env").exists());
        // A path the manifest could mistake for a comment is still deleted.
        apply(
            dir.path(),
            &with_manifest(outputs(&[("#x/y", "y\n", false)])),
        )
        .unwrap();
        apply(dir.path(), &second).unwrap();
        assert!(!dir.path().join("#x/y").exists());
    }

    /// A mounted secret file is 0444 (its container's user must read it),
    /// in a directory made 0700 even when it existed with looser bits.
    #[test]
    fn mounted_secret_files_are_readable_only_through_a_private_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("s/files")).unwrap();
        let mut outputs = outputs(&[("a.txt", "plain", false)]);
        outputs.insert(
            PathBuf::from("s/files/KEY"),
            crate::output::mounted("value".into()),
        );
        apply(dir.path(), &outputs).unwrap();
        assert_eq!(mode_of(&dir.path().join("s/files/KEY")), Some(0o444));
        assert_eq!(mode_of(&dir.path().join("s/files")), Some(0o700));
        assert_eq!(mode_of(&dir.path().join("a.txt")), Some(0o644));
        // Loosened by hand: the next run tightens both again.
        use std::os::unix::fs::PermissionsExt;
        let perm = |m| std::fs::Permissions::from_mode(m);
        std::fs::set_permissions(dir.path().join("s/files"), perm(0o755)).unwrap();
        std::fs::set_permissions(dir.path().join("s/files/KEY"), perm(0o666)).unwrap();
        apply(dir.path(), &outputs).unwrap();
        assert_eq!(mode_of(&dir.path().join("s/files/KEY")), Some(0o444));
        assert_eq!(mode_of(&dir.path().join("s/files")), Some(0o700));
    }

    #[test]
    fn secret_contents_never_appear_in_diffs() {
        let dir = tempfile::tempdir().unwrap();
        let o = outputs(&[(".env", "PASSWORD='hunter2hunter2'\n", true)]);
        let diff = render_diff(dir.path(), &compare(dir.path(), &o).unwrap());
        assert!(!diff.contains("hunter2"), "{diff}");
        assert!(diff.contains("contents not shown"));
    }

    /// A file that held a secret and now holds plain text (or the other
    /// way round) is secret-bearing for the diff, the annotations and the
    /// job summary: the previous manifest says so, or, when the manifest
    /// is too old to say, the file's secret mode does.
    #[test]
    fn a_file_that_held_a_secret_is_never_diffed() {
        let dir = tempfile::tempdir().unwrap();
        let old = with_manifest(outputs(&[("s/x.conf", "password hunter2hunter2\n", true)]));
        apply(dir.path(), &old).unwrap();
        let new = with_manifest(outputs(&[("s/x.conf", "plain text\n", false)]));
        let summary = dir.path().join("summary.md");
        let shown = |what: &str| {
            let stale = compare(dir.path(), &new).unwrap();
            assert!(stale.iter().any(|s| s.secret), "{what}");
            let diff = render_diff(dir.path(), &stale);
            let notes = github_report(dir.path(), &stale, 2, true, Some(&summary)).unwrap();
            let all = format!(
                "{diff}{}{}",
                notes.join(""),
                std::fs::read_to_string(&summary).unwrap()
            );
            assert!(!all.contains("hunter2"), "{what}: {all}");
            assert!(diff.contains("contents not shown"), "{what}: {diff}");
        };
        shown("marked in the manifest");
        // A manifest of an older lucid-gen lists bare paths: the 0600 file
        // on disk decides.
        let bare = "s/x.conf\n.lucid-gen-manifest\n";
        std::fs::write(dir.path().join(MANIFEST), bare).unwrap();
        shown("by its mode");
        // Plain files the same way are diffed as before.
        let plain = with_manifest(outputs(&[("p.txt", "a\n", false)]));
        apply(dir.path(), &plain).unwrap();
        let changed = with_manifest(outputs(&[("p.txt", "b\n", false)]));
        let diff = render_diff(dir.path(), &compare(dir.path(), &changed).unwrap());
        assert!(diff.contains("-a") && diff.contains("+b"), "{diff}");
    }

    #[test]
    fn a_rename_failing_midway_names_what_was_replaced_and_what_not() {
        let dir = tempfile::tempdir().unwrap();
        let files = with_manifest(outputs(&[
            ("a.txt", "a\n", false),
            ("b.txt", "b\n", false),
            ("c.txt", "c\n", false),
        ]));
        let mut writer = Writer::open(dir.path(), false).unwrap();
        for (path, file) in &files {
            writer.put(path.clone(), file.clone()).unwrap();
        }
        let prepared = writer.prepare().unwrap();
        // Between staging and renaming, b.txt becomes a directory in use.
        std::fs::create_dir_all(dir.path().join("b.txt/inside")).unwrap();
        let e = prepared.commit().unwrap_err();
        assert_eq!(
            e.progress.replaced,
            [PathBuf::from(MANIFEST), PathBuf::from("a.txt")]
        );
        assert_eq!(
            e.progress.not_replaced,
            [PathBuf::from("b.txt"), PathBuf::from("c.txt")]
        );
        let shown = e.to_string();
        assert!(
            shown.contains("cannot replace") && shown.contains("b.txt"),
            "{shown}"
        );
        assert!(
            shown.contains("not replaced (old contents): b.txt, c.txt"),
            "{shown}"
        );
        assert!(!shown.contains("nothing in"), "{shown}");
        // The files not renamed left no temporary file behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
    }

    /// Writes `streamed` (path, text) as streams and the rest as files;
    /// the summary and the recorded digests.
    fn write_streaming(
        dir: &Path,
        files: &[(&str, &str)],
        streamed: &[(&str, &str)],
    ) -> (Summary, Vec<Recorded>) {
        use std::fmt::Write as _;
        let mut writer = Writer::open(dir, true).unwrap();
        for (path, text) in files {
            let file = crate::output::public(text.to_string());
            writer.put(PathBuf::from(path), file).unwrap();
        }
        for (path, text) in streamed {
            let mut stream = writer.stream(Path::new(path)).unwrap();
            stream.write_str(text).unwrap();
            writer.streamed(PathBuf::from(path), stream).unwrap();
        }
        let prepared = writer.prepare().unwrap();
        let recorded = prepared.recorded().unwrap();
        (prepared.commit().unwrap(), recorded)
    }

    #[test]
    fn a_streamed_file_is_written_listed_and_recorded_like_any_other() {
        let dir = tempfile::tempdir().unwrap();
        let streamed = [("compose/big.yml", "services: {}\n")];
        let (first, recorded) = write_streaming(dir.path(), &[("a.txt", "a\n")], &streamed);
        assert_eq!((first.written, first.unchanged), (3, 0));
        let big = dir.path().join("compose/big.yml");
        assert_eq!(std::fs::read_to_string(&big).unwrap(), "services: {}\n");
        assert_eq!(mode_of(&big), Some(0o644));
        let listed = std::fs::read_to_string(dir.path().join(MANIFEST)).unwrap();
        assert!(listed.contains("compose/big.yml"), "{listed}");
        let digest = |path: &str| {
            let r = recorded.iter().find(|r| &*r.path == Path::new(path));
            r.map(|r| r.digest)
        };
        let expected: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(b"services: {}\n").into();
        assert_eq!(digest("compose/big.yml"), Some(expected));
        // The same bytes again: nothing is written, nothing left staged.
        let (again, _) = write_streaming(dir.path(), &[("a.txt", "a\n")], &streamed);
        assert_eq!((again.written, again.unchanged), (0, 3));
        let streamed = [("compose/big.yml", "services: {x: {}}\n")];
        let (changed, _) = write_streaming(dir.path(), &[("a.txt", "a\n")], &streamed);
        assert_eq!((changed.written, changed.unchanged), (1, 2));
        assert_eq!(
            std::fs::read_to_string(&big).unwrap(),
            "services: {x: {}}\n"
        );
        for d in [dir.path(), &dir.path().join("compose")] {
            let names: Vec<_> = (std::fs::read_dir(d).unwrap())
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(TMP_PREFIX))
                .collect();
            assert!(names.is_empty(), "{names:?}");
        }
    }

    #[test]
    fn a_writer_dropped_with_a_stream_out_leaves_the_output_as_it_was() {
        use std::fmt::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let mut writer = Writer::open(dir.path(), false).unwrap();
        let mut stream = writer.stream(Path::new("new/big.yml")).unwrap();
        stream.write_str("half of a file").unwrap();
        // Rendering failed: the stream and the writer are dropped.
        drop(stream);
        drop(writer);
        assert!(!dir.path().join("new").exists());
    }

    #[test]
    fn a_second_lock_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let held = RunLock::try_acquire(&path).unwrap();
        assert!(held.is_some());
        assert!(RunLock::try_acquire(&path).unwrap().is_none());
        drop(held);
        assert!(RunLock::try_acquire(&path).unwrap().is_some());
    }
}
