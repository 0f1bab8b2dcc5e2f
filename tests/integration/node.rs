//! The `node` stack and hand-written Dockerfiles (`build.dockerfile`), on
//! the `node-app` fixture: what the generated Dockerfile does (hadolint
//! accepts it), where `build` and `verify` look for a hand-written one, and
//! the validation of the bad combinations. A real `docker build` of a Node
//! app is not run: it needs `node:20-alpine` and the npm registry, and the
//! tests run offline.

use crate::common::{stderr, stdout, Project};

const API: &str = "generated/dockerfiles/services/api/Dockerfile";
const WORKER: &str = "src/worker/docker/worker.Dockerfile";

/// The fixture, rendered, with its worker's hand-written Dockerfile under
/// `src/` (the source tree).
fn rendered(worker_dockerfile: &str) -> Project {
    let p = Project::fixture("node-app");
    p.run().args(&["all"]).run();
    p.write(WORKER, worker_dockerfile);
    p
}

const GOOD_WORKER: &str = "FROM alpine:3.20\nCOPY worker /usr/local/bin/worker\n\
    USER 65532:65532\nENTRYPOINT [\"/usr/local/bin/worker\"]\n";

#[test]
fn the_node_stack_installs_from_the_lockfile_and_ships_production_deps_only() {
    let p = rendered(GOOD_WORKER);
    let text = p.read(API);
    let (builder, runtime) = text.split_once("\nFROM node:20-alpine\n").unwrap();
    // The builder: default image, on the build platform, npm ci from the
    // lockfile, dev dependencies pruned before the runtime copies anything.
    assert!(
        builder.contains("FROM --platform=$BUILDPLATFORM node:20-alpine AS builder"),
        "{text}"
    );
    let ci = builder.find("RUN npm ci ").expect("npm ci");
    let prune = builder.find("npm prune --omit=dev").expect("npm prune");
    assert!(
        builder.find("COPY . .\n").unwrap() < ci && ci < prune,
        "{text}"
    );
    // The runtime: the pruned tree only, as the model's user, exec form.
    assert!(
        runtime.contains("COPY --from=builder /build /app\n"),
        "{text}"
    );
    assert!(runtime.contains("ENV NODE_ENV=production\n"), "{text}");
    assert!(runtime.contains("USER 1001:1001\n"), "{text}");
    assert!(
        runtime.ends_with("ENTRYPOINT [\"node\", \"server.js\"]\n"),
        "{text}"
    );
    assert!(
        !runtime.contains("npm "),
        "no npm run in the runtime: {text}"
    );
    // No Dockerfile is generated for the hand-written one.
    assert!(!p.path("generated/dockerfiles/services/worker").exists());
}

#[test]
fn build_uses_the_hand_written_dockerfile_and_refuses_a_missing_one() {
    let p = rendered(GOOD_WORKER);
    std::fs::create_dir_all(p.path("src/api")).unwrap();
    let out = p
        .run()
        .args(&["build", "--dry-run", "--source", "src"])
        .run();
    let text = stdout(&out);
    if text.contains("buildx bake") {
        // buildx: the bake file names both Dockerfiles.
        let bake = p.read("generated/docker-bake.hcl");
        let worker = "dockerfile = \"${SOURCE_DIR}/worker/docker/worker.Dockerfile\"";
        assert!(bake.contains(worker), "{bake}");
        let api = "dockerfile = \"${GENERATED_DIR}/dockerfiles/services/api/Dockerfile\"";
        assert!(bake.contains(api), "{bake}");
    } else {
        // The legacy builder: one `docker build -f` each.
        let worker = p.path("src").join("worker/docker/worker.Dockerfile");
        assert!(
            text.contains(&format!("-f {} ", worker.display())),
            "{text}"
        );
        assert!(
            text.contains(&format!("-f {} ", p.path(API).display())),
            "{text}"
        );
    }
    std::fs::remove_file(p.path(WORKER)).unwrap();
    let out = p
        .run()
        .args(&["build", "--dry-run", "--source", "src"])
        .status(1)
        .run();
    let err = stderr(&out);
    assert!(
        err.contains("1 hand-written Dockerfile(s) missing") && err.contains("worker.Dockerfile"),
        "{err}"
    );
}

