//! The `images` section and every `build` (of an image or a service):
//! image references, contexts, runtimes, packages, copied paths and the
//! working directory — each path also through the escaper render writes it
//! with, so a path no Dockerfile can carry is a located error here.

use crate::diagnostic::Kind;
use crate::escape::{self, Unrepresentable};
use crate::model::raw;
use crate::system::*;

use super::common::Ref;
use super::location::{p, At};
use super::merge::Merged;
use super::names;
use super::Validator;

impl<'a> Validator<'a> {
    pub(super) fn images(&mut self, m: &Merged<'a>) -> Vec<BaseImage> {
        let mut out = Vec::new();
        for (key, d) in &m.images {
            self.check_name("image", key, &d.here());
            self.image_ref(&d.def.image, &d.at(&p().key("image")));
            let build = self.build_def(m, &d.def.build, &d.at(&p().key("build")), Some(key));
            if let Some(user) = &d.def.user {
                let at = d.at(&p().key("user"));
                if !names::is_user(user) {
                    let user = user.clone();
                    self.report(&at, Kind::InvalidUser { user });
                } else if names::is_root_user(user) {
                    let image = key.clone();
                    self.report(&at, Kind::BaseImageRoot { image });
                }
            }
            out.push(BaseImage {
                key: key.clone(),
                description: d.def.description.clone(),
                image: d.def.image.clone(),
                build,
                user: d.def.user.clone(),
            });
        }
        self.base_image_cycles(m, &out);
        out
    }

    /// Base images built on each other in a ring (`a` on `image:b`, `b` on
    /// `image:a`) can never be built: each is reported once, at the
    /// `runtime` of its first image in model order.
    fn base_image_cycles(&mut self, m: &Merged<'a>, images: &[BaseImage]) {
        for start in 0..images.len() {
            let mut ring = vec![start];
            let mut at = images[start].build.runtime_base;
            while let Some(next) = at.filter(|&n| n != start && !ring.contains(&n)) {
                ring.push(next);
                at = images[next].build.runtime_base;
            }
            // Only the ring's first image reports it (a self-reference is
            // `OwnRuntime`, already reported).
            if at != Some(start) || ring.len() < 2 || ring.iter().any(|&i| i < start) {
                continue;
            }
            let mut names: Vec<&str> = ring.iter().map(|&i| images[i].key.as_str()).collect();
            names.push(&images[start].key);
            let cycle = names.join(" → ");
            let here = m.images[start].at(&p().key("build").key("runtime"));
            self.report(&here, Kind::BaseImageCycle { cycle });
        }
    }

    pub(super) fn image_ref(&mut self, image: &str, at: &At) {
        if !names::is_image_ref(image) {
            self.report(
                at,
                Kind::InvalidImageRef {
                    image: image.to_string(),
                },
            );
        }
    }

    pub(super) fn build_def(
        &mut self,
        m: &Merged<'a>,
        b: &raw::BuildDef,
        at: &At,
        own_key: Option<&str>,
    ) -> Build {
        let sub = |k: &str| at.key(k);
        if !names::is_relative_path(&b.context) {
            self.report(
                &sub("context"),
                Kind::BuildContext {
                    context: b.context.clone(),
                },
            );
        }
        let stack = self.build_source(b, at);
        let builder = self.build_image(b.builder.as_deref(), "builder", stack, at);
        if !builder.is_empty() {
            self.image_ref(&builder, &sub("builder"));
        }
        let runtime = self.build_image(b.runtime.as_deref(), "runtime", stack, at);
        let (runtime, runtime_base) = match runtime.is_empty() {
            true => (runtime, None),
            false => self.build_runtime(m, &runtime, at, own_key),
        };
        self.build_files(b, at);
        if let Some(r) = &b.requirements {
            self.requirements(r, stack, &sub("requirements"));
        }
        if let Some(v) = b.version_file.as_deref().filter(|_| stack.is_some()) {
            self.version_file(v, &sub("version_file"));
        }
        if stack == Some(Stack::Native) && b.copy.is_empty() {
            self.report(at, Kind::NativeCopiesNothing {});
        }
        let entrypoint_needed = stack.is_some() && own_key.is_none() && runtime_base.is_none();
        if entrypoint_needed && b.entrypoint.is_empty() {
            self.report(&sub("entrypoint"), Kind::MissingEntrypoint {});
        }
        if let Some(w) = &b.workdir {
            self.workdir(w, &sub("workdir"));
        }
        if b.probe && own_key.is_some() {
            self.report_at_key(&sub("probe"), Kind::ProbeOnBaseImage {});
        }
        let misplaced = stack != Some(Stack::Node) || own_key.is_some();
        if !b.dev_entrypoint.is_empty() && b.dockerfile.is_none() && misplaced {
            self.report_at_key(&sub("dev_entrypoint"), Kind::DevEntrypointNotNode {});
        }
        Build {
            stack,
            dockerfile: b.dockerfile.clone(),
            context: b.context.clone(),
            builder,
            runtime,
            runtime_base,
            packages: b.packages.clone(),
            requirements: b.requirements.clone(),
            version_file: b.version_file.clone(),
            copy: b
                .copy
                .iter()
                .map(|c| (c.from.clone(), c.to.clone()))
                .collect(),
            entrypoint: b.entrypoint.clone(),
            dev_entrypoint: b.dev_entrypoint.clone(),
            target: None,
            workdir: b.workdir.clone(),
            probe: b.probe,
        }
    }

