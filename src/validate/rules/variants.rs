//! The whole-model rules a variant's additions could break, run once per
//! variant on the system as that variant renders it: forbidden terms in
//! its environment, a variable named like a secret the service receives
//! or like one Compose fills for an external service. A problem the base
//! model already has is reported once, not once per variant.

use crate::system::System;

use crate::validate::merge::Merged;
use crate::validate::Validator;

impl<'a> Validator<'a> {
    pub(super) fn variant_rules(&mut self, m: &Merged<'a>, sys: &System) {
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
}
