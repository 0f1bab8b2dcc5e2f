//! The GitHub Actions workflow (`templates/github-workflow.yml`), when the
//! model has `system.ci.github`: one `docker/build-push-action` step per
//! built image — the health probe image when an image copies it, base images
//! first, each after the base it builds on, then
//! the services phase by phase — tagged with the image's reference and every
//! extra tag (`${GITHUB_SHA}` as `${{ github.sha }}`, any other `${NAME}` as
//! the repository variable `vars.NAME`), then, with `deploy`, one step per
//! phase that copies the phase's compose file and the plain files its
//! services read to the host, checks that the secret-bearing ones are
//! already there, and runs `docker compose pull` and `up -d --wait`.
//!
//! Every model string goes through [`crate::escape::workflow_str`] or
//! [`crate::escape::workflow_value`], so no model text can open a `${{ }}`
//! expression; the run scripts are fixed text that read model values only
//! from their step's environment.

use std::path::{Path, PathBuf};

use askama::Template;

use super::delivery::host_files;
use super::{
    build_dockerfile, compose_path, output_path, refused, template_error, DockerfileAt, RenderError,
};
use crate::compose_files::phases_and_master;
use crate::escape::{
    comment, workflow_expr, workflow_static, workflow_str, workflow_value, yaml_key, Comment,
    Unrepresentable, WorkflowExpr, WorkflowPiece, WorkflowValue, Yaml,
};
use crate::github_ci::{GithubCi, GithubDeploy, GITHUB_CONTEXT_VARS};
use crate::system::{Build, System};
use crate::tags::{repository, TagPart};

/// The directory workflows go to, relative to the output root.
pub const WORKFLOW_DIR: &str = ".github/workflows";

/// Where the workflow goes, relative to the output root.
pub fn workflow_path(github: &GithubCi) -> PathBuf {
    Path::new(WORKFLOW_DIR).join(&github.workflow_file)
}

struct BuildStep {
    name: WorkflowValue,
    context: WorkflowValue,
    file: WorkflowValue,
    tags: WorkflowValue,
}

struct PhaseStep {
    name: WorkflowValue,
    compose_dir: WorkflowValue,
    compose_file: WorkflowValue,
    /// Plain files copied, one per line, relative to the output root.
    files: WorkflowValue,
    /// Secret-bearing files that must already be on the host.
    host_files: WorkflowValue,
    /// The phase's one-shot jobs run once it is up (`after_up`), one per
    /// line; `None` when it has none.
    after_up: Option<WorkflowValue>,
}

struct DeployView {
    dir: WorkflowValue,
    host: WorkflowValue,
    user: WorkflowValue,
    key: WorkflowValue,
    known_hosts: WorkflowValue,
    phases: Vec<PhaseStep>,
    /// `after_deploy.prune_images`: a last step, `docker image prune -f`.
    prune_images: bool,
}

#[derive(Template)]
#[template(path = "github-workflow.yml", escape = "none")]
struct WorkflowTemplate {
    branch_comment: Comment,
    platform_comment: Comment,
    registry_comment: Comment,
    name: WorkflowValue,
    branch: WorkflowValue,
    concurrency: WorkflowValue,
    registry: WorkflowValue,
    username: WorkflowValue,
    password: WorkflowValue,
    tag_var_names: WorkflowValue,
    tag_vars: Vec<(Yaml, WorkflowValue)>,
    builds: Vec<BuildStep>,
    platform: WorkflowValue,
    output_dir: WorkflowValue,
    deploy: Option<DeployView>,
}

