//! The whole-model rules a variant's additions could break, run once per
//! variant on the system as that variant renders it: forbidden terms in
//! its environment, a variable named like a secret the service receives
//! or like one Compose fills for an external service. A problem the base
//! model already has is reported once, not once per variant.

use crate::diagnostic::Kind;
use crate::system::System;

use crate::validate::location::p;
use crate::validate::merge::Merged;
use crate::validate::Validator;

impl<'a> Validator<'a> {
    pub(super) fn variant_rules(&mut self, m: &Merged<'a>, sys: &System) {
        self.variant_dependencies(m, sys);
        for v in 0..sys.variants.len() {
            let variant = sys.with_variant(v);
            let before = self.diagnostics.len();
            self.forbidden_terms(m, &variant);
            self.env_conflicts(m, &variant);
            self.external_env_conflicts(m, &variant);
            // Ports a variant publishes: clashes and isolated planes.
            self.port_clashes(m, &variant);
            for d in self.diagnostics.split_off(before) {
                if !self.diagnostics.contains(&d) {
                    self.diagnostics.push(d);
                }
            }
        }
    }

    /// A service that exists in a variant depends on (or initializes) only
    /// services that variant has too (`only_in_variants`).
    fn variant_dependencies(&mut self, m: &Merged<'a>, sys: &System) {
        let has = |s: usize, v: usize| {
            let only = &sys.services[s].only_in;
            only.is_empty() || only.contains(&v)
        };
        for (i, s) in sys.services.iter().enumerate() {
            let needs = (s.depends_on.iter().enumerate())
                .map(|(k, &d)| (d, p().key("depends_on").index(k)))
                .chain(s.initializes.map(|t| (t, p().key("initializes"))));
            for (d, path) in needs {
                let Some(v) = (0..sys.variants.len()).find(|&v| has(i, v) && !has(d, v)) else {
                    continue;
                };
                let kind = Kind::OnlyInVariants {
                    service: sys.services[d].name.clone(),
                    why: format!(
                        "leaves it out of variant `{}`, where `{}` needs it",
                        sys.variants[v].name, s.name
                    ),
                };
                self.report(&m.services[i].at(&path), kind);
            }
        }
    }
}
