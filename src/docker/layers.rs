//! Images to a host without a registry, sending only the layers it lacks.
//!
//! [`prepare`] (read-only, before the preflight's disk check) asks both
//! engines: each wanted image's ID and layers here, every image's layers
//! there. An image the host already has (same ID) is only tagged there.
//! The others are `docker save`d here into a private spool, and every
//! layer whose chain — the layer and all below it — the host already has
//! is marked to be left out: Docker's classic `docker load` skips a layer
//! whose chain ID it holds without reading it, so the archive carries an
//! empty file in its place. [`send`] streams that archive, gzip'd, into
//! `docker load` on the host, counting the bytes, then checks every
//! image's ID there against the one here. A host on the containerd image
//! store (which verifies every blob) gets the whole archive, with a note;
//! so does a host whose load fails for want of a layer it was expected to
//! have.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

use flate2::write::GzEncoder;
use serde_json::Value;

use super::remote;
use super::target::Target;
use super::{io_error, DockerError, ErrorKind};

/// What a transfer sends, decided before anything is sent.
pub struct Transfer {
    /// Every image the host runs: reference → ID here.
    pub images: BTreeMap<String, String>,
    /// Those the host has (by ID): only tagged there.
    retag: Vec<(String, String)>,
    /// Those to send, and the archive holding them.
    send: Vec<String>,
    spool: Option<Spool>,
    /// `docker save` of the images to send, in bytes.
    pub full_bytes: u64,
    /// The archive's bytes with the host's layers left out (before gzip).
    pub send_bytes: u64,
    /// Layers left out, of all layers in the archive.
    pub layers_skipped: usize,
    pub layers_total: usize,
    /// Why the whole archive is sent, when it is.
    pub note: Option<String>,
}

/// A `docker save` archive in a private temporary directory, and the
/// entries (layer files) to leave out of it.
struct Spool {
    _dir: tempfile::TempDir,
    path: PathBuf,
    omit: HashSet<String>,
}

/// What [`send`] did.
pub struct Sent {
    /// Bytes written to the connection (gzip'd archive).
    pub bytes: u64,
    pub images: usize,
    pub note: Option<String>,
}

/// Decides what to send for `refs` (each must exist here); asks the host
/// which layers it has. Sends nothing.
pub fn prepare(
    target: &Target,
    refs: &[String],
    containerd: bool,
) -> Result<Transfer, DockerError> {
    let images = local_ids(refs)?;
    let host = host_images(target)?;
    let (mut retag, mut send) = (Vec::new(), Vec::new());
    for (r, id) in &images {
        match host.contains_key(id) {
            true => retag.push((id.clone(), r.clone())),
            false => send.push(r.clone()),
        }
    }
    let mut t = Transfer {
        images,
        retag,
        send,
        spool: None,
        full_bytes: 0,
        send_bytes: 0,
        layers_skipped: 0,
        layers_total: 0,
        note: None,
    };
    if !t.send.is_empty() {
        spool(&mut t, &host, containerd)?;
    }
    Ok(t)
}

/// Each reference's image ID here; every missing image named at once.
fn local_ids(refs: &[String]) -> Result<BTreeMap<String, String>, DockerError> {
    let mut images = BTreeMap::new();
    let mut missing = Vec::new();
    for r in refs {
        let out = (Target::LOCAL.docker())
            .args(["image", "inspect", "--format", "{{.Id}}", r])
            .output()?;
        match out.status.success() {
            true => {
                let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
                images.insert(r.clone(), id);
            }
            false => missing.push(format!(
                "  {r} (build it first, or deploy with --stand-ins)"
            )),
        }
    }
    match missing.is_empty() {
        true => Ok(images),
        false => Err(ErrorKind::ImagesAbsent { missing }.into()),
    }
}

