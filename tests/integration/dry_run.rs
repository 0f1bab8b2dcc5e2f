//! `up`, `down` and `build --dry-run` print their plans — every check and
//! command in order — on a machine without Docker: they run with a PATH
//! that holds no `docker`, so a plan that asked the engine anything would
//! fail. The plans are snapshots; paths of the scratch project are shown
//! as `[project]`.

use crate::common::{Project, Test};

/// Runs `lucid-gen ARGS` in `p` without any `docker` on PATH, and returns
/// its stdout with the project's and the temp directory's paths named.
fn dry_run(p: &Project, args: &[&str]) -> String {
    let empty = tempfile::tempdir().unwrap();
    let out = p
        .run()
        .env("PATH", &empty.path().display().to_string())
        .args(args)
        .run();
    let text = String::from_utf8(out.stdout).unwrap();
    let root = p.dir.path().canonicalize().unwrap();
    let hash =
        lucid_gen::docker::standin::fnv(&[root.join("generated").to_string_lossy().as_bytes()]);
    text.replace(&root.display().to_string(), "[project]")
        .replace(&p.dir.path().display().to_string(), "[project]")
        .replace(&std::env::temp_dir().display().to_string(), "[tmp]")
        .replace(&hash, "[hash]")
}

fn seeded(fixture: &str) -> Project {
    let p = Project::fixture(fixture);
    p.run().args(&["all", "--insecure-secret-seed", "7"]).run();
    p
}

#[test]
fn up_prints_its_plan_without_an_engine() {
    let p = seeded("forge");
    let plan = dry_run(&p, &["up", "--dry-run", "--insecure-secret-seed", "7"]);
    insta::assert_snapshot!("up", plan);
    assert!(plan.contains("preflight"), "{plan}");
}

#[test]
fn up_with_stand_ins_and_a_prefix_prints_its_plan() {
    let p = seeded("forge");
    let args = [
        "up",
        "--dry-run",
        "--stand-ins",
        "--project",
        "try",
        "--insecure-secret-seed",
        "7",
    ];
    insta::assert_snapshot!("up_stand_ins", dry_run(&p, &args));
}

#[test]
fn down_prints_its_plan_without_an_engine() {
    let p = seeded("small");
    let args = [
        "down",
        "--dry-run",
        "--volumes",
        "--insecure-secret-seed",
        "7",
    ];
    insta::assert_snapshot!("down", dry_run(&p, &args));
    let one = [
        "down",
        "--dry-run",
        "--phase",
        "edge",
        "--insecure-secret-seed",
        "7",
    ];
    insta::assert_snapshot!("down_one_phase", dry_run(&p, &one));
}

#[test]
fn build_prints_its_plan_without_an_engine() {
    let p = seeded("local-build");
    for context in ["base", "one", "two", "three"] {
        std::fs::create_dir_all(p.path(context)).unwrap();
    }
    let args = ["build", "--dry-run", "--insecure-secret-seed", "7"];
    insta::assert_snapshot!("build", dry_run(&p, &args));
}

/// An unknown phase is refused before anything is planned, with exit 2.
#[test]
fn a_dry_run_of_an_unknown_phase_is_a_usage_error() {
    let p = seeded("small");
    Test::new()
        .current_dir(p.dir.path())
        .args(&[
            "up",
            "--dry-run",
            "--phase",
            "nope",
            "--insecure-secret-seed",
            "7",
        ])
        .status(2)
        .stderr_has("unknown phase `nope`")
        .run();
}

/// `up --host` (and `deploy`) print the whole deploy — preflight on the
/// host, the release, the images, the switch, each phase, the prune —
/// without an engine, ssh or the host; so does `rollback --host`.
#[test]
fn up_on_a_host_prints_its_plan_without_an_engine_or_a_connection() {
    let p = Project::fixture("forge");
    crate::common::add_test_host(&p);
    p.run().args(&["all", "--insecure-secret-seed", "7"]).run();
    let up = ["up", "--host", "box", "--stand-ins", "--dry-run"];
    let plan = dry_run(&p, &[&up[..], &["--insecure-secret-seed", "7"]].concat());
    insta::assert_snapshot!("up_host", plan);
    let deploy = ["deploy", "--host", "box", "--stand-ins", "--dry-run"];
    assert_eq!(
        dry_run(
            &p,
            &[&deploy[..], &["--insecure-secret-seed", "7"]].concat()
        ),
        plan
    );
    let back = [
        "rollback",
        "--host",
        "box",
        "--dry-run",
        "--insecure-secret-seed",
        "7",
    ];
    insta::assert_snapshot!("rollback_host", dry_run(&p, &back));
}

