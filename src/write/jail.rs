//! The output directory as a jail: everything inside it is reached from
//! the root's descriptor one component at a time (`openat` with
//! `O_NOFOLLOW | O_DIRECTORY`), so a symbolic link, a file or a device
//! inside it is never followed or traversed, whatever races with the run.
//! The root itself (and its parents) are the user's choice and may be links.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use super::WriteError;
use crate::regular_file::{self, Follow, ReadError};

/// An open directory inside (or the root of) the jail, shared by threads.
pub type DirFd = Arc<OwnedFd>;

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// The output root, opened once.
#[derive(Clone)]
pub struct Jail {
    root: PathBuf,
    fd: DirFd,
}

/// What is at a path where lucid-gen keeps a file.
pub enum Existing {
    Missing,
    /// A regular file: its bytes, or `None` when larger than the limit
    /// (then it was not read).
    File {
        bytes: Option<Vec<u8>>,
        size: u64,
    },
    /// Not a regular file (a link, FIFO, device, socket): never opened.
    Other(&'static str),
}

pub use crate::regular_file::kind;

/// What `name` in `dir` is, without following it.
fn kind_at(dir: &OwnedFd, name: &OsStr) -> &'static str {
    match rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => kind(FileType::from_raw_mode(st.st_mode)),
        Err(_) => "not a directory",
    }
}

/// Splits a relative output path into its directory and file name,
/// refusing anything but plain names (`..`, `/`, `.`).
pub fn split(rel: &Path) -> io::Result<(&Path, &OsStr)> {
    let plain = rel.components().all(|c| matches!(c, Component::Normal(_)));
    match (plain, rel.parent(), rel.file_name()) {
        (true, Some(dir), Some(name)) => Ok((dir, name)),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a plain relative path inside the output directory (absolute, `..` or `.`)",
        )),
    }
}

impl Jail {
    /// Opens the output root, creating it (and its parents) when `create`;
    /// `None` when it does not exist and `create` is false.
    pub fn open(root: &Path, create: bool) -> Result<Option<Jail>, WriteError> {
        let at = |error| WriteError {
            path: root.to_path_buf(),
            error,
        };
        if create {
            std::fs::create_dir_all(root).map_err(at)?;
        }
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        match rfs::open(root, flags, Mode::empty()) {
            Ok(fd) => Ok(Some(Jail {
                root: root.to_path_buf(),
                fd: Arc::new(fd),
            })),
            Err(Errno::NOENT) if !create => Ok(None),
            Err(e) => Err(at(e.into())),
        }
    }

    /// The path of `rel` as the user would type it (for messages).
    pub fn path(&self, rel: &Path) -> PathBuf {
        self.root.join(rel)
    }

    pub fn root(&self) -> &DirFd {
        &self.fd
    }
}

/// Directories inside the jail opened so far (`None`: missing), and those
/// this run created, parents first. Speed: looked up by hash (one per
/// output file), with a log of the directories in the order they were
/// opened, so a caller can take only those opened since it last looked.
#[derive(Default)]
pub struct Dirs {
    open: HashMap<PathBuf, Option<DirFd>>,
    opened: Vec<DirFd>,
    pub created: Vec<PathBuf>,
}

impl Dirs {
    /// Opens directory `rel` of the jail, one component at a time from the
    /// nearest one already open; creates missing ones when `create`.
    pub fn get(
        &mut self,
        jail: &Jail,
        rel: &Path,
        create: bool,
    ) -> Result<Option<DirFd>, WriteError> {
        if rel.as_os_str().is_empty() {
            return Ok(Some(jail.fd.clone()));
        }
        if let Some(Some(fd)) = self.open.get(rel) {
            return Ok(Some(fd.clone()));
        }
        if !create && self.open.contains_key(rel) {
            return Ok(None);
        }
        let at = |error| WriteError {
            path: jail.path(rel),
            error,
        };
        let (parent, name) = split(rel).map_err(at)?;
        let Some(parent_fd) = self.get(jail, parent, create)? else {
            self.open.insert(rel.to_path_buf(), None);
            return Ok(None);
        };
        let (fd, created) = open_child(&parent_fd, name, create).map_err(at)?;
        if created {
            self.created.push(rel.to_path_buf());
        }
        let fd = fd.map(Arc::new);
        self.note(rel, fd.clone());
        Ok(fd)
    }

    /// Opens every directory of `rels` that exists (no creating): the
    /// parents one component at a time as [`Dirs::get`] does (there are
    /// few), the last components on every core at once (there may be one
    /// per service). Errors are those a loop in `rels` order would meet
    /// first.
    pub fn open_existing(&mut self, jail: &Jail, rels: &[&Path]) -> Result<(), WriteError> {
        let mut leaves: Vec<(&Path, DirFd, &OsStr)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for rel in rels {
            if rel.as_os_str().is_empty() || self.open.contains_key(*rel) || !seen.insert(*rel) {
                continue;
            }
            let (parent, name) = split(rel).map_err(|error| WriteError {
                path: jail.path(rel),
                error,
            })?;
            match self.get(jail, parent, false)? {
                Some(parent_fd) => leaves.push((rel, parent_fd, name)),
                None => {
                    self.open.insert(rel.to_path_buf(), None);
                }
            }
        }
        let opened =
            crate::parallel::map(&leaves, |(_, parent, name)| open_child(parent, name, false));
        for ((rel, ..), result) in leaves.iter().zip(opened) {
            let (fd, _) = result.map_err(|error| WriteError {
                path: jail.path(rel),
                error,
            })?;
            self.note(rel, fd.map(Arc::new));
        }
        Ok(())
    }

    /// Records what `rel` is (open or missing).
    fn note(&mut self, rel: &Path, fd: Option<DirFd>) {
        if let Some(fd) = &fd {
            self.opened.push(fd.clone());
        }
        self.open.insert(rel.to_path_buf(), fd);
    }

