//! The check after the payment scenario: the database holds exactly as many succeeded
//! payments as the server acknowledged as succeeded, and the ledger verifies (every check
//! of `payrail ledger verify`). A fast benchmark that loses or invents payments, or money,
//! measures nothing.
//!
//! The count is read on a store of its own, opened on the run's database like a second
//! process would open it, so it sees only what was committed, not what a pool might hold.

use anyhow::Context;
use payrail_store::{Conn, Store, StoreOptions};

use crate::database::FreshDatabase;

/// What the database holds against what the clients were told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentCheck {
    /// Rows in `payments` with status `succeeded`.
    pub succeeded_in_database: u64,
    /// Responses that were 200 with `"status":"succeeded"`, warmup included.
    pub acknowledged: u64,
    /// Journal entries the ledger check read.
    pub ledger_entries: u64,
    /// Ledger invariants found broken.
    pub ledger_violations: u64,
}

impl PaymentCheck {
    pub fn holds(&self) -> bool {
        self.succeeded_in_database == self.acknowledged && self.ledger_violations == 0
    }

    /// The line the report prints.
    pub fn describe(&self) -> String {
        let PaymentCheck { succeeded_in_database, acknowledged, ledger_entries, ledger_violations } = *self;
        let verdict = if self.holds() { "verified" } else { "MISMATCH" };
        format!(
            "{verdict}: {succeeded_in_database} payments succeeded, {acknowledged} acknowledged; \
             ledger: {ledger_entries} entries, {ledger_violations} violations"
        )
    }
}

/// Counts the succeeded payments in `database` and compares them with `acknowledged`.
pub async fn check_payments(database: &FreshDatabase, acknowledged: u64) -> anyhow::Result<PaymentCheck> {
    // One connection is all a single count needs.
    let options = StoreOptions { connections_max: 1, ..database.store_options() };
    let store = Store::open(database.url(), &options).await.context("cannot open the database to verify it")?;
    let counted = count_succeeded_payments(&store).await;
    let ledger = payrail_service::verify_ledger(&store).await;
    store.close().await;
    let ledger = ledger.map_err(|error| anyhow::anyhow!("cannot verify the ledger: {error}"))?;
    Ok(PaymentCheck {
        succeeded_in_database: counted?,
        acknowledged,
        ledger_entries: ledger.entries,
        ledger_violations: ledger.violations_found(),
    })
}

async fn count_succeeded_payments(store: &Store) -> anyhow::Result<u64> {
    // The bench reads the store's table directly: the count is a check on the store, so it
    // must not go through the code it checks, and the store offers no such query.
    const QUERY: &str = "SELECT COUNT(*) FROM payments WHERE status = 'succeeded'";
    let mut reader = store.reader().await.context("cannot get a connection to verify the payments")?;
    let count: i64 = match reader.conn() {
        Conn::Sqlite(connection) => sqlx::query_scalar(QUERY).fetch_one(&mut *connection).await,
        Conn::Postgres(connection) => sqlx::query_scalar(QUERY).fetch_one(&mut *connection).await,
        Conn::Direct(_) => anyhow::bail!("a reader is never the committer's connection"),
    }
    .context("cannot count the succeeded payments")?;
    u64::try_from(count).context("a negative count of payments")
}

#[cfg(test)]
mod tests {
    use payrail_domain::Clock;
    use payrail_service::SystemClock;

    use super::*;

    #[test]
    fn the_check_holds_only_when_the_counts_are_equal_and_the_ledger_is_clean() {
        let check = |succeeded_in_database, acknowledged, ledger_violations| PaymentCheck {
            succeeded_in_database,
            acknowledged,
            ledger_entries: 42,
            ledger_violations,
        };
        assert!(check(42, 42, 0).holds());
        assert_eq!(
            check(42, 42, 0).describe(),
            "verified: 42 payments succeeded, 42 acknowledged; ledger: 42 entries, 0 violations"
        );
        assert!(!check(41, 42, 0).holds());
        assert_eq!(
            check(41, 42, 0).describe(),
            "MISMATCH: 41 payments succeeded, 42 acknowledged; ledger: 42 entries, 0 violations"
        );
        assert!(!check(43, 42, 0).holds());
        assert!(!check(42, 42, 1).holds());
    }

    #[tokio::test]
    async fn a_new_database_holds_no_succeeded_payment() {
        let database = FreshDatabase::create(None).await.expect("a temporary SQLite database");
        let store = Store::open(database.url(), &database.store_options()).await.expect("open");
        store.migrate(SystemClock.now()).await.expect("migrate");
        store.close().await;
        let check = check_payments(&database, 0).await.expect("the count runs");
        let empty = PaymentCheck { succeeded_in_database: 0, acknowledged: 0, ledger_entries: 0, ledger_violations: 0 };
        assert_eq!(check, empty);
        database.remove().await.expect("removed");
    }
}
