//! Notifications, as WeChat Pay sends them to an order's (or refund's) `notify_url`:
//!
//! ```text
//! POST <notify_url>
//! Content-Type: application/json
//! Wechatpay-Timestamp / -Nonce / -Signature / -Serial / -Signature-Type
//!
//! {"id":"<uuid>","create_time":"…+08:00","resource_type":"encrypt-resource",
//!  "event_type":"TRANSACTION.SUCCESS"|"REFUND.SUCCESS","summary":"支付成功"|"退款成功",
//!  "resource":{"original_type":"transaction"|"refund","algorithm":"AEAD_AES_256_GCM",
//!              "ciphertext":"<base64(ct‖tag)>","associated_data":"transaction"|"refund",
//!              "nonce":"<12 characters>"}}
//! ```
//!
//! - The resource is the trade (as the query answers it) or the refund, sealed with
//!   AES-256-GCM under the merchant's APIv3 key, the nonce string's bytes as nonce.
//! - Only HTTP 200 or 204 counts as received. Otherwise (or no answer within 5 s) it is
//!   sent again after 15 s, 15 s, 30 s, 3 min, 10 min, 20 min, 30 min, 30 min, 30 min,
//!   60 min, 3 h, 3 h, 3 h, 6 h, 6 h ([`NOTIFY_RETRY_SCHEDULE_SECONDS`]), divided by the
//!   simulator's time divisor. Every attempt has the same body and id and fresh signature
//!   headers.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::book::Trade;
use super::objects::{self, rfc3339};
use super::random::{hex_upper, token};
use super::{WechatPay, lock};

/// Waits between attempts, in seconds, after the first attempt.
pub const NOTIFY_RETRY_SCHEDULE_SECONDS: [u64; 15] =
    [15, 15, 30, 180, 600, 1_200, 1_800, 1_800, 1_800, 3_600, 10_800, 10_800, 10_800, 21_600, 21_600];
const ATTEMPT_TIMEOUT_MS: u64 = 5_000;
/// Sent notifications kept for inspection; the oldest are dropped beyond this.
const OUTBOX_MAX: usize = 1_000;

/// One notification as sent, and how its delivery went so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentNotification {
    pub id: String,
    pub event_type: String,
    pub url: String,
    /// The body exactly as sent.
    pub body: String,
    pub attempts: u32,
    /// The receiver's status on the latest attempt; `None` if it did not answer.
    pub last_status: Option<u16>,
    /// Whether the receiver answered 200 or 204.
    pub delivered: bool,
}

pub(crate) struct Notifier {
    http: reqwest::Client,
    time_divisor: u64,
    outbox: Mutex<VecDeque<SentNotification>>,
}

impl Notifier {
    pub(crate) fn new(time_divisor: u64) -> Result<Notifier, String> {
        // Redirects are not followed: a notification goes where it was addressed or nowhere.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(ATTEMPT_TIMEOUT_MS))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|error| error.to_string())?;
        Ok(Notifier { http, time_divisor: time_divisor.max(1), outbox: Mutex::new(VecDeque::new()) })
    }

    pub(crate) fn sent(&self) -> Vec<SentNotification> {
        lock(&self.outbox).iter().cloned().collect()
    }

    fn record(&self, sent: SentNotification) {
        let mut outbox = lock(&self.outbox);
        if let Some(existing) = outbox.iter_mut().find(|existing| existing.id == sent.id) {
            *existing = sent;
            return;
        }
        if outbox.len() == OUTBOX_MAX {
            outbox.pop_front();
        }
        outbox.push_back(sent);
    }
}

impl WechatPay {
    /// Announces a trade that was just paid, if it has a `notify_url`.
    pub(crate) fn notify_transaction(&self, trade: &Trade) {
        if let Some(url) = &trade.notify_url {
            let resource = objects::transaction(trade);
            self.notify(&trade.mchid, url, "TRANSACTION.SUCCESS", "支付成功", "transaction", &resource);
        }
    }

    /// Announces a refund that settled, if it has a `notify_url`.
    pub(crate) fn notify_refund(&self, out_refund_no: &str, mchid: &str) {
        let record = self.book().refund_record(mchid, out_refund_no).cloned();
        if let Some((record, url)) = record.and_then(|record| record.notify_url.clone().map(|url| (record, url))) {
            let resource = objects::refund_notification(&record);
            self.notify(mchid, &url, "REFUND.SUCCESS", "退款成功", "refund", &resource);
        }
    }

    fn notify(&self, mchid: &str, url: &str, event_type: &str, summary: &str, original_type: &str, resource: &Value) {
        let Some(merchant) = self.merchant(mchid) else { return };
        let nonce = token(12);
        let plaintext = resource.to_string();
        let key = merchant.apiv3_key.expose().as_bytes();
        let Ok(sealed) =
            payrail_crypto::aead::seal(key, nonce.as_bytes(), original_type.as_bytes(), plaintext.as_bytes())
        else {
            tracing::warn!(mchid, "wechat pay simulator could not seal a notification");
            return;
        };
        let id = uuid_like();
        let body = json!({
            "id": id,
            "create_time": rfc3339(self.now()),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": summary,
            "resource": {
                "original_type": original_type, "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": STANDARD.encode(sealed), "associated_data": original_type, "nonce": nonce,
            },
        })
        .to_string();
        let sent = SentNotification {
            id,
            event_type: event_type.to_owned(),
            url: url.to_owned(),
            body,
            attempts: 0,
            last_status: None,
            delivered: false,
        };
        self.shared.notifier.record(sent.clone());
        tracing::info!(mchid, notification_id = %sent.id, event_type, "wechat pay simulator notification queued");
        tokio::spawn(self.clone().deliver(sent));
    }

    async fn deliver(self, mut sent: SentNotification) {
        let notifier = Arc::clone(&self.shared.notifier);
        let waits = std::iter::once(0).chain(NOTIFY_RETRY_SCHEDULE_SECONDS);
        for wait_seconds in waits {
            let wait_ms = wait_seconds.saturating_mul(1_000) / notifier.time_divisor;
            tokio::time::sleep(Duration::from_millis(wait_ms)).await;
            let mut request = notifier.http.post(&sent.url).header("content-type", "application/json");
            for (name, value) in self.signature_headers(sent.body.as_bytes()) {
                request = request.header(name, value);
            }
            let status = request.body(sent.body.clone()).send().await.ok().map(|response| response.status().as_u16());
            sent.attempts += 1;
            sent.last_status = status;
            sent.delivered = matches!(status, Some(200 | 204));
            notifier.record(sent.clone());
            tracing::info!(notification_id = %sent.id, attempt = sent.attempts, ?status, "wechat pay simulator notification sent");
            if sent.delivered {
                return;
            }
        }
        tracing::warn!(notification_id = %sent.id, "wechat pay simulator notification given up");
    }
}

/// A random id shaped like WeChat's event ids (a UUID).
fn uuid_like() -> String {
    let hex = hex_upper(16).to_lowercase();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}