    /// How many directories were opened so far (the log's length).
    pub fn opened_count(&self) -> usize {
        self.opened.len()
    }

    /// The directories opened after the first `from`, in order.
    pub fn opened_since(&self, from: usize) -> &[DirFd] {
        self.opened.get(from..).unwrap_or_default()
    }

    /// Removes the directories this run created, children first (after a
    /// failure, when they are empty again).
    pub fn remove_created(&mut self, jail: &Jail) {
        let created = std::mem::take(&mut self.created);
        for rel in created.iter().rev() {
            let Ok((parent, name)) = split(rel) else {
                continue;
            };
            if let Ok(Some(parent_fd)) = self.get(jail, parent, false) {
                let _ = rfs::unlinkat(&*parent_fd, name, AtFlags::REMOVEDIR);
            }
        }
    }
}

/// Opens directory `name` in `parent` without following a link; creates
/// it when missing and `create`. Returns the descriptor and whether this
/// call created it.
fn open_child(parent: &OwnedFd, name: &OsStr, create: bool) -> io::Result<(Option<OwnedFd>, bool)> {
    match rfs::openat(parent, name, DIR_FLAGS, Mode::empty()) {
        Ok(fd) => return Ok((Some(fd), false)),
        Err(Errno::NOENT) if !create => return Ok((None, false)),
        Err(Errno::NOENT) => {}
        Err(e) => return Err(not_a_directory(parent, name, e)),
    }
    let created = match rfs::mkdirat(parent, name, Mode::from_raw_mode(0o755)) {
        Ok(()) => true,
        // Another thread made it in between (or a dangling link is there:
        // the open below says so).
        Err(Errno::EXIST) => false,
        Err(e) => return Err(not_a_directory(parent, name, e)),
    };
    match rfs::openat(parent, name, DIR_FLAGS, Mode::empty()) {
        Ok(fd) => Ok((Some(fd), created)),
        Err(e) => Err(not_a_directory(parent, name, e)),
    }
}

/// The error for an entry that should be a directory but is not (or
/// cannot be opened as one).
fn not_a_directory(parent: &OwnedFd, name: &OsStr, e: Errno) -> io::Error {
    if e != Errno::LOOP && e != Errno::NOTDIR {
        return e.into();
    }
    io::Error::other(format!(
        "is {} where lucid-gen needs a directory; it never follows links or \
         passes through anything else inside the output directory\n  \
         help: remove it (lucid-gen recreates it as a directory) and run again",
        kind_at(parent, name)
    ))
}

/// The error for a directory where lucid-gen keeps a file.
pub fn a_directory_here() -> io::Error {
    io::Error::other(
        "is a directory where lucid-gen writes a file\n  \
         help: move it out of the output directory and run again",
    )
}

/// Reads `name` in `dir` without following a link, without opening
/// anything but a regular file, and at most `limit` bytes. A directory is
/// an error.
pub fn read(dir: &OwnedFd, name: &OsStr, limit: u64) -> io::Result<Existing> {
    let opened = match regular_file::open_at(dir, Path::new(name), Follow::NotLast) {
        Ok(opened) => opened,
        Err(e) => return existing(e),
    };
    match regular_file::read_opened(opened, limit) {
        Ok(bytes) => Ok(Existing::File {
            size: bytes.len() as u64,
            bytes: Some(bytes),
        }),
        Err(e) => existing(e),
    }
}

/// What a refused read means for a path where lucid-gen keeps a file.
fn existing(e: ReadError) -> io::Result<Existing> {
    match e {
        ReadError::Missing => Ok(Existing::Missing),
        ReadError::Directory => Err(a_directory_here()),
        ReadError::NotRegular(kind) => Ok(Existing::Other(kind)),
        ReadError::TooLarge { size, .. } => Ok(Existing::File { bytes: None, size }),
        ReadError::Io(e) => Err(e),
    }
}

/// Whether anything (of any kind, links included) is at `name` in `dir`.
pub fn exists(dir: &OwnedFd, name: &OsStr) -> io::Result<bool> {
    match rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(_) => Ok(true),
        Err(Errno::NOENT) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Removes `name` from `dir` (a link itself, never its target).
pub fn remove(dir: &OwnedFd, name: &OsStr) -> io::Result<()> {
    match rfs::unlinkat(dir, name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(Errno::ISDIR) => Err(io::Error::other(
            "is a directory now, not the file lucid-gen wrote; it deletes only files\n  \
             help: move it out of the output directory",
        )),
        Err(e) => Err(e.into()),
    }
}

/// The permission bits of the regular file `name` in `dir`, if it is one.
pub fn mode(dir: &OwnedFd, name: &OsStr) -> Option<u32> {
    let st = rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW).ok()?;
    (FileType::from_raw_mode(st.st_mode) == FileType::RegularFile).then_some(st.st_mode & 0o777)
}

/// Makes the open directory `dir` mode 0700 unless it already is.
pub fn private_dir(dir: &OwnedFd) -> io::Result<()> {
    let st = rfs::fstat(dir)?;
    if st.st_mode & 0o777 != 0o700 {
        rfs::fchmod(dir, Mode::from_raw_mode(0o700))?;
    }
    Ok(())
}

/// Sets the permission bits of the regular file `name` in `dir`, never
/// through a link.
pub fn set_mode(dir: &OwnedFd, name: &OsStr, mode: u32) -> io::Result<()> {
    let flags =
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let fd = rfs::openat(dir, name, flags, Mode::empty())?;
    let st = rfs::fstat(&fd)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Ok(());
    }
    rfs::fchmod(&fd, Mode::from_raw_mode(mode))?;
    Ok(())
}
