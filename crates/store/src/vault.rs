//! The card vault: card numbers encrypted under the server's data key, never in clear.
//! The CVC is never stored, not even encrypted.

use payrail_domain::card::CardSummary;
use payrail_domain::{MerchantId, Timestamp};

use crate::query::query;
use crate::{Conn, StoreError};

/// A card as the vault keeps it; the number only as ciphertext.
pub struct VaultedCard<'a> {
    pub token: &'a str,
    pub merchant_id: &'a MerchantId,
    pub livemode: bool,
    pub number_ciphertext: &'a str,
    pub fingerprint: &'a str,
    pub summary: &'a CardSummary,
}

pub async fn insert(conn: Conn<'_>, card: &VaultedCard<'_>, now: Timestamp) -> Result<(), StoreError> {
    query(
        "INSERT INTO card_vault (token, merchant_id, livemode, number_ciphertext, fingerprint, brand, last4,
                 exp_month, exp_year, created_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(card.token)
    .bind(card.merchant_id.as_str())
    .bind(card.livemode)
    .bind(card.number_ciphertext)
    .bind(card.fingerprint)
    .bind(card.summary.brand.as_str())
    .bind(&card.summary.last4)
    .bind(i64::from(card.summary.exp_month))
    .bind(i64::from(card.summary.exp_year))
    .bind(now.unix_ms())
    .execute(conn)
    .await?;
    Ok(())
}
