//! Running the binary and the in-process server for the tests.

use std::io::{BufRead as _, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use onepane_server::{Application, Config};
use onepane_store::Store;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_onepane");

/// A scratch directory the binary runs in, so the default `./onepane-data`
/// lands inside it.
pub struct Workdir {
    dir: TempDir,
}

impl Workdir {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The default data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("onepane-data")
    }

    /// The binary, run here, with no `ONEPANE_*` variable from the test's environment.
    pub fn command(&self) -> Command {
        self.command_of(BIN)
    }

    /// `program`, run here, with no `ONEPANE_*` variable from the test's environment.
    fn command_of(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.current_dir(self.dir.path());
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("ONEPANE_") {
                command.env_remove(name);
            }
        }
        command
    }

    /// Runs the binary to completion.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    /// Runs the binary to completion with extra environment variables; a
    /// run that outlives [`RUN_DEADLINE`] (a `serve` that was expected to
    /// fail but started) is killed and fails the test.
    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut child = self
            .command()
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = read_to_end(child.stdout.take().unwrap());
        let stderr = read_to_end(child.stderr.take().unwrap());
        let deadline = Instant::now() + RUN_DEADLINE;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "`onepane {}` still running after {RUN_DEADLINE:?}; stderr: {}",
                    args.join(" "),
                    stderr.join().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        Run {
            code: status.code(),
            stdout: stdout.join().unwrap(),
            stderr: stderr.join().unwrap(),
        }
    }

    /// Starts `onepane serve` on a free port and waits until it says where it listens.
    pub fn serve(&self, args: &[&str], env: &[(&str, &str)]) -> ServeProcess {
        self.serve_from(self.command(), args, env)
    }

    /// As [`Workdir::serve`], started with a soft open-file limit of
    /// `soft` (as a shell's `ulimit -Sn` sets it).
    pub fn serve_with_open_files(&self, soft: u32, env: &[(&str, &str)]) -> ServeProcess {
        let mut command = self.command_of("sh");
        command.args([
            "-c",
            &format!("ulimit -Sn {soft} && exec \"$0\" \"$@\""),
            BIN,
        ]);
        self.serve_from(command, &[], env)
    }

    fn serve_from(
        &self,
        mut command: Command,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> ServeProcess {
        let started = Instant::now();
        let mut child = command
            .args(args)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = mpsc::channel();
        let collected = Arc::clone(&lines);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = listening_address(&line) {
                    let _ = addr_tx.send(addr);
                }
                collected.lock().unwrap().push(line);
            }
        });
        let addr = match addr_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "serve never said where it listens: {:?}",
                    lines.lock().unwrap()
                );
            }
        };
        ServeProcess {
            child: Some(child),
            addr,
            started,
            lines,
            reader: Some(reader),
        }
    }
}

/// How long a run of the binary may take before the test gives up on it.
pub const RUN_DEADLINE: Duration = Duration::from_secs(30);

/// Reads a child's pipe on its own thread, so a full pipe never stalls the child.
fn read_to_end(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        pipe.read_to_string(&mut text).unwrap();
        text
    })
}

fn listening_address(line: &str) -> Option<SocketAddr> {
    let rest = line.split("listening on http://").nth(1)?;
    let addr: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || ".:[]".contains(*c))
        .collect();
    addr.parse().ok()
}

/// A finished run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns standard output.
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, Some(0), "expected success: {self:?}");
        &self.stdout
    }

    /// Asserts the exit code and that standard error is exactly one
    /// `error: ` line; returns that line.
    pub fn error_line(&self, code: i32) -> &str {
        assert_eq!(self.code, Some(code), "unexpected exit code: {self:?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "expected one line on stderr: {self:?}");
        assert!(lines[0].starts_with("error: "), "{self:?}");
        assert!(!self.stderr.contains("panicked"), "{self:?}");
        lines[0]
    }

    /// Standard output as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.ok()).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }
}

/// A running `onepane serve`; killed if a test ends without stopping it.
pub struct ServeProcess {
    child: Option<Child>,
    pub addr: SocketAddr,
    pub started: Instant,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl ServeProcess {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends SIGTERM and waits for the process to exit; returns its status
    /// and everything it wrote on standard error.
    pub fn terminate(mut self) -> (ExitStatus, Vec<String>) {
        let mut child = self.child.take().unwrap();
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("serve did not stop within 10 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader sees end-of-file once the process is gone.
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        let lines = self.lines.lock().unwrap().clone();
        (status, lines)
    }
}

impl ServeProcess {
    /// Kills the process with SIGKILL, as a crash would, and waits for it.
    pub fn kill(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Which database an in-process server runs on.
pub use onepane_store::testing::Backend;

/// The server built in-process on a fresh database.
pub struct TestApp {
    pub addr: SocketAddr,
    pub store: Store,
    pub client: reqwest::Client,
    pub data_dir: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<Result<(), onepane_server::StartupError>>,
    pub db: Option<onepane_store::testing::TestDb>,
    _dir: TempDir,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|app| app).await
    }

    /// As [`TestApp::spawn`], with the application adjusted before it runs.
    pub async fn spawn_with(configure: impl FnOnce(Application) -> Application) -> Self {
        Self::start(Backend::Sqlite, |c| c, configure)
            .await
            .expect("SQLite is always there")
    }

    /// On `backend`, with the configuration adjusted; `None` when
    /// PostgreSQL is not reachable (and not required).
    pub async fn on(backend: Backend, adjust: impl FnOnce(Config) -> Config) -> Option<Self> {
        Self::start(backend, adjust, |app| app).await
    }

    async fn start(
        backend: Backend,
        adjust: impl FnOnce(Config) -> Config,
        configure: impl FnOnce(Application) -> Application,
    ) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let db = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(onepane_store::testing::TestDb::postgres().await?),
        };
        let database_url = db.as_ref().map(|db| {
            onepane_store::DatabaseUrl::Postgres(
                db.postgres_url_as(onepane_store::testing::TEST_SERVER_ROLE)
                    .unwrap(),
            )
        });
        let config = adjust(Config {
            data_dir: dir.path().join("data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url,
            ..Config::default()
        });
        let app = configure(Application::build(&config).await.unwrap());
        let addr = app.local_addr();
        let store = app.store().clone();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async {
            let _ = rx.await;
        }));
        Some(Self {
            addr,
            store,
            client: reqwest::Client::new(),
            data_dir: config.data_dir.clone(),
            shutdown: Some(tx),
            task,
            db,
            _dir: dir,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// Signals shutdown and returns the server task.
    pub fn shut_down(mut self) -> JoinHandle<Result<(), onepane_server::StartupError>> {
        let _ = self.shutdown.take().unwrap().send(());
        self.task
    }
}
