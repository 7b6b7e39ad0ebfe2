//! The secret that signs what Payrail sends to payments' own `notify_url`: one per merchant
//! and mode, shown in full once (the first time the merchant reads it, whoever created
//! it), rotatable with an overlap.

use payrail_domain::{MerchantId, Secret, Timestamp};
use payrail_store::webhook_endpoints::{self, NotificationSecret, Put};
use payrail_store::{Conn, Tx};
use serde_json::{Value, json};

use crate::keyring::ServerKeys;
use crate::webhooks::secrets;
use crate::{Caller, Payrail, ServiceError};

/// The merchant's notification secret, and its clear text when this call reveals it.
#[derive(Debug)]
pub struct NotificationSecretView {
    pub stored: NotificationSecret,
    pub livemode: bool,
    pub shown_once: Option<Secret<String>>,
}

impl Payrail {
    /// The caller's notification secret; the first read shows it in full.
    pub async fn notification_secret(&self, caller: &Caller) -> Result<NotificationSecretView, ServiceError> {
        let (merchant_id, livemode, now) = (caller.merchant.id.clone(), caller.mode.is_live(), self.clock.now());
        let keys = self.keys.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let stored = ensure(tx, &keys, &merchant_id, livemode, now).await?;
                    if stored.revealed {
                        return Ok(NotificationSecretView { stored, livemode, shown_once: None });
                    }
                    webhook_endpoints::mark_notification_secret_revealed(tx.conn(), &merchant_id, livemode).await?;
                    let context = context_for(&merchant_id, livemode);
                    let clear = secrets::reveal(&keys, &stored.secret, &context)?;
                    Ok(NotificationSecretView { stored, livemode, shown_once: Some(clear) })
                })
            })
            .await
    }

    /// Replaces the caller's notification secret; the old one keeps signing for `overlap_ms`.
    pub async fn rotate_notification_secret(
        &self,
        caller: &Caller,
        overlap_ms: i64,
    ) -> Result<NotificationSecretView, ServiceError> {
        let (merchant_id, livemode, now) = (caller.merchant.id.clone(), caller.mode.is_live(), self.clock.now());
        let (secret, clear) = secrets::fresh(&self.keys, &context_for(&merchant_id, livemode));
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let current = webhook_endpoints::notification_secret(tx.conn(), &merchant_id, livemode).await?;
                    let retiring = current.as_ref().and_then(|c| secrets::retire(&c.secret, now, overlap_ms));
                    let created = current.map_or(now, |current| current.created);
                    let stored = NotificationSecret { secret, retiring, revealed: true, created };
                    let put = Put::Replace;
                    webhook_endpoints::put_notification_secret(tx.conn(), &merchant_id, livemode, &stored, put, now)
                        .await?;
                    Ok::<_, ServiceError>(NotificationSecretView { stored, livemode, shown_once: Some(clear) })
                })
            })
            .await
    }
}

/// The merchant's notification secret in one mode, made (not yet revealed) if it has none:
/// a delivery to a notify_url may need it before the merchant ever asked.
pub(crate) async fn ensure(
    tx: &mut Tx,
    keys: &ServerKeys,
    merchant_id: &MerchantId,
    livemode: bool,
    now: Timestamp,
) -> Result<NotificationSecret, ServiceError> {
    if let Some(stored) = read(tx.conn(), merchant_id, livemode).await? {
        return Ok(stored);
    }
    let (secret, _) = secrets::fresh(keys, &context_for(merchant_id, livemode));
    let fresh = NotificationSecret { secret, retiring: None, revealed: false, created: now };
    webhook_endpoints::put_notification_secret(tx.conn(), merchant_id, livemode, &fresh, Put::IfAbsent, now).await?;
    // Whichever of two racing units made it, both read the same one back.
    read(tx.conn(), merchant_id, livemode)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the notification secret of {merchant_id} vanished").into())
}

async fn read(
    conn: Conn<'_>,
    merchant_id: &MerchantId,
    livemode: bool,
) -> Result<Option<NotificationSecret>, ServiceError> {
    Ok(webhook_endpoints::notification_secret(conn, merchant_id, livemode).await?)
}

/// What a notification secret is bound to when sealed: its merchant and mode.
pub(crate) fn context_for(merchant_id: &MerchantId, livemode: bool) -> String {
    format!("notification_secret:{merchant_id}:{}", if livemode { "live" } else { "test" })
}

/// As the API shows it: the secret in full only when revealed by this call.
pub fn notification_secret_object(view: &NotificationSecretView) -> Value {
    json!({
        "object": "notification_secret",
        "secret": view.shown_once.as_ref().map(|secret| secret.expose().as_str()),
        "secret_hint": view.stored.secret.hint,
        "previous_secret_expires_at": view.stored.retiring.as_ref().map(|r| r.expires_at.unix_seconds()),
        "livemode": view.livemode,
        "created": view.stored.created.unix_seconds(),
    })
}
