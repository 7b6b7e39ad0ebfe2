//! Alipay's asynchronous notifications (`notify_type=trade_status_sync`): a form `POST` to
//! the trade's `notify_url`, signed by Alipay with SHA256withRSA over every parameter
//! except `sign` and `sign_type`, sorted and joined as `k=v&…` (Java's `rsaCheckV1`).
//!
//! The receiver answers with the body [`NOTIFICATION_ACKNOWLEDGEMENT`]; anything else
//! makes Alipay send it again later, with the same `notify_id`. Telling a repeat from a
//! new notification, and checking it against the order (`out_trade_no`, `app_id`, amount),
//! is the caller's job: this module only proves Alipay sent it and reads it.

use payrail_domain::{Money, Timestamp};

use super::AlipayClient;
use super::sign::notification_content;
use super::types::TradeStatus;
use super::wire::{beijing, yuan};

/// The exact body Alipay expects when a notification was taken.
pub const NOTIFICATION_ACKNOWLEDGEMENT: &str = "success";

/// A notification whose signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlipayNotification {
    /// The same on every retry of one notification.
    pub notify_id: String,
    pub app_id: String,
    pub out_trade_no: String,
    pub trade_no: String,
    pub trade_status: TradeStatus,
    pub total_amount: Money,
    /// What the payer paid from their own funds, when reported.
    pub buyer_pay_amount: Option<Money>,
    pub paid_at: Option<Timestamp>,
    /// Everything refunded on the trade so far, when the notification is about a refund.
    pub refund_fee_total: Option<Money>,
    pub refunded_at: Option<Timestamp>,
    /// `out_biz_no`: the `out_request_no` of the refund that caused it, if any.
    pub out_biz_no: Option<String>,
}

/// Why a notification was refused; nothing in it may be acted on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationRefused {
    #[error("the body is not a UTF-8 form")]
    Malformed,
    #[error("the notification is not signed")]
    Unsigned,
    #[error("the signature does not verify with Alipay's public key")]
    BadSignature,
    #[error("the signed notification lacks or garbles {0}")]
    Field(&'static str),
}

/// What Alipay appends to a page or WAP payment's `return_url` when it sends the buyer
/// back, signed like a notification. A hint for the page the buyer sees, not proof of
/// payment: only the notification or a query is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlipayReturn {
    pub app_id: String,
    pub out_trade_no: String,
    pub trade_no: String,
    pub total_amount: Money,
}

impl AlipayClient {
    /// Verifies and reads a notification from its raw form body.
    pub fn verify_notification(&self, form_body: &[u8]) -> Result<AlipayNotification, NotificationRefused> {
        read(&Fields(&self.verified_params(form_body)?))
    }

    /// Verifies and reads the query string Alipay added to the `return_url` (without the
    /// leading `?`).
    pub fn verify_return(&self, query: &[u8]) -> Result<AlipayReturn, NotificationRefused> {
        let params = self.verified_params(query)?;
        let fields = Fields(&params);
        Ok(AlipayReturn {
            app_id: fields.required("app_id")?,
            out_trade_no: fields.required("out_trade_no")?,
            trade_no: fields.required("trade_no")?,
            total_amount: fields.amount("total_amount")?.ok_or(NotificationRefused::Field("total_amount"))?,
        })
    }

    /// The parameters of a form Alipay signed (`rsaCheckV1`), once the signature checks.
    fn verified_params(&self, form_body: &[u8]) -> Result<Vec<(String, String)>, NotificationRefused> {
        let text = std::str::from_utf8(form_body).map_err(|_| NotificationRefused::Malformed)?;
        let params: Vec<(String, String)> = form_urlencoded::parse(text.as_bytes())
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        let mut signs = params.iter().filter(|(key, _)| key == "sign");
        let sign = match (signs.next(), signs.next()) {
            (Some((_, sign)), None) if !sign.is_empty() => sign,
            (None, _) => return Err(NotificationRefused::Unsigned),
            _ => return Err(NotificationRefused::Malformed),
        };
        if has_repeated_keys(&params) {
            // A repeated key would be read differently by the signature and by the fields.
            return Err(NotificationRefused::Malformed);
        }
        let content = notification_content(params.iter().map(|(key, value)| (key.as_str(), value.as_str())));
        if !self.alipay_key.verify_base64(content.as_bytes(), sign) {
            return Err(NotificationRefused::BadSignature);
        }
        Ok(params)
    }
}

fn has_repeated_keys(params: &[(String, String)]) -> bool {
    let mut keys: Vec<&str> = params.iter().map(|(key, _)| key.as_str()).collect();
    keys.sort_unstable();
    keys.windows(2).any(|pair| pair[0] == pair[1])
}

struct Fields<'a>(&'a [(String, String)]);

impl Fields<'_> {
    fn optional(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(name, _)| name == key).map(|(_, value)| value.as_str()).filter(|value| !value.is_empty())
    }

    fn required(&self, key: &'static str) -> Result<String, NotificationRefused> {
        self.optional(key).map(str::to_owned).ok_or(NotificationRefused::Field(key))
    }

    fn amount(&self, key: &'static str) -> Result<Option<Money>, NotificationRefused> {
        self.optional(key).map(|text| yuan(text).map_err(|_| NotificationRefused::Field(key))).transpose()
    }

    fn time(&self, key: &'static str) -> Result<Option<Timestamp>, NotificationRefused> {
        beijing(self.optional(key)).map_err(|_| NotificationRefused::Field(key))
    }
}

fn read(fields: &Fields<'_>) -> Result<AlipayNotification, NotificationRefused> {
    let trade_status =
        TradeStatus::parse(&fields.required("trade_status")?).ok_or(NotificationRefused::Field("trade_status"))?;
    Ok(AlipayNotification {
        notify_id: fields.required("notify_id")?,
        app_id: fields.required("app_id")?,
        out_trade_no: fields.required("out_trade_no")?,
        trade_no: fields.required("trade_no")?,
        trade_status,
        total_amount: fields.amount("total_amount")?.ok_or(NotificationRefused::Field("total_amount"))?,
        buyer_pay_amount: fields.amount("buyer_pay_amount")?,
        paid_at: fields.time("gmt_payment")?,
        refund_fee_total: fields.amount("refund_fee")?,
        refunded_at: fields.time("gmt_refund")?,
        out_biz_no: fields.optional("out_biz_no").map(str::to_owned),
    })
}
