//! `lucid-gen save` and `lucid-gen load`: images moved to a host without
//! a registry.
//!
//! `save` writes every image the model builds (base images, then the
//! services with a `build`; with `all`, the published images it runs too)
//! as `DIR/<name>.tar.gz` — `docker save` compressed with gzip in-process —
//! then `DIR/SHA256SUMS` (the `sha256sum` format, so `sha256sum -c`
//! checks it too) and `DIR/images.json` (image, file, size, sha256,
//! platform, image ID). Each tarball is written beside its final name and
//! renamed into place only when every image was saved; the two lists are
//! written last, atomically, so a failed or killed run never leaves lists
//! that vouch for a partial file.
//!
//! `load` checks every file against both lists and what each tarball holds
//! against its entry (`archive.rs`) before it loads anything: one missing,
//! corrupted or unlisted file, or an image or tag the entry does not list,
//! and nothing is loaded. Then one `docker load` per tarball, reading the
//! checked file on its standard input; each tag's image ID is compared with
//! the manifest's, and a tag found on another image is put back where it
//! was.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use flate2::write::GzEncoder;
use flate2::Compression;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{shell_quote, Cmd, DockerError, ErrorKind, Workspace};

/// The checksum list, in `sha256sum`'s format.
pub const SUMS: &str = "SHA256SUMS";
/// The JSON manifest: one entry per image.
pub const MANIFEST: &str = "images.json";
/// How a tarball is named until every image is saved.
const TEMP_PREFIX: &str = ".lucid-gen-save.";

pub struct SaveOptions {
    /// Only this phase's services (base images are always saved).
    pub phase: Option<String>,
    /// Where the tarballs and lists are written.
    pub dir: PathBuf,
    /// Also the published images the model runs (not only built ones).
    pub all: bool,
    /// Print the commands instead of running them.
    pub dry_run: bool,
}

pub struct LoadOptions {
    pub dir: PathBuf,
    pub dry_run: bool,
}

/// One image in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// The image reference it is tagged with.
    pub image: String,
    /// The tarball's file name in the directory.
    pub file: String,
    pub size: u64,
    pub sha256: String,
    /// `os/arch[/variant]`, as the engine reports it.
    pub platform: String,
    /// The image ID (`sha256:…`); the same after `load`.
    pub id: String,
    /// Its extra tags (`system.registry.extra_tags`), saved in the same
    /// tarball and checked after `load` like `image`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    images: Vec<Entry>,
}

/// An image to save: its reference, the tarball's name, and whether the
/// model builds it (else it is published and pulled).
struct Wanted {
    image: String,
    /// Extra tags (full references) of a built image.
    tags: Vec<String>,
    file: String,
    built: bool,
}

pub fn save(ws: &Workspace, opts: &SaveOptions) -> Result<(), DockerError> {
    let wanted = wanted(ws, opts)?;
    if wanted.is_empty() {
        crate::outln!("save: the model builds no image (pass --all for the published ones)");
        return Ok(());
    }
    if opts.dry_run {
        for w in &wanted {
            crate::outln!("{}", save_line(w, &opts.dir.join(&w.file)));
        }
        crate::outln!(
            "# then {} and {} in {}",
            SUMS,
            MANIFEST,
            shell_quote(&opts.dir.to_string_lossy())
        );
        return Ok(());
    }
    let found = inspect_all(&wanted)?;
    std::fs::create_dir_all(&opts.dir).map_err(|e| io_error("create", &opts.dir, e))?;
    remove_leftovers(&opts.dir);
    let mut staged = Vec::new();
    for (w, (id, platform)) in wanted.iter().zip(found) {
        let (temp, size, sha256) = save_one(w, &opts.dir)?;
        crate::outln!("saved {} -> {} ({size} bytes)", w.image, w.file);
        let entry = Entry {
            image: w.image.clone(),
            file: w.file.clone(),
            size,
            sha256,
            platform,
            id,
            tags: w.tags.clone(),
        };
        staged.push((temp, entry));
    }
    let entries = commit(&opts.dir, staged)?;
    crate::outln!(
        "save: {} image(s) in {}, checksums in {SUMS}, manifest in {MANIFEST}",
        entries.len(),
        opts.dir.display()
    );
    Ok(())
}

/// Temporary tarballs a killed `save` left in `dir` (they can be large).
fn remove_leftovers(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let ours = entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX);
        if ours && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// `docker save` of an image and its extra tags.
