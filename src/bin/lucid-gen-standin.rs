//! `lucid-gen-standin`: a tiny static program that impersonates *any* service of a
//! generated compose file in end-to-end tests, where no real image can be pulled.
//!
//! In a `FROM scratch` image it lives at `/standin` and is copied to the paths of the
//! exec health checks (`/usr/bin/python3`, `/usr/local/bin/redis-cli`, …). The
//! basename of `argv[0]` and the arguments choose what it does:
//!
//! * `standin [serve [ignored...]]`: listen on the ports of `STANDIN_TCP_PORTS` and
//!   `STANDIN_UDP_PORTS` (comma-separated); TCP speaks minimal HTTP/1.0 (`/health` →
//!   200 `ok`, other paths → 404, non-HTTP → close), UDP echoes. SIGTERM/SIGINT exit
//!   at once (it runs as PID 1).
//! * `standin probe tcp HOST PORT [TIMEOUT_MS]` | `dns HOST` | `http URL [TIMEOUT_MS]`:
//!   print one line (`reachable …`/`unreachable …`, `resolved …`/`unresolved …`),
//!   exit 0 on success, 1 on failure, 2 on usage errors.
//! * `python*`: runs the generated `python3 -c` health checks (`urlopen('http://…')`,
//!   `socket.create_connection(('HOST', PORT))`) natively.
//! * any other name (`redis-cli ping`, …): TCP connect to the first `STANDIN_TCP_PORTS`.
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

const USAGE: &str = "usage: standin [serve [ARGS...]]
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
    if name.starts_with("python") {
        return python_mode(rest);
    }
    if !(name.starts_with("standin") || name.starts_with("lucid-gen-standin")) {
        return exit_code("health check", generic_health_check());
    }
    match rest.first().map(String::as_str) {
        None | Some("serve") => serve(),
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

fn http_response(method: &str, target: &str) -> String {
    let healthy = target.split('?').next() == Some("/health");
    let (status, body) = if healthy {
        ("200 OK", "ok")
    } else {
        ("404 Not Found", "not found")
    };
    let body = if method == "HEAD" { "" } else { body };
    let length = body.len();
    format!("HTTP/1.0 {status}\r\nContent-Type: text/plain\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n{body}")
}

// ------------------------------------------------------ health-check modes

/// A parsed `http://HOST[:PORT][/PATH]` URL.
#[derive(Debug, PartialEq)]
struct Url {
    host: String,
    port: u16,
    path: String,
}

/// What a generated `python3 -c` health check does.
#[derive(Debug, PartialEq)]
enum Check {
    Http(Url),
    Tcp(String, u16),
}

fn parse_http_url(url: &str) -> Option<Url> {
    let rest = url.strip_prefix("http://")?;
    let split = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = (&rest[..split], &rest[split..]);
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().ok()?),
        None => (authority, 80),
    };
    let path = if path.is_empty() { "/" } else { path };
    let (host, path) = (host.to_string(), path.to_string());
    Some(Url { host, port, path }).filter(|url| !url.host.is_empty())
}

/// Recognises `urlopen('http://…')` and `create_connection(('HOST', PORT)…`.
fn parse_python_check(code: &str) -> Option<Check> {
    if let Some(start) = code.find("http://") {
        let url = code[start..].split(&['\'', '"', ' '][..]).next()?;
        return parse_http_url(url).map(Check::Http);
    }
    let args = code.split("create_connection(").nth(1)?.trim_start();
    let args = args.strip_prefix('(')?.trim_start();
    let quote = args.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let (host, after) = args[1..].split_once(quote)?;
    let after = after.trim_start().strip_prefix(',')?.trim_start();
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    Some(Check::Tcp(host.to_string(), digits.parse().ok()?))
}

