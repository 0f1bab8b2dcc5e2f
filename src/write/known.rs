//! What the last recorded stamp says each output held, for a run that
//! does the work (the model changed, say): an output whose `lstat` is
//! still the recorded one holds the recorded contents, so comparing the
//! new text's SHA-256 with the recorded one replaces reading the file.
//!
//! Safe for the reason the stamp itself is (see [`super::stamp`]): a
//! write, rename, `chmod` or replacement of the file sets its ctime,
//! which no one can set back, so an `lstat` equal in device, inode, size,
//! mtime, ctime and mode means the bytes recorded with it; a file changed
//! within the stamp's racy window of being recorded is never vouched for
//! (it is read). The `lstat` is taken through the output's jail (`statat`
//! on the open directory, never following a link). Only whole stamps
//! count; the inputs fingerprint does not matter here (the record is of
//! the output's bytes, whatever produced them).

use std::ffi::OsStr;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::stamp::{self, Stat};
use crate::regular_file::{self, Follow};

/// The last stamp's record of every output it vouches for.
///
/// Memory: a run at 10,000 services knows 30,000 files; their paths are
/// kept one after another in one string and the records in one sorted
/// table (a map of owned paths took 12 MB of the 64 MiB budget, issue 25).
pub struct Known {
    /// Every known file's output path, one after another.
    names: String,
    /// Sorted by path.
    files: Vec<KnownFile>,
}

struct KnownFile {
    /// Where its path is in [`Known::names`].
    start: u32,
    len: u32,
    stat: Stat,
    /// SHA-256 of its contents when recorded.
    digest: [u8; 32],
}

impl Known {
    /// Reads the stamp at `stamp`; `None` when missing, cut short or of
    /// another format.
    pub fn load(stamp: &Path) -> Option<Known> {
        let bytes = regular_file::read(stamp, Follow::NotLast, stamp::MAX_INPUT_BYTES).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let lines = || stamp::whole(&text).map(|l| l.filter(|l| l.starts_with("f ")));
        // Sized first (memory: no doubling past what is needed, nothing
        // grown on top of the stamp's text, which is freed at the end).
        let name_bytes = lines()?.filter_map(stamp::entry).map(|e| e.rel.len());
        let mut names = String::with_capacity(name_bytes.sum());
        let mut files = Vec::with_capacity(lines()?.count());
        for line in lines()? {
            let e = stamp::entry(line)?;
            let Some(digest) = stamp::unhex(e.hash) else {
                continue;
            };
            if e.racy {
                continue;
            }
            let start = u32::try_from(names.len()).ok()?;
            let len = u32::try_from(e.rel.len()).ok()?;
            names.push_str(e.rel);
            files.push(KnownFile {
                start,
                len,
                stat: e.stat,
                digest,
            });
        }
        files.sort_unstable_by(|a, b| known_name(&names, a).cmp(known_name(&names, b)));
        drop(text);
        crate::allocator::release_free_memory();
        Some(Known { names, files })
    }

    /// The record of output `rel`, if any.
    fn find(&self, rel: &Path) -> Option<&KnownFile> {
        let rel = rel.as_os_str().as_bytes();
        let i = (self.files)
            .binary_search_by(|f| known_name(&self.names, f).as_bytes().cmp(rel))
            .ok()?;
        self.files.get(i)
    }

    /// Whether the file `name` in the open directory `dir` (output `rel`)
    /// is vouched to hold the bytes whose SHA-256 is `digest`.
    pub(super) fn vouches(
        &self,
        dir: &OwnedFd,
        name: &OsStr,
        rel: &Path,
        digest: &[u8; 32],
    ) -> bool {
        // The digest first: a file whose text changed is not even stat'ed.
        (self.find(rel)).is_some_and(|f| f.digest == *digest && unchanged(dir, name, &f.stat))
    }

    /// The SHA-256 of the bytes the file `name` in the open directory
    /// `dir` (output `rel`) is vouched to hold, for a file whose new text
    /// is not known yet (a streamed one).
    pub(super) fn digest_of(&self, dir: &OwnedFd, name: &OsStr, rel: &Path) -> Option<[u8; 32]> {
        let f = self.find(rel)?;
        unchanged(dir, name, &f.stat).then_some(f.digest)
    }
}

