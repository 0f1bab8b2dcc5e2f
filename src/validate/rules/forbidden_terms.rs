//! `forbidden-term`: a plane's forbidden terms, searched case-insensitively
//! in the names and values of everything on that plane.

use std::borrow::Cow;
use std::collections::HashSet;

use crate::diagnostic::Kind;
use crate::system::*;

use crate::validate::facts::{BuildFacts, ServiceFacts};
use crate::validate::location::{p, At, Def};
use crate::validate::merge::Merged;
use crate::validate::Validator;

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
    pub(super) fn forbidden_terms(&mut self, m: &Merged<'a>, sys: &System) {
        let mut hits: Vec<Hit> = Vec::new();
        let mut seen_env_vars: HashSet<(usize, usize, usize)> = HashSet::new();
        for (pi, plane) in sys.planes.iter().enumerate() {
            if plane.forbidden_terms.is_empty() {
                continue;
            }
            let mut scan = Scan {
                terms: plane
                    .forbidden_terms
                    .iter()
                    .map(|t| (t.to_lowercase(), t))
                    .collect(),
                plane: &plane.name,
                hits: &mut hits,
            };
            for (ni, net) in sys.networks.iter().enumerate() {
                if net.plane == pi {
                    let d = &m.networks[ni];
                    for (text, at) in [(&net.key, d.here()), (&net.name, d.at(&p().key("name")))] {
                        scan.check(text, || at, || format!("network name `{text}`"));
                    }
                }
            }
            for (si, s) in sys.services.iter().enumerate() {
                if s.plane == pi {
                    scan.service(m, sys, si);
                    scan.env_files(m, sys, s, pi, &mut seen_env_vars);
                }
            }
        }
        for (at, term, what, plane) in hits {
            self.report(&at, Kind::ForbiddenTerm { what, term, plane });
        }
    }
}

/// A forbidden term found: where, the term, what held it, the plane.
type Hit = (At, String, String, String);

/// One plane's terms (lowercased, original) and the hits found so far.
struct Scan<'s> {
    terms: Vec<(String, &'s String)>,
    plane: &'s str,
    hits: &'s mut Vec<Hit>,
}

impl Scan<'_> {
    /// The first term `text` contains, as the model spells it.
    fn find(&self, text: &str) -> Option<String> {
        // Speed: ASCII text (nearly all of it) is searched without
        // lowercasing a copy; the result is the same.
        let lower = if text.is_ascii() {
            Cow::Borrowed(text)
        } else {
            Cow::Owned(text.to_lowercase())
        };
        self.terms
            .iter()
            .find(|(t, _)| !t.is_empty() && contains_lowercase(&lower, t))
            .map(|(_, original)| (*original).clone())
    }

    /// Records a hit in `text`. Speed: the location and the message are only
    /// built for a hit (eagerly, they were most of this check).
    fn check(&mut self, text: &str, at: impl FnOnce() -> At, what: impl FnOnce() -> String) {
        if let Some(t) = self.find(text) {
            self.hits.push((at(), t, what(), self.plane.to_string()));
        }
    }

    /// The service's name, image, environment, secrets and build.
    fn service(&mut self, m: &Merged<'_>, sys: &System, si: usize) {
        let s = &sys.services[si];
        let d = &m.services[s.name.as_str()];
        let facts = d.def;
        self.check(
            &s.name,
            || d.here(),
            || format!("service name `{}`", s.name),
        );
        if facts.names_image {
            self.check(
                &s.image,
                || d.at(&p().key("image")),
                || format!("image `{}`", s.image),
            );
        } else {
            self.check(&s.image, || d.here(), || format!("image `{}`", s.image));
        }
        for (k, v) in &s.environment {
            let at = || d.at(&p().key("environment").key(k.as_str()));
            self.check(k, at, || format!("environment variable `{k}`"));
            self.check(v, at, || format!("value of environment variable `{k}`"));
        }
        for r in &s.required_env {
            let k = &r.name;
            let at = || d.at(&p().key("required_env").key(k.as_str()));
            self.check(k, at, || format!("required variable `{k}`"));
            let f = &r.from;
            self.check(f, at, || format!("required variable `{k}`'s source `{f}`"));
        }
        for (i, u) in s.secrets.iter().enumerate() {
            let name = &sys.secrets[u.secret].name;
            self.check(
                name,
                || d.at(&p().key("secrets").index(i)),
                || format!("secret `{name}`"),
            );
        }
        for (i, f) in s.config_files.iter().enumerate() {
            let at = || d.at(&p().key("config_files").index(i).key("content"));
            for piece in &f.pieces {
                if let Piece::Text(text) = piece {
                    self.check(text, at, || format!("config file `{}`", f.target));
                }
            }
        }
        for word in &s.entrypoint {
            self.check(
                word,
                || d.at(&p().key("entrypoint")),
                || "entrypoint".to_string(),
            );
        }
        if let (Some(b), Some(rb)) = (&s.build, &facts.build) {
            self.build(d, b, rb);
        }
    }

    fn build(&mut self, d: &Def<'_, ServiceFacts>, b: &Build, rb: &BuildFacts) {
        let bat = |k: &str| d.at(&p().key("build").key(k));
        self.check(
            &b.context,
            || bat("context"),
            || format!("build context `{}`", b.context),
        );
        let given = [
            ("builder", "builder image", &rb.builder),
            ("runtime", "runtime image", &rb.runtime),
            ("dockerfile", "dockerfile", &rb.dockerfile),
            ("requirements", "requirements file", &rb.requirements),
        ];
        for (key, what, value) in given {
            if let Some(v) = value {
                self.check(v, || bat(key), || format!("{what} `{v}`"));
            }
        }
        for (i, pkg) in b.packages.iter().enumerate() {
            self.check(
                pkg,
                || d.at(&p().key("build").key("packages").index(i)),
                || format!("package `{pkg}`"),
            );
        }
        for (i, arg) in b.entrypoint.iter().enumerate() {
            self.check(
                arg,
                || d.at(&p().key("build").key("entrypoint").index(i)),
                || format!("entrypoint argument `{arg}`"),
            );
        }
    }

    /// Variables of the env files the service reads reach it too; each is
    /// searched once per plane.
    fn env_files(
        &mut self,
        m: &Merged<'_>,
        sys: &System,
        s: &Service,
        pi: usize,
        seen: &mut HashSet<(usize, usize, usize)>,
    ) {
        for f in &s.env_files {
            let ef = &sys.env_files[*f];
            // Speed: (file, variable index) instead of cloning each
            // variable name for each service; names in a file are unique.
            for (vi, (k, v)) in ef.vars.iter().enumerate() {
                if !seen.insert((*f, vi, pi)) {
                    continue;
                }
                if let Some(t) = self.find(k).or_else(|| self.find(v)) {
                    let at = m.env_files[*f].at(&p().key("vars").key(k.as_str()));
                    let what = format!(
                        "variable `{k}` of env file `{}`, read by `{}`",
                        ef.key, s.name
                    );
                    self.hits.push((at, t, what, self.plane.to_string()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::contains_lowercase;

    /// The fast path must agree with `text.to_lowercase().contains(term)`.
    #[test]
    pub(super) fn case_insensitive_search_matches_lowercasing() {
        let texts = [
            "ACME-Wallet",
            "acme",
            "xAcMe",
            "Ａcme",
            "\u{212A}ey",
            "",
            "ab",
        ];
        let terms = ["acme", "wallet", "k", "ａcme", "abc", "-w"];
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