fn python_mode(args: &[String]) -> i32 {
    let code = args
        .iter()
        .position(|a| a == "-c")
        .and_then(|i| args.get(i + 1));
    let result = match code.map(|code| (code, parse_python_check(code))) {
        Some((_, Some(Check::Http(url)))) => http_get(&url, CHECK_TIMEOUT).and_then(http_ok),
        Some((_, Some(Check::Tcp(host, port)))) => connect(&host, port, CHECK_TIMEOUT).map(drop),
        Some((code, None)) => {
            eprintln!("standin(python): unsupported code: {code}");
            return 2;
        }
        None => {
            eprintln!("standin(python): only `python3 -c CODE` is supported");
            return 2;
        }
    };
    exit_code("python", result)
}

/// Like `urlopen`: statuses of 400 and above are errors.
fn http_ok(status: u16) -> Result<(), String> {
    if status < 400 {
        Ok(())
    } else {
        Err(format!("HTTP status {status}"))
    }
}

/// Any other argv[0]: the first configured TCP port must accept connections.
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
mod tests {
    use super::*;

    /// A reply (QR, RD, RA, `rcode`) to `encode_query(id, name)` announcing `answers`.
    fn reply(id: u16, rcode: u8, answers: u16, name: &str) -> Vec<u8> {
        let mut msg = encode_query(id, name).unwrap();
        msg[2..4].copy_from_slice(&[0x81, 0x80 | rcode]);
        msg[6..8].copy_from_slice(&answers.to_be_bytes());
        msg
    }

    /// Appends a resource record (class IN, TTL 60).
    fn record(msg: &mut Vec<u8>, owner: &[u8], rtype: u16, rdata: &[u8]) {
        msg.extend_from_slice(owner);
        msg.extend_from_slice(&rtype.to_be_bytes());
        msg.extend_from_slice(&[0, 1, 0, 0, 0, 60, 0, rdata.len() as u8]);
        msg.extend_from_slice(rdata);
    }

    #[test]
    fn encodes_queries() {
        let mut expected = vec![0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 2, b'd', b'b', 3];
        expected.extend_from_slice(b"lan\0\0\x01\0\x01");
        assert_eq!(encode_query(0xabcd, "db.lan"), Ok(expected));
        assert!(encode_query(1, "a..b").is_err());
        assert!(encode_query(1, &"x".repeat(64)).is_err());
    }

    #[test]
    fn parses_answers_with_compression() {
        let mut msg = reply(7, 0, 3, "web");
        // CNAME web -> alias.web (owner and rdata use pointers to offset 12), then A records
        // owned by alias.web (pointer to the CNAME rdata at offset 33) and by web (plain).
        record(&mut msg, &[0xc0, 12], 5, b"\x05alias\xc0\x0c");
        record(&mut msg, &[0xc0, 33], 1, &[172, 20, 0, 5]);
        record(&mut msg, b"\x03web\0", 1, &[10, 250, 1, 2]);
        let expected = vec![Ipv4Addr::new(172, 20, 0, 5), Ipv4Addr::new(10, 250, 1, 2)];
        assert_eq!(parse_response(7, &msg), Ok(expected));
        assert_eq!(skip_name(&msg, 33), Some(41));
        assert_eq!(skip_name(&[0x40, 0], 0), None);
    }

    #[test]
    fn rejects_failed_and_broken_replies() {
        let no_name = |why: &str| Err(DnsError::NoSuchName(why.to_string()));
        assert_eq!(parse_response(9, &reply(9, 3, 0, "x")), no_name("NXDOMAIN"));
        assert_eq!(
            parse_response(9, &reply(9, 0, 0, "x")),
            no_name("no A record")
        );
        let transient = |r| matches!(r, Err(DnsError::Transient(_)));
        assert!(transient(parse_response(9, &reply(9, 2, 0, "x"))));
        assert!(transient(parse_response(8, &reply(9, 0, 0, "x"))));
        let mut truncated = reply(9, 0, 1, "x");
        record(&mut truncated, &[0xc0, 12], 1, &[1, 2, 3, 4]);
        truncated.pop();
        assert!(transient(parse_response(9, &truncated)));
    }

