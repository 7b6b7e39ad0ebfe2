//! Alipay's answers on the wire: the signed envelope, the common `code`/`sub_code`, and the
//! fields each operation reads. Nothing here is believed before its signature is checked.

use payrail_crypto::rsa::RsaPublicKey;
use payrail_domain::decimal::{parse_beijing, parse_major};
use payrail_domain::{Currency, Money, Timestamp};
use serde::Deserialize;

use super::sign::{member_text, response_key};
use super::types::{Trade, TradeStatus};
use crate::error::ChannelError;

/// Alipay's success code.
pub(crate) const CODE_SUCCESS: &str = "10000";
/// `trade.pay`'s "waiting for the payer".
pub(crate) const CODE_USER_PAYING: &str = "10003";
/// Alipay's "service unavailable, outcome unknown".
const CODE_UNKNOWN_ERROR: &str = "20000";
/// Business refusal; `sub_code` says why.
pub(crate) const CODE_BUSINESS_FAILED: &str = "40004";
/// The business failure that means "try again, the outcome is unknown".
const SUB_CODE_SYSTEM_ERROR: &str = "ACQ.SYSTEM_ERROR";

/// The common part of every answer.
#[derive(Debug, Deserialize)]
pub(crate) struct Status {
    pub(crate) code: String,
    #[serde(default)]
    pub(crate) msg: String,
    #[serde(default)]
    pub(crate) sub_code: Option<String>,
    #[serde(default)]
    pub(crate) sub_msg: Option<String>,
}

/// An answer whose signature was checked: its status and its exact text, to be read into
/// the operation's fields.
pub(crate) struct Verified {
    pub(crate) status: Status,
    pub(crate) text: String,
}

#[derive(Deserialize)]
struct SignOnly {
    sign: Option<String>,
}

/// Finds `<method>_response` (or `error_response`) in `body`, checks its signature with
/// Alipay's public key, and reads its status. An unsigned or badly signed answer is a
/// [`ChannelError::Protocol`]: it may be forged, so nothing in it is believed, and the
/// outcome is unknown.
pub(crate) fn verify_answer(body: &[u8], method: &str, alipay_key: &RsaPublicKey) -> Result<Verified, ChannelError> {
    let body = std::str::from_utf8(body).map_err(|_| protocol("the answer is not UTF-8"))?;
    let key = response_key(method);
    let text = member_text(body, &key)
        .or_else(|| member_text(body, "error_response"))
        .ok_or_else(|| protocol("the answer has no response object"))?;
    let sign = serde_json::from_str::<SignOnly>(body)
        .map_err(|_| protocol("the answer is not JSON"))?
        .sign
        .ok_or_else(|| unsigned(text))?;
    if !alipay_key.verify_base64(text.as_bytes(), &sign) {
        return Err(protocol("the answer's signature does not verify with Alipay's public key"));
    }
    let status = serde_json::from_str::<Status>(text).map_err(|_| protocol("the answer has no code"))?;
    Ok(Verified { status, text: text.to_owned() })
}

impl Verified {
    /// The operation's fields.
    pub(crate) fn fields<T: serde::de::DeserializeOwned>(&self) -> Result<T, ChannelError> {
        serde_json::from_str(&self.text).map_err(|error| protocol(&format!("unreadable answer: {error}")))
    }

    /// The sub_code, or the code where Alipay gave none.
    pub(crate) fn reason(&self) -> &str {
        self.status.sub_code.as_deref().unwrap_or(&self.status.code)
    }

    pub(crate) fn is_success(&self) -> bool {
        self.status.code == CODE_SUCCESS
    }

    /// The error a non-success answer means. `moves_money` says whether the call could
    /// have moved money: then "unknown error" is an unknown outcome; for a read it is
    /// merely transient.
    pub(crate) fn refusal(&self, moves_money: bool) -> ChannelError {
        let reason = self.reason().to_owned();
        let unknown = self.status.code == CODE_UNKNOWN_ERROR || reason == SUB_CODE_SYSTEM_ERROR;
        match (unknown, moves_money) {
            (true, true) => ChannelError::Protocol(format!("Alipay answered {reason}; the outcome is unknown")),
            (true, false) => ChannelError::Transient { code: reason },
            // 40001 (missing parameter), 40002 (invalid), 40004 (business), 40006
            // (permission): Alipay did nothing, and the same request will not succeed.
            _ => ChannelError::Rejected {
                status: 200,
                code: reason,
                message: self.status.sub_msg.clone().unwrap_or_else(|| self.status.msg.clone()),
            },
        }
    }
}

/// An unsigned answer. Alipay sends those when it cannot tell which app asked (an invalid
/// app id); what it claims is named for whoever debugs the configuration, but not
/// believed.
fn unsigned(text: &str) -> ChannelError {
    let claimed = serde_json::from_str::<Status>(text).ok();
    let claimed = claimed.map(|status| status.sub_code.unwrap_or(status.code)).unwrap_or_default();
    ChannelError::Protocol(format!("the answer is not signed (it claims {claimed:?})"))
}

pub(crate) fn protocol(message: &str) -> ChannelError {
    ChannelError::Protocol(message.to_owned())
}

/// Yuan as Alipay writes them (`"12.30"`, `"12.3"`, `"12"`) into CNY minor units.
pub(crate) fn yuan(text: &str) -> Result<Money, ChannelError> {
    let cny = Currency::parse("CNY").map_err(|_| protocol("CNY is not a known currency"))?;
    parse_major(text, cny).map_err(|_| protocol("an amount is not a CNY decimal"))
}

fn optional_yuan(text: Option<&str>) -> Result<Option<Money>, ChannelError> {
    text.filter(|text| !text.is_empty()).map(yuan).transpose()
}

