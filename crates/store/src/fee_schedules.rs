//! Merchants' own fee schedules, per currency or for every currency (`*`).

use payrail_domain::fees::FeeSchedule;
use payrail_domain::{Currency, MerchantId, Timestamp};

use crate::error::corrupt;
use crate::query::query;
use crate::{Conn, StoreError};

/// The row that applies to every currency without a row of its own.
pub const EVERY_CURRENCY: &str = "*";

/// Which currencies a schedule covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeeCurrency {
    One(Currency),
    Every,
}

impl FeeCurrency {
    fn as_str(self) -> &'static str {
        match self {
            FeeCurrency::One(currency) => currency.code(),
            FeeCurrency::Every => EVERY_CURRENCY,
        }
    }
}

/// Sets (or replaces) a merchant's schedule for `currency`.
pub async fn set(
    conn: Conn<'_>,
    merchant_id: &MerchantId,
    currency: FeeCurrency,
    schedule: FeeSchedule,
    now: Timestamp,
) -> Result<(), StoreError> {
    query(
        "INSERT INTO merchant_fee_schedules (merchant_id, currency, rate_basis_points, fixed_minor, updated_at_ms)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (merchant_id, currency) DO UPDATE SET rate_basis_points = excluded.rate_basis_points,
                 fixed_minor = excluded.fixed_minor, updated_at_ms = excluded.updated_at_ms",
    )
    .bind(merchant_id.as_str())
    .bind(currency.as_str())
    .bind(i64::from(schedule.rate_basis_points()))
    .bind(schedule.fixed_minor())
    .bind(now.unix_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes a merchant's schedule for `currency`; returns whether there was one.
pub async fn clear(conn: Conn<'_>, merchant_id: &MerchantId, currency: FeeCurrency) -> Result<bool, StoreError> {
    let removed = query("DELETE FROM merchant_fee_schedules WHERE merchant_id = $1 AND currency = $2")
        .bind(merchant_id.as_str())
        .bind(currency.as_str())
        .execute(conn)
        .await?;
    Ok(removed > 0)
}

/// The schedule for a payment in `currency`: the currency's own row, else the `*` row.
pub async fn find(
    conn: Conn<'_>,
    merchant_id: &MerchantId,
    currency: Currency,
) -> Result<Option<FeeSchedule>, StoreError> {
    let row: Option<(i64, i64)> = query(
        "SELECT rate_basis_points, fixed_minor FROM merchant_fee_schedules
         WHERE merchant_id = $1 AND currency IN ($2, '*') ORDER BY currency = '*' LIMIT 1",
    )
    .bind(merchant_id.as_str())
    .bind(currency.code())
    .fetch_optional_as(conn)
    .await?;
    row.map(schedule_from_row).transpose()
}

/// Every schedule of a merchant: (currency code or `*`, schedule).
pub async fn list(conn: Conn<'_>, merchant_id: &MerchantId) -> Result<Vec<(String, FeeSchedule)>, StoreError> {
    let rows: Vec<(String, i64, i64)> = query(
        "SELECT currency, rate_basis_points, fixed_minor FROM merchant_fee_schedules
         WHERE merchant_id = $1 ORDER BY currency",
    )
    .bind(merchant_id.as_str())
    .fetch_all_as(conn)
    .await?;
    rows.into_iter().map(|(currency, rate, fixed)| Ok((currency, schedule_from_row((rate, fixed))?))).collect()
}

fn schedule_from_row((rate, fixed): (i64, i64)) -> Result<FeeSchedule, StoreError> {
    u32::try_from(rate)
        .ok()
        .and_then(|rate| FeeSchedule::parse(rate, fixed))
        .ok_or_else(|| corrupt("merchant_fee_schedules", "rate_basis_points"))
}
