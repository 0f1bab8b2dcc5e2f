//! What one `load` tarball holds, read before the engine sees it: one
//! pass over the open file computes its size and SHA-256 (against
//! `SHA256SUMS` and `images.json`) while the gzip stream is unpacked and
//! the archive's own `manifest.json` — the images `docker load` creates
//! and the tags it moves — is read. Refused: a file that is not a regular
//! file, not the listed bytes, or not a `docker save` archive; an image
//! whose config digest (the classic store's image ID; with the containerd
//! store the ID is a manifest or index blob naming that config) is not the
//! listed ID; a tag the entry does not list, a listed tag it lacks, an
//! image name in `index.json` the entry does not list. The checked file,
//! rewound, is what `docker load` then reads on its standard input, so
//! the bytes checked are the bytes loaded.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::Path;

use flate2::read::GzDecoder;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::save::{hex, Entry};
use crate::escape::escape_control;
use crate::regular_file::{self, Follow, ReadError};

/// Entries up to this size are hashed (image configs, manifests and
/// small layers); larger ones are layers, read through unhashed.
const HASHED_ENTRY_BYTES: u64 = 16 << 20;
/// `manifest.json` and `index.json` larger than this are not docker's.
const LIST_BYTES: u64 = 1 << 20;
/// Blobs up to this size are kept (OCI manifests and indexes, for the
/// containerd store's image IDs), at most [`KEPT_TOTAL_BYTES`] in all.
const KEPT_BLOB_BYTES: u64 = 64 << 10;
const KEPT_TOTAL_BYTES: usize = 16 << 20;

/// Counts and hashes what is read through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

/// What the archive holds that `load` checks.
#[derive(Default)]
struct Contents {
    manifest: Option<Vec<u8>>,
    index: Option<Vec<u8>>,
    /// `sha256:<hex>` of every entry up to [`HASHED_ENTRY_BYTES`], by path.
    digests: HashMap<String, String>,
    /// Small `blobs/` entries, by path.
    kept: HashMap<String, Vec<u8>>,
}

/// One image of `manifest.json`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SavedImage {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
}

/// Reads the tarball at `path` once and checks it against `e`: the open
/// file, rewound, or every problem found.
pub fn check(path: &Path, e: &Entry) -> Result<File, Vec<String>> {
    let mut file = match regular_file::open(path, Follow::Links) {
        Ok(opened) => opened.file,
        Err(ReadError::Missing) => return Err(vec!["missing".into()]),
        Err(err) => return Err(vec![format!("cannot read it: {err}")]),
    };
    // One byte past the listed size is enough to know it differs, and
    // bounds the read of a file that grows while read.
    let mut hashing = Hashing {
        inner: (&mut file).take(e.size.saturating_add(1)),
        hasher: Sha256::new(),
        size: 0,
    };
    let contents = read_contents(GzDecoder::new(&mut hashing));
    let drained = io::copy(&mut hashing, &mut io::sink());
    if let Err(err) = drained {
        return Err(vec![format!("cannot read it: {err}")]);
    }
    let sha = hex(&hashing.hasher.finalize());
    if sha != e.sha256 || hashing.size != e.size {
        return Err(vec![format!(
            "corrupted: sha256 {sha}, expected {} ({} bytes, expected {})",
            e.sha256, hashing.size, e.size
        )]);
    }
    let contents = contents.map_err(|err| {
        vec![format!(
            "is not a gzip-compressed archive `docker save` wrote: {err}"
        )]
    })?;
    let problems = check_contents(&contents, e);
    if !problems.is_empty() {
        return Err(problems);
    }
    file.rewind()
        .map_err(|err| vec![format!("cannot read it: {err}")])?;
    Ok(file)
}

/// The lists and digests of a (decompressed) `docker save` archive.
fn read_contents<R: Read>(reader: R) -> io::Result<Contents> {
    let mut archive = tar::Archive::new(reader);
    let mut c = Contents::default();
    let mut kept_total = 0;
    for entry in archive.entries()? {
        let mut entry = entry?;
        let regular = matches!(
            entry.header().entry_type(),
            tar::EntryType::Regular | tar::EntryType::Continuous
        );
        let size = entry.size();
        if !regular || size > HASHED_ENTRY_BYTES {
            continue;
        }
        let path = entry.path()?.to_string_lossy().into_owned();
        let path = path.trim_start_matches("./").to_string();
        let list = path == "manifest.json" || path == "index.json";
        let keep = (list && size <= LIST_BYTES)
            || (path.starts_with("blobs/")
                && size <= KEPT_BLOB_BYTES
                && kept_total + size as usize <= KEPT_TOTAL_BYTES);
        let mut hasher = Sha256::new();
        let mut kept = Vec::new();
        let mut buf = [0; 1 << 14];
        loop {
            let n = entry.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            if keep {
                kept.extend_from_slice(&buf[..n]);
            }
        }
        c.digests
            .insert(path.clone(), format!("sha256:{}", hex(&hasher.finalize())));
        match path.as_str() {
            "manifest.json" if keep => c.manifest = Some(kept),
            "index.json" if keep => c.index = Some(kept),
            _ if keep => {
                kept_total += kept.len();
                c.kept.insert(path, kept);
            }
            _ => {}
        }
    }
    Ok(c)
}

