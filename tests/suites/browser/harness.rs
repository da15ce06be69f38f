//! A headless Chromium driven through WebDriver: a `chromedriver` of our
//! own on a free port, one session with a fresh profile, and the few
//! actions the page tests need. Every helper panics with what it was doing
//! and why it failed: these are test steps, and a failed step fails the
//! test. Without Chromium the suite fails too, saying how to install it; it
//! is never skipped.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// Where Debian's `chromium` and `chromium-driver` put them.
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long a started chromedriver gets to listen, and an element to appear.
const DRIVER_START: Duration = Duration::from_secs(20);
const FIND_WAIT: Duration = Duration::from_secs(10);

/// Chromium's flags. Headless and sandbox-less (tests run as root in
/// containers); and, because this machine's network is closed, nothing
/// that phones home: background fetches, component updates and sync hang
/// or crash the browser there.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1000",
    "--lang=ja",
];

/// A cookie as the browser holds it: what a test checks of a session cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserCookie {
    pub name: String,
    pub value: String,
    pub http_only: bool,
    pub secure: bool,
    /// `Strict`, `Lax` or `None`, as the server set it; `None` if unset.
    pub same_site: Option<String>,
}

/// One browser session. Dropping it ends the session and chromedriver,
/// also when a test panics.
pub struct Browser {
    client: Client,
    driver: Child,
    driver_addr: SocketAddr,
    session: String,
    /// The Chromium profile and chromedriver's log; removed last.
    profile: tempfile::TempDir,
}

impl Browser {
    /// Start chromedriver and open a session in a fresh headless Chromium.
    pub async fn start() -> Browser {
        let chromium = find_program(CHROMIUM, "chromium");
        let chromedriver = find_program(CHROMEDRIVER, "chromedriver");
        let profile = tempfile::tempdir().expect("a temporary directory for the Chromium profile");
        let log_path = profile.path().join("chromedriver.log");
        let log = File::create(&log_path).expect("chromedriver's log file");
        let port = free_port();
        let mut driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("chromedriver's log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let driver_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        wait_until_listening(&mut driver, driver_addr, &log_path);

        let user_data = profile.path().join("chromium");
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| (*a).to_owned()).collect();
        args.push(format!("--user-data-dir={}", user_data.display()));
        let mut capabilities = Capabilities::new();
        capabilities
            .insert("goog:chromeOptions".into(), json!({ "binary": chromium.display().to_string(), "args": args }));
        let connected = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://{driver_addr}"))
            .await;
        let client = match connected {
            Ok(client) => client,
            Err(err) => {
                let _ = driver.kill();
                let _ = driver.wait();
                panic!("chromedriver could not start Chromium: {err}\n{}", read_log(&log_path));
            }
        };
        let session = client.session_id().await.ok().flatten().expect("a WebDriver session id");
        Browser { client, driver, driver_addr, session, profile }
    }

    /// The WebDriver client, for what the helpers below do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Open `url` and wait for it to load.
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    pub async fn current_url(&self) -> String {
        self.client.current_url().await.expect("the current URL").to_string()
    }

