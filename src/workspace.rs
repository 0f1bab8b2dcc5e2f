//! [`Workspace`]: a loaded project — the valid model (the `--variant`
//! chosen), its secret values and the output directory — what every
//! Docker-facing command works from; and [`Paths`], the validated
//! settings a command line names (model, output, store, seed, variant).
//!
//! [`Workspace::load`] is the one way there: load and validate the model,
//! resolve the secrets (refusing values the store lacks), and, for the
//! commands that run what was reviewed, refuse a stale output directory.

use std::path::{Path, PathBuf};

use crate::compose_files::{self, ComposeFile};
use crate::diagnostic::Diagnostic;
use crate::docker::{DockerError, ErrorKind};
use crate::failure::Failure;
use crate::render;
use crate::secrets::{self, SecretSource, SecretValues};
use crate::system::System;
use crate::{generate, write};

/// Where a command reads and writes: the settings the command line gives.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The model directory.
    pub model: PathBuf,
    /// The output directory, as the user wrote it.
    pub out: PathBuf,
    /// The secret store file.
    pub secrets: PathBuf,
    /// Derive secrets from this seed instead of the store (tests only).
    pub insecure_secret_seed: Option<u64>,
    /// The variant the Docker commands run (default: the first).
    pub variant: Option<String>,
}

impl Paths {
    /// The store, or the seed that replaces it.
    pub fn secret_source(&self) -> SecretSource {
        match self.insecure_secret_seed {
            Some(seed) => SecretSource::Seeded(seed),
            None => SecretSource::Store(self.secrets.clone()),
        }
    }

    /// The run lock, beside the store.
    pub fn lock_path(&self) -> PathBuf {
        self.secrets
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join("lock")
    }

    /// Refuses an output directory equal to, inside or around the model
    /// directory: the loader reads every `*.yaml`/`*.yml` under the model
    /// (generated compose files included), and nothing lucid-gen writes or
    /// deletes may ever be a model file.
    pub fn check_disjoint(&self) -> Result<(), Failure> {
        let model = resolved(&self.model);
        let out = resolved(&self.out);
        let (m, o) = (self.model.display(), self.out.display());
        let problem = if out == model {
            format!("--out {o} is the model directory")
        } else if out.starts_with(&model) {
            format!("--out {o} is inside the model directory {m}")
        } else if model.starts_with(&out) {
            format!("--model {m} is inside the output directory {o}")
        } else {
            return Ok(());
        };
        Err(Failure::OutputOverlapsModel { problem })
    }
}

/// `path` made absolute with every existing part resolved (links
/// followed), so two spellings of one directory compare equal.
fn resolved(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            return rest.iter().rev().fold(real, |p, c| p.join(c));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

/// Whether the output directory must hold exactly what the model renders
/// (so what runs is what was reviewed), or is taken as it is (`verify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    Required,
    AsIs,
}

/// A validated model, its secret values and where its files were written:
/// what every Docker-facing command works from.
pub struct Workspace {
    /// The model as `up`, `test`, `plan` and `down` run it: the variant
    /// chosen (the first when none is named), when it has variants.
    pub system: System,
    pub secrets: SecretValues,
    /// The output directory, absolute.
    pub out_dir: PathBuf,
    /// The model directory, absolute (a host's known_hosts path may be
    /// relative to it).
    pub model_dir: PathBuf,
    /// The model once per variant (empty without variants), for `verify`.
    pub variants: Vec<System>,
    /// The model's warnings, for the caller to show.
    pub warnings: Vec<Diagnostic>,
}

impl Workspace {
    /// Loads the model and its secrets for the Docker-facing commands,
    /// refusing a stale output directory when `freshness` requires it.
    pub fn load(paths: &Paths, freshness: Freshness) -> Result<Workspace, Failure> {
        let valid = generate::load_valid(&paths.model)?;
        let system = valid.system;
        let resolved = secrets::resolve(&system, &paths.secret_source(), &[])?;
        if !resolved.changed.is_empty() {
            return Err(Failure::SecretsNotGenerated {
                names: resolved.changed,
                store: paths.secrets.clone(),
            });
        }
        let out_dir = std::path::absolute(&paths.out).map_err(|error| Failure::Resolve {
            path: paths.out.clone(),
            error,
        })?;
        if freshness == Freshness::Required {
            let outputs = render::render(&system, &resolved.values)?;
            let stale = write::compare(&out_dir, &write::with_manifest(outputs))
                .map_err(|e| Failure::ReadOutput(e.to_string()))?;
            if !stale.is_empty() {
                return Err(Failure::StaleOutput {
                    out: paths.out.clone(),
                    files: stale.iter().map(|s| paths.out.join(&s.path)).collect(),
                });
            }
        }
        let variants = system.variant_systems();
        let model_dir = std::path::absolute(&paths.model).map_err(|error| Failure::Resolve {
            path: paths.model.clone(),
            error,
        })?;
        Ok(Workspace {
            model_dir,
            system: chosen_variant(system, &variants, paths.variant.as_deref())?,
            secrets: resolved.values,
            out_dir,
            variants,
            warnings: valid.warnings,
        })
    }

