//! API keys: creation (secret shown once), listing, revocation and authentication.

use payrail_domain::api_key::SECRET_RANDOM_BYTES;
use payrail_domain::{ApiKey, ApiKeyId, ApiKeySecret, Merchant, MerchantId, MerchantStatus, Mode, Problem};
use payrail_store::{api_keys, merchants};

use crate::idempotency::IdempotentRequest;
use crate::random::{id_random, random_bytes};
use crate::{Payrail, ServiceError};

/// The most keys one list call returns.
pub const API_KEY_LIST_LIMIT_MAX: u32 = 100;

/// A key just created, with the only copy of its secret that will ever exist.
#[derive(Debug)]
pub struct CreatedApiKey {
    pub key: ApiKey,
    pub secret: ApiKeySecret,
}

/// Who is calling: the merchant behind a valid key, and the key's mode, which decides
/// which objects the caller may see.
#[derive(Debug, Clone)]
pub struct Caller {
    pub merchant: Merchant,
    pub key_id: ApiKeyId,
    pub mode: Mode,
    /// The `Idempotency-Key` the request runs under, if any: the units that commit its
    /// effects record its answer too.
    pub idempotency: Option<IdempotentRequest>,
}

impl Payrail {
    pub async fn create_api_key(&self, merchant_id: &MerchantId, mode: Mode) -> Result<CreatedApiKey, ServiceError> {
        let created = self.new_api_key(merchant_id, mode);
        let secret_hash = self.keys.hash_api_secret(created.secret.expose());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if merchants::get(tx.conn(), &created.key.merchant_id).await?.is_none() {
                        return Err(Problem::resource_missing("merchant", "merchant").into());
                    }
                    api_keys::insert(tx.conn(), &created.key, &secret_hash).await?;
                    Ok(created)
                })
            })
            .await
    }

    pub(crate) fn new_api_key(&self, merchant_id: &MerchantId, mode: Mode) -> CreatedApiKey {
        let now = self.clock.now();
        let secret = ApiKeySecret::generate(mode, random_bytes::<SECRET_RANDOM_BYTES>());
        let key = ApiKey {
            id: ApiKeyId::generate(now, id_random(now)),
            merchant_id: merchant_id.clone(),
            mode,
            secret_hint: secret.hint(),
            created: now,
            revoked: None,
            last_used: None,
        };
        CreatedApiKey { key, secret }
    }

    /// A merchant's keys, oldest first; only those of `mode` when given.
    pub async fn list_api_keys(
        &self,
        merchant_id: &MerchantId,
        mode: Option<Mode>,
    ) -> Result<Vec<ApiKey>, ServiceError> {
        let mut reader = self.store.reader().await?;
        Ok(api_keys::list(reader.conn(), merchant_id, mode, API_KEY_LIST_LIMIT_MAX).await?)
    }

    /// One key as `caller` may see it: their own merchant's, in their own mode.
    pub async fn get_api_key(&self, caller: &Caller, id: &ApiKeyId) -> Result<ApiKey, ServiceError> {
        let mut reader = self.store.reader().await?;
        let key = api_keys::get(reader.conn(), id).await?;
        key.filter(|key| key.merchant_id == caller.merchant.id && key.mode == caller.mode)
            .ok_or_else(|| Problem::resource_missing("api key", "id").into())
    }

    /// Revokes a key. With `caller`, only a key of their own merchant and mode; without,
    /// any key (the operator's CLI). Revoking twice is refused so the caller learns the
    /// key was already dead.
    pub async fn revoke_api_key(&self, caller: Option<&Caller>, id: &ApiKeyId) -> Result<ApiKey, ServiceError> {
        let owner = caller.map(|caller| (caller.merchant.id.clone(), caller.mode));
        let (id, now) = (id.clone(), self.clock.now());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let visible = api_keys::get(tx.conn(), &id).await?.filter(|key| {
                        owner
                            .as_ref()
                            .is_none_or(|(merchant_id, mode)| key.merchant_id == *merchant_id && key.mode == *mode)
                    });
                    let mut key = visible.ok_or_else(|| Problem::resource_missing("api key", "id"))?;
                    if !api_keys::revoke(tx.conn(), &id, now).await? {
                        let problem =
                            Problem::invalid_request("api_key_already_revoked", "the API key is already revoked");
                        return Err(problem.with_param("id").into());
                    }
                    key.revoked = Some(now);
                    Ok(key)
                })
            })
            .await
    }

    /// Establishes who is calling from a presented secret.
    ///
    /// The lookup is by keyed hash, so timing reveals nothing an attacker can steer: they
    /// cannot choose hash prefixes without the server key.
    pub async fn authenticate(&self, secret: &ApiKeySecret) -> Result<Caller, ServiceError> {
        let hash = self.keys.hash_api_secret(secret.expose());
        let found = {
            let mut reader = self.store.reader().await?;
            api_keys::find_by_secret_hash(reader.conn(), &hash).await?
        };
        let (key, merchant) =
            found.ok_or_else(|| Problem::authentication("api_key_invalid", "the API key is not valid"))?;
        if key.is_revoked() {
            return Err(Problem::authentication("api_key_revoked", "the API key has been revoked").into());
        }
        match merchant.status {
            MerchantStatus::Suspended => {
                return Err(Problem::permission("merchant_suspended", "the merchant account is suspended").into());
            }
            MerchantStatus::Pending if key.mode.is_live() => {
                return Err(Problem::permission(
                    "merchant_not_activated",
                    "live mode is available once the merchant account is activated",
                )
                .into());
            }
            MerchantStatus::Pending | MerchantStatus::Active => {}
        }
        self.record_key_use(&key).await;
        Ok(Caller { merchant, key_id: key.id, mode: key.mode, idempotency: None })
    }

    /// Writes the last-used time at most once a minute per key. A failure here must not
    /// fail the request it accompanies, so it is logged and dropped.
    async fn record_key_use(&self, key: &ApiKey) {
        let now = self.clock.now();
        if !key.last_used_is_stale(now) {
            return;
        }
        let id = key.id.clone();
        let result = self
            .store
            .write(move |tx| Box::pin(async move { api_keys::touch_last_used(tx.conn(), &id, now).await }))
            .await;
        if let Err(error) = result {
            tracing::warn!(key_id = %key.id, error = %error, "could not record API key use");
        }
    }
}