    /// Exactly one of `stack` and `dockerfile`; a hand-written Dockerfile
    /// lies inside the context, and no field a template would use is given
    /// beside it. The stack, `None` for a hand-written Dockerfile.
    fn build_source(&mut self, b: &raw::BuildDef, at: &At) -> Option<Stack> {
        let Some(path) = &b.dockerfile else {
            if b.stack.is_none() {
                self.report(at, Kind::NoStackNorDockerfile {});
            }
            return b.stack;
        };
        if b.stack.is_some() {
            self.report(&at.key("dockerfile"), Kind::StackAndDockerfile {});
        }
        if !names::is_relative_path(path) {
            let dockerfile = path.clone();
            self.report(&at.key("dockerfile"), Kind::DockerfilePath { dockerfile });
        }
        let ignored = [
            ("builder", b.builder.is_some()),
            ("runtime", b.runtime.is_some()),
            ("packages", !b.packages.is_empty()),
            ("requirements", b.requirements.is_some()),
            ("version_file", b.version_file.is_some()),
            ("copy", !b.copy.is_empty()),
            ("entrypoint", !b.entrypoint.is_empty()),
            ("dev_entrypoint", !b.dev_entrypoint.is_empty()),
            ("workdir", b.workdir.is_some()),
        ];
        for (field, given) in ignored {
            if given {
                self.report_at_key(&at.key(field), Kind::DockerfileIgnores { field });
            }
        }
        None
    }

    /// The builder or runtime image of a stack build: as given, the
    /// stack's default, or missing (reported). Empty for a hand-written
    /// Dockerfile, which names its own.
    fn build_image(
        &mut self,
        given: Option<&str>,
        field: &'static str,
        stack: Option<Stack>,
        at: &At,
    ) -> String {
        let Some(stack) = stack else {
            return String::new();
        };
        match (given, stack) {
            (Some(image), _) => image.to_string(),
            (None, Stack::Node) => NODE_IMAGE.to_string(),
            (None, _) => {
                let stack = stack_name(stack);
                self.report(at, Kind::MissingBuildImage { field, stack });
                String::new()
            }
        }
    }

    /// The runtime image: a reference, or `image:<key>` of the model's images.
    fn build_runtime(
        &mut self,
        m: &Merged<'a>,
        runtime: &str,
        at: &At,
        own_key: Option<&str>,
    ) -> (String, Option<usize>) {
        let sub = |k: &str| at.key(k);
        match runtime.strip_prefix("image:") {
            Some(key) => match self.resolve(Ref::Image, key, &m.images, &sub("runtime")) {
                Some(i) if Some(key) == own_key => {
                    self.report(
                        &sub("runtime"),
                        Kind::OwnRuntime {
                            image: key.to_string(),
                        },
                    );
                    (String::new(), Some(i))
                }
                Some(i) => (m.images[i].def.image.clone(), Some(i)),
                None => (String::new(), None),
            },
            None => {
                self.image_ref(runtime, &sub("runtime"));
                (runtime.to_string(), None)
            }
        }
    }

