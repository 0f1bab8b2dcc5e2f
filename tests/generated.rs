//! The Lucid model's output: one snapshot of every generated file (fixed
//! secret seed, secret values redacted), and a check that the committed
//! `generated/` is exactly what the model produces.

mod common;

use std::path::Path;
use std::process::Command;

use common::repo_root;
use lucid_gen::secrets::{self, SecretSource};
use lucid_gen::write::{self, Outputs};
use lucid_gen::{model, render, validate};

fn render_repo_model(seed: u64) -> (Outputs, secrets::SecretValues) {
    let loaded = model::load_dir(&repo_root().join("model")).expect("model/ loads");
    let valid = validate::validate(&loaded).unwrap_or_else(|d| {
        panic!(
            "model/ is invalid:\n{}",
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

#[test]
fn lucid_model_renders_every_file() {
    let (outputs, values) = render_repo_model(42);
    let mut joined = String::new();
    for (path, file) in &outputs {
        joined.push_str(&format!("=== {} ===\n", path.display()));
        let mut text = file.text.clone();
        for (name, value) in values.iter() {
            text = text.replace(value, &format!("<{name}: seeded, redacted>"));
        }
        joined.push_str(&text);
    }
    insta::assert_snapshot!("lucid_generated", joined);
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
        .output();
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
