//! `system.registry.extra_tags` (each tag's syntax, `${NAME}` variables,
//! duplicates) and `system.ci.github` (file and directory names, branch,
//! repository secret names, and that every built image goes to the one
//! registry the workflow logs in to).

use std::collections::HashSet;

use crate::diagnostic::Kind;
use crate::escape::{is_variable_name, workflow_static};
use crate::github_ci::{GithubCi, GithubDeploy, GITHUB_CONTEXT_VARS};
use crate::model::raw;
use crate::system::System;
use crate::tags::{self, TagPart, TagTemplate};

use super::location::{p, At, Def};
use super::merge::Merged;
use super::names;
use super::Validator;

/// Variables the bake file declares itself; a tag may not use them.
const BAKE_VARS: [&str; 2] = ["SOURCE_DIR", "GENERATED_DIR"];

/// A repository secret's name as GitHub accepts it.
fn is_secret_name(s: &str) -> bool {
    is_variable_name(s) && !s.to_ascii_uppercase().starts_with("GITHUB_")
}

/// Parses an extra tag: literal tag characters and `${NAME}` variables.
pub(super) fn parse_tag(s: &str) -> Result<TagTemplate, &'static str> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c == '$' {
            let body = rest
                .strip_prefix("${")
                .ok_or("`$` starts a variable only as `${NAME}`")?;
            let (name, after) = body.split_once('}').ok_or("`${` is not closed by `}`")?;
            if !is_variable_name(name) {
                return Err(
                    "a variable name is letters, digits and `_`, not starting with a digit",
                );
            }
            if BAKE_VARS.contains(&name) {
                return Err("SOURCE_DIR and GENERATED_DIR are the bake file's own variables");
            }
            if !text.is_empty() {
                parts.push(TagPart::Text(std::mem::take(&mut text)));
            }
            parts.push(TagPart::Var(name.to_string()));
            rest = after;
            continue;
        }
        if !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
            return Err("only letters, digits, `_`, `.`, `-` and `${NAME}` may appear");
        }
        text.push(c);
        rest = &rest[c.len_utf8()..];
    }
    if !text.is_empty() {
        parts.push(TagPart::Text(text));
    }
    match parts.first() {
        None => return Err("it is empty"),
        Some(TagPart::Text(t)) if t.starts_with(['.', '-']) => {
            return Err("a tag cannot start with `.` or `-`")
        }
        _ => {}
    }
    let literal: usize = (parts.iter())
        .map(|p| match p {
            TagPart::Text(t) => t.len(),
            TagPart::Var(_) => 1,
        })
        .sum();
    if literal > 128 {
        return Err("a tag has at most 128 characters");
    }
    Ok(TagTemplate { parts })
}

impl<'a> Validator<'a> {
    /// `registry.extra_tags`: each parsed, none twice, none the primary tag.
    pub(super) fn extra_tags(&mut self, def: &Def<'a, raw::SystemDef>) -> Vec<TagTemplate> {
        let registry = &def.def.registry;
        let mut seen: HashSet<&str> = HashSet::from([registry.tag.as_str()]);
        let mut out = Vec::new();
        for (i, tag) in registry.extra_tags.iter().enumerate() {
            let at = def.at(&p().key("registry").key("extra_tags").index(i));
            match parse_tag(tag) {
                Err(why) => self.report(
                    &at,
                    Kind::InvalidExtraTag {
                        tag: tag.clone(),
                        why,
                    },
                ),
                Ok(_) if !seen.insert(tag) => {
                    self.report(&at, Kind::DuplicateTag { tag: tag.clone() })
                }
                Ok(t) => out.push(t),
            }
        }
        out
    }