    /// The element `css` selects, waiting for it to appear (pages may
    /// build parts of themselves after loading).
    pub async fn find(&self, css: &str) -> Element {
        match self.client.wait().at_most(FIND_WAIT).for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(err) => panic!("no element `{css}` on {}: {err}", self.current_url().await),
        }
    }

    /// Every element `css` selects now, perhaps none.
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client.find_all(Locator::Css(css)).await.unwrap_or_else(|e| panic!("find `{css}`: {e}"))
    }

    /// Click `css`, as a user would; a click that navigates returns once the
    /// new page has loaded.
    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("click `{css}`: {e}"));
    }

    /// Replace the value of the form field `css` by typing `value`.
    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap_or_else(|e| panic!("clear `{css}`: {e}"));
        field.send_keys(value).await.unwrap_or_else(|e| panic!("type into `{css}`: {e}"));
    }

    /// Choose the file at `path` in the `<input type=file>` `css`.
    /// chromedriver takes a path typed into a file input as the choice.
    pub async fn upload(&self, css: &str, path: &Path) {
        let path = path.canonicalize().unwrap_or_else(|e| panic!("the file to upload, {}: {e}", path.display()));
        let input = self.find(css).await;
        input.send_keys(&path.display().to_string()).await.unwrap_or_else(|e| panic!("choose a file in `{css}`: {e}"));
    }

    /// Submit the form `css` by clicking its submit button, so the page's
    /// validation and submit handlers run as for a user.
    pub async fn submit(&self, form_css: &str) {
        let form = self.find(form_css).await;
        let buttons = form
            .find_all(Locator::Css("button:not([type]), button[type=submit], input[type=submit]"))
            .await
            .unwrap_or_else(|e| panic!("the submit button of `{form_css}`: {e}"));
        let Some(button) = buttons.into_iter().next() else {
            panic!("the form `{form_css}` has no submit button");
        };
        button.click().await.unwrap_or_else(|e| panic!("submit `{form_css}`: {e}"));
    }

    /// The text of `css` as rendered (hidden parts left out).
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap_or_else(|e| panic!("the text of `{css}`: {e}"))
    }

    /// The rendered text of the whole page.
    pub async fn body_text(&self) -> String {
        self.text("body").await
    }

    /// Every cookie the browser holds for the current page.
    pub async fn cookies(&self) -> Vec<BrowserCookie> {
        let cookies = self.client.get_all_cookies().await.expect("the cookies");
        cookies
            .iter()
            .map(|c| BrowserCookie {
                name: c.name().to_owned(),
                value: c.value().to_owned(),
                http_only: c.http_only().unwrap_or(false),
                secure: c.secure().unwrap_or(false),
                same_site: c.same_site().map(|s| s.to_string()),
            })
            .collect()
    }

    /// The cookie `name` for the current page, if the browser holds one.
    pub async fn cookie(&self, name: &str) -> Option<BrowserCookie> {
        self.cookies().await.into_iter().find(|c| c.name == name)
    }

    /// Save what the window shows to `<target dir>/screenshots/<name>.png`
    /// and return that path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        let dir = target_dir().join("screenshots");
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Synchronously: this also runs while a failed test unwinds, when
        // the async client's task may never be polled again. Ending the
        // session makes chromedriver quit Chromium; killing chromedriver
        // alone could leave Chromium running.
        end_session(self.driver_addr, &self.session);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        if std::thread::panicking() {
            eprintln!("chromedriver's log:\n{}", read_log(&self.profile.path().join("chromedriver.log")));
        }
    }
}

/// `DELETE /session/{id}`, by hand, with a bound on the wait.
fn end_session(driver: SocketAddr, session: &str) {
    let Ok(mut stream) = TcpStream::connect_timeout(&driver, Duration::from_secs(2)) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!(
        "DELETE /session/{session} HTTP/1.1\r\nHost: {driver}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_ok() {
        // The answer comes once Chromium has quit. chromedriver keeps the
        // connection open whatever `Connection` says: read one response.
        read_response(&mut stream);
    }
}

/// Read one HTTP response with a `Content-Length` (chromedriver's are).
fn read_response(stream: &mut TcpStream) {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let Ok(n @ 1..) = stream.read(&mut buffer) else {
            return;
        };
        received.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&received);
        let Some(head_end) = text.find("\r\n\r\n") else {
            continue;
        };
        let length = text[..head_end]
            .lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, value)| value.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if received.len() >= head_end + 4 + length {
            return;
        }
    }
}

/// The program at `path`, or else `name` on PATH; panics saying how to
/// install it.
fn find_program(path: &str, name: &str) -> PathBuf {
    let preferred = PathBuf::from(path);
    if preferred.is_file() {
        return preferred;
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|dir| dir.join(name)).find(|p| p.is_file()))
        .unwrap_or_default();
    on_path.unwrap_or_else(|| {
        panic!(
            "the browser suite needs `{name}` ({path} or on PATH) and found none: run `scripts/setup --with-browser` \
             (it installs Debian's chromium and chromium-driver)"
        )
    })
}

/// A port nothing listens on now. chromedriver is told it and binds it a
/// moment later; another process taking it in between is unlikely, and
/// would fail the start loudly.
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a free local port");
    listener.local_addr().expect("the free port").port()
}

fn wait_until_listening(driver: &mut Child, addr: SocketAddr, log: &Path) {
    let deadline = Instant::now() + DRIVER_START;
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = driver.try_wait() {
            panic!("chromedriver exited ({status}) before listening on {addr}:\n{}", read_log(log));
        }
        if Instant::now() > deadline {
            let _ = driver.kill();
            let _ = driver.wait();
            panic!("chromedriver did not listen on {addr} within {DRIVER_START:?}:\n{}", read_log(log));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| format!("(no log at {}: {e})", path.display()))
}

/// `CARGO_TARGET_DIR` if set (a relative one taken from the workspace
/// root, where cargo is normally run), else the workspace's `target/`.
fn target_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").to_path_buf();
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace.join(dir),
        _ => workspace.join("target"),
    }
}
