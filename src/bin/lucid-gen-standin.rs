//! `lucid-gen-standin`: a tiny static program that impersonates *any* service of a
//! generated compose file in end-to-end tests, where no real image can be pulled.
//!
//! In a `FROM scratch` image it lives at `/standin` and is copied to `/usr/bin/python3`
//! and to the path of the service's exec health check (`/usr/local/bin/redis-cli`,
//! `/usr/bin/curl`, `/app/bin/health.sh`, …). The basename of `argv[0]` and the
//! arguments choose what it does:
//!
//! * `standin [serve [ignored...]]`: listen on the ports of `STANDIN_TCP_PORTS` and
//!   `STANDIN_UDP_PORTS` (comma-separated); TCP speaks minimal HTTP/1.0 (every path →
//!   200 `ok`, `/metrics` one Prometheus gauge, non-HTTP → close), UDP echoes.
//!   SIGTERM/SIGINT exit at once (PID 1).
//! * `standin once`: exit 0 at once (one-shot services that must complete).
//! * `standin probe tcp HOST PORT [TIMEOUT_MS]` | `dns HOST` | `http URL [TIMEOUT_MS]`:
//!   print one line (`reachable …`/`unreachable …`, `resolved …`/`unresolved …`),
//!   exit 0 on success, 1 on failure, 2 on usage errors.
//! * any other name is a health check's program (`python3 -c CODE`, `python3 -m mod`,
//!   `node -e CODE`, lucid-gen's `probe http PORT PATH` and `probe tcp PORT`,
//!   `curl -f URL`, `wget -q -O- URL`, `redis-cli -p 6379 ping`, a script, …): it runs
//!   what the arguments name — every `http://` URL (a GET below 400), `https://` URL,
//!   `HOST:PORT` word, Python `create_connection((HOST, PORT))`, Node
//!   `net.connect(PORT, HOST)`, or else a
//!   `-p`/`--port` with `-h`/`--host` (TCP connects), loopback meaning the stand-in's
//!   own listeners — and exits 1 only if one of them fails. With nothing to check, the
//!   first `STANDIN_TCP_PORTS` port must accept connections (no TCP port: exit 0).
//!
//! Names resolve without libc (a static glibc binary has no NSS in a scratch image):
//! `/etc/hosts`, then a minimal UDP DNS client asking `/etc/resolv.conf`'s nameservers.
//! Only `std` and old language features are used so that Debian's rustc 1.63 (whose
//! `libstd-rust-dev:arm64` allows cross-building for arm64 offline) compiles it too.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{Error, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};
use std::{env, fs, process, thread};

const USAGE: &str = "usage: standin [serve [ARGS...]] | once
       standin probe tcp HOST PORT [TIMEOUT_MS] | dns HOST | http URL [TIMEOUT_MS]
       standin probe many tcp,HOST,PORT[,MS] dns,HOST http,URL[,MS] ...";
const PROBE_TIMEOUT_MS: u64 = 2000; // default of `probe tcp|http`
const CHECK_TIMEOUT: Duration = Duration::from_secs(5); // health checks, server reads
const DNS_TIMEOUT: Duration = Duration::from_secs(2); // per query; retried once
const MAX_HEAD: usize = 8192; // largest HTTP head read

// libc is linked anyway; declaring these two avoids the `libc` crate.
extern "C" {
    fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
    fn _exit(code: i32) -> !;
}
const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// Signal handler: terminate immediately (`_exit` is async-signal-safe).
extern "C" fn exit_on_signal(_signum: i32) {
    unsafe { _exit(0) }
}

fn main() {
    let args: Vec<String> = env::args().collect();
    process::exit(run(&args));
}

/// Dispatches on the basename of `argv[0]` and the arguments; returns the exit code.
fn run(args: &[String]) -> i32 {
    let name = basename(args.first().map(String::as_str).unwrap_or("standin"));
    let rest = args.get(1..).unwrap_or(&[]);
    if !(name == "standin" || name == "lucid-gen-standin") {
        return exec_probe(name, rest);
    }
    match rest.first().map(String::as_str) {
        None | Some("serve") => serve(),
        Some("once") => 0,
        Some("probe") => probe(&rest[1..]),
        Some(other) => {
            eprintln!("standin: unknown command {other:?}\n{USAGE}");
            2
        }
    }
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// 0 on success; 1 after printing the error to stderr.
fn exit_code(what: &str, result: Result<(), String>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("standin: {what}: {e}");
            1
        }
    }
}

