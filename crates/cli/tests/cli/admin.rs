//! Operator commands for merchants and API keys, checked against a running server where
//! their effect shows there.

use payrail_testkit::on_each_backend;

use crate::helpers::Setup;
use crate::http::assert_error;

#[tokio::test]
async fn a_merchant_created_from_the_cli_is_listed() {
    on_each_backend(|database| async move {
        let setup = Setup::new(database);
        let created = setup.run_ok(&["merchant", "create", "--name", "Tea House", "--status", "active"]);
        let created = created.trim_end();
        let fields: Vec<&str> = created.split('\t').collect();
        assert!(
            matches!(fields.as_slice(), [id, "active", "Tea House"] if id.starts_with("mer_")),
            "merchant create printed: {created:?}"
        );

        let listed = setup.run_ok(&["merchant", "list"]);
        assert!(listed.lines().any(|line| line == created), "merchant list does not show {created:?}:\n{listed}");
    })
    .await;
}

#[tokio::test]
async fn a_live_key_of_a_pending_merchant_is_refused_until_the_merchant_is_activated() {
    on_each_backend(|database| async move {
        let setup = Setup::new(database);
        let server = setup.start_server();
        let merchant = setup.create_merchant("Night Market", "pending");
        let key = setup.create_key(&merchant, "live");
        assert!(key.secret.starts_with("sk_live_"), "not a live secret: {}", key.secret);

        let response = server.get("/v1/account", Some(&key.secret));
        assert_error(&response, 403, "permission_error", "merchant_not_activated");

        let activated = setup.run_ok(&["merchant", "activate", &merchant]);
        assert!(
            activated.contains(&merchant) && activated.contains("active"),
            "merchant activate printed:\n{activated}"
        );
        let response = server.get("/v1/account", Some(&key.secret));
        assert_eq!(response.status, 200, "body: {}", response.body);
        let account = response.json();
        assert_eq!(account["id"], merchant.as_str());
        assert_eq!(account["livemode"], true);
    })
    .await;
}

#[tokio::test]
async fn keys_create_refuses_a_malformed_merchant_id_and_an_unknown_mode() {
    on_each_backend(|database| async move {
        let setup = Setup::new(database);
        let refused = setup.run(&["keys", "create", "--merchant", "not-an-id", "--mode", "test"]);
        assert!(!refused.status.success(), "a malformed merchant id was accepted:\n{}", refused.describe());
        assert!(refused.stderr.contains("not a merchant id"), "{}", refused.describe());

        let merchant = setup.create_merchant("Tea House", "active");
        let refused = setup.run(&["keys", "create", "--merchant", &merchant, "--mode", "prod"]);
        assert!(!refused.status.success(), "mode prod was accepted:\n{}", refused.describe());
        assert!(refused.stderr.contains("mode must be test or live"), "{}", refused.describe());
        assert!(!refused.stdout.contains("sk_"), "a secret was printed anyway:\n{}", refused.describe());

        let listed = setup.run_ok(&["keys", "list", "--merchant", &merchant]);
        assert_eq!(listed, "", "a refused keys create left a key behind");
    })
    .await;
}

#[tokio::test]
async fn merchant_fees_are_set_listed_and_cleared_per_currency() {
    on_each_backend(|database| async move {
        let setup = Setup::new(database);
        let merchant = setup.create_merchant("Fee Shop", "active");
        let set =
            setup.run_ok(&["merchant", "set-fees", &merchant, "--rate-basis-points", "250", "--fixed-minor", "20"]);
        assert_eq!(set.trim_end(), format!("{merchant}\t*\t250\t20"));
        let set_usd = ["merchant", "set-fees", &merchant, "--rate-basis-points", "100", "--fixed-minor", "0"];
        setup.run_ok(&[&set_usd[..], &["--currency", "usd"]].concat());
        assert_eq!(setup.run_ok(&["merchant", "fees", &merchant]), "*\t250\t20\nUSD\t100\t0\n");

        let cleared = setup.run_ok(&["merchant", "clear-fees", &merchant, "--currency", "USD"]);
        assert_eq!(cleared.trim_end(), format!("{merchant}\tUSD\tcleared"));
        assert_eq!(setup.run_ok(&["merchant", "fees", &merchant]), "*\t250\t20\n");

        for refused in [
            vec!["merchant", "set-fees", &merchant, "--rate-basis-points", "10001", "--fixed-minor", "0"],
            vec!["merchant", "set-fees", &merchant, "--rate-basis-points", "1", "--fixed-minor=-1"],
            vec![
                "merchant",
                "set-fees",
                &merchant,
                "--rate-basis-points",
                "1",
                "--fixed-minor",
                "1",
                "--currency",
                "XYZ",
            ],
            vec!["merchant", "set-fees", "mer_nobody", "--rate-basis-points", "1", "--fixed-minor", "1"],
            vec!["merchant", "fees", "mer_01JBZZZZZZZZZZZZZZZZZZZZZZ"],
        ] {
            let finished = setup.run(&refused);
            assert!(!finished.status.success(), "payrail {} succeeded", refused.join(" "));
        }
        assert_eq!(setup.run_ok(&["merchant", "fees", &merchant]), "*\t250\t20\n", "refusals changed nothing");
    })
    .await;
}
