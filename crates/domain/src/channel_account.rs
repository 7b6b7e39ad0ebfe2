//! A merchant's accounts with payment channels (an Alipay app, a WeChat Pay merchant
//! number) and which account each payment method type is charged through.
//!
//! Invariant: an account belongs to one merchant and one mode. Its public settings (app
//! id, gateway, the provider's public key) are kept as JSON text; its secrets (private
//! keys, API keys) only sealed under the server key, bound to the account's id, and never
//! shown again once given.

use crate::payment_record::PaymentMethodType;
use crate::{ChannelAccountId, MerchantId, Problem, Timestamp};

/// The most channel accounts, not deleted, a merchant may have in one mode (besides the
/// sandbox accounts the server makes).
pub const CHANNEL_ACCOUNTS_PER_MODE_MAX: u64 = 32;
/// The longest description, in characters.
pub const DESCRIPTION_CHARS_MAX: usize = 200;

crate::payment::named_enum!(
    /// The providers a channel account can be with.
    ChannelKind { Alipay = "alipay", Wechatpay = "wechatpay", }
);

impl ChannelKind {
    /// The channel that charges payments of `method`, if any account can be routed to.
    pub fn for_method(method: PaymentMethodType) -> Option<ChannelKind> {
        match method {
            PaymentMethodType::Card => None,
            PaymentMethodType::AlipayQr
            | PaymentMethodType::AlipayBarcode
            | PaymentMethodType::AlipayPage
            | PaymentMethodType::AlipayWap => Some(ChannelKind::Alipay),
            PaymentMethodType::WechatNative
            | PaymentMethodType::WechatBarcode
            | PaymentMethodType::WechatJsapi
            | PaymentMethodType::WechatH5 => Some(ChannelKind::Wechatpay),
        }
    }
}

crate::payment::named_enum!(
    /// A deleted account is no longer routed to, but stays to finish what it started
    /// (queries, refunds and notifications of its earlier payments).
    ChannelAccountStatus { Active = "active", Deleted = "deleted", }
);

/// One channel account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelAccount {
    pub id: ChannelAccountId,
    pub merchant_id: MerchantId,
    pub livemode: bool,
    pub channel: ChannelKind,
    pub description: Option<String>,
    /// The public settings, a JSON object in text.
    pub settings: String,
    /// The secrets, a JSON object sealed under the server key (base64).
    pub credentials_ciphertext: String,
    pub status: ChannelAccountStatus,
    /// Made by the server at its own sandbox simulators for the merchant's test mode, not
    /// by the merchant; the server keeps it and it cannot be changed, only deleted.
    pub sandbox: bool,
    pub created: Timestamp,
    pub updated: Timestamp,
}

/// Which account charges one payment method type of a merchant in one mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRoute {
    pub payment_method_type: PaymentMethodType,
    pub channel_account_id: ChannelAccountId,
    pub updated: Timestamp,
}

/// A description as given: trimmed, at most [`DESCRIPTION_CHARS_MAX`] characters, no
/// control characters.
pub fn parse_description(text: &str) -> Result<String, Problem> {
    let text = text.trim();
    if text.chars().count() > DESCRIPTION_CHARS_MAX || text.chars().any(char::is_control) {
        let message =
            format!("description must be at most {DESCRIPTION_CHARS_MAX} characters, without control characters");
        return Err(Problem::invalid_request("parameter_invalid", message).with_param("description"));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wallet_method_has_a_channel_and_cards_have_none() {
        assert_eq!(ChannelKind::for_method(PaymentMethodType::Card), None);
        assert_eq!(ChannelKind::for_method(PaymentMethodType::AlipayQr), Some(ChannelKind::Alipay));
        assert_eq!(ChannelKind::for_method(PaymentMethodType::AlipayBarcode), Some(ChannelKind::Alipay));
        assert_eq!(ChannelKind::for_method(PaymentMethodType::WechatBarcode), Some(ChannelKind::Wechatpay));
    }

    #[test]
    fn descriptions_are_bounded_and_printable() {
        assert_eq!(parse_description("  Shop 1  ").as_deref(), Ok("Shop 1"));
        assert!(parse_description(&"x".repeat(DESCRIPTION_CHARS_MAX + 1)).is_err());
        assert!(parse_description("a\u{7}b").is_err());
    }
}
