//! A payment order as stored and shown: its identity, request parameters, status, amounts,
//! payment method and last error.

use crate::card::CardSummary;
use crate::payment::{CancellationReason, CaptureMethod, Description, MerchantOrderNo, Metadata, PaymentStatus};
use crate::payment_amounts::PaymentAmounts;
use crate::{Currency, MerchantId, PaymentId, Problem, Timestamp};

/// How long an unpaid payment waits for its payer by default.
pub const DEFAULT_EXPIRY_MS: i64 = 2 * 60 * 60 * 1000;
/// The latest a merchant may set a payment's expiry.
pub const EXPIRY_MS_MAX: i64 = 30 * 24 * 60 * 60 * 1000;

/// An absolute `http`/`https` URL of at most 2048 printable ASCII characters, such as a
/// `return_url` or `notify_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebUrl(String);

impl WebUrl {
    pub fn parse(text: &str, param: &'static str) -> Result<WebUrl, Problem> {
        let rest = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://"));
        let host_present = rest.is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
        let printable = text.bytes().all(|b| b.is_ascii_graphic());
        if !host_present || !printable || text.len() > 2048 {
            let message = "must be an absolute http or https URL of at most 2048 characters";
            return Err(Problem::invalid_request("url_invalid", message).with_param(param));
        }
        Ok(WebUrl(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why the last attempt failed: a stable code, the network's decline code when it gave
/// one, and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentError {
    pub code: String,
    pub decline_code: Option<String>,
    pub message: String,
}

/// A card attached to a payment: the vault token and what may be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCard {
    pub token: String,
    pub summary: CardSummary,
}

crate::payment::named_enum!(
    /// The kinds of payment method a payment can be charged with.
    PaymentMethodType {
        Card = "card",
        AlipayQr = "alipay_qr",
        AlipayBarcode = "alipay_barcode",
        AlipayPage = "alipay_page",
        AlipayWap = "alipay_wap",
        WechatNative = "wechat_native",
        WechatBarcode = "wechat_barcode",
        WechatJsapi = "wechat_jsapi",
        WechatH5 = "wechat_h5",
    }
);

/// What the payer must do for a payment in `requires_action`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextAction {
    /// Open this page (a 3-D Secure challenge).
    RedirectToUrl { url: String },
    /// Scan `data` with the Alipay app; `image_url_svg` shows it as a QR code.
    AlipayDisplayQrCode { data: String, image_url_svg: String },
    /// Scan `data` (a `weixin://` URL) with WeChat; `image_url_svg` shows it as a QR code.
    WechatDisplayQrCode { data: String, image_url_svg: String },
    /// Hand these to `WeixinJSBridge.invoke('getBrandWCPayRequest', …)` inside WeChat.
    WechatJsapi(JsapiParameters),
}

/// The signed parameters of WeChat's JS bridge, with WeChat's names in the API
/// (`appId`, `timeStamp`, `nonceStr`, `package`, `signType`, `paySign`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsapiParameters {
    pub app_id: String,
    pub time_stamp: String,
    pub nonce_str: String,
    /// `prepay_id=<prepay id>`.
    pub package: String,
    pub sign_type: String,
    pub pay_sign: String,
}

impl JsapiParameters {
    /// The parameters under WeChat's names, as the page hands them to the JS bridge.
    pub fn wechat_fields(&self) -> [(&'static str, &str); 6] {
        [
            ("appId", &self.app_id),
            ("timeStamp", &self.time_stamp),
            ("nonceStr", &self.nonce_str),
            ("package", &self.package),
            ("signType", &self.sign_type),
            ("paySign", &self.pay_sign),
        ]
    }

    /// The parameters read back by WeChat's names; `None` if one is missing.
    pub fn from_wechat_fields(field: impl Fn(&str) -> Option<String>) -> Option<JsapiParameters> {
        Some(JsapiParameters {
            app_id: field("appId")?,
            time_stamp: field("timeStamp")?,
            nonce_str: field("nonceStr")?,
            package: field("package")?,
            sign_type: field("signType")?,
            pay_sign: field("paySign")?,
        })
    }
}

impl NextAction {
    pub fn type_name(&self) -> &'static str {
        match self {
            NextAction::RedirectToUrl { .. } => "redirect_to_url",
            NextAction::AlipayDisplayQrCode { .. } => "alipay_display_qr_code",
            NextAction::WechatDisplayQrCode { .. } => "wechat_display_qr_code",
            NextAction::WechatJsapi(_) => "wechat_jsapi",
        }
    }

