//! A release: the files a host runs (compose files, env files, secrets env
//! files, secret and config files, stand-in overrides) and its manifest
//! (`.lucid-gen/release.json`: each file's SHA-256, each image's ID, how
//! each phase is brought up). [`files`] lists them without reading
//! anything; [`Contents::read`] reads and hashes them here; [`Contents::tar`]
//! packs what the host lacks, with the modes lucid-gen wrote (0600 for
//! secrets env files, 0444 for mounted secret files in a 0700 directory).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::docker::{io_error, DockerError, ErrorKind, Workspace};
use crate::regular_file::Follow;

/// A file of a release larger than this is not one lucid-gen wrote.
const MAX_RELEASE_FILE_BYTES: u64 = 64 << 20;

/// Where the manifest lives in a release.
pub const MANIFEST: &str = ".lucid-gen/release.json";

/// One file of a release: its path in the release, where it is here.
#[derive(Debug, Clone)]
pub struct ReleaseFile {
    pub rel: String,
    pub local: PathBuf,
    /// Holds a secret value (checked here: never readable by others).
    pub secret: bool,
    pub mounted: bool,
}

/// How one phase comes up from a release: its compose project and files
/// (relative to the release).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PhaseUp {
    pub name: String,
    pub project: String,
    pub files: Vec<String>,
}

/// `.lucid-gen/release.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Manifest {
    pub number: u32,
    /// Seconds since the epoch, on the machine that deployed it.
    pub created: u64,
    pub system: String,
    pub stand_ins: bool,
    /// Path in the release → SHA-256 of its bytes.
    pub files: BTreeMap<String, String>,
    /// Image reference → ID.
    pub images: BTreeMap<String, String>,
    pub phases: Vec<PhaseUp>,
}

impl Manifest {
    pub fn parse(text: &str) -> Option<Manifest> {
        serde_json::from_str(text).ok()
    }
}

/// The release's files, read and hashed here.
pub struct Contents {
    pub files: Vec<(ReleaseFile, Vec<u8>, u32, String)>,
}

impl Contents {
    /// Reads every file (a secret-bearing one must not be readable by
    /// others unless it is a mounted 0444 file).
    pub fn read(files: &[ReleaseFile]) -> Result<Contents, DockerError> {
        use std::os::unix::fs::PermissionsExt;
        let mut out = Vec::new();
        for f in files {
            let missing = |error| ErrorKind::MissingOutput {
                path: f.local.clone(),
                error,
            };
            let meta = std::fs::metadata(&f.local).map_err(missing)?;
            let mode = meta.permissions().mode() & 0o777;
            if f.secret && !f.mounted && mode & 0o077 != 0 {
                return Err(ErrorKind::LooseSecretFile {
                    path: f.local.clone(),
                    mode,
                }
                .into());
            }
            let bytes = crate::regular_file::read(&f.local, Follow::Links, MAX_RELEASE_FILE_BYTES)
                .map_err(|e| missing(e.into()))?;
            let hash = hex(&sha2::Sha256::digest(&bytes));
            out.push((f.clone(), bytes, mode, hash));
        }
        Ok(Contents { files: out })
    }

    /// Path → hash of every file.
    pub fn hashes(&self) -> BTreeMap<String, String> {
        (self.files.iter())
            .map(|(f, _, _, h)| (f.rel.clone(), h.clone()))
            .collect()
    }

    /// A tar of the files whose hash differs from `before`'s (all of
    /// them without one), with their directories' modes as here.
    pub fn tar(&self, before: &BTreeMap<String, String>) -> Result<(Vec<u8>, usize), DockerError> {
        let changed: Vec<_> = (self.files.iter())
            .filter(|(f, _, _, hash)| before.get(&f.rel) != Some(hash))
            .collect();
        let mut dirs: BTreeMap<String, u32> = BTreeMap::new();
        for (f, ..) in &changed {
            let mut dir = Path::new(&f.rel).parent();
            let mut local = f.local.parent();
            while let (Some(d), Some(l)) = (dir.filter(|d| !d.as_os_str().is_empty()), local) {
                (dirs.entry(d.to_string_lossy().into_owned())).or_insert_with(|| dir_mode(l));
                dir = d.parent();
                local = l.parent();
            }
        }
        let mut b = tar::Builder::new(Vec::new());
        for (dir, mode) in &dirs {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(*mode);
            h.set_size(0);
            b.append_data(&mut h, dir, std::io::empty())
                .map_err(|e| io_error("pack", dir, e))?;
        }
        for (f, bytes, mode, _) in &changed {
            append(&mut b, &f.rel, bytes, *mode)?;
        }
        let tar = b
            .into_inner()
            .map_err(|e| io_error("pack", "the release", e))?;
        Ok((tar, changed.len()))
    }
}