// ---------------------------------------------------------------- serve mode

/// Parses a comma-separated port list; empty items are skipped.
fn parse_ports(spec: &str) -> Result<Vec<u16>, String> {
    let items = spec.split(',').map(str::trim).filter(|s| !s.is_empty());
    items
        .map(|item| match item.parse::<u16>() {
            Ok(port) if port != 0 => Ok(port),
            _ => Err(format!("invalid port {item:?}")),
        })
        .collect()
}

/// Reads a port list from the environment (absent means empty).
fn env_ports(var: &str) -> Result<Vec<u16>, String> {
    parse_ports(&env::var(var).unwrap_or_default()).map_err(|e| format!("{var}: {e}"))
}

/// Serves forever; returns 1 only if the configuration is invalid or a bind fails.
fn serve() -> i32 {
    unsafe {
        signal(SIGINT, exit_on_signal);
        signal(SIGTERM, exit_on_signal);
    }
    if let Err(e) = start_listeners() {
        eprintln!("standin: {e}");
        return 1;
    }
    loop {
        thread::park();
    }
}

/// Binds every configured port and serves each on its own thread.
fn start_listeners() -> Result<(), String> {
    let bind_error = |proto, port, e: Error| format!("cannot bind {proto} 0.0.0.0:{port}: {e}");
    for port in env_ports("STANDIN_TCP_PORTS")? {
        let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, port))
            .map_err(|e| bind_error("tcp", port, e))?;
        println!("standin: listening on tcp 0.0.0.0:{port}");
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                thread::spawn(move || handle_http(stream));
            }
        });
    }
    for port in env_ports("STANDIN_UDP_PORTS")? {
        let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, port))
            .map_err(|e| bind_error("udp", port, e))?;
        println!("standin: echoing on udp 0.0.0.0:{port}");
        thread::spawn(move || echo_loop(socket));
    }
    Ok(())
}

fn echo_loop(socket: UdpSocket) {
    let mut buf = vec![0u8; 65536];
    loop {
        if let Ok((n, peer)) = socket.recv_from(&mut buf) {
            let _ = socket.send_to(&buf[..n], peer);
        }
    }
}

/// Reads one request head and answers it; closes silently on anything non-HTTP.
fn handle_http(mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(CHECK_TIMEOUT));
    let _ = stream.set_write_timeout(Some(CHECK_TIMEOUT));
    let (mut head, mut chunk) = (Vec::new(), [0u8; 1024]);
    while head.len() < MAX_HEAD {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
        let text = String::from_utf8_lossy(&head);
        let request = match text.find('\n') {
            Some(end) => parse_request_line(text[..end].trim_end()),
            None => continue,
        };
        match request {
            None => return, // not HTTP: just close
            Some((method, path)) if text.contains("\r\n\r\n") || text.contains("\n\n") => {
                let _ = stream.write_all(http_response(&method, &path).as_bytes());
                return;
            }
            Some(_) => {} // head not complete yet
        }
    }
}

/// `METHOD /target HTTP/x.y` → `(METHOD, /target)`.
fn parse_request_line(line: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = line.split(' ').collect();
    match parts.as_slice() {
        [method, target, version]
            if !method.is_empty()
                && method.bytes().all(|b| b.is_ascii_uppercase())
                && target.starts_with('/')
                && version.starts_with("HTTP/") =>
        {
            Some((method.to_string(), target.to_string()))
        }
        _ => None,
    }
}

/// Every path answers 200 `ok`: the stand-in impersonates the service's
/// health endpoint wherever the model puts it (`/health`, `/healthz`, …);
/// `/metrics` answers what a Prometheus scraper can parse.
fn http_response(method: &str, target: &str) -> String {
    let (content_type, body) = metrics_response(target).unwrap_or(("text/plain", "ok"));
    let body = if method == "HEAD" { "" } else { body };
    let length = body.len();
    format!("HTTP/1.0 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n{body}")
}

