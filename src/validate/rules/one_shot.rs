//! `one-shot` seen from the whole model: an initialisation step must be
//! able to wait for its target (a health check), share its compose file
//! (same phase) and its plane; one that names no image runs its target's.

use crate::diagnostic::Kind;
use crate::system::*;

use crate::validate::location::p;
use crate::validate::merge::Merged;
use crate::validate::Validator;

impl<'a> Validator<'a> {
    pub(super) fn one_shot_targets(&mut self, m: &Merged<'a>, sys: &mut System) {
        for i in 0..sys.services.len() {
            let Some(t) = sys.services[i].initializes else {
                continue;
            };
            let (s, target) = (&sys.services[i], &sys.services[t]);
            let mut why = Vec::new();
            if t == i {
                why.push("initializes itself".to_string());
            }
            if target.health.is_none() {
                why.push(format!(
                    "initializes `{}`, which has no health check to wait for",
                    target.name
                ));
            }
            if target.run_once {
                why.push(format!(
                    "initializes `{}`, another one-shot job",
                    target.name
                ));
            }
            if s.phase != target.phase {
                why.push(format!(
                    "is in phase `{}` but initializes `{}` of phase `{}`; it shares its target's compose file",
                    sys.phases[s.phase].name, target.name, sys.phases[target.phase].name
                ));
            }
            if s.plane != target.plane {
                why.push(format!(
                    "is on plane `{}` but runs in the network namespace of `{}` on plane `{}`",
                    sys.planes[s.plane].name, target.name, sys.planes[target.plane].name
                ));
            }
            let d = &m.services[i];
            for why in why {
                let kind = Kind::OneShot {
                    service: s.name.clone(),
                    why,
                };
                self.report(&d.at(&p().key("initializes")), kind);
            }
            if d.def.image.is_none() && d.def.build.is_none() {
                sys.services[i].image = sys.services[t].image.clone();
            }
        }
    }
}