fn save_cmd(w: &Wanted) -> Cmd {
    Cmd::docker().arg("save").arg(&w.image).args(&w.tags)
}

/// The shell line equivalent to what `save` does for one image.
fn save_line(w: &Wanted, file: &Path) -> String {
    format!(
        "{} | gzip > {}",
        save_cmd(w),
        shell_quote(&file.to_string_lossy())
    )
}

/// Base images, then the selected phases' built services (and with `all`
/// their published images), each reference once.
fn wanted(ws: &Workspace, opts: &SaveOptions) -> Result<Vec<Wanted>, DockerError> {
    let system = &ws.system;
    let phases: Vec<usize> = ws
        .plans(opts.phase.as_deref())?
        .iter()
        .filter_map(|p| p.phase)
        .collect();
    let mut candidates: Vec<(&str, &str, bool)> = system
        .images
        .iter()
        .map(|b| (b.key.as_str(), b.image.as_str(), true))
        .collect();
    for &p in &phases {
        for s in system.services_in(p) {
            if s.build.is_some() || opts.all {
                candidates.push((s.name.as_str(), s.image.as_str(), s.build.is_some()));
            }
        }
    }
    let extra = match candidates.iter().any(|(_, _, built)| *built) {
        true => super::build::resolve_extra_tags(ws, "saved")?,
        false => Vec::new(),
    };
    let mut seen_images = HashSet::new();
    let mut seen_files = HashSet::new();
    let mut out = Vec::new();
    for (name, image, built) in candidates {
        if !seen_images.insert(image) {
            continue;
        }
        let mut file = format!("{name}.tar.gz");
        let mut n = 2;
        while !seen_files.insert(file.clone()) {
            file = format!("{name}-{n}.tar.gz");
            n += 1;
        }
        let repo = crate::tags::repository(image);
        let tags = match built {
            true => extra.iter().map(|t| format!("{repo}:{t}")).collect(),
            false => Vec::new(),
        };
        out.push(Wanted {
            image: image.to_string(),
            tags,
            file,
            built,
        });
    }
    Ok(out)
}

/// Every image's ID and platform; every missing image named at once.
fn inspect_all(wanted: &[Wanted]) -> Result<Vec<(String, String)>, DockerError> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for w in wanted {
        let out = Cmd::docker()
            .args(["image", "inspect"])
            .arg(&w.image)
            .args(&w.tags)
            .output()?;
        match out.status.success().then(|| id_and_platform(&out.stdout)) {
            Some(Some(pair)) if one_image(&out.stdout) => found.push(pair),
            _ => missing.push(w),
        }
    }
    if missing.is_empty() {
        return Ok(found);
    }
    let lines: Vec<String> = missing
        .iter()
        .map(|w| {
            let fix = match w.built {
                true => "build it with `lucid-gen build`",
                false => "pull it with `docker pull`",
            };
            let tags = match w.tags.is_empty() {
                true => String::new(),
                false => format!(
                    " or one of its tags {} (each must name the same image)",
                    w.tags.join(", ")
                ),
            };
            format!("  {}{tags} ({fix})", w.image)
        })
        .collect();
    Err(ErrorKind::ImagesAbsent { missing: lines }.into())
}

/// Whether every reference `docker image inspect` was given names the same
/// image (an extra tag left on an older build does not).
fn one_image(json: &[u8]) -> bool {
    let Ok(serde_json::Value::Array(images)) = serde_json::from_slice(json) else {
        return false;
    };
    let ids: HashSet<Option<&str>> = images.iter().map(|i| i["Id"].as_str()).collect();
    ids.len() == 1
}

/// The ID and `os/arch[/variant]` in `docker image inspect`'s JSON (an
/// engine leaves out an empty `Variant`, so no `--format` template).
fn id_and_platform(json: &[u8]) -> Option<(String, String)> {
    let v: serde_json::Value = serde_json::from_slice(json).ok()?;
    let image = v.get(0)?;
    let field = |key: &str| image.get(key).and_then(|f| f.as_str()).unwrap_or("");
    let mut platform = format!("{}/{}", field("Os"), field("Architecture"));
    if !field("Variant").is_empty() {
        platform = format!("{platform}/{}", field("Variant"));
    }
    Some((image.get("Id")?.as_str()?.to_string(), platform))
}

