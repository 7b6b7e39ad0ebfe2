//! `payrail ledger verify`: checks the ledger against its invariants and prints a report,
//! one line per violation, then a summary. Exits non-zero when anything is wrong.

use anyhow::Context;
use payrail_domain::Clock;
use payrail_service::{ServiceError, SystemClock, verify_ledger};
use payrail_store::Store;

use crate::cli::LedgerCommand;
use crate::config::{Settings, mask_database_url};

pub async fn run(settings: &Settings, command: LedgerCommand) -> anyhow::Result<()> {
    match command {
        LedgerCommand::Verify => verify(settings).await,
    }
}

async fn verify(settings: &Settings) -> anyhow::Result<()> {
    // Opened as `migrate` opens it: the server keys play no part in checking the ledger, so
    // an operator can verify a database without them. Migrating first means a fresh or
    // older database has every table the checks read.
    let url = &settings.database_url.value;
    let store = Store::open(url, &settings.store_options())
        .await
        .with_context(|| format!("cannot open the database {}", mask_database_url(url)))?;
    store.migrate(SystemClock.now()).await.context("cannot migrate the database")?;
    let verified = verify_ledger(&store).await;
    store.close().await;
    let report = verified.map_err(|error| match error {
        ServiceError::Rejected(problem) => anyhow::anyhow!("{} ({})", problem.message, problem.code),
        ServiceError::Unexpected(cause) => cause.context("cannot read the ledger"),
    })?;
    for violation in &report.violations {
        println!("{violation}");
    }
    if report.is_clean() {
        println!("{report}");
        Ok(())
    } else {
        anyhow::bail!("the ledger breaks its invariants; {report}")
    }
}
