//! Files inside a container, read with Docker's archive API (`docker cp
//! CONTAINER:PATH -`, a tar stream), which works on scratch images and
//! stopped containers: no shell or tool is needed inside the container.
//! [`parse_tar`] reads such a stream into [`Entry`]s, contents included.

use super::target::Target;
use super::{DockerError, ErrorKind};

/// What an archive entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Link,
    Other,
}

/// One entry of a `docker cp` tar stream.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: String,
    pub kind: EntryKind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub data: Vec<u8>,
}

/// Reads a tar stream (Docker's archive API output) into its entries,
/// contents included (PAX and GNU long names as the `tar` crate reads them).
pub fn parse_tar(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let mut archive = tar::Archive::new(bytes);
    let mut out = Vec::new();
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| format!("bad tar entry: {e}"))?;
        let header = entry.header();
        let kind = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File,
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Symlink | tar::EntryType::Link => EntryKind::Link,
            _ => EntryKind::Other,
        };
        let mode = header.mode().map_err(|e| e.to_string())?;
        let uid = header.uid().map_err(|e| e.to_string())?;
        let gid = header.gid().map_err(|e| e.to_string())?;
        let path = entry
            .path()
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .into_owned();
        let mut data = Vec::new();
        if kind == EntryKind::File {
            std::io::Read::read_to_end(&mut entry, &mut data).map_err(|e| e.to_string())?;
        }
        out.push(Entry {
            path,
            kind,
            mode,
            uid,
            gid,
            data,
        });
    }
    Ok(out)
}

/// The entries at `path` in `container` (following a link at `path`
/// itself); `None` when the path does not exist.
pub fn fetch(
    target: &Target,
    container: &str,
    path: &str,
) -> Result<Option<Vec<Entry>>, DockerError> {
    let cmd = (target.docker())
        .args(["cp", "-L"])
        .arg(format!("{container}:{path}"))
        .arg("-");
    let out = cmd.output()?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("No such container:path") || stderr.contains("Could not find the file") {
            return Ok(None);
        }
        return Err(cmd.failed(&out));
    }
    parse_tar(&out.stdout).map(Some).map_err(|error| {
        ErrorKind::ToolOutput {
            command: cmd.to_string(),
            error,
        }
        .into()
    })
}

/// The text of `path` in `container`, empty when absent.
pub fn file_text(target: &Target, container: &str, path: &str) -> Result<String, DockerError> {
    Ok(fetch(target, container, path)?
        .and_then(|e| e.into_iter().find(|e| e.kind == EntryKind::File))
        .map(|e| String::from_utf8_lossy(&e.data).into_owned())
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(entries: &[(&str, tar::EntryType, u32, u64, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, kind, mode, uid, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_mode(*mode);
            h.set_uid(*uid);
            h.set_gid(*uid + 1);
            h.set_size(data.len() as u64);
            if *kind == tar::EntryType::Symlink {
                h.set_link_name("elsewhere").unwrap();
            }
            // A name over 100 bytes needs a GNU long-name record.
            b.append_data(&mut h, path, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn tar_streams_give_paths_kinds_modes_owners_and_contents() {
        let long = format!("secrets/{}", "n".repeat(150));
        let bytes = tar_of(&[
            ("secrets", tar::EntryType::Directory, 0o755, 0, b""),
            (
                "secrets/API_KEY",
                tar::EntryType::Regular,
                0o444,
                65532,
                b"k3y",
            ),
            (&long, tar::EntryType::Regular, 0o400, 7, b"x"),
            ("secrets/link", tar::EntryType::Symlink, 0o777, 0, b""),
        ]);
        let e = parse_tar(&bytes).unwrap();
        assert_eq!(e.len(), 4);
        assert_eq!(e[0].kind, EntryKind::Dir);
        assert_eq!(
            (e[1].path.as_str(), e[1].kind, e[1].mode, e[1].uid, e[1].gid),
            ("secrets/API_KEY", EntryKind::File, 0o444, 65532, 65533)
        );
        assert_eq!(e[1].data, b"k3y");
        assert_eq!(e[2].path, long);
        assert_eq!(e[3].kind, EntryKind::Link);
        assert!(
            parse_tar(&bytes[..700]).is_err(),
            "a cut stream is an error"
        );
    }
}
