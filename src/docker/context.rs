//! The build context the legacy builder is sent, with the rendered
//! `Dockerfile.dockerignore` applied (BuildKit reads that file itself; the
//! legacy builder only reads a `.dockerignore` at the context's root).
//!
//! The context is packed here into a tar (read by `docker build -`): every
//! entry of the context directory, links as links, except what the
//! context's own `.dockerignore` or the Dockerfile's ignore file excludes,
//! with Docker's rules — patterns in order, `**` across directories, `*`
//! and `?` within one, a leading `!` bringing a path back, a directory
//! excluded with everything under it. The Dockerfile travels in the tar
//! as [`DOCKERFILE`], and a `.dockerignore` naming it (and itself) keeps
//! both out of what `COPY` sees, as Docker does for a Dockerfile.

use std::fs;
use std::io::Write;
use std::path::Path;

use globset::{GlobBuilder, GlobMatcher};

use crate::regular_file::Follow;

use super::{io_error, DockerError, ErrorKind};

/// The Dockerfile's name inside the packed context.
pub const DOCKERFILE: &str = ".lucid-gen.Dockerfile";

/// An ignore file larger than this is not one.
const MAX_IGNORE_BYTES: u64 = 1 << 20;

/// One `.dockerignore` line, compiled.
struct Pattern {
    matcher: GlobMatcher,
    /// A `!` line: the paths it matches are sent after all.
    keep: bool,
}

/// The patterns of a `.dockerignore` text, as Docker reads them: trimmed,
/// `#` lines and empty ones skipped, a leading `/` and `./` dropped.
fn patterns(text: &str, file: &Path) -> Result<Vec<Pattern>, DockerError> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (keep, pattern) = match line.strip_prefix('!') {
            Some(rest) => (true, rest.trim()),
            None => (false, line),
        };
        let pattern = pattern.trim_start_matches("./").trim_start_matches('/');
        let pattern = pattern.trim_end_matches('/');
        let glob = GlobBuilder::new(pattern)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| ErrorKind::IgnorePattern {
                file: file.to_path_buf(),
                line: line.to_string(),
                error: e.to_string(),
            })?;
        out.push(Pattern {
            matcher: glob.compile_matcher(),
            keep,
        });
    }
    Ok(out)
}

/// Whether `rel` (`/`-separated, relative to the context) is left out:
/// the last pattern matching it or one of its parent directories decides.
fn excluded(patterns: &[Pattern], rel: &str) -> bool {
    let mut out = false;
    for p in patterns {
        let mut prefix = String::new();
        let mut hit = false;
        for part in rel.split('/') {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            if p.matcher.is_match(&prefix) {
                hit = true;
                break;
            }
        }
        if hit {
            out = !p.keep;
        }
    }
    out
}

fn io(what: &Path) -> impl Fn(std::io::Error) -> DockerError + '_ {
    move |e| io_error("pack the build context", what, e)
}

/// The largest Dockerfile packed (a generated one is a few KiB).
const MAX_DOCKERFILE_BYTES: u64 = 1 << 20;

