//! Payrail's use cases, each written once: HTTP handlers, background workers and the
//! CLI call these and re-implement none of them.
//!
//! Boundary: this crate decides transaction boundaries and holds the server keys. It
//! reaches the database only through `payrail-store` and knows nothing of HTTP.

mod api_keys;
mod bootstrap;
mod clock;
mod error;
mod idempotency;
mod keyring;
mod merchants;
mod passwords;
mod random;

use std::sync::Arc;

use payrail_domain::{Clock, RequestId};
use payrail_store::{Store, settings};

pub use api_keys::{Caller, CreatedApiKey};
pub use bootstrap::{Bootstrapped, DEMO_MERCHANT_NAME, OPERATOR_EMAIL};
pub use clock::{ManualClock, SystemClock};
pub use error::ServiceError;
pub use idempotency::{IdempotencyClaim, request_fingerprint};
pub use keyring::{KeyFileError, ServerKeys};

/// The service: every use case is a method on it. Cheap to clone.
#[derive(Clone)]
pub struct Payrail {
    store: Store,
    clock: Arc<dyn Clock>,
    keys: Arc<ServerKeys>,
}

impl Payrail {
    /// Wraps an opened, migrated store. Call [`Payrail::verify_server_keys`] before serving.
    pub fn new(store: Store, clock: Arc<dyn Clock>, keys: ServerKeys) -> Payrail {
        Payrail { store, clock, keys: Arc::new(keys) }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// A fresh id for an incoming request.
    pub fn new_request_id(&self) -> RequestId {
        RequestId::generate(self.clock.now(), random::random_bytes())
    }

    /// Whether the database answers; what `/readyz` reports.
    pub async fn database_is_reachable(&self) -> bool {
        self.store.ping().await.is_ok()
    }

    /// Makes sure every instance sharing this database holds the same server keys.
    ///
    /// The first instance records a check value derived from its keys; every later one
    /// compares. An instance with other keys would hash API secrets differently (so no key
    /// would authenticate) and could not decrypt stored secrets, so it must not start.
    pub async fn verify_server_keys(&self) -> Result<(), ServiceError> {
        let expected = self.keys.check_value();
        let (candidate, now) = (expected.clone(), self.clock.now());
        let recorded = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    settings::insert_if_absent(tx.conn(), "server_key_check", &candidate, now).await?;
                    settings::get(tx.conn(), "server_key_check").await
                })
            })
            .await?;
        if recorded.as_deref() == Some(expected.as_str()) {
            Ok(())
        } else {
            Err(ServiceError::Unexpected(anyhow::anyhow!(
                "the server key does not match the one this database was set up with; every \
                 instance sharing a database must be given the same key file (PAYRAIL_KEY_FILE) \
                 or key (PAYRAIL_SERVER_KEY)"
            )))
        }
    }
}