/// A host's `after_deploy.prune_images` is one more named step, last, that
/// `--dry-run` shows with its command; without it there is none. Only the
/// fixed step names are accepted: anything else is refused where written.
#[test]
fn after_deploy_prune_images_is_a_named_last_step_of_the_deploy_plan() {
    let p = Project::fixture("forge");
    crate::common::add_test_host(&p);
    p.run().args(&["all", "--insecure-secret-seed", "7"]).run();
    let deploy = [
        "deploy",
        "--host",
        "box",
        "--dry-run",
        "--insecure-secret-seed",
        "7",
    ];
    let without = dry_run(&p, &deploy);
    assert!(!without.contains("prune images"), "{without}");
    let host = p.read("model/test-host.yaml");
    p.write(
        "model/test-host.yaml",
        &format!("{host}    after_deploy:\n      prune_images: true\n"),
    );
    let with = dry_run(&p, &deploy);
    let steps: Vec<&str> = (with.lines())
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert!(
        steps
            .last()
            .is_some_and(|l| l.ends_with("after deploy: prune images")),
        "{with}"
    );
    assert!(
        with.contains("docker image prune -f: remove dangling images"),
        "{with}"
    );
    p.write(
        "model/test-host.yaml",
        &format!("{host}    after_deploy:\n      prune_all: true\n"),
    );
    let out = p.run().args(&["check"]).status(1).run();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("model/test-host.yaml:8:7: error[unknown-key]")
            && err.contains("unknown field `prune_all`, expected `prune_images`"),
        "{err}"
    );
}

/// `swarm up` and `swarm down` print their plans — on the model's manager
/// host (its preflight, the swarm check before anything is copied, the
/// release, the images on the manager and on each worker placement
/// allows, one stack deploy and wait per phase) and on the local engine —
/// with no `docker` or `ssh` on PATH.
#[test]
fn swarm_plans_need_no_engine_and_no_connection() {
    let p = seeded("swarm");
    let seed = ["--insecure-secret-seed", "7"];
    let up = ["swarm", "up", "--stand-ins", "--dry-run"];
    let plan = dry_run(&p, &[&up[..], &seed].concat());
    insta::assert_snapshot!("swarm_up_host", plan);
    let swarm_check = plan.find("swarm manager").unwrap();
    assert!(swarm_check < plan.find("release files").unwrap(), "{plan}");
    let local = ["swarm", "up", "--local", "--phase", "edge", "--dry-run"];
    insta::assert_snapshot!("swarm_up_local", dry_run(&p, &[&local[..], &seed].concat()));
    let down = ["swarm", "down", "--dry-run"];
    insta::assert_snapshot!("swarm_down_host", dry_run(&p, &[&down[..], &seed].concat()));
}

