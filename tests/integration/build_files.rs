//! `build.requirements` (the `python` stack) and `build.version_file`
//! (every stack) on the `small` fixture: what the generated Dockerfiles do
//! with them. The real builds are in `docker_tier::realrun` (ConsensusNet's
//! requirements.txt, noderr's `/app/VERSION`).

use crate::common::Project;

/// The fixture with the API (python on a python base) installing a
/// requirements file and both it and the database (native) holding their
/// version.
fn rendered() -> Project {
    let p = Project::fixture("small");
    let before = p.read("model/services.yaml");
    let after = before
        .replace(
            "      packages: [httpx==0.28.1]\n",
            "      packages: [httpx==0.28.1]\n      requirements: deps/requirements.txt\n      version_file: /app/VERSION\n",
        )
        .replace(
            "      entrypoint: [/usr/local/bin/postgres]\n",
            "      entrypoint: [/usr/local/bin/postgres]\n      version_file: /etc/shop/VERSION\n",
        );
    assert_eq!(after.matches("version_file").count(), 2, "{after}");
    p.write("model/services.yaml", &after);
    p.run().args(&["all"]).run();
    p
}

#[test]
fn the_requirements_file_is_installed_before_the_packages_from_the_context() {
    let p = rendered();
    let api = p.read("generated/dockerfiles/services/shop-api/Dockerfile");
    let (builder, runtime) = api.split_once("\n# Runtime:").unwrap();
    let copy = builder
        .find("COPY deps/requirements.txt /tmp/requirements.txt\n")
        .expect("the file copied alone");
    let pip = builder.find("pip install").unwrap();
    let req = builder
        .find("--requirement /tmp/requirements.txt \\\n")
        .unwrap();
    let package = builder.find("httpx==0.28.1").unwrap();
    assert!(copy < pip && pip < req && req < package, "{api}");
    assert!(!runtime.contains("requirements"), "{api}");
}

#[test]
fn the_version_file_holds_the_image_tag_on_python_and_native() {
    let p = rendered();
    for (service, path) in [
        ("shop-api", "/app/VERSION"),
        ("shop-db", "/etc/shop/VERSION"),
    ] {
        let text = p.read(&format!(
            "generated/dockerfiles/services/{service}/Dockerfile"
        ));
        let (stages, runtime) = text.split_once("\n# Runtime:").unwrap();
        // The fixture's tag is "1.0" (system.registry.tag).
        assert!(
            stages.contains("AS version\nRUN printf '%s\\n' 1.0 > /VERSION\n"),
            "{text}"
        );
        let build_platform = stages.find("ARG BUILDPLATFORM").unwrap();
        assert!(
            build_platform < stages.find("AS version").unwrap(),
            "{text}"
        );
        assert!(
            runtime.contains(&format!("COPY --from=version /VERSION {path}\n")),
            "{text}"
        );
    }
}
