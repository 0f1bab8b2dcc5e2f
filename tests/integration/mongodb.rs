//! MongoDB is not packaged for Debian, so its configuration and init steps
//! are checked against MongoDB's documented rules rather than a real
//! mongod: `mongod.conf` turns authorization and the replica set on and
//! names the key file the keyfile job writes; the key file secret has the
//! size mongod accepts; the two generated mongosh scripts run (under Node,
//! which the CI installs for dclint) against `tests/mongodb/fake-mongosh.js`,
//! a fake that enforces the localhost exception, authentication and
//! primaries as the manual describes — first run, re-run, a rotated
//! password and a wrong root password — printing no secret.

use std::path::Path;

use crate::common::repo_root;
use lucid_gen::secrets::{self, SecretSource, SecretValues};
use lucid_gen::write::Outputs;
use lucid_gen::{model, render, validate};

fn lucid(seed: u64) -> (Outputs, SecretValues) {
    let loaded = model::load_dir(&repo_root().join("model")).unwrap();
    let valid = validate::validate(loaded).unwrap();
    let resolved = secrets::resolve(&valid.system, &SecretSource::Seeded(seed), &[]).unwrap();
    let outputs = render::render(&valid.system, &resolved.values).unwrap();
    (outputs, resolved.values)
}

fn text<'o>(outputs: &'o Outputs, path: &str) -> &'o str {
    &outputs
        .get(Path::new(path))
        .unwrap_or_else(|| panic!("{path} is not generated"))
        .text
}

const INIT: &str = "configs/files/lucid-mongodb-init/etc/lucid/init-replica-set.js";
const KEYFILE_JS: &str = "configs/files/lucid-mongodb-keyfile/etc/lucid/install-keyfile.js";

#[test]
fn mongod_conf_turns_auth_and_the_replica_set_on_with_a_key_file_mongod_accepts() {
    let (outputs, values) = lucid(3);
    let conf: serde_yaml::Value = serde_yaml::from_str(text(
        &outputs,
        "configs/files/lucid-mongodb/etc/mongod.conf",
    ))
    .unwrap();
    assert_eq!(conf["security"]["authorization"].as_str(), Some("enabled"));
    assert_eq!(conf["replication"]["replSetName"].as_str(), Some("rs0"));
    assert_eq!(conf["net"]["bindIpAll"].as_bool(), Some(true));
    let key_path = conf["security"]["keyFile"].as_str().unwrap();
    assert!(
        text(&outputs, KEYFILE_JS).contains(&format!("'{key_path}'")),
        "the keyfile job writes where mongod reads"
    );
    assert!(text(&outputs, INIT).contains("_id: 'rs0'"));
    // mongod: 6 to 1024 characters of the base64 set.
    let key = values.get("MONGODB_KEYFILE").unwrap();
    assert!((6..=1024).contains(&key.len()), "{} characters", key.len());
    assert!(key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)));
    // The wiring: the key file volume read-only in mongod, written by the
    // job first; the init step inside mongod's network namespace; mongod's
    // dependants wait for the init step.
    let compose: serde_yaml::Value = serde_yaml::from_str(text(
        &outputs,
        "configs/docker/docker-compose.foundation.yml",
    ))
    .unwrap();
    let svc = |name: &str| compose["services"][name].clone();
    let mongod = svc("lucid-mongodb");
    let keyfile_mount = mongod["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|v| v["target"].as_str() == Some("/keyfile"))
        .expect("mongod mounts the key file volume");
    assert_eq!(keyfile_mount["read_only"].as_bool(), Some(true));
    assert_eq!(
        mongod["depends_on"]["lucid-mongodb-keyfile"]["condition"].as_str(),
        Some("service_completed_successfully")
    );
    let init = svc("lucid-mongodb-init");
    assert_eq!(init["network_mode"].as_str(), Some("service:lucid-mongodb"));
    assert_eq!(
        init["depends_on"]["lucid-mongodb"]["condition"].as_str(),
        Some("service_healthy")
    );
    assert_eq!(
        svc("lucid-auth-service")["depends_on"]["lucid-mongodb-init"]["condition"].as_str(),
        Some("service_completed_successfully")
    );
    // No secret on any command line or in any committed file.
    for (path, file) in &outputs {
        if file.secret {
            continue;
        }
        for (name, value) in values.iter() {
            assert!(!file.text.contains(value), "{name} in {}", path.display());
        }
    }
}

/// The tests of this family that need Docker or the tools
/// `.ci/install-*.sh` installs (the Docker tier: `--features docker`).
#[cfg(feature = "docker")]
mod docker_tier {
    use super::*;
    use crate::common::need;
    use crate::common::OutputBounded;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;
    use std::process::Command;

    /// One sandbox: the mounts the scripts see, the fake's data, the scripts.
    struct Sandbox {
        dir: tempfile::TempDir,
    }
    impl Sandbox {
        fn new(outputs: &Outputs) -> Sandbox {
            let dir = tempfile::tempdir().unwrap();
            for sub in ["run/secrets", "keyfile"] {
                fs::create_dir_all(dir.path().join(sub)).unwrap();
            }
            for (name, path) in [("init.js", INIT), ("keyfile.js", KEYFILE_JS)] {
                fs::write(dir.path().join(name), text(outputs, path)).unwrap();
            }
            Sandbox { dir }
        }