    /// The compose plans (phases then master), optionally one phase only.
    /// The phases' plans as their Swarm stacks hold them: without the
    /// services the model leaves out of the stacks (`swarm.leave_out`).
    pub fn stack_plans(&self, phase: Option<&str>) -> Result<Vec<ComposeFile>, DockerError> {
        let mut plans = self.plans(phase)?;
        for p in &mut plans {
            (p.services).retain(|&i| self.system.services[i].swarm.leave_out.is_none());
        }
        Ok(plans)
    }

    pub fn plans(&self, phase: Option<&str>) -> Result<Vec<ComposeFile>, DockerError> {
        let plans = compose_files::phases_and_master(&self.system);
        match phase {
            None => Ok(plans.into_iter().filter(|p| p.phase.is_some()).collect()),
            Some(name) => {
                let found: Vec<ComposeFile> = plans
                    .into_iter()
                    .filter(|p| p.phase.is_some_and(|i| self.system.phases[i].name == name))
                    .collect();
                if found.is_empty() {
                    let names: Vec<&str> =
                        self.system.phases.iter().map(|p| p.name.as_str()).collect();
                    return Err(ErrorKind::UnknownPhase {
                        name: name.to_string(),
                        known: names.iter().map(|n| n.to_string()).collect(),
                    }
                    .into());
                }
                Ok(found)
            }
        }
    }

    /// Every compose file of every variant (phases, master, then groups,
    /// variant by variant), or of the model when it has none.
    pub fn every_compose_plan(&self) -> Vec<ComposeFile> {
        let systems: Vec<&System> = match self.variants.is_empty() {
            true => vec![&self.system],
            false => self.variants.iter().collect(),
        };
        (systems.into_iter())
            .flat_map(compose_files::every)
            .collect()
    }

    /// The master compose plan.
    pub fn master(&self) -> ComposeFile {
        compose_files::phases_and_master(&self.system)
            .pop()
            .expect("the master plan is always last")
    }

    /// Absolute path of a compose file.
    pub fn compose_path(&self, plan: &ComposeFile) -> PathBuf {
        self.out_dir
            .join(&self.system.output.compose_dir)
            .join(&plan.file_name)
    }

    /// Absolute path of a service's (or base image's) generated Dockerfile.
    pub fn dockerfile(&self, name: &str, base: bool) -> PathBuf {
        self.out_dir
            .join(render::dockerfile_path(&self.system, name, base))
    }

    /// The Dockerfile a build uses: the generated one, or a hand-written
    /// one under `source` (the source tree's root), and whether it is
    /// hand-written.
    pub fn build_dockerfile(
        &self,
        name: &str,
        base: bool,
        b: &crate::system::Build,
        source: &Path,
    ) -> (PathBuf, bool) {
        match render::build_dockerfile(&self.system, name, base, b) {
            render::DockerfileAt::Generated(path) => (self.out_dir.join(path), false),
            render::DockerfileAt::Source(path) => (source.join(path), true),
        }
    }

    /// The compose project a plan deploys as: its own name, or `prefix`
    /// (master) / `prefix-phase` when a prefix is given.
    pub fn project(&self, plan: &ComposeFile, prefix: Option<&str>) -> String {
        match (prefix, plan.phase) {
            (None, _) => plan.project.clone(),
            (Some(p), None) => p.to_string(),
            (Some(p), Some(i)) => format!("{p}-{}", self.system.phases[i].name),
        }
    }
}

/// The system as the Docker commands run it: the variant `name`s, or the
/// first; the model itself when it has none.
pub fn chosen_variant(
    system: System,
    variants: &[System],
    name: Option<&str>,
) -> Result<System, Failure> {
    let names: Vec<String> = system.variants.iter().map(|v| v.name.clone()).collect();
    match name {
        None => Ok(variants.first().cloned().unwrap_or(system)),
        Some(name) => match names.iter().position(|n| n == name) {
            Some(i) => Ok(variants[i].clone()),
            None if names.is_empty() => Err(Failure::NoVariants {
                name: name.to_string(),
            }),
            None => Err(Failure::UnknownVariant {
                name: name.to_string(),
                known: names,
            }),
        },
    }
}
