//! What the process tests share: a minimal HTTP/1.1 client over a plain
//! socket, and a guard that kills a `kofu serve` left running by a failed
//! test.

#![allow(dead_code, reason = "each test crate uses a different part")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

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

/// Spawn a `kofu serve` command and wait until it listens; returns the
/// child, its base URL and the lines it printed before.
pub fn listening(command: &mut Command) -> (Running, String, Vec<String>) {
    let mut child = Running(
        command
            .env("KOFU_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start kofu serve"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let mut before = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if let Some(address) = line.split("listening on ").nth(1) {
            return (child, address.trim().to_owned(), before);
        }
        before.push(line);
    }
    panic!("kofu serve exited before listening:\n{}", before.join("\n"));
}

/// Start `kofu serve --demo` on a free port; returns the child and base URL.
pub fn start_demo(data_dir: &Path) -> (Running, String) {
    let mut command = Command::new(KOFU);
    command.args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"]).arg(data_dir);
    let (child, base, before) = listening(&mut command);
    assert!(
        before.iter().any(|line| line.starts_with("demo credentials: ")),
        "the credentials path is printed before the address: {before:?}"
    );
    (child, base)
}

/// What `kofu serve --demo` wrote to `demo-credentials.json`.
pub fn demo_credentials(data_dir: &Path) -> Value {
    let text = std::fs::read_to_string(data_dir.join("demo-credentials.json")).expect("demo-credentials.json");
    serde_json::from_str(&text).expect("the credentials are JSON")
}

/// Upload a component as the demo municipality; returns its hash.
pub fn upload(base: &str, credentials: &Value, component: &[u8]) -> String {
    let (code, token) =
        (credentials["municipality"]["code"].as_str().unwrap(), credentials["municipality"]["token"].as_str().unwrap());
    let path = format!("/v1/municipalities/{code}/plugins");
    let uploaded = http_bytes(base, "POST", &path, Some(token), &[], "application/wasm", component);
    assert_eq!(uploaded.0, 201, "{}", String::from_utf8_lossy(&uploaded.1));
    json_of(&uploaded)["hash"].as_str().unwrap().to_owned()
}

/// Sign the first demo resident in at the demo kiosk; returns the kiosk's
/// token and the session id.
pub fn open_session(base: &str, credentials: &Value) -> (String, String) {
    let kiosk = credentials["kiosk"]["token"].as_str().unwrap().to_owned();
    let resident = &credentials["residents"][0];
    let body = serde_json::json!({ "card_id": resident["card_id"], "pin": resident["pin"] });
    let signed_in = http(base, "POST", "/v1/kiosk/sessions", Some(&kiosk), &[], Some(body));
    assert_eq!(signed_in.0, 201, "{}", String::from_utf8_lossy(&signed_in.1));
    let session = json_of(&signed_in)["session_id"].as_str().unwrap().to_owned();
    (kiosk, session)
}
