//! `lucid-gen save` and `lucid-gen load` on a real engine: tiny local
//! images (`FROM scratch` plus one file, built here, no registry) saved,
//! removed, refused when a tarball is corrupted or missing, then loaded
//! back with the same IDs; and both commands' `--dry-run`.

use std::fs;
use std::path::Path;

use crate::common::{stderr, stdout, unique_name, Project};

/// The local-build fixture under a unique namespace and system name.
fn project(ns: &str) -> Project {
    let p = Project::fixture("local-build");
    let system = unique_name("saveload");
    for file in ["model/system.yaml", "model/services.yaml"] {
        let text = p
            .read(file)
            .replace("lucid-gen-test", ns)
            .replace("localbuild", &system);
        p.write(file, &text);
    }
    p.run().args(&["all"]).run();
    p
}

fn flip_a_byte(path: &Path) -> Vec<u8> {
    let bytes = fs::read(path).unwrap();
    let mut flipped = bytes.clone();
    let at = flipped.len() / 2;
    flipped[at] ^= 0x01;
    fs::write(path, flipped).unwrap();
    bytes
}

#[test]
fn dry_runs_print_the_commands_and_run_nothing() {
    let ns = unique_name("lucid-gen-saveload");
    let p = project(&ns);
    let out = p
        .run()
        // No docker on PATH: a dry run must not need it.
        .env("PATH", "/nonexistent")
        .args(&["save", "--dir", "out dir", "--phase", "second", "--dry-run"])
        .run();
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            format!("docker save {ns}/lb-base:1 | gzip > 'out dir/base.tar.gz'"),
            format!("docker save {ns}/lb-two:1 | gzip > 'out dir/lb-two.tar.gz'"),
            format!("docker save {ns}/lb-three:1 | gzip > 'out dir/lb-three.tar.gz'"),
            "# then SHA256SUMS and images.json in 'out dir'".to_string(),
        ]
    );
    assert!(!p.path("out dir").exists());

    // `load --dry-run` still verifies every checksum and what each
    // tarball holds first.
    let (bytes, id) = fake_save(b"{}", &["example/a:1"]);
    fs::create_dir_all(p.path("imgs")).unwrap();
    fs::write(p.path("imgs/a.tar.gz"), &bytes).unwrap();
    write_lists(&p.path("imgs"), &[("a.tar.gz", "example/a:1", &id)]);
    let dir = p.path("imgs").display().to_string();
    p.run()
        .env("PATH", "/nonexistent")
        .args(&["load", "--dir", &dir, "--dry-run"])
        .stdout_has(&format!("docker load < {dir}/a.tar.gz"))
        .run();
    flip_a_byte(&p.path("imgs/a.tar.gz"));
    p.run()
        .env("PATH", "/nonexistent")
        .args(&["load", "--dir", &dir, "--dry-run"])
        .status(1)
        .stderr_has("a.tar.gz: corrupted")
        .run();
}

/// A gzip-compressed archive shaped as `docker save` writes it: one image
/// (config `config`) under `tags`; and the ID the engine gives it.
fn fake_save(config: &[u8], tags: &[&str]) -> (Vec<u8>, String) {
    use sha2::Digest;
    let hex: String = (sha2::Sha256::digest(config).iter())
        .map(|b| format!("{b:02x}"))
        .collect();
    let manifest =
        serde_json::json!([{"Config": format!("{hex}.json"), "RepoTags": tags, "Layers": []}]);
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data) in [
        (format!("{hex}.json"), config.to_vec()),
        (
            "manifest.json".to_string(),
            manifest.to_string().into_bytes(),
        ),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, name, data.as_slice()).unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &tar.into_inner().unwrap()).unwrap();
    (gz.finish().unwrap(), format!("sha256:{hex}"))
}

/// `SHA256SUMS` and `images.json` in `dir` listing `(file, image, id)`,
/// each file's checksum and size as they are now.
fn write_lists(dir: &Path, files: &[(&str, &str, &str)]) {
    use sha2::Digest;
    let mut sums = String::new();
    let mut images = Vec::new();
    for (file, image, id) in files {
        let bytes = fs::read(dir.join(file)).unwrap();
        let sha: String = (sha2::Sha256::digest(&bytes).iter())
            .map(|b| format!("{b:02x}"))
            .collect();
        sums.push_str(&format!("{sha}  {file}\n"));
        images.push(
            serde_json::json!({"image": image, "file": file, "size": bytes.len(),
            "sha256": sha, "platform": "linux/amd64", "id": id}),
        );
    }
    fs::write(dir.join("SHA256SUMS"), sums).unwrap();
    let json = serde_json::json!({ "images": images });
    fs::write(dir.join("images.json"), json.to_string()).unwrap();
}