/// The workflow's path and text, when the model has one.
pub fn render(system: &System) -> Result<Option<(PathBuf, String)>, RenderError> {
    let Some(g) = &system.github else {
        return Ok(None);
    };
    let what = || "the GitHub workflow".to_string();
    let (username, password) = match &g.login {
        Some((user, pass)) => (
            workflow_expr(WorkflowExpr::Secret(user)),
            workflow_expr(WorkflowExpr::Secret(pass)),
        ),
        None => (
            workflow_expr(WorkflowExpr::Context("github.actor")),
            workflow_expr(WorkflowExpr::Context("secrets.GITHUB_TOKEN")),
        ),
    };
    let repo_vars = repository_vars(system);
    let tag_vars = (repo_vars.iter())
        .map(|v| Ok((yaml_key(v), workflow_expr(WorkflowExpr::Var(v))?)))
        .collect::<Result<_, Unrepresentable>>()
        .map_err(refused(what))?;
    let deploy = match &g.deploy {
        Some(d) => Some(DeployView {
            dir: workflow_str(&d.dir),
            host: secret(&d.host_secret)?,
            user: secret(&d.user_secret)?,
            key: secret(&d.key_secret)?,
            known_hosts: secret(&d.known_hosts_secret)?,
            phases: phase_steps(&deployed_system(system, d)),
            prune_images: d.after_deploy.prune_images,
        }),
        None => None,
    };
    let t = WorkflowTemplate {
        branch_comment: comment(&g.branch),
        platform_comment: comment(&system.platform),
        registry_comment: comment(&g.registry),
        name: workflow_static(&g.name).map_err(refused(what))?,
        branch: workflow_static(&g.branch).map_err(refused(what))?,
        concurrency: workflow_str(&format!("deploy {}", system.name)),
        registry: workflow_str(&g.registry),
        username: username.map_err(refused(what))?,
        password: password.map_err(refused(what))?,
        tag_var_names: workflow_str(&repo_vars.join(" ")),
        tag_vars,
        builds: build_steps(system, g)?,
        platform: workflow_str(&system.platform),
        output_dir: workflow_str(&g.output_dir),
        deploy,
    };
    let text = t.render().map_err(template_error("github-workflow.yml"))? + "\n";
    Ok(Some((workflow_path(g), text)))
}

fn secret(name: &str) -> Result<WorkflowValue, RenderError> {
    workflow_expr(WorkflowExpr::Secret(name))
        .map_err(refused(|| format!("the secret name `{name}`")))
}