        fn secret(&self, name: &str, value: &str) {
            fs::write(self.dir.path().join("run/secrets").join(name), value).unwrap();
        }

        /// Runs a script; its exit code and what it printed.
        fn run(&self, script: &str, throwing: bool) -> (i32, String) {
            let node = which("node");
            need(
                node.is_some(),
                "node (apt-get install nodejs; the CI has it for dclint)",
            );
            let out = Command::new(node.unwrap())
                .arg(repo_root().join("tests/mongodb/fake-mongosh.js"))
                .arg(self.dir.path().join(script))
                .arg(self.dir.path().join("state.json"))
                .arg(self.dir.path())
                .env("THROWING", if throwing { "1" } else { "0" })
                .output_bounded()
                .expect("run node");
            let printed = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            (out.status.code().unwrap_or(-1), printed)
        }

        fn state(&self) -> serde_json::Value {
            serde_json::from_str(&fs::read_to_string(self.dir.path().join("state.json")).unwrap())
                .unwrap()
        }

        fn key_file(&self) -> PathBuf {
            self.dir.path().join("keyfile/mongodb.key")
        }
    }
    fn which(program: &str) -> Option<PathBuf> {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(program))
                .find(|p| p.is_file())
        })
    }
    fn assert_no_secret(printed: &str, values: &[&str]) {
        for v in values {
            assert!(!printed.contains(v), "a secret was printed:\n{printed}");
        }
    }

    #[test]
    fn the_init_step_creates_both_users_once_and_keeps_them_equal_to_the_secrets() {
        let (outputs, values) = lucid(5);
        let root = values.get("MONGODB_ROOT_PASSWORD").unwrap();
        let app = values.get("MONGODB_PASSWORD").unwrap();
        for throwing in [false, true] {
            let sb = Sandbox::new(&outputs);
            sb.secret("MONGODB_ROOT_PASSWORD", root);
            sb.secret("MONGODB_PASSWORD", app);
            // First run: through the localhost exception.
            let (code, printed) = sb.run("init.js", throwing);
            assert_eq!(code, 0, "{printed}");
            assert!(printed.contains("replica set rs0 initiated"), "{printed}");
            assert_no_secret(&printed, &[root, app]);
            let state = sb.state();
            assert_eq!(state["members"], serde_json::json!(["lucid-mongodb:27017"]));
            assert_eq!(state["users"]["admin.root"]["pwd"], *root);
            assert_eq!(state["users"]["admin.root"]["roles"][0]["role"], "root");
            assert_eq!(state["users"]["lucid.lucid"]["pwd"], *app);
            assert_eq!(
                state["users"]["lucid.lucid"]["roles"][0]["role"],
                "readWrite"
            );
            // Re-run: logs in as root, initiates nothing, creates nothing.
            let (code, printed) = sb.run("init.js", throwing);
            assert_eq!(code, 0, "{printed}");
            assert!(!printed.contains("initiated"), "{printed}");
            assert!(printed.contains("user lucid up to date"), "{printed}");
            // A rotated application password reaches MongoDB on the next run.
            sb.secret("MONGODB_PASSWORD", "rotated-app-password");
            let (code, _) = sb.run("init.js", throwing);
            assert_eq!(code, 0);
            assert_eq!(
                sb.state()["users"]["lucid.lucid"]["pwd"],
                "rotated-app-password"
            );
            // A root password MongoDB does not have: refused, said, not shown.
            sb.secret("MONGODB_ROOT_PASSWORD", "not-the-root-password");
            let (code, printed) = sb.run("init.js", throwing);
            assert_eq!(code, 3, "{printed}");
            assert!(
                printed.contains("root password in the secret store"),
                "{printed}"
            );
            assert_no_secret(
                &printed,
                &[root, "not-the-root-password", "rotated-app-password"],
            );
        }
    }

    #[test]
    fn the_keyfile_job_installs_the_key_owner_only_and_leaves_a_current_one_alone() {
        let (outputs, values) = lucid(7);
        let key = values.get("MONGODB_KEYFILE").unwrap();
        let sb = Sandbox::new(&outputs);
        sb.secret("MONGODB_KEYFILE", key);
        let (code, printed) = sb.run("keyfile.js", false);
        assert_eq!(code, 0, "{printed}");
        assert!(printed.contains("key file installed"), "{printed}");
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(fs::read_to_string(sb.key_file()).unwrap(), *key);
        assert_eq!(
            mode(&sb.key_file()),
            0o400,
            "mongod refuses a key file others can read"
        );
        let (code, printed) = sb.run("keyfile.js", false);
        assert_eq!((code, printed.trim()), (0, "key file up to date"));
        // A new key replaces the old one, still 0400.
        sb.secret("MONGODB_KEYFILE", "bmV3LWtleS1maWxlLWNvbnRlbnQ=");
        let (code, printed) = sb.run("keyfile.js", false);
        assert_eq!(code, 0, "{printed}");
        assert_eq!(
            fs::read_to_string(sb.key_file()).unwrap(),
            "bmV3LWtleS1maWxlLWNvbnRlbnQ="
        );
        assert_eq!(mode(&sb.key_file()), 0o400);
        assert_no_secret(&printed, &[key]);
    }
}
