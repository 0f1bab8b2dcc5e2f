//! Health checks for well-known published images, so an imported model
//! reaches `check` without the `missing-health-check` warning for the
//! usual datastores and proxies. Each one runs a program the official
//! image ships, without a shell where possible; `import` marks every one it
//! fills in, in the model and in the report.

/// A well-known image's health check: the command (exec form) and what it
/// checks, for the comment in the model.
pub struct KnownCheck {
    pub exec: Vec<String>,
    pub what: &'static str,
}

/// The repository part of an image reference, without registry, path,
/// tag or digest: `docker.io/library/postgres:16-alpine` → `postgres`.
pub fn repository_name(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split(':').next().unwrap_or(last)
}

/// The check import fills in for `image`, if it knows one.
pub fn health_check(image: &str) -> Option<KnownCheck> {
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect();
    let (exec, what) = match repository_name(image) {
        "postgres" | "postgis" => (
            words(&["pg_isready", "-h", "127.0.0.1", "-q"]),
            "pg_isready: PostgreSQL accepts connections",
        ),
        "mariadb" => (
            words(&["mariadb-admin", "ping", "-h", "127.0.0.1", "--silent"]),
            "mariadb-admin ping: the server answers (also without credentials)",
        ),
        "mysql" | "percona" => (
            words(&["mysqladmin", "ping", "-h", "127.0.0.1", "--silent"]),
            "mysqladmin ping: the server answers (also without credentials)",
        ),
        "redis" | "redis-stack" | "redis-stack-server" | "redismod" => (
            words(&["redis-cli", "ping"]),
            "redis-cli ping: the server answers",
        ),
        "mongo" => (
            words(&["mongosh", "--quiet", "--eval", "db.adminCommand('ping').ok"]),
            "mongosh ping: the server answers",
        ),
        "nginx" | "nginx-unprivileged" => (
            words(&["/bin/sh", "-c", "kill -0 \"$(cat /var/run/nginx.pid)\""]),
            "the nginx master process named in its pid file is running",
        ),
        _ => return None,
    };
    Some(KnownCheck { exec, what })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_are_found_in_any_reference() {
        assert_eq!(repository_name("postgres"), "postgres");
        assert_eq!(repository_name("docker.io/library/postgres:16"), "postgres");
        assert_eq!(
            repository_name("localhost:5000/x/redis:7@sha256:ab"),
            "redis"
        );
        assert_eq!(repository_name("redislabs/redismod"), "redismod");
    }

    #[test]
    fn only_known_images_get_a_check() {
        assert!(health_check("mariadb:10-focal").is_some());
        assert!(health_check("nginx:alpine").is_some());
        assert!(health_check("nextcloud:apache").is_none());
        assert!(health_check("dpage/pgadmin4:latest").is_none());
    }
}
