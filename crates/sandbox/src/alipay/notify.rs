//! Asynchronous notifications (`notify_type=trade_status_sync`) to a trade's `notify_url`,
//! as Alipay sends them:
//!
//! - `POST` with an `application/x-www-form-urlencoded; charset=utf-8` body: `notify_time`,
//!   `notify_type`, `notify_id`, `app_id`, `charset`, `version`, `sign_type`, `trade_no`,
//!   `out_trade_no`, `buyer_id`, `buyer_logon_id`, `seller_id`, `trade_status`,
//!   `total_amount`, `receipt_amount`, `invoice_amount`, `buyer_pay_amount`,
//!   `point_amount`, `subject`, `gmt_create`, `gmt_payment`, `fund_bill_list`, and after a
//!   full refund `refund_fee`, `gmt_refund`, `gmt_close`, `out_biz_no`; then `sign`:
//!   SHA256withRSA with Alipay's private key over every other parameter except
//!   `sign_type`, sorted by key and joined as `k=v&…` (the merchant checks with
//!   `rsaCheckV1`).
//! - Sent for `TRADE_SUCCESS` (paid), `TRADE_CLOSED` after a full refund, and
//!   `TRADE_FINISHED` (the refund period ended, through the control route).
//! - Acknowledged only by HTTP 200 with the body exactly `success`. Otherwise sent again,
//!   with the same `notify_id` and body, after 4 m, 10 m, 10 m, 1 h, 2 h, 6 h and 15 h
//!   (eight attempts in about 25 h), each wait divided by the simulator's time divisor so
//!   that tests need not wait.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use payrail_crypto::rsa::RsaPrivateKey;
use payrail_domain::Timestamp;
use payrail_domain::decimal::format_beijing;
use serde_json::{Value, json};

use super::book::{BUYER_USER_ID, Trade, format_yuan};

/// Waits before the second to the eighth attempt, in seconds, before division.
const RETRY_DELAYS_SECONDS: [u64; 7] = [240, 600, 600, 3_600, 7_200, 21_600, 54_000];
/// Longest wait for the merchant to answer one attempt.
const ATTEMPT_TIMEOUT_MS: u64 = 5_000;
/// Sent notifications kept for inspection; the oldest are dropped beyond this.
const OUTBOX_MAX: usize = 1_000;
/// Notifications being delivered (or waiting to retry) at once; beyond this a new one is
/// recorded but not sent, so a flood of trades cannot hold unbounded tasks for 25 hours.
const DELIVERIES_MAX: usize = 10_000;
/// The simulated merchant's Alipay account.
const SELLER_ID: &str = "2088000000000002";

/// A notification a rule decided to send: where, and its parameters before signing.
pub(crate) struct Notice {
    url: String,
    params: Vec<(String, String)>,
}

impl Notice {
    /// `TRADE_SUCCESS` for a trade that was just paid, if it has a `notify_url`.
    pub(crate) fn for_trade(trade: &Trade, now: Timestamp) -> Option<Notice> {
        let url = trade.notify_url.clone()?;
        Some(Notice { url, params: trade_params(trade, now) })
    }

    /// `TRADE_CLOSED` after the refund `out_request_no` refunded the rest of the trade.
    pub(crate) fn for_full_refund(trade: &Trade, out_request_no: &str, now: Timestamp) -> Option<Notice> {
        let mut notice = Notice::for_trade(trade, now)?;
        notice.params.extend([
            ("refund_fee".to_owned(), format_yuan(trade.refunded_minor())),
            ("gmt_refund".to_owned(), format_beijing(now)),
            ("gmt_close".to_owned(), format_beijing(now)),
            ("out_biz_no".to_owned(), out_request_no.to_owned()),
        ]);
        Some(notice)
    }
}

