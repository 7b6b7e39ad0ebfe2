//! Driving the `payrail` binary: one-shot commands and a deployment (`Setup`) that the CLI
//! and the server of one test share. The server process lives in `server`, the HTTP client
//! in `http`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use payrail_testkit::{Backend, TestDatabase};

use crate::server::{Server, free_port};

pub const PAYRAIL: &str = env!("CARGO_BIN_EXE_payrail");

/// `payrail` without any of the caller's `PAYRAIL_*` settings, so that a developer's own
/// environment cannot change what a test sees.
pub fn payrail_command() -> Command {
    let mut command = Command::new(PAYRAIL);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PAYRAIL_") {
            command.env_remove(name);
        }
    }
    command.stdin(Stdio::null());
    command
}

/// What a finished one-shot command left behind.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// Everything the command printed, for failure messages.
    pub fn describe(&self) -> String {
        format!("status: {}\n--- stdout\n{}\n--- stderr\n{}", self.status, self.stdout, self.stderr)
    }
}

pub fn finish(command: &mut Command) -> Finished {
    let output = command.output().expect("the payrail binary runs");
    Finished {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Writes a new server key file with `payrail keygen` and returns the key text in it (its
/// one line that is not a comment), as `PAYRAIL_SERVER_KEY` takes it.
pub fn keygen(out: &Path) -> String {
    let dir = out.parent().expect("the key file has a parent directory");
    let finished = finish(payrail_command().current_dir(dir).arg("keygen").arg("--out").arg(out));
    assert!(finished.status.success(), "payrail keygen failed:\n{}", finished.describe());
    let text = std::fs::read_to_string(out).expect("the key file written by keygen is readable");
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .expect("the key file holds a key line")
        .to_owned()
}

/// A confirmed card payment with the sandbox's always-approved test card.
pub fn card_payment_body(order_no: &str, amount_minor: usize) -> String {
    format!(
        r#"{{"amount":{amount_minor},"currency":"usd","merchant_order_no":"{order_no}","confirm":true,
            "payment_method":{{"type":"card","card":{{"number":"4242424242424242","exp_month":12,"exp_year":2030,"cvc":"123"}}}}}}"#
    )
}

/// One Payrail deployment on a fresh test database: the settings every command and server
/// of a test share, so that the CLI and the server see the same data.
pub struct Setup {
    pub database: TestDatabase,
    env: Vec<(String, String)>,
}

impl Setup {
    /// SQLite: a data directory, and the key file generated in it on first use.
    /// PostgreSQL: the test schema's URL and a key file made by `payrail keygen`.
    pub fn new(database: TestDatabase) -> Setup {
        let dir = database.path();
        let env = match &database.backend {
            Backend::Sqlite => vec![("PAYRAIL_DATA_DIR".to_owned(), dir.display().to_string())],
            Backend::Postgres { .. } => {
                let key_file = dir.join("server.key");
                keygen(&key_file);
                vec![
                    ("PAYRAIL_DATABASE_URL".to_owned(), database.url_with_schema()),
                    ("PAYRAIL_KEY_FILE".to_owned(), key_file.display().to_string()),
                ]
            }
        };
        Setup { database, env }
    }

    pub fn dir(&self) -> PathBuf {
        self.database.path()
    }

    /// `payrail args…` on this deployment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = payrail_command();
        command.current_dir(self.dir()).envs(self.env.clone()).args(args);
        command
    }

    pub fn run(&self, args: &[&str]) -> Finished {
        finish(&mut self.command(args))
    }

    /// Runs a command that must succeed and returns its standard output.
    pub fn run_ok(&self, args: &[&str]) -> String {
        let finished = self.run(args);
        assert!(finished.status.success(), "payrail {} failed:\n{}", args.join(" "), finished.describe());
        finished.stdout
    }

    /// Creates a merchant with the CLI and returns its id.
    pub fn create_merchant(&self, name: &str, status: &str) -> String {
        let stdout = self.run_ok(&["merchant", "create", "--name", name, "--status", status]);
        let id = stdout.split('\t').next().unwrap_or_default().trim();
        assert!(id.starts_with("mer_"), "merchant create printed no merchant id:\n{stdout}");
        id.to_owned()
    }

    /// Creates an API key with the CLI.
    pub fn create_key(&self, merchant: &str, mode: &str) -> CreatedKey {
        let stdout = self.run_ok(&["keys", "create", "--merchant", merchant, "--mode", mode]);
        CreatedKey::parse(&stdout)
    }

    /// Starts `payrail serve` on a free port and waits until it answers.
    pub fn start_server(&self) -> Server {
        let mut server = self.spawn_server(&[]);
        server.wait_until_ready();
        server
    }

    /// Spawns `payrail serve` on a free port, with `extra_env` on top of this deployment's
    /// settings, without waiting for it.
    pub fn spawn_server(&self, extra_env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut command = self.command(&["serve", "--listen", &listen]);
        command.envs(extra_env.iter().copied());
        Server::spawn(command, port)
    }
}

/// What `payrail keys create` printed.
pub struct CreatedKey {
    pub id: String,
    pub secret: String,
}

impl CreatedKey {
    fn parse(stdout: &str) -> CreatedKey {
        let field = |name: &str| {
            stdout
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .map(|rest| rest.trim().to_owned())
                .unwrap_or_else(|| panic!("keys create printed no {name:?} line:\n{stdout}"))
        };
        let created = CreatedKey { id: field("id "), secret: field("secret ") };
        assert!(created.id.starts_with("key_"), "not a key id: {}", created.id);
        assert!(created.secret.starts_with("sk_"), "not a secret: {}", created.secret);
        created
    }
}

/// The secret on the first start's `Test API key` line, if the output has one.
pub fn test_key_in(stdout: &str) -> Option<String> {
    stdout
        .lines()
        .find(|line| line.contains("Test API key"))
        .and_then(|line| line.split_whitespace().last())
        .map(str::to_owned)
}