    /// `ci.github`, checked on its own (the images it pushes are checked
    /// by [`Self::ci_registry`] once they are built).
    pub(super) fn github_ci(&mut self, def: &Def<'a, raw::SystemDef>) -> Option<GithubCi> {
        let g = def.def.ci.as_ref()?.github.as_ref()?;
        let at = |k: &str| def.at(&p().key("ci").key("github").key(k));
        let file = &g.workflow_file;
        if !names::is_file_name(file) || !(file.ends_with(".yml") || file.ends_with(".yaml")) {
            self.ci_path(
                &at("workflow_file"),
                "workflow_file",
                file,
                "a file name ending in `.yml` or `.yaml`",
            );
        }
        let output_dir = g.output_dir.clone().unwrap_or_else(|| "generated".into());
        let source_dir = g.source_dir.clone().unwrap_or_else(|| ".".into());
        for (key, value) in [("output_dir", &output_dir), ("source_dir", &source_dir)] {
            if !names::is_relative_path(value) {
                self.ci_path(
                    &at(key),
                    key,
                    value,
                    "a relative path inside the repository",
                );
            }
        }
        let name = g.name.clone().unwrap_or_else(|| "Build and deploy".into());
        if workflow_static(&name).is_err() {
            let value = name.clone();
            self.report(&at("name"), Kind::CiName { value });
        }
        let branch = g.branch.clone().unwrap_or_else(|| "main".into());
        self.ci_branch(&at("branch"), &branch);
        let login = match (&g.username_secret, &g.password_secret) {
            (Some(u), Some(pw)) => {
                self.secret_name(&at("username_secret"), u);
                self.secret_name(&at("password_secret"), pw);
                Some((u.clone(), pw.clone()))
            }
            (None, None) => None,
            (Some(_), None) => {
                self.login_pair(&at("username_secret"), "username_secret", "password_secret")
            }
            (None, Some(_)) => {
                self.login_pair(&at("password_secret"), "password_secret", "username_secret")
            }
        };
        let deploy = g
            .deploy
            .as_ref()
            .map(|d| self.github_deploy(&at("deploy"), d));
        let registry =
            tags::registry_host(&format!("{}/x", def.def.registry.namespace)).to_string();
        if login.is_none() && registry != "ghcr.io" {
            let at = def.at(&p().key("registry").key("namespace"));
            self.report(
                &at,
                Kind::CiNoLogin {
                    registry: registry.clone(),
                },
            );
        }
        self.github_tag_vars(def);
        Some(GithubCi {
            workflow_file: file.clone(),
            name,
            branch,
            output_dir,
            source_dir,
            registry,
            login,
            deploy,
        })
    }