/// Beijing civil time (`yyyy-MM-dd HH:mm:ss`) into a timestamp.
pub(crate) fn beijing(text: Option<&str>) -> Result<Option<Timestamp>, ChannelError> {
    text.filter(|text| !text.is_empty())
        .map(|text| parse_beijing(text).ok_or_else(|| protocol("a time is not yyyy-MM-dd HH:mm:ss")))
        .transpose()
}

/// The trade fields of `trade.pay` and `trade.query`.
#[derive(Debug, Deserialize)]
pub(crate) struct TradeWire {
    out_trade_no: String,
    trade_no: String,
    #[serde(default)]
    trade_status: Option<String>,
    total_amount: String,
    #[serde(default)]
    buyer_pay_amount: Option<String>,
    #[serde(default)]
    gmt_payment: Option<String>,
    #[serde(default)]
    send_pay_date: Option<String>,
}

impl TradeWire {
    /// The trade; `default_status` applies where the answer has no `trade_status` (a
    /// successful `trade.pay` does not repeat it).
    pub(crate) fn into_trade(
        self,
        expected_out_trade_no: &str,
        default_status: TradeStatus,
    ) -> Result<Trade, ChannelError> {
        if self.out_trade_no != expected_out_trade_no {
            return Err(protocol("the answer is about another out_trade_no"));
        }
        let status = match self.trade_status.as_deref() {
            Some(text) => TradeStatus::parse(text).ok_or_else(|| protocol("unknown trade_status"))?,
            None => default_status,
        };
        let paid_at = beijing(self.gmt_payment.as_deref().or(self.send_pay_date.as_deref()))?;
        Ok(Trade {
            out_trade_no: self.out_trade_no,
            trade_no: self.trade_no,
            status,
            total_amount: yuan(&self.total_amount)?,
            buyer_pay_amount: optional_yuan(self.buyer_pay_amount.as_deref())?,
            paid_at,
        })
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct PrecreateWire {
    pub(crate) out_trade_no: String,
    pub(crate) qr_code: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RefundWire {
    pub(crate) out_trade_no: String,
    pub(crate) trade_no: String,
    pub(crate) refund_fee: String,
    pub(crate) fund_change: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RefundQueryWire {
    #[serde(default)]
    pub(crate) out_request_no: Option<String>,
    #[serde(default)]
    pub(crate) refund_amount: Option<String>,
    #[serde(default)]
    pub(crate) refund_status: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CancelWire {
    #[serde(default)]
    pub(crate) action: Option<String>,
    #[serde(default)]
    pub(crate) retry_flag: Option<String>,
}

/// Whether a user-paying answer carried a trade number.
#[derive(Debug, Deserialize)]
pub(crate) struct PayingWire {
    #[serde(default)]
    pub(crate) trade_no: Option<String>,
}

#[cfg(test)]
mod tests {
    use payrail_crypto::rsa::RsaPrivateKey;

    use super::*;

    fn signed(key: &RsaPrivateKey, response_key: &str, text: &str) -> String {
        format!(r#"{{"{response_key}":{text},"sign":"{}"}}"#, key.sign_base64(text.as_bytes()).expect("signs"))
    }

    #[test]
    fn answers_are_believed_only_with_a_valid_signature_over_the_exact_text() {
        let key = RsaPrivateKey::generate().expect("key");
        let public = key.public_key().expect("public");
        let text = r#"{"code":"10000","msg":"Success","qr_code":"https:\/\/qr.alipay.com\/x"}"#;
        let body = signed(&key, "alipay_trade_precreate_response", text);
        let verified = verify_answer(body.as_bytes(), "alipay.trade.precreate", &public).expect("verifies");
        assert!(verified.is_success());
        let tampered = body.replace("x\"}", "y\"}");
        assert!(matches!(
            verify_answer(tampered.as_bytes(), "alipay.trade.precreate", &public),
            Err(ChannelError::Protocol(_))
        ));
        let other_method = verify_answer(body.as_bytes(), "alipay.trade.query", &public);
        assert!(matches!(other_method, Err(ChannelError::Protocol(_))));
    }

    #[test]
    fn codes_map_to_outcomes_by_what_alipay_may_have_done() {
        let key = RsaPrivateKey::generate().expect("key");
        let public = key.public_key().expect("public");
        let answer = |text: &str| {
            let body = signed(&key, "error_response", text);
            verify_answer(body.as_bytes(), "alipay.trade.refund", &public).expect("verifies")
        };
        let unknown = answer(r#"{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error"}"#);
        assert!(unknown.refusal(true).outcome_is_unknown());
        assert_eq!(unknown.refusal(false), ChannelError::Transient { code: "isp.unknow-error".to_owned() });
        let system = answer(r#"{"code":"40004","msg":"Business Failed","sub_code":"ACQ.SYSTEM_ERROR"}"#);
        assert!(system.refusal(true).outcome_is_unknown());
        let refused =
            answer(r#"{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_HAS_CLOSE","sub_msg":"m"}"#);
        assert_eq!(
            refused.refusal(true),
            ChannelError::Rejected { status: 200, code: "ACQ.TRADE_HAS_CLOSE".to_owned(), message: "m".to_owned() }
        );
    }

    #[test]
    fn yuan_in_every_form_alipay_writes_become_exact_minor_units() {
        for (text, minor) in [("12.30", 1_230), ("12.3", 1_230), ("12", 1_200), ("0.01", 1)] {
            assert_eq!(yuan(text).map(|money| money.amount_minor()), Ok(minor), "{text}");
        }
        for bad in ["12.345", "1e3", "", "12,30"] {
            assert!(yuan(bad).is_err(), "{bad}");
        }
    }
}
