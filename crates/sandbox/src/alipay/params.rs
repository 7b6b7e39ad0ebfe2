//! Reading a gateway request: the parameters from the query string and the form body
//! merged (the official SDKs split them, python-alipay-sdk puts all in the query), the
//! string Alipay verifies the app's signature over, and `biz_content`.

use std::collections::BTreeMap;

use payrail_domain::Currency;
use payrail_domain::decimal::parse_major;
use serde_json::{Map, Value};

use super::answer::Refusal;

/// Largest amount Alipay takes in one trade: 100,000,000.00 yuan, in fen.
const AMOUNT_MINOR_MAX: i64 = 10_000_000_000;

/// Every parameter of a request by name; a name sent twice keeps its last value (the body
/// after the query string).
pub(crate) struct Params(BTreeMap<String, String>);

impl Params {
    pub(crate) fn read(query: Option<&str>, body: &[u8]) -> Params {
        let pairs = form_urlencoded::parse(query.unwrap_or_default().as_bytes()).chain(form_urlencoded::parse(body));
        Params(pairs.map(|(key, value)| (key.into_owned(), value.into_owned())).collect())
    }

    /// A parameter, if present and not empty.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str).filter(|value| !value.is_empty())
    }

    /// What the app signed: every parameter but `sign`, empty ones dropped, in key order
    /// (the map keeps them sorted), as `k=v` joined by `&`, values decoded.
    pub(crate) fn signed_content(&self) -> String {
        let mut content = String::new();
        for (key, value) in self.0.iter().filter(|(key, value)| key.as_str() != "sign" && !value.is_empty()) {
            if !content.is_empty() {
                content.push('&');
            }
            content.push_str(key);
            content.push('=');
            content.push_str(value);
        }
        content
    }

    /// The business parameters: `biz_content` as a JSON object, with the common
    /// `notify_url` and `return_url`.
    ///
    /// A number is read as its text, as Alipay's gateway does: its fields are typed
    /// `String` or `Price`, and clients send `"total_amount":12.3` as often as `"12.30"`
    /// (python-alipay-sdk's own examples pass `total_amount=12`).
    pub(crate) fn biz(&self) -> Result<Biz, Refusal> {
        let mut fields = match self.get("biz_content").map(serde_json::from_str::<Value>) {
            Some(Ok(Value::Object(fields))) => fields,
            None => Map::new(),
            Some(_) => return Err(Refusal::parameter("biz_content")),
        };
        for value in fields.values_mut() {
            if let Value::Number(number) = value {
                *value = Value::String(number.to_string());
            }
        }
        Ok(Biz {
            fields,
            notify_url: self.get("notify_url").map(str::to_owned),
            return_url: self.get("return_url").map(str::to_owned),
        })
    }
}

/// The parsed `biz_content` of one request.
pub(crate) struct Biz {
    fields: Map<String, Value>,
    pub(crate) notify_url: Option<String>,
    pub(crate) return_url: Option<String>,
}

impl Biz {
    /// A string field, if present and not empty.
    pub(crate) fn optional(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str).filter(|value| !value.is_empty())
    }

    /// A string field, or `ACQ.INVALID_PARAMETER` naming it.
    pub(crate) fn required(&self, key: &str) -> Result<&str, Refusal> {
        self.optional(key).filter(|value| value.len() <= 256).ok_or_else(|| Refusal::parameter(key))
    }
}

/// A yuan amount (`"12.30"`, `"12.3"`, `"12"`) as fen, if it is a positive amount Alipay
/// would take.
pub(crate) fn yuan(text: &str) -> Option<i64> {
    let cny = Currency::parse("CNY").ok()?;
    let minor = parse_major(text, cny).ok()?.amount_minor();
    (1..=AMOUNT_MINOR_MAX).contains(&minor).then_some(minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_body_merge_and_the_signed_content_skips_sign_and_empty_values() {
        let params = Params::read(
            Some("method=alipay.trade.query&sign=abc%2B&app_id=2021&notify_url="),
            b"biz_content=%7B%22out_trade_no%22%3A%22o+1%22%7D",
        );
        assert_eq!(params.get("sign"), Some("abc+"));
        assert_eq!(
            params.signed_content(),
            r#"app_id=2021&biz_content={"out_trade_no":"o 1"}&method=alipay.trade.query"#
        );
        assert_eq!(
            params.biz().ok().and_then(|biz| biz.optional("out_trade_no").map(str::to_owned)).as_deref(),
            Some("o 1")
        );
    }

    #[test]
    fn numbers_in_biz_content_are_read_as_their_text() {
        let params = Params::read(None, br#"biz_content={"total_amount":12.3,"refund_amount":1,"subject":"t"}"#);
        let biz = params.biz().ok().unwrap_or_else(|| panic!("biz_content is an object"));
        assert_eq!((biz.optional("total_amount"), biz.optional("refund_amount")), (Some("12.3"), Some("1")));
        assert_eq!(yuan(biz.optional("total_amount").unwrap_or_default()), Some(1_230));
    }

    #[test]
    fn amounts_must_be_positive_cny_within_alipays_limit() {
        assert_eq!(yuan("12.3"), Some(1_230));
        assert_eq!(yuan("100000000"), Some(AMOUNT_MINOR_MAX));
        for bad in ["0", "0.00", "-1", "1.001", "100000000.01", "abc"] {
            assert_eq!(yuan(bad), None, "{bad}");
        }
    }
}
