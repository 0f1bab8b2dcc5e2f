//! Validation: the only way from the raw model to the strict
//! [`System`](crate::system::System).
//!
//! It merges the fragments, resolves every name to an index, and checks
//! every rule, collecting all problems instead of stopping at the first.
//! Each [`Diagnostic`] carries a rule name and the file, line and column of
//! the offending key or value. Warnings never fail validation.

mod names;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use indexmap::IndexMap;

use crate::diagnostic::{self, Diagnostic, Location, Rule};
use crate::escape;
use crate::model::raw::{self, Fragment};
use crate::model::{LoadedModel, SourceFile, YamlPath};
use crate::system::*;

pub use names::suggest;

/// A validated model and the warnings found on the way.
#[derive(Debug)]
pub struct Validated {
    pub system: System,
    pub warnings: Vec<Diagnostic>,
}

/// Validates a loaded model. On failure the diagnostics hold every error
/// and warning, sorted by location.
pub fn validate(model: &LoadedModel) -> Result<Validated, Vec<Diagnostic>> {
    let mut v = Validator {
        files: &model.files,
        diagnostics: Vec::new(),
    };
    let merged = v.merge(&model.fragments);
    let system = v.build(&merged);
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

/// A definition and where it was written.
struct Def<'a, T> {
    file: usize,
    path: YamlPath,
    def: &'a T,
}

impl<T> Def<'_, T> {
    fn at(&self, sub: &YamlPath) -> At {
        let mut path = self.path.clone();
        path.0.extend(sub.0.iter().cloned());
        At {
            file: self.file,
            path,
        }
    }

    fn here(&self) -> At {
        At {
            file: self.file,
            path: self.path.clone(),
        }
    }
}

/// A place in a model file.
#[derive(Clone)]
struct At {
    file: usize,
    path: YamlPath,
}

type Section<'a, T> = IndexMap<String, Def<'a, T>>;

struct Merged<'a> {
    system: Option<Def<'a, raw::SystemDef>>,
    planes: Section<'a, raw::PlaneDef>,
    networks: Section<'a, raw::NetworkDef>,
    phases: Section<'a, raw::PhaseDef>,
    env_files: Section<'a, raw::EnvFileDef>,
    secrets: Section<'a, raw::SecretDef>,
    images: Section<'a, raw::ImageDef>,
    services: Section<'a, raw::ServiceDef>,
}

struct Validator<'a> {
    files: &'a [SourceFile],
    diagnostics: Vec<Diagnostic>,
}

fn p() -> YamlPath {
    YamlPath::root()
}

/// Whether `text` contains the lowercase `term` once `text` is lowercased,
/// where `text` is either ASCII (compared ignoring ASCII case, no copy) or
/// already lowercased.
fn contains_lowercase(text: &str, term: &str) -> bool {
    if !text.is_ascii() || term.is_empty() {
        return text.contains(term);
    }
    let (text, term) = (text.as_bytes(), term.as_bytes());
    term.len() <= text.len()
        && text.windows(term.len()).any(|w| {
            w.iter()
                .zip(term)
                .all(|(a, b)| a.to_ascii_lowercase() == *b)
        })
}

impl<'a> Validator<'a> {
    fn key_loc(&self, at: &At) -> Location {
        self.files[at.file].key_location(&at.path)
    }

    fn value_loc(&self, at: &At) -> Location {
        self.files[at.file].value_location(&at.path)
    }

    /// An error pointing at the value at `at`.
    fn error(&mut self, rule: Rule, at: &At, message: String, help: impl Into<String>) {
        let d = Diagnostic::error(rule, message)
            .at(Some(self.value_loc(at)))
            .help(help);
        self.diagnostics.push(d);
    }

    /// An error pointing at the key of the entry at `at`.
    fn error_at_key(&mut self, rule: Rule, at: &At, message: String, help: impl Into<String>) {
        let d = Diagnostic::error(rule, message)
            .at(Some(self.key_loc(at)))
            .help(help);
        self.diagnostics.push(d);
    }

    fn warning(&mut self, rule: Rule, at: &At, message: String, help: impl Into<String>) {
        let d = Diagnostic::warning(rule, message)
            .at(Some(self.key_loc(at)))
            .help(help);
        self.diagnostics.push(d);
    }

    // ---------------------------------------------------------------- merge

