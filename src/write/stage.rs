//! Staged files: written under a temporary name in their target's
//! directory (reached by descriptor), then renamed into place with
//! `renameat`, which replaces whatever entry is there (a link is replaced,
//! never followed). Also the durability helpers (`syncfs`, `fsync`) and
//! the removal of temporary files a killed run left behind.

use std::ffi::OsString;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags};
use rustix::io::Errno;

use super::jail::DirFd;
use super::TMP_PREFIX;
use crate::output::PUBLIC_MODE;

/// A file written and waiting to be renamed over its target; dropped
/// without `persist`, it is removed.
pub struct Staged {
    dir: DirFd,
    /// Names the temporary file (see [`tmp_name`]). Memory: a
    /// first run at 10,000 services stages 30,000 files, so each keeps
    /// only this and its target's path.
    tmp: u64,
    /// The target's path; its last component is the name in `dir`.
    path: Arc<Path>,
    done: bool,
}

impl Staged {
    /// Writes `bytes` to a new temporary file in `dir` with permission
    /// bits `mode`, whatever the umask (see [`Staged::begin`]). `path` is
    /// the target's path, for messages.
    pub fn create(dir: &DirFd, path: Arc<Path>, bytes: &[u8], mode: u32) -> io::Result<Staged> {
        let (staged, mut file) = Staged::begin(dir, path, mode)?;
        file.write_all(bytes)?;
        Staged::widen(&file, mode)?;
        Ok(staged)
    }

    /// A new, empty temporary file in `dir` for a file of mode `mode`,
    /// open for writing: a public file is created with its whole mode,
    /// any other (a mounted secret's 0444) with only the owner's bits of
    /// `mode`, and [`Staged::widen`] gives it the rest once it is written.
    pub fn begin(dir: &DirFd, path: Arc<Path>, mode: u32) -> io::Result<(Staged, std::fs::File)> {
        if path.file_name().is_none() {
            let why = "not a file path";
            return Err(io::Error::new(io::ErrorKind::InvalidInput, why));
        }
        let first = created_mode(mode);
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let (fd, tmp) = loop {
            let tmp = rand::random::<u64>();
            match rfs::openat(&**dir, tmp_name(tmp), flags, Mode::from_raw_mode(first)) {
                Ok(fd) => break (fd, tmp),
                Err(Errno::EXIST) => continue,
                Err(e) => return Err(e.into()),
            }
        };
        let staged = Staged {
            dir: dir.clone(),
            tmp,
            path,
            done: false,
        };
        // The umask may have narrowed the mode given to open. Speed: one
        // `fchmod` per file only where it did (30,000 at 10,000 services).
        if umask().is_none_or(|umask| umask & first != 0) {
            rfs::fchmod(&fd, Mode::from_raw_mode(first))?;
        }
        Ok((staged, std::fs::File::from(fd)))
    }

    /// Gives a file [`Staged::begin`] created its whole mode `mode`.
    pub fn widen(file: &std::fs::File, mode: u32) -> io::Result<()> {
        match created_mode(mode) == mode {
            true => Ok(()),
            false => Ok(rfs::fchmod(file, Mode::from_raw_mode(mode))?),
        }
    }

    /// The target's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The target's path, shared.
    pub fn shared_path(&self) -> Arc<Path> {
        Arc::clone(&self.path)
    }

    pub fn dir(&self) -> &DirFd {
        &self.dir
    }

    /// Makes the staged bytes durable (`fsync` of the temporary file).
    pub fn sync(&self) -> io::Result<()> {
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rfs::openat(&*self.dir, tmp_name(self.tmp), flags, Mode::empty())?;
        rfs::fsync(&fd)?;
        Ok(())
    }

    /// Renames the staged file over its target.
    pub fn persist(mut self) -> io::Result<()> {
        let name = self.path.file_name().unwrap_or_default();
        rfs::renameat(&*self.dir, tmp_name(self.tmp), &*self.dir, name)?;
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
            let _ = rfs::unlinkat(&*self.dir, tmp_name(self.tmp), AtFlags::empty());
        }
    }
}

/// The mode a staged file of mode `mode` is created with: a public file's
/// whole mode, else only the owner's bits until it is written.
fn created_mode(mode: u32) -> u32 {
    match mode == PUBLIC_MODE {
        true => mode,
        false => mode & 0o600,
    }
}

/// The process's umask (from `/proc/self/status`, read once: lucid-gen
/// never changes it), or `None` when it cannot be read.
fn umask() -> Option<u32> {
    static UMASK: OnceLock<Option<u32>> = OnceLock::new();
    *UMASK.get_or_init(|| {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
        u32::from_str_radix(line.trim(), 8).ok()
    })
}

/// The name of temporary file `tmp` (`TMP_PREFIX` and 16 hex digits).
fn tmp_name(tmp: u64) -> OsString {
    OsString::from(format!("{TMP_PREFIX}{tmp:016x}"))
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
