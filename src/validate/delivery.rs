//! What reaches one container besides its image: the secrets it declares
//! (each once, as a variable or a file), the config files rendered from the
//! model (their `{{ … }}` placeholders resolved here, so render only fills
//! in secret values), and that no two of its mounts share a path.

use crate::diagnostic::Kind;
use crate::model::raw;
use crate::system::*;

use super::location::{p, At, Def};
use super::merge::Merged;
use super::names::{self, suggest};
use super::Validator;

type ServiceDef<'a> = Def<'a, raw::ServiceDef>;

impl<'a> Validator<'a> {
    /// The service's secrets: each known, listed once, with its delivery.
    pub(super) fn service_secrets(
        &mut self,
        m: &Merged<'a>,
        name: &str,
        d: &ServiceDef<'_>,
    ) -> Vec<SecretUse> {
        let mut uses: Vec<SecretUse> = Vec::new();
        for (i, u) in d.def.secrets.iter().enumerate() {
            let at = d.at(&p().key("secrets").index(i));
            let Some(secret) = self.secret_ref(m, name, &u.name, &at) else {
                continue;
            };
            if uses.iter().any(|x| x.secret == secret) {
                let kind = Kind::SecretUsedTwice {
                    service: name.to_string(),
                    secret: u.name.clone(),
                };
                self.report(&at, kind);
                continue;
            }
            let target = match &u.target {
                Some(t) => {
                    if u.delivery != raw::DeliveryDef::Env {
                        self.mount_point("secret file target", t, &at.key("target"));
                    }
                    t.clone()
                }
                None => default_secret_target(&u.name),
            };
            let delivery = match u.delivery {
                raw::DeliveryDef::Env => {
                    if u.target.is_some() {
                        let kind = Kind::SecretTargetForEnv {
                            secret: u.name.clone(),
                        };
                        self.report(&at.key("target"), kind);
                    }
                    Delivery::Env
                }
                raw::DeliveryDef::File => Delivery::File { target },
                raw::DeliveryDef::FileEnv => Delivery::FileEnv { target },
            };
            uses.push(SecretUse { secret, delivery });
        }
        uses
    }

    /// A secret a service names, or `unknown-secret` reported at `at`.
    fn secret_ref(
        &mut self,
        m: &Merged<'a>,
        service: &str,
        secret: &str,
        at: &At,
    ) -> Option<usize> {
        let found = m.secrets.get_index_of(secret);
        if found.is_none() {
            self.report(at, unknown_secret(m, service, secret));
        }
        found
    }

    /// `what` (a volume target, a config or secret file target, a tmpfs)
    /// at `at` is a mount point; its normalised spelling.
    pub(super) fn mount_point(
        &mut self,
        what: &'static str,
        target: &str,
        at: &At,
    ) -> Option<String> {
        match names::mount_point(target) {
            Ok(normal) => Some(normal),
            Err(why) => {
                let target = target.to_string();
                self.report(at, Kind::MountPoint { what, target, why });
                None
            }
        }
    }

    /// The service's config files, placeholders resolved.
    pub(super) fn config_files(
        &mut self,
        m: &Merged<'a>,
        name: &str,
        d: &ServiceDef<'_>,
        secrets: &[SecretUse],
    ) -> Vec<ConfigFile> {
        let mut out = Vec::new();
        for (i, f) in d.def.config_files.iter().enumerate() {
            let at = d.at(&p().key("config_files").index(i));
            self.mount_point("config file target", &f.target, &at.key("target"));
            let ctx = Ctx {
                m,
                service: name,
                target: &f.target,
                secrets,
                at: at.key("content"),
                content: &f.content,
                offset: std::cell::Cell::new(0),
            };
            let pieces = self.pieces(&ctx, &f.content);
            out.push(ConfigFile {
                target: f.target.clone(),
                pieces,
                variant: None,
            });
        }
        out
    }