/// `/metrics` (with or without a query): one gauge in the Prometheus text
/// exposition format, so a real Prometheus reports the target `up`.
fn metrics_response(target: &str) -> Option<(&'static str, &'static str)> {
    let path = target.split('?').next().unwrap_or(target);
    if path != "/metrics" {
        return None;
    }
    Some((
        "text/plain; version=0.0.4",
        "# TYPE standin_up gauge\nstandin_up 1\n",
    ))
}

// ------------------------------------------------------ health-check modes

/// A parsed `http://HOST[:PORT][/PATH]` URL.
#[derive(Debug, PartialEq)]
pub struct Url {
    pub host: String,
    pub port: u16,
    pub path: String,
}

/// One thing an exec health check reaches, found in its arguments.
#[derive(Debug, PartialEq)]
pub enum Check {
    /// `http://…`: a `GET` that must answer below 400 (like `curl -f`,
    /// `wget` and `urlopen`).
    Http(Url),
    /// `https://…`, `create_connection((HOST, PORT))`, `HOST:PORT`, `-p PORT`:
    /// a TCP connection (the stand-in speaks no TLS).
    Tcp(String, u16),
}

fn parse_http_url(url: &str) -> Option<Url> {
    let rest = url.strip_prefix("http://")?;
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = (&rest[..split], &rest[split..]);
    let (host, port) = split_host_port(authority, 80)?;
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    Some(Url { host, port, path })
}

/// `HOST[:PORT]`, `[V6]:PORT`, an optional `user@` dropped; `None` if malformed.
fn split_host_port(authority: &str, default: u16) -> Option<(String, u16)> {
    let authority = authority.rsplit('@').next()?;
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') || host.ends_with(']') => {
            (host, port.parse().ok().filter(|p| *p != 0)?)
        }
        _ => (authority, default),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let valid = |c: char| c.is_ascii_alphanumeric() || "-._:".contains(c);
    if host.is_empty() || !host.chars().all(valid) {
        return None;
    }
    Some((host.to_string(), port))
}

/// Whether `host` names the container itself.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    host.eq_ignore_ascii_case("localhost")
        || host == "::1"
        || host == "::"
        || host == "0.0.0.0"
        || host
            .parse::<Ipv4Addr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// Every URL (`http://`, `https://`) inside `text`, Python's
/// `create_connection((HOST, PORT)…)` and Node's `net.connect(PORT, HOST)`.
fn checks_in_text(text: &str, found: &mut Vec<Check>) {
    let ends = |c: char| c.is_whitespace() || "'\"`)(;,<>|&{}\\".contains(c);
    let mut rest = text;
    while let Some(start) = rest.find("http") {
        let candidate = &rest[start..];
        let url = &candidate[..candidate.find(ends).unwrap_or(candidate.len())];
        if url.starts_with("http://") {
            found.extend(parse_http_url(url).map(Check::Http));
        } else if let Some(tls) = url.strip_prefix("https://") {
            let authority = &tls[..tls.find(['/', '?', '#']).unwrap_or(tls.len())];
            let target = split_host_port(authority, 443);
            found.extend(target.map(|(host, port)| Check::Tcp(host, port)));
        }
        rest = &candidate[4..];
    }
    for call in text.split("create_connection(").skip(1) {
        found.extend(python_connection(call));
    }
    for call in text.split(".connect(").skip(1) {
        found.extend(node_connection(call));
    }
}

/// lucid-gen's probe program: `probe http PORT PATH` or `probe tcp PORT`,
/// both on loopback.
fn probe_program_check(args: &[String]) -> Option<Check> {
    let port = |word: &String| word.parse::<u16>().ok().filter(|p| *p != 0);
    match args {
        [kind, p, path] if kind == "http" && path.starts_with('/') => Some(Check::Http(Url {
            host: "127.0.0.1".to_string(),
            port: port(p)?,
            path: path.clone(),
        })),
        [kind, p] if kind == "tcp" => Some(Check::Tcp("127.0.0.1".to_string(), port(p)?)),
        _ => None,
    }
}

/// `PORT, 'HOST')…` after Node's `connect(`.
fn node_connection(args: &str) -> Option<Check> {
    let args = args.trim_start();
    let digits: String = args.chars().take_while(char::is_ascii_digit).collect();
    let after = args[digits.len()..]
        .trim_start()
        .strip_prefix(',')?
        .trim_start();
    let quote = after.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let (host, _) = after[1..].split_once(quote)?;
    Some(Check::Tcp(host.to_string(), digits.parse().ok()?))
}