    #[test]
    fn parses_resolv_conf_and_hosts() {
        let conf = "search lan\nnameserver 127.0.0.11\nnameserver ::1\noptions ndots:0\n";
        assert_eq!(parse_nameservers(conf), vec![Ipv4Addr::new(127, 0, 0, 11)]);
        let hosts =
            "127.0.0.1 localhost\n::1 localhost\n172.20.0.5\tabc123 # me\n10.0.0.1 Db db.lan\n";
        assert_eq!(
            hosts_lookup(hosts, "abc123"),
            vec![Ipv4Addr::new(172, 20, 0, 5)]
        );
        assert_eq!(hosts_lookup(hosts, "db"), vec![Ipv4Addr::new(10, 0, 0, 1)]);
        assert!(hosts_lookup(hosts, "me").is_empty());
    }

    #[test]
    fn parses_urls_and_python_checks() {
        let url = |host: &str, port, path: &str| {
            let (host, path) = (host.to_string(), path.to_string());
            Some(Url { host, port, path })
        };
        assert_eq!(
            parse_http_url("http://127.0.0.1:8089/health"),
            url("127.0.0.1", 8089, "/health")
        );
        assert_eq!(parse_http_url("http://web"), url("web", 80, "/"));
        for bad in ["https://web/", "http://:80/", "http://web:x/"] {
            assert_eq!(parse_http_url(bad), None);
        }
        let http = "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8089/health', timeout=5)";
        let expected = url("127.0.0.1", 8089, "/health").map(Check::Http);
        assert_eq!(parse_python_check(http), expected);
        let tcp = "import socket; socket.create_connection(('127.0.0.1', 8089), timeout=5).close()";
        assert_eq!(
            parse_python_check(tcp),
            Some(Check::Tcp("127.0.0.1".into(), 8089))
        );
        let tcp = "socket.create_connection( (\"db\",5432) )";
        assert_eq!(parse_python_check(tcp), Some(Check::Tcp("db".into(), 5432)));
        assert_eq!(parse_python_check("print('hi')"), None);
    }

    #[test]
    fn parses_ports_and_arguments() {
        assert_eq!(parse_ports(""), Ok(vec![]));
        assert_eq!(parse_ports(" 8089, 53 ,,"), Ok(vec![8089, 53]));
        for bad in ["80,http", "0", "65536"] {
            assert!(parse_ports(bad).is_err());
        }
        assert_eq!(basename("/usr/local/bin/redis-cli"), "redis-cli");
        assert_eq!(parse_timeout(&[]), Some(Duration::from_millis(2000)));
        assert_eq!(parse_timeout(&["250"]), Some(Duration::from_millis(250)));
        assert_eq!(parse_timeout(&["0"]), None);
        assert_eq!(parse_status_line("HTTP/1.0 404 Not Found\r\n"), Some(404));
        assert_eq!(parse_status_line("SSH-2.0-x 1\r\n"), None);
    }

    #[test]
    fn answers_minimal_http() {
        let get_health = Some(("GET".to_string(), "/health".to_string()));
        assert_eq!(parse_request_line("GET /health HTTP/1.1"), get_health);
        for bad in [
            "PING",
            "get / HTTP/1.0",
            "GET / HTTP/1.0 x",
            "GET x HTTP/1.0",
        ] {
            assert_eq!(parse_request_line(bad), None);
        }
        assert!(http_response("GET", "/health?x=1").starts_with("HTTP/1.0 200 OK\r\n"));
        assert!(http_response("GET", "/health").ends_with("\r\n\r\nok"));
        assert!(http_response("GET", "/").starts_with("HTTP/1.0 404"));
        assert!(http_response("HEAD", "/health")
            .ends_with("Content-Length: 0\r\nConnection: close\r\n\r\n"));
    }
}