/// A directory's mode here (0755 when unreadable; the release root is
/// 0700 on the host anyway).
fn dir_mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0o755)
}

/// One regular file into the archive.
pub fn append(
    b: &mut tar::Builder<Vec<u8>>,
    rel: &str,
    bytes: &[u8],
    mode: u32,
) -> Result<(), DockerError> {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(mode);
    h.set_size(bytes.len() as u64);
    b.append_data(&mut h, rel, bytes)
        .map_err(|e| io_error("pack", rel, e))
}

/// A tar holding only the manifest (0600).
pub fn manifest_tar(m: &Manifest) -> Result<Vec<u8>, DockerError> {
    let text = serde_json::to_string_pretty(m).unwrap_or_default();
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_mode(0o700);
    h.set_size(0);
    b.append_data(&mut h, ".lucid-gen", std::io::empty())
        .map_err(|e| io_error("pack", MANIFEST, e))?;
    append(&mut b, MANIFEST, text.as_bytes(), 0o600)?;
    b.into_inner().map_err(|e| io_error("pack", MANIFEST, e))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every file of the release: the compose file of each phase and every
/// file its services read (in the output directory's layout, so relative
/// paths resolve), and each phase's stand-in override when given
/// (`.lucid-gen/standin/<project>.yml`).
pub fn files(
    ws: &Workspace,
    phases: &[(crate::compose_files::ComposeFile, String)],
    overrides: &[(String, PathBuf)],
) -> (Vec<ReleaseFile>, Vec<PhaseUp>) {
    let system = &ws.system;
    let mut out: Vec<ReleaseFile> = Vec::new();
    let mut ups = Vec::new();
    let mut add = |f: ReleaseFile| {
        if !out.iter().any(|o| o.rel == f.rel) {
            out.push(f);
        }
    };
    for (plan, project) in phases {
        let compose = format!("{}/{}", system.output.compose_dir, plan.file_name);
        let compose = normal(&compose);
        add(ReleaseFile {
            rel: compose.clone(),
            local: ws.out_dir.join(&compose),
            secret: false,
            mounted: false,
        });
        for &s in &plan.services {
            for f in crate::render::delivery::host_files(system, &system.services[s]) {
                let rel = normal(&f.path.to_string_lossy());
                add(ReleaseFile {
                    local: ws.out_dir.join(&rel),
                    rel,
                    secret: f.secret,
                    mounted: f.mounted,
                });
            }
        }
        let mut files = vec![compose];
        if let Some((_, local)) = overrides.iter().find(|(p, _)| p == project) {
            let rel = format!(".lucid-gen/standin/{project}.yml");
            add(ReleaseFile {
                rel: rel.clone(),
                local: local.clone(),
                secret: false,
                mounted: false,
            });
            files.push(rel);
        }
        let name = plan.phase.map(|p| system.phases[p].name.clone());
        ups.push(PhaseUp {
            name: name.unwrap_or_default(),
            project: project.clone(),
            files,
        });
    }
    (out, ups)
}

/// A relative path without `.` components or doubled slashes.
pub(super) fn normal(path: &str) -> String {
    (path.split('/'))
        .filter(|p| !p.is_empty() && *p != ".")
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_files_are_packed_with_their_modes() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("s.env");
        std::fs::write(&secret, "A=\"x\"\n").unwrap();
        let plain = dir.path().join("p.env");
        std::fs::write(&plain, "B=1\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
        let file = |rel: &str, local: &PathBuf, secret| ReleaseFile {
            rel: rel.into(),
            local: local.clone(),
            secret,
            mounted: false,
        };
        let files = [
            file("env/s.env", &secret, true),
            file("env/p.env", &plain, false),
        ];
        let contents = Contents::read(&files).unwrap();
        let mut before = contents.hashes();
        before.remove("env/s.env");
        let (tar, sent) = contents.tar(&before).unwrap();
        assert_eq!(sent, 1);
        let mut archive = tar::Archive::new(&tar[..]);
        let entries: Vec<(String, u32)> = (archive.entries().unwrap())
            .map(|e| {
                let e = e.unwrap();
                let path = e.path().unwrap().to_string_lossy().into_owned();
                (path, e.header().mode().unwrap())
            })
            .collect();
        assert_eq!(entries[1], ("env/s.env".to_string(), 0o600));
        assert_eq!(entries.len(), 2, "{entries:?}");
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(
            Contents::read(&files).is_err(),
            "a loose secrets env file is refused"
        );
    }
}
