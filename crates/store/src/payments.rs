//! Payments. Amount columns restate the domain's invariants as CHECK constraints.

use std::borrow::Cow;
use std::collections::BTreeMap;

use payrail_domain::card::{CardBrand, CardSummary};
use payrail_domain::payment::{
    CancellationReason, CaptureMethod, Description, MerchantOrderNo, Metadata, PaymentStatus,
};
use payrail_domain::payment_amounts::PaymentAmounts;
use payrail_domain::payment_record::{
    JsapiParameters, NextAction, Payment, PaymentError, PaymentMethodType, StoredCard, WebUrl,
};
use payrail_domain::{ChannelAccountId, Currency, MerchantId, PaymentId, Timestamp};

use crate::conn::Columns;
use crate::error::corrupt;
use crate::query::{query, query_built};
use crate::{Conn, StoreError};

const COLUMNS: &str = "p.id, p.merchant_id, p.livemode, p.status, p.amount_minor, p.currency,
    p.amount_capturable_minor, p.amount_captured_minor, p.amount_refunded_minor, p.merchant_order_no,
    p.description, p.metadata, p.capture_method, p.expires_at_ms, p.return_url, p.notify_url, p.card_token,
    p.next_action_url, p.next_action_type, p.next_action_data, p.payment_method_type, p.last_error_code, p.last_decline_code, p.last_error_message, p.cancellation_reason, p.channel_account_id, p.late_succeeded_at_ms, p.amount_paid_by_payer_minor, p.created_at_ms,
    p.updated_at_ms, v.brand, v.last4, v.exp_month, v.exp_year";

const FROM: &str = "FROM payments p LEFT JOIN card_vault v ON v.token = p.card_token";

pub async fn insert(conn: Conn<'_>, payment: &Payment) -> Result<(), StoreError> {
    let metadata = metadata_json(&payment.metadata)?;
    query(
        "INSERT INTO payments (id, merchant_id, livemode, status, amount_minor, currency,
                 amount_capturable_minor, amount_captured_minor, amount_refunded_minor, merchant_order_no,
                 description, metadata, capture_method, expires_at_ms, return_url, notify_url, card_token,
                 created_at_ms, updated_at_ms, payment_method_type, channel_account_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18, $19, $20)",
    )
    .bind(payment.id.as_str())
    .bind(payment.merchant_id.as_str())
    .bind(payment.livemode)
    .bind(payment.status.as_str())
    .bind(payment.amounts.amount_minor())
    .bind(payment.currency.code())
    .bind(payment.amounts.capturable_minor())
    .bind(payment.amounts.captured_minor())
    .bind(payment.amounts.refunded_minor())
    .bind(payment.merchant_order_no.as_str())
    .bind(payment.description.as_ref().map(Description::as_str))
    .bind(&metadata)
    .bind(payment.capture_method.as_str())
    .bind(payment.expires_at.unix_ms())
    .bind(payment.return_url.as_ref().map(WebUrl::as_str))
    .bind(payment.notify_url.as_ref().map(WebUrl::as_str))
    .bind(payment.card.as_ref().map(|card| card.token.as_str()))
    .bind(payment.created.unix_ms())
    .bind(payment.payment_method_type.map(PaymentMethodType::as_str))
    .bind(payment.channel_account_id.as_ref().map(ChannelAccountId::as_str))
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes back what changes over a payment's life: status, amounts, payment method, next
/// action, error, cancellation and update time.
pub async fn update(conn: Conn<'_>, payment: &Payment) -> Result<(), StoreError> {
    let error = payment.last_error.as_ref();
    let (action_type, action_url, action_data) = next_action_columns(payment.next_action.as_ref());
    let updated = query(
        "UPDATE payments SET status = $1, amount_capturable_minor = $2, amount_captured_minor = $3,
                 amount_refunded_minor = $4, card_token = $5, last_error_code = $6, last_decline_code = $7,
                 last_error_message = $8, cancellation_reason = $9, updated_at_ms = $10, next_action_url = $12,
                 next_action_type = $13, next_action_data = $14, payment_method_type = $15,
                 late_succeeded_at_ms = $16, amount_paid_by_payer_minor = $17
             WHERE id = $11",
    )
    .bind(payment.status.as_str())
    .bind(payment.amounts.capturable_minor())
    .bind(payment.amounts.captured_minor())
    .bind(payment.amounts.refunded_minor())
    .bind(payment.card.as_ref().map(|card| card.token.as_str()))
    .bind(error.map(|e| e.code.as_str()))
    .bind(error.and_then(|e| e.decline_code.as_deref()))
    .bind(error.map(|e| e.message.as_str()))
    .bind(payment.cancellation_reason.map(CancellationReason::as_str))
    .bind(payment.updated.unix_ms())
    .bind(payment.id.as_str())
    .bind(action_url)
    .bind(action_type)
    .bind(action_data.as_deref())
    .bind(payment.payment_method_type.map(PaymentMethodType::as_str))
    .bind(payment.late_succeeded_at.map(Timestamp::unix_ms))
    .bind(payment.amount_paid_by_payer)
    .execute(conn)
    .await?;
    if updated == 1 { Ok(()) } else { Err(StoreError::Corrupt(format!("payment {} vanished", payment.id))) }
}

