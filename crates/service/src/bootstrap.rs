//! First start: an operator account and a demo merchant with a test-mode key, so a new
//! user can call the API at once.
//!
//! Invariant: this happens once per database even when several instances start at once.
//! The first-start marker is claimed with an insert that only one transaction can win, in
//! the same transaction as everything it creates.

use payrail_domain::{MerchantName, MerchantStatus, Mode, OperatorId, Secret};
use payrail_store::{api_keys, merchants, operators, settings};

use crate::passwords::hash_password;
use crate::random::{hex, id_random, random_bytes};
use crate::{CreatedApiKey, Payrail, ServiceError};

pub const OPERATOR_EMAIL: &str = "operator@payrail.local";
pub const DEMO_MERCHANT_NAME: &str = "Demo Merchant";

/// What the first start created, with the only copies of its secrets.
#[derive(Debug)]
pub struct Bootstrapped {
    pub operator_email: String,
    pub operator_password: Secret<String>,
    pub demo_merchant: payrail_domain::Merchant,
    pub demo_key: CreatedApiKey,
}

impl Payrail {
    /// Sets up a new database; returns `None` if it was set up before (by this or another
    /// instance).
    pub async fn bootstrap(&self) -> Result<Option<Bootstrapped>, ServiceError> {
        let now = self.clock.now();
        let password = Secret::new(hex(&random_bytes::<16>()));
        // Hashing is slow on purpose; do it before taking the write lock.
        let password_hash = hash_password(password.expose())?;
        let operator_id = OperatorId::generate(now, id_random(now));
        let demo_merchant = self.new_merchant(MerchantName::parse(DEMO_MERCHANT_NAME)?, MerchantStatus::Active);
        let demo_key = self.new_api_key(&demo_merchant.id, Mode::Test);
        let secret_hash = self.keys.hash_api_secret(demo_key.secret.expose());
        let operator = operator_id.clone();
        let created = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    if !settings::insert_if_absent(tx.conn(), "bootstrapped", "true", now).await? {
                        return Ok::<_, ServiceError>(None);
                    }
                    operators::insert(tx.conn(), &operator, OPERATOR_EMAIL, &password_hash, now).await?;
                    merchants::insert(tx.conn(), &demo_merchant).await?;
                    api_keys::insert(tx.conn(), &demo_key.key, &secret_hash).await?;
                    Ok(Some((demo_merchant, demo_key)))
                })
            })
            .await?;
        let Some((demo_merchant, demo_key)) = created else { return Ok(None) };
        tracing::info!(merchant_id = %demo_merchant.id, operator_id = %operator_id, "first start: demo merchant created");
        Ok(Some(Bootstrapped {
            operator_email: OPERATOR_EMAIL.to_owned(),
            operator_password: password,
            demo_merchant,
            demo_key,
        }))
    }
}