    /// The QR content the payer scans, for an action that shows one.
    pub fn qr_code(&self) -> Option<&str> {
        match self {
            NextAction::RedirectToUrl { .. } | NextAction::WechatJsapi(_) => None,
            NextAction::AlipayDisplayQrCode { data, .. } | NextAction::WechatDisplayQrCode { data, .. } => Some(data),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: PaymentId,
    pub merchant_id: MerchantId,
    pub livemode: bool,
    pub status: PaymentStatus,
    pub amounts: PaymentAmounts,
    pub currency: Currency,
    pub merchant_order_no: MerchantOrderNo,
    pub description: Option<Description>,
    pub metadata: Metadata,
    pub capture_method: CaptureMethod,
    pub expires_at: Timestamp,
    pub return_url: Option<WebUrl>,
    pub notify_url: Option<WebUrl>,
    /// How the payer pays, once one was attached (a card payment also has `card`).
    pub payment_method_type: Option<PaymentMethodType>,
    pub card: Option<StoredCard>,
    /// What the payer must do while the payment `requires_action`.
    pub next_action: Option<NextAction>,
    pub last_error: Option<PaymentError>,
    pub cancellation_reason: Option<CancellationReason>,
    /// The merchant's channel account chosen for this payment when it was created; `None`
    /// follows the merchant's routes.
    pub channel_account_id: Option<crate::ChannelAccountId>,
    /// When the channel reported the payer paid after Payrail had given the payment up.
    pub late_succeeded_at: Option<Timestamp>,
    /// What the payer paid from their own funds, when a wallet reported it; the rest of
    /// the amount was paid by coupons or points. The ledger books the whole amount.
    pub amount_paid_by_payer: Option<i64>,
    pub created: Timestamp,
    pub updated: Timestamp,
}

impl Payment {
    /// The payment's amount as money.
    pub fn amounts_money(&self) -> crate::Money {
        crate::Money::new(self.amounts.amount_minor(), self.currency)
    }
}

crate::payment::named_enum!(
    /// Where one attempt against a channel stands. `sending` is written and committed
    /// before the channel is called; `unknown` means the call's outcome was lost (a
    /// timeout) and must be resolved by querying the channel with the attempt's id.
    /// `requires_challenge` waits for the payer: a 3-D Secure page, or a QR code to scan.
    AttemptStatus {
        Sending = "sending",
        Unknown = "unknown",
        RequiresChallenge = "requires_challenge",
        Authorized = "authorized",
        Captured = "captured",
        Declined = "declined",
        Failed = "failed",
        Voided = "voided",
    }
);

/// One attempt to charge a payment through a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentAttempt {
    pub id: crate::AttemptId,
    pub payment_id: PaymentId,
    pub channel: &'static str,
    pub status: AttemptStatus,
    pub amount_minor: i64,
    pub decline_code: Option<String>,
    pub network_transaction_id: Option<String>,
    pub created: Timestamp,
    /// The merchant's channel account charged; `None` is the platform's of the mode.
    pub channel_account_id: Option<crate::ChannelAccountId>,
}

/// An immutable record of a state change, carrying a snapshot of the object as the API
/// showed it at that moment (JSON text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: crate::EventId,
    pub merchant_id: MerchantId,
    pub livemode: bool,
    pub event_type: &'static str,
    pub object_id: String,
    pub data: String,
    pub created: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::WebUrl;

    #[test]
    fn urls_must_be_absolute_http_and_bounded() {
        for good in ["https://shop.example/return", "http://localhost:3000/paid?order=1"] {
            assert!(WebUrl::parse(good, "return_url").is_ok(), "{good}");
        }
        let long = format!("https://x/{}", "a".repeat(2048));
        for bad in ["", "ftp://x", "https://", "https:///path", "/relative", "https://x y", &long] {
            let problem = WebUrl::parse(bad, "return_url").expect_err(bad);
            assert_eq!((problem.code, problem.param.as_deref()), ("url_invalid", Some("return_url")));
        }
    }
}
