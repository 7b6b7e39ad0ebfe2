//! `payrail serve` as an operator runs it: first start, authentication, durability across
//! `kill -9`, revocation while running, graceful shutdown and the server key check.

use payrail_testkit::on_each_backend;

use crate::helpers::{Setup, keygen, test_key_in};
use crate::http::assert_error;

#[tokio::test]
async fn the_first_start_prints_a_test_key_that_authenticates_and_a_second_start_prints_none() {
    on_each_backend(|database| async move {
        let setup = Setup::new(database);
        let first = setup.start_server();
        let stdout = first.stdout();
        let secret = test_key_in(&stdout).unwrap_or_else(|| panic!("the first start printed no test key:\n{stdout}"));
        let hex = secret.strip_prefix("sk_test_").unwrap_or_else(|| panic!("not a test secret: {secret}"));
        assert!(hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()), "not 64 hex digits: {secret}");

        let response = first.get("/v1/account", Some(&secret));
        assert_eq!(response.status, 200, "body: {}", response.body);
        let account = response.json();
        assert_eq!(account["object"], "account");
        assert!(account["id"].as_str().is_some_and(|id| id.starts_with("mer_")), "account: {account}");
        assert_eq!(account["livemode"], false);
        first.stop();

        let second = setup.start_server();
        let stdout = second.stdout();
        assert!(
            !stdout.contains("Test API key") && !stdout.contains("sk_test_"),
            "the second start printed a key:\n{stdout}"
        );
        assert_eq!(second.get("/v1/account", Some(&secret)).status, 200, "the first key no longer works");
    })
    .await;
}

#[tokio::test]
async fn a_request_without_an_api_key_is_refused_with_the_error_envelope() {
    on_each_backend(|database| async move {
        let setup = Setup::new(database);
        let server = setup.start_server();
        let response = server.get("/v1/account", None);
        assert_error(&response, 401, "authentication_error", "api_key_missing");
    })
    .await;
}

#[tokio::test]
async fn a_key_created_by_the_cli_while_the_server_runs_survives_kill_9() {
    on_each_backend(|database| async move {
        let setup = Setup::new(database);
        let mut server = setup.start_server();
        let merchant = setup.create_merchant("Corner Shop", "active");
        let key = setup.create_key(&merchant, "test");
        let response = server.get("/v1/account", Some(&key.secret));
        assert_eq!(response.status, 200, "the running server does not see the new key: {}", response.body);
        assert_eq!(response.json()["id"], merchant.as_str());

        server.kill_hard();
        let restarted = setup.start_server();
        let response = restarted.get("/v1/account", Some(&key.secret));
        assert_eq!(response.status, 200, "the key was lost with kill -9: {}", response.body);
        assert_eq!(response.json()["id"], merchant.as_str());
    })
    .await;
}

#[tokio::test]
async fn a_key_revoked_by_the_cli_is_refused_by_the_running_server() {
    on_each_backend(|database| async move {
        let setup = Setup::new(database);
        let server = setup.start_server();
        let merchant = setup.create_merchant("Corner Shop", "active");
        let key = setup.create_key(&merchant, "test");
        assert_eq!(server.get("/v1/account", Some(&key.secret)).status, 200);

        let stdout = setup.run_ok(&["keys", "revoke", &key.id]);
        assert!(stdout.contains(&key.id) && stdout.contains("revoked"), "keys revoke printed:\n{stdout}");
        let response = server.get("/v1/account", Some(&key.secret));
        assert_error(&response, 401, "authentication_error", "api_key_revoked");

        let listed = setup.run_ok(&["keys", "list", "--merchant", &merchant]);
        let line = listed
            .lines()
            .find(|line| line.starts_with(&key.id))
            .unwrap_or_else(|| panic!("key not listed:\n{listed}"));
        assert!(line.contains("revoked"), "keys list does not show the key revoked: {line}");
    })
    .await;
}

#[tokio::test]
async fn sigterm_makes_the_server_stop_and_exit_with_status_0() {
    on_each_backend(|database| async move {
        let setup = Setup::new(database);
        let mut server = setup.start_server();
        server.terminate();
        let status = server.wait_for_exit();
        let stderr = server.stderr();
        assert!(status.success(), "exit status after SIGTERM: {status}\n{stderr}");
        assert!(stderr.contains("stopped"), "stderr does not say the server stopped:\n{stderr}");
    })
    .await;
}

#[tokio::test]
async fn a_server_given_another_key_than_the_database_was_set_up_with_refuses_to_start() {
    on_each_backend(|database| async move {
        let setup = Setup::new(database);
        setup.start_server().stop();
        let other_key = keygen(&setup.dir().join("other.key"));

        let mut refused = setup.spawn_server(&[("PAYRAIL_SERVER_KEY", &other_key)]);
        let status = refused.wait_for_exit();
        let stderr = refused.stderr();
        assert!(!status.success(), "the server started with the wrong key:\n{stderr}");
        assert!(stderr.contains("server key does not match"), "stderr does not name the key mismatch:\n{stderr}");

        // The operator's commands are held to the same check.
        let listed = setup.run(&["merchant", "list"]);
        assert!(listed.status.success(), "the right key stopped working:\n{}", listed.describe());
        let mut command = setup.command(&["merchant", "list"]);
        command.env("PAYRAIL_SERVER_KEY", &other_key);
        let refused = crate::helpers::finish(&mut command);
        assert!(!refused.status.success(), "merchant list ran with the wrong key:\n{}", refused.describe());
        assert!(refused.stderr.contains("server key does not match"), "{}", refused.describe());
    })
    .await;
}