/// Counts and hashes what passes through to `inner`.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// `docker save IMAGE`, gzip-compressed into a temporary file in `dir`:
/// the file, its size and its SHA-256 (hex).
fn save_one(w: &Wanted, dir: &Path) -> Result<(tempfile::NamedTempFile, u64, String), DockerError> {
    let cmd = save_cmd(w);
    let temp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
        .map_err(|e| io_error("write in", dir, e))?;
    let mut child = cmd
        .command()?
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| cmd.not_found(e))?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let file = temp
        .reopen()
        .map_err(|e| io_error("write", temp.path(), e))?;
    let hashing = Hashing {
        inner: BufWriter::new(file),
        hasher: Sha256::new(),
        size: 0,
    };
    let mut gz = GzEncoder::new(hashing, Compression::default());
    let copied = io::copy(&mut stdout, &mut gz).and_then(|_| gz.try_finish());
    // Closing the pipe first ends a `docker save` whose output cannot be
    // written; a write error is then the one to report.
    drop(stdout);
    let out = child.wait_with_output().map_err(|e| cmd.not_found(e))?;
    copied.map_err(|e| io_error("write", temp.path(), e))?;
    if !out.status.success() {
        return Err(cmd.failed(&out));
    }
    let mut hashing = gz.finish().map_err(|e| io_error("write", temp.path(), e))?;
    hashing
        .inner
        .flush()
        .and_then(|_| hashing.inner.get_ref().sync_all())
        .map_err(|e| io_error("write", temp.path(), e))?;
    let sha = hex(&hashing.hasher.finalize());
    Ok((temp, hashing.size, sha))
}

/// Renames every tarball into place, then writes the two lists.
fn commit(
    dir: &Path,
    staged: Vec<(tempfile::NamedTempFile, Entry)>,
) -> Result<Vec<Entry>, DockerError> {
    let mut entries = Vec::new();
    let mut perms = std::fs::metadata(dir)
        .map_err(|e| io_error("read", dir, e))?
        .permissions();
    for (temp, entry) in staged {
        let path = dir.join(&entry.file);
        // Readable like the lists (the temporary file was made 0600).
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o644);
        temp.as_file()
            .set_permissions(perms.clone())
            .map_err(|e| io_error("write", &path, e))?;
        temp.persist(&path)
            .map_err(|e| io_error("write", &path, e.error))?;
        entries.push(entry);
    }
    let sums: String = entries
        .iter()
        .map(|e| format!("{}  {}\n", e.sha256, e.file))
        .collect();
    let manifest = Manifest {
        images: entries.clone(),
    };
    let mut json = serde_json::to_string_pretty(&manifest).expect("a manifest serialises");
    json.push('\n');
    for (name, text) in [(SUMS, sums), (MANIFEST, json)] {
        let path = dir.join(name);
        crate::write::atomic_write(&path, text.as_bytes(), false)
            .map_err(|e| io_error("write", &path, e))?;
    }
    Ok(entries)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn io_error(what: &'static str, path: &Path, e: io::Error) -> DockerError {
    super::io_error(what, path, e)
}

pub fn load(opts: &LoadOptions) -> Result<(), DockerError> {
    let entries = verify(&opts.dir)?;
    crate::outln!(
        "load: {} file(s) in {} match {SUMS} and hold only the images and tags {MANIFEST} lists",
        entries.len(),
        shown(&opts.dir.to_string_lossy())
    );
    for (e, file) in entries {
        let path = opts.dir.join(&e.file);
        if opts.dry_run {
            crate::outln!(
                "{} < {}",
                Cmd::docker().arg("load"),
                shell_quote(&path.to_string_lossy())
            );
            continue;
        }
        load_one(&e, file)?;
        crate::outln!("loaded {} ({})", shown(&e.image), shown(&e.platform));
    }
    Ok(())
}

/// Text from the lists, safe on a terminal.
fn shown(text: &str) -> String {
    crate::escape::escape_control(text).into_owned()
}

/// The image ID `reference` names on the engine, if any.
fn engine_id(reference: &str) -> Result<Option<String>, DockerError> {
    let out = Cmd::docker()
        .args(["image", "inspect", "--format", "{{.Id}}"])
        .arg(reference)
        .output()?;
    Ok(out
        .status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string()))
}

