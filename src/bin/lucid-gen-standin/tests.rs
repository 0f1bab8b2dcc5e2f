//! Unit tests of the stand-in program (a separate file so that the program,
//! compiled from its one source file, stays small; `cfg(test)` only).

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
    let hosts = "127.0.0.1 localhost\n::1 localhost\n172.20.0.5\tabc123 # me\n10.0.0.1 Db db.lan\n";
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
    assert_eq!(
        parse_http_url("http://web:8700?x=1"),
        url("web", 8700, "/?x=1")
    );
    assert_eq!(parse_http_url("http://[::1]:81/h"), url("::1", 81, "/h"));
    let args = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    let http =
        "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8089/health', timeout=5)";
    let expected = url("127.0.0.1", 8089, "/health").map(Check::Http);
    assert_eq!(
        exec_checks("python3", &args(&["-c", http])),
        Vec::from_iter(expected)
    );
    let tcp = "import socket; socket.create_connection(('127.0.0.1', 8089), timeout=5).close()";
    let tcp_check = |host: &str, port| vec![Check::Tcp(host.into(), port)];
    assert_eq!(
        exec_checks("python3", &args(&["-c", tcp])),
        tcp_check("127.0.0.1", 8089)
    );
    let tcp = "socket.create_connection( (\"db\",5432) )";
    assert_eq!(
        exec_checks("python3", &args(&["-c", tcp])),
        tcp_check("db", 5432)
    );
    // Nothing to check: the program falls back to its own first port.
    for argv in [
        &["-c", "print('hi')"][..],
        &["-m", "worker.health"],
        &["--version"],
        &["ping"],
        &["-q", "-O-", "12:30"],
    ] {
        assert_eq!(exec_checks("python3", &args(argv)), vec![], "{argv:?}");
    }
    let wget = args(&["-q", "-O-", "http://localhost:8700/healthz"]);
    let healthz = url("localhost", 8700, "/healthz").map(Check::Http);
    assert_eq!(exec_checks("wget", &wget), Vec::from_iter(healthz));
    let curl = args(&["-fsS", "localhost:8080/x"]);
    let x = url("localhost", 8080, "/x").map(Check::Http);
    assert_eq!(exec_checks("curl", &curl), Vec::from_iter(x));
    let sh = args(&["-c", "curl -f https://api.internal/ready || exit 1"]);
    assert_eq!(exec_checks("sh", &sh), tcp_check("api.internal", 443));
    let nc = args(&["-z", "db:5432"]);
    assert_eq!(exec_checks("nc", &nc), tcp_check("db", 5432));
    let redis = args(&["-h", "cache", "-p", "6380", "ping"]);
    assert_eq!(exec_checks("redis-cli", &redis), tcp_check("cache", 6380));
    let pg = args(&["--port=5433"]);
    assert_eq!(exec_checks("pg_isready", &pg), tcp_check("127.0.0.1", 5433));
    for host in ["localhost", "127.0.0.1", "127.9.9.9", "::1", "0.0.0.0"] {
        assert!(is_loopback(host), "{host}");
    }
    assert!(!is_loopback("web") && !is_loopback("10.0.0.1"));
}

#[test]
fn parses_the_node_and_probe_program_checks() {
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let url = |host: &str, port, path: &str| {
        Some(Url {
            host: host.to_string(),
            port,
            path: path.to_string(),
        })
    };
    let tcp_check = |host: &str, port| vec![Check::Tcp(host.into(), port)];
    let probe = args(&["http", "8800", "/ready"]);
    let ready = url("127.0.0.1", 8800, "/ready").map(Check::Http);
    assert_eq!(exec_checks("probe", &probe), Vec::from_iter(ready));
    let probe = args(&["tcp", "9200"]);
    assert_eq!(exec_checks("probe", &probe), tcp_check("127.0.0.1", 9200));
    let node = "setTimeout(() => process.exit(1), 5000); require('net').connect(3000, '127.0.0.1').on('connect', () => process.exit(0))";
    assert_eq!(
        exec_checks("node", &args(&["-e", node])),
        tcp_check("127.0.0.1", 3000)
    );
    let node = "fetch('http://127.0.0.1:3000/health', { redirect: 'manual' })";
    let health = url("127.0.0.1", 3000, "/health").map(Check::Http);
    assert_eq!(
        exec_checks("node", &args(&["-e", node])),
        Vec::from_iter(health)
    );
    assert_eq!(exec_checks("probe", &args(&["tcp", "0"])), vec![]);
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
    assert!(http_response("GET", "/healthz").ends_with("\r\n\r\nok"));
    assert!(http_response("GET", "/").starts_with("HTTP/1.0 200"));
    assert!(http_response("HEAD", "/health")
        .ends_with("Content-Length: 0\r\nConnection: close\r\n\r\n"));
}

#[test]
fn metrics_path_answers_prometheus_text_format() {
    let full = http_response("GET", "/metrics");
    assert!(
        full.contains("Content-Type: text/plain; version=0.0.4\r\n"),
        "{full}"
    );
    assert!(
        full.ends_with("\r\n\r\n# TYPE standin_up gauge\nstandin_up 1\n"),
        "{full}"
    );
    assert!(http_response("GET", "/metrics?x=1").ends_with("standin_up 1\n"));
    // Only /metrics itself: other paths keep answering `ok`.
    assert!(http_response("GET", "/metricsx").ends_with("\r\n\r\nok"));
    assert!(http_response("HEAD", "/metrics")
        .ends_with("Content-Length: 0\r\nConnection: close\r\n\r\n"));
}
