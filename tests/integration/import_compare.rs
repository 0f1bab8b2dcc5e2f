//! The round trip's comparison: an original compose project and the one
//! lucid-gen generated from its import, both as `docker compose config
//! --format json` prints them. A difference is on purpose (a category the
//! import report must state), a key the report lists as not expressible,
//! or a failure.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// What a difference between the original and the generated project is.
pub struct Verdict<'a> {
    report: &'a Value,
    /// Category → where (for the message when the report lacks it).
    pub on_purpose: BTreeMap<String, String>,
    unexplained: Vec<String>,
}

/// The report text each on-purpose difference must be listed under.
const LISTED: [(&str, &str); 10] = [
    ("hardening", "runs hardened"),
    ("labels-platform", "lucid-gen's labels"),
    ("volume-name", "named volumes are called"),
    ("restart", "restarts unless stopped"),
    ("waits-healthy", "waits until"),
    ("built-image-named", "built images are named"),
    ("subnet", "has a fixed one now"),
    ("health-exec", "exec form"),
    ("network-default", "joins the network `default`"),
    ("pull-policy-build", "pull_policy: build"),
];

impl<'a> Verdict<'a> {
    pub fn new(report: &'a Value) -> Verdict<'a> {
        Verdict {
            report,
            on_purpose: BTreeMap::new(),
            unexplained: Vec::new(),
        }
    }

    pub fn purpose(&mut self, category: &str, at: String) {
        self.on_purpose.entry(category.into()).or_insert(at);
    }

    pub fn differ(&mut self, at: String, original: &Value, generated: &Value) {
        (self.unexplained).push(format!(
            "{at}: original {original} != generated {generated}"
        ));
    }

    /// Whether the report lists `key` (or a key below it) as not expressible.
    pub fn reported(&self, key: &str) -> bool {
        self.report["not_expressible"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|u| u["key"].as_str())
            .any(|k| {
                k == key || k.starts_with(&format!("{key}.")) || k.starts_with(&format!("{key}["))
            })
    }

    /// A difference at `key` that the report must list.
    pub fn must_be_reported(&mut self, key: &str, original: &Value, generated: &Value) {
        if !self.reported(key) {
            self.differ(format!("{key} (not in the report)"), original, generated);
        }
    }

    /// Every problem: unexplained differences, and on-purpose ones the
    /// report does not say.
    pub fn problems(&self) -> Vec<String> {
        let mut out = self.unexplained.clone();
        let notes: Vec<&str> = (self.report["notes"].as_array().unwrap().iter())
            .filter_map(|n| n["text"].as_str())
            .collect();
        for (category, at) in &self.on_purpose {
            let phrase = LISTED.iter().find(|(c, _)| c == category).map(|(_, p)| *p);
            let listed = match phrase {
                Some(p) => notes.iter().any(|n| n.contains(p)),
                None => true, // listed elsewhere: filled, secrets (checked where found)
            };
            if !listed {
                out.push(format!(
                    "{at}: on purpose ({category}) but the report does not say so"
                ));
            }
        }
        out
    }

    pub fn project(&mut self, o: &Value, g: &Value) {
        if o["name"] != g["name"] {
            self.differ("name".into(), &o["name"], &g["name"]);
        }
        self.networks(o, g);
        self.volumes(o, g);
        let os = o["services"].as_object().unwrap();
        let gs = g["services"].as_object().unwrap();
        let (on, gn): (BTreeSet<_>, BTreeSet<_>) = (os.keys().collect(), gs.keys().collect());
        if on != gn {
            self.unexplained.push(format!("services: {on:?} != {gn:?}"));
        }
        for (name, service) in os {
            if let Some(gen) = gs.get(name) {
                self.service(name, service, gen, o);
            }
        }
    }

    fn networks(&mut self, o: &Value, g: &Value) {
        let empty = serde_json::Map::new();
        let on = o["networks"].as_object().unwrap_or(&empty);
        let gn = g["networks"].as_object().unwrap_or(&empty);
        for (key, net) in on {
            let Some(gen) = gn.get(key) else {
                self.differ(format!("networks.{key}"), net, &Value::Null);
                continue;
            };
            if net["name"] != gen["name"] {
                self.differ(format!("networks.{key}.name"), &net["name"], &gen["name"]);
            }
            if net["ipam"]["config"].is_null() && !gen["ipam"]["config"].is_null() {
                self.purpose("subnet", format!("networks.{key}"));
            }
            for field in ["internal", "driver"] {
                let (a, b) = (&net[field], &gen[field]);
                let default_driver = field == "driver" && a.is_null() && b == "bridge";
                if a != b && !default_driver {
                    self.must_be_reported(&format!("networks.{key}.{field}"), a, b);
                }
            }
        }
        if let Some(extra) = gn.keys().find(|k| !on.contains_key(*k)) {
            self.differ(format!("networks.{extra}"), &Value::Null, &gn[extra]);
        }
    }

    fn volumes(&mut self, o: &Value, g: &Value) {
        let empty = serde_json::Map::new();
        let on = o["volumes"].as_object().unwrap_or(&empty);
        let gn = g["volumes"].as_object().unwrap_or(&empty);
        let (ok, gk): (BTreeSet<_>, BTreeSet<_>) = (on.keys().collect(), gn.keys().collect());
        if ok != gk {
            self.unexplained.push(format!("volumes: {ok:?} != {gk:?}"));
        }
        for (key, vol) in on {
            if gn.get(key).is_some_and(|gen| gen["name"] != vol["name"]) {
                self.purpose("volume-name", format!("volumes.{key}"));
            }
        }
    }
}

/// `null` and a missing key say the same.
fn get<'v>(v: &'v Value, key: &str) -> &'v Value {
    v.get(key).unwrap_or(&Value::Null)
}