/// `(('HOST', PORT)…` after `create_connection(`.
fn python_connection(args: &str) -> Option<Check> {
    let args = args.trim_start().strip_prefix('(')?.trim_start();
    let quote = args.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let (host, after) = args[1..].split_once(quote)?;
    let after = after.trim_start().strip_prefix(',')?.trim_start();
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    Some(Check::Tcp(host.to_string(), digits.parse().ok()?))
}

/// What an exec health check reaches: URLs anywhere in its arguments
/// (also inside `sh -c` or `python3 -c` code), `HOST:PORT[/PATH]` words
/// (HTTP for `curl`/`wget`, TCP otherwise), and, when none of those is
/// there, a `-p`/`--port` number with `-h`/`--host`.
pub fn exec_checks(program: &str, args: &[String]) -> Vec<Check> {
    if program == "probe" {
        if let Some(check) = probe_program_check(args) {
            return vec![check];
        }
    }
    let mut found = Vec::new();
    let http_client = program == "curl" || program == "wget";
    for arg in args {
        let before = found.len();
        checks_in_text(arg, &mut found);
        if found.len() == before && !arg.starts_with('-') {
            found.extend(host_port_arg(arg, http_client));
        }
    }
    if found.is_empty() {
        found.extend(port_option(args));
    }
    found
}

/// A bare `HOST:PORT[/PATH]` argument.
fn host_port_arg(word: &str, http: bool) -> Option<Check> {
    let authority = &word[..word.find('/').unwrap_or(word.len())];
    if !authority.contains(':') {
        return None;
    }
    let (host, port) = split_host_port(authority, 0)?;
    let is_name = host.chars().any(|c| c.is_ascii_alphabetic()) || host.parse::<Ipv4Addr>().is_ok();
    if port == 0 || !is_name || host.contains(':') {
        return None;
    }
    if http {
        return parse_http_url(&format!("http://{word}")).map(Check::Http);
    }
    Some(Check::Tcp(host, port))
}

/// `-p PORT`/`--port PORT`/`--port=PORT` with `-h HOST`/`--host HOST`
/// (loopback when absent), as `redis-cli` and `pg_isready` take them.
fn port_option(args: &[String]) -> Option<Check> {
    let value = |short: &str, long: &str| {
        let eq = format!("{long}=");
        args.iter().enumerate().find_map(|(i, arg)| {
            if arg == short || arg == long {
                args.get(i + 1).cloned()
            } else {
                arg.strip_prefix(&eq).map(str::to_string)
            }
        })
    };
    let port = value("-p", "--port")?.parse().ok().filter(|p| *p != 0)?;
    let host = value("-h", "--host").unwrap_or_else(|| "127.0.0.1".to_string());
    Some(Check::Tcp(host, port))
}

/// Runs one check against the network, as the real probe would.
fn run_check(check: &Check) -> Result<(), String> {
    let local = |host: &str| {
        if is_loopback(host) {
            "127.0.0.1".to_string()
        } else {
            host.to_string()
        }
    };
    match check {
        Check::Http(url) => {
            let url = Url {
                host: local(&url.host),
                port: url.port,
                path: url.path.clone(),
            };
            http_get(&url, CHECK_TIMEOUT).and_then(http_ok)
        }
        Check::Tcp(host, port) => connect(&local(host), *port, CHECK_TIMEOUT).map(drop),
    }
}

/// Any program name but the stand-in's own: the image's health-check
/// program (`python3 -c|-m …`, `curl`, `wget`, `redis-cli ping`, a
/// script, …). Runs every check its arguments name; with none, the first
/// configured TCP port must accept connections (none: healthy). Exit 1
/// only when a check fails — a probe is never failed for being unknown.
fn exec_probe(program: &str, args: &[String]) -> i32 {
    let checks = exec_checks(program, args);
    if checks.is_empty() {
        return exit_code("health check", generic_health_check());
    }
    for check in &checks {
        if let Err(e) = run_check(check) {
            eprintln!("standin({program}): {check:?}: {e}");
            return 1;
        }
    }
    0
}

