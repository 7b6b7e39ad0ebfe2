//! Merchants' channel accounts and the routes from payment method types to them. Deleted
//! accounts stay as rows (their payments' attempts point at them) and are never listed.

use payrail_domain::channel_account::{ChannelAccount, ChannelAccountStatus, ChannelKind, ChannelRoute};
use payrail_domain::payment_record::PaymentMethodType;
use payrail_domain::{ChannelAccountId, MerchantId, Timestamp};

use crate::conn::Columns;
use crate::error::corrupt;
use crate::query::{query, query_built};
use crate::{Conn, StoreError};

const COLUMNS: &str = "id, merchant_id, livemode, channel, description, settings, credentials_ciphertext, status,
    sandbox, created_at_ms, updated_at_ms";

/// Stores a new account. `false` if it is a sandbox account and the merchant has an active
/// one of that channel already (made meanwhile by another request).
pub async fn insert(conn: Conn<'_>, account: &ChannelAccount) -> Result<bool, StoreError> {
    let inserted = query(
        "INSERT INTO channel_accounts (id, merchant_id, livemode, channel, description, settings,
                 credentials_ciphertext, status, sandbox, created_at_ms, updated_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT DO NOTHING",
    )
    .bind(account.id.as_str())
    .bind(account.merchant_id.as_str())
    .bind(account.livemode)
    .bind(account.channel.as_str())
    .bind(account.description.as_deref())
    .bind(&account.settings)
    .bind(&account.credentials_ciphertext)
    .bind(account.status.as_str())
    .bind(account.sandbox)
    .bind(account.created.unix_ms())
    .bind(account.updated.unix_ms())
    .execute(conn)
    .await?;
    Ok(inserted == 1)
}

/// Writes back what may change: description, settings, secrets and status.
pub async fn update(conn: Conn<'_>, account: &ChannelAccount) -> Result<(), StoreError> {
    query(
        "UPDATE channel_accounts SET description = $1, settings = $2, credentials_ciphertext = $3, status = $4,
                 updated_at_ms = $5
             WHERE id = $6",
    )
    .bind(account.description.as_deref())
    .bind(&account.settings)
    .bind(&account.credentials_ciphertext)
    .bind(account.status.as_str())
    .bind(account.updated.unix_ms())
    .bind(account.id.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(conn: Conn<'_>, id: &ChannelAccountId) -> Result<Option<ChannelAccount>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM channel_accounts WHERE id = $1");
    let row = query_built(sql).bind(id.as_str()).fetch_optional(conn).await?;
    row.map(|row| account_from_row(&row)).transpose()
}

/// A merchant's accounts in one mode, oldest first, after `starting_after`; deleted ones
/// left out.
pub async fn list(
    conn: Conn<'_>,
    merchant_id: &MerchantId,
    livemode: bool,
    starting_after: Option<&ChannelAccountId>,
    limit: u32,
) -> Result<Vec<ChannelAccount>, StoreError> {
    let after = starting_after.map_or("", ChannelAccountId::as_str);
    let sql = format!(
        "SELECT {COLUMNS} FROM channel_accounts
         WHERE merchant_id = $1 AND livemode = $2 AND status = 'active' AND id > $3 ORDER BY id LIMIT $4"
    );
    let rows = query_built(sql)
        .bind(merchant_id.as_str())
        .bind(livemode)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await?;
    rows.iter().map(account_from_row).collect()
}

/// The merchant's active sandbox account of `channel`, if the server made one.
pub async fn sandbox_account(
    conn: Conn<'_>,
    merchant_id: &MerchantId,
    channel: ChannelKind,
) -> Result<Option<ChannelAccount>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM channel_accounts
         WHERE merchant_id = $1 AND channel = $2 AND sandbox AND status = 'active'"
    );
    let row = query_built(sql).bind(merchant_id.as_str()).bind(channel.as_str()).fetch_optional(conn).await?;
    row.map(|row| account_from_row(&row)).transpose()
}

/// Sandbox accounts of every merchant, deleted ones too, made after `after` (a creation
/// time and id), oldest first, at most `limit`.
pub async fn sandbox_accounts_after(
    conn: Conn<'_>,
    after: (Timestamp, &str),
    limit: u32,
) -> Result<Vec<ChannelAccount>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM channel_accounts
         WHERE sandbox AND (created_at_ms > $1 OR (created_at_ms = $1 AND id > $2))
         ORDER BY created_at_ms, id LIMIT $3"
    );
    let rows = query_built(sql).bind(after.0.unix_ms()).bind(after.1).bind(i64::from(limit)).fetch_all(conn).await?;
    rows.iter().map(account_from_row).collect()
}