    /// Config files, secret files, volumes and tmpfs mounts each need a
    /// path of their own, compared normalised (`/a//b/` is `/a/b`); and
    /// nothing may be mounted below a file mount (a config or secret
    /// file), which is no directory.
    pub(super) fn distinct_mounts(&mut self, d: &ServiceDef<'_>, s: &Service) {
        let files = (s.secrets.iter().filter_map(|u| u.delivery.target()))
            .chain(s.config_files.iter().map(|f| f.target.as_str()))
            .map(|t| (t, true));
        let dirs = (s.volumes.iter().map(|v| v.target.as_str()))
            .chain(s.binds.iter().map(|b| b.target.as_str()))
            .chain(s.security.tmpfs.iter().map(String::as_str))
            .map(|t| (t, false));
        let mut seen: Vec<(String, &str, bool)> = Vec::new();
        for (target, file) in files.chain(dirs) {
            let Ok(normal) = names::mount_point(target) else {
                continue; // already `invalid-path`
            };
            let service = s.name.clone();
            if let Some((_, other, _)) = seen.iter().find(|(n, ..)| *n == normal) {
                let spelled = match *other == target {
                    true => String::new(),
                    false => format!(", spelled `{other}` the first time"),
                };
                let target = target.to_string();
                let kind = Kind::MountTwice {
                    service,
                    target,
                    spelled,
                };
                self.report_at_key(&d.here(), kind);
            } else if let Some((inner, outer)) = seen.iter().find_map(|(n, t, f)| {
                // Below a file mount seen before, or a file mount above one.
                match (*f && normal.starts_with(&format!("{n}/")), file) {
                    (true, _) => Some((target, *t)),
                    (false, true) if n.starts_with(&format!("{normal}/")) => Some((*t, target)),
                    _ => None,
                }
            }) {
                let (target, file) = (inner.to_string(), outer.to_string());
                let kind = Kind::MountUnderFile {
                    service,
                    target,
                    file,
                };
                self.report_at_key(&d.here(), kind);
            }
            seen.push((normal, target, file));
        }
    }

    /// What a one-shot job may not have: it runs to completion.
    pub(super) fn one_shot(&mut self, name: &str, d: &ServiceDef<'_>) {
        let s = d.def;
        let refuse = |v: &mut Self, key: &str, why: &str| {
            let kind = Kind::OneShot {
                service: name.to_string(),
                why: why.to_string(),
            };
            v.report_at_key(&d.at(&p().key(key)), kind);
        };
        if !s.ports.is_empty() {
            refuse(
                self,
                "ports",
                "has ports, but nothing connects to a job that exits",
            );
        }
        if s.health.is_some() {
            refuse(
                self,
                "health",
                "has a health check, but its exit status is what counts",
            );
        }
        if s.restart.is_some() {
            refuse(
                self,
                "restart",
                "sets `restart`, but a job runs once (lucid-gen writes `restart: \"no\"`)",
            );
        }
        if s.initializes.is_some() && !s.networks.is_empty() {
            refuse(
                self,
                "networks",
                "joins networks, but an initialisation step runs in its target's network namespace",
            );
        }
    }

