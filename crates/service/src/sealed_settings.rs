//! Secrets Payrail makes for itself and must keep across restarts (the sandbox Alipay
//! simulator's key, the sandbox app's key), kept in `server_settings` sealed with the
//! server keys.
//!
//! Invariant: the database never holds such a secret in clear. Each is AES-256-GCM under
//! the server's data key, bound to its setting's name, so a value cannot be moved to
//! another name.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use payrail_domain::Secret;
use payrail_store::settings;

use crate::{Payrail, ServiceError};

impl Payrail {
    /// The secret stored under `name`, or, the first time, the one `make` gives, stored.
    /// Instances starting together agree: the first to store wins and the others read it.
    pub async fn load_or_create_sealed_setting(
        &self,
        name: &str,
        make: impl FnOnce() -> Result<String, ServiceError>,
    ) -> Result<Secret<String>, ServiceError> {
        if let Some(stored) = self.read_setting(name).await? {
            return self.unseal(name, &stored);
        }
        // Made outside any write unit: making a key pair takes a while.
        let sealed = STANDARD.encode(self.keys.encrypt(make()?.as_bytes(), name));
        let (owned_name, now) = (name.to_owned(), self.clock.now());
        let stored = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    settings::insert_if_absent(tx.conn(), &owned_name, &sealed, now).await?;
                    settings::get(tx.conn(), &owned_name).await
                })
            })
            .await?
            .ok_or_else(|| anyhow::anyhow!("the setting {name} vanished after it was stored"))?;
        self.unseal(name, &stored)
    }

    async fn read_setting(&self, name: &str) -> Result<Option<String>, ServiceError> {
        let mut reader = self.store.reader().await?;
        Ok(settings::get(reader.conn(), name).await?)
    }

    fn unseal(&self, name: &str, stored: &str) -> Result<Secret<String>, ServiceError> {
        let sealed = STANDARD.decode(stored).map_err(|_| anyhow::anyhow!("the setting {name} is not base64"))?;
        let clear = self
            .keys
            .decrypt(&sealed, name)
            .ok_or_else(|| anyhow::anyhow!("the setting {name} does not open with the server keys"))?;
        let text = String::from_utf8(clear.expose().clone())
            .map_err(|_| anyhow::anyhow!("the setting {name} is not UTF-8 text"))?;
        Ok(Secret::new(text))
    }
}
