//! The GitHub Actions workflow rendered from `system.ci.github`
//! (`fixtures/ci/`): one build step per built image, base images first,
//! every tag; the deploy steps' scripts run against a fake host; model text
//! that cannot open a `${{ }}` expression; the section's validation errors;
//! and `verify` running actionlint on the workflow.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use serde_yaml::Value;

use crate::common::{stderr, stdout, OutputBounded, Project};

const WORKFLOW: &str = "generated/.github/workflows/deploy.yml";

fn rendered(p: &Project) -> Value {
    p.run().args(&["all"]).run();
    serde_yaml::from_str(&p.read(WORKFLOW)).unwrap()
}

fn steps<'v>(wf: &'v Value, job: &str) -> &'v Vec<Value> {
    wf["jobs"][job]["steps"].as_sequence().unwrap()
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v:?}"))
}

#[test]
fn the_workflow_builds_every_built_image_base_first_with_every_tag() {
    let p = Project::fixture("ci");
    let wf = rendered(&p);
    assert_eq!(wf["on"]["push"]["branches"][0], "main");
    let builds: Vec<&Value> = steps(&wf, "build")
        .iter()
        .filter(|s| s["uses"] == "docker/build-push-action@v7")
        .collect();
    let names: Vec<&str> = builds.iter().map(|s| text(&s["name"])).collect();
    // The health probe image shop-db's tcp check copies (pushed first, so
    // its `COPY --from` can pull it), the base image, then the built
    // services phase by phase; the published images (example/pay-*) are
    // not built.
    assert_eq!(
        names,
        [
            "Build and push the health probe image",
            "Build and push base image py",
            "Build and push shop-db",
            "Build and push shop-api"
        ]
    );
    let probe = &builds[0]["with"];
    assert_eq!(probe["context"], "deploy/generated/dockerfiles/probe");
    assert_eq!(
        text(&probe["tags"]),
        "ghcr.io/example/shop/lucid-gen-probe:1.4.0"
    );
    let api = &builds[3]["with"];
    assert_eq!(api["context"], "src/api");
    assert_eq!(
        api["file"],
        "deploy/generated/dockerfiles/services/shop-api/Dockerfile"
    );
    assert_eq!(api["platforms"], "linux/arm64");
    assert_eq!(api["push"], true);
    let repo = "ghcr.io/example/shop/shop-api";
    assert_eq!(
        text(&api["tags"]).lines().collect::<Vec<_>>(),
        [
            format!("{repo}:1.4.0"),
            format!("{repo}:latest"),
            format!("{repo}:${{{{ github.sha }}}}"),
            format!("{repo}:v${{{{ vars.RELEASE }}}}"),
        ]
    );
    // Every action pinned by its major version.
    for job in ["build", "deploy"] {
        for s in steps(&wf, job) {
            if let Some(uses) = s["uses"].as_str() {
                let (_, version) = uses.split_once('@').unwrap();
                assert!(
                    version.starts_with('v') && version[1..].parse::<u32>().is_ok(),
                    "{uses}"
                );
            }
        }
    }
    // A new built service is a new step: nothing is hand-listed.
    let services = p.read("model/services.yaml").replace(
        "  shop-pay-worker:\n",
        "  shop-extra:\n    phase: edge\n    plane: app\n    networks: [shop-app]\n    build: { stack: python, context: extra, builder: \"python:3.11-slim\", runtime: \"image:py\", entrypoint: [python3, -m, extra] }\n    health: { tcp: true, port: 8000 }\n    ports: [{ container: 8000 }]\n    resources: { memory: 64m, cpus: 0.1 }\n\n  shop-pay-worker:\n",
    );
    p.write("model/services.yaml", &services);
    let wf = rendered(&p);
    let last = steps(&wf, "build").last().unwrap();
    assert_eq!(last["name"], "Build and push shop-extra");
}

#[test]
fn a_model_without_the_section_renders_no_workflow() {
    let p = Project::fixture("small");
    p.run().args(&["all"]).run();
    assert!(!p.path("generated/.github").exists());
}

/// Every `${{ … }}` in the file, in order.
fn expressions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        let end = rest[start..].find("}}").unwrap() + start + 2;
        out.push(rest[start..end].to_string());
        rest = &rest[end..];
    }
    out
}