/// `ref` as the engine stores it: `docker.io/library/` added to a
/// familiar name, `:latest` to a name without tag or digest.
fn normalized(reference: &str) -> String {
    let (name, suffix) = match reference.find('@') {
        Some(at) => reference.split_at(at),
        None => {
            let slash = reference.rfind('/').map_or(0, |i| i + 1);
            match reference[slash..].rfind(':') {
                Some(colon) => reference.split_at(slash + colon),
                None => (reference, ":latest"),
            }
        }
    };
    let first = name.split('/').next().unwrap_or("");
    let has_domain =
        name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let name = match (has_domain, name.contains('/')) {
        (true, _) => name.to_string(),
        (false, true) => format!("docker.io/{name}"),
        (false, false) => format!("docker.io/library/{name}"),
    };
    format!("{name}{suffix}")
}

/// Everything wrong with what the archive holds, for entry `e`.
fn check_contents(c: &Contents, e: &Entry) -> Vec<String> {
    let shown = |s: &str| escape_control(s).into_owned();
    let Some(manifest) = &c.manifest else {
        return vec!["holds no manifest.json: not an archive `docker save` wrote".into()];
    };
    let images: Vec<SavedImage> = match serde_json::from_slice(manifest) {
        Ok(images) => images,
        Err(err) => return vec![format!("its manifest.json is not docker's: {err}")],
    };
    if images.is_empty() {
        return vec!["holds no image".into()];
    }
    let listed: HashSet<String> = std::iter::once(&e.image)
        .chain(&e.tags)
        .map(|r| normalized(r))
        .collect();
    let mut problems = Vec::new();
    let mut tagged = HashSet::new();
    for image in &images {
        let tags = image.repo_tags.as_deref().unwrap_or_default();
        match c.digests.get(image.config.trim_start_matches("./")) {
            None => problems.push(format!(
                "its manifest.json names config `{}`, which the archive does not hold",
                shown(&image.config)
            )),
            Some(config) if !is_image(c, &e.id, config) => problems.push(format!(
                "holds image {} (tags: {}), but {} lists only {} for this file",
                shown(config),
                shown(&tags.join(", ")),
                super::save::MANIFEST,
                shown(&e.id)
            )),
            Some(_) => {}
        }
        for tag in tags {
            if listed.contains(&normalized(tag)) {
                tagged.insert(normalized(tag));
            } else {
                problems.push(format!(
                    "would tag `{}`, which {} does not list for this file",
                    shown(tag),
                    super::save::MANIFEST
                ));
            }
        }
    }
    for r in std::iter::once(&e.image).chain(&e.tags) {
        if !tagged.contains(&normalized(r)) {
            problems.push(format!("does not hold the listed tag `{}`", shown(r)));
        }
    }
    problems.extend(index_names(c).into_iter().filter_map(|name| {
        (!listed.contains(&normalized(&name))).then(|| {
            format!(
                "its index.json names image `{}`, which {} does not list for this file",
                shown(&name),
                super::save::MANIFEST
            )
        })
    }));
    problems
}

/// The image names `index.json` gives (the containerd store loads those).
fn index_names(c: &Contents) -> Vec<String> {
    let Some(index) = c.index.as_ref() else {
        return Vec::new();
    };
    let Ok(index) = serde_json::from_slice::<serde_json::Value>(index) else {
        return Vec::new();
    };
    let manifests = index["manifests"].as_array().cloned().unwrap_or_default();
    manifests
        .iter()
        .filter_map(|m| m["annotations"]["io.containerd.image.name"].as_str())
        .map(str::to_string)
        .collect()
}

/// Whether `id` is the image whose config has digest `config`: the
/// config's digest itself (the classic store), or the digest of a
/// manifest, or of an index of manifests, naming that config (the
/// containerd store) — each blob checked against its own digest.
fn is_image(c: &Contents, id: &str, config: &str) -> bool {
    id == config || names_config(c, id, config, 2)
}

fn names_config(c: &Contents, digest: &str, config: &str, depth: u8) -> bool {
    let Some(hex) = digest.strip_prefix("sha256:") else {
        return false;
    };
    let path = format!("blobs/sha256/{hex}");
    let (Some(blob), Some(actual)) = (c.kept.get(&path), c.digests.get(&path)) else {
        return false;
    };
    if actual != digest {
        return false;
    }
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(blob) else {
        return false;
    };
    if json["config"]["digest"].as_str() == Some(config) {
        return true;
    }
    depth > 0
        && json["manifests"].as_array().is_some_and(|ms| {
            ms.iter().any(|m| {
                m["digest"]
                    .as_str()
                    .is_some_and(|d| names_config(c, d, config, depth - 1))
            })
        })
}

