//! A browser for the end-to-end tests: headless Chromium driven over W3C
//! WebDriver by a chromedriver of its own, with axe-core audits of what it
//! shows.
//!
//! The client is the dozen WebDriver calls the tests need, written over
//! `reqwest`, which the tests already use, rather than the `fantoccini`
//! crate: fantoccini 0.22 brings the `webdriver` crate and with it `http`
//! 0.2 beside our `http` 1, two versions of `cookie`, `time` and ICU's text
//! segmenter. chromedriver speaks plain HTTP on loopback, so nothing is
//! lost by not having its TLS either.
//!
//! Where things are: `ONEPANE_TEST_CHROMIUM` (default `/usr/bin/chromium`),
//! `ONEPANE_TEST_CHROMEDRIVER` (default `/usr/bin/chromedriver`) and
//! `ONEPANE_TEST_NODE_MODULES` (default `tests/browser/node_modules`, filled
//! by `npm ci` in `tests/browser`). Without Chromium or chromedriver
//! [`Browser::start`] prints why and returns `None`, unless
//! `ONEPANE_TEST_REQUIRE_ALL=1`, which turns the skip into a failure.

mod journey;
mod phone;
mod smoke;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// The key under which WebDriver passes an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long a page load or a script may run before WebDriver gives up.
const PAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long chromedriver may take to say where it listens.
const DRIVER_START: Duration = Duration::from_secs(10);

/// How a browser starts.
#[derive(Debug, Clone, Copy)]
pub struct BrowserOptions {
    /// The interface language, which is also what `Accept-Language` asks for.
    pub lang: &'static str,
    /// The viewport's width in CSS pixels.
    pub width: u32,
    /// The viewport's height in CSS pixels.
    pub height: u32,
}

impl Default for BrowserOptions {
    fn default() -> Self {
        Self {
            lang: "en",
            width: 1280,
            height: 800,
        }
    }
}