/// A payment, locked against concurrent writers until the transaction ends (PostgreSQL;
/// SQLite's writers are already one at a time).
pub async fn get_for_update(conn: Conn<'_>, id: &PaymentId) -> Result<Option<Payment>, StoreError> {
    let engine = conn.engine();
    let lock = engine.lock_rows("p");
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE p.id = $1 {lock}");
    let row = query_built(sql).bind(id.as_str()).fetch_optional(conn).await?;
    row.map(|row| payment_from_row(&row)).transpose()
}

pub async fn get(conn: Conn<'_>, id: &PaymentId) -> Result<Option<Payment>, StoreError> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE p.id = $1");
    let row = query_built(sql).bind(id.as_str()).fetch_optional(conn).await?;
    row.map(|row| payment_from_row(&row)).transpose()
}

/// Filters for listing one merchant's payments in one mode.
#[derive(Debug, Clone, Default)]
pub struct PaymentFilter {
    pub status: Option<PaymentStatus>,
    pub merchant_order_no: Option<String>,
    pub created_from: Option<Timestamp>,
    pub created_until: Option<Timestamp>,
}

/// Which page: ids sort by creation time, so the cursor is an id.
#[derive(Debug, Clone)]
pub enum Cursor {
    /// The newest payments.
    First,
    /// Older than this one.
    After(PaymentId),
    /// Newer than this one.
    Before(PaymentId),
}

/// Newest first; `limit` + 1 rows are read so the caller can tell whether there are more.
pub async fn list(
    conn: Conn<'_>,
    merchant_id: &MerchantId,
    livemode: bool,
    filter: &PaymentFilter,
    cursor: &Cursor,
    limit: u32,
) -> Result<Vec<Payment>, StoreError> {
    let (cursor_clause, order, cursor_id) = match cursor {
        // Every id sorts after the empty string.
        Cursor::First => ("AND p.id > $7", "DESC", ""),
        Cursor::After(id) => ("AND p.id < $7", "DESC", id.as_str()),
        Cursor::Before(id) => ("AND p.id > $7", "ASC", id.as_str()),
    };
    let status = filter.status.map(PaymentStatus::as_str);
    let from = filter.created_from.map_or(0, Timestamp::unix_ms);
    let until = filter.created_until.map_or(i64::MAX, Timestamp::unix_ms);
    let mut payments = {
        let sql = format!(
            "SELECT {COLUMNS} {FROM} WHERE p.merchant_id = $1 AND p.livemode = $2
               AND ($3 IS NULL OR p.status = $3) AND ($4 IS NULL OR p.merchant_order_no = $4)
               AND p.created_at_ms >= $5 AND p.created_at_ms <= $6 {cursor_clause}
             ORDER BY p.id {order} LIMIT $8"
        );
        let rows = query_built(sql)
            .bind(merchant_id.as_str())
            .bind(livemode)
            .bind(status)
            .bind(filter.merchant_order_no.as_deref())
            .bind(from)
            .bind(until)
            .bind(cursor_id)
            .bind(i64::from(limit) + 1)
            .fetch_all(conn)
            .await?;
        rows.iter().map(payment_from_row).collect::<Result<Vec<_>, _>>()
    }?;
    if matches!(cursor, Cursor::Before(_)) {
        payments.reverse();
    }
    Ok(payments)
}

fn metadata_json(metadata: &Metadata) -> Result<String, StoreError> {
    serde_json::to_string(metadata.as_map()).map_err(|e| StoreError::Corrupt(format!("metadata: {e}")))
}

