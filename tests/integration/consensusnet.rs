//! The ConsensusNet example (seed 004, `examples/consensusnet/`): its
//! committed `generated/` fresh and snapshotted, every file through
//! `verify`, the dev and prod compose files equal but for environment,
//! volumes and build-vs-pull (read back through `docker compose config`),
//! replicas and variants refused where they cannot work, and the whole
//! system up as stand-ins with three agent replicas, each one checked.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{repo_root, stderr, stdout, OutputBounded, Project};
use crate::generated::{gallery, render_model};

/// The operator's values and where Compose finds the source tree: what
/// every Compose-reading command of the example needs.
fn operator_env(generated: &Path) -> Vec<(&'static str, String)> {
    vec![
        (
            "CONSENSUSNET_DATABASE_URL",
            "postgresql://cn-operator-user-8d2f:operator-db-pass-41c7@db.example.internal:25060/consensusnet?sslmode=require".into(),
        ),
        // The development database's own (the managed one's is in the URL).
        ("CONSENSUSNET_DB_PASSWORD", "operator-dev-db-pass-5e03".into()),
        ("CONSENSUSNET_OPENAI_API_KEY", "sk-operator-test-key".into()),
        ("DB_HOST", "db.example.internal".into()),
        ("DB_PORT", "25060".into()),
        ("SOURCE_DIR", "/nonexistent/consensusnet-src".into()),
        ("GENERATED_DIR", generated.display().to_string()),
    ]
}

fn example() -> PathBuf {
    repo_root().join("examples/consensusnet")
}

/// A scratch copy of the example's model with the operator's TLS
/// certificate and key where the model reads them.
fn project() -> Project {
    let p = Project::from_model(&example().join("model"));
    crate::common::operator_tls(p.dir.path());
    p
}

#[test]
fn committed_generated_dir_is_fresh_and_holds_no_secret() {
    let (outputs, _) = render_model(&example().join("model"), 0);
    let root = example().join("generated");
    let mut stale = Vec::new();
    for (path, file) in &outputs {
        let on_disk = std::fs::read_to_string(root.join(path)).ok();
        match (file.secret, on_disk) {
            // Secret-bearing files are rendered on each machine, never committed.
            (true, _) => {}
            (false, Some(text)) if text == file.text => {}
            _ => stale.push(path.display().to_string()),
        }
    }
    assert!(
        stale.is_empty(),
        "examples/consensusnet/generated is stale in {stale:?}: run `cargo run -- all \
         --model examples/consensusnet/model --out examples/consensusnet/generated \
         --insecure-secret-seed 0` and commit the result"
    );
    let tracked = Command::new("git")
        .args(["ls-files", "examples/consensusnet/generated"])
        .current_dir(repo_root())
        .output_bounded()
        .unwrap();
    for line in String::from_utf8_lossy(&tracked.stdout).lines() {
        let rel = Path::new(line)
            .strip_prefix("examples/consensusnet/generated")
            .unwrap();
        let file = outputs.get(rel);
        assert!(
            file.is_some_and(|f| !f.secret),
            "{line}: not a public output"
        );
    }
    // Every file, seeded and redacted, for review.
    let (outputs, values) = render_model(&example().join("model"), 42);
    insta::assert_snapshot!("consensusnet_gallery", gallery(&outputs, &values));
}

#[test]
fn dev_and_prod_files_are_named_by_the_model_and_prod_never_builds() {
    let root = example().join("generated");
    let dev = std::fs::read_to_string(root.join("docker-compose.yml")).unwrap();
    let prod = std::fs::read_to_string(root.join("docker-compose.prod.yml")).unwrap();
    assert!(dev.contains("    build:\n"), "{dev}");
    assert!(!prod.contains("build:"), "{prod}");
    assert!(prod.contains("image: \"ghcr.io/hretheum/consensus.net/api:latest\""));
    // Three agent workers, the same in both files.
    for text in [&dev, &prod] {
        assert_eq!(text.matches("      replicas: 3\n").count(), 1, "{text}");
    }
}

/// Seed 004's workflow, rendered from the model: a build-and-push step for
/// exactly the services the model builds, each tagged `latest` and with the
/// commit, then the prod variant's compose file deployed. A deploy naming
/// no variant, or one that builds, is refused where it is written.
#[test]
fn the_workflow_pushes_every_built_image_and_deploys_the_prod_variant() {
    let (outputs, _) = render_model(&example().join("model"), 0);
    let file = outputs
        .get(Path::new(".github/workflows/build-and-deploy.yml"))
        .expect("the workflow is rendered");
    let wf: serde_yaml::Value = serde_yaml::from_str(&file.text).unwrap();
    let model: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(example().join("model/services.yaml")).unwrap(),
    )
    .unwrap();
    let built: Vec<String> = (model["services"].as_mapping().unwrap().iter())
        .filter(|(_, s)| s.get("build").is_some())
        .map(|(name, _)| format!("Build and push {}", name.as_str().unwrap()))
        .collect();
    let build = wf["jobs"]["build"]["steps"].as_sequence().unwrap();
    let pushed: Vec<&serde_yaml::Value> = (build.iter())
        .filter(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("docker/build-push-action@"))
        })
        .collect();
    let names: Vec<&str> = pushed.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, built);
    for step in &pushed {
        let tags: Vec<&str> = step["with"]["tags"].as_str().unwrap().lines().collect();
        assert_eq!(tags.len(), 2, "{tags:?}");
        assert!(
            tags[0].starts_with("ghcr.io/hretheum/consensus.net/") && tags[0].ends_with(":latest")
        );
        assert!(tags[1].ends_with(":${{ github.sha }}"), "{tags:?}");
    }
    let deploy = wf["jobs"]["deploy"]["steps"].as_sequence().unwrap();
    let phase = (deploy.iter())
        .find(|s| s["name"].as_str() == Some("Deploy phase app"))
        .expect("one deploy step for the phase");
    assert_eq!(
        phase["env"]["PHASE_COMPOSE_FILE"],
        "docker-compose.prod.yml"
    );
    let shipped = phase["env"]["PHASE_FILES"].as_str().unwrap();
    assert!(
        shipped.lines().any(|l| l == "docker-compose.prod.yml"),
        "{shipped}"
    );
    assert!(
        !shipped.contains("Dockerfile") && !shipped.contains("secrets/"),
        "{shipped}"
    );
    // Seed 004's "Clean up old images", after every phase is up.
    let last = deploy.last().unwrap();
    assert_eq!(last["name"], "Prune images");
    assert_eq!(last["run"], "ssh deploy \"docker image prune -f\"");

    let refuses = |to: &str, message: &str| {
        let p = project();
        let text = p.read("model/system.yaml");
        p.write(
            "model/system.yaml",
            &text.replacen("        variant: prod\n", to, 1),
        );
        let out = p.run().args(&["check"]).status(1).run();
        let err = stderr(&out);
        assert!(err.contains(&format!("error[variant]: {message}")), "{err}");
        assert!(err.contains("model/system.yaml:"), "{err}");
    };
    refuses(
        "",
        "`system.ci.github.deploy` names no `variant`, and the model has several (dev, prod)",
    );
    refuses(
        "        variant: dev\n",
        "the workflow deploys variant `dev`, whose compose files build images from the source tree",
    );
    refuses("        variant: prd\n", "unknown variant `prd`");
}