/// Ports as comparable tuples: (target, published, host_ip, protocol).
fn ports(v: &Value) -> BTreeSet<(String, String, String, String)> {
    let s = |p: &Value, k: &str| p.get(k).map(|x| x.to_string()).unwrap_or_default();
    (v.as_array().into_iter().flatten())
        .map(|p| {
            let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("tcp");
            (
                s(p, "target"),
                s(p, "published"),
                s(p, "host_ip"),
                proto.to_string(),
            )
        })
        .collect()
}

/// `expose` entries as `PORT/PROTO`, ranges expanded.
fn exposed(v: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for e in (v.as_array().into_iter().flatten()).filter_map(Value::as_str) {
        let (range, proto) = e.split_once('/').unwrap_or((e, "tcp"));
        let (lo, hi) = range.split_once('-').unwrap_or((range, range));
        let (lo, hi): (u32, u32) = (lo.parse().unwrap(), hi.parse().unwrap());
        out.extend((lo..=hi).map(|p| format!("{p}/{proto}")));
    }
    out
}

/// A secret's path in the container.
fn secret_target(u: &Value) -> String {
    let source = u["source"].as_str().unwrap_or("");
    match u["target"].as_str() {
        Some(t) if t.starts_with('/') => t.to_string(),
        Some(t) => format!("/run/secrets/{t}"),
        None => format!("/run/secrets/{source}"),
    }
}

/// The Dockerfile of a build, as a path.
fn dockerfile(build: &Value) -> std::path::PathBuf {
    let context = std::path::Path::new(build["context"].as_str().unwrap_or(""));
    context.join(build["dockerfile"].as_str().unwrap_or("Dockerfile"))
}

/// Keys lucid-gen adds to every service on purpose, by category.
fn added_on_purpose(key: &str) -> Option<&'static str> {
    match key {
        "read_only" | "tmpfs" | "security_opt" | "cap_drop" | "deploy" | "user" => {
            Some("hardening")
        }
        "platform" | "labels" => Some("labels-platform"),
        "restart" => Some("restart"),
        // A variant that builds says so, so Compose never pulls the tag.
        "pull_policy" => Some("pull-policy-build"),
        _ => None,
    }
}