fn payment_from_row(row: &impl Columns) -> Result<Payment, StoreError> {
    let bad = |column: &str| corrupt("payments", column);
    let time = |column: &str| Timestamp::from_unix_ms(row.int(column)?).ok_or_else(|| bad(column));
    let url = |column: &str| -> Result<Option<WebUrl>, StoreError> {
        row.text_opt(column)?.map(|text| WebUrl::parse(&text, "url").map_err(|_| bad(column))).transpose()
    };
    let amounts = PaymentAmounts::restore(
        row.int("amount_minor")?,
        row.int("amount_capturable_minor")?,
        row.int("amount_captured_minor")?,
        row.int("amount_refunded_minor")?,
    )
    .ok_or_else(|| bad("amount_minor"))?;
    let metadata: BTreeMap<String, String> =
        serde_json::from_str(&row.text("metadata")?).map_err(|_| bad("metadata"))?;
    Ok(Payment {
        id: PaymentId::parse(&row.text("id")?).map_err(|_| bad("id"))?,
        merchant_id: MerchantId::parse(&row.text("merchant_id")?).map_err(|_| bad("merchant_id"))?,
        livemode: row.flag("livemode")?,
        status: PaymentStatus::parse(&row.text("status")?).ok_or_else(|| bad("status"))?,
        amounts,
        currency: Currency::parse(&row.text("currency")?).map_err(|_| bad("currency"))?,
        merchant_order_no: MerchantOrderNo::parse(&row.text("merchant_order_no")?)
            .map_err(|_| bad("merchant_order_no"))?,
        description: row
            .text_opt("description")?
            .map(|d| Description::parse(&d))
            .transpose()
            .map_err(|_| bad("description"))?,
        metadata: Metadata::parse(metadata).map_err(|_| bad("metadata"))?,
        capture_method: CaptureMethod::parse(&row.text("capture_method")?).ok_or_else(|| bad("capture_method"))?,
        expires_at: time("expires_at_ms")?,
        return_url: url("return_url")?,
        notify_url: url("notify_url")?,
        payment_method_type: row
            .text_opt("payment_method_type")?
            .map(|text| PaymentMethodType::parse(&text).ok_or_else(|| bad("payment_method_type")))
            .transpose()?,
        card: stored_card(row)?,
        next_action: next_action(row)?,
        last_error: row
            .text_opt("last_error_code")?
            .map(|code| -> Result<PaymentError, StoreError> {
                Ok(PaymentError {
                    code,
                    decline_code: row.text_opt("last_decline_code")?,
                    message: row.text_opt("last_error_message")?.unwrap_or_default(),
                })
            })
            .transpose()?,
        cancellation_reason: row
            .text_opt("cancellation_reason")?
            .map(|r| CancellationReason::parse(&r).ok_or_else(|| bad("cancellation_reason")))
            .transpose()?,
        channel_account_id: row
            .text_opt("channel_account_id")?
            .map(|id| ChannelAccountId::parse(&id).map_err(|_| bad("channel_account_id")))
            .transpose()?,
        late_succeeded_at: row
            .int_opt("late_succeeded_at_ms")?
            .map(|ms| Timestamp::from_unix_ms(ms).ok_or_else(|| bad("late_succeeded_at_ms")))
            .transpose()?,
        amount_paid_by_payer: row.int_opt("amount_paid_by_payer_minor")?,
        created: time("created_at_ms")?,
        updated: time("updated_at_ms")?,
    })
}

fn stored_card(row: &impl Columns) -> Result<Option<StoredCard>, StoreError> {
    let Some(token) = row.text_opt("card_token")? else { return Ok(None) };
    let bad = |column: &str| corrupt("card_vault", column);
    let summary = CardSummary {
        brand: CardBrand::parse(&row.text("brand")?).ok_or_else(|| bad("brand"))?,
        last4: row.text("last4")?,
        exp_month: u8::try_from(row.int("exp_month")?).map_err(|_| bad("exp_month"))?,
        exp_year: u16::try_from(row.int("exp_year")?).map_err(|_| bad("exp_year"))?,
    };
    Ok(Some(StoredCard { token, summary }))
}

/// Which time a sweep compares: a payment's deadline, when it last changed, or when the
/// channel is next to be asked about it.
#[derive(Debug, Clone, Copy)]
pub enum SweepClock {
    ExpiresAt,
    UpdatedAt,
    /// `next_query_at`, or a minute after the last change when no query was made yet.
    NextQuery,
}

/// The first query about a processing payment comes this long after it last changed.
pub const FIRST_QUERY_AFTER_MS: i64 = 60_000;