/// How many accounts, not deleted, a merchant has made in one mode (sandbox accounts, made
/// by the server, are not counted).
pub async fn count(conn: Conn<'_>, merchant_id: &MerchantId, livemode: bool) -> Result<u64, StoreError> {
    let count: i64 = query(
        "SELECT COUNT(*) FROM channel_accounts
             WHERE merchant_id = $1 AND livemode = $2 AND status = 'active' AND NOT sandbox",
    )
    .bind(merchant_id.as_str())
    .bind(livemode)
    .fetch_one_as(conn)
    .await?;
    Ok(u64::try_from(count).unwrap_or(0))
}

/// Routes `method` of the merchant's mode to `account`, replacing any earlier route.
pub async fn set_route(
    conn: Conn<'_>,
    merchant_id: &MerchantId,
    livemode: bool,
    method: PaymentMethodType,
    account: &ChannelAccountId,
    now: Timestamp,
) -> Result<(), StoreError> {
    query(
        "INSERT INTO channel_routes (merchant_id, livemode, payment_method_type, channel_account_id, updated_at_ms)
             VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (merchant_id, livemode, payment_method_type)
             DO UPDATE SET channel_account_id = excluded.channel_account_id, updated_at_ms = excluded.updated_at_ms",
    )
    .bind(merchant_id.as_str())
    .bind(livemode)
    .bind(method.as_str())
    .bind(account.as_str())
    .bind(now.unix_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes the route of `method`; returns whether there was one.
pub async fn delete_route(
    conn: Conn<'_>,
    merchant_id: &MerchantId,
    livemode: bool,
    method: PaymentMethodType,
) -> Result<bool, StoreError> {
    let deleted =
        query("DELETE FROM channel_routes WHERE merchant_id = $1 AND livemode = $2 AND payment_method_type = $3")
            .bind(merchant_id.as_str())
            .bind(livemode)
            .bind(method.as_str())
            .execute(conn)
            .await?;
    Ok(deleted > 0)
}

/// Removes every route to `account` (when it is deleted).
pub async fn delete_routes_to(conn: Conn<'_>, account: &ChannelAccountId) -> Result<(), StoreError> {
    query("DELETE FROM channel_routes WHERE channel_account_id = $1").bind(account.as_str()).execute(conn).await?;
    Ok(())
}

/// The account `method` is routed to, if the merchant routed it.
pub async fn route(
    conn: Conn<'_>,
    merchant_id: &MerchantId,
    livemode: bool,
    method: PaymentMethodType,
) -> Result<Option<ChannelAccountId>, StoreError> {
    let row: Option<String> = query(
        "SELECT channel_account_id FROM channel_routes
         WHERE merchant_id = $1 AND livemode = $2 AND payment_method_type = $3",
    )
    .bind(merchant_id.as_str())
    .bind(livemode)
    .bind(method.as_str())
    .fetch_optional_as(conn)
    .await?;
    row.map(|id| ChannelAccountId::parse(&id).map_err(|_| corrupt("channel_routes", "channel_account_id"))).transpose()
}

/// Every route of a merchant's mode, by payment method type.
pub async fn routes(conn: Conn<'_>, merchant_id: &MerchantId, livemode: bool) -> Result<Vec<ChannelRoute>, StoreError> {
    let rows: Vec<(String, String, i64)> = query(
        "SELECT payment_method_type, channel_account_id, updated_at_ms FROM channel_routes
         WHERE merchant_id = $1 AND livemode = $2 ORDER BY payment_method_type",
    )
    .bind(merchant_id.as_str())
    .bind(livemode)
    .fetch_all_as(conn)
    .await?;
    rows.into_iter()
        .map(|(method, account, updated)| {
            let bad = |column| corrupt("channel_routes", column);
            Ok(ChannelRoute {
                payment_method_type: PaymentMethodType::parse(&method).ok_or_else(|| bad("payment_method_type"))?,
                channel_account_id: ChannelAccountId::parse(&account).map_err(|_| bad("channel_account_id"))?,
                updated: Timestamp::from_unix_ms(updated).ok_or_else(|| bad("updated_at_ms"))?,
            })
        })
        .collect()
}

fn account_from_row(row: &impl Columns) -> Result<ChannelAccount, StoreError> {
    let bad = |column| move || corrupt("channel_accounts", column);
    let time = |column: &'static str| Timestamp::from_unix_ms(row.int(column)?).ok_or_else(bad(column));
    Ok(ChannelAccount {
        id: ChannelAccountId::parse(&row.text("id")?).map_err(|_| bad("id")())?,
        merchant_id: MerchantId::parse(&row.text("merchant_id")?).map_err(|_| bad("merchant_id")())?,
        livemode: row.flag("livemode")?,
        channel: ChannelKind::parse(&row.text("channel")?).ok_or_else(bad("channel"))?,
        description: row.text_opt("description")?,
        settings: row.text("settings")?,
        credentials_ciphertext: row.text("credentials_ciphertext")?,
        status: ChannelAccountStatus::parse(&row.text("status")?).ok_or_else(bad("status"))?,
        sandbox: row.flag("sandbox")?,
        created: time("created_at_ms")?,
        updated: time("updated_at_ms")?,
    })
}