/// `docker load` of one checked tarball (its open file on standard input),
/// then every listed tag's ID compared with the entry's. Should one differ
/// (the archive was checked, so only a changed file or engine could make
/// it), every tag is put back on the image it named before.
fn load_one(e: &Entry, file: File) -> Result<(), DockerError> {
    let refs: Vec<&String> = std::iter::once(&e.image).chain(&e.tags).collect();
    let before = refs
        .iter()
        .map(|r| engine_id(r))
        .collect::<Result<Vec<_>, _>>()?;
    Cmd::docker().arg("load").run_with_input(file)?;
    for r in &refs {
        let id = engine_id(r)?;
        if id.as_deref() == Some(e.id.as_str()) {
            continue;
        }
        for (r, old) in refs.iter().zip(&before) {
            let undo = match old {
                Some(old) => Cmd::docker().arg("tag").arg(old).arg(r.as_str()),
                None => Cmd::docker().args(["image", "rm"]).arg(r.as_str()),
            };
            let _ = undo.output();
        }
        return Err(ErrorKind::ImageIdMismatch {
            image: shown(r),
            file: shown(&e.file),
            loaded: shown(id.as_deref().unwrap_or("(none)")),
            listed: shown(&e.id),
            manifest: MANIFEST,
        }
        .into());
    }
    Ok(())
}

/// Reads both lists and checks every file against them and what it holds
/// against its entry: the entries with their open files, or every problem
/// at once (nothing is loaded then).
pub fn verify(dir: &Path) -> Result<Vec<(Entry, File)>, DockerError> {
    let manifest = read_manifest(dir)?;
    let sums = read_sums(dir)?;
    let listed: HashSet<String> = manifest.images.iter().map(|e| e.file.clone()).collect();
    let mut problems = Vec::new();
    let mut checked = Vec::new();
    for e in manifest.images {
        let file = shown(&e.file);
        if !plain_name(&e.file) {
            problems.push(format!("{file}: not a plain file name in {MANIFEST}"));
            continue;
        }
        match sums.get(&e.file) {
            Some(sum) if *sum == e.sha256 => {}
            Some(_) => problems.push(format!("{file}: {SUMS} and {MANIFEST} disagree")),
            None => problems.push(format!("{file}: missing from {SUMS}")),
        }
        match super::image_archive::check(&dir.join(&e.file), &e) {
            Ok(open) => checked.push((e, open)),
            Err(found) => problems.extend(found.iter().map(|p| format!("{file}: {p}"))),
        }
    }
    for file in sums.keys().filter(|f| !listed.contains(*f)) {
        problems.push(format!("{}: in {SUMS} but not in {MANIFEST}", shown(file)));
    }
    if problems.is_empty() {
        return Ok(checked);
    }
    Err(ErrorKind::ImageDir {
        dir: dir.to_path_buf(),
        problems,
    }
    .into())
}

/// A name without a directory part: the lists never point outside `dir`.
fn plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/') && !name.contains('\0')
}

fn read_manifest(dir: &Path) -> Result<Manifest, DockerError> {
    let path = dir.join(MANIFEST);
    let text = read_list(&path)?;
    serde_json::from_str(&text).map_err(|e| {
        ErrorKind::ImageList {
            what: format!("is not a manifest `lucid-gen save` wrote: {e}"),
            path,
        }
        .into()
    })
}

/// `SHA256SUMS`: file name → hex checksum.
fn read_sums(dir: &Path) -> Result<BTreeMap<String, String>, DockerError> {
    let path = dir.join(SUMS);
    let text = read_list(&path)?;
    let mut sums = BTreeMap::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
        let parsed = line.split_once(' ').and_then(|(sum, rest)| {
            let file = rest.strip_prefix(' ').or_else(|| rest.strip_prefix('*'))?;
            let hex = sum.len() == 64 && sum.bytes().all(|b| b.is_ascii_hexdigit());
            hex.then(|| (file.to_string(), sum.to_ascii_lowercase()))
        });
        let Some((file, sum)) = parsed else {
            return Err(ErrorKind::ImageList {
                what: format!("line {}: not `<sha256>  <file>`", n + 1),
                path,
            }
            .into());
        };
        sums.insert(file, sum);
    }
    Ok(sums)
}

/// The lists are small: a larger one is not what `save` wrote.
const MAX_LIST_BYTES: u64 = 16 << 20;