fn known_name<'n>(names: &'n str, f: &KnownFile) -> &'n str {
    let start = f.start as usize;
    names.get(start..start + f.len as usize).unwrap_or_default()
}

/// Whether the entry `name` in `dir` has the `lstat` recorded.
fn unchanged(dir: &OwnedFd, name: &OsStr, recorded: &Stat) -> bool {
    use rustix::fs::{statat, AtFlags};
    let Ok(st) = statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) else {
        return false;
    };
    let now = Stat {
        dev: st.st_dev,
        ino: st.st_ino,
        size: st.st_size as u64,
        mtime: stamp::nanos(st.st_mtime, st.st_mtime_nsec as i64),
        ctime: stamp::nanos(st.st_ctime, st.st_ctime_nsec as i64),
        mode: st.st_mode,
    };
    &now == recorded
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;
    use std::time::Duration;

    use sha2::{Digest, Sha256};

    use super::*;
    use crate::write::Recorded;

    fn dir(path: &Path) -> OwnedFd {
        let flags = rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY;
        rustix::fs::open(path, flags, rustix::fs::Mode::empty()).unwrap()
    }

    fn sha(bytes: &[u8]) -> [u8; 32] {
        Sha256::digest(bytes).into()
    }

    /// A temporary directory with `files` written under `out/`, and a
    /// stamp of them recorded past the racy window; with `out` and the
    /// stamp's path.
    fn recorded(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let (out, stamp) = (tmp.path().join("out"), tmp.path().join("s.stamp"));
        std::fs::create_dir(&out).unwrap();
        let mut outputs = Vec::new();
        for (rel, text) in files {
            std::fs::write(out.join(rel), text).unwrap();
            outputs.push(Recorded {
                path: Arc::from(Path::new(rel)),
                mounted: false,
                digest: sha(text.as_bytes()),
            });
        }
        std::thread::sleep(Duration::from_millis(120));
        stamp::record(&stamp, &out, "inputs", &[], "supplied", &outputs);
        assert!(stamp.exists(), "the stamp was recorded");
        (tmp, out, stamp)
    }

    #[test]
    fn a_file_as_recorded_is_vouched_for_by_its_digest_and_no_other() {
        let (_tmp, out, stamp) = recorded(&[("b.yml", "bee\n"), ("a.env", "A=1\n"), ("c", "")]);
        let known = Known::load(&stamp).expect("a whole stamp loads");
        let d = dir(&out);
        for (rel, text) in [("a.env", "A=1\n"), ("b.yml", "bee\n"), ("c", "")] {
            let (name, rel) = (OsStr::new(rel), Path::new(rel));
            assert_eq!(known.digest_of(&d, name, rel), Some(sha(text.as_bytes())));
            assert!(known.vouches(&d, name, rel, &sha(text.as_bytes())));
            assert!(!known.vouches(&d, name, rel, &sha(b"other")));
        }
        let unknown = PathBuf::from("d");
        assert_eq!(known.digest_of(&d, OsStr::new("d"), &unknown), None);
    }

    #[test]
    fn a_file_touched_since_is_not_vouched_for_even_with_the_same_bytes() {
        let (_tmp, out, stamp) = recorded(&[("a.env", "A=1\n"), ("b.yml", "bee\n")]);
        std::fs::write(out.join("a.env"), "A=1\n").unwrap();
        let known = Known::load(&stamp).unwrap();
        let (d, a) = (dir(&out), Path::new("a.env"));
        assert_eq!(known.digest_of(&d, OsStr::new("a.env"), a), None);
        assert!(!known.vouches(&d, OsStr::new("a.env"), a, &sha(b"A=1\n")));
        let b = Path::new("b.yml");
        assert!(known.digest_of(&d, OsStr::new("b.yml"), b).is_some());
    }

    #[test]
    fn a_stamp_cut_short_vouches_for_nothing() {
        let (_tmp, _, stamp) = recorded(&[("a.env", "A=1\n"), ("b.yml", "bee\n")]);
        let text = std::fs::read_to_string(&stamp).unwrap();
        std::fs::write(&stamp, &text[..text.len() - 10]).unwrap();
        assert!(Known::load(&stamp).is_none());
    }
}
