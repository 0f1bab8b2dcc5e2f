//! The up-to-date stamp: what lets `lucid-gen all` with nothing to change
//! skip loading, rendering and comparing (the way make, ninja and cargo
//! trust recorded fingerprints instead of redoing the work).
//!
//! After a run that wrote (or found up to date) every output without an
//! error or a warning, `all` records in `<store dir>/out-<hash>.stamp`
//! (mode 0600, beside the store and the run lock, never in the output):
//!
//! - the inputs fingerprint: a SHA-256 of lucid-gen's version and its
//!   executable's identity (device, inode, size, mtime and ctime of
//!   `/proc/self/exe`), the working directory, the command line's model,
//!   output and store paths (as given and resolved), the seed and variant,
//!   the name and bytes of every file the model loader reads (and the links
//!   it refuses), and the secret store's bytes; all taken *before* the
//!   model is loaded, so an edit made during the run fails the next check;
//! - where operator-supplied secrets come from (variables, files) and a
//!   SHA-256 of their values, read before they are used;
//! - for every output file: device, inode, size, mtime and ctime in
//!   nanoseconds and mode (type and permission bits), taken with `lstat`
//!   after the run; a file whose ctime was within [`RACY_NS`] of that
//!   moment also gets the SHA-256 of its contents (a change in the same
//!   clock tick would not show in its times).
//!
//! A later `all` (not `--check`, not `secrets rotate`) computes the inputs
//! fingerprint again; when it and the supplied secrets' digest match and
//! every output's `lstat` is the one recorded (and the recorded hash of a
//! racy file is that of its contents now, and each directory holding a
//! mounted secret is still a 0700 directory), nothing is loaded, rendered
//! or read: the run reports every file unchanged. Any mismatch, a missing
//! or unreadable stamp, runs the whole pipeline as before. A hand edit
//! cannot keep a file's ctime (the kernel sets it on every write, rename or
//! `chmod`, and `touch` cannot restore it), so it is seen even with the
//! size and mtime restored. Trusted, as with make's mtimes: that a file
//! whose `lstat` is unchanged holds what it held when recorded, and that
//! the executable at the same inode with the same times is the same build.
//! Not seen: an output edited by hand while a writing run is under way,
//! more than [`RACY_NS`] before the run records its stamp (the `lstat`s
//! are taken at the end, as ninja records outputs after their command).

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::parallel;
use crate::regular_file::{self, Follow};
use crate::system::Supplied;

use super::Recorded;

/// A file whose ctime is this close to the moment its stat was recorded
/// is "racy": a change in the same clock tick would keep its times, so its
/// contents' hash is recorded and checked too.
const RACY_NS: i128 = 50_000_000;

const HEADER: &str = "lucid-gen up-to-date stamp 2";
/// The last line of a whole stamp, before the number of files it lists.
const END: &str = "end ";

/// What the command line names: the inputs besides the model's files.
pub struct Key<'a> {
    pub model: &'a Path,
    pub out: &'a Path,
    pub store: Option<&'a Path>,
    pub seed: Option<u64>,
    pub variant: Option<&'a str>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn feed(h: &mut Sha256, tag: &str, bytes: &[u8]) {
    h.update(tag.as_bytes());
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

fn feed_path(h: &mut Sha256, tag: &str, path: &Path) {
    feed(h, tag, path.as_os_str().as_bytes());
}

/// The most of one input file fingerprinted; a larger one leaves no
/// fingerprint (the run does the whole work, which reports it).
pub(super) const MAX_INPUT_BYTES: u64 = 256 * 1024 * 1024;

/// A file's bytes (a regular file only, never a FIFO or device: the
/// pipeline refuses those), or a marker for why there are none (missing,
/// not a regular file, unreadable): either way part of the fingerprint.
fn feed_file(h: &mut Sha256, tag: &str, path: &Path, follow: Follow) {
    match regular_file::read(path, follow, MAX_INPUT_BYTES) {
        Ok(bytes) => feed(h, tag, &bytes),
        Err(e) => feed(h, "unreadable", format!("{tag} {e:?}").as_bytes()),
    }
}

/// The executable's identity: version, device, inode, size and times.
fn feed_exe(h: &mut Sha256) -> Option<()> {
    feed(h, "version", env!("CARGO_PKG_VERSION").as_bytes());
    let meta = std::fs::metadata(std::env::current_exe().ok()?).ok()?;
    let id = [
        meta.dev() as i128,
        meta.ino() as i128,
        meta.size() as i128,
        nanos(meta.mtime(), meta.mtime_nsec()),
        nanos(meta.ctime(), meta.ctime_nsec()),
    ];
    for n in id {
        h.update(n.to_le_bytes());
    }
    Some(())
}

pub(super) fn nanos(secs: i64, nsecs: i64) -> i128 {
    secs as i128 * 1_000_000_000 + nsecs as i128
}