fn trade_params(trade: &Trade, now: Timestamp) -> Vec<(String, String)> {
    let total = format_yuan(trade.total_minor);
    let payer_paid = format_yuan(trade.payer_paid_minor());
    let paid_at = trade.paid_at.map(format_beijing).unwrap_or_default();
    // In notifications the lists are JSON text, their keys in camelCase.
    let bills =
        trade.fund_bills().into_iter().map(|(channel, amount)| json!({"amount": amount, "fundChannel": channel}));
    let fund_bill_list = Value::Array(bills.collect()).to_string();
    let mut params: Vec<(&str, String)> = vec![
        ("notify_time", format_beijing(now)),
        ("notify_type", "trade_status_sync".to_owned()),
        ("notify_id", format!("2026{}", random_hex())),
        ("app_id", trade.app_id.clone()),
        ("charset", "utf-8".to_owned()),
        ("version", "1.0".to_owned()),
        ("sign_type", "RSA2".to_owned()),
        ("trade_no", trade.trade_no.clone()),
        ("out_trade_no", trade.out_trade_no.clone()),
        ("buyer_id", BUYER_USER_ID.to_owned()),
        ("buyer_logon_id", "sandbox***@payrail.test".to_owned()),
        ("seller_id", SELLER_ID.to_owned()),
        ("trade_status", trade.status.as_str().to_owned()),
        ("total_amount", total.clone()),
        ("receipt_amount", total),
        ("invoice_amount", payer_paid.clone()),
        ("buyer_pay_amount", payer_paid),
        ("point_amount", "0.00".to_owned()),
        ("subject", trade.subject.clone()),
        ("gmt_create", format_beijing(trade.created_at)),
        ("gmt_payment", paid_at),
        ("fund_bill_list", fund_bill_list),
    ];
    if trade.coupon_minor > 0 {
        let coupon = format_yuan(trade.coupon_minor);
        let voucher = json!([{
            "amount": coupon, "merchantContribute": "0.00", "otherContribute": coupon,
            "name": "Sandbox voucher", "type": "ALIPAY_FIX_VOUCHER", "voucherId": format!("2026{}", random_hex()),
        }]);
        params.push(("voucher_detail_list", voucher.to_string()));
    }
    params.into_iter().map(|(key, value)| (key.to_owned(), value)).collect()
}

/// One notification as sent, and how its delivery went so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentAlipayNotification {
    pub notify_id: String,
    pub url: String,
    /// The form body exactly as sent.
    pub body: String,
    /// Its parameters, decoded, `sign` included.
    pub params: Vec<(String, String)>,
    pub attempts: u32,
    /// The merchant's status on the latest attempt; `None` if it did not answer.
    pub last_status: Option<u16>,
    /// Whether the merchant answered 200 `success`.
    pub acknowledged: bool,
}

/// Signs, sends and retries notifications, and remembers what it sent.
pub(crate) struct Notifier {
    key: Arc<RsaPrivateKey>,
    http: reqwest::Client,
    delay_divisor: u64,
    outbox: Mutex<VecDeque<SentAlipayNotification>>,
    deliveries: AtomicUsize,
}

impl Notifier {
    pub(crate) fn new(key: Arc<RsaPrivateKey>, delay_divisor: u64) -> Notifier {
        // Redirects are not followed: a signed notification goes where it was configured
        // to go, or nowhere. Building a client with only these options cannot fail short of
        // a broken TLS setup; the default client then keeps the timeout off, which the
        // per-request timeout below makes up for.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(ATTEMPT_TIMEOUT_MS))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap_or_default();
        let outbox = Mutex::new(VecDeque::new());
        Notifier { key, http, delay_divisor: delay_divisor.max(1), outbox, deliveries: AtomicUsize::new(0) }
    }

    /// Signs `notice`, records it and sends it on a task of its own.
    pub(crate) fn send(self: &Arc<Self>, notice: Notice) {
        let Some((params, body)) = signed_form(&self.key, notice.params) else {
            tracing::error!("alipay sandbox could not sign a notification");
            return;
        };
        let notify_id = params.iter().find(|(key, _)| key == "notify_id").map(|(_, id)| id.clone()).unwrap_or_default();
        let sent = SentAlipayNotification {
            notify_id: notify_id.clone(),
            url: notice.url,
            body,
            params,
            attempts: 0,
            last_status: None,
            acknowledged: false,
        };
        {
            let mut outbox = self.outbox();
            if outbox.len() == OUTBOX_MAX {
                outbox.pop_front();
            }
            outbox.push_back(sent.clone());
        }
        if self.deliveries.fetch_add(1, Ordering::SeqCst) >= DELIVERIES_MAX {
            self.deliveries.fetch_sub(1, Ordering::SeqCst);
            tracing::warn!(notify_id, "alipay sandbox notification not sent: too many deliveries pending");
            return;
        }
        tokio::spawn(Arc::clone(self).deliver(notify_id, sent.url, sent.body));
    }

