//! Staged files: written under a temporary name in their target's
//! directory (reached by descriptor), then renamed into place with
//! `renameat`, which replaces whatever entry is there (a link is replaced,
//! never followed). Also the durability helpers (`syncfs`, `fsync`) and
//! the removal of temporary files a killed run left behind.

use std::ffi::{OsStr, OsString};
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags};
use rustix::io::Errno;

use super::jail::DirFd;
use super::TMP_PREFIX;

/// A file written and waiting to be renamed over its target; dropped
/// without `persist`, it is removed.
pub struct Staged {
    dir: DirFd,
    tmp: OsString,
    name: OsString,
    path: PathBuf,
    done: bool,
}

impl Staged {
    /// Writes `bytes` to a new temporary file in `dir` with permission
    /// bits `mode`, set on the descriptor (created 0600 and widened only
    /// after). `path` is the target's path, for messages.
    pub fn create(
        dir: &DirFd,
        name: &OsStr,
        path: &Path,
        bytes: &[u8],
        mode: u32,
    ) -> io::Result<Staged> {
        let first = mode & 0o600;
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let (fd, tmp) = loop {
            let tmp = OsString::from(format!("{TMP_PREFIX}{:016x}", rand::random::<u64>()));
            match rfs::openat(&**dir, &tmp, flags, Mode::from_raw_mode(first)) {
                Ok(fd) => break (fd, tmp),
                Err(Errno::EXIST) => continue,
                Err(e) => return Err(e.into()),
            }
        };
        let staged = Staged {
            dir: dir.clone(),
            tmp,
            name: name.to_os_string(),
            path: path.to_path_buf(),
            done: false,
        };
        // The umask may have narrowed the mode given to open.
        rfs::fchmod(&fd, Mode::from_raw_mode(first))?;
        let mut file = std::fs::File::from(fd);
        file.write_all(bytes)?;
        if mode != first {
            rfs::fchmod(&file, Mode::from_raw_mode(mode))?;
        }
        Ok(staged)
    }

    /// The target's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn dir(&self) -> &DirFd {
        &self.dir
    }

    /// Makes the staged bytes durable (`fsync` of the temporary file).
    pub fn sync(&self) -> io::Result<()> {
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rfs::openat(&*self.dir, &self.tmp, flags, Mode::empty())?;
        rfs::fsync(&fd)?;
        Ok(())
    }

    /// Renames the staged file over its target.
    pub fn persist(mut self) -> io::Result<()> {
        rfs::renameat(&*self.dir, &self.tmp, &*self.dir, &self.name)?;
        self.done = true;
        Ok(())
    }

    /// Renames the staged file over its target and makes the rename
    /// durable (one file on its own, e.g. the secret store).
    pub fn commit(self) -> io::Result<()> {
        self.sync()?;
        let dir = self.dir.clone();
        self.persist()?;
        let _ = rfs::fsync(&*dir);
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            let _ = rfs::unlinkat(&*self.dir, &self.tmp, AtFlags::empty());
        }
    }
}

/// Flushes every file system holding one of `dirs` with Linux's `syncfs`
/// (which covers every file and directory on it, so thousands of `fsync`s
/// become one call per file system). False when that is not available or
/// fails, so the caller syncs item by item.
pub fn sync_file_systems<'a>(dirs: impl Iterator<Item = &'a OwnedFd>) -> bool {
    #[cfg(target_os = "linux")]
    {
        let mut devices = std::collections::BTreeMap::new();
        for dir in dirs {
            let Ok(st) = rfs::fstat(dir) else {
                return false;
            };
            devices.entry(st.st_dev).or_insert(dir);
        }
        devices.values().all(|dir| rfs::syncfs(dir).is_ok())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dirs;
        false
    }
}

/// Removes temporary files a killed run left in `dir` (they may hold
/// secrets). Links are removed, never followed.
pub fn remove_leftovers_in(dir: &OwnedFd) {
    let Ok(mut entries) = rfs::Dir::read_from(dir) else {
        return;
    };
    while let Some(Ok(entry)) = entries.read() {
        let name = entry.file_name().to_bytes();
        if name.starts_with(TMP_PREFIX.as_bytes()) {
            let _ = rfs::unlinkat(dir, entry.file_name(), AtFlags::empty());
        }
    }
}