    /// Splits `content` into text and placeholders.
    fn pieces(&mut self, ctx: &Ctx<'_, 'a>, content: &str) -> Vec<Piece> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut rest = content;
        while let Some(open) = rest.find("{{") {
            text.push_str(&rest[..open]);
            ctx.offset.set(content.len() - rest.len() + open);
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                self.placeholder_error(ctx, &rest[open..], "is not closed with `}}`");
                rest = "";
                break;
            };
            match self.placeholder(ctx, after[..close].trim()) {
                Some(Piece::Text(t)) => text.push_str(&t),
                Some(piece) => {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                    pieces.push(piece);
                }
                None => {}
            }
            rest = &after[close + 2..];
        }
        text.push_str(rest);
        pieces.push(Piece::Text(text));
        pieces.retain(|p| !matches!(p, Piece::Text(t) if t.is_empty()));
        pieces
    }

    fn placeholder_error(&mut self, ctx: &Ctx<'_, 'a>, text: &str, why: &str) {
        let shown: String = text.chars().take(60).collect();
        let kind = Kind::ConfigPlaceholder {
            target: ctx.target.to_string(),
            text: shown,
            why: why.to_string(),
        };
        self.report_in_content(ctx, kind);
    }

    /// A diagnostic at the current placeholder: the content's first line
    /// is where the value starts, and a block scalar's lines share its
    /// indentation, so line and column follow from the offset.
    fn report_in_content(&mut self, ctx: &Ctx<'_, 'a>, kind: Kind) {
        let start = self.value_loc(&ctx.at);
        let before = &ctx.content[..ctx.offset.get().min(ctx.content.len())];
        let line = start.line + before.matches('\n').count();
        let col = start.col + before.rsplit('\n').next().unwrap_or("").chars().count();
        let loc = self.files[ctx.at.file].location(line, col);
        self.diagnostics
            .push(crate::diagnostic::Diagnostic::new(kind).at(Some(loc)));
    }

    /// One `{{ … }}`: a piece, or `None` after reporting why not.
    fn placeholder(&mut self, ctx: &Ctx<'_, 'a>, expr: &str) -> Option<Piece> {
        let shown = format!("{{{{ {expr} }}}}");
        if let Some(lit) = expr.strip_prefix('"').and_then(|e| e.strip_suffix('"')) {
            return Some(Piece::Text(lit.to_string()));
        }
        let words: Vec<&str> = expr.split_whitespace().collect();
        let m = ctx.m;
        let sys = m.system.as_ref().map(|s| s.def);
        let found = match words.as_slice() {
            ["secret", name] => self.placeholder_secret(ctx, name).map(Piece::Secret),
            ["tor-hashed-password", name] => self
                .placeholder_secret(ctx, name)
                .map(Piece::TorHashedPassword),
            ["secret-file", name] => return self.secret_file(ctx, name),
            ["port", service, port] => {
                let found = port_of(m, service, port).map(Piece::Text);
                self.reachable(ctx, &shown, service, found.is_some());
                found
            }
            ["host", service] => {
                let found = m.services.contains_key(*service);
                self.reachable(ctx, &shown, service, found);
                found.then(|| Piece::Text(service.to_string()))
            }
            ["subnet", network] => m
                .networks
                .get(*network)
                .map(|n| Piece::Text(n.def.subnet.clone())),
            ["targets", port] => return self.scrape_targets(ctx, port),
            ["platform"] => sys.map(|s| Piece::Text(s.platform.clone())),
            ["system"] => sys.map(|s| Piece::Text(s.name.clone())),
            _ => {
                self.placeholder_error(ctx, &shown, "is not a placeholder lucid-gen knows");
                return None;
            }
        };
        if found.is_none() && !matches!(words.first(), Some(&"secret" | &"tor-hashed-password")) {
            let why = match words.first() {
                Some(&"port") => "names a service or port name the model does not have",
                Some(&"host") => "names a service the model does not have",
                Some(&"subnet") => "names a network the model does not have",
                _ => "needs the model's `system:` section",
            };
            self.placeholder_error(ctx, &shown, why);
        }
        found
    }

    /// A secret a placeholder names, or `unknown-secret` reported at the
    /// placeholder itself.
    fn placeholder_secret(&mut self, ctx: &Ctx<'_, 'a>, name: &str) -> Option<usize> {
        let found = ctx.m.secrets.get_index_of(name);
        if found.is_none() {
            self.report_in_content(ctx, unknown_secret(ctx.m, ctx.service, name));
        }
        found
    }

    /// `{{ secret-file NAME }}`: where this service mounts secret NAME.
    fn secret_file(&mut self, ctx: &Ctx<'_, 'a>, name: &str) -> Option<Piece> {
        let index = self.placeholder_secret(ctx, name)?;
        let used = ctx.secrets.iter().find(|u| u.secret == index);
        match used.and_then(|u| u.delivery.target()) {
            Some(t) => Some(Piece::Text(t.to_string())),
            None => {
                let kind = Kind::SecretNotDelivered {
                    service: ctx.service.to_string(),
                    secret: name.to_string(),
                    target: ctx.target.to_string(),
                };
                self.report_in_content(ctx, kind);
                None
            }
        }
    }
}

impl<'a> Validator<'a> {
    /// Whether `target` (a service a placeholder names) and the config
    /// file's service share a network, as `{{ targets }}` requires too:
    /// whatever reads the file could not reach it otherwise. Reported at
    /// the placeholder (`exists`: only then; an unknown service is
    /// reported as that).
    fn reachable(&mut self, ctx: &Ctx<'_, 'a>, placeholder: &str, target: &str, exists: bool) {
        if exists && !reaches(ctx.m, ctx.service, target) {
            let kind = Kind::PlaceholderUnreachable {
                service: ctx.service.to_string(),
                target: target.to_string(),
                file: ctx.target.to_string(),
                placeholder: placeholder.to_string(),
            };
            self.report_in_content(ctx, kind);
        }
        if exists {
            self.in_every_variant(ctx, placeholder, target);
        }
    }

    /// A config file is the same in every variant: a service it names must
    /// exist in every variant the file's service exists in.
    fn in_every_variant(&mut self, ctx: &Ctx<'_, 'a>, placeholder: &str, target: &str) {
        let Some(variant) = variant_gap(ctx.m, ctx.service, target) else {
            return;
        };
        let kind = Kind::OnlyInVariants {
            service: target.to_string(),
            why: format!(
                "leaves it out of variant `{variant}`, where config file `{}` of `{}` names it in `{placeholder}` (config files are the same in every variant)",
                ctx.target, ctx.service
            ),
        };
        self.report_in_content(ctx, kind);
    }