/// `check` on the example with `from` replaced by `to` in services.yaml:
/// exit 1, and the diagnostic at its place with its rule.
fn refused(from: &str, to: &str, rule: &str, message: &str) {
    let p = project();
    let text = p.read("model/services.yaml");
    assert!(text.contains(from), "{from}");
    p.write("model/services.yaml", &text.replacen(from, to, 1));
    let out = p.run().args(&["check"]).status(1).run();
    let err = stderr(&out);
    assert!(
        err.contains(&format!("error[{rule}]: {message}")),
        "{rule}: {message}\n{err}"
    );
    assert!(err.contains("model/services.yaml:"), "{err}");
}

#[test]
fn replicas_that_cannot_work_are_refused_where_written() {
    refused(
        "    replicas: 3\n",
        "    replicas: 3\n    ports:\n      - { container: 9000, host: 19000 }\n",
        "port-clash",
        "`agent` runs 3 replicas but publishes host port 19000, which only one container can bind",
    );
    refused(
        "    replicas: 3\n",
        "    replicas: 0\n",
        "invalid-resource",
        "`agent` asks for 0 replicas",
    );
    refused(
        "    replicas: 3\n",
        "    replicas: 3\n    run_once: true\n",
        "one-shot",
        "one-shot service `agent` cannot run 3 replicas: it runs once",
    );
}

/// Seed 004's development frontend (Dockerfile.frontend.dev): variant
/// `dev` builds the generated Dockerfile's `dev` stage (`next dev`, every
/// dependency), tagged apart from the pushed image, with NODE_ENV
/// development, `./frontend` mounted over `/app` and `/app/node_modules`
/// kept in a volume; prod pulls the pushed production image as before.
#[test]
fn the_dev_variant_runs_the_frontends_next_dev_stage_over_the_mounted_source() {
    let root = example().join("generated");
    let read = |f: &str| -> serde_yaml::Value {
        serde_yaml::from_str(&std::fs::read_to_string(root.join(f)).unwrap()).unwrap()
    };
    let (dev, prod) = (read("docker-compose.yml"), read("docker-compose.prod.yml"));
    let f = &dev["services"]["frontend"];
    assert_eq!(
        f["image"],
        "ghcr.io/hretheum/consensus.net/frontend:latest-dev"
    );
    assert_eq!(f["build"]["target"], "dev");
    assert_eq!(f["environment"]["NODE_ENV"], "development");
    let volumes = f["volumes"].as_sequence().unwrap();
    let mount = |target: &str| volumes.iter().find(|v| v["target"] == target).unwrap();
    assert_eq!(mount("/app")["type"], "bind");
    assert_eq!(mount("/app")["read_only"], false);
    assert!(mount("/app")["source"]
        .as_str()
        .unwrap()
        .ends_with("}/frontend"));
    assert_eq!(mount("/app/node_modules")["type"], "volume");
    let p = &prod["services"]["frontend"];
    assert_eq!(p["image"], "ghcr.io/hretheum/consensus.net/frontend:latest");
    assert_eq!(p["environment"]["NODE_ENV"], "production");
    assert!(
        p.get("build").is_none() && p.get("volumes").is_none(),
        "{p:?}"
    );
    // The Dockerfile: a `dev` stage running `next dev`, the runtime last.
    let dockerfile =
        std::fs::read_to_string(root.join("dockerfiles/services/frontend/Dockerfile")).unwrap();
    let dev_at = dockerfile.find("AS dev\n").expect("a dev stage");
    let runtime_at = dockerfile.rfind("\nFROM ").unwrap();
    assert!(dev_at < runtime_at, "{dockerfile}");
    assert!(dockerfile[dev_at..runtime_at].contains("next\", \"dev\", \"--port\""));
    assert!(dockerfile[runtime_at..].contains("\"start\""));
}

#[test]
fn a_dev_stage_is_refused_where_it_cannot_be_built() {
    refused(
        "      dev_entrypoint: [node, node_modules/next/dist/bin/next, dev, --port, \"3000\"]\n",
        "",
        "variant",
        "variant `dev` runs the `dev` stage of service `frontend`, whose build has no `dev_entrypoint`",
    );
    refused(
        "      prod:\n        # Seed 004's production file: `NODE_ENV",
        "      prod:\n        dev_stage: true\n        # Seed 004's production file: `NODE_ENV",
        "variant",
        "variant `prod` runs the `dev` stage of service `frontend` but pulls its images",
    );
    // The API built from the `python` stack instead of the seed's
    // Dockerfile.api: a development server there has no stage to run in.
    refused(
        "      dockerfile: Dockerfile.api\n      context: .\n",
        "      stack: python\n      context: .\n      builder: python:3.11-slim\n      runtime: python:3.11-slim\n      entrypoint: [python3, -m, uvicorn]\n      dev_entrypoint: [python3, -m, uvicorn]\n",
        "invalid-build",
        "`dev_entrypoint` needs a service built by the `node` stack",
    );
    // Beside the seed's hand-written Dockerfile.api it would do nothing.
    refused(
        "      dockerfile: Dockerfile.api\n",
        "      dockerfile: Dockerfile.api\n      dev_entrypoint: [uvicorn, --reload]\n",
        "invalid-build",
        "`dev_entrypoint` has no effect on a build with a hand-written `dockerfile`",
    );
}