/// Sets when the sweep next asks the channel about a processing payment.
pub async fn set_next_query(conn: Conn<'_>, id: &PaymentId, at: Timestamp) -> Result<(), StoreError> {
    query("UPDATE payments SET next_query_at_ms = $1 WHERE id = $2")
        .bind(at.unix_ms())
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Ids of payments in one of `statuses` whose chosen time is at or before `before`,
/// oldest first, at most `limit`: the work list of a background sweep.
pub async fn due(
    conn: Conn<'_>,
    statuses: &[PaymentStatus],
    clock: SweepClock,
    before: Timestamp,
    limit: u32,
) -> Result<Vec<PaymentId>, StoreError> {
    let column = match clock {
        SweepClock::ExpiresAt => "expires_at_ms",
        SweepClock::UpdatedAt => "updated_at_ms",
        SweepClock::NextQuery => "COALESCE(next_query_at_ms, updated_at_ms + 60000)", // FIRST_QUERY_AFTER_MS
    };
    // Statuses are our own fixed names, never client input.
    let list: Vec<String> = statuses.iter().map(|s| format!("'{}'", s.as_str())).collect();
    let ids: Vec<String> = {
        let sql = format!(
            "SELECT id FROM payments WHERE status IN ({}) AND {column} <= $1 ORDER BY {column} LIMIT $2",
            list.join(", ")
        );
        query_built(sql).bind(before.unix_ms()).bind(i64::from(limit)).fetch_all_as(conn).await
    }?;
    ids.iter().map(|id| PaymentId::parse(id).map_err(|_| corrupt("payments", "id"))).collect()
}

/// Ids of payments charged with `method` that wait for their payer (`requires_action`)
/// and are due to be asked about, oldest first, at most `limit`: a QR code may have been
/// paid without its notification arriving.
pub async fn due_waiting_for_payer(
    conn: Conn<'_>,
    method: PaymentMethodType,
    before: Timestamp,
    limit: u32,
) -> Result<Vec<PaymentId>, StoreError> {
    let due_at = "COALESCE(next_query_at_ms, updated_at_ms + 60000)"; // FIRST_QUERY_AFTER_MS
    let sql = format!(
        "SELECT id FROM payments WHERE status = 'requires_action' AND payment_method_type = $1
             AND {due_at} <= $2 ORDER BY {due_at} LIMIT $3"
    );
    let ids: Vec<String> =
        query_built(sql).bind(method.as_str()).bind(before.unix_ms()).bind(i64::from(limit)).fetch_all_as(conn).await?;
    ids.iter().map(|id| PaymentId::parse(id).map_err(|_| corrupt("payments", "id"))).collect()
}

/// The columns a next action is kept in: its type, its URL, and its data (the QR content,
/// or the JS bridge parameters as JSON) if any.
fn next_action_columns(action: Option<&NextAction>) -> (Option<&'static str>, Option<&str>, Option<Cow<'_, str>>) {
    match action {
        None => (None, None, None),
        Some(NextAction::RedirectToUrl { url }) => (Some("redirect_to_url"), Some(url), None),
        Some(NextAction::WechatJsapi(parameters)) => (Some("wechat_jsapi"), None, Some(jsapi_json(parameters).into())),
        Some(NextAction::AlipayDisplayQrCode { data, image_url_svg }) => {
            (Some("alipay_display_qr_code"), Some(image_url_svg), Some(data.into()))
        }
        Some(NextAction::WechatDisplayQrCode { data, image_url_svg }) => {
            (Some("wechat_display_qr_code"), Some(image_url_svg), Some(data.into()))
        }
    }
}

fn jsapi_json(parameters: &JsapiParameters) -> String {
    let fields = parameters.wechat_fields().into_iter().map(|(name, value)| (name.to_owned(), value.into()));
    serde_json::Value::Object(fields.collect()).to_string()
}

fn jsapi_parameters(text: &str) -> Option<JsapiParameters> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    JsapiParameters::from_wechat_fields(|name| value.get(name)?.as_str().map(str::to_owned))
}

/// Rows written before next actions had a type hold only a redirect URL.
fn next_action(row: &impl Columns) -> Result<Option<NextAction>, StoreError> {
    let kind = row.text_opt("next_action_type")?;
    if kind.as_deref() == Some("wechat_jsapi") {
        let data = row.text_opt("next_action_data")?.ok_or_else(|| corrupt("payments", "next_action_data"))?;
        let parameters = jsapi_parameters(&data).ok_or_else(|| corrupt("payments", "next_action_data"))?;
        return Ok(Some(NextAction::WechatJsapi(parameters)));
    }
    let Some(url) = row.text_opt("next_action_url")? else { return Ok(None) };
    match kind.as_deref() {
        None | Some("redirect_to_url") => Ok(Some(NextAction::RedirectToUrl { url })),
        Some("alipay_display_qr_code") => {
            let data = row.text_opt("next_action_data")?.ok_or_else(|| corrupt("payments", "next_action_data"))?;
            Ok(Some(NextAction::AlipayDisplayQrCode { data, image_url_svg: url }))
        }
        Some("wechat_display_qr_code") => {
            let data = row.text_opt("next_action_data")?.ok_or_else(|| corrupt("payments", "next_action_data"))?;
            Ok(Some(NextAction::WechatDisplayQrCode { data, image_url_svg: url }))
        }
        Some(_) => Err(corrupt("payments", "next_action_type")),
    }
}