/// The inputs fingerprint (see the module's doc); `None` when something
/// in it cannot be read (no stamp is then used or written).
pub fn inputs(key: &Key) -> Option<String> {
    let mut h = Sha256::new();
    feed(&mut h, HEADER, b"");
    feed_exe(&mut h)?;
    feed_path(&mut h, "cwd", &std::env::current_dir().ok()?);
    feed_path(&mut h, "model", key.model);
    feed_path(
        &mut h,
        "model-resolved",
        &std::fs::canonicalize(key.model).ok()?,
    );
    feed_path(&mut h, "out", key.out);
    feed(&mut h, "seed", format!("{:?}", key.seed).as_bytes());
    feed(&mut h, "variant", format!("{:?}", key.variant).as_bytes());
    if let Some(store) = key.store {
        feed_path(&mut h, "store", store);
    }
    let (files, outside) = crate::model::files_read(key.model).ok()?;
    for file in &files {
        feed_path(&mut h, "model-file", file);
        feed_file(&mut h, "model-bytes", file, Follow::Links);
    }
    for (link, target) in &outside {
        feed_path(&mut h, "outside-link", link);
        feed_path(&mut h, "outside-target", target);
    }
    Some(hex(&h.finalize()))
}

/// The digest of the secret store's bytes as they are now (`-` without a
/// store: the seed is in the inputs).
pub fn store(path: Option<&Path>) -> String {
    let Some(path) = path else {
        return "-".into();
    };
    let mut h = Sha256::new();
    feed_file(&mut h, "store-bytes", path, Follow::NotLast);
    hex(&h.finalize())
}

/// The digest [`store`] gives for a store holding `bytes`.
pub fn store_holding(bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    feed(&mut h, "store-bytes", bytes);
    hex(&h.finalize())
}

/// The digest of the operator-supplied secrets' values (variables and
/// files, read as they are now; an unset variable or missing file counts
/// as such).
pub fn supplied(sources: &[Supplied]) -> String {
    let mut h = Sha256::new();
    for source in sources {
        match source {
            Supplied::Env(var) => match std::env::var_os(var) {
                Some(value) => feed(&mut h, var, value.as_bytes()),
                None => feed(&mut h, "unset", var.as_bytes()),
            },
            Supplied::File(path) => feed_file(&mut h, path, Path::new(path), Follow::Links),
        }
    }
    hex(&h.finalize())
}

/// Where the stamp for output directory `out` is kept: in the store's
/// directory, named by a hash of `out` resolved. `None` when `out` does
/// not exist.
pub fn path(store_dir: &Path, out: &Path) -> Option<PathBuf> {
    let out = std::fs::canonicalize(out).ok()?;
    let digest = hex(&Sha256::digest(out.as_os_str().as_bytes()));
    Some(store_dir.join(format!("out-{}.stamp", &digest[..16])))
}

/// Removes a stamp that could not be written whole.
fn forget(stamp: &Path) {
    let _ = std::fs::remove_file(stamp);
}

/// One output's recorded `lstat`.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime: i128,
    pub ctime: i128,
    pub mode: u32,
}

fn stat(path: &Path) -> io::Result<Stat> {
    let m = std::fs::symlink_metadata(path)?;
    Ok(Stat {
        dev: m.dev(),
        ino: m.ino(),
        size: m.size(),
        mtime: nanos(m.mtime(), m.mtime_nsec()),
        ctime: nanos(m.ctime(), m.ctime_nsec()),
        mode: m.mode(),
    })
}

fn now_ns() -> i128 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    d.as_nanos() as i128
}

fn line_safe(s: &[u8]) -> bool {
    !s.contains(&b'\n') && !s.contains(&b'\r')
}

/// The stamp's text for `outputs` as they are on disk under `out` now, or
/// `None` when one cannot be written (a file missing, a path or source
/// that does not fit on a line).
fn text(
    out: &Path,
    inputs: &str,
    sources: &[Supplied],
    digest: &str,
    outputs: &[Recorded],
) -> Option<String> {
    let mut t = format!("{HEADER}\ninputs {inputs}\nsupplied {digest}\n");
    for source in sources {
        let (kind, what) = match source {
            Supplied::Env(var) => ("env", var),
            Supplied::File(path) => ("file", path),
        };
        if !line_safe(what.as_bytes()) {
            return None;
        }
        t.push_str(&format!("{kind} {what}\n"));
    }
    let stats = parallel::map(outputs, |file| stat(&out.join(&file.path)));
    let now = now_ns();
    for (file, stat) in outputs.iter().zip(stats) {
        let rel = &file.path;
        let s = stat.ok()?;
        if !line_safe(rel.as_os_str().as_bytes()) || s.mode & 0o170000 != 0o100000 {
            return None;
        }
        let racy = if s.ctime + RACY_NS >= now { "r" } else { "-" };
        let mounted = if file.mounted { "m" } else { "-" };
        t.push_str(&format!(
            "f {} {} {} {} {} {} {mounted} {racy} {} {}\n",
            s.dev,
            s.ino,
            s.size,
            s.mtime,
            s.ctime,
            s.mode,
            hex(&file.digest),
            rel.display()
        ));
    }
    t.push_str(&format!("{END}{}\n", outputs.len()));
    Some(t)
}

