//! A file the writer takes while it is being rendered (a large compose
//! file): each chunk is hashed, compared with the same bytes of the file
//! on disk and written to the file's staged copy, so neither the new text
//! nor the old is ever held whole. The staged copy follows the crash
//! invariant of every staged file (see [`super::stream`]): it is renamed
//! only after everything is staged and durable, and removed when the run
//! fails or the file turns out unchanged.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::jail::DirFd;
use super::stage::Staged;
use crate::regular_file::{self, Follow, ReadError};

/// Rendered text is passed on in chunks of this many bytes.
const CHUNK: usize = 64 << 10;

/// One file being rendered into its staged copy; made by
/// [`super::Writer::stream`], handed back to [`super::Writer::streamed`].
/// It can be written on another thread. Dropped unfinished, its staged
/// copy is removed.
pub struct FileStream {
    pending: Vec<u8>,
    hasher: Sha256,
    /// The file on disk while it has matched every byte so far; `None`
    /// once it differs (or when there is none, or it is vouched for).
    old: Option<File>,
    /// The SHA-256 of the bytes the file on disk is vouched to hold (see
    /// [`super::Known`]): compared with the digest at the end instead of
    /// reading the file.
    vouched: Option<[u8; 32]>,
    /// Bytes read from `old` for a comparison.
    scratch: Vec<u8>,
    staged: Staged,
    file: File,
    mode: u32,
    /// The first write that failed; the stream writes nothing after it.
    error: Option<io::Error>,
}

/// A stream once finished.
pub(super) struct Finished {
    /// SHA-256 of every byte written.
    pub digest: [u8; 32],
    /// The staged copy, when the file on disk differs.
    pub staged: Option<Staged>,
}

impl FileStream {
    /// Opens a stream for file `name` (output `rel`) in `dir`, whose file
    /// on disk is compared: by the digest it is `vouched` to hold, else by
    /// reading it (only if it is a regular file, never through a link,
    /// never blocking on a FIFO).
    pub(super) fn open(
        dir: &DirFd,
        name: &OsStr,
        rel: Arc<Path>,
        mode: u32,
        vouched: Option<[u8; 32]>,
    ) -> io::Result<Self> {
        let old = match vouched {
            Some(_) => None,
            None => on_disk(dir, name)?,
        };
        let (staged, file) = Staged::begin(dir, rel, mode)?;
        Ok(FileStream {
            pending: Vec::with_capacity(CHUNK),
            hasher: Sha256::new(),
            old,
            vouched,
            scratch: Vec::new(),
            staged,
            file,
            mode,
            error: None,
        })
    }

    /// Whether a write failed (the error is reported by
    /// [`super::Writer::streamed`]).
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// Passes the pending bytes on: hashed, compared, staged.
    fn pass_on(&mut self) -> io::Result<()> {
        let chunk = &self.pending;
        self.hasher.update(chunk);
        if let Some(old) = &mut self.old {
            self.scratch.resize(chunk.len(), 0);
            let same = match old.read_exact(&mut self.scratch) {
                Ok(()) => self.scratch == *chunk,
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => false,
                Err(e) => return Err(e),
            };
            if !same {
                self.old = None;
                self.scratch = Vec::new();
            }
        }
        self.file.write_all(chunk)?;
        self.pending.clear();
        Ok(())
    }

    /// Passes on what is pending; the digest, and the staged copy unless
    /// the file on disk holds exactly the bytes written.
    pub(super) fn finish(mut self) -> io::Result<Finished> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.pass_on()?;
        let digest: [u8; 32] = self.hasher.finalize_reset().into();
        let same = match &mut self.old {
            Some(old) => old.read(&mut [0u8; 1])? == 0,
            None => self.vouched == Some(digest),
        };
        Staged::widen(&self.file, self.mode)?;
        Ok(Finished {
            digest,
            staged: (!same).then_some(self.staged),
        })
    }
}

/// The file `name` in `dir` opened for comparing, when it is a regular
/// file; an error for a directory in its place.
fn on_disk(dir: &DirFd, name: &OsStr) -> io::Result<Option<File>> {
    match regular_file::open_at(&**dir, Path::new(name), Follow::NotLast) {
        Ok(opened) => Ok(Some(opened.file)),
        Err(ReadError::Missing | ReadError::NotRegular(_) | ReadError::TooLarge { .. }) => Ok(None),
        Err(ReadError::Directory) => Err(super::jail::a_directory_here()),
        Err(ReadError::Io(e)) => Err(e),
    }
}