    /// Packages to install and paths to copy from the builder.
    fn build_files(&mut self, b: &raw::BuildDef, at: &At) {
        for (i, package) in b.packages.iter().enumerate() {
            let ok = !package.is_empty()
                && !package.starts_with('-')
                && package.chars().all(|c| c.is_ascii_graphic());
            if !ok {
                self.report(
                    &At {
                        file: at.file,
                        path: at.path.key("packages").index(i),
                    },
                    Kind::InvalidPackage {
                        package: package.clone(),
                    },
                );
            }
        }
        for (i, c) in b.copy.iter().enumerate() {
            let at = At {
                file: at.file,
                path: at.path.key("copy").index(i),
            };
            let absolute = names::is_container_path(&c.from) && names::is_container_path(&c.to);
            if !absolute {
                // At the path that is not absolute (the source when neither is).
                let side = match names::is_container_path(&c.from) {
                    true => "to",
                    false => "from",
                };
                self.report(
                    &at.key(side),
                    Kind::CopyNotAbsolute {
                        from: c.from.clone(),
                        to: c.to.clone(),
                    },
                );
            }
            // The Dockerfile's `COPY`, escaped as render escapes it. A
            // control character already failed the path check above.
            if let Err(Unrepresentable(why)) = escape::docker_copy(&c.from, &c.to) {
                if absolute || !has_control(&c.from) && !has_control(&c.to) {
                    // Point at the source when it alone is refused.
                    let side = match escape::docker_copy(&c.from, "/") {
                        Err(_) => "from",
                        Ok(_) => "to",
                    };
                    let at = At {
                        file: at.file,
                        path: at.path.key(side),
                    };
                    let (from, to) = (c.from.clone(), c.to.clone());
                    self.report(&at, Kind::CopyUnwritable { from, to, why });
                }
            }
        }
    }

    /// `build.requirements`: a `python` build's file inside the context,
    /// copied into the builder stage as written. A hand-written Dockerfile
    /// already reports it (`DockerfileIgnores`).
    fn requirements(&mut self, r: &str, stack: Option<Stack>, at: &At) {
        if let Some(other) = stack.filter(|s| *s != Stack::Python) {
            let stack = stack_name(other);
            self.report_at_key(at, Kind::RequirementsNotPython { stack });
            return;
        }
        let why = match escape::docker_copy(r, REQUIREMENTS_IN_BUILDER) {
            _ if !names::is_relative_path(r) => "it must be relative to `context` and inside it",
            Err(Unrepresentable(why)) => why,
            Ok(_) => return,
        };
        let (field, path) = ("requirements", r.to_string());
        self.report(at, Kind::BuildFilePath { field, path, why });
    }

    /// `build.version_file`: an absolute file path the runtime stage's
    /// `COPY` can write, outside the secrets directory.
    fn version_file(&mut self, v: &str, at: &At) {
        let why = match escape::docker_copy(VERSION_IN_STAGE, v) {
            _ if !names::is_container_path(v) || v.ends_with('/') => {
                "it must be an absolute file path inside the image"
            }
            _ if v == "/run/secrets" || v.starts_with("/run/secrets/") => {
                "the secrets directory holds secrets only"
            }
            Err(Unrepresentable(why)) => why,
            Ok(_) => return,
        };
        let (field, path) = ("version_file", v.to_string());
        self.report(at, Kind::BuildFilePath { field, path, why });
    }

    /// `build.workdir`: absolute, and writable as the Dockerfile's
    /// `WORKDIR` and as the destination of the `COPY` of the sources.
    fn workdir(&mut self, w: &str, at: &At) {
        let absolute = names::is_container_path(w);
        if !absolute {
            let workdir = w.to_string();
            self.report(at, Kind::WorkdirNotAbsolute { workdir });
        }
        let escaped = escape::docker_word(w).and_then(|_| escape::docker_copy(".", w));
        if let Err(Unrepresentable(why)) = escaped {
            if absolute || !has_control(w) {
                let workdir = w.to_string();
                self.report(at, Kind::WorkdirUnwritable { workdir, why });
            }
        }
    }
}

/// The builder and runtime image of the `node` stack when the model names none.
pub const NODE_IMAGE: &str = "node:20-alpine";

/// A stack as the model spells it.
fn stack_name(stack: Stack) -> &'static str {
    match stack {
        Stack::Python => "python",
        Stack::Java => "java",
        Stack::Native => "native",
        Stack::Node => "node",
    }
}

/// What the path checks already refuse (`char::is_control`).
fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}