    pub(crate) fn sent(&self) -> Vec<SentAlipayNotification> {
        self.outbox().iter().cloned().collect()
    }

    async fn deliver(self: Arc<Self>, notify_id: String, url: String, body: String) {
        if !self.attempts(&notify_id, &url, &body).await {
            tracing::warn!(notify_id, "alipay sandbox notification given up after every attempt");
        }
        self.deliveries.fetch_sub(1, Ordering::SeqCst);
    }

    /// Sends on Alipay's schedule until acknowledged; whether it was.
    async fn attempts(&self, notify_id: &str, url: &str, body: &str) -> bool {
        let delays = std::iter::once(0).chain(RETRY_DELAYS_SECONDS);
        for (attempt, delay_seconds) in (1_u32..).zip(delays) {
            tokio::time::sleep(Duration::from_millis(delay_seconds * 1_000 / self.delay_divisor)).await;
            let (last_status, acknowledged) = self.attempt(url, body).await;
            self.record(notify_id, attempt, last_status, acknowledged);
            tracing::info!(notify_id, attempt, status = ?last_status, acknowledged, "alipay sandbox notification sent");
            if acknowledged {
                return true;
            }
        }
        false
    }

    async fn attempt(&self, url: &str, body: &str) -> (Option<u16>, bool) {
        let request = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded; charset=utf-8")
            .timeout(Duration::from_millis(ATTEMPT_TIMEOUT_MS))
            .body(body.to_owned());
        let Ok(response) = request.send().await else { return (None, false) };
        let status = response.status().as_u16();
        let answer = response.bytes().await.unwrap_or_default();
        (Some(status), status == 200 && answer.as_ref() == b"success")
    }

    fn record(&self, notify_id: &str, attempt: u32, last_status: Option<u16>, acknowledged: bool) {
        if let Some(sent) = self.outbox().iter_mut().find(|sent| sent.notify_id == notify_id) {
            sent.attempts = attempt;
            sent.last_status = last_status;
            sent.acknowledged = acknowledged;
        }
    }

    /// The outbox, locked; never held across an `.await`, and each write is complete, so
    /// a poisoned lock is taken over.
    fn outbox(&self) -> MutexGuard<'_, VecDeque<SentAlipayNotification>> {
        self.outbox.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `params` with `sign` added, and form-encoded: SHA256withRSA over every parameter but
/// `sign_type`, sorted by key and joined as `k=v&…`, which is what a merchant checks with
/// `rsaCheckV1`. `None` if signing failed.
pub(crate) fn signed_form(
    key: &RsaPrivateKey,
    mut params: Vec<(String, String)>,
) -> Option<(Vec<(String, String)>, String)> {
    let mut signed: Vec<(&str, &str)> = params
        .iter()
        .filter(|(key, _)| key != "sign_type")
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    signed.sort_unstable();
    let content = signed.iter().map(|(key, value)| format!("{key}={value}")).collect::<Vec<_>>().join("&");
    let sign = key.sign_base64(content.as_bytes()).ok()?;
    params.push(("sign".to_owned(), sign));
    let form = form_urlencoded::Serializer::new(String::new()).extend_pairs(params.iter()).finish();
    Some((params, form))
}

/// Where the buyer's browser goes after paying a page or WAP trade: its `return_url`
/// with the parameters Alipay adds (`method=alipay.trade.page.pay.return`, …), signed
/// like a notification.
pub(crate) fn return_params(trade: &Trade, now: Timestamp) -> Vec<(String, String)> {
    [
        ("charset", "utf-8".to_owned()),
        ("out_trade_no", trade.out_trade_no.clone()),
        ("method", "alipay.trade.page.pay.return".to_owned()),
        ("total_amount", format_yuan(trade.total_minor)),
        ("trade_no", trade.trade_no.clone()),
        ("auth_app_id", trade.app_id.clone()),
        ("version", "1.0".to_owned()),
        ("app_id", trade.app_id.clone()),
        ("sign_type", "RSA2".to_owned()),
        ("seller_id", SELLER_ID.to_owned()),
        ("timestamp", format_beijing(now)),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect()
}

/// 64 random bits in hex, for `notify_id`s that do not repeat across restarts.
fn random_hex() -> String {
    let mut bytes = [0_u8; 8];
    aws_lc_rs::rand::fill(&mut bytes).unwrap_or_else(|_| panic!("the system random source failed"));
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