    fn merge(&mut self, fragments: &'a [Fragment]) -> Merged<'a> {
        let mut m = Merged {
            system: None,
            planes: IndexMap::new(),
            networks: IndexMap::new(),
            phases: IndexMap::new(),
            env_files: IndexMap::new(),
            secrets: IndexMap::new(),
            images: IndexMap::new(),
            services: IndexMap::new(),
        };
        for (file, fragment) in fragments.iter().enumerate() {
            if let Some(system) = &fragment.system {
                let def = Def {
                    file,
                    path: p().key("system"),
                    def: system,
                };
                if let Some(first) = &m.system {
                    let first_loc = self.key_loc(&first.here());
                    self.error_at_key(
                        Rule::DuplicateDefinition,
                        &def.here(),
                        format!("`system` is defined twice (first at {first_loc})"),
                        "keep one `system:` section for the whole model",
                    );
                } else {
                    m.system = Some(def);
                }
            }
            self.merge_section(file, "planes", &fragment.planes, &mut m.planes);
            self.merge_section(file, "networks", &fragment.networks, &mut m.networks);
            self.merge_section(file, "phases", &fragment.phases, &mut m.phases);
            self.merge_section(file, "env_files", &fragment.env_files, &mut m.env_files);
            self.merge_section(file, "secrets", &fragment.secrets, &mut m.secrets);
            self.merge_section(file, "images", &fragment.images, &mut m.images);
            self.merge_section(file, "services", &fragment.services, &mut m.services);
        }
        m
    }

    fn merge_section<T>(
        &mut self,
        file: usize,
        section: &str,
        entries: &'a IndexMap<String, T>,
        into: &mut Section<'a, T>,
    ) {
        for (name, def) in entries {
            let d = Def {
                file,
                path: p().key(section).key(name.as_str()),
                def,
            };
            if let Some(first) = into.get(name) {
                let first_loc = self.key_loc(&first.here());
                self.error_at_key(
                    Rule::DuplicateDefinition,
                    &d.here(),
                    format!("{section} entry `{name}` is defined twice (first at {first_loc})"),
                    "each name is defined once in the whole model directory; rename or remove one",
                );
            } else {
                into.insert(name.clone(), d);
            }
        }
    }

    // ---------------------------------------------------------------- build

    fn build(&mut self, m: &Merged<'a>) -> Option<System> {
        let system = self.system(m);
        let planes = self.planes(m);
        let networks = self.networks(m);
        let env_files = self.env_files(m);
        let secrets = self.secrets(m);
        let phases = self.phases(m);
        let images = self.images(m);
        let services = self.services(m);
        if m.services.is_empty() {
            self.diagnostics.push(
                Diagnostic::error(Rule::NoServices, "the model defines no services")
                    .help("add a `services:` section to a model file"),
            );
        }
        let mut sys = System {
            planes,
            networks,
            phases,
            env_files,
            secrets,
            images,
            services,
            ..system?
        };
        self.cross_checks(m, &mut sys);
        Some(sys)
    }

    /// The `system` section, with every collection still empty.
    fn system(&mut self, m: &Merged<'a>) -> Option<System> {
        let Some(def) = &m.system else {
            let location = self.files.first().map(|f| f.location(1, 1));
            self.diagnostics.push(
                Diagnostic::error(Rule::MissingSystem, "no file of the model has a `system:` section")
                    .at(location)
                    .help("add `system: { name, platform, registry: { namespace, tag } }` to one model file"),
            );
            return None;
        };
        let s = def.def;
        if !names::is_project_name(&s.name) {
            self.error(
                Rule::InvalidName,
                &def.at(&p().key("name")),
                format!(
                    "system name `{}` is not a valid Compose project name",
                    s.name
                ),
                "use lowercase letters, digits, `-` and `_`, starting with a letter or digit",
            );
        }
        if !names::is_platform(&s.platform) {
            self.error(
                Rule::InvalidName,
                &def.at(&p().key("platform")),
                format!("platform `{}` is not of the form os/arch", s.platform),
                "write it as Docker does, e.g. `linux/arm64` or `linux/amd64`",
            );
        }
        if !names::is_image_ref(&format!("{}/x", s.registry.namespace)) {
            self.error(
                Rule::InvalidImage,
                &def.at(&p().key("registry").key("namespace")),
                format!(
                    "registry namespace `{}` is not a valid image path",
                    s.registry.namespace
                ),
                "use lowercase letters, digits and `-`, e.g. `pickme`",
            );
        }
        if !names::is_tag(&s.registry.tag) {
            self.error(
                Rule::InvalidImage,
                &def.at(&p().key("registry").key("tag")),
                format!("image tag `{}` is not a valid Docker tag", s.registry.tag),
                "use letters, digits, `_`, `.` and `-`, at most 128 characters",
            );
        }
        let o = &s.output;
        for (key, value) in [
            ("env_dir", &o.env_dir),
            ("compose_dir", &o.compose_dir),
            ("dockerfile_dir", &o.dockerfile_dir),
        ] {
            if !names::is_relative_path(value) {
                self.error(
                    Rule::InvalidPath,
                    &def.at(&p().key("output").key(key)),
                    format!("output.{key} `{value}` must be a relative path inside the output directory"),
                    "use a path like `configs/docker`, without a leading `/` or `..`",
                );
            }
        }
        if !names::is_file_name(&o.master_compose) {
            self.error(
                Rule::InvalidPath,
                &def.at(&p().key("output").key("master_compose")),
                format!(
                    "output.master_compose `{}` must be a plain file name",
                    o.master_compose
                ),
                "use a name like `docker-compose.master.yml`",
            );
        }
        let labels = self.labels(&s.labels, &def.at(&p().key("labels")));
        let lint_exceptions =
            self.lint_exceptions(&s.lint_exceptions, &def.at(&p().key("lint_exceptions")));
        Some(System {
            name: s.name.clone(),
            description: s.description.clone(),
            platform: s.platform.clone(),
            registry_namespace: s.registry.namespace.clone(),
            tag: s.registry.tag.clone(),
            output: OutputLayout {
                env_dir: o.env_dir.clone(),
                compose_dir: o.compose_dir.clone(),
                dockerfile_dir: o.dockerfile_dir.clone(),
                master_compose: o.master_compose.clone(),
            },
            labels,
            lint_exceptions,
            planes: Vec::new(),
            networks: Vec::new(),
            phases: Vec::new(),
            env_files: Vec::new(),
            secrets: Vec::new(),
            images: Vec::new(),
            services: Vec::new(),
        })
    }

    /// Linter rules accepted with a reason: `CL-0019: "why"`.
    fn lint_exceptions(
        &mut self,
        exceptions: &IndexMap<String, String>,
        at: &At,
    ) -> Vec<(String, String)> {
        for (rule, reason) in exceptions {
            let here = At {
                file: at.file,
                path: at.path.key(rule.as_str()),
            };
            let well_formed = rule.split_once('-').is_some_and(|(prefix, number)| {
                !prefix.is_empty()
                    && prefix.chars().all(|c| c.is_ascii_uppercase())
                    && !number.is_empty()
                    && number.chars().all(|c| c.is_ascii_digit())
            });
            if !well_formed {
                self.error_at_key(
                    Rule::SecurityException,
                    &here,
                    format!("`{rule}` is not a linter rule id"),
                    "write the id the linter reports, e.g. `CL-0019`",
                );
            }
            if reason.trim().len() < 8 {
                self.error(Rule::SecurityException, &here, format!("the exception to {rule} needs a reason"), "state in a sentence why the finding is accepted; it is written next to the exception");
            }
        }
        exceptions
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    fn labels(&mut self, labels: &IndexMap<String, String>, at: &At) -> Vec<(String, String)> {
        for (key, value) in labels {
            let ok = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/'));
            if !ok {
                self.error_at_key(
                    Rule::InvalidName,
                    &At {
                        file: at.file,
                        path: at.path.key(key.as_str()),
                    },
                    format!("label key `{key}` has characters Docker does not allow"),
                    "use reverse-DNS style keys such as `org.example.team`",
                );
            }
            if value.contains('\0') {
                self.error(
                    Rule::EnvValue,
                    &At {
                        file: at.file,
                        path: at.path.key(key.as_str()),
                    },
                    format!("label `{key}` holds a NUL byte"),
                    "remove the NUL byte",
                );
            }
        }
        labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    fn check_name(&mut self, kind: &str, name: &str, at: &At) {
        if !names::is_docker_name(name) {
            self.error_at_key(
                Rule::InvalidName,
                at,
                format!("{kind} name `{name}` is not a valid Docker name"),
                "use letters, digits, `_`, `.` and `-`, starting with a letter or digit, at most 63 characters",
            );
        }
    }

    /// Resolves `name` in `section`, reporting `rule` with a suggestion when
    /// it does not exist.
    fn resolve<T>(
        &mut self,
        rule: Rule,
        what: &str,
        name: &str,
        section: &Section<'a, T>,
        at: &At,
    ) -> Option<usize> {
        if let Some(i) = section.get_index_of(name) {
            return Some(i);
        }
        let help = match suggest(name, section.keys().map(String::as_str)) {
            Some(s) => format!("did you mean `{s}`?"),
            None if section.is_empty() => format!("declare the {what} first; the model has none"),
            None if section.len() <= 8 => format!(
                "declare it, or use one of: {}",
                section
                    .keys()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => format!(
                "declare it; none of the model's {} {what}s has a similar name",
                section.len()
            ),
        };
        self.error(rule, at, format!("unknown {what} `{name}`"), help);
        None
    }

    fn planes(&mut self, m: &Merged<'a>) -> Vec<Plane> {
        let mut out = Vec::new();
        for (name, d) in &m.planes {
            self.check_name("plane", name, &d.here());
            for (i, other) in d.def.may_join.iter().enumerate() {
                self.resolve(
                    Rule::UnknownPlane,
                    "plane",
                    other,
                    &m.planes,
                    &d.at(&p().key("may_join").index(i)),
                );
            }
            for (i, bridge) in d.def.bridges.iter().enumerate() {
                let at = d.at(&p().key("bridges").index(i));
                self.resolve(
                    Rule::UnknownPlane,
                    "plane",
                    &bridge.to,
                    &m.planes,
                    &At {
                        path: at.path.key("to"),
                        ..at.clone()
                    },
                );
                if let Some(s) = self.resolve(
                    Rule::UnknownDependency,
                    "service",
                    &bridge.service,
                    &m.services,
                    &At {
                        path: at.path.key("service"),
                        ..at.clone()
                    },
                ) {
                    let service = m.services[s].def;
                    if service.plane != *name {
                        self.error(
                            Rule::PlaneIsolation,
                            &At {
                                path: at.path.key("service"),
                                ..at.clone()
                            },
                            format!(
                                "bridge service `{}` belongs to plane `{}`, not `{name}`",
                                bridge.service, service.plane
                            ),
                            "a plane can only declare its own services as bridges",
                        );
                    }
                }
                if !d.def.isolated {
                    self.warning(
                        Rule::PlaneIsolation,
                        &at,
                        format!("plane `{name}` declares a bridge but is not isolated"),
                        "bridges only matter for `isolated: true` planes; use `may_join` otherwise",
                    );
                }
            }
            if d.def.isolated && !d.def.may_join.is_empty() {
                self.error(
                    Rule::PlaneIsolation,
                    &d.at(&p().key("may_join")),
                    format!("isolated plane `{name}` cannot have `may_join`"),
                    "an isolated plane reaches other planes only through `bridges`, one service at a time",
                );
            }
            out.push(Plane {
                name: name.clone(),
                description: d.def.description.clone(),
                isolated: d.def.isolated,
                forbidden_terms: d.def.forbidden_terms.clone(),
            });
        }
        out
    }

    fn networks(&mut self, m: &Merged<'a>) -> Vec<Network> {
        let mut out: Vec<Network> = Vec::new();
        let mut docker_names: HashMap<String, At> = HashMap::new();
        for (key, d) in &m.networks {
            let n = d.def;
            self.check_name("network", key, &d.here());
            let name = n.name.clone().unwrap_or_else(|| key.clone());
            if n.name.is_some() {
                self.check_name("network", &name, &d.at(&p().key("name")));
            }
            if let Some(first) = docker_names.insert(name.clone(), d.here()) {
                let loc = self.key_loc(&first);
                self.error(
                    Rule::DuplicateDefinition,
                    &d.here(),
                    format!("two networks are named `{name}` in Docker (first at {loc})"),
                    "give each network its own `name`",
                );
            }
            let plane = self.resolve(
                Rule::UnknownPlane,
                "plane",
                &n.plane,
                &m.planes,
                &d.at(&p().key("plane")),
            );
            let subnet_at = d.at(&p().key("subnet"));
            let subnet = self.subnet(&n.subnet, &subnet_at);
            let gateway = n.gateway.as_ref().and_then(|g| {
                let at = d.at(&p().key("gateway"));
                match g.parse::<IpAddr>() {
                    Ok(ip) if subnet.is_none_or(|s| s.contains(ip)) => Some(ip),
                    Ok(_) => {
                        self.error(
                            Rule::SubnetInvalid,
                            &at,
                            format!("gateway {g} is outside subnet {}", n.subnet),
                            "pick an address inside the subnet, usually its first",
                        );
                        None
                    }
                    Err(_) => {
                        self.error(
                            Rule::SubnetInvalid,
                            &at,
                            format!("gateway `{g}` is not an IP address"),
                            "write an address such as 172.20.0.1",
                        );
                        None
                    }
                }
            });
            if !matches!(
                n.driver.as_str(),
                "bridge" | "overlay" | "macvlan" | "ipvlan"
            ) {
                self.error(
                    Rule::InvalidName,
                    &d.at(&p().key("driver")),
                    format!("unknown network driver `{}`", n.driver),
                    "use one of bridge, overlay, macvlan, ipvlan",
                );
            }
            if let Some(subnet) = subnet {
                for (other, other_key) in out.iter().zip(m.networks.keys()) {
                    if other.subnet.overlaps(subnet) {
                        let loc =
                            self.value_loc(&m.networks[other_key.as_str()].at(&p().key("subnet")));
                        self.error(
                            Rule::SubnetOverlap,
                            &subnet_at,
                            format!(
                                "subnet {subnet} of network `{key}` overlaps {} of network `{other_key}` ({loc})",
                                other.subnet
                            ),
                            "give each network a subnet of its own, e.g. the next free /16",
                        );
                    }
                }
            }
            out.push(Network {
                key: key.clone(),
                name,
                plane: plane.unwrap_or(0),
                driver: n.driver.clone(),
                subnet: subnet.unwrap_or(Subnet {
                    addr: IpAddr::from([0, 0, 0, 0]),
                    prefix: 32,
                }),
                gateway,
                internal: n.internal,
                description: n.description.clone(),
            });
        }
        out
    }

    fn subnet(&mut self, text: &str, at: &At) -> Option<Subnet> {
        let help = "write it in CIDR notation, e.g. 172.20.0.0/16";
        let Some((addr, prefix)) = text.split_once('/') else {
            self.error(
                Rule::SubnetInvalid,
                at,
                format!("subnet `{text}` has no prefix length"),
                help,
            );
            return None;
        };
        let Ok(addr) = addr.parse::<IpAddr>() else {
            self.error(
                Rule::SubnetInvalid,
                at,
                format!("`{addr}` in subnet `{text}` is not an IP address"),
                help,
            );
            return None;
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix.parse::<u8>() {
            Ok(n) if n <= max => n,
            _ => {
                self.error(
                    Rule::SubnetInvalid,
                    at,
                    format!(
                        "prefix length `/{prefix}` of subnet `{text}` is out of range (0 to {max})"
                    ),
                    help,
                );
                return None;
            }
        };
        let subnet = Subnet { addr, prefix };
        // Host bits set usually means a typo in the address or the prefix.
        let host_bits_set = match addr {
            IpAddr::V4(a) => prefix < 32 && (u32::from(a) & (u32::MAX >> prefix)) != 0,
            IpAddr::V6(a) => prefix < 128 && (u128::from(a) & (u128::MAX >> prefix)) != 0,
        };
        if host_bits_set {
            self.error(
                Rule::SubnetInvalid,
                at,
                format!("subnet `{text}` has host bits set after the /{prefix} prefix"),
                "use the network address, e.g. 172.20.0.0/16 rather than 172.20.1.0/16",
            );
            return None;
        }
        Some(subnet)
    }

    fn env_value(&mut self, at: &At, name: &str, value: &str) {
        if let Err(escape::Unrepresentable(why)) = escape::env_file_value(value) {
            self.error(
                Rule::EnvValue,
                at,
                format!("value of `{name}` cannot be written: {why}"),
                "remove the character from the value",
            );
        }
    }

    fn env_name(&mut self, at: &At, name: &str) {
        if !names::is_env_name(name) {
            self.error_at_key(
                Rule::EnvName,
                at,
                format!("`{name}` is not a valid environment variable name"),
                "use letters, digits and `_`, not starting with a digit",
            );
        }
    }

    fn env_files(&mut self, m: &Merged<'a>) -> Vec<EnvFile> {
        let mut out = Vec::new();
        let mut file_names: HashMap<&str, At> = HashMap::new();
        for (key, d) in &m.env_files {
            let f = d.def;
            let file_at = d.at(&p().key("file"));
            if !names::is_file_name(&f.file) {
                self.error(
                    Rule::InvalidPath,
                    &file_at,
                    format!("env file name `{}` must be a plain file name", f.file),
                    "use a name like `.env.foundation`",
                );
            } else if let Some(first) = file_names.insert(f.file.as_str(), file_at.clone()) {
                let loc = self.value_loc(&first);
                self.error(
                    Rule::DuplicateDefinition,
                    &file_at,
                    format!(
                        "two env files are both written to `{}` (first at {loc})",
                        f.file
                    ),
                    "give each env file its own `file`",
                );
            }
            for (name, value) in &f.vars {
                let at = d.at(&p().key("vars").key(name.as_str()));
                self.env_name(&at, name);
                self.env_value(&at, name, value);
            }
            out.push(EnvFile {
                key: key.clone(),
                file: f.file.clone(),
                description: f.description.clone(),
                vars: f.vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                secrets: Vec::new(),
            });
        }
        out
    }

    fn secrets(&mut self, m: &Merged<'a>) -> Vec<SecretSpec> {
        let mut out = Vec::new();
        for (name, d) in &m.secrets {
            let s = d.def;
            self.env_name(&d.here(), name);
            if !(16..=4096).contains(&s.bytes) {
                self.error(
                    Rule::SecretSize,
                    &d.at(&p().key("bytes")),
                    format!("secret `{name}` has {} bytes; it needs 16 to 4096", s.bytes),
                    "16 bytes (128 bits) is the least that resists guessing; seed 001 uses 32 or 64",
                );
            }
            let mut env_files = Vec::new();
            for (i, file) in s.env_files.iter().enumerate() {
                let at = d.at(&p().key("env_files").index(i));
                if let Some(idx) =
                    self.resolve(Rule::UnknownEnvFile, "env file", file, &m.env_files, &at)
                {
                    if m.env_files[idx].def.vars.contains_key(name) {
                        let loc =
                            self.key_loc(&m.env_files[idx].at(&p().key("vars").key(name.as_str())));
                        self.error(
                            Rule::EnvConflict,
                            &at,
                            format!(
                                "env file `{file}` already has a plain variable `{name}` ({loc})"
                            ),
                            "remove the plain variable; the secret fills it",
                        );
                    }
                    env_files.push(idx);
                }
            }
            out.push(SecretSpec {
                name: name.clone(),
                description: s.description.clone(),
                bytes: s.bytes as usize,
                encoding: s.encoding,
                env_files,
            });
        }
        out
    }

    fn phases(&mut self, m: &Merged<'a>) -> Vec<Phase> {
        let mut out = Vec::new();
        let mut compose_files: HashMap<&str, At> = HashMap::new();
        if let Some(system) = &m.system {
            compose_files.insert(
                system.def.output.master_compose.as_str(),
                system.at(&p().key("output").key("master_compose")),
            );
        }
        for (name, d) in &m.phases {
            self.check_name("phase", name, &d.here());
            let env_file = self.resolve(
                Rule::UnknownEnvFile,
                "env file",
                &d.def.env_file,
                &m.env_files,
                &d.at(&p().key("env_file")),
            );
            let at = d.at(&p().key("compose_file"));
            let file = &d.def.compose_file;
            if !names::is_file_name(file) || !(file.ends_with(".yml") || file.ends_with(".yaml")) {
                self.error(
                    Rule::InvalidPath,
                    &at,
                    format!("compose file name `{file}` must be a plain `.yml` file name"),
                    "use a name like `docker-compose.foundation.yml`",
                );
            } else if let Some(first) = compose_files.insert(file.as_str(), at.clone()) {
                let loc = self.value_loc(&first);
                self.error(
                    Rule::DuplicateDefinition,
                    &at,
                    format!("compose file `{file}` is already written for something else ({loc})"),
                    "give each phase its own compose file, distinct from the master",
                );
            }
            out.push(Phase {
                name: name.clone(),
                description: d.def.description.clone(),
                env_file: env_file.unwrap_or(0),
                compose_file: file.clone(),
            });
        }
        out
    }

    fn images(&mut self, m: &Merged<'a>) -> Vec<BaseImage> {
        let mut out = Vec::new();
        for (key, d) in &m.images {
            self.check_name("image", key, &d.here());
            self.image_ref(&d.def.image, &d.at(&p().key("image")));
            let build = self.build_def(m, &d.def.build, &d.at(&p().key("build")), Some(key));
            out.push(BaseImage {
                key: key.clone(),
                description: d.def.description.clone(),
                image: d.def.image.clone(),
                build,
            });
        }
        out
    }

    fn image_ref(&mut self, image: &str, at: &At) {
        if !names::is_image_ref(image) {
            self.error(
                Rule::InvalidImage,
                at,
                format!("`{image}` is not a valid image reference"),
                "write it as [registry/]name[:tag], lowercase, e.g. `pickme/lucid-redis:latest-arm64`",
            );
        }
    }

    fn build_def(
        &mut self,
        m: &Merged<'a>,
        b: &raw::BuildDef,
        at: &At,
        own_key: Option<&str>,
    ) -> Build {
        let sub = |k: &str| At {
            file: at.file,
            path: at.path.key(k),
        };
        if !names::is_relative_path(&b.context) {
            self.error(
                Rule::InvalidPath,
                &sub("context"),
                format!("build context `{}` must be a relative path", b.context),
                "give the source directory relative to the system's source tree, e.g. `auth`",
            );
        }
        self.image_ref(&b.builder, &sub("builder"));
        let (runtime, runtime_base) = match b.runtime.strip_prefix("image:") {
            Some(key) => {
                match self.resolve(Rule::UnknownImage, "image", key, &m.images, &sub("runtime")) {
                    Some(i) if Some(key) == own_key => {
                        self.error(
                            Rule::InvalidBuild,
                            &sub("runtime"),
                            format!("image `{key}` cannot be its own runtime"),
                            "name an upstream runtime image instead",
                        );
                        (String::new(), Some(i))
                    }
                    Some(i) => (m.images[i].def.image.clone(), Some(i)),
                    None => (String::new(), None),
                }
            }
            None => {
                self.image_ref(&b.runtime, &sub("runtime"));
                (b.runtime.clone(), None)
            }
        };
        for (i, package) in b.packages.iter().enumerate() {
            let ok = !package.is_empty()
                && !package.starts_with('-')
                && package.chars().all(|c| c.is_ascii_graphic());
            if !ok {
                self.error(
                    Rule::InvalidBuild,
                    &At {
                        file: at.file,
                        path: at.path.key("packages").index(i),
                    },
                    format!("package `{package}` is not a package specifier"),
                    "write a pinned requirement such as `fastapi==0.115.6`",
                );
            }
        }
        for (i, c) in b.copy.iter().enumerate() {
            let at = At {
                file: at.file,
                path: at.path.key("copy").index(i),
            };
            if !names::is_container_path(&c.from) || !names::is_container_path(&c.to) {
                self.error(
                    Rule::InvalidPath,
                    &at,
                    format!("copy `{}` → `{}` needs absolute paths", c.from, c.to),
                    "write absolute paths inside the images, e.g. `/usr/local/bin/redis-server`",
                );
            }
        }
        if b.stack == Stack::Native && b.copy.is_empty() {
            self.error(
                Rule::InvalidBuild,
                at,
                "a `native` build copies nothing from its builder".into(),
                "list the binaries under `copy:`",
            );
        }
        if own_key.is_none() && b.entrypoint.is_empty() && runtime_base.is_none() {
            self.error(
                Rule::InvalidBuild,
                &sub("entrypoint"),
                "a service build needs an `entrypoint`".into(),
                "give the command the container runs, in exec form",
            );
        }
        if let Some(w) = &b.workdir {
            if !names::is_container_path(w) {
                self.error(
                    Rule::InvalidPath,
                    &sub("workdir"),
                    format!("workdir `{w}` must be an absolute path"),
                    "e.g. `/app`",
                );
            }
        }
        Build {
            stack: b.stack,
            context: b.context.clone(),
            builder: b.builder.clone(),
            runtime,
            runtime_base,
            packages: b.packages.clone(),
            copy: b
                .copy
                .iter()
                .map(|c| (c.from.clone(), c.to.clone()))
                .collect(),
            entrypoint: b.entrypoint.clone(),
            workdir: b.workdir.clone(),
        }
    }

    fn port(&mut self, value: u32, at: &At, what: &str) -> u16 {
        match u16::try_from(value) {
            Ok(port) if port > 0 => port,
            _ => {
                self.error(
                    Rule::PortRange,
                    at,
                    format!("{what} {value} is out of range"),
                    "ports go from 1 to 65535",
                );
                0
            }
        }
    }

    fn services(&mut self, m: &Merged<'a>) -> Vec<Service> {
        let mut out = Vec::new();
        for (name, d) in &m.services {
            let s = d.def;
            let at = |k: &str| d.at(&p().key(k));
            self.check_name("service", name, &d.here());
            let phase = self.resolve(
                Rule::UnknownPhase,
                "phase",
                &s.phase,
                &m.phases,
                &at("phase"),
            );
            let plane = self.resolve(
                Rule::UnknownPlane,
                "plane",
                &s.plane,
                &m.planes,
                &at("plane"),
            );
            let image = match &s.image {
                Some(image) => {
                    self.image_ref(image, &at("image"));
                    image.clone()
                }
                None => m
                    .system
                    .as_ref()
                    .map(|sys| {
                        format!(
                            "{}/{}:{}",
                            sys.def.registry.namespace, name, sys.def.registry.tag
                        )
                    })
                    .unwrap_or_default(),
            };
            let build = s
                .build
                .as_ref()
                .map(|b| self.build_def(m, b, &at("build"), None));

            let mut networks = Vec::new();
            if s.networks.is_empty() {
                self.error(
                    Rule::UnknownNetwork,
                    &at("networks"),
                    format!("service `{name}` is on no network"),
                    "list at least one network from `networks:`",
                );
            }
            for (i, net) in s.networks.iter().enumerate() {
                let net_at = d.at(&p().key("networks").index(i));
                if let Some(n) =
                    self.resolve(Rule::UnknownNetwork, "network", net, &m.networks, &net_at)
                {
                    if networks.contains(&n) {
                        self.error(
                            Rule::DuplicateDefinition,
                            &net_at,
                            format!("network `{net}` is listed twice"),
                            "list each network once",
                        );
                    } else {
                        networks.push(n);
                    }
                }
            }

            let mut ports = Vec::new();
            for (i, port) in s.ports.iter().enumerate() {
                let pat = |k: &str| d.at(&p().key("ports").index(i).key(k));
                let container =
                    ContainerPort(self.port(port.container, &pat("container"), "container port"));
                let host = port
                    .host
                    .map(|h| HostPort(self.port(h, &pat("host"), "host port")));
                let host_ip = port.host_ip.as_ref().and_then(|ip| match ip.parse::<IpAddr>() {
                    Ok(ip) => Some(ip),
                    Err(_) => {
                        self.error(Rule::InvalidHostIp, &pat("host_ip"), format!("host_ip `{ip}` is not an IP address"), "write an address such as 127.0.0.1, or leave it out to bind every address");
                        None
                    }
                });
                if host_ip.is_some() && host.is_none() {
                    self.error(
                        Rule::InvalidHostIp,
                        &pat("host_ip"),
                        "host_ip is set but the port is not published".into(),
                        "add `host:` or remove `host_ip:`",
                    );
                }
                if ports
                    .iter()
                    .any(|q: &PortMapping| q.container == container && q.protocol == port.protocol)
                    && container.0 != 0
                {
                    self.error(
                        Rule::PortClash,
                        &pat("container"),
                        format!("container port {} is listed twice", container.0),
                        "list each container port once",
                    );
                }
                ports.push(PortMapping {
                    container,
                    host,
                    protocol: port.protocol,
                    host_ip,
                    name: port.name.clone(),
                });
            }

            let mut depends_on = Vec::new();
            for (i, dep) in s.depends_on.iter().enumerate() {
                if let Some(j) = self.resolve(
                    Rule::UnknownDependency,
                    "service",
                    dep,
                    &m.services,
                    &d.at(&p().key("depends_on").index(i)),
                ) {
                    depends_on.push(j);
                }
            }

            let health = s
                .health
                .as_ref()
                .and_then(|h| self.health(name, h, s, &ports, &at("health")));

            let mut environment = Vec::new();
            for (k, v) in &s.environment {
                let at = d.at(&p().key("environment").key(k.as_str()));
                self.env_name(&at, k);
                self.env_value(&at, k, v);
                environment.push((k.clone(), v.clone()));
            }

            let env_files = match &s.env_files {
                Some(list) => list
                    .iter()
                    .enumerate()
                    .filter_map(|(i, f)| {
                        self.resolve(
                            Rule::UnknownEnvFile,
                            "env file",
                            f,
                            &m.env_files,
                            &d.at(&p().key("env_files").index(i)),
                        )
                    })
                    .collect(),
                None => phase
                    .and_then(|ph| m.env_files.get_index_of(&m.phases[ph].def.env_file))
                    .into_iter()
                    .collect::<Vec<_>>(),
            };

            let mut secrets = Vec::new();
            for (i, secret) in s.secrets.iter().enumerate() {
                let sat = d.at(&p().key("secrets").index(i));
                let Some(idx) = m.secrets.get_index_of(secret.as_str()) else {
                    let help = match suggest(secret, m.secrets.keys().map(String::as_str)) {
                        Some(sug) => format!("did you mean `{sug}`? Otherwise declare it under `secrets:` with its size and env files"),
                        None => "declare it under `secrets:` with its size (`bytes`) and the env files that receive it".to_string(),
                    };
                    self.error(
                        Rule::UnknownSecret,
                        &sat,
                        format!("service `{name}` uses secret `{secret}`, which is not declared"),
                        help,
                    );
                    continue;
                };
                let delivered_to: Vec<usize> = m.secrets[idx]
                    .def
                    .env_files
                    .iter()
                    .filter_map(|f| m.env_files.get_index_of(f.as_str()))
                    .collect();
                if !env_files.iter().any(|f| delivered_to.contains(f)) {
                    let reads: Vec<&str> = env_files
                        .iter()
                        .map(|i| m.env_files.get_index(*i).unwrap().0.as_str())
                        .collect();
                    self.error(
                        Rule::SecretNotDelivered,
                        &sat,
                        format!(
                            "service `{name}` needs secret `{secret}`, but none of the env files it reads ({}) receives it",
                            if reads.is_empty() { "none".to_string() } else { reads.join(", ") }
                        ),
                        format!("add one of them to `secrets.{secret}.env_files`"),
                    );
                }
                secrets.push(idx);
            }

            let mut volumes = Vec::new();
            for (i, vol) in s.volumes.iter().enumerate() {
                let vat = |k: &str| d.at(&p().key("volumes").index(i).key(k));
                if !names::is_docker_name(&vol.name) {
                    self.error(
                        Rule::InvalidName,
                        &vat("name"),
                        format!("volume name `{}` is not a valid Docker name", vol.name),
                        "use letters, digits, `_`, `.` and `-`",
                    );
                }
                if !names::is_container_path(&vol.target) {
                    self.error(
                        Rule::InvalidPath,
                        &vat("target"),
                        format!("volume target `{}` must be an absolute path", vol.target),
                        "e.g. `/data/db`",
                    );
                }
                volumes.push(Volume {
                    name: vol.name.clone(),
                    target: vol.target.clone(),
                    read_only: vol.read_only,
                });
            }

            let resources = match &s.resources {
                Some(r) => {
                    for (k, v) in [
                        ("memory", &r.memory),
                        ("memory_reservation", &r.memory_reservation),
                    ] {
                        if let Some(v) = v {
                            if !names::is_byte_size(v) {
                                self.error(
                                    Rule::InvalidResource,
                                    &d.at(&p().key("resources").key(k)),
                                    format!("`{v}` is not a memory size"),
                                    "write it as Compose does: `512m`, `1g`, `1.5g`",
                                );
                            }
                        }
                    }
                    if let Some(c) = r.cpus {
                        if !(c.is_finite() && c > 0.0 && c <= 1024.0) {
                            self.error(
                                Rule::InvalidResource,
                                &d.at(&p().key("resources").key("cpus")),
                                format!("cpus `{c}` must be a positive number of cores"),
                                "e.g. `0.5` or `2`",
                            );
                        }
                    }
                    Resources {
                        memory: r.memory.clone(),
                        cpus: r.cpus,
                        memory_reservation: r.memory_reservation.clone(),
                    }
                }
                None => Resources::default(),
            };

            if let Some(u) = &s.user {
                if !names::is_user(u) {
                    self.error(
                        Rule::InvalidName,
                        &at("user"),
                        format!("user `{u}` is not `uid[:gid]` or a user name"),
                        "e.g. `65532:65532`",
                    );
                }
            }
            let labels = self.labels(&s.labels, &at("labels"));
            let security = self.security(name, s, &at("security"), &at("user"));
            if s.health.is_none() {
                self.warning(
                    Rule::MissingHealthCheck,
                    &d.here(),
                    format!("service `{name}` has no health check"),
                    "add `health:` so dependants wait for it and `up --wait` can tell it is ready",
                );
            }
            if resources.memory.is_none() || resources.cpus.is_none() {
                self.warning(Rule::MissingLimits, &d.here(), format!("service `{name}` has no memory or CPU limit"), "add `resources: { memory: 256m, cpus: 0.5 }` so one service cannot starve the host");
            }

            out.push(Service {
                name: name.clone(),
                description: s.description.clone(),
                phase: phase.unwrap_or(0),
                plane: plane.unwrap_or(0),
                image,
                build,
                networks,
                ports,
                depends_on,
                health,
                environment,
                env_files,
                secrets,
                volumes,
                resources,
                user: s.user.clone().unwrap_or_else(|| DEFAULT_USER.to_string()),
                restart: s.restart.unwrap_or_default(),
                command: s.command.clone(),
                labels,
                security,
                lint_exceptions: self.lint_exceptions(&s.lint_exceptions, &at("lint_exceptions")),
            });
        }
        out
    }

    fn security(&mut self, name: &str, s: &raw::ServiceDef, at: &At, user_at: &At) -> Security {
        let sec = &s.security;
        let sub = |k: &str| At {
            file: at.file,
            path: at.path.key(k),
        };
        let reason_ok = |r: &str| r.trim().len() >= 8;
        let reason_help = "state the reason in a sentence; it is written into the compose file next to the exception";
        if let Some(r) = &sec.writable_root {
            if !reason_ok(r) {
                self.error(
                    Rule::SecurityException,
                    &sub("writable_root"),
                    format!("`{name}`: writable_root needs a reason"),
                    reason_help,
                );
            }
        }
        let tmpfs = sec
            .tmpfs
            .clone()
            .unwrap_or_else(|| vec!["/tmp".to_string()]);
        for (i, t) in tmpfs.iter().enumerate() {
            if !names::is_container_path(t) {
                self.error(
                    Rule::InvalidPath,
                    &At {
                        file: at.file,
                        path: at.path.key("tmpfs").index(i),
                    },
                    format!("tmpfs `{t}` must be an absolute path"),
                    "e.g. `/tmp`",
                );
            }
        }
        let mut cap_add = Vec::new();
        for (cap, reason) in &sec.cap_add {
            let cap_at = At {
                file: at.file,
                path: at.path.key("cap_add").key(cap.as_str()),
            };
            let bare = cap.strip_prefix("CAP_").unwrap_or(cap);
            if !names::is_capability(bare) {
                self.error_at_key(
                    Rule::SecurityException,
                    &cap_at,
                    format!("`{cap}` is not a Linux capability"),
                    "use a name such as NET_BIND_SERVICE (see capabilities(7))",
                );
            }
            if matches!(bare, "ALL" | "SYS_ADMIN") {
                self.error_at_key(
                    Rule::SecurityException,
                    &cap_at,
                    format!(
                        "`{name}` may not add back {bare}: it amounts to a privileged container"
                    ),
                    "add the narrow capability the service really needs",
                );
            }
            if !reason_ok(reason) {
                self.error(
                    Rule::SecurityException,
                    &cap_at,
                    format!("capability {bare} of `{name}` needs a reason"),
                    reason_help,
                );
            }
            cap_add.push((bare.to_string(), reason.clone()));
        }
        let is_root = s.user.as_deref().is_some_and(|u| {
            let uid = u.split(':').next().unwrap_or(u);
            uid == "0" || uid == "root"
        });
        match (&sec.run_as_root, is_root) {
            (None, true) => self.error(
                Rule::SecurityException,
                user_at,
                format!("`{name}` runs as root without a stated reason"),
                "run as a non-root user, or set `security.run_as_root` to the reason",
            ),
            (Some(r), true) if !reason_ok(r) => self.error(
                Rule::SecurityException,
                &sub("run_as_root"),
                format!("`{name}`: run_as_root needs a reason"),
                reason_help,
            ),
            (Some(_), false) => self.error(
                Rule::SecurityException,
                &sub("run_as_root"),
                format!("`{name}` states a reason to run as root but its user is not root"),
                "remove `run_as_root`, or set `user: \"0\"`",
            ),
            _ => {}
        }
        let pids_limit = sec.pids_limit.unwrap_or(256);
        if pids_limit == 0 {
            self.error(
                Rule::InvalidResource,
                &sub("pids_limit"),
                "pids_limit must be at least 1".into(),
                "the default is 256",
            );
        }
        Security {
            writable_root: sec.writable_root.clone(),
            tmpfs,
            cap_add,
            run_as_root: sec.run_as_root.clone(),
            pids_limit,
        }
    }

    fn health(
        &mut self,
        name: &str,
        h: &raw::HealthDef,
        s: &raw::ServiceDef,
        ports: &[PortMapping],
        at: &At,
    ) -> Option<HealthCheck> {
        let sub = |k: &str| At {
            file: at.file,
            path: at.path.key(k),
        };
        let kinds =
            usize::from(h.http.is_some()) + usize::from(h.tcp) + usize::from(h.exec.is_some());
        if kinds != 1 {
            self.error(
                Rule::InvalidHealthCheck,
                at,
                format!("health check of `{name}` sets {kinds} probes"),
                "set exactly one of `http: /path`, `tcp: true` or `exec: [command, args...]`",
            );
            return None;
        }
        for (k, v) in [
            ("interval", &h.interval),
            ("timeout", &h.timeout),
            ("start_period", &h.start_period),
        ] {
            if !names::is_duration(v) {
                self.error(
                    Rule::InvalidDuration,
                    &sub(k),
                    format!("`{v}` is not a duration"),
                    "write it as Compose does: `30s`, `1m30s`, `500ms`",
                );
            }
        }
        if h.retries == 0 {
            self.error(
                Rule::InvalidHealthCheck,
                &sub("retries"),
                "retries must be at least 1".into(),
                "seed 003 uses 3",
            );
        }
        let probe = if let Some(cmd) = &h.exec {
            if cmd.is_empty() || cmd[0].is_empty() {
                self.error(
                    Rule::InvalidHealthCheck,
                    &sub("exec"),
                    "the exec health check has no command".into(),
                    "give the program and its arguments, e.g. [\"redis-cli\", \"ping\"]",
                );
                return None;
            }
            Probe::Exec(cmd.clone())
        } else {
            let has_probe = s.build.as_ref().is_some_and(|b| b.stack == Stack::Python);
            if !has_probe {
                self.error(
                    Rule::InvalidHealthCheck,
                    at,
                    format!("`{name}` has no program to run an http or tcp probe with (its image has no shell or curl)"),
                    "use `exec:` with a command the image has, or build it with `stack: python`, whose probe needs no shell",
                );
                return None;
            }
            let port = match h.port {
                Some(port) => self.port(port, &sub("port"), "health check port"),
                None => match ports.first() {
                    Some(first) => first.container.0,
                    None => {
                        self.error(
                            Rule::InvalidHealthCheck,
                            at,
                            format!("`{name}` has no port for its health check to probe"),
                            "add `port:` to the health check, or declare the service's ports",
                        );
                        return None;
                    }
                },
            };
            let port = ContainerPort(port);
            match &h.http {
                Some(path) => {
                    if !path.starts_with('/')
                        || path
                            .chars()
                            .any(|c| c.is_whitespace() || c == '\'' || c == '\\' || c.is_control())
                    {
                        self.error(Rule::InvalidHealthCheck, &sub("http"), format!("health path `{path}` must start with `/` and hold no spaces or quotes"), "e.g. `/health`");
                        return None;
                    }
                    Probe::Http {
                        port,
                        path: path.clone(),
                    }
                }
                None => Probe::Tcp { port },
            }
        };
        Some(HealthCheck {
            probe,
            interval: h.interval.clone(),
            timeout: h.timeout.clone(),
            retries: h.retries,
            start_period: h.start_period.clone(),
        })
    }

    // ------------------------------------------------------- cross checks

    /// Rules that look at several services at once. Runs on the built
    /// system; references that failed to resolve were already reported.
    fn cross_checks(&mut self, m: &Merged<'a>, sys: &mut System) {
        self.port_clashes(m, sys);
        self.dependencies(m, sys);
        self.plane_isolation(m, sys);
        self.forbidden_terms(m, sys);
        // Fill each env file's secret list, and warn on unused secrets.
        for (i, secret) in sys.secrets.iter().enumerate() {
            for f in &secret.env_files {
                sys.env_files[*f].secrets.push(i);
            }
            if !sys.services.iter().any(|s| s.secrets.contains(&i)) {
                let d = &m.secrets[i];
                self.warning(
                    Rule::UnusedSecret,
                    &d.here(),
                    format!(
                        "secret `{}` is declared but no service uses it",
                        secret.name
                    ),
                    "list it under a service's `secrets:`, or remove it",
                );
            }
        }
    }

    fn port_clashes(&mut self, m: &Merged<'a>, sys: &System) {
        // Speed: published ports grouped by (host port, protocol), first
        // published first, so only candidates are scanned (one flat list
        // made this quadratic in the number of published ports).
        type Published<'s> = Vec<(usize, usize, &'s PortMapping)>;
        let mut published: HashMap<(HostPort, Protocol), Published> = HashMap::new();
        for (si, s) in sys.services.iter().enumerate() {
            for (pi, port) in s.ports.iter().enumerate() {
                let Some(host) = port.host else { continue };
                if host.0 == 0 {
                    continue;
                }
                let same = published.entry((host, port.protocol)).or_default();
                let clash = same.iter().find(|(_, _, q)| {
                    q.host == Some(host)
                        && q.protocol == port.protocol
                        && (q.host_ip.is_none()
                            || port.host_ip.is_none()
                            || q.host_ip == port.host_ip)
                });
                if let Some((sj, pj, _)) = clash {
                    let other = &sys.services[*sj];
                    let loc = self
                        .value_loc(&m.services[*sj].at(&p().key("ports").index(*pj).key("host")));
                    let proto = match port.protocol {
                        Protocol::Tcp => "tcp",
                        Protocol::Udp => "udp",
                    };
                    self.error(
                        Rule::PortClash,
                        &m.services[si].at(&p().key("ports").index(pi).key("host")),
                        format!(
                            "host port {}/{proto} of `{}` is already published by `{}` ({loc})",
                            host.0, s.name, other.name
                        ),
                        "pick a free host port, bind the two to different `host_ip`s, or leave one unpublished (containers reach each other by service name)",
                    );
                } else {
                    same.push((si, pi, port));
                }
            }
        }
    }

    fn dependencies(&mut self, m: &Merged<'a>, sys: &System) {
        for (si, s) in sys.services.iter().enumerate() {
            for (i, dep) in s.depends_on.iter().enumerate() {
                let target = &sys.services[*dep];
                if target.phase > s.phase {
                    self.error(
                        Rule::LaterPhaseDependency,
                        &m.services[si].at(&p().key("depends_on").index(i)),
                        format!(
                            "`{}` (phase {}) depends on `{}`, which is deployed later (phase {})",
                            s.name, sys.phases[s.phase].name, target.name, sys.phases[target.phase].name
                        ),
                        "move one of the two services so the dependency is deployed first, or drop the dependency",
                    );
                }
                let shared = s.networks.iter().any(|n| target.networks.contains(n));
                if !shared && !s.networks.is_empty() && !target.networks.is_empty() {
                    let names = |svc: &Service| {
                        svc.networks
                            .iter()
                            .map(|n| sys.networks[*n].key.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    self.error(
                        Rule::UnreachableDependency,
                        &m.services[si].at(&p().key("depends_on").index(i)),
                        format!(
                            "`{}` depends on `{}` but they share no network (`{}` is on {}; `{}` on {})",
                            s.name, target.name, s.name, names(s), target.name, names(target)
                        ),
                        "put both on a common network the plane rules allow, or drop the dependency",
                    );
                }
            }
        }
        // Cycles: depth-first search, reporting each cycle once at the
        // edge that closes it.
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Active,
            Done,
        }
        let n = sys.services.len();
        let mut marks = vec![Mark::New; n];
        let mut reported: HashSet<Vec<usize>> = HashSet::new();
        for start in 0..n {
            if marks[start] != Mark::New {
                continue;
            }
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            marks[start] = Mark::Active;
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                if let Some(&dep) = sys.services[node].depends_on.get(*next) {
                    let edge = *next;
                    *next += 1;
                    match marks[dep] {
                        Mark::New => {
                            marks[dep] = Mark::Active;
                            stack.push((dep, 0));
                        }
                        Mark::Active => {
                            let from = stack.iter().position(|(s, _)| *s == dep).unwrap_or(0);
                            let cycle: Vec<usize> = stack[from..].iter().map(|(s, _)| *s).collect();
                            let mut key = cycle.clone();
                            key.sort_unstable();
                            if reported.insert(key) {
                                let mut names: Vec<&str> = cycle
                                    .iter()
                                    .map(|i| sys.services[*i].name.as_str())
                                    .collect();
                                names.push(&sys.services[dep].name);
                                self.error(
                                    Rule::DependencyCycle,
                                    &m.services[node].at(&p().key("depends_on").index(edge)),
                                    format!("dependency cycle: {}", names.join(" → ")),
                                    "services in a cycle can never all start; remove one of these dependencies",
                                );
                            }
                        }
                        Mark::Done => {}
                    }
                } else {
                    marks[node] = Mark::Done;
                    stack.pop();
                }
            }
        }
    }

    fn plane_isolation(&mut self, m: &Merged<'a>, sys: &System) {
        for (si, s) in sys.services.iter().enumerate() {
            let home = &m.planes.get_index(s.plane).map(|(_, d)| d.def);
            let Some(home) = home else { continue };
            for (i, n) in s.networks.iter().enumerate() {
                let net = &sys.networks[*n];
                if net.plane == s.plane {
                    continue;
                }
                let other = &sys.planes[net.plane];
                let own = &sys.planes[s.plane];
                let at = m.services[si].at(&p().key("networks").index(i));
                let (allowed, help) = if other.isolated {
                    (false, format!("plane `{}` is isolated: only its own services may join `{}`; move `{}` to that plane or off that network", other.name, net.key, s.name))
                } else if own.isolated {
                    let bridged = home
                        .bridges
                        .iter()
                        .any(|b| b.service == s.name && b.to == other.name);
                    (bridged, format!("plane `{}` is isolated; declare `{}` as a bridge to `{}` under `planes.{}.bridges` with a reason, or remove the network", own.name, s.name, other.name, own.name))
                } else {
                    (
                        home.may_join.contains(&other.name),
                        format!(
                            "add `{}` to `planes.{}.may_join`, or remove the network",
                            other.name, own.name
                        ),
                    )
                };
                if !allowed {
                    self.error(
                        Rule::PlaneIsolation,
                        &at,
                        format!(
                            "service `{}` of plane `{}` joins network `{}` of plane `{}`",
                            s.name, own.name, net.key, other.name
                        ),
                        help,
                    );
                }
            }
        }
    }

    fn forbidden_terms(&mut self, m: &Merged<'a>, sys: &System) {
        let mut hits: Vec<(At, String, String, String)> = Vec::new();
        let mut seen_env_vars: HashSet<(usize, usize, usize)> = HashSet::new();
        for (pi, plane) in sys.planes.iter().enumerate() {
            if plane.forbidden_terms.is_empty() {
                continue;
            }
            let terms: Vec<(String, &String)> = plane
                .forbidden_terms
                .iter()
                .map(|t| (t.to_lowercase(), t))
                .collect();
            let find = |text: &str| {
                // Speed: ASCII text (nearly all of it) is searched without
                // lowercasing a copy; the result is the same.
                let lower = if text.is_ascii() {
                    Cow::Borrowed(text)
                } else {
                    Cow::Owned(text.to_lowercase())
                };
                terms
                    .iter()
                    .find(|(t, _)| !t.is_empty() && contains_lowercase(&lower, t))
                    .map(|(_, original)| (*original).clone())
            };
            for (ni, net) in sys.networks.iter().enumerate() {
                if net.plane == pi {
                    let d = &m.networks[ni];
                    for (text, at) in [(&net.key, d.here()), (&net.name, d.at(&p().key("name")))] {
                        if let Some(t) = find(text) {
                            hits.push((
                                at,
                                t,
                                format!("network name `{text}`"),
                                plane.name.clone(),
                            ));
                        }
                    }
                }
            }
            for (si, s) in sys.services.iter().enumerate() {
                if s.plane != pi {
                    continue;
                }
                let d = &m.services[si];
                let raw = d.def;
                // Speed: a macro, so the location and the message are only
                // built for a hit (eagerly, they were most of this check).
                macro_rules! check {
                    ($text:expr, $at:expr, $what:expr $(,)?) => {
                        if let Some(t) = find($text) {
                            hits.push(($at, t, $what, plane.name.clone()));
                        }
                    };
                }
                check!(&s.name, d.here(), format!("service name `{}`", s.name));
                if raw.image.is_some() {
                    check!(
                        &s.image,
                        d.at(&p().key("image")),
                        format!("image `{}`", s.image),
                    );
                } else {
                    check!(&s.image, d.here(), format!("image `{}`", s.image));
                }
                for (k, v) in &s.environment {
                    let at = || d.at(&p().key("environment").key(k.as_str()));
                    check!(k, at(), format!("environment variable `{k}`"));
                    check!(v, at(), format!("value of environment variable `{k}`"));
                }
                for (i, secret) in s.secrets.iter().enumerate() {
                    let name = &sys.secrets[*secret].name;
                    check!(
                        name,
                        d.at(&p().key("secrets").index(i)),
                        format!("secret `{name}`"),
                    );
                }
                if let (Some(b), Some(rb)) = (&s.build, &raw.build) {
                    let bat = |k: &str| d.at(&p().key("build").key(k));
                    check!(
                        &b.context,
                        bat("context"),
                        format!("build context `{}`", b.context),
                    );
                    check!(
                        &rb.builder,
                        bat("builder"),
                        format!("builder image `{}`", rb.builder),
                    );
                    check!(
                        &rb.runtime,
                        bat("runtime"),
                        format!("runtime image `{}`", rb.runtime),
                    );
                    for (i, pkg) in b.packages.iter().enumerate() {
                        check!(
                            pkg,
                            d.at(&p().key("build").key("packages").index(i)),
                            format!("package `{pkg}`"),
                        );
                    }
                    for (i, arg) in b.entrypoint.iter().enumerate() {
                        check!(
                            arg,
                            d.at(&p().key("build").key("entrypoint").index(i)),
                            format!("entrypoint argument `{arg}`"),
                        );
                    }
                }
                // Variables of the env files the service reads reach it too.
                for f in &s.env_files {
                    let ef = &sys.env_files[*f];
                    // Speed: (file, variable index) instead of cloning each
                    // variable name for each service; names in a file are unique.
                    for (vi, (k, v)) in ef.vars.iter().enumerate() {
                        if !seen_env_vars.insert((*f, vi, pi)) {
                            continue;
                        }
                        let at = m.env_files[*f].at(&p().key("vars").key(k.as_str()));
                        if let Some(t) = find(k).or_else(|| find(v)) {
                            hits.push((
                                at,
                                t,
                                format!(
                                    "variable `{k}` of env file `{}`, read by `{}`",
                                    ef.key, s.name
                                ),
                                plane.name.clone(),
                            ));
                        }
                    }
                }
            }
        }
        for (at, term, what, plane) in hits {
            self.error(
                Rule::ForbiddenTerm,
                &at,
                format!("{what} contains `{term}`, which plane `{plane}` forbids"),
                format!("keep `{term}` out of plane `{plane}`: rename it, or move the setting to a service or env file of another plane"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::contains_lowercase;

    /// The fast path must agree with `text.to_lowercase().contains(term)`.
    #[test]
    fn case_insensitive_search_matches_lowercasing() {
        let texts = [
            "TRON-Wallet",
            "tron",
            "xTrOn",
            "Ｔron",
            "\u{212A}ey",
            "",
            "ab",
        ];
        let terms = ["tron", "wallet", "k", "ｔron", "abc", "-w"];
        for text in texts {
            for term in terms {
                let lower = text.to_lowercase();
                let fast = if text.is_ascii() { text } else { &lower };
                assert_eq!(
                    contains_lowercase(fast, term),
                    lower.contains(term),
                    "{text:?} / {term:?}"
                );
            }
        }
    }
}
