//! `output-collision`: two generated files (or a file and a directory
//! another file needs) on one path. The paths come from
//! [`render::output_paths`], the function `render` itself names files
//! with, so what is checked is what would be written.

use std::collections::HashSet;
use std::path::{Component, Path};

use crate::diagnostic::{Diagnostic, Kind};
use crate::output::TMP_PREFIX;
use crate::render::{probe, OutputOrigin, PlannedOutput};
use crate::system::System;

use crate::validate::location::{p, At};
use crate::validate::merge::Merged;
use crate::validate::Validator;

/// The path as a case-insensitive file system (macOS, Windows) sees it:
/// `.` components dropped, lowercase. Two outputs with the same key would
/// overwrite each other there.
fn key(path: &Path) -> String {
    let parts: Vec<String> = path
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy().to_lowercase())
        .collect();
    parts.join("/")
}

/// Every output's [`key`], found by its hash: 16 bytes per output, where a
/// map of the key strings took about a hundred (issue 25: at 10,000
/// services, 30,000 outputs raised validation's peak memory by 5 MB).
struct KeyIndex {
    /// (hash of the key, index of the output), sorted: outputs with one
    /// key are together, in output order.
    sorted: Vec<(u64, usize)>,
}

fn hash(key: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    hasher.finish()
}

impl KeyIndex {
    fn new(outputs: &[PlannedOutput]) -> KeyIndex {
        let mut sorted: Vec<(u64, usize)> = (outputs.iter().enumerate())
            .map(|(i, out)| (hash(&key(&out.path)), i))
            .collect();
        sorted.sort_unstable();
        KeyIndex { sorted }
    }

    /// The outputs whose key is `key`, in output order. Each candidate's
    /// key is compared in full: equal hashes alone prove nothing.
    fn find<'k>(
        &'k self,
        outputs: &'k [PlannedOutput],
        key: &'k str,
    ) -> impl Iterator<Item = usize> + 'k {
        let h = hash(key);
        let start = self.sorted.partition_point(|(x, _)| *x < h);
        (self.sorted[start..].iter())
            .take_while(move |(x, _)| *x == h)
            .map(|(_, i)| *i)
            .filter(move |i| self::key(&outputs[*i].path) == key)
    }
}

impl Validator<'_> {
    /// Every pair of outputs on one path, and every output whose directory
    /// is another output's file.
    pub(super) fn output_collisions(
        &mut self,
        m: &Merged<'_>,
        sys: &System,
        outputs: &[PlannedOutput],
    ) {
        self.probe_image_taken(m, sys);
        let keys = KeyIndex::new(outputs);
        for (i, out) in outputs.iter().enumerate() {
            let first = keys.find(outputs, &key(&out.path)).next();
            match first.filter(|j| *j != i).map(|j| &outputs[j]) {
                // Two env files, or two compose files, with one file name
                // are already `duplicate-definition`.
                Some(first) if first.path == out.path && same_kind(first.origin, out.origin) => {}
                Some(first) => self.collision(m, sys, first, out, false),
                None => {}
            }
        }
        // Names `write` takes for its own temporary files: every run
        // deletes them before writing, and the output's `.gitignore`
        // ignores them — a directory of that name too, with every file in
        // it. Reported once per name.
        let mut named = HashSet::new();
        for out in outputs {
            let part = (out.path.components())
                .map(|c| c.as_os_str().to_string_lossy().to_lowercase())
                .find(|n| n.starts_with(TMP_PREFIX));
            if let Some(part) = part.filter(|p| named.insert(p.clone())) {
                let kind = Kind::OutputTempName {
                    what: describe(sys, out.origin),
                    path: out.path.display().to_string(),
                    part,
                    prefix: TMP_PREFIX,
                };
                let at = self.origin_at(m, out.origin);
                self.report_output(at, kind);
            }
        }
        // A file where another output needs a directory: reported once
        // per file.
        let mut reported = HashSet::new();
        for out in outputs {
            let k = key(&out.path);
            let mut dir = k.as_str();
            while let Some((parent, _)) = dir.rsplit_once('/') {
                if let Some(file) = keys.find(outputs, parent).next() {
                    if reported.insert(parent.to_string()) {
                        self.collision(m, sys, &outputs[file], out, true);
                    }
                }
                dir = parent;
            }
        }
    }

    /// Reports `second` landing on `first`'s path or, with `as_dir`,
    /// `first` (a file) standing where `second` needs a directory. Points at
    /// the model value naming `second` (`first` when `second` has none).
    fn collision(
        &mut self,
        m: &Merged<'_>,
        sys: &System,
        first: &PlannedOutput,
        second: &PlannedOutput,
        as_dir: bool,
    ) {
        let (mut here, mut there) = if as_dir {
            (first, second)
        } else {
            (second, first)
        };
        if !as_dir && self.origin_at(m, here.origin).is_none() {
            // Speak of the output the model names.
            std::mem::swap(&mut here, &mut there);
        }
        let at = self
            .origin_at(m, here.origin)
            .or_else(|| self.origin_at(m, there.origin));
        let there_loc = self
            .origin_at(m, there.origin)
            .map(|a| format!(" ({})", self.value_loc(&a)))
            .unwrap_or_default();
        let (what, path) = (describe(sys, here.origin), here.path.display().to_string());
        let other = describe(sys, there.origin);
        let kind = if as_dir {
            Kind::OutputOnDirectory {
                what,
                path,
                other,
                other_at: there_loc,
                other_path: there.path.display().to_string(),
            }
        } else {
            let spelled = if there.path == here.path {
                String::new()
            } else {
                format!(", spelled `{}`", there.path.display())
            };
            Kind::OutputCollision {
                what,
                path,
                other,
                other_at: there_loc,
                spelled,
            }
        };
        self.report_output(at, kind);
    }

    /// At the model value, or unlocated when only lucid-gen names both.
    fn report_output(&mut self, at: Option<At>, kind: Kind) {
        match at {
            Some(at) => self.report(&at, kind),
            None => self.diagnostics.push(Diagnostic::new(kind)),
        }
    }

    /// Where the model names an output.
    pub(super) fn origin_at(&self, m: &Merged<'_>, origin: OutputOrigin) -> Option<At> {
        Some(match origin {
            OutputOrigin::EnvFile(i) => m.env_files.get_index(i)?.1.at(&p().key("file")),
            OutputOrigin::Compose(Some(i)) => m.phases.get_index(i)?.1.at(&p().key("compose_file")),
            OutputOrigin::GroupCompose(i) => m.groups.get_index(i)?.1.at(&p().key("compose_file")),
            OutputOrigin::Stack(i) => m.phases.get_index(i)?.1.here(),
            OutputOrigin::Compose(None) => m
                .system
                .as_ref()?
                .at(&p().key("output").key("master_compose")),
            OutputOrigin::BaseDockerfile(i) => m.images.get_index(i)?.1.here(),
            OutputOrigin::ServiceDockerfile(i) => m.services.get_index(i)?.1.at(&p().key("build")),
            OutputOrigin::ServiceSecrets(i) => m.services.get_index(i)?.1.at(&p().key("secrets")),
            OutputOrigin::SecretFile(i) => m.secrets.get_index(i)?.1.here(),
            OutputOrigin::ConfigFile(i, j) => m
                .services
                .get_index(i)?
                .1
                .at(&p().key("config_files").index(j).key("target")),
            OutputOrigin::Workflow => {
                (m.system.as_ref()?).at(&p().key("ci").key("github").key("workflow_file"))
            }
            OutputOrigin::LintConfig
            | OutputOrigin::BakeFile
            | OutputOrigin::Graph
            | OutputOrigin::Gitignore
            | OutputOrigin::Manifest
            | OutputOrigin::Probe => return None,
        })
    }
}