/// Packs `context` (with `dockerfile` as [`DOCKERFILE`]) into a temporary
/// tar, leaving out what `ignore` (the rendered ignore file) and the
/// context's own `.dockerignore` exclude.
pub fn pack(
    context: &Path,
    dockerfile: &Path,
    ignore: &Path,
) -> Result<tempfile::NamedTempFile, DockerError> {
    let mut rules = Vec::new();
    for file in [context.join(".dockerignore"), ignore.to_path_buf()] {
        if let Ok(text) = crate::regular_file::read_text(&file, Follow::Links, MAX_IGNORE_BYTES) {
            rules.extend(patterns(&text, &file)?);
        }
    }
    let tar_file = tempfile::NamedTempFile::new().map_err(io(context))?;
    let mut tar = tar::Builder::new(tar_file.reopen().map_err(io(context))?);
    tar.follow_symlinks(false);
    // Docker prunes an excluded directory unless a `!` line could bring
    // something under it back.
    let prune = !rules.iter().any(|r| r.keep);
    let mut dirs = vec![String::new()];
    while let Some(dir) = dirs.pop() {
        let mut entries: Vec<_> = fs::read_dir(context.join(&dir))
            .map_err(io(context))?
            .collect::<Result<_, _>>()
            .map_err(io(context))?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if dir.is_empty() {
                name
            } else {
                format!("{dir}/{name}")
            };
            if rel == ".dockerignore" || rel == DOCKERFILE {
                continue;
            }
            let is_dir = entry.file_type().map_err(io(context))?.is_dir();
            let out = excluded(&rules, &rel);
            if !out {
                tar.append_path_with_name(entry.path(), &rel)
                    .map_err(io(context))?;
            }
            if is_dir && !(out && prune) {
                dirs.push(rel);
            }
        }
    }
    let text = crate::regular_file::read(dockerfile, Follow::Links, MAX_DOCKERFILE_BYTES)
        .map_err(|e| io_error("pack the build context", dockerfile, e.into()))?;
    append(&mut tar, DOCKERFILE, &text).map_err(io(context))?;
    let ignore = format!("{DOCKERFILE}\n.dockerignore\n");
    append(&mut tar, ".dockerignore", ignore.as_bytes()).map_err(io(context))?;
    tar.into_inner()
        .and_then(|mut f| f.flush())
        .map_err(io(context))?;
    Ok(tar_file)
}

fn append<W: Write>(tar: &mut tar::Builder<W>, name: &str, data: &[u8]) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, name, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Vec<Pattern> {
        patterns(text, Path::new(".dockerignore")).unwrap()
    }

    #[test]
    fn docker_s_rules_decide_what_is_sent() {
        let r = rules("# comment\n**/.git\n**/.env.*\n/build\n**/secrets/env\n");
        for out in [
            ".git",
            ".git/HEAD",
            "sub/.git/config",
            ".env.prod",
            "a/.env.local",
            "build/x",
            "generated/secrets/env/api.env",
            "secrets/env",
        ] {
            assert!(excluded(&r, out), "{out}");
        }
        for kept in [".gitignore", ".env", "src/build/x", "secrets/public", "git"] {
            assert!(!excluded(&r, kept), "{kept}");
        }
        let r = rules("*.md\n!README.md\ndocs\n");
        assert!(excluded(&r, "CHANGES.md"));
        assert!(!excluded(&r, "README.md"));
        assert!(
            !excluded(&r, "sub/CHANGES.md"),
            "`*` stays in one directory"
        );
        assert!(excluded(&r, "docs/a/b.txt"));
    }

    #[test]
    fn the_packed_context_leaves_out_what_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = dir.path().join("ctx");
        for (file, text) in [
            ("app.py", "print(1)"),
            (".git/HEAD", "ref"),
            (".env", "KEY=1"),
            ("out/secrets/env/api.env", "PASSWORD=x"),
            ("keep/me.txt", "ok"),
            ("notes.tmp", "x"),
            (".dockerignore", "*.tmp\n"),
        ] {
            let path = ctx.join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        std::os::unix::fs::symlink("app.py", ctx.join("link")).unwrap();
        let dockerfile = dir.path().join("Dockerfile");
        fs::write(&dockerfile, "FROM scratch\n").unwrap();
        let ignore = dir.path().join("Dockerfile.dockerignore");
        fs::write(&ignore, "**/.git\n**/.env\n**/secrets/env\n").unwrap();
        let tar = pack(&ctx, &dockerfile, &ignore).unwrap();
        let mut archive = tar::Archive::new(fs::File::open(tar.path()).unwrap());
        let mut names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                ".dockerignore",
                DOCKERFILE,
                "app.py",
                "keep",
                "keep/me.txt",
                "link",
                "out",
                "out/secrets"
            ]
        );
    }
}