/// Records the stamp after a clean run (see the module's doc). Best
/// effort: when it cannot be written, none is left, and the next run does
/// the whole work.
pub fn record(
    stamp: &Path,
    out: &Path,
    inputs: &str,
    sources: &[Supplied],
    digest: &str,
    outputs: &[Recorded],
) {
    let written = text(out, inputs, sources, digest, outputs)
        .map(|t| super::atomic_write(stamp, t.as_bytes(), true));
    if !matches!(written, Some(Ok(()))) {
        forget(stamp);
    }
}

/// One recorded output.
pub(super) struct Entry<'a> {
    pub stat: Stat,
    mounted: bool,
    /// Changed within [`RACY_NS`] of being recorded: its times alone do
    /// not vouch for it.
    pub racy: bool,
    /// SHA-256 (hex) of its contents when recorded.
    pub hash: &'a str,
    pub rel: &'a str,
}

pub(super) fn entry(line: &str) -> Option<Entry<'_>> {
    let mut f = line.strip_prefix("f ")?.splitn(10, ' ');
    let mut n = || f.next();
    let stat = Stat {
        dev: n()?.parse().ok()?,
        ino: n()?.parse().ok()?,
        size: n()?.parse().ok()?,
        mtime: n()?.parse().ok()?,
        ctime: n()?.parse().ok()?,
        mode: n()?.parse().ok()?,
    };
    let mounted = n()? == "m";
    let racy = n()? == "r";
    let hash = n()?;
    let rel = n()?;
    Some(Entry {
        stat,
        mounted,
        racy,
        hash,
        rel,
    })
}

/// Whether the output still holds what the stamp recorded.
fn holds(out: &Path, e: &Entry) -> bool {
    let path = out.join(e.rel);
    if stat(&path).ok().as_ref() != Some(&e.stat) {
        return false;
    }
    if e.mounted {
        let dir = path.parent().map(std::fs::symlink_metadata);
        if !matches!(dir, Some(Ok(m)) if m.is_dir() && m.mode() & 0o777 == 0o700) {
            return false;
        }
    }
    !e.racy
        || regular_file::read(&path, Follow::NotLast, e.stat.size)
            .is_ok_and(|bytes| hex(&Sha256::digest(&bytes)) == e.hash)
}

/// A whole stamp's text (its trailer names as many files as it lists),
/// past the header; `None` for a stamp cut short or of another format.
pub(super) fn whole(text: &str) -> Option<std::str::Lines<'_>> {
    let body = text.strip_suffix('\n')?;
    let (body, last) = body.rsplit_once('\n')?;
    let count: usize = last.strip_prefix(END)?.parse().ok()?;
    let listed = body.lines().filter(|l| l.starts_with("f ")).count();
    let mut lines = body.lines();
    (lines.next()? == HEADER && listed == count).then_some(lines)
}

/// The number of files the stamp vouches for, when it is valid for
/// `inputs` and every output is as recorded; `None` otherwise.
pub fn up_to_date(stamp: &Path, out: &Path, inputs: &str) -> Option<usize> {
    let bytes = regular_file::read(stamp, Follow::NotLast, MAX_INPUT_BYTES).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut lines = whole(&text)?;
    if lines.next()?.strip_prefix("inputs ")? != inputs {
        return None;
    }
    let digest = lines.next()?.strip_prefix("supplied ")?;
    let mut sources = Vec::new();
    let mut entries = Vec::new();
    for line in lines {
        match line.split_once(' ')? {
            ("env", var) => sources.push(Supplied::Env(var.to_string())),
            ("file", path) => sources.push(Supplied::File(path.to_string())),
            _ => entries.push(entry(line)?),
        }
    }
    if entries.is_empty() || supplied(&sources) != digest {
        return None;
    }
    let held = parallel::map(&entries, |e| holds(out, e));
    held.iter().all(|h| *h).then_some(entries.len())
}

/// Whether a stamp that exists could apply (its inputs line matches):
/// cheap, read before the run locks are taken.
pub fn may_apply(stamp: &Path, inputs: &str) -> bool {
    use std::io::Read;
    let mut head = [0u8; 256];
    let Ok(mut opened) = regular_file::open(stamp, Follow::NotLast) else {
        return false;
    };
    let n = opened.file.read(&mut head).unwrap_or(0);
    let want = format!("{HEADER}\ninputs {inputs}\n");
    head[..n].starts_with(want.as_bytes())
}

/// The 32 bytes a 64-digit hex string spells.
pub(super) fn unhex(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        out[i] = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(out)
}