#[test]
fn load_without_the_lists_says_which_directory_to_pass() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::Test::new()
        .args(&["load", "--dir", &dir.path().display().to_string()])
        // A directory without the lists is a usage / I/O error.
        .status(2)
        .stderr_has("images.json")
        .stderr_has("help: pass the directory `lucid-gen save --dir DIR` wrote")
        .run();
}

/// Names `load` reads from the lists (a file, an image, a tag) reach the
/// terminal escaped: a hostile `images.json` cannot clear the screen or
/// retitle the window.
#[test]
fn load_shows_names_from_the_lists_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = "a\u{1b}]0;owned\u{7}\u{1b}[2J";
    let sha = "0".repeat(64);
    fs::write(
        dir.path().join("SHA256SUMS"),
        format!("{sha}  {hostile}.tar.gz\n"),
    )
    .unwrap();
    let entry = serde_json::json!({"images": [{"image": format!("{hostile}:1"),
        "file": format!("{hostile}.tar.gz"), "size": 1, "sha256": sha,
        "platform": "linux/amd64", "id": "sha256:00"}]});
    fs::write(dir.path().join("images.json"), entry.to_string()).unwrap();
    let out = crate::common::Test::new()
        .env("PATH", "/nonexistent")
        .args(&[
            "load",
            "--dir",
            &dir.path().display().to_string(),
            "--dry-run",
        ])
        .status(1)
        .stderr_has("a\\u{1b}]0;owned\\u{7}\\u{1b}[2J.tar.gz: missing")
        .run();
    let shown = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!shown.contains(['\u{1b}', '\u{7}']), "{shown}");
}

/// The tests of this family that need Docker or the tools
/// `.ci/install-*.sh` installs (the Docker tier: `--features docker`).
#[cfg(feature = "docker")]
mod docker_tier {
    use super::*;
    use crate::common::docker_available;
    use crate::common::need;
    use crate::common::OutputBounded;
    use std::os::unix::fs::PermissionsExt;
    use std::process::Command;
    use std::process::Output;

    impl Drop for Cleanup {
        fn drop(&mut self) {
            let mut args = vec!["image", "rm", "-f"];
            args.extend(self.tags.iter().map(String::as_str));
            docker(&args);
        }
    }

