//! Opening a file whose path the user controls — a model file, a
//! `from_file:` secret, the secret store and its lock, `load`'s lists and
//! tarballs, a hand-written Dockerfile, the job summary, a generated file
//! in the output directory — as a regular file only. A FIFO blocks an
//! open or a read forever, a device such as `/dev/zero` never ends, a
//! directory where a file belongs hides a mistake: each is refused on what
//! `stat` says before the open (so no device is ever opened) and again on
//! what `fstat` says about the descriptor actually opened (with
//! `O_NONBLOCK`, so a FIFO swapped in between cannot block the open).
//! Whole-file reads stop one byte past a stated limit, so a file that
//! grows while read is refused too, never read to the end of memory.
//!
//! Every open of a user-controlled path in `src/` goes through here
//! (`tests/integration/invariants.rs::every_open_of_a_user_path_is_a_bounded_regular_file`).

use std::ffi::OsStr;
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

/// Whether a symbolic link at the path's last component is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// The user chose the path and may keep the file behind a link.
    Links,
    /// A link at the last component is refused, never followed (a file
    /// lucid-gen itself writes there).
    NotLast,
}

/// Why a path was not read.
#[derive(Debug)]
pub enum ReadError {
    Missing,
    /// A directory where a file belongs.
    Directory,
    /// A link (with [`Follow::NotLast`]), FIFO, socket or device: never
    /// read. Names the kind: "a FIFO".
    NotRegular(&'static str),
    /// Larger than the limit (`size` is what was seen: the size `stat`
    /// gave, or the limit plus one for a file that grew while read).
    TooLarge {
        size: u64,
        limit: u64,
    },
    Io(io::Error),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Missing => write!(f, "no such file"),
            ReadError::Directory => write!(f, "is a directory, not a regular file"),
            ReadError::NotRegular(kind) => write!(
                f,
                "is {kind}, not a regular file; lucid-gen reads only regular files here (a FIFO or device could block or never end)"
            ),
            ReadError::TooLarge { size, limit } if size > limit => write!(
                f,
                "is {size} bytes or more, more than the {limit} bytes allowed here"
            ),
            ReadError::TooLarge { limit, .. } => {
                write!(f, "grew past the {limit} bytes allowed here while it was read")
            }
            ReadError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl From<Errno> for ReadError {
    fn from(e: Errno) -> Self {
        match e {
            Errno::NOENT => ReadError::Missing,
            e => ReadError::Io(e.into()),
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::NotFound => ReadError::Missing,
            _ => ReadError::Io(e),
        }
    }
}

impl From<ReadError> for io::Error {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Io(e) => e,
            ReadError::Missing => io::ErrorKind::NotFound.into(),
            other => io::Error::new(io::ErrorKind::InvalidInput, other.to_string()),
        }
    }
}

/// Describes a file type for messages ("a symbolic link").
pub fn kind(file_type: FileType) -> &'static str {
    match file_type {
        FileType::RegularFile => "a regular file",
        FileType::Directory => "a directory",
        FileType::Symlink => "a symbolic link",
        FileType::Fifo => "a FIFO",
        FileType::Socket => "a socket",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        FileType::Unknown => "a file of unknown kind",
    }
}

/// The size of a regular file, or why `mode` is not one.
fn regular(mode: u32, size: i64) -> Result<u64, ReadError> {
    match FileType::from_raw_mode(mode) {
        FileType::RegularFile => Ok(size.max(0) as u64),
        FileType::Directory => Err(ReadError::Directory),
        other => Err(ReadError::NotRegular(kind(other))),
    }
}

/// An open regular file and its size when opened.
pub struct Opened {
    pub file: File,
    pub size: u64,
}

const READ: OFlags = OFlags::RDONLY
    .union(OFlags::NONBLOCK)
    .union(OFlags::NOCTTY)
    .union(OFlags::CLOEXEC);

/// Opens `path` (relative to `dir`; pass [`rustix::fs::CWD`] for a plain
/// path) for reading, a regular file only.
pub fn open_at<Fd: AsFd>(dir: Fd, path: &Path, follow: Follow) -> Result<Opened, ReadError> {
    let (stat_flags, open_flags) = match follow {
        Follow::Links => (AtFlags::empty(), READ),
        Follow::NotLast => (AtFlags::SYMLINK_NOFOLLOW, READ | OFlags::NOFOLLOW),
    };
    let st = rfs::statat(&dir, path, stat_flags)?;
    regular(st.st_mode, st.st_size)?;
    let fd = match rfs::openat(&dir, path, open_flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::LOOP) if follow == Follow::NotLast => {
            return Err(ReadError::NotRegular("a symbolic link"))
        }
        Err(e) => return Err(e.into()),
    };
    // Swapped between the two calls: what counts is what was opened.
    let size = fstat_regular(&fd)?;
    Ok(Opened {
        file: File::from(fd),
        size,
    })
}

