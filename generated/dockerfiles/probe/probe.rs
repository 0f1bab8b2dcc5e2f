//! Health probe for images without a shell, curl or an interpreter, written by
//! lucid-gen and built into every image whose health check is `http` or `tcp`.
//!
//!   probe http PORT PATH   GET http://127.0.0.1:PORT/PATH; healthy below status 400
//!   probe tcp PORT         a TCP connection to 127.0.0.1:PORT is accepted
//!
//! Exit 0 when healthy, 1 when not (one line on stderr says why), 2 on a usage
//! error. Every step (connect, send, read) gives up after 5 seconds. Only `std`
//! is used, so `rustc -O -C target-feature=+crt-static probe.rs` builds it.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::exit;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(5);
const USAGE: &str = "usage: probe http PORT PATH | probe tcp PORT";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match words.as_slice() {
        ["http", port, path] if path.starts_with('/') => port_of(port).map(|p| http(p, path)),
        ["tcp", port] => port_of(port).map(|p| connect(p).map(drop)),
        _ => None,
    };
    match result {
        None => {
            eprintln!("{USAGE}");
            exit(2)
        }
        Some(Ok(())) => exit(0),
        Some(Err(why)) => {
            eprintln!("probe: {}: {why}", args.join(" "));
            exit(1)
        }
    }
}

/// A port number from 1 to 65535.
fn port_of(word: &str) -> Option<u16> {
    word.parse().ok().filter(|p| *p != 0)
}

fn connect(port: u16) -> Result<TcpStream, String> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let stream = TcpStream::connect_timeout(&address, TIMEOUT)
        .map_err(|e| format!("cannot connect to {address}: {e}"))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
        .map_err(|e| format!("cannot set timeouts: {e}"))?;
    Ok(stream)
}

/// GET the path; healthy when the status line says below 400.
fn http(port: u16, path: &str) -> Result<(), String> {
    let mut stream = connect(port)?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: probe\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("cannot send the request: {e}"))?;
    let status = read_status(&mut stream)?;
    if status < 400 {
        Ok(())
    } else {
        Err(format!("HTTP status {status}"))
    }
}

/// Reads until the end of the status line (at most 5 seconds in all) and
/// returns its status code.
fn read_status(stream: &mut TcpStream) -> Result<u16, String> {
    let deadline = Instant::now() + TIMEOUT;
    let mut head = Vec::new();
    let mut buffer = [0u8; 512];
    while !head.contains(&b'\n') && head.len() < 8192 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("no answer within 5 seconds".to_string());
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| format!("cannot set timeouts: {e}"))?;
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buffer[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err("no answer within 5 seconds".to_string())
            }
            Err(e) => return Err(format!("cannot read the answer: {e}")),
        }
    }
    let text = String::from_utf8_lossy(&head);
    let line = text.lines().next().unwrap_or("");
    let mut parts = line.split_whitespace();
    let status = match (parts.next(), parts.next()) {
        (Some(version), Some(code)) if version.starts_with("HTTP/") => code.parse().ok(),
        _ => None,
    };
    status
        .filter(|code| (100..1000).contains(code))
        .ok_or_else(|| format!("not an HTTP answer: {:?}", line.chars().take(80).collect::<String>()))
}
