//! `payrail ledger verify` from the command line; what it finds is tested in the service.

use payrail_testkit::on_each_backend;

use crate::helpers::Setup;

#[tokio::test]
async fn ledger_verify_passes_on_a_fresh_database_and_says_what_it_checked() {
    on_each_backend(|database| async move {
        let setup = Setup::new(database);
        let stdout = setup.run_ok(&["ledger", "verify"]);
        assert_eq!(
            stdout.trim_end(),
            "checked 0 journal entries, 0 postings, 0 accounts, 0 payments and 0 refunds: no violations"
        );
    })
    .await;
}