impl std::fmt::Write for FileStream {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if self.error.is_some() {
            return Err(std::fmt::Error);
        }
        self.pending.extend_from_slice(s.as_bytes());
        if self.pending.len() >= CHUNK {
            if let Err(e) = self.pass_on() {
                self.error = Some(e);
                return Err(std::fmt::Error);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    fn dir(path: &Path) -> DirFd {
        let flags = rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY;
        Arc::new(rustix::fs::open(path, flags, rustix::fs::Mode::empty()).unwrap())
    }

    fn leftovers(path: &Path) -> Vec<String> {
        (std::fs::read_dir(path).unwrap())
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(super::super::TMP_PREFIX))
            .collect()
    }

    /// Streams `text` in pieces of `piece` bytes over whatever is at
    /// `dir/f`; returns whether it was staged and the digest.
    fn stream(dir_path: &Path, text: &str, piece: usize) -> (Option<Staged>, [u8; 32]) {
        let d = dir(dir_path);
        let name = OsStr::new("f");
        let mut s = FileStream::open(&d, name, Arc::from(Path::new("f")), 0o644, None).unwrap();
        for part in text.as_bytes().chunks(piece) {
            s.write_str(std::str::from_utf8(part).unwrap()).unwrap();
        }
        let done = s.finish().unwrap();
        (done.staged, done.digest)
    }

    fn text(len: usize, salt: u8) -> String {
        (0..len)
            .map(|i| (b'a' + ((i as u8) ^ salt) % 26) as char)
            .collect()
    }

    #[test]
    fn a_file_that_holds_the_same_bytes_is_not_staged() {
        let tmp = tempfile::tempdir().unwrap();
        let big = text(3 * CHUNK + 17, 0);
        std::fs::write(tmp.path().join("f"), &big).unwrap();
        let (staged, digest) = stream(tmp.path(), &big, 1000);
        assert!(staged.is_none());
        assert_eq!(digest, <[u8; 32]>::from(Sha256::digest(big.as_bytes())));
        assert_eq!(leftovers(tmp.path()), Vec::<String>::new());
    }

    #[test]
    fn a_file_that_differs_anywhere_is_staged_whole_and_renamed_into_place() {
        let new = text(3 * CHUNK + 17, 0);
        let mut last_byte = new.clone();
        last_byte.replace_range(new.len() - 1.., "!");
        let olds = [
            None,
            Some(last_byte),
            Some(new[..new.len() - 1].to_string()),
            Some(format!("{new}more")),
            Some(text(3 * CHUNK + 17, 1)),
            Some(String::new()),
        ];
        for old in olds {
            let tmp = tempfile::tempdir().unwrap();
            if let Some(old) = &old {
                std::fs::write(tmp.path().join("f"), old).unwrap();
            }
            let (staged, _) = stream(tmp.path(), &new, 4099);
            let staged = staged.expect("a differing file is staged");
            assert_eq!(leftovers(tmp.path()).len(), 1);
            staged.persist().unwrap();
            assert_eq!(std::fs::read_to_string(tmp.path().join("f")).unwrap(), new);
            assert_eq!(leftovers(tmp.path()), Vec::<String>::new());
        }
    }

    /// A file the stamp vouches for is judged by the digest it is vouched
    /// to hold, never read: bytes on disk that differ from the vouched
    /// digest (which a real run never meets) prove it.
    #[test]
    fn a_vouched_file_is_judged_by_its_digest_without_being_read() {
        let new = text(2 * CHUNK + 5, 0);
        let digest: [u8; 32] = Sha256::digest(new.as_bytes()).into();
        for (vouched, staged) in [(digest, false), ([7u8; 32], true)] {
            let tmp = tempfile::tempdir().unwrap();
            std::fs::write(tmp.path().join("f"), "not what was vouched").unwrap();
            let d = dir(tmp.path());
            let rel = Arc::from(Path::new("f"));
            let name = OsStr::new("f");
            let mut s = FileStream::open(&d, name, rel, 0o644, Some(vouched)).unwrap();
            s.write_str(&new).unwrap();
            let done = s.finish().unwrap();
            assert_eq!(done.digest, digest);
            assert_eq!(done.staged.is_some(), staged);
            if let Some(staged) = done.staged {
                staged.persist().unwrap();
                assert_eq!(std::fs::read_to_string(tmp.path().join("f")).unwrap(), new);
            }
            assert_eq!(leftovers(tmp.path()), Vec::<String>::new());
        }
    }

    #[test]
    fn a_link_or_fifo_in_the_way_is_replaced_never_followed_or_read() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("target");
        std::fs::write(&target, "keep").unwrap();
        std::os::unix::fs::symlink(&target, tmp.path().join("f")).unwrap();
        let (staged, _) = stream(tmp.path(), "new", 1);
        staged.unwrap().persist().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("f")).unwrap(),
            "new"
        );

        std::fs::remove_file(tmp.path().join("f")).unwrap();
        let d = dir(tmp.path());
        let fifo = rustix::fs::Mode::from_raw_mode(0o600);
        rustix::fs::mknodat(&*d, "f", rustix::fs::FileType::Fifo, fifo, 0).unwrap();
        let (staged, _) = stream(tmp.path(), "new", 1);
        staged.unwrap().persist().unwrap();
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("f")).unwrap(),
            "new"
        );
    }

    #[test]
    fn a_stream_dropped_unfinished_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("f"), "old").unwrap();
        let d = dir(tmp.path());
        let name = OsStr::new("f");
        let mut s = FileStream::open(&d, name, Arc::from(Path::new("f")), 0o644, None).unwrap();
        s.write_str(&text(2 * CHUNK, 3)).unwrap();
        assert_eq!(leftovers(tmp.path()).len(), 1);
        drop(s);
        assert_eq!(leftovers(tmp.path()), Vec::<String>::new());
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("f")).unwrap(),
            "old"
        );
    }
}