#[test]
fn variant_overrides_are_refused_when_they_name_no_variant_or_repeat_the_base() {
    refused(
        "      prod:\n        environment: { ENV: production }\n",
        "      staging:\n        environment: { ENV: production }\n",
        "variant",
        "unknown variant `staging`: the top-level `variants` does not declare it",
    );
    refused(
        "    user: \"1000:1000\"\n",
        "    user: \"1000:1000\"\n    environment: { NODE_ENV: shared }\n",
        "variant",
        "`frontend` sets `NODE_ENV` in its `environment` and again in variant `dev`",
    );
    // The whole-model rules see each variant's additions too.
    refused(
        "        environment: { ENV: production }\n",
        "        environment: { ENV: production, DB_HOST: db.internal }\n",
        "env-conflict",
        "`api` sets `DB_HOST` in its environment, which Compose fills with where external service `postgres` is",
    );
    refused(
        "          - { name: redis-dev-data, target: /data }\n",
        "          - { name: redis-dev-data, target: /usr/local/etc/redis/redis.conf }\n",
        "variant",
        "variant `dev` of `redis` mounts a volume at `/usr/local/etc/redis/redis.conf`, where the service already mounts one",
    );
}

#[test]
fn deploy_of_the_prod_variant_ships_the_prod_file_and_no_dockerfile() {
    let p = project();
    crate::common::add_test_host(&p);
    let mut all = p.run().args(&["all"]);
    for (k, v) in operator_env(Path::new("/unused")) {
        all = all.env(k, &v);
    }
    all.run();
    let deploy = |variant: &str| {
        let mut t = p
            .run()
            .args(&["deploy", "--host", "box", "--dry-run", "--variant", variant]);
        for (k, v) in operator_env(Path::new("/unused")) {
            t = t.env(k, &v);
        }
        t
    };
    let out = deploy("prod").run();
    let text = stdout(&out);
    assert!(
        text.contains("/docker-compose.prod.yml up -d --wait --wait-timeout 600"),
        "{text}"
    );
    assert!(!text.contains("docker-compose.yml"), "{text}");
    assert!(!text.contains("Dockerfile"), "{text}");
    deploy("staging")
        .status(2)
        .stderr_has("unknown variant `staging`; the model's variants are: dev, prod")
        .run();
}

/// The tests of this family that need Docker or the tools
/// `.ci/install-*.sh` installs (the Docker tier: `--features docker`).
#[cfg(feature = "docker")]
mod docker_tier {
    use super::*;
    use crate::common::need;
    use crate::common::unique_name;
    use crate::common::Down;
    use serde_json::Value;
    use std::collections::BTreeMap;
    use std::time::Duration;

    /// `docker compose config --format json` of one generated file.
    fn compose_config(generated: &Path, file: &str) -> Value {
        let mut cmd = Command::new("docker");
        cmd.args(["compose", "-f", file, "config", "--format", "json"])
            .current_dir(generated);
        for (k, v) in operator_env(generated) {
            cmd.env(k, v);
        }
        let out = cmd.output_bounded().expect("docker compose");
        assert!(out.status.success(), "{file}: {}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }
    /// A service as Compose reads it, without what variants may change: its
    /// environment, volumes, build, published ports (a port published is
    /// not also `expose`d) and the hash labels derived from them.
    fn invariant_part(service: &Value) -> Value {
        let mut s = service.clone();
        let map = s.as_object_mut().unwrap();
        // Building comes with `pull_policy: build` (never pull what the
        // registry holds under the same name).
        for key in [
            "environment",
            "volumes",
            "build",
            "pull_policy",
            "ports",
            "expose",
        ] {
            map.remove(key);
        }
        if let Some(labels) = map.get_mut("labels").and_then(Value::as_object_mut) {
            labels.remove("lucid-gen.hash.env");
            labels.remove("lucid-gen.hash.config");
            labels.remove("lucid-gen.hash.ports");
        }
        s
    }
    /// Rows of `lucid-gen test`'s table whose first column is `kind`.
    fn rows<'t>(table: &'t str, kind: &str) -> Vec<&'t str> {
        table
            .lines()
            .filter(|l| l.split_whitespace().next() == Some(kind))
            .collect()
    }
    // ------------------------------------------------ real servers (Debian)

