//! Configuration as `payrail config show` reports it: precedence (flag, then environment,
//! then file, then default), secrets kept out of the output, and settings refused early.

use std::path::Path;

use crate::helpers::{Finished, finish, keygen, payrail_command};
use crate::server::{Server, free_port};

/// `payrail args…` in `dir` with exactly `env` as its `PAYRAIL_*` settings.
fn run(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Finished {
    finish(payrail_command().current_dir(dir).envs(env.iter().copied()).args(args))
}

/// The value (as printed, quoted) and origin of `name` in `config show` output.
fn setting(stdout: &str, name: &str) -> (String, String) {
    let prefix = format!("{name} = ");
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("config show printed no {name}:\n{stdout}"));
    let (value, origin) = line.rsplit_once(" # ").unwrap_or_else(|| panic!("no origin on the {name} line: {line}"));
    (value.trim().to_owned(), origin.trim().to_owned())
}

fn check(stdout: &str, name: &str, value: &str, origin: &str) {
    let expected = (format!("{value:?}"), origin.to_owned());
    assert_eq!(setting(stdout, name), expected, "{name} in:\n{stdout}");
}

#[test]
fn postgres_without_a_server_key_is_refused_with_a_pointer_to_payrail_keygen() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let env = [("PAYRAIL_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")];

    let shown = run(dir.path(), &env, &["config", "show"]);
    assert!(!shown.status.success(), "config show accepted PostgreSQL without a key:\n{}", shown.describe());
    assert!(shown.stderr.contains("payrail keygen"), "{}", shown.describe());

    // Port 1 has no database behind it: the refusal comes before any attempt to connect.
    let port = free_port();
    let mut command = payrail_command();
    command.current_dir(dir.path()).envs(env).args(["serve", "--listen", &format!("127.0.0.1:{port}")]);
    let mut served = Server::spawn(command, port);
    let status = served.wait_for_exit();
    assert!(!status.success(), "serve started without a key:\n{}", served.stderr());
    assert!(served.stderr().contains("payrail keygen"), "{}", served.stderr());
}

#[test]
fn flags_override_the_environment_which_overrides_the_config_file() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("payrail.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:1111\"\nlog = \"debug\"\n").expect("write the config file");
    let file = file.display().to_string();
    let env = [("PAYRAIL_LOG", "warn")];

    let shown = run(dir.path(), &env, &["--config", &file, "config", "show"]);
    assert!(shown.status.success(), "{}", shown.describe());
    check(&shown.stdout, "listen", "127.0.0.1:1111", "config file");
    check(&shown.stdout, "log", "warn", "environment");
    check(&shown.stdout, "log_format", "text", "default");

    let shown = run(dir.path(), &env, &["--config", &file, "--log", "error", "config", "show"]);
    assert!(shown.status.success(), "{}", shown.describe());
    check(&shown.stdout, "listen", "127.0.0.1:1111", "config file");
    check(&shown.stdout, "log", "error", "flag");
}

#[test]
fn config_show_never_prints_the_database_password_or_the_server_key() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let key = keygen(&dir.path().join("server.key"));
    let key_payload = key.split_once(':').map_or(key.as_str(), |(_, payload)| payload);
    for url in ["postgres://u:hunter2@h/db", "postgres://h/db?user=u&password=hunter2"] {
        let env = [("PAYRAIL_DATABASE_URL", url), ("PAYRAIL_SERVER_KEY", key.as_str())];
        let shown = run(dir.path(), &env, &["config", "show"]);
        assert!(shown.status.success(), "{}", shown.describe());
        let printed = format!("{}{}", shown.stdout, shown.stderr);
        assert!(!printed.contains("hunter2"), "the database password was printed:\n{printed}");
        assert!(!printed.contains(key_payload), "the server key was printed:\n{printed}");
        check(&shown.stdout, "server_key", "***", "environment");
    }
}