    /// `{{ targets PORT }}`: a YAML flow list of `"service:port"` for every
    /// service (in model order) with a port named PORT, each of which must
    /// share a network with the config file's service (else whatever reads
    /// the list, Prometheus say, could not reach it). Under Compose, a list
    /// over services some variants leave out differs between variants
    /// (each lists the services it has; the file is written once per
    /// variant); under Swarm every service must be in every variant.
    fn scrape_targets(&mut self, ctx: &Ctx<'_, 'a>, port: &str) -> Option<Piece> {
        let swarm = (ctx.m.system.as_ref()).is_some_and(|s| s.def.mode == DeployMode::Swarm);
        let mut targets = Vec::new();
        for (name, d) in &ctx.m.services {
            let Some(p) = d.def.ports.iter().find(|p| p.name.as_deref() == Some(port)) else {
                continue;
            };
            if swarm {
                self.in_every_variant(ctx, &format!("{{{{ targets {port} }}}}"), name);
            }
            if !reaches(ctx.m, ctx.service, name) {
                let kind = Kind::TargetUnreachable {
                    service: ctx.service.to_string(),
                    target: name.clone(),
                    file: ctx.target.to_string(),
                };
                self.report_in_content(ctx, kind);
            }
            let target = crate::escape::yaml_str(&format!("{name}:{}", p.container));
            targets.push((name.as_str(), target.to_string()));
        }
        if targets.is_empty() {
            let shown = format!("{{{{ targets {port} }}}}");
            self.placeholder_error(ctx, &shown, "names a port name no service has");
            return None;
        }
        let list = |v: Option<&str>| {
            let has = |name: &str| v.is_none_or(|v| in_variant(ctx.m, name, v));
            let shown: Vec<&str> = (targets.iter().filter(|(n, _)| has(n)))
                .map(|(_, t)| t.as_str())
                .collect();
            format!("[{}]", shown.join(", "))
        };
        let every = list(None);
        let per: Vec<String> = ctx.m.variants.keys().map(|v| list(Some(v))).collect();
        match per.iter().all(|t| *t == every) {
            true => Some(Piece::Text(every)),
            false => Some(Piece::PerVariant(per)),
        }
    }
}

/// The networks a service's containers are on: its own, or, for an
/// initialisation step (which runs in its target's network namespace), its
/// target's.
fn networks_of<'m>(m: &'m Merged<'_>, service: &str) -> Option<&'m [String]> {
    let d = m.services.get(service)?;
    match &d.def.initializes {
        Some(target) => m
            .services
            .get(target.as_str())
            .map(|t| t.def.networks.as_slice()),
        None => Some(d.def.networks.as_slice()),
    }
}

/// Whether `from` can reach `to`: the same service, the target of an
/// initialisation step, or a shared network (an unknown service is
/// reported as that, not here).
/// The first variant service `from` exists in and `to` does not
/// (`only_in_variants`; an unknown name is reported where it is written).
fn variant_gap(m: &Merged<'_>, from: &str, to: &str) -> Option<String> {
    (m.variants.keys())
        .find(|v| in_variant(m, from, v) && !in_variant(m, to, v))
        .cloned()
}

/// Whether variant `v` has `service` (an unknown one counts as had).
fn in_variant(m: &Merged<'_>, service: &str, v: &str) -> bool {
    let only = (m.services.get(service)).and_then(|d| d.def.only_in_variants.as_ref());
    only.is_none_or(|list| list.iter().any(|x| x == v))
}

fn reaches(m: &Merged<'_>, from: &str, to: &str) -> bool {
    let initializes = m
        .services
        .get(from)
        .and_then(|d| d.def.initializes.as_deref());
    match (networks_of(m, from), networks_of(m, to)) {
        _ if from == to || initializes == Some(to) => true,
        (Some(own), Some(theirs)) => theirs.iter().any(|n| own.contains(n)),
        _ => true,
    }
}

/// `unknown-secret`, with a "did you mean" when a declared name is close.
fn unknown_secret(m: &Merged<'_>, service: &str, secret: &str) -> Kind {
    let hint = match suggest(secret, m.secrets.keys().map(String::as_str)) {
        Some(s) => {
            format!("did you mean `{s}`? Otherwise declare it under `secrets:` with its size")
        }
        None => "declare it under `secrets:` with its size (`bytes`)".to_string(),
    };
    Kind::UnknownSecret {
        service: service.to_string(),
        secret: secret.to_string(),
        hint,
    }
}

/// What a placeholder is resolved against.
struct Ctx<'c, 'a> {
    m: &'c Merged<'a>,
    service: &'c str,
    target: &'c str,
    secrets: &'c [SecretUse],
    /// The `content` value, and the placeholder's byte offset in it.
    at: At,
    content: &'c str,
    offset: std::cell::Cell<usize>,
}

/// The container port `port` names on `service`: a port's `name`, or a
/// port number the service declares.
fn port_of(m: &Merged<'_>, service: &str, port: &str) -> Option<String> {
    let s = m.services.get(service)?;
    s.def
        .ports
        .iter()
        .find(|p| p.name.as_deref() == Some(port) || p.container.to_string() == port)
        .map(|p| p.container.to_string())
}
