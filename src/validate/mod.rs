//! Validation: the only way from the raw model to the strict
//! [`System`](crate::system::System).
//!
//! It merges the fragments, resolves every name to an index, and checks
//! every rule, collecting all problems instead of stopping at the first.
//! Each [`Diagnostic`] carries a rule name and the file, line and column of
//! the offending key or value. Warnings never fail validation.
//!
//! One concept per file: `location` (where a problem is), `merge` (fragments
//! into one model), one file per section resolver (`system`, `planes`,
//! `networks`, `env`, `images`, `services`, `security`, `health`), checks they
//! share in `common`, and the rules that look at the whole model in `rules/`.

mod ci;
mod common;
mod delivery;
mod env;
mod external;
mod facts;
mod groups;
mod health;
mod hosts;
mod images;
mod location;
mod merge;
mod mounts;
pub mod names;
mod networks;
mod planes;
mod required_env;
mod rules;
mod security;
mod services;
mod swarm;
mod system;
mod variants;

use crate::diagnostic::{self, Diagnostic, Kind};
use crate::model::{LoadedModel, SourceFile};
use crate::system::System;

use facts::ServiceFacts;
use indexmap::IndexMap;
use merge::Merged;

pub use names::suggest;

/// A validated model and the warnings found on the way.
#[derive(Debug)]
pub struct Validated {
    pub system: System,
    pub warnings: Vec<Diagnostic>,
}

/// Validates a loaded model. On failure the diagnostics hold every error
/// and warning, sorted by location.
///
/// Memory: it takes the model, and each raw service is dropped once it is
/// built; what the later rules read of it is kept as [`facts::ServiceFacts`].
pub fn validate(model: LoadedModel) -> Result<Validated, Vec<Diagnostic>> {
    let LoadedModel {
        files,
        mut fragments,
    } = model;
    let raw_services: Vec<_> = (fragments.iter_mut())
        .map(|f| std::mem::take(&mut f.services))
        .collect();
    let facts: Vec<IndexMap<String, ServiceFacts>> = (raw_services.iter())
        .map(|services| {
            (services.iter())
                .map(|(name, s)| (name.clone(), ServiceFacts::of(s)))
                .collect()
        })
        .collect();
    let mut v = Validator {
        files: &files,
        diagnostics: Vec::new(),
    };
    let merged = v.merge(&fragments, &facts);
    let system = v.build(&merged, raw_services);
    let mut diagnostics = v.diagnostics;
    diagnostic::sort(&mut diagnostics);
    match system {
        Some(system) if !diagnostics.iter().any(Diagnostic::is_error) => Ok(Validated {
            system,
            warnings: diagnostics,
        }),
        _ => Err(diagnostics),
    }
}

/// Collects the diagnostics of one validation run; each section resolver and
/// rule family adds its methods in its own file.
struct Validator<'a> {
    files: &'a [SourceFile],
    diagnostics: Vec<Diagnostic>,
}

impl<'a> Validator<'a> {
    /// Resolves every section, then runs the whole-model rules on the result.
    /// `raw_services` are the services of each file, in file order; each is
    /// dropped once built.
    fn build(
        &mut self,
        m: &Merged<'a>,
        raw_services: Vec<IndexMap<String, crate::model::raw::ServiceDef>>,
    ) -> Option<System> {
        let system = self.system(m);
        let planes = self.planes(m);
        let networks = self.networks(m);
        let env_files = self.env_files(m);
        let secrets = self.secrets(m);
        let phases = self.phases(m);
        let images = self.images(m);
        let externals = self.externals(m);
        let services = self.services(m, raw_services);
        let groups = self.groups(m);
        if m.services.is_empty() {
            self.diagnostics.push(Diagnostic::new(Kind::NoServices {}));
        }
        let mut sys = System {
            planes,
            networks,
            phases,
            env_files,
            secrets,
            images,
            externals,
            services,
            groups,
            variants: self.variants(m),
            ..system?
        };
        sys.hosts = self.hosts(m, &sys);
        self.swarm_rules(m, &sys);
        self.ci_registry(m, &sys);
        self.ci_deploy_variant(m, &sys);
        self.cross_checks(m, &mut sys);
        Some(sys)
    }
}