/// A `docker save`-shaped archive, gzip-compressed, for tests: each image
/// is a config (its bytes) and its tags.
#[cfg(test)]
pub fn fake_save(images: &[(&[u8], &[&str])]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut add = |name: &str, bytes: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, name, bytes).unwrap();
    };
    let mut manifest = Vec::new();
    for (config, tags) in images {
        let name = format!("{}.json", hex(&Sha256::digest(config)));
        add(&name, config);
        manifest.push(serde_json::json!({"Config": name, "RepoTags": tags, "Layers": []}));
    }
    add(
        "manifest.json",
        serde_json::to_string(&manifest).unwrap().as_bytes(),
    );
    let tar = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    io::Write::write_all(&mut gz, &tar).unwrap();
    gz.finish().unwrap()
}

/// The image ID the classic store gives a config.
#[cfg(test)]
pub fn id_of(config: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(bytes: &[u8], image: &str, id: &str) -> Entry {
        Entry {
            image: image.into(),
            file: "a.tar.gz".into(),
            size: bytes.len() as u64,
            sha256: hex(&Sha256::digest(bytes)),
            platform: "linux/amd64".into(),
            id: id.into(),
            tags: Vec::new(),
        }
    }

    fn checked(bytes: &[u8], e: &Entry) -> Result<(), String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tar.gz");
        std::fs::write(&path, bytes).unwrap();
        check(&path, e).map(|_| ()).map_err(|p| p.join("\n"))
    }

    #[test]
    fn the_listed_image_under_its_listed_tag_passes() {
        let bytes = fake_save(&[(b"{\"a\":1}", &["example/app:1"])]);
        let e = entry(&bytes, "example/app:1", &id_of(b"{\"a\":1}"));
        assert_eq!(checked(&bytes, &e), Ok(()));
        // The familiar and the full spelling are one reference.
        let e = entry(&bytes, "docker.io/example/app:1", &id_of(b"{\"a\":1}"));
        assert_eq!(checked(&bytes, &e), Ok(()));
    }

    #[test]
    fn an_unlisted_image_or_tag_or_another_image_is_refused() {
        let (a, b) = (&b"{\"a\":1}"[..], &b"{\"b\":2}"[..]);
        // A second image, under a tag the compose files run.
        let bytes = fake_save(&[(a, &["example/app:1"]), (b, &["redis:7"])]);
        let err = checked(&bytes, &entry(&bytes, "example/app:1", &id_of(a))).unwrap_err();
        assert!(err.contains("holds image sha256:"), "{err}");
        assert!(err.contains("would tag `redis:7`"), "{err}");
        // The listed tag on a different image.
        let bytes = fake_save(&[(b, &["example/app:1"])]);
        let err = checked(&bytes, &entry(&bytes, "example/app:1", &id_of(a))).unwrap_err();
        assert!(err.contains(&format!("holds image {}", id_of(b))), "{err}");
        // An extra tag of the listed image, and a listed tag it lacks.
        let bytes = fake_save(&[(a, &["example/app:1", "example/app:evil"])]);
        let mut e = entry(&bytes, "example/app:1", &id_of(a));
        e.tags.push("example/app:extra".into());
        let err = checked(&bytes, &e).unwrap_err();
        assert!(err.contains("would tag `example/app:evil`"), "{err}");
        assert!(
            err.contains("does not hold the listed tag `example/app:extra`"),
            "{err}"
        );
        // A hostile tag is shown escaped.
        let bytes = fake_save(&[(a, &["example/app:1", "x\u{1b}[2J:1"])]);
        let err = checked(&bytes, &entry(&bytes, "example/app:1", &id_of(a))).unwrap_err();
        assert!(
            err.contains("x\\u{1b}[2J") && !err.contains('\u{1b}'),
            "{err}"
        );
    }

    #[test]
    fn what_is_not_a_docker_save_archive_is_refused() {
        let bytes = b"alpha".to_vec();
        let err = checked(&bytes, &entry(&bytes, "example/app:1", "sha256:00")).unwrap_err();
        assert!(err.contains("not a gzip-compressed archive"), "{err}");
        let e = entry(b"alpha", "example/app:1", "sha256:00");
        let err = checked(b"alphA", &e).unwrap_err();
        assert!(err.starts_with("corrupted"), "{err}");
    }

    #[test]
    fn references_normalise_as_the_engine_stores_them() {
        assert_eq!(normalized("redis"), "docker.io/library/redis:latest");
        assert_eq!(normalized("example/app:1"), "docker.io/example/app:1");
        assert_eq!(normalized("ghcr.io/a/b:2"), "ghcr.io/a/b:2");
        assert_eq!(normalized("localhost:5000/a"), "localhost:5000/a:latest");
        assert_eq!(normalized("localhost/a:1"), "localhost/a:1");
    }
}
