//! Dependencies between services: `later-phase-dependency`,
//! `unreachable-dependency` (no shared network) and `dependency-cycle`.

use std::collections::HashSet;

use crate::diagnostic::Kind;
use crate::system::*;

use crate::model::YamlPath;
use crate::validate::location::p;
use crate::validate::merge::Merged;
use crate::validate::Validator;

/// Where service `si` names `dep` in its `depends_on` (its external
/// services are listed there too, so positions in `System` differ).
fn dep_at(m: &Merged<'_>, sys: &System, si: usize, dep: usize) -> YamlPath {
    let name = &sys.services[dep].name;
    let deps = &m.services[si].def.depends_on;
    let i = deps.iter().position(|d| d == name).unwrap_or(0);
    p().key("depends_on").index(i)
}

impl<'a> Validator<'a> {
    pub(super) fn dependencies(&mut self, m: &Merged<'a>, sys: &System) {
        for (si, s) in sys.services.iter().enumerate() {
            for dep in &s.depends_on {
                let target = &sys.services[*dep];
                if target.phase > s.phase {
                    self.report(
                        &m.services[si].at(&dep_at(m, sys, si, *dep)),
                        Kind::LaterPhaseDependency {
                            service: s.name.clone(),
                            phase: sys.phases[s.phase].name.clone(),
                            dependency: target.name.clone(),
                            dependency_phase: sys.phases[target.phase].name.clone(),
                        },
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
                    self.report(
                        &m.services[si].at(&dep_at(m, sys, si, *dep)),
                        Kind::UnreachableDependency {
                            service: s.name.clone(),
                            dependency: target.name.clone(),
                            service_networks: names(s),
                            dependency_networks: names(target),
                        },
                    );
                }
            }
        }
        self.dependency_cycles(m, sys);
    }

    /// Cycles: depth-first search, reporting each cycle once at the edge
    /// that closes it.
    fn dependency_cycles(&mut self, m: &Merged<'a>, sys: &System) {
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
                                self.report(
                                    &m.services[node].at(&dep_at(m, sys, node, dep)),
                                    Kind::DependencyCycle {
                                        cycle: names.join(" → "),
                                    },
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
}