/// Like `urlopen`: statuses of 400 and above are errors.
fn http_ok(status: u16) -> Result<(), String> {
    if status < 400 {
        Ok(())
    } else {
        Err(format!("HTTP status {status}"))
    }
}

/// The first configured TCP port must accept connections.
fn generic_health_check() -> Result<(), String> {
    match env_ports("STANDIN_TCP_PORTS")?.first() {
        Some(&port) => connect("127.0.0.1", port, CHECK_TIMEOUT).map(drop),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------- probe mode

/// Runs a probe; prints its one-line verdict (`Ok` = success, `Err` = failure).
fn probe(args: &[String]) -> i32 {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    if let ["many", checks @ ..] = args.as_slice() {
        return probe_many(checks);
    }
    let (code, line) = match run_probe(&args) {
        Some(Ok(line)) => (0, line),
        Some(Err(line)) => (1, line),
        None => {
            eprintln!("{USAGE}");
            return 2;
        }
    };
    println!("{line}");
    code
}

/// Runs one probe given as its words (`tcp HOST PORT [MS]`, `dns HOST`,
/// `http URL [MS]`): `None` when the words are not a probe.
fn run_probe(words: &[&str]) -> Option<Result<String, String>> {
    match words {
        ["tcp", host, port, rest @ ..] => match (port.parse(), parse_timeout(rest)) {
            (Ok(port), Some(timeout)) => Some(probe_tcp(host, port, timeout)),
            _ => None,
        },
        ["dns", host] => Some(probe_dns(host)),
        ["http", url, rest @ ..] => match (parse_http_url(url), parse_timeout(rest)) {
            (Some(url), Some(timeout)) => Some(probe_http(&url, timeout)),
            _ => None,
        },
        _ => None,
    }
}

/// `probe many CHECK...`: runs every check at once (a check is the words
/// of a single probe joined by commas: `tcp,HOST,PORT[,MS]`, `dns,HOST`,
/// `http,URL[,MS]`) and prints one line per check, in order: `ok CHECK
/// verdict`, `fail CHECK verdict` or `usage CHECK`. Exits 0 when every check
/// was well-formed: the caller reads the verdicts.
fn probe_many(checks: &[&str]) -> i32 {
    let handles: Vec<_> = checks
        .iter()
        .map(|check| {
            let words: Vec<String> = check.split(',').map(String::from).collect();
            thread::spawn(move || {
                let words: Vec<&str> = words.iter().map(String::as_str).collect();
                run_probe(&words)
            })
        })
        .collect();
    let mut code = 0;
    for (check, handle) in checks.iter().zip(handles) {
        match handle.join().unwrap_or(None) {
            Some(Ok(line)) => println!("ok {check} {line}"),
            Some(Err(line)) => println!("fail {check} {line}"),
            None => {
                println!("usage {check}");
                code = 2;
            }
        }
    }
    code
}

/// The optional trailing TIMEOUT_MS argument (`None` if invalid).
fn parse_timeout(rest: &[&str]) -> Option<Duration> {
    match rest {
        [] => Some(Duration::from_millis(PROBE_TIMEOUT_MS)),
        [ms] => ms
            .parse()
            .ok()
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis),
        _ => None,
    }
}

fn probe_tcp(host: &str, port: u16, timeout: Duration) -> Result<String, String> {
    match connect(host, port, timeout) {
        Ok(_) => Ok(format!("reachable {host}:{port}")),
        Err(e) => Err(format!("unreachable {host}:{port}: {e}")),
    }
}

fn probe_dns(host: &str) -> Result<String, String> {
    let ips = resolve_ipv4(host).map_err(|e| format!("unresolved {host}: {e}"))?;
    let ips: Vec<String> = ips.iter().map(Ipv4Addr::to_string).collect();
    Ok(format!("resolved {host} {}", ips.join(" ")))
}

fn probe_http(url: &Url, timeout: Duration) -> Result<String, String> {
    let target = format!("{}:{}", url.host, url.port);
    match http_get(url, timeout).and_then(|status| http_ok(status).map(|()| status)) {
        Ok(status) => Ok(format!("reachable {target}: HTTP {status}")),
        Err(e) => Err(format!("unreachable {target}: {e}")),
    }
}

// ------------------------------------------------------------ TCP and HTTP

/// Resolves `host` (see [`resolve_ipv4`]) and connects to the first address that answers.
fn connect(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, String> {
    let ips = resolve_ipv4(host).map_err(|e| format!("cannot resolve {host}: {e}"))?;
    let mut last_error = String::new();
    for ip in ips {
        match TcpStream::connect_timeout(&SocketAddr::from((ip, port)), timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) => last_error = format!("connect {ip}:{port}: {e}"),
        }
    }
    Err(last_error)
}

/// Sends an HTTP/1.0 `GET` and returns the response's status code.
fn http_get(url: &Url, timeout: Duration) -> Result<u16, String> {
    let mut stream = connect(&url.host, url.port, timeout)?;
    let io_error = |e: Error| format!("HTTP exchange failed: {e}");
    stream.set_read_timeout(Some(timeout)).map_err(io_error)?;
    stream.set_write_timeout(Some(timeout)).map_err(io_error)?;
    let (host, port, path) = (&url.host, url.port, &url.path);
    let request =
        format!("GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).map_err(io_error)?;
    let (mut head, mut chunk) = (Vec::new(), [0u8; 512]);
    while !head.contains(&b'\n') && head.len() < MAX_HEAD {
        match stream.read(&mut chunk).map_err(io_error)? {
            0 => break,
            n => head.extend_from_slice(&chunk[..n]),
        }
    }
    let status = parse_status_line(&String::from_utf8_lossy(&head));
    status.ok_or_else(|| "not an HTTP response".to_string())
}

/// `HTTP/1.x 200 OK` → 200.
fn parse_status_line(text: &str) -> Option<u16> {
    let mut parts = text.lines().next()?.split_whitespace();
    let version = parts.next()?;
    parts
        .next()?
        .parse()
        .ok()
        .filter(|_| version.starts_with("HTTP/"))
}

// --------------------------------------------------------------------- DNS

/// Why a DNS exchange produced no address.
#[derive(Debug, PartialEq)]
enum DnsError {
    /// Definitive (NXDOMAIN, no A record): not retried.
    NoSuchName(String),
    /// Timeout, refused, SERVFAIL, malformed reply: retried once.
    Transient(String),
}

/// IPv4 literal, `localhost`, `/etc/hosts`, then DNS via `/etc/resolv.conf`.
fn resolve_ipv4(host: &str) -> Result<Vec<Ipv4Addr>, String> {
    let host = host.trim_end_matches('.');
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(vec![ip]);
    } else if host.eq_ignore_ascii_case("localhost") {
        return Ok(vec![Ipv4Addr::LOCALHOST]);
    }
    let hosts = hosts_lookup(&fs::read_to_string("/etc/hosts").unwrap_or_default(), host);
    if !hosts.is_empty() {
        return Ok(hosts);
    }
    let conf =
        fs::read_to_string("/etc/resolv.conf").map_err(|e| format!("/etc/resolv.conf: {e}"))?;
    let servers = parse_nameservers(&conf);
    let id = RandomState::new().build_hasher().finish() as u16; // OS-seeded randomness
    let query = encode_query(id, host)?;
    let mut last_error = "no IPv4 nameserver in /etc/resolv.conf".to_string();
    for _attempt in 0..2 {
        for server in &servers {
            match dns_exchange(*server, id, &query) {
                Ok(ips) => return Ok(ips),
                Err(DnsError::NoSuchName(why)) => return Err(why),
                Err(DnsError::Transient(why)) => last_error = why,
            }
        }
    }
    Err(last_error)
}

/// IPv4 addresses listed for `host` in an `/etc/hosts` text.
fn hosts_lookup(text: &str, host: &str) -> Vec<Ipv4Addr> {
    let entries = text
        .lines()
        .map(|line| line.split('#').next().unwrap_or(""));
    let entries = entries.map(|line| line.split_whitespace().collect::<Vec<_>>());
    entries
        .filter(|fields| {
            fields
                .iter()
                .skip(1)
                .any(|name| name.eq_ignore_ascii_case(host))
        })
        .filter_map(|fields| fields.first().and_then(|ip| ip.parse().ok()))
        .collect()
}

/// IPv4 `nameserver` entries of a resolv.conf text.
fn parse_nameservers(conf: &str) -> Vec<Ipv4Addr> {
    let entries = conf
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>());
    entries
        .filter(|fields| fields.first() == Some(&"nameserver"))
        .filter_map(|fields| fields.get(1).and_then(|ip| ip.parse().ok()))
        .collect()
}