/// The quick path's plans: `swarm up --local --init` makes the engine a
/// one-node swarm (on 127.0.0.1, address ranges clear of the model's
/// subnets, the node labelled for every placement) before the manager
/// check, and only when it is in none; `swarm down --local` ends with
/// leaving it, only when lucid-gen initialised it. `--init` on the
/// model's manager host is refused, naming `--local`.
#[test]
fn the_one_node_swarm_is_planned_like_every_step() {
    let p = seeded("swarm");
    let seed = ["--insecure-secret-seed", "7"];
    let up = [
        "swarm",
        "up",
        "--local",
        "--init",
        "--stand-ins",
        "--dry-run",
    ];
    let plan = dry_run(&p, &[&up[..], &seed].concat());
    insta::assert_snapshot!("swarm_up_local_init", plan);
    for expect in [
        "docker swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377 \
         --default-addr-pool 10.240.0.0/16",
        "--subnet 10.248.0.0/16",
        "payments=true",
        "if the engine is in a swarm already: left as it is",
    ] {
        assert!(plan.contains(expect), "{expect}:\n{plan}");
    }
    assert!(plan.find("swarm init").unwrap() < plan.find("swarm manager").unwrap());
    let down = ["swarm", "down", "--local", "--dry-run"];
    let plan = dry_run(&p, &[&down[..], &seed].concat());
    insta::assert_snapshot!("swarm_down_local", plan);
    assert!(plan.contains("docker swarm leave --force"), "{plan}");
    assert!(
        plan.contains("did not initialise is left as found"),
        "{plan}"
    );
    // A model subnet in the first ranges moves the swarm's past it.
    let system = p
        .read("model/system.yaml")
        .replace("    subnet: 10.94.0.0/24", "    subnet: 10.240.7.0/24");
    p.write("model/system.yaml", &system);
    p.run().args(&["all", "--insecure-secret-seed", "7"]).run();
    let plan = dry_run(&p, &[&up[..], &seed].concat());
    assert!(plan.contains("--default-addr-pool 10.241.0.0/16"), "{plan}");
    Test::new()
        .current_dir(p.dir.path())
        .args(&[
            "swarm",
            "up",
            "--init",
            "--dry-run",
            "--insecure-secret-seed",
            "7",
        ])
        .status(2)
        .stderr_has("`--init` makes this machine's engine a one-node swarm")
        .stderr_has("add `--local`")
        .run();
}

/// A compose-mode system, a worker named as the manager and an unknown
/// host are refused before anything is planned, each with what to do.
#[test]
fn swarm_commands_refuse_what_they_cannot_run_on() {
    let forge = seeded("forge");
    Test::new()
        .current_dir(forge.dir.path())
        .args(&["swarm", "up", "--dry-run", "--insecure-secret-seed", "7"])
        .status(2)
        .stderr_has("cannot use Swarm: system `forge` is `mode: compose`")
        .stderr_has("help: set `system.mode: swarm`")
        .run();
    let hive = seeded("swarm");
    let worker = ["swarm", "down", "--host", "pay-1", "--dry-run"];
    Test::new()
        .current_dir(hive.dir.path())
        .args(&[&worker[..], &["--insecure-secret-seed", "7"]].concat())
        .status(2)
        .stderr_has("--host `pay-1` is not a swarm manager in the model")
        .run();
    let unknown = [
        "swarm",
        "plan",
        "--host",
        "nope",
        "--insecure-secret-seed",
        "7",
    ];
    Test::new()
        .current_dir(hive.dir.path())
        .args(&unknown)
        .status(2)
        .stderr_has("unknown host `nope`")
        .run();
}

/// A job run once its phase is up (`after_up`) is its own step, right
/// after that phase's `up --wait` and before the next phase starts: the
/// job is started by name, then waited for.
#[test]
fn a_job_run_after_its_phase_is_up_follows_that_phase_in_the_plan() {
    let p = Project::lucid();
    p.run().args(&["all", "--insecure-secret-seed", "7"]).run();
    let plan = dry_run(&p, &["up", "--dry-run", "--insecure-secret-seed", "7"]);
    let at = |needle: &str| {
        plan.find(needle)
            .unwrap_or_else(|| panic!("no `{needle}` in the plan:\n{plan}"))
    };
    let phase = at("docker-compose.foundation.yml (project");
    let job = at("after docker-compose.foundation.yml is up: lucid-elasticsearch-index");
    let next = at("docker-compose.core.yml (project");
    assert!(phase < job && job < next, "{plan}");
    let steps = &plan[job..next];
    assert!(
        steps.contains("up -d --no-deps lucid-elasticsearch-index"),
        "{steps}"
    );
    assert!(
        steps.contains("wait until lucid-elasticsearch-index exits 0 (at most 600 s)"),
        "{steps}"
    );
    // The phase's own `up --wait` never names the job.
    assert!(
        !plan[phase..job].contains("lucid-elasticsearch-index"),
        "{plan}"
    );
}