    /// A plain branch name: a push filter, no glob characters.
    fn ci_branch(&mut self, at: &At, branch: &str) {
        let ok = !branch.is_empty()
            && !branch.starts_with(['-', '/'])
            && !branch.contains("..")
            && (branch.chars()).all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c));
        if !ok {
            let value = branch.to_string();
            self.report(at, Kind::CiBranch { value });
        }
    }

    fn ci_path(&mut self, at: &At, key: &'static str, value: &str, want: &'static str) {
        let value = value.to_string();
        self.report(at, Kind::CiPath { key, value, want });
    }

    fn secret_name(&mut self, at: &At, value: &str) {
        if !is_secret_name(value) {
            let value = value.to_string();
            self.report(at, Kind::CiSecretName { value });
        }
    }

    fn login_pair<T>(&mut self, at: &At, given: &'static str, missing: &'static str) -> Option<T> {
        self.report_at_key(at, Kind::CiLoginPair { given, missing });
        None
    }

    fn github_deploy(&mut self, at: &At, d: &raw::GithubDeployDef) -> GithubDeploy {
        for (key, value) in [
            ("host_secret", &d.host_secret),
            ("user_secret", &d.user_secret),
            ("key_secret", &d.key_secret),
            ("known_hosts_secret", &d.known_hosts_secret),
        ] {
            self.secret_name(&at.key(key), value);
        }
        let dir_ok = d.dir.starts_with('/')
            && !d.dir.split('/').any(|p| p == "..")
            && d.dir.chars().all(|c| !c.is_control());
        if !dir_ok {
            self.ci_path(
                &at.key("dir"),
                "deploy.dir",
                &d.dir,
                "an absolute path on the host",
            );
        }
        GithubDeploy {
            host_secret: d.host_secret.clone(),
            user_secret: d.user_secret.clone(),
            key_secret: d.key_secret.clone(),
            known_hosts_secret: d.known_hosts_secret.clone(),
            dir: d.dir.clone(),
            variant: d.variant.clone(),
            after_deploy: d.after_deploy,
        }
    }

    /// In the workflow a tag variable is GitHub's own (`GITHUB_SHA`, …) or
    /// a repository variable, which GitHub does not allow to start with
    /// `GITHUB_`.
    fn github_tag_vars(&mut self, def: &Def<'a, raw::SystemDef>) {
        let tags = &def.def.registry.extra_tags;
        for (i, tag) in tags.iter().enumerate() {
            let Ok(t) = parse_tag(tag) else { continue };
            let reserved = t.vars().any(|v| {
                v.to_ascii_uppercase().starts_with("GITHUB_")
                    && !GITHUB_CONTEXT_VARS.iter().any(|(name, _)| *name == v)
            });
            if reserved {
                let at = def.at(&p().key("registry").key("extra_tags").index(i));
                let why = "in the workflow, of GitHub's own variables only GITHUB_SHA, GITHUB_RUN_NUMBER and GITHUB_RUN_ID can be a tag; other names are repository variables, which may not start with GITHUB_";
                self.report(
                    &at,
                    Kind::InvalidExtraTag {
                        tag: tag.clone(),
                        why,
                    },
                );
            }
        }
    }

    /// Every image the workflow pushes goes to the registry it logs in to.
    /// The deploy job runs one variant's compose files on the host, which
    /// has no source tree: with variants it must name one that pulls.
    pub(super) fn ci_deploy_variant(&mut self, m: &Merged<'a>, sys: &System) {
        let Some(d) = sys.github.as_ref().and_then(|g| g.deploy.as_ref()) else {
            return;
        };
        let Some(def) = &m.system else { return };
        let deploy = p().key("ci").key("github").key("deploy");
        let Some(name) = &d.variant else {
            if !sys.variants.is_empty() {
                let names: Vec<String> = sys.variants.iter().map(|v| v.name.clone()).collect();
                let kind = Kind::CiDeployVariantMissing {
                    names: names.join(", "),
                };
                self.report_at_key(&def.at(&deploy), kind);
            }
            return;
        };
        let at = def.at(&deploy.key("variant"));
        match sys.variants.iter().find(|v| &v.name == name) {
            None => {
                let kind = self.unknown_variant(m, name);
                self.report(&at, kind);
            }
            Some(v) if v.build => {
                let variant = name.clone();
                self.report(&at, Kind::CiDeployBuildingVariant { variant });
            }
            Some(_) => {}
        }
    }

    pub(super) fn ci_registry(&mut self, m: &Merged<'a>, sys: &System) {
        let Some(g) = &sys.github else { return };
        let images = (sys.images.iter().enumerate()).map(|(i, b)| {
            (
                &b.image,
                m.images.get_index(i).map(|d| d.1.at(&p().key("image"))),
            )
        });
        let services = (sys.services.iter().enumerate())
            .filter(|(_, s)| s.build.is_some())
            .map(|(i, s)| {
                (
                    &s.image,
                    m.services.get_index(i).map(|d| d.1.at(&p().key("image"))),
                )
            });
        for (image, at) in images.chain(services) {
            let host = tags::registry_host(image);
            if host != g.registry {
                let Some(at) = at else { continue };
                let kind = Kind::CiPushRegistry {
                    image: image.clone(),
                    host: host.to_string(),
                    registry: g.registry.clone(),
                };
                self.report(&at, kind);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_parse_into_text_and_variables() {
        let t = parse_tag("v${VERSION}-${GITHUB_SHA}").unwrap();
        assert_eq!(
            t.parts,
            vec![
                TagPart::Text("v".into()),
                TagPart::Var("VERSION".into()),
                TagPart::Text("-".into()),
                TagPart::Var("GITHUB_SHA".into()),
            ]
        );
        assert_eq!(t.written(), "v${VERSION}-${GITHUB_SHA}");
        assert!(parse_tag("1.4.0").is_ok());
        for bad in [
            "",
            "a b",
            "a/b",
            "a:b",
            "-x",
            ".x",
            "$X",
            "${X",
            "${1X}",
            "${}",
            "${A-B}",
            "${SOURCE_DIR}",
            "é",
        ] {
            assert!(parse_tag(bad).is_err(), "{bad}");
        }
        assert!(parse_tag(&"a".repeat(129)).is_err());
        assert!(is_secret_name("DEPLOY_HOST") && !is_secret_name("GITHUB_X"));
        assert!(!is_secret_name("1A") && !is_secret_name("A-B"));
    }
}
