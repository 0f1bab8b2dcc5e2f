//! `one-shot` seen from the whole model: an initialisation step must be
//! able to wait for its target (a health check), share its compose file
//! (same phase) and its plane; one that names no image runs its target's.
//! Every one-shot job is waited for by some service (Compose's `up --wait`
//! fails a phase on an exiting container nothing waits for).

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
            if !d.def.names_image && d.def.build.is_none() {
                sys.services[i].image = sys.services[t].image.clone();
            }
        }
    }

    /// A `run_once` job is waited for by a service that depends on it; an
    /// `initializes` step by one that depends on its target (the compose
    /// file makes those wait for the step too). One nothing waits for
    /// fails its phase's `up --wait` as it exits.
    pub(super) fn one_shots_waited_for(&mut self, m: &Merged<'a>, sys: &System) {
        // Swarm mode refuses a one-shot job on its own (`swarm`) unless
        // the model leaves it out of the stacks; its compose files keep it.
        for (i, s) in sys.services.iter().enumerate() {
            if s.after_up {
                self.after_up_not_awaited(m, sys, i);
                continue;
            }
            let (awaited, key, waiter) = match (s.run_once, s.initializes) {
                (_, Some(t)) => (t, "initializes", format!("`{}`", sys.services[t].name)),
                (true, None) => (i, "run_once", format!("`{}`", s.name)),
                (false, None) => continue,
            };
            if sys.mode == crate::model::raw::DeployMode::Swarm && s.swarm.leave_out.is_none() {
                continue;
            }
            let waited = (sys.services.iter().enumerate())
                .any(|(j, o)| j != i && j != awaited && o.depends_on.contains(&awaited));
            if !waited {
                let kind = Kind::OneShotUnwaited {
                    service: s.name.clone(),
                    waiter,
                };
                self.report(&m.services[i].at(&p().key(key)), kind);
            }
        }
    }

    /// `after_up` is for a one-shot job, and one that runs after its phase
    /// is up cannot be waited for: nothing may depend on it.
    pub(in crate::validate) fn after_up_misused(&mut self, m: &Merged<'a>) {
        for (name, d) in m.services.iter() {
            if d.def.after_up && !d.def.run_once && d.def.initializes.is_none() {
                let kind = Kind::OneShot {
                    service: name.clone(),
                    why: "sets `after_up` but is not a one-shot job: add `run_once: true` or `initializes: SERVICE`, or remove `after_up`".into(),
                };
                self.report(&d.at(&p().key("after_up")), kind);
            }
        }
    }

    /// A service that depends on an `after_up` job would never start
    /// under `up --wait` (the job is under a profile): refused.
    fn after_up_not_awaited(&mut self, m: &Merged<'a>, sys: &System, i: usize) {
        let step = &sys.services[i];
        for o in sys.services.iter().filter(|o| o.depends_on.contains(&i)) {
            let kind = Kind::OneShot {
                service: step.name.clone(),
                why: format!(
                    "runs after its phase is up (`after_up`), so `{}` cannot depend on it",
                    o.name
                ),
            };
            self.report(&m.services[i].at(&p().key("after_up")), kind);
        }
    }
}