impl Verdict<'_> {
    /// One service, key by key, both ways.
    fn service(&mut self, name: &str, o: &Value, g: &Value, project: &Value) {
        let at = |k: &str| format!("services.{name}.{k}");
        let (om, gm) = (o.as_object().unwrap(), g.as_object().unwrap());
        for (key, ov) in om {
            let gv = get(g, key);
            if ov.is_null() && gv.is_null() || ov == gv {
                continue;
            }
            match key.as_str() {
                "build" => self.build(name, ov, gv),
                "ports" | "expose" => {} // both at once, below
                "networks" => self.attachments(name, ov, gv),
                "volumes" => self.mounts(name, ov, g),
                "environment" => self.environment(name, ov, gv),
                "secrets" => self.secrets(name, ov, gv),
                "depends_on" => self.depends_on(name, ov, gv, project),
                "healthcheck" => self.healthcheck(name, ov, gv),
                "read_only" | "security_opt" | "cap_drop" => self.purpose("hardening", at(key)),
                "tmpfs" => self.tmpfs(name, ov, gv),
                "labels" => self.labels(name, ov, gv),
                "deploy" => self.deploy(name, ov, gv),
                "scale" | "mem_limit" | "cpus" | "pids_limit" | "mem_reservation" => {
                    self.short_resource(name, key, ov, g)
                }
                _ => self.must_be_reported(&at(key), ov, gv),
            }
        }
        self.published(name, o, g);
        for (key, gv) in gm {
            if om.get(key).is_some_and(|v| !v.is_null()) || gv.is_null() {
                continue;
            }
            match (key.as_str(), added_on_purpose(key)) {
                ("image", _) if o.get("build").is_some() => {
                    self.purpose("built-image-named", at(key))
                }
                ("user", _) if o.get("build").is_none() => self.differ(at(key), &Value::Null, gv),
                (_, Some(category)) => self.purpose(category, at(key)),
                ("healthcheck", _) => self.filled(name, gv),
                ("expose" | "ports", _) => {}
                ("networks", _) => self.require_reported(&at("network_mode"), gv),
                _ => self.differ(at(key), &Value::Null, gv),
            }
        }
    }

    fn require_reported(&mut self, key: &str, gv: &Value) {
        self.must_be_reported(key, &Value::Null, gv);
    }

    fn build(&mut self, name: &str, o: &Value, g: &Value) {
        let at = format!("services.{name}.build");
        if g.is_null() {
            return self.must_be_reported(&at, o, g);
        }
        if o["context"] != g["context"] {
            self.must_be_reported(&format!("{at}.context"), &o["context"], &g["context"]);
        }
        if dockerfile(o) != dockerfile(g) {
            self.differ(
                format!("{at}.dockerfile"),
                &o["dockerfile"],
                &g["dockerfile"],
            );
        }
        for (key, v) in o.as_object().unwrap() {
            if !["context", "dockerfile"].contains(&key.as_str()) && get(g, key) != v {
                self.must_be_reported(&format!("{at}.{key}"), v, get(g, key));
            }
        }
    }

    /// Published ports and exposed ones together: a port Compose gave a
    /// random host port is only exposed in the model (and reported).
    fn published(&mut self, name: &str, o: &Value, g: &Value) {
        let (op, gp) = (ports(get(o, "ports")), ports(get(g, "ports")));
        for p in op.difference(&gp) {
            let random = p.1.is_empty();
            let key = format!("services.{name}.ports");
            if !(random && self.reported(&key)) {
                self.differ(key, &Value::String(format!("{p:?}")), get(g, "ports"));
            }
        }
        for p in gp.difference(&op) {
            self.differ(
                format!("services.{name}.ports"),
                get(o, "ports"),
                &Value::String(format!("{p:?}")),
            );
        }
        let mut oe = exposed(get(o, "expose"));
        for p in op.iter().filter(|p| p.1.is_empty()) {
            oe.insert(format!("{}/{}", p.0, p.3));
        }
        let ge = exposed(get(g, "expose"));
        if oe != ge {
            self.differ(
                format!("services.{name}.expose"),
                get(o, "expose"),
                get(g, "expose"),
            );
        }
    }

    fn attachments(&mut self, name: &str, o: &Value, g: &Value) {
        let keys = |v: &Value| -> BTreeSet<String> {
            v.as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k.clone())
                .collect()
        };
        if keys(o) != keys(g) {
            self.differ(format!("services.{name}.networks"), o, g);
        }
        for (key, settings) in o.as_object().into_iter().flatten() {
            if !settings.is_null() {
                let at = format!("services.{name}.networks.{key}");
                self.must_be_reported(&at, settings, &g[key]);
            }
        }
    }

    fn mounts(&mut self, name: &str, o: &Value, g: &Value) {
        let named = |m: &Value| {
            (
                m["source"].clone(),
                m["target"].clone(),
                m["read_only"] == true,
            )
        };
        let gen: Vec<_> = (get(g, "volumes").as_array().into_iter().flatten())
            .map(named)
            .collect();
        let tmpfs = get(g, "tmpfs");
        for (i, m) in o.as_array().into_iter().flatten().enumerate() {
            let found = match (m["type"].as_str(), m.get("source")) {
                (Some("volume"), Some(_)) => gen.contains(&named(m)),
                (Some("tmpfs"), _) => tmpfs.as_array().is_some_and(|t| t.contains(&m["target"])),
                _ => false,
            };
            if !found {
                let key = format!("services.{name}.volumes[{i}]");
                self.must_be_reported(&key, m, get(g, "volumes"));
            }
        }
    }

    fn environment(&mut self, name: &str, o: &Value, g: &Value) {
        let moved: Vec<&str> = (self.report["secrets"].as_array().unwrap().iter())
            .filter(|s| s["services"].as_array().unwrap().iter().any(|x| x == name))
            .flat_map(|s| {
                s["was"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(Value::as_str)
            })
            .collect();
        let empty = Map::new();
        let (om, gm) = (
            o.as_object().unwrap_or(&empty),
            g.as_object().unwrap_or(&empty),
        );
        for (var, value) in om {
            let key = format!("services.{name}.environment.{var}");
            match gm.get(var) {
                None => self.must_be_reported(&key, value, &Value::Null),
                Some(_) if moved.contains(&var.as_str()) => {} // a secret: its value is new
                Some(gv) if gv != value => self.differ(key, value, gv),
                Some(_) => {}
            }
        }
        for var in gm.keys().filter(|v| !om.contains_key(*v)) {
            self.differ(
                format!("services.{name}.environment.{var}"),
                &Value::Null,
                &gm[var],
            );
        }
    }

    fn secrets(&mut self, name: &str, o: &Value, g: &Value) {
        let targets = |v: &Value| -> BTreeSet<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .map(secret_target)
                .collect()
        };
        if targets(o) != targets(g) {
            self.differ(format!("services.{name}.secrets"), o, g);
        }
        for (i, u) in o.as_array().into_iter().flatten().enumerate() {
            for key in u.as_object().unwrap().keys() {
                if !["source", "target"].contains(&key.as_str()) {
                    let at = format!("services.{name}.secrets[{i}].{key}");
                    self.must_be_reported(&at, &u[key], &Value::Null);
                }
            }
        }
    }

    fn depends_on(&mut self, name: &str, o: &Value, g: &Value, project: &Value) {
        let empty = Map::new();
        let (om, gm) = (
            o.as_object().unwrap_or(&empty),
            g.as_object().unwrap_or(&empty),
        );
        let (ok, gk): (BTreeSet<_>, BTreeSet<_>) = (om.keys().collect(), gm.keys().collect());
        if ok != gk {
            return self.differ(format!("services.{name}.depends_on"), o, g);
        }
        for (dep, od) in om {
            let gd = &gm[dep];
            let at = format!("services.{name}.depends_on.{dep}");
            let (oc, gc) = (&od["condition"], &gd["condition"]);
            let healthy_now = oc == "service_started" && gc == "service_healthy";
            let waits = healthy_now && project["services"][dep]["healthcheck"].is_object();
            if healthy_now {
                // On purpose when the target has a check (own or filled).
                match waits || self.was_filled(dep) {
                    true => self.purpose("waits-healthy", format!("{at}.condition")),
                    false => self.differ(format!("{at}.condition"), oc, gc),
                }
            } else if oc != gc {
                self.differ(format!("{at}.condition"), oc, gc);
            }
            for key in ["required", "restart"] {
                if od[key] != gd[key] {
                    self.must_be_reported(&format!("{at}.{key}"), &od[key], &gd[key]);
                }
            }
        }
    }

    fn was_filled(&self, service: &str) -> bool {
        (self.report["filled"].as_array().unwrap().iter())
            .any(|f| f["service"] == service && f["key"] == "health")
    }

    fn filled(&mut self, name: &str, g: &Value) {
        match self.was_filled(name) {
            true => self.purpose("health-filled", format!("services.{name}.healthcheck")),
            false => self.differ(format!("services.{name}.healthcheck"), &Value::Null, g),
        }
    }

    fn healthcheck(&mut self, name: &str, o: &Value, g: &Value) {
        let at = format!("services.{name}.healthcheck");
        if o["disable"] == true {
            if !g.is_null() {
                self.differ(at, o, g);
            }
            return;
        }
        let test: Vec<&str> = (o["test"].as_array().into_iter().flatten())
            .filter_map(Value::as_str)
            .collect();
        let expected: Vec<&str> = match test.as_slice() {
            ["CMD-SHELL", command] => vec!["CMD", "/bin/sh", "-c", command],
            other => other.to_vec(),
        };
        let got: Vec<&str> = (g["test"].as_array().into_iter().flatten())
            .filter_map(Value::as_str)
            .collect();
        if got != expected {
            return self.differ(format!("{at}.test"), &o["test"], &g["test"]);
        }
        if test.first() == Some(&"CMD-SHELL") {
            self.purpose("health-exec", format!("{at}.test"));
        }
        for (key, v) in o.as_object().unwrap() {
            if key == "test" || get(g, key) == v {
                continue;
            }
            match ["interval", "timeout", "retries", "start_period"].contains(&key.as_str()) {
                true => self.differ(format!("{at}.{key}"), v, get(g, key)),
                false => self.must_be_reported(&format!("{at}.{key}"), v, get(g, key)),
            }
        }
        if g.as_object()
            .unwrap()
            .keys()
            .any(|k| o.get(k).is_none() && k != "test")
        {
            self.purpose("health-exec", at);
        }
    }

    fn tmpfs(&mut self, name: &str, o: &Value, g: &Value) {
        for (i, t) in o.as_array().into_iter().flatten().enumerate() {
            let path = t.as_str().unwrap_or("").split(':').next().unwrap_or("");
            let kept = g.as_array().is_some_and(|g| g.iter().any(|x| x == path));
            let with_options = t.as_str().is_some_and(|t| t.contains(':'));
            if !kept || with_options {
                self.must_be_reported(&format!("services.{name}.tmpfs[{i}]"), t, g);
            }
        }
        self.purpose("hardening", format!("services.{name}.tmpfs"));
    }

    fn labels(&mut self, name: &str, o: &Value, g: &Value) {
        for (k, v) in o.as_object().into_iter().flatten() {
            if &g[k] != v {
                self.differ(format!("services.{name}.labels.{k}"), v, &g[k]);
            }
        }
        self.purpose("labels-platform", format!("services.{name}.labels"));
    }

    /// Compose's short forms against the generated `deploy`.
    fn short_resource(&mut self, name: &str, key: &str, o: &Value, g: &Value) {
        let path: &[&str] = match key {
            "scale" => &["replicas"],
            "mem_limit" => &["resources", "limits", "memory"],
            "cpus" => &["resources", "limits", "cpus"],
            "pids_limit" => &["resources", "limits", "pids"],
            _ => &["resources", "reservations", "memory"],
        };
        let generated = (path.iter()).fold(get(g, "deploy").clone(), |v, p| get(&v, p).clone());
        let number = |v: &Value| {
            v.as_f64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        };
        if number(o) != number(&generated) {
            self.differ(format!("services.{name}.{key}"), o, &generated);
        }
    }

    fn deploy(&mut self, name: &str, o: &Value, g: &Value) {
        let at = format!("services.{name}.deploy");
        for path in [
            ["replicas", "", ""],
            ["resources", "limits", "memory"],
            ["resources", "limits", "cpus"],
            ["resources", "reservations", "memory"],
        ] {
            let pick = |v: &Value| {
                (path.iter().filter(|p| !p.is_empty())).fold(v.clone(), |v, p| get(&v, p).clone())
            };
            if pick(o) != pick(g) && !pick(o).is_null() {
                self.differ(format!("{at}.{}", path.join(".")), &pick(o), &pick(g));
            }
        }
        self.purpose("hardening", at);
    }
}