    fn docker(args: &[&str]) -> Output {
        Command::new("docker").args(args).output_bounded().unwrap()
    }
    /// The image ID of `image`, or `None` when the engine does not have it.
    fn image_id(image: &str) -> Option<String> {
        let out = docker(&["image", "inspect", "--format", "{{.Id}}", image]);
        out.status
            .success()
            .then(|| stdout(&out).trim().to_string())
    }
    /// Removes the test's images when dropped, also on panic.
    struct Cleanup {
        tags: Vec<String>,
    }
    /// A tiny image tagged `tag`: `FROM scratch` and one file naming it, so
    /// every image has its own ID.
    fn build_tiny(tag: &str) {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("name.txt"), format!("{tag}\n")).unwrap();
        fs::write(
            dir.path().join("Dockerfile"),
            "FROM scratch\nCOPY name.txt /name.txt\n",
        )
        .unwrap();
        let context = dir.path().display().to_string();
        let mut out = docker(&["build", "-q", "-t", tag, &context]);
        // Engine 20.10's legacy builder, with other tests building and
        // removing images at the same moment, can lose the image it has just
        // committed ("unable to find image sha256:…"); that is the engine's
        // race, not what this test checks, so such a build is tried again.
        for _ in 0..2 {
            if out.status.success() || !stderr(&out).contains("unable to find image") {
                break;
            }
            out = docker(&["build", "-q", "-t", tag, &context]);
        }
        assert!(out.status.success(), "{tag}: {}", stderr(&out));
    }
    const BUILT: [(&str, &str); 4] = [
        ("lb-base", "base.tar.gz"),
        ("lb-one", "lb-one.tar.gz"),
        ("lb-two", "lb-two.tar.gz"),
        ("lb-three", "lb-three.tar.gz"),
    ];

    #[test]
    fn save_then_load_round_trips_images_and_refuses_a_corrupted_or_missing_tarball() {
        need(docker_available(), "a running Docker daemon");
        let ns = unique_name("lucid-gen-saveload");
        let tag = |name: &str| format!("{ns}/{name}:1");
        let tags: Vec<String> = BUILT.iter().map(|(n, _)| tag(n)).collect();
        let _cleanup = Cleanup {
            tags: tags.iter().cloned().chain([tag("published")]).collect(),
        };
        let p = project(&ns);
        tags.iter().for_each(|t| build_tiny(t));
        let ids: Vec<String> = tags.iter().map(|t| image_id(t).unwrap()).collect();

        // What a killed save leaves behind is removed by the next one.
        p.write("images/.lucid-gen-save.killed", "partial");
        p.run()
            .args(&["save", "--dir", "images"])
            .stdout_has("save: 4 image(s)")
            .run();
        let dir = p.path("images");
        // SHA256SUMS is what `sha256sum -c` reads, and lists every tarball.
        let check = Command::new("sha256sum")
            .args(["-c", "SHA256SUMS"])
            .current_dir(&dir)
            .output_bounded()
            .unwrap();
        assert!(check.status.success(), "{}", stdout(&check));
        for (_, file) in BUILT {
            assert!(stdout(&check).contains(&format!("{file}: OK")), "{file}");
        }
        let manifest: serde_json::Value =
            serde_json::from_str(&p.read("images/images.json")).unwrap();
        for (i, entry) in manifest["images"].as_array().unwrap().iter().enumerate() {
            assert_eq!(entry["image"], tags[i].as_str());
            assert_eq!(entry["file"], BUILT[i].1);
            assert_eq!(entry["id"], ids[i].as_str());
            assert!(entry["platform"].as_str().unwrap().starts_with("linux/"));
            let meta = fs::metadata(dir.join(BUILT[i].1)).unwrap();
            assert_eq!(entry["size"], meta.len());
            assert_eq!(meta.permissions().mode() & 0o777, 0o644, "{}", BUILT[i].1);
        }
        let mut names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 6, "no temporary file left: {names:?}");
        assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");

        let mut rm = vec!["image", "rm"];
        rm.extend(tags.iter().map(String::as_str));
        assert!(docker(&rm).status.success());
        assert!(tags.iter().all(|t| image_id(t).is_none()));

        // A flipped byte in one tarball: refused naming it, nothing loaded.
        let good = flip_a_byte(&dir.join("lb-two.tar.gz"));
        p.run()
            .args(&["load", "--dir", "images"])
            .status(1)
            .stderr_has("lb-two.tar.gz: corrupted")
            .stderr_has("no image was loaded")
            .run();
        assert!(tags.iter().all(|t| image_id(t).is_none()), "loaded anyway");
        fs::write(dir.join("lb-two.tar.gz"), good).unwrap();

        // A missing tarball: refused naming it, nothing loaded.
        fs::rename(dir.join("lb-three.tar.gz"), p.path("aside")).unwrap();
        p.run()
            .args(&["load", "--dir", "images"])
            .status(1)
            .stderr_has("lb-three.tar.gz: missing")
            .run();
        assert!(tags.iter().all(|t| image_id(t).is_none()), "loaded anyway");
        fs::rename(p.path("aside"), dir.join("lb-three.tar.gz")).unwrap();

        let out = p.run().args(&["load", "--dir", "images"]).run();
        for (t, id) in tags.iter().zip(&ids) {
            assert_eq!(image_id(t).as_ref(), Some(id), "{t} back with its ID");
            assert!(stdout(&out).contains(&format!("loaded {t}")));
        }

        // An image not on the engine: named, with the fix; nothing written.
        assert!(docker(&["image", "rm", &tag("lb-one")]).status.success());
        p.run()
            .args(&["save", "--dir", "again", "--all"])
            .status(1)
            .stderr_has(&format!(
                "{} (build it with `lucid-gen build`)",
                tag("lb-one")
            ))
            .stderr_has(&format!(
                "{} (pull it with `docker pull`)",
                tag("published")
            ))
            .stderr_has("nothing was saved")
            .run();
        assert!(!p.path("again/SHA256SUMS").exists());
    }

    /// A tarball whose checksums were recomputed still holds only what
    /// `images.json` lists for it: an extra image, an extra tag of the listed
    /// image, or another image under the listed tag is refused before the
    /// engine sees the file, so no tag on the engine moves.
    #[test]
    fn load_refuses_images_and_tags_the_lists_do_not_name_and_moves_no_tag() {
        need(docker_available(), "a running Docker daemon");
        let ns = unique_name("lucid-gen-loadcheck");
        let listed = format!("{ns}/listed:1");
        let other = format!("{ns}/other:1");
        let extra = format!("{ns}/extra:1");
        let _cleanup = Cleanup {
            tags: vec![listed.clone(), other.clone(), extra.clone()],
        };
        build_tiny(&listed);
        build_tiny(&other);
        let listed_id = image_id(&listed).unwrap();
        let other_id = image_id(&other).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let save = |refs: &[&str]| {
            let file = dir.path().join("listed.tar");
            let mut args = vec!["save", "-o", file.to_str().unwrap()];
            args.extend(refs);
            assert!(docker(&args).status.success());
            let tar = fs::read(&file).unwrap();
            fs::remove_file(&file).unwrap();
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut gz, &tar).unwrap();
            fs::write(dir.path().join("listed.tar.gz"), gz.finish().unwrap()).unwrap();
            write_lists(dir.path(), &[("listed.tar.gz", &listed, &listed_id)]);
        };
        let load = |wants: &str| {
            crate::common::Test::new()
                .args(&["load", "--dir", &d])
                .status(1)
                .stderr_has(wants)
                .stderr_has("no image was loaded")
                .run();
        };

        // An extra image, under a tag of its own.
        save(&[&listed, &other]);
        assert!(docker(&["image", "rm", &other]).status.success());
        load(&format!("would tag `{other}`"));
        assert_eq!(image_id(&other), None, "the unlisted image was loaded");

        // The listed image under one more tag.
        assert!(docker(&["tag", &listed, &extra]).status.success());
        save(&[&listed, &extra]);
        assert!(docker(&["image", "rm", &extra]).status.success());
        load(&format!("would tag `{extra}`"));
        assert_eq!(image_id(&extra), None, "the unlisted tag was set");

        // Another image under the listed tag: the engine's tag stays put.
        build_tiny(&other);
        let other_id = image_id(&other).unwrap_or(other_id);
        assert!(docker(&["tag", &other, &listed]).status.success());
        save(&[&listed]);
        assert!(docker(&["tag", &listed_id, &listed]).status.success());
        load(&format!("holds image {other_id}"));
        assert_eq!(
            image_id(&listed).as_ref(),
            Some(&listed_id),
            "the tag moved"
        );
    }

    /// Extra tags travel in the same tarball: `save` takes every tag of a built
    /// image (refusing one left on another image), `load` brings each back
    /// with the image's ID.
    #[test]
    fn save_and_load_keep_every_extra_tag() {
        need(docker_available(), "a running Docker daemon");
        let ns = unique_name("lucid-gen-savetags");
        let p = project(&ns);
        let system = p.read("model/system.yaml").replace(
            "    tag: \"1\"\n",
            "    tag: \"1\"\n    extra_tags: [extra, \"sha-${LG_TEST_SHA}\"]\n",
        );
        p.write("model/system.yaml", &system);
        p.run().args(&["all"]).run();
        let refs = |name: &str| -> Vec<String> {
            ["1", "extra", "sha-c0ffee"]
                .iter()
                .map(|t| format!("{ns}/{name}:{t}"))
                .collect()
        };
        let all: Vec<String> = BUILT.iter().flat_map(|(n, _)| refs(n)).collect();
        let _cleanup = Cleanup { tags: all.clone() };
        for (name, _) in BUILT {
            let r = refs(name);
            build_tiny(&r[0]);
            for extra in &r[1..] {
                assert!(docker(&["tag", &r[0], extra]).status.success());
            }
        }
        // `extra` of lb-two left on another image: refused, nothing saved.
        let stale = format!("{ns}/lb-two:extra");
        assert!(docker(&["tag", &format!("{ns}/lb-one:1"), &stale])
            .status
            .success());
        p.run()
            .env("LG_TEST_SHA", "c0ffee")
            .args(&["save", "--dir", "images"])
            .status(1)
            .stderr_has(&format!("{ns}/lb-two:1 or one of its tags"))
            .stderr_has("nothing was saved")
            .run();
        assert!(docker(&["tag", &format!("{ns}/lb-two:1"), &stale])
            .status
            .success());
        p.run()
            .env("LG_TEST_SHA", "c0ffee")
            .args(&["save", "--dir", "images"])
            .stdout_has("save: 4 image(s)")
            .run();
        let manifest: serde_json::Value =
            serde_json::from_str(&p.read("images/images.json")).unwrap();
        let entry = &manifest["images"][1];
        assert_eq!(entry["image"], format!("{ns}/lb-one:1").as_str());
        assert_eq!(entry["tags"], serde_json::json!(refs("lb-one")[1..]));
        let ids: Vec<String> = all.iter().map(|r| image_id(r).unwrap()).collect();
        let mut rm = vec!["image", "rm"];
        rm.extend(all.iter().map(String::as_str));
        assert!(docker(&rm).status.success());
        p.run().args(&["load", "--dir", "images"]).run();
        for (r, id) in all.iter().zip(&ids) {
            assert_eq!(image_id(r).as_ref(), Some(id), "{r} back with its ID");
        }
    }
}