/// Encodes a recursive (RD) query for the A record of `name`.
fn encode_query(id: u16, name: &str) -> Result<Vec<u8>, String> {
    let mut query = id.to_be_bytes().to_vec();
    query.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]); // RD; QD=1, AN=NS=AR=0
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 || name.len() > 253 {
            return Err(format!("invalid host name {name:?}"));
        }
        query.push(label.len() as u8);
        query.extend_from_slice(label.as_bytes());
    }
    query.extend_from_slice(&[0, 0, 1, 0, 1]); // root label, QTYPE=A, QCLASS=IN
    Ok(query)
}

/// Sends `query` to `server:53` and waits up to [`DNS_TIMEOUT`] for the matching reply.
fn dns_exchange(server: Ipv4Addr, id: u16, query: &[u8]) -> Result<Vec<Ipv4Addr>, DnsError> {
    let fail = |e: Error| {
        let timed_out = matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut);
        let why = if timed_out {
            "timed out".to_string()
        } else {
            e.to_string()
        };
        DnsError::Transient(format!("nameserver {server}: {why}"))
    };
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).map_err(fail)?;
    socket.connect((server, 53)).map_err(fail)?;
    socket.send(query).map_err(fail)?;
    let (deadline, mut buf) = (Instant::now() + DNS_TIMEOUT, [0u8; 1500]);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left == Duration::ZERO {
            return Err(fail(ErrorKind::TimedOut.into()));
        }
        socket.set_read_timeout(Some(left)).map_err(fail)?;
        let n = socket.recv(&mut buf).map_err(fail)?;
        if be16(&buf[..n], 0) == Some(id) {
            return parse_response(id, &buf[..n]);
        } // else: a stale or foreign reply; keep waiting
    }
}