#[test]
fn model_text_cannot_open_an_expression() {
    let p = Project::fixture("ci");
    let system = p
        .read("model/system.yaml")
        .replace(
            "      workflow_file: deploy.yml\n",
            "      workflow_file: deploy.yml\n      name: \"ship ${ secrets.X }\"\n",
        )
        .replace(
            "dir: /srv/shop",
            "dir: \"/srv/${{ secrets.DEPLOY_SSH_KEY }}/$(id)\"",
        );
    p.write("model/system.yaml", &system);
    let wf = rendered(&p);
    let allowed = [
        "${{ '${{' }}",
        "${{ github.actor }}",
        "${{ github.sha }}",
        "${{ secrets.GITHUB_TOKEN }}",
        "${{ vars.RELEASE }}",
        "${{ secrets.DEPLOY_HOST }}",
        "${{ secrets.DEPLOY_USER }}",
        "${{ secrets.DEPLOY_SSH_KEY }}",
        "${{ secrets.DEPLOY_KNOWN_HOSTS }}",
    ];
    let found = expressions(&p.read(WORKFLOW));
    for e in &found {
        assert!(allowed.contains(&e.as_str()), "unexpected expression {e}");
    }
    // The SSH key is read where the SSH step reads it, not in the directory.
    let key = found
        .iter()
        .filter(|e| e.contains("DEPLOY_SSH_KEY"))
        .count();
    assert_eq!(key, 1, "{found:?}");
    // GitHub evaluates `${{ '${{' }}` back to `${{`: the values are exact.
    assert_eq!(wf["name"], "ship ${ secrets.X }");
    assert_eq!(
        wf["jobs"]["deploy"]["env"]["DEPLOY_DIR"],
        "/srv/${{ '${{' }} secrets.DEPLOY_SSH_KEY }}/$(id)"
    );
    if let Some(actionlint) = which("actionlint") {
        let out = Command::new(actionlint)
            .arg("-no-color")
            .arg(p.path(WORKFLOW))
            .output_bounded()
            .unwrap();
        assert!(out.status.success(), "{}", stdout(&out));
    }
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Runs one deploy step's script as the runner would (bash, the job's and
/// the step's environment), with `ssh` replaced by a fake that runs the
/// remote command locally (the "host" is a directory) and `docker` by one
/// that logs its arguments.
fn run_deploy_step(
    p: &Project,
    wf: &Value,
    step: &Value,
    host: &std::path::Path,
    job_exit: u8,
) -> (bool, String) {
    let bin = p.path("fakebin");
    fs::create_dir_all(&bin).unwrap();
    let log = p.path("docker.log");
    for (name, body) in [
        ("ssh", "shift\nexec sh -c \"$1\"".to_string()),
        // `docker compose run` exits with the job's exit status.
        (
            "docker",
            format!(
                "echo \"$*\" >> '{}'\ncase \"$*\" in *' run '*) exit {job_exit};; esac",
                log.display()
            ),
        ),
    ] {
        let path = bin.join(name);
        fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut cmd = Command::new("bash");
    cmd.args(["-e", "-c", text(&step["run"])])
        .current_dir(p.dir.path());
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    cmd.env("PATH", path)
        .env("DEPLOY_DIR", host)
        .env("OUTPUT_DIR", "generated");
    assert_eq!(
        wf["jobs"]["deploy"]["env"]["OUTPUT_DIR"],
        "deploy/generated"
    );
    for (k, v) in step["env"].as_mapping().unwrap() {
        cmd.env(text(k), text(v));
    }
    let out = cmd.output_bounded().unwrap();
    (
        out.status.success(),
        format!("{}{}", stdout(&out), stderr(&out)),
    )
}

#[test]
fn a_deploy_step_copies_the_plain_files_and_needs_the_secret_ones_on_the_host() {
    let p = Project::fixture("ci");
    let wf = rendered(&p);
    let deploy = steps(&wf, "deploy");
    let names: Vec<&str> = deploy.iter().map(|s| text(&s["name"])).collect();
    assert_eq!(
        &names[names.len() - 2..],
        ["Deploy phase base", "Deploy phase edge"]
    );
    let edge = deploy.last().unwrap();
    // No secret-bearing file is copied by the workflow.
    assert_eq!(edge["env"]["PHASE_HOST_FILES"], "secrets/env/shop-api.env");
    let host = tempfile::tempdir().unwrap();
    let host_dir = host.path().join("srv shop");
    let (ok, output) = run_deploy_step(&p, &wf, edge, &host_dir, 0);
    assert!(!ok, "{output}");
    assert!(output.contains("missing on the host"), "{output}");
    assert!(output.contains("secrets/env/shop-api.env"), "{output}");
    assert!(!p.path("docker.log").exists(), "compose ran: {output}");
    assert!(
        !host_dir.join("configs").exists(),
        "copied before the check"
    );

    // With the secrets env file on the host: copy, then pull and up.
    fs::create_dir_all(host_dir.join("secrets/env")).unwrap();
    fs::write(host_dir.join("secrets/env/shop-api.env"), "kept\n").unwrap();
    let (ok, output) = run_deploy_step(&p, &wf, edge, &host_dir, 0);
    assert!(ok, "{output}");
    for file in [
        "configs/docker/docker-compose.edge.yml",
        "configs/environment/.env.edge",
    ] {
        assert_eq!(
            fs::read_to_string(host_dir.join(file)).unwrap(),
            p.read(&format!("generated/{file}")),
            "{file}"
        );
    }
    assert_eq!(
        fs::read_to_string(host_dir.join("secrets/env/shop-api.env")).unwrap(),
        "kept\n"
    );
    assert_eq!(
        p.read("docker.log"),
        "compose -f docker-compose.edge.yml pull\ncompose -f docker-compose.edge.yml up -d --wait\n"
    );
}

/// A job run once its phase is up (`after_up`) is started by name after
/// the phase's `up --wait` and waited for; its failure fails the step.
#[test]
fn a_deploy_step_runs_the_phases_after_up_jobs_and_fails_with_them() {
    let p = Project::fixture("ci");
    let wf = rendered(&p);
    let deploy = steps(&wf, "deploy");
    let base = (deploy.iter())
        .find(|s| text(&s["name"]) == "Deploy phase base")
        .unwrap();
    assert_eq!(base["env"]["PHASE_AFTER_UP"], "shop-db-version");
    let host = tempfile::tempdir().unwrap();
    let host_dir = host.path().join("srv");
    for kept in text(&base["env"]["PHASE_HOST_FILES"]).lines() {
        fs::create_dir_all(host_dir.join(kept).parent().unwrap()).unwrap();
        fs::write(host_dir.join(kept), "kept\n").unwrap();
    }
    let (ok, output) = run_deploy_step(&p, &wf, base, &host_dir, 0);
    assert!(ok, "{output}");
    assert_eq!(
        p.read("docker.log"),
        "compose -f docker-compose.base.yml pull\n\
         compose -f docker-compose.base.yml up -d --wait\n\
         compose -f docker-compose.base.yml run --rm --no-deps shop-db-version\n"
    );
    let (ok, output) = run_deploy_step(&p, &wf, base, &host_dir, 3);
    assert!(!ok, "a job that exited 3 passed the step:\n{output}");
    // The edge phase has no such job.
    let edge = deploy.last().unwrap();
    assert!(edge["env"].get("PHASE_AFTER_UP").is_none());
}

#[test]
fn every_problem_of_the_section_is_reported_at_its_place() {
    let p = Project::fixture("ci");
    let system = p
        .read("model/system.yaml")
        .replace(
            "extra_tags: [latest, \"${GITHUB_SHA}\", \"v${RELEASE}\"]",
            "extra_tags: [latest, \"1.4.0\", \"a/b\", \"${GITHUB_REF}\", \"${SOURCE_DIR}\", \"x$\"]",
        )
        .replace("workflow_file: deploy.yml", "workflow_file: ../deploy.yml")
        .replace("host_secret: DEPLOY_HOST", "host_secret: GITHUB_HOST")
        .replace("dir: /srv/shop", "dir: srv/shop")
        .replace(
            "      workflow_file: ../deploy.yml\n",
            "      workflow_file: ../deploy.yml\n      name: \"ship ${{ github.sha }}\"\n",
        )
        .replace(
            "      source_dir: src\n",
            "      source_dir: src\n      username_secret: REGISTRY_USER\n",
        )
        .replace(
            "image: ghcr.io/example/shop/base:1.4.0",
            "image: example/shop-base:1.4.0",
        );
    p.write("model/system.yaml", &system);
    p.run()
        .args(&["check"])
        .status(1)
        .stderr_has("tag `1.4.0` is listed twice")
        .stderr_has("extra tag `a/b` is not a valid Docker tag")
        .stderr_has("extra tag `${GITHUB_REF}` is not a valid Docker tag: in the workflow")
        .stderr_has("extra tag `${SOURCE_DIR}` is not a valid Docker tag: SOURCE_DIR and GENERATED_DIR")
        .stderr_has("extra tag `x$` is not a valid Docker tag: `$` starts a variable only as `${NAME}`")
        .stderr_has("`system.ci.github.workflow_file` `../deploy.yml` must be a file name")
        .stderr_has("`GITHUB_HOST` is not a GitHub secret name")
        .stderr_has("`system.ci.github.deploy.dir` `srv/shop` must be an absolute path")
        .stderr_has("sets `username_secret` but not `password_secret`")
        .stderr_has("workflow name `ship ${{ github.sha }}` holds `${{`")
        .stderr_has("the workflow pushes `example/shop-base:1.4.0` to docker.io, but logs in to ghcr.io only")
        .run();
    // Docker Hub without login secrets: GITHUB_TOKEN cannot push there.
    let p = Project::fixture("ci");
    let system = p
        .read("model/system.yaml")
        .replace("namespace: ghcr.io/example/shop", "namespace: example")
        .replace("ghcr.io/example/shop/base:1.4.0", "example/base:1.4.0");
    p.write("model/system.yaml", &system);
    let out = p
        .run()
        .args(&["check"])
        .status(1)
        .stderr_has("the workflow pushes to docker.io, where the job's GITHUB_TOKEN cannot log in")
        .run();
    assert!(stderr(&out).contains("system.yaml:9:"), "{}", stderr(&out));
}

/// The tests of this family that need Docker or the tools
/// `.ci/install-*.sh` installs (the Docker tier: `--features docker`).
#[cfg(feature = "docker")]
mod docker_tier {
    use super::*;
    use crate::common::compose_available;
    use crate::common::need;
    use crate::common::BIN;

    fn tools() {
        need(compose_available(), "docker compose");
        for tool in ["hadolint", "compose-lint", "dclint", "actionlint"] {
            let runs = Command::new(tool)
                .arg(if tool == "actionlint" {
                    "-version"
                } else {
                    "--version"
                })
                .output_bounded()
                .is_ok_and(|o| o.status.success());
            need(runs, tool);
        }
    }

    #[test]
    fn verify_runs_actionlint_on_the_workflow_and_names_a_broken_one() {
        tools();
        let p = Project::fixture("ci");
        p.run().args(&["all"]).run();
        p.run()
            .args(&["verify"])
            .stdout_has(&format!("ok    {WORKFLOW}"))
            .stdout_has("verify: 8 files, 0 failed")
            .run();
        // A job that needs one that does not exist.
        let text = p.read(WORKFLOW).replace("needs: build", "needs: bulid");
        p.write(WORKFLOW, &text);
        let out = p
            .run()
            .args(&["verify"])
            .status(1)
            .stdout_has(&format!("FAIL  {WORKFLOW}"))
            .stdout_has("bulid")
            .stdout_has("verify: 8 files, 1 failed")
            .run();
        assert!(
            !stdout(&out).contains("FAIL  generated/configs"),
            "{}",
            stdout(&out)
        );

        // actionlint that does not run: an error before any file is checked.
        let bin = tempfile::tempdir().unwrap();
        let fake = bin.path().join("actionlint");
        fs::write(&fake, "#!/bin/sh\nexit 127\n").unwrap();
        fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!(
            "{}:{}",
            bin.path().display(),
            std::env::var("PATH").unwrap()
        );
        let out = Command::new(BIN)
            .arg("verify")
            .current_dir(p.dir.path())
            .env("PATH", path)
            .output_bounded()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains("actionlint"), "{}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    }
}
