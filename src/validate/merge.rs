//! Merging: the fragments of every model file into one model, each name
//! defined once (`duplicate-definition` otherwise).

use indexmap::IndexMap;

use crate::diagnostic::Kind;
use crate::model::raw::{self, Fragment};

use super::facts::ServiceFacts;

use super::location::{p, Def};
use super::Validator;

pub(super) type Section<'a, T> = IndexMap<String, Def<'a, T>>;

pub(super) struct Merged<'a> {
    pub(super) system: Option<Def<'a, raw::SystemDef>>,
    pub(super) planes: Section<'a, raw::PlaneDef>,
    pub(super) networks: Section<'a, raw::NetworkDef>,
    pub(super) phases: Section<'a, raw::PhaseDef>,
    pub(super) env_files: Section<'a, raw::EnvFileDef>,
    pub(super) secrets: Section<'a, raw::SecretDef>,
    pub(super) images: Section<'a, raw::ImageDef>,
    pub(super) externals: Section<'a, raw::ExternalServiceDef>,
    /// What is kept of each service once it is built ([`ServiceFacts`]).
    pub(super) services: Section<'a, ServiceFacts>,
    pub(super) groups: Section<'a, raw::GroupDef>,
    pub(super) variants: Section<'a, raw::VariantDef>,
    pub(super) hosts: Section<'a, raw::HostDef>,
}

impl<'a> Validator<'a> {
    /// Merges `fragments`, whose services were taken out first: `services`
    /// holds the facts of each file's services, in file order.
    pub(super) fn merge(
        &mut self,
        fragments: &'a [Fragment],
        services: &'a [IndexMap<String, ServiceFacts>],
    ) -> Merged<'a> {
        let mut m = Merged {
            system: None,
            planes: IndexMap::new(),
            networks: IndexMap::new(),
            phases: IndexMap::new(),
            env_files: IndexMap::new(),
            secrets: IndexMap::new(),
            images: IndexMap::new(),
            externals: IndexMap::new(),
            services: IndexMap::new(),
            groups: IndexMap::new(),
            variants: IndexMap::new(),
            hosts: IndexMap::new(),
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
                    self.report_at_key(
                        &def.here(),
                        Kind::SystemTwice {
                            first_at: first_loc,
                        },
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
            self.merge_section(file, "services", &services[file], &mut m.services);
            let externals = &fragment.external_services;
            self.merge_section(file, "external_services", externals, &mut m.externals);
            self.merge_section(file, "groups", &fragment.groups, &mut m.groups);
            self.merge_section(file, "variants", &fragment.variants, &mut m.variants);
            self.merge_section(file, "hosts", &fragment.hosts, &mut m.hosts);
        }
        m
    }

    pub(super) fn merge_section<T>(
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
                self.report_at_key(
                    &d.here(),
                    Kind::DefinedTwice {
                        section: section.to_string(),
                        name: name.clone(),
                        first_at: first_loc,
                    },
                );
            } else {
                into.insert(name.clone(), d);
            }
        }
    }
}