/// `docker save`s the images to send into a private spool and marks the
/// layers the host holds (by chain) to be left out.
fn spool(
    t: &mut Transfer,
    host: &BTreeMap<String, Vec<String>>,
    containerd: bool,
) -> Result<(), DockerError> {
    let dir = tempfile::Builder::new()
        .prefix("lucid-gen-images.")
        .tempdir()
        .map_err(|e| io_error("create", std::env::temp_dir(), e))?;
    let path = dir.path().join("images.tar");
    (Target::LOCAL.docker())
        .arg("save")
        .arg("-o")
        .arg(&path)
        .args(&t.send)
        .run()?;
    let chains: HashSet<String> = (host.values())
        .flat_map(|layers| (1..=layers.len()).map(|n| layers[..n].join(",")))
        .collect();
    let entries = archive_entries(&path)?;
    let layer_chains = layer_chains(&path, &entries)?;
    let omit: HashSet<String> = match containerd {
        true => {
            t.note = Some("the host keeps images in the containerd store, which checks every layer: the whole archive is sent".into());
            HashSet::new()
        }
        false => (layer_chains.iter())
            .filter(|(_, uses)| uses.iter().all(|chain| chains.contains(chain)))
            .map(|(path, _)| path.clone())
            .collect(),
    };
    t.full_bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    t.layers_total = layer_chains.len();
    t.layers_skipped = omit.len();
    t.send_bytes = (entries.iter())
        .map(|(name, size)| {
            512 + if omit.contains(name) {
                0
            } else {
                size.div_ceil(512) * 512
            }
        })
        .sum::<u64>()
        + 1024;
    t.spool = Some(Spool {
        _dir: dir,
        path,
        omit,
    });
    Ok(())
}

/// Every image on the host: ID → its layers' diff IDs.
fn host_images(target: &Target) -> Result<BTreeMap<String, Vec<String>>, DockerError> {
    let out = target.shell(remote::HOST_LAYERS, &[]).run()?;
    Ok((out.lines())
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let id = words.next()?.to_string();
            Some((id, words.map(str::to_string).collect()))
        })
        .collect())
}

/// The archive's entries: path → size.
fn archive_entries(path: &PathBuf) -> Result<Vec<(String, u64)>, DockerError> {
    let file = File::open(path).map_err(|e| io_error("read", path, e))?;
    let mut archive = tar::Archive::new(file);
    let entries = archive.entries().map_err(|e| io_error("read", path, e))?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_error("read", path, e))?;
        let name = entry.path().map_err(|e| io_error("read", path, e))?;
        out.push((name.to_string_lossy().into_owned(), entry.size()));
    }
    Ok(out)
}

/// Each layer file of the archive with the chain of every use of it (an
/// image's diff IDs up to that layer, joined by `,`), from
/// `manifest.json` and each image's config.
fn layer_chains(
    path: &PathBuf,
    entries: &[(String, u64)],
) -> Result<BTreeMap<String, BTreeSet<String>>, DockerError> {
    let manifest = read_json(path, "manifest.json")?;
    let bad = |what: &str| -> DockerError {
        ErrorKind::ToolOutput {
            command: "docker save".into(),
            error: format!("manifest.json: {what}"),
        }
        .into()
    };
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for image in manifest.as_array().ok_or_else(|| bad("not a list"))? {
        let config = image["Config"].as_str().ok_or_else(|| bad("no Config"))?;
        let config = read_json(path, config)?;
        let diff_ids: Vec<&str> = (config["rootfs"]["diff_ids"]
            .as_array()
            .into_iter()
            .flatten())
        .filter_map(Value::as_str)
        .collect();
        let layers = image["Layers"].as_array().ok_or_else(|| bad("no Layers"))?;
        if layers.len() != diff_ids.len() {
            return Err(bad("layers and diff IDs differ in number"));
        }
        for (i, layer) in layers.iter().enumerate() {
            let layer = layer.as_str().ok_or_else(|| bad("a layer is no path"))?;
            if !entries.iter().any(|(name, _)| name == layer) {
                return Err(bad("a layer is not in the archive"));
            }
            let chain = diff_ids[..=i].join(",");
            out.entry(layer.to_string()).or_default().insert(chain);
        }
    }
    Ok(out)
}

/// One JSON file of the archive.
fn read_json(path: &PathBuf, name: &str) -> Result<Value, DockerError> {
    let file = File::open(path).map_err(|e| io_error("read", path, e))?;
    let mut archive = tar::Archive::new(file);
    for entry in archive.entries().map_err(|e| io_error("read", path, e))? {
        let entry = entry.map_err(|e| io_error("read", path, e))?;
        if entry.path().is_ok_and(|p| p.to_string_lossy() == name) {
            return serde_json::from_reader(entry).map_err(|e| {
                ErrorKind::ToolOutput {
                    command: "docker save".into(),
                    error: format!("{name}: {e}"),
                }
                .into()
            });
        }
    }
    Err(ErrorKind::ToolOutput {
        command: "docker save".into(),
        error: format!("no {name} in the archive"),
    }
    .into())
}

