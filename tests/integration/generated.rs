//! One source of truth per output. Every fixture model under
//! `tests/fixtures/` has a gallery snapshot: every generated file under a
//! `=== path ===` header, fixed secret seed, secret values redacted. The
//! repository's own model is checked once, through the committed
//! `generated/`: it must be exactly what the model produces.

use std::path::Path;
use std::process::Command;

use crate::common::repo_root;
use crate::common::OutputBounded;
use lucid_gen::secrets::{self, SecretSource};
use lucid_gen::write::{self, Outputs};
use lucid_gen::{model, render, validate};

pub(crate) fn render_model(dir: &Path, seed: u64) -> (Outputs, secrets::SecretValues) {
    let loaded = model::load_dir(dir).unwrap_or_else(|e| panic!("{}: {e:?}", dir.display()));
    let valid = validate::validate(loaded).unwrap_or_else(|d| {
        panic!(
            "{} is invalid:\n{}",
            dir.display(),
            d.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    let resolved = secrets::resolve(&valid.system, &SecretSource::Seeded(seed), &[]).unwrap();
    let outputs = render::render(&valid.system, &resolved.values).unwrap();
    (write::with_manifest(outputs), resolved.values)
}

fn render_repo_model(seed: u64) -> (Outputs, secrets::SecretValues) {
    render_model(&repo_root().join("model"), seed)
}

/// Every file under a `=== path ===` header, secret values redacted.
pub(crate) fn gallery(outputs: &Outputs, values: &secrets::SecretValues) -> String {
    let mut joined = String::new();
    for (path, file) in outputs {
        joined.push_str(&format!("=== {} ===\n", path.display()));
        let mut text = file.text.clone();
        for (name, value) in values.iter() {
            text = text.replace(value, &format!("<{name}: seeded, redacted>"));
        }
        joined.push_str(&text);
    }
    joined
}

#[test]
fn every_fixture_model_has_a_gallery_snapshot() {
    insta::glob!("..", "fixtures/*", |dir| {
        let (outputs, values) = render_model(dir, 42);
        assert!(
            outputs.len() > 3,
            "{}: {} files",
            dir.display(),
            outputs.len()
        );
        insta::assert_snapshot!("gallery", gallery(&outputs, &values));
    });
}

/// Lucid's stack files are private (their secret names are keyed with the
/// local store), so `generated/` does not hold them: their snapshot, at a
/// fixed seed, shows what the model's swarm translations write.
#[test]
fn lucids_stack_files_snapshot() {
    let (outputs, values) = render_repo_model(42);
    let stacks: Outputs = (outputs.into_iter())
        .filter(|(p, _)| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("stack.")
        })
        .collect();
    assert_eq!(stacks.len(), 4, "one stack file per phase");
    insta::assert_snapshot!("lucid_stack_files", gallery(&stacks, &values));
}

#[test]
fn committed_generated_dir_is_fresh() {
    let (outputs, _) = render_repo_model(0);
    let root = repo_root().join("generated");
    let mut stale = Vec::new();
    for (path, file) in &outputs {
        if file.secret {
            continue; // Never committed; rendered from the store on each machine.
        }
        match std::fs::read_to_string(root.join(path)) {
            Ok(text) if text == file.text => {}
            _ => stale.push(path.display().to_string()),
        }
    }
    assert!(
        stale.is_empty(),
        "generated/ is stale in {stale:?}: run `cargo run -- all` and commit the result"
    );
    // Every tracked file under generated/ is one the model produces, and
    // none of them holds secrets.
    let tracked = Command::new("git")
        .args(["ls-files", "generated"])
        .current_dir(repo_root())
        .output_bounded();
    if let Some(out) = tracked.ok().filter(|o| o.status.success()) {
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let rel = Path::new(line).strip_prefix("generated").unwrap();
            let file = outputs.get(rel);
            assert!(
                file.is_some(),
                "{line} is tracked but the model no longer produces it"
            );
            assert!(
                !file.unwrap().secret,
                "{line} holds secrets but is tracked by git"
            );
        }
    }
}

/// Swarm cannot change a secret in place: a rotated secret value gets a
/// new Swarm name in the stack file, a plain config file keeps its name,
/// and no name is a plain hash of the value alone.
#[test]
fn swarm_secret_names_change_with_their_value_only() {
    let dir = repo_root().join("tests/fixtures/swarm");
    let names = |seed: u64| {
        let (outputs, values) = render_model(&dir, seed);
        let text: String = (outputs.iter())
            .filter(|(p, _)| p.to_string_lossy().contains("stack."))
            .map(|(_, f)| f.text.clone())
            .collect();
        let find = |prefix: &str| {
            let at = text.find(&format!("source: {prefix}-")).unwrap();
            text[at + 8..]
                .split_whitespace()
                .next()
                .unwrap()
                .to_string()
        };
        (find("DB_PASSWORD"), find("hive-db.db.conf"), values)
    };
    let (secret_a, config_a, values) = names(42);
    let (secret_b, config_b, _) = names(43);
    assert_ne!(secret_a, secret_b, "a rotated secret keeps its Swarm name");
    assert_eq!(config_a, config_b, "a plain config file was renamed");
    let plain = lucid_gen::render::hashes::component_hash(&[values
        .get("DB_PASSWORD")
        .unwrap()
        .as_bytes()
        .to_vec()]);
    assert!(!secret_a.contains(&plain[..12]), "unkeyed hash: {secret_a}");
}