/// The variables of the extra tags that are repository variables (not
/// GitHub's own), each once.
fn repository_vars(system: &System) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for v in system.extra_tags.iter().flat_map(|t| t.vars()) {
        let github = GITHUB_CONTEXT_VARS.iter().any(|(name, _)| *name == v);
        if !github && !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// `dir/rest`, or `rest` when `dir` is `.`.
fn under(dir: &str, rest: &Path) -> String {
    let rest = rest.to_string_lossy();
    match dir.trim_end_matches('/') {
        "." | "" => rest.into_owned(),
        dir => format!("{dir}/{rest}"),
    }
}

/// One build step per built image: the health probe image when an image
/// copies it, base images in build order (each after the base it builds
/// on), then the built services phase by phase.
fn build_steps(system: &System, g: &GithubCi) -> Result<Vec<BuildStep>, RenderError> {
    // Never a workflow that silently leaves images out.
    let waves = system
        .base_image_waves()
        .map_err(|stuck| RenderError::Unrepresentable {
            what: format!(
                "the GitHub workflow's build of base images {}",
                stuck.join(", ")
            ),
            why: "they build on each other in a cycle",
        })?;
    let mut steps: Vec<BuildStep> = probe_step(system, g).into_iter().collect();
    for i in waves.into_iter().flatten() {
        let image = &system.images[i];
        let name = format!("Build and push base image {}", image.key);
        steps.push(build_step(
            system,
            g,
            &name,
            &image.key,
            true,
            &image.build,
            &image.image,
        )?);
    }
    for p in 0..system.phases.len() {
        for s in system.services_in(p) {
            let Some(b) = &s.build else { continue };
            let name = format!("Build and push {}", s.name);
            steps.push(build_step(system, g, &name, &s.name, false, b, &s.image)?);
        }
    }
    Ok(steps)
}

/// The health probe program's image (`render::probe`), built and pushed
/// first when an image copies it: their `COPY --from` pulls it.
fn probe_step(system: &System, g: &GithubCi) -> Option<BuildStep> {
    if !super::probe::needed(system) {
        return None;
    }
    let at = |path: PathBuf| workflow_str(&under(&g.output_dir, &path));
    Some(BuildStep {
        name: workflow_str("Build and push the health probe image"),
        context: at(super::probe::context_dir(system)),
        file: at(super::probe::dockerfile_path(system)),
        tags: workflow_str(&super::probe::image(system)),
    })
}

fn build_step(
    system: &System,
    g: &GithubCi,
    step: &str,
    name: &str,
    base: bool,
    b: &Build,
    image: &str,
) -> Result<BuildStep, RenderError> {
    let file = match build_dockerfile(system, name, base, b) {
        DockerfileAt::Generated(path) => under(&g.output_dir, &path),
        DockerfileAt::Source(path) => under(&g.source_dir, &path),
    };
    Ok(BuildStep {
        name: workflow_str(step),
        context: workflow_str(&under(&g.source_dir, Path::new(&b.context))),
        file: workflow_str(&file),
        tags: tags(system, image)?,
    })
}

/// The image's reference and its extra tags, one per line.
fn tags(system: &System, image: &str) -> Result<WorkflowValue, RenderError> {
    let repo = format!("\n{}:", repository(image));
    let mut pieces = vec![WorkflowPiece::Text(image)];
    for tag in &system.extra_tags {
        pieces.push(WorkflowPiece::Text(&repo));
        for part in &tag.parts {
            pieces.push(match part {
                TagPart::Text(t) => WorkflowPiece::Text(t),
                TagPart::Var(v) => match GITHUB_CONTEXT_VARS.iter().find(|(n, _)| n == v) {
                    Some((_, context)) => WorkflowPiece::Expr(WorkflowExpr::Context(context)),
                    None => WorkflowPiece::Expr(WorkflowExpr::Var(v)),
                },
            });
        }
    }
    workflow_value(&pieces).map_err(refused(|| format!("the tags of `{image}`")))
}

/// The system as the host runs it: the variant `deploy.variant` names
/// (validation made sure it exists and pulls), else the model itself.
fn deployed_system(system: &System, d: &GithubDeploy) -> System {
    let variant =
        (d.variant.as_ref()).and_then(|name| system.variants.iter().position(|v| &v.name == name));
    match variant {
        Some(v) => system.with_variant(v),
        None => system.clone(),
    }
}

/// One deploy step per phase: its compose file and the plain files its
/// services read are copied; the secret-bearing ones must be there.
fn phase_steps(system: &System) -> Vec<PhaseStep> {
    let lines = |paths: &[PathBuf]| {
        let text: Vec<String> = paths
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        workflow_str(&text.join("\n"))
    };
    let mut steps = Vec::new();
    for plan in phases_and_master(system) {
        let Some(p) = plan.phase else { continue };
        let mut files = vec![compose_path(system, &plan.file_name)];
        let mut kept = Vec::new();
        for &s in &plan.services {
            for f in host_files(system, &system.services[s]) {
                let list = if f.secret { &mut kept } else { &mut files };
                if !list.contains(&f.path) {
                    list.push(f.path);
                }
            }
        }
        steps.push(PhaseStep {
            name: workflow_str(&format!("Deploy phase {}", system.phases[p].name)),
            compose_dir: workflow_str(
                &output_path(&system.output.compose_dir, &[]).to_string_lossy(),
            ),
            compose_file: workflow_str(&plan.file_name),
            files: lines(&files),
            host_files: lines(&kept),
            after_up: after_up_jobs(system, &plan.services),
        });
    }
    steps
}

/// The `after_up` jobs among `services`, one name per line, if any.
fn after_up_jobs(system: &System, services: &[usize]) -> Option<WorkflowValue> {
    let names: Vec<&str> = (services.iter())
        .map(|&i| &system.services[i])
        .filter(|s| s.after_up)
        .map(|s| s.name.as_str())
        .collect();
    (!names.is_empty()).then(|| workflow_str(&names.join("\n")))
}