/// Tags what the host has, sends the rest, and checks every image's ID
/// on the host.
pub fn send(target: &Target, t: &Transfer) -> Result<Sent, DockerError> {
    if !t.retag.is_empty() {
        let pairs: Vec<&str> = (t.retag.iter())
            .flat_map(|(id, r)| [id.as_str(), r.as_str()])
            .collect();
        target.shell(RETAG, &pairs).run()?;
    }
    let mut sent = Sent {
        bytes: 0,
        images: t.send.len(),
        note: t.note.clone(),
    };
    if let Some(spool) = &t.spool {
        let load = target.docker().arg("load").arg("-q");
        match stream(&load, spool, &spool.omit, &mut sent.bytes) {
            Ok(()) => {}
            // ssh's own failure (255: the connection) is no missing layer.
            Err(e) if spool.omit.is_empty() || connection_lost(&e) => return Err(e),
            Err(_) => {
                sent.note = Some(
                    "the host lacked a layer it was expected to have: the whole archive was sent"
                        .into(),
                );
                stream(&load, spool, &HashSet::new(), &mut sent.bytes)?;
            }
        }
    }
    verify(target, t)?;
    Ok(sent)
}

/// Whether `ssh` itself failed (exit 255: the connection, not `docker
/// load`).
fn connection_lost(e: &DockerError) -> bool {
    matches!(&*e.kind, ErrorKind::Failed { status, .. } if status.ends_with(" 255"))
}

/// Streams the spooled archive, `omit`'s entries emptied, gzip'd into
/// `load`; adds the bytes written to `bytes`.
fn stream(
    load: &super::Cmd,
    spool: &Spool,
    omit: &HashSet<String>,
    bytes: &mut u64,
) -> Result<(), DockerError> {
    let mut counted = 0u64;
    let result = load.run_fed(|stdin| {
        let counter = Counter {
            inner: stdin,
            bytes: &mut counted,
        };
        let gz = GzEncoder::new(counter, flate2::Compression::fast());
        let mut out = tar::Builder::new(gz);
        let mut archive = tar::Archive::new(File::open(&spool.path)?);
        for entry in archive.entries()? {
            let mut entry = entry?;
            let name = entry.path()?.into_owned();
            let mut header = entry.header().clone();
            if omit.contains(name.to_string_lossy().as_ref()) {
                header.set_size(0);
                out.append_data(&mut header, &name, io::empty())?;
            } else {
                out.append_data(&mut header, &name, &mut entry)?;
            }
        }
        out.into_inner()?.finish()?.flush()
    });
    *bytes += counted;
    result.map(drop)
}

/// A writer that counts what passes through it.
struct Counter<'a> {
    inner: &'a mut dyn Write,
    bytes: &'a mut u64,
}

impl Write for Counter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        *self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Each image's ID on the host (`missing` when it has none), in order.
pub fn host_ids(target: &Target, refs: &[String]) -> Result<Vec<String>, DockerError> {
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    let out = target.shell(IDS, &refs).run()?;
    Ok(out.lines().map(|l| l.trim().to_string()).collect())
}

/// Every image's ID on the host is the one here.
fn verify(target: &Target, t: &Transfer) -> Result<(), DockerError> {
    let refs: Vec<String> = t.images.keys().cloned().collect();
    let found = host_ids(target, &refs)?;
    for ((r, id), found) in t
        .images
        .iter()
        .zip(found.iter().chain(std::iter::repeat(&String::new())))
    {
        if found.trim() != id {
            return Err(ErrorKind::ImageIdMismatch {
                image: r.clone(),
                file: "the stream to the host".into(),
                loaded: found.trim().to_string(),
                listed: id.clone(),
                manifest: "the local engine",
            }
            .into());
        }
    }
    Ok(())
}

/// `docker tag ID REF` for each pair of arguments.
const RETAG: &str = r#"while [ $# -gt 1 ]; do docker tag "$1" "$2" || exit 1; shift 2; done"#;

/// Each argument's image ID (`missing` when the host has none).
const IDS: &str = r#"for r in "$@"; do docker image inspect --format '{{.Id}}' "$r" 2>/dev/null || echo missing; done"#;
