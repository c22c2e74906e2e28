//! The e2e harness: the built `moon` binary on a free port, an admin logged in, helpers
//! to talk HTTP to it. Shared by every `e2e_*` test file.
#![allow(dead_code)] // each test file uses a different part of the harness

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value as Json, json};

/// A running Moon process; killed when dropped.
pub struct Moon {
    pub child: Child,
    pub base: String,
    pub http: reqwest::Client,
    /// The admin's access token (logged in at start).
    pub token: String,
    /// Everything Moon wrote to stderr so far.
    pub logs: std::sync::Arc<std::sync::Mutex<String>>,
}

/// The first admin every test instance is started with.
pub const ADMIN: (&str, &str) = ("admin", "Admin12345");

impl Moon {
    /// Starts Moon on a free port with its data in `data_dir` (SQLite) or at `url`.
    pub fn start(data_dir: &Path, url: Option<&str>) -> Self {
        Self::start_with(data_dir, url, &[])
    }

    /// Starts Moon with extra environment variables.
    pub fn start_with(data_dir: &Path, url: Option<&str>, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_moon"));
        command
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("MOON_LOG", "info")
            .env("MOON_ADMIN_USERNAME", ADMIN.0)
            .env("MOON_ADMIN_PASSWORD", ADMIN.1)
            .env_remove("MOON_DATABASE_URL")
            .env_remove("MOON_PREFIX")
            .envs(env.iter().copied());
        if let Some(url) = url {
            command.args(["--database-url", url]);
        }
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start moon: {e}"));
        let stderr = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
        let (tx, rx) = mpsc::channel();
        let logs = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = std::sync::Arc::clone(&logs);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some((_, address)) = line.split_once("Moon listening on ") {
                    let _ = tx.send(address.trim().to_owned());
                }
                if let Ok(mut all) = sink.lock() {
                    all.push_str(&line);
                    all.push('\n');
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("moon did not start listening"));
        let mut moon = Self {
            child,
            base,
            http: reqwest::Client::new(),
            token: String::new(),
            logs,
        };
        moon.token = moon.login(ADMIN.0, ADMIN.1);
        moon
    }

    /// Logs in (blocking, at start-up) and returns the access token.
    pub fn login(&self, username: &str, password: &str) -> String {
        let url = format!("{}/auth:login", self.base);
        let body = json!({"username": username, "password": password}).to_string();
        let handle = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async move {
                let res = reqwest::Client::new()
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .ok()?;
                let json: Json = res.json().await.ok()?;
                json["access_token"].as_str().map(str::to_owned)
            })
        });
        handle
            .join()
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("cannot log in as {username}"))
    }

    pub async fn get(&self, path: &str) -> (u16, Json) {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        read(res).await
    }

    pub async fn post(&self, path: &str, body: &Json) -> (u16, Json) {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        read(res).await
    }

    /// Sends SIGTERM, waits, and returns the exit status with everything logged.
    pub fn stop_and_keep_logs(self) -> (std::process::ExitStatus, String) {
        let logs = std::sync::Arc::clone(&self.logs);
        let status = self.stop();
        std::thread::sleep(Duration::from_millis(100));
        let text = logs.lock().map(|l| l.clone()).unwrap_or_default();
        (status, text)
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM failed");
        for _ in 0..100 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("moon did not stop within 5 s of SIGTERM");
    }
}

impl Drop for Moon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn read(res: reqwest::Response) -> (u16, Json) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    let body = if text.is_empty() {
        Json::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    (status, body)
}

pub fn schema() -> Json {
    json!({"name": "products", "columns": [
        {"name": "title", "type": "string", "nullable": false, "unique": true},
        {"name": "price", "type": "decimal"},
        {"name": "stock", "type": "integer"},
        {"name": "on_sale", "type": "boolean"},
        {"name": "released", "type": "datetime"},
        {"name": "specs", "type": "json"}
    ]})
}

/// `n` instances started at the same moment on the database at `url`, each with its own
/// (unused) data directory; rate limits off, since the tests poll.
pub fn start_together(url: &str, n: usize, env: &[(&str, &str)]) -> Vec<(Moon, tempfile::TempDir)> {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let starts: Vec<_> = (0..n)
        .map(|_| {
            let (url, env) = (url.to_owned(), env.clone());
            std::thread::spawn(move || {
                let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
                let mut all: Vec<(&str, &str)> = vec![("MOON_RATE_LIMIT_USER", "0")];
                all.extend(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                let moon = Moon::start_with(dir.path(), Some(&url), &all);
                (moon, dir)
            })
        })
        .collect();
    starts
        .into_iter()
        .map(|s| {
            s.join()
                .unwrap_or_else(|_| panic!("an instance did not come up"))
        })
        .collect()
}

/// Waits until `check` holds for the answer of `GET path` on `moon`; the time it took.
pub async fn served_within(
    moon: &Moon,
    path: &str,
    check: impl Fn(u16, &Json) -> bool,
) -> Duration {
    let started = std::time::Instant::now();
    loop {
        let (status, body) = moon.get(path).await;
        assert!(status < 500, "{path}: {status} {body}");
        if check(status, &body) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{path} not served as expected after 5 s: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The column `name` of a `collections:get` answer.
pub fn column<'a>(body: &'a Json, name: &str) -> Option<&'a Json> {
    body["collection"]["columns"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == name)
}
