//! A `payrail serve` child process that is killed when its test ends, even on panic.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::http::{Response, http_get};

/// Longest a server may take to become ready, or to exit once asked to.
const PROCESS_WAIT_MS_MAX: u64 = 30_000;
/// Pause between two looks at a process that is not ready yet.
const POLL_INTERVAL_MS: u64 = 50;

/// A port nothing listens on right now. Another process could take it before the server
/// binds it; the kernel hands out ephemeral ports in a way that makes that rare.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("the listener has an address").port()
}

/// A pipe's text, gathered by a thread as the child writes it.
struct Captured {
    text: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
}

impl Captured {
    fn start(pipe: impl Read + Send + 'static) -> Captured {
        let text = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&text);
        let reader = std::thread::spawn(move || {
            let mut pipe = BufReader::new(pipe);
            let mut line = Vec::new();
            while pipe.read_until(b'\n', &mut line).is_ok_and(|read| read > 0) {
                sink.lock().expect("capture lock").push_str(&String::from_utf8_lossy(&line));
                line.clear();
            }
        });
        Captured { text, reader: Some(reader) }
    }

    fn text(&self) -> String {
        self.text.lock().expect("capture lock").clone()
    }

    /// Waits for the pipe to close, so that the text is complete.
    fn finish(&mut self) {
        if let Some(reader) = self.reader.take() {
            reader.join().expect("the pipe reader does not panic");
        }
    }
}

/// A running `payrail serve`. Dropping it kills the process, so no test leaves one behind.
pub struct Server {
    child: Child,
    pub port: u16,
    stdout: Captured,
    stderr: Captured,
}

impl Server {
    /// Spawns `command` (a `payrail serve` listening on `port`) without waiting for it.
    pub fn spawn(mut command: Command, port: u16) -> Server {
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn payrail serve");
        let stdout = Captured::start(child.stdout.take().expect("piped stdout"));
        let stderr = Captured::start(child.stderr.take().expect("piped stderr"));
        Server { child, port, stdout, stderr }
    }

    pub fn stdout(&self) -> String {
        self.stdout.text()
    }

    pub fn stderr(&self) -> String {
        self.stderr.text()
    }

    fn describe(&self) -> String {
        format!("--- stdout\n{}\n--- stderr\n{}", self.stdout(), self.stderr())
    }

    /// Polls `/healthz` until it answers 200 and the startup banner has been printed.
    pub fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_millis(PROCESS_WAIT_MS_MAX);
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the server process") {
                self.stdout.finish();
                self.stderr.finish();
                panic!("payrail serve exited before it was ready ({status}):\n{}", self.describe());
            }
            let healthy = http_get(self.port, "/healthz", None).is_ok_and(|response| response.status == 200);
            if healthy && self.stdout().contains("Payrail is listening on") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "payrail serve was not ready within {PROCESS_WAIT_MS_MAX} ms:\n{}",
                self.describe()
            );
            std::thread::sleep(Duration::from_millis(POLL_INTERVAL_MS));
        }
    }

    /// `GET path` on this server; the request itself must not fail.
    pub fn get(&self, path: &str, bearer: Option<&str>) -> Response {
        http_get(self.port, path, bearer)
            .unwrap_or_else(|error| panic!("GET {path} failed: {error}\n{}", self.describe()))
    }

    /// SIGKILL: the process gets no chance to clean up.
    pub fn kill_hard(&mut self) {
        self.child.kill().expect("send SIGKILL to payrail serve");
        self.child.wait().expect("reap payrail serve");
    }

    /// SIGTERM, sent with kill(1) because the workspace forbids unsafe code.
    pub fn terminate(&self) {
        let status =
            Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status().expect("run kill -TERM");
        assert!(status.success(), "kill -TERM {} failed: {status}", self.child.id());
    }

    /// Waits, within a bound, for the process to exit; then its output is complete.
    pub fn wait_for_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_millis(PROCESS_WAIT_MS_MAX);
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the server process") {
                self.stdout.finish();
                self.stderr.finish();
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "payrail serve did not exit within {PROCESS_WAIT_MS_MAX} ms:\n{}",
                self.describe()
            );
            std::thread::sleep(Duration::from_millis(POLL_INTERVAL_MS));
        }
    }

    /// Stops the server gracefully and checks that it exited cleanly.
    pub fn stop(mut self) {
        self.terminate();
        let status = self.wait_for_exit();
        assert!(status.success(), "payrail serve exited with {status} after SIGTERM:\n{}", self.describe());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Killing a process that has already exited fails harmlessly.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