/// [`open_at`] for a path as the user wrote it.
pub fn open(path: &Path, follow: Follow) -> Result<Opened, ReadError> {
    open_at(rfs::CWD, path, follow)
}

/// The size of the regular file open at `fd`, or why it is not one.
pub fn fstat_regular(fd: &OwnedFd) -> Result<u64, ReadError> {
    let st = rfs::fstat(fd)?;
    regular(st.st_mode, st.st_size)
}

/// The whole file at `path` (relative to `dir`), at most `limit` bytes.
pub fn read_at<Fd: AsFd>(
    dir: Fd,
    path: &Path,
    follow: Follow,
    limit: u64,
) -> Result<Vec<u8>, ReadError> {
    let opened = open_at(dir, path, follow)?;
    read_opened(opened, limit)
}

/// The whole regular file at `path`, at most `limit` bytes.
pub fn read(path: &Path, follow: Follow, limit: u64) -> Result<Vec<u8>, ReadError> {
    read_at(rfs::CWD, path, follow, limit)
}

/// [`read`] as UTF-8 text.
pub fn read_text(path: &Path, follow: Follow, limit: u64) -> Result<String, ReadError> {
    let bytes = read(path, follow, limit)?;
    String::from_utf8(bytes)
        .map_err(|_| ReadError::Io(io::Error::new(io::ErrorKind::InvalidData, "is not UTF-8")))
}

/// Reads an opened file to its end, refusing it past `limit` bytes (also
/// when it grows while read).
pub fn read_opened(opened: Opened, limit: u64) -> Result<Vec<u8>, ReadError> {
    if opened.size > limit {
        return Err(ReadError::TooLarge {
            size: opened.size,
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(opened.size as usize);
    opened.file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            size: limit + 1,
            limit,
        });
    }
    Ok(bytes)
}

/// Opens (creating it 0644 when missing) the regular file `path` for
/// writing without following a link at it and without blocking on a FIFO:
/// a lock file. `append` opens it for appending (the job summary, a link
/// followed: GitHub Actions names it).
pub fn open_for_writing(path: &Path, append: bool) -> Result<File, ReadError> {
    let mut flags = OFlags::RDWR | OFlags::CREATE | OFlags::NONBLOCK | OFlags::CLOEXEC;
    flags |= match append {
        true => OFlags::APPEND,
        false => OFlags::NOFOLLOW,
    };
    let fd = match rfs::open(path, flags, Mode::from_raw_mode(0o644)) {
        Ok(fd) => fd,
        Err(Errno::LOOP) if !append => return Err(ReadError::NotRegular("a symbolic link")),
        // A FIFO no one reads: opening it to write would fail or block.
        Err(Errno::NXIO) => return Err(ReadError::NotRegular("a FIFO")),
        Err(e) => return Err(e.into()),
    };
    fstat_regular(&fd)?;
    Ok(File::from(fd))
}

/// The name of `path` for `openat` under its parent.
pub fn file_name(path: &Path) -> io::Result<&OsStr> {
    path.file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file path"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_are_read_and_never_past_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"12345").unwrap();
        assert_eq!(read(&file, Follow::Links, 5).unwrap(), b"12345");
        assert!(matches!(
            read(&file, Follow::Links, 4),
            Err(ReadError::TooLarge { size: 5, limit: 4 })
        ));
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(read(&link, Follow::Links, 5).unwrap(), b"12345");
        assert!(matches!(
            read(&link, Follow::NotLast, 5),
            Err(ReadError::NotRegular("a symbolic link"))
        ));
        let fifo = dir.path().join("p");
        rustix::fs::mknodat(
            rfs::CWD,
            &fifo,
            FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        assert!(matches!(
            read(&fifo, Follow::Links, 5),
            Err(ReadError::NotRegular("a FIFO"))
        ));
        assert!(matches!(
            open_for_writing(&fifo, false),
            Err(ReadError::NotRegular("a FIFO"))
        ));
        assert!(matches!(
            read(Path::new("/dev/zero"), Follow::Links, 5),
            Err(ReadError::NotRegular("a character device"))
        ));
        assert!(matches!(
            read(dir.path(), Follow::Links, 5),
            Err(ReadError::Directory)
        ));
        assert!(matches!(
            read(&dir.path().join("none"), Follow::Links, 5),
            Err(ReadError::Missing)
        ));
    }
}