/// `lucid-gen check` on the fixture with the worker's build replaced.
fn check_worker_build(build: &str) -> String {
    let p = Project::fixture("node-app");
    let services = p.read("model/services.yaml");
    let start = services.find("    build:\n      context: worker").unwrap();
    let end = services[start..].find("    health:").unwrap() + start;
    let patched = format!("{}{build}{}", &services[..start], &services[end..]);
    p.write("model/services.yaml", &patched);
    let out = p.run().args(&["check"]).status(1).run();
    stderr(&out)
}

fn has(err: &str, rule: &str, words: &[&str]) {
    let tag = format!("error[{rule}]");
    let hit = err
        .lines()
        .any(|l| l.contains(&tag) && words.iter().all(|w| l.contains(w)));
    assert!(hit, "no {tag} line holding {words:?}:\n{err}");
}

#[test]
fn stack_and_dockerfile_are_exclusive_and_one_is_needed() {
    let both =
        "    build:\n      stack: node\n      context: worker\n      dockerfile: Dockerfile\n";
    has(
        &check_worker_build(both),
        "invalid-build",
        &["both `stack` and `dockerfile`"],
    );
    let neither = "    build:\n      context: worker\n";
    has(
        &check_worker_build(neither),
        "invalid-build",
        &["needs a `stack` or a `dockerfile`"],
    );
}

#[test]
fn a_hand_written_dockerfile_stays_inside_the_context_and_alone() {
    for path in ["../Dockerfile", "/etc/Dockerfile", "docker/../../x"] {
        let build = format!("    build:\n      context: worker\n      dockerfile: {path}\n");
        has(
            &check_worker_build(&build),
            "invalid-path",
            &["dockerfile", "inside the build context"],
        );
    }
    let extra = "    build:\n      context: worker\n      dockerfile: Dockerfile\n      \
                 builder: node:20-alpine\n      entrypoint: [node, w.js]\n";
    let err = check_worker_build(extra);
    has(&err, "invalid-build", &["`builder` has no effect"]);
    has(&err, "invalid-build", &["`entrypoint` has no effect"]);
}

#[test]
fn only_the_node_stack_has_default_images() {
    let python = "    build:\n      stack: python\n      context: worker\n      \
                  entrypoint: [python3, w.py]\n";
    let err = check_worker_build(python);
    has(
        &err,
        "invalid-build",
        &["`python` build needs a `builder` image"],
    );
    has(
        &err,
        "invalid-build",
        &["`python` build needs a `runtime` image"],
    );
}

/// The tests of this family that need Docker or the tools
/// `.ci/install-*.sh` installs (the Docker tier: `--features docker`).
#[cfg(feature = "docker")]
mod docker_tier {
    use super::*;
    use crate::common::compose_available;
    use crate::common::need;
    use crate::common::tool_runs;

    fn tools() {
        need(compose_available(), "docker compose");
        for tool in ["hadolint", "compose-lint", "dclint"] {
            need(tool_runs(tool, &["--version"]), tool);
        }
    }

    #[test]
    fn verify_lints_the_generated_and_the_hand_written_dockerfile() {
        tools();
        let p = rendered(GOOD_WORKER);
        let out = p.run().args(&["verify", "--source", "src"]).run();
        let text = stdout(&out);
        assert!(text.contains(&format!("ok    {API}\n")), "{text}");
        assert!(text.contains(&format!("ok    {WORKER}\n")), "{text}");
        assert!(text.ends_with("verify: 4 files, 0 failed\n"), "{text}");
    }

    #[test]
    fn verify_fails_on_a_bad_or_missing_hand_written_dockerfile() {
        tools();
        // An untagged image: hadolint's DL3006, found in the source tree.
        let p = rendered("FROM alpine\nUSER 65532:65532\n");
        let out = p.run().args(&["verify", "--source", "src"]).status(1).run();
        let text = stdout(&out);
        assert!(text.contains(&format!("FAIL  {WORKER}\n")), "{text}");
        assert!(text.contains("DL3006"), "{text}");
        assert!(text.ends_with("verify: 4 files, 1 failed\n"), "{text}");
        // Without `--source` the file is looked for under `.`: named, with
        // the flag that fixes it.
        let out = p.run().args(&["verify"]).status(1).run();
        let text = stdout(&out);
        assert!(
            text.contains("worker/docker/worker.Dockerfile does not exist")
                && text.contains("--source DIR"),
            "{text}"
        );
    }
}
