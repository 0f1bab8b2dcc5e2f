//! `RunLock`: an exclusive advisory lock (`flock`) held for the whole run,
//! on the secret store's lock file and on the output directory itself, so
//! two `lucid-gen` never write the same store or the same output at once.

use std::fs::{self, File};
use std::io;
use std::path::Path;

/// A lock held until dropped.
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Takes the lock at `path` (a file, created when missing) without
    /// waiting; `Ok(None)` when another run holds it.
    pub fn try_acquire(path: &Path) -> io::Result<Option<RunLock>> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)?;
        }
        // Never through a link, never a FIFO (opening one to write would
        // wait for a reader forever).
        let file = crate::regular_file::open_for_writing(path, false)?;
        Self::try_lock(file)
    }

    /// Takes the lock on directory `dir` itself (created when missing), so
    /// no lock file is added to it; `Ok(None)` when another run holds it.
    pub fn try_acquire_dir(dir: &Path) -> io::Result<Option<RunLock>> {
        fs::create_dir_all(dir)?;
        use rustix::fs::OFlags;
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = rustix::fs::open(dir, flags, rustix::fs::Mode::empty())?;
        Self::try_lock(File::from(fd))
    }

    fn try_lock(file: File) -> io::Result<Option<RunLock>> {
        match file.try_lock() {
            Ok(()) => Ok(Some(RunLock { _file: file })),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => Err(e),
        }
    }
}