fn be16(msg: &[u8], pos: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*msg.get(pos)?, *msg.get(pos + 1)?]))
}

/// Offset just past the (possibly compressed) domain name starting at `pos`.
fn skip_name(msg: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = *msg.get(pos)? as usize;
        match len & 0xc0 {
            0xc0 => return msg.get(pos + 1).map(|_| pos + 2), // a pointer ends the name
            0x00 if len == 0 => return Some(pos + 1),
            0x00 => pos += 1 + len,
            _ => return None, // reserved label types
        }
    }
}

/// Extracts the A records of a reply to query `id`.
fn parse_response(id: u16, msg: &[u8]) -> Result<Vec<Ipv4Addr>, DnsError> {
    let malformed = || DnsError::Transient("malformed DNS reply".to_string());
    let field = |pos| be16(msg, pos).ok_or_else(malformed);
    let flags = field(2)?;
    if field(0)? != id || flags & 0x8000 == 0 {
        return Err(malformed());
    }
    match flags & 0x000f {
        0 => {}
        3 => return Err(DnsError::NoSuchName("NXDOMAIN".to_string())),
        rcode => return Err(DnsError::Transient(format!("DNS error, rcode {rcode}"))),
    }
    let mut pos = 12;
    for _ in 0..field(4)? {
        pos = skip_name(msg, pos).ok_or_else(malformed)? + 4; // + QTYPE, QCLASS
    }
    let mut ips = Vec::new();
    for _ in 0..field(6)? {
        pos = skip_name(msg, pos).ok_or_else(malformed)?;
        let (rtype, class, len) = (field(pos)?, field(pos + 2)?, field(pos + 8)? as usize);
        let data = msg.get(pos + 10..pos + 10 + len).ok_or_else(malformed)?;
        if rtype == 1 && class == 1 && len == 4 {
            ips.push(Ipv4Addr::new(data[0], data[1], data[2], data[3]));
        }
        pos += 10 + len;
    }
    if ips.is_empty() {
        return Err(DnsError::NoSuchName("no A record".to_string()));
    }
    Ok(ips)
}

#[cfg(test)]
#[path = "lucid-gen-standin/tests.rs"]
mod tests;
