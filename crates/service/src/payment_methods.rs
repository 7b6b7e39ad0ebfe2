//! The payment methods a client can give on `/v1/payments` and `/confirm`, as parsed
//! from the request, and what each becomes on the payment.

use payrail_domain::Secret;
use payrail_domain::payment_record::PaymentMethodType;

/// A card as the client sent it; parsed and checked before anything else happens.
#[derive(Debug)]
pub struct CardInput {
    pub number: Secret<String>,
    pub exp_month: i64,
    pub exp_year: i64,
    pub cvc: Secret<String>,
}

/// A payment method as the client gave it.
#[derive(Debug)]
pub enum PaymentMethodInput {
    Card(CardInput),
    /// A QR code the payer scans with the Alipay app.
    AlipayQr,
    /// The payer's Alipay payment code, as the cashier scanned it.
    AlipayBarcode {
        auth_code: Secret<String>,
    },
    /// Alipay's cashier in the payer's desktop browser (`alipay.trade.page.pay`).
    AlipayPage,
    /// Alipay's cashier in the payer's mobile browser (`alipay.trade.wap.pay`).
    AlipayWap,
    /// A QR code the payer scans with WeChat.
    WechatNative,
    /// The payer's WeChat payment code, as the cashier scanned it.
    WechatBarcode {
        auth_code: Secret<String>,
    },
    /// Inside WeChat (an official account page, a mini program): the payer's `openid`
    /// under the merchant's `appid`.
    WechatJsapi {
        openid: String,
    },
    /// A mobile browser outside WeChat, at the payer's IP address.
    WechatH5 {
        payer_client_ip: String,
    },
}

impl PaymentMethodInput {
    pub(crate) fn method_type(&self) -> PaymentMethodType {
        match self {
            PaymentMethodInput::Card(_) => PaymentMethodType::Card,
            PaymentMethodInput::AlipayQr => PaymentMethodType::AlipayQr,
            PaymentMethodInput::AlipayBarcode { .. } => PaymentMethodType::AlipayBarcode,
            PaymentMethodInput::AlipayPage => PaymentMethodType::AlipayPage,
            PaymentMethodInput::AlipayWap => PaymentMethodType::AlipayWap,
            PaymentMethodInput::WechatNative => PaymentMethodType::WechatNative,
            PaymentMethodInput::WechatBarcode { .. } => PaymentMethodType::WechatBarcode,
            PaymentMethodInput::WechatJsapi { .. } => PaymentMethodType::WechatJsapi,
            PaymentMethodInput::WechatH5 { .. } => PaymentMethodType::WechatH5,
        }
    }

    /// The method a payment created without `confirm` keeps for its later confirmation;
    /// `None` for methods that can only be charged in the request that carries them: a
    /// card or a payment code (never stored), a payer's WeChat identity or address (not
    /// kept for later).
    pub(crate) fn attachable(&self) -> Option<PaymentMethodType> {
        match self {
            PaymentMethodInput::Card(_)
            | PaymentMethodInput::AlipayBarcode { .. }
            | PaymentMethodInput::WechatBarcode { .. }
            | PaymentMethodInput::WechatJsapi { .. }
            | PaymentMethodInput::WechatH5 { .. } => None,
            other => Some(other.method_type()),
        }
    }
}