/// A headless Chromium in a fresh profile, and the chromedriver driving it;
/// both end when this is dropped.
pub struct Browser {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID`, the prefix of every command.
    session: String,
    driver_addr: SocketAddr,
    session_id: String,
    driver: Child,
    _profile: TempDir,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl Browser {
    /// An English browser with a 1280 × 800 viewport, or `None` (after
    /// saying why) when Chromium or chromedriver is not installed.
    pub async fn start() -> Option<Browser> {
        Self::start_with(BrowserOptions::default()).await
    }

    /// As [`Browser::start`], with the language and viewport given.
    pub async fn start_with(options: BrowserOptions) -> Option<Browser> {
        let chromium = installed("ONEPANE_TEST_CHROMIUM", "/usr/bin/chromium", "Chromium")?;
        let chromedriver = installed(
            "ONEPANE_TEST_CHROMEDRIVER",
            "/usr/bin/chromedriver",
            "chromedriver",
        )?;
        // The pages are audited with axe-core, which `npm ci` in
        // `tests/browser` installs.
        present(
            node_modules().join("axe-core").join("axe.min.js"),
            "axe-core",
            "set ONEPANE_TEST_NODE_MODULES",
            "run `npm ci` in tests/browser to run the browser tests",
        )?;
        let profile = tempfile::tempdir().unwrap();
        let (driver, driver_addr) = spawn_driver(&chromedriver).await;
        // The driver, the browser and the servers under test are all on
        // loopback; a proxy from the environment has no business in between.
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let capabilities = json!({
            "capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "pageLoadStrategy": "normal",
                "timeouts": {
                    "implicit": 0,
                    "pageLoad": PAGE_TIMEOUT.as_millis(),
                    "script": PAGE_TIMEOUT.as_millis(),
                },
                "goog:chromeOptions": {
                    "binary": chromium,
                    "args": chromium_args(profile.path(), options.lang),
                    "prefs": {"intl.accept_languages": options.lang},
                },
            }}
        });
        let started = http
            .post(format!("http://{driver_addr}/session"))
            .json(&capabilities)
            .send()
            .await;
        let value = match answer(started).await {
            Ok(value) => value,
            Err(e) => panic!(
                "{} did not start under chromedriver: {e}",
                chromium.display()
            ),
        };
        let session_id = value["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {value}"))
            .to_owned();
        let browser = Browser {
            http,
            session: format!("http://{driver_addr}/session/{session_id}"),
            driver_addr,
            session_id,
            driver,
            _profile: profile,
        };
        browser.set_window_size(options.width, options.height).await;
        Some(browser)
    }

    /// Sizes the viewport, what media queries and screenshots see, to
    /// `width` × `height` CSS pixels at a device pixel ratio of 1.
    ///
    /// The window itself cannot do it: headless Chromium keeps a window at
    /// least 500 pixels wide and takes its height for browser controls it
    /// does not draw, so the viewport is set through DevTools instead.
    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.post(
            "/window/rect",
            json!({"width": width.max(500), "height": height}),
        )
        .await;
        self.post(
            "/goog/cdp/execute",
            json!({
                "cmd": "Emulation.setDeviceMetricsOverride",
                "params": {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false},
            }),
        )
        .await;
    }

    /// Loads `url` and waits for it to finish loading.
    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    /// The address of the page shown.
    pub async fn current_url(&self) -> String {
        string(self.get("/url").await)
    }

    /// The page's `<title>`.
    pub async fn title(&self) -> String {
        string(self.get("/title").await)
    }

    /// The page's markup as it is now, scripts' changes included.
    pub async fn page_source(&self) -> String {
        string(self.get("/source").await)
    }

    /// The first element matching `css`; panics when there is none.
    pub async fn find(&self, css: &str) -> Element<'_> {
        match self.try_find(css).await {
            Some(element) => element,
            None => panic!("no element matches `{css}` on {}", self.current_url().await),
        }
    }

    /// The first element matching `css`, if any.
    pub async fn try_find(&self, css: &str) -> Option<Element<'_>> {
        let found = self.call(Method::POST, "/element", Some(by_css(css))).await;
        match found {
            Ok(value) => Some(self.element(css, &value)),
            Err(e) if e.error == "no such element" => None,
            Err(e) => panic!("finding `{css}`: {e}"),
        }
    }

    /// Every element matching `css`, in document order.
    pub async fn find_all(&self, css: &str) -> Vec<Element<'_>> {
        match self.post("/elements", by_css(css)).await {
            Value::Array(values) => values.iter().map(|v| self.element(css, v)).collect(),
            other => panic!("finding all `{css}`: not a list: {other}"),
        }
    }

    /// The first element matching `css`, waiting up to `timeout` for one
    /// to appear; panics, naming the page, when none does.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Element<'_> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(element) = self.try_find(css).await {
                return element;
            }
            if Instant::now() > deadline {
                panic!(
                    "no element matched `{css}` within {timeout:?} on {} ({:?})",
                    self.current_url().await,
                    self.title().await
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Presses and releases `key` where the focus is: a character, or one
    /// of WebDriver's key codes such as [`keys::TAB`].
    pub async fn press(&self, key: &str) {
        let keyboard = json!({"actions": [{
            "type": "key",
            "id": "keyboard",
            "actions": [{"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}],
        }]});
        self.post("/actions", keyboard).await;
    }

    /// The element that has the focus (the body when nothing has).
    pub async fn focused(&self) -> Element<'_> {
        let value = self.get("/element/active").await;
        self.element(":focus", &value)
    }

    /// Runs `script` as the body of a function given `args` (elements
    /// passed with [`Element::as_arg`]) and returns what it returns.
    pub async fn execute(&self, script: &str, args: &[Value]) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": args}))
            .await
    }

    /// Runs `script` as the body of a function given `args` and a callback
    /// as its last argument, and returns what the callback is given.
    pub async fn execute_async(&self, script: &str, args: &[Value]) -> Value {
        self.post("/execute/async", json!({"script": script, "args": args}))
            .await
    }

    /// Saves the viewport as `target/test-artifacts/screenshots/<name>.png`
    /// and returns the path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let encoded = string(self.get("/screenshot").await);
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap_or_else(|e| panic!("screenshot is not base64: {e}"));
        let dir = target_dir().join("test-artifacts").join("screenshots");
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        let file_name: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.join(format!("{file_name}.png"));
        std::fs::write(&path, png)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }

    /// The cookies the page's origin can see.
    pub async fn cookies(&self) -> Vec<Cookie> {
        let value = self.get("/cookie").await;
        serde_json::from_value(value.clone())
            .unwrap_or_else(|e| panic!("cookies are not a list of cookies ({e}): {value}"))
    }

    /// Deletes the page origin's cookie called `name`.
    pub async fn delete_cookie(&self, name: &str) {
        self.command(Method::DELETE, &format!("/cookie/{name}"), None)
            .await;
    }

    /// Runs axe-core on the page and returns every rule it breaks.
    pub async fn axe(&self) -> Vec<Violation> {
        let path = node_modules().join("axe-core").join("axe.min.js");
        let source = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read {}: {e}; run `npm ci` in tests/browser \
                 or set ONEPANE_TEST_NODE_MODULES",
                path.display()
            )
        });
        // Run as a script body rather than added as a <script> element, so
        // a page's Content-Security-Policy cannot refuse it.
        if self.execute("return typeof window.axe;", &[]).await != "object" {
            self.execute(&source, &[]).await;
        }
        let outcome = self.execute_async(AXE_RUN, &[]).await;
        if let Some(error) = outcome.get("error") {
            panic!("axe failed on {}: {error}", self.current_url().await);
        }
        serde_json::from_value(outcome["violations"].clone())
            .unwrap_or_else(|e| panic!("axe's violations did not parse ({e}): {outcome}"))
    }

    /// Fails, listing each one and saving a screenshot, when axe finds a
    /// serious or critical violation on the page; `page_name` says which
    /// page in the message and names the screenshot.
    pub async fn assert_accessible(&self, page_name: &str) {
        let violations: Vec<Violation> = self
            .axe()
            .await
            .into_iter()
            .filter(|v| v.impact >= Some(Impact::Serious))
            .collect();
        if violations.is_empty() {
            return;
        }
        let shot = self.screenshot(&format!("{page_name}-inaccessible")).await;
        let mut report = format!(
            "{page_name} ({}) has {} serious or critical accessibility violations \
             (screenshot: {}):",
            self.current_url().await,
            violations.len(),
            shot.display()
        );
        for violation in &violations {
            report.push_str(&format!("\n{violation}"));
        }
        panic!("{report}");
    }

    fn element(&self, css: &str, value: &Value) -> Element<'_> {
        let id = value[ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("not an element reference: {value}"));
        Element {
            browser: self,
            css: css.to_owned(),
            id: id.to_owned(),
        }
    }

    async fn get(&self, path: &str) -> Value {
        self.command(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.command(Method::POST, path, Some(body)).await
    }

    /// A command whose failure fails the test.
    async fn command(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        match self.call(method.clone(), path, body).await {
            Ok(value) => value,
            Err(e) => panic!("WebDriver {method} {path}: {e}"),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, WebDriverError> {
        let mut request = self.http.request(method, format!("{}{path}", self.session));
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request.send().await).await
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session closes Chromium and its helpers; killing
        // chromedriver alone would leave them running.
        end_session(self.driver_addr, &self.session_id);
        if let Some(pid) = self.driver.id() {
            // chromedriver leads a process group; whatever the session left
            // behind goes with it.
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.driver.start_kill();
    }
}

/// An element on the page, found by a CSS selector.
#[derive(Debug, Clone)]
pub struct Element<'b> {
    browser: &'b Browser,
    css: String,
    id: String,
}

impl Element<'_> {
    /// Clicks the element's centre, as a person would.
    pub async fn click(&self) {
        self.post("/click", json!({})).await;
    }

    /// Types `text` into the element.
    pub async fn send_keys(&self, text: &str) {
        self.post("/value", json!({ "text": text })).await;
    }

    /// Empties an input or a text area.
    pub async fn clear(&self) {
        self.post("/clear", json!({})).await;
    }

    /// The element's rendered text.
    pub async fn text(&self) -> String {
        string(self.get("/text").await)
    }

    /// The attribute `name` as written in the markup, if present.
    pub async fn attr(&self, name: &str) -> Option<String> {
        self.get(&format!("/attribute/{name}"))
            .await
            .as_str()
            .map(str::to_owned)
    }

    /// The DOM property `name`, e.g. an input's current `value`.
    pub async fn property(&self, name: &str) -> Value {
        self.get(&format!("/property/{name}")).await
    }

    /// The element as an argument to [`Browser::execute`].
    pub fn as_arg(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    async fn get(&self, path: &str) -> Value {
        self.command(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.command(Method::POST, path, Some(body)).await
    }

    async fn command(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let path = format!("/element/{}{path}", self.id);
        match self.browser.call(method.clone(), &path, body).await {
            Ok(value) => value,
            Err(e) => panic!("WebDriver {method} on `{}`: {e}", self.css),
        }
    }
}

/// WebDriver's codes for keys that type no character.
pub mod keys {
    /// The Tab key.
    pub const TAB: &str = "\u{E004}";
    /// The Enter key.
    pub const ENTER: &str = "\u{E007}";
    /// The Escape key.
    pub const ESCAPE: &str = "\u{E00C}";
}

/// A cookie as the browser holds it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code, reason = "fields for the portal's tests to read")]
pub struct Cookie {
    pub name: String,
    pub value: String,
    pub path: Option<String>,
    pub domain: Option<String>,
    #[serde(default)]
    pub secure: bool,
    #[serde(default)]
    pub http_only: bool,
    /// Seconds since the Unix epoch; `None` for a session cookie.
    pub expiry: Option<u64>,
    pub same_site: Option<String>,
}

/// How much a violation hinders people, as axe rates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Impact {
    Minor,
    Moderate,
    Serious,
    Critical,
}

/// A rule of axe's the page breaks, and where.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Violation {
    /// The rule, e.g. `color-contrast`.
    pub id: String,
    pub impact: Option<Impact>,
    /// What the rule asks for, in a sentence.
    pub help: String,
    pub help_url: String,
    pub nodes: Vec<FailingNode>,
}

/// An element that breaks a rule.
#[derive(Debug, Clone, Deserialize)]
pub struct FailingNode {
    /// axe's selector for the element; frames are separated by ` >> ` and
    /// shadow roots by ` >>> `.
    pub target: String,
    /// The element's opening markup.
    pub html: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let impact = self
            .impact
            .map_or("unrated".to_owned(), |i| format!("{i:?}").to_lowercase());
        write!(
            f,
            "- [{impact}] {}: {} ({})",
            self.id, self.help, self.help_url
        )?;
        for node in &self.nodes {
            write!(f, "\n    {}  {}", node.target, node.html)?;
        }
        Ok(())
    }
}

/// Runs axe on the whole document and hands back only what the tests read.
const AXE_RUN: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ['violations'] }).then(
  (results) => done({
    violations: results.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({
        target: n.target.map((t) => (Array.isArray(t) ? t.join(' >>> ') : t)).join(' >> '),
        html: n.html,
      })),
    })),
  }),
  (error) => done({ error: String(error) }),
);
"#;

/// What went wrong with a WebDriver command.
#[derive(Debug)]
struct WebDriverError {
    /// The W3C error code, e.g. `no such element`; `transport` when
    /// chromedriver could not be reached.
    error: String,
    message: String,
}

impl std::fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.message)
    }
}

/// The `value` of a WebDriver answer, or the error it carries.
async fn answer(sent: Result<reqwest::Response, reqwest::Error>) -> Result<Value, WebDriverError> {
    let transport = |e: reqwest::Error| WebDriverError {
        error: "transport".to_owned(),
        message: e.to_string(),
    };
    let response = sent.map_err(transport)?;
    let success = response.status().is_success();
    let mut body: Value = response.json().await.map_err(transport)?;
    let value = body["value"].take();
    if success {
        return Ok(value);
    }
    let text = |key: &str| value[key].as_str().unwrap_or_default().to_owned();
    Err(WebDriverError {
        error: text("error"),
        message: text("message"),
    })
}

fn string(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => panic!("expected a string from WebDriver, got {other}"),
    }
}

fn by_css(css: &str) -> Value {
    json!({"using": "css selector", "value": css})
}

/// Chromium's command line: headless, quiet and in the given profile.
fn chromium_args(profile: &Path, lang: &str) -> Vec<String> {
    let mut args: Vec<String> = [
        "--headless",
        // Tests run as root, where Chromium refuses its sandbox.
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        // No update checks, sync or component downloads: a test talks only
        // to its own servers.
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        // Containers often have a small /dev/shm.
        "--disable-dev-shm-usage",
    ]
    .map(str::to_owned)
    .into();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.push(format!("--lang={lang}"));
    args
}

/// The path in `var`, or `default`; `None` (or a panic when every suite is
/// required) when nothing is there.
fn installed(var: &str, default: &str, what: &str) -> Option<PathBuf> {
    let path = std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from);
    present(
        path,
        what,
        &format!("set {var}"),
        "install chromium and chromium-driver to run the browser tests",
    )
}

/// `path` when it is a file; else `None` after saying what is missing and
/// how to get it (or a panic when every suite is required).
#[allow(clippy::print_stdout)]
fn present(path: PathBuf, what: &str, setting: &str, hint: &str) -> Option<PathBuf> {
    if path.is_file() {
        return Some(path);
    }
    let why = format!("{what} is not at {} ({setting})", path.display());
    if onepane_store::testing::require_all() {
        panic!("{why} (ONEPANE_TEST_REQUIRE_ALL=1 forbids skipping)");
    }
    println!("skipped: {why}; {hint}");
    None
}

/// Starts chromedriver on a port it picks and returns it with its address.
async fn spawn_driver(chromedriver: &Path) -> (Child, SocketAddr) {
    let mut driver = Command::new(chromedriver)
        .arg("--port=0")
        .process_group(0)
        .kill_on_drop(true)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", chromedriver.display()));
    let stdout = driver.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut said = Vec::new();
    let port = tokio::time::timeout(DRIVER_START, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(port) = started_on_port(&line) {
                return Some(port);
            }
            said.push(line);
        }
        None
    })
    .await;
    let Ok(Some(port)) = port else {
        panic!("chromedriver never said where it listens: {said:#?}");
    };
    // chromedriver logs little after starting, but a full pipe would stall it.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (driver, SocketAddr::from(([127, 0, 0, 1], port)))
}

/// The port in chromedriver's "ChromeDriver was started successfully on port 41234."
fn started_on_port(line: &str) -> Option<u16> {
    let rest = line.split("started successfully on port ").nth(1)?;
    rest.trim_end_matches(['.', ' ']).parse().ok()
}

/// Ends the session with a plain blocking request: `Drop` cannot await.
fn end_session(driver: SocketAddr, session_id: &str) {
    let Ok(mut stream) = TcpStream::connect_timeout(&driver, Duration::from_secs(1)) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!(
        "DELETE /session/{session_id} HTTP/1.1\r\nHost: {driver}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return;
    }
    // The answer comes once the browser has closed. chromedriver keeps the
    // connection open despite `Connection: close`, so read up to the end of
    // the body it announces rather than to the end of the stream.
    let mut received = Vec::new();
    let mut chunk = [0; 1024];
    while let Ok(n @ 1..) = stream.read(&mut chunk) {
        received.extend_from_slice(&chunk[..n]);
        if response_complete(&received) {
            return;
        }
    }
}

/// Whether `received` holds an HTTP response's head and all the body its
/// `Content-Length` announces.
fn response_complete(received: &[u8]) -> bool {
    let Some(head_end) = received.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&received[..head_end]);
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    received.len() >= head_end + 4 + length
}

pub(crate) fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
}

/// Cargo's target directory: `CARGO_TARGET_DIR`, or the workspace's `target`.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// Where `npm ci` in `tests/browser` put the packages.
pub(crate) fn node_modules() -> PathBuf {
    std::env::var_os("ONEPANE_TEST_NODE_MODULES").map_or_else(
        || workspace_root().join("tests/browser/node_modules"),
        PathBuf::from,
    )
}
