//! Putting rendered files on disk: atomically, only when their bytes
//! changed, removing files an earlier run wrote that the model no longer
//! produces; or, with `--check`, comparing without writing.
//!
//! Invariants: every file is replaced by rename from a synced temporary
//! file in the same directory, so a crash leaves it wholly old or wholly
//! new; secret-bearing files are created with mode 0600; a diff never shows
//! the contents of a secret-bearing file; nothing outside the output
//! directory is touched.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::model::par;
pub use crate::output::{OutputFile, Outputs, MANIFEST, TMP_PREFIX};

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
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub written: usize,
    pub unchanged: usize,
    pub deleted: usize,
}

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

/// Writes `bytes` to a synced temporary file beside `path` (mode 0600 when
/// `private`); `commit` renames it into place.
fn stage(path: &Path, bytes: &[u8], private: bool) -> io::Result<tempfile::TempPath> {
    let tmp = stage_unsynced(path, bytes, private)?;
    File::open(&tmp)?.sync_all()?;
    Ok(tmp)
}

/// Like `stage`, without the sync: the caller makes every staged file
/// durable at once (`sync_staged`) before renaming any of them.
fn stage_unsynced(path: &Path, bytes: &[u8], private: bool) -> io::Result<tempfile::TempPath> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .tempfile_in(dir)?;
    // On the open descriptor: no second path lookup.
    set_file_mode(tmp.as_file(), if private { 0o600 } else { 0o644 })?;
    tmp.write_all(bytes)?;
    Ok(tmp.into_temp_path())
}

/// Makes every staged file durable before any rename: one `syncfs` per
/// file system where the platform has it, else one `fsync` per file
/// (several threads at once).
fn sync_staged(staged: &[(tempfile::TempPath, PathBuf)]) -> io::Result<()> {
    if sync_file_systems(staged.iter().map(|(tmp, _)| parent_dir(tmp))) {
        return Ok(());
    }
    par::map_with(STAGING_THREADS, staged, |(tmp, _)| {
        File::open(tmp)?.sync_all()
    })
    .into_iter()
    .collect()
}

/// Makes the renames into `dirs` durable: one `syncfs` per file system
/// where the platform has it, else one `fsync` per directory (several
/// threads at once).
fn sync_renames(dirs: &[PathBuf]) {
    if !sync_file_systems(dirs.iter().map(PathBuf::as_path)) {
        par::map_with(STAGING_THREADS, dirs, |dir| sync_dir(dir));
    }
}

/// `fs::create_dir_all`, returning the directories it created (parents
/// first). One `mkdir` for a directory whose parent exists; no separate
/// existence checks.
fn create_dirs(dir: &Path) -> io::Result<Vec<PathBuf>> {
    match fs::create_dir(dir) {
        Ok(()) => Ok(vec![dir.to_path_buf()]),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(Vec::new()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let parent = dir
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .ok_or(e)?;
            let mut created = create_dirs(parent)?;
            match fs::create_dir(dir) {
                Ok(()) => created.push(dir.to_path_buf()),
                // Another thread made it in between.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => {}
                Err(e) => return Err(e),
            }
            Ok(created)
        }
        Err(e) => Err(e),
    }
}

/// Flushes every file system holding one of `dirs` with Linux's `syncfs`
/// (which covers every file and directory on it, so thousands of
/// `fsync`s become one call per file system). False when that is not
/// available or fails, so the caller syncs item by item.
fn sync_file_systems<'a>(dirs: impl Iterator<Item = &'a Path>) -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        use std::os::unix::io::AsRawFd;
        extern "C" {
            fn syncfs(fd: i32) -> i32;
        }
        let mut devices = std::collections::BTreeMap::new();
        for dir in dirs {
            let Ok(meta) = fs::metadata(dir) else {
                return false;
            };
            devices.entry(meta.dev()).or_insert(dir);
        }
        devices.values().all(|dir| {
            // SAFETY: syncfs only reads the descriptor, which stays open
            // for the call.
            File::open(dir).is_ok_and(|d| unsafe { syncfs(d.as_raw_fd()) } == 0)
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dirs;
        false
    }
}