#[test]
fn an_unknown_setting_in_the_config_file_is_an_error() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("payrail.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:1111\"\nlisten_adress = \"0.0.0.0:80\"\n")
        .expect("write the config file");

    let shown = run(dir.path(), &[], &["--config", &file.display().to_string(), "config", "show"]);
    assert!(!shown.status.success(), "an unknown setting was accepted:\n{}", shown.describe());
    assert!(shown.stderr.contains("listen_adress"), "the error does not name the setting:\n{}", shown.describe());
}

#[test]
fn the_fee_policy_and_amount_limits_resolve_like_every_setting_and_bad_ones_are_refused() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("payrail.toml");
    std::fs::write(&file, "fee_fixed_minor = 25\n[amount_max]\nJPY = 1000000\n").expect("write the config file");
    let file = file.display().to_string();
    let env = [("PAYRAIL_REFUND_RETURNS_FEE", "true")];

    let shown = run(dir.path(), &env, &["--config", &file, "--fee-rate-basis-points", "150", "config", "show"]);
    assert!(shown.status.success(), "{}", shown.describe());
    let value = |name| setting(&shown.stdout, name);
    assert_eq!(value("fee_rate_basis_points"), ("150".to_owned(), "flag".to_owned()));
    assert_eq!(value("fee_fixed_minor"), ("25".to_owned(), "config file".to_owned()));
    assert_eq!(value("refund_returns_fee"), ("true".to_owned(), "environment".to_owned()));
    assert_eq!(value("amount_max"), ("{ JPY = 1000000 }".to_owned(), "config file".to_owned()));

    for (env, args) in [
        (vec![("PAYRAIL_AMOUNT_MAX", "JPY=0")], vec!["config", "show"]),
        (vec![("PAYRAIL_AMOUNT_MAX", "NOPE=5")], vec!["config", "show"]),
        (vec![], vec!["--fee-rate-basis-points", "10001", "config", "show"]),
        (vec![], vec!["--fee-fixed-minor=-1", "config", "show"]),
    ] {
        let shown = run(dir.path(), &env, &args);
        assert!(!shown.status.success(), "{env:?} {args:?} was accepted:\n{}", shown.stdout);
        assert!(shown.stderr.contains("amount_max") || shown.stderr.contains("fee"), "{}", shown.describe());
    }
}

#[test]
fn the_payment_code_wait_and_the_late_success_policy_resolve_and_bad_ones_are_refused() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let shown = run(dir.path(), &[], &["config", "show"]);
    assert!(shown.status.success(), "{}", shown.describe());
    let value = |name| setting(&shown.stdout, name);
    assert_eq!(value("payment_code_wait_ms"), ("30000".to_owned(), "default".to_owned()));
    assert_eq!(value("request_timeout_ms"), ("45000".to_owned(), "default".to_owned()));
    assert_eq!(value("late_success_policy"), ("\"refund\"".to_owned(), "default".to_owned()));

    let shorter = run(dir.path(), &[], &["--request-timeout-ms", "20000", "config", "show"]);
    assert_eq!(setting(&shorter.stdout, "payment_code_wait_ms"), ("15000".to_owned(), "default".to_owned()));
    let env = [("PAYRAIL_LATE_SUCCESS_POLICY", "keep"), ("PAYRAIL_PAYMENT_CODE_WAIT_MS", "10000")];
    let shown = run(dir.path(), &env, &["config", "show"]);
    let value = |name| setting(&shown.stdout, name);
    assert_eq!(value("payment_code_wait_ms"), ("10000".to_owned(), "environment".to_owned()));
    assert_eq!(value("late_success_policy"), ("\"keep\"".to_owned(), "environment".to_owned()));

    for args in [
        vec!["--payment-code-wait-ms", "41000", "config", "show"],
        vec!["--payment-code-wait-ms", "0", "config", "show"],
        vec!["--request-timeout-ms", "20000", "--payment-code-wait-ms", "16000", "config", "show"],
        vec!["--late-success-policy", "ignore", "config", "show"],
    ] {
        let shown = run(dir.path(), &[], &args);
        assert!(!shown.status.success(), "{args:?} was accepted:\n{}", shown.stdout);
        let named = shown.stderr.contains("payment_code_wait_ms") || shown.stderr.contains("late_success_policy");
        assert!(named, "{}", shown.describe());
    }
}