/// The comparison fails on what it should: a variable, a port or a
/// volume gone without a report line, an image changed; and accepts the
/// same loss once the report lists it.
#[test]
fn the_comparison_fails_on_an_unreported_difference() {
    let original = serde_json::json!({"name": "p", "services": {"web": {
        "image": "nginx:1", "environment": {"A": "1", "B": "2"},
        "ports": [{"target": 80, "published": "8080", "protocol": "tcp"}],
        "volumes": [{"type": "bind", "source": "/x", "target": "/y"}],
        "container_name": "web"}}});
    let generated = serde_json::json!({"name": "p", "services": {"web": {
        "image": "nginx:2", "environment": {"A": "1"}, "read_only": true}}});
    let empty =
        serde_json::json!({"not_expressible": [], "secrets": [], "notes": [], "filled": []});
    let mut v = Verdict::new(&empty);
    v.project(&original, &generated);
    let problems = v.problems().join("\n");
    for expected in [
        "services.web.image",
        "services.web.environment.B",
        "services.web.ports",
        "services.web.volumes[0]",
        "services.web.container_name",
        "on purpose (hardening) but the report does not say so",
    ] {
        assert!(
            problems.contains(expected),
            "{expected} missing from:\n{problems}"
        );
    }
    let listed = serde_json::json!({"secrets": [], "filled": [],
        "notes": [{"text": "every service runs hardened: ..."}],
        "not_expressible": [{"key": "services.web.environment.B"}, {"key": "services.web.volumes[0]"},
                            {"key": "services.web.container_name"}]});
    let mut v = Verdict::new(&listed);
    let generated = serde_json::json!({"name": "p", "services": {"web": {
        "image": "nginx:1", "environment": {"A": "1"}, "read_only": true,
        "ports": [{"target": 80, "published": "8080", "protocol": "tcp"}]}}});
    v.project(&original, &generated);
    assert_eq!(v.problems(), Vec::<String>::new());
}
