//! Opening Payrail for any command: server keys, store, migrations, key check.

use std::sync::Arc;

use anyhow::Context;
use payrail_domain::Clock;
use payrail_service::{Payrail, ServerKeys, SystemClock};
use payrail_store::Store;

use crate::config::{KeySource, SERVER_KEY_ENV, Settings, mask_database_url};

/// Loads the keys, opens and migrates the database, and checks the keys against it.
pub async fn open_payrail(settings: &Settings) -> anyhow::Result<Payrail> {
    let keys = load_server_keys(&settings.key_source)?;
    let url = &settings.database_url.value;
    let store = Store::open(url, &settings.store_options())
        .await
        .with_context(|| format!("cannot open the database {}", mask_database_url(url)))?;
    let clock = Arc::new(SystemClock);
    let applied = store.migrate(clock.now()).await.context("cannot migrate the database")?;
    if !applied.is_empty() {
        tracing::info!(?applied, "database migrated");
    }
    let payrail = Payrail::new(store, clock, keys)
        .with_policy(settings.policy.policy.clone())
        .with_payer_wait_ms(settings.payment_code_wait_ms.value)
        .with_webhook_options(settings.webhooks.options.clone())
        .map_err(|error| anyhow::anyhow!("webhook settings: {error}"))?;
    payrail.verify_server_keys().await.map_err(|error| anyhow::anyhow!("{error}"))?;
    Ok(payrail)
}

fn load_server_keys(source: &KeySource) -> anyhow::Result<ServerKeys> {
    match source {
        KeySource::Environment => {
            let text = std::env::var(SERVER_KEY_ENV).with_context(|| format!("{SERVER_KEY_ENV} is not valid UTF-8"))?;
            ServerKeys::parse(&text).with_context(|| format!("{SERVER_KEY_ENV} is not usable"))
        }
        KeySource::File(path) => Ok(ServerKeys::load_file(path)?),
        KeySource::DataDirFile(path) => {
            let (keys, created) = ServerKeys::load_or_create_file(path)?;
            if created {
                eprintln!(
                    "\n!!! A new server key was written to {}.\n\
                     !!! BACK IT UP. Without it, every API key stops working and encrypted data is lost.\n",
                    path.display()
                );
            }
            Ok(keys)
        }
    }
}