    /// The example rendered with `all` in a scratch project (store included),
    /// the operator's variables set as given.
    fn rendered(env: &[(&'static str, String)]) -> Project {
        let p = project();
        let mut t = p.run().args(&["all"]);
        for (k, v) in env {
            t = t.env(k, v);
        }
        t.run();
        p
    }
    /// A JSON array of strings as a vector.
    fn strings(v: &Value) -> Vec<String> {
        (v.as_array().unwrap().iter())
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    }
    /// A Docker network removed when dropped.
    struct Network(String);

    /// The real nginx (Debian's) with the generated nginx.conf, run as the
    /// generated compose file runs it, on the stand-ins' edge network and
    /// published on a loopback port: `/healthz` is its own answer, `/api/…`
    /// reaches the API stand-in (its body `ok`), and nginx's own 502 (or 504)
    /// once the API stand-in is stopped proves the answer came from there.
    fn real_nginx_proxies_to_the_api_stand_in(
        p: &Project,
        env: &[(&'static str, String)],
        project: &str,
    ) {
        let generated = p.path("generated");
        let mut cmd = Command::new("docker");
        cmd.args([
            "compose",
            "-f",
            "docker-compose.yml",
            "config",
            "--format",
            "json",
        ])
        .current_dir(&generated);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = crate::docker_tier::realserver::run(&mut cmd);
        assert!(out.status.success(), "{}", stderr(&out));
        let nginx =
            serde_json::from_slice::<Value>(&out.stdout).unwrap()["services"]["nginx"].clone();
        let target = nginx["configs"][0]["target"].as_str().unwrap().to_string();
        let conf = generated.join("configs/files/nginx/etc/nginx/nginx.conf");
        let port = nginx["ports"][0]["target"].as_u64().unwrap();
        let name = unique_name("i12-consensus-nginx");
        let mut args = vec![
            "--network".into(),
            "consensusnet-edge".into(),
            "-p".into(),
            format!("127.0.0.1::{port}"),
            "-v".into(),
            format!("{}:{target}:ro", conf.display()),
        ];
        // The operator's certificate and key, where Compose mounts them.
        for secret in nginx["secrets"].as_array().unwrap() {
            let file = generated
                .join("secrets/files")
                .join(secret["source"].as_str().unwrap());
            args.push("-v".into());
            args.push(format!(
                "{}:{}:ro",
                file.display(),
                secret["target"].as_str().unwrap()
            ));
        }
        let c = run_debian(
            &name,
            nginx["user"].as_str().unwrap(),
            &args,
            &strings(&nginx["entrypoint"]),
        );
        let published = crate::docker_tier::realserver::run(Command::new("docker").args([
            "port",
            &c.0,
            &port.to_string(),
        ]));
        let address = String::from_utf8_lossy(&published.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        let get = |path: &str| -> Result<String, String> {
            use std::io::{Read, Write};
            let mut s = std::net::TcpStream::connect(&address).map_err(|e| e.to_string())?;
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n")
                .map_err(|e| e.to_string())?;
            let mut text = String::new();
            s.read_to_string(&mut text).map_err(|e| e.to_string())?;
            Ok(text)
        };
        let health = crate::docker_tier::realserver::wait_for(Duration::from_secs(30), || {
            get("/healthz").and_then(|t| {
                if t.starts_with("HTTP/1.1 200") {
                    Ok(t)
                } else {
                    Err(t)
                }
            })
        });
        assert!(health.is_ok(), "{health:?}");
        let through = get("/api/health").unwrap();
        assert!(through.starts_with("HTTP/1.1 200"), "{through}");
        assert!(through.contains("Server: nginx"), "{through}");
        assert!(
            through.ends_with("\r\n\r\nok"),
            "the API stand-in's body: {through}"
        );
        nginx_answers_https_and_redirects(&c.0);
        let api = format!("{project}-api-1");
        let stopped = crate::docker_tier::realserver::run(
            Command::new("docker").args(["stop", "-t", "1", &api]),
        );
        assert!(stopped.status.success(), "{}", stderr(&stopped));
        let without = get("/api/health").unwrap();
        // 502 (unreachable) or 504 (connect timed out): nginx's own error,
        // not the stand-in's 200.
        assert!(
            without.starts_with("HTTP/1.1 502") || without.starts_with("HTTP/1.1 504"),
            "{without}"
        );
        let started =
            crate::docker_tier::realserver::run(Command::new("docker").args(["start", &api]));
        assert!(started.status.success(), "{}", stderr(&started));
    }
    /// Inside the running nginx: its `listen 443 ssl` server (8443) answers
    /// `/api/…` with the API stand-in's body over TLS, the certificate
    /// checked against the operator's own (self-signed at test time), and
    /// its redirect listener (8081, what prod publishes on 80) sends the
    /// same path to https.
    fn nginx_answers_https_and_redirects(container: &str) {
        let exec = |args: &[&str]| {
            crate::docker_tier::realserver::run(
                Command::new("docker").args(["exec", container]).args(args),
            )
        };
        let https = exec(&[
            "wget",
            "-q",
            "-O",
            "-",
            "--ca-certificate=/run/secrets/TLS_CERT",
            "https://127.0.0.1:8443/api/health",
        ]);
        assert!(https.status.success(), "{}", stderr(&https));
        assert_eq!(stdout(&https), "ok", "the API stand-in's body over TLS");
        let plain = exec(&[
            "wget",
            "-S",
            "--max-redirect=0",
            "-O",
            "/dev/null",
            "http://127.0.0.1:8081/api/health?x=1",
        ]);
        let headers = stderr(&plain);
        assert!(headers.contains(" 301 "), "{headers}");
        assert!(
            headers.contains("Location: https://127.0.0.1/api/health?x=1"),
            "{headers}"
        );
    }
    /// `docker run -d` of the Debian image as the generated compose file runs
    /// `service` (its user, read-only root, tmpfs `/tmp`, no capabilities),
    /// with `extra` arguments before the image and `command` after it.
    fn run_debian(
        name: &str,
        user: &str,
        extra: &[String],
        command: &[String],
    ) -> crate::docker_tier::realserver::Container {
        let image = crate::docker_tier::realserver::debian_image();
        let out = crate::docker_tier::realserver::run(
            Command::new("docker")
                .args([
                    "run",
                    "-d",
                    "--name",
                    name,
                    "--read-only",
                    "--tmpfs",
                    "/tmp",
                ])
                .args([
                    "--cap-drop",
                    "ALL",
                    "--security-opt",
                    "no-new-privileges:true",
                ])
                .args(["--user", user])
                .args(extra)
                .arg(image)
                .args(command),
        );
        assert!(out.status.success(), "docker run {name}: {}", stderr(&out));
        crate::docker_tier::realserver::Container(name.to_string())
    }
    impl Drop for Network {
        fn drop(&mut self) {
            let _ = crate::docker_tier::realserver::run(
                Command::new("docker").args(["network", "rm", &self.0]),
            );
        }
    }
    /// `psql` from `client` to the database as the API would connect: host,
    /// port and user/password/database given on stdin (never a command line);
    /// returns (exit code, output).
    fn psql(
        client: &str,
        host: &str,
        port: &str,
        user: &str,
        password: &str,
        db: &str,
    ) -> (i32, String) {
        let script = r#"read -r h; read -r p; read -r u; read -r pw; read -r d
    PGPASSWORD="$pw" PGCONNECT_TIMEOUT=5 psql "host=$h port=$p user=$u dbname=$d" -tAc 'select current_user, current_database()' 2>&1"#;
        let input = format!("{host}\n{port}\n{user}\n{password}\n{db}\n");
        crate::docker_tier::realserver::exec_stdin(
            client,
            input.as_bytes(),
            &["bash", "-c", script],
        )
    }

    /// Where prod's Grafana reads its admin password (seed 004's
    /// GF_SECURITY_ADMIN_PASSWORD, as a file).
    fn prod_s_grafana_password(prod: &Value) -> &str {
        prod["services"]["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD__FILE"]
            .as_str()
            .unwrap()
    }

    #[test]
    fn dev_and_prod_differ_only_in_environment_volumes_and_build() {
        need(
            crate::common::compose_available(),
            "Docker Compose v2 (`docker compose`)",
        );
        // Rendered afresh: the committed `generated/` holds no secret env
        // file (a fresh clone has none), and Compose reads every env file.
        let p = project();
        let generated = p.path("generated");
        let mut all = p.run().args(&["all", "--insecure-secret-seed", "1"]);
        for (k, v) in operator_env(&generated) {
            all = all.env(k, &v);
        }
        all.run();
        let dev = compose_config(&generated, "docker-compose.yml");
        let prod = compose_config(&generated, "docker-compose.prod.yml");
        let services = |c: &Value| c["services"].as_object().unwrap().clone();
        let (mut dev_s, prod_s) = (services(&dev), services(&prod));
        // Seed 004's development database exists in dev only (production's
        // is managed); with it, its volume.
        let db = dev_s
            .remove("db")
            .expect("dev runs the development database");
        assert_eq!(db["image"], "postgres:15-alpine");
        assert_eq!(db["ports"][0]["published"], "5432");
        assert_eq!(db["environment"]["POSTGRES_DB"], "consensusnet");
        assert_eq!(db["environment"]["POSTGRES_USER"], "consensus");
        assert!(dev["volumes"].get("postgres-data").is_some());
        assert!(prod["volumes"].get("postgres-data").is_none());
        // Seed 004's monitoring containers exist in production only.
        let mut prod_s = prod_s;
        for monitoring in ["prometheus", "grafana"] {
            let s = prod_s
                .remove(monitoring)
                .unwrap_or_else(|| panic!("prod runs {monitoring}"));
            // Published nowhere, as in the seed.
            assert!(s.get("ports").is_none(), "{monitoring}: {s}");
            assert!(dev["volumes"].get(format!("{monitoring}-data")).is_none());
            assert!(prod["volumes"].get(format!("{monitoring}-data")).is_some());
        }
        assert_eq!(
            prod_s_grafana_password(&prod),
            "/run/secrets/GRAFANA_PASSWORD"
        );
        let names = |m: &serde_json::Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
        assert_eq!(names(&dev_s), names(&prod_s), "otherwise the same services");
        assert_eq!(dev["networks"], prod["networks"], "the same networks");
        let mut differ: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for (name, d) in &dev_s {
            let p = &prod_s[name];
            // Seed 004's development file publishes the API, the frontend
            // and Redis; production publishes nginx alone, as dev does.
            let published = |c: &Value| (c.get("ports").cloned()).unwrap_or(Value::Null);
            match name.as_str() {
                "api" | "frontend" | "redis" => {
                    assert!(p.get("ports").is_none(), "{name}: prod publishes nothing");
                    let port = &published(d)[0];
                    assert_eq!(port["published"], port["target"].to_string(), "{name}");
                    assert!(port.get("host_ip").is_none(), "{name}: every interface");
                }
                // Plain HTTP on 80 in dev (seed 004's nginx.dev.conf); in
                // prod 80 redirects (8081) and 443 is TLS (8443).
                "nginx" => {
                    let ports = |c: &Value| {
                        (published(c).as_array().unwrap().iter())
                            .map(|p| {
                                format!("{}:{}", p["published"].as_str().unwrap(), p["target"])
                            })
                            .collect::<Vec<_>>()
                    };
                    assert_eq!(ports(d), ["80:8080"]);
                    assert_eq!(ports(p), ["80:8081", "443:8443"]);
                    assert_eq!(d["secrets"], p["secrets"], "the same certificate and key");
                }
                _ => assert_eq!(published(d), published(p), "{name}: the same ports"),
            }
            // Seed 004's development frontend is its own image (the
            // Dockerfile's `dev` stage, `next dev`), tagged apart.
            let image = match name.as_str() {
                "frontend" => format!("{}-dev", p["image"].as_str().unwrap()),
                _ => p["image"].as_str().unwrap().to_string(),
            };
            assert_eq!(d["image"], image.as_str(), "{name}: the same image");
            let (mut di, mut pi) = (invariant_part(d), invariant_part(p));
            if name == "frontend" {
                for v in [&mut di, &mut pi] {
                    v.as_object_mut().unwrap().remove("image");
                    let labels = v["labels"].as_object_mut().unwrap();
                    labels.remove("lucid-gen.hash.image");
                }
            }
            assert_eq!(di, pi, "{name}");
            for key in ["environment", "volumes", "build"] {
                if d.get(key) != p.get(key) {
                    differ.entry(name.clone()).or_default().push(key);
                }
            }
            assert!(p.get("build").is_none(), "{name}: prod pulls");
            assert!(p.get("pull_policy").is_none(), "{name}: prod pulls");
            let built = d.get("build").is_some();
            assert_eq!(
                d.get("pull_policy").is_some_and(|v| v == "build"),
                built,
                "{name}"
            );
        }
        // What does differ, and how.
        for built in ["api", "agent", "frontend"] {
            assert!(differ[built].contains(&"build"), "{built}: {differ:?}");
            assert_eq!(
                dev_s[built]["build"]["context"].as_str().unwrap(),
                if built == "frontend" {
                    "/nonexistent/consensusnet-src/frontend"
                } else {
                    "/nonexistent/consensusnet-src"
                }
            );
        }
        assert_eq!(dev_s["api"]["environment"]["ENV"], "development");
        assert_eq!(prod_s["api"]["environment"]["ENV"], "production");
        assert_eq!(differ["redis"], ["volumes"]);
        assert_eq!(differ["frontend"], ["environment", "volumes", "build"]);
        assert_eq!(dev_s["frontend"]["build"]["target"], "dev");
        assert_eq!(dev_s["frontend"]["environment"]["NODE_ENV"], "development");
        assert_eq!(prod_s["frontend"]["environment"]["NODE_ENV"], "production");
        assert!(!differ.contains_key("nginx"), "{differ:?}");
        assert_eq!(dev_s["agent"]["deploy"]["replicas"], 3);
        assert_eq!(prod_s["agent"]["deploy"]["replicas"], 3);
    }

    #[test]
    fn verify_passes_on_every_file_of_every_variant() {
        need(
            crate::common::docker_available(),
            "a running Docker engine with Compose v2",
        );
        let p = project();
        // The seed's own Dockerfiles, at the source tree's root as in the
        // example: `verify` lints them (hadolint) where `build.dockerfile`
        // says they are.
        for file in ["Dockerfile.api", "Dockerfile.agent"] {
            std::fs::copy(example().join(file), p.path(file)).unwrap();
        }
        let generated = p.path("generated");
        let run = |args: &[&str]| {
            let mut t = p.run().args(args);
            for (k, v) in operator_env(&generated) {
                t = t.env(k, &v);
            }
            t
        };
        run(&["all"]).run();
        let out = run(&["verify"]).run();
        let text = stdout(&out);
        for file in [
            "docker-compose.yml",
            "docker-compose.prod.yml",
            "docker-compose.master.yml",
            "docker-compose.master.prod.yml",
            "/Dockerfile.api",
            "/Dockerfile.agent",
            "dockerfiles/services/frontend/Dockerfile",
            ".github/workflows/build-and-deploy.yml",
        ] {
            assert!(
                text.lines()
                    .any(|l| l.starts_with("ok ") && l.ends_with(file)),
                "{file} not verified:\n{text}"
            );
        }
        assert!(text.contains("verify: 8 files, 0 failed"), "{text}");
    }

    #[test]
    fn stand_ins_run_three_agents_and_test_checks_each_replica() {
        let _stack = crate::common::docker_stack();
        need(
            crate::common::docker_available(),
            "a running Docker engine with Compose v2",
        );
        let p = project();
        // Free host ports, each listener held until all are picked so the
        // OS never hands out one port twice.
        let mut held = Vec::new();
        let mut free_port = || {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = l.local_addr().unwrap().port();
            held.push(l);
            port
        };
        // A free host port instead of 80, which this machine may not spare.
        let free = free_port();
        let mut services = p.read("model/services.yaml").replace(
            "host: 80, host_ip: 0.0.0.0 }",
            &format!("host: {free}, host_ip: 127.0.0.1 }}"),
        );
        // The dev variant's published ports (8000, 3000, 6379) likewise.
        for port in [8000, 3000, 6379] {
            let free = free_port();
            let from = format!("{{ container: {port}, host: {port} }}");
            assert!(services.contains(&from), "{from}");
            services = services.replace(
                &from,
                &format!("{{ container: {port}, host: {free}, host_ip: 127.0.0.1 }}"),
            );
        }
        p.write("model/services.yaml", &services);
        let prefix = unique_name("i12-consensus");
        // The "managed database": a listener on the backend network's gateway.
        let db_port = free_port();
        drop(held);
        let mut env = operator_env(&p.path("generated"));
        env.retain(|(k, _)| !k.starts_with("DB_") && *k != "SOURCE_DIR");
        env.push(("DB_HOST", "10.64.2.1".into()));
        env.push(("DB_PORT", db_port.to_string()));
        // The dev variant bind-mounts the source tree's src/ (seed 004's
        // hot reload): Docker refuses a bind whose source does not exist.
        p.write("src/src/main.py", "app = None\n");
        // And the frontend's whole source (seed 004's `./frontend:/app`).
        p.write("src/frontend/package.json", "{}\n");
        env.push(("SOURCE_DIR", p.path("src").display().to_string()));
        let run = |args: &[&str]| {
            let mut t = p.run().args(args);
            for (k, v) in &env {
                t = t.env(k, v);
            }
            t
        };
        run(&["all"]).run();
        let _down = Down {
            project: &p,
            prefix: prefix.clone(),
            env: env.clone(),
        };
        run(&["up", "--stand-ins", "--project", &prefix]).run();
        let _db = std::net::TcpListener::bind(("10.64.2.1", db_port)).unwrap();
        let out = run(&["test", "--project", &prefix]).status_any().run();
        let table = stdout(&out);
        assert!(out.status.success(), "{table}\n{}", stderr(&out));
        let replicas = rows(&table, "replicas");
        assert_eq!(replicas.len(), 1, "{table}");
        // Three containers, all running, as the model declares.
        assert!(replicas[0].ends_with(" ok"), "{table}");
        for n in 1..=3 {
            let agent = format!("agent#{n}");
            let running = rows(&table, "running");
            assert!(
                running
                    .iter()
                    .any(|r| r.contains(&agent) && r.ends_with(" ok")),
                "{agent} not healthy:\n{table}"
            );
            for kind in ["env", "dependency", "external"] {
                assert!(
                    rows(&table, kind).iter().any(|r| r.contains(&agent)),
                    "no {kind} row from {agent}:\n{table}"
                );
            }
            // Each replica by its own address: unreachable from the edge network.
            assert!(
                rows(&table, "isolation-tcp")
                    .iter()
                    .any(|r| r.contains("net consensusnet-edge") && r.contains(&agent)),
                "{agent} not probed from the edge network:\n{table}"
            );
        }
        // Every container's secrets row (one per replica), all as declared.
        assert_eq!(
            rows(&table, "secrets")
                .iter()
                .filter(|r| r.contains("agent"))
                .count(),
            3,
            "{table}"
        );
        let plan = run(&["plan", "--project", &prefix]).run();
        assert!(stdout(&plan).contains("agent"), "{}", stdout(&plan));
        assert!(stdout(&plan).contains("nothing to do"), "{}", stdout(&plan));
        real_nginx_proxies_to_the_api_stand_in(&p, &env, &format!("{prefix}-app"));
        // One replica gone: the replicas row and its own row fail, `plan`
        // would start it again.
        let gone = format!("{prefix}-app-agent-3");
        let stopped = crate::docker_tier::realserver::run(
            Command::new("docker").args(["stop", "-t", "1", &gone]),
        );
        assert!(stopped.status.success(), "{}", stderr(&stopped));
        let out = run(&["test", "--project", &prefix]).status(1).run();
        let table = stdout(&out);
        assert!(rows(&table, "replicas")[0].contains("FAIL"), "{table}");
        assert!(
            (rows(&table, "running").iter()).any(|r| r.contains("agent#3") && r.contains("FAIL")),
            "{table}"
        );
        let plan = run(&["plan", "--project", &prefix]).status(1).run();
        assert!(
            stdout(&plan).contains("start (stopped)"),
            "{}",
            stdout(&plan)
        );
    }

    /// `down --variant prod` of the test's project when dropped.
    struct DownProd<'a> {
        p: &'a Project,
        prefix: String,
        env: Vec<(&'static str, String)>,
    }

    impl Drop for DownProd<'_> {
        fn drop(&mut self) {
            let down = (self.env.iter()).fold(self.p.run(), |t, (k, v)| t.env(k, v));
            let args = [
                "down",
                "--volumes",
                "--variant",
                "prod",
                "--project",
                &self.prefix,
            ];
            let _ = down.args(&args).status_any().run();
        }
    }

    /// The prod variant too comes up as stand-ins and `lucid-gen test`
    /// passes on it: no development database, nothing but nginx published,
    /// Redis on its production volume.
    #[test]
    fn the_prod_variant_comes_up_as_stand_ins_and_test_passes() {
        let _stack = crate::common::docker_stack();
        need(
            crate::common::docker_available(),
            "a running Docker engine with Compose v2",
        );
        let p = project();
        let free = |_| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        };
        let services = (p.read("model/services.yaml"))
            .replace(
                "host: 80, host_ip: 0.0.0.0 }",
                &format!("host: {}, host_ip: 127.0.0.1 }}", free(())),
            )
            .replace(
                "host: 443, host_ip: 0.0.0.0 }",
                &format!("host: {}, host_ip: 127.0.0.1 }}", free(())),
            );
        p.write("model/services.yaml", &services);
        let prefix = unique_name("h26-consensus-prod");
        let db_port = free(());
        let mut env = operator_env(&p.path("generated"));
        env.retain(|(k, _)| !k.starts_with("DB_"));
        env.push(("DB_HOST", "10.64.2.1".into()));
        env.push(("DB_PORT", db_port.to_string()));
        let run = |args: &[&str]| {
            let mut t = p.run().args(args);
            for (k, v) in &env {
                t = t.env(k, v);
            }
            t
        };
        run(&["all"]).run();
        let _down = DownProd {
            p: &p,
            prefix: prefix.clone(),
            env: env.clone(),
        };
        let prod = ["--variant", "prod", "--project", &prefix];
        run(&[&["up", "--stand-ins"][..], &prod[..]].concat()).run();
        let _db = std::net::TcpListener::bind(("10.64.2.1", db_port)).unwrap();
        let out = run(&[&["test"][..], &prod[..]].concat()).status_any().run();
        let table = stdout(&out);
        assert!(out.status.success(), "{table}\n{}", stderr(&out));
        assert!(
            !table.contains(" db"),
            "prod runs no development database:\n{table}"
        );
        let ps = crate::docker_tier::realserver::run(Command::new("docker").args([
            "ps",
            "--filter",
            &format!("label=com.docker.compose.project={prefix}-app"),
            "--format",
            "{{.Names}} {{.Ports}}",
        ]));
        let ps = String::from_utf8_lossy(&ps.stdout).into_owned();
        let published: Vec<&str> = (ps.lines()).filter(|l| l.contains("->")).collect();
        assert_eq!(published.len(), 1, "only nginx publishes:\n{ps}");
        assert!(published[0].contains("nginx"), "{ps}");
        assert!(!ps.contains("-db-"), "{ps}");
    }

    #[test]
    fn real_redis_accepts_the_generated_password_and_its_health_check_answers() {
        let p = rendered(&operator_env(Path::new("/unused")));
        let generated = p.path("generated");
        let redis = &compose_config(&generated, "docker-compose.prod.yml")["services"]["redis"];
        let conf = &redis["secrets"][0];
        let host_file = generated.join("secrets/config/redis/usr/local/etc/redis/redis.conf");
        let target = conf["target"].as_str().unwrap();
        let name = unique_name("i12-consensus-redis");
        let c = run_debian(
            &name,
            redis["user"].as_str().unwrap(),
            &[
                "--network".into(),
                "none".into(),
                "-v".into(),
                format!("{}:{target}:ro", host_file.display()),
            ],
            &strings(&redis["entrypoint"]),
        );
        crate::docker_tier::realserver::redis_answers(&c.0);
        let store = p.read(".lucid-gen/secrets.env");
        let password = (store.lines())
            .find_map(|l| l.strip_prefix("REDIS_PASSWORD="))
            .expect("REDIS_PASSWORD in the store");
        assert_eq!(
            crate::docker_tier::realserver::redis_requires_password(&c.0, password),
            Ok(())
        );
        // The generated health check, exactly as Compose runs it.
        let test = strings(&redis["healthcheck"]["test"]);
        assert_eq!(test[0], "CMD");
        let args: Vec<&str> = test[1..].iter().map(String::as_str).collect();
        let (code, out) = crate::docker_tier::realserver::exec_stdin(&c.0, b"", &args);
        assert_eq!((code, out.trim()), (0, "PONG"));
    }

    #[test]
    fn real_postgres_accepts_the_operator_credentials_the_api_receives() {
        let _stack = crate::common::docker_stack();
        let pg_name = unique_name("i12-consensus-pg");
        let mut env = operator_env(Path::new("/unused"));
        env.retain(|(k, _)| !k.starts_with("DB_") && *k != "CONSENSUSNET_DATABASE_URL");
        env.push(("DB_HOST", pg_name.clone()));
        env.push(("DB_PORT", "5432".into()));
        // DigitalOcean's connection string, as the operator is handed it
        // (the stand-in speaks no TLS: psql below is given its parts).
        let url = format!(
            "postgresql://cn-operator-user-8d2f:operator-db-pass-41c7@{pg_name}:5432/consensusnet?sslmode=require"
        );
        env.push(("CONSENSUSNET_DATABASE_URL", url.clone()));
        let p = rendered(&env);
        let generated = p.path("generated");
        // What the generated files give the API: the managed database's
        // address in its environment (for `lucid-gen test`), DATABASE_URL,
        // whole, in its own secrets env file.
        let mut cmd = Command::new("docker");
        cmd.args([
            "compose",
            "-f",
            "docker-compose.prod.yml",
            "config",
            "--format",
            "json",
        ])
        .current_dir(&generated);
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let out = crate::docker_tier::realserver::run(&mut cmd);
        assert!(out.status.success(), "{}", stderr(&out));
        let api = serde_json::from_slice::<Value>(&out.stdout).unwrap()["services"]["api"].clone();
        assert_eq!(api["environment"]["DB_HOST"], pg_name.as_str());
        let received = (p.read("generated/secrets/env/api.env").lines())
            .find_map(|l| l.strip_prefix("DATABASE_URL="))
            .map(|v| v.trim_matches('"').to_string())
            .expect("DATABASE_URL in the API's secrets env file");
        assert_eq!(received, url);
        let rest = received.strip_prefix("postgresql://").unwrap();
        let (userinfo, rest) = rest.split_once('@').unwrap();
        let (user, password) = userinfo.split_once(':').unwrap();
        let (address, rest) = rest.split_once('/').unwrap();
        let (host, port) = address.split_once(':').unwrap();
        let db = rest.split('?').next().unwrap();
        let (user, password, db) = (user.to_string(), password.to_string(), db.to_string());
        let net = Network(unique_name("i12-consensus-pgnet"));
        let created = crate::docker_tier::realserver::run(
            Command::new("docker").args(["network", "create", &net.0]),
        );
        assert!(created.status.success(), "{}", stderr(&created));
        // The managed database's stand-in: a fresh cluster, remote logins by
        // password (SCRAM), the role and database created at start from the
        // operator's values, fed over stdin.
        let start = r#"set -e; bin=$(echo /usr/lib/postgresql/*/bin)
    "$bin/initdb" -D /tmp/pg -U admin -A trust >/dev/null
    echo 'host all all 0.0.0.0/0 scram-sha-256' >> /tmp/pg/pg_hba.conf
    exec "$bin/postgres" -D /tmp/pg -k /tmp -c listen_addresses='*'"#;
        let pg = run_debian(
            &pg_name,
            "postgres",
            &["--network".into(), net.0.clone()],
            &["bash".into(), "-c".into(), start.into()],
        );
        let sql = format!(
            "CREATE ROLE \"{user}\" LOGIN PASSWORD '{}';\nCREATE DATABASE \"{db}\" OWNER \"{user}\";\n",
            password.replace('\'', "''")
        );
        let created = crate::docker_tier::realserver::wait_for(Duration::from_secs(60), || {
            let (code, out) = crate::docker_tier::realserver::exec_stdin(
                &pg.0,
                sql.as_bytes(),
                &[
                    "psql",
                    "-h",
                    "/tmp",
                    "-U",
                    "admin",
                    "-d",
                    "postgres",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-q",
                ],
            );
            if code == 0 {
                Ok(())
            } else {
                Err(out)
            }
        });
        assert_eq!(created, Ok(()), "role and database created");
        let client = run_debian(
            &unique_name("i12-consensus-pgclient"),
            "65532:65532",
            &["--network".into(), net.0.clone()],
            &["sleep".into(), "infinity".into()],
        );
        let (code, out) = psql(&client.0, host, port, &user, &password, &db);
        assert_eq!(
            (code, out.trim()),
            (0, format!("{user}|{db}").as_str()),
            "the API's credentials log in"
        );
        let (code, out) = psql(&client.0, host, port, &user, "not-the-password", &db);
        assert_ne!(code, 0, "a wrong password is refused: {out}");
        assert!(out.contains("password authentication failed"), "{out}");
        assert!(!out.contains(&password));
    }

    #[test]
    fn the_example_model_names_the_committed_schema_and_passes_it() {
        let available = Command::new("check-jsonschema")
            .arg("--version")
            .output_bounded()
            .is_ok_and(|o| o.status.success());
        need(available, "check-jsonschema");
        let dir = example().join("model");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert_eq!(files.len(), 2, "{files:?}");
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            assert!(
                text.starts_with("# yaml-language-server: $schema=../../../model.schema.json\n"),
                "{}",
                f.display()
            );
        }
        let out = Command::new("check-jsonschema")
            .arg("--schemafile")
            .arg(repo_root().join("model.schema.json"))
            .args(&files)
            .output_bounded()
            .unwrap();
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    }
}
