//! What the process tests share: a minimal HTTP/1.1 client over a plain
//! socket, and a guard that kills a `kofu serve` left running by a failed
//! test.

#![allow(dead_code, reason = "each test crate uses a different part")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command};

use serde_json::Value;

pub const KOFU: &str = env!("CARGO_BIN_EXE_kofu");

/// One HTTP/1.1 request with `Connection: close` and an optional JSON
/// body; returns status and body.
pub fn http(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Vec<u8>) {
    match body {
        Some(body) => http_bytes(base, method, path, token, headers, "application/json", body.to_string().as_bytes()),
        None => http_bytes(base, method, path, token, headers, "", b""),
    }
}

/// One HTTP/1.1 request with `Connection: close` and a body of any type.
pub fn http_bytes(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    content_type: &str,
    body: &[u8],
) -> (u16, Vec<u8>) {
    let address = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("connect");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    if !content_type.is_empty() {
        request.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    stream.write_all(&bytes).expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("receive");
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("header end");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status");
    let mut payload = response[split + 4..].to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        payload = dechunk(&payload);
    }
    (status, payload)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").expect("chunk size");
        let size = usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[line_end + 2..line_end + 2 + size]);
        data = &data[line_end + 4 + size..];
    }
}

pub fn json_of(reply: &(u16, Vec<u8>)) -> Value {
    serde_json::from_slice(&reply.1).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&reply.1)))
}

/// A running server, killed if a test fails before stopping it.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Stop a server with SIGTERM; it must exit cleanly.
pub fn stop(child: &mut Running) {
    let status = Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let exit = child.0.wait().expect("wait");
    assert!(exit.success(), "kofu serve exits cleanly on SIGTERM: {exit}");
}