impl Validator<'_> {
    /// The health probe image (when written) has its own image name and
    /// bake target; a service built under either would replace it.
    fn probe_image_taken(&mut self, m: &Merged<'_>, sys: &System) {
        if !probe::needed(sys) {
            return;
        }
        let image = probe::image(sys);
        for (i, s) in sys.services.iter().enumerate() {
            let target = s.build.is_some() && s.name == probe::BAKE_TARGET;
            if s.image != image && !target {
                continue;
            }
            if let Some((_, d)) = m.services.get_index(i) {
                let kind = Kind::ProbeImageTaken {
                    service: s.name.clone(),
                    image: image.clone(),
                };
                self.report_at_key(&d.here(), kind);
            }
        }
    }
}

fn same_kind(a: OutputOrigin, b: OutputOrigin) -> bool {
    matches!(
        (a, b),
        (OutputOrigin::EnvFile(_), OutputOrigin::EnvFile(_))
            | (
                OutputOrigin::Compose(_) | OutputOrigin::GroupCompose(_),
                OutputOrigin::Compose(_) | OutputOrigin::GroupCompose(_)
            )
    )
}

/// What an output is, in words: "env file `base`".
fn describe(sys: &System, origin: OutputOrigin) -> String {
    match origin {
        OutputOrigin::EnvFile(i) => format!("env file `{}`", sys.env_files[i].key),
        OutputOrigin::Compose(Some(i)) => {
            format!("compose file of phase `{}`", sys.phases[i].name)
        }
        OutputOrigin::Compose(None) => "master compose file".into(),
        OutputOrigin::GroupCompose(i) => format!("compose file of group `{}`", sys.groups[i].name),
        OutputOrigin::Stack(i) => format!("stack file of phase `{}`", sys.phases[i].name),
        OutputOrigin::LintConfig => "compose-lint config".into(),
        OutputOrigin::BaseDockerfile(i) => {
            format!("Dockerfile of image `{}`", sys.images[i].key)
        }
        OutputOrigin::ServiceDockerfile(i) => {
            format!("Dockerfile of service `{}`", sys.services[i].name)
        }
        OutputOrigin::ServiceSecrets(i) => {
            format!("secrets env file of service `{}`", sys.services[i].name)
        }
        OutputOrigin::SecretFile(i) => format!("file of secret `{}`", sys.secrets[i].name),
        OutputOrigin::ConfigFile(i, j) => format!(
            "config file `{}` of service `{}`",
            sys.services[i].config_files[j].target, sys.services[i].name
        ),
        OutputOrigin::BakeFile => "bake file".into(),
        OutputOrigin::Graph => "Mermaid graph".into(),
        OutputOrigin::Gitignore => "output's .gitignore".into(),
        OutputOrigin::Manifest => "manifest of written files".into(),
        OutputOrigin::Probe => "health probe program".into(),
        OutputOrigin::Workflow => "GitHub workflow".into(),
    }
}