fn read_list(path: &Path) -> Result<String, DockerError> {
    use crate::regular_file::{read_text, Follow, ReadError};
    read_text(path, Follow::Links, MAX_LIST_BYTES).map_err(|e| {
        let help = match e {
            ReadError::Missing => "\n  help: pass the directory `lucid-gen save --dir DIR` wrote",
            _ => "",
        };
        ErrorKind::Io {
            action: "read",
            path: path.to_path_buf(),
            error: e.into(),
            help,
        }
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::docker::image_archive::{fake_save, id_of};

    /// A tarball holding image `config` as `example/<file>:1`, and its entry.
    fn tarball(dir: &Path, file: &str, config: &[u8]) -> Entry {
        let image = format!("example/{}:1", file.trim_end_matches(".tar.gz"));
        let bytes = fake_save(&[(config, &[image.as_str()])]);
        std::fs::write(dir.join(file), &bytes).unwrap();
        Entry {
            image,
            file: file.into(),
            size: bytes.len() as u64,
            sha256: hex(&Sha256::digest(&bytes)),
            platform: "linux/amd64".into(),
            id: id_of(config),
            tags: Vec::new(),
        }
    }

    fn lists(dir: &Path, entries: &[Entry]) {
        let m = Manifest {
            images: entries.to_vec(),
        };
        std::fs::write(dir.join(MANIFEST), serde_json::to_string(&m).unwrap()).unwrap();
        let sums: String = entries
            .iter()
            .map(|e| format!("{}  {}\n", e.sha256, e.file))
            .collect();
        std::fs::write(dir.join(SUMS), sums).unwrap();
    }

    fn verified(dir: &Path) -> Result<Vec<Entry>, String> {
        verify(dir)
            .map(|v| v.into_iter().map(|(e, _)| e).collect())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn verify_accepts_matching_files_and_names_every_bad_one() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let entries = [tarball(d, "a.tar.gz", b"{}"), tarball(d, "b.tar.gz", b"[]")];
        lists(d, &entries);
        assert_eq!(verified(d).unwrap(), entries.to_vec());

        let mut bytes = std::fs::read(d.join("a.tar.gz")).unwrap();
        bytes[20] ^= 1;
        std::fs::write(d.join("a.tar.gz"), bytes).unwrap();
        std::fs::remove_file(d.join("b.tar.gz")).unwrap();
        let err = verified(d).unwrap_err();
        assert!(err.contains("a.tar.gz: corrupted"), "{err}");
        assert!(err.contains("b.tar.gz: missing"), "{err}");
        assert!(err.contains("no image was loaded"), "{err}");
    }

    #[test]
    fn verify_refuses_names_outside_the_directory_and_disagreeing_lists() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut outside = tarball(d, "x.tar.gz", b"{}");
        outside.file = "../x.tar.gz".into();
        lists(d, std::slice::from_ref(&outside));
        let err = verified(d).unwrap_err();
        assert!(err.contains("../x.tar.gz: not a plain file name"), "{err}");

        outside.file = "x.tar.gz".into();
        lists(d, std::slice::from_ref(&outside));
        std::fs::write(d.join(SUMS), format!("{}  x.tar.gz\n", "0".repeat(64))).unwrap();
        let err = verified(d).unwrap_err();
        assert!(err.contains("disagree"), "{err}");
    }

    /// A list or a tarball that is a FIFO or a link to an endless device
    /// is refused at once, never read.
    #[test]
    fn verify_reads_only_regular_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let entries = [tarball(d, "a.tar.gz", b"{}")];
        lists(d, &entries);
        std::fs::remove_file(d.join("a.tar.gz")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", d.join("a.tar.gz")).unwrap();
        let err = verified(d).unwrap_err();
        assert!(
            err.contains("a.tar.gz: cannot read it: is a character device"),
            "{err}"
        );
        for list in [SUMS, MANIFEST] {
            let aside = d.join("aside");
            std::fs::rename(d.join(list), &aside).unwrap();
            std::os::unix::fs::symlink("/dev/zero", d.join(list)).unwrap();
            let err = verified(d).unwrap_err();
            assert!(
                err.contains(list) && err.contains("character device"),
                "{err}"
            );
            std::fs::remove_file(d.join(list)).unwrap();
            std::fs::rename(&aside, d.join(list)).unwrap();
        }
    }
}