/// Renames a staged file into place and makes the rename durable.
fn commit(staged: tempfile::TempPath, path: &Path) -> io::Result<()> {
    staged.persist(path).map_err(|e| e.error)?;
    sync_dir(parent_dir(path));
    Ok(())
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Makes the renames into `dir` durable, as far as the system allows.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Threads that stage or sync files at once. Both wait on the disk
/// (`mkdir`, `fsync`), not on a core, so more threads than cores overlap
/// the waits: on a 2-core VM, staging 10,000 new files with a `fsync` each
/// took 5.2 s one at a time and about 1 s with 16 threads. (With one
/// `syncfs` instead, 2 to 16 threads measured within noise.)
const STAGING_THREADS: usize = 16;

/// Writes `bytes` to `path` through a synced temporary file and a rename,
/// so a crash leaves the old or the new file, never a part.
pub fn atomic_write(path: &Path, bytes: &[u8], private: bool) -> io::Result<()> {
    commit(stage(path, bytes, private)?, path)
}

/// Removes temporary files a killed run left in `dir` (they may hold
/// secrets).
pub fn remove_leftovers(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn set_file_mode(file: &File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_file_mode(_: &File, _: u32) -> io::Result<()> {
    Ok(())
}

/// The permission bits of a file, if it exists.
#[cfg(unix)]
pub fn mode_of(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

#[cfg(not(unix))]
pub fn mode_of(_: &Path) -> Option<u32> {
    None
}

fn read_existing(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The files an earlier run recorded in the manifest.
fn previous_files(out_dir: &Path) -> io::Result<Vec<PathBuf>> {
    let text = match fs::read_to_string(out_dir.join(MANIFEST)) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        // Never follow a manifest out of the output directory.
        .filter(|l| !l.starts_with('/') && !l.split('/').any(|p| p == ".."))
        .map(PathBuf::from)
        .collect())
}

/// Adds the manifest itself to `outputs`.
pub fn with_manifest(mut outputs: Outputs) -> Outputs {
    let mut text =
        String::from("# Files written by lucid-gen; it deletes those the model stops producing.\n");
    for path in outputs.keys() {
        text.push_str(&path.to_string_lossy());
        text.push('\n');
    }
    text.push_str(MANIFEST);
    text.push('\n');
    outputs.insert(
        PathBuf::from(MANIFEST),
        OutputFile {
            text,
            secret: false,
        },
    );
    outputs
}

/// Lists what differs between `outputs` and the files under `out_dir`.
pub fn compare(out_dir: &Path, outputs: &Outputs) -> Result<Vec<Stale>, WriteError> {
    // Speed: the files are read and compared on every core at once; each
    // yields `None` when unchanged, else what is on disk. Taken in order,
    // so the list and the first error are those of a sequential loop.
    let entries: Vec<(&PathBuf, &OutputFile)> = outputs.iter().collect();
    let found = par::map(&entries, |(rel, file)| {
        let path = out_dir.join(rel);
        Ok(match read_existing(&path).map_err(at(&path))? {
            Some(old) if old == file.text.as_bytes() => None,
            other => Some(other),
        })
    });
    let mut stale = Vec::new();
    for ((rel, file), found) in entries.into_iter().zip(found) {
        let found: Option<Option<Vec<u8>>> = found?;
        match found {
            None => {}
            Some(Some(old)) => stale.push(Stale {
                path: rel.clone(),
                change: Change::Update,
                secret: file.secret,
                old: Some(String::from_utf8_lossy(&old).into_owned()),
                new: Some(file.text.clone()),
            }),
            Some(None) => stale.push(Stale {
                path: rel.clone(),
                change: Change::Create,
                secret: file.secret,
                old: None,
                new: Some(file.text.clone()),
            }),
        }
    }
    for rel in previous_files(out_dir).map_err(at(&out_dir.join(MANIFEST)))? {
        if !outputs.contains_key(&rel) && out_dir.join(&rel).is_file() {
            stale.push(Stale {
                path: rel,
                change: Change::Delete,
                secret: false,
                old: None,
                new: None,
            });
        }
    }
    Ok(stale)
}

/// Writes every file whose bytes changed and deletes files an earlier run
/// wrote that are no longer produced.
///
/// All or nothing, as far as the file system allows: every new file is
/// first staged (written and synced beside its target); only when all are
/// staged are they renamed into place. A failure while staging removes the
/// staged files and the directories it created, leaving the output as it
/// was.
pub fn apply(out_dir: &Path, outputs: &Outputs) -> Result<Summary, WriteError> {
    let stale = compare(out_dir, outputs)?;
    // Temporary files of a killed run: gone before anything else.
    let mut dirs: Vec<PathBuf> = outputs
        .keys()
        .filter_map(|rel| out_dir.join(rel).parent().map(Path::to_path_buf))
        .collect();
    dirs.sort();
    dirs.dedup();
    // Speed: every core looks through its share of the directories.
    par::map(&dirs, |dir| remove_leftovers(dir));
    let mut summary = Summary::default();
    let writes: Vec<&Stale> = stale
        .iter()
        .filter(|s| s.change != Change::Delete)
        .collect();
    // Speed: files are staged (their directories created, then written
    // and synced) by several threads at once, see `STAGING_THREADS`, so
    // creating directories overlaps other files' syncs. The error reported
    // is the first in order, the one a sequential loop would stop at.
    let created = std::sync::Mutex::new(Vec::<PathBuf>::new());
    let results = par::map_with(STAGING_THREADS, &writes, |s| {
        let path = out_dir.join(&s.path);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let missing = create_dirs(dir).map_err(at(dir))?;
            if !missing.is_empty() {
                created
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend(missing);
            }
        }
        let text = &outputs[&s.path].text;
        let tmp = stage_unsynced(&path, text.as_bytes(), s.secret).map_err(at(&path))?;
        Ok((tmp, path))
    });
    let mut staged = Vec::new();
    let mut first_failure = None;
    for result in results {
        match result {
            Ok(done) => staged.push(done),
            Err(e) => {
                first_failure.get_or_insert(e);
            }
        }
    }
    if first_failure.is_none() {
        if let Err(e) = sync_staged(&staged) {
            first_failure = Some(at(out_dir)(e));
        }
    }
    if let Some(e) = first_failure {
        // Dropping the staged files removes them; then the directories
        // this run created go, children before parents.
        drop(staged);
        let mut created = created.into_inner().unwrap_or_else(|e| e.into_inner());
        created.sort();
        created.dedup();
        for dir in created.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
        return Err(e);
    }
    // Speed: every rename first, then one flush for all of them (see
    // `sync_renames`), not one sync per file.
    let mut renamed_into = std::collections::BTreeSet::new();
    let mut renamed = Ok(());
    for (tmp, path) in staged {
        if let Err(e) = tmp.persist(&path) {
            renamed = Err(at(&path)(e.error));
            break; // The files not renamed yet are removed.
        }
        renamed_into.insert(parent_dir(&path).to_path_buf());
        summary.written += 1;
    }
    let renamed_into: Vec<PathBuf> = renamed_into.into_iter().collect();
    sync_renames(&renamed_into);
    renamed?;
    // Deletions last: the new manifest is in place by now.
    for s in stale.iter().filter(|s| s.change == Change::Delete) {
        let path = out_dir.join(&s.path);
        fs::remove_file(&path).map_err(at(&path))?;
        summary.deleted += 1;
    }
    summary.unchanged = outputs.len() - summary.written;
    // Unchanged secret files keep mode 0600 even if someone loosened it.
    for (rel, file) in outputs {
        let path = out_dir.join(rel);
        if file.secret && mode_of(&path).is_some_and(|m| m != 0o600) {
            set_mode(&path, 0o600).map_err(at(&path))?;
        }
    }
    Ok(summary)
}

/// A unified diff of the stale files, hiding secret-bearing contents.
pub fn render_diff(out_dir: &Path, stale: &[Stale]) -> String {
    let mut out = String::new();
    for s in stale {
        let shown = out_dir.join(&s.path);
        let shown = shown.display();
        match (s.change, s.secret) {
            (Change::Delete, _) => {
                out.push_str(&format!(
                    "{shown}: would be deleted (the model no longer produces it)\n"
                ));
            }
            (Change::Create, true) => {
                out.push_str(&format!(
                    "{shown}: would be created (holds secrets; contents not shown)\n"
                ));
            }
            (Change::Update, true) => {
                out.push_str(&format!(
                    "{shown}: differs (holds secrets; contents not shown)\n"
                ));
            }
            (_, false) => {
                let old = s.old.as_deref().unwrap_or("");
                let new = s.new.as_deref().unwrap_or("");
                let diff = similar::TextDiff::from_lines(old, new);
                let old_name = if s.old.is_some() {
                    format!("a/{}", s.path.display())
                } else {
                    "/dev/null".into()
                };
                out.push_str(
                    &diff
                        .unified_diff()
                        .context_radius(3)
                        .header(&old_name, &format!("b/{}", s.path.display()))
                        .to_string(),
                );
            }
        }
    }
    out
}

/// An exclusive lock held for the whole run, so two `lucid-gen` never
/// write the same output or store at once.
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Takes the lock at `path` without waiting; `Ok(None)` when another
    /// run holds it.
    pub fn try_acquire(path: &Path) -> io::Result<Option<RunLock>> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)?;
        }
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(RunLock { _file: file })),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => Err(e),
        }
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
    }

    #[test]
    fn secret_contents_never_appear_in_diffs() {
        let dir = tempfile::tempdir().unwrap();
        let o = outputs(&[(".env", "PASSWORD='hunter2hunter2'\n", true)]);
        let diff = render_diff(dir.path(), &compare(dir.path(), &o).unwrap());
        assert!(!diff.contains("hunter2"), "{diff}");
        assert!(diff.contains("contents not shown"));
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
